//! Story 2 (美食街打架), end to end through the HTTP API: the 22:23 instruction
//! on Food Street 7 resolves to Yongding and the north zone; the Yiyuan post
//! team and the night-market volunteers are dispatched; the volunteers arrive
//! first and separate the two; officers arrive; it closes as referred to
//! mediation; the timeline shows every step with its time.

use crate::common::*;
use chrono::Duration;
use reqwest::StatusCode;
use serde_json::json;

api_test! {
    async fn night_food_street_fight(app) {
        let center = app.login("cc110").await;
        let dispatcher = app.login("dispatcher").await;
        let officer = app.login("officer").await;
        let volunteer = app.login("volunteer").await;

        // 22:23 — the 110 centre's instruction arrives.
        let shop = app.place(&center, "美食七街7号").await;
        let (status, body) = app
            .post(
                Some(&center),
                "/api/incidents",
                json!({
                    "source": "instruction_110",
                    "external_id": "110-20261030-2223-0001",
                    "category": "fight_assault",
                    "priority": 1,
                    "place_id": shop["id"],
                    "caller_name": "谢某某",
                    "caller_phone": "139 0731 2223",
                    "summary": "美食七街某夜宵店有人打架斗殴",
                    "reported_at": story_time(),
                }),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        let incident = &body["incident"];
        let id = incident["id"].as_i64().unwrap();
        assert_eq!(incident["community_name"], "永定社区");
        assert_eq!(incident["zone_name"], "北部警务防区");
        assert_eq!(incident["address"], "永定社区美食七街7号");
        assert_eq!(incident["outside_ground"], false);
        assert_eq!(incident["status"], "received");

        // 22:24 — the command room sends the nearest post and the night-market volunteers.
        app.clock.advance(Duration::minutes(1));
        let post = app.unit_id(&dispatcher, "怡园警务点").await;
        let night_market = app.unit_id(&dispatcher, "夜市义警").await;
        let (status, dispatched) = app
            .post(
                Some(&dispatcher),
                &format!("/api/incidents/{id}/dispatch"),
                json!({ "unit_ids": [post, night_market] }),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{dispatched}");
        assert_eq!(dispatched["status"], "dispatched");

        // 22:25 — the volunteers are on their way; 22:26 they arrive and separate the two.
        app.clock.advance(Duration::minutes(1));
        assert_eq!(app.set_unit_status(&volunteer, night_market, "en_route").await, StatusCode::OK);
        assert_eq!(app.set_unit_status(&officer, post, "en_route").await, StatusCode::OK);
        app.clock.advance(Duration::minutes(1));
        assert_eq!(app.set_unit_status(&volunteer, night_market, "on_scene").await, StatusCode::OK);
        let (status, _) = app
            .post(
                Some(&volunteer),
                &format!("/api/incidents/{id}/notes"),
                json!({ "text": "已将打架双方隔开,等待民警" }),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED);

        // 22:29 — officers arrive and take both to the station.
        app.clock.advance(Duration::minutes(3));
        assert_eq!(app.set_unit_status(&officer, post, "on_scene").await, StatusCode::OK);
        app.clock.advance(Duration::minutes(10));
        let (status, _) = app
            .post(
                Some(&officer),
                &format!("/api/incidents/{id}/notes"),
                json!({ "text": "双方均受轻微伤,已带回派出所" }),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED);

        // 22:55 — closed, referred to mediation in the 三所一庭 room.
        app.clock.advance(Duration::minutes(16));
        let (status, closed) = app
            .post(
                Some(&dispatcher),
                &format!("/api/incidents/{id}/close"),
                json!({ "disposition": "referred_to_mediation", "remark": "转三所一庭调解室调解" }),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{closed}");
        assert_eq!(closed["status"], "closed");
        assert_eq!(closed["disposition"], "referred_to_mediation");

        let (status, detail) = app
            .get(Some(&dispatcher), &format!("/api/incidents/{id}"))
            .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(
            detail["first_response_seconds"], 180,
            "volunteers on scene 3 minutes after the instruction"
        );
        assert_eq!(
            detail["police_response_seconds"], 360,
            "officers on scene 6 minutes after the instruction"
        );
        assert_eq!(
            detail["caller"]["phone"], "13907312223",
            "the dispatcher sees the caller"
        );

        let steps: Vec<(String, String, String)> = detail["timeline"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                let what = match e["type"].as_str().unwrap() {
                    "unit_status_changed" => format!(
                        "unit {} {}",
                        e["unit_id"],
                        e["data"]["to"].as_str().unwrap()
                    ),
                    "incident_status_changed" => {
                        format!("incident {}", e["data"]["to"].as_str().unwrap())
                    }
                    other => other.to_owned(),
                };
                (
                    e["at"].as_str().unwrap()[11..16].to_owned(),
                    e["actor_name"].as_str().unwrap().to_owned(),
                    what,
                )
            })
            .collect();
        let expected: Vec<(&str, &str, String)> = vec![
            ("14:23", "市110指挥中心接口", "incident_received".into()),
            ("14:24", "指挥室值班员", "units_dispatched".into()),
            ("14:24", "指挥室值班员", format!("unit {post} dispatched")),
            (
                "14:24",
                "指挥室值班员",
                format!("unit {night_market} dispatched"),
            ),
            ("14:24", "指挥室值班员", "incident dispatched".into()),
            (
                "14:25",
                "夜市义警队长",
                format!("unit {night_market} en_route"),
            ),
            ("14:25", "怡园警务点民警", format!("unit {post} en_route")),
            (
                "14:26",
                "夜市义警队长",
                format!("unit {night_market} on_scene"),
            ),
            ("14:26", "夜市义警队长", "incident on_scene".into()),
            ("14:26", "夜市义警队长", "note_added".into()),
            ("14:29", "怡园警务点民警", format!("unit {post} on_scene")),
            ("14:39", "怡园警务点民警", "note_added".into()),
            ("14:55", "指挥室值班员", "incident_closed".into()),
            ("14:55", "指挥室值班员", format!("unit {post} on_patrol")),
            (
                "14:55",
                "指挥室值班员",
                format!("unit {night_market} on_patrol"),
            ),
        ];
        let expected: Vec<(String, String, String)> = expected
            .into_iter()
            .map(|(t, a, w)| (t.to_owned(), a.to_owned(), w))
            .collect();
        assert_eq!(
            steps, expected,
            "the timeline shows every step, in order, with its time and actor"
        );

        // Both units are back on patrol (有警出警、无警巡逻).
        let (_, units) = app.get(Some(&dispatcher), "/api/units").await;
        for unit in units
            .as_array()
            .unwrap()
            .iter()
            .filter(|u| u["id"] == post || u["id"] == night_market)
        {
            assert_eq!(unit["status"], "on_patrol");
            assert!(unit["incident_id"].is_null());
        }
    }
}

api_test! {
    async fn night_food_street_fight_by_recommendation(app) {
        let center = app.login("cc110").await;
        let dispatcher = app.login("dispatcher").await;
        let volunteer = app.login("volunteer").await;
        let officer = app.login("officer").await;
        let shop = app.place(&center, "美食七街7号").await;
        let (status, body) = app
            .post(
                Some(&center),
                "/api/incidents",
                json!({
                    "source": "instruction_110", "external_id": "110-20261030-2223-0002", "category": "fight_assault",
                    "priority": 1, "place_id": shop["id"], "summary": "美食七街某夜宵店有人打架斗殴", "reported_at": story_time(),
                }),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        let id = body["incident"]["id"].as_i64().unwrap();

        // The command room asks for the plan: the fight plan, under the coordinated mechanism.
        let (status, plan) = app.get(Some(&dispatcher), &format!("/api/incidents/{id}/recommendation")).await;
        assert_eq!(status, StatusCode::OK, "{plan}");
        assert!(plan["plan"].as_str().unwrap().contains("fight"), "{plan}");
        assert_eq!(plan["coordinated"], true);
        let police = &plan["forces"][0];
        assert_eq!(police["role"], "patrol_police");
        assert_eq!(police["candidates"][0]["call_sign"], "怡园警务点", "the nearest post: {police}");
        assert_eq!(police["candidates"][0]["travel"], "driving");
        assert_eq!(police["candidates"][0]["estimated"], false, "timed over the demo's streets");
        assert!(police["candidates"][0]["reason_zh"].as_str().unwrap().contains("驾车"));
        let helpers = &plan["forces"][1];
        assert_eq!(helpers["role"], "first_response");
        assert_eq!(helpers["candidates"][0]["call_sign"], "夜市义警", "the night-market volunteers: {helpers}");
        assert_eq!(helpers["candidates"][0]["travel"], "walking");
        assert!(helpers["candidates"][0]["road_distance_m"].as_f64().unwrap() <= 800.0);
        assert!(helpers["candidates"][0]["eta_seconds"].as_f64().unwrap() < police["candidates"][0]["eta_seconds"].as_f64().unwrap() * 3.0);
        let proposed: Vec<i64> = plan["proposed_unit_ids"].as_array().unwrap().iter().map(|v| v.as_i64().unwrap()).collect();
        assert_eq!(proposed.len(), 2);

        // One call dispatches the whole plan.
        app.clock.advance(chrono::Duration::minutes(1));
        let (status, sent) = app.post(Some(&dispatcher), &format!("/api/incidents/{id}/dispatch-plan"), json!({})).await;
        assert_eq!(status, StatusCode::OK, "{sent}");
        assert_eq!(sent["dispatched_unit_ids"], json!(proposed));
        assert_eq!(sent["incident"]["status"], "dispatched");

        // The volunteers get their first-response task, accept it and set off.
        let night_market = proposed[1];
        let post = proposed[0];
        let (status, task) = app.get(Some(&volunteer), &format!("/api/units/{night_market}/task")).await;
        assert_eq!(status, StatusCode::OK, "{task}");
        assert!(task["instruction_zh"].as_str().unwrap().contains("隔开"), "separate the parties: {task}");
        assert_eq!(task["incident"]["address"], "永定社区美食七街7号");
        assert_eq!(task["incident"]["caller"]["masked"], true);
        let (status, unit) = app.post(Some(&volunteer), &format!("/api/units/{night_market}/task/accept"), json!({})).await;
        assert_eq!((status, unit["status"].as_str()), (StatusCode::OK, Some("en_route")));
        let (status, _) = app.get(Some(&volunteer), &format!("/api/units/{post}/task")).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "a volunteer reads only their own unit's task");

        // 22:26 the volunteers arrive and separate the two; they cannot leave before police come.
        app.clock.advance(chrono::Duration::minutes(2));
        app.set_unit_status(&volunteer, night_market, "on_scene").await;
        let (status, body) = app.post(Some(&volunteer), &format!("/api/units/{night_market}/task/handover"), json!({})).await;
        assert_eq!((status, body["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_input")), "{body}");

        // 22:29 the officers arrive; the volunteers hand over and go back to patrol.
        app.clock.advance(chrono::Duration::minutes(3));
        app.set_unit_status(&officer, post, "on_scene").await;
        let (_, task) = app.get(Some(&volunteer), &format!("/api/units/{night_market}/task")).await;
        assert_eq!(task["police_on_scene"], true);
        let (status, unit) = app.post(Some(&volunteer), &format!("/api/units/{night_market}/task/handover"), json!({})).await;
        assert_eq!((status, unit["status"].as_str()), (StatusCode::OK, Some("on_patrol")));

        let (_, detail) = app.get(Some(&dispatcher), &format!("/api/incidents/{id}")).await;
        assert_eq!(detail["first_response_seconds"], 180);
        assert_eq!(detail["police_response_seconds"], 360);
        let kinds: Vec<&str> = detail["timeline"].as_array().unwrap().iter().map(|e| e["type"].as_str().unwrap()).collect();
        for step in ["units_dispatched", "first_response_accepted", "handed_over"] {
            assert!(kinds.contains(&step), "{step} on the timeline: {kinds:?}");
        }
        let dispatched = detail["timeline"].as_array().unwrap().iter().find(|e| e["type"] == "units_dispatched").unwrap();
        assert_eq!(dispatched["data"]["unit_ids"], json!(proposed), "one dispatch event names both");

        // The plan does not offer the post again while it works this incident.
        let (_, again) = app.get(Some(&dispatcher), &format!("/api/incidents/{id}/recommendation")).await;
        assert!(!again["proposed_unit_ids"].as_array().unwrap().iter().any(|u| u.as_i64() == Some(post)));
        let (status, body) = app.post(Some(&volunteer), &format!("/api/incidents/{id}/dispatch-plan"), json!({})).await;
        assert_eq!((status, body["code"].as_str()), (StatusCode::FORBIDDEN, Some("forbidden")));
    }
}
