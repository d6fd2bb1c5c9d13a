//! PostgreSQL's primitives for the shared write rules
//! (`precinct_storage::apply`), on the writer's connection inside its batch.

use crate::ops::*;
use crate::rows::{PgRow, store_error};
use crate::writer::WriteCtx;
use deadpool_postgres::ClientWrapper;
use precinct_domain::Timestamp;
use precinct_domain::event::{Actor, Event, EventKind};
use precinct_domain::history::HistoryRecord;
use precinct_domain::ids::{IncidentId, UnitId};
use precinct_domain::incident::Incident;
use precinct_geo::cell_key;
use precinct_storage::StoreResult;
use precinct_storage::apply::WriteTx;
use precinct_storage::disputes::{SqlExec, SqlValue};
use precinct_storage::rollups;
use precinct_storage::rows::SqlRow;
use precinct_storage::rows::ms;
use tokio_postgres::types::ToSql;

/// A shared statement's parameters (`precinct_storage::disputes`) as the
/// driver takes them.
pub(crate) fn pg_params(params: &[SqlValue]) -> Vec<Box<dyn ToSql + Sync + Send>> {
    params
        .iter()
        .map(|p| -> Box<dyn ToSql + Sync + Send> {
            match p {
                SqlValue::Int(v) => Box::new(*v),
                SqlValue::Real(v) => Box::new(*v),
                SqlValue::Text(v) => Box::new(v.clone()),
                SqlValue::Bool(b) => Box::new(*b),
                SqlValue::Bytes(v) => Box::new(v.clone()),
            }
        })
        .collect()
}

/// Runs a shared statement on `client`.
pub(crate) async fn execute_shared(
    client: &ClientWrapper,
    sql: &str,
    params: &[SqlValue],
) -> StoreResult<u64> {
    let owned = pg_params(params);
    let refs: Vec<&(dyn ToSql + Sync)> = owned.iter().map(|b| &**b as _).collect();
    execute(client, sql, &refs).await
}

/// Runs a shared query on `client`, handing each row to `visit`.
pub(crate) async fn query_shared(
    client: &ClientWrapper,
    sql: &str,
    params: &[SqlValue],
    visit: &mut (dyn FnMut(&dyn SqlRow) -> StoreResult<()> + Send),
) -> StoreResult<()> {
    let owned = pg_params(params);
    let refs: Vec<&(dyn ToSql + Sync)> = owned.iter().map(|b| &**b as _).collect();
    for row in query(client, sql, &refs).await? {
        visit(&PgRow(&row))?;
    }
    Ok(())
}

/// A pooled connection running shared queries (readers).
pub(crate) struct Reader<'c>(pub &'c ClientWrapper);

impl SqlExec for Reader<'_> {
    async fn execute(&mut self, sql: &str, params: &[SqlValue]) -> StoreResult<u64> {
        execute_shared(self.0, sql, params).await
    }

    async fn query(
        &mut self,
        sql: &str,
        params: &[SqlValue],
        visit: &mut (dyn FnMut(&dyn SqlRow) -> StoreResult<()> + Send),
    ) -> StoreResult<()> {
        query_shared(self.0, sql, params, visit).await
    }
}

impl SqlExec for WriteCtx {
    async fn execute(&mut self, sql: &str, params: &[SqlValue]) -> StoreResult<u64> {
        execute_shared(&self.client, sql, params).await
    }

    async fn query(
        &mut self,
        sql: &str,
        params: &[SqlValue],
        visit: &mut (dyn FnMut(&dyn SqlRow) -> StoreResult<()> + Send),
    ) -> StoreResult<()> {
        query_shared(&self.client, sql, params, visit).await
    }
}

/// PostgreSQL's primitives for the shared write rules (`precinct_storage::apply`).
impl WriteTx for WriteCtx {
    fn now(&self) -> Timestamp {
        self.now
    }

    fn stamp_at(&mut self, at: Timestamp) {
        self.now = at;
    }

    fn heads(&mut self) -> &mut precinct_storage::chain::Heads {
        &mut self.heads
    }

    fn moved(&mut self, moved: precinct_storage::UnitMoved) {
        self.positions.push(moved);
    }

