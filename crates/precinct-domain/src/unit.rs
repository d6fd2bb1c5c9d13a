//! Units: every force the command room can send, police or not, and the one
//! table of legal status transitions (有警出警、无警巡逻: a free unit patrols).

use crate::Timestamp;
use crate::error::{DomainError, Entity};
use crate::ids::{IncidentId, PostId, PropertyCompanyId, UnitId, ZoneId};
use crate::incident::PhoneNumber;
use crate::text::string_enum;
use precinct_geo::Coordinates;
use serde::{Deserialize, Serialize};

string_enum! {
    /// What kind of force a unit is.
    pub enum UnitKind {
        PatrolCar = "patrol_car",
        FootPatrol = "foot_patrol",
        /// The team of a zone's police post (警务驻点).
        PostTeam = "post_team",
        /// The 1+N+N team of a community police office (社区警务室).
        CommunityPoliceTeam = "community_police_team",
        /// 雷锋义警 volunteer police.
        VolunteerPoliceTeam = "volunteer_police_team",
        /// 治保力量 local security forces.
        SecurityForceTeam = "security_force_team",
        /// 网格员 grid workers and volunteers.
        GridWorker = "grid_worker",
        /// Staff of a property or market management company.
        PropertyStaff = "property_staff",
    }
}

/// How old each kind of unit's position may be before it is taken as
/// stale: a patrol car moves and reports often, a post team stays at its
/// post, helpers' phones report less often.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaleLimits {
    minutes: std::collections::BTreeMap<UnitKind, i64>,
}

impl Default for StaleLimits {
    fn default() -> StaleLimits {
        use UnitKind::*;
        StaleLimits {
            minutes: [
                (PatrolCar, 10),
                (FootPatrol, 10),
                (PostTeam, 60),
                (CommunityPoliceTeam, 30),
                (VolunteerPoliceTeam, 30),
                (SecurityForceTeam, 30),
                (GridWorker, 30),
                (PropertyStaff, 30),
            ]
            .into_iter()
            .collect(),
        }
    }
}

impl StaleLimits {
    /// The same limit for every kind.
    pub fn uniform(minutes: i64) -> StaleLimits {
        StaleLimits {
            minutes: UnitKind::ALL.iter().map(|&k| (k, minutes)).collect(),
        }
    }

    /// These limits with some kinds changed: `patrol_car=5,grid_worker=45`
    /// (minutes, 1 to 1440).
    pub fn overridden(self, text: &str) -> Result<StaleLimits, String> {
        let mut limits = self;
        for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (kind, minutes) = part
                .split_once('=')
                .ok_or_else(|| format!("{part:?}: expected KIND=MINUTES"))?;
            let kind = UnitKind::parse(kind.trim())
                .ok_or_else(|| format!("{kind:?} is not a unit kind"))?;
            let minutes: i64 = minutes
                .trim()
                .parse()
                .ok()
                .filter(|m| (1..=1440).contains(m))
                .ok_or_else(|| format!("{part:?}: minutes must be 1 to 1440"))?;
            limits.minutes.insert(kind, minutes);
        }
        Ok(limits)
    }

    pub fn limit(&self, kind: UnitKind) -> chrono::Duration {
        chrono::Duration::minutes(self.minutes.get(&kind).copied().unwrap_or(10))
    }
}

impl UnitKind {
    /// Police units can take law-enforcement action; the others give first
    /// response (先期处置) until police arrive.
    pub fn is_police(self) -> bool {
        matches!(
            self,
            UnitKind::PatrolCar
                | UnitKind::FootPatrol
                | UnitKind::PostTeam
                | UnitKind::CommunityPoliceTeam
        )
    }

