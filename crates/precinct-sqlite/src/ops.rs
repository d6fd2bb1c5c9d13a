//! The write operations, each run by the writer thread inside one savepoint.
//! They read current state, ask the domain whether the change is legal,
//! write it and its events; an error anywhere rolls the whole operation back.

use crate::rows::{self, load_incident, load_unit, ms, store_error};
use crate::writer::WriteCtx;
use chrono::{Duration, SubsecRound};
use precinct_domain::event::{Actor, Event, EventKind};
use precinct_domain::ids::{IncidentId, UnitId};
use precinct_domain::incident::{
    DUPLICATE_WINDOW_MINUTES, Disposition, Incident, IncidentStatus, Intake, check_merge,
    checked_text, likely_duplicate,
};
use precinct_domain::unit::{NewUnit, Unit, UnitStatus};
use precinct_domain::{Coordinates, DomainError};
use precinct_geo::cell_key;
use precinct_storage::rows::{capabilities_text, duplicate_search_cells};
use precinct_storage::{IntakeOutcome, StoreError, StoreResult};
use rusqlite::{OptionalExtension, params};

pub(crate) fn create_units(ctx: &mut WriteCtx<'_>, units: Vec<NewUnit>) -> StoreResult<Vec<Unit>> {
    let mut created = Vec::with_capacity(units.len());
    for unit in units {
        ctx.conn
            .prepare_cached(
                "INSERT INTO units (call_sign, name, kind, home_post_id, zone_id, capabilities, status, lat, lon, \
                 position_at, member_count, property_company_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
            )
            .and_then(|mut s| {
                s.execute(params![
                    unit.call_sign,
                    unit.name,
                    unit.kind.as_str(),
                    unit.home_post_id.map(|p| p.0),
                    unit.zone_id.map(|z| z.0),
                    capabilities_text(&unit.capabilities),
                    unit.status.as_str(),
                    unit.position.map(|p| p.lat()),
                    unit.position.map(|p| p.lon()),
                    unit.position.map(|_| ms(ctx.now)),
                    unit.member_count,
                    unit.property_company_id.map(|p| p.0),
                ])
            })
            .map_err(|e| match store_error(e) {
                StoreError::Conflict(_) => StoreError::Conflict(format!("call sign {} is taken", unit.call_sign)),
                other => other,
            })?;
        created.push(load_unit(ctx.conn, UnitId(ctx.conn.last_insert_rowid()))?);
    }
    Ok(created)
}

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
                incident: load_incident(ctx.conn, IncidentId(id))?,
                created: false,
            });
        }
    }

    // Candidates: primary reports (not themselves duplicates) of the same
    // family in the time window, in the spatial cells around the radius; the
    // domain then applies the exact rule. Linking only to primary reports
    // keeps a burst of reports about one event from growing the candidate set.
    let window = Duration::minutes(DUPLICATE_WINDOW_MINUTES);
    // Always nine cell parameters (padded with repeats), so the statement is
    // prepared once and cached.
    let cells = duplicate_search_cells(intake.location);
    let candidates = rows::duplicate_candidates(
        ctx.conn,
        intake.category.family().as_str(),
        ms(intake.reported_at - window),
        ms(intake.reported_at + window),
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
            category: intake.category,
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
    let incident = Incident {
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
        received_at: ctx.now,
        dispatched_at: None,
        first_on_scene_at: None,
        first_police_on_scene_at: None,
        first_helper_on_scene_at: None,
        closed_at: None,
        duplicate_of: duplicate.map(|d| d.0),
        merged_into: None,
        assignments: Vec::new(),
    };
    Ok(IntakeOutcome {
        incident,
        created: true,
    })
}

fn set_unit_status(
    ctx: &mut WriteCtx<'_>,
    unit: &Unit,
    to: UnitStatus,
    incident: Option<IncidentId>,
    actor: &Actor,
) -> StoreResult<()> {
    ctx.conn
        .prepare_cached("UPDATE units SET status = ?1, incident_id = ?2 WHERE id = ?3")
        .and_then(|mut s| s.execute(params![to.as_str(), incident.map(|i| i.0), unit.id.0]))
        .map_err(store_error)?;
    // The event belongs to the incident the unit worked (or now works).
    let event_incident = incident.or(unit.incident_id);
    ctx.emit(
        actor,
        event_incident,
        Some(unit.id),
        EventKind::UnitStatusChanged {
            from: unit.status,
            to,
        },
    )?;
    Ok(())
}

