//! Durability of the real binary: clients stream acknowledged intakes while
//! the server is killed (SIGKILL) or stopped (SIGTERM); after a restart every
//! acknowledged incident is present, none twice.

use crate::common::{Backend, fresh_database};
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub const PASSWORD: &str = "crash-test-password";

pub struct Server {
    pub child: Child,
    pub base: String,
}

/// The `--database` argument for a fresh station.
pub fn database_arg(url: &precinct::DatabaseUrl) -> String {
    match url {
        precinct::DatabaseUrl::Sqlite(path) => format!("sqlite://{}", path.display()),
        precinct::DatabaseUrl::Postgres(url) => url.clone(),
    }
}

pub fn start(db: &str) -> Server {
    let mut child = Command::new(env!("CARGO_BIN_EXE_precinct"))
        // Durability, not accounts, is under test here.
        .args([
            "serve",
            "--addr",
            "127.0.0.1:0",
            "--second-factor",
            "optional",
            "--database",
            db,
        ])
        .env("PRECINCT_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the precinct binary starts");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let base = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_owned();
    Server { child, base }
}

pub fn add_admin(db: &str) {
    let status = Command::new(env!("CARGO_BIN_EXE_precinct"))
        .args([
            "user",
            "add",
            "--username",
            "admin",
            "--role",
            "admin",
            "--database",
            db,
        ])
        .env("PRECINCT_PASSWORD", PASSWORD)
        .env("PRECINCT_LOG", "warn")
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
}

pub async fn login(client: &reqwest::Client, base: &str) -> String {
    let body: Value = crate::common::post_json(
        client,
        &format!("{base}/api/auth/login"),
        &json!({ "username": "admin", "password": PASSWORD }),
    )
    .await;
    body["token"].as_str().unwrap().to_owned()
}

fn intake(external_id: &str, n: u32) -> Value {
    json!({
        "source": "instruction_110", "external_id": external_id, "category": "theft", "priority": 2,
        "location": { "lat": 28.14 + f64::from(n % 100) * 0.0005, "lon": 113.0 + f64::from(n / 100) * 0.0005 },
        "summary": "crash test intake",
    })
}

/// Streams intakes from `workers` clients until the server goes away;
/// returns what was acknowledged and everything that was attempted.
pub async fn stream_intakes(
    bases: Vec<String>,
    token: String,
    workers: u32,
    stop_after_acks: usize,
    stop: impl FnOnce() + Send + 'static,
) -> (Vec<String>, Vec<String>) {
    let acked = Arc::new(Mutex::new(Vec::new()));
    let attempted = Arc::new(Mutex::new(Vec::new()));
    let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let tasks: Vec<_> = (0..workers)
        .map(|w| {
            let base = bases[w as usize % bases.len()].clone();
            let (client, token, acked, attempted, done) = (
                client.clone(),
                token.clone(),
                acked.clone(),
                attempted.clone(),
                done.clone(),
            );
            tokio::spawn(async move {
                for n in 0..10_000u32 {
                    if done.load(std::sync::atomic::Ordering::SeqCst) {
                        return;
                    }
                    let id = format!("crash-{w}-{n}");
                    attempted.lock().unwrap().push(id.clone());
                    let sent = client
                        .post(format!("{base}/api/incidents"))
                        .bearer_auth(&token)
                        .json(&intake(&id, n))
                        .send()
                        .await;
                    match sent {
                        Ok(response) if response.status() == StatusCode::CREATED => {
                            acked.lock().unwrap().push(id)
                        }
                        _ => return,
                    }
                }
            })
        })
        .collect();
    loop {
        tokio::time::sleep(Duration::from_millis(10)).await;
        if acked.lock().unwrap().len() >= stop_after_acks {
            break;
        }
    }
    stop();
    done.store(true, std::sync::atomic::Ordering::SeqCst);
    for task in tasks {
        task.await.unwrap();
    }
    let acked = acked.lock().unwrap().clone();
    let attempted = attempted.lock().unwrap().clone();
    (acked, attempted)
}

