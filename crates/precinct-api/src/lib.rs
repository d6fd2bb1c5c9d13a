//! Precinct's HTTP API: one axum router used by the console, the field view,
//! the 110 centre's integration and every test.
//!
//! Architecture invariants:
//! - Handlers talk to storage only through [`precinct_storage::Store`]; no
//!   driver type reaches this crate.
//! - Every error leaves as [`error::ErrorBody`]: status, stable code, English
//!   and Chinese message. Internals are logged, never sent.
//! - Every endpoint but `/healthz`, `/api/openapi.json` and login requires
//!   a session and an allowed role (`/metrics` also takes a scraper's token).
//! - Request bodies are parsed into domain types here (see [`dto`]); the
//!   store receives only valid values.

// Shared by every feature; they import no feature.
pub mod dto;
pub mod error;
pub mod extract;
pub mod gate;
pub mod heavy;
mod idempotency;
pub mod limits;
pub mod openapi;
pub mod passwords;
mod schema;
pub mod session;

// The features, each a folder declaring its routes (`routes()`).
pub mod accounts;
pub mod disputes;
pub mod figures;
pub mod incidents;
pub mod live;
pub mod operations;
pub mod station;

use axum::Router;
use axum::http::StatusCode;
use precinct_domain::ground::Jurisdiction;
use precinct_domain::plan::{DEFAULT_PLANS, Plans};
use precinct_geo::roads::{RoadNetwork, SearchScratch};
use precinct_storage::{Clock, SharedStore, StoreError};
use std::future::Future;
use std::sync::{Arc, Mutex, RwLock};

pub use passwords::hash_password;
pub use station::package::{
    FirstPasswords, PackageRefusal, StationReport, import_package, validate_package,
};

/// A secret kept out of `Debug` output (and so out of logs).
#[derive(Clone)]
pub(crate) struct Secret(Arc<str>);

impl Secret {
    pub(crate) fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}

/// What every handler shares.
#[derive(Clone, Debug)]
pub struct AppState {
    pub store: SharedStore,
    pub clock: Arc<dyn Clock>,
    ground: Arc<RwLock<Arc<Jurisdiction>>>,
    roads: Arc<RwLock<Arc<RoadNetwork>>>,
    /// The road network's named streets, for address search.
    streets: Arc<precinct_domain::address::StreetIndex>,
    /// The base map's vector tiles, built at start-up and served from memory.
    tiles: Arc<precinct_osm::tiles::TileSet>,
    plans: Arc<Plans>,
    scratches: Arc<Mutex<Vec<SearchScratch>>>,
    /// How old a unit's position may be, by kind, before it is stale.
    pub stale_after: precinct_domain::unit::StaleLimits,
    /// A time zone that overrides the station's own (`serve --time-zone`).
    tz_override: Option<chrono_tz::Tz>,
    cjk_font: Arc<std::sync::OnceLock<Result<precinct_pdf::CjkFont, String>>>,
    /// The city's PMTiles base map, if configured (checked at start-up).
    basemap: Option<Arc<std::path::PathBuf>>,
    sessions: Arc<session::SessionCache>,
    logins: Arc<accounts::login::LoginThrottle>,
    limits: Arc<limits::Limits>,
    streams: Arc<limits::OpenStreams>,
    /// Sessions ended by logout on this instance (token hashes): their open
    /// event streams close at once (other instances' within a recheck).
    ended_sessions: tokio::sync::broadcast::Sender<String>,
    /// Where password hashes are computed (see [`passwords::HashPool`]).
    password_checks: Arc<passwords::HashPool>,
    /// Where uploads are read and checked (see [`heavy`]).
    pub heavy: Arc<heavy::HeavyWork>,
    pub metrics: Arc<operations::metrics::Metrics>,
    /// The bearer token `/metrics` answers to besides an admin's session.
    metrics_token: Option<Secret>,
    /// New incidents, for the recurrence checks (`disputes`).
    recurrence: tokio::sync::mpsc::UnboundedSender<precinct_domain::incident::Incident>,
}

