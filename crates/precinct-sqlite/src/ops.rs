//! The write operations, each run by the writer thread inside one savepoint.
//! They read current state, ask the domain whether the change is legal,
//! write it and its events; an error anywhere rolls the whole operation back.

use crate::rows::{self, ms, store_error};
use crate::writer::WriteCtx;
use chrono::Duration;
use precinct_domain::Timestamp;
use precinct_domain::event::{Actor, Event, EventKind};
use precinct_domain::history::HistoryRecord;
use precinct_domain::ids::{IncidentId, UnitId};
use precinct_domain::incident::{
    DUPLICATE_WINDOW_MINUTES, IncidentStatus, Intake, likely_duplicate,
};
use precinct_geo::cell_key;
use precinct_storage::apply::{self, WriteTx};
use precinct_storage::disputes::{SqlExec, SqlValue};
use precinct_storage::reads;
use precinct_storage::rollups;
use precinct_storage::rows::{SqlRow, duplicate_search_cells};
use precinct_storage::{IntakeOutcome, StoreResult};
use rusqlite::{OptionalExtension, params};

pub(crate) fn intake(
    ctx: &mut WriteCtx<'_>,
    intake: Intake,
    actor: &Actor,
) -> StoreResult<IntakeOutcome> {
    if let Some(external_id) = &intake.external_id {
        let existing: Option<i64> = ctx
            .conn
            .prepare_cached("SELECT id FROM incidents WHERE source = ?1 AND external_id = ?2")
            .and_then(|mut s| {
                s.query_row(params![intake.source.as_str(), external_id], |r| r.get(0))
                    .optional()
            })
            .map_err(store_error)?;
        if let Some(id) = existing {
            return Ok(IntakeOutcome {
                incident: apply::run_ready(reads::incident(ctx, IncidentId(id)))?,
                created: false,
            });
        }
    }

    // Candidates: primary reports (not themselves duplicates) of the same
    // family in the time window, in the spatial cells around the radius; the
    // domain then applies the exact rule. Linking only to primary reports
    // keeps a burst of reports about one event from growing the candidate set.
    let window = Duration::minutes(DUPLICATE_WINDOW_MINUTES);
    // Always SEARCH_CELLS cell parameters (padded with repeats), so the statement is
    // prepared once and cached.
    let cells = duplicate_search_cells(intake.location);
    let candidates = rows::duplicate_candidates(
        ctx.conn,
        intake.category.family().as_str(),
        ms(intake.reported_at - window),
        ms(intake.reported_at + window),
        intake.location,
        &cells,
    )?;
    let duplicate = likely_duplicate(&intake, &candidates)
        .map(|d| (d.id, d.location.distance_m(intake.location)));

    ctx.conn
        .prepare_cached(
            "INSERT INTO incidents (source, external_id, category, family, priority, status, lat, lon, zone_id, \
             community_id, grid_cell_id, address, caller_name, caller_phone, summary, reported_at, received_at, \
             duplicate_of, cell) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19)",
        )
        .and_then(|mut s| {
            s.execute(params![
                intake.source.as_str(),
                intake.external_id,
                intake.category.as_str(),
                intake.category.family().as_str(),
                intake.priority.get(),
                IncidentStatus::Received.as_str(),
                intake.location.lat(),
                intake.location.lon(),
                intake.resolution.zone_id.map(|z| z.0),
                intake.resolution.community_id.map(|c| c.0),
                intake.resolution.grid_cell_id.map(|g| g.0),
                intake.address,
                intake.caller.name,
                intake.caller.phone.as_ref().map(|p| p.as_str()),
                intake.summary,
                ms(intake.reported_at),
                ms(ctx.now),
                duplicate.map(|d| d.0 .0),
                cell_key(intake.location),
            ])
        })
        .map_err(store_error)?;
    let id = IncidentId(ctx.conn.last_insert_rowid());
    ctx.emit(
        actor,
        Some(id),
        None,
        EventKind::IncidentReceived {
            source: intake.source,
            external_id: intake.external_id.clone(),
            category: intake.category.code().clone(),
            priority: intake.priority,
            location: intake.location,
            address: intake.address.clone(),
            summary: intake.summary.clone(),
        },
    )?;
    if let Some((duplicate_of, distance_m)) = duplicate {
        ctx.emit(
            actor,
            Some(id),
            None,
            EventKind::DuplicateLinked {
                duplicate_of,
                distance_m: distance_m.round(),
            },
        )?;
    }
    // Built from what was just written rather than read back: intake is the
    // hottest write path. The suite checks it equals a fresh read.
    let incident = intake.into_incident(id, ctx.now, duplicate.map(|d| d.0));
    ctx.rollups.add(&incident);
    Ok(IntakeOutcome {
        incident,
        created: true,
    })
}

