//! The station's response figures, with their definitions. Computed from
//! incidents alone, so any period, zone or community is a filter away.

use crate::dispute::{Dispute, DisputeStatus, FollowUpOutcome};
use crate::incident::{Disposition, Incident, IncidentStatus};
use crate::text::string_enum;
use std::collections::BTreeMap;

/// Summary statistics of a set of durations, in seconds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Durations {
    pub count: usize,
    pub mean: Option<f64>,
    pub median: Option<f64>,
    pub p90: Option<f64>,
}

impl Durations {
    /// Nearest-rank percentiles over the given seconds.
    pub fn of(mut seconds: Vec<i64>) -> Durations {
        seconds.sort_unstable();
        let count = seconds.len();
        let rank = |p: f64| {
            seconds
                .get(((p * count as f64).ceil() as usize).clamp(1, count.max(1)) - 1)
                .map(|&s| s as f64)
        };
        Durations {
            count,
            mean: (count > 0).then(|| seconds.iter().sum::<i64>() as f64 / count as f64),
            median: rank(0.5),
            p90: rank(0.9),
        }
    }
}

/// Response figures over a set of incidents.
///
/// Definitions:
/// - `incidents`: reported in the period, merged duplicates excluded (one
///   event counts once, 双接警).
/// - `police_response`: for incidents a police unit reached, seconds from
///   the report (the 110 instruction) to the first police unit on scene
///   (出警速度).
/// - `first_response`: for incidents a helper reached, seconds from the
///   report to the first volunteer, security-force or property team on
///   scene (先期处置).
/// - `on_scene_resolution_rate`: among closed incidents, the share closed as
///   resolved on scene (现场警情处置率); None when none is closed.
#[derive(Debug, Clone, PartialEq)]
pub struct ResponseFigures {
    pub incidents: usize,
    pub dispatched: usize,
    pub closed: usize,
    pub police_response: Durations,
    pub first_response: Durations,
    pub on_scene_resolution_rate: Option<f64>,
}

impl ResponseFigures {
    pub fn of(incidents: &[Incident]) -> ResponseFigures {
        let counted: Vec<&Incident> = incidents
            .iter()
            .filter(|i| i.merged_into.is_none())
            .collect();
        let closed: Vec<&&Incident> = counted
            .iter()
            .filter(|i| i.status == IncidentStatus::Closed)
            .collect();
        let resolved = closed
            .iter()
            .filter(|i| i.disposition == Some(Disposition::ResolvedOnScene))
            .count();
        ResponseFigures {
            incidents: counted.len(),
            dispatched: counted.iter().filter(|i| i.dispatched_at.is_some()).count(),
            closed: closed.len(),
            police_response: Durations::of(
                counted
                    .iter()
                    .filter_map(|i| i.police_response_seconds())
                    .collect(),
            ),
            first_response: Durations::of(
                counted
                    .iter()
                    .filter_map(|i| i.first_response_seconds())
                    .collect(),
            ),
            on_scene_resolution_rate: (!closed.is_empty())
                .then(|| resolved as f64 / closed.len() as f64),
        }
    }
}

/// How a dispute stands for the resolution rate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// An agreement was reached and has not relapsed since (化解).
    Resolved,
    /// Mediation failed or the case was referred on, with no agreement.
    Unresolved,
    /// Still being worked, or dismissed as not for mediation: not counted.
    Pending,
}

/// A dispute's outcome as the figures count it.
pub fn outcome(d: &Dispute) -> Outcome {
    if d.resolved_at.is_some() {
        Outcome::Resolved
    } else if d.referral.is_some() || d.status == DisputeStatus::MediationFailed {
        Outcome::Unresolved
    } else {
        Outcome::Pending
    }
}

/// Dispute counts of one group (all, a category, a community, an organisation).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct DisputeCounts {
    pub taken_in: usize,
    pub resolved: usize,
    pub unresolved: usize,
}

impl DisputeCounts {
    fn add(&mut self, d: &Dispute) {
        self.taken_in += 1;
        match outcome(d) {
            Outcome::Resolved => self.resolved += 1,
            Outcome::Unresolved => self.unresolved += 1,
            Outcome::Pending => {}
        }
    }

