//! Response figures over a period, against a hand-computed expectation.

use crate::common::*;
use chrono::Duration;
use reqwest::StatusCode;
use serde_json::json;

api_test! {
    async fn response_figures_match_a_hand_computation(app) {
        let d = app.login("dispatcher").await;
        let analyst = app.login("analyst").await;
        let post = app.unit_id(&d, "怡园警务点").await;
        let volunteers = app.unit_id(&d, "夜市义警").await;
        let car = app.unit_id(&d, "南巡1").await;
        let shop = app.place(&d, "美食七街7号").await;
        let (lat, lon) = near(&shop, 0.0, 0.0);

        // Two days before: outside the period.
        app.clock.set(story_time() - Duration::days(2));
        app.instruction(&d, "old", "theft", lat, lon).await;

        // A — fight at t0: volunteers on scene at +3 min, police at +6 min, resolved on scene.
        app.clock.set(story_time());
        let a = app.instruction(&d, "a", "fight_assault", lat, lon).await["id"].as_i64().unwrap();
        app.post(Some(&d), &format!("/api/incidents/{a}/dispatch"), json!({ "unit_ids": [post, volunteers] })).await;
        app.clock.advance(Duration::minutes(3));
        app.set_unit_status(&d, volunteers, "on_scene").await;
        app.clock.advance(Duration::minutes(3));
        app.set_unit_status(&d, post, "on_scene").await;
        // C — a phone call about the same fight, merged into A: counts once.
        let (status_c, c) = app
            .post(Some(&d), "/api/incidents", json!({ "source": "phone", "category": "fight_assault", "priority": 1, "location": { "lat": lat, "lon": lon }, "summary": "有人打架" }))
            .await;
        assert_eq!(status_c, StatusCode::CREATED);
        let c = c["incident"]["id"].as_i64().unwrap();
        app.post(Some(&d), &format!("/api/incidents/{c}/merge"), json!({ "into": a })).await;
        app.post(Some(&d), &format!("/api/incidents/{a}/close"), json!({ "disposition": "resolved_on_scene" })).await;

        // B — theft at t0 + 1 h: the car on scene 10 min after the report; referred to mediation.
        app.clock.set(story_time() + Duration::hours(1));
        let market = app.place(&d, "高桥大市场").await;
        let (mlat, mlon) = near(&market, 0.0, 0.0);
        let b = app.instruction(&d, "b", "theft", mlat, mlon).await["id"].as_i64().unwrap();
        app.post(Some(&d), &format!("/api/incidents/{b}/dispatch"), json!({ "unit_ids": [car] })).await;
        app.clock.advance(Duration::minutes(10));
        app.set_unit_status(&d, car, "on_scene").await;
        app.post(Some(&d), &format!("/api/incidents/{b}/close"), json!({ "disposition": "referred_to_mediation" })).await;

        // D — a help request at t0 + 2 h, still open.
        app.clock.set(story_time() + Duration::hours(2));
        app.instruction(&d, "d", "help_request", mlat, mlon).await;

        let from = (story_time() - Duration::hours(1)).to_rfc3339();
        let until = (story_time() + Duration::days(1)).to_rfc3339();
        let query = format!("/api/figures/response?from={}&until={}", urlencode(&from), urlencode(&until));
        let (status, figures) = app.get(Some(&analyst), &query).await;
        assert_eq!(status, StatusCode::OK, "{figures}");
        // By hand: A, B, D count (C merged, the old one outside); police reached A in 360 s and
        // B in 600 s; helpers reached A in 180 s; A resolved on scene, B referred: 1 of 2.
        assert_eq!((figures["incidents"].as_u64(), figures["dispatched"].as_u64(), figures["closed"].as_u64()), (Some(3), Some(2), Some(2)));
        assert_eq!(figures["police_response"], json!({ "count": 2, "mean_seconds": 480.0, "median_seconds": 360.0, "p90_seconds": 600.0 }));
        assert_eq!(figures["first_response"], json!({ "count": 1, "mean_seconds": 180.0, "median_seconds": 180.0, "p90_seconds": 180.0 }));
        assert_eq!(figures["on_scene_resolution_rate"], 0.5);

        let backwards = format!("/api/figures/response?from={}&until={}", urlencode(&until), urlencode(&from));
        let (status, body) = app.get(Some(&analyst), &backwards).await;
        assert_eq!((status, body["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_period")));
        let volunteer = app.login("volunteer").await;
        let (status, _) = app.get(Some(&volunteer), &query).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
    }
}

