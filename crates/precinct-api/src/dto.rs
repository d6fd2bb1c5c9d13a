//! Wire types: what the API reads and writes. Requests hold raw values and
//! are parsed into domain types at this edge (`into_*` methods), with one
//! stable error code per kind of bad input; responses are built from domain
//! values and never expose storage rows.

use crate::error::ApiError;
use chrono::{DateTime, Utc};
use precinct_domain::event::Event;
use precinct_domain::ground::{Jurisdiction, Resolution};
use precinct_domain::incident::{
    Caller, Disposition, Incident, IncidentStatus, Intake, checked_text,
};
use precinct_domain::unit::{Unit, UnitStatus};
use precinct_domain::user::User;
use precinct_domain::{Coordinates, Datum};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// How far from the station's zones an incident may be reported (the
/// domain's rule, `incident::MAX_DISTANCE_FROM_GROUND_M`).
pub use precinct_domain::incident::MAX_DISTANCE_FROM_GROUND_M;

#[derive(Debug, Deserialize, ToSchema)]
pub struct LoginRequest {
    pub username: String,
    pub password: String,
    /// The `device_token` an earlier login of this account answered (a
    /// browser sends it as a cookie instead): failed logins of others do not
    /// hold a known device up.
    #[serde(default)]
    pub device_token: Option<String>,
    /// The 6-digit code of the authenticator app, for an account with a
    /// second factor; without it such a login is refused as `invalid_credentials`.
    #[serde(default)]
    pub totp_code: Option<String>,
    /// Instead of `totp_code`: one of the recovery codes (each works once).
    #[serde(default)]
    pub recovery_code: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LoginResponse {
    /// Send as `Authorization: Bearer <token>`.
    pub token: String,
    pub expires_at: DateTime<Utc>,
    pub user: UserDto,
    /// Marks this client as a known device of the account: send it with
    /// later logins (`device_token`) so others' failed logins do not lock
    /// you out. Valid until the password changes.
    pub device_token: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UserDto {
    pub id: i64,
    pub username: String,
    pub display_name: String,
    /// admin, dispatcher, officer, volunteer, mediator or analyst.
    #[schema(schema_with = crate::schema::role)]
    pub role: String,
    pub unit_id: Option<i64>,
    /// Logged in with a one-time password: everything but changing it
    /// (`change_password`), `get_me` and logout answers 403
    /// `password_change_required` until then.
    pub must_change_password: bool,
    /// A second factor (TOTP) is enrolled.
    pub second_factor: bool,
    /// This role must enrol a second factor before anything else (the
    /// station requires it for admins and dispatchers): until then, other
    /// calls answer 403 `second_factor_enrolment_required`.
    pub second_factor_enrolment_required: bool,
    /// The policy's actions this user's role may do (on some object; each
    /// object then says what may be done on it): what the clients offer.
    #[schema(schema_with = crate::schema::actions)]
    pub allowed_actions: Vec<String>,
}

impl From<&User> for UserDto {
    fn from(user: &User) -> UserDto {
        UserDto {
            id: user.id.0,
            username: user.username.as_str().to_owned(),
            display_name: user.display_name.clone(),
            role: user.role.as_str().to_owned(),
            unit_id: user.unit_id.map(|u| u.0),
            must_change_password: user.must_change_password,
            second_factor: user.second_factor,
            second_factor_enrolment_required: false,
            allowed_actions: precinct_domain::policy::Action::ALL
                .iter()
                .filter(|&&a| precinct_domain::policy::may_ever(user.role, a))
                .map(|a| a.as_str().to_owned())
                .collect(),
        }
    }
}

/// Changing one's own password.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangePasswordRequest {
    pub current_password: String,
    /// 10 to 256 characters, not the current one.
    #[schema(min_length = 10, max_length = 256)]
    pub new_password: String,
}

/// A point as given by a client.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct LocationInput {
    #[schema(minimum = -90, maximum = 90)]
    pub lat: f64,
    #[schema(minimum = -180, maximum = 180)]
    pub lon: f64,
    /// `wgs84` (default) or `gcj02` (as Chinese map apps give it; converted).
    #[schema(schema_with = crate::schema::datum_or_null)]
    pub datum: Option<String>,
}

