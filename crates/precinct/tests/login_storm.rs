//! A storm of failed logins does not exhaust the server's memory, and a
//! real user logs in during it (issue 15). A test binary of its own, so the
//! memory it reads (`/proc/self/status`) is this server's alone.
//!
//! Each password check takes argon2's 19 MiB: 200 checks at once took an
//! unbounded server to gigabytes. The checks now queue for a few slots.

#[path = "support/memory.rs"]
mod memory;

use memory::{Peak, demo_server, resident_bytes};
use serde_json::json;
use std::time::{Duration, Instant};

const PASSWORD: &str = "storm-test-password";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_failed_logins_at_once_keep_memory_bounded() {
    let Some(before) = resident_bytes() else {
        eprintln!("skipped: no /proc/self/status on this system");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (store, base) = demo_server(dir.path(), PASSWORD).await;
    let client = reqwest::Client::new();
    let login = |username: String, password: &'static str| {
        let (client, base) = (client.clone(), base.clone());
        async move {
            client
                .post(format!("{base}/api/auth/login"))
                .json(&json!({ "username": username, "password": password }))
                .send()
                .await
                .map(|r| r.status())
        }
    };
    // Warm up: one login, so what is measured is the storm, not start-up.
    assert_eq!(
        login("dispatcher".into(), PASSWORD).await.unwrap(),
        reqwest::StatusCode::OK
    );
    let before = resident_bytes().unwrap().max(before);

    // Sample memory while the storm runs.
    let peak = Peak::start(before);
    // 200 unknown usernames at once: each gets its free tries, so each is a
    // real password check.
    let storm: Vec<_> = (0..200)
        .map(|n| tokio::spawn(login(format!("ghost{n:03}"), "wrong password")))
        .collect();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let started = Instant::now();
    let real = tokio::spawn(login("dispatcher".into(), PASSWORD));
    for attempt in storm {
        assert_eq!(
            attempt.await.unwrap().unwrap(),
            reqwest::StatusCode::UNAUTHORIZED
        );
    }
    let real = real.await.unwrap().unwrap();
    let peak = peak.stop();
    assert_eq!(
        real,
        reqwest::StatusCode::OK,
        "a real user logs in during the storm"
    );
    let grown = peak.saturating_sub(before);
    eprintln!(
        "login storm: memory grew by {} MB at its peak; the real login took {:?}",
        grown / (1024 * 1024),
        started.elapsed()
    );
    assert!(
        grown < 300 * 1024 * 1024,
        "200 concurrent failed logins grew memory by {} MB (at most 300)",
        grown / (1024 * 1024)
    );
    store.shutdown().await;
}
