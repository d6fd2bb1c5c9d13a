//! Incidents (警情): how they arrive, what they are, their one lifecycle
//! table, how they close, and when two reports are the same event (双接警).

use crate::Timestamp;
pub use crate::category::{
    Category, CategoryCode, CategoryDef, CategoryFamily, DefaultCategory, Priority,
};
use crate::error::{DomainError, Entity};
use crate::ground::Resolution;
use crate::ids::{IncidentId, UnitId};
use crate::text::string_enum;
use crate::unit::Unit;
use chrono::Duration;
use precinct_geo::Coordinates;
use serde::{Deserialize, Serialize};

string_enum! {
    /// How an incident reached the station.
    pub enum IntakeSource {
        /// An instruction from the city 110 centre (110指令).
        Instruction110 = "instruction_110",
        Phone = "phone",
        WalkIn = "walk_in",
        VolunteerReport = "volunteer_report",
        GridWorkerReport = "grid_worker_report",
        VideoPatrol = "video_patrol",
        Alarm = "alarm",
        /// Imported from the station's past records (历史警情); never a
        /// source of a new report.
        History = "history",
    }
}

string_enum! {
    pub enum IncidentStatus {
        Received = "received",
        Dispatched = "dispatched",
        OnScene = "on_scene",
        Closed = "closed",
    }
}

/// Every legal incident status change. Anything not listed is illegal.
pub const INCIDENT_TRANSITIONS: &[(IncidentStatus, IncidentStatus)] = {
    use IncidentStatus::*;
    &[
        (Received, Dispatched),
        // Closed without sending anyone (no action needed, transferred, merged).
        (Received, Closed),
        (Dispatched, OnScene),
        (Dispatched, Closed),
        (OnScene, Closed),
    ]
};

impl IncidentStatus {
    pub fn can_become(self, to: IncidentStatus) -> bool {
        INCIDENT_TRANSITIONS.contains(&(self, to))
    }

    pub fn transition(self, to: IncidentStatus) -> Result<IncidentStatus, DomainError> {
        if self.can_become(to) {
            Ok(to)
        } else {
            Err(DomainError::IllegalTransition {
                entity: Entity::Incident,
                from: self.as_str(),
                to: to.as_str(),
            })
        }
    }

    pub fn is_open(self) -> bool {
        self != IncidentStatus::Closed
    }
}

string_enum! {
    /// How an incident ended.
    pub enum Disposition {
        ResolvedOnScene = "resolved_on_scene",
        ReferredToMediation = "referred_to_mediation",
        CriminalCaseOpened = "criminal_case_opened",
        PublicOrderCaseOpened = "public_order_case_opened",
        NoActionNeeded = "no_action_needed",
        TransferredToAgency = "transferred_to_agency",
        /// Set only by merging; a user cannot close with it directly.
        MergedAsDuplicate = "merged_as_duplicate",
    }
}

impl Disposition {
    /// A disposition by the name a station's records give it.
    pub fn from_label_zh(text: &str) -> Option<Disposition> {
        use Disposition::*;
        Some(match text {
            "现场处置完毕" | "现场处置" | "现场调解" | "现场解决" => {
                ResolvedOnScene
            }
            "移交调解" | "转调解" => ReferredToMediation,
            "刑事立案" => CriminalCaseOpened,
            "治安立案" | "治安受案" => PublicOrderCaseOpened,
            "无需处置" => NoActionNeeded,
            "移交其他部门" | "移交相关部门" => TransferredToAgency,
            _ => return None,
        })
    }

    /// Checks a disposition a user closes an incident with.
    pub fn chosen_by_user(self) -> Result<Disposition, DomainError> {
        if self == Disposition::MergedAsDuplicate {
            Err(DomainError::invalid(
                "disposition",
                "merged_as_duplicate is set by merging, not by closing",
            ))
        } else {
            Ok(self)
        }
    }
}

/// A caller's phone number, kept as its digits (and a leading + if given).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PhoneNumber(String);

