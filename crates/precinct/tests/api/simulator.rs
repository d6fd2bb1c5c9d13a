//! The demo simulator, stepped on a manual clock: night fights on the food
//! street arrive, are dispatched when nobody else does, units move and
//! arrive, and incidents close; the same seed gives the same night.

use crate::common::*;
use chrono::Duration;
use precinct_sim::{Simulator, SimulatorConfig};
use precinct_storage::{Clock, IncidentFilter};
use std::sync::Arc;

async fn simulate_night(
    backend: Backend,
    seed: u64,
) -> Option<Vec<(String, String, String, Option<String>)>> {
    let app = spawn_app(backend).await?;
    // 21:00 in Changsha.
    app.clock.set(story_time() - Duration::minutes(83));
    let clock: Arc<dyn Clock> = app.clock.clone();
    let roads = Arc::new(precinct_geo::roads::RoadNetwork::build(
        &app.store.roads().await.unwrap(),
    ));
    let plans = Arc::new(precinct_api::load_plans(precinct_domain::plan::DEFAULT_PLANS).unwrap());
    let ground = Arc::new(app.store.jurisdiction().await.unwrap());
    let config = SimulatorConfig {
        seed,
        intensity: 6.0,
        auto_dispatch_after_s: 90,
        ..SimulatorConfig::default()
    };
    let mut simulator = Simulator::new(app.store.clone(), clock, ground, roads, plans, config);
    for _ in 0..180 {
        app.clock.advance(Duration::seconds(30));
        simulator.step(30.0).await.unwrap();
    }
    let incidents = app
        .store
        .list_incidents(IncidentFilter {
            limit: 1000,
            ..IncidentFilter::default()
        })
        .await
        .unwrap();
    assert!(
        incidents.len() >= 5,
        "a busy night: {} incidents",
        incidents.len()
    );
    let fights: Vec<_> = incidents
        .iter()
        .filter(|i| i.category == precinct_domain::incident::DefaultCategory::FightAssault)
        .collect();
    assert!(!fights.is_empty(), "night fights happen");
    assert!(
        fights.iter().all(|i| i.address.contains("美食七街")),
        "on the food street"
    );
    assert!(
        incidents.iter().any(|i| i.dispatched_at.is_some()),
        "the simulator dispatches what nobody else did"
    );
    let closed: Vec<_> = incidents.iter().filter(|i| i.closed_at.is_some()).collect();
    assert!(!closed.is_empty(), "units arrive and incidents close");
    assert!(
        closed.iter().all(|i| i.first_on_scene_at.is_some()),
        "closed only after someone was on scene"
    );
    let moves = app
        .store
        .export_rows(
            precinct_storage::transfer::Table::UnitPositions,
            0,
            1_000_000,
        )
        .await
        .unwrap()
        .len();
    assert!(moves > 100, "units move: {moves} position reports");
    let events = app
        .store
        .events_after(precinct_domain::ids::EventId(0), 1_000_000)
        .await
        .unwrap();
    let count = |name: &str| events.iter().filter(|e| e.kind.name() == name).count();
    assert!(
        count("first_response_accepted") > 0,
        "helpers sent by the fight plan accept their task"
    );
    assert!(count("handed_over") > 0, "and hand over once police arrive");
    Some(
        incidents
            .iter()
            .map(|i| {
                (
                    i.category.as_str().to_owned(),
                    i.address.clone(),
                    i.status.as_str().to_owned(),
                    i.disposition.map(|d| d.as_str().to_owned()),
                )
            })
            .collect(),
    )
}

async fn lively_and_repeatable(backend: Backend) {
    let Some(first) = simulate_night(backend, 42).await else {
        eprintln!("skipped on {backend:?}: not configured");
        return;
    };
    let again = simulate_night(backend, 42).await.unwrap();
    assert_eq!(first, again, "same seed, same night");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_simulated_night_is_lively_and_repeatable_on_sqlite() {
    lively_and_repeatable(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_simulated_night_is_lively_and_repeatable_on_postgres() {
    lively_and_repeatable(Backend::Postgres).await;
}
