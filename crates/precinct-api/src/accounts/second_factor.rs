//! Second factors: TOTP (RFC 6238, 30 s steps, 6 digits, SHA-1, one step of
//! skew: what every authenticator app speaks) with recovery codes.
//! Enrolment: `enrol_second_factor` gives a new secret as an otpauth URL and
//! a QR code (SVG, drawn here: nothing is fetched), `confirm_second_factor`
//! takes a code from the app and answers ten recovery codes, shown once. A
//! code's time step is accepted once; a recovery code is used up. Command
//! roles (admin, dispatcher) must enrol when the station requires it.

use crate::AppState;
use crate::error::{ApiError, ErrorBody};
use crate::extract::JsonBody;
use crate::session::Authed;
use argon2::password_hash::rand_core::{OsRng, RngCore};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use precinct_domain::user::User;
use precinct_storage::SecondFactorProof;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

/// The name authenticator apps show the account under.
const ISSUER: &str = "Precinct";
/// Recovery codes given at enrolment.
const RECOVERY_CODES: usize = 10;

fn totp(secret: &[u8], username: &str) -> Result<totp_rs::Totp, ApiError> {
    totp_rs::Builder::new()
        .with_secret(secret.to_vec())
        .with_issuer(Some(ISSUER))
        .with_account_name(username)
        .build()
        .map_err(|error| {
            tracing::error!(%error, "building a TOTP");
            ApiError::internal()
        })
}

fn decode(secret: &str) -> Result<Vec<u8>, ApiError> {
    totp_rs::Secret::try_from_base32(secret)
        .map(|s| s.as_ref().to_vec())
        .map_err(|_| ApiError::internal())
}

/// The time step at which `code` is valid now (one step of skew), if any.
pub(crate) fn valid_step(
    secret: &str,
    username: &str,
    code: &str,
) -> Result<Option<i64>, ApiError> {
    let totp = totp(&decode(secret)?, username)?;
    let now = u64::try_from(chrono::Utc::now().timestamp()).unwrap_or_default();
    let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    Ok(totp
        .check(&code, now)
        .and_then(|step| i64::try_from(step).ok()))
}

/// A recovery code's stored form.
pub(crate) fn recovery_hash(code: &str) -> String {
    let normal: String = code
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_uppercase())
        .collect();
    Sha256::digest(normal.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Checks a login's second factor and uses it up: a TOTP code (its step
/// accepted once) or a recovery code.
pub(crate) async fn prove(
    state: &AppState,
    user: &User,
    totp_code: Option<&str>,
    recovery_code: Option<&str>,
) -> Result<bool, ApiError> {
    let factor = state.store.second_factor(user.id).await?;
    let Some(secret) = factor.secret else {
        return Ok(true);
    };
    let proof = if let Some(code) = totp_code {
        match valid_step(&secret, user.username.as_str(), code)? {
            Some(step) => SecondFactorProof::Step(step),
            None => return Ok(false),
        }
    } else if let Some(code) = recovery_code {
        SecondFactorProof::Recovery(recovery_hash(code))
    } else {
        return Ok(false);
    };
    Ok(state
        .store
        .consume_second_factor(user.id, proof, None)
        .await?)
}

/// A QR code of `text` as an SVG image (black modules on white, a quiet zone of 4).
pub fn qr_svg(text: &str) -> Result<String, ApiError> {
    let qr = qrcodegen::QrCode::encode_text(text, qrcodegen::QrCodeEcc::Medium)
        .map_err(|_| ApiError::internal())?;
    let size = qr.size();
    let border = 4;
    let mut path = String::new();
    for y in 0..size {
        for x in 0..size {
            if qr.get_module(x, y) {
                path.push_str(&format!("M{},{}h1v1h-1z", x + border, y + border));
            }
        }
    }
    let full = size + 2 * border;
    Ok(format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {full} {full}\" shape-rendering=\"crispEdges\"><rect width=\"100%\" height=\"100%\" fill=\"#fff\"/><path d=\"{path}\" fill=\"#000\"/></svg>"
    ))
}