pub async fn check_after_restart(db: &str, acked: &[String], attempted: &[String]) {
    let server = start(db);
    let client = reqwest::Client::new();
    let token = login(&client, &server.base).await;
    let list: Vec<Value> = crate::common::get_json(
        &client,
        &format!("{}/api/incidents?status=all&limit=1000", server.base),
        &token,
    )
    .await;
    let mut counts: HashMap<String, usize> = HashMap::new();
    for incident in &list {
        *counts
            .entry(incident["external_id"].as_str().unwrap().to_owned())
            .or_default() += 1;
    }
    for id in acked {
        assert_eq!(
            counts.get(id),
            Some(&1),
            "acknowledged {id} is present exactly once"
        );
    }
    assert!(counts.values().all(|&n| n == 1), "no incident twice");
    let attempted_set: HashSet<&String> = attempted.iter().collect();
    assert!(
        counts.keys().all(|k| attempted_set.contains(k)),
        "nothing appeared that was not sent"
    );

    // Clients retry what they never saw acknowledged: 双接警 makes that safe.
    for (n, id) in attempted.iter().enumerate() {
        let response = client
            .post(format!("{}/api/incidents", server.base))
            .bearer_auth(&token)
            .json(&intake(id, n as u32))
            .send()
            .await
            .unwrap();
        assert!(response.status() == StatusCode::CREATED || response.status() == StatusCode::OK);
    }
    let after: Vec<Value> = crate::common::get_json(
        &client,
        &format!("{}/api/incidents?status=all&limit=1000", server.base),
        &token,
    )
    .await;
    assert_eq!(
        after.len(),
        attempted.len(),
        "after retries, exactly one incident per instruction"
    );
    let mut child = server.child;
    child.kill().unwrap();
    child.wait().unwrap();
}

async fn sigkill_case(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let Some(url) = fresh_database(backend, dir.path()).await else {
        eprintln!("skipped on {backend:?}: not configured");
        return;
    };
    let db = database_arg(&url);
    add_admin(&db);
    let server = start(&db);
    let token = login(&reqwest::Client::new(), &server.base).await;
    let child = Arc::new(Mutex::new(server.child));
    let killer = child.clone();
    let (acked, attempted) = stream_intakes(vec![server.base], token, 4, 150, move || {
        // std's kill sends SIGKILL on Unix: no chance to flush anything.
        killer.lock().unwrap().kill().unwrap();
    })
    .await;
    child.lock().unwrap().wait().unwrap();
    assert!(acked.len() >= 150);
    check_after_restart(&db, &acked, &attempted).await;
}

