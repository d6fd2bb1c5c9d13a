//! A city's day on one machine and on three (issue 26): the load generator
//! of `tests/support/city_day.rs` at a city bureau's scale, on SQLite (one
//! `serve`) and on PostgreSQL (three `serve` instances on one database),
//! after a burst of position reports at full speed on SQLite.
//!
//! Run: `cargo bench -p precinct --bench city_day`. Options (env):
//! CITY_MINUTES (5), CITY_INCIDENTS (20000), CITY_UNITS (5000),
//! CITY_CONSOLES (300), CITY_DISPATCHERS (30), BURST_SECONDS (10),
//! BURST_CLIENTS (64), BENCH_ONLY=sqlite|postgres, BENCH_DIR (where the
//! SQLite files go; default under `target/`), PRECINCT_TEST_DATABASE_URL
//! (adds the PostgreSQL run).

#[allow(dead_code)]
#[path = "../tests/support/city_day.rs"]
mod city_day;

use city_day::{Backend, Scale};

fn env_f64(name: &str, default: f64) -> f64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    let base_dir = std::env::var("BENCH_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|_| {
            let target = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target");
            std::fs::create_dir_all(&target).unwrap();
            target
        });
    let dir = tempfile::tempdir_in(base_dir).unwrap();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let only = std::env::var("BENCH_ONLY").unwrap_or_default();
    let scale = Scale::city();
    println!(
        "A city's day: {} incidents, {} units every {} s, {} dispatchers, {} consoles, in {:.1} min; {} cores",
        scale.incidents,
        scale.units,
        scale.position_every.as_secs(),
        scale.dispatchers,
        scale.consoles,
        scale.duration.as_secs_f64() / 60.0,
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    let mut last_lines = Vec::new();
    if only != "postgres" {
        let clients = env_f64("BURST_CLIENTS", 64.0) as usize;
        let seconds = env_f64("BURST_SECONDS", 10.0);
        let (rate, op) = runtime.block_on(city_day::positions_burst(
            Backend::Sqlite(dir.path().join("burst.db")),
            clients,
            seconds,
        ));
        println!();
        println!(
            "Positions at full speed, SQLite over HTTP, {clients} clients, {seconds:.0} s: {rate:.0} reports/s, p50 {:.1} ms, p99 {:.1} ms, {} errors",
            op.percentile_ms(0.5),
            op.percentile_ms(0.99),
            op.errors
        );
        let outcome = runtime.block_on(city_day::run(
            Backend::Sqlite(dir.path().join("city.db")),
            &scale,
        ));
        println!();
        println!("{}", outcome.table("SQLite, one instance"));
        last_lines.push(outcome.last_line("sqlite"));
    }
    if only != "sqlite"
        && let Some(admin) = precinct_postgres::testing::test_database_url()
    {
        let outcome = runtime.block_on(async {
            let url = precinct_postgres::testing::scratch_database(&admin)
                .await
                .unwrap();
            city_day::run(Backend::Postgres(url, 3), &scale).await
        });
        println!();
        println!(
            "{}",
            outcome.table("PostgreSQL, three instances, one database")
        );
        last_lines.push(outcome.last_line("postgres"));
    }
    println!();
    for line in last_lines {
        println!("{line}");
    }
}
