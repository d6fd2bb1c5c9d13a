//! Row mapping between SQLite and domain types. Times are Unix milliseconds.

use precinct_domain::event::{Actor, Event, EventKind};
use precinct_domain::ground::Resolution;
use precinct_domain::ids::*;
use precinct_domain::incident::{
    Assignment, Caller, Category, Disposition, DuplicateCandidate, Incident, IncidentStatus,
    IntakeSource, PhoneNumber, Priority,
};
use precinct_domain::unit::{Capability, Unit, UnitKind, UnitStatus};
use precinct_domain::user::{Role, User, Username};
use precinct_domain::{Coordinates, Timestamp};
use precinct_storage::{AuditEntry, StoreError};
use rusqlite::{Connection, OptionalExtension, Row};

pub(crate) fn ms(t: Timestamp) -> i64 {
    t.timestamp_millis()
}

fn ts(ms: i64) -> rusqlite::Result<Timestamp> {
    chrono::DateTime::from_timestamp_millis(ms)
        .ok_or_else(|| bad(format!("timestamp {ms} out of range")))
}

fn opt_ts(ms: Option<i64>) -> rusqlite::Result<Option<Timestamp>> {
    ms.map(ts).transpose()
}

#[derive(Debug)]
struct BadValue(String);

impl std::fmt::Display for BadValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for BadValue {}

fn bad(message: String) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(
        0,
        rusqlite::types::Type::Text,
        Box::new(BadValue(message)),
    )
}

fn text_enum<T>(row: &Row<'_>, column: &str, parse: fn(&str) -> Option<T>) -> rusqlite::Result<T> {
    let text: String = row.get(column)?;
    parse(&text).ok_or_else(|| bad(format!("unknown {column} {text:?}")))
}

fn coordinates(lat: f64, lon: f64) -> rusqlite::Result<Coordinates> {
    Coordinates::new(lat, lon).map_err(|e| bad(e.to_string()))
}

/// Maps a driver error to the storage error clients may see.
pub(crate) fn store_error(e: rusqlite::Error) -> StoreError {
    match &e {
        rusqlite::Error::SqliteFailure(code, _)
            if code.code == rusqlite::ErrorCode::ConstraintViolation =>
        {
            StoreError::Conflict("already exists".into())
        }
        _ => StoreError::Other(e.to_string()),
    }
}

pub(crate) const UNIT_COLUMNS: &str = "id, call_sign, name, kind, home_post_id, zone_id, capabilities, status, \
     lat, lon, position_at, incident_id, member_count, property_company_id";

pub(crate) fn unit_from_row(row: &Row<'_>) -> rusqlite::Result<Unit> {
    let capabilities: String = row.get("capabilities")?;
    let capabilities = capabilities
        .split(',')
        .filter(|c| !c.is_empty())
        .map(|c| Capability::parse(c).ok_or_else(|| bad(format!("unknown capability {c:?}"))))
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let position = match (
        row.get::<_, Option<f64>>("lat")?,
        row.get::<_, Option<f64>>("lon")?,
    ) {
        (Some(lat), Some(lon)) => Some(coordinates(lat, lon)?),
        _ => None,
    };
    Ok(Unit {
        id: UnitId(row.get("id")?),
        call_sign: row.get("call_sign")?,
        name: row.get("name")?,
        kind: text_enum(row, "kind", UnitKind::parse)?,
        home_post_id: row.get::<_, Option<i64>>("home_post_id")?.map(PostId),
        zone_id: row.get::<_, Option<i64>>("zone_id")?.map(ZoneId),
        capabilities,
        status: text_enum(row, "status", UnitStatus::parse)?,
        position,
        position_at: opt_ts(row.get("position_at")?)?,
        incident_id: row.get::<_, Option<i64>>("incident_id")?.map(IncidentId),
        member_count: row.get("member_count")?,
        property_company_id: row
            .get::<_, Option<i64>>("property_company_id")?
            .map(PropertyCompanyId),
    })
}

pub(crate) fn capabilities_text(capabilities: &[Capability]) -> String {
    capabilities
        .iter()
        .map(|c| c.as_str())
        .collect::<Vec<_>>()
        .join(",")
}

