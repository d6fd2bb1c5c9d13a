//! Accounts: argon2id password hashes, bearer tokens (also accepted from the
//! console's session cookie), and the [`Authed`] extractor every handler uses
//! to require an allowed role.

use crate::AppState;
use crate::dto::{ChangePasswordRequest, LoginRequest, LoginResponse, UserDto};
use crate::error::{ApiError, ErrorBody};
use crate::extract::JsonBody;
use crate::limits::LoginLimits;
use crate::passwords::{hash_password, verify_password};
use crate::session::{
    Authed, SESSION_COOKIE, behind_tls, cookie_value, new_token, presented_token, token_hash,
};
use argon2::password_hash::rand_core::{OsRng, RngCore};
use axum::Extension;
use axum::Json;
use axum::extract::{ConnectInfo, State};
use axum::http::header::{RETRY_AFTER, SET_COOKIE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use base64::Engine;
use precinct_domain::user::{User, Username};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long a device stays known after its last login.
pub const DEVICE_DAYS: i64 = 365;

/// Password guessing, slowed down. Failed logins are counted in budgets:
///
/// - per username and client address (the *pair*): [`LoginLimits::free_failures`]
///   free, then each further failure closes the pair for a cool-down that
///   doubles with every failure (1 s, 2 s, 4 s … up to `max_cool_down`);
/// - per client address, over all usernames (password spraying), and per
///   username, over all addresses (a guesser with many addresses): larger
///   free budgets, the same doubling cool-downs.
///
/// A login from a **known device** (one that presents the device token an
/// earlier successful login of this account gave it) is counted in that
/// device's own budget instead of all three: a guesser on the same address
/// (a station's NAT) or guessing the same username does not lock a user out
/// of their own correct password.
///
/// During a cool-down attempts get 429 without a password check. A success
/// clears the pair (or device) budget; the shared budgets are only forgotten
/// `forget_after` the last failure, so logging into one's own account does
/// not buy a guesser more tries. Attempts in flight count as failures until
/// they end, so a burst of parallel guesses gets no more tries than a
/// sequence: an attempt that might be the deciding one waits (a few seconds
/// at most) for those in flight, so simultaneous correct logins all succeed
/// instead of being refused. Kept in memory, per instance, in real time
/// (whatever clock the station runs on).
///
/// The address is the TCP peer's: behind a reverse proxy every client has
/// the proxy's, and the pair is then per username.
#[derive(Debug, Default)]
pub struct LoginThrottle {
    limits: LoginLimits,
    entries: Mutex<HashMap<Budget, Failures>>,
    /// Signalled whenever an attempt ends: waiting attempts look again.
    ended: tokio::sync::Notify,
    /// Attempts waiting for others to end, over all budgets.
    waiting: std::sync::atomic::AtomicUsize,
}

/// Budgets tracked at most; when full, the least recently active is dropped.
const MAX_TRACKED: usize = 10_000;
/// Attempts that may wait for others at once; beyond, they get 429.
const MAX_WAITING: usize = 1024;
/// How long an attempt waits for those in flight before it gets 429.
const MAX_WAIT: Duration = Duration::from_secs(10);

/// What a failed login is counted against.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Budget {
    Pair(String, Option<std::net::IpAddr>),
    Device(String, String),
    Address(std::net::IpAddr),
    Username(String),
}

#[derive(Debug, Clone, Copy)]
struct Failures {
    failed: u32,
    in_flight: u32,
    last: Instant,
    closed_until: Option<Instant>,
}

/// Why an attempt is not admitted now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Refusal {
    /// Cooling down: come back after this long.
    Closed(Duration),
    /// An attempt in flight may be the deciding failure: wait for it.
    Busy,
}

impl LoginThrottle {
    pub fn new(limits: LoginLimits) -> LoginThrottle {
        LoginThrottle {
            limits,
            ..LoginThrottle::default()
        }
    }

    /// The budgets an attempt counts against: its device's alone when it
    /// comes from a known device, else its pair's, its address's and its
    /// username's.
    fn budgets(
        username: &str,
        address: Option<std::net::IpAddr>,
        device: Option<String>,
    ) -> Vec<Budget> {
        match device {
            Some(device) => vec![Budget::Device(username.to_owned(), device)],
            None => {
                let mut budgets = vec![
                    Budget::Pair(username.to_owned(), address),
                    Budget::Username(username.to_owned()),
                ];
                budgets.extend(address.map(Budget::Address));
                budgets
            }
        }
    }

