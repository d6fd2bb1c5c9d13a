//! The story suite: behaviour every backend must show, written once and run
//! against each backend by [`store_suite!`](crate::store_suite).
//!
//! Each case takes a fresh, empty store. Failures panic with a message that
//! names the rule broken.

use crate::{
    AuditEntry, IncidentFilter, NewUser, SecondFactor, SecondFactorProof, SharedStore, StoreError,
};
use chrono::{Duration, TimeZone, Utc};
use precinct_domain::event::{Actor, EventKind};
use precinct_domain::ground::{Community, GridCell, Jurisdiction, Post, PostKind, Zone};
use precinct_domain::history::HistoryRecord;
use precinct_domain::ids::{
    CommunityId, DisputeId, EventId, GridCellId, IncidentId, PostId, UnitId, UserId, ZoneId,
};
use precinct_domain::incident::{
    Caller, Category, DefaultCategory, Disposition, IncidentStatus, Intake, IntakeSource,
    PhoneNumber, Priority,
};
use precinct_domain::unit::{NewUnit, UnitKind, UnitStatus};
use precinct_domain::user::{Role, Username};
use precinct_domain::{Coordinates, DomainError, Polygon, Timestamp};
use std::collections::BTreeMap;

/// Generates one `#[tokio::test]` per suite case for a backend.
/// `$factory` is an expression callable with no arguments that returns a
/// future of `Option<SharedStore>`: a fresh, empty store, or `None` when the
/// backend is not available here (PostgreSQL without a URL), in which case
/// the case says so and passes.
#[macro_export]
macro_rules! store_suite {
    ($factory:expr) => {
        $crate::store_suite!(@cases $factory;
            intake_resolves_and_records_event,
            duplicate_links_follow_the_domain_rule,
            intakes_and_other_writes_share_batches,
            same_instruction_twice_is_one_incident,
            near_duplicate_is_linked_then_merged,
            distant_or_late_report_is_not_linked,
            reports_across_the_antimeridian_are_linked,
            a_burst_of_reports_links_to_the_first,
            concurrent_reports_are_decided_as_if_one_by_one,
            dispatch_arrival_and_close,
            first_response_task_flow,
            dispatch_race_has_one_winner,
            dispatch_is_all_or_nothing,
            illegal_unit_transition_changes_nothing,
            closed_incident_rejects_changes,
            events_are_published_in_commit_order,
            position_report_moves_unit,
            list_filters,
            users_and_sessions,
            audit_round_trip,
            second_factors_and_sessions,
            ground_round_trip,
            roads_round_trip,
            road_closures_round_trip,
            disputes_change_through_the_writer_with_their_events,
            users_belong_to_organisations,
            station_import_retires_disables_and_publishes,
            rollups_equal_a_recomputation,
            history_import_is_idempotent,
        );
    };
    (@cases $factory:expr; $($case:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                let store: Option<$crate::SharedStore> = ($factory)().await;
                match store {
                    Some(store) => $crate::suite::$case(store).await,
                    None => eprintln!("skipped {}: backend not configured", stringify!($case)),
                }
            }
        )*
    };
}

fn point(east_m: f64, north_m: f64) -> Coordinates {
    origin().offset_m(east_m, north_m)
}

fn origin() -> Coordinates {
    Coordinates::new(28.15, 113.02).expect("valid")
}

fn dispatcher() -> Actor {
    Actor::system("suite-dispatcher")
}

/// A one-zone ground of 2 km × 2 km around the origin.
pub fn fixture_ground() -> Jurisdiction {
    let area = Polygon::rectangle(point(-1000.0, -1000.0), point(1000.0, 1000.0));
    Jurisdiction {
        station_name: "Suite station".into(),
        zones: vec![Zone {
            id: ZoneId(1),
            code: "N".into(),
            name: "North".into(),
            boundary: area.clone(),
        }],
        communities: vec![Community {
            id: CommunityId(1),
            code: "YD".into(),
            zone_id: ZoneId(1),
            name: "Yongding".into(),
            boundary: area.clone(),
        }],
        grid_cells: vec![GridCell {
            id: GridCellId(1),
            community_id: CommunityId(1),
            code: "G1".into(),
            name: "G1".into(),
            boundary: area,
        }],
        posts: vec![Post {
            id: PostId(1),
            code: "YY".into(),
            zone_id: ZoneId(1),
            community_id: Some(CommunityId(1)),
            kind: PostKind::PolicePost,
            name: "Yiyuan post".into(),
            location: point(0.0, 0.0),
        }],
        ..Jurisdiction::default()
    }
}

fn new_unit(call_sign: &str, kind: UnitKind) -> NewUnit {
    NewUnit {
        call_sign: call_sign.into(),
        name: call_sign.into(),
        kind,
        home_post_id: Some(PostId(1)),
        zone_id: Some(ZoneId(1)),
        capabilities: kind.default_capabilities(),
        status: UnitStatus::OnPatrol,
        position: Some(point(100.0, 100.0)),
        member_count: 3,
        property_company_id: None,
        phone: None,
    }
}

/// A fixed pseudo-random sequence (xorshift) from `seed`, so a failure can
/// be replayed: each call answers a number below its bound.
fn replayable(seed: u64) -> impl FnMut(u64) -> u64 {
    let mut state = seed;
    move |bound: u64| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state % bound
    }
}

/// Loads the fixture ground and three units: a post team, a volunteer team
/// and a patrol car, in that order.
async fn seeded(store: &SharedStore) -> Vec<UnitId> {
    store
        .replace_jurisdiction(fixture_ground())
        .await
        .expect("ground");
    let units = store
        .create_units(vec![
            new_unit("POST-1", UnitKind::PostTeam),
            new_unit("VOL-1", UnitKind::VolunteerPoliceTeam),
            new_unit("CAR-1", UnitKind::PatrolCar),
        ])
        .await
        .expect("units");
    units.into_iter().map(|u| u.id).collect()
}

fn at(minute: i64) -> Timestamp {
    Utc.with_ymd_and_hms(2026, 10, 30, 14, 23, 0).unwrap() + Duration::minutes(minute)
}

fn intake(
    external_id: Option<&str>,
    category: Category,
    location: Coordinates,
    minute: i64,
) -> Intake {
    Intake {
        source: IntakeSource::Instruction110,
        external_id: external_id.map(str::to_owned),
        category,
        priority: Priority::new(1).unwrap(),
        location,
        resolution: fixture_ground().resolve(location),
        address: "Food Street 7".into(),
        caller: Caller {
            name: Some("颜某".into()),
            phone: Some(PhoneNumber::parse("13800138000").unwrap()),
        },
        summary: "Two men fighting outside a late-night food shop".into(),
        reported_at: at(minute),
    }
}

/// Takes in a report as the suite's dispatcher and returns the incident.
async fn take_in(store: &SharedStore, report: Intake) -> precinct_domain::incident::Incident {
    store
        .intake(report, dispatcher())
        .await
        .expect("intake")
        .incident
}

/// The next `count` events from a live subscription; each must come within
/// five seconds.
async fn next_events(
    live: &mut tokio::sync::broadcast::Receiver<precinct_domain::event::Event>,
    count: usize,
) -> Vec<precinct_domain::event::Event> {
    let mut received = Vec::with_capacity(count);
    while received.len() < count {
        let event = tokio::time::timeout(std::time::Duration::from_secs(5), live.recv())
            .await
            .expect("every committed event is published")
            .expect("no lag");
        received.push(event);
    }
    received
}

async fn event_count(store: &SharedStore) -> usize {
    store
        .events_after(EventId(0), 100_000)
        .await
        .expect("events")
        .len()
}

pub async fn intake_resolves_and_records_event(store: SharedStore) {
    seeded(&store).await;
    let outcome = store
        .intake(
            intake(
                Some("110-1"),
                DefaultCategory::FightAssault.into(),
                point(10.0, 10.0),
                0,
            ),
            dispatcher(),
        )
        .await
        .unwrap();
    assert!(outcome.created);
    let incident = store.get_incident(outcome.incident.id).await.unwrap();
    assert_eq!(
        incident, outcome.incident,
        "read back equals what intake returned"
    );
    assert_eq!(incident.status, IncidentStatus::Received);
    assert_eq!(incident.resolution.community_id, Some(CommunityId(1)));
    assert_eq!(
        incident.caller.phone.as_ref().map(|p| p.as_str()),
        Some("13800138000")
    );
    let timeline = store.timeline(incident.id).await.unwrap();
    assert_eq!(timeline.len(), 1);
    assert!(matches!(
        timeline[0].kind,
        EventKind::IncidentReceived { .. }
    ));
    assert_eq!(timeline[0].actor, dispatcher());
}

pub async fn same_instruction_twice_is_one_incident(store: SharedStore) {
    seeded(&store).await;
    let first = store
        .intake(
            intake(
                Some("110-7"),
                DefaultCategory::FightAssault.into(),
                point(0.0, 0.0),
                0,
            ),
            dispatcher(),
        )
        .await
        .unwrap();
    let events = event_count(&store).await;
    let again = store
        .intake(
            intake(
                Some("110-7"),
                DefaultCategory::FightAssault.into(),
                point(0.0, 0.0),
                1,
            ),
            dispatcher(),
        )
        .await
        .unwrap();
    assert!(!again.created, "a repeated instruction creates nothing");
    assert_eq!(again.incident.id, first.incident.id);
    assert_eq!(
        event_count(&store).await,
        events,
        "a repeated instruction writes no event"
    );
    let all = store
        .list_incidents(IncidentFilter::default())
        .await
        .unwrap();
    assert_eq!(all.len(), 1);
    // The same external id from another source is another incident.
    let mut other = intake(
        Some("110-7"),
        DefaultCategory::FightAssault.into(),
        point(0.0, 0.0),
        0,
    );
    other.source = IntakeSource::Phone;
    assert!(store.intake(other, dispatcher()).await.unwrap().created);
}