    /// What a unit of this kind can do unless its record says otherwise.
    pub fn default_capabilities(self) -> Vec<Capability> {
        use Capability::*;
        match self {
            UnitKind::PatrolCar => vec![LawEnforcement, Patrol, Vehicle],
            UnitKind::FootPatrol => vec![LawEnforcement, Patrol],
            UnitKind::PostTeam => vec![LawEnforcement, Patrol, Vehicle, Mediation],
            UnitKind::CommunityPoliceTeam => vec![LawEnforcement, Patrol, Mediation],
            UnitKind::VolunteerPoliceTeam => vec![FirstResponse, Patrol],
            UnitKind::SecurityForceTeam => vec![FirstResponse, Patrol],
            UnitKind::GridWorker => vec![FirstResponse, Mediation],
            UnitKind::PropertyStaff => vec![FirstResponse, Mediation],
        }
    }
}

string_enum! {
    pub enum Capability {
        LawEnforcement = "law_enforcement",
        FirstResponse = "first_response",
        Patrol = "patrol",
        Mediation = "mediation",
        Vehicle = "vehicle",
    }
}

string_enum! {
    pub enum UnitStatus {
        OffDuty = "off_duty",
        OnPatrol = "on_patrol",
        AtPost = "at_post",
        Dispatched = "dispatched",
        EnRoute = "en_route",
        OnScene = "on_scene",
        Clearing = "clearing",
    }
}

/// Every legal unit status change. Anything not listed is illegal.
///
/// `Dispatched` is entered only by a dispatch (see [`UnitStatus::can_be_dispatched`]),
/// never by a unit reporting its own status. Leaving an engaged state for
/// patrol or post releases the unit from its incident.
pub const UNIT_TRANSITIONS: &[(UnitStatus, UnitStatus)] = {
    use UnitStatus::*;
    &[
        (OffDuty, OnPatrol),
        (OffDuty, AtPost),
        (OnPatrol, AtPost),
        (OnPatrol, OffDuty),
        (OnPatrol, Dispatched),
        (AtPost, OnPatrol),
        (AtPost, OffDuty),
        (AtPost, Dispatched),
        (Dispatched, EnRoute),
        (Dispatched, OnScene),
        // Stood down before arriving.
        (Dispatched, OnPatrol),
        (EnRoute, OnScene),
        (EnRoute, OnPatrol),
        (OnScene, Clearing),
        // Cleared straight from the scene (the incident closed there).
        (OnScene, OnPatrol),
        (Clearing, OnPatrol),
        (Clearing, AtPost),
        (Clearing, OffDuty),
    ]
};

impl UnitStatus {
    pub fn can_become(self, to: UnitStatus) -> bool {
        UNIT_TRANSITIONS.contains(&(self, to))
    }

    /// Checks a change of status the unit itself (or a dispatcher on its
    /// behalf) reports. `dispatched` is reserved for dispatching.
    pub fn reported_change(self, to: UnitStatus) -> Result<UnitStatus, DomainError> {
        if to != UnitStatus::Dispatched && self.can_become(to) {
            Ok(to)
        } else {
            Err(DomainError::IllegalTransition {
                entity: Entity::Unit,
                from: self.as_str(),
                to: to.as_str(),
            })
        }
    }

    /// The statuses the unit may report next (the transition table; being
    /// dispatched is not reported, it is done to the unit).
    pub fn next_reported(self) -> impl Iterator<Item = UnitStatus> {
        UnitStatus::ALL
            .iter()
            .copied()
            .filter(move |to| self.reported_change(*to).is_ok())
    }

    /// Free for a new task: patrolling or at its post.
    pub fn can_be_dispatched(self) -> bool {
        self.can_become(UnitStatus::Dispatched)
    }

    /// Working an incident.
    pub fn is_engaged(self) -> bool {
        matches!(
            self,
            UnitStatus::Dispatched
                | UnitStatus::EnRoute
                | UnitStatus::OnScene
                | UnitStatus::Clearing
        )
    }
}

/// A force the command room can send.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Unit {
    pub id: UnitId,
    /// Radio call sign, unique in the station (e.g. "怡园1").
    pub call_sign: String,
    pub name: String,
    pub kind: UnitKind,
    pub home_post_id: Option<PostId>,
    pub zone_id: Option<ZoneId>,
    pub capabilities: Vec<Capability>,
    pub status: UnitStatus,
    pub position: Option<Coordinates>,
    pub position_at: Option<Timestamp>,
    /// The incident the unit is working, while engaged.
    pub incident_id: Option<IncidentId>,
    pub member_count: u32,
    pub property_company_id: Option<PropertyCompanyId>,
    /// The unit's duty phone.
    #[serde(default)]
    pub phone: Option<PhoneNumber>,
    /// No longer in the station's package: kept for past records, never
    /// recommended or listed as a force.
    #[serde(default)]
    pub retired: bool,
}

