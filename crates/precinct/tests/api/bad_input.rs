//! Bad input gets a documented error and changes nothing.

use crate::common::*;
use reqwest::StatusCode;
use serde_json::{Value, json};

fn valid_intake() -> Value {
    json!({
        "source": "phone", "category": "theft", "priority": 2,
        "location": { "lat": 28.15, "lon": 113.02 }, "summary": "手机被盗",
    })
}

fn with(mut body: Value, key: &str, value: Value) -> Value {
    body[key] = value;
    body
}

api_test! {
    async fn bad_intakes_are_refused_with_stable_codes(app) {
        let token = app.login("dispatcher").await;
        let events = app.event_count().await;

        // (what, body, status, code)
        let cases: Vec<(&str, Value, StatusCode, &str)> = vec![
            (
                "unknown category",
                with(valid_intake(), "category", json!("alien_invasion")),
                StatusCode::UNPROCESSABLE_ENTITY,
                "unknown_category",
            ),
            (
                "unknown source",
                with(valid_intake(), "source", json!("pigeon")),
                StatusCode::UNPROCESSABLE_ENTITY,
                "unknown_source",
            ),
            (
                "priority 0",
                with(valid_intake(), "priority", json!(0)),
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_priority",
            ),
            (
                "priority 5",
                with(valid_intake(), "priority", json!(5)),
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_priority",
            ),
            (
                "the north pole, far from the ground",
                with(
                    valid_intake(),
                    "location",
                    json!({ "lat": 90.0, "lon": 180.0 }),
                ),
                StatusCode::UNPROCESSABLE_ENTITY,
                "location_far_from_ground",
            ),
            (
                "latitude and longitude swapped",
                with(
                    valid_intake(),
                    "location",
                    json!({ "lat": 113.02, "lon": 28.15 }),
                ),
                StatusCode::UNPROCESSABLE_ENTITY,
                "coordinates_out_of_range",
            ),
            (
                "latitude 91",
                with(
                    valid_intake(),
                    "location",
                    json!({ "lat": 91.0, "lon": 113.0 }),
                ),
                StatusCode::UNPROCESSABLE_ENTITY,
                "coordinates_out_of_range",
            ),
            (
                "longitude -181",
                with(
                    valid_intake(),
                    "location",
                    json!({ "lat": 28.0, "lon": -181.0 }),
                ),
                StatusCode::UNPROCESSABLE_ENTITY,
                "coordinates_out_of_range",
            ),
            (
                "unknown datum",
                with(
                    valid_intake(),
                    "location",
                    json!({ "lat": 28.0, "lon": 113.0, "datum": "bd09" }),
                ),
                StatusCode::UNPROCESSABLE_ENTITY,
                "unknown_datum",
            ),
            (
                "bad phone",
                with(valid_intake(), "caller_phone", json!("call me")),
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_phone",
            ),
            (
                "empty summary",
                with(valid_intake(), "summary", json!("   ")),
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_input",
            ),
            (
                "no location",
                with(valid_intake(), "location", Value::Null),
                StatusCode::UNPROCESSABLE_ENTITY,
                "missing_location",
            ),
            (
                "unknown place",
                with(
                    with(valid_intake(), "location", Value::Null),
                    "place_id",
                    json!(99999),
                ),
                StatusCode::UNPROCESSABLE_ENTITY,
                "unknown_place",
            ),
            (
                "priority as text",
                with(valid_intake(), "priority", json!("high")),
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_field",
            ),
            (
                "missing summary",
                {
                    let mut b = valid_intake();
                    b.as_object_mut().unwrap().remove("summary");
                    b
                },
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_field",
            ),
            (
                "reported in the future",
                with(valid_intake(), "reported_at", json!("2999-01-01T00:00:00Z")),
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_input",
            ),
            (
                "reported with a mistyped year",
                with(valid_intake(), "reported_at", json!("0026-10-30T14:23:00Z")),
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_input",
            ),
        ];
        for (what, body, status, code) in cases {
            let (got_status, got) = app.post(Some(&token), "/api/incidents", body).await;
            assert_eq!(
                (got_status, got["code"].as_str()),
                (status, Some(code)),
                "{what}: {got}"
            );
            assert!(
                !got["message"].as_str().unwrap().is_empty(),
                "{what} has a message"
            );
            assert!(
                !got["message_zh"].as_str().unwrap().is_empty(),
                "{what} has a Chinese message"
            );
        }

        // Malformed JSON and a wrong content type.
        let response = app
            .client
            .post(format!("{}/api/incidents", app.base))
            .bearer_auth(&token)
            .header("content-type", "application/json")
            .body("{\"source\": ")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        assert_eq!(
            response.json::<Value>().await.unwrap()["code"],
            "malformed_json"
        );
        let response = app
            .client
            .post(format!("{}/api/incidents", app.base))
            .bearer_auth(&token)
            .body("source=phone")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
        assert_eq!(
            response.json::<Value>().await.unwrap()["code"],
            "unsupported_media_type"
        );

        assert_eq!(
            app.event_count().await,
            events,
            "no rejected request wrote anything"
        );
        let (_, all) = app.get(Some(&token), "/api/incidents?status=all").await;
        assert_eq!(all.as_array().unwrap().len(), 0);
    }
}

