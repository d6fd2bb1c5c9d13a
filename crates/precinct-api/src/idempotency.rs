//! `Idempotency-Key` on the writes a client may have to retry (intake,
//! dispatch): a request sent again with the key it was first sent with
//! changes nothing a second time and gets the first answer again.
//!
//! The key is claimed in the writer's transaction before the request runs
//! (`AccountStore::claim_request`), so of two requests with one key only
//! one runs, on any instance. Its answer is kept for a day. A request that
//! failed on the server's side (5xx) gives its key back, so a retry runs;
//! one whose first attempt never answered (the instance stopped in
//! between) is never run again: the retry is told to look before it sends
//! the request anew with a new key.

use crate::AppState;
use crate::error::ApiError;
use crate::session::Authed;
use axum::Extension;
use axum::body::Body;
use axum::extract::{FromRequestParts, Request};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use precinct_storage::RequestClaim;
use sha2::{Digest, Sha256};

/// The request header.
pub(crate) const HEADER: &str = "idempotency-key";
/// The header an answer given again carries.
pub(crate) const REPLAYED: &str = "idempotent-replayed";
/// The longest key taken.
const MAX_KEY: usize = 255;
/// The largest body a keyed request may carry (the JSON endpoints' limit).
const MAX_BODY: usize = 2 * 1024 * 1024;
/// A claim without an answer for longer than this is taken to have lost
/// its answer (the instance stopped) rather than to be still running.
const IN_DOUBT_AFTER_SECONDS: i64 = 60;

fn valid(key: &str) -> bool {
    !key.is_empty() && key.len() <= MAX_KEY && key.bytes().all(|b| (0x21..=0x7e).contains(&b))
}

/// The parameter every keyed operation documents.
pub(crate) fn header_parameter() -> utoipa::openapi::path::Parameter {
    use utoipa::openapi::path::{ParameterBuilder, ParameterIn};
    use utoipa::openapi::{ObjectBuilder, Required, Type};
    ParameterBuilder::new()
        .name("Idempotency-Key")
        .parameter_in(ParameterIn::Header)
        .required(Required::False)
        .description(Some(
            "A key the client chooses for this request (1–255 visible ASCII characters). \
             Sent again with the same request, it changes nothing a second time and gets the \
             first answer again (header `Idempotent-Replayed: true`) for a day; with another \
             request it answers 422 `idempotency_key_reused`; while the first is running, or \
             when its answer was lost, 409 `request_in_progress`.",
        ))
        .schema(Some(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .min_length(Some(1))
                .max_length(Some(MAX_KEY))
                .pattern(Some("^[!-~]+$")),
        ))
        .build()
}

/// The middleware of keyed routes (`gate::Routes::add_idempotent`).
pub(crate) async fn idempotent(
    Extension(state): Extension<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let Some(value) = request.headers().get(HEADER) else {
        return next.run(request).await;
    };
    let key = match value.to_str() {
        Ok(key) if valid(key) => key.to_owned(),
        _ => {
            return ApiError::unprocessable(
                "invalid_idempotency_key",
                "Idempotency-Key must be 1 to 255 visible ASCII characters",
                "Idempotency-Key 须为 1 至 255 个可见 ASCII 字符",
            )
            .into_response();
        }
    };
    let (mut parts, body) = request.into_parts();
    let authed = match Authed::from_request_parts(&mut parts, &state).await {
        Ok(authed) => authed,
        Err(e) => return e.into_response(),
    };
    let Ok(bytes) = axum::body::to_bytes(body, MAX_BODY).await else {
        return ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            "the request body is larger than this endpoint takes",
            "请求内容过大",
        )
        .into_response();
    };
    let mut hash = Sha256::new();
    hash.update(parts.method.as_str());
    hash.update([0]);
    hash.update(parts.uri.path());
    hash.update([0]);
    hash.update(&bytes);
    let fingerprint: String = hash.finalize().iter().map(|b| format!("{b:02x}")).collect();
    let user = authed.0.id;
    match state
        .store
        .claim_request(user, key.clone(), fingerprint)
        .await
    {
        Err(e) => ApiError::from(e).into_response(),
        Ok(RequestClaim::Done { status, body }) => replay(status, body),
        Ok(RequestClaim::Mismatch) => ApiError::unprocessable(
            "idempotency_key_reused",
            "this Idempotency-Key was used for another request",
            "该 Idempotency-Key 已用于另一请求",
        )
        .into_response(),
        Ok(RequestClaim::Pending { since }) => {
            let lost =
                chrono::Utc::now() - since > chrono::Duration::seconds(IN_DOUBT_AFTER_SECONDS);
            let (message, message_zh) = if lost {
                (
                    "the first request with this key has no answer (the server stopped meanwhile): check what it did before sending it again with a new key",
                    "使用该键的首次请求未得到应答（期间服务中断），请先核实其结果，再以新的键重新提交",
                )
            } else {
                (
                    "the first request with this key is still running: retry in a moment",
                    "使用该键的首次请求仍在处理，请稍后重试",
                )
            };
            ApiError::new(
                StatusCode::CONFLICT,
                "request_in_progress",
                message,
                message_zh,
            )
            .into_response()
        }
        Ok(RequestClaim::Claimed) => {
            let response = next
                .run(Request::from_parts(parts, Body::from(bytes)))
                .await;
            let (parts, body) = response.into_parts();
            let Ok(bytes) = axum::body::to_bytes(body, usize::MAX).await else {
                let _ = state.store.release_request(user, key).await;
                return ApiError::internal().into_response();
            };
            let kept = if parts.status.is_server_error() {
                state.store.release_request(user, key).await
            } else {
                let text = String::from_utf8_lossy(&bytes).into_owned();
                state
                    .store
                    .finish_request(user, key, parts.status.as_u16(), text)
                    .await
            };
            if let Err(e) = kept {
                tracing::error!(error = %e, "a keyed request's answer could not be kept");
            }
            Response::from_parts(parts, Body::from(bytes))
        }
    }
}

/// The kept answer, given again.
fn replay(status: u16, body: String) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    headers.insert(REPLAYED, HeaderValue::from_static("true"));
    response
}
