//! Response plans (应急处置预案): per category and priority, which forces to
//! send. Plans are data (the station edits a file); this module says what a
//! plan means, checks it, and picks the plan for an incident.

use crate::error::DomainError;
use crate::incident::{Category, CategoryCode, CategoryDef, Priority};
use serde::Deserialize;

/// Which kind of force a plan asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ForceRole {
    /// Any police unit (patrol car, foot patrol, post team, community police team).
    Police,
    /// The zone's mobile police: post teams (警务驻点) and patrols. What the
    /// command room sends to a fight or a fire.
    PatrolPolice,
    /// The community police team of the incident's community.
    CommunityPolice,
    /// A volunteer-police or security-force team, for first response (先期处置).
    FirstResponse,
    /// Staff of the property or market company managing the place.
    PropertyCompany,
}

/// How a force travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TravelMode {
    Driving,
    Walking,
}

/// One line of a plan: `count` units of `role`, reached by `travel`,
/// optionally only within `within_m` metres of road.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ForceRequirement {
    pub role: ForceRole,
    #[serde(default = "one")]
    pub count: u32,
    #[serde(default)]
    pub travel: Option<TravelMode>,
    pub within_m: Option<f64>,
}

fn one() -> u32 {
    1
}

impl ForceRequirement {
    /// Police drive unless told otherwise; helpers walk.
    pub fn travel(&self) -> TravelMode {
        self.travel.unwrap_or(match self.role {
            ForceRole::Police | ForceRole::PatrolPolice | ForceRole::CommunityPolice => {
                TravelMode::Driving
            }
            ForceRole::FirstResponse | ForceRole::PropertyCompany => TravelMode::Walking,
        })
    }
}

/// A plan: which incidents it covers and what it sends.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResponsePlan {
    pub name: String,
    /// Category codes covered; empty means every category.
    #[serde(default)]
    pub categories: Vec<CategoryCode>,
    /// Priorities covered; empty means every priority.
    #[serde(default)]
    pub priorities: Vec<Priority>,
    /// Starts the coordinated emergency mechanism (应急处置协同机制).
    #[serde(default)]
    pub coordinated: bool,
    #[serde(rename = "force")]
    pub forces: Vec<ForceRequirement>,
}

impl ResponsePlan {
    pub fn covers(&self, category: &Category, priority: Priority) -> bool {
        (self.categories.is_empty() || self.categories.contains(category.code()))
            && (self.priorities.is_empty() || self.priorities.contains(&priority))
    }
}

/// A station's plans, checked; the first plan that covers an incident applies.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Plans {
    #[serde(rename = "plan")]
    pub plans: Vec<ResponsePlan>,
}

impl Plans {
    /// Checks what the file format cannot: every plan sends someone, counts
    /// and distances make sense, and some plan covers every incident.
    pub fn checked(self) -> Result<Plans, DomainError> {
        for (index, plan) in self.plans.iter().enumerate() {
            let place = |what: &str| format!("plan {} ({:?}): {what}", index + 1, plan.name);
            if plan.forces.is_empty() {
                return Err(DomainError::invalid("plans", place("sends no force")));
            }
            for force in &plan.forces {
                if force.count == 0 || force.count > 20 {
                    return Err(DomainError::invalid(
                        "plans",
                        place(&format!("count {} is not 1 to 20", force.count)),
                    ));
                }
                if let Some(m) = force.within_m.filter(|m| !(m.is_finite() && *m > 0.0)) {
                    return Err(DomainError::invalid(
                        "plans",
                        place(&format!("within_m {m} must be positive")),
                    ));
                }
            }
        }
        // The last plan must cover every category and priority, so that a
        // code a station adds later (its package's table) always has a plan.
        if self
            .plans
            .last()
            .is_none_or(|last| !last.categories.is_empty() || !last.priorities.is_empty())
        {
            return Err(DomainError::invalid(
                "plans",
                "the last plan must cover every category and priority (no `categories`, no `priorities`)",
            ));
        }
        Ok(self)
    }

    /// Codes the plans name that the station's code table does not have
    /// (worth a warning: those plans never apply).
    pub fn unknown_codes(&self, table: &[CategoryDef]) -> Vec<CategoryCode> {
        let mut unknown: Vec<CategoryCode> = self
            .plans
            .iter()
            .flat_map(|p| &p.categories)
            .filter(|code| !table.iter().any(|def| def.code == **code))
            .cloned()
            .collect();
        unknown.sort();
        unknown.dedup();
        unknown
    }

    pub fn plan_for(&self, category: &Category, priority: Priority) -> Option<&ResponsePlan> {
        self.plans.iter().find(|p| p.covers(category, priority))
    }
}

