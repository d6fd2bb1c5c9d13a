//! Several `precinct serve` processes on one PostgreSQL database behave as
//! one system: live events reach every instance, a unit is never taken
//! twice, an instruction sent to both becomes one incident, and killing one
//! instance loses nothing it acknowledged. PostgreSQL only (skipped, with a
//! message, when PRECINCT_TEST_DATABASE_URL is not set).

use crate::crash::{PASSWORD, Server, check_after_restart, login, start, stream_intakes};
use crate::sse::SseClient;
use precinct_storage::SystemClock;
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Two instances on one fresh database holding the demo district (seed 1).
async fn two_instances() -> Option<(String, Server, Server)> {
    let admin = precinct_postgres::testing::test_database_url()?;
    let url = precinct_postgres::testing::scratch_database(&admin)
        .await
        .unwrap();
    let store = precinct::open_store(
        &precinct::DatabaseUrl::Postgres(url.clone()),
        Arc::new(SystemClock),
    )
    .await
    .unwrap();
    precinct::seed_demo(&store, &precinct_sim::generate(1), PASSWORD, None)
        .await
        .unwrap();
    store.shutdown().await;
    let (a, b) = (start(&url), start(&url));
    Some((url, a, b))
}

fn stop(mut server: Server) {
    server.child.kill().unwrap();
    server.child.wait().unwrap();
}

