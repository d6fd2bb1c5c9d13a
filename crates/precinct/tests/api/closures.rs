//! Road closures are stored, shared, and respected by the next recommendation.

use crate::common::*;
use reqwest::StatusCode;
use serde_json::json;

api_test! {
    async fn a_closure_reroutes_the_recommendation_and_reopening_restores_it(app) {
        let d = app.login("dispatcher").await;
        let shop = app.place(&d, "美食七街7号").await;
        let (lat, lon) = near(&shop, 0.0, 0.0);
        let id = app.instruction(&d, "c-1", "fight_assault", lat, lon).await["id"].as_i64().unwrap();
        let first_police = |plan: &serde_json::Value| plan["forces"][0]["candidates"][0]["call_sign"].as_str().unwrap().to_owned();
        let (_, plan) = app.get(Some(&d), &format!("/api/incidents/{id}/recommendation")).await;
        assert_eq!(first_police(&plan), "怡园警务点");

        // Close every street at the post's junction: its team cannot drive out.
        let (_, ground) = app.get(Some(&d), "/api/jurisdiction").await;
        let post = ground["posts"].as_array().unwrap().iter().find(|p| p["name"] == "怡园警务点").unwrap().clone();
        let (status, closed) = app
            .post(Some(&d), "/api/roads/closures", json!({ "near": post["location"], "reason": "道路施工" }))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{closed}");
        let segments = closed["closed_segment_ids"].clone();
        assert!(segments.as_array().unwrap().len() >= 2, "a junction has several streets: {segments}");
        let (_, list) = app.get(Some(&d), "/api/roads/closures").await;
        assert_eq!(list.as_array().unwrap().len(), segments.as_array().unwrap().len());
        assert_eq!(list[0]["reason"], "道路施工");

        let (_, plan) = app.get(Some(&d), &format!("/api/incidents/{id}/recommendation")).await;
        assert_ne!(first_police(&plan), "怡园警务点", "the closure is respected: {}", plan["forces"][0]);

        let (status, _) = app.post(Some(&d), "/api/roads/closures/reopen", json!({ "segment_ids": segments })).await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        let (_, plan) = app.get(Some(&d), &format!("/api/incidents/{id}/recommendation")).await;
        assert_eq!(first_police(&plan), "怡园警务点", "reopened");

        let (status, body) = app.post(Some(&d), "/api/roads/closures", json!({ "segment_ids": [999_999_999u32] })).await;
        assert_eq!((status, body["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("unknown_segment")));
        let (status, body) = app.post(Some(&d), "/api/roads/closures", json!({})).await;
        assert_eq!((status, body["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_input")));
        let volunteer = app.login("volunteer").await;
        let (status, _) = app.post(Some(&volunteer), "/api/roads/closures", json!({ "segment_ids": [1] })).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
    }
}