impl PhoneNumber {
    /// Accepts digits with spaces, dashes or brackets between them and an
    /// optional leading +; 5 to 20 digits (short service numbers to
    /// international numbers with extension).
    pub fn parse(text: &str) -> Result<PhoneNumber, DomainError> {
        let trimmed = text.trim();
        let (plus, rest) = match trimmed.strip_prefix('+') {
            Some(rest) => ("+", rest),
            None => ("", trimmed),
        };
        if let Some(bad) = rest
            .chars()
            .find(|c| !(c.is_ascii_digit() || matches!(c, ' ' | '-' | '(' | ')')))
        {
            return Err(DomainError::invalid(
                "caller_phone",
                format!("unexpected character {bad:?}"),
            ));
        }
        let digits: String = rest.chars().filter(char::is_ascii_digit).collect();
        if !(5..=20).contains(&digits.len()) {
            return Err(DomainError::invalid(
                "caller_phone",
                format!("{} digits; expected 5 to 20", digits.len()),
            ));
        }
        Ok(PhoneNumber(format!("{plus}{digits}")))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The number with its middle hidden: 138****5678.
    pub fn masked(&self) -> String {
        let chars: Vec<char> = self.0.chars().collect();
        if chars.len() < 8 {
            return "*".repeat(chars.len());
        }
        let head: String = chars[..3].iter().collect();
        let tail: String = chars[chars.len() - 4..].iter().collect();
        format!("{head}{}{tail}", "*".repeat(chars.len() - 7))
    }
}

/// A person's name with all but its first character hidden: 李** .
pub fn mask_name(name: &str) -> String {
    let mut chars = name.chars();
    match chars.next() {
        Some(first) => std::iter::once(first).chain(chars.map(|_| '*')).collect(),
        None => String::new(),
    }
}

/// Who reported the incident. Personal data: shown only to roles that need it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Caller {
    pub name: Option<String>,
    pub phone: Option<PhoneNumber>,
}

impl Caller {
    pub fn masked(&self) -> Caller {
        Caller {
            name: self.name.as_deref().map(mask_name),
            phone: self.phone.as_ref().map(|p| PhoneNumber(p.masked())),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.name.is_none() && self.phone.is_none()
    }
}

/// A new report, already parsed and checked at the edge.
#[derive(Debug, Clone, PartialEq)]
pub struct Intake {
    pub source: IntakeSource,
    /// The sender's own id, e.g. the 110 centre's instruction number. The same
    /// source and external id always mean the same incident.
    pub external_id: Option<String>,
    pub category: Category,
    pub priority: Priority,
    pub location: Coordinates,
    pub resolution: Resolution,
    pub address: String,
    pub caller: Caller,
    pub summary: String,
    pub reported_at: Timestamp,
}

impl Intake {
    /// The incident this report becomes when stored with `id` at
    /// `received_at`. Times keep millisecond precision, as stored.
    pub fn into_incident(
        self,
        id: IncidentId,
        received_at: Timestamp,
        duplicate_of: Option<IncidentId>,
    ) -> Incident {
        use chrono::SubsecRound;
        Incident {
            id,
            source: self.source,
            external_id: self.external_id,
            category: self.category,
            priority: self.priority,
            status: IncidentStatus::Received,
            disposition: None,
            closing_remark: None,
            location: self.location,
            resolution: self.resolution,
            address: self.address,
            caller: self.caller,
            summary: self.summary,
            reported_at: self.reported_at.trunc_subsecs(3),
            received_at,
            dispatched_at: None,
            first_on_scene_at: None,
            first_police_on_scene_at: None,
            first_helper_on_scene_at: None,
            closed_at: None,
            duplicate_of,
            merged_into: None,
            assignments: Vec::new(),
        }
    }
}

/// A unit sent to an incident.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Assignment {
    pub unit_id: UnitId,
    pub assigned_at: Timestamp,
    pub arrived_at: Option<Timestamp>,
    pub released_at: Option<Timestamp>,
    /// Whether the unit was a police unit when assigned (first-response
    /// helpers' arrivals are measured separately).
    pub police: bool,
    /// A helper accepted its first-response task.
    pub accepted_at: Option<Timestamp>,
    /// A helper handed the scene over to the police.
    pub handed_over_at: Option<Timestamp>,
}

