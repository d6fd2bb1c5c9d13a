//! Intake at speed: a run of reports taken in by one statement, the
//! server-side function `precinct_intake`, which takes the writers' lock
//! itself. Used by the writer task, alone or inside a batch.

use crate::keys::{EVENTS_CHANNEL, WRITE_LOCK};
use crate::rows::store_error;
use crate::tx::Reader;
use chrono::{Duration, SubsecRound};
use deadpool_postgres::ClientWrapper;
use precinct_domain::Timestamp;
use precinct_domain::event::{Actor, Event, EventKind, NewEvent};
use precinct_domain::ids::{EventId, IncidentId};
use precinct_domain::incident::{
    DUPLICATE_RADIUS_M, DUPLICATE_WINDOW_MINUTES, DuplicateCandidate, Intake,
};
use precinct_geo::cell_key;
use precinct_storage::reads;
use precinct_storage::rows::{duplicate_search_cells, event_data, ms};
use precinct_storage::{IntakeOutcome, StoreError, StoreResult};
use tokio_postgres::types::ToSql;

const INTAKE_SQL: &str = "SELECT incident_id, created, duplicate_of, distance, received_event, \
     linked_event FROM precinct_intake($1, $2, $3, $4, $5, $6::TEXT[], $7::TEXT[], $8::TEXT[], $9::TEXT[], \
     $10::BIGINT[], $11::FLOAT8[], $12::FLOAT8[], $13::BIGINT[], $14::BIGINT[], $15::BIGINT[], $16::BIGINT[], \
     $17::BIGINT[], $18::TEXT[], $19::TEXT[], $20::TEXT[], $21::TEXT[], $22::BIGINT[], $23::BIGINT[], \
     $24::TEXT[], $25::TEXT[], $26::INT[], $27::INT[], $28::INT[], $29::FLOAT8[])";

/// What an intake run wrote and answers: the events to publish, and each
/// report's outcome in order.
pub(crate) struct IntakeRun {
    pub events: Vec<Event>,
    pub outcomes: Vec<StoreResult<IntakeOutcome>>,
}

/// Takes in a run of reports together, in one statement: the server-side
/// function `precinct_intake` (migration 6) takes the writers' lock, looks
/// each instruction up, picks each report's likely duplicate and writes the
/// incidents, their events and the notification, in arrival order, so a
/// later report sees the earlier ones of the same run. Event ids are taken
/// under the writers' lock, so they still follow commit order.
///
/// Called alone (no transaction open), the statement is its own transaction:
/// one round trip and one commit for the whole run. Inside a batch's
/// transaction it is one statement of it. Any database error in the
/// statement fails the whole run and writes nothing.
pub(crate) async fn intake_run(
    client: &ClientWrapper,
    now: Timestamp,
    run: Vec<(Intake, Actor)>,
) -> StoreResult<IntakeRun> {
    let received: Vec<EventKind> = run
        .iter()
        .map(|(intake, _)| EventKind::IncidentReceived {
            source: intake.source,
            external_id: intake.external_id.clone(),
            category: intake.category.code().clone(),
            priority: intake.priority,
            location: intake.location,
            address: intake.address.clone(),
            summary: intake.summary.clone(),
        })
        .collect();
    let mut columns = IncidentColumns::default();
    for ((intake, actor), kind) in run.iter().zip(&received) {
        columns.push(intake, actor, kind)?;
    }
    let relations = BatchRelations::of(&run);
    let now_ms = ms(now);
    let fixed = IntakeFixed {
        lock_key: WRITE_LOCK,
        channel: EVENTS_CHANNEL,
        window_ms: Duration::minutes(DUPLICATE_WINDOW_MINUTES).num_milliseconds(),
        radius_m: DUPLICATE_RADIUS_M,
    };
    let statement = client
        .prepare_cached(INTAKE_SQL)
        .await
        .map_err(store_error)?;
    let row = client
        .query_one(&statement, &columns.params(&fixed, &now_ms, &relations))
        .await
        .map_err(store_error)?;
    let answers = IntakeAnswers {
        incident: row.try_get(0).map_err(store_error)?,
        created: row.try_get(1).map_err(store_error)?,
        duplicate_of: row.try_get(2).map_err(store_error)?,
        distance_m: row.try_get(3).map_err(store_error)?,
        received_event: row.try_get(4).map_err(store_error)?,
        linked_event: row.try_get(5).map_err(store_error)?,
    };
    if answers.incident.len() != run.len() {
        return Err(StoreError::Other(format!(
            "intake: {} answers for {} reports",
            answers.incident.len(),
            run.len()
        )));
    }

    let mut events = Vec::new();
    let mut outcomes: Vec<StoreResult<IntakeOutcome>> = Vec::with_capacity(run.len());
    let missing = |what: &str| StoreError::Other(format!("intake: no {what} in the answer"));
    for (k, ((intake, actor), kind)) in run.into_iter().zip(received).enumerate() {
        let id = IncidentId(answers.incident[k].ok_or_else(|| missing("incident id"))?);
        if answers.created[k] != Some(true) {
            // Already stored, by an earlier report of this run or before it.
            let earlier = outcomes
                .iter()
                .flatten()
                .find(|o| o.incident.id == id)
                .map(|o| o.incident.clone());
            let incident = match earlier {
                Some(incident) => Ok(incident),
                None => reads::incident(&mut Reader(client), id).await,
            };
            outcomes.push(incident.map(|incident| IntakeOutcome {
                incident,
                created: false,
            }));
            continue;
        }
        let duplicate_of: Option<IncidentId> = answers.duplicate_of[k].map(IncidentId);
        let event = |kind, event_id: i64| {
            NewEvent {
                at: now,
                actor: actor.clone(),
                incident_id: Some(id),
                unit_id: None,
                kind,
            }
            .committed(EventId(event_id))
        };
        let received_event = answers.received_event[k].ok_or_else(|| missing("event id"))?;
        events.push(event(kind, received_event));
        if let (Some(duplicate_of), Some(distance_m), Some(linked)) =
            (duplicate_of, answers.distance_m[k], answers.linked_event[k])
        {
            let kind = EventKind::DuplicateLinked {
                duplicate_of,
                distance_m,
            };
            events.push(event(kind, linked));
        }
        outcomes.push(Ok(IntakeOutcome {
            incident: intake.into_incident(id, now, duplicate_of),
            created: true,
        }));
    }
    Ok(IntakeRun { events, outcomes })
}

