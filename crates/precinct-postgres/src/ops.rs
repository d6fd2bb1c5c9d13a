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
    check_merge, checked_text, likely_duplicate,
};
use precinct_domain::unit::{NewUnit, Unit, UnitStatus};
use precinct_domain::{Coordinates, DomainError, Timestamp};
use precinct_geo::cell_key;
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

async fn set_unit_status(
    ctx: &mut WriteCtx,
    unit: &Unit,
    to: UnitStatus,
    incident: Option<IncidentId>,
    actor: &Actor,
) -> StoreResult<()> {
    execute(
        &ctx.client,
        "UPDATE units SET status = $1, incident_id = $2 WHERE id = $3",
        &[&to.as_str(), &incident.map(|i| i.0), &unit.id.0],
    )
    .await?;
    let event_incident = incident.or(unit.incident_id);
    ctx.emit(
        actor,
        event_incident,
        Some(unit.id),
        EventKind::UnitStatusChanged {
            from: unit.status,
            to,
        },
    )
    .await?;
    Ok(())
}

async fn set_incident_status(
    ctx: &mut WriteCtx,
    incident: &Incident,
    to: IncidentStatus,
    actor: &Actor,
) -> StoreResult<()> {
    incident.status.transition(to)?;
    let column = match to {
        IncidentStatus::Dispatched => "dispatched_at",
        IncidentStatus::OnScene => "first_on_scene_at",
        IncidentStatus::Closed => "closed_at",
        IncidentStatus::Received => unreachable!("no transition leads back to received"),
    };
    execute(
        &ctx.client,
        &format!(
            "UPDATE incidents SET status = $1, {column} = COALESCE({column}, $2) WHERE id = $3"
        ),
        &[&to.as_str(), &ms(ctx.now), &incident.id.0],
    )
    .await?;
    if to != IncidentStatus::Closed {
        ctx.emit(
            actor,
            Some(incident.id),
            None,
            EventKind::IncidentStatusChanged {
                from: incident.status,
                to,
            },
        )
        .await?;
    }
    Ok(())
}

pub(crate) async fn dispatch(
    ctx: &mut WriteCtx,
    id: IncidentId,
    unit_ids: Vec<UnitId>,
    actor: Actor,
) -> StoreResult<Incident> {
    if unit_ids.is_empty() {
        return Err(DomainError::invalid("unit_ids", "name at least one unit").into());
    }
    let mut seen = unit_ids.clone();
    seen.sort();
    seen.dedup();
    if seen.len() != unit_ids.len() {
        return Err(DomainError::invalid("unit_ids", "a unit is named twice").into());
    }
    let incident = load_incident(&ctx.client, id).await?;
    if !incident.status.is_open() {
        return Err(DomainError::IncidentClosed { incident: id.0 }.into());
    }
    let mut units = Vec::with_capacity(unit_ids.len());
    for &unit in &unit_ids {
        units.push(load_unit(&ctx.client, unit).await?);
    }
    if let Some(busy) = units
        .iter()
        .find(|u| !u.status.can_be_dispatched() || u.incident_id.is_some())
    {
        return Err(DomainError::UnitUnavailable {
            unit: busy.id.0,
            status: busy.status.as_str(),
        }
        .into());
    }
    ctx.emit(
        &actor,
        Some(id),
        None,
        EventKind::UnitsDispatched {
            unit_ids: unit_ids.clone(),
        },
    )
    .await?;
    for unit in &units {
        execute(
            &ctx.client,
            "INSERT INTO assignments (incident_id, unit_id, police, assigned_at) VALUES ($1, $2, $3, $4)",
            &[&id.0, &unit.id.0, &unit.kind.is_police(), &ms(ctx.now)],
        )
        .await?;
        set_unit_status(ctx, unit, UnitStatus::Dispatched, Some(id), &actor).await?;
    }
    if incident.status == IncidentStatus::Received {
        set_incident_status(ctx, &incident, IncidentStatus::Dispatched, &actor).await?;
    }
    load_incident(&ctx.client, id).await
}

