//! The station's figures over ten years of a large district (issue 17):
//! importing history (rows a second, through `Store::import_history`, the
//! writer transaction the CLI and the API use; in time order as old systems
//! export it, and the worst case of rows in no order), then any figure with its
//! 同比 and 环比 for random periods of any length — the six rollup reads
//! `station_figures` makes (family and category, for the period, the same
//! period last year and the one before), against the same sums by a plain
//! SQL `GROUP BY` over raw incidents, on the same database in the same run,
//! interleaved.
//!
//! Run: `cargo bench -p precinct --bench figures` (env: BENCH_INCIDENTS
//! (default 5,000,000), BENCH_PERIODS (default 60), BENCH_DIR for the
//! SQLite file (default: under `target/`), PRECINCT_TEST_DATABASE_URL for
//! the PostgreSQL phase).

use chrono::{DateTime, Duration, TimeZone, Utc};
use precinct::DatabaseUrl;
use precinct_api::figures::response::PeriodQuery;
use precinct_domain::Coordinates;
use precinct_domain::category::{CategoryDef, DefaultCategory};
use precinct_domain::event::Actor;
use precinct_domain::ground::Resolution;
use precinct_domain::history::HistoryRecord;
use precinct_domain::ids::{CommunityId, GridCellId, ZoneId};
use precinct_domain::incident::Disposition;
use precinct_storage::rollups::{RollupDim, raw_group_by_sql};
use precinct_storage::{SharedStore, SystemClock};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::sync::Arc;
use std::time::Instant;

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Ten years ending at the start of 2026 (local midnight, UTC+8).
fn start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2015, 12, 31, 16, 0, 0).unwrap()
}
const YEARS: i64 = 10;

