//! Dispute change latency (issue 16): a change to a case as one round trip
//! through the writer (`Store::change_dispute`: the policy, the rule, the
//! version check, the rows, its events and the audit of the answer in one
//! transaction) against the four round trips the HTTP handler made before
//! (read the case, save it, audit the read, read the recent cases for its
//! repeats), each measured on the same store in the same run, interleaved.
//!
//! Run: `cargo bench -p precinct --bench disputes` (optional env:
//! BENCH_CHANGES (default 2000), BENCH_DIR for the SQLite file (default: a
//! temporary directory under `target/`), PRECINCT_TEST_DATABASE_URL for the
//! PostgreSQL phase).

use precinct::DatabaseUrl;
use precinct_domain::dispute::{
    DisputeCategory, DisputeOp, DisputeSource, NewDispute, Party, PlannedSession, Venue,
};
use precinct_domain::event::Actor;
use precinct_domain::ids::{DisputeId, OrganisationId, UserId};
use precinct_domain::user::{Role, User, Username};
use precinct_storage::{AuditEntry, SharedStore, SystemClock};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Cases the changes are spread over.
const CASES: usize = 200;

fn changes() -> usize {
    std::env::var("BENCH_CHANGES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2000)
}

fn police() -> User {
    User {
        id: UserId(1),
        username: Username::parse("bench").unwrap(),
        display_name: "bench".into(),
        role: Role::Dispatcher,
        unit_id: None,
        organisation_id: None,
        phone: None,
        disabled: false,
        must_change_password: false,
        second_factor: false,
    }
}

fn actor() -> Actor {
    Actor {
        user_id: Some(UserId(1)),
        name: "bench".into(),
    }
}

fn new_case(k: usize) -> NewDispute {
    NewDispute {
        source: DisputeSource::Screening,
        category: DisputeCategory::NeighbourNoise,
        summary: format!("噪音纠纷 {k}"),
        address: format!("怡园小区{}栋", k % 40),
        location: None,
        community_id: None,
        incident_ids: vec![],
        parties: vec![
            Party {
                name: format!("业主{k}"),
                phone: None,
                vulnerable: false,
                organisation: None,
            },
            Party {
                name: format!("住户{k}"),
                phone: None,
                vulnerable: false,
                organisation: None,
            },
        ],
        responsible_org: OrganisationId(1),
        participating_orgs: vec![OrganisationId(2), OrganisationId(3)],
    }
}

fn plan(k: usize) -> DisputeOp {
    DisputeOp::PlanSession(PlannedSession {
        at: chrono::Utc::now() + chrono::Duration::days(1 + (k % 30) as i64),
        venue: Venue::MediationRoom,
        organisations: vec![OrganisationId(1)],
        notes: String::new(),
        planned_by: "bench".into(),
    })
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize].as_secs_f64() * 1e3
}

fn row(name: &str, mut latencies: Vec<Duration>) -> (String, f64) {
    latencies.sort();
    let mean = latencies.iter().sum::<Duration>().as_secs_f64() * 1e3 / latencies.len() as f64;
    (
        format!(
            "| {name} | {} | {:.2} | {:.2} | {:.2} |",
            latencies.len(),
            mean,
            percentile(&latencies, 0.5),
            percentile(&latencies, 0.99)
        ),
        mean,
    )
}

async fn phase(label: &str, store: SharedStore) {
    let user = police();
    let mut ids: Vec<DisputeId> = Vec::with_capacity(CASES);
    for k in 0..CASES {
        let case = store
            .open_dispute(new_case(k), None, user.clone(), actor())
            .await
            .unwrap()
            .dispute;
        store
            .change_dispute(
                case.id,
                None,
                DisputeOp::Accept {
                    mediators: vec![UserId(1)],
                },
                user.clone(),
                actor(),
            )
            .await
            .unwrap();
        ids.push(case.id);
    }
    let (mut one, mut four) = (Vec::new(), Vec::new());
    for k in 0..changes() {
        let id = ids[k % CASES];
        // One round trip: the change and the answer as its user sees it.
        let started = Instant::now();
        store
            .change_dispute(id, None, plan(k), user.clone(), actor())
            .await
            .unwrap();
        one.push(started.elapsed());
        // Four: read, change, audit the read, read the recent cases.
        let id = ids[(k + CASES / 2) % CASES];
        let started = Instant::now();
        let case = store.get_dispute(id).await.unwrap();
        store
            .change_dispute(id, Some(case.version), plan(k), user.clone(), actor())
            .await
            .unwrap();
        store
            .record_audit(AuditEntry {
                at: chrono::Utc::now(),
                user_id: Some(user.id),
                username: "bench".into(),
                action: "read_parties".into(),
                subject: format!("dispute {id}"),
            })
            .await
            .unwrap();
        store
            .recent_disputes(chrono::Utc::now() - chrono::Duration::days(90))
            .await
            .unwrap();
        four.push(started.elapsed());
    }
    let (one_row, one_mean) = row("one round trip (`change_dispute`)", one);
    let (four_row, four_mean) = row("four round trips (read, change, audit, recent)", four);
    println!(
        "\n### {label}: {CASES} cases, {} changes each way\n",
        changes()
    );
    println!("| path | changes | mean ms | p50 ms | p99 ms |\n|---|---|---|---|---|");
    println!("{one_row}\n{four_row}");
    println!(
        "\none round trip takes {:.0}% of the four",
        100.0 * one_mean / four_mean
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
    let url = DatabaseUrl::Sqlite(dir.path().join("disputes.db"));
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
