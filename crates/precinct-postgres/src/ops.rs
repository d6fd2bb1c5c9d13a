//! The write operations, run by the writer task inside one savepoint each,
//! and the loaders they and the readers share. Same rules as the SQLite
//! backend's `ops.rs`: read current state, ask the domain, write the change
//! and its events.

use crate::rows::{PgRow, map_rows, store_error};
use crate::writer::WriteCtx;
use chrono::{Duration, SubsecRound};
use deadpool_postgres::ClientWrapper;
use precinct_domain::event::{Actor, Event, EventKind};
use precinct_domain::ids::{IncidentId, UnitId};
use precinct_domain::incident::{
    DUPLICATE_WINDOW_MINUTES, Disposition, DuplicateCandidate, Incident, IncidentStatus, Intake,
    likely_duplicate,
};
use precinct_domain::unit::{NewUnit, Unit, UnitStatus};
use precinct_domain::{Coordinates, Timestamp};
use precinct_geo::cell_key;
use precinct_storage::apply::{Arrival, TaskStep, WriteTx};
use precinct_storage::rows::{
    ASSIGNMENT_COLUMNS, CANDIDATE_COLUMNS, INCIDENT_COLUMNS, UNIT_COLUMNS, assignment_from_row,
    candidate_from_row, capabilities_text, duplicate_search_cells, incident_from_row, ms,
    unit_from_row,
};
use precinct_storage::{IntakeOutcome, StoreError, StoreResult};
use tokio_postgres::types::ToSql;

