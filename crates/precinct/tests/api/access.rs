//! Who may do and see what: every endpoint needs a session and an allowed
//! role; volunteers see only their own incidents; callers' details are shown
//! only to roles that need them, and each such read is audited.

use crate::common::*;
use reqwest::StatusCode;
use serde_json::json;

api_test! {
    async fn sessions_are_required_and_checked(app) {
        for path in [
            "/api/incidents",
            "/api/units",
            "/api/jurisdiction",
            "/api/me",
            "/api/events/stream",
            "/api/incidents/1",
        ] {
            let (status, body) = app.get(None, path).await;
            assert_eq!(
                (status, body["code"].as_str()),
                (StatusCode::UNAUTHORIZED, Some("unauthenticated")),
                "{path}"
            );
            let (status, _) = app.get(Some("forged-token"), path).await;
            assert_eq!(
                status,
                StatusCode::UNAUTHORIZED,
                "{path} with a forged token"
            );
        }
        for (username, password) in [
            ("dispatcher", "wrong-password"),
            ("nobody", PASSWORD),
            ("x", PASSWORD),
        ] {
            let (status, body) = app
                .post(
                    None,
                    "/api/auth/login",
                    json!({ "username": username, "password": password }),
                )
                .await;
            assert_eq!(
                (status, body["code"].as_str()),
                (StatusCode::UNAUTHORIZED, Some("invalid_credentials")),
                "{username}"
            );
        }
        let token = app.login("analyst").await;
        let (status, me) = app.get(Some(&token), "/api/me").await;
        assert_eq!(
            (status, me["role"].as_str()),
            (StatusCode::OK, Some("analyst"))
        );
        let (status, _) = app.post(Some(&token), "/api/auth/logout", json!({})).await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        let (status, _) = app.get(Some(&token), "/api/me").await;
        assert_eq!(
            status,
            StatusCode::UNAUTHORIZED,
            "a logged-out token is dead"
        );
    }
}

api_test! {
    async fn roles_are_enforced_and_refusals_change_nothing(app) {
        let dispatcher = app.login("dispatcher").await;
        let volunteer = app.login("volunteer").await;
        let officer = app.login("officer").await;
        let analyst = app.login("analyst").await;
        let mediator = app.login("mediator").await;
        let incident = app
            .instruction(&dispatcher, "r-1", "theft", 28.15, 113.02)
            .await;
        let id = incident["id"].as_i64().unwrap();
        let car = app.unit_id(&dispatcher, "北巡1").await;
        let events = app.event_count().await;

        let intake = json!({ "source": "phone", "category": "theft", "priority": 2, "location": { "lat": 28.15, "lon": 113.02 }, "summary": "x" });
        let cases = [
            (
                "volunteer dispatches",
                &volunteer,
                format!("/api/incidents/{id}/dispatch"),
                json!({ "unit_ids": [car] }),
            ),
            (
                "officer dispatches",
                &officer,
                format!("/api/incidents/{id}/dispatch"),
                json!({ "unit_ids": [car] }),
            ),
            (
                "analyst reports",
                &analyst,
                "/api/incidents".to_owned(),
                intake.clone(),
            ),
            (
                "mediator reports",
                &mediator,
                "/api/incidents".to_owned(),
                intake,
            ),
            (
                "mediator closes",
                &mediator,
                format!("/api/incidents/{id}/close"),
                json!({ "disposition": "no_action_needed" }),
            ),
            (
                "volunteer merges",
                &volunteer,
                format!("/api/incidents/{id}/merge"),
                json!({ "into": 1 }),
            ),
            (
                "volunteer moves another unit",
                &volunteer,
                format!("/api/units/{car}/status"),
                json!({ "status": "at_post" }),
            ),
            (
                "officer moves another unit",
                &officer,
                format!("/api/units/{car}/position"),
                json!({ "lat": 28.15, "lon": 113.02 }),
            ),
            (
                "analyst sets a status",
                &analyst,
                format!("/api/units/{car}/status"),
                json!({ "status": "at_post" }),
            ),
        ];
        for (what, token, path, body) in cases {
            let (status, body) = app.post(Some(token), &path, body).await;
            assert_eq!(
                (status, body["code"].as_str()),
                (StatusCode::FORBIDDEN, Some("forbidden")),
                "{what}"
            );
        }
        assert_eq!(app.event_count().await, events, "refusals changed nothing");
    }
}

