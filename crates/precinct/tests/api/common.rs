//! `spawn_app()`: the real app on port 0 with a fresh database and the demo
//! district, plus small helpers for calling it.

use chrono::{DateTime, TimeZone, Utc};
use precinct_api::AppState;
use precinct_storage::{Clock, ManualClock, SharedStore};
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::sync::Arc;

pub const PASSWORD: &str = "test-password";

pub struct TestApp {
    pub base: String,
    /// The station's database, for tests that must reach past the API.
    pub url: precinct::DatabaseUrl,
    pub client: reqwest::Client,
    pub store: SharedStore,
    pub clock: Arc<ManualClock>,
    _dir: tempfile::TempDir,
    _shutdown: tokio::sync::oneshot::Sender<()>,
}

/// 30 Oct 2026, 22:23 in Changsha (UTC+8): story 2's instruction.
pub fn story_time() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 10, 30, 14, 23, 0).unwrap()
}

/// The backends the suite runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A database URL for a fresh, empty station on `backend`, or None when the
/// backend is not configured here (PostgreSQL needs PRECINCT_TEST_DATABASE_URL).
pub async fn fresh_database(
    backend: Backend,
    dir: &std::path::Path,
) -> Option<precinct::DatabaseUrl> {
    match backend {
        Backend::Sqlite => Some(precinct::DatabaseUrl::Sqlite(dir.join("test.db"))),
        Backend::Postgres => {
            let admin = precinct_postgres::testing::test_database_url()?;
            let url = precinct_postgres::testing::scratch_database(&admin)
                .await
                .expect("create a scratch database");
            Some(precinct::DatabaseUrl::Postgres(url))
        }
    }
}

/// The real app on port 0, on a fresh database of `backend` holding the
/// demo district (seed 1), with a manual clock at story 2's time.
pub async fn spawn_app(backend: Backend) -> Option<TestApp> {
    spawn_app_with(backend, |state| state).await
}

/// As [`spawn_app`], with the state configured by `configure` (limits and such).
pub async fn spawn_app_with(
    backend: Backend,
    configure: impl FnOnce(AppState) -> AppState,
) -> Option<TestApp> {
    let dir = tempfile::tempdir().unwrap();
    let url = fresh_database(backend, dir.path()).await?;
    let clock = Arc::new(ManualClock::new(story_time()));
    let store: SharedStore = precinct::open_store(&url, clock.clone()).await.unwrap();
    let district = precinct_sim::generate(1);
    assert!(
        precinct::seed_demo(&store, &district, PASSWORD, None)
            .await
            .unwrap()
    );
    let clock_dyn: Arc<dyn Clock> = clock.clone();
    let state = configure(AppState::new(store.clone(), clock_dyn).await.unwrap());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (shutdown, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(precinct_api::serve(listener, state, async move {
        let _ = stopped.await;
    }));
    Some(TestApp {
        url,
        base,
        client: reqwest::Client::new(),
        store,
        clock,
        _dir: dir,
        _shutdown: shutdown,
    })
}

/// Declares a test whose body runs once per backend: `NAME::sqlite` always,
/// `NAME::postgres` when PRECINCT_TEST_DATABASE_URL names a server.
macro_rules! api_test {
    (async fn $name:ident($app:ident) $body:block) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            async fn body($app: crate::common::TestApp) $body

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let app = crate::common::spawn_app(crate::common::Backend::Sqlite).await;
                body(app.expect("SQLite is always available")).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                match crate::common::spawn_app(crate::common::Backend::Postgres).await {
                    Some(app) => body(app).await,
                    None => eprintln!("skipped on PostgreSQL: PRECINCT_TEST_DATABASE_URL is not set"),
                }
            }
        }
    };
}
pub(crate) use api_test;

impl TestApp {
    pub async fn login(&self, username: &str) -> String {
        let (status, body) = self
            .post(
                None,
                "/api/auth/login",
                json!({ "username": username, "password": PASSWORD }),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "login {username}: {body}");
        body["token"].as_str().unwrap().to_owned()
    }

