//! A city's day, compressed (issue 26): the load generator behind `cargo
//! bench -p precinct --bench city_day` and its short form in the API tests
//! (included by `#[path]`).
//!
//! It seeds a station with the demo's ground and a fleet, starts real
//! `precinct serve` processes (one on SQLite, or several on one PostgreSQL
//! database), and for the given time drives them through the public API as
//! a city bureau's platform is driven: 110 instructions arriving (some
//! twice, dual reception, some second callers near an earlier report),
//! dispatchers sending each new incident's plan and closing it a while
//! later, every unit reporting its position every few seconds, and live
//! consoles on the event stream. Then it checks, in the database, that
//! every acknowledged write is stored once, no unit was ever on two
//! incidents at once, the record's chain is whole, and every console got
//! every event.

use futures_util::StreamExt;
use precinct_domain::incident::DefaultCategory;
use precinct_storage::transfer::Table;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};
use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub const PASSWORD: &str = "city-day-password";

/// How big a day, and how compressed.
#[derive(Debug, Clone)]
pub struct Scale {
    pub incidents: usize,
    pub units: usize,
    pub consoles: usize,
    pub dispatchers: usize,
    /// The whole day is replayed in this long.
    pub duration: Duration,
    /// Every unit reports its position this often.
    pub position_every: Duration,
    /// How long an incident stays open after its dispatch before it is closed.
    pub hold: Duration,
    /// Where incidents happen and units drive: west and south edges and
    /// size, metres from the demo ground's corner (the ground is 4 × 3.2 km).
    pub area: Area,
}

/// A rectangle in metres east and north of the demo ground's corner.
#[derive(Debug, Clone, Copy)]
pub struct Area {
    pub west: f64,
    pub south: f64,
    pub width: f64,
    pub height: f64,
}

impl Area {
    /// The demo ground.
    pub const GROUND: Area = Area {
        west: 0.0,
        south: 0.0,
        width: 4000.0,
        height: 3200.0,
    };

    fn random(&self, rng: &mut impl Rng) -> (f64, f64) {
        (
            self.west + rng.random_range(0.0..self.width),
            self.south + rng.random_range(0.0..self.height),
        )
    }

    fn clamp(&self, (east, north): (f64, f64)) -> (f64, f64) {
        (
            east.clamp(self.west, self.west + self.width),
            north.clamp(self.south, self.south + self.height),
        )
    }
}

impl Scale {
    /// A city bureau's day: 20,000 incidents, 5,000 units every 10 s, 30
    /// dispatchers, 300 consoles, in `CITY_MINUTES` minutes (default 5).
    pub fn city() -> Scale {
        let env = |name: &str, default: f64| {
            std::env::var(name)
                .ok()
                .and_then(|v| v.parse::<f64>().ok())
                .unwrap_or(default)
        };
        Scale {
            incidents: env("CITY_INCIDENTS", 20_000.0) as usize,
            units: env("CITY_UNITS", 5_000.0) as usize,
            consoles: env("CITY_CONSOLES", 300.0) as usize,
            dispatchers: env("CITY_DISPATCHERS", 30.0) as usize,
            duration: Duration::from_secs_f64(env("CITY_MINUTES", 5.0) * 60.0),
            position_every: Duration::from_secs(10),
            hold: Duration::from_secs(20),
            // A city's 60 × 60 km around the station's ground: a day
            // compressed into minutes puts all of it inside the 15-minute
            // duplicate window, so on the ground alone nearly every report
            // would be a likely duplicate of an earlier one.
            area: Area {
                west: -28_000.0,
                south: -28_400.0,
                width: 60_000.0,
                height: 60_000.0,
            },
        }
    }

    /// The short form the tests run: the same day, small, for `seconds`.
    pub fn short(seconds: u64) -> Scale {
        Scale {
            incidents: 10 * seconds as usize,
            units: 400,
            consoles: 20,
            dispatchers: 5,
            duration: Duration::from_secs(seconds),
            position_every: Duration::from_secs(5),
            hold: Duration::from_secs(5),
            area: Area::GROUND,
        }
    }
}

/// Where the station lives.
#[derive(Debug, Clone)]
pub enum Backend {
    Sqlite(std::path::PathBuf),
    /// The database's URL, and how many `serve` instances share it.
    Postgres(String, usize),
}

