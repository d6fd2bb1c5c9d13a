//! Accounts: argon2id password hashes, bearer tokens (also accepted from the
//! console's session cookie), and the [`Authed`] extractor every handler uses
//! to require an allowed role.

use crate::AppState;
use crate::dto::{LoginRequest, LoginResponse, UserDto};
use crate::error::{ApiError, ErrorBody};
use crate::extract::JsonBody;
use argon2::Argon2;
use argon2::password_hash::rand_core::{OsRng, RngCore};
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use axum::Json;
use axum::extract::{FromRequestParts, State};
use axum::http::header::{AUTHORIZATION, COOKIE, SET_COOKIE};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use precinct_domain::event::Actor;
use precinct_domain::user::{Role, User, Username};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Name of the console's session cookie.
pub const SESSION_COOKIE: &str = "precinct_session";
/// How long a login lasts.
pub const SESSION_HOURS: i64 = 12;
/// How long a validated token is trusted without asking the store again.
const CACHE_TTL: Duration = Duration::from_secs(10);

/// Hashes a password with argon2id and a fresh salt, as a PHC string.
pub fn hash_password(password: &str) -> Result<String, argon2::password_hash::Error> {
    let salt = SaltString::generate(&mut OsRng);
    Ok(Argon2::default()
        .hash_password(password.as_bytes(), &salt)?
        .to_string())
}

fn verify_password(password: &str, phc: &str) -> bool {
    PasswordHash::new(phc)
        .map(|hash| {
            Argon2::default()
                .verify_password(password.as_bytes(), &hash)
                .is_ok()
        })
        .unwrap_or(false)
}