    fn free(&self, budget: &Budget) -> u32 {
        match budget {
            Budget::Pair(..) | Budget::Device(..) => self.limits.free_failures,
            Budget::Address(_) => self.limits.address_free_failures,
            Budget::Username(_) => self.limits.username_free_failures,
        }
    }

    /// Admits an attempt, or says how long to wait. The attempt counts as in
    /// flight until it is finished (or dropped, when the client goes away).
    async fn begin(&self, budgets: Vec<Budget>) -> Result<Attempt<'_>, Duration> {
        let deadline = Instant::now() + MAX_WAIT;
        loop {
            let ended = self.ended.notified();
            tokio::pin!(ended);
            ended.as_mut().enable();
            match self.admit(&budgets, Instant::now()) {
                Ok(()) => {
                    return Ok(Attempt {
                        throttle: self,
                        budgets,
                        finished: false,
                    });
                }
                Err(Refusal::Closed(wait)) => return Err(wait),
                Err(Refusal::Busy) => {
                    let now = Instant::now();
                    let waiting = &self.waiting;
                    if now >= deadline
                        || waiting.fetch_add(1, std::sync::atomic::Ordering::SeqCst) >= MAX_WAITING
                    {
                        if now < deadline {
                            waiting.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
                        }
                        return Err(Duration::from_secs(1));
                    }
                    let _ = tokio::time::timeout(deadline - now, ended).await;
                    waiting.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
                }
            }
        }
    }

    fn admit(&self, budgets: &[Budget], now: Instant) -> Result<(), Refusal> {
        let mut entries = self.entries.lock().expect("login throttle");
        let forget_after = self.limits.forget_after;
        let mut refusal: Option<Refusal> = None;
        for budget in budgets {
            let Some(f) = entries.get(budget) else {
                continue;
            };
            if now.duration_since(f.last) >= forget_after && f.in_flight == 0 {
                entries.remove(budget);
                continue;
            }
            if let Some(until) = f.closed_until.filter(|until| *until > now) {
                let wait = until - now;
                refusal = Some(match refusal {
                    Some(Refusal::Closed(other)) => Refusal::Closed(other.max(wait)),
                    _ => Refusal::Closed(wait),
                });
            } else if f.failed + f.in_flight >= self.free(budget) && f.in_flight > 0 {
                // Another attempt may yet fail and start a cool-down. For
                // one user's own budget, wait for it; a shared budget this
                // close to its end is a storm: come back in a second.
                let own = matches!(budget, Budget::Pair(..) | Budget::Device(..));
                let this = if own {
                    Refusal::Busy
                } else {
                    Refusal::Closed(Duration::from_secs(1))
                };
                refusal = Some(match refusal {
                    Some(closed @ Refusal::Closed(_)) => closed,
                    _ => this,
                });
            }
        }
        if let Some(refusal) = refusal {
            return Err(refusal);
        }
        for budget in budgets {
            if !entries.contains_key(budget) && entries.len() >= MAX_TRACKED {
                entries.retain(|_, f| f.in_flight > 0 || now.duration_since(f.last) < forget_after);
                if entries.len() >= MAX_TRACKED
                    && let Some(oldest) = entries
                        .iter()
                        .filter(|(_, f)| f.in_flight == 0)
                        .min_by_key(|(_, f)| f.last)
                        .map(|(k, _)| k.clone())
                {
                    entries.remove(&oldest);
                }
            }
            let f = entries.entry(budget.clone()).or_insert(Failures {
                failed: 0,
                in_flight: 0,
                last: now,
                closed_until: None,
            });
            f.in_flight += 1;
            f.last = now;
        }
        Ok(())
    }

    /// Ends an admitted attempt: a success clears the user's own budget, a
    /// failure counts in every budget, an attempt that could not be checked
    /// (a store error, a client gone) only leaves.
    fn end(&self, budgets: &[Budget], outcome: Outcome, now: Instant) {
        {
            let mut entries = self.entries.lock().expect("login throttle");
            for budget in budgets {
                let free = self.free(budget);
                let Some(f) = entries.get_mut(budget) else {
                    continue;
                };
                f.in_flight = f.in_flight.saturating_sub(1);
                let own = matches!(budget, Budget::Pair(..) | Budget::Device(..));
                match outcome {
                    Outcome::Unchecked => {}
                    Outcome::Succeeded if !own => {}
                    Outcome::Succeeded if f.in_flight == 0 => {
                        entries.remove(budget);
                    }
                    Outcome::Succeeded => {
                        f.failed = 0;
                        f.closed_until = None;
                    }
                    Outcome::Failed => {
                        f.failed += 1;
                        f.last = now;
                        if f.failed >= free {
                            let doublings = (f.failed - free).min(16);
                            let cool_down = Duration::from_secs(1u64 << doublings)
                                .min(self.limits.max_cool_down);
                            f.closed_until = Some(now + cool_down);
                        }
                    }
                }
            }
        }
        self.ended.notify_waiters();
    }
}

