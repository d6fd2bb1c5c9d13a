//! Two dispatchers can never assign the same unit twice.

use crate::common::*;
use reqwest::StatusCode;
use serde_json::json;

api_test! {
    async fn sixteen_dispatchers_race_for_one_unit(app) {
        let app = std::sync::Arc::new(app);
        let dispatcher = app.login("dispatcher").await;
        let dispatcher2 = app.login("dispatcher2").await;
        let market = app.place(&dispatcher, "高桥大市场").await;
        let mut incidents = Vec::new();
        for n in 0..16 {
            // Far enough apart not to be linked as duplicates of each other.
            let (lat, lon) = near(&market, 0.0, f64::from(n) * 100.0);
            app.clock.advance(chrono::Duration::minutes(20));
            incidents.push(
                app.instruction(&dispatcher, &format!("race-{n}"), "theft", lat, lon)
                    .await["id"]
                    .as_i64()
                    .unwrap(),
            );
        }
        let car = app.unit_id(&dispatcher, "南巡1").await;

        let tasks: Vec<_> = incidents
            .iter()
            .enumerate()
            .map(|(n, &incident)| {
                let app = app.clone();
                let token = if n % 2 == 0 {
                    dispatcher.clone()
                } else {
                    dispatcher2.clone()
                };
                tokio::spawn(async move {
                    app.post(
                        Some(&token),
                        &format!("/api/incidents/{incident}/dispatch"),
                        json!({ "unit_ids": [car] }),
                    )
                    .await
                })
            })
            .collect();
        let mut won = 0;
        for task in tasks {
            let (status, body) = task.await.unwrap();
            match status {
                StatusCode::OK => won += 1,
                StatusCode::CONFLICT => {
                    assert_eq!(body["code"], "unit_unavailable", "{body}");
                    assert!(body["message"].as_str().unwrap().contains("not available"));
                    assert!(!body["message_zh"].as_str().unwrap().is_empty());
                }
                other => panic!("unexpected {other}: {body}"),
            }
        }
        assert_eq!(won, 1, "exactly one dispatcher wins");
        let (_, list) = app
            .get(Some(&dispatcher), "/api/incidents?status=all&limit=100")
            .await;
        let assigned: usize = list
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["assignments"].as_array().unwrap().len())
            .sum();
        assert_eq!(assigned, 1, "one assignment in total");
    }
}