/// Tokens are stored only as their SHA-256, so a leaked database holds no
/// usable session.
fn token_hash(token: &str) -> String {
    let digest = Sha256::digest(token.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

fn new_token() -> String {
    let mut bytes = [0u8; 32];
    OsRng.fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// A short-lived cache of validated tokens, keyed by token hash.
#[derive(Debug, Default)]
pub struct SessionCache {
    entries: Mutex<HashMap<String, (User, Instant)>>,
}

impl SessionCache {
    fn get(&self, hash: &str) -> Option<User> {
        let entries = self.entries.lock().expect("session cache");
        entries
            .get(hash)
            .filter(|(_, at)| at.elapsed() < CACHE_TTL)
            .map(|(user, _)| user.clone())
    }

    fn put(&self, hash: String, user: User) {
        let mut entries = self.entries.lock().expect("session cache");
        if entries.len() > 10_000 {
            entries.retain(|_, (_, at)| at.elapsed() < CACHE_TTL);
        }
        entries.insert(hash, (user, Instant::now()));
    }

    fn remove(&self, hash: &str) {
        self.entries.lock().expect("session cache").remove(hash);
    }
}

/// The authenticated user of a request.
#[derive(Debug, Clone)]
pub struct Authed(pub User);

impl Authed {
    /// Fails with 403 unless the user has one of `roles`.
    pub fn require(&self, roles: &[Role]) -> Result<&User, ApiError> {
        if roles.contains(&self.0.role) {
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

fn presented_token(headers: &HeaderMap) -> Option<String> {
    if let Some(value) = headers.get(AUTHORIZATION).and_then(|v| v.to_str().ok()) {
        return value.strip_prefix("Bearer ").map(|t| t.trim().to_owned());
    }
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .map(|(_, value)| value.to_owned())
}

impl FromRequestParts<AppState> for Authed {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let token = presented_token(&parts.headers).ok_or_else(ApiError::unauthenticated)?;
        let hash = token_hash(&token);
        if let Some(user) = state.sessions.get(&hash) {
            return Ok(Authed(user));
        }
        let user = state
            .store
            .session_user(hash.clone())
            .await?
            .ok_or_else(ApiError::unauthenticated)?;
        state.sessions.put(hash, user.clone());
        Ok(Authed(user))
    }
}

fn invalid_credentials() -> ApiError {
    ApiError::new(
        StatusCode::UNAUTHORIZED,
        "invalid_credentials",
        "wrong username or password",
        "用户名或密码错误",
    )
}

/// A hash checked when the username is unknown, so both failures take as long.
fn decoy_hash() -> &'static str {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| hash_password("decoy password").expect("hashing works"))
}

#[utoipa::path(
    post, path = "/api/auth/login", operation_id = "login", tag = "auth",
    request_body = LoginRequest,
    responses(
        (status = 200, description = "Logged in; the token also comes as a session cookie", body = LoginResponse),
        (status = 401, description = "Wrong username or password", body = ErrorBody),
    )
)]
pub async fn login(
    State(state): State<AppState>,
    JsonBody(request): JsonBody<LoginRequest>,
) -> Result<Response, ApiError> {
    let username = Username::parse(&request.username).map_err(|_| invalid_credentials())?;
    let credentials = state.store.credentials(&username).await?;
    let (hash, user) = match credentials {
        Some(c) => (c.password_hash, Some(c.user)),
        None => (decoy_hash().to_owned(), None),
    };
    let password = request.password;
    let verified = tokio::task::spawn_blocking(move || verify_password(&password, &hash))
        .await
        .map_err(|_| ApiError::internal())?;
    let user = match (verified, user) {
        (true, Some(user)) => user,
        _ => return Err(invalid_credentials()),
    };
    let token = new_token();
    // Sessions live in real time, whatever clock the station runs on (the demo may run faster).
    let expires_at = chrono::Utc::now() + chrono::Duration::hours(SESSION_HOURS);
    state
        .store
        .create_session(token_hash(&token), user.id, expires_at)
        .await?;
    let cookie = format!(
        "{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}",
        SESSION_HOURS * 3600
    );
    let body = LoginResponse {
        token,
        expires_at,
        user: UserDto::from(&user),
    };
    Ok(([(SET_COOKIE, cookie)], Json(body)).into_response())
}

#[utoipa::path(
    post, path = "/api/auth/logout", operation_id = "logout", tag = "auth",
    responses((status = 204, description = "Logged out"), (status = 401, body = ErrorBody)),
    security(("bearer" = []))
)]
pub async fn logout(
    State(state): State<AppState>,
    _authed: Authed,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    if let Some(token) = presented_token(&headers) {
        let hash = token_hash(&token);
        state.sessions.remove(&hash);
        state.store.delete_session(hash).await?;
    }
    let clear = format!("{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0");
    Ok((StatusCode::NO_CONTENT, [(SET_COOKIE, clear)]).into_response())
}

#[utoipa::path(
    get, path = "/api/me", operation_id = "get_me", tag = "auth",
    responses((status = 200, body = UserDto), (status = 401, body = ErrorBody)),
    security(("bearer" = []))
)]
pub async fn me(authed: Authed) -> Json<UserDto> {
    Json(UserDto::from(&authed.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_argon2id_and_verify() {
        let phc = hash_password("s3cret").unwrap();
        assert!(phc.starts_with("$argon2id$"), "{phc}");
        assert!(verify_password("s3cret", &phc));
        assert!(!verify_password("wrong", &phc));
        assert!(!verify_password("s3cret", "not a hash"));
    }

    #[test]
    fn tokens_come_from_header_or_cookie() {
        let mut headers = HeaderMap::new();
        assert_eq!(presented_token(&headers), None);
        headers.insert(COOKIE, "a=b; precinct_session=tok123; c=d".parse().unwrap());
        assert_eq!(presented_token(&headers).as_deref(), Some("tok123"));
        headers.insert(AUTHORIZATION, "Bearer abc".parse().unwrap());
        assert_eq!(presented_token(&headers).as_deref(), Some("abc"));
        assert_ne!(new_token(), new_token());
        assert_eq!(token_hash("x").len(), 64);
    }
}