    /// resolved ÷ (resolved + unresolved); None when nothing has concluded.
    pub fn resolution_rate(&self) -> Option<f64> {
        let concluded = self.resolved + self.unresolved;
        (concluded > 0).then(|| self.resolved as f64 / concluded as f64)
    }
}

/// Dispute figures over the disputes taken in during a period.
///
/// Definitions (also on the API):
/// - `taken_in`: disputes opened (registered) in the period, from any source.
/// - `resolved` (化解): of those, the ones whose parties reached an agreement
///   that has not relapsed since. A relapse found at a follow-up visit
///   un-resolves the case until a new agreement.
/// - `unresolved`: of those, the ones where mediation failed or that were
///   referred to the court, the petition office or arbitration without an
///   agreement.
/// - `resolution_rate` (矛盾纠纷化解率): resolved ÷ (resolved + unresolved).
///   Cases still being worked, and those dismissed as not for mediation,
///   are in neither term.
/// - `time_to_resolution`: seconds from registration to the agreement, over
///   resolved cases.
/// - `relapse_rate`: among cases with at least one follow-up visit recorded,
///   the share where a visit found a relapse.
/// - The same counts by category, community and responsible organisation.
#[derive(Debug, Clone, PartialEq)]
pub struct DisputeFigures {
    pub all: DisputeCounts,
    pub time_to_resolution: Durations,
    pub visited: usize,
    pub relapsed: usize,
    pub by_category: BTreeMap<String, DisputeCounts>,
    pub by_community: BTreeMap<Option<i64>, DisputeCounts>,
    pub by_organisation: BTreeMap<i64, DisputeCounts>,
}

impl DisputeFigures {
    /// Over `disputes` opened in `[from, until)` (others are ignored).
    pub fn of(
        disputes: &[Dispute],
        from: crate::Timestamp,
        until: crate::Timestamp,
    ) -> DisputeFigures {
        let mut f = DisputeFigures {
            all: DisputeCounts::default(),
            time_to_resolution: Durations::of(Vec::new()),
            visited: 0,
            relapsed: 0,
            by_category: BTreeMap::new(),
            by_community: BTreeMap::new(),
            by_organisation: BTreeMap::new(),
        };
        let mut seconds = Vec::new();
        for d in disputes
            .iter()
            .filter(|d| d.opened_at >= from && d.opened_at < until)
        {
            f.all.add(d);
            f.by_category
                .entry(d.category.as_str().to_owned())
                .or_default()
                .add(d);
            f.by_community
                .entry(d.community_id.map(|c| c.0))
                .or_default()
                .add(d);
            f.by_organisation
                .entry(d.responsible_org.0)
                .or_default()
                .add(d);
            if let Some(at) = d.resolved_at {
                seconds.push((at - d.opened_at).num_seconds());
            }
            if d.follow_ups.iter().any(|v| v.visited_at.is_some()) {
                f.visited += 1;
                if d.follow_ups
                    .iter()
                    .any(|v| v.outcome == Some(FollowUpOutcome::Relapsed))
                {
                    f.relapsed += 1;
                }
            }
        }
        f.time_to_resolution = Durations::of(seconds);
        f
    }

    pub fn relapse_rate(&self) -> Option<f64> {
        (self.visited > 0).then(|| self.relapsed as f64 / self.visited as f64)
    }
}

string_enum! {
    /// The station's headline figures (what it is judged by), in the order
    /// they are shown.
    pub enum StationFigureKey {
        Incidents = "incidents",
        Criminal = "criminal",
        PublicOrder = "public_order",
        Theft = "theft",
        Dispute = "dispute",
        PoliceResponseSeconds = "police_response_seconds",
        FirstResponseSeconds = "first_response_seconds",
        OnSceneResolutionRate = "on_scene_resolution_rate",
        DisputeResolutionRate = "dispute_resolution_rate",
    }
}

/// What a figure counts in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FigureUnit {
    Count,
    Seconds,
    Rate,
}

impl FigureUnit {
    pub fn as_str(self) -> &'static str {
        match self {
            FigureUnit::Count => "count",
            FigureUnit::Seconds => "seconds",
            FigureUnit::Rate => "rate",
        }
    }
}