pub(crate) fn load_unit(conn: &Connection, id: UnitId) -> Result<Unit, StoreError> {
    conn.prepare_cached(&format!("SELECT {UNIT_COLUMNS} FROM units WHERE id = ?1"))
        .and_then(|mut s| s.query_row([id.0], unit_from_row).optional())
        .map_err(store_error)?
        .ok_or_else(|| StoreError::not_found("unit", id))
}

pub(crate) const INCIDENT_COLUMNS: &str = "id, source, external_id, category, priority, status, disposition, \
     closing_remark, lat, lon, zone_id, community_id, grid_cell_id, address, caller_name, caller_phone, summary, \
     reported_at, received_at, dispatched_at, first_on_scene_at, first_police_on_scene_at, \
     first_helper_on_scene_at, closed_at, duplicate_of, merged_into";

fn incident_from_row(row: &Row<'_>) -> rusqlite::Result<Incident> {
    let priority: i64 = row.get("priority")?;
    let phone: Option<String> = row.get("caller_phone")?;
    Ok(Incident {
        id: IncidentId(row.get("id")?),
        source: text_enum(row, "source", IntakeSource::parse)?,
        external_id: row.get("external_id")?,
        category: text_enum(row, "category", Category::parse)?,
        priority: Priority::new(priority).map_err(|e| bad(e.to_string()))?,
        status: text_enum(row, "status", IncidentStatus::parse)?,
        disposition: match row.get::<_, Option<String>>("disposition")? {
            Some(text) => Some(
                Disposition::parse(&text)
                    .ok_or_else(|| bad(format!("unknown disposition {text}")))?,
            ),
            None => None,
        },
        closing_remark: row.get("closing_remark")?,
        location: coordinates(row.get("lat")?, row.get("lon")?)?,
        resolution: Resolution {
            zone_id: row.get::<_, Option<i64>>("zone_id")?.map(ZoneId),
            community_id: row.get::<_, Option<i64>>("community_id")?.map(CommunityId),
            grid_cell_id: row.get::<_, Option<i64>>("grid_cell_id")?.map(GridCellId),
        },
        address: row.get("address")?,
        caller: Caller {
            name: row.get("caller_name")?,
            phone: phone
                .map(|p| PhoneNumber::parse(&p).map_err(|e| bad(e.to_string())))
                .transpose()?,
        },
        summary: row.get("summary")?,
        reported_at: ts(row.get("reported_at")?)?,
        received_at: ts(row.get("received_at")?)?,
        dispatched_at: opt_ts(row.get("dispatched_at")?)?,
        first_on_scene_at: opt_ts(row.get("first_on_scene_at")?)?,
        first_police_on_scene_at: opt_ts(row.get("first_police_on_scene_at")?)?,
        first_helper_on_scene_at: opt_ts(row.get("first_helper_on_scene_at")?)?,
        closed_at: opt_ts(row.get("closed_at")?)?,
        duplicate_of: row.get::<_, Option<i64>>("duplicate_of")?.map(IncidentId),
        merged_into: row.get::<_, Option<i64>>("merged_into")?.map(IncidentId),
        assignments: Vec::new(),
    })
}

fn load_assignments(conn: &Connection, id: IncidentId) -> rusqlite::Result<Vec<Assignment>> {
    let mut stmt = conn.prepare_cached(
        "SELECT unit_id, police, assigned_at, arrived_at, released_at FROM assignments \
         WHERE incident_id = ?1 ORDER BY rowid",
    )?;
    let rows = stmt.query_map([id.0], |row| {
        Ok(Assignment {
            unit_id: UnitId(row.get(0)?),
            police: row.get(1)?,
            assigned_at: ts(row.get(2)?)?,
            arrived_at: opt_ts(row.get(3)?)?,
            released_at: opt_ts(row.get(4)?)?,
        })
    })?;
    rows.collect()
}

