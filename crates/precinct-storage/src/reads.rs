//! The reads, written once for every SQL backend over [`SqlExec`]: each
//! backend runs them on a reader connection (its `Store` methods) or inside
//! its write transaction (`WriteTx`'s loaders). Statements use `$n`
//! placeholders and only SQL both backends speak (`CAST(… AS …)` rather
//! than `::`, `NOT flag` on flags stored as booleans or 0/1).

use crate::disputes::{SqlExec, SqlValue};
use crate::rows::{
    ASSIGNMENT_COLUMNS, AUDIT_COLUMNS, CLOSURE_COLUMNS, EVENT_COLUMNS, INCIDENT_COLUMNS,
    SECOND_FACTOR_COLUMNS, SESSION_USER_COLUMNS, SqlRow, UNIT_COLUMNS, USER_COLUMNS,
    assignment_from_row, audit_from_row, closure_from_row, event_from_row, incident_from_row, ms,
    second_factor_from_row, session_from_row, session_record_from_row, unit_from_row,
    user_from_row,
};
use crate::{
    AuditEntry, Credentials, IncidentFilter, RoadClosure, SecondFactor, Session, SessionRecord,
    StoreError, StoreResult, TrackPoint,
};
use precinct_domain::Timestamp;
use precinct_domain::event::Event;
use precinct_domain::ground::Jurisdiction;
use precinct_domain::ids::{EventId, IncidentId, UnitId, UserId};
use precinct_domain::incident::Incident;
use precinct_domain::station::StationState;
use precinct_domain::unit::Unit;
use precinct_domain::user::Username;
use precinct_geo::roads::{MapArea, PointAddress, RoadWay};

use SqlValue::{Int, Text};

/// Every row of a query, mapped.
pub async fn all<D, T>(
    db: &mut D,
    sql: &str,
    params: &[SqlValue],
    map: fn(&dyn SqlRow) -> StoreResult<T>,
) -> StoreResult<Vec<T>>
where
    D: SqlExec + ?Sized,
    T: Send,
{
    let mut out = Vec::new();
    db.query(sql, params, &mut |row| {
        out.push(map(row)?);
        Ok(())
    })
    .await?;
    Ok(out)
}

/// The first row of a query, if any, mapped.
pub async fn first<D, T>(
    db: &mut D,
    sql: &str,
    params: &[SqlValue],
    map: fn(&dyn SqlRow) -> StoreResult<T>,
) -> StoreResult<Option<T>>
where
    D: SqlExec + ?Sized,
    T: Send,
{
    Ok(all(db, sql, params, map).await?.into_iter().next())
}

fn int(v: i64) -> SqlValue {
    Int(Some(v))
}

pub async fn unit<D: SqlExec + ?Sized>(db: &mut D, id: UnitId) -> StoreResult<Unit> {
    first(
        db,
        &format!("SELECT {UNIT_COLUMNS} FROM units WHERE id = $1"),
        &[int(id.0)],
        unit_from_row,
    )
    .await?
    .ok_or_else(|| StoreError::not_found("unit", id))
}

/// The units in service (not retired), by id.
pub async fn units<D: SqlExec + ?Sized>(db: &mut D) -> StoreResult<Vec<Unit>> {
    all(
        db,
        &format!("SELECT {UNIT_COLUMNS} FROM units WHERE NOT retired ORDER BY id"),
        &[],
        unit_from_row,
    )
    .await
}

/// An incident's assignments, in the order they were made.
async fn with_assignments<D: SqlExec + ?Sized>(
    db: &mut D,
    mut incident: Incident,
) -> StoreResult<Incident> {
    incident.assignments = all(
        db,
        &format!("SELECT {ASSIGNMENT_COLUMNS} FROM assignments WHERE incident_id = $1 ORDER BY id"),
        &[int(incident.id.0)],
        assignment_from_row,
    )
    .await?;
    Ok(incident)
}

pub async fn incident<D: SqlExec + ?Sized>(db: &mut D, id: IncidentId) -> StoreResult<Incident> {
    let found = first(
        db,
        &format!("SELECT {INCIDENT_COLUMNS} FROM incidents WHERE id = $1"),
        &[int(id.0)],
        incident_from_row,
    )
    .await?
    .ok_or_else(|| StoreError::not_found("incident", id))?;
    with_assignments(db, found).await
}

