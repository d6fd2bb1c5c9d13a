//! What the web console needs from the server: the embedded page on its own
//! origin only, its settings, and the station's own base map (roads).

use crate::common::*;
use reqwest::StatusCode;

api_test! {
    async fn the_console_is_served_from_the_binary_with_a_same_origin_policy(app) {
        for path in ["/", "/field", "/incidents/12"] {
            let response = app.client.get(format!("{}{path}", app.base)).send().await.unwrap();
            assert_eq!(response.status(), StatusCode::OK, "{path}");
            let headers = response.headers().clone();
            assert!(headers["content-type"].to_str().unwrap().starts_with("text/html"));
            let csp = headers["content-security-policy"].to_str().unwrap();
            assert!(csp.contains("default-src 'self'") && csp.contains("connect-src 'self'"), "{csp}");
            assert_eq!(headers["cache-control"], "no-cache");
            let page = response.text().await.unwrap();
            assert!(page.contains("<div id=\"app\">"), "{page}");
        }
        // The page's script is embedded and cacheable forever (its name is a content hash).
        let page = app.client.get(&app.base).send().await.unwrap().text().await.unwrap();
        let script = page.split("src=\"").nth(1).unwrap().split('"').next().unwrap();
        assert!(script.starts_with("/assets/") && script.ends_with(".js"), "{script}");
        let response = app.client.get(format!("{}{script}", app.base)).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert!(response.headers()["cache-control"].to_str().unwrap().contains("immutable"));
        assert!(response.headers()["content-type"].to_str().unwrap().starts_with("text/javascript"));
        // Browsers get it gzipped (compressed at build time).
        let response = app
            .client
            .get(format!("{}{script}", app.base))
            .header("accept-encoding", "gzip, deflate, br")
            .send()
            .await
            .unwrap();
        assert_eq!(response.headers()["content-encoding"], "gzip");
        assert_eq!(response.headers()["vary"], "accept-encoding");
        let gz = response.bytes().await.unwrap();
        assert_eq!(&gz[..2], &[0x1f, 0x8b]);
        // Unknown files are not answered with the page; unknown API paths keep the JSON error.
        let missing = app.client.get(format!("{}/assets/nope.js", app.base)).send().await.unwrap();
        assert_eq!(missing.status(), StatusCode::NOT_FOUND);
        let (status, body) = app.get(None, "/api/no-such-endpoint").await;
        assert_eq!((status, body["code"].as_str()), (StatusCode::NOT_FOUND, Some("route_not_found")));
        let response = app.client.post(format!("{}/field", app.base)).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "pages are only read");
    }
}

api_test! {
    async fn console_settings_and_the_road_base_map(app) {
        let (status, _) = app.get(None, "/api/console/config").await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        let volunteer = app.login("volunteer").await;
        let (status, config) = app.get(Some(&volunteer), "/api/console/config").await;
        assert_eq!(status, StatusCode::OK, "{config}");
        assert_eq!(config["time_zone"], "Asia/Shanghai");
        assert_eq!(config["station_name"], "高桥派出所");
        assert_eq!(config["dispatch_target_seconds"], 60);
        assert_eq!(config["now"], "2026-10-30T14:23:00Z", "the station's clock (story time in tests)");
        assert_eq!(config["clock_speed"], 0.0, "a hand-moved clock");

        let (status, _) = app.get(None, "/api/map/roads").await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        let (status, roads) = app.get(Some(&volunteer), "/api/map/roads").await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(roads["type"], "FeatureCollection");
        let features = roads["features"].as_array().unwrap();
        assert!(features.len() > 20, "the demo's street grid: {}", features.len());
        let first = &features[0];
        assert_eq!(first["geometry"]["type"], "LineString");
        let [lon, lat] = [0, 1].map(|k| first["geometry"]["coordinates"][0][k].as_f64().unwrap());
        assert!((112.9..113.2).contains(&lon) && (28.0..28.3).contains(&lat), "[lon, lat] in Changsha: {lon} {lat}");
        assert!(features.iter().any(|f| f["properties"]["class"] == "primary"));
    }
}

