//! The write operations, run by the writer task inside one savepoint each,
//! and the loaders they and the readers share. Same rules as the SQLite
//! backend's `ops.rs`: read current state, ask the domain, write the change
//! and its events.

use crate::rows::{PgRow, map_rows, store_error};
use deadpool_postgres::ClientWrapper;
use precinct_domain::Timestamp;
use precinct_domain::ground::Jurisdiction;
use precinct_domain::ids::{IncidentId, UnitId};
use precinct_domain::incident::Incident;
use precinct_domain::station::StationState;
use precinct_domain::unit::{NewUnit, Unit};
use precinct_storage::rows::{
    ASSIGNMENT_COLUMNS, INCIDENT_COLUMNS, UNIT_COLUMNS, USER_COLUMNS, assignment_from_row,
    capabilities_text, incident_from_row, ms, unit_from_row, user_from_row,
};
use precinct_storage::{StoreError, StoreResult};
use tokio_postgres::types::ToSql;

pub(crate) type Params<'a> = &'a [&'a (dyn ToSql + Sync)];

pub(crate) async fn query(
    client: &ClientWrapper,
    sql: &str,
    params: Params<'_>,
) -> StoreResult<Vec<tokio_postgres::Row>> {
    let statement = client.prepare_cached(sql).await.map_err(store_error)?;
    client.query(&statement, params).await.map_err(store_error)
}

pub(crate) async fn execute(
    client: &ClientWrapper,
    sql: &str,
    params: Params<'_>,
) -> StoreResult<u64> {
    let statement = client.prepare_cached(sql).await.map_err(store_error)?;
    client
        .execute(&statement, params)
        .await
        .map_err(store_error)
}

pub(crate) async fn load_unit(client: &ClientWrapper, id: UnitId) -> StoreResult<Unit> {
    let rows = query(
        client,
        &format!("SELECT {UNIT_COLUMNS} FROM units WHERE id = $1"),
        &[&id.0],
    )
    .await?;
    rows.first()
        .map(|r| unit_from_row(&PgRow(r)))
        .ok_or_else(|| StoreError::not_found("unit", id))?
}

pub(crate) async fn with_assignments(
    client: &ClientWrapper,
    mut incident: Incident,
) -> StoreResult<Incident> {
    let sql =
        format!("SELECT {ASSIGNMENT_COLUMNS} FROM assignments WHERE incident_id = $1 ORDER BY id");
    incident.assignments = map_rows(
        &query(client, &sql, &[&incident.id.0]).await?,
        assignment_from_row,
    )?;
    Ok(incident)
}

pub(crate) async fn load_incident(client: &ClientWrapper, id: IncidentId) -> StoreResult<Incident> {
    let rows = query(
        client,
        &format!("SELECT {INCIDENT_COLUMNS} FROM incidents WHERE id = $1"),
        &[&id.0],
    )
    .await?;
    let incident = rows
        .first()
        .map(|r| incident_from_row(&PgRow(r)))
        .ok_or_else(|| StoreError::not_found("incident", id))??;
    with_assignments(client, incident).await
}

pub(crate) async fn query_incidents(
    client: &ClientWrapper,
    sql: &str,
    params: Params<'_>,
) -> StoreResult<Vec<Incident>> {
    let mut incidents = Vec::new();
    for incident in map_rows(&query(client, sql, params).await?, incident_from_row)? {
        incidents.push(with_assignments(client, incident).await?);
    }
    Ok(incidents)
}

pub(crate) async fn create_units(
    client: &ClientWrapper,
    now: Timestamp,
    units: Vec<NewUnit>,
) -> StoreResult<Vec<Unit>> {
    let mut created = Vec::with_capacity(units.len());
    for unit in units {
        let rows = query(
            client,
            "INSERT INTO units (call_sign, name, kind, home_post_id, zone_id, capabilities, status, lat, lon, \
             position_at, member_count, property_company_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) \
             RETURNING id",
            &[
                &unit.call_sign,
                &unit.name,
                &unit.kind.as_str(),
                &unit.home_post_id.map(|p| p.0),
                &unit.zone_id.map(|z| z.0),
                &capabilities_text(&unit.capabilities),
                &unit.status.as_str(),
                &unit.position.map(|p| p.lat()),
                &unit.position.map(|p| p.lon()),
                &unit.position.map(|_| ms(now)),
                &i64::from(unit.member_count),
                &unit.property_company_id.map(|p| p.0),
            ],
        )
        .await
        .map_err(|e| match e {
            StoreError::AlreadyExists(_) => StoreError::AlreadyExists(format!("call sign {} is taken", unit.call_sign)),
            other => other,
        })?;
        created.push(load_unit(client, UnitId(rows[0].get(0))).await?);
    }
    Ok(created)
}

/// The stored station: ground, every unit, every account.
pub(crate) async fn load_station(client: &ClientWrapper) -> StoreResult<StationState> {
    let rows = query(client, "SELECT body FROM ground WHERE id = 1", &[]).await?;
    let ground = match rows.first() {
        Some(row) => serde_json::from_str(row.get::<_, &str>(0))
            .map_err(|e| StoreError::Other(format!("ground: {e}")))?,
        None => Jurisdiction::default(),
    };
    let units = map_rows(
        &query(
            client,
            &format!("SELECT {UNIT_COLUMNS} FROM units ORDER BY id"),
            &[],
        )
        .await?,
        unit_from_row,
    )?;
    let users = map_rows(
        &query(
            client,
            &format!("SELECT {USER_COLUMNS} FROM users ORDER BY id"),
            &[],
        )
        .await?,
        user_from_row,
    )?;
    Ok(StationState {
        ground,
        units,
        users,
    })
}
