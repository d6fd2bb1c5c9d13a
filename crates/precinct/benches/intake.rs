//! Durable intake benchmark (issue 2), all phases in one run on the same disk:
//!
//! 1. floor: single-row INSERT + COMMIT on a bare SQLite file, WAL + synchronous=FULL;
//! 2. store: `Store::intake` on the SQLite backend, one writer, then many;
//! 3. HTTP: `POST /api/incidents` on loopback, one client, then many;
//! 4. live stream: while the many clients write, one SSE subscriber measures
//!    each event's delay from its commit timestamp to its arrival;
//! 5. PostgreSQL (when PRECINCT_TEST_DATABASE_URL names a server): `pgbench`
//!    doing single-row INSERTs with commit, at 1 and 16 clients, beside
//!    `Store::intake` on the PostgreSQL backend at 1 and 16 writers.
//!
//! Run: `cargo bench -p precinct --bench intake` (optional env: BENCH_SECONDS,
//! BENCH_CONCURRENCY, BENCH_DIR for where the databases go; default: a
//! temporary directory under `target/`, i.e. the project's disk;
//! BENCH_ONLY=sqlite or BENCH_ONLY=postgres to run one backend's phases).

#[allow(dead_code)]
#[path = "../tests/support/sse.rs"]
mod sse;

use precinct_api::AppState;
use precinct_domain::event::Actor;
use precinct_domain::incident::{Caller, DefaultCategory, Intake, IntakeSource, Priority};
use precinct_storage::{SharedStore, SystemClock};
use rand::{Rng, SeedableRng};
use serde_json::json;
use std::sync::Arc;
use std::time::{Duration, Instant};

struct Figures {
    name: String,
    acks: usize,
    elapsed: Duration,
    latencies: Vec<Duration>,
}

impl Figures {
    fn rate(&self) -> f64 {
        self.acks as f64 / self.elapsed.as_secs_f64()
    }

    fn percentile(&self, p: f64) -> Duration {
        let mut sorted = self.latencies.clone();
        sorted.sort();
        sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
    }

    fn row(&self, floor: f64) -> String {
        format!(
            "| {} | {:.0} | {:.2} | {:.2} | {:.0}% |",
            self.name,
            self.rate(),
            self.percentile(0.50).as_secs_f64() * 1e3,
            self.percentile(0.99).as_secs_f64() * 1e3,
            100.0 * self.rate() / floor
        )
    }
}

fn seconds() -> Duration {
    Duration::from_secs_f64(
        std::env::var("BENCH_SECONDS")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(3.0),
    )
}

fn concurrency() -> usize {
    std::env::var("BENCH_CONCURRENCY")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(64)
}

/// The raw floor: what one durable commit of one row costs on this disk.
fn floor(dir: &std::path::Path) -> Figures {
    single_row_commits(
        dir,
        "floor.db",
        "floor: SQLite single-row commit",
        "CREATE TABLE t (id INTEGER PRIMARY KEY, body TEXT NOT NULL)",
        "INSERT INTO t (body) VALUES (?1)",
    )
}

/// The same commits, but each row also enters three indexes on random keys,
/// so a commit writes about four pages, as an intake writes four to five
/// (incident, event, and their index entries). Not a goal: it shows what the
/// page count alone costs against the floor.
fn four_page_floor(dir: &std::path::Path) -> Figures {
    single_row_commits(
        dir,
        "floor4.db",
        "reference: single-row commit, 3 indexes (4 pages)",
        "CREATE TABLE t (id INTEGER PRIMARY KEY, body TEXT NOT NULL, a INTEGER, b INTEGER, c INTEGER); \
         CREATE INDEX ta ON t (a); CREATE INDEX tb ON t (b); CREATE INDEX tc ON t (c)",
        "INSERT INTO t (body, a, b, c) VALUES (?1, random(), random(), random())",
    )
}

fn single_row_commits(
    dir: &std::path::Path,
    file: &str,
    name: &str,
    schema: &str,
    insert: &str,
) -> Figures {
    let conn = rusqlite::Connection::open(dir.join(file)).unwrap();
    conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get::<_, String>(0))
        .unwrap();
    conn.pragma_update(None, "synchronous", "FULL").unwrap();
    conn.execute_batch(schema).unwrap();
    let body = "x".repeat(300);
    let mut latencies = Vec::new();
    let started = Instant::now();
    while started.elapsed() < seconds() {
        let t = Instant::now();
        conn.execute_batch("BEGIN").unwrap();
        conn.execute(insert, [&body]).unwrap();
        conn.execute_batch("COMMIT").unwrap();
        latencies.push(t.elapsed());
    }
    Figures {
        name: name.into(),
        acks: latencies.len(),
        elapsed: started.elapsed(),
        latencies,
    }
}