/// The incidents a filter admits, newest first, each with its assignments.
pub async fn incidents<D: SqlExec + ?Sized>(
    db: &mut D,
    filter: &IncidentFilter,
) -> StoreResult<Vec<Incident>> {
    // Optional filters as NULL-able parameters keep one cached statement.
    let sql = format!(
        "SELECT {INCIDENT_COLUMNS} FROM incidents \
         WHERE (CAST($1 AS TEXT) IS NULL OR status = $1) AND (NOT $2 OR status <> 'closed') \
         AND (CAST($3 AS BIGINT) IS NULL OR id IN (SELECT incident_id FROM assignments WHERE unit_id = $3)) \
         AND (CAST($5 AS BIGINT) IS NULL OR reported_at >= $5) \
         AND (CAST($6 AS BIGINT) IS NULL OR reported_at < $6) \
         ORDER BY id DESC LIMIT $4"
    );
    let found = all(
        db,
        &sql,
        &[
            Text(filter.status.map(|s| s.as_str().to_owned())),
            SqlValue::Bool(filter.open_only),
            Int(filter.assigned_unit.map(|u| u.0)),
            int(i64::from(filter.limit)),
            Int(filter.reported_from.map(ms)),
            Int(filter.reported_until.map(ms)),
        ],
        incident_from_row,
    )
    .await?;
    let mut out = Vec::with_capacity(found.len());
    for incident in found {
        out.push(with_assignments(db, incident).await?);
    }
    Ok(out)
}

/// An incident's events and those of the reports merged into it, in order;
/// position reports are the units' tracks (`unit_track`), not its record
/// (older databases attached them to the incident).
pub async fn timeline<D: SqlExec + ?Sized>(db: &mut D, id: IncidentId) -> StoreResult<Vec<Event>> {
    incident(db, id).await?;
    all(
        db,
        &format!(
            "SELECT {EVENT_COLUMNS} FROM events WHERE (incident_id = $1 \
             OR incident_id IN (SELECT id FROM incidents WHERE merged_into = $1)) \
             AND kind <> 'unit_position_reported' ORDER BY id"
        ),
        &[int(id.0)],
        event_from_row,
    )
    .await
}

/// Where a unit reported itself over [from, until), oldest first, at most
/// `limit` points.
pub async fn unit_track<D: SqlExec + ?Sized>(
    db: &mut D,
    unit: UnitId,
    from: Timestamp,
    until: Timestamp,
    limit: u32,
) -> StoreResult<Vec<TrackPoint>> {
    all(
        db,
        "SELECT at, lat, lon FROM unit_positions WHERE unit_id = $1 AND at >= $2 AND at < $3 \
         ORDER BY at, id LIMIT $4",
        &[
            int(unit.0),
            int(ms(from)),
            int(ms(until)),
            int(i64::from(limit)),
        ],
        |row| {
            let position = precinct_geo::Coordinates::new(row.f64("lat")?, row.f64("lon")?)
                .map_err(|e| crate::rows::unreadable(e.to_string()))?;
            Ok(TrackPoint {
                at: crate::rows::ts(row.i64("at")?)?,
                position,
            })
        },
    )
    .await
}

pub async fn events_after<D: SqlExec + ?Sized>(
    db: &mut D,
    after: EventId,
    limit: u32,
) -> StoreResult<Vec<Event>> {
    all(
        db,
        &format!("SELECT {EVENT_COLUMNS} FROM events WHERE id > $1 ORDER BY id LIMIT $2"),
        &[int(after.0), int(i64::from(limit))],
        event_from_row,
    )
    .await
}

/// A document stored whole in a one-row table (`ground`, `roads`).
async fn body<D: SqlExec + ?Sized>(db: &mut D, table: &str) -> StoreResult<Option<String>> {
    first(
        db,
        &format!("SELECT body FROM {table} WHERE id = 1"),
        &[],
        |row| row.text("body"),
    )
    .await
}

pub async fn jurisdiction<D: SqlExec + ?Sized>(db: &mut D) -> StoreResult<Jurisdiction> {
    match body(db, "ground").await? {
        Some(body) => {
            serde_json::from_str(&body).map_err(|e| StoreError::Other(format!("ground: {e}")))
        }
        None => Ok(Jurisdiction::default()),
    }
}

pub async fn roads<D: SqlExec + ?Sized>(db: &mut D) -> StoreResult<Vec<RoadWay>> {
    match body(db, "roads").await? {
        Some(body) => {
            serde_json::from_str(&body).map_err(|e| StoreError::Other(format!("roads: {e}")))
        }
        None => Ok(Vec::new()),
    }
}

pub async fn road_addresses<D: SqlExec + ?Sized>(db: &mut D) -> StoreResult<Vec<PointAddress>> {
    match body(db, "road_addresses").await? {
        Some(body) => serde_json::from_str(&body)
            .map_err(|e| StoreError::Other(format!("road addresses: {e}"))),
        None => Ok(Vec::new()),
    }
}

const PHOTO_COLUMNS: &str = "id, incident_id, content_type, size, unit_id, taken_by, at";

fn photo_from_row(row: &dyn SqlRow) -> StoreResult<crate::PhotoInfo> {
    Ok(crate::PhotoInfo {
        id: row.i64("id")?,
        incident_id: IncidentId(row.i64("incident_id")?),
        content_type: row.text("content_type")?,
        size: row.i64("size")?.max(0) as u64,
        unit_id: row.opt_i64("unit_id")?.map(UnitId),
        taken_by: row.text("taken_by")?,
        at: crate::rows::ts(row.i64("at")?)?,
    })
}

