//! Two factors for command roles, idle sessions, and sessions the
//! administrator lists and revokes (issue 15).

use crate::common::{Backend, PASSWORD, TestApp, spawn_app_with};
use crate::sse::SseClient;
use precinct_api::limits::Limits;
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::time::Duration;

async fn app(limits: Limits) -> TestApp {
    spawn_app_with(Backend::Sqlite, move |state| state.with_limits(limits))
        .await
        .expect("SQLite is always available")
}

fn required() -> Limits {
    Limits {
        second_factor_required: true,
        ..Limits::default()
    }
}

async fn login(app: &TestApp, username: &str, extra: Value) -> (StatusCode, Value) {
    let mut body = json!({ "username": username, "password": PASSWORD });
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    app.post(None, "/api/auth/login", body).await
}

/// The code an authenticator app shows for `secret` at `offset` steps from now.
fn code(secret: &str, offset: i64) -> String {
    let totp = totp_rs::Builder::new()
        .with_secret(
            totp_rs::Secret::try_from_base32(secret)
                .unwrap()
                .as_ref()
                .to_vec(),
        )
        .build_noncompliant();
    let now = chrono::Utc::now().timestamp() + offset * 30;
    totp.generate(now as u64).to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admins_and_dispatchers_enrol_a_second_factor_and_log_in_with_it() {
    let app = app(required()).await;
    // A dispatcher without a second factor may enrol, and nothing else.
    let (status, body) = login(&app, "dispatcher", json!({})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["user"]["second_factor_enrolment_required"], true);
    let token = body["token"].as_str().unwrap().to_owned();
    let (status, body) = app.get(Some(&token), "/api/incidents").await;
    assert_eq!(
        (status, body["code"].as_str()),
        (
            StatusCode::FORBIDDEN,
            Some("second_factor_enrolment_required")
        ),
        "{body}"
    );
    // Other roles are not held up.
    let (status, body) = login(&app, "officer", json!({})).await;
    assert_eq!(status, StatusCode::OK);
    let officer = body["token"].as_str().unwrap().to_owned();
    assert_eq!(
        app.get(Some(&officer), "/api/incidents").await.0,
        StatusCode::OK
    );

    // Enrolment: a secret with its QR code, confirmed by a code from it.
    let (status, enrolment) = app
        .post(Some(&token), "/api/auth/totp/enrol", json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{enrolment}");
    let secret = enrolment["secret"].as_str().unwrap().to_owned();
    assert!(
        enrolment["otpauth_url"]
            .as_str()
            .unwrap()
            .starts_with("otpauth://totp/Precinct:dispatcher?")
    );
    assert!(enrolment["qr_svg"].as_str().unwrap().starts_with("<svg"));
    let (status, body) = app
        .post(
            Some(&token),
            "/api/auth/totp/confirm",
            json!({ "code": "000000" }),
        )
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("invalid_second_factor")
        ),
        "{body}"
    );
    let (status, body) = app
        .post(
            Some(&token),
            "/api/auth/totp/confirm",
            json!({ "code": code(&secret, 0) }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let recovery: Vec<String> = serde_json::from_value(body["recovery_codes"].clone()).unwrap();
    assert_eq!(recovery.len(), 10);
    // The session goes on, now with the second factor.
    assert_eq!(
        app.get(Some(&token), "/api/incidents").await.0,
        StatusCode::OK
    );
    let (status, _) = app
        .post(Some(&token), "/api/auth/totp/enrol", json!({}))
        .await;
    assert_eq!(status, StatusCode::CONFLICT);

    // Logging in now takes a code. Without one the answer is that of a
    // wrong password, so it confirms no password.
    let (status, body) = login(&app, "dispatcher", json!({})).await;
    let wrong = app
        .post(
            None,
            "/api/auth/login",
            json!({ "username": "dispatcher", "password": "not the password" }),
        )
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("invalid_credentials")),
        "{body}"
    );
    assert_eq!(
        (status, body),
        wrong,
        "a missing code answers as a wrong password"
    );
    let (status, body) = login(&app, "dispatcher", json!({ "totp_code": "123456" })).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    // The code confirmed at enrolment was used: the next step's works, once.
    let next = code(&secret, 1);
    let (status, body) = login(&app, "dispatcher", json!({ "totp_code": next })).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["user"]["second_factor"], true);
    let (status, _) = login(&app, "dispatcher", json!({ "totp_code": next })).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "a code is accepted once");
    // A recovery code works once.
    let (status, body) = login(
        &app,
        "dispatcher",
        json!({ "recovery_code": recovery[3].to_lowercase() }),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, _) = login(&app, "dispatcher", json!({ "recovery_code": recovery[3] })).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // The administrator (enrolled too) resets a lost phone: the dispatcher enrols again.
    let admin = enrolled(&app, "admin").await;
    let (_, users) = app.get(Some(&admin), "/api/admin/users").await;
    let dispatcher = users
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["username"] == "dispatcher")
        .unwrap()
        .clone();
    assert_eq!(dispatcher["second_factor"], true);
    let (status, _) = app
        .post(
            Some(&admin),
            &format!("/api/admin/users/{}/reset-second-factor", dispatcher["id"]),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, body) = login(&app, "dispatcher", json!({})).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["user"]["second_factor_enrolment_required"], true);
    // An administrator's change to an account is audited too.
    let (status, body) = app
        .post(
            Some(&admin),
            &format!("/api/admin/users/{}", dispatcher["id"]),
            json!({ "display_name": "值班员甲" }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let audit = app.store.audit_log(1000).await.unwrap();
    for action in [
        "second_factor_enrolled",
        "reset_second_factor",
        "update_user",
        "login",
        "login_failed",
    ] {
        assert!(
            audit.iter().any(|e| e.action == action),
            "{action} is audited"
        );
    }
}

/// Logs `username` in and enrols a second factor; the session's token.
async fn enrolled(app: &TestApp, username: &str) -> String {
    let (status, body) = login(app, username, json!({})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let token = body["token"].as_str().unwrap().to_owned();
    let (_, enrolment) = app
        .post(Some(&token), "/api/auth/totp/enrol", json!({}))
        .await;
    let secret = enrolment["secret"].as_str().unwrap();
    let (status, body) = app
        .post(
            Some(&token),
            "/api/auth/totp/confirm",
            json!({ "code": code(secret, 0) }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    token
}

/// The admin's token (no second factor required).
async fn admin_token(app: &TestApp) -> String {
    let (status, body) = login(app, "admin", json!({})).await;
    if status == StatusCode::OK {
        return body["token"].as_str().unwrap().to_owned();
    }
    panic!("admin login: {status} {body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_admin_sessions_end_and_the_admin_lists_and_revokes_sessions() {
    let app = app(Limits {
        admin_idle: chrono::TimeDelta::seconds(2),
        ..Limits::default()
    })
    .await;
    let admin = admin_token(&app).await;
    let dispatcher = app.login("dispatcher").await;
    // Used within the idle limit, a session goes on.
    for _ in 0..3 {
        tokio::time::sleep(Duration::from_millis(900)).await;
        assert_eq!(app.get(Some(&admin), "/api/me").await.0, StatusCode::OK);
    }
    let (status, sessions) = app.get(Some(&admin), "/api/admin/sessions").await;
    assert_eq!(status, StatusCode::OK, "{sessions}");
    let sessions = sessions.as_array().unwrap().clone();
    assert!(
        sessions
            .iter()
            .any(|s| s["username"] == "admin" && s["current"] == true)
    );
    let theirs = sessions
        .iter()
        .find(|s| s["username"] == "dispatcher")
        .expect("the dispatcher's session is listed")
        .clone();
    assert_eq!(theirs["address"], "127.0.0.1");
    // Only admins see sessions.
    assert_eq!(
        app.get(Some(&dispatcher), "/api/admin/sessions").await.0,
        StatusCode::FORBIDDEN
    );
    // A revoked session ends at once, its live stream too.
    let mut stream = SseClient::connect(&app.client, &app.base, &dispatcher, None).await;
    let (status, _) = app
        .post(
            Some(&admin),
            &format!(
                "/api/admin/sessions/{}/revoke",
                theirs["id"].as_str().unwrap()
            ),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(
        app.get(Some(&dispatcher), "/api/me").await.0,
        StatusCode::UNAUTHORIZED
    );
    assert!(
        stream.ended(Duration::from_secs(5)).await,
        "the revoked session's stream ends"
    );
    let (status, _) = app
        .post(
            Some(&admin),
            "/api/admin/sessions/not-a-session/revoke",
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Left alone past the idle limit, the admin's session ends.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let (status, body) = app.get(Some(&admin), "/api/me").await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("session_expired")),
        "{body}"
    );
    assert_eq!(
        app.get(Some(&admin), "/api/me").await.0,
        StatusCode::UNAUTHORIZED
    );
    // Other roles have no idle limit by default.
    let officer = app.login("officer").await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(app.get(Some(&officer), "/api/me").await.0, StatusCode::OK);
}

/// Six simultaneous confirmations with one valid code: exactly one wins,
/// so exactly one set of recovery codes is shown, and it is the one that
/// works (issue 23).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn simultaneous_confirmations_have_one_winner() {
    let app = std::sync::Arc::new(app(required()).await);
    let (status, body) = login(&app, "dispatcher", json!({})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let token = body["token"].as_str().unwrap().to_owned();
    let (_, enrolment) = app
        .post(Some(&token), "/api/auth/totp/enrol", json!({}))
        .await;
    let secret = enrolment["secret"].as_str().unwrap().to_owned();
    let code = code(&secret, 0);
    let attempts: Vec<_> = (0..6)
        .map(|_| {
            let (app, token, code) = (app.clone(), token.clone(), code.clone());
            tokio::spawn(async move {
                app.post(
                    Some(&token),
                    "/api/auth/totp/confirm",
                    json!({ "code": code }),
                )
                .await
            })
        })
        .collect();
    let mut winners = Vec::new();
    for attempt in attempts {
        let (status, body) = attempt.await.unwrap();
        if status == StatusCode::OK {
            winners.push(body["recovery_codes"].clone());
        } else {
            assert_eq!(status, StatusCode::CONFLICT, "{body}");
            assert_eq!(body["code"], "second_factor_already_enrolled", "{body}");
        }
    }
    assert_eq!(winners.len(), 1, "exactly one confirmation wins");
    let codes: Vec<String> = serde_json::from_value(winners[0].clone()).unwrap();
    for recovery in &codes[..2] {
        let (status, body) = login(&app, "dispatcher", json!({ "recovery_code": recovery })).await;
        assert_eq!(
            status,
            StatusCode::OK,
            "the codes shown are the ones in force: {body}"
        );
    }
}