pub async fn near_duplicate_is_linked_then_merged(store: SharedStore) {
    seeded(&store).await;
    let first = take_in(
        &store,
        intake(
            Some("110-1"),
            DefaultCategory::FightAssault.into(),
            point(0.0, 0.0),
            0,
        ),
    )
    .await;
    let mut local = intake(
        None,
        DefaultCategory::FightAssault.into(),
        point(120.0, 0.0),
        4,
    );
    local.source = IntakeSource::Phone;
    let second = take_in(&store, local).await;
    assert_ne!(second.id, first.id);
    assert_eq!(
        second.duplicate_of,
        Some(first.id),
        "a report 120 m and 4 min away is linked"
    );

    let merged = store
        .merge_incidents(second.id, first.id, dispatcher())
        .await
        .unwrap();
    assert_eq!(merged.id, first.id);
    let closed = store.get_incident(second.id).await.unwrap();
    assert_eq!(closed.status, IncidentStatus::Closed);
    assert_eq!(closed.disposition, Some(Disposition::MergedAsDuplicate));
    assert_eq!(closed.merged_into, Some(first.id));

    let timeline = store.timeline(first.id).await.unwrap();
    let received: Vec<_> = timeline
        .iter()
        .filter(|e| matches!(e.kind, EventKind::IncidentReceived { .. }))
        .map(|e| e.incident_id)
        .collect();
    assert_eq!(
        received,
        [Some(first.id), Some(second.id)],
        "the merged timeline keeps both reports"
    );
    assert!(
        timeline
            .iter()
            .any(|e| matches!(e.kind, EventKind::IncidentsMerged { .. }))
    );

    let again = store
        .merge_incidents(second.id, first.id, dispatcher())
        .await;
    assert_eq!(
        again.unwrap_err(),
        StoreError::Rule(DomainError::IncidentClosed {
            incident: second.id.0
        })
    );
}

pub async fn distant_or_late_report_is_not_linked(store: SharedStore) {
    seeded(&store).await;
    store
        .intake(
            intake(None, DefaultCategory::Theft.into(), point(0.0, 0.0), 0),
            dispatcher(),
        )
        .await
        .unwrap();
    let far = take_in(
        &store,
        intake(None, DefaultCategory::Theft.into(), point(400.0, 0.0), 1),
    )
    .await;
    assert_eq!(far.duplicate_of, None, "400 m away is another event");
    let late = take_in(
        &store,
        intake(None, DefaultCategory::Theft.into(), point(0.0, 0.0), 20),
    )
    .await;
    assert_eq!(late.duplicate_of, None, "20 minutes later is another event");
    let other = take_in(
        &store,
        intake(
            None,
            DefaultCategory::NeighbourNoiseDispute.into(),
            point(0.0, 0.0),
            1,
        ),
    )
    .await;
    assert_eq!(
        other.duplicate_of, None,
        "another category family is another event"
    );
}

/// Outside the ground is still a place: a report a few metres west of the
/// antimeridian and one 150 m east of it (longitude wrapped to -179.99…) are
/// taken in and linked, one after the other and arriving together.
pub async fn reports_across_the_antimeridian_are_linked(store: SharedStore) {
    seeded(&store).await;
    let west = Coordinates::new(-16.5, 179.9995).unwrap();
    let east = west.offset_m(150.0, 0.0);
    assert!(east.lon() < 0.0, "the second report is across the line");
    let first = take_in(&store, intake(None, DefaultCategory::Theft.into(), west, 0)).await;
    let second = take_in(&store, intake(None, DefaultCategory::Theft.into(), east, 1)).await;
    assert_eq!(second.duplicate_of, Some(first.id), "one after the other");

    let (a, b) = tokio::join!(
        store.intake(
            intake(None, DefaultCategory::Fire.into(), west, 2),
            dispatcher()
        ),
        store.intake(
            intake(None, DefaultCategory::Fire.into(), east, 2),
            dispatcher()
        ),
    );
    let (a, b) = (a.expect("intake").incident, b.expect("intake").incident);
    let (earlier, later) = if a.id < b.id { (a, b) } else { (b, a) };
    assert_eq!(earlier.duplicate_of, None);
    assert_eq!(later.duplicate_of, Some(earlier.id), "arriving together");
}

pub async fn a_burst_of_reports_links_to_the_first(store: SharedStore) {
    seeded(&store).await;
    let first = take_in(
        &store,
        intake(None, DefaultCategory::Fire.into(), point(0.0, 0.0), 0),
    )
    .await;
    for n in 1..=5 {
        let report = store
            .intake(
                intake(
                    None,
                    DefaultCategory::Fire.into(),
                    point(f64::from(n) * 20.0, 0.0),
                    n.into(),
                ),
                dispatcher(),
            )
            .await
            .unwrap();
        assert_eq!(
            report.incident.duplicate_of,
            Some(first.id),
            "report {n} links to the first report"
        );
    }
}

/// Reports arriving together (and so, in batching backends, decided in one
/// batch) follow the same rules as reports arriving one by one.
pub async fn concurrent_reports_are_decided_as_if_one_by_one(store: SharedStore) {
    seeded(&store).await;
    let mut tasks = Vec::new();
    for n in 0..10 {
        let first = store.clone();
        // The same 110 instruction, sent ten times at once.
        tasks.push(tokio::spawn(async move {
            first
                .intake(
                    intake(
                        Some("110-SAME"),
                        DefaultCategory::Theft.into(),
                        point(0.0, 0.0),
                        0,
                    ),
                    dispatcher(),
                )
                .await
                .map(|o| (true, n, o))
        }));
        let second = store.clone();
        // Ten phone calls about one fire, a few metres apart.
        tasks.push(tokio::spawn(async move {
            let mut call = intake(
                None,
                DefaultCategory::Fire.into(),
                point(500.0 + f64::from(n), 500.0),
                1,
            );
            call.source = IntakeSource::Phone;
            second
                .intake(call, dispatcher())
                .await
                .map(|o| (false, n, o))
        }));
    }
    let (mut same, mut fire) = (Vec::new(), Vec::new());
    for task in tasks {
        let (is_same, _, outcome) = task.await.unwrap().unwrap();
        if is_same {
            same.push(outcome)
        } else {
            fire.push(outcome)
        }
    }
    assert_eq!(
        same.iter().filter(|o| o.created).count(),
        1,
        "one instruction, one incident"
    );
    assert!(
        same.iter().all(|o| o.incident.id == same[0].incident.id),
        "every answer names that incident"
    );
    assert!(fire.iter().all(|o| o.created));
    let primaries: Vec<_> = fire
        .iter()
        .filter(|o| o.incident.duplicate_of.is_none())
        .map(|o| o.incident.id)
        .collect();
    assert_eq!(primaries.len(), 1, "one primary report: {primaries:?}");
    assert!(
        fire.iter()
            .filter(|o| o.incident.duplicate_of.is_some())
            .all(|o| o.incident.duplicate_of == Some(primaries[0])),
        "the other nine link to it"
    );
    let all = store
        .list_incidents(IncidentFilter::default())
        .await
        .unwrap();
    assert_eq!(all.len(), 11);
    for outcome in same.iter().chain(&fire) {
        let stored = all.iter().find(|i| i.id == outcome.incident.id).unwrap();
        assert_eq!(
            stored, &outcome.incident,
            "what intake answered is what was stored"
        );
    }
}

/// A busy night, replayed: reports close together in space and time, of
/// several families, some of them the same 110 instruction sent again,
/// arriving in concurrent waves (so batching backends decide many together).
/// Whatever a backend does inside, every stored decision must be the one the
/// domain rule (`likely_duplicate`) makes when the reports are taken one by
/// one in id order, and every link must be on the timeline.
pub async fn duplicate_links_follow_the_domain_rule(store: SharedStore) {
    use precinct_domain::incident::{DuplicateCandidate, Incident, likely_duplicate};
    seeded(&store).await;
    let mut next = replayable(0x9E37_79B9_7F4A_7C15);
    let categories: [Category; 4] = [
        DefaultCategory::Fire.into(),
        DefaultCategory::Theft.into(),
        DefaultCategory::FightAssault.into(),
        DefaultCategory::NeighbourNoiseDispute.into(),
    ];
    for wave in 0..6 {
        let mut tasks = Vec::new();
        for n in 0..25 {
            let category = categories[next(categories.len() as u64) as usize].clone();
            // Within 900 m of each other, so the 300 m radius cuts both ways.
            let location = point(next(900) as f64, next(900) as f64);
            let mut report = intake(None, category, location, 0);
            report.reported_at = at(0) + Duration::seconds(next(2400) as i64);
            if next(4) == 0 {
                report.external_id = Some(format!("110-{}", next(12)));
            } else {
                report.source = IntakeSource::Phone;
                report.summary = format!("wave {wave} call {n}");
            }
            let store = store.clone();
            tasks.push(tokio::spawn(async move {
                store.intake(report, dispatcher()).await
            }));
        }
        for task in tasks {
            task.await.unwrap().expect("intake");
        }
    }
    let mut stored = store
        .list_incidents(IncidentFilter::default())
        .await
        .unwrap();
    stored.sort_by_key(|i| i.id);
    let external: Vec<_> = stored
        .iter()
        .filter_map(|i| i.external_id.clone())
        .collect();
    let mut unique = external.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(external.len(), unique.len(), "one incident per instruction");
    let as_intake = |i: &Incident| Intake {
        source: i.source,
        external_id: i.external_id.clone(),
        category: i.category.clone(),
        priority: i.priority,
        location: i.location,
        resolution: i.resolution,
        address: i.address.clone(),
        caller: i.caller.clone(),
        summary: i.summary.clone(),
        reported_at: i.reported_at,
    };
    let mut primaries: Vec<DuplicateCandidate> = Vec::new();
    let mut links = 0;
    for incident in &stored {
        let expected = likely_duplicate(&as_intake(incident), &primaries).map(|c| c.id);
        assert_eq!(
            incident.duplicate_of,
            expected,
            "incident {} (of {}) is linked as the domain rule says",
            incident.id,
            stored.len()
        );
        match expected {
            None => primaries.push(DuplicateCandidate::from(incident)),
            Some(first) => {
                links += 1;
                let timeline = store.timeline(incident.id).await.unwrap();
                let linked = timeline.iter().find_map(|e| match &e.kind {
                    EventKind::DuplicateLinked {
                        duplicate_of,
                        distance_m,
                    } => Some((*duplicate_of, *distance_m)),
                    _ => None,
                });
                let primary = stored.iter().find(|i| i.id == first).unwrap();
                let distance = primary.location.distance_m(incident.location);
                let (linked_to, linked_m) = linked.expect("the link is on the timeline");
                assert_eq!(linked_to, first);
                assert!(
                    (linked_m - distance).abs() <= 0.5,
                    "the timeline says {linked_m} m, the points are {distance} m apart"
                );
            }
        }
    }
    assert!(
        links >= 20 && primaries.len() >= 20,
        "the burst has both links ({links}) and primaries ({})",
        primaries.len()
    );
}