    /// In statements of 20,000 rows from arrays (`unnest`).
    async fn insert_history(&mut self, records: &[HistoryRecord]) -> StoreResult<u64> {
        const SQL: &str = "INSERT INTO incidents (source, external_id, category, family, priority, status, \
             disposition, lat, lon, cell, zone_id, community_id, grid_cell_id, address, summary, reported_at, \
             received_at, dispatched_at, first_on_scene_at, first_police_on_scene_at, closed_at) \
             SELECT 'history', u.external_id, u.category, u.family, u.priority, 'closed', u.disposition, u.lat, \
             u.lon, u.cell, u.zone_id, u.community_id, u.grid_cell_id, u.address, u.summary, u.reported_at, \
             u.reported_at, u.dispatched_at, u.arrived_at, u.arrived_at, u.closed_at \
             FROM unnest($1::TEXT[], $2::TEXT[], $3::TEXT[], $4::BIGINT[], $5::TEXT[], $6::DOUBLE PRECISION[], \
             $7::DOUBLE PRECISION[], $8::BIGINT[], $9::BIGINT[], $10::BIGINT[], $11::BIGINT[], $12::TEXT[], \
             $13::TEXT[], $14::BIGINT[], $15::BIGINT[], $16::BIGINT[], $17::BIGINT[]) \
             AS u (external_id, category, family, priority, disposition, lat, lon, cell, zone_id, community_id, \
             grid_cell_id, address, summary, reported_at, dispatched_at, arrived_at, closed_at) \
";
        // Which of a chunk's ids are stored already: under the writers' lock
        // nothing else inserts meanwhile, so the rest go in with a plain
        // insert (no speculative insertion per row).
        const STORED: &str = "SELECT external_id FROM incidents \
             WHERE source = 'history' AND external_id = ANY($1::TEXT[])";
        // Its rollups are summed here over the whole import and added once
        // per row of `figure_rollups` (a time-ordered import touches each
        // day's keys once).
        let statement = self.client.prepare_cached(SQL).await.map_err(store_error)?;
        let stored = self
            .client
            .prepare_cached(STORED)
            .await
            .map_err(store_error)?;
        let mut inserted = 0;
        let mut sums = rollups::Accumulator::default();
        for chunk in records.chunks(20_000) {
            let ids: Vec<&str> = chunk.iter().map(|r| r.external_id.as_str()).collect();
            let present: std::collections::HashSet<String> = self
                .client
                .query(&stored, &[&ids])
                .await
                .map_err(store_error)?
                .iter()
                .map(|row| row.get::<_, String>(0))
                .collect();
            let incidents: Vec<Incident> = chunk
                .iter()
                .filter(|r| !present.contains(&r.external_id))
                .map(|r| r.incident(IncidentId(0)))
                .collect();
            if incidents.is_empty() {
                continue;
            }
            let texts =
                |f: &dyn Fn(&Incident) -> String| incidents.iter().map(f).collect::<Vec<String>>();
            let ints = |f: &dyn Fn(&Incident) -> Option<i64>| {
                incidents.iter().map(f).collect::<Vec<Option<i64>>>()
            };
            let reals =
                |f: &dyn Fn(&Incident) -> f64| incidents.iter().map(f).collect::<Vec<f64>>();
            let external_id = texts(&|i| i.external_id.clone().unwrap_or_default());
            let category = texts(&|i| i.category.as_str().to_owned());
            let family = texts(&|i| i.category.family().as_str().to_owned());
            let priority = ints(&|i| Some(i64::from(i.priority.get())));
            let disposition: Vec<Option<&str>> = incidents
                .iter()
                .map(|i| i.disposition.map(|d| d.as_str()))
                .collect();
            let lat = reals(&|i| i.location.lat());
            let lon = reals(&|i| i.location.lon());
            let cell = ints(&|i| Some(cell_key(i.location)));
            let zone = ints(&|i| i.resolution.zone_id.map(|z| z.0));
            let community = ints(&|i| i.resolution.community_id.map(|c| c.0));
            let grid_cell = ints(&|i| i.resolution.grid_cell_id.map(|g| g.0));
            let address = texts(&|i| i.address.clone());
            let summary = texts(&|i| i.summary.clone());
            let reported = ints(&|i| Some(ms(i.reported_at)));
            let dispatched = ints(&|i| i.dispatched_at.map(ms));
            let arrived = ints(&|i| i.first_police_on_scene_at.map(ms));
            let closed = ints(&|i| i.closed_at.map(ms));
            let params: [&(dyn ToSql + Sync); 17] = [
                &external_id,
                &category,
                &family,
                &priority,
                &disposition,
                &lat,
                &lon,
                &cell,
                &zone,
                &community,
                &grid_cell,
                &address,
                &summary,
                &reported,
                &dispatched,
                &arrived,
                &closed,
            ];
            inserted += self
                .client
                .execute(&statement, &params)
                .await
                .map_err(store_error)?;
            for incident in &incidents {
                sums.add(incident);
            }
        }
        let table: Vec<_> = sums.table().into_iter().collect();
        let upsert = self
            .client
            .prepare_cached(&rollups::upsert_from_arrays_sql())
            .await
            .map_err(store_error)?;
        for chunk in table.chunks(50_000) {
            let texts = |f: &dyn Fn(&(rollups::RollupKey, rollups::Measures)) -> String| {
                chunk.iter().map(f).collect::<Vec<String>>()
            };
            let ints = |f: &dyn Fn(&(rollups::RollupKey, rollups::Measures)) -> i64| {
                chunk.iter().map(f).collect::<Vec<i64>>()
            };
            let columns = (
                texts(&|(k, _)| k.dim.clone()),
                ints(&|(k, _)| k.span),
                ints(&|(k, _)| k.bucket),
                texts(&|(k, _)| k.key.clone()),
                [
                    ints(&|(_, m)| m.n),
                    ints(&|(_, m)| m.dispatched),
                    ints(&|(_, m)| m.police_n),
                    ints(&|(_, m)| m.police_seconds),
                    ints(&|(_, m)| m.helper_n),
                    ints(&|(_, m)| m.helper_seconds),
                    ints(&|(_, m)| m.closed),
                    ints(&|(_, m)| m.on_scene),
                ],
            );
            let (dim, span, bucket, key, measures) = &columns;
            let mut params: Vec<&(dyn ToSql + Sync)> = vec![dim, span, bucket, key];
            params.extend(measures.iter().map(|m| m as &(dyn ToSql + Sync)));
            self.client
                .execute(&upsert, &params)
                .await
                .map_err(store_error)?;
        }
        Ok(inserted)
    }

    async fn emit(
        &mut self,
        actor: &Actor,
        incident: Option<IncidentId>,
        unit: Option<UnitId>,
        kind: EventKind,
    ) -> StoreResult<Event> {
        WriteCtx::emit(self, actor, incident, unit, kind).await
    }
}