/// An IANA time zone by name, or a message saying what is wrong.
pub fn parse_time_zone(name: &str) -> Result<chrono_tz::Tz, String> {
    name.parse()
        .map_err(|_| format!("unknown time zone {name:?} (use an IANA name such as Asia/Shanghai)"))
}

/// Reads and checks response plans (TOML). Errors say where the problem is.
pub fn load_plans(text: &str) -> Result<Plans, String> {
    let plans: Plans = toml::from_str(text).map_err(|e| e.to_string())?;
    plans.checked().map_err(|e| e.to_string())
}

impl AppState {
    /// Builds the state, loading the station's ground from the store.
    pub async fn new(store: SharedStore, clock: Arc<dyn Clock>) -> Result<AppState, StoreError> {
        let ground = store.jurisdiction().await?;
        let ways = store.roads().await?;
        let roads = RoadNetwork::build(&ways);
        let addresses = store.road_addresses().await?;
        let streets = precinct_domain::address::StreetIndex::build(&ways, &addresses);
        drop(addresses);
        let areas = store.road_areas().await?;
        let tiles =
            tokio::task::spawn_blocking(move || precinct_osm::tiles::TileSet::build(&ways, &areas))
                .await
                .map_err(|e| StoreError::Other(format!("building the base map: {e}")))?;
        let plans = load_plans(DEFAULT_PLANS).expect("the shipped plans are valid");
        let recurrence = precinct_storage::recurrence::spawn_recurrence_checks(store.clone());
        let ground = Arc::new(RwLock::new(Arc::new(ground)));
        let sessions: Arc<session::SessionCache> = Arc::default();
        spawn_ground_reloads(
            store.clone(),
            Arc::downgrade(&ground),
            Arc::downgrade(&sessions),
        );
        Ok(AppState {
            recurrence,
            store,
            clock,
            ground,
            roads: Arc::new(RwLock::new(Arc::new(roads))),
            streets: Arc::new(streets),
            tiles: Arc::new(tiles),
            plans: Arc::new(plans),
            scratches: Arc::default(),
            stale_after: precinct_domain::unit::StaleLimits::default(),
            tz_override: None,
            cjk_font: Arc::default(),
            basemap: None,
            sessions,
            logins: Arc::default(),
            limits: Arc::default(),
            streams: Arc::default(),
            ended_sessions: tokio::sync::broadcast::channel(64).0,
            password_checks: Arc::new(passwords::HashPool::new(
                limits::Limits::default().password_checks,
            )),
            heavy: Arc::new(limits::Limits::default().heavy_work()),
            metrics: Arc::default(),
            metrics_token: None,
        })
    }

    /// Queues a new incident for the recurrence checks (`disputes`).
    pub(crate) fn check_recurrence(&self, incident: precinct_domain::incident::Incident) {
        // The checks end only when every state is dropped.
        let _ = self.recurrence.send(incident);
    }

    /// Uses these abuse limits instead of the defaults.
    pub fn with_limits(mut self, limits: limits::Limits) -> AppState {
        self.logins = Arc::new(accounts::login::LoginThrottle::new(limits.login));
        self.password_checks = Arc::new(passwords::HashPool::new(limits.password_checks));
        self.heavy = Arc::new(limits.heavy_work());
        self.limits = Arc::new(limits);
        self
    }

    /// Ends a session now: its cache entry, its row (with `audit` in the same
    /// transaction), and its open streams (on this instance at once,
    /// elsewhere within a recheck).
    pub(crate) async fn end_session(
        &self,
        hash: &str,
        audit: Option<precinct_storage::AuditEntry>,
    ) -> Result<(), StoreError> {
        self.sessions.remove(hash);
        self.store.delete_session(hash.to_owned(), audit).await?;
        let _ = self.ended_sessions.send(hash.to_owned());
        Ok(())
    }