impl LocationInput {
    pub fn parse(self) -> Result<Coordinates, ApiError> {
        let datum = match self.datum.as_deref() {
            None => Datum::Wgs84,
            Some(text) => Datum::parse(text).ok_or_else(|| {
                ApiError::unprocessable(
                    "unknown_datum",
                    format!("unknown datum {text:?}; use wgs84 or gcj02"),
                    "坐标系无效,应为 wgs84 或 gcj02",
                )
            })?,
        };
        Coordinates::from_datum(self.lat, self.lon, datum).map_err(|e| {
            ApiError::unprocessable("coordinates_out_of_range", e.to_string(), "坐标超出范围")
        })
    }
}

/// A WGS84 point in a response.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
pub struct Point {
    pub lat: f64,
    pub lon: f64,
}

impl From<Coordinates> for Point {
    fn from(c: Coordinates) -> Point {
        Point {
            lat: c.lat(),
            lon: c.lon(),
        }
    }
}

/// A new incident report. Give either `location` or `place_id`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct CreateIncidentRequest {
    /// instruction_110, phone, walk_in, volunteer_report, grid_worker_report, video_patrol or alarm.
    #[schema(schema_with = crate::schema::incident_source)]
    pub source: String,
    /// The sender's id for this report (e.g. the 110 instruction number): the
    /// same source and external id always mean the same incident.
    pub external_id: Option<String>,
    /// A code of the station's incident code table (`get_jurisdiction`'s
    /// `categories`; the shipped table until a station package gives its
    /// own), e.g. fight_assault.
    pub category: String,
    /// 1 (highest) to 4; default: the category's default priority.
    pub priority: Option<i64>,
    pub location: Option<LocationInput>,
    /// A place of the ground; its location and address are used when not given.
    pub place_id: Option<i64>,
    pub address: Option<String>,
    pub caller_name: Option<String>,
    pub caller_phone: Option<String>,
    pub summary: String,
    /// When the caller reported it; defaults to now. At most 5 minutes
    /// ahead of the server's clock and at most ten years ago.
    pub reported_at: Option<DateTime<Utc>>,
}

impl CreateIncidentRequest {
    /// The request as the domain's intake form (the location read at the
    /// edge), which the domain checks and resolves on the ground
    /// (`IntakeForm::into_intake`).
    pub fn into_intake(
        self,
        ground: &Jurisdiction,
        now: DateTime<Utc>,
    ) -> Result<Intake, ApiError> {
        let form = precinct_domain::incident::IntakeForm {
            location: self.location.map(|l| l.parse()).transpose()?,
            source: self.source,
            external_id: self.external_id,
            category: self.category,
            priority: self.priority,
            place_id: self.place_id,
            address: self.address,
            caller_name: self.caller_name,
            caller_phone: self.caller_phone,
            summary: self.summary,
            reported_at: self.reported_at,
        };
        Ok(form.into_intake(ground, now)?)
    }
}

impl From<precinct_domain::incident::IntakeRefusal> for ApiError {
    fn from(refusal: precinct_domain::incident::IntakeRefusal) -> ApiError {
        match refusal {
            precinct_domain::incident::IntakeRefusal::Text(e) => ApiError::from(e),
            other => ApiError::unprocessable(other.code(), other.to_string(), other.message_zh()),
        }
    }
}

