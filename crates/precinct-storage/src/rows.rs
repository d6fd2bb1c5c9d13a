//! Row mapping shared by the SQL backends. Each backend implements [`SqlRow`]
//! for its driver's row type; the mapping from columns to domain values, and
//! the column lists, are written once here. Times are Unix milliseconds.

use crate::{AuditEntry, StoreError, StoreResult};
use precinct_domain::event::{Actor, Event, EventKind};
use precinct_domain::ground::Resolution;
use precinct_domain::ids::*;
use precinct_domain::incident::{
    Assignment, Caller, Category, CategoryCode, CategoryFamily, Disposition, DuplicateCandidate,
    Incident, IncidentStatus, IntakeSource, PhoneNumber, Priority,
};
use precinct_domain::unit::{Capability, Unit, UnitKind, UnitStatus};
use precinct_domain::user::{Role, User, Username};
use precinct_domain::{Coordinates, Timestamp};

/// Typed, nullable column access by name: all a row must offer.
pub trait SqlRow {
    fn opt_i64(&self, column: &str) -> StoreResult<Option<i64>>;
    fn opt_f64(&self, column: &str) -> StoreResult<Option<f64>>;
    fn opt_text(&self, column: &str) -> StoreResult<Option<String>>;
    fn boolean(&self, column: &str) -> StoreResult<bool>;
    fn opt_bytes(&self, column: &str) -> StoreResult<Option<Vec<u8>>>;

    fn i64(&self, column: &str) -> StoreResult<i64> {
        self.opt_i64(column)?
            .ok_or_else(|| unreadable(format!("{column} is null")))
    }

    fn f64(&self, column: &str) -> StoreResult<f64> {
        self.opt_f64(column)?
            .ok_or_else(|| unreadable(format!("{column} is null")))
    }

    fn text(&self, column: &str) -> StoreResult<String> {
        self.opt_text(column)?
            .ok_or_else(|| unreadable(format!("{column} is null")))
    }
}

/// A stored value the domain cannot accept: corruption, not user error.
pub fn unreadable(message: String) -> StoreError {
    StoreError::Other(format!("unreadable row: {message}"))
}

pub fn ms(t: Timestamp) -> i64 {
    t.timestamp_millis()
}

pub(crate) fn ts(ms: i64) -> StoreResult<Timestamp> {
    chrono::DateTime::from_timestamp_millis(ms)
        .ok_or_else(|| unreadable(format!("timestamp {ms} out of range")))
}

pub(crate) fn opt_ts(row: &dyn SqlRow, column: &str) -> StoreResult<Option<Timestamp>> {
    row.opt_i64(column)?.map(ts).transpose()
}

pub(crate) fn text_enum<T>(
    row: &dyn SqlRow,
    column: &str,
    parse: fn(&str) -> Option<T>,
) -> StoreResult<T> {
    let text = row.text(column)?;
    parse(&text).ok_or_else(|| unreadable(format!("unknown {column} {text:?}")))
}

/// A stored incident's category: its code and the family it was taken in as.
fn category(row: &dyn SqlRow) -> StoreResult<Category> {
    let code =
        CategoryCode::parse(&row.text("category")?).map_err(|e| unreadable(e.to_string()))?;
    Ok(Category::new(
        code,
        text_enum(row, "family", CategoryFamily::parse)?,
    ))
}

pub(crate) fn coordinates(lat: f64, lon: f64) -> StoreResult<Coordinates> {
    Coordinates::new(lat, lon).map_err(|e| unreadable(e.to_string()))
}

pub(crate) fn opt_id<T>(
    row: &dyn SqlRow,
    column: &str,
    id: fn(i64) -> T,
) -> StoreResult<Option<T>> {
    Ok(row.opt_i64(column)?.map(id))
}

pub const UNIT_COLUMNS: &str = "id, call_sign, name, kind, home_post_id, zone_id, capabilities, status, \
     lat, lon, position_at, incident_id, member_count, property_company_id, phone, retired";