/// How an admitted login attempt ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Succeeded,
    Failed,
    Unchecked,
}

/// A login attempt admitted by the [`LoginThrottle`].
struct Attempt<'t> {
    throttle: &'t LoginThrottle,
    budgets: Vec<Budget>,
    finished: bool,
}

impl Attempt<'_> {
    fn finish(mut self, outcome: Outcome) {
        self.finished = true;
        self.throttle.end(&self.budgets, outcome, Instant::now());
    }
}

impl Drop for Attempt<'_> {
    fn drop(&mut self) {
        if !self.finished {
            self.throttle
                .end(&self.budgets, Outcome::Unchecked, Instant::now());
        }
    }
}

/// Name of the cookie that marks a browser as a known device of an account.
pub const DEVICE_COOKIE: &str = "precinct_device";

/// A device token: a random nonce and a MAC of it over the account's
/// current password hash. Any instance can check it without storing
/// anything, and a password change makes every earlier one invalid.
fn device_token(username: &str, password_hash: &str) -> String {
    let mut nonce = [0u8; 16];
    OsRng.fill_bytes(&mut nonce);
    let nonce = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(nonce);
    let mac = device_mac(username, &nonce, password_hash);
    format!("{nonce}.{mac}")
}

fn device_mac(username: &str, nonce: &str, password_hash: &str) -> String {
    let mut hasher = Sha256::new();
    for part in ["precinct device v1", username, nonce, password_hash] {
        hasher.update(part.as_bytes());
        hasher.update([0]);
    }
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(hasher.finalize())
}

/// The device's nonce, when `token` is a device token this account gave out.
fn known_device(token: &str, username: &str, password_hash: &str) -> Option<String> {
    let (nonce, mac) = token.split_once('.')?;
    let expected = device_mac(username, nonce, password_hash);
    let same = expected.len() == mac.len()
        && expected
            .bytes()
            .zip(mac.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0;
    same.then(|| nonce.to_owned())
}

/// An HttpOnly, SameSite=Strict cookie of the API (Secure behind TLS).
fn api_cookie(
    name: &'static str,
    value: String,
    path: &'static str,
    max_age_seconds: i64,
    secure: bool,
) -> Cookie<'static> {
    Cookie::build((name, value))
        .path(path)
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(secure)
        .max_age(cookie::time::Duration::seconds(max_age_seconds))
        .build()
}

fn too_many_attempts(wait: Duration) -> Response {
    // Whole seconds, rounded up: a client that waits this long is admitted.
    let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    let mut response = ApiError::new(
        StatusCode::TOO_MANY_REQUESTS,
        "too_many_attempts",
        format!("too many failed logins; try again in {seconds} s"),
        format!("登录失败次数过多,请在 {seconds} 秒后重试"),
    )
    .into_response();
    response
        .headers_mut()
        .insert(RETRY_AFTER, HeaderValue::from(seconds));
    response
}

fn invalid_credentials() -> ApiError {
    ApiError::new(
        StatusCode::UNAUTHORIZED,
        "invalid_credentials",
        "wrong username, password or code (an account with an authenticator app needs its code too)",
        "用户名、密码或动态口令错误（已绑定动态口令的账号须同时输入口令）",
    )
}

/// A hash checked when the username is unknown, so both failures take as long.
fn decoy_hash() -> &'static str {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| hash_password("decoy password").expect("hashing works"))
}