pub(crate) async fn update_unit_status(
    ctx: &mut WriteCtx,
    id: UnitId,
    to: UnitStatus,
    actor: Actor,
) -> StoreResult<Unit> {
    let unit = load_unit(&ctx.client, id).await?;
    unit.status.reported_change(to)?;
    let releases = matches!(
        to,
        UnitStatus::OnPatrol | UnitStatus::AtPost | UnitStatus::OffDuty
    );
    let keeps_incident = if releases { None } else { unit.incident_id };
    set_unit_status(ctx, &unit, to, keeps_incident, &actor).await?;
    if let Some(incident_id) = unit.incident_id {
        if to == UnitStatus::OnScene {
            record_arrival(ctx, incident_id, &unit, &actor).await?;
        }
        if releases {
            execute(
                &ctx.client,
                "UPDATE assignments SET released_at = $1 WHERE incident_id = $2 AND unit_id = $3 AND released_at IS NULL",
                &[&ms(ctx.now), &incident_id.0, &unit.id.0],
            )
            .await?;
        }
    }
    load_unit(&ctx.client, id).await
}

async fn record_arrival(
    ctx: &mut WriteCtx,
    incident_id: IncidentId,
    unit: &Unit,
    actor: &Actor,
) -> StoreResult<()> {
    let now = ms(ctx.now);
    execute(
        &ctx.client,
        "UPDATE assignments SET arrived_at = COALESCE(arrived_at, $1) \
         WHERE incident_id = $2 AND unit_id = $3 AND released_at IS NULL",
        &[&now, &incident_id.0, &unit.id.0],
    )
    .await?;
    let column = if unit.kind.is_police() {
        "first_police_on_scene_at"
    } else {
        "first_helper_on_scene_at"
    };
    execute(
        &ctx.client,
        &format!("UPDATE incidents SET {column} = COALESCE({column}, $1) WHERE id = $2"),
        &[&now, &incident_id.0],
    )
    .await?;
    let incident = load_incident(&ctx.client, incident_id).await?;
    if incident.status == IncidentStatus::Dispatched {
        set_incident_status(ctx, &incident, IncidentStatus::OnScene, actor).await?;
    }
    Ok(())
}

pub(crate) async fn report_unit_position(
    ctx: &mut WriteCtx,
    id: UnitId,
    position: Coordinates,
    actor: Actor,
) -> StoreResult<Unit> {
    let unit = load_unit(&ctx.client, id).await?;
    execute(
        &ctx.client,
        "UPDATE units SET lat = $1, lon = $2, position_at = $3 WHERE id = $4",
        &[&position.lat(), &position.lon(), &ms(ctx.now), &id.0],
    )
    .await?;
    ctx.emit(
        &actor,
        unit.incident_id,
        Some(id),
        EventKind::UnitPositionReported { position },
    )
    .await?;
    load_unit(&ctx.client, id).await
}

pub(crate) async fn add_note(
    ctx: &mut WriteCtx,
    id: IncidentId,
    text: String,
    actor: Actor,
) -> StoreResult<Event> {
    let text = checked_text("text", &text, 2000)?;
    load_incident(&ctx.client, id).await?;
    ctx.emit(&actor, Some(id), None, EventKind::NoteAdded { text })
        .await
}

async fn release_units(ctx: &mut WriteCtx, incident: &Incident, actor: &Actor) -> StoreResult<()> {
    for assignment in incident
        .assignments
        .iter()
        .filter(|a| a.released_at.is_none())
    {
        let unit = load_unit(&ctx.client, assignment.unit_id).await?;
        if unit.incident_id == Some(incident.id) && unit.status.is_engaged() {
            let to = unit.status.reported_change(UnitStatus::OnPatrol)?;
            set_unit_status(ctx, &unit, to, None, actor).await?;
        }
    }
    execute(
        &ctx.client,
        "UPDATE assignments SET released_at = $1 WHERE incident_id = $2 AND released_at IS NULL",
        &[&ms(ctx.now), &incident.id.0],
    )
    .await?;
    Ok(())
}

pub(crate) async fn close_incident(
    ctx: &mut WriteCtx,
    id: IncidentId,
    disposition: Disposition,
    remark: Option<String>,
    actor: Actor,
) -> StoreResult<Incident> {
    let disposition = disposition.chosen_by_user()?;
    let remark = remark
        .map(|r| checked_text("remark", &r, 2000))
        .transpose()?;
    let incident = load_incident(&ctx.client, id).await?;
    set_incident_status(ctx, &incident, IncidentStatus::Closed, &actor).await?;
    execute(
        &ctx.client,
        "UPDATE incidents SET disposition = $1, closing_remark = $2 WHERE id = $3",
        &[&disposition.as_str(), &remark, &id.0],
    )
    .await?;
    ctx.emit(
        &actor,
        Some(id),
        None,
        EventKind::IncidentClosed {
            disposition,
            remark,
        },
    )
    .await?;
    release_units(ctx, &incident, &actor).await?;
    load_incident(&ctx.client, id).await
}

