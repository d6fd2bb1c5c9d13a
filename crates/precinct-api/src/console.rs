//! The web console and field view: the embedded single page (built from
//! `web/` by `precinct-web`) and the few settings it needs.
//!
//! Every page response carries a Content-Security-Policy that allows only
//! this origin, so even a mistake in the page cannot make the browser reach
//! another host (police intranets are closed).

use crate::AppState;
use crate::auth::Authed;
use crate::error::ApiError;
use axum::Json;
use axum::extract::State;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::http::{HeaderName, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use precinct_domain::user::Role;
use serde::Serialize;
use utoipa::ToSchema;

/// Only this origin; MapLibre runs its worker from a blob and sets inline styles.
const CSP: &str = "default-src 'self'; connect-src 'self'; img-src 'self' data: blob:; \
                   worker-src 'self' blob:; child-src blob:; style-src 'self' 'unsafe-inline'; \
                   font-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'";

/// What the console needs to know about the station.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConsoleConfig {
    pub station_name: String,
    /// IANA time zone the console shows times in (Asia/Shanghai by default).
    pub time_zone: String,
    /// Seconds within which an incident should be dispatched (the queue turns red after).
    pub dispatch_target_seconds: u32,
    /// Seconds within which someone should be on scene.
    pub on_scene_target_seconds: u32,
    pub version: String,
}

#[utoipa::path(
    get, path = "/api/console/config", operation_id = "get_console_config", tag = "ground",
    responses((status = 200, body = ConsoleConfig)),
    security(("bearer" = []))
)]
pub async fn get_console_config(
    State(state): State<AppState>,
    authed: Authed,
) -> Result<Json<ConsoleConfig>, ApiError> {
    authed.require(Role::ALL)?;
    Ok(Json(ConsoleConfig {
        station_name: state.ground().station_name.clone(),
        time_zone: state.time_zone.clone(),
        dispatch_target_seconds: 60,
        on_scene_target_seconds: 600,
        version: env!("CARGO_PKG_VERSION").into(),
    }))
}

fn page(asset: precinct_web::Asset) -> Response {
    let cache = if asset.immutable {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    };
    (
        [
            (CONTENT_TYPE, HeaderValue::from_static(asset.content_type)),
            (CACHE_CONTROL, HeaderValue::from_static(cache)),
            (
                HeaderName::from_static("content-security-policy"),
                HeaderValue::from_static(CSP),
            ),
            (
                HeaderName::from_static("x-content-type-options"),
                HeaderValue::from_static("nosniff"),
            ),
        ],
        asset.bytes,
    )
        .into_response()
}

/// Everything no route took: API paths get the JSON 404; built files are
/// served; any other page path gets the single page, which routes itself
/// (`/` is the console, `/field` the field view).
pub async fn fallback(method: Method, uri: Uri) -> Response {
    let path = uri.path();
    let api = path == "/api" || path.starts_with("/api/");
    if api || (method != Method::GET && method != Method::HEAD) {
        return crate::route_not_found().await.into_response();
    }
    if let Some(asset) = precinct_web::asset(path) {
        return page(asset);
    }
    if path.starts_with("/assets/") || path.rsplit('/').next().is_some_and(|n| n.contains('.')) {
        return (StatusCode::NOT_FOUND, "not found").into_response();
    }
    page(precinct_web::index())
}
