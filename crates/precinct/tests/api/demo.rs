//! The README's main command, `precinct demo`, run as a user would: it
//! prints its accounts, serves, simulates incidents, and stops cleanly.

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
        "--data-dir",
    ]
    .map(Into::into)
    .to_vec();
    args.push(dir.path().into());
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
    let started = Instant::now();
    let incidents = loop {
        let list: Value =
            crate::common::get_json(&client, &format!("{base}/api/incidents?status=all"), &token)
                .await;
        if !list.as_array().unwrap().is_empty() || started.elapsed() > Duration::from_secs(20) {
            break list;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    assert!(
        !incidents.as_array().unwrap().is_empty(),
        "the simulator brings incidents within seconds"
    );
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