impl Backend {
    pub fn name(&self) -> &'static str {
        match self {
            Backend::Sqlite(_) => "sqlite",
            Backend::Postgres(..) => "postgres",
        }
    }

    fn url(&self) -> precinct::DatabaseUrl {
        match self {
            Backend::Sqlite(path) => precinct::DatabaseUrl::Sqlite(path.clone()),
            Backend::Postgres(url, _) => precinct::DatabaseUrl::Postgres(url.clone()),
        }
    }

    fn argument(&self) -> String {
        match self {
            Backend::Sqlite(path) => format!("sqlite://{}", path.display()),
            Backend::Postgres(url, _) => url.clone(),
        }
    }

    fn instances(&self) -> usize {
        match self {
            Backend::Sqlite(_) => 1,
            Backend::Postgres(_, n) => *n,
        }
    }
}

/// Latencies of one kind of operation, and its failures.
#[derive(Debug, Default)]
pub struct Op {
    pub micros: Vec<u64>,
    pub errors: u64,
}

impl Op {
    fn add(&mut self, elapsed: Duration) {
        self.micros.push(elapsed.as_micros() as u64);
    }

    pub fn percentile_ms(&self, p: f64) -> f64 {
        if self.micros.is_empty() {
            return f64::NAN;
        }
        let mut sorted = self.micros.clone();
        sorted.sort_unstable();
        sorted[((sorted.len() as f64 - 1.0) * p).round() as usize] as f64 / 1e3
    }
}

type Shared<T> = Arc<Mutex<T>>;

/// What a run measured and found.
#[derive(Debug, Default)]
pub struct Outcome {
    pub intake: Op,
    pub repeat: Op,
    pub dispatch: Op,
    pub close: Op,
    pub position: Op,
    pub event: Op,
    pub positions_frame: Op,
    pub elapsed: Duration,
    /// Per instance: peak resident memory (bytes) and CPU (share of one core).
    pub servers: Vec<(u64, f64)>,
    /// PostgreSQL's own processes, CPU (share of one core).
    pub database_cpu: Option<f64>,
    /// This load generator's CPU (share of one core).
    pub generator_cpu: f64,
    /// Acknowledged writes not stored (or stored twice).
    pub lost: u64,
    pub duplicated: u64,
    pub double_dispatched: u64,
    /// Events a console did not get, in order.
    pub events_missed: u64,
    pub chain_whole: bool,
    pub notes: Vec<String>,
}

impl Outcome {
    /// The table of figures, in Markdown.
    pub fn table(&self, backend: &str) -> String {
        let seconds = self.elapsed.as_secs_f64();
        let mut out = format!(
            "| {backend} | count | per s | p50 ms | p99 ms | errors |\n|---|---|---|---|---|---|\n"
        );
        for (name, op) in [
            ("intake (110 instruction)", &self.intake),
            ("same instruction again (dual reception)", &self.repeat),
            ("dispatch (the plan)", &self.dispatch),
            ("close", &self.close),
            ("position report", &self.position),
            (
                "event delivery to consoles (commit → received)",
                &self.event,
            ),
            (
                "positions frame delivery (report → received)",
                &self.positions_frame,
            ),
        ] {
            out.push_str(&format!(
                "| {name} | {} | {:.0} | {:.1} | {:.1} | {} |\n",
                op.micros.len(),
                op.micros.len() as f64 / seconds,
                op.percentile_ms(0.5),
                op.percentile_ms(0.99),
                op.errors
            ));
        }
        for (k, (rss, cpu)) in self.servers.iter().enumerate() {
            out.push_str(&format!(
                "\nserver {}: peak RSS {:.0} MB, CPU {:.0}% of one core",
                k + 1,
                *rss as f64 / 1e6,
                cpu * 100.0
            ));
        }
        if let Some(cpu) = self.database_cpu {
            out.push_str(&format!(
                "\nPostgreSQL: CPU {:.0}% of one core",
                cpu * 100.0
            ));
        }
        out.push_str(&format!(
            "\nload generator: CPU {:.0}% of one core\nchecks: lost {}, stored twice {}, units on two incidents at once {}, events a console missed {}, chain whole {}",
            self.generator_cpu * 100.0,
            self.lost,
            self.duplicated,
            self.double_dispatched,
            self.events_missed,
            self.chain_whole
        ));
        for note in &self.notes {
            out.push_str(&format!("\nnote: {note}"));
        }
        out
    }

    /// The last line, as the issue words it.
    pub fn last_line(&self, backend: &str) -> String {
        format!(
            "city_day {backend}: intake p99 {:.1} ms, dispatch p99 {:.1} ms, position p99 {:.1} ms, event p99 {:.1} ms, lost {}",
            self.intake.percentile_ms(0.99),
            self.dispatch.percentile_ms(0.99),
            self.position.percentile_ms(0.99),
            self.event.percentile_ms(0.99),
            self.lost + self.duplicated
        )
    }