/// The short instruction a first-response helper gets, in Chinese and English.
pub fn first_response_instruction(category: &Category) -> (&'static str, &'static str) {
    match category.family() {
        CategoryFamily::Criminal | CategoryFamily::PublicOrder => (
            "隔开当事双方,控制现场,保护证据,等待民警到场,不要与对方冲突。",
            "Separate the parties, hold the scene, keep evidence as it is, wait for police; do not fight anyone.",
        ),
        CategoryFamily::DomesticViolence => (
            "确保受害人安全,将双方隔开,等待民警到场。",
            "Make the victim safe, keep the parties apart, wait for police.",
        ),
        CategoryFamily::Dispute => (
            "劝导双方冷静,防止事态升级,等待民警或调解人员到场。",
            "Calm both sides, stop it from escalating, wait for police or mediators.",
        ),
        CategoryFamily::Fire => (
            "疏散群众,保持通道畅通,不要进入火场,等待消防和民警。",
            "Move people away, keep access clear, do not enter the fire, wait for firefighters and police.",
        ),
        CategoryFamily::Traffic => (
            "设置警示,疏导交通,照看伤者,等待民警。",
            "Warn traffic, keep it moving, look after the injured, wait for police.",
        ),
        CategoryFamily::HelpRequest | CategoryFamily::Other => (
            "到场了解情况,照看求助人,等待民警。",
            "Find out what is needed, look after the person, wait for police.",
        ),
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Incident {
    pub id: IncidentId,
    pub source: IntakeSource,
    pub external_id: Option<String>,
    pub category: Category,
    pub priority: Priority,
    pub status: IncidentStatus,
    pub disposition: Option<Disposition>,
    pub closing_remark: Option<String>,
    pub location: Coordinates,
    pub resolution: Resolution,
    pub address: String,
    pub caller: Caller,
    pub summary: String,
    pub reported_at: Timestamp,
    pub received_at: Timestamp,
    pub dispatched_at: Option<Timestamp>,
    pub first_on_scene_at: Option<Timestamp>,
    pub first_police_on_scene_at: Option<Timestamp>,
    pub first_helper_on_scene_at: Option<Timestamp>,
    pub closed_at: Option<Timestamp>,
    /// A likely duplicate of this earlier incident (same event, reported twice).
    pub duplicate_of: Option<IncidentId>,
    /// Set when this incident was merged into another.
    pub merged_into: Option<IncidentId>,
    pub assignments: Vec<Assignment>,
}

/// Two reports within this distance…
pub const DUPLICATE_RADIUS_M: f64 = 300.0;
/// …and this many minutes of each other, of the same category family, are
/// likely the same event.
pub const DUPLICATE_WINDOW_MINUTES: i64 = 15;

/// What duplicate detection needs to know of an earlier incident.
#[derive(Debug, Clone, PartialEq)]
pub struct DuplicateCandidate {
    pub id: IncidentId,
    pub category: Category,
    pub location: Coordinates,
    pub reported_at: Timestamp,
}

impl DuplicateCandidate {
    /// Same category family, within [`DUPLICATE_RADIUS_M`] and
    /// [`DUPLICATE_WINDOW_MINUTES`] of each other.
    pub fn likely_same_event(&self, intake: &Intake) -> bool {
        self.category.family() == intake.category.family()
            && (self.reported_at - intake.reported_at).abs()
                <= Duration::minutes(DUPLICATE_WINDOW_MINUTES)
            && self.location.distance_m(intake.location) <= DUPLICATE_RADIUS_M
    }
}

impl From<&Incident> for DuplicateCandidate {
    fn from(incident: &Incident) -> DuplicateCandidate {
        DuplicateCandidate {
            id: incident.id,
            category: incident.category.clone(),
            location: incident.location,
            reported_at: incident.reported_at,
        }
    }
}

impl Incident {
    /// Whether `intake` likely reports the same event as this incident. An
    /// incident merged into another is never a candidate.
    pub fn likely_same_event(&self, intake: &Intake) -> bool {
        self.merged_into.is_none() && DuplicateCandidate::from(self).likely_same_event(intake)
    }

    /// Seconds from the report to the first police unit on scene (出警速度).
    pub fn police_response_seconds(&self) -> Option<i64> {
        self.first_police_on_scene_at
            .map(|t| (t - self.reported_at).num_seconds())
    }

    /// Seconds from the report to the first helper on scene (先期处置).
    pub fn first_response_seconds(&self) -> Option<i64> {
        self.first_helper_on_scene_at
            .map(|t| (t - self.reported_at).num_seconds())
    }

    pub fn active_assignment(&self, unit: UnitId) -> Option<&Assignment> {
        self.assignments
            .iter()
            .find(|a| a.unit_id == unit && a.released_at.is_none())
    }
}

/// Picks, among earlier reports, the one `intake` most likely duplicates:
/// the nearest, then the earliest.
pub fn likely_duplicate<'a>(
    intake: &Intake,
    candidates: &'a [DuplicateCandidate],
) -> Option<&'a DuplicateCandidate> {
    candidates
        .iter()
        .filter(|c| c.likely_same_event(intake))
        .min_by(|a, b| {
            let da = a.location.distance_m(intake.location);
            let db = b.location.distance_m(intake.location);
            da.total_cmp(&db).then(a.id.cmp(&b.id))
        })
}