api_test! {
    async fn volunteers_see_only_their_incidents_and_callers_are_masked(app) {
        let dispatcher = app.login("dispatcher").await;
        let volunteer = app.login("volunteer").await;
        let analyst = app.login("analyst").await;
        let shop = app.place(&dispatcher, "美食七街7号").await;
        let (lat, lon) = near(&shop, 0.0, 0.0);
        let mine = app
            .instruction(&dispatcher, "v-1", "fight_assault", lat, lon)
            .await;
        app.clock.advance(chrono::Duration::hours(1));
        let other = app
            .instruction(&dispatcher, "v-2", "theft", 28.15, 113.03)
            .await;
        let night_market = app.unit_id(&dispatcher, "夜市义警").await;
        let (status, _) = app
            .post(
                Some(&dispatcher),
                &format!("/api/incidents/{}/dispatch", mine["id"]),
                json!({ "unit_ids": [night_market] }),
            )
            .await;
        assert_eq!(status, StatusCode::OK);

        let (_, listed) = app.get(Some(&volunteer), "/api/incidents?status=all").await;
        let ids: Vec<_> = listed
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["id"].clone())
            .collect();
        assert_eq!(
            ids,
            [mine["id"].clone()],
            "a volunteer lists only incidents their unit is assigned to"
        );
        let (status, body) = app
            .get(Some(&volunteer), &format!("/api/incidents/{}", other["id"]))
            .await;
        assert_eq!(
            (status, body["code"].as_str()),
            (StatusCode::NOT_FOUND, Some("not_found")),
            "another incident by id is not found"
        );
        let (status, detail) = app
            .get(Some(&volunteer), &format!("/api/incidents/{}", mine["id"]))
            .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(
            detail["caller"],
            json!({ "name": "李**", "phone": "138****8000", "masked": true }),
            "a volunteer sees the caller masked"
        );
        let (status, _) = app
            .post(
                Some(&volunteer),
                &format!("/api/incidents/{}/notes", other["id"]),
                json!({ "text": "x" }),
            )
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND, "nor may they write to it");

        let audit_before = app.store.audit_log(100).await.unwrap().len();
        let (_, analysed) = app
            .get(Some(&analyst), &format!("/api/incidents/{}", other["id"]))
            .await;
        assert_eq!(
            analysed["caller"]["masked"], true,
            "an analyst sees callers masked"
        );
        let (_, list) = app
            .get(Some(&dispatcher), "/api/incidents?status=all")
            .await;
        assert!(
            list.as_array()
                .unwrap()
                .iter()
                .all(|i| i["caller"]["masked"] == true),
            "lists are always masked"
        );
        assert_eq!(
            app.store.audit_log(100).await.unwrap().len(),
            audit_before,
            "masked reads are not personal-data reads"
        );

        let (_, full) = app
            .get(
                Some(&dispatcher),
                &format!("/api/incidents/{}", other["id"]),
            )
            .await;
        assert_eq!(
            full["caller"],
            json!({ "name": "李先生", "phone": "13800138000", "masked": false })
        );
        let audit = app.store.audit_log(100).await.unwrap();
        assert_eq!(
            audit.len(),
            audit_before + 1,
            "the unmasked read is audited"
        );
        assert_eq!(audit[0].username, "dispatcher");
        assert_eq!(audit[0].action, "read_caller");
        assert_eq!(audit[0].subject, format!("incident {}", other["id"]));
    }
}