fn random_intake(rng: &mut rand::rngs::StdRng, n: u64) -> Intake {
    let location =
        precinct_sim::district::at(rng.random_range(0.0..4000.0), rng.random_range(0.0..3200.0));
    Intake {
        source: IntakeSource::Instruction110,
        external_id: Some(format!("bench-{n}")),
        category: DefaultCategory::ALL[rng.random_range(0..DefaultCategory::ALL.len())].into(),
        priority: Priority::new(2).unwrap(),
        location,
        resolution: precinct_domain::ground::Resolution::OUTSIDE,
        address: "高桥街道".into(),
        caller: Caller::default(),
        summary: "benchmark intake".into(),
        reported_at: chrono::Utc::now(),
    }
}

/// Runs `workers` loops until the phase's deadline; each iteration calls
/// `one(worker, n)` and the latency of awaiting it is recorded.
async fn timed_phase<F, Fut>(name: &str, workers: usize, one: F) -> Figures
where
    F: Fn(u64, u64) -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    // Progress on stderr, so a profiler can be attached to one phase.
    eprintln!("bench: {name}");
    let started = Instant::now();
    let deadline = started + seconds();
    let tasks: Vec<_> = (0..workers as u64)
        .map(|worker| {
            let one = one.clone();
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                let mut n = 0u64;
                while Instant::now() < deadline {
                    // Preparing the call (data, body) is not timed; the call is.
                    let call = one(worker, n);
                    let t = Instant::now();
                    call.await;
                    latencies.push(t.elapsed());
                    n += 1;
                }
                latencies
            })
        })
        .collect();
    let mut latencies = Vec::new();
    for task in tasks {
        latencies.extend(task.await.unwrap());
    }
    Figures {
        name: name.into(),
        acks: latencies.len(),
        elapsed: started.elapsed(),
        latencies,
    }
}

/// A distinct external id and random data for each (worker, n) of a phase.
fn call_id(offset: u64, worker: u64, n: u64) -> u64 {
    offset + worker * 10_000_000 + n
}

async fn store_phase(store: SharedStore, name: &str, writers: usize, offset: u64) -> Figures {
    timed_phase(name, writers, move |worker, n| {
        let store = store.clone();
        let id = call_id(offset, worker, n);
        let intake = random_intake(&mut rand::rngs::StdRng::seed_from_u64(id), id);
        async move {
            store.intake(intake, Actor::system("bench")).await.unwrap();
        }
    })
    .await
}

async fn http_phase(base: &str, token: &str, name: &str, clients: usize, offset: u64) -> Figures {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(clients)
        .build()
        .unwrap();
    // Shared, not copied per call: the load generator shares the machine's cores with the server.
    let url: Arc<str> = format!("{base}/api/incidents").into();
    let token: Arc<str> = token.into();
    timed_phase(name, clients, move |worker, n| {
        let (client, url, token) = (client.clone(), url.clone(), token.clone());
        let id = call_id(offset, worker, n);
        let mut rng = rand::rngs::StdRng::seed_from_u64(id);
        let p = precinct_sim::district::at(
            rng.random_range(0.0..4000.0),
            rng.random_range(0.0..3200.0),
        );
        let body = json!({
            "source": "instruction_110",
            "external_id": format!("http-{id}"),
            "category": DefaultCategory::ALL[rng.random_range(0..DefaultCategory::ALL.len())].as_str(),
            "priority": 2,
            "location": { "lat": p.lat(), "lon": p.lon() },
            "summary": "benchmark intake",
        });
        async move {
            let response = client
                .post(&*url)
                .bearer_auth(&*token)
                .json(&body)
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), reqwest::StatusCode::CREATED);
            response.bytes().await.unwrap();
        }
    })
    .await
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
    let writers = concurrency();
    let only = std::env::var("BENCH_ONLY").unwrap_or_default();
    if only != "postgres" {
        sqlite_phases(dir.path(), &runtime, writers);
    }
    if only != "sqlite"
        && let Some(admin) = precinct_postgres::testing::test_database_url()
    {
        runtime.block_on(postgres_phases(&admin, dir.path()));
    }
}