    /// Writes one audit entry: `user` did `action` to `subject`, now.
    pub(crate) async fn audit(
        &self,
        user: &precinct_domain::user::User,
        action: &str,
        subject: impl Into<String>,
    ) -> Result<(), StoreError> {
        self.store
            .record_audit(self.audit_entry(user, action, subject))
            .await
    }

    /// The audit entry `user` did `action` to `subject`, now: for a write
    /// that records it in its own transaction.
    pub(crate) fn audit_entry(
        &self,
        user: &precinct_domain::user::User,
        action: &str,
        subject: impl Into<String>,
    ) -> precinct_storage::AuditEntry {
        precinct_storage::AuditEntry {
            at: self.clock.now(),
            user_id: Some(user.id),
            username: user.username.as_str().to_owned(),
            action: action.into(),
            subject: subject.into(),
        }
    }

    /// Forgets cached sessions (an account's second factor changed).
    pub(crate) fn forget_session_cache(&self) {
        self.sessions.clear();
    }

    /// Whether `user` must enrol a second factor before anything else.
    pub(crate) fn second_factor_missing(&self, user: &precinct_domain::user::User) -> bool {
        use precinct_domain::user::Role;
        self.limits.second_factor_required
            && matches!(user.role, Role::Admin | Role::Dispatcher)
            && !user.second_factor
    }

    /// The account as the API shows it to its owner.
    pub(crate) fn user_dto(&self, user: &precinct_domain::user::User) -> dto::UserDto {
        dto::UserDto {
            second_factor_enrolment_required: self.second_factor_missing(user),
            ..dto::UserDto::from(user)
        }
    }

    /// The abuse limits in force.
    pub fn limits(&self) -> &limits::Limits {
        &self.limits
    }

    /// Lets a scraper read `/metrics` with `Authorization: Bearer TOKEN`
    /// (otherwise only an administrator's session may).
    pub fn with_metrics_token(mut self, token: &str) -> Result<AppState, String> {
        if token.len() < 16 {
            return Err("the metrics token must have at least 16 characters".into());
        }
        self.metrics_token = Some(Secret(token.into()));
        Ok(self)
    }

    /// Uses the station's own response plans instead of the shipped ones.
    pub fn with_plans(mut self, plans: Plans) -> AppState {
        for code in plans.unknown_codes(&self.ground().category_table()) {
            tracing::warn!(%code, "a response plan names a category the station's code table does not have; it never applies");
        }
        self.plans = Arc::new(plans);
        self
    }

    /// Uses this IANA time zone instead of the station's own (its package's
    /// `station.toml`): an override, for a station whose package says
    /// nothing or says wrong. Errors when `time_zone` is not an IANA name.
    pub fn with_time_zone(mut self, time_zone: &str) -> Result<AppState, String> {
        self.tz_override = Some(parse_time_zone(time_zone)?);
        Ok(self)
    }

    /// The station's time zone: the override when there is one, else the
    /// one its package gave (read afresh, so an import that changes it
    /// takes effect at once), else Asia/Shanghai. Every local time the
    /// server shows, prints or buckets by (console, period edges, series,
    /// hour × weekday, briefing, history's local times) is in this zone.
    pub fn tz(&self) -> chrono_tz::Tz {
        self.tz_override
            .or_else(|| {
                self.ground()
                    .time_zone
                    .as_deref()
                    .and_then(|name| name.parse().ok())
            })
            .unwrap_or(chrono_tz::Asia::Shanghai)
    }

    /// Uses this CJK font for printed documents instead of the system's.
    pub fn with_cjk_font(mut self, path: std::path::PathBuf) -> Result<AppState, String> {
        let font = precinct_pdf::CjkFont::load(&path).map_err(|e| e.to_string())?;
        self.cjk_font = Arc::new(std::sync::OnceLock::from(Ok(font)));
        Ok(self)
    }