async fn sigterm_case(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let Some(url) = fresh_database(backend, dir.path()).await else {
        eprintln!("skipped on {backend:?}: not configured");
        return;
    };
    let db = database_arg(&url);
    add_admin(&db);
    let server = start(&db);
    let token = login(&reqwest::Client::new(), &server.base).await;
    let pid = server.child.id();
    let (acked, attempted) = stream_intakes(vec![server.base], token, 4, 100, move || {
        let status = Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    })
    .await;
    let mut child = server.child;
    let exit = child.wait().unwrap();
    assert!(
        exit.success(),
        "a graceful shutdown exits with 0, got {exit:?}"
    );
    check_after_restart(&db, &acked, &attempted).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_loses_no_acknowledged_intake_on_sqlite() {
    sigkill_case(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_loses_no_acknowledged_intake_on_postgres() {
    sigkill_case(Backend::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_finishes_in_flight_writes_on_sqlite() {
    sigterm_case(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_finishes_in_flight_writes_on_postgres() {
    sigterm_case(Backend::Postgres).await;
}

/// One cycle of the kill loop: three clients take in incidents and one
/// dispatches units to them, until `acks` intakes were acknowledged; then
/// SIGKILL. Returns what was acknowledged: intakes (by external id) and
/// dispatches (incident id, unit id).
async fn kill_cycle(
    db: &str,
    token: &str,
    cycle: u32,
    acks: usize,
) -> (Vec<String>, Vec<(i64, i64)>) {
    let server = start(db);
    let base = server.base.clone();
    let child = Arc::new(Mutex::new(server.child));
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let acked = Arc::new(Mutex::new(Vec::<(String, i64)>::new()));
    let dispatched = Arc::new(Mutex::new(Vec::<(i64, i64)>::new()));
    let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut tasks = Vec::new();
    for w in 0..3u32 {
        let (client, base, token, acked, done) = (
            client.clone(),
            base.clone(),
            token.to_owned(),
            acked.clone(),
            done.clone(),
        );
        tasks.push(tokio::spawn(async move {
            for n in 0..1_000u32 {
                if done.load(std::sync::atomic::Ordering::SeqCst) {
                    return;
                }
                let id = format!("loop-{cycle}-{w}-{n}");
                let sent = client
                    .post(format!("{base}/api/incidents"))
                    .bearer_auth(&token)
                    .json(&intake(&id, n))
                    .send()
                    .await;
                let Ok(response) = sent else { return };
                if response.status() != StatusCode::CREATED {
                    return;
                }
                let Ok(body) = response.json::<Value>().await else {
                    // Acknowledged, though the body was cut off by the kill.
                    return;
                };
                let incident = body["incident"]["id"].as_i64().unwrap();
                acked.lock().unwrap().push((id, incident));
            }
        }));
    }
    {
        let (client, base, token, acked, dispatched, done) = (
            client.clone(),
            base.clone(),
            token.to_owned(),
            acked.clone(),
            dispatched.clone(),
            done.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let Ok(response) = client
                .get(format!("{base}/api/units"))
                .bearer_auth(&token)
                .send()
                .await
            else {
                return;
            };
            let Ok(units) = response.json::<Vec<Value>>().await else {
                return;
            };
            let mut free: Vec<i64> = units
                .iter()
                .filter(|u| u["incident_id"].is_null())
                .filter(|u| ["at_post", "on_patrol"].contains(&u["status"].as_str().unwrap_or("")))
                .map(|u| u["id"].as_i64().unwrap())
                .collect();
            while !done.load(std::sync::atomic::Ordering::SeqCst)
                && dispatched.lock().unwrap().len() < 3
            {
                let next = acked.lock().unwrap().last().map(|(_, id)| *id);
                let (Some(incident), Some(unit)) = (next, free.pop()) else {
                    tokio::time::sleep(Duration::from_millis(5)).await;
                    continue;
                };
                let Ok(response) = client
                    .post(format!("{base}/api/incidents/{incident}/dispatch"))
                    .bearer_auth(&token)
                    .json(&json!({ "unit_ids": [unit] }))
                    .send()
                    .await
                else {
                    return;
                };
                if response.status() == StatusCode::OK {
                    dispatched.lock().unwrap().push((incident, unit));
                }
            }
        }));
    }
    // Kill once intakes were acknowledged and a dispatch went through (or
    // could not, after a while): writes of both kinds are in flight.
    let began = std::time::Instant::now();
    loop {
        tokio::time::sleep(Duration::from_millis(5)).await;
        if acked.lock().unwrap().len() >= acks
            && (!dispatched.lock().unwrap().is_empty() || began.elapsed() > Duration::from_secs(3))
        {
            break;
        }
    }
    child.lock().unwrap().kill().unwrap();
    child.lock().unwrap().wait().unwrap();
    done.store(true, std::sync::atomic::Ordering::SeqCst);
    for task in tasks {
        task.await.unwrap();
    }
    let acked = acked
        .lock()
        .unwrap()
        .iter()
        .map(|(id, _)| id.clone())
        .collect();
    let dispatched = dispatched.lock().unwrap().clone();
    (acked, dispatched)
}

/// 50 SIGKILLs under concurrent intake and dispatch: after them, every
/// acknowledged intake is stored exactly once, every acknowledged dispatch
/// stands, no unit is on two incidents, and the record verifies.
async fn kill_loop_case(backend: Backend) {
    const CYCLES: u32 = 50;
    let dir = tempfile::tempdir().unwrap();
    let Some(url) = fresh_database(backend, dir.path()).await else {
        eprintln!("skipped on {backend:?}: not configured");
        return;
    };
    {
        let store = precinct::open_store(&url, Arc::new(precinct_storage::SystemClock))
            .await
            .unwrap();
        precinct::seed_demo(&store, &precinct_sim::generate(1), PASSWORD, None)
            .await
            .unwrap();
        store.shutdown().await;
    }
    let db = database_arg(&url);
    let token = {
        let server = start(&db);
        let body: Value = crate::common::post_json(
            &reqwest::Client::new(),
            &format!("{}/api/auth/login", server.base),
            &json!({ "username": "dispatcher", "password": PASSWORD }),
        )
        .await;
        let mut child = server.child;
        child.kill().unwrap();
        child.wait().unwrap();
        // Sessions are stored: the token outlives every restart.
        body["token"].as_str().unwrap().to_owned()
    };
    let (mut acked, mut dispatched) = (Vec::new(), Vec::new());
    let started = std::time::Instant::now();
    for cycle in 0..CYCLES {
        let (a, d) = kill_cycle(&db, &token, cycle, 12).await;
        acked.extend(a);
        dispatched.extend(d);
    }
    eprintln!(
        "kill loop on {backend:?}: {CYCLES} SIGKILLs in {:?}, {} intakes and {} dispatches acknowledged",
        started.elapsed(),
        acked.len(),
        dispatched.len()
    );
    assert!(
        dispatched.len() >= 10,
        "dispatches ran: {}",
        dispatched.len()
    );

    let store = precinct::open_store(&url, Arc::new(precinct_storage::SystemClock))
        .await
        .unwrap();
    let incidents = store
        .list_incidents(precinct_storage::IncidentFilter {
            limit: 100_000,
            ..Default::default()
        })
        .await
        .unwrap();
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for incident in &incidents {
        if let Some(external) = incident.external_id.as_deref() {
            *counts.entry(external).or_default() += 1;
        }
    }
    for id in &acked {
        assert_eq!(
            counts.get(id.as_str()),
            Some(&1),
            "acknowledged {id} is stored exactly once"
        );
    }
    assert!(counts.values().all(|&n| n == 1), "no incident twice");
    let by_id: HashMap<i64, &precinct_domain::incident::Incident> =
        incidents.iter().map(|i| (i.id.0, i)).collect();
    for (incident, unit) in &dispatched {
        assert!(
            by_id[incident]
                .assignments
                .iter()
                .any(|a| a.unit_id.0 == *unit),
            "acknowledged dispatch of unit {unit} to incident {incident} stands"
        );
    }
    let mut busy: HashMap<i64, i64> = HashMap::new();
    for incident in &incidents {
        for a in incident
            .assignments
            .iter()
            .filter(|a| a.released_at.is_none())
        {
            if let Some(other) = busy.insert(a.unit_id.0, incident.id.0) {
                panic!(
                    "unit {} is on incidents {other} and {} at once",
                    a.unit_id.0, incident.id.0
                );
            }
        }
    }
    let reports = precinct_storage::chain::verify(store.as_ref())
        .await
        .unwrap();
    assert!(reports.iter().all(|r| r.broken.is_none()), "{reports:?}");
    store.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_sigkills_under_intake_and_dispatch_lose_nothing_on_sqlite() {
    kill_loop_case(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_sigkills_under_intake_and_dispatch_lose_nothing_on_postgres() {
    kill_loop_case(Backend::Postgres).await;
}