/// The user, when `password` is theirs. An unknown username costs the same
/// hash check as a known one, so timing does not tell them apart.
async fn check_password(
    state: &AppState,
    username: &Username,
    password: String,
) -> Result<Option<User>, ApiError> {
    let credentials = state.store.credentials(username).await?;
    check_credentials(state, credentials, password).await
}

/// As [`check_password`], with the account's credentials already read.
async fn check_credentials(
    state: &AppState,
    credentials: Option<precinct_storage::Credentials>,
    password: String,
) -> Result<Option<User>, ApiError> {
    let (hash, user) = match credentials {
        Some(c) => (c.password_hash, Some(c.user)),
        None => (decoy_hash().to_owned(), None),
    };
    let verified = state
        .password_checks
        .run(move || verify_password(&password, &hash))
        .await?;
    // A disabled account fails like a wrong password: the answer does not
    // tell a guesser which usernames exist.
    Ok(user.filter(|u| verified && !u.disabled))
}

#[utoipa::path(
    post, path = "/api/auth/login", operation_id = "login", tag = "auth",
    request_body = LoginRequest,
    responses(
        (status = 200, description = "Logged in; the token also comes as a session cookie", body = LoginResponse),
        (status = 401, description = "Wrong username, password or second factor, or a second factor missing (`invalid_credentials`: the same answer for each, so it confirms no password)", body = ErrorBody),
        (status = 429, description = "Too many failed logins for this username from this address; wait the seconds the Retry-After header gives", body = ErrorBody),
    )
)]
pub async fn login(
    State(state): State<AppState>,
    peer: Option<Extension<ConnectInfo<std::net::SocketAddr>>>,
    headers: HeaderMap,
    JsonBody(request): JsonBody<LoginRequest>,
) -> Result<Response, ApiError> {
    let username = Username::parse(&request.username).map_err(|_| invalid_credentials())?;
    let credentials = state.store.credentials(&username).await?;
    // A device this account logged in from before has a budget of its own.
    let device = request
        .device_token
        .clone()
        .or_else(|| cookie_value(&headers, DEVICE_COOKIE))
        .zip(credentials.as_ref())
        .and_then(|(token, c)| known_device(&token, username.as_str(), &c.password_hash));
    let address = peer.map(|Extension(ConnectInfo(address))| address.ip());
    let budgets = LoginThrottle::budgets(username.as_str(), address, device);
    let attempt = match state.logins.begin(budgets).await {
        Ok(attempt) => attempt,
        Err(wait) => {
            tracing::warn!(
                username = username.as_str(),
                "login refused: too many failed attempts"
            );
            return Ok(too_many_attempts(wait));
        }
    };
    let password_hash = credentials.as_ref().map(|c| c.password_hash.clone());
    let checked = check_credentials(&state, credentials, request.password).await;
    // An account with a second factor needs its code (or a recovery code)
    // too. A right password without one is answered as a wrong password
    // (and counted as a failure): the answer must not confirm the password.
    let checked = match checked {
        Ok(Some(user)) if user.second_factor => {
            let totp_code = request
                .totp_code
                .as_deref()
                .filter(|c| !c.trim().is_empty());
            let recovery = request
                .recovery_code
                .as_deref()
                .filter(|c| !c.trim().is_empty());
            if totp_code.is_none() && recovery.is_none() {
                Ok(None)
            } else {
                match crate::accounts::second_factor::prove(&state, &user, totp_code, recovery)
                    .await
                {
                    Ok(true) => Ok(Some(user)),
                    Ok(false) => Ok(None),
                    Err(error) => Err(error),
                }
            }
        }
        other => other,
    };
    attempt.finish(match &checked {
        Ok(Some(_)) => Outcome::Succeeded,
        Ok(None) => Outcome::Failed,
        Err(_) => Outcome::Unchecked,
    });
    let checked = checked?;
    // Every checked login, good or bad, is in the audit log (those refused
    // by the throttle are not: they cost nothing and would flood it).
    let from = address.map_or_else(
        || "from an unknown address".to_owned(),
        |a| format!("from {a}"),
    );
    state
        .store
        .record_audit(precinct_storage::AuditEntry {
            at: state.clock.now(),
            user_id: checked.as_ref().map(|u| u.id),
            username: username.as_str().to_owned(),
            action: if checked.is_some() {
                "login"
            } else {
                "login_failed"
            }
            .into(),
            subject: from,
        })
        .await?;
    let user = checked.ok_or_else(invalid_credentials)?;
    let token = new_token();
    // Sessions live in real time, whatever clock the station runs on (the demo may run faster).
    let expires_at = chrono::Utc::now() + state.limits.session_lifetime;
    state
        .store
        .create_session(
            token_hash(&token),
            user.id,
            expires_at,
            address.map(|a| a.to_string()),
        )
        .await?;
    // Behind a TLS-terminating proxy the cookie is marked Secure, so it
    // never travels in the clear.
    let secure = behind_tls(&headers);
    let cookie = api_cookie(
        SESSION_COOKIE,
        token.clone(),
        "/",
        state.limits.session_lifetime.num_seconds(),
        secure,
    );
    let device_token = device_token(
        user.username.as_str(),
        password_hash.as_deref().unwrap_or_default(),
    );
    let device_cookie = api_cookie(
        DEVICE_COOKIE,
        device_token.clone(),
        "/api/auth",
        DEVICE_DAYS * 24 * 3600,
        secure,
    );
    let body = LoginResponse {
        token,
        expires_at,
        user: state.user_dto(&user),
        device_token,
    };
    // The session cookie first, then the device's (in this order, always).
    let mut response = Json(body).into_response();
    for cookie in [cookie, device_cookie] {
        if let Ok(value) = HeaderValue::from_str(&cookie.to_string()) {
            response.headers_mut().append(SET_COOKIE, value);
        }
    }
    Ok(response)
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
        state.end_session(&token_hash(&token), None).await?;
    }
    let clear = api_cookie(SESSION_COOKIE, String::new(), "/", 0, behind_tls(&headers));
    Ok((StatusCode::NO_CONTENT, CookieJar::new().add(clear)).into_response())
}