/// Intakes arriving together with other writes (so batching backends run
/// them in one batch, intakes among other jobs): each gets its own answer,
/// a failing job fails alone, and the live stream carries every committed
/// event once, in id order, exactly as stored.
pub async fn intakes_and_other_writes_share_batches(store: SharedStore) {
    let units = seeded(&store).await;
    let mut live = store.subscribe();
    let mut moves_live = store.subscribe_positions();
    let mut tasks = Vec::new();
    for n in 0..12_i32 {
        let intakes = store.clone();
        tasks.push(tokio::spawn(async move {
            let report = intake(
                Some(&format!("110-MIXED-{}", n % 8)),
                DefaultCategory::Theft.into(),
                point(f64::from(n) * 400.0, 0.0),
                0,
            );
            intakes.intake(report, dispatcher()).await.map(|_| ())
        }));
        let moves = store.clone();
        let unit = units[n as usize % units.len()];
        tasks.push(tokio::spawn(async move {
            moves
                .report_unit_position(unit, point(f64::from(n), 50.0), Actor::system("gps"))
                .await
                .map(|_| ())
        }));
        // An unknown unit fails, alone.
        let fails = store.clone();
        tasks.push(tokio::spawn(async move {
            let missing = fails
                .report_unit_position(
                    UnitId(9_000 + i64::from(n)),
                    point(0.0, 0.0),
                    Actor::system("gps"),
                )
                .await;
            assert!(matches!(missing, Err(StoreError::NotFound { .. })));
            Ok(())
        }));
    }
    for task in tasks {
        task.await.unwrap().expect("every valid write succeeds");
    }
    let incidents = store
        .list_incidents(IncidentFilter::default())
        .await
        .unwrap();
    assert_eq!(incidents.len(), 8, "eight distinct instructions");
    let stored = store.events_after(EventId(0), 1000).await.unwrap();
    assert_eq!(
        stored.len(),
        8,
        "one event per new intake; positions are not events"
    );
    let received = next_events(&mut live, stored.len()).await;
    assert_eq!(received, stored, "published as stored, in id order");
    assert!(stored.windows(2).all(|w| w[0].id < w[1].id));
    // Every committed position is pushed once; the failed ones are not.
    let mut moved = Vec::new();
    while moved.len() < 12 {
        let m = tokio::time::timeout(std::time::Duration::from_secs(10), moves_live.recv())
            .await
            .expect("every position pushed")
            .unwrap();
        moved.push(m.unit_id);
    }
    assert!(moved.iter().all(|u| units.contains(u)));
    let mut chained = store.events_after(EventId(0), 1000).await.unwrap();
    chained.sort_by_key(|e| e.id);
    assert!(
        chained.windows(2).all(|w| w[1].id.0 == w[0].id.0 + 1),
        "event ids are dense (sealed in order)"
    );
    // Sealed as written, by the writer and by the intake function in one
    // batch, around failed jobs: the chain is whole.
    let reports = crate::chain::verify(store.as_ref()).await.unwrap();
    assert!(
        reports.iter().all(|r| r.broken.is_none()),
        "the chain is whole: {reports:?}"
    );
}

pub async fn dispatch_arrival_and_close(store: SharedStore) {
    let units = seeded(&store).await;
    let (post, volunteers) = (units[0], units[1]);
    let incident = take_in(
        &store,
        intake(
            Some("110-1"),
            DefaultCategory::FightAssault.into(),
            point(0.0, 0.0),
            0,
        ),
    )
    .await;

    let dispatched = store
        .dispatch(incident.id, vec![post, volunteers], dispatcher())
        .await
        .unwrap();
    assert_eq!(dispatched.status, IncidentStatus::Dispatched);
    assert!(dispatched.dispatched_at.is_some());
    assert_eq!(dispatched.assignments.len(), 2);
    assert_eq!(
        store.get_unit(post).await.unwrap().status,
        UnitStatus::Dispatched
    );
    assert_eq!(
        store.get_unit(post).await.unwrap().incident_id,
        Some(incident.id)
    );

    let actor = Actor::system("unit");
    store
        .update_unit_status(volunteers, UnitStatus::OnScene, actor.clone())
        .await
        .unwrap();
    let after_helper = store.get_incident(incident.id).await.unwrap();
    assert_eq!(after_helper.status, IncidentStatus::OnScene);
    assert!(
        after_helper.first_helper_on_scene_at.is_some(),
        "the volunteers' arrival is the first response"
    );
    assert!(
        after_helper.first_police_on_scene_at.is_none(),
        "no police yet"
    );

    store
        .update_unit_status(post, UnitStatus::EnRoute, actor.clone())
        .await
        .unwrap();
    store
        .update_unit_status(post, UnitStatus::OnScene, actor.clone())
        .await
        .unwrap();
    let after_police = store.get_incident(incident.id).await.unwrap();
    assert!(after_police.first_police_on_scene_at.is_some());
    assert!(after_police.first_police_on_scene_at >= after_police.first_helper_on_scene_at);

    store
        .add_note(
            incident.id,
            "Both slightly hurt; taken to the station".into(),
            actor.clone(),
        )
        .await
        .unwrap();
    let closed = store
        .close_incident(
            incident.id,
            Disposition::ReferredToMediation,
            Some("三所一庭".into()),
            dispatcher(),
        )
        .await
        .unwrap();
    assert_eq!(closed.status, IncidentStatus::Closed);
    assert_eq!(closed.disposition, Some(Disposition::ReferredToMediation));
    assert!(
        closed.assignments.iter().all(|a| a.released_at.is_some()),
        "closing releases every unit"
    );
    for unit in [post, volunteers] {
        let unit = store.get_unit(unit).await.unwrap();
        assert_eq!(
            unit.status,
            UnitStatus::OnPatrol,
            "a unit that clears goes back to patrol"
        );
        assert_eq!(unit.incident_id, None);
    }

    let kinds: Vec<&str> = store
        .timeline(incident.id)
        .await
        .unwrap()
        .iter()
        .map(|e| e.kind.name())
        .collect();
    assert_eq!(
        kinds,
        [
            "incident_received",
            "units_dispatched",
            "unit_status_changed",
            "unit_status_changed",
            "incident_status_changed",
            "unit_status_changed",
            "incident_status_changed",
            "unit_status_changed",
            "unit_status_changed",
            "note_added",
            "incident_closed",
            "unit_status_changed",
            "unit_status_changed",
        ]
    );
}

pub async fn dispatch_race_has_one_winner(store: SharedStore) {
    let units = seeded(&store).await;
    let contested = units[2];
    let mut incidents = Vec::new();
    for i in 0..16 {
        let location = point(f64::from(i) * 50.0 - 400.0, 0.0);
        let mut report = intake(
            None,
            DefaultCategory::Theft.into(),
            location,
            i64::from(i) * 20,
        );
        report.source = IntakeSource::Phone;
        incidents.push(take_in(&store, report).await.id);
    }
    let tasks: Vec<_> = incidents
        .iter()
        .map(|&incident| {
            let store = store.clone();
            tokio::spawn(async move {
                store
                    .dispatch(incident, vec![contested], dispatcher())
                    .await
            })
        })
        .collect();
    let mut wins = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(_) => wins += 1,
            Err(StoreError::Rule(DomainError::UnitUnavailable { unit, .. })) => {
                assert_eq!(unit, contested.0)
            }
            Err(other) => panic!("unexpected error {other:?}"),
        }
    }
    assert_eq!(wins, 1, "exactly one dispatcher wins the unit");
    let assigned: usize = {
        let mut n = 0;
        for id in &incidents {
            n += store.get_incident(*id).await.unwrap().assignments.len();
        }
        n
    };
    assert_eq!(assigned, 1, "one assignment in total");
}

pub async fn dispatch_is_all_or_nothing(store: SharedStore) {
    let units = seeded(&store).await;
    let a = take_in(
        &store,
        intake(None, DefaultCategory::Theft.into(), point(0.0, 0.0), 0),
    )
    .await;
    let b = take_in(
        &store,
        intake(None, DefaultCategory::Robbery.into(), point(900.0, 0.0), 40),
    )
    .await;
    store
        .dispatch(a.id, vec![units[2]], dispatcher())
        .await
        .unwrap();
    let events = event_count(&store).await;
    let err = store
        .dispatch(b.id, vec![units[0], units[2]], dispatcher())
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::Rule(DomainError::UnitUnavailable { .. })),
        "{err:?}"
    );
    assert_eq!(
        store.get_unit(units[0]).await.unwrap().status,
        UnitStatus::OnPatrol,
        "the free unit was not taken"
    );
    assert_eq!(
        store.get_incident(b.id).await.unwrap().status,
        IncidentStatus::Received
    );
    assert_eq!(
        event_count(&store).await,
        events,
        "a failed dispatch writes no event"
    );

    let unknown = store
        .dispatch(b.id, vec![UnitId(9999)], dispatcher())
        .await
        .unwrap_err();
    assert!(
        matches!(unknown, StoreError::NotFound { entity: "unit", .. }),
        "{unknown:?}"
    );
    let empty = store
        .dispatch(b.id, vec![], dispatcher())
        .await
        .unwrap_err();
    assert!(
        matches!(empty, StoreError::Rule(DomainError::InvalidInput { .. })),
        "{empty:?}"
    );
    let twice = store
        .dispatch(b.id, vec![units[0], units[0]], dispatcher())
        .await
        .unwrap_err();
    assert!(
        matches!(twice, StoreError::Rule(DomainError::InvalidInput { .. })),
        "{twice:?}"
    );
}