pub(crate) async fn merge_incidents(
    ctx: &mut WriteCtx,
    duplicate_id: IncidentId,
    into_id: IncidentId,
    actor: Actor,
) -> StoreResult<Incident> {
    let duplicate = load_incident(&ctx.client, duplicate_id).await?;
    let into = load_incident(&ctx.client, into_id).await?;
    check_merge(&duplicate, &into)?;
    ctx.emit(
        &actor,
        Some(into_id),
        None,
        EventKind::IncidentsMerged {
            duplicate_id,
            into_id,
        },
    )
    .await?;
    let moved: Vec<UnitId> = duplicate
        .assignments
        .iter()
        .filter(|a| a.released_at.is_none())
        .map(|a| a.unit_id)
        .collect();
    for &unit_id in &moved {
        execute(
            &ctx.client,
            "UPDATE assignments SET incident_id = $1 WHERE incident_id = $2 AND unit_id = $3 AND released_at IS NULL",
            &[&into_id.0, &duplicate_id.0, &unit_id.0],
        )
        .await?;
        execute(
            &ctx.client,
            "UPDATE units SET incident_id = $1 WHERE id = $2",
            &[&into_id.0, &unit_id.0],
        )
        .await?;
    }
    if !moved.is_empty() && into.status == IncidentStatus::Received {
        set_incident_status(ctx, &into, IncidentStatus::Dispatched, &actor).await?;
    }
    set_incident_status(ctx, &duplicate, IncidentStatus::Closed, &actor).await?;
    execute(
        &ctx.client,
        "UPDATE incidents SET disposition = $1, merged_into = $2 WHERE id = $3",
        &[
            &Disposition::MergedAsDuplicate.as_str(),
            &into_id.0,
            &duplicate_id.0,
        ],
    )
    .await?;
    ctx.emit(
        &actor,
        Some(duplicate_id),
        None,
        EventKind::IncidentClosed {
            disposition: Disposition::MergedAsDuplicate,
            remark: None,
        },
    )
    .await?;
    load_incident(&ctx.client, into_id).await
}