    /// Whether every check passed.
    pub fn consistent(&self) -> bool {
        self.lost == 0
            && self.duplicated == 0
            && self.double_dispatched == 0
            && self.events_missed == 0
            && self.chain_whole
    }
}

/// The demo's ground with a fleet of `units` (the demo's own units copied
/// across the ground) and `dispatchers` dispatcher accounts.
pub fn district(scale: &Scale) -> precinct_sim::District {
    let mut district = precinct_sim::generate(1);
    let templates = district.units.clone();
    let mut rng = rand::rngs::StdRng::seed_from_u64(26);
    for k in 0..scale.units.saturating_sub(templates.len()) {
        let mut unit = templates[k % templates.len()].clone();
        unit.call_sign = format!("城{k:05}");
        unit.name = format!("{}（城{k:05}）", unit.name);
        unit.phone = None;
        let (east, north) = scale.area.random(&mut rng);
        unit.position = Some(precinct_sim::district::at(east, north));
        district.units.push(unit);
    }
    let mut accounts = district.accounts.to_vec();
    for d in 0..scale.dispatchers {
        accounts.push(precinct_sim::district::DemoAccount {
            username: Box::leak(format!("disp{d:02}").into_boxed_str()),
            display_name: Box::leak(format!("调度员{d:02}").into_boxed_str()),
            role: precinct_domain::user::Role::Dispatcher,
            unit_call_sign: None,
            organisation: None,
        });
    }
    district.accounts = Box::leak(accounts.into_boxed_slice());
    district
}

/// A running `precinct serve`.
struct Server {
    child: Child,
    base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(database: &str) -> Server {
    let mut child = Command::new(env!("CARGO_BIN_EXE_precinct"))
        .args([
            "serve",
            "--addr",
            "127.0.0.1:0",
            "--second-factor",
            "optional",
            "--database",
            database,
        ])
        // Ten consoles per dispatcher's session.
        .env("PRECINCT_LIMITS__STREAMS_PER_SESSION", "64")
        .env("PRECINCT_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the precinct binary starts");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("piped"))
        .read_line(&mut line)
        .expect("precinct prints where it listens");
    let base = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_owned();
    Server { child, base }
}

/// CPU ticks (user + system) of a process, from `/proc/<pid>/stat`.
fn cpu_ticks(pid: &str) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = after.split_whitespace().collect();
    Some(fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?)
}

/// CPU ticks of every PostgreSQL process on this machine.
fn postgres_ticks() -> u64 {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return 0;
    };
    entries
        .flatten()
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|pid| pid.bytes().all(|b| b.is_ascii_digit()))
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/comm"))
                .is_ok_and(|c| c.trim() == "postgres")
        })
        .filter_map(|pid| cpu_ticks(&pid))
        .sum()
}

fn peak_rss(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            let line = s.lines().find(|l| l.starts_with("VmHWM:"))?.to_owned();
            line.split_whitespace().nth(1)?.parse::<u64>().ok()
        })
        .map_or(0, |kb| kb * 1024)
}

/// Clock ticks per second (`getconf CLK_TCK`; 100 on Linux).
const TICKS: f64 = 100.0;