fn urlencode(text: &str) -> String {
    text.replace('+', "%2B").replace(':', "%3A")
}

api_test! {
    async fn hotspots_find_the_cluster(app) {
        let d = app.login("dispatcher").await;
        let shop = app.place(&d, "美食七街7号").await;
        // A cluster of thefts round the shop, and the same number spread on
        // a 5 × 5 grid 600 m apart around it.
        for k in 0..25 {
            let (east, north) = (((k % 5) as f64 - 2.0) * 20.0, ((k / 5) as f64 - 2.0) * 20.0);
            let (lat, lon) = near(&shop, east, north);
            app.instruction(&d, &format!("c-{k}"), "theft", lat, lon).await;
            let (lat, lon) = near(&shop, ((k % 5) as f64 - 2.0) * 600.0 + 300.0, ((k / 5) as f64 - 2.0) * 600.0 + 300.0);
            app.instruction(&d, &format!("s-{k}"), "fraud", lat, lon).await;
        }
        let analyst = app.login("analyst").await;
        let period = format!(
            "from={}&until={}",
            (story_time() - Duration::days(1)).to_rfc3339().replace('+', "%2B"),
            (story_time() + Duration::days(1)).to_rfc3339().replace('+', "%2B"),
        );
        let (status, h) = app.get(Some(&analyst), &format!("/api/analysis/hotspots?{period}&cell_m=200")).await;
        assert_eq!(status, StatusCode::OK, "{h}");
        assert_eq!(h["incidents"], 50);
        let z: Vec<f64> = h["z"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect();
        let counts: Vec<f64> = h["counts"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect();
        assert_eq!(counts.iter().sum::<f64>(), 50.0);
        // The cluster (80 m across) may straddle cells: the hottest cell is
        // the fullest one or its neighbour, and significant.
        let nx = h["lattice"]["nx"].as_u64().unwrap() as usize;
        let near = |a: usize, b: usize| ((a % nx) as i64 - (b % nx) as i64).abs() <= 1 && ((a / nx) as i64 - (b / nx) as i64).abs() <= 1;
        let fullest = (0..counts.len()).max_by(|&a, &b| counts[a].total_cmp(&counts[b])).unwrap();
        assert!(counts[fullest] >= 7.0, "{}", counts[fullest]);
        let top = (0..z.len()).max_by(|&a, &b| z[a].total_cmp(&z[b])).unwrap();
        assert!(near(top, fullest), "the hottest cell is at the cluster");
        assert_eq!(h["significant"][top], true);
        assert!(z[top] > 3.0, "{}", z[top]);
        let density: Vec<f64> = h["density_per_km2"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect();
        let peak = (0..density.len()).max_by(|&a, &b| density[a].total_cmp(&density[b])).unwrap();
        assert!(near(peak, fullest), "the density peaks at the cluster");
        assert_eq!(h["near_repeat"]["events"], 25);
        assert!(h["definition"].as_str().unwrap().contains("Gi*"));
        // Nothing there in the two days before: the hotspot is new.
        assert_eq!(h["trend"][top], "new");
        assert_eq!(h["trend"].as_array().unwrap().len(), counts.len());
        let cells = h["grid_cells"].as_array().unwrap();
        assert!(!cells.is_empty());
        let fullest_cell = cells.iter().max_by(|a, b| a["incidents"].as_f64().unwrap().total_cmp(&b["incidents"].as_f64().unwrap())).unwrap();
        assert!(fullest_cell["incidents"].as_f64().unwrap() >= 10.0, "{fullest_cell}");
        assert_eq!(fullest_cell["significant"], true, "the cluster's grid cell is a hotspot: {fullest_cell}");
        assert!(fullest_cell["z"].as_f64().unwrap() > 2.0);

        // One category only; bad input; roles.
        let (_, only) = app.get(Some(&analyst), &format!("/api/analysis/hotspots?{period}&category=fraud&kernel=gaussian&contiguity=rook")).await;
        assert_eq!(only["incidents"], 25);
        assert!(only["near_repeat"].is_null());
        for bad in ["contiguity=hexagon", "kernel=box", "cell_m=10"] {
            let (status, body) = app.get(Some(&analyst), &format!("/api/analysis/hotspots?{period}&{bad}")).await;
            assert_eq!((status, body["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_field")), "{bad}: {body}");
        }
        let volunteer = app.login("volunteer").await;
        let (status, _) = app.get(Some(&volunteer), &format!("/api/analysis/hotspots?{period}")).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
    }
}