/// A batch of past incidents reported in [from, from + seconds): 400 grid
/// cells in 30 communities in 3 zones, the shipped code table, police on
/// scene for 85%.
fn batch(
    rng: &mut ChaCha8Rng,
    first: usize,
    count: usize,
    defs: &[CategoryDef],
    (from, seconds): (DateTime<Utc>, i64),
) -> Vec<HistoryRecord> {
    (first..first + count)
        .map(|n| {
            let reported_at = from + Duration::seconds(rng.random_range(0..seconds));
            let def = &defs[rng.random_range(0..defs.len())];
            let cell = rng.random_range(1..=400i64);
            let location = Coordinates::new(
                28.1 + rng.random::<f64>() * 0.1,
                112.9 + rng.random::<f64>() * 0.1,
            )
            .expect("valid");
            HistoryRecord {
                external_id: format!("B{n:08}"),
                reported_at,
                category: def.category(),
                priority: def.default_priority,
                location,
                resolution: Resolution {
                    zone_id: Some(ZoneId(cell % 3 + 1)),
                    community_id: Some(CommunityId(cell % 30 + 1)),
                    grid_cell_id: Some(GridCellId(cell)),
                },
                address: String::new(),
                disposition: Some(if rng.random::<f64>() < 0.3 {
                    Disposition::ResolvedOnScene
                } else {
                    Disposition::NoActionNeeded
                }),
                dispatched_at: Some(reported_at + Duration::seconds(rng.random_range(30..200))),
                arrived_at: (rng.random::<f64>() < 0.85)
                    .then(|| reported_at + Duration::seconds(rng.random_range(200..900))),
            }
        })
        .collect()
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

/// The plain `GROUP BY` over raw incidents, the same sums the rollups answer.
enum Raw {
    Sqlite(rusqlite::Connection),
    Postgres(tokio_postgres::Client),
}

impl Raw {
    /// Sums of one dimension over [from, until): (key, incidents) pairs.
    async fn group_by(&self, dim: RollupDim, from: i64, until: i64) -> Vec<(String, i64)> {
        let sql = raw_group_by_sql(dim);
        match self {
            Raw::Sqlite(conn) => {
                let mut statement = conn.prepare_cached(&sql.replace('$', "?")).unwrap();
                statement
                    .query_map([from, until], |r| {
                        Ok((r.get::<_, String>("key")?, r.get::<_, i64>("n")?))
                    })
                    .unwrap()
                    .map(Result::unwrap)
                    .collect()
            }
            Raw::Postgres(client) => client
                .query(&sql, &[&from, &until])
                .await
                .unwrap()
                .iter()
                .map(|r| (r.get::<_, String>("key"), r.get::<_, i64>("n")))
                .collect(),
        }
    }
}

async fn phase(label: &str, store: SharedStore, raw: Raw) {
    let total = env("BENCH_INCIDENTS", 5_000_000);
    let defs = CategoryDef::shipped();
    let mut rng = ChaCha8Rng::seed_from_u64(17);
    // History as an old system exports it, in time order, in transactions
    // of 250,000 rows (each batch a slice of the ten years, its rows in any
    // order within it).
    let ten_years = YEARS * 365 * 86_400;
    let batches = total.div_ceil(250_000) as i64;
    let started = Instant::now();
    let mut written = 0;
    let mut generating = std::time::Duration::ZERO;
    let mut slice = 0;
    while written < total {
        let count = (total - written).min(250_000);
        let made = Instant::now();
        let range = (
            start() + Duration::seconds(ten_years * slice / batches),
            ten_years / batches,
        );
        slice += 1;
        let records = batch(&mut rng, written, count, &defs, range);
        generating += made.elapsed();
        let done = store
            .import_history(
                "bench.csv".into(),
                records,
                Actor::system("bench"),
                precinct_storage::AuditEntry::command_line(chrono::Utc::now(), "bench"),
            )
            .await
            .unwrap();
        assert_eq!(done.inserted as usize, count);
        written += count;
    }
    let import_s = (started.elapsed() - generating).as_secs_f64();
    // The worst case: 100,000 rows in no time order, spread over all ten years.
    let shuffled = batch(&mut rng, total, 100_000, &defs, (start(), ten_years));
    let shuffled_started = Instant::now();
    store
        .import_history(
            "shuffled.csv".into(),
            shuffled,
            Actor::system("bench"),
            precinct_storage::AuditEntry::command_line(chrono::Utc::now(), "bench"),
        )
        .await
        .unwrap();
    let shuffled_s = shuffled_started.elapsed().as_secs_f64();
    // Again: nothing new, every row found by its external id.
    let again = batch(
        &mut ChaCha8Rng::seed_from_u64(17),
        0,
        250_000.min(total),
        &defs,
        (start(), ten_years / batches),
    );
    let re_started = Instant::now();
    let done = store
        .import_history(
            "bench.csv".into(),
            again,
            Actor::system("bench"),
            precinct_storage::AuditEntry::command_line(chrono::Utc::now(), "bench"),
        )
        .await
        .unwrap();
    assert_eq!(done.inserted, 0);
    let reimport_s = re_started.elapsed().as_secs_f64();

    // Random periods: a day to ten years, starting at local midnight or anywhere.
    let lengths = [1, 7, 30, 91, 365, 1095, 3650];
    let periods = env("BENCH_PERIODS", 60);
    let (mut rolled, mut grouped) = (Vec::new(), Vec::new());
    for k in 0..periods {
        let days = lengths[k % lengths.len()];
        let latest = YEARS * 365 - days;
        let mut from = start() + Duration::days(rng.random_range(0..=latest.max(0)));
        if k % 3 == 2 {
            from += Duration::minutes(rng.random_range(0..1440));
        }
        let until = from + Duration::days(days);
        let queries = precinct_api::figures::station::figure_queries(&PeriodQuery { from, until });
        let t = Instant::now();
        let answers = store.figure_rollups(queries.clone()).await.unwrap();
        rolled.push(t.elapsed().as_secs_f64() * 1e3);
        let t = Instant::now();
        let mut raw_answers = Vec::new();
        for q in &queries {
            raw_answers.push(
                raw.group_by(q.dim, q.from.timestamp_millis(), q.until.timestamp_millis())
                    .await,
            );
        }
        grouped.push(t.elapsed().as_secs_f64() * 1e3);
        // The same figures both ways.
        for (a, b) in answers.iter().zip(&raw_answers) {
            let mut a: Vec<(String, i64)> =
                a.iter().map(|r| (r.key.clone(), r.measures.n)).collect();
            let mut b = b.clone();
            a.sort();
            b.sort();
            assert_eq!(a, b, "rollups and GROUP BY agree over {from}..{until}");
        }
    }
    let (rolled_all, grouped_all) = (rolled.clone(), grouped.clone());
    rolled.sort_by(f64::total_cmp);
    grouped.sort_by(f64::total_cmp);
    println!("\n### {label}: {total} incidents over {YEARS} years\n");
    println!(
        "history import: {:.0} rows/s ({total} rows in time order in {import_s:.1} s, in transactions of 250,000); 100,000 rows in no time order over the ten years: {:.0} rows/s; importing 250,000 again (all present) took {reimport_s:.1} s",
        total as f64 / import_s,
        100_000.0 / shuffled_s
    );
    println!(
        "\n| any figure with 同比 and 环比 ({periods} periods, 1 day to 10 years) | p50 ms | p95 ms | max ms |\n|---|---|---|---|"
    );
    println!(
        "| rollups (`station_figures`' six reads, one snapshot) | {:.2} | {:.2} | {:.2} |",
        percentile(&rolled, 0.5),
        percentile(&rolled, 0.95),
        rolled[rolled.len() - 1]
    );
    println!(
        "| plain `GROUP BY` over raw incidents (the same six sums) | {:.2} | {:.2} | {:.2} |",
        percentile(&grouped, 0.5),
        percentile(&grouped, 0.95),
        grouped[grouped.len() - 1]
    );
    println!(
        "\np95 ratio rollups ÷ GROUP BY: {:.4}; by period length (mean ms, rollups / GROUP BY):",
        percentile(&rolled, 0.95) / percentile(&grouped, 0.95)
    );
    for (i, days) in lengths.iter().enumerate() {
        let pick = |v: &[f64]| {
            let xs: Vec<f64> = v
                .iter()
                .enumerate()
                .filter(|(k, _)| k % lengths.len() == i)
                .map(|(_, x)| *x)
                .collect();
            xs.iter().sum::<f64>() / xs.len().max(1) as f64
        };
        println!(
            "- {days} days: {:.2} / {:.2}",
            pick(&rolled_all),
            pick(&grouped_all)
        );
    }
    store.shutdown().await;
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let _ = DefaultCategory::ALL;
    let base_dir = std::env::var("BENCH_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|_| std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")));
    std::fs::create_dir_all(&base_dir).unwrap();
    let dir = tempfile::tempdir_in(base_dir).unwrap();
    let path = dir.path().join("figures.db");
    let store = precinct::open_store(&DatabaseUrl::Sqlite(path.clone()), Arc::new(SystemClock))
        .await
        .unwrap();
    let raw = Raw::Sqlite(
        rusqlite::Connection::open_with_flags(&path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .unwrap(),
    );
    phase("SQLite", store, raw).await;
    if let Some(admin) = precinct_postgres::testing::test_database_url() {
        let url = precinct_postgres::testing::scratch_database(&admin)
            .await
            .unwrap();
        let store =
            precinct::open_store(&DatabaseUrl::Postgres(url.clone()), Arc::new(SystemClock))
                .await
                .unwrap();
        let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
            .await
            .unwrap();
        tokio::spawn(connection);
        phase("PostgreSQL", store, Raw::Postgres(client)).await;
    } else {
        println!("\nPostgreSQL phase skipped: PRECINCT_TEST_DATABASE_URL is not set");
    }
}