/// A new TOTP secret to add to an authenticator app.
#[derive(Debug, Serialize, ToSchema)]
pub struct EnrolmentDto {
    /// The secret in base32, for typing in by hand.
    pub secret: String,
    /// `otpauth://totp/Precinct:<username>?secret=…&issuer=Precinct`.
    pub otpauth_url: String,
    /// The same URL as a QR code (an SVG document) to scan.
    pub qr_svg: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConfirmRequest {
    /// The 6-digit code the app shows now.
    #[schema(pattern = "^[0-9]{6}$")]
    pub code: String,
}

/// Recovery codes: each logs in once instead of a code (a lost phone).
#[derive(Debug, Serialize, ToSchema)]
pub struct RecoveryCodesDto {
    pub recovery_codes: Vec<String>,
}

fn no_enrolment_pending() -> ApiError {
    ApiError::new(
        StatusCode::CONFLICT,
        "no_enrolment_pending",
        "begin with enrol_second_factor",
        "请先开始绑定动态口令",
    )
}

fn already_enrolled() -> ApiError {
    ApiError::new(
        StatusCode::CONFLICT,
        "second_factor_already_enrolled",
        "this account already has a second factor; an administrator can reset it",
        "该账号已绑定动态口令；如需更换请联系管理员重置",
    )
}

#[utoipa::path(
    post, path = "/api/auth/totp/enrol", operation_id = "enrol_second_factor", tag = "auth",
    responses(
        (status = 200, description = "A new secret, not yet in force: confirm it with a code", body = EnrolmentDto),
        (status = 401, body = ErrorBody),
        (status = 409, description = "Already enrolled (`second_factor_already_enrolled`)", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn enrol_second_factor(
    State(state): State<AppState>,
    authed: Authed,
) -> Result<Json<EnrolmentDto>, ApiError> {
    let user = authed.0;
    let mut factor = state.store.second_factor(user.id).await?;
    if factor.secret.is_some() {
        return Err(already_enrolled());
    }
    let mut bytes = [0u8; 20];
    OsRng.fill_bytes(&mut bytes);
    let totp = totp(&bytes, user.username.as_str())?;
    let secret = totp_rs::Secret::from(bytes.to_vec()).to_base32();
    let otpauth_url = totp.to_url().map_err(|_| ApiError::internal())?;
    factor.pending = Some(secret.clone());
    state.store.set_second_factor(user.id, factor, None).await?;
    Ok(Json(EnrolmentDto {
        qr_svg: qr_svg(&otpauth_url)?,
        secret,
        otpauth_url,
    }))
}

#[utoipa::path(
    post, path = "/api/auth/totp/confirm", operation_id = "confirm_second_factor", tag = "auth",
    request_body = ConfirmRequest,
    responses(
        (status = 200, description = "In force from now; the recovery codes are shown this once", body = RecoveryCodesDto),
        (status = 401, body = ErrorBody),
        (status = 409, description = "No enrolment begun (`no_enrolment_pending`), or already enrolled", body = ErrorBody),
        (status = 422, description = "The code does not match (`invalid_second_factor`)", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn confirm_second_factor(
    State(state): State<AppState>,
    authed: Authed,
    JsonBody(request): JsonBody<ConfirmRequest>,
) -> Result<Json<RecoveryCodesDto>, ApiError> {
    let user = authed.0;
    let factor = state.store.second_factor(user.id).await?;
    if factor.secret.is_some() {
        return Err(already_enrolled());
    }
    let Some(pending) = factor.pending else {
        return Err(no_enrolment_pending());
    };
    if request.code.len() > 16 {
        return Err(invalid_second_factor_422());
    }
    let Some(step) = valid_step(&pending, user.username.as_str(), &request.code)? else {
        return Err(invalid_second_factor_422());
    };
    let codes: Vec<String> = (0..RECOVERY_CODES)
        .map(|_| crate::passwords::new_one_time_password())
        .collect();
    // Checked and written in one writer transaction: of simultaneous
    // confirmations exactly one wins, so one set of recovery codes is shown.
    let confirmed = state
        .store
        .consume_second_factor(
            user.id,
            SecondFactorProof::Enrolment {
                secret: pending,
                step,
                recovery_hashes: codes.iter().map(|c| recovery_hash(c)).collect(),
            },
            Some(state.audit_entry(
                &user,
                "second_factor_enrolled",
                format!("user {}", user.username.as_str()),
            )),
        )
        .await?;
    if !confirmed {
        // Another confirmation won, or another enrolment replaced this one.
        return Err(
            if state.store.second_factor(user.id).await?.secret.is_some() {
                already_enrolled()
            } else {
                no_enrolment_pending()
            },
        );
    }
    state.forget_session_cache();
    Ok(Json(RecoveryCodesDto {
        recovery_codes: codes,
    }))
}

fn invalid_second_factor_422() -> ApiError {
    ApiError::unprocessable(
        "invalid_second_factor",
        "the code does not match: check the phone's clock and type the code it shows now",
        "动态口令不正确：请核对手机时间并输入当前显示的口令",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_match_rfc_6238_and_recovery_codes_normalise() {
        // RFC 6238 appendix B, SHA-1: at 59 s the 8-digit code is 94287082.
        let secret = b"12345678901234567890";
        let totp = totp_rs::Builder::new()
            .with_secret(secret.to_vec())
            .with_digits(8)
            .build_noncompliant();
        assert_eq!(totp.generate(59).to_string(), "94287082");
        assert_eq!(
            recovery_hash("abcd-efgh-jkmn"),
            recovery_hash("ABCDEFGHJKMN")
        );
        assert_ne!(recovery_hash("ABCDEFGHJKMN"), recovery_hash("ABCDEFGHJKMP"));
        let svg = qr_svg("otpauth://totp/Precinct:admin?secret=JBSWY3DPEHPK3PXP").unwrap();
        assert!(
            svg.starts_with("<svg") && svg.contains("<path d=\"M"),
            "{svg}"
        );
    }
}
