//! `precinct migrate-data`: a station copied into an empty database has every
//! row (counts and content hashes compared), keeps working, and refuses a
//! destination that already holds data.

use crate::common::{Backend, PASSWORD, fresh_database, story_time};
use precinct::DatabaseUrl;
use precinct_domain::ids::EventId;
use precinct_sim::{Simulator, SimulatorConfig};
use precinct_storage::{Clock, IncidentFilter, ManualClock, SharedStore, SystemClock};
use std::sync::Arc;

/// A SQLite station with a simulated evening of incidents, events,
/// assignments, sessions and audit entries.
async fn busy_station(dir: &std::path::Path) -> DatabaseUrl {
    let url = DatabaseUrl::Sqlite(dir.join("source.db"));
    let clock = Arc::new(ManualClock::new(story_time() - chrono::Duration::hours(1)));
    let store = precinct::open_store(&url, clock.clone()).await.unwrap();
    let district = precinct_sim::generate(3);
    precinct::seed_demo(&store, &district, PASSWORD, None)
        .await
        .unwrap();
    let clock_dyn: Arc<dyn Clock> = clock.clone();
    let roads = Arc::new(precinct_geo::roads::RoadNetwork::build(
        &store.roads().await.unwrap(),
    ));
    let plans = Arc::new(precinct_api::load_plans(precinct_domain::plan::DEFAULT_PLANS).unwrap());
    let ground = Arc::new(store.jurisdiction().await.unwrap());
    let config = SimulatorConfig {
        seed: 3,
        intensity: 8.0,
        ..SimulatorConfig::default()
    };
    let mut simulator = Simulator::new(store.clone(), clock_dyn, ground, roads, plans, config);
    for _ in 0..60 {
        clock.advance(chrono::Duration::seconds(60));
        simulator.step(60.0).await.unwrap();
    }
    let admin = store
        .credentials(&precinct_domain::user::Username::parse("admin").unwrap())
        .await
        .unwrap()
        .unwrap();
    store
        .create_session(
            "a-session".into(),
            admin.user.id,
            chrono::Utc::now() + chrono::Duration::hours(1),
            Some("127.0.0.1".into()),
        )
        .await
        .unwrap();
    store
        .record_audit(precinct_storage::AuditEntry {
            at: clock.now(),
            user_id: Some(admin.user.id),
            username: "admin".into(),
            action: "read_caller".into(),
            subject: "incident 1".into(),
        })
        .await
        .unwrap();
    // A dispute case, changed once (version 2): its columns, child rows and events.
    let dispute = store
        .open_dispute(debt_dispute(), None, admin.user.clone(), actor())
        .await
        .unwrap()
        .dispute;
    store
        .change_dispute(
            dispute.id,
            Some(1),
            precinct_domain::dispute::DisputeOp::Accept {
                mediators: vec![admin.user.id],
            },
            admin.user.clone(),
            actor(),
        )
        .await
        .unwrap();
    store.shutdown().await;
    url
}

fn actor() -> precinct_domain::event::Actor {
    precinct_domain::event::Actor::system("admin")
}

fn debt_dispute() -> precinct_domain::dispute::NewDispute {
    use precinct_domain::dispute::*;
    NewDispute {
        source: DisputeSource::WalkIn,
        category: DisputeCategory::CommercialDebt,
        summary: "货款纠纷".into(),
        address: "高桥皮具饰品城".into(),
        location: None,
        community_id: None,
        incident_ids: vec![],
        parties: vec![Party {
            name: "供货商张某".into(),
            phone: None,
            vulnerable: false,
            organisation: None,
        }],
        responsible_org: precinct_domain::ids::OrganisationId(2),
        participating_orgs: vec![],
    }
}

async fn open(url: &DatabaseUrl) -> SharedStore {
    precinct::open_store(url, Arc::new(SystemClock))
        .await
        .unwrap()
}

