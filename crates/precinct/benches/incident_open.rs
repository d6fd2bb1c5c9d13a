//! Opening an incident whose units reported 10,000 positions (issue 25): the
//! store reads `get_incident` does (the incident, its timeline, its photos)
//! on the demo station after four dispatched units each reported 2,500
//! positions while on it. Position reports are a track, not timeline
//! entries, so the timeline stays short and the reads stay fast however
//! many positions there are. Also one unit's track of 2,500 points.
//!
//! Run: `cargo bench -p precinct --bench incident_open` (env: BENCH_POSITIONS,
//! default 10,000; BENCH_READS, default 300). SQLite, then PostgreSQL when
//! PRECINCT_TEST_DATABASE_URL is set. Goal: p95 ≤ 20 ms.

use precinct::DatabaseUrl;
use precinct_domain::event::Actor;
use precinct_domain::incident::IntakeForm;
use precinct_storage::{SharedStore, SystemClock};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn percentile(times: &mut [Duration], p: f64) -> f64 {
    times.sort();
    let k = ((times.len() as f64 - 1.0) * p).round() as usize;
    times[k].as_secs_f64() * 1000.0
}

async fn phase(label: &str, store: SharedStore) {
    let positions = env("BENCH_POSITIONS", 10_000);
    let reads = env("BENCH_READS", 300);
    let district = precinct_sim::district::generate(7);
    precinct::seed_demo(&store, &district, "bench-password", None)
        .await
        .unwrap();
    let ground = store.jurisdiction().await.unwrap();
    let place = &ground.places[0];
    let intake = IntakeForm {
        source: "phone".into(),
        external_id: None,
        category: "theft".into(),
        priority: None,
        location: Some(place.location),
        place_id: None,
        address: Some(place.address.clone()),
        caller_name: None,
        caller_phone: None,
        summary: "bench".into(),
        reported_at: None,
    }
    .into_intake(&ground, chrono::Utc::now())
    .unwrap();
    let actor = Actor::system("bench");
    let incident = store.intake(intake, actor.clone()).await.unwrap().incident;
    let units: Vec<_> = store
        .list_units()
        .await
        .unwrap()
        .into_iter()
        .filter(|u| u.kind.is_police())
        .take(4)
        .map(|u| u.id)
        .collect();
    store
        .dispatch(incident.id, units.clone(), actor.clone())
        .await
        .unwrap();
    let started = Instant::now();
    let per_unit = positions / units.len();
    let mut tasks = Vec::new();
    for (k, unit) in units.iter().copied().enumerate() {
        let (store, actor) = (store.clone(), actor.clone());
        let from = place.location.offset_m(400.0 * k as f64, -300.0);
        tasks.push(tokio::spawn(async move {
            for step in 0..per_unit {
                let at = from.offset_m(0.0, step as f64 * 300.0 / per_unit as f64);
                store
                    .report_unit_position(unit, at, actor.clone())
                    .await
                    .unwrap();
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let reporting_s = started.elapsed().as_secs_f64();

    let mut opens = Vec::with_capacity(reads);
    let mut timeline_len = 0;
    for _ in 0..reads {
        let t = Instant::now();
        let i = store.get_incident(incident.id).await.unwrap();
        let timeline = store.timeline(i.id).await.unwrap();
        let photos = store.photos(i.id).await.unwrap();
        opens.push(t.elapsed());
        timeline_len = timeline.len();
        std::hint::black_box(photos);
    }
    let mut tracks = Vec::with_capacity(reads / 10 + 1);
    let mut track_len = 0;
    for _ in 0..reads / 10 + 1 {
        let t = Instant::now();
        let track = store
            .unit_track(
                units[0],
                chrono::Utc::now() - chrono::Duration::hours(1),
                chrono::Utc::now() + chrono::Duration::minutes(1),
                20_000,
            )
            .await
            .unwrap();
        tracks.push(t.elapsed());
        track_len = track.len();
    }
    let (p50, p95) = (percentile(&mut opens, 0.5), percentile(&mut opens, 0.95));
    let (t50, t95) = (percentile(&mut tracks, 0.5), percentile(&mut tracks, 0.95));
    println!(
        "{label}: {positions} positions reported by {} units in {reporting_s:.1} s; timeline {timeline_len} entries",
        units.len()
    );
    println!(
        "  open (incident, timeline, photos): p50 {p50:.2} ms, p95 {p95:.2} ms over {reads} reads"
    );
    println!("  one unit's track ({track_len} points): p50 {t50:.2} ms, p95 {t95:.2} ms");
    println!(
        "incident_open {label}: p95 {p95:.2} ms (goal 20 ms), timeline {timeline_len} entries"
    );
    store.shutdown().await;
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let base_dir = std::env::var("BENCH_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|_| std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")));
    std::fs::create_dir_all(&base_dir).unwrap();
    let dir = tempfile::tempdir_in(base_dir).unwrap();
    let url = DatabaseUrl::Sqlite(dir.path().join("open.db"));
    let store = precinct::open_store(&url, Arc::new(SystemClock))
        .await
        .unwrap();
    phase("SQLite", store).await;
    if let Some(admin) = precinct_postgres::testing::test_database_url() {
        let url = precinct_postgres::testing::scratch_database(&admin)
            .await
            .unwrap();
        let store = precinct::open_store(&DatabaseUrl::Postgres(url), Arc::new(SystemClock))
            .await
            .unwrap();
        phase("PostgreSQL", store).await;
    } else {
        println!("\nPostgreSQL phase skipped: PRECINCT_TEST_DATABASE_URL is not set");
    }
}