    pub async fn post(&self, token: Option<&str>, path: &str, body: Value) -> (StatusCode, Value) {
        let mut request = self.client.post(format!("{}{path}", self.base)).json(&body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let text = response.text().await.unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    pub async fn get(&self, token: Option<&str>, path: &str) -> (StatusCode, Value) {
        let mut request = self.client.get(format!("{}{path}", self.base));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let text = response.text().await.unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    /// POSTs files as multipart/form-data as `token`: each part's form
    /// field, file name and bytes. The status and the JSON answer (Null
    /// when there is none).
    pub async fn upload(
        &self,
        token: &str,
        path: &str,
        parts: Vec<(&'static str, &str, Vec<u8>)>,
    ) -> (StatusCode, Value) {
        let mut form = reqwest::multipart::Form::new();
        for (field, name, bytes) in parts {
            form = form.part(
                field,
                reqwest::multipart::Part::bytes(bytes).file_name(name.to_owned()),
            );
        }
        let response = self
            .client
            .post(format!("{}{path}", self.base))
            .bearer_auth(token)
            .multipart(form)
            .send()
            .await
            .unwrap();
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// Reports a unit's status as `token`; returns the HTTP status.
    pub async fn set_unit_status(&self, token: &str, unit: i64, status: &str) -> StatusCode {
        let path = format!("/api/units/{unit}/status");
        self.post(Some(token), &path, json!({ "status": status }))
            .await
            .0
    }

    /// The id of the unit with this call sign.
    pub async fn unit_id(&self, token: &str, call_sign: &str) -> i64 {
        let (_, units) = self.get(Some(token), "/api/units").await;
        units
            .as_array()
            .unwrap()
            .iter()
            .find(|u| u["call_sign"] == call_sign)
            .unwrap_or_else(|| panic!("no unit {call_sign}"))["id"]
            .as_i64()
            .unwrap()
    }

    /// A place of the ground found by searching, as the console would.
    pub async fn place(&self, token: &str, query: &str) -> Value {
        let (status, places) = self
            .get(Some(token), &format!("/api/places?q={query}"))
            .await;
        assert_eq!(status, StatusCode::OK);
        places
            .as_array()
            .unwrap()
            .first()
            .unwrap_or_else(|| panic!("no place matches {query}"))
            .clone()
    }

    /// The station as a package, exported through the API as `token`.
    pub async fn export_package(&self, token: &str) -> precinct_station::PackageFiles {
        let zip = self
            .client
            .get(format!("{}/api/station/export", self.base))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        precinct_station::PackageFiles::from_zip(&zip).unwrap()
    }

    /// How many events the store holds: the witness that a rejected request changed nothing.
    pub async fn event_count(&self) -> usize {
        self.store
            .events_after(precinct_domain::ids::EventId(0), 1_000_000)
            .await
            .unwrap()
            .len()
    }

    /// Posts a simple 110 instruction and returns the incident.
    pub async fn instruction(
        &self,
        token: &str,
        external_id: &str,
        category: &str,
        lat: f64,
        lon: f64,
    ) -> Value {
        let (status, body) = self
            .post(
                Some(token),
                "/api/incidents",
                json!({
                    "source": "instruction_110",
                    "external_id": external_id,
                    "category": category,
                    "priority": 2,
                    "location": { "lat": lat, "lon": lon },
                    "summary": format!("test incident {external_id}"),
                    "caller_name": "李先生",
                    "caller_phone": "13800138000",
                }),
            )
            .await;
        assert!(
            status == StatusCode::CREATED || status == StatusCode::OK,
            "{status}: {body}"
        );
        body["incident"].clone()
    }
}

/// A point `east`/`north` metres from a place's location.
pub fn near(place: &Value, east: f64, north: f64) -> (f64, f64) {
    let c = precinct_domain::Coordinates::new(
        place["location"]["lat"].as_f64().unwrap(),
        place["location"]["lon"].as_f64().unwrap(),
    )
    .unwrap()
    .offset_m(east, north);
    (c.lat(), c.lon())
}

/// GET a JSON document with a bearer token, as a client of a spawned binary would.
pub async fn get_json<T: serde::de::DeserializeOwned>(
    client: &reqwest::Client,
    url: &str,
    token: &str,
) -> T {
    client
        .get(url)
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// POST JSON (no token) and read the JSON answer.
pub async fn post_json(client: &reqwest::Client, url: &str, body: &Value) -> Value {
    client
        .post(url)
        .json(body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// The text of a PDF, extracted by poppler's `pdftotext` (installed by
/// `.ci/run`; without it outside CI, the check is skipped with a message).
pub fn pdf_text(pdf: &[u8]) -> Option<String> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.pdf");
    std::fs::write(&path, pdf).unwrap();
    match std::process::Command::new("pdftotext")
        .arg(&path)
        .arg("-")
        .output()
    {
        Ok(out) => {
            assert!(out.status.success(), "pdftotext failed");
            // Lines may wrap anywhere; compare without line breaks.
            Some(String::from_utf8(out.stdout).unwrap().replace('\n', ""))
        }
        Err(_) if std::env::var_os("CI").is_none() => {
            eprintln!("skipped the PDF text check: no pdftotext (apt-get install poppler-utils)");
            None
        }
        Err(e) => panic!("CI needs pdftotext: {e}"),
    }
}