api_test! {
    async fn password_guessing_is_slowed_down(app) {
        let login = |username: &'static str, password: &'static str| {
            let request = app
                .client
                .post(format!("{}/api/auth/login", app.base))
                .json(&json!({ "username": username, "password": password }));
            async move {
                let response = request.send().await.unwrap();
                let status = response.status();
                let retry_after = response
                    .headers()
                    .get("retry-after")
                    .map(|v| v.to_str().unwrap().to_owned());
                let body: serde_json::Value = response.json().await.unwrap();
                (status, body, retry_after)
            }
        };
        // Five wrong passwords are refused as such.
        for _ in 0..5 {
            let (status, body, _) = login("dispatcher", "wrong-password").await;
            assert_eq!(
                (status, body["code"].as_str()),
                (StatusCode::UNAUTHORIZED, Some("invalid_credentials"))
            );
        }
        // Then the username waits out a cool-down, even with its right
        // password, and is told how long.
        let (status, body, retry_after) = login("dispatcher", PASSWORD).await;
        assert_eq!(
            (status, body["code"].as_str(), retry_after.as_deref()),
            (StatusCode::TOO_MANY_REQUESTS, Some("too_many_attempts"), Some("1")),
            "{body}"
        );
        assert!(body["message_zh"].as_str().unwrap().contains("1 秒"), "{body}");
        // Other users are not held up.
        app.login("analyst").await;
        // After the cool-down the right password works, and clears the count.
        tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
        app.login("dispatcher").await;
        let (status, body, _) = login("dispatcher", "wrong-password").await;
        assert_eq!(
            (status, body["code"].as_str()),
            (StatusCode::UNAUTHORIZED, Some("invalid_credentials"))
        );
        app.login("dispatcher").await;
    }
}

api_test! {
    async fn cookie_sessions_change_things_only_from_precincts_own_pages(app) {
        let login = |proto: Option<&'static str>| {
            let mut request = app
                .client
                .post(format!("{}/api/auth/login", app.base))
                .json(&json!({ "username": "volunteer", "password": PASSWORD }));
            if let Some(proto) = proto {
                request = request.header("X-Forwarded-Proto", proto);
            }
            request.send()
        };
        // Behind a TLS proxy the cookie is Secure; on plain HTTP it cannot be.
        let response = login(Some("https")).await.unwrap();
        let cookie = response.headers()["set-cookie"].to_str().unwrap().to_owned();
        assert!(cookie.contains("; Secure"), "{cookie}");
        let response = login(None).await.unwrap();
        let cookie = response.headers()["set-cookie"].to_str().unwrap().to_owned();
        assert!(!cookie.contains("Secure"), "{cookie}");
        let session = cookie.split(';').next().unwrap().to_owned();
        let host = app.base.trim_start_matches("http://").to_owned();
        let unit = app.get(Some(&app.login("volunteer").await), "/api/me").await.1["unit_id"].clone();
        let accept = format!("{}/api/units/{unit}/task/accept", app.base);
        let logout = format!("{}/api/auth/logout", app.base);
        let send = |url: &str, headers: &[(&'static str, String)]| {
            let mut request = app.client.post(url).header("cookie", &session);
            for (name, value) in headers {
                request = request.header(*name, value);
            }
            request.send()
        };
        // A bodiless POST with the cookie and no sign of its origin, or from another site: refused.
        for headers in [
            vec![],
            vec![("origin", "http://evil.example".to_owned())],
            vec![("sec-fetch-site", "cross-site".to_owned())],
        ] {
            for url in [&accept, &logout] {
                let response = send(url, &headers).await.unwrap();
                assert_eq!(response.status(), StatusCode::FORBIDDEN, "{url} {headers:?}");
                let body: serde_json::Value = response.json().await.unwrap();
                assert_eq!(body["code"], "cross_site_request");
            }
        }
        // Reads need no origin; the console's own pages may change things.
        let response = app.client.get(format!("{}/api/me", app.base)).header("cookie", &session).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let response = send(&logout, &[("origin", format!("http://{host}"))]).await.unwrap();
        assert_eq!(response.status(), StatusCode::NO_CONTENT);
    }
}

