//! 双接警: the same instruction twice is one incident; a second report of the
//! same event is linked, then merged, and the merged timeline keeps both.

use crate::common::*;
use reqwest::StatusCode;
use serde_json::json;

api_test! {
    async fn same_instruction_twice_is_one_incident(app) {
        let center = app.login("cc110").await;
        let shop = app.place(&center, "美食七街7号").await;
        let body = json!({
            "source": "instruction_110", "external_id": "110-A-1", "category": "fight_assault", "priority": 1,
            "place_id": shop["id"], "summary": "打架",
        });
        let (first_status, first) = app
            .post(Some(&center), "/api/incidents", body.clone())
            .await;
        assert_eq!(first_status, StatusCode::CREATED);
        let events = app.event_count().await;
        let (again_status, again) = app.post(Some(&center), "/api/incidents", body).await;
        assert_eq!(
            again_status,
            StatusCode::OK,
            "a repeat is acknowledged, not created"
        );
        assert_eq!(again["created"], false);
        assert_eq!(again["incident"]["id"], first["incident"]["id"]);
        assert_eq!(app.event_count().await, events, "a repeat changes nothing");
        let (_, all) = app.get(Some(&center), "/api/incidents?status=all").await;
        assert_eq!(all.as_array().unwrap().len(), 1);
    }
}

api_test! {
    async fn near_duplicate_is_linked_then_merged(app) {
        let center = app.login("cc110").await;
        let dispatcher = app.login("dispatcher").await;
        let shop = app.place(&center, "美食七街7号").await;
        let (lat, lon) = near(&shop, 0.0, 0.0);
        let first = app
            .instruction(&center, "110-B-1", "fight_assault", lat, lon)
            .await;

        // A passer-by phones the station 4 minutes later from 150 m away.
        app.clock.advance(chrono::Duration::minutes(4));
        let (lat2, lon2) = near(&shop, 150.0, 0.0);
        let (status, local) = app
            .post(
                Some(&dispatcher),
                "/api/incidents",
                json!({ "source": "phone", "category": "robbery", "priority": 1, "location": { "lat": lat2, "lon": lon2 }, "summary": "有人在街上打人" }),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED);
        let local_id = local["incident"]["id"].as_i64().unwrap();
        assert_eq!(
            local["incident"]["duplicate_of"], first["id"],
            "same family, 150 m, 4 min: linked"
        );

        // 400 m the other way (550 m from the phone report) is another event.
        let (lat3, lon3) = near(&shop, -400.0, 0.0);
        let far = app
            .instruction(&center, "110-B-2", "fight_assault", lat3, lon3)
            .await;
        assert!(far["duplicate_of"].is_null());

        let (status, merged) = app
            .post(
                Some(&dispatcher),
                &format!("/api/incidents/{local_id}/merge"),
                json!({ "into": first["id"] }),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{merged}");
        let (_, duplicate) = app
            .get(Some(&dispatcher), &format!("/api/incidents/{local_id}"))
            .await;
        assert_eq!(duplicate["status"], "closed");
        assert_eq!(duplicate["disposition"], "merged_as_duplicate");
        assert_eq!(duplicate["merged_into"], first["id"]);

        let (_, survivor) = app
            .get(
                Some(&dispatcher),
                &format!("/api/incidents/{}", first["id"]),
            )
            .await;
        let received: Vec<_> = survivor["timeline"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["type"] == "incident_received")
            .map(|e| e["incident_id"].as_i64().unwrap())
            .collect();
        assert_eq!(
            received,
            [first["id"].as_i64().unwrap(), local_id],
            "both reports stay on the timeline"
        );

        // Merging again, or into itself, is refused and changes nothing.
        let events = app.event_count().await;
        let (status, body) = app
            .post(
                Some(&dispatcher),
                &format!("/api/incidents/{local_id}/merge"),
                json!({ "into": first["id"] }),
            )
            .await;
        assert_eq!(
            (status, body["code"].as_str()),
            (StatusCode::CONFLICT, Some("incident_closed"))
        );
        let (status, body) = app
            .post(
                Some(&dispatcher),
                &format!("/api/incidents/{}/merge", far["id"]),
                json!({ "into": far["id"] }),
            )
            .await;
        assert_eq!(
            (status, body["code"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_input"))
        );
        assert_eq!(app.event_count().await, events);
    }
}