/// Checks that `duplicate` may be merged into `target`.
pub fn check_merge(duplicate: &Incident, target: &Incident) -> Result<(), DomainError> {
    if duplicate.id == target.id {
        return Err(DomainError::invalid(
            "into",
            "an incident cannot be merged into itself",
        ));
    }
    if duplicate.status == IncidentStatus::Closed {
        return Err(DomainError::IncidentClosed {
            incident: duplicate.id.0,
        });
    }
    if target.merged_into.is_some() {
        return Err(DomainError::invalid(
            "into",
            format!("incident {} was itself merged", target.id),
        ));
    }
    Ok(())
}

/// Checks free text (summary, note, remark): trimmed, non-empty, bounded.
pub fn checked_text(
    field: &'static str,
    text: &str,
    max_chars: usize,
) -> Result<String, DomainError> {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err(DomainError::invalid(field, "must not be empty"));
    }
    if trimmed.chars().count() > max_chars {
        return Err(DomainError::invalid(
            field,
            format!("longer than {max_chars} characters"),
        ));
    }
    Ok(trimmed.to_owned())
}

/// Whether `unit_ids` may be sent to `incident`: at least one, none named
/// twice, the incident still open, and every unit free for a new task
/// (patrolling or at its post, working no incident). All or nothing: the
/// first unit that is not free refuses the whole dispatch.
pub fn check_dispatch(
    incident: &Incident,
    unit_ids: &[UnitId],
    units: &[Unit],
) -> Result<(), DomainError> {
    if unit_ids.is_empty() {
        return Err(DomainError::invalid("unit_ids", "name at least one unit"));
    }
    let mut seen = unit_ids.to_vec();
    seen.sort();
    seen.dedup();
    if seen.len() != unit_ids.len() {
        return Err(DomainError::invalid("unit_ids", "a unit is named twice"));
    }
    if !incident.status.is_open() {
        return Err(DomainError::IncidentClosed {
            incident: incident.id.0,
        });
    }
    if let Some(busy) = units
        .iter()
        .find(|u| !u.status.can_be_dispatched() || u.incident_id.is_some())
    {
        return Err(DomainError::UnitUnavailable {
            unit: busy.id.0,
            status: busy.status.as_str(),
        });
    }
    Ok(())
}

/// What a dispatcher asks to send.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DispatchOrder {
    pub units: Vec<UnitId>,
    /// Those of `units` a priority-1 incident may take off a lower-priority
    /// one (the recommendation's diversions): stood down, then sent.
    pub divert: Vec<UnitId>,
    /// Send units that declined or withdrew from this incident again.
    pub confirm_resend: bool,
    /// For an order made from a recommendation: the units that were on the
    /// incident when it was made. If others have been sent since (a second
    /// click, another dispatcher), the order is out of date and refused.
    pub seen: Option<Vec<UnitId>>,
}

/// What an order comes to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DispatchDecision {
    /// Sent now, in the order asked.
    pub send: Vec<UnitId>,
    /// Of `send`, those stood down from another incident first.
    pub divert: Vec<UnitId>,
    /// Already working this incident: left as they are.
    pub skipped: Vec<UnitId>,
}

/// Decides an order against the incident and the named units as they are
/// (`units` holds every unit the order names): a unit already on the
/// incident is skipped, so a second click or a retry sends nobody twice;
/// one that declined or withdrew is sent again only when confirmed; any
/// other must be free, or a diversion the order allows. All or nothing.
pub fn decide_dispatch(
    incident: &Incident,
    order: &DispatchOrder,
    units: &[Unit],
) -> Result<DispatchDecision, DomainError> {
    check_dispatch(incident, &order.units, &[])?;
    let working: Vec<UnitId> = incident
        .assignments
        .iter()
        .filter(|a| a.released_at.is_none())
        .map(|a| a.unit_id)
        .collect();
    if let Some(seen) = &order.seen
        && working.iter().any(|u| !seen.contains(u))
    {
        let call_signs = working
            .iter()
            .map(|id| {
                units
                    .iter()
                    .find(|u| u.id == *id)
                    .map_or_else(|| format!("#{}", id.0), |u| u.call_sign.clone())
            })
            .collect();
        return Err(DomainError::AlreadyDispatched { call_signs });
    }
    let mut decision = DispatchDecision::default();
    let mut resend = Vec::new();
    for id in &order.units {
        let unit = units
            .iter()
            .find(|u| u.id == *id)
            .ok_or_else(|| DomainError::invalid("unit_ids", format!("unit {} unknown", id.0)))?;
        let on_it = |active: bool| {
            incident
                .assignments
                .iter()
                .any(|a| a.unit_id == unit.id && a.released_at.is_none() == active)
        };
        if on_it(true) {
            decision.skipped.push(unit.id);
            continue;
        }
        if on_it(false) && !order.confirm_resend {
            resend.push(unit.call_sign.clone());
            continue;
        }
        let elsewhere = unit.incident_id.is_some_and(|i| i != incident.id);
        if elsewhere && order.divert.contains(&unit.id) {
            decision.divert.push(unit.id);
        } else if !unit.status.can_be_dispatched() || unit.incident_id.is_some() {
            return Err(DomainError::UnitUnavailable {
                unit: unit.id.0,
                status: unit.status.as_str(),
            });
        }
        decision.send.push(unit.id);
    }
    if !resend.is_empty() {
        return Err(DomainError::ResendUnconfirmed { call_signs: resend });
    }
    if decision.send.is_empty() {
        let call_signs = decision
            .skipped
            .iter()
            .filter_map(|id| units.iter().find(|u| u.id == *id))
            .map(|u| u.call_sign.clone())
            .collect();
        return Err(DomainError::AlreadyDispatched { call_signs });
    }
    Ok(decision)
}