pub fn unit_from_row(row: &dyn SqlRow) -> StoreResult<Unit> {
    let capabilities = row
        .text("capabilities")?
        .split(',')
        .filter(|c| !c.is_empty())
        .map(|c| {
            Capability::parse(c).ok_or_else(|| unreadable(format!("unknown capability {c:?}")))
        })
        .collect::<StoreResult<Vec<_>>>()?;
    let position = match (row.opt_f64("lat")?, row.opt_f64("lon")?) {
        (Some(lat), Some(lon)) => Some(coordinates(lat, lon)?),
        _ => None,
    };
    Ok(Unit {
        id: UnitId(row.i64("id")?),
        call_sign: row.text("call_sign")?,
        name: row.text("name")?,
        kind: text_enum(row, "kind", UnitKind::parse)?,
        home_post_id: opt_id(row, "home_post_id", PostId)?,
        zone_id: opt_id(row, "zone_id", ZoneId)?,
        capabilities,
        status: text_enum(row, "status", UnitStatus::parse)?,
        position,
        position_at: opt_ts(row, "position_at")?,
        incident_id: opt_id(row, "incident_id", IncidentId)?,
        member_count: u32::try_from(row.i64("member_count")?)
            .map_err(|e| unreadable(e.to_string()))?,
        property_company_id: opt_id(row, "property_company_id", PropertyCompanyId)?,
        phone: opt_phone(row, "phone")?,
        retired: row.boolean("retired")?,
    })
}

pub(crate) fn opt_phone(row: &dyn SqlRow, column: &str) -> StoreResult<Option<PhoneNumber>> {
    row.opt_text(column)?
        .map(|p| PhoneNumber::parse(&p).map_err(|e| unreadable(e.to_string())))
        .transpose()
}

pub fn capabilities_text(capabilities: &[Capability]) -> String {
    capabilities
        .iter()
        .map(|c| c.as_str())
        .collect::<Vec<_>>()
        .join(",")
}

pub const INCIDENT_COLUMNS: &str = "id, source, external_id, category, priority, status, disposition, \
     closing_remark, family, lat, lon, zone_id, community_id, grid_cell_id, address, caller_name, caller_phone, summary, \
     reported_at, received_at, dispatched_at, first_on_scene_at, first_police_on_scene_at, \
     first_helper_on_scene_at, closed_at, duplicate_of, merged_into";

/// An incident without its assignments (the caller adds them).
pub fn incident_from_row(row: &dyn SqlRow) -> StoreResult<Incident> {
    Ok(Incident {
        id: IncidentId(row.i64("id")?),
        source: text_enum(row, "source", IntakeSource::parse)?,
        external_id: row.opt_text("external_id")?,
        category: category(row)?,
        priority: Priority::new(row.i64("priority")?).map_err(|e| unreadable(e.to_string()))?,
        status: text_enum(row, "status", IncidentStatus::parse)?,
        disposition: row
            .opt_text("disposition")?
            .map(|d| {
                Disposition::parse(&d).ok_or_else(|| unreadable(format!("unknown disposition {d}")))
            })
            .transpose()?,
        closing_remark: row.opt_text("closing_remark")?,
        location: coordinates(row.f64("lat")?, row.f64("lon")?)?,
        resolution: Resolution {
            zone_id: opt_id(row, "zone_id", ZoneId)?,
            community_id: opt_id(row, "community_id", CommunityId)?,
            grid_cell_id: opt_id(row, "grid_cell_id", GridCellId)?,
        },
        address: row.text("address")?,
        caller: Caller {
            name: row.opt_text("caller_name")?,
            phone: row
                .opt_text("caller_phone")?
                .map(|p| PhoneNumber::parse(&p).map_err(|e| unreadable(e.to_string())))
                .transpose()?,
        },
        summary: row.text("summary")?,
        reported_at: ts(row.i64("reported_at")?)?,
        received_at: ts(row.i64("received_at")?)?,
        dispatched_at: opt_ts(row, "dispatched_at")?,
        first_on_scene_at: opt_ts(row, "first_on_scene_at")?,
        first_police_on_scene_at: opt_ts(row, "first_police_on_scene_at")?,
        first_helper_on_scene_at: opt_ts(row, "first_helper_on_scene_at")?,
        closed_at: opt_ts(row, "closed_at")?,
        duplicate_of: opt_id(row, "duplicate_of", IncidentId)?,
        merged_into: opt_id(row, "merged_into", IncidentId)?,
        assignments: Vec::new(),
    })
}