/// A unit to be created (its id is given by the store).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewUnit {
    pub call_sign: String,
    pub name: String,
    pub kind: UnitKind,
    pub home_post_id: Option<PostId>,
    pub zone_id: Option<ZoneId>,
    pub capabilities: Vec<Capability>,
    pub status: UnitStatus,
    pub position: Option<Coordinates>,
    pub member_count: u32,
    pub property_company_id: Option<PropertyCompanyId>,
    #[serde(default)]
    pub phone: Option<PhoneNumber>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stale_limits_by_kind_and_overrides() {
        let limits = StaleLimits::default();
        assert_eq!(
            limits.limit(UnitKind::PatrolCar),
            chrono::Duration::minutes(10)
        );
        assert_eq!(
            limits.limit(UnitKind::PostTeam),
            chrono::Duration::minutes(60)
        );
        assert_eq!(
            limits.limit(UnitKind::VolunteerPoliceTeam),
            chrono::Duration::minutes(30)
        );
        let changed = limits
            .clone()
            .overridden("patrol_car=5, grid_worker=45")
            .unwrap();
        assert_eq!(
            changed.limit(UnitKind::PatrolCar),
            chrono::Duration::minutes(5)
        );
        assert_eq!(
            changed.limit(UnitKind::GridWorker),
            chrono::Duration::minutes(45)
        );
        assert_eq!(
            changed.limit(UnitKind::PostTeam),
            chrono::Duration::minutes(60)
        );
        for bad in [
            "patrol_car",
            "tank=5",
            "patrol_car=0",
            "patrol_car=x",
            "patrol_car=2000",
        ] {
            assert!(limits.clone().overridden(bad).is_err(), "{bad}");
        }
        assert_eq!(
            StaleLimits::uniform(7).limit(UnitKind::PostTeam),
            chrono::Duration::minutes(7)
        );
    }
    use UnitStatus::*;

    /// The whole table, written out as data: every pair, legal or not.
    #[test]
    fn transition_table_every_pair() {
        let legal: &[(UnitStatus, &[UnitStatus])] = &[
            (OffDuty, &[OnPatrol, AtPost]),
            (OnPatrol, &[AtPost, OffDuty, Dispatched]),
            (AtPost, &[OnPatrol, OffDuty, Dispatched]),
            (Dispatched, &[EnRoute, OnScene, OnPatrol]),
            (EnRoute, &[OnScene, OnPatrol]),
            (OnScene, &[Clearing, OnPatrol]),
            (Clearing, &[OnPatrol, AtPost, OffDuty]),
        ];
        for &(from, tos) in legal {
            for &to in UnitStatus::ALL {
                assert_eq!(from.can_become(to), tos.contains(&to), "{from} -> {to}");
            }
        }
        assert_eq!(legal.len(), UnitStatus::ALL.len());
    }

    #[test]
    fn dispatched_cannot_be_reported() {
        assert!(OnPatrol.can_become(Dispatched));
        assert_eq!(
            OnPatrol.reported_change(Dispatched),
            Err(DomainError::IllegalTransition {
                entity: Entity::Unit,
                from: "on_patrol",
                to: "dispatched"
            })
        );
        assert_eq!(OnScene.reported_change(Clearing), Ok(Clearing));
    }

    #[test]
    fn availability() {
        let available: Vec<_> = UnitStatus::ALL
            .iter()
            .filter(|s| s.can_be_dispatched())
            .collect();
        assert_eq!(available, [&OnPatrol, &AtPost]);
    }

    #[test]
    fn text_round_trip() {
        for kind in UnitKind::ALL {
            assert_eq!(UnitKind::parse(kind.as_str()), Some(*kind));
        }
        assert_eq!(UnitKind::parse("tank"), None);
    }
}
