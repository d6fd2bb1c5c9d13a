//! The live stream (SSE): events arrive after their commit, a client that
//! reconnects with Last-Event-ID loses nothing and sees nothing twice, and a
//! volunteer's stream carries only their own work.

use crate::common::*;
use crate::sse::SseClient;
use serde_json::json;
use std::time::{Duration, Instant};

/// Opens the stream as `token`, after `last_event_id` if given, and waits for its ready event.
async fn connect(app: &TestApp, token: &str, last_event_id: Option<i64>) -> SseClient {
    SseClient::connect(&app.client, &app.base, token, last_event_id).await
}

api_test! {
    async fn committed_events_reach_subscribers(app) {
        let token = app.login("dispatcher").await;
        let mut stream = connect(&app, &token, None).await;
        let started = Instant::now();
        let incident = app.instruction(&token, "s-1", "theft", 28.15, 113.02).await;
        let frame = stream.next().await;
        eprintln!("intake → event on the stream: {:?}", started.elapsed());
        assert_eq!(frame.event, "incident_received");
        assert_eq!(frame.data["incident_id"], incident["id"]);
        assert_eq!(frame.data["data"]["category"], "theft");
        assert_eq!(
            frame.id,
            frame.data["id"].as_i64(),
            "the SSE id is the event id"
        );
    }
}

api_test! {
    async fn reconnecting_with_last_event_id_loses_nothing(app) {
        let token = app.login("dispatcher").await;
        let car = app.unit_id(&token, "北巡1").await;
        let mut stream = connect(&app, &token, None).await;
        let first = app.instruction(&token, "s-1", "theft", 28.15, 113.02).await;
        let seen = stream.next().await;
        drop(stream); // the connection drops

        // Meanwhile: a dispatch, a position report, another intake.
        app.post(
            Some(&token),
            &format!("/api/incidents/{}/dispatch", first["id"]),
            json!({ "unit_ids": [car] }),
        )
        .await;
        app.post(
            Some(&token),
            &format!("/api/units/{car}/position"),
            json!({ "lat": 28.151, "lon": 113.021 }),
        )
        .await;
        app.clock.advance(chrono::Duration::hours(1));
        app.instruction(&token, "s-2", "fire", 28.15, 113.02).await;
        let missed = app
            .store
            .events_after(precinct_domain::ids::EventId(seen.id.unwrap()), 1000)
            .await
            .unwrap();
        assert_eq!(
            missed.len(),
            4,
            "dispatch (3 events) and an intake; a position is not an event"
        );

        let mut resumed = connect(&app, &token, seen.id).await;
        let mut replayed = Vec::new();
        while replayed.len() < missed.len() {
            let frame = resumed.next().await;
            // Positions come as they are now, not replayed (no id).
            if let Some(id) = frame.id {
                replayed.push(id);
            }
        }
        let expected: Vec<i64> = missed.iter().map(|e| e.id.0).collect();
        assert_eq!(replayed, expected, "exactly the missed events, in order");

        // And then it is live again, without repeats.
        app.instruction(&token, "s-3", "help_request", 28.15, 113.02)
            .await;
        let live = resumed.next().await;
        assert_eq!(live.event, "incident_received");
        assert!(live.id.unwrap() > *expected.last().unwrap());
        assert!(
            resumed.try_next(Duration::from_millis(300)).await.is_none(),
            "nothing is sent twice"
        );
    }
}

api_test! {
    async fn a_volunteer_stream_carries_only_their_work(app) {
        let dispatcher = app.login("dispatcher").await;
        let volunteer = app.login("volunteer").await;
        let night_market = app.unit_id(&dispatcher, "夜市义警").await;
        let mut stream = connect(&app, &volunteer, None).await;

        let other = app
            .instruction(&dispatcher, "s-1", "theft", 28.15, 113.02)
            .await;
        app.clock.advance(chrono::Duration::hours(1));
        let mine = app
            .instruction(&dispatcher, "s-2", "fight_assault", 28.16, 113.01)
            .await;
        app.post(
            Some(&dispatcher),
            &format!("/api/incidents/{}/dispatch", mine["id"]),
            json!({ "unit_ids": [night_market] }),
        )
        .await;

        let mut kinds = Vec::new();
        while let Some(frame) = stream.try_next(Duration::from_millis(500)).await {
            assert_ne!(
                frame.data["incident_id"], other["id"],
                "another incident's events are not shown"
            );
            kinds.push(frame.event);
        }
        assert_eq!(
            kinds,
            [
                "units_dispatched",
                "unit_status_changed",
                "incident_status_changed"
            ]
        );
    }
}

api_test! {
    async fn logging_out_ends_the_open_stream(app) {
        let token = app.login("dispatcher").await;
        let other = app.login("dispatcher").await;
        let mut ending = connect(&app, &token, None).await;
        let mut staying = connect(&app, &other, None).await;
        let (status, _) = app.post(Some(&token), "/api/auth/logout", json!({})).await;
        assert_eq!(status, reqwest::StatusCode::NO_CONTENT);
        assert!(
            ending.ended(Duration::from_secs(5)).await,
            "the logged-out session's stream is closed by the server"
        );
        // Another session of the same user keeps its stream.
        app.instruction(&other, "after-logout", "theft", 28.15, 113.02).await;
        assert_eq!(staying.next().await.event, "incident_received");
    }
}

api_test! {
    async fn dispute_changes_reach_only_those_who_may_see_the_case(app) {
        let officer = app.login("officer").await;
        let (_, orgs) = app.get(Some(&officer), "/api/organisations").await;
        let judicial = orgs
            .as_array()
            .unwrap()
            .iter()
            .find(|o| o["kind"] == "judicial_office")
            .unwrap()["id"]
            .clone();
        // The judicial office's mediator works the case; the law firm's
        // lawyer and the analyst do not see it.
        let mediator = app.login("mediator").await;
        let lawyer = app.login("lawyer").await;
        let analyst = app.login("analyst").await;
        let mut theirs = connect(&app, &mediator, None).await;
        let mut outsider = connect(&app, &lawyer, None).await;
        let mut figures_only = connect(&app, &analyst, None).await;
        let mut station = connect(&app, &officer, None).await;

        let (status, case) = app
            .post(
                Some(&officer),
                "/api/disputes",
                json!({
                    "source": "walk_in",
                    "summary": "邻里漏水",
                    "parties": [{ "name": "张三", "phone": "13800138000" }, { "name": "李四" }],
                    "responsible_org_id": judicial,
                }),
            )
            .await;
        assert_eq!(status, reqwest::StatusCode::CREATED, "{case}");
        let id = case["id"].clone();
        let (status, accepted) = app
            .post(Some(&mediator), &format!("/api/disputes/{id}/accept"), json!({ "version": 1 }))
            .await;
        assert_eq!(status, reqwest::StatusCode::OK, "{accepted}");

        for stream in [&mut theirs, &mut station] {
            let registered = stream.next().await;
            assert_eq!(registered.event, "dispute_changed");
            assert_eq!(registered.data["data"]["dispute_id"], id);
            assert_eq!(registered.data["data"]["change"]["kind"], "registered");
            let accepted = stream.next().await;
            assert_eq!(accepted.data["data"]["change"]["kind"], "accepted");
            assert_eq!(accepted.data["data"]["status"], "accepted");
        }
        for stream in [&mut outsider, &mut figures_only] {
            if let Some(frame) = stream.try_next(Duration::from_millis(700)).await {
                assert_ne!(frame.event, "dispute_changed", "{frame:?}");
            }
        }
    }
}
