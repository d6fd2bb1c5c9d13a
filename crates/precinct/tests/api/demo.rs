//! The README's main command, `precinct demo`, run as a user would: it
//! prints its accounts, plays the hours before it opens, serves, simulates
//! incidents live, and stops cleanly.

use serde_json::{Value, json};
use std::process::Command;
use std::time::{Duration, Instant};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_serves_a_live_district_and_stops_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let mut args: Vec<std::ffi::OsString> = [
        "demo",
        "--addr",
        "127.0.0.1:0",
        "--seed",
        "7",
        "--speed",
        "120",
        "--intensity",
        "30",
        "--demo-password",
        "demo-pass-1",
        "--warm-up-hours",
        "1",
        "--data-dir",
    ]
    .map(Into::into)
    .to_vec();
    args.push(dir.path().into());
    let spawned_at = chrono::Utc::now();
    let mut demo = crate::spawn::precinct(args);
    let base = demo.base.clone();
    let printed = std::mem::take(&mut demo.printed);
    let printed = printed.join("\n");
    assert!(
        printed.contains("高桥派出所") && printed.contains("password: demo-pass-1"),
        "{printed}"
    );
    for role in [
        "admin",
        "dispatcher",
        "officer",
        "volunteer",
        "mediator",
        "analyst",
    ] {
        assert!(printed.contains(role), "an account for {role}: {printed}");
    }

    let client = reqwest::Client::new();
    let login: Value = crate::common::post_json(
        &client,
        &format!("{base}/api/auth/login"),
        &json!({ "username": "dispatcher", "password": "demo-pass-1" }),
    )
    .await;
    let token = login["token"]
        .as_str()
        .expect("the printed password works")
        .to_owned();

    // It opens on a station that has had an hour of work: reports from that
    // hour, stamped with their own times, some already handled and closed.
    let warmed_up: usize = printed
        .lines()
        .find_map(|line| line.strip_prefix("warmed up: reports in those hours: "))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("the demo says how its warm-up went: {printed}"));
    assert!(warmed_up > 0, "{printed}");
    let time = |incident: &Value, field: &str| {
        incident[field]
            .as_str()
            .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
            .map(|t| t.with_timezone(&chrono::Utc))
    };
    let reported_at = |incident: &Value| time(incident, "reported_at").expect("reported_at");
    let all_incidents = || async {
        let list: Value = crate::common::get_json(
            &client,
            &format!("{base}/api/incidents?status=all&limit=1000"),
            &token,
        )
        .await;
        list.as_array().unwrap().clone()
    };
    // Its two years of history are imported incidents; the warm-up's are reports.
    let opening: Vec<Value> = all_incidents()
        .await
        .into_iter()
        .filter(|i| i["source"] != "history")
        .collect();
    let past: Vec<&Value> = opening
        .iter()
        .filter(|i| reported_at(i) < spawned_at)
        .collect();
    assert_eq!(
        past.len(),
        warmed_up,
        "each of the warm-up's reports is an incident, stamped in the past"
    );
    assert!(
        opening
            .iter()
            .all(|i| reported_at(i) >= spawned_at - chrono::Duration::minutes(61)),
        "nothing before the hour it played"
    );
    assert!(
        past.iter().any(|i| i["status"] == "closed"
            && time(i, "closed_at").is_some_and(|closed| closed < spawned_at)),
        "some were handled and closed during that hour"
    );

    // Then the simulator goes on live.
    let started = Instant::now();
    let live = loop {
        let live = all_incidents()
            .await
            .into_iter()
            .filter(|i| reported_at(i) > spawned_at)
            .count();
        if live > 0 || started.elapsed() > Duration::from_secs(20) {
            break live;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    assert!(
        live > 0,
        "the simulator brings new incidents within seconds"
    );
    // Its past: two years of incidents and a year of disputes, so the
    // figures and the mediation pages have something real to show.
    let year = format!(
        "from={}&until={}",
        (spawned_at - chrono::Duration::days(365))
            .to_rfc3339()
            .replace('+', "%2B"),
        spawned_at.to_rfc3339().replace('+', "%2B")
    );
    let figures: Value = crate::common::get_json(
        &client,
        &format!("{base}/api/figures/station?{year}"),
        &token,
    )
    .await;
    let incidents = &figures["figures"][0];
    assert_eq!(incidents["key"], "incidents");
    assert!(
        incidents["value"].as_f64().unwrap() > 10_000.0,
        "{incidents}"
    );
    let change = incidents["yoy_change"].as_f64().unwrap();
    assert!(
        (-0.12..-0.02).contains(&change),
        "near the station's −6.68%: {change}"
    );
    let disputes: Value =
        crate::common::get_json(&client, &format!("{base}/api/disputes?status=all"), &token).await;
    assert!(disputes.as_array().unwrap().len() > 100, "a year of cases");
    let units: Value = crate::common::get_json(&client, &format!("{base}/api/units"), &token).await;
    assert_eq!(units.as_array().unwrap().len(), 564);

    let status = Command::new("kill")
        .args(["-TERM", &demo.child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    assert!(
        demo.child.wait().unwrap().success(),
        "SIGTERM stops the demo cleanly"
    );
}