async fn copies_everything(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let source = busy_station(dir.path()).await;
    let Some(destination) = fresh_database(backend, &dir.path().join("dest")).await else {
        eprintln!("skipped on {backend:?}: not configured");
        return;
    };
    std::fs::create_dir_all(dir.path().join("dest")).unwrap();
    let mut progress = Vec::new();
    let report =
        precinct::migrate_data(&source, &destination, |line| progress.push(line.to_owned()))
            .await
            .unwrap();
    assert_eq!(
        report.tables.len(),
        precinct_storage::transfer::Table::ALL.len()
    );
    let rows = |name: &str| report.tables.iter().find(|t| t.0 == name).unwrap().1;
    assert_eq!(rows("units"), 564);
    assert!(rows("incidents") > 0 && rows("events") > rows("incidents") && rows("assignments") > 0);
    // The station's import is audited, and the case's change audited the
    // read of its parties: three audit rows.
    assert_eq!(
        (
            rows("sessions"),
            rows("audit_log"),
            rows("ground"),
            rows("disputes"),
            rows("dispute_parties"),
            rows("dispute_mediators"),
            rows("dispute_events"),
        ),
        (1, 3, 1, 1, 1, 1, 2)
    );
    assert!(
        progress
            .iter()
            .any(|l| l.starts_with("incidents:") && l.ends_with("rows verified")),
        "{progress:?}"
    );

    let (from, to) = (open(&source).await, open(&destination).await);
    let all = IncidentFilter {
        limit: 1000,
        ..IncidentFilter::default()
    };
    assert_eq!(
        to.list_incidents(all.clone()).await.unwrap(),
        from.list_incidents(all).await.unwrap()
    );
    assert_eq!(
        to.events_after(EventId(0), 100_000).await.unwrap(),
        from.events_after(EventId(0), 100_000).await.unwrap()
    );
    assert_eq!(
        to.list_units().await.unwrap(),
        from.list_units().await.unwrap()
    );
    assert_eq!(
        to.jurisdiction().await.unwrap(),
        from.jurisdiction().await.unwrap()
    );

    // The copy keeps working: new ids continue after the copied ones.
    let last_event = from
        .events_after(EventId(0), 100_000)
        .await
        .unwrap()
        .last()
        .unwrap()
        .id;
    let incident = to.list_incidents(IncidentFilter::default()).await.unwrap()[0].id;
    to.add_note(
        incident,
        "after the copy".into(),
        precinct_domain::event::Actor::system("t"),
    )
    .await
    .unwrap();
    assert!(to.events_after(last_event, 10).await.unwrap()[0].id > last_event);
    let unit = to.list_units().await.unwrap()[0].id;
    to.report_unit_position(
        unit,
        precinct_sim::district::at(100.0, 100.0),
        precinct_domain::event::Actor::system("t"),
    )
    .await
    .unwrap();
    // The copied figures are the source's (recomputed after the copy).
    assert_eq!(
        to.stored_rollups().await.unwrap(),
        from.stored_rollups().await.unwrap()
    );
    let copied = to.list_disputes().await.unwrap();
    assert_eq!(copied, from.list_disputes().await.unwrap());
    assert_eq!(copied[0].version, 2);
    let admin = to
        .credentials(&precinct_domain::user::Username::parse("admin").unwrap())
        .await
        .unwrap()
        .unwrap()
        .user;
    let next = to
        .open_dispute(debt_dispute(), None, admin, actor())
        .await
        .unwrap()
        .dispute;
    assert!(
        next.id > copied[0].id,
        "dispute ids continue after the copied ones"
    );
    from.shutdown().await;
    to.shutdown().await;

    // Copying again into the now non-empty destination is refused.
    let again = precinct::migrate_data(&source, &destination, |_| {})
        .await
        .unwrap_err();
    assert!(again.to_string().contains("already holds data"), "{again}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_to_sqlite_copies_everything() {
    copies_everything(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_to_postgres_copies_everything() {
    copies_everything(Backend::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_command_line_reports_progress_and_the_match() {
    let dir = tempfile::tempdir().unwrap();
    let source = busy_station(dir.path()).await;
    let DatabaseUrl::Sqlite(path) = source else {
        unreachable!()
    };
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_precinct"))
        .args(["migrate-data", "--from"])
        .arg(format!("sqlite://{}", path.display()))
        .arg("--to")
        .arg(format!("sqlite://{}", dir.path().join("copy.db").display()))
        .env("PRECINCT_LOG", "warn")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stdout.contains("row counts and content hashes match"),
        "{stdout}"
    );
    assert!(
        stderr.contains("events:") && stderr.contains("rows copied"),
        "progress is shown: {stderr}"
    );
}