pub(crate) fn load_incident(conn: &Connection, id: IncidentId) -> Result<Incident, StoreError> {
    let mut incident = conn
        .prepare_cached(&format!(
            "SELECT {INCIDENT_COLUMNS} FROM incidents WHERE id = ?1"
        ))
        .and_then(|mut s| s.query_row([id.0], incident_from_row).optional())
        .map_err(store_error)?
        .ok_or_else(|| StoreError::not_found("incident", id))?;
    incident.assignments = load_assignments(conn, id).map_err(store_error)?;
    Ok(incident)
}

/// Runs an incident query whose parameters are given, then fills in assignments.
pub(crate) fn query_incidents(
    conn: &Connection,
    sql: &str,
    params: &[&dyn rusqlite::ToSql],
) -> Result<Vec<Incident>, StoreError> {
    let mut stmt = conn.prepare_cached(sql).map_err(store_error)?;
    let mut incidents = stmt
        .query_map(params, incident_from_row)
        .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>())
        .map_err(store_error)?;
    for incident in &mut incidents {
        incident.assignments = load_assignments(conn, incident.id).map_err(store_error)?;
    }
    Ok(incidents)
}

/// Primary reports (not merged, not themselves duplicates) of a family in a
/// time window and in the given nine spatial cells.
pub(crate) fn duplicate_candidates(
    conn: &Connection,
    family: &str,
    from_ms: i64,
    to_ms: i64,
    cells: &[i64],
) -> Result<Vec<DuplicateCandidate>, StoreError> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT id, category, lat, lon, reported_at FROM incidents WHERE family = ?1 \
             AND cell IN (?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12) AND reported_at BETWEEN ?2 AND ?3 \
             AND merged_into IS NULL AND duplicate_of IS NULL",
        )
        .map_err(store_error)?;
    let mut params: Vec<&dyn rusqlite::ToSql> = vec![&family, &from_ms, &to_ms];
    params.extend(cells.iter().map(|c| c as &dyn rusqlite::ToSql));
    stmt.query_map(params.as_slice(), |row| {
        Ok(DuplicateCandidate {
            id: IncidentId(row.get("id")?),
            category: text_enum(row, "category", Category::parse)?,
            location: coordinates(row.get("lat")?, row.get("lon")?)?,
            reported_at: ts(row.get("reported_at")?)?,
        })
    })
    .and_then(|rows| rows.collect())
    .map_err(store_error)
}

pub(crate) const EVENT_COLUMNS: &str =
    "id, at, actor_user_id, actor_name, incident_id, unit_id, data";

pub(crate) fn event_from_row(row: &Row<'_>) -> rusqlite::Result<Event> {
    let data: String = row.get("data")?;
    let kind: EventKind =
        serde_json::from_str(&data).map_err(|e| bad(format!("event data: {e}")))?;
    Ok(Event {
        id: EventId(row.get("id")?),
        at: ts(row.get("at")?)?,
        actor: Actor {
            user_id: row.get::<_, Option<i64>>("actor_user_id")?.map(UserId),
            name: row.get("actor_name")?,
        },
        incident_id: row.get::<_, Option<i64>>("incident_id")?.map(IncidentId),
        unit_id: row.get::<_, Option<i64>>("unit_id")?.map(UnitId),
        kind,
    })
}

pub(crate) const USER_COLUMNS: &str = "id, username, display_name, role, unit_id";

pub(crate) fn user_from_row(row: &Row<'_>) -> rusqlite::Result<User> {
    let username: String = row.get("username")?;
    Ok(User {
        id: UserId(row.get("id")?),
        username: Username::parse(&username).map_err(|e| bad(e.to_string()))?,
        display_name: row.get("display_name")?,
        role: text_enum(row, "role", Role::parse)?,
        unit_id: row.get::<_, Option<i64>>("unit_id")?.map(UnitId),
    })
}

pub(crate) fn audit_from_row(row: &Row<'_>) -> rusqlite::Result<AuditEntry> {
    Ok(AuditEntry {
        at: ts(row.get("at")?)?,
        user_id: row.get::<_, Option<i64>>("user_id")?.map(UserId),
        username: row.get("username")?,
        action: row.get("action")?,
        subject: row.get("subject")?,
    })
}
