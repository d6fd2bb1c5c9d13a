//! Positions on their lean path (issue 26): no event row, still durable and
//! still live. An acknowledged report survives kill -9, and a console's map
//! never moves a unit back, even with reports arriving through two
//! instances.

use crate::common::{Backend, fresh_database};
use crate::crash::{PASSWORD, database_arg, login, start};
use crate::sse::SseClient;
use precinct_storage::transfer::Table;
use precinct_storage::{SharedStore, SystemClock};
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The demo station on a fresh database: its URL, and the positions
/// seeding stored (the units' starting places).
async fn seeded(backend: Backend, dir: &std::path::Path) -> Option<(precinct::DatabaseUrl, usize)> {
    let url = fresh_database(backend, dir).await?;
    let store: SharedStore = precinct::open_store(&url, Arc::new(SystemClock))
        .await
        .unwrap();
    precinct::seed_demo(&store, &precinct_sim::generate(1), PASSWORD, None)
        .await
        .unwrap();
    let before = store
        .export_rows(Table::UnitPositions, 0, u32::MAX)
        .await
        .unwrap()
        .len();
    store.shutdown().await;
    Some((url, before))
}

async fn unit_ids(client: &reqwest::Client, base: &str, token: &str) -> Vec<i64> {
    let units: Value = client
        .get(format!("{base}/api/units"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    units
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["id"].as_i64().unwrap())
        .collect()
}

async fn kill_case(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let Some((url, before)) = seeded(backend, dir.path()).await else {
        eprintln!("skipped on {backend:?}: not configured");
        return;
    };
    let db = database_arg(&url);
    let server = start(&db);
    let client = reqwest::Client::new();
    let token = login(&client, &server.base).await;
    let units = unit_ids(&client, &server.base, &token).await;
    let child = Arc::new(Mutex::new(server.child));
    // Acknowledged reports: (unit, lat, lon).
    let acked: Arc<Mutex<Vec<(i64, f64, f64)>>> = Arc::default();
    let mut workers = Vec::new();
    for w in 0..4_i64 {
        let (client, base, token, units, acked) = (
            client.clone(),
            server.base.clone(),
            token.clone(),
            units.clone(),
            acked.clone(),
        );
        workers.push(tokio::spawn(async move {
            for n in 0_i64.. {
                let unit = units[((w * 7919 + n) as usize) % units.len()];
                let p = precinct_sim::district::at((w * 1000 + n % 1000) as f64, (n % 3000) as f64);
                let response = client
                    .post(format!("{base}/api/units/{unit}/position"))
                    .bearer_auth(&token)
                    .json(&json!({ "lat": p.lat(), "lon": p.lon() }))
                    .send()
                    .await;
                match response {
                    Ok(r) if r.status().is_success() => {
                        acked.lock().unwrap().push((unit, p.lat(), p.lon()))
                    }
                    // The server is gone.
                    _ => return,
                }
            }
        }));
    }
    while acked.lock().unwrap().len() < 400 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    // std's kill sends SIGKILL on Unix: no chance to flush anything.
    child.lock().unwrap().kill().unwrap();
    child.lock().unwrap().wait().unwrap();
    for w in workers {
        w.await.unwrap();
    }

    let store: SharedStore = precinct::open_store(&url, Arc::new(SystemClock))
        .await
        .unwrap();
    let stored = store
        .export_rows(Table::UnitPositions, 0, u32::MAX)
        .await
        .unwrap();
    let columns = Table::UnitPositions.columns();
    let at = |name: &str| columns.iter().position(|(n, _)| *n == name).unwrap();
    let (unit_at, lat_at, lon_at) = (at("unit_id"), at("lat"), at("lon"));
    let kept: std::collections::HashSet<(i64, u64, u64)> = stored
        .iter()
        .map(|r| {
            (
                r[unit_at].as_i64().unwrap(),
                r[lat_at].as_f64().unwrap().to_bits(),
                r[lon_at].as_f64().unwrap().to_bits(),
            )
        })
        .collect();
    let acked = acked.lock().unwrap().clone();
    assert!(stored.len() - before >= acked.len());
    for (unit, lat, lon) in &acked {
        assert!(
            kept.contains(&(*unit, lat.to_bits(), lon.to_bits())),
            "acknowledged position of unit {unit} at {lat},{lon} was lost"
        );
    }
    store.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_positions_survive_kill_9_on_sqlite() {
    kill_case(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_positions_survive_kill_9_on_postgres() {
    kill_case(Backend::Postgres).await;
}

/// One unit reported 60 times, alternately through each instance; a
/// console on the first sees its positions only ever move forward in
/// time, and ends at the last one reported.
async fn order_case(backend: Backend, instances: usize) {
    let dir = tempfile::tempdir().unwrap();
    let Some((url, _)) = seeded(backend, dir.path()).await else {
        eprintln!("skipped on {backend:?}: not configured");
        return;
    };
    let db = database_arg(&url);
    let servers: Vec<_> = (0..instances).map(|_| start(&db)).collect();
    let client = reqwest::Client::new();
    let token = login(&client, &servers[0].base).await;
    let unit = unit_ids(&client, &servers[0].base, &token).await[0];
    let mut console = SseClient::connect(&client, &servers[0].base, &token, None).await;
    let mut last = None;
    for n in 0..60 {
        let p = precinct_sim::district::at(100.0 + 10.0 * f64::from(n), 200.0);
        let base = &servers[n as usize % instances].base;
        let response = client
            .post(format!("{base}/api/units/{unit}/position"))
            .bearer_auth(&token)
            .json(&json!({ "lat": p.lat(), "lon": p.lon() }))
            .send()
            .await
            .unwrap();
        assert!(response.status().is_success());
        last = Some((p.lat(), p.lon()));
    }
    let mut seen: Vec<(String, f64, f64)> = Vec::new();
    while seen.last().map(|s| (s.1, s.2)) != last {
        let frame = console.next().await;
        if frame.event != "unit_positions" {
            continue;
        }
        assert!(frame.id.is_none(), "positions are not events of the record");
        for p in frame.data["positions"].as_array().unwrap() {
            if p["unit_id"].as_i64() == Some(unit) {
                seen.push((
                    p["at"].as_str().unwrap().to_owned(),
                    p["lat"].as_f64().unwrap(),
                    p["lon"].as_f64().unwrap(),
                ));
            }
        }
    }
    let times: Vec<chrono::DateTime<chrono::Utc>> =
        seen.iter().map(|s| s.0.parse().unwrap()).collect();
    assert!(
        times.windows(2).all(|w| w[0] <= w[1]),
        "the unit never moves back: {seen:?}"
    );
    // A frame carries each unit's newest only: fewer frames than reports.
    assert!(seen.len() <= 60);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_positions_stay_in_order_on_sqlite() {
    order_case(Backend::Sqlite, 1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_positions_stay_in_order_across_two_postgres_instances() {
    order_case(Backend::Postgres, 2).await;
}