/// A report as a sender gives it, not yet checked: the source and category
/// as codes, an optional place of the ground, free texts as typed. The
/// location has been read (a datum converted) at the edge.
#[derive(Debug, Clone, Default)]
pub struct IntakeForm {
    pub source: String,
    pub external_id: Option<String>,
    pub category: String,
    pub priority: Option<i64>,
    pub location: Option<Coordinates>,
    pub place_id: Option<i64>,
    pub address: Option<String>,
    pub caller_name: Option<String>,
    pub caller_phone: Option<String>,
    pub summary: String,
    pub reported_at: Option<Timestamp>,
}

/// How far outside the ground a report may be: near a border is an
/// incident the station may take; tens of kilometres away is a wrong
/// coordinate (a swapped latitude and longitude, a 0 or a 90).
pub const MAX_DISTANCE_FROM_GROUND_M: f64 = 50_000.0;
/// The oldest report taken in (about ten years): older is a mistyped year.
pub const REPORTED_AT_MAX_AGE_DAYS: i64 = 3653;

/// Why a report cannot be taken in, each with its stable code and its
/// message in both languages.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum IntakeRefusal {
    #[error("unknown source {0:?}")]
    UnknownSource(String),
    #[error("unknown category {0:?}: not in the station's code table")]
    UnknownCategory(String),
    #[error("{0}")]
    InvalidPriority(String),
    #[error("no place {0}")]
    UnknownPlace(i64),
    #[error("give a location or a place_id")]
    MissingLocation,
    #[error("the location is {0:.0} km from the station's ground (at most {max:.0} km)", max = MAX_DISTANCE_FROM_GROUND_M / 1000.0)]
    FarFromGround(f64),
    #[error("{0}")]
    InvalidPhone(String),
    #[error("reported_at is in the future")]
    ReportedInFuture,
    #[error("reported_at is more than ten years ago")]
    ReportedTooLongAgo,
    /// A text over its limit.
    #[error(transparent)]
    Text(#[from] DomainError),
}

impl IntakeRefusal {
    /// The stable code clients match on.
    pub fn code(&self) -> &'static str {
        match self {
            IntakeRefusal::UnknownSource(_) => "unknown_source",
            IntakeRefusal::UnknownCategory(_) => "unknown_category",
            IntakeRefusal::InvalidPriority(_) => "invalid_priority",
            IntakeRefusal::UnknownPlace(_) => "unknown_place",
            IntakeRefusal::MissingLocation => "missing_location",
            IntakeRefusal::FarFromGround(_) => "location_far_from_ground",
            IntakeRefusal::InvalidPhone(_) => "invalid_phone",
            IntakeRefusal::ReportedInFuture | IntakeRefusal::ReportedTooLongAgo => "invalid_input",
            IntakeRefusal::Text(e) => e.code(),
        }
    }

    /// The message in Chinese.
    pub fn message_zh(&self) -> String {
        match self {
            IntakeRefusal::UnknownSource(_) => "接警来源无效".into(),
            IntakeRefusal::UnknownCategory(_) => "警情类别无效：不在本所警情类别表中".into(),
            IntakeRefusal::InvalidPriority(_) => "优先级须为 1 至 4".into(),
            IntakeRefusal::UnknownPlace(_) => "地点不存在".into(),
            IntakeRefusal::MissingLocation => "请提供坐标或地点".into(),
            IntakeRefusal::FarFromGround(km) => format!(
                "该位置距辖区 {km:.0} 公里（最远 {:.0} 公里），请核对坐标",
                MAX_DISTANCE_FROM_GROUND_M / 1000.0
            ),
            IntakeRefusal::InvalidPhone(_) => "电话号码无效".into(),
            IntakeRefusal::ReportedInFuture => "报警时间不能晚于当前时间".into(),
            IntakeRefusal::ReportedTooLongAgo => "报警时间早于十年前".into(),
            IntakeRefusal::Text(e) => e.to_string(),
        }
    }
}