fn set_incident_status(
    ctx: &mut WriteCtx<'_>,
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
    ctx.conn
        .execute(
            &format!(
                "UPDATE incidents SET status = ?1, {column} = COALESCE({column}, ?2) WHERE id = ?3"
            ),
            params![to.as_str(), ms(ctx.now), incident.id.0],
        )
        .map_err(store_error)?;
    if to != IncidentStatus::Closed {
        ctx.emit(
            actor,
            Some(incident.id),
            None,
            EventKind::IncidentStatusChanged {
                from: incident.status,
                to,
            },
        )?;
    }
    Ok(())
}

pub(crate) fn dispatch(
    ctx: &mut WriteCtx<'_>,
    id: IncidentId,
    unit_ids: Vec<UnitId>,
    actor: &Actor,
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
    let incident = load_incident(ctx.conn, id)?;
    if !incident.status.is_open() {
        return Err(DomainError::IncidentClosed { incident: id.0 }.into());
    }
    let units = unit_ids
        .iter()
        .map(|&u| load_unit(ctx.conn, u))
        .collect::<StoreResult<Vec<_>>>()?;
    // Check every unit before changing any: all or nothing.
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
        actor,
        Some(id),
        None,
        EventKind::UnitsDispatched {
            unit_ids: unit_ids.clone(),
        },
    )?;
    for unit in &units {
        ctx.conn
            .prepare_cached("INSERT INTO assignments (incident_id, unit_id, police, assigned_at) VALUES (?1, ?2, ?3, ?4)")
            .and_then(|mut s| s.execute(params![id.0, unit.id.0, unit.kind.is_police(), ms(ctx.now)]))
            .map_err(store_error)?;
        set_unit_status(ctx, unit, UnitStatus::Dispatched, Some(id), actor)?;
    }
    if incident.status == IncidentStatus::Received {
        set_incident_status(ctx, &incident, IncidentStatus::Dispatched, actor)?;
    }
    load_incident(ctx.conn, id)
}

pub(crate) fn update_unit_status(
    ctx: &mut WriteCtx<'_>,
    id: UnitId,
    to: UnitStatus,
    actor: &Actor,
) -> StoreResult<Unit> {
    let unit = load_unit(ctx.conn, id)?;
    unit.status.reported_change(to)?;
    let releases = matches!(
        to,
        UnitStatus::OnPatrol | UnitStatus::AtPost | UnitStatus::OffDuty
    );
    let keeps_incident = if releases { None } else { unit.incident_id };
    set_unit_status(ctx, &unit, to, keeps_incident, actor)?;

    if let Some(incident_id) = unit.incident_id {
        if to == UnitStatus::OnScene {
            record_arrival(ctx, incident_id, &unit, actor)?;
        }
        if releases {
            ctx.conn
                .prepare_cached(
                    "UPDATE assignments SET released_at = ?1 WHERE incident_id = ?2 AND unit_id = ?3 AND released_at IS NULL",
                )
                .and_then(|mut s| s.execute(params![ms(ctx.now), incident_id.0, unit.id.0]))
                .map_err(store_error)?;
        }
    }
    load_unit(ctx.conn, id)
}

/// A unit reached the scene: stamp its assignment and the incident's first
/// arrivals (police and first-response helpers separately).
fn record_arrival(
    ctx: &mut WriteCtx<'_>,
    incident_id: IncidentId,
    unit: &Unit,
    actor: &Actor,
) -> StoreResult<()> {
    let now = ms(ctx.now);
    ctx.conn
        .prepare_cached(
            "UPDATE assignments SET arrived_at = COALESCE(arrived_at, ?1) \
             WHERE incident_id = ?2 AND unit_id = ?3 AND released_at IS NULL",
        )
        .and_then(|mut s| s.execute(params![now, incident_id.0, unit.id.0]))
        .map_err(store_error)?;
    let column = if unit.kind.is_police() {
        "first_police_on_scene_at"
    } else {
        "first_helper_on_scene_at"
    };
    ctx.conn
        .execute(
            &format!("UPDATE incidents SET {column} = COALESCE({column}, ?1) WHERE id = ?2"),
            params![now, incident_id.0],
        )
        .map_err(store_error)?;
    let incident = load_incident(ctx.conn, incident_id)?;
    if incident.status == IncidentStatus::Dispatched {
        set_incident_status(ctx, &incident, IncidentStatus::OnScene, actor)?;
    }
    Ok(())
}

pub(crate) fn report_unit_position(
    ctx: &mut WriteCtx<'_>,
    id: UnitId,
    position: Coordinates,
    actor: &Actor,
) -> StoreResult<Unit> {
    let unit = load_unit(ctx.conn, id)?;
    ctx.conn
        .prepare_cached("UPDATE units SET lat = ?1, lon = ?2, position_at = ?3 WHERE id = ?4")
        .and_then(|mut s| s.execute(params![position.lat(), position.lon(), ms(ctx.now), id.0]))
        .map_err(store_error)?;
    ctx.emit(
        actor,
        unit.incident_id,
        Some(id),
        EventKind::UnitPositionReported { position },
    )?;
    load_unit(ctx.conn, id)
}