pub async fn illegal_unit_transition_changes_nothing(store: SharedStore) {
    let units = seeded(&store).await;
    let events = event_count(&store).await;
    for to in [
        UnitStatus::OnScene,
        UnitStatus::Clearing,
        UnitStatus::Dispatched,
        UnitStatus::EnRoute,
    ] {
        let err = store
            .update_unit_status(units[0], to, dispatcher())
            .await
            .unwrap_err();
        assert!(
            matches!(err, StoreError::Rule(DomainError::IllegalTransition { .. })),
            "on_patrol -> {to}: {err:?}"
        );
    }
    assert_eq!(
        store.get_unit(units[0]).await.unwrap().status,
        UnitStatus::OnPatrol
    );
    assert_eq!(event_count(&store).await, events);
    let unit = store
        .update_unit_status(units[0], UnitStatus::AtPost, dispatcher())
        .await
        .unwrap();
    assert_eq!(unit.status, UnitStatus::AtPost);
}

pub async fn closed_incident_rejects_changes(store: SharedStore) {
    let units = seeded(&store).await;
    let incident = take_in(
        &store,
        intake(None, DefaultCategory::Theft.into(), point(0.0, 0.0), 0),
    )
    .await;
    store
        .close_incident(incident.id, Disposition::NoActionNeeded, None, dispatcher())
        .await
        .unwrap();
    let err = store
        .dispatch(incident.id, vec![units[0]], dispatcher())
        .await
        .unwrap_err();
    assert_eq!(
        err,
        StoreError::Rule(DomainError::IncidentClosed {
            incident: incident.id.0
        })
    );
    let again = store
        .close_incident(
            incident.id,
            Disposition::ResolvedOnScene,
            None,
            dispatcher(),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(
            again,
            StoreError::Rule(DomainError::IllegalTransition { .. })
        ),
        "{again:?}"
    );
    let merged = store
        .close_incident(
            incident.id,
            Disposition::MergedAsDuplicate,
            None,
            dispatcher(),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(merged, StoreError::Rule(DomainError::InvalidInput { .. })),
        "{merged:?}"
    );
    let missing = store.get_incident(IncidentId(424242)).await.unwrap_err();
    assert!(matches!(
        missing,
        StoreError::NotFound {
            entity: "incident",
            ..
        }
    ));
}

pub async fn events_are_published_in_commit_order(store: SharedStore) {
    let units = seeded(&store).await;
    let mut live = store.subscribe();
    let incident = take_in(
        &store,
        intake(None, DefaultCategory::Theft.into(), point(0.0, 0.0), 0),
    )
    .await;
    store
        .dispatch(incident.id, vec![units[0]], dispatcher())
        .await
        .unwrap();
    let stored = store.events_after(EventId(0), 1000).await.unwrap();
    assert!(!stored.is_empty());
    let received = next_events(&mut live, stored.len()).await;
    assert_eq!(
        received, stored,
        "published events equal stored events, in order"
    );
    assert!(stored.windows(2).all(|w| w[0].id < w[1].id));
    let tail = store.events_after(stored[1].id, 1000).await.unwrap();
    assert_eq!(tail, stored[2..].to_vec());
}

pub async fn position_report_moves_unit(store: SharedStore) {
    let units = seeded(&store).await;
    let target = point(300.0, -200.0);
    let events_before = store.events_after(EventId(0), 1000).await.unwrap();
    let mut pushed = store.subscribe_positions();
    let unit = store
        .report_unit_position(units[1], target, Actor::system("gps"))
        .await
        .unwrap();
    assert_eq!(unit.position, Some(target));
    assert!(unit.position_at.is_some());
    let stored = store.get_unit(units[1]).await.unwrap();
    assert_eq!(stored.position, Some(target), "the unit's row moved");
    assert_eq!(stored.position_at, unit.position_at);
    // Pushed live once committed (acknowledged after), with no event row.
    let moved = pushed
        .try_recv()
        .expect("pushed before the acknowledgement");
    assert_eq!(
        (moved.unit_id, moved.position, Some(moved.at)),
        (units[1], target, unit.position_at)
    );
    assert_eq!(
        store.events_after(EventId(0), 1000).await.unwrap(),
        events_before,
        "a position is not an event of the record"
    );
    let missing = store
        .report_unit_position(UnitId(777), target, Actor::system("gps"))
        .await
        .unwrap_err();
    assert!(matches!(missing, StoreError::NotFound { .. }));

    // A unit at work reports positions: they are its track, read by unit
    // and time, and not entries of the incident's timeline.
    let incident = take_in(
        &store,
        intake(
            Some("110-track"),
            DefaultCategory::FightAssault.into(),
            point(0.0, 0.0),
            0,
        ),
    )
    .await;
    store
        .dispatch(incident.id, vec![units[0]], dispatcher())
        .await
        .unwrap();
    let before = store.timeline(incident.id).await.unwrap();
    // Whatever the store's clock says: from 1970 to 2200.
    let from = chrono::DateTime::from_timestamp_millis(0).unwrap();
    let until = chrono::DateTime::from_timestamp_millis(7_258_118_400_000).unwrap();
    let path: Vec<Coordinates> = (0..30).map(|k| point(10.0 * k as f64, 0.0)).collect();
    for p in &path {
        store
            .report_unit_position(units[0], *p, Actor::system("gps"))
            .await
            .unwrap();
    }
    let after = store.timeline(incident.id).await.unwrap();
    assert_eq!(after, before, "position reports are not timeline entries");
    let track = store.unit_track(units[0], from, until, 1000).await.unwrap();
    let points: Vec<Coordinates> = track.iter().map(|t| t.position).collect();
    assert_eq!(points, path, "the track, oldest first");
    assert!(track.windows(2).all(|w| w[0].at <= w[1].at));
    let limited = store.unit_track(units[0], from, until, 5).await.unwrap();
    assert_eq!(limited.len(), 5);
    let other = store.unit_track(units[2], from, until, 1000).await.unwrap();
    assert!(other.is_empty(), "another unit's track is its own");
}

