//! Issue 25, item 5: safe dispatch. A plan already sent is not sent again
//! by a second click or a retry; a unit that withdrew is sent again only
//! when the dispatcher confirms it.

use crate::common::*;
use reqwest::StatusCode;
use serde_json::{Value, json};

fn ids(v: &Value) -> Vec<i64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_i64().unwrap())
        .collect()
}

api_test! {
    async fn a_plan_is_sent_once_however_often_it_is_clicked(app) {
        let app = std::sync::Arc::new(app);
        let d = app.login("dispatcher").await;
        let shop = app.place(&d, "美食七街7号").await;
        let (status, body) = app
            .post(Some(&d), "/api/incidents", json!({
                "source": "phone", "category": "fight_assault", "priority": 1,
                "place_id": shop["id"], "summary": "有人打架",
            }))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        let id = body["incident"]["id"].as_i64().unwrap();
        let events_before = app.event_count().await;

        // A double click: two requests at once.
        let clicks: Vec<_> = (0..2)
            .map(|_| {
                let (app, d) = (app.clone(), d.clone());
                tokio::spawn(async move {
                    app.post(Some(&d), &format!("/api/incidents/{id}/dispatch-plan"), json!({})).await
                })
            })
            .collect();
        let mut answers = Vec::new();
        for click in clicks {
            answers.push(click.await.unwrap());
        }
        let sent: Vec<&Value> = answers.iter().filter(|(s, _)| *s == StatusCode::OK).map(|(_, b)| b).collect();
        assert_eq!(sent.len(), 1, "{answers:?}");
        let refused = answers.iter().find(|(s, _)| *s != StatusCode::OK).unwrap();
        assert_eq!((refused.0, refused.1["code"].as_str()), (StatusCode::CONFLICT, Some("already_dispatched")), "{:?}", refused.1);
        assert!(refused.1["message_zh"].as_str().unwrap().contains("无需重复派警"));
        let dispatched = ids(&sent[0]["dispatched_unit_ids"]);
        assert_eq!(dispatched.len(), 2, "{}", sent[0]);

        // The plan is filled: the recommendation proposes nobody more.
        let (_, plan) = app.get(Some(&d), &format!("/api/incidents/{id}/recommendation")).await;
        assert_eq!(plan["proposed_unit_ids"], json!([]), "{plan}");
        let already: Vec<i64> = plan["forces"].as_array().unwrap().iter().flat_map(|f| ids(&f["already_unit_ids"])).collect();
        assert_eq!(already, dispatched);

        // A retry of the plain dispatch: already there, nothing changes.
        let events = app.event_count().await;
        let (status, body) = app.post(Some(&d), &format!("/api/incidents/{id}/dispatch"), json!({ "unit_ids": [dispatched[0]] })).await;
        assert_eq!((status, body["code"].as_str()), (StatusCode::CONFLICT, Some("already_dispatched")), "{body}");
        assert_eq!(app.event_count().await, events, "nothing written");
        let (_, incident) = app.get(Some(&d), &format!("/api/incidents/{id}")).await;
        assert_eq!(incident["assignments"].as_array().unwrap().len(), 2, "each unit assigned once");
        let sends = incident["timeline"].as_array().unwrap().iter().filter(|e| e["type"] == "units_dispatched").count();
        assert_eq!(sends, 1, "one dispatch on the record");
        assert!(app.event_count().await > events_before);

        // The police unit withdraws; sending it again needs confirmation.
        let police = dispatched[0];
        assert_eq!(app.set_unit_status(&d, police, "on_patrol").await, StatusCode::OK);
        let events = app.event_count().await;
        let (status, body) = app.post(Some(&d), &format!("/api/incidents/{id}/dispatch"), json!({ "unit_ids": [police] })).await;
        assert_eq!((status, body["code"].as_str()), (StatusCode::CONFLICT, Some("confirm_resend")), "{body}");
        assert!(body["message_zh"].as_str().unwrap().contains("确认"), "{body}");
        assert_eq!(app.event_count().await, events, "nothing written");
        let (status, body) = app.post(Some(&d), &format!("/api/incidents/{id}/dispatch"), json!({ "unit_ids": [police], "confirm_resend": true })).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let active = body["assignments"].as_array().unwrap().iter().filter(|a| a["unit_id"] == police && a["released_at"].is_null()).count();
        assert_eq!(active, 1);

        // Naming one unit already there and one new: the new one is sent, the other left.
        let (_, units) = app.get(Some(&d), "/api/units").await;
        let free = units.as_array().unwrap().iter()
            .find(|u| u["status"] == "on_patrol" && u["kind"] == "patrol_car" && !dispatched.contains(&u["id"].as_i64().unwrap()))
            .map(|u| u["id"].as_i64().unwrap())
            .expect("a free patrol car");
        let (status, body) = app.post(Some(&d), &format!("/api/incidents/{id}/dispatch-plan"), json!({ "unit_ids": [police, free] })).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!((ids(&body["dispatched_unit_ids"]), ids(&body["skipped_unit_ids"])), (vec![free], vec![police]));
    }
}