pub async fn photos<D: SqlExec + ?Sized>(
    db: &mut D,
    incident: IncidentId,
) -> StoreResult<Vec<crate::PhotoInfo>> {
    all(
        db,
        &format!("SELECT {PHOTO_COLUMNS} FROM photos WHERE incident_id = $1 ORDER BY id"),
        &[int(incident.0)],
        photo_from_row,
    )
    .await
}

pub async fn photo<D: SqlExec + ?Sized>(
    db: &mut D,
    id: i64,
) -> StoreResult<(crate::PhotoInfo, Vec<u8>)> {
    first(
        db,
        &format!("SELECT {PHOTO_COLUMNS}, body FROM photos WHERE id = $1"),
        &[int(id)],
        |row| {
            Ok((
                photo_from_row(row)?,
                row.opt_bytes("body")?.unwrap_or_default(),
            ))
        },
    )
    .await?
    .ok_or_else(|| StoreError::NotFound {
        entity: "photo",
        id: id.to_string(),
    })
}

pub async fn road_areas<D: SqlExec + ?Sized>(db: &mut D) -> StoreResult<Vec<MapArea>> {
    match body(db, "road_areas").await? {
        Some(body) => {
            serde_json::from_str(&body).map_err(|e| StoreError::Other(format!("road areas: {e}")))
        }
        None => Ok(Vec::new()),
    }
}

pub async fn road_closures<D: SqlExec + ?Sized>(db: &mut D) -> StoreResult<Vec<RoadClosure>> {
    all(
        db,
        &format!("SELECT {CLOSURE_COLUMNS} FROM road_closures ORDER BY segment"),
        &[],
        closure_from_row,
    )
    .await
}

/// The stored station: ground, every unit and every account, retired ones
/// included.
pub async fn station<D: SqlExec + ?Sized>(db: &mut D) -> StoreResult<StationState> {
    Ok(StationState {
        ground: jurisdiction(db).await?,
        units: all(
            db,
            &format!("SELECT {UNIT_COLUMNS} FROM units ORDER BY id"),
            &[],
            unit_from_row,
        )
        .await?,
        users: all(
            db,
            &format!("SELECT {USER_COLUMNS} FROM users ORDER BY id"),
            &[],
            user_from_row,
        )
        .await?,
    })
}

pub async fn credentials<D: SqlExec + ?Sized>(
    db: &mut D,
    username: &Username,
) -> StoreResult<Option<Credentials>> {
    first(
        db,
        &format!("SELECT {USER_COLUMNS}, password_hash FROM users WHERE username = $1"),
        &[Text(Some(username.as_str().to_owned()))],
        |row| {
            Ok(Credentials {
                user: user_from_row(row)?,
                password_hash: row.text("password_hash")?,
            })
        },
    )
    .await
}

pub async fn count_users<D: SqlExec + ?Sized>(db: &mut D) -> StoreResult<u64> {
    let n = first(db, "SELECT COUNT(*) AS n FROM users", &[], |row| {
        row.i64("n")
    })
    .await?;
    Ok(n.unwrap_or(0).max(0) as u64)
}

/// The session of this token, if it is live at `now` and its account enabled.
pub async fn session_user<D: SqlExec + ?Sized>(
    db: &mut D,
    token_hash: &str,
    now: Timestamp,
) -> StoreResult<Option<Session>> {
    first(
        db,
        &format!(
            "SELECT {SESSION_USER_COLUMNS} FROM sessions s JOIN users u ON u.id = s.user_id \
             WHERE s.token_hash = $1 AND s.expires_at > $2 AND NOT u.disabled"
        ),
        &[Text(Some(token_hash.to_owned())), int(ms(now))],
        session_from_row,
    )
    .await
}

/// The sessions live at `now`, newest first.
pub async fn sessions<D: SqlExec + ?Sized>(
    db: &mut D,
    now: Timestamp,
) -> StoreResult<Vec<SessionRecord>> {
    all(
        db,
        &format!(
            "SELECT {SESSION_USER_COLUMNS} FROM sessions s JOIN users u ON u.id = s.user_id \
             WHERE s.expires_at > $1 ORDER BY s.created_at DESC"
        ),
        &[int(ms(now))],
        session_record_from_row,
    )
    .await
}

/// An account's second factor.
pub async fn second_factor<D: SqlExec + ?Sized>(
    db: &mut D,
    user: UserId,
) -> StoreResult<SecondFactor> {
    first(
        db,
        &format!("SELECT {SECOND_FACTOR_COLUMNS} FROM users WHERE id = $1"),
        &[int(user.0)],
        second_factor_from_row,
    )
    .await?
    .ok_or_else(|| StoreError::not_found("user", user.0))
}

/// The newest audit entries, newest first.
pub async fn audit_log<D: SqlExec + ?Sized>(
    db: &mut D,
    limit: u32,
) -> StoreResult<Vec<AuditEntry>> {
    all(
        db,
        &format!("SELECT {AUDIT_COLUMNS} FROM audit_log ORDER BY id DESC LIMIT $1"),
        &[int(i64::from(limit))],
        audit_from_row,
    )
    .await
}