async fn login(client: &reqwest::Client, base: &str, username: &str) -> String {
    let response: Value = client
        .post(format!("{base}/api/auth/login"))
        .json(&json!({ "username": username, "password": PASSWORD }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    response["token"]
        .as_str()
        .unwrap_or_else(|| panic!("{username} logs in: {response}"))
        .to_owned()
}

/// One console on the event stream: it records each event's delay from
/// its commit, each positions frame's delay from its newest report, and
/// how many event ids it did not get in order.
async fn console(
    client: reqwest::Client,
    base: String,
    token: String,
    stop: Arc<AtomicBool>,
    events: Shared<Op>,
    frames: Shared<Op>,
    missed: Arc<AtomicU64>,
) {
    let response = client
        .get(format!("{base}/api/events/stream"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.status(),
        reqwest::StatusCode::OK,
        "the stream opens"
    );
    let mut body = response.bytes_stream();
    let mut buffer: Vec<u8> = Vec::new();
    let (mut own_events, mut own_frames) = (Vec::new(), Vec::new());
    let mut last_id: Option<i64> = None;
    while !stop.load(Ordering::Relaxed) {
        let chunk = match tokio::time::timeout(Duration::from_millis(200), body.next()).await {
            Ok(Some(Ok(chunk))) => chunk,
            Ok(_) => break,
            Err(_) => continue,
        };
        buffer.extend_from_slice(&chunk);
        let now = chrono::Utc::now();
        while let Some(end) = buffer.windows(2).position(|w| w == b"\n\n") {
            let frame: Vec<u8> = buffer.drain(..end + 2).collect();
            let text = String::from_utf8_lossy(&frame);
            let (mut id, mut kind, mut data) = (None, "", "");
            for line in text.lines() {
                if let Some(v) = line.strip_prefix("id:") {
                    id = v.trim().parse::<i64>().ok();
                } else if let Some(v) = line.strip_prefix("event:") {
                    kind = v.trim();
                } else if let Some(v) = line.strip_prefix("data:") {
                    data = v.trim_start();
                }
            }
            // The newest `"at":"…"` of the frame is its commit time.
            let at = data
                .rmatch_indices("\"at\":\"")
                .next()
                .and_then(|(i, _)| data[i + 6..].split('"').next())
                .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok());
            let delay = at.map(|at| {
                (now - at.with_timezone(&chrono::Utc))
                    .to_std()
                    .unwrap_or_default()
            });
            match (kind, id, delay) {
                ("unit_positions", _, Some(delay)) => own_frames.push(delay.as_micros() as u64),
                ("ready", ..) => {}
                (_, Some(id), Some(delay)) => {
                    if let Some(last) = last_id
                        && id != last + 1
                    {
                        missed.fetch_add((id - last - 1).max(0) as u64, Ordering::Relaxed);
                    }
                    last_id = Some(id);
                    own_events.push(delay.as_micros() as u64);
                }
                _ => {}
            }
        }
    }
    events.lock().unwrap().micros.extend(own_events);
    frames.lock().unwrap().micros.extend(own_frames);
}

/// Runs the day on `backend` and checks what it stored.
pub async fn run(backend: Backend, scale: &Scale) -> Outcome {
    let store = precinct::open_store(&backend.url(), Arc::new(precinct_storage::SystemClock))
        .await
        .unwrap();
    precinct::seed_demo(&store, &district(scale), PASSWORD, None)
        .await
        .unwrap();
    let positions_before = store
        .export_rows(Table::UnitPositions, 0, u32::MAX)
        .await
        .unwrap()
        .len() as u64;
    store.shutdown().await;
    drop(store);

    let servers: Vec<Server> = (0..backend.instances())
        .map(|_| serve(&backend.argument()))
        .collect();
    let bases: Vec<String> = servers.iter().map(|s| s.base.clone()).collect();
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(512)
        .build()
        .unwrap();
    let mut tokens = Vec::new();
    for d in 0..scale.dispatchers {
        tokens.push(login(&client, &bases[d % bases.len()], &format!("disp{d:02}")).await);
    }
    let units: Vec<i64> = {
        let list: Value = client
            .get(format!("{}/api/units", bases[0]))
            .bearer_auth(&tokens[0])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        list.as_array()
            .unwrap()
            .iter()
            .map(|u| u["id"].as_i64().unwrap())
            .collect()
    };

    let stop = Arc::new(AtomicBool::new(false));
    let events = Shared::<Op>::default();
    let frames = Shared::<Op>::default();
    let missed = Arc::new(AtomicU64::new(0));
    let mut consoles = Vec::new();
    for c in 0..scale.consoles {
        consoles.push(tokio::spawn(console(
            client.clone(),
            bases[c % bases.len()].clone(),
            tokens[c % tokens.len()].clone(),
            stop.clone(),
            events.clone(),
            frames.clone(),
            missed.clone(),
        )));
    }
    // Let the consoles connect before the day starts.
    tokio::time::sleep(Duration::from_millis(500)).await;

    let started_ticks: Vec<u64> = servers
        .iter()
        .map(|s| cpu_ticks(&s.child.id().to_string()).unwrap_or(0))
        .collect();
    let started_database = postgres_ticks();
    let started_generator = cpu_ticks("self").unwrap_or(0);
    let started = Instant::now();

    let intake = Shared::<Op>::default();
    let repeat = Shared::<Op>::default();
    let dispatch = Shared::<Op>::default();
    let close = Shared::<Op>::default();
    let position = Shared::<Op>::default();
    // Acknowledged instructions: external id → incident id; attempted ones.
    let acked: Shared<HashMap<String, i64>> = Shared::default();
    let attempted: Shared<HashSet<String>> = Shared::default();
    let acked_positions = Arc::new(AtomicU64::new(0));
    let attempted_positions = Arc::new(AtomicU64::new(0));
    let mismatched_repeats = Arc::new(AtomicU64::new(0));
    let (to_dispatch, queue) = tokio::sync::mpsc::unbounded_channel::<i64>();
    // Plans refused because a unit was taken meanwhile, or none was free.
    let conflicts = Arc::new(AtomicU64::new(0));
    let no_unit = Arc::new(AtomicU64::new(0));
    let queue = Arc::new(tokio::sync::Mutex::new(queue));

    // Dispatchers: each new incident's plan, then its closing a while later.
    let mut workers = Vec::new();
    for d in 0..scale.dispatchers {
        let (client, base, token) = (
            client.clone(),
            bases[d % bases.len()].clone(),
            tokens[d].clone(),
        );
        let (queue, dispatch, close, stop) =
            (queue.clone(), dispatch.clone(), close.clone(), stop.clone());
        let (conflicts, no_unit) = (conflicts.clone(), no_unit.clone());
        let hold = scale.hold;
        workers.push(tokio::spawn(async move {
            let mut closings = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                let next = tokio::time::timeout(Duration::from_millis(200), async {
                    queue.lock().await.recv().await
                })
                .await;
                let Ok(Some(id)) = next else { continue };
                let mut sent = false;
                // A dispatcher keeps at it: another plan when a unit was
                // taken meanwhile, a while later when no unit is free.
                for attempt in 0..6 {
                    let t = Instant::now();
                    let response = client
                        .post(format!("{base}/api/incidents/{id}/dispatch-plan"))
                        .bearer_auth(&token)
                        .json(&json!({}))
                        .send()
                        .await;
                    match response.map(|r| r.status()) {
                        Ok(s) if s.is_success() => {
                            dispatch.lock().unwrap().add(t.elapsed());
                            sent = true;
                            break;
                        }
                        Ok(reqwest::StatusCode::CONFLICT) => {
                            conflicts.fetch_add(1, Ordering::Relaxed);
                        }
                        Ok(reqwest::StatusCode::UNPROCESSABLE_ENTITY) => {
                            no_unit.fetch_add(1, Ordering::Relaxed);
                            tokio::time::sleep(Duration::from_millis(200 << attempt)).await;
                        }
                        _ => {
                            dispatch.lock().unwrap().errors += 1;
                            break;
                        }
                    }
                }
                if !sent {
                    continue;
                }
                let (client, base, token, close) =
                    (client.clone(), base.clone(), token.clone(), close.clone());
                closings.push(tokio::spawn(async move {
                    tokio::time::sleep(hold).await;
                    let t = Instant::now();
                    let response = client
                        .post(format!("{base}/api/incidents/{id}/close"))
                        .bearer_auth(&token)
                        .json(&json!({ "disposition": "resolved_on_scene" }))
                        .send()
                        .await;
                    match response.map(|r| r.status()) {
                        Ok(s) if s.is_success() => close.lock().unwrap().add(t.elapsed()),
                        _ => close.lock().unwrap().errors += 1,
                    }
                }));
            }
            for closing in closings {
                closing.abort();
            }
        }));
    }

    // Units: each reports every `position_every`, spread evenly.
    let gateways = 32.min(units.len().max(1));
    for g in 0..gateways {
        let mine: Vec<i64> = units.iter().copied().skip(g).step_by(gateways).collect();
        let (client, base, token) = (
            client.clone(),
            bases[g % bases.len()].clone(),
            tokens[g % tokens.len()].clone(),
        );
        let (position, stop, acked_positions, attempted_positions) = (
            position.clone(),
            stop.clone(),
            acked_positions.clone(),
            attempted_positions.clone(),
        );
        let (every, area) = (scale.position_every, scale.area);
        workers.push(tokio::spawn(async move {
            let mut rng = rand::rngs::StdRng::seed_from_u64(g as u64);
            let mut at: Vec<(f64, f64)> = mine.iter().map(|_| area.random(&mut rng)).collect();
            let gap = every / mine.len().max(1) as u32;
            let mut tick = tokio::time::interval(gap);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
            let mut k = 0;
            while !stop.load(Ordering::Relaxed) && !mine.is_empty() {
                tick.tick().await;
                let i = k % mine.len();
                k += 1;
                let (east, north) = at[i];
                at[i] = area.clamp((
                    east + rng.random_range(-60.0..60.0),
                    north + rng.random_range(-60.0..60.0),
                ));
                let p = precinct_sim::district::at(at[i].0, at[i].1);
                attempted_positions.fetch_add(1, Ordering::Relaxed);
                let t = Instant::now();
                let response = client
                    .post(format!("{base}/api/units/{}/position", mine[i]))
                    .bearer_auth(&token)
                    .json(&json!({ "lat": p.lat(), "lon": p.lon() }))
                    .send()
                    .await;
                match response.map(|r| r.status()) {
                    Ok(s) if s.is_success() => {
                        acked_positions.fetch_add(1, Ordering::Relaxed);
                        position.lock().unwrap().add(t.elapsed());
                    }
                    _ => position.lock().unwrap().errors += 1,
                }
            }
        }));
    }

    // 110 instructions, evenly over the day; one in twenty sent again to
    // another instance (dual reception), one in ten a second caller near an
    // earlier report.
    let gap = scale.duration / scale.incidents.max(1) as u32;
    let mut tick = tokio::time::interval(gap);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let mut rng = rand::rngs::StdRng::seed_from_u64(20_000);
    let mut recent: Vec<(f64, f64, &'static str)> = Vec::new();
    let mut intakes = Vec::new();
    for n in 0..scale.incidents {
        tick.tick().await;
        let category =
            DefaultCategory::ALL[rng.random_range(0..DefaultCategory::ALL.len())].as_str();
        let (east, north, category) = match recent.last() {
            Some(&(e, no, c)) if rng.random_bool(0.1) => (e + 20.0, no, c),
            _ => {
                let (east, north) = scale.area.random(&mut rng);
                (east, north, category)
            }
        };
        recent.push((east, north, category));
        if recent.len() > 16 {
            recent.remove(0);
        }
        let p = precinct_sim::district::at(east, north);
        let external = format!("city-{n}");
        let body = json!({
            "source": "instruction_110", "external_id": external, "category": category,
            "priority": rng.random_range(1..=3),
            "location": { "lat": p.lat(), "lon": p.lon() },
            "summary": "城市一日负载 city day load", "caller_name": "市民", "caller_phone": "13800000000",
        });
        let twice = rng.random_bool(0.05);
        let first = n % bases.len();
        let token = tokens[n % tokens.len()].clone();
        let (client, bases) = (client.clone(), bases.clone());
        let (intake, repeat, acked, attempted, to_dispatch, mismatched) = (
            intake.clone(),
            repeat.clone(),
            acked.clone(),
            attempted.clone(),
            to_dispatch.clone(),
            mismatched_repeats.clone(),
        );
        intakes.push(tokio::spawn(async move {
            attempted.lock().unwrap().insert(external.clone());
            let send = |base: String| {
                let (client, token, body) = (client.clone(), token.clone(), body.clone());
                async move {
                    let t = Instant::now();
                    let response = client
                        .post(format!("{base}/api/incidents"))
                        .bearer_auth(&token)
                        .json(&body)
                        .send()
                        .await
                        .ok()?;
                    let created = response.status() == reqwest::StatusCode::CREATED;
                    if !response.status().is_success() {
                        return None;
                    }
                    let answer: Value = response.json().await.ok()?;
                    Some((t.elapsed(), created, answer))
                }
            };
            match send(bases[first].clone()).await {
                Some((elapsed, created, answer)) => {
                    intake.lock().unwrap().add(elapsed);
                    let id = answer["incident"]["id"].as_i64().unwrap_or_default();
                    acked.lock().unwrap().insert(external.clone(), id);
                    if created && answer["incident"]["duplicate_of"].is_null() {
                        let _ = to_dispatch.send(id);
                    }
                    if twice {
                        let again = bases[(first + 1) % bases.len()].clone();
                        match send(again).await {
                            Some((elapsed, _, answer)) => {
                                repeat.lock().unwrap().add(elapsed);
                                if answer["incident"]["id"].as_i64() != Some(id) {
                                    mismatched.fetch_add(1, Ordering::Relaxed);
                                }
                            }
                            None => repeat.lock().unwrap().errors += 1,
                        }
                    }
                }
                None => intake.lock().unwrap().errors += 1,
            }
        }));
    }
    for task in intakes {
        let _ = task.await;
    }
    // The rest of the day, if the instructions came faster than planned.
    if let Some(rest) = scale.duration.checked_sub(started.elapsed()) {
        tokio::time::sleep(rest).await;
    }
    let elapsed = started.elapsed();
    stop.store(true, Ordering::Relaxed);
    for worker in workers {
        let _ = worker.await;
    }
    let generator_cpu =
        (cpu_ticks("self").unwrap_or(0) - started_generator) as f64 / TICKS / elapsed.as_secs_f64();
    let server_figures: Vec<(u64, f64)> = servers
        .iter()
        .zip(&started_ticks)
        .map(|(s, &t0)| {
            let t1 = cpu_ticks(&s.child.id().to_string()).unwrap_or(t0);
            (
                peak_rss(s.child.id()),
                (t1 - t0) as f64 / TICKS / elapsed.as_secs_f64(),
            )
        })
        .collect();
    let database_cpu = matches!(backend, Backend::Postgres(..)).then(|| {
        (postgres_ticks().saturating_sub(started_database)) as f64 / TICKS / elapsed.as_secs_f64()
    });
    // The consoles take in what is still on its way.
    tokio::time::sleep(Duration::from_secs(1)).await;
    for c in consoles {
        let _ = c.await;
    }
    drop(servers);

    let mut outcome = Outcome {
        elapsed,
        servers: server_figures,
        database_cpu,
        generator_cpu,
        events_missed: missed.load(Ordering::Relaxed),
        ..Outcome::default()
    };
    outcome.notes.push(format!(
        "plans refused: {} because a unit was taken meanwhile (tried again), {} because no unit was free (tried later)",
        conflicts.load(Ordering::Relaxed),
        no_unit.load(Ordering::Relaxed)
    ));
    let mismatched = mismatched_repeats.load(Ordering::Relaxed);
    if mismatched > 0 {
        outcome.duplicated += mismatched;
        outcome.notes.push(format!(
            "{mismatched} instructions sent twice got two different incidents"
        ));
    }
    let acked = std::mem::take(&mut *acked.lock().unwrap());
    let attempted = std::mem::take(&mut *attempted.lock().unwrap());
    check(
        &backend,
        &acked,
        &attempted,
        acked_positions.load(Ordering::Relaxed),
        attempted_positions.load(Ordering::Relaxed),
        positions_before,
        &mut outcome,
    )
    .await;
    let take = |op: &Shared<Op>| std::mem::take(&mut *op.lock().unwrap());
    outcome.intake = take(&intake);
    outcome.repeat = take(&repeat);
    outcome.dispatch = take(&dispatch);
    outcome.close = take(&close);
    outcome.position = take(&position);
    outcome.event = take(&events);
    outcome.positions_frame = take(&frames);
    outcome
}

/// Reads the database back: every acknowledged instruction stored once,
/// every acknowledged position stored, no unit on two incidents at once,
/// the chain whole.
async fn check(
    backend: &Backend,
    acked: &HashMap<String, i64>,
    attempted: &HashSet<String>,
    acked_positions: u64,
    attempted_positions: u64,
    positions_before: u64,
    outcome: &mut Outcome,
) {
    let store = precinct::open_store(&backend.url(), Arc::new(precinct_storage::SystemClock))
        .await
        .unwrap();
    let rows = |table: Table| {
        let store = store.clone();
        async move {
            let mut all = Vec::new();
            loop {
                let page = store
                    .export_rows(table, all.len() as u64, 5_000)
                    .await
                    .unwrap();
                let done = page.len() < 5_000;
                all.extend(page);
                if done {
                    return all;
                }
            }
        }
    };
    let columns = |table: Table, name: &str| {
        table
            .columns()
            .iter()
            .position(|(n, _)| *n == name)
            .unwrap()
    };

    // Instructions.
    let (id_at, external_at) = (
        columns(Table::Incidents, "id"),
        columns(Table::Incidents, "external_id"),
    );
    let mut stored: HashMap<String, Vec<i64>> = HashMap::new();
    for row in rows(Table::Incidents).await {
        if let Some(external) = row[external_at].as_str()
            && external.starts_with("city-")
        {
            stored
                .entry(external.to_owned())
                .or_default()
                .push(row[id_at].as_i64().unwrap_or_default());
        }
    }
    let (lost, twice) = (outcome.lost, outcome.duplicated);
    for (external, id) in acked {
        match stored.get(external).map(Vec::as_slice) {
            Some([one]) if one == id => {}
            Some([_]) | None => outcome.lost += 1,
            Some(_) => outcome.duplicated += 1,
        }
    }
    if outcome.lost > lost || outcome.duplicated > twice {
        outcome.notes.push(format!(
            "instructions: {} acknowledged not stored as answered, {} stored more than once",
            outcome.lost - lost,
            outcome.duplicated - twice
        ));
    }
    let strangers = stored.keys().filter(|e| !attempted.contains(*e)).count();
    if strangers > 0 {
        outcome.duplicated += strangers as u64;
        outcome
            .notes
            .push(format!("{strangers} stored instructions were never sent"));
    }

    // Positions: every acknowledged one stored (an unanswered one may be).
    // Those stored by seeding (the units' starting places) are not the day's.
    let stored_positions =
        (rows(Table::UnitPositions).await.len() as u64).saturating_sub(positions_before);
    if stored_positions < acked_positions {
        outcome.lost += acked_positions - stored_positions;
        outcome.notes.push(format!(
            "{} acknowledged positions not stored",
            acked_positions - stored_positions
        ));
    }
    if stored_positions > attempted_positions {
        outcome.duplicated += stored_positions - attempted_positions;
        outcome.notes.push(format!(
            "{stored_positions} positions stored, {attempted_positions} sent"
        ));
    }

    // No unit on two incidents at once.
    let (unit_at, assigned_at, released_at) = (
        columns(Table::Assignments, "unit_id"),
        columns(Table::Assignments, "assigned_at"),
        columns(Table::Assignments, "released_at"),
    );
    let mut spans: HashMap<i64, Vec<(i64, i64)>> = HashMap::new();
    for row in rows(Table::Assignments).await {
        spans
            .entry(row[unit_at].as_i64().unwrap_or_default())
            .or_default()
            .push((
                row[assigned_at].as_i64().unwrap_or_default(),
                row[released_at].as_i64().unwrap_or(i64::MAX),
            ));
    }
    for spans in spans.values_mut() {
        spans.sort();
        outcome.double_dispatched += spans.windows(2).filter(|w| w[0].1 > w[1].0).count() as u64;
    }

    let reports = precinct_storage::chain::verify(store.as_ref())
        .await
        .unwrap();
    outcome.chain_whole = reports.iter().all(|r| r.broken.is_none());
    store.shutdown().await;
}

/// Positions at fleet rate: `clients` gateways each sending one report
/// after another for `seconds`, over HTTP, to one `serve` instance.
/// Returns the reports per second and their latencies.
pub async fn positions_burst(backend: Backend, clients: usize, seconds: f64) -> (f64, Op) {
    let scale = Scale {
        dispatchers: clients.min(8),
        ..Scale::short(1)
    };
    let store = precinct::open_store(&backend.url(), Arc::new(precinct_storage::SystemClock))
        .await
        .unwrap();
    precinct::seed_demo(&store, &district(&scale), PASSWORD, None)
        .await
        .unwrap();
    store.shutdown().await;
    drop(store);
    let server = serve(&backend.argument());
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(clients)
        .build()
        .unwrap();
    let mut tokens = Vec::new();
    for d in 0..scale.dispatchers {
        tokens.push(login(&client, &server.base, &format!("disp{d:02}")).await);
    }
    let deadline = Instant::now() + Duration::from_secs_f64(seconds);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..clients {
        let (client, base, token) = (
            client.clone(),
            server.base.clone(),
            tokens[c % tokens.len()].clone(),
        );
        let units = scale.units as i64;
        tasks.push(tokio::spawn(async move {
            let mut op = Op::default();
            let mut rng = rand::rngs::StdRng::seed_from_u64(c as u64);
            let url_of = |unit: i64| format!("{base}/api/units/{unit}/position");
            while Instant::now() < deadline {
                let unit = rng.random_range(1..=units);
                let p = precinct_sim::district::at(
                    rng.random_range(0.0..4000.0),
                    rng.random_range(0.0..3200.0),
                );
                let t = Instant::now();
                let response = client
                    .post(url_of(unit))
                    .bearer_auth(&token)
                    .json(&json!({ "lat": p.lat(), "lon": p.lon() }))
                    .send()
                    .await;
                match response {
                    Ok(r) if r.status().is_success() => {
                        let _ = r.bytes().await;
                        op.add(t.elapsed());
                    }
                    _ => op.errors += 1,
                }
            }
            op
        }));
    }
    let mut all = Op::default();
    for task in tasks {
        let op = task.await.unwrap();
        all.micros.extend(op.micros);
        all.errors += op.errors;
    }
    let rate = all.micros.len() as f64 / started.elapsed().as_secs_f64();
    (rate, all)
}