/// How every figure is compared, served with each.
pub const CHANGE_DEFINITION: &str = "last_year: the same figure over the same period a year earlier (同比, both ends moved back twelve calendar months); \
previous: over the period of equal length just before (环比). yoy_change = (value − last_year) ÷ last_year and pop_change = (value − previous) ÷ previous, \
as fractions (−0.0668 is −6.68%); null when the base is 0 or not defined.";

impl StationFigureKey {
    pub fn label_zh(self) -> &'static str {
        use StationFigureKey::*;
        match self {
            Incidents => "警情总量",
            Criminal => "刑事警情",
            PublicOrder => "治安警情",
            Theft => "盗窃类警情",
            Dispute => "纠纷类警情",
            PoliceResponseSeconds => "出警速度(平均到场秒数)",
            FirstResponseSeconds => "先期处置(平均到场秒数)",
            OnSceneResolutionRate => "现场处置率",
            DisputeResolutionRate => "矛盾纠纷化解率",
        }
    }

    pub fn label_en(self) -> &'static str {
        use StationFigureKey::*;
        match self {
            Incidents => "All incidents",
            Criminal => "Criminal incidents",
            PublicOrder => "Public-order incidents",
            Theft => "Thefts",
            Dispute => "Dispute-type incidents",
            PoliceResponseSeconds => "Police response (mean seconds)",
            FirstResponseSeconds => "First response (mean seconds)",
            OnSceneResolutionRate => "Resolved on scene",
            DisputeResolutionRate => "Dispute resolution rate",
        }
    }

    pub fn unit(self) -> FigureUnit {
        use StationFigureKey::*;
        match self {
            Incidents | Criminal | PublicOrder | Theft | Dispute => FigureUnit::Count,
            PoliceResponseSeconds | FirstResponseSeconds => FigureUnit::Seconds,
            OnSceneResolutionRate | DisputeResolutionRate => FigureUnit::Rate,
        }
    }

    /// Whether a rise is good news (the console colours arrows by it).
    pub fn higher_is_better(self) -> bool {
        self.unit() == FigureUnit::Rate
    }

    /// What the figure counts, exactly.
    pub fn definition(self) -> &'static str {
        use StationFigureKey::*;
        match self {
            Incidents => {
                "警情总量: incidents reported in the period (by the time of the report), from every source including imported history; a duplicate merged into another counts once (双接警 counted once)."
            }
            Criminal => {
                "刑事警情: of those, incidents whose category is of the criminal family in the station's code table (as recorded when taken in)."
            }
            PublicOrder => "治安警情: of those, incidents of the public-order family.",
            Theft => {
                "盗窃类警情: of those, incidents whose category code is theft or burglary, or contains \"theft\" or \"burglary\" (e.g. vehicle_theft)."
            }
            Dispute => {
                "纠纷类警情: of those, incidents of the dispute family (neighbour/noise, commercial/debt, family and other disputes)."
            }
            PoliceResponseSeconds => {
                "出警速度: mean seconds from the report to the first police unit on scene, over the period's incidents a police unit reached (imported history: its arrived_at). A fall is faster response."
            }
            FirstResponseSeconds => {
                "先期处置: mean seconds from the report to the first volunteer, security-force or property team on scene, over the period's incidents one reached."
            }
            OnSceneResolutionRate => {
                "现场处置率: of the period's incidents closed with a disposition, the share closed as resolved on scene; none (无数据) when no closed incident of the period records how it ended (past records often do not)."
            }
            DisputeResolutionRate => {
                "矛盾纠纷化解率: of the disputes registered in the period that have concluded, the share resolved (an agreement reached and not relapsed since) = resolved ÷ (resolved + unresolved); cases still being worked or dismissed count in neither."
            }
        }
    }
}

/// Whether a category code is in the theft class (盗窃类).
pub fn is_theft(code: &str) -> bool {
    code == "theft" || code == "burglary" || code.contains("theft") || code.contains("burglary")
}

/// (value − base) ÷ base; None when either is missing or the base is 0.
pub fn relative_change(value: Option<f64>, base: Option<f64>) -> Option<f64> {
    match (value, base) {
        (Some(v), Some(b)) if b != 0.0 => Some((v - b) / b),
        _ => None,
    }
}

