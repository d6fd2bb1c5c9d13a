//! The city-day load (issue 26) in its short form: half a minute of a
//! compressed day on each backend, then the checks that fail on any lost
//! or duplicated write, any unit on two incidents at once, a broken chain
//! or an event a console missed. The full day is
//! `cargo bench -p precinct --bench city_day`.

use crate::city_day::{self, Backend, Outcome, Scale};

/// The day happened (every kind of load ran) and nothing was lost.
fn assert_whole(outcome: &Outcome, backend: &str) {
    let table = outcome.table(backend);
    println!("{table}");
    assert!(outcome.consistent(), "{table}");
    assert!(
        outcome.intake.micros.len() >= 250,
        "the day's instructions were taken in: {table}"
    );
    assert!(
        !outcome.dispatch.micros.is_empty() && !outcome.close.micros.is_empty(),
        "dispatchers sent plans and closed incidents: {table}"
    );
    assert!(
        outcome.position.micros.len() >= 1_500,
        "the fleet reported: {table}"
    );
    assert!(
        !outcome.event.micros.is_empty() && !outcome.positions_frame.micros.is_empty(),
        "consoles saw events and positions: {table}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_short_day_on_sqlite_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let outcome = city_day::run(
        Backend::Sqlite(dir.path().join("city.db")),
        &Scale::short(30),
    )
    .await;
    assert_whole(&outcome, "sqlite");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_short_day_on_three_postgres_instances_loses_nothing() {
    let Some(admin) = precinct_postgres::testing::test_database_url() else {
        eprintln!("skipped: PRECINCT_TEST_DATABASE_URL is not set");
        return;
    };
    let url = precinct_postgres::testing::scratch_database(&admin)
        .await
        .unwrap();
    let outcome = city_day::run(Backend::Postgres(url, 3), &Scale::short(30)).await;
    assert_whole(&outcome, "postgres");
}