pub async fn list_filters(store: SharedStore) {
    let units = seeded(&store).await;
    let a = take_in(
        &store,
        intake(None, DefaultCategory::Theft.into(), point(0.0, 0.0), 0),
    )
    .await;
    let b = take_in(
        &store,
        intake(None, DefaultCategory::Fire.into(), point(0.0, 0.0), 1),
    )
    .await;
    let c = take_in(
        &store,
        intake(
            None,
            DefaultCategory::HelpRequest.into(),
            point(0.0, 0.0),
            2,
        ),
    )
    .await;
    store
        .close_incident(a.id, Disposition::NoActionNeeded, None, dispatcher())
        .await
        .unwrap();
    store
        .dispatch(b.id, vec![units[1]], dispatcher())
        .await
        .unwrap();

    let ids = |list: Vec<precinct_domain::incident::Incident>| {
        list.into_iter().map(|i| i.id).collect::<Vec<_>>()
    };
    let all = store
        .list_incidents(IncidentFilter::default())
        .await
        .unwrap();
    assert_eq!(ids(all), [c.id, b.id, a.id], "newest first");
    let open = store
        .list_incidents(IncidentFilter {
            open_only: true,
            ..IncidentFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(ids(open), [c.id, b.id]);
    let mine = store
        .list_incidents(IncidentFilter {
            assigned_unit: Some(units[1]),
            ..IncidentFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(ids(mine), [b.id]);
    let received = store
        .list_incidents(IncidentFilter {
            status: Some(IncidentStatus::Received),
            ..IncidentFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(ids(received), [c.id]);
    let window = IncidentFilter {
        reported_from: Some(at(1)),
        reported_until: Some(at(2)),
        ..IncidentFilter::default()
    };
    assert_eq!(
        ids(store.list_incidents(window).await.unwrap()),
        [b.id],
        "reported in [from, until)"
    );
    let limited = store
        .list_incidents(IncidentFilter {
            limit: 1,
            ..IncidentFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(ids(limited), [c.id]);
}

pub async fn users_and_sessions(store: SharedStore) {
    let units = seeded(&store).await;
    let new_user = NewUser {
        username: Username::parse("yeyuan.vol").unwrap(),
        display_name: "夜市义警".into(),
        role: Role::Volunteer,
        password_hash: "$argon2id$stub".into(),
        unit_id: Some(units[1]),
        organisation_id: None,
    };
    let user = store
        .create_user(new_user.clone(), Actor::system("test"))
        .await
        .unwrap();
    assert_eq!(user.unit_id, Some(units[1]));
    assert!(matches!(
        store
            .create_user(new_user, Actor::system("test"))
            .await
            .unwrap_err(),
        StoreError::AlreadyExists(_)
    ));
    assert_eq!(store.count_users().await.unwrap(), 1);
    // One event records the account made (and none the refused one).
    let created: Vec<_> = store
        .events_after(EventId(0), 100_000)
        .await
        .unwrap()
        .into_iter()
        .filter_map(|e| match e.kind {
            EventKind::AccountCreated {
                user_id,
                username,
                role,
            } => Some((user_id, username, role)),
            _ => None,
        })
        .collect();
    assert_eq!(
        created,
        vec![(user.id, "yeyuan.vol".to_owned(), Role::Volunteer)]
    );
    let creds = store
        .credentials(&user.username)
        .await
        .unwrap()
        .expect("exists");
    assert_eq!(creds.user, user);
    assert_eq!(creds.password_hash, "$argon2id$stub");
    assert!(
        store
            .credentials(&Username::parse("nobody").unwrap())
            .await
            .unwrap()
            .is_none()
    );

    let future = Utc::now() + Duration::hours(1);
    store
        .create_session("live".into(), user.id, future, Some("10.0.0.7".into()))
        .await
        .unwrap();
    store
        .create_session(
            "expired".into(),
            user.id,
            Utc::now() - Duration::seconds(1),
            None,
        )
        .await
        .unwrap();
    assert_eq!(
        store
            .session_user("live".into())
            .await
            .unwrap()
            .map(|s| s.user),
        Some(user.clone())
    );
    assert_eq!(store.session_user("expired".into()).await.unwrap(), None);
    assert_eq!(store.session_user("unknown".into()).await.unwrap(), None);
    store.delete_session("live".into(), None).await.unwrap();
    assert_eq!(store.session_user("live".into()).await.unwrap(), None);
}

/// A second factor enrolled, confirmed, used once per code; sessions listed,
/// touched and ended.
pub async fn second_factors_and_sessions(store: SharedStore) {
    let user = store
        .create_user(
            NewUser {
                username: Username::parse("chief").unwrap(),
                display_name: "Chief".into(),
                role: Role::Admin,
                password_hash: "$argon2id$x".into(),
                unit_id: None,
                organisation_id: None,
            },
            Actor::system("test"),
        )
        .await
        .unwrap();
    assert!(!user.second_factor);
    assert_eq!(
        store.second_factor(user.id).await.unwrap(),
        SecondFactor::default()
    );
    let pending = SecondFactor {
        pending: Some("JBSWY3DPEHPK3PXP".into()),
        ..SecondFactor::default()
    };
    store
        .set_second_factor(user.id, pending.clone(), None)
        .await
        .unwrap();
    assert_eq!(store.second_factor(user.id).await.unwrap(), pending);
    let enrolled = SecondFactor {
        secret: Some("JBSWY3DPEHPK3PXP".into()),
        pending: None,
        last_step: Some(100),
        recovery_hashes: vec!["r1".into(), "r2".into()],
    };
    store
        .set_second_factor(user.id, enrolled.clone(), None)
        .await
        .unwrap();
    let credentials = store.credentials(&user.username).await.unwrap().unwrap();
    assert!(credentials.user.second_factor);
    // A code's step is accepted once, and never an earlier one.
    use SecondFactorProof::{Recovery, Step};
    assert!(
        !store
            .consume_second_factor(user.id, Step(100), None)
            .await
            .unwrap()
    );
    assert!(
        store
            .consume_second_factor(user.id, Step(101), None)
            .await
            .unwrap()
    );
    assert!(
        !store
            .consume_second_factor(user.id, Step(101), None)
            .await
            .unwrap()
    );
    // A recovery code is used up.
    assert!(
        store
            .consume_second_factor(user.id, Recovery("r2".into()), None)
            .await
            .unwrap()
    );
    assert!(
        !store
            .consume_second_factor(user.id, Recovery("r2".into()), None)
            .await
            .unwrap()
    );
    assert_eq!(
        store.second_factor(user.id).await.unwrap().recovery_hashes,
        ["r1"]
    );

    store
        .create_session(
            "s1".into(),
            user.id,
            Utc::now() + Duration::hours(12),
            Some("10.1.1.1".into()),
        )
        .await
        .unwrap();
    let session = store.session_user("s1".into()).await.unwrap().unwrap();
    assert!(session.user.second_factor);
    assert_eq!(session.created_at, session.last_seen_at);
    let later = session.last_seen_at + Duration::minutes(5);
    store.touch_session("s1".into(), later).await.unwrap();
    // Touches never move it back.
    store
        .touch_session("s1".into(), session.last_seen_at)
        .await
        .unwrap();
    let session = store.session_user("s1".into()).await.unwrap().unwrap();
    assert_eq!(session.last_seen_at, later);
    let listed = store.list_sessions().await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].token_hash, "s1");
    assert_eq!(listed[0].username, "chief");
    assert_eq!(listed[0].address.as_deref(), Some("10.1.1.1"));
    store.delete_session("s1".into(), None).await.unwrap();
    assert!(store.list_sessions().await.unwrap().is_empty());
}

pub async fn audit_round_trip(store: SharedStore) {
    let entry = AuditEntry {
        at: at(0),
        user_id: None,
        username: "dispatcher".into(),
        action: "read_caller".into(),
        subject: "incident 1".into(),
    };
    store.record_audit(entry.clone()).await.unwrap();
    assert_eq!(store.audit_log(10).await.unwrap(), [entry]);
}

pub async fn ground_round_trip(store: SharedStore) {
    assert_eq!(
        store.jurisdiction().await.unwrap(),
        Jurisdiction::default(),
        "an empty station has empty ground"
    );
    store.replace_jurisdiction(fixture_ground()).await.unwrap();
    assert_eq!(store.jurisdiction().await.unwrap(), fixture_ground());
}

pub async fn roads_round_trip(store: SharedStore) {
    assert!(
        store.roads().await.unwrap().is_empty(),
        "no roads until generated or imported"
    );
    let ways = precinct_geo::roads::grid_ways(origin(), 3, 4, 100.0, 2, 0);
    let addresses = vec![precinct_geo::roads::PointAddress {
        location: origin(),
        street: Some("美食七街".into()),
        housenumber: Some("7".into()),
        name: None,
    }];
    store
        .replace_roads(
            ways.clone(),
            addresses.clone(),
            vec![precinct_geo::roads::MapArea {
                kind: precinct_geo::roads::AreaKind::Water,
                points: vec![
                    origin(),
                    origin().offset_m(10.0, 0.0),
                    origin().offset_m(0.0, 10.0),
                    origin(),
                ],
                name: None,
            }],
            Actor::system("test"),
        )
        .await
        .unwrap();
    assert_eq!(store.roads().await.unwrap(), ways);
    assert_eq!(store.road_addresses().await.unwrap(), addresses);
    assert_eq!(store.road_areas().await.unwrap().len(), 1);
    store
        .replace_roads(
            ways[..2].to_vec(),
            Vec::new(),
            Vec::new(),
            Actor::system("test"),
        )
        .await
        .unwrap();
    assert_eq!(
        store.roads().await.unwrap(),
        ways[..2].to_vec(),
        "replacing replaces"
    );
    assert!(store.road_addresses().await.unwrap().is_empty());
    let replaced: Vec<u32> = store
        .events_after(EventId(0), 100_000)
        .await
        .unwrap()
        .into_iter()
        .filter_map(|e| match e.kind {
            EventKind::RoadsReplaced { ways } => Some(ways),
            _ => None,
        })
        .collect();
    assert_eq!(
        replaced,
        vec![ways.len() as u32, 2],
        "each replacement is an event"
    );
}

pub async fn first_response_task_flow(store: SharedStore) {
    let units = seeded(&store).await;
    let (post, volunteers) = (units[0], units[1]);
    let actor = Actor::system("field");
    let incident = take_in(
        &store,
        intake(
            Some("110-1"),
            DefaultCategory::FightAssault.into(),
            point(0.0, 0.0),
            0,
        ),
    )
    .await;
    store
        .dispatch(incident.id, vec![post, volunteers], dispatcher())
        .await
        .unwrap();

    let police_task = store.accept_task(post, actor.clone()).await.unwrap_err();
    assert!(
        matches!(
            police_task,
            StoreError::Rule(DomainError::InvalidInput { .. })
        ),
        "police have no first-response task: {police_task:?}"
    );
    let accepted = store.accept_task(volunteers, actor.clone()).await.unwrap();
    assert_eq!(accepted.status, UnitStatus::EnRoute, "accepting sets off");
    let twice = store
        .accept_task(volunteers, actor.clone())
        .await
        .unwrap_err();
    assert!(matches!(twice, StoreError::Rule(_)), "{twice:?}");
    let late_decline = store
        .decline_task(volunteers, None, actor.clone())
        .await
        .unwrap_err();
    assert!(
        matches!(late_decline, StoreError::Rule(_)),
        "an accepted task is not declined: {late_decline:?}"
    );

    store
        .update_unit_status(volunteers, UnitStatus::OnScene, actor.clone())
        .await
        .unwrap();
    let too_early = store
        .hand_over(volunteers, actor.clone())
        .await
        .unwrap_err();
    assert!(
        matches!(too_early, StoreError::Rule(_)),
        "no hand-over before police arrive: {too_early:?}"
    );
    store
        .update_unit_status(post, UnitStatus::EnRoute, actor.clone())
        .await
        .unwrap();
    store
        .update_unit_status(post, UnitStatus::OnScene, actor.clone())
        .await
        .unwrap();
    let handed = store.hand_over(volunteers, actor.clone()).await.unwrap();
    assert_eq!(handed.status, UnitStatus::OnPatrol);
    assert_eq!(handed.incident_id, None);
    let assignment = store
        .get_incident(incident.id)
        .await
        .unwrap()
        .assignments
        .into_iter()
        .find(|a| a.unit_id == volunteers)
        .unwrap();
    assert!(
        assignment.accepted_at.is_some()
            && assignment.arrived_at.is_some()
            && assignment.handed_over_at.is_some()
    );
    assert!(assignment.released_at.is_some());
    let kinds: Vec<&str> = store
        .timeline(incident.id)
        .await
        .unwrap()
        .iter()
        .map(|e| e.kind.name())
        .collect();
    for step in ["first_response_accepted", "handed_over"] {
        assert!(
            kinds.contains(&step),
            "{step} is on the timeline: {kinds:?}"
        );
    }

    // Another helper, sent and declining: released at once.
    let other = take_in(
        &store,
        intake(None, DefaultCategory::Theft.into(), point(900.0, 0.0), 30),
    )
    .await;
    store
        .dispatch(other.id, vec![volunteers], dispatcher())
        .await
        .unwrap();
    let declined = store
        .decline_task(volunteers, Some("已在处置另一起".into()), actor.clone())
        .await
        .unwrap();
    assert_eq!(
        (declined.status, declined.incident_id),
        (UnitStatus::OnPatrol, None)
    );
    let last = store.timeline(other.id).await.unwrap().pop().unwrap();
    assert_eq!(last.kind.name(), "unit_status_changed");
    assert!(
        store
            .timeline(other.id)
            .await
            .unwrap()
            .iter()
            .any(|e| e.kind.name() == "first_response_declined")
    );
}

pub async fn road_closures_round_trip(store: SharedStore) {
    let actor = Actor::system("指挥室");
    store
        .close_roads(vec![3, 1, 3], Some("施工".into()), actor.clone())
        .await
        .unwrap();
    let closed = store.road_closures().await.unwrap();
    assert_eq!(closed.iter().map(|c| c.segment).collect::<Vec<_>>(), [1, 3]);
    assert!(
        closed
            .iter()
            .all(|c| c.reason.as_deref() == Some("施工") && c.closed_by == "指挥室")
    );
    let last = store
        .events_after(EventId(0), 100)
        .await
        .unwrap()
        .pop()
        .unwrap();
    assert!(
        matches!(last.kind, EventKind::RoadsClosed { ref segments, .. } if segments == &[1, 3])
    );
    store.reopen_roads(vec![1], actor.clone()).await.unwrap();
    assert_eq!(
        store
            .road_closures()
            .await
            .unwrap()
            .iter()
            .map(|c| c.segment)
            .collect::<Vec<_>>(),
        [3]
    );
    let empty = store.close_roads(vec![], None, actor).await.unwrap_err();
    assert!(
        matches!(empty, StoreError::Rule(DomainError::InvalidInput { .. })),
        "{empty:?}"
    );
}

fn noise_dispute() -> precinct_domain::dispute::NewDispute {
    use precinct_domain::dispute::*;
    use precinct_domain::ids::OrganisationId;
    NewDispute {
        source: DisputeSource::Screening,
        category: DisputeCategory::NeighbourNoise,
        summary: "广场舞噪音".into(),
        address: "怡园小区中心广场".into(),
        location: Some(origin()),
        community_id: Some(CommunityId(1)),
        incident_ids: vec![],
        parties: vec![
            Party {
                name: "业主代表".into(),
                phone: Some(precinct_domain::incident::PhoneNumber::parse("13800138000").unwrap()),
                vulnerable: false,
                organisation: None,
            },
            Party {
                name: "舞蹈队".into(),
                phone: None,
                vulnerable: false,
                organisation: None,
            },
        ],
        responsible_org: OrganisationId(1),
        participating_orgs: vec![OrganisationId(2)],
    }
}

/// A user of `role` in `organisation` (not stored: the rules only read it).
fn case_worker(role: Role, organisation: Option<i64>) -> precinct_domain::user::User {
    precinct_domain::user::User {
        id: UserId(900 + organisation.unwrap_or(0)),
        username: Username::parse("case.worker").unwrap(),
        display_name: format!("{role}"),
        role,
        unit_id: None,
        organisation_id: organisation.map(precinct_domain::ids::OrganisationId),
        phone: None,
        disabled: false,
        must_change_password: false,
        second_factor: false,
    }
}

/// The dispute changes among `events`: (case, kind of change, status).
fn dispute_changes(events: &[precinct_domain::event::Event]) -> Vec<(i64, &'static str, String)> {
    events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::DisputeChanged {
                dispute_id,
                status,
                change,
                ..
            } => Some((dispute_id.0, change.name(), status.to_string())),
            _ => None,
        })
        .collect()
}

pub async fn disputes_change_through_the_writer_with_their_events(store: SharedStore) {
    use precinct_domain::dispute::*;
    use precinct_domain::ids::OrganisationId;
    let police = case_worker(Role::Dispatcher, None);
    let actor = |name: &str| Actor {
        user_id: Some(UserId(1)),
        name: name.into(),
    };
    let mut live = store.subscribe();

    // Opening writes the case at version 1 with its `registered` event.
    let opened = store
        .open_dispute(noise_dispute(), None, police.clone(), actor("网格员"))
        .await
        .unwrap();
    let case = opened.dispute;
    assert!(case.id.0 > 0);
    assert_eq!(case.version, 1);
    assert_eq!(case.history.len(), 1);
    let events = next_events(&mut live, 1).await;
    assert_eq!(
        dispute_changes(&events),
        [(case.id.0, "registered", "registered".into())]
    );
    match &events[0].kind {
        EventKind::DisputeChanged { organisations, .. } => {
            assert_eq!(organisations, &[OrganisationId(1), OrganisationId(2)]);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        store.get_dispute(case.id).await.unwrap(),
        case,
        "the case round-trips whole, history from the event log"
    );

    // Every operation of a case's life, each one event (or more) in its own
    // transaction, each read back equal to what the change returned.
    let now = Utc::now();
    let steps: Vec<(DisputeOp, &[&str], &str)> = vec![
        (
            DisputeOp::Accept {
                mediators: vec![UserId(7)],
            },
            &["accepted"],
            "accepted",
        ),
        (
            DisputeOp::PlanSession(PlannedSession {
                at: now + Duration::days(1),
                venue: Venue::MediationRoom,
                organisations: vec![OrganisationId(1), OrganisationId(2)],
                notes: "带上录音".into(),
                planned_by: "调解员".into(),
            }),
            &["session_planned"],
            "accepted",
        ),
        (
            DisputeOp::RecordSession(MediationSession {
                at: now + Duration::days(1),
                venue: Venue::MediationRoom,
                participants: vec![Participant {
                    name: "司法所李某".into(),
                    role: "调解员".into(),
                    organisation_id: Some(OrganisationId(2)),
                }],
                notes: "双方同意调整时间".into(),
                outcome: SessionOutcome::Agreement,
                recorded_by: "调解员".into(),
            }),
            &["session_recorded"],
            "agreement_reached",
        ),
        (
            DisputeOp::DraftAgreement {
                facts: "广场舞音量过大".into(),
                terms: vec!["晚九点后停止".into(), "音量不超过60分贝".into()],
            },
            &["agreement_drafted"],
            "agreement_reached",
        ),
        (
            DisputeOp::Sign {
                party: "业主代表".into(),
            },
            &["signed"],
            "agreement_reached",
        ),
        (
            DisputeOp::Sign {
                party: "舞蹈队".into(),
            },
            &["signed"],
            "follow_up",
        ),
        (
            DisputeOp::RecordFollowUp {
                outcome: FollowUpOutcome::Stable,
                notes: None,
            },
            &["follow_up_recorded"],
            "follow_up",
        ),
        (
            DisputeOp::RecordFollowUp {
                outcome: FollowUpOutcome::Stable,
                notes: Some("稳定".into()),
            },
            &["follow_up_recorded"],
            "closed",
        ),
    ];
    let mut version = 1;
    for (op, kinds, status) in steps {
        let changed = store
            .change_dispute(
                case.id,
                Some(version),
                op.clone(),
                police.clone(),
                actor("调解员"),
            )
            .await
            .unwrap_or_else(|e| panic!("{op:?}: {e}"))
            .dispute;
        version += 1;
        assert_eq!(changed.version, version, "{op:?} raises the version");
        assert_eq!(changed.status.as_str(), status, "{op:?}");
        let events = next_events(&mut live, kinds.len()).await;
        let got: Vec<&str> = dispute_changes(&events).iter().map(|c| c.1).collect();
        assert_eq!(&got, kinds, "{op:?} writes its events");
        assert_eq!(store.get_dispute(case.id).await.unwrap(), changed, "{op:?}");
    }
    // Each answer showed the parties: each change audited that read, in its
    // own transaction.
    let audited = store
        .audit_log(100)
        .await
        .unwrap()
        .iter()
        .filter(|e| e.action == "read_parties" && e.subject == format!("dispute {}", case.id))
        .count();
    assert_eq!(audited, 8, "one audited read per change");
    let closed = store.get_dispute(case.id).await.unwrap();
    assert_eq!(closed.status, DisputeStatus::Closed);
    assert_eq!(closed.history.len(), 9);
    assert_eq!(closed.sessions[0].participants.len(), 1);
    assert_eq!(closed.agreement.as_ref().unwrap().signatures.len(), 2);
    assert_eq!(closed.follow_ups.len(), 2);
    assert!(
        closed.planned_sessions.is_empty(),
        "the session held fulfils the planned one"
    );

    // Refused changes change nothing and write no event.
    let before = event_count(&store).await;
    let refused = store
        .change_dispute(
            case.id,
            None,
            DisputeOp::Accept { mediators: vec![] },
            police.clone(),
            actor("x"),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(
            refused,
            StoreError::Rule(DomainError::IllegalTransition { .. })
        ),
        "{refused:?}"
    );
    let second = store
        .open_dispute(noise_dispute(), None, police.clone(), actor("网格员"))
        .await
        .unwrap()
        .dispute;
    assert_eq!(second.id.0, case.id.0 + 1);
    assert_eq!(
        store
            .open_dispute(noise_dispute(), None, police.clone(), actor("网格员"))
            .await
            .unwrap()
            .repeats,
        [second.id, case.id],
        "a third case at the address repeats the earlier two"
    );
    let before = before + 2;
    let no_reason = store
        .change_dispute(
            second.id,
            Some(1),
            DisputeOp::Close { reason: None },
            police.clone(),
            actor("x"),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(
            no_reason,
            StoreError::Rule(DomainError::InvalidInput { .. })
        ),
        "{no_reason:?}"
    );
    assert_eq!(
        event_count(&store).await,
        before,
        "a refused change writes no event"
    );
    assert_eq!(store.get_dispute(second.id).await.unwrap(), second);

    // Access: another organisation's mediator does not see the case; a
    // participating one works it but only the leading one accepts it.
    let outsider = case_worker(Role::Mediator, Some(9));
    let participant = case_worker(Role::Mediator, Some(2));
    let leader = case_worker(Role::Mediator, Some(1));
    let accept = DisputeOp::Accept { mediators: vec![] };
    assert!(matches!(
        store
            .change_dispute(second.id, None, accept.clone(), outsider, actor("x"))
            .await
            .unwrap_err(),
        StoreError::NotFound { .. }
    ));
    assert!(matches!(
        store
            .change_dispute(second.id, None, accept.clone(), participant, actor("x"))
            .await
            .unwrap_err(),
        StoreError::Forbidden(_)
    ));

    // Two mediators change version 1 at once: exactly one wins; the other
    // gets `Stale` (409 conflict) and changes nothing.
    let (a, b) = tokio::join!(
        store.change_dispute(
            second.id,
            Some(1),
            accept.clone(),
            leader.clone(),
            actor("甲")
        ),
        store.change_dispute(
            second.id,
            Some(1),
            DisputeOp::Close {
                reason: Some("撤回".into())
            },
            police.clone(),
            actor("乙")
        ),
    );
    let (won, lost) = match (a, b) {
        (Ok(won), Err(lost)) | (Err(lost), Ok(won)) => (won.dispute, lost),
        other => panic!("exactly one change wins: {other:?}"),
    };
    assert!(matches!(lost, StoreError::Stale(_)), "{lost:?}");
    assert_eq!(store.get_dispute(second.id).await.unwrap(), won);
    assert_eq!(won.version, 2);

    // Failure, referral, closing after referral.
    let third = store
        .change_dispute(
            DisputeId(second.id.0 + 1),
            None,
            accept,
            police.clone(),
            actor("x"),
        )
        .await
        .unwrap()
        .dispute;
    for op in [
        DisputeOp::RecordSession(MediationSession {
            at: now,
            venue: Venue::OnSite,
            participants: vec![Participant {
                name: "双方".into(),
                role: "当事人".into(),
                organisation_id: None,
            }],
            notes: String::new(),
            outcome: SessionOutcome::Failed,
            recorded_by: "调解员".into(),
        }),
        DisputeOp::Refer(Referral::Court),
        DisputeOp::Close { reason: None },
    ] {
        store
            .change_dispute(third.id, None, op, police.clone(), actor("调解员"))
            .await
            .unwrap();
    }
    let third = store.get_dispute(third.id).await.unwrap();
    assert_eq!(third.status, DisputeStatus::Closed);
    assert_eq!(third.referral, Some(Referral::Court));

    // From an incident: only one closed as referred to mediation.
    let incident = take_in(
        &store,
        intake(
            None,
            DefaultCategory::NeighbourNoiseDispute.into(),
            origin(),
            0,
        ),
    )
    .await;
    let mut from_incident = noise_dispute();
    from_incident.source = DisputeSource::Incident;
    from_incident.summary = String::new();
    from_incident.category = DisputeCategory::Other;
    let early = store
        .open_dispute(
            from_incident.clone(),
            Some(incident.id),
            police.clone(),
            actor("x"),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(early, StoreError::Rule(DomainError::NotReferred { .. })),
        "{early:?}"
    );
    store
        .close_incident(
            incident.id,
            Disposition::ReferredToMediation,
            None,
            dispatcher(),
        )
        .await
        .unwrap();
    let referred = store
        .open_dispute(from_incident, Some(incident.id), police.clone(), actor("x"))
        .await
        .unwrap()
        .dispute;
    assert_eq!(referred.incident_ids, [incident.id]);
    assert_eq!(referred.summary, incident.summary);
    assert_eq!(referred.category, DisputeCategory::NeighbourNoise);

    // A recurrence flags the incident and lists it with the case, in one transaction.
    let later = take_in(
        &store,
        intake(
            None,
            DefaultCategory::NeighbourNoiseDispute.into(),
            origin(),
            1,
        ),
    )
    .await;
    store
        .flag_recurrence(
            later.id,
            vec![referred.id],
            Actor::system("recurrence check"),
        )
        .await
        .unwrap();
    let relinked = store.get_dispute(referred.id).await.unwrap();
    assert_eq!(relinked.incident_ids, [incident.id, later.id]);
    assert!(matches!(
        relinked.history.last().map(|h| &h.change),
        Some(DisputeChangeKind::IncidentLinked { .. })
    ));
    assert_eq!(relinked.version, referred.version + 1);

    // Which cases: all newest first; recent = open, or opened since.
    let all: Vec<i64> = store
        .list_disputes()
        .await
        .unwrap()
        .iter()
        .map(|d| d.id.0)
        .collect();
    assert_eq!(all.len(), 4);
    assert!(all.windows(2).all(|w| w[0] > w[1]), "newest first: {all:?}");
    let open_only: Vec<i64> = store
        .recent_disputes(Utc::now() + Duration::days(1))
        .await
        .unwrap()
        .iter()
        .map(|d| d.id.0)
        .collect();
    let closed_ids = [case.id.0, third.id.0];
    assert!(
        open_only.iter().all(|id| !closed_ids.contains(id)),
        "{open_only:?}"
    );
    assert_eq!(
        open_only.len(),
        2 - usize::from(won.status == DisputeStatus::Closed)
    );
    assert!(matches!(
        store.get_dispute(DisputeId(999_999)).await.unwrap_err(),
        StoreError::NotFound { .. }
    ));
}

pub async fn users_belong_to_organisations(store: SharedStore) {
    use precinct_domain::ids::OrganisationId;
    let user = store
        .create_user(
            NewUser {
                username: Username::parse("mediator.sfs").unwrap(),
                display_name: "司法所调解员".into(),
                role: Role::Mediator,
                password_hash: "$argon2id$stub".into(),
                unit_id: None,
                organisation_id: Some(OrganisationId(2)),
            },
            Actor::system("test"),
        )
        .await
        .unwrap();
    assert_eq!(user.organisation_id, Some(OrganisationId(2)));
    store
        .create_session("tok".into(), user.id, Utc::now() + Duration::hours(1), None)
        .await
        .unwrap();
    let again = store.session_user("tok".into()).await.unwrap().unwrap();
    assert_eq!(again.user.organisation_id, Some(OrganisationId(2)));
}

/// A station package imported in one transaction: a unit renamed, one added
/// at its post, one left out and retired (off duty, still readable); a new
/// account with its given password to change, one left out disabled with
/// its sessions ended, the administrator untouched; one `station_imported`
/// event published. The same package again changes nothing; a package
/// whose new account has no password changes nothing either.
pub async fn station_import_retires_disables_and_publishes(store: SharedStore) {
    use crate::InitialPasswords;
    use precinct_domain::station::{Layer, PersonRecord, Source, StationPackage, UnitRecord};
    let units = seeded(&store).await;
    let unit_user = |username: &str, role: Role, unit: Option<UnitId>| NewUser {
        username: Username::parse(username).unwrap(),
        display_name: username.into(),
        role,
        password_hash: "$argon2id$stub".into(),
        unit_id: unit,
        organisation_id: None,
    };
    let leaving = store
        .create_user(
            unit_user("li.wei", Role::Volunteer, Some(units[1])),
            Actor::system("test"),
        )
        .await
        .unwrap();
    store
        .create_user(unit_user("chief", Role::Admin, None), Actor::system("test"))
        .await
        .unwrap();
    let future = Utc::now() + Duration::hours(1);
    store
        .create_session("li-wei-session".into(), leaving.id, future, None)
        .await
        .unwrap();
    let record = |call_sign: &str, name: &str, kind: UnitKind| UnitRecord {
        at: Source::row("units.csv", None, 2),
        call_sign: call_sign.into(),
        name: name.into(),
        kind,
        post: Some("YY".into()),
        zone: None,
        capabilities: Vec::new(),
        phone: None,
        organisation: None,
        members: 2,
    };
    let package = StationPackage {
        name: "Suite station".into(),
        time_zone: "Asia/Shanghai".into(),
        units: Some(vec![
            record("POST-1", "Yiyuan post team", UnitKind::PostTeam),
            record("CAR-1", "CAR-1", UnitKind::PatrolCar),
            record("GRID-1", "Grid worker 1", UnitKind::GridWorker),
        ]),
        people: Some(vec![PersonRecord {
            at: Source::row("people.csv", None, 2),
            username: Username::parse("zhang.san").unwrap(),
            name: "张三".into(),
            role: Role::Volunteer,
            unit: Some("GRID-1".into()),
            organisation: None,
            phone: Some(PhoneNumber::parse("13800138000").unwrap()),
        }]),
        ..StationPackage::default()
    };
    let passwords = InitialPasswords {
        hashes: [("zhang.san".to_owned(), "$argon2id$one-time".to_owned())].into(),
        must_change: true,
    };
    let mut live = store.subscribe();
    let changes = store
        .import_station(
            package.clone(),
            passwords.clone(),
            dispatcher(),
            AuditEntry::command_line(Utc::now(), "import_station_package"),
        )
        .await
        .unwrap();
    let counted = |layer: Layer| {
        let c = changes.iter().find(|c| c.layer == layer).unwrap();
        (c.added, c.changed, c.retired, c.unchanged)
    };
    assert_eq!(counted(Layer::Units), (1, 2, 1, 0), "{changes:?}");
    assert_eq!(counted(Layer::People), (1, 0, 1, 0), "{changes:?}");
    assert_eq!(
        counted(Layer::Zones),
        (0, 0, 0, 1),
        "a layer left out is kept"
    );

    let listed = store.list_units().await.unwrap();
    let call_signs: Vec<&str> = listed.iter().map(|u| u.call_sign.as_str()).collect();
    assert_eq!(
        call_signs,
        ["POST-1", "CAR-1", "GRID-1"],
        "a retired unit is no longer listed"
    );
    let retired = store.get_unit(units[1]).await.unwrap();
    assert!(retired.retired);
    assert_eq!(
        retired.status,
        UnitStatus::OffDuty,
        "a free unit goes off duty"
    );
    let grid = listed.iter().find(|u| u.call_sign == "GRID-1").unwrap();
    assert_eq!(
        (grid.status, grid.position),
        (UnitStatus::AtPost, Some(point(0.0, 0.0)))
    );
    assert_eq!(listed[0].name, "Yiyuan post team");

    let new = store
        .credentials(&Username::parse("zhang.san").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(new.password_hash, "$argon2id$one-time");
    assert!(new.user.must_change_password);
    assert_eq!(new.user.unit_id, Some(grid.id));
    assert_eq!(new.user.phone.as_ref().unwrap().as_str(), "13800138000");
    let gone = store.credentials(&leaving.username).await.unwrap().unwrap();
    assert!(gone.user.disabled);
    assert_eq!(
        store.session_user("li-wei-session".into()).await.unwrap(),
        None
    );
    let chief = store
        .credentials(&Username::parse("chief").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert!(
        !chief.user.disabled,
        "administrators are never disabled by an import"
    );

    let published: Vec<_> = next_events(&mut live, 1)
        .await
        .into_iter()
        .chain(std::iter::from_fn(|| live.try_recv().ok()))
        .collect();
    let imported = published
        .iter()
        .find(|e| matches!(e.kind, EventKind::StationImported { .. }))
        .expect("a station_imported event is published");
    assert!(matches!(&imported.kind, EventKind::StationImported { changes: c } if *c == changes));

    // Again: nothing changes, no password is needed.
    let again = store
        .import_station(
            package.clone(),
            InitialPasswords::default(),
            dispatcher(),
            AuditEntry::command_line(Utc::now(), "import_station_package"),
        )
        .await
        .unwrap();
    assert!(
        again
            .iter()
            .all(|c| c.added == 0 && c.changed == 0 && c.retired == 0),
        "{again:?}"
    );

    // A new account without a password: refused, nothing written.
    let mut more = package;
    let people = more.people.as_mut().unwrap();
    let mut wang = people[0].clone();
    wang.username = Username::parse("wang.wu").unwrap();
    people.push(wang);
    more.units.as_mut().unwrap().pop();
    let events = event_count(&store).await;
    assert!(matches!(
        store
            .import_station(
                more,
                InitialPasswords::default(),
                dispatcher(),
                AuditEntry::command_line(Utc::now(), "import_station_package")
            )
            .await
            .unwrap_err(),
        StoreError::Stale(_)
    ));
    assert_eq!(
        store.list_units().await.unwrap().len(),
        3,
        "GRID-1 was not retired"
    );
    assert_eq!(event_count(&store).await, events);
    assert!(
        store
            .credentials(&Username::parse("wang.wu").unwrap())
            .await
            .unwrap()
            .is_none()
    );
}

/// The stored rollups equal a recomputation from the stored incidents after a
/// random sequence of intakes, dispatches, arrivals, merges and closes, and
/// every period read through them equals the same sums over raw incidents.
pub async fn rollups_equal_a_recomputation(store: SharedStore) {
    use crate::rollups::{self, Grain, Measures, RollupDim, RollupQuery};
    use precinct_domain::incident::Incident;
    let units = seeded(&store).await;
    let mut next = replayable(0x2545_F491_4F6C_DD1D);
    let categories: [Category; 5] = [
        DefaultCategory::Theft.into(),
        DefaultCategory::Burglary.into(),
        DefaultCategory::PublicDisturbance.into(),
        DefaultCategory::NeighbourNoiseDispute.into(),
        DefaultCategory::HelpRequest.into(),
    ];
    let dispositions = [
        Disposition::ResolvedOnScene,
        Disposition::NoActionNeeded,
        Disposition::CriminalCaseOpened,
    ];
    let mut open: Vec<IncidentId> = Vec::new();
    let actor = Actor::system("unit");
    for step in 0..160 {
        match next(12) {
            10 | 11 => {
                // Past incidents, some already imported by an earlier batch.
                let batch: Vec<HistoryRecord> = (0..1 + next(5))
                    .map(|_| {
                        let n = next(30);
                        history_record(
                            &format!("H-{n}"),
                            categories[(n % 5) as usize].clone(),
                            at(0) - Duration::hours(n as i64 * 97),
                        )
                    })
                    .collect();
                let mut batch = batch;
                batch.sort_by(|a, b| a.external_id.cmp(&b.external_id));
                batch.dedup_by(|a, b| a.external_id == b.external_id);
                store
                    .import_history(
                        "history.csv".into(),
                        batch,
                        dispatcher(),
                        AuditEntry::command_line(Utc::now(), "import_history"),
                    )
                    .await
                    .expect("history");
            }
            0..=4 => {
                let category = categories[next(5) as usize].clone();
                // Far apart, so no report is linked as a duplicate by chance.
                let location = point(next(40) as f64 * 400.0, next(40) as f64 * 400.0);
                let mut report = intake(None, category, location, 0);
                report.source = IntakeSource::Phone;
                report.summary = format!("call {step}");
                report.reported_at = at(0) - Duration::minutes(next(200 * 24 * 60) as i64);
                open.push(take_in(&store, report).await.id);
            }
            5 | 6 if !open.is_empty() => {
                let id = open[next(open.len() as u64) as usize];
                let unit = units[next(2) as usize];
                if store.dispatch(id, vec![unit], dispatcher()).await.is_ok() {
                    let _ = store
                        .update_unit_status(unit, UnitStatus::OnScene, actor.clone())
                        .await;
                }
            }
            7 if open.len() >= 2 => {
                let a = open.swap_remove(next(open.len() as u64) as usize);
                let b = open[next(open.len() as u64) as usize];
                store
                    .merge_incidents(a, b, dispatcher())
                    .await
                    .expect("merge");
            }
            _ if !open.is_empty() => {
                let id = open.swap_remove(next(open.len() as u64) as usize);
                let disposition = dispositions[next(3) as usize];
                store
                    .close_incident(id, disposition, None, dispatcher())
                    .await
                    .expect("close");
                // Free the units for the next dispatch.
                for unit in &units[..2] {
                    let _ = store
                        .update_unit_status(*unit, UnitStatus::OnPatrol, actor.clone())
                        .await;
                }
            }
            _ => {}
        }
    }
    // Offences reported decades ago (real exports reach back to the 1960s):
    // days and hours before 1970 must bucket as the ones after.
    let sixties = Utc.with_ymd_and_hms(1966, 5, 1, 8, 30, 0).unwrap();
    let old: Vec<HistoryRecord> = (0..40)
        .map(|n| {
            let mut record = history_record(
                &format!("OLD-{n:02}"),
                categories[n % 5].clone(),
                sixties + Duration::minutes(n as i64 * 397),
            );
            // Past records often say nothing of how they ended.
            if n % 3 == 0 {
                record.disposition = None;
            }
            record
        })
        .collect();
    store
        .import_history(
            "old.csv".into(),
            old,
            dispatcher(),
            AuditEntry::command_line(Utc::now(), "import_history"),
        )
        .await
        .expect("history from the 1960s");
    let incidents: Vec<Incident> = store
        .list_incidents(IncidentFilter {
            limit: 100_000,
            ..IncidentFilter::default()
        })
        .await
        .unwrap();
    assert!(incidents.len() > 50, "{} incidents", incidents.len());
    assert!(incidents.iter().any(|i| i.merged_into.is_some()));
    assert!(
        incidents
            .iter()
            .any(|i| i.first_police_on_scene_at.is_some())
    );
    assert_eq!(
        store.stored_rollups().await.unwrap(),
        rollups::recompute(&incidents),
        "stored rollups = recomputation"
    );
    // Random periods, read through rollups and raw ends, against the sums.
    let start = at(0) - Duration::days(210);
    let mut queries = Vec::new();
    for _ in 0..12 {
        let from = start + Duration::minutes(next(150 * 24 * 60) as i64);
        let until = from + Duration::minutes(1 + next(100 * 24 * 60) as i64);
        let dim = RollupDim::ALL[next(6) as usize];
        let grain = [Grain::Total, Grain::Days][next(2) as usize];
        queries.push(RollupQuery {
            dim,
            from,
            until,
            grain,
        });
    }
    for dim in [RollupDim::HourOfWeek, RollupDim::Category] {
        for grain in [Grain::Total, Grain::Days] {
            queries.push(RollupQuery {
                dim,
                from: sixties - Duration::minutes(next(3000) as i64),
                until: sixties + Duration::minutes(next(60 * 24 * 60) as i64),
                grain,
            });
        }
    }
    let answers = store.figure_rollups(queries.clone()).await.unwrap();
    for (q, rows) in queries.iter().zip(answers) {
        let mut expected: BTreeMap<String, Measures> = BTreeMap::new();
        for i in &incidents {
            if i.reported_at >= q.from
                && i.reported_at < q.until
                && let Some(m) = rollups::contribution(i)
            {
                expected.entry(q.dim.key_of(i)).or_default().add(&m);
            }
        }
        let mut got: BTreeMap<String, Measures> = BTreeMap::new();
        for r in rows {
            got.entry(r.key).or_default().add(&r.measures);
        }
        assert_eq!(got, expected, "{q:?}");
    }
}

fn history_record(external_id: &str, category: Category, reported_at: Timestamp) -> HistoryRecord {
    let location = point(300.0, 200.0);
    HistoryRecord {
        external_id: external_id.into(),
        reported_at,
        category,
        priority: Priority::new(2).unwrap(),
        location,
        resolution: fixture_ground().resolve(location),
        address: "Food Street 9".into(),
        disposition: Some(Disposition::ResolvedOnScene),
        dispatched_at: Some(reported_at + Duration::minutes(2)),
        arrived_at: Some(reported_at + Duration::minutes(9)),
    }
}

/// A history import is one transaction and one event; importing the same
/// rows again changes nothing; rows outside the ground are kept and counted.
pub async fn history_import_is_idempotent(store: SharedStore) {
    seeded(&store).await;
    let mut outside = history_record("OUT-1", DefaultCategory::Theft.into(), at(-600));
    outside.location = Coordinates::new(45.0, 100.0).unwrap();
    outside.resolution = fixture_ground().resolve(outside.location);
    let records = vec![
        history_record("P-1", DefaultCategory::Theft.into(), at(-500)),
        history_record("P-2", DefaultCategory::PublicDisturbance.into(), at(-400)),
        outside,
    ];
    let before = event_count(&store).await;
    let first = store
        .import_history(
            "history.csv".into(),
            records.clone(),
            dispatcher(),
            AuditEntry::command_line(Utc::now(), "import_history"),
        )
        .await
        .unwrap();
    assert_eq!(
        first,
        crate::apply::HistoryImported {
            rows: 3,
            inserted: 3,
            already_present: 0,
            outside: 1
        }
    );
    let rollups = store.stored_rollups().await.unwrap();
    let again = store
        .import_history(
            "history.csv".into(),
            records,
            dispatcher(),
            AuditEntry::command_line(Utc::now(), "import_history"),
        )
        .await
        .unwrap();
    assert_eq!((again.inserted, again.already_present), (0, 3));
    assert_eq!(
        store.stored_rollups().await.unwrap(),
        rollups,
        "nothing moved"
    );
    assert_eq!(
        event_count(&store).await,
        before + 2,
        "one event per import"
    );
    let stored = store
        .list_incidents(IncidentFilter::default())
        .await
        .unwrap();
    assert_eq!(stored.len(), 3);
    let p1 = stored
        .iter()
        .find(|i| i.external_id.as_deref() == Some("P-1"))
        .unwrap();
    assert_eq!(p1.source, IntakeSource::History);
    assert_eq!(p1.status, IncidentStatus::Closed);
    assert_eq!(p1.police_response_seconds(), Some(540));
    assert_eq!(
        store.stored_rollups().await.unwrap(),
        crate::rollups::recompute(&stored)
    );
}