/// The floor, then the SQLite store and HTTP phases.
fn sqlite_phases(dir: &std::path::Path, runtime: &tokio::runtime::Runtime, writers: usize) {
    let floor = floor(dir);
    let four_pages = four_page_floor(dir);
    let rows = runtime.block_on(async {
        let url = precinct::DatabaseUrl::Sqlite(dir.join("store.db"));
        let store = precinct::open_store(&url, Arc::new(SystemClock))
            .await
            .unwrap();
        let shared: SharedStore = store.clone();
        let district = precinct_sim::generate(1);
        precinct::seed_demo(&shared, &district, "bench-password", None)
            .await
            .unwrap();
        let one = store_phase(shared.clone(), "store: 1 writer", 1, 0).await;
        let many = store_phase(
            shared.clone(),
            &format!("store: {writers} writers (group commit)"),
            writers,
            1 << 40,
        )
        .await;

        let state = AppState::new(shared.clone(), Arc::new(SystemClock))
            .await
            .unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(precinct_api::serve(listener, state, std::future::pending()));
        let login: serde_json::Value = reqwest::Client::new()
            .post(format!("{base}/api/auth/login"))
            .json(&json!({ "username": "cc110", "password": "bench-password" }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let token = login["token"].as_str().unwrap().to_owned();
        let http_one = http_phase(&base, &token, "HTTP: 1 client", 1, 0).await;
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let subscriber = tokio::spawn(stream_delays(base.clone(), token.clone(), stop.clone()));
        let many_name = format!("HTTP: {writers} clients (group commit)");
        let http_many = http_phase(&base, &token, &many_name, writers, 1 << 40).await;
        stop.store(true, std::sync::atomic::Ordering::SeqCst);
        let delays = subscriber.await.unwrap();
        (vec![one, many, http_one, http_many], delays)
    });
    let (rows, delays) = rows;

    println!(
        "Durable intake, {} s per phase, {} cores",
        seconds().as_secs_f64(),
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    println!();
    println!("| phase | acks/s | p50 ms | p99 ms | vs floor |");
    println!("|---|---|---|---|---|");
    println!("{}", floor.row(floor.rate()));
    println!("{}", four_pages.row(floor.rate()));
    for row in &rows {
        println!("{}", row.row(floor.rate()));
    }
    println!();
    println!(
        "Live stream during the {writers}-client phase: {} events, commit → received p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        delays.latencies.len(),
        delays.percentile(0.50).as_secs_f64() * 1e3,
        delays.percentile(0.99).as_secs_f64() * 1e3,
        delays.percentile(1.0).as_secs_f64() * 1e3,
    );
}

/// Runs pgbench with a single-row INSERT script against a scratch database
/// and returns its transactions per second.
fn pgbench_tps(url: &str, clients: usize, script: &std::path::Path) -> f64 {
    let output = std::process::Command::new("pgbench")
        .args(["-n", "-M", "prepared", "-T"])
        .arg(format!("{}", seconds().as_secs().max(1)))
        .args([
            "-c",
            &clients.to_string(),
            "-j",
            &clients.min(2).to_string(),
            "-f",
        ])
        .arg(script)
        .arg(url)
        .output()
        .expect("pgbench runs (Debian package postgresql-client)");
    let text = String::from_utf8_lossy(&output.stdout);
    text.lines()
        .find_map(|line| line.strip_prefix("tps = "))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| {
            panic!(
                "no tps in pgbench output: {text} {}",
                String::from_utf8_lossy(&output.stderr)
            )
        })
}

async fn postgres_phases(admin: &str, dir: &std::path::Path) {
    let floor_url = precinct_postgres::testing::scratch_database(admin)
        .await
        .unwrap();
    let (client, connection) = tokio_postgres::connect(&floor_url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    client
        .batch_execute("CREATE TABLE t (id BIGSERIAL PRIMARY KEY, body TEXT NOT NULL)")
        .await
        .unwrap();
    let script = dir.join("insert.sql");
    std::fs::write(&script, "INSERT INTO t (body) VALUES (repeat('x', 300));\n").unwrap();

    let store_url = precinct_postgres::testing::scratch_database(admin)
        .await
        .unwrap();
    let store = precinct::open_store(
        &precinct::DatabaseUrl::Postgres(store_url),
        Arc::new(SystemClock),
    )
    .await
    .unwrap();
    precinct::seed_demo(&store, &precinct_sim::generate(1), "bench-password", None)
        .await
        .unwrap();

    println!();
    println!("PostgreSQL (same server, same run):");
    println!();
    println!(
        "| clients | pgbench INSERT tps | store intake acks/s | p50 ms | p99 ms | vs pgbench |"
    );
    println!("|---|---|---|---|---|---|");
    for (clients, offset) in [(1usize, 1u64 << 44), (16, 1 << 45)] {
        let tps = pgbench_tps(&floor_url, clients, &script);
        let figures = store_phase(store.clone(), "pg", clients, offset).await;
        println!(
            "| {clients} | {tps:.0} | {:.0} | {:.2} | {:.2} | {:.0}% |",
            figures.rate(),
            figures.percentile(0.50).as_secs_f64() * 1e3,
            figures.percentile(0.99).as_secs_f64() * 1e3,
            100.0 * figures.rate() / tps
        );
    }
    store.shutdown().await;
}

/// Subscribes to the stream and records, for every event, the time from its
/// commit timestamp (`at`, stamped as its batch began) to its arrival here.
async fn stream_delays(
    base: String,
    token: String,
    stop: Arc<std::sync::atomic::AtomicBool>,
) -> Figures {
    let client = reqwest::Client::new();
    let mut stream = sse::SseClient::connect(&client, &base, &token, None).await;
    let started = Instant::now();
    let mut latencies = Vec::new();
    while !stop.load(std::sync::atomic::Ordering::SeqCst) {
        let Some(frame) = stream.try_next(Duration::from_millis(200)).await else {
            continue;
        };
        let Some(at) = frame.data["at"]
            .as_str()
            .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
        else {
            continue;
        };
        let delay = chrono::Utc::now() - at.with_timezone(&chrono::Utc);
        latencies.push(delay.to_std().unwrap_or_default());
    }
    Figures {
        name: "live stream".into(),
        acks: latencies.len(),
        elapsed: started.elapsed(),
        latencies,
    }
}