/// The plans Precinct ships with, following the station's method
/// (DOMAIN.md): fights get police and a first-response team on foot within
/// 800 m under the coordinated mechanism; domestic violence gets police and
/// the managing property company; neighbour disputes the community police
/// and the property company; everything else the nearest police unit.
pub const DEFAULT_PLANS: &str = include_str!("default_plans.toml");

#[cfg(test)]
mod tests {
    use super::*;
    use crate::incident::DefaultCategory;

    fn parse(text: &str) -> Result<Plans, String> {
        let plans: Plans = toml::from_str(text).map_err(|e| e.to_string())?;
        plans.checked().map_err(|e| e.to_string())
    }

    #[test]
    fn the_shipped_plans_are_valid_and_follow_the_method() {
        let plans = parse(DEFAULT_PLANS).expect("the shipped plans check");
        let p = |n| Priority::new(n).unwrap();
        let fight = plans
            .plan_for(&DefaultCategory::FightAssault.into(), p(1))
            .unwrap();
        assert!(fight.coordinated);
        assert_eq!(
            fight.forces.iter().map(|f| f.role).collect::<Vec<_>>(),
            [ForceRole::PatrolPolice, ForceRole::FirstResponse]
        );
        assert_eq!(fight.forces[1].within_m, Some(800.0));
        assert_eq!(fight.forces[1].travel(), TravelMode::Walking);
        let dv = plans
            .plan_for(&DefaultCategory::DomesticViolence.into(), p(2))
            .unwrap();
        assert_eq!(dv.forces[1].role, ForceRole::PropertyCompany);
        let noise = plans
            .plan_for(&DefaultCategory::NeighbourNoiseDispute.into(), p(3))
            .unwrap();
        assert_eq!(noise.forces[0].role, ForceRole::CommunityPolice);
        let theft = plans
            .plan_for(&DefaultCategory::Theft.into(), p(2))
            .unwrap();
        assert_eq!(
            theft.forces.iter().map(|f| f.role).collect::<Vec<_>>(),
            [ForceRole::Police]
        );
    }

    #[test]
    fn codes_the_table_lacks_are_named() {
        let plans = parse(
            "[[plan]]\nname = \"x\"\ncategories = [\"alien\", \"theft\"]\n[[plan.force]]\nrole = \"police\"\n\n[[plan]]\nname = \"rest\"\n[[plan.force]]\nrole = \"police\"\n",
        )
        .unwrap();
        let unknown = plans.unknown_codes(&CategoryDef::shipped());
        assert_eq!(unknown, [CategoryCode::parse("alien").unwrap()]);
        let shipped = parse(DEFAULT_PLANS).unwrap();
        assert!(shipped.unknown_codes(&CategoryDef::shipped()).is_empty());
    }

    /// Bad plan files as data: (file, what the error must say).
    #[test]
    fn bad_plans_name_the_place_of_the_problem() {
        let catch_all = "\n[[plan]]\nname = \"rest\"\n[[plan.force]]\nrole = \"police\"\n";
        let cases: Vec<(String, &[&str])> = vec![
            ("[[plan]]\nname = \"x\"\ncategories = [\"外星 人\"]\n[[plan.force]]\nrole = \"police\"\n".into(), &["line 3", "外星 人"]),
            ("[[plan]]\nname = \"x\"\n[[plan.force]]\nrole = \"army\"\n".into(), &["line 4", "army"]),
            ("[[plan]]\nname = \"x\"\npriority = 1\n[[plan.force]]\nrole = \"police\"\n".into(), &["line 3", "priority"]),
            ("[[plan]]\nname = \"x\"\nforce = []\n".to_string() + catch_all, &["plan 1", "\"x\"", "sends no force"]),
            ("[[plan]]\nname = \"x\"\n[[plan.force]]\nrole = \"police\"\ncount = 0\n".into(), &["plan 1", "count 0"]),
            ("[[plan]]\nname = \"x\"\n[[plan.force]]\nrole = \"police\"\nwithin_m = -5\n".into(), &["within_m -5"]),
            ("[[plan]]\nname = \"thefts only\"\ncategories = [\"theft\"]\n[[plan.force]]\nrole = \"police\"\n".into(), &["the last plan must cover every category"]),
            ("[[plan]\nname = ".into(), &["line 1"]),
        ];
        for (file, expected) in cases {
            let error = parse(&file).expect_err(&file);
            for needle in expected {
                assert!(
                    error.contains(needle),
                    "error for {file:?} should mention {needle:?}: {error}"
                );
            }
        }
    }
}