/// The incident an intake just created, built from what was written rather
/// than read back (intake is the hottest write path; the suite checks it
/// equals a fresh read).
fn new_incident(
    id: IncidentId,
    intake: Intake,
    received_at: Timestamp,
    duplicate_of: Option<IncidentId>,
) -> Incident {
    Incident {
        id,
        source: intake.source,
        external_id: intake.external_id,
        category: intake.category,
        priority: intake.priority,
        status: IncidentStatus::Received,
        disposition: None,
        closing_remark: None,
        location: intake.location,
        resolution: intake.resolution,
        address: intake.address,
        caller: intake.caller,
        summary: intake.summary,
        reported_at: intake.reported_at.trunc_subsecs(3),
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

/// Takes in a run of reports together, with the same rules as one-by-one
/// intake. Every read goes out in one pipelined round: the new ids, each
/// report's external-id lookup and its duplicate candidates. Then the reports
/// are decided in memory, in arrival order, so a later report sees the
/// earlier ones of the same run. Every write goes out in a second round.
/// One writer connection thus pays two round trips per batch, not several
/// per report. Any database error fails the whole run (and its batch).
pub(crate) async fn intake_run(
    ctx: &mut WriteCtx,
    run: Vec<(Intake, Actor)>,
) -> StoreResult<Vec<IntakeOutcome>> {
    let window = Duration::minutes(DUPLICATE_WINDOW_MINUTES);
    let candidate_sql = format!(
        "SELECT {CANDIDATE_COLUMNS} FROM incidents WHERE family = $1 AND cell = ANY($4) \
         AND reported_at BETWEEN $2 AND $3 AND merged_into IS NULL AND duplicate_of IS NULL"
    );
    let client = &ctx.client;
    let ids_sql = "SELECT nextval(pg_get_serial_sequence('incidents', 'id')) FROM generate_series(1, $1::BIGINT)";
    let statements = tokio::try_join!(
        client.prepare_cached(ids_sql),
        client.prepare_cached("SELECT id FROM incidents WHERE source = $1 AND external_id = $2"),
        client.prepare_cached(&candidate_sql),
    )
    .map_err(store_error)?;
    let (ids_statement, external_statement, candidate_statement) = statements;

    // Round one: reads.
    let count = run.len() as i64;
    let cells: Vec<[i64; 9]> = run
        .iter()
        .map(|(i, _)| duplicate_search_cells(i.location))
        .collect();
    let windows: Vec<(i64, i64)> = run
        .iter()
        .map(|(i, _)| (ms(i.reported_at - window), ms(i.reported_at + window)))
        .collect();
    let families: Vec<&str> = run
        .iter()
        .map(|(i, _)| i.category.family().as_str())
        .collect();
    let sources: Vec<&str> = run.iter().map(|(i, _)| i.source.as_str()).collect();
    type Read<'a> = BoxedQuery<'a, Vec<tokio_postgres::Row>>;
    let mut reads: Vec<Read<'_>> = Vec::with_capacity(run.len() * 2 + 1);
    let ids_statement = &ids_statement;
    reads.push(Box::pin(async move {
        client
            .query(ids_statement, &[&count])
            .await
            .map_err(store_error)
    }));
    for (k, (intake, _)) in run.iter().enumerate() {
        if let Some(external_id) = &intake.external_id {
            let (statement, source) = (&external_statement, sources[k]);
            reads.push(Box::pin(async move {
                client
                    .query(statement, &[&source, external_id])
                    .await
                    .map_err(store_error)
            }));
        }
        let (statement, family, (from, to), cells) =
            (&candidate_statement, families[k], windows[k], &cells[k][..]);
        reads.push(Box::pin(async move {
            client
                .query(statement, &[&family, &from, &to, &cells])
                .await
                .map_err(store_error)
        }));
    }
    let mut results = futures_util::future::try_join_all(reads).await?.into_iter();
    let new_ids: Vec<i64> = results
        .next()
        .unwrap_or_default()
        .iter()
        .map(|r| r.get(0))
        .collect();

    // Decisions, in arrival order.
    let mut decisions = Vec::with_capacity(run.len());
    let mut primaries_in_run: Vec<DuplicateCandidate> = Vec::new();
    for (k, (intake, _)) in run.iter().enumerate() {
        let existing = match &intake.external_id {
            Some(_) => results
                .next()
                .unwrap_or_default()
                .first()
                .map(|row| IncidentId(row.get(0))),
            None => None,
        };
        let mut candidates = map_rows(&results.next().unwrap_or_default(), candidate_from_row)?;
        let earlier = run[..k].iter().position(|(other, _)| {
            intake.external_id.is_some()
                && other.source == intake.source
                && other.external_id == intake.external_id
        });
        let decision = match (existing, earlier) {
            (Some(id), _) => Decision::Existing(id),
            (None, Some(j)) => Decision::SameAsEarlier(j),
            (None, None) => {
                candidates.extend(primaries_in_run.iter().cloned());
                let duplicate = likely_duplicate(intake, &candidates)
                    .map(|d| (d.id, d.location.distance_m(intake.location)));
                let id = IncidentId(new_ids[k]);
                if duplicate.is_none() {
                    primaries_in_run.push(DuplicateCandidate {
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

    // Round two: writes (and reads of already-stored instructions), in order.
    let insert_incident = client
        .prepare_cached(
            "INSERT INTO incidents (id, source, external_id, category, family, priority, status, lat, lon, cell, \
             zone_id, community_id, grid_cell_id, address, caller_name, caller_phone, summary, reported_at, \
             received_at, duplicate_of) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, \
             $16, $17, $18, $19, $20)",
        )
        .await
        .map_err(store_error)?;
    let insert_event = client
        .prepare_cached(
            "INSERT INTO events (at, actor_user_id, actor_name, incident_id, unit_id, kind, data) \
             VALUES ($1, $2, $3, $4, NULL, $5, $6) RETURNING id",
        )
        .await
        .map_err(store_error)?;
    let now = ms(ctx.now);
    let received = IncidentStatus::Received.as_str();
    // Owned values the pipelined statements borrow.
    struct Row {
        priority: i64,
        cell: i64,
        phone: Option<String>,
        events: Vec<(EventKind, String, Option<i64>, IncidentId)>,
    }
    let mut prepared: Vec<Option<Row>> = Vec::with_capacity(run.len());
    for ((intake, actor), decision) in run.iter().zip(&decisions) {
        let Decision::New { id, duplicate } = decision else {
            prepared.push(None);
            continue;
        };
        let mut events = vec![EventKind::IncidentReceived {
            source: intake.source,
            external_id: intake.external_id.clone(),
            category: intake.category,
            priority: intake.priority,
            location: intake.location,
            address: intake.address.clone(),
            summary: intake.summary.clone(),
        }];
        if let Some((duplicate_of, distance_m)) = duplicate {
            events.push(EventKind::DuplicateLinked {
                duplicate_of: *duplicate_of,
                distance_m: distance_m.round(),
            });
        }
        let events = events
            .into_iter()
            .map(|kind| {
                let data = precinct_storage::rows::event_data(&kind)?;
                Ok((kind, data, actor.user_id.map(|u| u.0), *id))
            })
            .collect::<StoreResult<Vec<_>>>()?;
        prepared.push(Some(Row {
            priority: i64::from(intake.priority.get()),
            cell: cell_key(intake.location),
            phone: intake.caller.phone.as_ref().map(|p| p.as_str().to_owned()),
            events,
        }));
    }
    let mut writes: Vec<BoxedQuery<'_, WriteResult>> = Vec::new();
    for (k, ((intake, actor), decision)) in run.iter().zip(&decisions).enumerate() {
        match decision {
            Decision::Existing(id) => {
                let id = *id;
                writes.push(Box::pin(async move {
                    load_incident(client, id).await.map(WriteResult::Loaded)
                }));
            }
            Decision::SameAsEarlier(_) => {}
            Decision::New { id, duplicate } => {
                let row = prepared[k].as_ref().expect("prepared for new incidents");
                let (insert_incident, duplicate_of) = (&insert_incident, duplicate.map(|d| d.0.0));
                let id = id.0;
                writes.push(Box::pin(async move {
                    client
                        .execute(
                            insert_incident,
                            &[
                                &id,
                                &intake.source.as_str(),
                                &intake.external_id,
                                &intake.category.as_str(),
                                &intake.category.family().as_str(),
                                &row.priority,
                                &received,
                                &intake.location.lat(),
                                &intake.location.lon(),
                                &row.cell,
                                &intake.resolution.zone_id.map(|z| z.0),
                                &intake.resolution.community_id.map(|c| c.0),
                                &intake.resolution.grid_cell_id.map(|g| g.0),
                                &intake.address,
                                &intake.caller.name,
                                &row.phone,
                                &intake.summary,
                                &ms(intake.reported_at),
                                &now,
                                &duplicate_of,
                            ],
                        )
                        .await
                        .map(|_| WriteResult::Done)
                        .map_err(store_error)
                }));
                for (kind, data, user_id, incident) in &row.events {
                    let insert_event = &insert_event;
                    let name = kind.name();
                    let incident_id = incident.0;
                    writes.push(Box::pin(async move {
                        let rows = client
                            .query(
                                insert_event,
                                &[&now, user_id, &actor.name, &incident_id, &name, data],
                            )
                            .await
                            .map_err(store_error)?;
                        Ok(WriteResult::EventId(rows[0].get(0)))
                    }));
                }
            }
        }
    }
    let mut written = futures_util::future::try_join_all(writes)
        .await?
        .into_iter();

    // Outcomes, and the events to publish, in order.
    let mut outcomes: Vec<IntakeOutcome> = Vec::with_capacity(run.len());
    for (k, ((intake, actor), decision)) in run.into_iter().zip(decisions).enumerate() {
        let outcome = match decision {
            Decision::Existing(_) => match written.next() {
                Some(WriteResult::Loaded(incident)) => IntakeOutcome {
                    incident,
                    created: false,
                },
                _ => return Err(StoreError::Other("intake run: missing load".into())),
            },
            Decision::SameAsEarlier(j) => IntakeOutcome {
                incident: outcomes[j].incident.clone(),
                created: false,
            },
            Decision::New { id, duplicate } => {
                let _ = written.next(); // the incident row
                let row = prepared[k].take().expect("prepared for new incidents");
                for (kind, _, _, _) in row.events {
                    let Some(WriteResult::EventId(event_id)) = written.next() else {
                        return Err(StoreError::Other("intake run: missing event id".into()));
                    };
                    let event = precinct_domain::event::NewEvent {
                        at: ctx.now,
                        actor: actor.clone(),
                        incident_id: Some(id),
                        unit_id: None,
                        kind,
                    }
                    .committed(precinct_domain::ids::EventId(event_id));
                    ctx.push_event(event);
                }
                IntakeOutcome {
                    incident: new_incident(id, intake, ctx.now, duplicate.map(|d| d.0)),
                    created: true,
                }
            }
        };
        outcomes.push(outcome);
    }
    Ok(outcomes)
}

type BoxedQuery<'a, T> =
    std::pin::Pin<Box<dyn std::future::Future<Output = StoreResult<T>> + Send + 'a>>;

enum WriteResult {
    Done,
    EventId(i64),
    Loaded(Incident),
}
