//! Issue 25, item 6: honest proposals. A helper whose position is older
//! than its kind allows is never pre-ticked over a fresh one; it is still
//! listed, its time marked as an estimate and its reason naming the age.

use crate::common::*;
use reqwest::StatusCode;
use serde_json::json;

api_test! {
    async fn a_stale_helper_is_not_proposed_over_a_fresh_one(app) {
        let d = app.login("dispatcher").await;
        let shop = app.place(&d, "美食七街7号").await;
        let night_market = app.unit_id(&d, "夜市义警").await;
        // The night-market volunteers report from right by the shop…
        let (lat, lon) = near(&shop, 20.0, 0.0);
        let (status, _) = app.post(Some(&d), &format!("/api/units/{night_market}/position"), json!({ "lat": lat, "lon": lon })).await;
        assert_eq!(status, StatusCode::OK);
        // …then fall silent for 45 minutes, while another helper team
        // reports from a little farther away.
        app.clock.advance(chrono::Duration::minutes(45));
        let (_, units) = app.get(Some(&d), "/api/units").await;
        let fresh = units.as_array().unwrap().iter()
            .find(|u| {
                matches!(u["kind"].as_str(), Some("volunteer_police_team" | "security_force_team" | "grid_worker"))
                    && u["id"] != night_market
                    && matches!(u["status"].as_str(), Some("on_patrol" | "at_post"))
            })
            .map(|u| u["id"].as_i64().unwrap())
            .expect("another helper team");
        let (lat, lon) = near(&shop, 150.0, 0.0);
        let (status, _) = app.post(Some(&d), &format!("/api/units/{fresh}/position"), json!({ "lat": lat, "lon": lon })).await;
        assert_eq!(status, StatusCode::OK);

        let incident = app.instruction(&d, "110-STALE", "fight_assault", shop["location"]["lat"].as_f64().unwrap(), shop["location"]["lon"].as_f64().unwrap()).await;
        let id = incident["id"].as_i64().unwrap();
        let (status, plan) = app.get(Some(&d), &format!("/api/incidents/{id}/recommendation")).await;
        assert_eq!(status, StatusCode::OK, "{plan}");
        let helpers = plan["forces"].as_array().unwrap().iter().find(|f| f["role"] == "first_response").unwrap();
        let candidates = helpers["candidates"].as_array().unwrap();
        let proposed: Vec<i64> = candidates.iter().filter(|c| c["proposed"] == true).map(|c| c["unit_id"].as_i64().unwrap()).collect();
        assert_eq!(proposed, [fresh], "the fresh team is pre-ticked: {helpers}");
        let stale = candidates.iter().find(|c| c["unit_id"] == night_market).expect("the silent team is still listed");
        assert_eq!(stale["stale_minutes"], 45);
        assert_eq!(stale["estimated"], true);
        assert_eq!(stale["proposed"], false);
        assert!(stale["reason_zh"].as_str().unwrap().contains("位置已45分钟未更新"), "{stale}");
        assert!(stale["reason"].as_str().unwrap().contains("45 min old"), "{stale}");
        assert!(plan["proposed_unit_ids"].as_array().unwrap().contains(&json!(fresh)));
        assert!(!plan["proposed_unit_ids"].as_array().unwrap().contains(&json!(night_market)));
    }
}