/// SQLite's primitives for the shared write rules (`precinct_storage::apply`).
/// Each completes before it returns, so the writer thread can run the rules
/// with `apply::run_ready`.
impl SqlExec for WriteCtx<'_> {
    async fn execute(&mut self, sql: &str, params: &[SqlValue]) -> StoreResult<u64> {
        rows::execute_shared(self.conn, sql, params)
    }

    async fn query(
        &mut self,
        sql: &str,
        params: &[SqlValue],
        visit: &mut (dyn FnMut(&dyn SqlRow) -> StoreResult<()> + Send),
    ) -> StoreResult<()> {
        rows::query_shared(self.conn, sql, params, visit)
    }
}

impl WriteTx for WriteCtx<'_> {
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
        WriteCtx::moved(self, moved);
    }

    /// Its rollups are summed here and added once per row of
    /// `figure_rollups`, which is what lets an import write a hundred
    /// thousand rows a second.
    async fn insert_history(&mut self, records: &[HistoryRecord]) -> StoreResult<u64> {
        let conn = self.conn;
        let mut sums = rollups::Accumulator::default();
        let mut inserted = 0;
        {
            let mut insert = conn
                .prepare_cached(
                    "INSERT INTO incidents (source, external_id, category, family, priority, status, disposition, \
                     lat, lon, cell, zone_id, community_id, grid_cell_id, address, summary, reported_at, received_at, \
                     dispatched_at, first_on_scene_at, first_police_on_scene_at, closed_at) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21) \
                     ON CONFLICT (source, external_id) WHERE external_id IS NOT NULL DO NOTHING",
                )
                .map_err(store_error)?;
            // In time order: the ids and the time index then grow at their ends.
            let mut ordered: Vec<&HistoryRecord> = records.iter().collect();
            ordered.sort_by_key(|r| r.reported_at);
            for record in ordered {
                let i = record.incident(IncidentId(0));
                let changed = insert
                    .execute(params![
                        i.source.as_str(),
                        i.external_id,
                        i.category.as_str(),
                        i.category.family().as_str(),
                        i.priority.get(),
                        i.status.as_str(),
                        i.disposition.map(|d| d.as_str()),
                        i.location.lat(),
                        i.location.lon(),
                        cell_key(i.location),
                        i.resolution.zone_id.map(|z| z.0),
                        i.resolution.community_id.map(|c| c.0),
                        i.resolution.grid_cell_id.map(|g| g.0),
                        i.address,
                        i.summary,
                        ms(i.reported_at),
                        ms(i.received_at),
                        i.dispatched_at.map(ms),
                        i.first_on_scene_at.map(ms),
                        i.first_police_on_scene_at.map(ms),
                        i.closed_at.map(ms),
                    ])
                    .map_err(store_error)?;
                if changed == 1 {
                    inserted += 1;
                    sums.add(&i);
                }
            }
        }
        rollups::add(self, sums).await?;
        Ok(inserted)
    }

    async fn emit(
        &mut self,
        actor: &Actor,
        incident: Option<IncidentId>,
        unit: Option<UnitId>,
        kind: EventKind,
    ) -> StoreResult<Event> {
        WriteCtx::emit(self, actor, incident, unit, kind)
    }
}