pub const ASSIGNMENT_COLUMNS: &str =
    "unit_id, police, assigned_at, arrived_at, released_at, accepted_at, handed_over_at";

pub fn assignment_from_row(row: &dyn SqlRow) -> StoreResult<Assignment> {
    Ok(Assignment {
        unit_id: UnitId(row.i64("unit_id")?),
        police: row.boolean("police")?,
        assigned_at: ts(row.i64("assigned_at")?)?,
        arrived_at: opt_ts(row, "arrived_at")?,
        released_at: opt_ts(row, "released_at")?,
        accepted_at: opt_ts(row, "accepted_at")?,
        handed_over_at: opt_ts(row, "handed_over_at")?,
    })
}

/// How many cells every duplicate search names (see [`duplicate_search_cells`]).
pub const SEARCH_CELLS: usize = precinct_geo::MAX_CELLS_WITHIN_300_M;

/// The spatial cells a duplicate search must look in: always
/// [`SEARCH_CELLS`] (padded by repeating the first), so backends can keep one
/// prepared statement. Only a search beyond 85° of latitude could touch more
/// cells; it looks in the first [`SEARCH_CELLS`] of them.
pub fn duplicate_search_cells(location: Coordinates) -> [i64; SEARCH_CELLS] {
    const _: () = assert!(precinct_domain::incident::DUPLICATE_RADIUS_M <= 300.0);
    let cells =
        precinct_geo::cell_keys_within(location, precinct_domain::incident::DUPLICATE_RADIUS_M);
    let mut all = [cells[0]; SEARCH_CELLS];
    for (slot, cell) in all.iter_mut().zip(cells) {
        *slot = cell;
    }
    all
}

pub const CANDIDATE_COLUMNS: &str = "id, category, family, lat, lon, reported_at";

pub fn candidate_from_row(row: &dyn SqlRow) -> StoreResult<DuplicateCandidate> {
    Ok(DuplicateCandidate {
        id: IncidentId(row.i64("id")?),
        category: category(row)?,
        location: coordinates(row.f64("lat")?, row.f64("lon")?)?,
        reported_at: ts(row.i64("reported_at")?)?,
    })
}

pub const EVENT_COLUMNS: &str = "id, at, actor_user_id, actor_name, incident_id, unit_id, data";

pub fn event_from_row(row: &dyn SqlRow) -> StoreResult<Event> {
    let kind: EventKind = serde_json::from_str(&row.text("data")?)
        .map_err(|e| unreadable(format!("event data: {e}")))?;
    Ok(Event {
        id: EventId(row.i64("id")?),
        at: ts(row.i64("at")?)?,
        actor: Actor {
            user_id: opt_id(row, "actor_user_id", UserId)?,
            name: row.text("actor_name")?,
        },
        incident_id: opt_id(row, "incident_id", IncidentId)?,
        unit_id: opt_id(row, "unit_id", UnitId)?,
        kind,
    })
}

/// The serialized form of an event's kind, as stored in `events.data`.
pub fn event_data(kind: &EventKind) -> StoreResult<String> {
    serde_json::to_string(kind).map_err(|e| StoreError::Other(e.to_string()))
}