/// `precinct_intake`'s answer: one array per output, one element per report.
struct IntakeAnswers {
    incident: Vec<Option<i64>>,
    created: Vec<Option<bool>>,
    duplicate_of: Vec<Option<i64>>,
    distance_m: Vec<Option<f64>>,
    received_event: Vec<Option<i64>>,
    linked_event: Vec<Option<i64>>,
}

/// What a batch says about itself, by the domain's rules, for
/// `precinct_intake`: positions are 1-based, as in SQL arrays.
struct BatchRelations {
    /// The earlier report of the batch carrying the same instruction.
    same_as: Vec<Option<i32>>,
    /// (report, earlier report, metres apart) for every earlier report the
    /// report likely duplicates, by report, then nearest, then earliest.
    pair_report: Vec<i32>,
    pair_earlier: Vec<i32>,
    pair_distance: Vec<f64>,
}

impl BatchRelations {
    fn of(run: &[(Intake, Actor)]) -> BatchRelations {
        use std::collections::HashMap;
        let mut relations = BatchRelations {
            same_as: Vec::with_capacity(run.len()),
            pair_report: Vec::new(),
            pair_earlier: Vec::new(),
            pair_distance: Vec::new(),
        };
        let mut instructions: HashMap<(&str, &str), usize> = HashMap::new();
        let mut by_cell: HashMap<i64, Vec<usize>> = HashMap::new();
        for (k, (intake, _)) in run.iter().enumerate() {
            let same = intake.external_id.as_deref().and_then(|external_id| {
                let key = (intake.source.as_str(), external_id);
                match instructions.get(&key) {
                    Some(&first) => Some(first as i32 + 1),
                    None => {
                        instructions.insert(key, k);
                        None
                    }
                }
            });
            relations.same_as.push(same);
            let mut cells = duplicate_search_cells(intake.location).to_vec();
            cells.sort_unstable();
            cells.dedup();
            let mut pairs: Vec<(f64, usize)> = cells
                .iter()
                .filter_map(|cell| by_cell.get(cell))
                .flatten()
                .filter_map(|&j| {
                    let earlier = &run[j].0;
                    let candidate = DuplicateCandidate {
                        id: IncidentId(0),
                        category: earlier.category.clone(),
                        location: earlier.location,
                        reported_at: earlier.reported_at.trunc_subsecs(3),
                    };
                    candidate
                        .likely_same_event(intake)
                        .then(|| (candidate.location.distance_m(intake.location), j))
                })
                .collect();
            pairs.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
            for (distance, j) in pairs {
                relations.pair_report.push(k as i32 + 1);
                relations.pair_earlier.push(j as i32 + 1);
                relations.pair_distance.push(distance);
            }
            by_cell
                .entry(cell_key(intake.location))
                .or_default()
                .push(k);
        }
        relations
    }
}

/// The parameters of `precinct_intake` that are the same for every report.
struct IntakeFixed {
    lock_key: i64,
    channel: &'static str,
    window_ms: i64,
    radius_m: f64,
}