    /// The CJK font for printed documents: the one configured, else the
    /// system's (looked for once).
    pub fn cjk_font(&self) -> Result<precinct_pdf::CjkFont, String> {
        self.cjk_font
            .get_or_init(|| precinct_pdf::CjkFont::find(None).map_err(|e| e.to_string()))
            .clone()
    }

    /// Serves this PMTiles file as an extra base layer under the station's
    /// own map. Errors when it is not a PMTiles archive.
    pub fn with_basemap(mut self, path: std::path::PathBuf) -> Result<AppState, String> {
        station::console::check_pmtiles(&path)?;
        self.basemap = Some(Arc::new(path));
        Ok(self)
    }

    pub fn plans(&self) -> Arc<Plans> {
        self.plans.clone()
    }

    /// The base map's tiles.
    pub fn tiles(&self) -> Arc<precinct_osm::tiles::TileSet> {
        self.tiles.clone()
    }

    /// The named streets (address search, reverse geocoding).
    pub fn streets(&self) -> Arc<precinct_domain::address::StreetIndex> {
        self.streets.clone()
    }

    pub fn roads(&self) -> Arc<RoadNetwork> {
        self.roads.read().expect("roads lock").clone()
    }

    /// Runs `work` with a search scratch from the pool (searches reuse memory).
    pub fn with_scratch<T>(&self, work: impl FnOnce(&mut SearchScratch) -> T) -> T {
        let mut scratch = self
            .scratches
            .lock()
            .expect("scratch pool")
            .pop()
            .unwrap_or_default();
        let result = work(&mut scratch);
        let mut pool = self.scratches.lock().expect("scratch pool");
        if pool.len() < 8 {
            pool.push(scratch);
        }
        result
    }

    /// Reads the ground again (after a station package was imported).
    pub async fn reload_ground(&self) -> Result<(), StoreError> {
        let ground = self.store.jurisdiction().await?;
        *self.ground.write().expect("ground lock") = Arc::new(ground);
        Ok(())
    }

    /// The ground as last loaded (read-only and cheap to clone).
    pub fn ground(&self) -> Arc<Jurisdiction> {
        self.ground.read().expect("ground lock").clone()
    }
}

/// Reloads the ground whenever a station package is imported, through this
/// instance or another on the same database; ends with the last state.
/// After an import (on any instance): the ground is read again, and cached
/// sessions are forgotten, as the import may have disabled or demoted
/// accounts (their sessions ended in its transaction).
fn spawn_ground_reloads(
    store: SharedStore,
    ground: std::sync::Weak<RwLock<Arc<Jurisdiction>>>,
    sessions: std::sync::Weak<session::SessionCache>,
) {
    use precinct_domain::event::EventKind;
    use tokio::sync::broadcast::error::RecvError;
    let mut events = store.subscribe();
    tokio::spawn(async move {
        loop {
            match events.recv().await {
                Ok(event) if matches!(event.kind, EventKind::StationImported { .. }) => {}
                Ok(_) => continue,
                // Missed events may have held an import.
                Err(RecvError::Lagged(_)) => {}
                Err(RecvError::Closed) => return,
            }
            if let Some(sessions) = sessions.upgrade() {
                sessions.clear();
            }
            let Some(ground) = ground.upgrade() else {
                return;
            };
            match store.jurisdiction().await {
                Ok(fresh) => *ground.write().expect("ground lock") = Arc::new(fresh),
                Err(error) => tracing::error!(%error, "reloading the ground after an import"),
            }
        }
    });
}

async fn method_not_allowed() -> error::ApiError {
    error::ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "this endpoint does not take that method",
        "该接口不支持此请求方法",
    )
}

/// Every route of the API, each with its document entry and its gate
/// (`crate::gate`): the one declaration the router and the document
/// (`crate::openapi`) are both made from.
pub(crate) fn routes() -> gate::Routes {
    operations::routes()
        .merge(accounts::routes())
        .merge(station::routes())
        .merge(incidents::routes())
        .merge(live::routes())
        .merge(figures::routes())
        .merge(disputes::routes())
}