api_test! {
    async fn illegal_transitions_and_unknown_things_change_nothing(app) {
        let token = app.login("dispatcher").await;
        let car = app.unit_id(&token, "北巡1").await;
        let incident = app.instruction(&token, "t-1", "theft", 28.15, 113.02).await;
        let id = incident["id"].as_i64().unwrap();
        let events = app.event_count().await;

        let cases: Vec<(&str, String, Value, StatusCode, &str)> = vec![
            (
                "patrol straight to on scene",
                format!("/api/units/{car}/status"),
                json!({ "status": "on_scene" }),
                StatusCode::CONFLICT,
                "illegal_transition",
            ),
            (
                "dispatched is not reported",
                format!("/api/units/{car}/status"),
                json!({ "status": "dispatched" }),
                StatusCode::CONFLICT,
                "illegal_transition",
            ),
            (
                "unknown unit status",
                format!("/api/units/{car}/status"),
                json!({ "status": "flying" }),
                StatusCode::UNPROCESSABLE_ENTITY,
                "unknown_status",
            ),
            (
                "unknown unit",
                "/api/units/999999/status".into(),
                json!({ "status": "at_post" }),
                StatusCode::NOT_FOUND,
                "not_found",
            ),
            (
                "unknown incident",
                "/api/incidents/999999/dispatch".into(),
                json!({ "unit_ids": [car] }),
                StatusCode::NOT_FOUND,
                "not_found",
            ),
            (
                "dispatch nobody",
                format!("/api/incidents/{id}/dispatch"),
                json!({ "unit_ids": [] }),
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_input",
            ),
            (
                "dispatch unknown unit",
                format!("/api/incidents/{id}/dispatch"),
                json!({ "unit_ids": [car, 999999] }),
                StatusCode::NOT_FOUND,
                "not_found",
            ),
            (
                "unknown disposition",
                format!("/api/incidents/{id}/close"),
                json!({ "disposition": "vanished" }),
                StatusCode::UNPROCESSABLE_ENTITY,
                "unknown_disposition",
            ),
            (
                "merged is not chosen",
                format!("/api/incidents/{id}/close"),
                json!({ "disposition": "merged_as_duplicate" }),
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_input",
            ),
            (
                "position out of range",
                format!("/api/units/{car}/position"),
                json!({ "lat": 100.0, "lon": 0.0 }),
                StatusCode::UNPROCESSABLE_ENTITY,
                "coordinates_out_of_range",
            ),
            (
                "id not a number",
                "/api/incidents/abc/close".into(),
                json!({ "disposition": "resolved_on_scene" }),
                StatusCode::NOT_FOUND,
                "not_found",
            ),
            (
                "no such route",
                "/api/nothing".into(),
                json!({}),
                StatusCode::NOT_FOUND,
                "route_not_found",
            ),
        ];
        for (what, path, body, status, code) in cases {
            let (got_status, got) = app.post(Some(&token), &path, body).await;
            assert_eq!(
                (got_status, got["code"].as_str()),
                (status, Some(code)),
                "{what}: {got}"
            );
        }
        assert_eq!(app.event_count().await, events, "nothing changed");

        // Closing twice: the second is an illegal transition.
        let (status, _) = app
            .post(
                Some(&token),
                &format!("/api/incidents/{id}/close"),
                json!({ "disposition": "no_action_needed" }),
            )
            .await;
        assert_eq!(status, StatusCode::OK);
        let events = app.event_count().await;
        let (status, body) = app
            .post(
                Some(&token),
                &format!("/api/incidents/{id}/close"),
                json!({ "disposition": "no_action_needed" }),
            )
            .await;
        assert_eq!(
            (status, body["code"].as_str()),
            (StatusCode::CONFLICT, Some("illegal_transition"))
        );
        let (status, body) = app
            .post(
                Some(&token),
                &format!("/api/incidents/{id}/dispatch"),
                json!({ "unit_ids": [car] }),
            )
            .await;
        assert_eq!(
            (status, body["code"].as_str()),
            (StatusCode::CONFLICT, Some("incident_closed"))
        );
        assert_eq!(app.event_count().await, events);
    }
}

api_test! {
    async fn oversized_bodies_and_invented_methods_are_bounded(app) {
        let token = app.login("dispatcher").await;
        let events = app.event_count().await;
        // A body over the limit answers 413 with the error body, not 400.
        let huge = "x".repeat(3 * 1024 * 1024);
        let response = app
            .client
            .post(format!("{}/api/incidents", app.base))
            .bearer_auth(&token)
            .json(&with(valid_intake(), "summary", json!(huge)))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["code"], "payload_too_large");
        assert!(!body["message_zh"].as_str().unwrap().is_empty());
        assert_eq!(app.event_count().await, events, "nothing changed");

        // Invented methods do not become /metrics series of their own. (A
        // client of its own: the 413 above closed the pooled connection,
        // and a request sent on it as it closes would fail in the client.)
        let fresh = reqwest::Client::new();
        for n in 0..5 {
            let method = reqwest::Method::from_bytes(format!("INVENTED{n}{}", "X".repeat(200)).as_bytes()).unwrap();
            let response = fresh.request(method, format!("{}/api/incidents", app.base)).send().await.unwrap();
            assert!(response.status().is_client_error());
        }
        let admin = app.login("admin").await;
        let (_, metrics) = app.get(Some(&admin), "/metrics").await;
        let metrics = metrics.as_str().unwrap().to_owned();
        assert!(!metrics.contains("INVENTED"), "invented methods are not labels");
        assert!(metrics.contains("method=\"other\""), "they are counted as other");
    }
}

api_test! {
    async fn closing_roads_near_a_point_far_from_any_junction_closes_nothing(app) {
        let token = app.login("dispatcher").await;
        let (status, body) = app
            .post(Some(&token), "/api/roads/closures", json!({ "near": { "lat": 0.0, "lon": 0.0 }, "reason": "测试" }))
            .await;
        assert_eq!((status, body["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("no_road_nearby")), "{body}");
        let (_, closures) = app.get(Some(&token), "/api/roads/closures").await;
        assert_eq!(closures, json!([]), "nothing closed");
    }
}