#[utoipa::path(
    get, path = "/api/me", operation_id = "get_me", tag = "auth",
    responses((status = 200, body = UserDto), (status = 401, body = ErrorBody)),
    security(("bearer" = []))
)]
pub async fn me(State(state): State<AppState>, authed: Authed) -> Json<UserDto> {
    Json(state.user_dto(&authed.0))
}

/// The shortest password an account may set.
pub const MIN_PASSWORD_CHARS: usize = 10;

#[utoipa::path(
    post, path = "/api/auth/password", operation_id = "change_password", tag = "auth",
    request_body = ChangePasswordRequest,
    responses(
        (status = 204, description = "Changed; the session goes on"),
        (status = 401, description = "Not logged in, or the current password is wrong", body = ErrorBody),
        (status = 422, description = "The new password is too short or the same as the current one", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn change_password(
    State(state): State<AppState>,
    authed: Authed,
    headers: HeaderMap,
    JsonBody(request): JsonBody<ChangePasswordRequest>,
) -> Result<StatusCode, ApiError> {
    let user = authed.0;
    if request.new_password.chars().count() < MIN_PASSWORD_CHARS
        || request.new_password.chars().count() > 256
    {
        return Err(ApiError::unprocessable(
            "invalid_field",
            format!("new_password must have {MIN_PASSWORD_CHARS} to 256 characters"),
            format!("新密码须为 {MIN_PASSWORD_CHARS} 到 256 个字符"),
        ));
    }
    if request.new_password == request.current_password {
        return Err(ApiError::unprocessable(
            "invalid_field",
            "new_password must differ from the current one",
            "新密码不能与当前密码相同",
        ));
    }
    if check_password(&state, &user.username, request.current_password)
        .await?
        .is_none()
    {
        return Err(invalid_credentials());
    }
    let new_password = request.new_password;
    let hash = state
        .password_checks
        .run(move || hash_password(&new_password))
        .await?
        .map_err(|_| ApiError::internal())?;
    let entry = state.audit_entry(
        &user,
        "change_password",
        format!("user {}", user.username.as_str()),
    );
    state
        .store
        .set_password(user.id, hash, false, Some(entry))
        .await?;
    if let Some(token) = presented_token(&headers) {
        state.sessions.remove(&token_hash(&token));
    }
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::passwords::{ONE_TIME_ALPHABET, hash_one_time_password, new_one_time_password};
    use axum::http::header::AUTHORIZATION;

    #[test]
    fn one_time_passwords_verify_and_are_readable() {
        let password = new_one_time_password();
        assert_eq!(password.len(), 14, "{password}");
        assert!(
            password
                .chars()
                .all(|c| c == '-' || ONE_TIME_ALPHABET.contains(&(c as u8)))
        );
        let hash = hash_one_time_password(&password);
        assert!(hash.starts_with("$argon2id$"), "{hash}");
        assert!(verify_password(&password, &hash));
        assert!(!verify_password("ABCD-EFGH-JKMN", &hash));
        assert_ne!(new_one_time_password(), password);
    }

    const FREE: u32 = 5;

    fn key(username: &str, address: [u8; 4]) -> Vec<Budget> {
        LoginThrottle::budgets(username, Some(std::net::IpAddr::from(address)), None)
    }

    /// One attempt, begun and ended at `now`.
    fn attempt(
        throttle: &LoginThrottle,
        key: &[Budget],
        outcome: Outcome,
        now: Instant,
    ) -> Result<(), Refusal> {
        throttle.admit(key, now)?;
        throttle.end(key, outcome, now);
        Ok(())
    }

    fn closed(seconds: u64) -> Result<(), Refusal> {
        Err(Refusal::Closed(Duration::from_secs(seconds)))
    }

    fn wait(refusal: Result<(), Refusal>) -> Duration {
        match refusal {
            Err(Refusal::Closed(wait)) => wait,
            other => panic!("expected a cool-down, got {other:?}"),
        }
    }

    #[test]
    fn failures_beyond_the_free_ones_close_the_pair_for_a_doubling_cool_down() {
        let throttle = LoginThrottle::default();
        let dispatcher = key("dispatcher", [10, 0, 0, 7]);
        let t0 = Instant::now();
        for _ in 0..FREE {
            attempt(&throttle, &dispatcher, Outcome::Failed, t0).unwrap();
        }
        assert_eq!(throttle.admit(&dispatcher, t0), closed(1));
        // The same username from another address, and another username from
        // this one, are not held up.
        attempt(
            &throttle,
            &key("dispatcher", [10, 0, 0, 8]),
            Outcome::Failed,
            t0,
        )
        .unwrap();
        attempt(
            &throttle,
            &key("analyst", [10, 0, 0, 7]),
            Outcome::Failed,
            t0,
        )
        .unwrap();
        // Each further failure doubles the wait, up to the cap.
        let mut now = t0;
        let mut waits = Vec::new();
        for _ in 0..12 {
            now += wait(throttle.admit(&dispatcher, now));
            attempt(&throttle, &dispatcher, Outcome::Failed, now).unwrap();
            waits.push(wait(throttle.admit(&dispatcher, now)).as_secs());
        }
        assert_eq!(waits, [2, 4, 8, 16, 32, 64, 128, 256, 300, 300, 300, 300]);
        // A success clears the pair's count.
        now += wait(throttle.admit(&dispatcher, now));
        attempt(&throttle, &dispatcher, Outcome::Succeeded, now).unwrap();
        for _ in 0..FREE {
            attempt(&throttle, &dispatcher, Outcome::Failed, now).unwrap();
        }
        assert!(throttle.admit(&dispatcher, now).is_err());
        // Failures are forgotten in time.
        let later = now + LoginLimits::default().forget_after;
        attempt(&throttle, &dispatcher, Outcome::Failed, later).unwrap();
        attempt(&throttle, &dispatcher, Outcome::Failed, later).unwrap();
    }

    #[test]
    fn an_address_spraying_many_usernames_and_a_username_guessed_from_many_addresses_cool_down() {
        let limits = LoginLimits {
            address_free_failures: 20,
            username_free_failures: 10,
            ..LoginLimits::default()
        };
        let throttle = LoginThrottle::new(limits);
        let now = Instant::now();
        for n in 0..20 {
            attempt(
                &throttle,
                &key(&format!("user{n}"), [10, 0, 0, 9]),
                Outcome::Failed,
                now,
            )
            .unwrap();
        }
        assert_eq!(throttle.admit(&key("other", [10, 0, 0, 9]), now), closed(1));
        for n in 0..10u8 {
            attempt(
                &throttle,
                &key("analyst", [10, 1, 0, n]),
                Outcome::Failed,
                now,
            )
            .unwrap();
        }
        assert_eq!(
            throttle.admit(&key("analyst", [10, 2, 0, 1]), now),
            closed(1)
        );
        // A success of the user does not buy the guessers more tries.
        let device = LoginThrottle::budgets("analyst", None, Some("nonce".into()));
        attempt(&throttle, &device, Outcome::Succeeded, now).unwrap();
        assert_eq!(
            throttle.admit(&key("analyst", [10, 2, 0, 1]), now),
            closed(1)
        );
    }

    #[test]
    fn a_known_device_has_a_budget_of_its_own() {
        let throttle = LoginThrottle::default();
        let now = Instant::now();
        let pair = key("dispatcher", [10, 0, 0, 7]);
        for _ in 0..FREE + 3 {
            let _ = attempt(&throttle, &pair, Outcome::Failed, now);
        }
        assert!(throttle.admit(&pair, now).is_err());
        let device = LoginThrottle::budgets("dispatcher", None, Some("nonce".into()));
        attempt(&throttle, &device, Outcome::Succeeded, now).unwrap();
        // Device tokens verify against the password hash they were made with.
        let token = device_token("dispatcher", "$argon2id$hash-1");
        let nonce = known_device(&token, "dispatcher", "$argon2id$hash-1").unwrap();
        assert!(token.starts_with(&nonce));
        assert_eq!(known_device(&token, "dispatcher", "$argon2id$hash-2"), None);
        assert_eq!(known_device(&token, "analyst", "$argon2id$hash-1"), None);
        assert_eq!(
            known_device("nonce.forged", "dispatcher", "$argon2id$hash-1"),
            None
        );
    }

    /// A pair with one failure fewer than the free ones.
    fn one_failure_short_of_a_cool_down() -> (LoginThrottle, Vec<Budget>, Instant) {
        let throttle = LoginThrottle::default();
        let pair = key("dispatcher", [10, 0, 0, 7]);
        let now = Instant::now();
        for _ in 0..FREE - 1 {
            attempt(&throttle, &pair, Outcome::Failed, now).unwrap();
        }
        (throttle, pair, now)
    }

    #[test]
    fn parallel_guesses_get_no_more_tries_than_a_sequence() {
        let (throttle, pair, now) = one_failure_short_of_a_cool_down();
        // One attempt in flight could be the fifth failure: the next waits.
        throttle.admit(&pair, now).unwrap();
        assert_eq!(throttle.admit(&pair, now), Err(Refusal::Busy));
        throttle.end(&pair, Outcome::Failed, now);
        assert_eq!(throttle.admit(&pair, now), closed(1));
    }

    #[test]
    fn an_attempt_that_was_not_checked_does_not_count() {
        let (throttle, pair, now) = one_failure_short_of_a_cool_down();
        // A store error, and a client that went away mid-check (the attempt
        // dropped unfinished), leave the count as it was.
        attempt(&throttle, &pair, Outcome::Unchecked, now).unwrap();
        throttle.admit(&pair, now).unwrap();
        drop(Attempt {
            throttle: &throttle,
            budgets: pair.clone(),
            finished: false,
        });
        attempt(&throttle, &pair, Outcome::Failed, now).unwrap();
        assert!(
            throttle.admit(&pair, now).is_err(),
            "the fifth failure counts"
        );
    }

    #[test]
    fn the_tracked_budgets_are_bounded() {
        let throttle = LoginThrottle::default();
        let now = Instant::now();
        for n in 0..MAX_TRACKED as u32 + 100 {
            let budgets = LoginThrottle::budgets(&format!("user{n}"), None, None);
            attempt(&throttle, &budgets, Outcome::Failed, now).unwrap();
        }
        assert!(throttle.entries.lock().unwrap().len() <= MAX_TRACKED);
    }

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
        headers.insert(
            axum::http::header::COOKIE,
            "a=b; precinct_session=tok123; c=d".parse().unwrap(),
        );
        assert_eq!(presented_token(&headers).as_deref(), Some("tok123"));
        headers.insert(AUTHORIZATION, "Bearer abc".parse().unwrap());
        assert_eq!(presented_token(&headers).as_deref(), Some("abc"));
        assert_ne!(new_token(), new_token());
        assert_eq!(token_hash("x").len(), 64);
    }
}