api_test! {
    async fn every_route_consults_the_policy(app) {
        use precinct_api::gate::Gate;
        use precinct_domain::policy;
        use precinct_domain::user::Role;
        // Every operation of the document declares its gate (routes enter
        // only with one, `precinct_api::gate::Routes`)…
        let (_, document) = app.get(None, "/api/openapi.json").await;
        let mut routes = Vec::new();
        for (path, methods) in document["paths"].as_object().unwrap() {
            for (method, operation) in methods.as_object().unwrap() {
                let method = method.to_uppercase();
                let gate = Gate::declared(operation)
                    .unwrap_or_else(|| panic!("{method} {path} declares no gate (x-precinct-access)"));
                routes.push((method, path.clone(), gate));
            }
        }
        assert!(routes.len() > 60, "{} operations", routes.len());
        // …the document and the metrics are among them…
        for (method, path) in [("GET", "/api/openapi.json"), ("GET", "/metrics"), ("POST", "/api/auth/login")] {
            assert!(routes.iter().any(|(m, p, _)| m == method && p == path), "{method} {path}");
        }
        // …and what is not in it is not a route.
        let (status, body) = app.get(None, "/api/not-a-route").await;
        assert_eq!((status, body["code"].as_str()), (StatusCode::NOT_FOUND, Some("route_not_found")));
        // …and every route refuses each role the table never lets do its
        // action, before looking at the request (an empty body, id 1).
        let usernames = [
            (Role::Admin, "admin"),
            (Role::Dispatcher, "dispatcher"),
            (Role::Officer, "officer"),
            (Role::Volunteer, "volunteer"),
            (Role::Mediator, "mediator"),
            (Role::Analyst, "analyst"),
        ];
        assert_eq!(usernames.len(), Role::ALL.len());
        let mut tokens = Vec::new();
        for (role, username) in usernames {
            tokens.push((role, app.login(username).await));
        }
        let mut refused = 0;
        for (method, path, gate) in &routes {
            let Some(action) = gate.action() else { continue };
            for (role, token) in &tokens {
                if policy::may_ever(*role, action) {
                    continue;
                }
                let url = format!("{}{}", app.base, path.replace("{id}", "1"));
                let request = match method.as_str() {
                    "GET" => app.client.get(&url),
                    _ => app.client.post(&url).json(&json!({})),
                };
                let response = request.bearer_auth(token).send().await.unwrap();
                let status = response.status();
                let body: serde_json::Value = response.json().await.unwrap_or_default();
                assert_eq!(
                    (status, body["code"].as_str()),
                    (StatusCode::FORBIDDEN, Some("forbidden")),
                    "{method} {path} as {role} ({action})"
                );
                refused += 1;
            }
        }
        assert!(refused > 100, "{refused} refusals checked");
    }
}

api_test! {
    async fn the_accounts_an_administrator_may_disable_are_the_ones_offered(app) {
        let admin = app.login("admin").await;
        let (status, users) = app.get(Some(&admin), "/api/admin/users").await;
        assert_eq!(status, StatusCode::OK);
        let user = |name: &str| users.as_array().unwrap().iter().find(|u| u["username"] == name).unwrap().clone();
        let (me, dispatcher) = (user("admin"), user("dispatcher"));
        assert_eq!(me["can_be_disabled"], false, "not one's own account");
        assert_eq!(dispatcher["can_be_disabled"], true);
        // What the list says is what the change does.
        let (status, body) = app
            .post(Some(&admin), &format!("/api/admin/users/{}", me["id"]), json!({ "disabled": true }))
            .await;
        assert_eq!((status, body["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_field")), "{body}");
        let (status, body) = app
            .post(Some(&admin), &format!("/api/admin/users/{}", dispatcher["id"]), json!({ "disabled": true }))
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let (status, _) = app
            .post(None, "/api/auth/login", json!({ "username": "dispatcher", "password": PASSWORD }))
            .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "a disabled account cannot log in");
    }
}