pub(crate) fn add_note(
    ctx: &mut WriteCtx<'_>,
    id: IncidentId,
    text: String,
    actor: &Actor,
) -> StoreResult<Event> {
    let text = checked_text("text", &text, 2000)?;
    load_incident(ctx.conn, id)?;
    ctx.emit(actor, Some(id), None, EventKind::NoteAdded { text })
}

/// Releases every unit still assigned to `incident` back to patrol.
fn release_units(ctx: &mut WriteCtx<'_>, incident: &Incident, actor: &Actor) -> StoreResult<()> {
    for assignment in incident
        .assignments
        .iter()
        .filter(|a| a.released_at.is_none())
    {
        let unit = load_unit(ctx.conn, assignment.unit_id)?;
        if unit.incident_id == Some(incident.id) && unit.status.is_engaged() {
            let to = unit.status.reported_change(UnitStatus::OnPatrol)?;
            set_unit_status(ctx, &unit, to, None, actor)?;
        }
    }
    ctx.conn
        .execute(
            "UPDATE assignments SET released_at = ?1 WHERE incident_id = ?2 AND released_at IS NULL",
            params![ms(ctx.now), incident.id.0],
        )
        .map_err(store_error)?;
    Ok(())
}

pub(crate) fn close_incident(
    ctx: &mut WriteCtx<'_>,
    id: IncidentId,
    disposition: Disposition,
    remark: Option<String>,
    actor: &Actor,
) -> StoreResult<Incident> {
    let disposition = disposition.chosen_by_user()?;
    let remark = remark
        .map(|r| checked_text("remark", &r, 2000))
        .transpose()?;
    let incident = load_incident(ctx.conn, id)?;
    set_incident_status(ctx, &incident, IncidentStatus::Closed, actor)?;
    ctx.conn
        .execute(
            "UPDATE incidents SET disposition = ?1, closing_remark = ?2 WHERE id = ?3",
            params![disposition.as_str(), remark, id.0],
        )
        .map_err(store_error)?;
    ctx.emit(
        actor,
        Some(id),
        None,
        EventKind::IncidentClosed {
            disposition,
            remark,
        },
    )?;
    release_units(ctx, &incident, actor)?;
    load_incident(ctx.conn, id)
}

pub(crate) fn merge_incidents(
    ctx: &mut WriteCtx<'_>,
    duplicate_id: IncidentId,
    into_id: IncidentId,
    actor: &Actor,
) -> StoreResult<Incident> {
    let duplicate = load_incident(ctx.conn, duplicate_id)?;
    let into = load_incident(ctx.conn, into_id)?;
    check_merge(&duplicate, &into)?;
    ctx.emit(
        actor,
        Some(into_id),
        None,
        EventKind::IncidentsMerged {
            duplicate_id,
            into_id,
        },
    )?;

    // Units sent to the duplicate now work the surviving incident.
    let moved: Vec<UnitId> = duplicate
        .assignments
        .iter()
        .filter(|a| a.released_at.is_none())
        .map(|a| a.unit_id)
        .collect();
    for &unit_id in &moved {
        ctx.conn
            .execute(
                "UPDATE assignments SET incident_id = ?1 WHERE incident_id = ?2 AND unit_id = ?3 AND released_at IS NULL",
                params![into_id.0, duplicate_id.0, unit_id.0],
            )
            .and_then(|_| ctx.conn.execute("UPDATE units SET incident_id = ?1 WHERE id = ?2", params![into_id.0, unit_id.0]))
            .map_err(store_error)?;
    }
    if !moved.is_empty() && into.status == IncidentStatus::Received {
        set_incident_status(ctx, &into, IncidentStatus::Dispatched, actor)?;
    }

    set_incident_status(ctx, &duplicate, IncidentStatus::Closed, actor)?;
    ctx.conn
        .execute(
            "UPDATE incidents SET disposition = ?1, merged_into = ?2 WHERE id = ?3",
            params![
                Disposition::MergedAsDuplicate.as_str(),
                into_id.0,
                duplicate_id.0
            ],
        )
        .map_err(store_error)?;
    ctx.emit(
        actor,
        Some(duplicate_id),
        None,
        EventKind::IncidentClosed {
            disposition: Disposition::MergedAsDuplicate,
            remark: None,
        },
    )?;
    load_incident(ctx.conn, into_id)
}
