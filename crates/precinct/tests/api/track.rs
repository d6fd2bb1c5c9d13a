//! Issue 25, item 4: a clean record. Position reports are a unit's track,
//! read by unit and time; an incident whose units reported ten thousand
//! positions opens with a short timeline.

use crate::common::*;
use futures_util::StreamExt;
use precinct_domain::Coordinates;
use precinct_domain::event::Actor;
use precinct_domain::ids::UnitId;
use precinct_storage::Clock;
use reqwest::StatusCode;
use serde_json::json;

fn enc(t: chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339().replace('+', "%2B").replace(':', "%3A")
}

api_test! {
    async fn ten_thousand_positions_are_a_track_not_a_timeline(app) {
        let d = app.login("dispatcher").await;
        let shop = app.place(&d, "美食七街7号").await;
        let (lat, lon) = near(&shop, 0.0, 0.0);
        let incident = app.instruction(&d, "110-TRACK", "fight_assault", lat, lon).await;
        let id = incident["id"].as_i64().unwrap();
        let unit = app.unit_id(&d, "北巡1").await;
        let (status, body) = app
            .post(Some(&d), &format!("/api/incidents/{id}/dispatch"), json!({ "unit_ids": [unit] }))
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let from = app.clock.now() - chrono::Duration::minutes(1);

        // Ten thousand reports, as the unit's phone sends them on the way.
        let store = app.store.clone();
        futures_util::stream::iter(0..10_000)
            .map(|k| {
                let store = store.clone();
                async move {
                    let here = Coordinates::new(lat + f64::from(k % 100) * 1e-5, lon).unwrap();
                    store
                        .report_unit_position(UnitId(unit), here, Actor::system("gps"))
                        .await
                        .unwrap();
                }
            })
            .buffer_unordered(64)
            .collect::<Vec<()>>()
            .await;
        let until = app.clock.now() + chrono::Duration::minutes(1);

        // The incident opens with what matters: intake, dispatch; no 位置上报.
        let (status, detail) = app.get(Some(&d), &format!("/api/incidents/{id}")).await;
        assert_eq!(status, StatusCode::OK);
        let timeline = detail["timeline"].as_array().unwrap();
        assert!(timeline.len() < 10, "{} entries", timeline.len());
        assert!(timeline.iter().all(|e| e["type"] != "unit_position_reported"));

        // The track has every report, oldest first.
        let period = format!("from={}&until={}", enc(from), enc(until));
        let (status, track) = app.get(Some(&d), &format!("/api/units/{unit}/track?{period}")).await;
        assert_eq!(status, StatusCode::OK, "{track}");
        let points = track["points"].as_array().unwrap();
        let ours = points.iter().filter(|p| p["lon"].as_f64() == Some(lon)).count();
        assert_eq!((ours, track["truncated"].as_bool()), (10_000, Some(false)), "every report, none lost");
        assert!(points.windows(2).all(|w| w[0]["at"].as_str() <= w[1]["at"].as_str()));
        let (_, first) = app.get(Some(&d), &format!("/api/units/{unit}/track?{period}&limit=100")).await;
        assert_eq!((first["points"].as_array().unwrap().len(), first["truncated"].as_bool()), (100, Some(true)));

        // Bad input gets a stable error.
        let backwards = format!("from={}&until={}", enc(until), enc(from));
        for (query, code) in [
            (backwards, "invalid_period"),
            (format!("from={}&until={}", enc(from), enc(from + chrono::Duration::days(8))), "invalid_period"),
            (format!("{period}&limit=0"), "invalid_limit"),
            (format!("{period}&limit=20001"), "invalid_limit"),
        ] {
            let (status, body) = app.get(Some(&d), &format!("/api/units/{unit}/track?{query}")).await;
            assert_eq!((status, body["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some(code)), "{query}");
        }
        let (status, body) = app.get(Some(&d), &format!("/api/units/999999/track?{period}")).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
        let (status, _) = app.get(Some(&d), &format!("/api/units/{unit}/track?from=yesterday&until=today")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
    }
}