impl IntakeForm {
    /// The report as an intake: its codes looked up in the station's code
    /// table, its place and location checked against the ground (`now` is
    /// the station's clock), its texts bounded.
    pub fn into_intake(
        self,
        ground: &crate::ground::Jurisdiction,
        now: Timestamp,
    ) -> Result<Intake, IntakeRefusal> {
        let source = IntakeSource::parse(&self.source)
            .filter(|s| *s != IntakeSource::History)
            .ok_or_else(|| IntakeRefusal::UnknownSource(self.source.clone()))?;
        let table = ground.category_table();
        let definition = table
            .iter()
            .find(|c| c.code.as_str() == self.category)
            .ok_or_else(|| IntakeRefusal::UnknownCategory(self.category.clone()))?;
        let category = definition.category();
        let priority = match self.priority {
            Some(value) => {
                Priority::new(value).map_err(|e| IntakeRefusal::InvalidPriority(e.to_string()))?
            }
            None => definition.default_priority,
        };
        let place = match self.place_id {
            Some(id) => Some(
                ground
                    .places
                    .iter()
                    .find(|p| p.id.0 == id)
                    .ok_or(IntakeRefusal::UnknownPlace(id))?,
            ),
            None => None,
        };
        let location = match (self.location, place) {
            (Some(location), _) => location,
            (None, Some(place)) => place.location,
            (None, None) => return Err(IntakeRefusal::MissingLocation),
        };
        if let Some(distance) = ground.distance_from_ground_m(location)
            && distance > MAX_DISTANCE_FROM_GROUND_M
        {
            return Err(IntakeRefusal::FarFromGround(distance / 1000.0));
        }
        let address = match (self.address, place) {
            (Some(address), _) if !address.trim().is_empty() => {
                checked_text("address", &address, 200)?
            }
            (_, Some(place)) => place.address.clone(),
            _ => String::new(),
        };
        let caller = Caller {
            name: self
                .caller_name
                .filter(|n| !n.trim().is_empty())
                .map(|n| checked_text("caller_name", &n, 50))
                .transpose()?,
            phone: self
                .caller_phone
                .filter(|p| !p.trim().is_empty())
                .map(|p| PhoneNumber::parse(&p))
                .transpose()
                .map_err(|e| IntakeRefusal::InvalidPhone(e.to_string()))?,
        };
        let external_id = self
            .external_id
            .map(|e| checked_text("external_id", &e, 100))
            .transpose()?;
        let reported_at = self.reported_at.unwrap_or(now);
        if reported_at > now + Duration::minutes(5) {
            return Err(IntakeRefusal::ReportedInFuture);
        }
        if reported_at < now - Duration::days(REPORTED_AT_MAX_AGE_DAYS) {
            return Err(IntakeRefusal::ReportedTooLongAgo);
        }
        Ok(Intake {
            source,
            external_id,
            category,
            priority,
            location,
            resolution: ground.resolve(location),
            address,
            caller,
            summary: checked_text("summary", &self.summary, 2000)?,
            reported_at,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use IncidentStatus::*;
    use chrono::TimeZone;

    #[test]
    fn transition_table_every_pair() {
        let legal: &[(IncidentStatus, &[IncidentStatus])] = &[
            (Received, &[Dispatched, Closed]),
            (Dispatched, &[OnScene, Closed]),
            (OnScene, &[Closed]),
            (Closed, &[]),
        ];
        for &(from, tos) in legal {
            for &to in IncidentStatus::ALL {
                assert_eq!(from.can_become(to), tos.contains(&to), "{from} -> {to}");
                assert_eq!(from.transition(to).is_ok(), tos.contains(&to));
            }
        }
    }

    #[test]
    fn every_category_has_a_family_and_a_label() {
        for c in DefaultCategory::ALL {
            assert!(!c.label_zh().is_empty() && !c.label_en().is_empty());
            let category = Category::from(*c);
            assert_eq!(category.family(), c.family());
            assert_eq!(category.shipped(), Some(*c));
        }
        assert_eq!(CategoryDef::shipped().len(), DefaultCategory::ALL.len());
        for (code, ok) in [
            ("theft", true),
            ("jia-bao.2", true),
            ("", false),
            ("盗窃", false),
            ("a b", false),
        ] {
            assert_eq!(CategoryCode::parse(code).is_ok(), ok, "{code}");
        }
        assert_eq!(
            DefaultCategory::FightAssault.family(),
            CategoryFamily::Criminal
        );
        assert_eq!(
            DefaultCategory::NeighbourNoiseDispute.family(),
            CategoryFamily::Dispute
        );
    }

    #[test]
    fn priority_bounds() {
        for (v, ok) in [
            (0, false),
            (1, true),
            (4, true),
            (5, false),
            (-1, false),
            (300, false),
        ] {
            assert_eq!(Priority::new(v).is_ok(), ok, "{v}");
        }
    }

    #[test]
    fn phone_parsing_and_masking() {
        let cases = [
            ("138 0013 8000", Some("13800138000"), "138****8000"),
            ("0731-8523-1234", Some("073185231234"), "073*****1234"),
            (
                "+86 138-0013-8000",
                Some("+8613800138000"),
                "+86*******8000",
            ),
            ("12345", Some("12345"), "*****"),
            ("1234", None, ""),
            ("138abc", None, ""),
        ];
        for (input, parsed, masked) in cases {
            let result = PhoneNumber::parse(input);
            assert_eq!(
                result.as_ref().ok().map(PhoneNumber::as_str),
                parsed,
                "{input}"
            );
            if let Ok(p) = result {
                assert_eq!(p.masked(), masked, "{input}");
            }
        }
        assert_eq!(mask_name("李先生"), "李**");
    }

    #[test]
    fn merged_as_duplicate_is_not_a_user_choice() {
        assert!(Disposition::MergedAsDuplicate.chosen_by_user().is_err());
        assert!(Disposition::ReferredToMediation.chosen_by_user().is_ok());
    }

    fn incident(id: i64, category: Category, at_minute: i64, east_m: f64) -> Incident {
        let origin = Coordinates::new(28.15, 113.02).unwrap();
        let t = chrono::Utc
            .with_ymd_and_hms(2026, 10, 30, 14, 0, 0)
            .unwrap()
            + Duration::minutes(at_minute);
        Incident {
            id: IncidentId(id),
            source: IntakeSource::Phone,
            external_id: None,
            category,
            priority: Priority::new(2).unwrap(),
            status: Received,
            disposition: None,
            closing_remark: None,
            location: origin.offset_m(east_m, 0.0),
            resolution: Resolution::OUTSIDE,
            address: String::new(),
            caller: Caller::default(),
            summary: "x".into(),
            reported_at: t,
            received_at: t,
            dispatched_at: None,
            first_on_scene_at: None,
            first_police_on_scene_at: None,
            first_helper_on_scene_at: None,
            closed_at: None,
            duplicate_of: None,
            merged_into: None,
            assignments: vec![],
        }
    }

    fn free_unit(id: i64, incident: Option<i64>) -> Unit {
        Unit {
            id: UnitId(id),
            call_sign: format!("U{id}"),
            name: format!("U{id}"),
            kind: crate::unit::UnitKind::PatrolCar,
            home_post_id: None,
            zone_id: None,
            capabilities: vec![],
            status: if incident.is_some() {
                crate::unit::UnitStatus::Dispatched
            } else {
                crate::unit::UnitStatus::OnPatrol
            },
            position: None,
            position_at: None,
            incident_id: incident.map(IncidentId),
            member_count: 2,
            property_company_id: None,
            phone: None,
            retired: false,
        }
    }

    fn assigned(unit: i64, released: bool) -> Assignment {
        let t = chrono::Utc
            .with_ymd_and_hms(2026, 10, 30, 14, 1, 0)
            .unwrap();
        Assignment {
            unit_id: UnitId(unit),
            assigned_at: t,
            arrived_at: None,
            released_at: released.then_some(t),
            police: true,
            accepted_at: None,
            handed_over_at: None,
        }
    }

    #[test]
    fn a_dispatch_sends_nobody_twice_and_resends_only_when_confirmed() {
        let mut fight = incident(1, DefaultCategory::FightAssault.into(), 0, 0.0);
        fight.status = Dispatched;
        // U1 is on the fight, U2 withdrew from it, U3 is free, U4 works another incident.
        fight.assignments = vec![assigned(1, false), assigned(2, true)];
        let units = [
            free_unit(1, Some(1)),
            free_unit(2, None),
            free_unit(3, None),
            free_unit(4, Some(9)),
        ];
        let order = |ids: &[i64]| DispatchOrder {
            units: ids.iter().map(|&i| UnitId(i)).collect(),
            ..DispatchOrder::default()
        };
        let decided = decide_dispatch(&fight, &order(&[1, 3]), &units).unwrap();
        assert_eq!(
            (decided.send, decided.skipped),
            (vec![UnitId(3)], vec![UnitId(1)])
        );
        assert_eq!(
            decide_dispatch(&fight, &order(&[1]), &units),
            Err(DomainError::AlreadyDispatched {
                call_signs: vec!["U1".into()]
            })
        );
        assert_eq!(
            decide_dispatch(&fight, &order(&[2, 3]), &units),
            Err(DomainError::ResendUnconfirmed {
                call_signs: vec!["U2".into()]
            })
        );
        let confirmed = DispatchOrder {
            confirm_resend: true,
            ..order(&[2])
        };
        assert_eq!(
            decide_dispatch(&fight, &confirmed, &units).unwrap().send,
            [UnitId(2)]
        );
        assert!(matches!(
            decide_dispatch(&fight, &order(&[4]), &units),
            Err(DomainError::UnitUnavailable { unit: 4, .. })
        ));
        let diverted = DispatchOrder {
            divert: vec![UnitId(4)],
            ..order(&[4])
        };
        assert_eq!(
            decide_dispatch(&fight, &diverted, &units).unwrap().divert,
            [UnitId(4)]
        );
        // A proposal made before U1 was sent is out of date.
        let stale = DispatchOrder {
            seen: Some(vec![]),
            ..order(&[3])
        };
        assert!(matches!(
            decide_dispatch(&fight, &stale, &units),
            Err(DomainError::AlreadyDispatched { .. })
        ));
        let current = DispatchOrder {
            seen: Some(vec![UnitId(1)]),
            ..order(&[3])
        };
        assert!(decide_dispatch(&fight, &current, &units).is_ok());
    }

    fn intake_like(i: &Incident) -> Intake {
        Intake {
            source: IntakeSource::Instruction110,
            external_id: None,
            category: i.category.clone(),
            priority: i.priority,
            location: i.location,
            resolution: i.resolution,
            address: String::new(),
            caller: Caller::default(),
            summary: "y".into(),
            reported_at: i.reported_at,
        }
    }

    /// Duplicate rule as data: (existing, new report, same event?).
    #[test]
    fn duplicate_rule_table() {
        let fight = |minute, east| incident(0, DefaultCategory::FightAssault.into(), minute, east);
        let cases = [
            ("same place and time", fight(0, 0.0), fight(0, 0.0), true),
            ("299 m away", fight(0, 0.0), fight(0, 299.0), true),
            ("301 m away", fight(0, 0.0), fight(0, 301.0), false),
            ("15 min later", fight(0, 0.0), fight(15, 0.0), true),
            ("16 min later", fight(0, 0.0), fight(16, 0.0), false),
            ("16 min earlier", fight(16, 0.0), fight(0, 0.0), false),
            (
                "same family other category",
                fight(0, 0.0),
                incident(0, DefaultCategory::Robbery.into(), 2, 50.0),
                true,
            ),
            (
                "other family",
                fight(0, 0.0),
                incident(0, DefaultCategory::NeighbourNoiseDispute.into(), 0, 0.0),
                false,
            ),
        ];
        for (name, existing, new, expected) in cases {
            assert_eq!(
                existing.likely_same_event(&intake_like(&new)),
                expected,
                "{name}"
            );
        }
        let mut merged = fight(0, 0.0);
        merged.merged_into = Some(IncidentId(9));
        assert!(
            !merged.likely_same_event(&intake_like(&fight(0, 0.0))),
            "merged incidents are not candidates"
        );
    }

    #[test]
    fn likely_duplicate_prefers_nearest() {
        let far = incident(1, DefaultCategory::Theft.into(), 0, 250.0);
        let near = incident(2, DefaultCategory::Theft.into(), 0, 20.0);
        let probe = intake_like(&incident(0, DefaultCategory::Theft.into(), 1, 0.0));
        let candidates = [
            DuplicateCandidate::from(&far),
            DuplicateCandidate::from(&near),
        ];
        assert_eq!(
            likely_duplicate(&probe, &candidates).map(|c| c.id),
            Some(IncidentId(2))
        );
    }

    #[test]
    fn merge_rules() {
        let a = incident(1, DefaultCategory::Theft.into(), 0, 0.0);
        let mut b = incident(2, DefaultCategory::Theft.into(), 0, 0.0);
        assert!(check_merge(&a, &a).is_err());
        assert!(check_merge(&a, &b).is_ok());
        b.merged_into = Some(IncidentId(3));
        assert!(check_merge(&a, &b).is_err());
        let mut closed = a.clone();
        closed.status = Closed;
        assert_eq!(
            check_merge(&closed, &incident(5, DefaultCategory::Theft.into(), 0, 0.0)),
            Err(DomainError::IncidentClosed { incident: 1 })
        );
    }
}