/// The sums the station's figures are computed from, over one period.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FigureSums {
    pub incidents: i64,
    pub criminal: i64,
    pub public_order: i64,
    pub theft: i64,
    pub dispute: i64,
    pub police_n: i64,
    pub police_seconds: i64,
    pub helper_n: i64,
    pub helper_seconds: i64,
    pub closed: i64,
    pub on_scene: i64,
    pub disputes_resolved: i64,
    pub disputes_unresolved: i64,
}

impl FigureSums {
    /// One figure's value; None when it is not defined (a mean or rate over nothing).
    pub fn value(&self, key: StationFigureKey) -> Option<f64> {
        use StationFigureKey::*;
        let ratio = |a: i64, b: i64| (b > 0).then(|| a as f64 / b as f64);
        match key {
            Incidents => Some(self.incidents as f64),
            Criminal => Some(self.criminal as f64),
            PublicOrder => Some(self.public_order as f64),
            Theft => Some(self.theft as f64),
            Dispute => Some(self.dispute as f64),
            PoliceResponseSeconds => ratio(self.police_seconds, self.police_n),
            FirstResponseSeconds => ratio(self.helper_seconds, self.helper_n),
            OnSceneResolutionRate => ratio(self.on_scene, self.closed),
            DisputeResolutionRate => ratio(
                self.disputes_resolved,
                self.disputes_resolved + self.disputes_unresolved,
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (count, mean, median, p90)
    type Expected = (usize, Option<f64>, Option<f64>, Option<f64>);

    /// Durations as data: (seconds, expected).
    #[test]
    fn durations_table() {
        let cases: Vec<(Vec<i64>, Expected)> = vec![
            (vec![], (0, None, None, None)),
            (vec![300], (1, Some(300.0), Some(300.0), Some(300.0))),
            (
                vec![600, 180, 360],
                (3, Some(380.0), Some(360.0), Some(600.0)),
            ),
            (
                (1..=10).map(|m| m * 60).collect(),
                (10, Some(330.0), Some(300.0), Some(540.0)),
            ),
        ];
        for (seconds, expected) in cases {
            let d = Durations::of(seconds.clone());
            assert_eq!((d.count, d.mean, d.median, d.p90), expected, "{seconds:?}");
        }
    }

    /// A year's disputes, generated by a rule whose outcome is easy to count
    /// by hand: case i (0..100) is opened on day i of 2026 and
    /// - i % 25 == 0: dismissed (4 cases: 0, 25, 50, 75);
    /// - else i % 10 == 9: mediation failed, referred to court (10);
    /// - else i % 10 == 8: accepted, still being worked (10);
    /// - else an agreement after (i % 3 + 1) days, signed by both (76), then
    ///   i % 7 == 0: a relapse at the 7-day visit (11: 7, 14, 21, 35, 42,
    ///   56, 63, 70, 77, 84, 91); else i % 5 == 0: a stable visit (14).
    ///
    /// Resolved 76 − 11 = 65, unresolved 10, rate 65 / 75; visited 25,
    /// relapsed 11.
    fn a_year_of_disputes() -> Vec<Dispute> {
        use crate::dispute::*;
        use crate::ids::{CommunityId, DisputeId, OrganisationId};
        use chrono::{Duration, TimeZone};
        let start = chrono::Utc.with_ymd_and_hms(2026, 1, 1, 1, 0, 0).unwrap();
        let party = |name: &str| Party {
            name: name.into(),
            phone: None,
            vulnerable: false,
            organisation: None,
        };
        (0..100)
            .map(|i: i64| {
                let opened = start + Duration::days(i);
                let category = [
                    DisputeCategory::NeighbourNoise,
                    DisputeCategory::CommercialDebt,
                    DisputeCategory::FamilyMarital,
                    DisputeCategory::Labour,
                ][(i % 4) as usize];
                let new = NewDispute {
                    source: DisputeSource::Screening,
                    category,
                    summary: format!("case {i}"),
                    address: format!("address {i}"),
                    location: None,
                    community_id: Some(CommunityId(i % 10 + 1)),
                    incident_ids: vec![],
                    parties: vec![party("甲"), party("乙")],
                    responsible_org: OrganisationId(if i % 2 == 0 { 2 } else { 6 }),
                    participating_orgs: vec![],
                };
                let mut d = Dispute::open(new, RiskFacts::default(), opened, "t").unwrap();
                d.id = DisputeId(i + 1);
                if i % 25 == 0 {
                    d.dismiss("撤回", opened, "t").unwrap();
                    return d;
                }
                d.accept(vec![], opened, "t").unwrap();
                let session = |outcome, at| MediationSession {
                    at,
                    venue: Venue::MediationRoom,
                    participants: vec![Participant {
                        name: "调解员".into(),
                        role: "调解员".into(),
                        organisation_id: None,
                    }],
                    notes: String::new(),
                    outcome,
                    recorded_by: "t".into(),
                };
                match i % 10 {
                    9 => {
                        d.record_session(
                            session(SessionOutcome::Failed, opened + Duration::days(1)),
                            "t",
                        )
                        .unwrap();
                        d.refer(Referral::Court, opened + Duration::days(2), "t")
                            .unwrap();
                        return d;
                    }
                    8 => return d,
                    _ => {}
                }
                let agreed = opened + Duration::days(i % 3 + 1);
                d.record_session(session(SessionOutcome::Agreement, agreed), "t")
                    .unwrap();
                d.draft_agreement("f".into(), vec!["t".into()], agreed, "t")
                    .unwrap();
                d.sign("甲", agreed, "t").unwrap();
                d.sign("乙", agreed, "t").unwrap();
                let visit = agreed + Duration::days(7);
                if i % 7 == 0 {
                    d.record_follow_up(FollowUpOutcome::Relapsed, None, visit, "t")
                        .unwrap();
                } else if i % 5 == 0 {
                    d.record_follow_up(FollowUpOutcome::Stable, None, visit, "t")
                        .unwrap();
                }
                d
            })
            .collect()
    }

    #[test]
    fn dispute_figures_match_the_hand_count() {
        use chrono::TimeZone;
        let year = a_year_of_disputes();
        let from = chrono::Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
        let until = chrono::Utc.with_ymd_and_hms(2027, 1, 1, 0, 0, 0).unwrap();
        let f = DisputeFigures::of(&year, from, until);
        assert_eq!(
            f.all,
            DisputeCounts {
                taken_in: 100,
                resolved: 65,
                unresolved: 10
            }
        );
        assert_eq!(f.all.resolution_rate(), Some(65.0 / 75.0));
        assert_eq!(
            (f.visited, f.relapsed, f.relapse_rate()),
            (25, 11, Some(0.44))
        );
        let day = 86_400.0;
        let t = f.time_to_resolution;
        assert_eq!(
            (t.count, t.mean, t.median, t.p90),
            (65, Some(2.0 * day), Some(2.0 * day), Some(3.0 * day))
        );
        let counts = |taken_in, resolved, unresolved| DisputeCounts {
            taken_in,
            resolved,
            unresolved,
        };
        assert_eq!(f.by_category["neighbour_noise"], counts(25, 17, 0));
        assert_eq!(f.by_category["commercial_debt"], counts(25, 17, 5));
        assert_eq!(f.by_category["family_marital"], counts(25, 16, 0));
        assert_eq!(f.by_category["labour"], counts(25, 15, 5));
        assert_eq!(f.by_organisation[&2], counts(50, 33, 0));
        assert_eq!(f.by_organisation[&6], counts(50, 32, 10));
        assert_eq!(
            f.by_community.values().map(|c| c.taken_in).sum::<usize>(),
            100
        );

        // The first 90 days only: cases 0..90.
        let q = DisputeFigures::of(&year, from, from + chrono::Duration::days(90));
        assert_eq!(
            q.all,
            DisputeCounts {
                taken_in: 90,
                resolved: 58,
                unresolved: 9
            }
        );
        assert_eq!((q.visited, q.relapsed), (22, 10));
        assert_eq!(q.by_category["labour"], counts(22, 14, 4));
        // An empty period has no rates, not zero ones.
        let none = DisputeFigures::of(&year, until, until + chrono::Duration::days(1));
        assert_eq!(
            (
                none.all.taken_in,
                none.all.resolution_rate(),
                none.relapse_rate()
            ),
            (0, None, None)
        );
    }
}