pub const USER_COLUMNS: &str = "id, username, display_name, role, unit_id, organisation_id, phone, disabled, must_change_password, (totp_secret IS NOT NULL) AS second_factor";

pub fn user_from_row(row: &dyn SqlRow) -> StoreResult<User> {
    Ok(User {
        id: UserId(row.i64("id")?),
        username: Username::parse(&row.text("username")?).map_err(|e| unreadable(e.to_string()))?,
        display_name: row.text("display_name")?,
        role: text_enum(row, "role", Role::parse)?,
        unit_id: opt_id(row, "unit_id", UnitId)?,
        organisation_id: opt_id(row, "organisation_id", OrganisationId)?,
        phone: opt_phone(row, "phone")?,
        disabled: row.boolean("disabled")?,
        must_change_password: row.boolean("must_change_password")?,
        second_factor: row.boolean("second_factor")?,
    })
}

/// The columns of a session with its user (`users` joined as `u`, `sessions` as `s`).
pub const SESSION_USER_COLUMNS: &str = "u.id, u.username, u.display_name, u.role, u.unit_id, u.organisation_id, u.phone, u.disabled, u.must_change_password, (u.totp_secret IS NOT NULL) AS second_factor, s.created_at, s.last_seen_at, s.expires_at, s.token_hash, s.address";

pub fn session_from_row(row: &dyn SqlRow) -> StoreResult<crate::Session> {
    Ok(crate::Session {
        user: user_from_row(row)?,
        created_at: ts(row.i64("created_at")?)?,
        last_seen_at: ts(row.i64("last_seen_at")?)?,
        expires_at: ts(row.i64("expires_at")?)?,
    })
}

pub fn session_record_from_row(row: &dyn SqlRow) -> StoreResult<crate::SessionRecord> {
    let session = session_from_row(row)?;
    Ok(crate::SessionRecord {
        token_hash: row.text("token_hash")?,
        user_id: session.user.id,
        username: session.user.username.as_str().to_owned(),
        role: session.user.role,
        created_at: session.created_at,
        last_seen_at: session.last_seen_at,
        expires_at: session.expires_at,
        address: row.opt_text("address")?,
    })
}

pub const SECOND_FACTOR_COLUMNS: &str = "totp_secret, totp_pending, totp_last_step, recovery_codes";

pub fn second_factor_from_row(row: &dyn SqlRow) -> StoreResult<crate::SecondFactor> {
    Ok(crate::SecondFactor {
        secret: row.opt_text("totp_secret")?,
        pending: row.opt_text("totp_pending")?,
        last_step: row.opt_i64("totp_last_step")?,
        recovery_hashes: serde_json::from_str(&row.text("recovery_codes")?)
            .map_err(|e| unreadable(format!("recovery_codes: {e}")))?,
    })
}

/// The stored form of the recovery code hashes.
pub fn recovery_codes_json(factor: &crate::SecondFactor) -> String {
    serde_json::to_string(&factor.recovery_hashes).expect("strings serialize")
}

pub const AUDIT_COLUMNS: &str = "at, user_id, username, action, subject";

pub fn audit_from_row(row: &dyn SqlRow) -> StoreResult<AuditEntry> {
    Ok(AuditEntry {
        at: ts(row.i64("at")?)?,
        user_id: opt_id(row, "user_id", UserId)?,
        username: row.text("username")?,
        action: row.text("action")?,
        subject: row.text("subject")?,
    })
}

pub const CLOSURE_COLUMNS: &str = "segment, closed_at, closed_by, reason";

pub fn closure_from_row(row: &dyn SqlRow) -> StoreResult<crate::RoadClosure> {
    Ok(crate::RoadClosure {
        segment: u32::try_from(row.i64("segment")?).map_err(|e| unreadable(e.to_string()))?,
        closed_at: ts(row.i64("closed_at")?)?,
        closed_by: row.text("closed_by")?,
        reason: row.opt_text("reason")?,
    })
}
