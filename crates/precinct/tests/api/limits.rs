//! Abuse limits at the transport and the login: slow clients are cut off,
//! hyper's own errors are JSON, event streams per session are capped, and
//! the login throttle never locks a user out of their own correct password
//! from a known device (issue 15).

use crate::common::{Backend, PASSWORD, TestApp, spawn_app_with};
use crate::sse::SseClient;
use precinct_api::limits::Limits;
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

async fn app_with(limits: Limits) -> TestApp {
    spawn_app_with(Backend::Sqlite, move |state| state.with_limits(limits))
        .await
        .expect("SQLite is always available")
}

/// Everything the server sends on a raw connection until it closes it, or
/// None when it keeps the connection open past `wait`.
async fn read_until_closed(stream: &mut tokio::net::TcpStream, wait: Duration) -> Option<String> {
    let mut received = Vec::new();
    tokio::time::timeout(wait, async {
        let mut buf = [0u8; 4096];
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => received.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await
    .ok()?;
    Some(String::from_utf8_lossy(&received).into_owned())
}

fn json_body(answer: &str) -> Value {
    let (_, body) = answer.split_once("\r\n\r\n").expect("a head and a body");
    serde_json::from_str(body).unwrap_or_else(|_| panic!("a JSON body: {answer:?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unfinished_headers_and_bodies_do_not_hold_a_connection() {
    let app = app_with(Limits {
        header_timeout: Duration::from_secs(1),
        body_timeout: Duration::from_secs(1),
        ..Limits::default()
    })
    .await;
    let address = app.base.trim_start_matches("http://").to_owned();

    // Headers never finished: the server hangs up.
    let mut stream = tokio::net::TcpStream::connect(&address).await.unwrap();
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: precinct\r\nX-Slow: ")
        .await
        .unwrap();
    assert!(
        read_until_closed(&mut stream, Duration::from_secs(5))
            .await
            .is_some(),
        "a connection with unfinished headers is closed"
    );

    // A body that stops halfway: 408 request_timeout, and the connection closes.
    let mut stream = tokio::net::TcpStream::connect(&address).await.unwrap();
    stream
        .write_all(
            b"POST /api/auth/login HTTP/1.1\r\nHost: precinct\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"username\":",
        )
        .await
        .unwrap();
    let answer = read_until_closed(&mut stream, Duration::from_secs(5))
        .await
        .expect("a connection with an unfinished body is answered and closed");
    assert!(answer.starts_with("HTTP/1.1 408 "), "{answer}");
    assert_eq!(json_body(&answer)["code"], "request_timeout");

    // A prompt client is not affected.
    let (status, _) = app.get(None, "/healthz").await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_hyper_cannot_parse_get_a_json_error() {
    let app = app_with(Limits::default()).await;
    let address = app.base.trim_start_matches("http://").to_owned();
    let long = "a".repeat(70_000);
    for (request, status, code) in [
        (
            format!("GET /api/incidents?q={long} HTTP/1.1\r\nHost: precinct\r\n\r\n"),
            "414",
            "uri_too_long",
        ),
        (
            "GET /healthz HTTP/1.1\r\nHost: precinct\r\nBad Header\r\n\r\n".to_owned(),
            "400",
            "malformed_request",
        ),
    ] {
        let mut stream = tokio::net::TcpStream::connect(&address).await.unwrap();
        stream.write_all(request.as_bytes()).await.unwrap();
        let answer = read_until_closed(&mut stream, Duration::from_secs(5))
            .await
            .unwrap();
        assert!(
            answer.starts_with(&format!("HTTP/1.1 {status} ")),
            "{answer}"
        );
        assert!(
            answer.contains("content-type: application/json"),
            "{answer}"
        );
        assert_eq!(json_body(&answer)["code"], code);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_session_holds_only_so_many_live_streams() {
    let app = app_with(Limits {
        streams_per_session: 2,
        ..Limits::default()
    })
    .await;
    let token = app.login("dispatcher").await;
    let first = SseClient::connect(&app.client, &app.base, &token, None).await;
    let _second = SseClient::connect(&app.client, &app.base, &token, None).await;
    let (status, body) = app.get(Some(&token), "/api/events/stream").await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::TOO_MANY_REQUESTS, Some("too_many_streams")),
        "{body}"
    );
    // Another session has its own streams.
    let other = app.login("dispatcher").await;
    let _third = SseClient::connect(&app.client, &app.base, &other, None).await;
    // A stream closed by its client frees its place at once.
    drop(first);
    let mut reopened = None;
    for _ in 0..50 {
        let response = app
            .client
            .get(format!("{}/api/events/stream", app.base))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        if response.status() == StatusCode::OK {
            reopened = Some(response);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(reopened.is_some(), "a closed stream's place is free again");
}

async fn login(app: &TestApp, password: &str, device: Option<&str>) -> (StatusCode, Value) {
    let mut body = json!({ "username": "dispatcher", "password": password });
    if let Some(device) = device {
        body["device_token"] = json!(device);
    }
    app.post(None, "/api/auth/login", body).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_known_device_is_not_locked_out_by_others_guessing() {
    let app = app_with(Limits::default()).await;
    let (status, body) = login(&app, PASSWORD, None).await;
    assert_eq!(status, StatusCode::OK);
    let device = body["device_token"].as_str().unwrap().to_owned();
    // Someone on the same address guesses the dispatcher's password.
    for _ in 0..6 {
        let (status, _) = login(&app, "wrong-password", None).await;
        assert!(
            [StatusCode::UNAUTHORIZED, StatusCode::TOO_MANY_REQUESTS].contains(&status),
            "{status}"
        );
    }
    // An unknown device waits out the cool-down, even with the right password.
    let (status, body) = login(&app, PASSWORD, None).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    // So does a forged device token.
    let forged = format!("{}x", &device[..device.len() - 1]);
    let (status, _) = login(&app, PASSWORD, Some(&forged)).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    // The dispatcher's own device logs in: by the token, or by its cookie.
    let (status, body) = login(&app, PASSWORD, Some(&device)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let response = app
        .client
        .post(format!("{}/api/auth/login", app.base))
        .header("cookie", format!("precinct_device={device}"))
        .json(&json!({ "username": "dispatcher", "password": PASSWORD }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let cookies: Vec<_> = response
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect();
    assert!(
        cookies
            .iter()
            .any(|c| c.starts_with("precinct_device=") && c.contains("HttpOnly")),
        "{cookies:?}"
    );
    // A device's own budget still slows a thief who took it.
    for _ in 0..5 {
        let (status, _) = login(&app, "wrong-password", Some(&device)).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    let (status, _) = login(&app, PASSWORD, Some(&device)).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_simultaneous_correct_logins_all_succeed() {
    let app = app_with(Limits::default()).await;
    let logins: Vec<_> = (0..20)
        .map(|_| {
            let request = app
                .client
                .post(format!("{}/api/auth/login", app.base))
                .json(&json!({ "username": "dispatcher", "password": PASSWORD }));
            tokio::spawn(async move { request.send().await.unwrap().status() })
        })
        .collect();
    let mut statuses = Vec::new();
    for login in logins {
        statuses.push(login.await.unwrap());
    }
    assert!(
        statuses.iter().all(|s| *s == StatusCode::OK),
        "{statuses:?}"
    );
}