async fn post(
    client: &reqwest::Client,
    base: &str,
    token: &str,
    path: &str,
    body: Value,
) -> (StatusCode, Value) {
    let response = client
        .post(format!("{base}{path}"))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

fn instruction(external_id: &str, east_m: f64) -> Value {
    let p = precinct_sim::district::at(500.0 + east_m, 500.0);
    json!({
        "source": "instruction_110", "external_id": external_id, "category": "theft", "priority": 2,
        "location": { "lat": p.lat(), "lon": p.lon() }, "summary": "multi-instance test",
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_fan_out_across_instances_in_one_order() {
    let Some((_, a, b)) = two_instances().await else {
        eprintln!("skipped: PRECINCT_TEST_DATABASE_URL is not set");
        return;
    };
    let client = reqwest::Client::new();
    let token = login(&client, &a.base).await; // sessions are shared: valid on both
    let mut on_a = SseClient::connect(&client, &a.base, &token, None).await;
    let mut on_b = SseClient::connect(&client, &b.base, &token, None).await;

    let started = Instant::now();
    let (status, _) = post(
        &client,
        &a.base,
        &token,
        "/api/incidents",
        instruction("fan-1", 0.0),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let first_on_b = on_b.next().await;
    eprintln!("committed on A → received on B: {:?}", started.elapsed());
    assert_eq!(first_on_b.data["data"]["external_id"], "fan-1");
    let started = Instant::now();
    post(
        &client,
        &b.base,
        &token,
        "/api/incidents",
        instruction("fan-2", 1000.0),
    )
    .await;
    let mut seen_a = vec![on_a.next().await.id.unwrap()];
    let second_on_a = on_a.next().await;
    eprintln!("committed on B → received on A: {:?}", started.elapsed());
    assert_eq!(second_on_a.data["data"]["external_id"], "fan-2");
    seen_a.push(second_on_a.id.unwrap());
    let mut seen_b = vec![first_on_b.id.unwrap()];

    // 40 intakes through both at once: both streams see the same events in the same order.
    let tasks: Vec<_> = (0..40)
        .map(|n| {
            let (client, token) = (client.clone(), token.clone());
            let base = if n % 2 == 0 {
                a.base.clone()
            } else {
                b.base.clone()
            };
            let body = instruction(&format!("fan-many-{n}"), f64::from(n) * 400.0);
            tokio::spawn(async move { post(&client, &base, &token, "/api/incidents", body).await })
        })
        .collect();
    for task in tasks {
        assert_eq!(task.await.unwrap().0, StatusCode::CREATED);
    }
    // Drain both streams (duplicate-linked events come too) and compare them whole.
    while let Some(frame) = on_a.try_next(Duration::from_millis(500)).await {
        seen_a.push(frame.id.unwrap());
    }
    while let Some(frame) = on_b.try_next(Duration::from_millis(500)).await {
        seen_b.push(frame.id.unwrap());
    }
    assert!(
        seen_a.len() >= 42,
        "every intake's event arrived: {}",
        seen_a.len()
    );
    assert!(
        seen_a.windows(2).all(|w| w[0] < w[1]),
        "ids increase: {seen_a:?}"
    );
    assert_eq!(
        seen_a, seen_b,
        "both instances deliver the same events in the same order"
    );
    stop(a);
    stop(b);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sixteen_dispatchers_on_two_instances_assign_a_unit_once() {
    let Some((_, a, b)) = two_instances().await else {
        eprintln!("skipped: PRECINCT_TEST_DATABASE_URL is not set");
        return;
    };
    let client = reqwest::Client::new();
    let token = login(&client, &a.base).await;
    let mut incidents = Vec::new();
    for n in 0..16 {
        let (_, body) = post(
            &client,
            &a.base,
            &token,
            "/api/incidents",
            instruction(&format!("race-{n}"), f64::from(n) * 400.0),
        )
        .await;
        incidents.push(body["incident"]["id"].as_i64().unwrap());
    }
    let units: Value =
        crate::common::get_json(&client, &format!("{}/api/units", b.base), &token).await;
    let car = units
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["call_sign"] == "南巡1")
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    let tasks: Vec<_> = incidents
        .iter()
        .enumerate()
        .map(|(n, &incident)| {
            let (client, token) = (client.clone(), token.clone());
            let base = if n % 2 == 0 {
                a.base.clone()
            } else {
                b.base.clone()
            };
            tokio::spawn(async move {
                post(
                    &client,
                    &base,
                    &token,
                    &format!("/api/incidents/{incident}/dispatch"),
                    json!({ "unit_ids": [car] }),
                )
                .await
            })
        })
        .collect();
    let mut wins = 0;
    for task in tasks {
        let (status, body) = task.await.unwrap();
        match status {
            StatusCode::OK => wins += 1,
            StatusCode::CONFLICT => assert_eq!(body["code"], "unit_unavailable"),
            other => panic!("unexpected {other}: {body}"),
        }
    }
    assert_eq!(
        wins, 1,
        "exactly one dispatcher, on either instance, wins the unit"
    );
    stop(a);
    stop(b);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_instruction_at_two_instances_is_one_incident() {
    let Some((_, a, b)) = two_instances().await else {
        eprintln!("skipped: PRECINCT_TEST_DATABASE_URL is not set");
        return;
    };
    let client = reqwest::Client::new();
    let token = login(&client, &a.base).await;
    for n in 0..20 {
        let body = instruction(&format!("dual-{n}"), f64::from(n) * 400.0);
        let (first, second) = tokio::join!(
            post(&client, &a.base, &token, "/api/incidents", body.clone()),
            post(&client, &b.base, &token, "/api/incidents", body.clone()),
        );
        let statuses = [first.0, second.0];
        assert!(
            statuses.contains(&StatusCode::CREATED) && statuses.contains(&StatusCode::OK),
            "one creates, one finds it: {statuses:?}"
        );
        assert_eq!(
            first.1["incident"]["id"], second.1["incident"]["id"],
            "both answer with the same incident"
        );
    }
    let list: Value = crate::common::get_json(
        &client,
        &format!("{}/api/incidents?status=all&limit=1000", b.base),
        &token,
    )
    .await;
    assert_eq!(list.as_array().unwrap().len(), 20);
    stop(a);
    stop(b);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_one_instance_loses_nothing_acknowledged() {
    let Some((url, a, b)) = two_instances().await else {
        eprintln!("skipped: PRECINCT_TEST_DATABASE_URL is not set");
        return;
    };
    let token = login(&reqwest::Client::new(), &a.base).await;
    let victim = Arc::new(Mutex::new(a.child));
    let killer = victim.clone();
    let (acked, attempted) = stream_intakes(
        vec![a.base.clone(), b.base.clone()],
        token,
        4,
        200,
        move || {
            killer.lock().unwrap().kill().unwrap();
        },
    )
    .await;
    victim.lock().unwrap().wait().unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    stop(b);
    check_after_restart(&url, &acked, &attempted).await;
}
