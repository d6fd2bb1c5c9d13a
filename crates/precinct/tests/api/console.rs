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