pub(crate) fn bounded(field: &'static str, text: &str, max: usize) -> Result<String, ApiError> {
    Ok(checked_text(field, text, max)?)
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CallerDto {
    pub name: Option<String>,
    pub phone: Option<String>,
    /// True when the details are masked for your role.
    pub masked: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AssignmentDto {
    pub unit_id: i64,
    pub police: bool,
    pub assigned_at: DateTime<Utc>,
    pub arrived_at: Option<DateTime<Utc>>,
    pub released_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct IncidentDto {
    pub id: i64,
    #[schema(schema_with = crate::schema::incident_source)]
    pub source: String,
    pub external_id: Option<String>,
    pub category: String,
    pub category_label_zh: String,
    #[schema(schema_with = crate::schema::family)]
    pub family: String,
    pub priority: u8,
    /// received, dispatched, on_scene or closed.
    #[schema(schema_with = crate::schema::incident_status)]
    pub status: String,
    #[schema(schema_with = crate::schema::disposition_or_null)]
    pub disposition: Option<String>,
    pub closing_remark: Option<String>,
    pub location: Point,
    pub zone_id: Option<i64>,
    pub zone_name: Option<String>,
    pub community_id: Option<i64>,
    pub community_name: Option<String>,
    pub grid_cell_id: Option<i64>,
    pub grid_cell_code: Option<String>,
    /// True when the location is on none of the station's zones.
    pub outside_ground: bool,
    pub address: String,
    pub caller: CallerDto,
    pub summary: String,
    pub reported_at: DateTime<Utc>,
    pub received_at: DateTime<Utc>,
    pub dispatched_at: Option<DateTime<Utc>>,
    pub first_on_scene_at: Option<DateTime<Utc>>,
    pub first_police_on_scene_at: Option<DateTime<Utc>>,
    pub first_helper_on_scene_at: Option<DateTime<Utc>>,
    pub closed_at: Option<DateTime<Utc>>,
    /// Report → first police unit on scene (出警速度), seconds.
    pub police_response_seconds: Option<i64>,
    /// Report → first helper on scene (先期处置), seconds.
    pub first_response_seconds: Option<i64>,
    pub duplicate_of: Option<i64>,
    pub merged_into: Option<i64>,
    pub assignments: Vec<AssignmentDto>,
}

/// Whether the reader sees callers' details in full.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PersonalData {
    Shown,
    Masked,
}

/// Free text as the reader may see it: phone and ID numbers in it masked
/// unless the reader sees personal data (`precinct_domain::personal`).
pub(crate) fn free_text(text: &str, personal: PersonalData) -> String {
    match personal {
        PersonalData::Shown => text.to_owned(),
        PersonalData::Masked => precinct_domain::personal::masked_text(text),
    }
}

/// Whether an incident holds personal data a full read shows: its caller,
/// or phone and ID numbers in its texts or its timeline's.
pub(crate) fn holds_personal_data(incident: &Incident, timeline: &[Event]) -> bool {
    use precinct_domain::personal::holds_personal_numbers;
    !incident.caller.is_empty()
        || holds_personal_numbers(&incident.summary)
        || holds_personal_numbers(&incident.address)
        || incident
            .closing_remark
            .as_deref()
            .is_some_and(holds_personal_numbers)
        || timeline.iter().any(|e| {
            EventData::from(&e.kind)
                .texts()
                .into_iter()
                .any(|text| holds_personal_numbers(text))
        })
}

pub(crate) fn strings_hold_personal_numbers(value: &serde_json::Value) -> bool {
    match value {
        serde_json::Value::String(s) => precinct_domain::personal::holds_personal_numbers(s),
        serde_json::Value::Array(items) => items.iter().any(strings_hold_personal_numbers),
        serde_json::Value::Object(map) => map.values().any(strings_hold_personal_numbers),
        _ => false,
    }
}

/// A copy of `value` with phone and ID numbers masked in every text it
/// holds (a dispute's sessions, agreement, visits, history).
pub(crate) fn masked_copy<T: Serialize + serde::de::DeserializeOwned + Clone>(value: &T) -> T {
    let Ok(mut json) = serde_json::to_value(value) else {
        return value.clone();
    };
    if !strings_hold_personal_numbers(&json) {
        return value.clone();
    }
    mask_strings(&mut json);
    serde_json::from_value(json).unwrap_or_else(|_| value.clone())
}

fn mask_strings(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::String(s) => {
            if let Some(masked) = precinct_domain::personal::mask_personal_numbers(s) {
                *s = masked;
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(mask_strings),
        serde_json::Value::Object(map) => map.values_mut().for_each(mask_strings),
        _ => {}
    }
}

impl IncidentDto {
    pub fn new(incident: &Incident, ground: &Jurisdiction, personal: PersonalData) -> IncidentDto {
        let Resolution {
            zone_id,
            community_id,
            grid_cell_id,
        } = incident.resolution;
        let caller: Caller = match personal {
            PersonalData::Shown => incident.caller.clone(),
            PersonalData::Masked => incident.caller.masked(),
        };
        IncidentDto {
            id: incident.id.0,
            source: incident.source.as_str().into(),
            external_id: incident.external_id.clone(),
            category: incident.category.as_str().into(),
            category_label_zh: ground
                .category_def(incident.category.as_str())
                .map_or_else(|| incident.category.to_string(), |c| c.name_zh),
            family: incident.category.family().as_str().into(),
            priority: incident.priority.get(),
            status: incident.status.as_str().into(),
            disposition: incident.disposition.map(|d| d.as_str().into()),
            closing_remark: incident
                .closing_remark
                .as_deref()
                .map(|r| free_text(r, personal)),
            location: incident.location.into(),
            zone_id: zone_id.map(|z| z.0),
            zone_name: zone_id.and_then(|z| ground.zone(z)).map(|z| z.name.clone()),
            community_id: community_id.map(|c| c.0),
            community_name: community_id
                .and_then(|c| ground.community(c))
                .map(|c| c.name.clone()),
            grid_cell_id: grid_cell_id.map(|g| g.0),
            grid_cell_code: grid_cell_id
                .and_then(|g| ground.grid_cell(g))
                .map(|g| g.code.clone()),
            outside_ground: incident.resolution.is_outside_ground(),
            address: free_text(&incident.address, personal),
            caller: CallerDto {
                name: caller.name,
                phone: caller.phone.map(|p| p.as_str().to_owned()),
                masked: personal == PersonalData::Masked,
            },
            summary: free_text(&incident.summary, personal),
            reported_at: incident.reported_at,
            received_at: incident.received_at,
            dispatched_at: incident.dispatched_at,
            first_on_scene_at: incident.first_on_scene_at,
            first_police_on_scene_at: incident.first_police_on_scene_at,
            first_helper_on_scene_at: incident.first_helper_on_scene_at,
            closed_at: incident.closed_at,
            police_response_seconds: incident.police_response_seconds(),
            first_response_seconds: incident.first_response_seconds(),
            duplicate_of: incident.duplicate_of.map(|i| i.0),
            merged_into: incident.merged_into.map(|i| i.0),
            assignments: incident
                .assignments
                .iter()
                .map(|a| AssignmentDto {
                    unit_id: a.unit_id.0,
                    police: a.police,
                    assigned_at: a.assigned_at,
                    arrived_at: a.arrived_at,
                    released_at: a.released_at,
                })
                .collect(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct IntakeResponse {
    /// False when this instruction had already been received (双接警): nothing was created.
    pub created: bool,
    pub incident: IncidentDto,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct IncidentDetail {
    #[serde(flatten)]
    pub incident: IncidentDto,
    /// Every event of the incident (and of incidents merged into it), oldest first.
    pub timeline: Vec<EventDto>,
    /// Photos of the scene, oldest first.
    pub photos: Vec<PhotoDto>,
    /// Open or recent disputes this incident recurs (same address or people
    /// within 90 days), found just after intake.
    pub recurrent_dispute_ids: Vec<i64>,
}

/// A photo of a scene, without its bytes (`get_photo` serves them at `url`).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PhotoDto {
    pub id: i64,
    pub incident_id: i64,
    pub content_type: String,
    pub size: u64,
    /// The unit whose member took it.
    pub unit_id: Option<i64>,
    pub taken_by: String,
    pub at: DateTime<Utc>,
    /// Where the image is served (`get_photo`).
    pub url: String,
}

impl From<&precinct_storage::PhotoInfo> for PhotoDto {
    fn from(p: &precinct_storage::PhotoInfo) -> PhotoDto {
        PhotoDto {
            id: p.id,
            incident_id: p.incident_id.0,
            content_type: p.content_type.clone(),
            size: p.size,
            unit_id: p.unit_id.map(|u| u.0),
            taken_by: p.taken_by.clone(),
            at: p.at,
            url: format!("/api/photos/{}", p.id),
        }
    }
}

/// One committed change: who made it, when, on which incident and unit,
/// and what it was (`type`, with that kind's own fields in `data`).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct EventDto {
    /// Increasing in commit order; resume a stream after it with Last-Event-ID.
    pub id: i64,
    pub at: DateTime<Utc>,
    pub actor_user_id: Option<i64>,
    pub actor_name: String,
    pub incident_id: Option<i64>,
    pub unit_id: Option<i64>,
    #[serde(flatten)]
    pub change: EventData,
}

/// What changed, by kind: `type` names it and `data` holds its fields. The
/// document lists every kind the server sends (a tagged union), and the web
/// build fails on a kind it does not know or does not hear.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(tag = "type", content = "data", rename_all = "snake_case")]
pub enum EventData {
    IncidentReceived {
        #[schema(schema_with = crate::schema::incident_source)]
        source: String,
        external_id: Option<String>,
        category: String,
        /// 1 (highest) to 4.
        priority: u8,
        location: Point,
        address: String,
        summary: String,
    },
    /// The new incident likely reports the same event as an earlier one.
    DuplicateLinked {
        duplicate_of: i64,
        distance_m: f64,
    },
    UnitsDispatched {
        unit_ids: Vec<i64>,
    },
    UnitStatusChanged {
        #[schema(schema_with = crate::schema::unit_status)]
        from: String,
        #[schema(schema_with = crate::schema::unit_status)]
        to: String,
    },
    UnitPositionReported {
        position: Point,
    },
    /// A helper accepted its first-response task (the event's unit).
    FirstResponseAccepted {},
    /// A helper declined its first-response task and was released.
    FirstResponseDeclined {
        reason: Option<String>,
    },
    /// A helper handed the scene over to the police on scene.
    HandedOver {},
    /// Road segments closed (routing avoids them from now on).
    RoadsClosed {
        segments: Vec<u32>,
        reason: Option<String>,
    },
    RoadsReopened {
        segments: Vec<u32>,
    },
    IncidentStatusChanged {
        #[schema(schema_with = crate::schema::incident_status)]
        from: String,
        #[schema(schema_with = crate::schema::incident_status)]
        to: String,
    },
    NoteAdded {
        text: String,
    },
    /// A photo of the scene was attached (`get_photo` reads it).
    PhotoAttached {
        photo_id: i64,
        content_type: String,
        size: u64,
    },
    IncidentClosed {
        #[schema(schema_with = crate::schema::disposition)]
        disposition: String,
        remark: Option<String>,
    },
    /// `duplicate_id` was merged into `into_id`; recorded on both.
    IncidentsMerged {
        duplicate_id: i64,
        into_id: i64,
    },
    /// The incident recurs open or recent disputes (same address or people).
    DisputeRecurrence {
        dispute_ids: Vec<i64>,
    },
    /// A dispute case changed or was registered.
    DisputeChanged {
        dispute_id: i64,
        /// The organisations taking part, the responsible one first.
        organisations: Vec<i64>,
        #[schema(schema_with = crate::schema::dispute_status)]
        status: String,
        /// What changed (parties' names masked where the reader sees them so).
        #[schema(value_type = DisputeChangeKindDto)]
        change: precinct_domain::dispute::DisputeChangeKind,
    },
    /// A station package was imported: what it changed, layer by layer.
    StationImported {
        changes: Vec<LayerChangesDto>,
    },
    /// Past incidents were imported.
    HistoryImported {
        file: String,
        rows: u64,
        inserted: u64,
        already_present: u64,
        outside: u64,
    },
    /// The road network was replaced (generated, or imported from
    /// OpenStreetMap).
    RoadsReplaced {
        ways: u32,
    },
    /// An account was created outside a station package (the command
    /// line); shown only to those who manage accounts.
    AccountCreated {
        user_id: i64,
        username: String,
        #[schema(schema_with = crate::schema::role)]
        role: String,
    },
}

impl EventData {
    /// The kind's free texts, for masking.
    fn texts(&mut self) -> Vec<&mut String> {
        match self {
            EventData::IncidentReceived {
                external_id,
                address,
                summary,
                ..
            } => {
                let mut texts = vec![address, summary];
                texts.extend(external_id.as_mut());
                texts
            }
            EventData::FirstResponseDeclined { reason } | EventData::RoadsClosed { reason, .. } => {
                reason.as_mut().into_iter().collect()
            }
            EventData::NoteAdded { text } => vec![text],
            EventData::IncidentClosed { remark, .. } => remark.as_mut().into_iter().collect(),
            _ => Vec::new(),
        }
    }
}

impl EventDto {
    /// The event as a reader who sees personal data masked sees it: phone
    /// and ID numbers in its texts (notes, summaries, remarks) masked.
    pub fn masked(event: &Event) -> EventDto {
        let mut dto = EventDto::from(event);
        for text in dto.change.texts() {
            if let Some(masked) = precinct_domain::personal::mask_personal_numbers(text) {
                *text = masked;
            }
        }
        dto
    }

    /// The event as `personal` says.
    pub fn for_reader(event: &Event, personal: PersonalData) -> EventDto {
        match personal {
            PersonalData::Shown => EventDto::from(event),
            PersonalData::Masked => EventDto::masked(event),
        }
    }
}

impl From<&precinct_domain::event::EventKind> for EventData {
    fn from(kind: &precinct_domain::event::EventKind) -> EventData {
        use precinct_domain::event::EventKind;
        match kind.clone() {
            EventKind::IncidentReceived {
                source,
                external_id,
                category,
                priority,
                location,
                address,
                summary,
            } => EventData::IncidentReceived {
                source: source.as_str().to_owned(),
                external_id,
                category: category.as_str().to_owned(),
                priority: priority.get(),
                location: location.into(),
                address,
                summary,
            },
            EventKind::DuplicateLinked {
                duplicate_of,
                distance_m,
            } => EventData::DuplicateLinked {
                duplicate_of: duplicate_of.0,
                distance_m,
            },
            EventKind::UnitsDispatched { unit_ids } => EventData::UnitsDispatched {
                unit_ids: unit_ids.iter().map(|u| u.0).collect(),
            },
            EventKind::UnitStatusChanged { from, to } => EventData::UnitStatusChanged {
                from: from.as_str().to_owned(),
                to: to.as_str().to_owned(),
            },
            EventKind::UnitPositionReported { position } => EventData::UnitPositionReported {
                position: position.into(),
            },
            EventKind::FirstResponseAccepted => EventData::FirstResponseAccepted {},
            EventKind::FirstResponseDeclined { reason } => {
                EventData::FirstResponseDeclined { reason }
            }
            EventKind::HandedOver => EventData::HandedOver {},
            EventKind::RoadsClosed { segments, reason } => {
                EventData::RoadsClosed { segments, reason }
            }
            EventKind::RoadsReopened { segments } => EventData::RoadsReopened { segments },
            EventKind::IncidentStatusChanged { from, to } => EventData::IncidentStatusChanged {
                from: from.as_str().to_owned(),
                to: to.as_str().to_owned(),
            },
            EventKind::NoteAdded { text } => EventData::NoteAdded { text },
            EventKind::PhotoAttached {
                photo_id,
                content_type,
                size,
            } => EventData::PhotoAttached {
                photo_id,
                content_type,
                size,
            },
            EventKind::IncidentClosed {
                disposition,
                remark,
            } => EventData::IncidentClosed {
                disposition: disposition.as_str().to_owned(),
                remark,
            },
            EventKind::IncidentsMerged {
                duplicate_id,
                into_id,
            } => EventData::IncidentsMerged {
                duplicate_id: duplicate_id.0,
                into_id: into_id.0,
            },
            EventKind::DisputeRecurrence { dispute_ids } => EventData::DisputeRecurrence {
                dispute_ids: dispute_ids.iter().map(|d| d.0).collect(),
            },
            EventKind::DisputeChanged {
                dispute_id,
                organisations,
                status,
                change,
            } => EventData::DisputeChanged {
                dispute_id: dispute_id.0,
                organisations: organisations.iter().map(|o| o.0).collect(),
                status: status.as_str().to_owned(),
                change,
            },
            EventKind::StationImported { changes } => EventData::StationImported {
                changes: changes.iter().map(LayerChangesDto::from).collect(),
            },
            EventKind::HistoryImported {
                file,
                rows,
                inserted,
                already_present,
                outside,
            } => EventData::HistoryImported {
                file,
                rows,
                inserted,
                already_present,
                outside,
            },
            EventKind::RoadsReplaced { ways } => EventData::RoadsReplaced { ways },
            EventKind::AccountCreated {
                user_id,
                username,
                role,
            } => EventData::AccountCreated {
                user_id: user_id.0,
                username,
                role: role.as_str().to_owned(),
            },
        }
    }
}

impl From<&Event> for EventDto {
    fn from(event: &Event) -> EventDto {
        EventDto {
            id: event.id.0,
            at: event.at,
            actor_user_id: event.actor.user_id.map(|u| u.0),
            actor_name: event.actor.name.clone(),
            incident_id: event.incident_id.map(|i| i.0),
            unit_id: event.unit_id.map(|u| u.0),
            change: EventData::from(&event.kind),
        }
    }
}

/// What one change did (by `kind`, with that kind's fields).
#[derive(Debug, ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[allow(dead_code)]
pub enum DisputeChangeKindDto {
    Registered {
        #[schema(schema_with = crate::schema::dispute_source)]
        source: String,
        #[schema(schema_with = crate::schema::dispute_category)]
        category: String,
        #[schema(schema_with = crate::schema::risk_level)]
        risk: String,
        #[schema(schema_with = crate::schema::risk_reasons)]
        risk_reasons: Vec<String>,
    },
    /// A later incident recurs the case.
    IncidentLinked {
        incident_id: i64,
    },
    Accepted {
        mediators: Vec<i64>,
    },
    Dismissed {
        reason: String,
    },
    SessionPlanned {
        at: DateTime<Utc>,
        #[schema(schema_with = crate::schema::venue)]
        venue: String,
    },
    SessionRecorded {
        at: DateTime<Utc>,
        #[schema(schema_with = crate::schema::venue)]
        venue: String,
        #[schema(schema_with = crate::schema::session_outcome)]
        outcome: String,
    },
    AgreementDrafted {
        terms: u32,
    },
    /// A party signed (the name masked where the parties are); `complete` when all have.
    Signed {
        party: String,
        complete: bool,
    },
    Referred {
        #[schema(schema_with = crate::schema::referral)]
        to: String,
    },
    ClosedAfterReferral,
    /// A relapse reopens the case; the last stable visit closes it.
    FollowUpRecorded {
        #[schema(schema_with = crate::schema::follow_up_outcome)]
        outcome: String,
        closed: bool,
    },
    /// A line of an old history that could not be read as one of the above.
    Noted {
        text: String,
    },
}

/// What an import does (or would do) to one part of the station.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct LayerChangesDto {
    /// zones, communities, grid_cells, posts, organisations, places, cameras, units or people.
    pub layer: String,
    pub layer_zh: String,
    pub added: u32,
    pub changed: u32,
    /// Retired (ground, units) or disabled (people): kept for past records, never deleted.
    pub retired: u32,
    pub unchanged: u32,
    /// E.g. "12 units added, 3 changed, 1 retired, 40 unchanged".
    pub summary: String,
}

impl From<&precinct_domain::station::LayerChanges> for LayerChangesDto {
    fn from(c: &precinct_domain::station::LayerChanges) -> LayerChangesDto {
        LayerChangesDto {
            layer: c.layer.as_str().to_owned(),
            layer_zh: c.layer.label_zh().to_owned(),
            added: c.added,
            changed: c.changed,
            retired: c.retired,
            unchanged: c.unchanged,
            summary: c.to_string(),
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListIncidentsQuery {
    /// `open` (default), `closed`, `all`, or one status.
    #[param(schema_with = crate::schema::incident_status_filter)]
    pub status: Option<String>,
    /// At most this many, newest first (default 200; 1 to 1000).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u32>,
    /// Only these incidents: ids separated by commas, at most 100 (e.g. the
    /// ones live events just touched). Those you may not see, or that do
    /// not match `status`, are left out.
    pub ids: Option<String>,
}

impl ListIncidentsQuery {
    /// The ids asked for, if any.
    pub fn ids(&self) -> Result<Option<Vec<precinct_domain::ids::IncidentId>>, ApiError> {
        let Some(text) = self.ids.as_deref() else {
            return Ok(None);
        };
        let invalid = || {
            ApiError::unprocessable(
                "invalid_field",
                "ids must be up to 100 positive incident ids separated by commas",
                "ids 须为以逗号分隔的警情编号（至多 100 个）",
            )
        };
        let ids = text
            .split(',')
            .map(|id| match id.trim().parse::<i64>() {
                Ok(id) if id > 0 => Ok(precinct_domain::ids::IncidentId(id)),
                _ => Err(invalid()),
            })
            .collect::<Result<Vec<_>, _>>()?;
        if ids.is_empty() || ids.len() > 100 {
            return Err(invalid());
        }
        Ok(Some(ids))
    }
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct DispatchRequest {
    pub unit_ids: Vec<i64>,
    /// Send units that declined or withdrew from this incident again
    /// (without it such a unit answers 409 `confirm_resend`).
    #[serde(default)]
    pub confirm_resend: bool,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct UnitStatusRequest {
    /// on_patrol, at_post, off_duty, en_route, on_scene or clearing.
    #[schema(schema_with = crate::schema::unit_status)]
    pub status: String,
}

impl UnitStatusRequest {
    pub fn parse(&self) -> Result<UnitStatus, ApiError> {
        UnitStatus::parse(&self.status).ok_or_else(|| {
            ApiError::unprocessable(
                "unknown_status",
                format!("unknown unit status {:?}", self.status),
                "警力状态无效",
            )
        })
    }
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct NoteRequest {
    pub text: String,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct CloseRequest {
    /// resolved_on_scene, referred_to_mediation, criminal_case_opened,
    /// public_order_case_opened, no_action_needed or transferred_to_agency.
    #[schema(schema_with = crate::schema::disposition)]
    pub disposition: String,
    pub remark: Option<String>,
}

impl CloseRequest {
    pub fn parse_disposition(&self) -> Result<Disposition, ApiError> {
        let disposition = Disposition::parse(&self.disposition).ok_or_else(|| {
            ApiError::unprocessable(
                "unknown_disposition",
                format!("unknown disposition {:?}", self.disposition),
                "处置结果无效",
            )
        })?;
        Ok(disposition.chosen_by_user()?)
    }
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct MergeRequest {
    /// The incident that survives; this one is closed as its duplicate.
    pub into: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UnitDto {
    pub id: i64,
    pub call_sign: String,
    pub name: String,
    #[schema(schema_with = crate::schema::unit_kind)]
    pub kind: String,
    /// Police units take law-enforcement action; the others give first response.
    pub police: bool,
    pub home_post_id: Option<i64>,
    pub zone_id: Option<i64>,
    #[schema(schema_with = crate::schema::capabilities)]
    pub capabilities: Vec<String>,
    #[schema(schema_with = crate::schema::unit_status)]
    pub status: String,
    /// The statuses the unit may report next, from the domain's transition
    /// table (so the field view copies no rule).
    #[schema(schema_with = crate::schema::unit_statuses)]
    pub next_statuses: Vec<String>,
    pub position: Option<Point>,
    pub position_at: Option<DateTime<Utc>>,
    pub incident_id: Option<i64>,
    pub member_count: u32,
    pub property_company_id: Option<i64>,
    /// The unit's duty phone.
    pub phone: Option<String>,
}

impl From<&Unit> for UnitDto {
    fn from(unit: &Unit) -> UnitDto {
        UnitDto {
            id: unit.id.0,
            call_sign: unit.call_sign.clone(),
            name: unit.name.clone(),
            kind: unit.kind.as_str().into(),
            police: unit.kind.is_police(),
            home_post_id: unit.home_post_id.map(|p| p.0),
            zone_id: unit.zone_id.map(|z| z.0),
            capabilities: unit
                .capabilities
                .iter()
                .map(|c| c.as_str().into())
                .collect(),
            status: unit.status.as_str().into(),
            next_statuses: unit
                .status
                .next_reported()
                .map(|s| s.as_str().to_owned())
                .collect(),
            position: unit.position.map(Point::from),
            position_at: unit.position_at,
            incident_id: unit.incident_id.map(|i| i.0),
            member_count: unit.member_count,
            property_company_id: unit.property_company_id.map(|p| p.0),
            phone: unit.phone.as_ref().map(|p| p.as_str().to_owned()),
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct PositionRequest {
    #[schema(minimum = -90, maximum = 90)]
    pub lat: f64,
    #[schema(minimum = -180, maximum = 180)]
    pub lon: f64,
    /// `wgs84` (default) or `gcj02`.
    #[schema(schema_with = crate::schema::datum_or_null)]
    pub datum: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ResolveQuery {
    #[param(minimum = -90, maximum = 90)]
    pub lat: f64,
    #[param(minimum = -180, maximum = 180)]
    pub lon: f64,
    #[param(schema_with = crate::schema::datum_or_null)]
    pub datum: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ResolutionDto {
    pub outside_ground: bool,
    pub zone_id: Option<i64>,
    pub zone_name: Option<String>,
    pub community_id: Option<i64>,
    pub community_name: Option<String>,
    pub grid_cell_id: Option<i64>,
    pub grid_cell_code: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PlaceSearchQuery {
    /// Part of a place's name or address, e.g. 美食七街 or 皮具.
    pub q: String,
    /// At most this many (default 20; 1 to 100).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<usize>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StreamQuery {
    /// Replay events after this id first (or send the Last-Event-ID header).
    pub after: Option<i64>,
}

/// Whether a listed status filter is valid.
pub fn parse_status_filter(text: Option<&str>) -> Result<(Option<IncidentStatus>, bool), ApiError> {
    match text {
        None | Some("open") => Ok((None, true)),
        Some("all") => Ok((None, false)),
        Some(other) => IncidentStatus::parse(other)
            .map(|s| (Some(s), false))
            .ok_or_else(|| {
                ApiError::unprocessable(
                    "unknown_status",
                    format!("unknown incident status {other:?}"),
                    "警情状态无效",
                )
            }),
    }
}

/// A query's `limit` within its bounds, or 422 naming it.
pub fn limit_within(limit: Option<u32>, default: u32, max: u32) -> Result<u32, ApiError> {
    match limit {
        None => Ok(default),
        Some(n) if (1..=max).contains(&n) => Ok(n),
        Some(n) => Err(ApiError::unprocessable(
            "invalid_field",
            format!("limit must be 1 to {max}, not {n}"),
            format!("limit 须为 1 到 {max}"),
        )),
    }
}
