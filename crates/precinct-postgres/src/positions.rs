//! Positions at fleet rate: a run of position reports written by one
//! statement inside the writer's batch (the units' rows and their tracks),
//! instead of three statements and a savepoint each. The rule is the
//! shared one (`apply::report_unit_position`): an unknown unit is not
//! found, a known one moves and gets a point of its track, no event.

use crate::rows::{PgRow, store_error};
use deadpool_postgres::ClientWrapper;
use precinct_domain::Coordinates;
use precinct_domain::Timestamp;
use precinct_domain::event::Actor;
use precinct_domain::ids::UnitId;
use precinct_domain::unit::Unit;
use precinct_storage::rows::{UNIT_COLUMNS, ms, unit_from_row};
use precinct_storage::{StoreError, StoreResult, UnitMoved};
use std::collections::HashMap;

/// One report of the run.
pub(crate) struct Report {
    pub unit: UnitId,
    pub position: Coordinates,
    pub actor: Actor,
}

/// Writes the run at `now`, in arrival order (a unit reported twice ends
/// at its later report): each report's answer, and what to push live.
pub(crate) async fn positions_run(
    client: &ClientWrapper,
    now: Timestamp,
    run: &[Report],
) -> StoreResult<(Vec<StoreResult<Unit>>, Vec<UnitMoved>)> {
    let ids: Vec<i64> = run.iter().map(|r| r.unit.0).collect();
    let lats: Vec<f64> = run.iter().map(|r| r.position.lat()).collect();
    let lons: Vec<f64> = run.iter().map(|r| r.position.lon()).collect();
    let by: Vec<Option<i64>> = run.iter().map(|r| r.actor.user_id.map(|u| u.0)).collect();
    let at = ms(now);
    // The track gets every report of a known unit; the unit's row its last
    // (`DISTINCT ON` over the ordinal, newest first).
    let sql = format!(
        "WITH r AS (SELECT * FROM unnest($2::BIGINT[], $3::FLOAT8[], $4::FLOAT8[], $5::BIGINT[]) \
             WITH ORDINALITY AS r (unit_id, lat, lon, reported_by, k)), \
         known AS (SELECT r.* FROM r JOIN units u ON u.id = r.unit_id), \
         track AS (INSERT INTO unit_positions (unit_id, at, lat, lon, reported_by) \
             SELECT unit_id, $1, lat, lon, reported_by FROM known ORDER BY k), \
         last AS (SELECT DISTINCT ON (unit_id) unit_id, lat, lon FROM known ORDER BY unit_id, k DESC) \
         UPDATE units SET lat = last.lat, lon = last.lon, position_at = $1 FROM last \
         WHERE units.id = last.unit_id RETURNING {}",
        UNIT_COLUMNS
            .split(", ")
            .map(|c| format!("units.{}", c.trim()))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let statement = client.prepare_cached(&sql).await.map_err(store_error)?;
    let rows = client
        .query(&statement, &[&at, &ids, &lats, &lons, &by])
        .await
        .map_err(store_error)?;
    let mut units: HashMap<i64, Unit> = HashMap::with_capacity(rows.len());
    for row in &rows {
        let unit = unit_from_row(&PgRow(row))?;
        units.insert(unit.id.0, unit);
    }
    let mut answers = Vec::with_capacity(run.len());
    let mut moved = Vec::new();
    for report in run {
        match units.get(&report.unit.0) {
            Some(unit) => {
                moved.push(UnitMoved {
                    unit_id: report.unit,
                    position: report.position,
                    at: now,
                });
                answers.push(Ok(Unit {
                    position: Some(report.position),
                    position_at: Some(now),
                    ..unit.clone()
                }));
            }
            None => answers.push(Err(StoreError::not_found("unit", report.unit))),
        }
    }
    Ok((answers, moved))
}
