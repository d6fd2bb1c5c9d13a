//! Issue 25, item 5: the writes a client may retry (intake, dispatch, a
//! dispatch plan) honour `Idempotency-Key`: a retried request changes
//! nothing twice and gets the first answer again.

use crate::common::*;
use reqwest::StatusCode;
use serde_json::{Value, json};

/// POSTs `body` as `token` with `key`; the status, the body and whether
/// the answer was given again.
async fn keyed(
    app: &TestApp,
    token: &str,
    path: &str,
    key: &str,
    body: &Value,
) -> (StatusCode, Value, bool) {
    let response = app
        .client
        .post(format!("{}{path}", app.base))
        .bearer_auth(token)
        .header("Idempotency-Key", key)
        .json(body)
        .send()
        .await
        .unwrap();
    let status = response.status();
    let replayed = response.headers().get("idempotent-replayed").is_some();
    (
        status,
        response.json().await.unwrap_or(Value::Null),
        replayed,
    )
}

api_test! {
    async fn a_retried_request_changes_nothing_twice(app) {
        let app = std::sync::Arc::new(app);
        let d = app.login("dispatcher").await;
        let shop = app.place(&d, "美食七街7号").await;
        let report = json!({
            "source": "phone", "category": "fight_assault", "priority": 1,
            "place_id": shop["id"], "summary": "有人打架（重试）",
        });

        // The same phone report, sent three times at once with one key (a
        // client retrying on a timeout): one incident.
        let before = app.event_count().await;
        let sends: Vec<_> = (0..3)
            .map(|_| {
                let (app, d, report) = (app.clone(), d.clone(), report.clone());
                tokio::spawn(async move { keyed(&app, &d, "/api/incidents", "intake-7f3a", &report).await })
            })
            .collect();
        let mut answers = Vec::new();
        for send in sends {
            answers.push(send.await.unwrap());
        }
        let created: Vec<i64> = answers
            .iter()
            .filter(|(s, _, _)| *s == StatusCode::CREATED)
            .map(|(_, b, _)| b["incident"]["id"].as_i64().unwrap())
            .collect();
        assert!(!created.is_empty(), "{answers:?}");
        assert!(created.windows(2).all(|w| w[0] == w[1]), "one incident: {created:?}");
        for (status, body, _) in &answers {
            assert!(
                *status == StatusCode::CREATED || (*status == StatusCode::CONFLICT && body["code"] == "request_in_progress"),
                "{status}: {body}"
            );
        }
        let id = created[0];
        let written = app.event_count().await - before;

        // Later, the same again: the first answer, nothing written.
        let (status, body, replayed) = keyed(&app, &d, "/api/incidents", "intake-7f3a", &report).await;
        assert_eq!((status, replayed), (StatusCode::CREATED, true));
        assert_eq!(body["incident"]["id"], id);
        assert_eq!(app.event_count().await - before, written, "nothing written twice");

        // The same key for another request is refused; another user's key is their own.
        let other = json!({ "source": "phone", "category": "theft", "priority": 3, "place_id": shop["id"], "summary": "被盗" });
        let (status, body, _) = keyed(&app, &d, "/api/incidents", "intake-7f3a", &other).await;
        assert_eq!((status, body["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("idempotency_key_reused")), "{body}");
        let admin = app.login("admin").await;
        let (status, body, replayed) = keyed(&app, &admin, "/api/incidents", "intake-7f3a", &other).await;
        assert_eq!((status, replayed), (StatusCode::CREATED, false), "{body}");
        assert_ne!(body["incident"]["id"], id);

        // A dispatch plan retried with its key: sent once, the same answer again.
        let (status, sent, _) = keyed(&app, &d, &format!("/api/incidents/{id}/dispatch-plan"), "plan-1", &json!({})).await;
        assert_eq!(status, StatusCode::OK, "{sent}");
        let events = app.event_count().await;
        let (status, again, replayed) = keyed(&app, &d, &format!("/api/incidents/{id}/dispatch-plan"), "plan-1", &json!({})).await;
        assert_eq!((status, replayed), (StatusCode::OK, true));
        assert_eq!(again, sent);
        assert_eq!(app.event_count().await, events, "nothing written");
        // Without the key the retry is still refused by the rule (sent once).
        let (status, body) = app.post(Some(&d), &format!("/api/incidents/{id}/dispatch-plan"), json!({})).await;
        assert_eq!((status, body["code"].as_str()), (StatusCode::CONFLICT, Some("already_dispatched")));

        // A plain dispatch with a key, retried: one answer.
        let (_, units) = app.get(Some(&d), "/api/units").await;
        let free = units.as_array().unwrap().iter()
            .find(|u| u["status"] == "on_patrol" && u["kind"] == "patrol_car")
            .map(|u| u["id"].as_i64().unwrap())
            .unwrap();
        let order = json!({ "unit_ids": [free] });
        let (first, _, _) = keyed(&app, &d, &format!("/api/incidents/{id}/dispatch"), "d-2", &order).await;
        let (second, _, replayed) = keyed(&app, &d, &format!("/api/incidents/{id}/dispatch"), "d-2", &order).await;
        assert_eq!((first, second, replayed), (StatusCode::OK, StatusCode::OK, true));

        // A key that is no key.
        for bad in ["", "with space", &"k".repeat(256)] {
            let (status, body, _) = keyed(&app, &d, "/api/incidents", bad, &report).await;
            assert_eq!((status, body["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_idempotency_key")), "{bad:?}: {body}");
        }
    }
}