type Params<'a> = &'a [&'a (dyn ToSql + Sync)];

async fn query(
    client: &ClientWrapper,
    sql: &str,
    params: Params<'_>,
) -> StoreResult<Vec<tokio_postgres::Row>> {
    let statement = client.prepare_cached(sql).await.map_err(store_error)?;
    client.query(&statement, params).await.map_err(store_error)
}

async fn execute(client: &ClientWrapper, sql: &str, params: Params<'_>) -> StoreResult<u64> {
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

async fn with_assignments(client: &ClientWrapper, mut incident: Incident) -> StoreResult<Incident> {
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
    ctx: &mut WriteCtx,
    units: Vec<NewUnit>,
) -> StoreResult<Vec<Unit>> {
    let mut created = Vec::with_capacity(units.len());
    for unit in units {
        let rows = query(
            &ctx.client,
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
                &unit.position.map(|_| ms(ctx.now)),
                &i64::from(unit.member_count),
                &unit.property_company_id.map(|p| p.0),
            ],
        )
        .await
        .map_err(|e| match e {
            StoreError::Conflict(_) => StoreError::Conflict(format!("call sign {} is taken", unit.call_sign)),
            other => other,
        })?;
        created.push(load_unit(&ctx.client, UnitId(rows[0].get(0))).await?);
    }
    Ok(created)
}

/// PostgreSQL's primitives for the shared write rules (`precinct_storage::apply`).
impl WriteTx for WriteCtx {
    fn now(&self) -> Timestamp {
        self.now
    }

    async fn load_unit(&mut self, id: UnitId) -> StoreResult<Unit> {
        load_unit(&self.client, id).await
    }

    async fn load_incident(&mut self, id: IncidentId) -> StoreResult<Incident> {
        load_incident(&self.client, id).await
    }

    async fn set_unit_status(
        &mut self,
        id: UnitId,
        status: UnitStatus,
        incident: Option<IncidentId>,
    ) -> StoreResult<()> {
        let sql = "UPDATE units SET status = $1, incident_id = $2 WHERE id = $3";
        execute(
            &self.client,
            sql,
            &[&status.as_str(), &incident.map(|i| i.0), &id.0],
        )
        .await
        .map(drop)
    }

    async fn set_unit_position(&mut self, id: UnitId, position: Coordinates) -> StoreResult<()> {
        let sql = "UPDATE units SET lat = $1, lon = $2, position_at = $3 WHERE id = $4";
        execute(
            &self.client,
            sql,
            &[&position.lat(), &position.lon(), &ms(self.now), &id.0],
        )
        .await
        .map(drop)
    }

    async fn set_unit_incident(&mut self, id: UnitId, incident: IncidentId) -> StoreResult<()> {
        execute(
            &self.client,
            "UPDATE units SET incident_id = $1 WHERE id = $2",
            &[&incident.0, &id.0],
        )
        .await
        .map(drop)
    }

    async fn add_assignment(
        &mut self,
        incident: IncidentId,
        unit: UnitId,
        police: bool,
    ) -> StoreResult<()> {
        let sql = "INSERT INTO assignments (incident_id, unit_id, police, assigned_at) VALUES ($1, $2, $3, $4)";
        execute(
            &self.client,
            sql,
            &[&incident.0, &unit.0, &police, &ms(self.now)],
        )
        .await
        .map(drop)
    }

    async fn release_assignments(
        &mut self,
        incident: IncidentId,
        unit: Option<UnitId>,
    ) -> StoreResult<()> {
        let sql = "UPDATE assignments SET released_at = $1 WHERE incident_id = $2 \
                   AND ($3::BIGINT IS NULL OR unit_id = $3) AND released_at IS NULL";
        execute(
            &self.client,
            sql,
            &[&ms(self.now), &incident.0, &unit.map(|u| u.0)],
        )
        .await
        .map(drop)
    }

    async fn move_assignment(
        &mut self,
        from: IncidentId,
        to: IncidentId,
        unit: UnitId,
    ) -> StoreResult<()> {
        let sql = "UPDATE assignments SET incident_id = $1 WHERE incident_id = $2 AND unit_id = $3 AND released_at IS NULL";
        execute(&self.client, sql, &[&to.0, &from.0, &unit.0])
            .await
            .map(drop)
    }

    async fn close_segment(
        &mut self,
        segment: u32,
        by: &str,
        reason: Option<&str>,
    ) -> StoreResult<()> {
        let sql = "INSERT INTO road_closures (segment, closed_at, closed_by, reason) VALUES ($1, $2, $3, $4) \
                   ON CONFLICT (segment) DO UPDATE SET reason = EXCLUDED.reason";
        execute(
            &self.client,
            sql,
            &[&i64::from(segment), &ms(self.now), &by, &reason],
        )
        .await
        .map(drop)
    }

    async fn reopen_segment(&mut self, segment: u32) -> StoreResult<()> {
        execute(
            &self.client,
            "DELETE FROM road_closures WHERE segment = $1",
            &[&i64::from(segment)],
        )
        .await
        .map(drop)
    }

    async fn stamp_task(
        &mut self,
        incident: IncidentId,
        unit: UnitId,
        step: TaskStep,
    ) -> StoreResult<()> {
        let sql = match step {
            TaskStep::Accepted => {
                "UPDATE assignments SET accepted_at = COALESCE(accepted_at, $1) \
                 WHERE incident_id = $2 AND unit_id = $3 AND released_at IS NULL"
            }
            TaskStep::HandedOver => {
                "UPDATE assignments SET handed_over_at = COALESCE(handed_over_at, $1) \
                 WHERE incident_id = $2 AND unit_id = $3 AND released_at IS NULL"
            }
        };
        execute(&self.client, sql, &[&ms(self.now), &incident.0, &unit.0])
            .await
            .map(drop)
    }

    async fn record_arrival(
        &mut self,
        incident: IncidentId,
        unit: UnitId,
        kind: Arrival,
    ) -> StoreResult<()> {
        let now = ms(self.now);
        let sql = "UPDATE assignments SET arrived_at = COALESCE(arrived_at, $1) \
                   WHERE incident_id = $2 AND unit_id = $3 AND released_at IS NULL";
        execute(&self.client, sql, &[&now, &incident.0, &unit.0]).await?;
        let sql = match kind {
            Arrival::Police => {
                "UPDATE incidents SET first_police_on_scene_at = COALESCE(first_police_on_scene_at, $1) WHERE id = $2"
            }
            Arrival::Helper => {
                "UPDATE incidents SET first_helper_on_scene_at = COALESCE(first_helper_on_scene_at, $1) WHERE id = $2"
            }
        };
        execute(&self.client, sql, &[&now, &incident.0])
            .await
            .map(drop)
    }

    async fn set_incident_status(
        &mut self,
        id: IncidentId,
        status: IncidentStatus,
    ) -> StoreResult<()> {
        let sql = match status {
            // No transition leads back to received; kept total for the match.
            IncidentStatus::Received => {
                "UPDATE incidents SET status = $1 WHERE id = $3 AND $2::BIGINT IS NOT NULL"
            }
            IncidentStatus::Dispatched => {
                "UPDATE incidents SET status = $1, dispatched_at = COALESCE(dispatched_at, $2) WHERE id = $3"
            }
            IncidentStatus::OnScene => {
                "UPDATE incidents SET status = $1, first_on_scene_at = COALESCE(first_on_scene_at, $2) WHERE id = $3"
            }
            IncidentStatus::Closed => {
                "UPDATE incidents SET status = $1, closed_at = COALESCE(closed_at, $2) WHERE id = $3"
            }
        };
        execute(&self.client, sql, &[&status.as_str(), &ms(self.now), &id.0])
            .await
            .map(drop)
    }

    async fn set_disposition(
        &mut self,
        id: IncidentId,
        disposition: Disposition,
        remark: Option<&str>,
    ) -> StoreResult<()> {
        let sql = "UPDATE incidents SET disposition = $1, closing_remark = $2 WHERE id = $3";
        execute(&self.client, sql, &[&disposition.as_str(), &remark, &id.0])
            .await
            .map(drop)
    }

    async fn set_merged_into(&mut self, id: IncidentId, into: IncidentId) -> StoreResult<()> {
        execute(
            &self.client,
            "UPDATE incidents SET merged_into = $1 WHERE id = $2",
            &[&into.0, &id.0],
        )
        .await
        .map(drop)
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

/// What a report in an intake run turned out to be.
enum Decision {
    /// The same instruction is already stored.
    Existing(IncidentId),
    /// The same instruction came earlier in this run (its index).
    SameAsEarlier(usize),
    /// A new incident, possibly linked to an earlier primary report.
    New {
        id: IncidentId,
        duplicate: Option<(IncidentId, f64)>,
    },
}

const NEW_IDS_SQL: &str =
    "SELECT nextval(pg_get_serial_sequence('incidents', 'id')) FROM generate_series(1, $1::BIGINT)";
const NEW_EVENT_IDS_SQL: &str =
    "SELECT nextval(pg_get_serial_sequence('events', 'id')) FROM generate_series(1, $1::BIGINT)";
const EXISTING_SQL: &str = "SELECT i.source, i.external_id, i.id FROM incidents i \
     JOIN UNNEST($1::TEXT[], $2::TEXT[]) AS k(source, external_id) \
     ON i.source = k.source AND i.external_id = k.external_id";
const INSERT_INCIDENTS_SQL: &str = "INSERT INTO incidents (id, source, external_id, category, family, priority, \
     lat, lon, cell, zone_id, community_id, grid_cell_id, address, caller_name, caller_phone, summary, reported_at, \
     duplicate_of, status, received_at) SELECT u.*, 'received', $19 FROM UNNEST($1::BIGINT[], $2::TEXT[], \
     $3::TEXT[], $4::TEXT[], $5::TEXT[], $6::BIGINT[], $7::FLOAT8[], $8::FLOAT8[], $9::BIGINT[], $10::BIGINT[], \
     $11::BIGINT[], $12::BIGINT[], $13::TEXT[], $14::TEXT[], $15::TEXT[], $16::TEXT[], $17::BIGINT[], \
     $18::BIGINT[]) AS u";
const INSERT_EVENTS_SQL: &str = "INSERT INTO events (id, actor_user_id, actor_name, incident_id, kind, data, at) \
     SELECT u.*, $7 FROM UNNEST($1::BIGINT[], $2::BIGINT[], $3::TEXT[], $4::BIGINT[], $5::TEXT[], $6::TEXT[]) AS u";

/// Takes in a run of reports together, with the same rules as one-by-one
/// intake, in a fixed number of statements whatever the run's length.
///
/// Round one (pipelined reads): ids for the new incidents and their events,
/// every external-id lookup in one query, and every report's duplicate
/// candidates in one query (probed per report, cell and window; the domain's
/// rule then picks exactly among them).
/// Then the reports are decided in memory, in arrival order, so a later
/// report sees the earlier ones of the same run. Round two (pipelined
/// writes): all incidents in one multi-row insert, all events in another.
/// Ids are taken under the writers' lock, so they still follow commit
/// order; ids left unused only leave gaps. Any database error fails the
/// whole run (and its batch).
pub(crate) async fn intake_run(
    ctx: &mut WriteCtx,
    run: Vec<(Intake, Actor)>,
) -> StoreResult<Vec<IntakeOutcome>> {
    let window = Duration::minutes(DUPLICATE_WINDOW_MINUTES);
    // One probe key per report and nearby cell: (cell, family, window).
    // LATERAL with OFFSET 0 keeps PostgreSQL from turning the probes into a
    // hash join over the whole table: each key is one index range scan.
    let candidate_sql = format!(
        "SELECT DISTINCT c.* FROM UNNEST($1::BIGINT[], $2::TEXT[], $3::BIGINT[], $4::BIGINT[]) \
         AS k(cell, family, from_ms, to_ms), LATERAL (SELECT {CANDIDATE_COLUMNS} FROM incidents \
         WHERE cell = k.cell AND family = k.family AND reported_at BETWEEN k.from_ms AND k.to_ms \
         AND merged_into IS NULL AND duplicate_of IS NULL OFFSET 0) AS c"
    );
    let client = &ctx.client;
    let count = run.len() as i64;
    let event_count = 2 * count;
    let (keyed_sources, keyed_ids): (Vec<&str>, Vec<&str>) = run
        .iter()
        .filter_map(|(i, _)| i.external_id.as_deref().map(|e| (i.source.as_str(), e)))
        .unzip();
    let (mut probe_cells, mut probe_families) = (Vec::new(), Vec::new());
    let (mut probe_from, mut probe_to) = (Vec::new(), Vec::new());
    for (intake, _) in &run {
        let (from, to) = (
            ms(intake.reported_at - window),
            ms(intake.reported_at + window),
        );
        for cell in duplicate_search_cells(intake.location) {
            probe_cells.push(cell);
            probe_families.push(intake.category.family().as_str());
            probe_from.push(from);
            probe_to.push(to);
        }
    }

    let (new_ids, event_ids, existing_rows, candidate_rows) = tokio::try_join!(
        async {
            let statement = client.prepare_cached(NEW_IDS_SQL).await?;
            client.query(&statement, &[&count]).await
        },
        async {
            let statement = client.prepare_cached(NEW_EVENT_IDS_SQL).await?;
            client.query(&statement, &[&event_count]).await
        },
        async {
            if keyed_ids.is_empty() {
                Ok(Vec::new())
            } else {
                let statement = client.prepare_cached(EXISTING_SQL).await?;
                client
                    .query(&statement, &[&keyed_sources, &keyed_ids])
                    .await
            }
        },
        async {
            let statement = client.prepare_cached(&candidate_sql).await?;
            client
                .query(
                    &statement,
                    &[&probe_cells, &probe_families, &probe_from, &probe_to],
                )
                .await
        },
    )
    .map_err(store_error)?;
    let new_ids: Vec<i64> = new_ids.iter().map(|r| r.get(0)).collect();
    let mut event_ids = event_ids.iter().map(|r| r.get::<_, i64>(0));
    let existing: Vec<(String, String, i64)> = existing_rows
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect();
    let mut candidates = map_rows(&candidate_rows, candidate_from_row)?;

    // Decisions, in arrival order.
    let mut decisions = Vec::with_capacity(run.len());
    for (k, (intake, _)) in run.iter().enumerate() {
        let stored = intake.external_id.as_ref().and_then(|external_id| {
            existing
                .iter()
                .find(|(s, e, _)| s == intake.source.as_str() && e == external_id)
                .map(|x| x.2)
        });
        let earlier = run[..k].iter().position(|(other, _)| {
            intake.external_id.is_some()
                && other.source == intake.source
                && other.external_id == intake.external_id
        });
        let decision = match (stored, earlier) {
            (Some(id), _) => Decision::Existing(IncidentId(id)),
            (None, Some(j)) => Decision::SameAsEarlier(j),
            (None, None) => {
                let duplicate = likely_duplicate(intake, &candidates)
                    .map(|d| (d.id, d.location.distance_m(intake.location)));
                let id = IncidentId(new_ids[k]);
                if duplicate.is_none() {
                    // A new primary report: later reports in this run may link to it.
                    candidates.push(DuplicateCandidate {
                        id,
                        category: intake.category,
                        location: intake.location,
                        reported_at: intake.reported_at.trunc_subsecs(3),
                    });
                }
                Decision::New { id, duplicate }
            }
        };
        decisions.push(decision);
    }

    // Round two: the rows to write, column by column, and the events in order.
    let mut rows = IncidentColumns::default();
    let mut events: Vec<Event> = Vec::new();
    for ((intake, actor), decision) in run.iter().zip(&decisions) {
        let Decision::New { id, duplicate } = decision else {
            continue;
        };
        rows.push(*id, intake, duplicate.map(|d| d.0));
        let mut kinds = vec![EventKind::IncidentReceived {
            source: intake.source,
            external_id: intake.external_id.clone(),
            category: intake.category,
            priority: intake.priority,
            location: intake.location,
            address: intake.address.clone(),
            summary: intake.summary.clone(),
        }];
        if let Some((duplicate_of, distance_m)) = duplicate {
            kinds.push(EventKind::DuplicateLinked {
                duplicate_of: *duplicate_of,
                distance_m: distance_m.round(),
            });
        }
        for kind in kinds {
            let event_id = event_ids
                .next()
                .ok_or_else(|| StoreError::Other("intake run: too few event ids".into()))?;
            let new_event = precinct_domain::event::NewEvent {
                at: ctx.now,
                actor: actor.clone(),
                incident_id: Some(*id),
                unit_id: None,
                kind,
            };
            events.push(new_event.committed(precinct_domain::ids::EventId(event_id)));
        }
    }
    if !events.is_empty() {
        let event_columns = EventColumns::of(&events)?;
        let now = ms(ctx.now);
        tokio::try_join!(
            async {
                let statement = client.prepare_cached(INSERT_INCIDENTS_SQL).await?;
                client.execute(&statement, &rows.params(&now)).await
            },
            async {
                let statement = client.prepare_cached(INSERT_EVENTS_SQL).await?;
                client
                    .execute(&statement, &event_columns.params(&now))
                    .await
            },
        )
        .map_err(store_error)?;
    }

    // Outcomes, in order; already-stored instructions are read back.
    let mut outcomes: Vec<IntakeOutcome> = Vec::with_capacity(run.len());
    for ((intake, _), decision) in run.into_iter().zip(decisions) {
        let outcome = match decision {
            Decision::Existing(id) => IntakeOutcome {
                incident: load_incident(&ctx.client, id).await?,
                created: false,
            },
            Decision::SameAsEarlier(j) => IntakeOutcome {
                incident: outcomes[j].incident.clone(),
                created: false,
            },
            Decision::New { id, duplicate } => IntakeOutcome {
                incident: intake.into_incident(id, ctx.now, duplicate.map(|d| d.0)),
                created: true,
            },
        };
        outcomes.push(outcome);
    }
    for event in events {
        ctx.push_event(event);
    }
    Ok(outcomes)
}

/// New incidents as one array per column, for a multi-row insert.
#[derive(Default)]
struct IncidentColumns {
    id: Vec<i64>,
    source: Vec<&'static str>,
    external_id: Vec<Option<String>>,
    category: Vec<&'static str>,
    family: Vec<&'static str>,
    priority: Vec<i64>,
    lat: Vec<f64>,
    lon: Vec<f64>,
    cell: Vec<i64>,
    zone_id: Vec<Option<i64>>,
    community_id: Vec<Option<i64>>,
    grid_cell_id: Vec<Option<i64>>,
    address: Vec<String>,
    caller_name: Vec<Option<String>>,
    caller_phone: Vec<Option<String>>,
    summary: Vec<String>,
    reported_at: Vec<i64>,
    duplicate_of: Vec<Option<i64>>,
}

impl IncidentColumns {
    fn push(&mut self, id: IncidentId, intake: &Intake, duplicate_of: Option<IncidentId>) {
        self.id.push(id.0);
        self.source.push(intake.source.as_str());
        self.external_id.push(intake.external_id.clone());
        self.category.push(intake.category.as_str());
        self.family.push(intake.category.family().as_str());
        self.priority.push(i64::from(intake.priority.get()));
        self.lat.push(intake.location.lat());
        self.lon.push(intake.location.lon());
        self.cell.push(cell_key(intake.location));
        self.zone_id.push(intake.resolution.zone_id.map(|z| z.0));
        self.community_id
            .push(intake.resolution.community_id.map(|c| c.0));
        self.grid_cell_id
            .push(intake.resolution.grid_cell_id.map(|g| g.0));
        self.address.push(intake.address.clone());
        self.caller_name.push(intake.caller.name.clone());
        self.caller_phone
            .push(intake.caller.phone.as_ref().map(|p| p.as_str().to_owned()));
        self.summary.push(intake.summary.clone());
        self.reported_at.push(ms(intake.reported_at));
        self.duplicate_of.push(duplicate_of.map(|d| d.0));
    }

    fn params<'a>(&'a self, received_at: &'a i64) -> [&'a (dyn ToSql + Sync); 19] {
        [
            &self.id,
            &self.source,
            &self.external_id,
            &self.category,
            &self.family,
            &self.priority,
            &self.lat,
            &self.lon,
            &self.cell,
            &self.zone_id,
            &self.community_id,
            &self.grid_cell_id,
            &self.address,
            &self.caller_name,
            &self.caller_phone,
            &self.summary,
            &self.reported_at,
            &self.duplicate_of,
            received_at,
        ]
    }
}

/// Events as one array per column, for a multi-row insert.
struct EventColumns {
    id: Vec<i64>,
    actor_user_id: Vec<Option<i64>>,
    actor_name: Vec<String>,
    incident_id: Vec<Option<i64>>,
    kind: Vec<&'static str>,
    data: Vec<String>,
}

impl EventColumns {
    fn of(events: &[Event]) -> StoreResult<EventColumns> {
        Ok(EventColumns {
            id: events.iter().map(|e| e.id.0).collect(),
            actor_user_id: events
                .iter()
                .map(|e| e.actor.user_id.map(|u| u.0))
                .collect(),
            actor_name: events.iter().map(|e| e.actor.name.clone()).collect(),
            incident_id: events.iter().map(|e| e.incident_id.map(|i| i.0)).collect(),
            kind: events.iter().map(|e| e.kind.name()).collect(),
            data: events
                .iter()
                .map(|e| precinct_storage::rows::event_data(&e.kind))
                .collect::<StoreResult<_>>()?,
        })
    }

    fn params<'a>(&'a self, at: &'a i64) -> [&'a (dyn ToSql + Sync); 7] {
        [
            &self.id,
            &self.actor_user_id,
            &self.actor_name,
            &self.incident_id,
            &self.kind,
            &self.data,
            at,
        ]
    }
}
