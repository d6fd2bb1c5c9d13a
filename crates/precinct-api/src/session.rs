//! Sessions: bearer tokens (also accepted from the console's session
//! cookie), the short-lived cache of validated sessions, and the [`Authed`]
//! extractor every handler uses. It applies the route's [`Gate`], declared
//! with the route (`crate::gate`), before any handler runs.

use crate::AppState;
use crate::error::ApiError;
use crate::gate::Gate;
use argon2::password_hash::rand_core::{OsRng, RngCore};
use axum::extract::FromRequestParts;
use axum::http::HeaderMap;
use axum::http::StatusCode;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use axum_extra::extract::cookie::CookieJar;
use base64::Engine;
use precinct_domain::event::Actor;
use precinct_domain::policy::{self, Action};
use precinct_domain::user::User;
use precinct_storage::Session;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Name of the console's session cookie.
pub const SESSION_COOKIE: &str = "precinct_session";
/// How long a validated token is trusted without asking the store again.
const CACHE_TTL: Duration = Duration::from_secs(10);
/// Tokens are stored only as their SHA-256, so a leaked database holds no
/// usable session.
pub(crate) fn token_hash(token: &str) -> String {
    let digest = Sha256::digest(token.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

pub(crate) fn new_token() -> String {
    let mut bytes = [0u8; 32];
    OsRng.fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// A short-lived cache of validated sessions, keyed by token hash.
#[derive(Debug, Default)]
pub struct SessionCache {
    entries: Mutex<HashMap<String, (Session, Instant)>>,
}

impl SessionCache {
    pub(crate) fn get(&self, hash: &str) -> Option<Session> {
        let entries = self.entries.lock().expect("session cache");
        entries
            .get(hash)
            .filter(|(_, at)| at.elapsed() < CACHE_TTL)
            .map(|(session, _)| session.clone())
    }

    pub(crate) fn put(&self, hash: String, session: Session) {
        let mut entries = self.entries.lock().expect("session cache");
        if entries.len() > 10_000 {
            entries.retain(|_, (_, at)| at.elapsed() < CACHE_TTL);
        }
        entries.insert(hash, (session, Instant::now()));
    }

    pub(crate) fn remove(&self, hash: &str) {
        self.entries.lock().expect("session cache").remove(hash);
    }

    /// Forgets every cached session (an account changed).
    pub(crate) fn clear(&self) {
        self.entries.lock().expect("session cache").clear();
    }
}

pub(crate) fn cookie_value(headers: &HeaderMap, name: &str) -> Option<String> {
    CookieJar::from_headers(headers)
        .get(name)
        .map(|cookie| cookie.value().to_owned())
}

/// The authenticated user of a request.
#[derive(Debug, Clone)]
pub struct Authed(pub User);

impl Authed {
    /// The user, if the policy lets their role do `action` at all (403
    /// otherwise); the handler then asks about the object itself.
    pub fn may(&self, action: Action) -> Result<&User, ApiError> {
        if policy::may_ever(self.0.role, action) {
            Ok(&self.0)
        } else {
            Err(ApiError::forbidden())
        }
    }

    /// The user, if the policy lets them do `action` holding `held`
    /// relations to the object (403 otherwise).
    pub fn may_on(&self, action: Action, held: &[policy::Relation]) -> Result<&User, ApiError> {
        if policy::allows(self.0.role, action, held) {
            Ok(&self.0)
        } else {
            Err(ApiError::forbidden())
        }
    }

    pub fn actor(&self) -> Actor {
        Actor {
            user_id: Some(self.0.id),
            name: self.0.display_name.clone(),
        }
    }
}

pub(crate) fn presented_token(headers: &HeaderMap) -> Option<String> {
    if let Some(value) = headers.get(AUTHORIZATION).and_then(|v| v.to_str().ok()) {
        return value.strip_prefix("Bearer ").map(|t| t.trim().to_owned());
    }
    cookie_value(headers, SESSION_COOKIE)
}

/// A change made with the session cookie must come from the console's own
/// pages: the browser says so with `Origin` (or `Sec-Fetch-Site`) on every
/// non-GET request. SameSite=Strict already keeps the cookie off other
/// sites' requests; this is the second lock, for bodiless POSTs (logout, task
/// accept) that no JSON content type protects. Bearer tokens are not sent by
/// browsers on their own and need no such check.
fn same_origin(parts: &Parts) -> bool {
    if matches!(
        parts.method,
        axum::http::Method::GET | axum::http::Method::HEAD
    ) {
        return true;
    }
    let header = |name: &str| parts.headers.get(name).and_then(|v| v.to_str().ok());
    if let Some(site) = header("sec-fetch-site") {
        return site == "same-origin";
    }
    match (header("origin"), header("host")) {
        (Some(origin), Some(host)) => origin
            .split_once("://")
            .is_some_and(|(_, authority)| authority.eq_ignore_ascii_case(host)),
        _ => false,
    }
}

/// The request reached a proxy over HTTPS (`X-Forwarded-Proto: https`, or
/// the standard `Forwarded: proto=https`).
pub(crate) fn behind_tls(headers: &HeaderMap) -> bool {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    header("x-forwarded-proto").is_some_and(|p| p.eq_ignore_ascii_case("https"))
        || header("forwarded").is_some_and(|f| f.to_ascii_lowercase().contains("proto=https"))
}

fn by_bearer(headers: &HeaderMap) -> bool {
    headers.contains_key(AUTHORIZATION)
}

/// A session's last use is written at most this often.
const TOUCH_EVERY: chrono::TimeDelta = chrono::TimeDelta::seconds(60);

impl FromRequestParts<AppState> for Authed {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        // The route's gate (crate::gate), declared with the route.
        let Some(gate) = parts.extensions.get::<Gate>().copied() else {
            tracing::error!(
                path = parts.uri.path(),
                "a route without a gate (crate::gate::Routes)"
            );
            return Err(ApiError::internal());
        };
        let token = presented_token(&parts.headers).ok_or_else(ApiError::unauthenticated)?;
        if !by_bearer(&parts.headers) && !same_origin(parts) {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "cross_site_request",
                "a change made with the session cookie must come from Precinct's own pages",
                "会话 Cookie 的修改请求须来自本系统页面",
            ));
        }
        let hash = token_hash(&token);
        let mut session = match state.sessions.get(&hash) {
            Some(session) => session,
            None => {
                let session = state
                    .store
                    .session_user(hash.clone())
                    .await?
                    .ok_or_else(ApiError::unauthenticated)?;
                state.sessions.put(hash.clone(), session.clone());
                session
            }
        };
        // Sessions live in real time, whatever clock the station runs on.
        let now = chrono::Utc::now();
        if let Some(idle) = state.limits.idle_limit(session.user.role)
            && now - session.last_seen_at > idle
        {
            state.end_session(&hash, None).await?;
            return Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                "session_expired",
                "the session ended after a time without use; log in again",
                "长时间未操作，会话已结束，请重新登录",
            ));
        }
        // Marked at most every minute (a quarter of a shorter idle limit).
        let touch_every = state
            .limits
            .idle_limit(session.user.role)
            .map_or(TOUCH_EVERY, |idle| (idle / 4).min(TOUCH_EVERY));
        if now - session.last_seen_at > touch_every {
            // Best effort: a request does not fail because its session's
            // last use could not be written (a full disk says so elsewhere).
            match state.store.touch_session(hash.clone(), now).await {
                Ok(()) => {
                    session.last_seen_at = now;
                    state.sessions.put(hash, session.clone());
                }
                Err(error) => tracing::warn!(%error, "could not mark a session used"),
            }
        }
        let user = session.user;
        if user.must_change_password && !gate.open_before_password() {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "password_change_required",
                "set your own password first (POST /api/auth/password)",
                "请先修改初始密码",
            ));
        }
        if state.second_factor_missing(&user) && !gate.open_before_second_factor() {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "second_factor_enrolment_required",
                "this role needs a second factor: enrol one (POST /api/auth/totp/enrol, then /api/auth/totp/confirm)",
                "该角色须绑定动态口令（双因素认证）后才能使用",
            ));
        }
        // A role that may never do the route's action is refused before
        // the handler runs.
        if let Some(action) = gate.action()
            && !policy::may_ever(user.role, action)
        {
            return Err(ApiError::forbidden());
        }
        Ok(Authed(user))
    }
}
