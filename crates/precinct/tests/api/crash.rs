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
        .args(["serve", "--addr", "127.0.0.1:0", "--database", db])
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