api_test! {
    async fn closures_carry_their_line_for_the_map(app) {
        let dispatcher = app.login("dispatcher").await;
        let shop = app.place(&dispatcher, "美食七街7号").await;
        let (status, closed) = app
            .post(Some(&dispatcher), "/api/roads/closures", serde_json::json!({ "near": shop["location"], "reason": "演练" }))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{closed}");
        let (_, closures) = app.get(Some(&dispatcher), "/api/roads/closures").await;
        let closures = closures.as_array().unwrap();
        assert!(!closures.is_empty());
        for closure in closures {
            let line = closure["line"].as_array().unwrap();
            assert_eq!(line.len(), 2, "{closure}");
            assert!(line[0]["lat"].as_f64().is_some() && line[1]["lon"].as_f64().is_some());
        }
    }
}

api_test! {
    async fn without_a_base_map_there_is_none(app) {
        let token = app.login("dispatcher").await;
        let (_, config) = app.get(Some(&token), "/api/console/config").await;
        assert_eq!(config["basemap_url"], serde_json::Value::Null);
        let (status, body) = app.get(Some(&token), "/api/map/basemap.pmtiles").await;
        assert_eq!((status, body["code"].as_str()), (StatusCode::NOT_FOUND, Some("not_found")));
    }
}

/// The admin's PMTiles base map through the real binary: refused at start-up
/// when it is not PMTiles; otherwise read by byte ranges, behind login.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_configured_base_map_is_served_by_byte_ranges() {
    use std::process::Command;
    let dir = tempfile::tempdir().unwrap();
    let wrong = dir.path().join("not-a-map.pmtiles");
    std::fs::write(&wrong, b"hello").unwrap();
    let refused = Command::new(env!("CARGO_BIN_EXE_precinct"))
        .args([
            "demo",
            "--addr",
            "127.0.0.1:0",
            "--no-simulator",
            "--basemap",
        ])
        .arg(&wrong)
        .arg("--data-dir")
        .arg(dir.path().join("a"))
        .output()
        .unwrap();
    assert!(!refused.status.success());
    let said = String::from_utf8_lossy(&refused.stderr);
    assert!(said.contains("not a PMTiles"), "{said}");
    // A wrong time zone or font is refused at start-up too, not at first use.
    for (flag, value, message) in [
        ("--time-zone", "Mars/Olympus", "unknown time zone"),
        ("--cjk-font", "/nonexistent/font.ttc", "reading the font"),
    ] {
        let refused = Command::new(env!("CARGO_BIN_EXE_precinct"))
            .args([
                "demo",
                "--addr",
                "127.0.0.1:0",
                "--no-simulator",
                flag,
                value,
            ])
            .arg("--data-dir")
            .arg(dir.path().join(flag.trim_start_matches('-')))
            .output()
            .unwrap();
        assert!(!refused.status.success(), "{flag}");
        let said = String::from_utf8_lossy(&refused.stderr);
        assert!(said.contains(message), "{flag}: {said}");
    }

    let map = dir.path().join("city.pmtiles");
    crate::pmtiles::write_raster_pmtiles(&map);
    let size = std::fs::metadata(&map).unwrap().len();
    let mut args: Vec<std::ffi::OsString> = [
        "demo",
        "--addr",
        "127.0.0.1:0",
        "--no-simulator",
        "--demo-password",
        PASSWORD,
        "--basemap",
    ]
    .map(Into::into)
    .to_vec();
    args.push(map.clone().into());
    args.push("--data-dir".into());
    args.push(dir.path().join("b").into());
    let demo = crate::spawn::precinct(args);
    let base = demo.base.clone();
    let client = reqwest::Client::new();
    let url = format!("{base}/api/map/basemap.pmtiles");
    let anonymous = client
        .get(&url)
        .header("range", "bytes=0-6")
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    let login: serde_json::Value = client
        .post(format!("{base}/api/auth/login"))
        .json(&serde_json::json!({ "username": "dispatcher", "password": PASSWORD }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = login["token"].as_str().unwrap();
    let config: serde_json::Value = client
        .get(format!("{base}/api/console/config"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(config["basemap_url"], "/api/map/basemap.pmtiles");

    let head = client
        .get(&url)
        .bearer_auth(token)
        .header("range", "bytes=0-6")
        .send()
        .await
        .unwrap();
    assert_eq!(head.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(
        head.headers()["content-range"],
        format!("bytes 0-6/{size}").as_str()
    );
    assert_eq!(head.headers()["accept-ranges"], "bytes");
    assert_eq!(&head.bytes().await.unwrap()[..], b"PMTiles");
    let tail = client
        .get(&url)
        .bearer_auth(token)
        .header("range", "bytes=-4")
        .send()
        .await
        .unwrap();
    assert_eq!(tail.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(
        &tail.bytes().await.unwrap()[..],
        &[0xae, 0x42, 0x60, 0x82],
        "the PNG's last bytes"
    );
    let outside = client
        .get(&url)
        .bearer_auth(token)
        .header("range", format!("bytes={size}-"))
        .send()
        .await
        .unwrap();
    assert_eq!(outside.status(), StatusCode::RANGE_NOT_SATISFIABLE);
    let body: serde_json::Value = outside.json().await.unwrap();
    assert_eq!(body["code"], "invalid_range");
    let whole = client.get(&url).bearer_auth(token).send().await.unwrap();
    assert_eq!(
        whole.status(),
        StatusCode::OK,
        "a small file may be read whole"
    );
    assert_eq!(whole.bytes().await.unwrap().len() as u64, size);
    drop(demo);
}

// What live events touched is fetched by id (the console updates those
// incidents, not the whole list): masked, as visible to the reader, only open
// ones when asked; bad ids are refused. Units say which statuses they may
// report next, and an event's data is typed by its kind.
api_test! {
    async fn touched_incidents_by_id_units_next_statuses_and_typed_events(app) {
        use serde_json::json;
        let dispatcher = app.login("dispatcher").await;
        let shop = app.place(&dispatcher, "美食七街7号").await;
        let (lat, lon) = near(&shop, 0.0, 0.0);
        let first = app.instruction(&dispatcher, "IDS-1", "fight_assault", lat, lon).await;
        let second = app.instruction(&dispatcher, "IDS-2", "theft", lat, lon).await;
        let (a, b) = (first["id"].as_i64().unwrap(), second["id"].as_i64().unwrap());
        let (status, listed) = app.get(Some(&dispatcher), &format!("/api/incidents?ids={a},{b},999999")).await;
        assert_eq!(status, StatusCode::OK, "{listed}");
        let ids: Vec<i64> = listed.as_array().unwrap().iter().map(|i| i["id"].as_i64().unwrap()).collect();
        assert_eq!(ids, vec![b, a], "newest first, unknown ids left out");
        assert_eq!(listed[0]["caller"]["phone"], "138****8000", "masked as the list is: {listed}");
        // Closed ones leave an open list.
        let (status, body) = app
            .post(Some(&dispatcher), &format!("/api/incidents/{a}/close"), json!({ "disposition": "no_action_needed" }))
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let (_, open) = app.get(Some(&dispatcher), &format!("/api/incidents?status=open&ids={a},{b}")).await;
        assert_eq!(open.as_array().unwrap().len(), 1, "{open}");
        // A volunteer sees none of them (not their unit's).
        let volunteer = app.login("volunteer").await;
        let (status, theirs) = app.get(Some(&volunteer), &format!("/api/incidents?status=all&ids={a},{b}")).await;
        assert_eq!((status, theirs), (StatusCode::OK, json!([])));
        for bad in ["", "x", "0", "1,,2", &(1..=101).map(|i| i.to_string()).collect::<Vec<_>>().join(",")] {
            let (status, body) = app.get(Some(&dispatcher), &format!("/api/incidents?ids={bad}")).await;
            assert_eq!((status, body["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_field")), "{bad}");
        }
        // Units: what each may report next, from the transition table.
        let (_, units) = app.get(Some(&dispatcher), "/api/units").await;
        for unit in units.as_array().unwrap() {
            let from = precinct_domain::unit::UnitStatus::parse(unit["status"].as_str().unwrap()).unwrap();
            let next: Vec<&str> = unit["next_statuses"].as_array().unwrap().iter().map(|s| s.as_str().unwrap()).collect();
            let expected: Vec<&str> = from.next_reported().map(|s| s.as_str()).collect();
            assert_eq!(next, expected, "{unit}");
            assert!(!next.contains(&"dispatched"), "dispatching is not reported");
        }
        // Events: typed data by kind (the closed incident's timeline).
        let (_, detail) = app.get(Some(&dispatcher), &format!("/api/incidents/{a}")).await;
        let timeline = detail["timeline"].as_array().unwrap();
        let received = timeline.iter().find(|e| e["type"] == "incident_received").unwrap();
        assert_eq!(received["data"]["priority"], 2, "{received}");
        assert!(received["data"]["location"]["lat"].is_f64(), "{received}");
        let closed = timeline.iter().find(|e| e["type"] == "incident_closed").unwrap();
        assert_eq!(closed["data"], json!({ "disposition": "no_action_needed", "remark": null }));
    }
}