/// The whole application, ready to serve or to call in-process.
pub fn app(state: AppState) -> Router {
    let (router, _) = routes().split();
    router
        .fallback(station::console::fallback)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::middleware::from_fn_with_state(
            state.limits.clone(),
            limits::body_deadline,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            operations::metrics::track,
        ))
        // The state, for the middleware of single routes (`idempotency`).
        .layer(axum::Extension(state.clone()))
        .with_state(state)
}

/// How long shutdown waits for open connections (event streams never end
/// by themselves) before it stops serving them.
const SHUTDOWN_GRACE: std::time::Duration = std::time::Duration::from_secs(10);

/// Serves the app (HTTP/1.1) until `shutdown` resolves, then lets in-flight
/// requests (and so their writes) finish before returning. A connection
/// that does not send a request's headers within the header timeout is
/// closed (hyper's header read timeout, which `axum::serve` leaves off).
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    use axum::extract::ConnectInfo;
    use hyper_util::rt::{TokioIo, TokioTimer};
    use tower::ServiceExt;

    let header_timeout = state.limits.header_timeout;
    let router = app(state);
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(header_timeout);
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of file descriptors and the like: wait, go on.
                    tracing::warn!(%error, "accepting a connection failed");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        // The peer's address is what the login throttle counts failures by.
        let service = router.clone().map_request(
            move |mut request: axum::http::Request<hyper::body::Incoming>| {
                request.extensions_mut().insert(ConnectInfo(peer));
                request.map(axum::body::Body::new)
            },
        );
        let connection = builder.serve_connection(
            TokioIo::new(limits::JsonParseErrors::new(stream)),
            hyper_util::service::TowerToHyperService::new(service),
        );
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::debug!(%error, "connection ended with an error");
            }
        });
    }
    drop(listener);
    if tokio::time::timeout(SHUTDOWN_GRACE, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("connections still open after the shutdown grace period; closing them");
    }
    Ok(())
}

#[cfg(test)]
mod layering {
    /// The features, each a folder of its own.
    const FEATURES: &[&str] = &[
        "accounts",
        "disputes",
        "figures",
        "incidents",
        "live",
        "operations",
        "station",
    ];
    /// What each feature may import besides the shared modules.
    const FEATURE_IMPORTS: &[(&str, &[&str])] =
        &[("accounts", &["station"]), ("live", &["incidents"])];

    fn imports(text: &str) -> std::collections::BTreeSet<String> {
        text.split("crate::")
            .skip(1)
            .map(|rest| {
                rest.chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect()
            })
            .collect()
    }

    /// Shared modules import no feature, and a feature imports only the
    /// features ARCHITECTURE.md's table lets it (so there is no circle).
    #[test]
    fn shared_modules_import_no_feature_and_features_import_one_way() {
        let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut wrong = Vec::new();
        for entry in std::fs::read_dir(&src).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_stem().unwrap().to_str().unwrap().to_owned();
            let files: Vec<std::path::PathBuf> = if path.is_dir() {
                std::fs::read_dir(&path)
                    .unwrap()
                    .map(|e| e.unwrap().path())
                    .collect()
            } else {
                vec![path.clone()]
            };
            let allowed: &[&str] = if name == "lib" {
                FEATURES
            } else if FEATURES.contains(&name.as_str()) {
                FEATURE_IMPORTS
                    .iter()
                    .find(|(feature, _)| *feature == name)
                    .map_or(&[], |(_, allowed)| allowed)
            } else {
                &[]
            };
            for file in files {
                let text = std::fs::read_to_string(&file).unwrap();
                for import in imports(&text) {
                    if import != name
                        && FEATURES.contains(&import.as_str())
                        && !allowed.contains(&import.as_str())
                    {
                        wrong.push(format!("{} imports {import}", file.display()));
                    }
                }
            }
        }
        assert!(wrong.is_empty(), "{wrong:#?}");
    }
}