/// The reports of a run as one array per column, for `precinct_intake`.
#[derive(Default)]
struct IncidentColumns {
    source: Vec<&'static str>,
    external_id: Vec<Option<String>>,
    category: Vec<String>,
    family: Vec<&'static str>,
    priority: Vec<i64>,
    lat: Vec<f64>,
    lon: Vec<f64>,
    cell: Vec<i64>,
    probe_cells: Vec<i64>,
    zone_id: Vec<Option<i64>>,
    community_id: Vec<Option<i64>>,
    grid_cell_id: Vec<Option<i64>>,
    address: Vec<String>,
    caller_name: Vec<Option<String>>,
    caller_phone: Vec<Option<String>>,
    summary: Vec<String>,
    reported_at: Vec<i64>,
    actor_user_id: Vec<Option<i64>>,
    actor_name: Vec<String>,
    received_data: Vec<String>,
}

impl IncidentColumns {
    fn push(&mut self, intake: &Intake, actor: &Actor, received: &EventKind) -> StoreResult<()> {
        self.source.push(intake.source.as_str());
        self.external_id.push(intake.external_id.clone());
        self.category.push(intake.category.as_str().to_owned());
        self.family.push(intake.category.family().as_str());
        self.priority.push(i64::from(intake.priority.get()));
        self.lat.push(intake.location.lat());
        self.lon.push(intake.location.lon());
        self.cell.push(cell_key(intake.location));
        // Always SEARCH_CELLS probe cells per report (padded with repeats).
        self.probe_cells
            .extend(duplicate_search_cells(intake.location));
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
        self.actor_user_id.push(actor.user_id.map(|u| u.0));
        self.actor_name.push(actor.name.clone());
        self.received_data.push(event_data(received)?);
        Ok(())
    }

    fn params<'a>(
        &'a self,
        fixed: &'a IntakeFixed,
        now: &'a i64,
        relations: &'a BatchRelations,
    ) -> [&'a (dyn ToSql + Sync); 29] {
        [
            &fixed.lock_key,
            &fixed.channel,
            now,
            &fixed.window_ms,
            &fixed.radius_m,
            &self.source,
            &self.external_id,
            &self.category,
            &self.family,
            &self.priority,
            &self.lat,
            &self.lon,
            &self.cell,
            &self.probe_cells,
            &self.zone_id,
            &self.community_id,
            &self.grid_cell_id,
            &self.address,
            &self.caller_name,
            &self.caller_phone,
            &self.summary,
            &self.reported_at,
            &self.actor_user_id,
            &self.actor_name,
            &self.received_data,
            &relations.same_as,
            &relations.pair_report,
            &relations.pair_earlier,
            &relations.pair_distance,
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use precinct_domain::Coordinates;
    use precinct_domain::ground::Resolution;
    use precinct_domain::incident::{Caller, Category, DefaultCategory, IntakeSource, Priority};

    fn report(external_id: Option<&str>, category: Category, east_m: f64, minute: i64) -> Intake {
        let origin = Coordinates::new(28.1, 113.0).unwrap();
        Intake {
            source: IntakeSource::Instruction110,
            external_id: external_id.map(str::to_owned),
            category,
            priority: Priority::new(2).unwrap(),
            location: origin.offset_m(east_m, 0.0),
            resolution: Resolution::OUTSIDE,
            address: "Food Street".into(),
            caller: Caller::default(),
            summary: "test".into(),
            reported_at: chrono::Utc.with_ymd_and_hms(2026, 11, 1, 22, 0, 0).unwrap()
                + Duration::minutes(minute),
        }
    }

    /// What a batch says about itself: repeats of an instruction point at
    /// its first report; each report lists the earlier reports it likely
    /// duplicates (same family, radius, window), nearest first.
    #[test]
    fn a_batch_knows_its_repeats_and_close_pairs() {
        let actor = Actor::system("test");
        let run: Vec<(Intake, Actor)> = [
            report(Some("110-1"), DefaultCategory::Theft.into(), 0.0, 0),
            report(None, DefaultCategory::FightAssault.into(), 200.0, 1), // criminal, 200 m from 1
            report(None, DefaultCategory::Theft.into(), 100.0, 2), // 100 m from 1, 100 m from 2
            report(Some("110-1"), DefaultCategory::Theft.into(), 0.0, 3), // the first instruction again
            report(None, DefaultCategory::Fire.into(), 50.0, 4),          // another family
            report(None, DefaultCategory::Theft.into(), 1_000.0, 5),      // too far
            report(None, DefaultCategory::Theft.into(), 10.0, 40),        // too late
        ]
        .into_iter()
        .map(|intake| (intake, actor.clone()))
        .collect();
        let relations = BatchRelations::of(&run);
        assert_eq!(
            relations.same_as,
            [None, None, None, Some(1), None, None, None]
        );
        let pairs: Vec<(i32, i32, i64)> = relations
            .pair_report
            .iter()
            .zip(&relations.pair_earlier)
            .zip(&relations.pair_distance)
            .map(|((k, j), d)| (*k, *j, d.round() as i64))
            .collect();
        assert_eq!(
            pairs,
            [
                (2, 1, 200),
                (3, 1, 100),
                (3, 2, 100),
                (4, 1, 0),
                (4, 3, 100),
                (4, 2, 200),
            ]
        );
    }
}
