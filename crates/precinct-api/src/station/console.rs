//! The web console and field view: the embedded single page (built from
//! `web/` by `precinct-web`) and the few settings it needs.
//!
//! Every page response carries a Content-Security-Policy that allows only
//! this origin, so even a mistake in the page cannot make the browser reach
//! another host (police intranets are closed).

use crate::AppState;
use crate::error::ApiError;
use crate::session::Authed;
use axum::Json;
use axum::extract::State;
use axum::http::header::{ACCEPT_ENCODING, CACHE_CONTROL, CONTENT_ENCODING, CONTENT_TYPE, VARY};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use precinct_domain::policy::Action;
use serde::Serialize;
use std::io::Read;
use std::path::Path;
use utoipa::ToSchema;

/// Only this origin; MapLibre runs its worker from a blob and sets inline styles.
const CSP: &str = "default-src 'self'; connect-src 'self'; img-src 'self' data: blob:; \
                   worker-src 'self' blob:; child-src blob:; style-src 'self' 'unsafe-inline'; \
                   font-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'";

/// What the console needs to know about the station.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConsoleConfig {
    pub station_name: String,
    /// The station's IANA time zone, the console's and every period's: its
    /// package's, unless `serve --time-zone` overrides it (Asia/Shanghai when
    /// neither says).
    pub time_zone: String,
    /// Seconds within which an incident should be dispatched (the queue turns red after).
    pub dispatch_target_seconds: u32,
    /// Seconds within which someone should be on scene.
    pub on_scene_target_seconds: u32,
    /// The station's clock when this answer was made, and how fast it runs
    /// (a demo may run faster than real time): ages and time targets are
    /// measured on it, not on the browser's clock.
    pub now: chrono::DateTime<chrono::Utc>,
    pub clock_speed: f64,
    /// A PMTiles file of the city to draw under the station's own layers
    /// (`/api/map/basemap.pmtiles`), when the admin configured one.
    pub basemap_url: Option<String>,
    /// The base map built from the road import (`get_base_tile`): a tile URL
    /// template with `{z}/{x}/{y}`, when the station has roads.
    pub tiles_url: Option<String>,
    /// West, south, east, north of what the base map draws.
    pub tiles_bounds: Option<[f64; 4]>,
    pub version: String,
    /// Unit statuses from which a unit may be dispatched (the domain's
    /// transition table), so clients copy no rule.
    #[schema(schema_with = crate::schema::unit_statuses)]
    pub dispatchable_statuses: Vec<String>,
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
    authed.may(Action::ViewGround)?;
    Ok(Json(ConsoleConfig {
        station_name: state.ground().station_name.clone(),
        time_zone: state.tz().name().to_owned(),
        dispatch_target_seconds: 60,
        on_scene_target_seconds: 600,
        now: state.clock.now(),
        clock_speed: state.clock.speed(),
        basemap_url: state
            .basemap
            .as_ref()
            .map(|_| "/api/map/basemap.pmtiles".to_owned()),
        tiles_url: state
            .tiles()
            .bounds
            .map(|_| "/api/map/tiles/{z}/{x}/{y}".to_owned()),
        tiles_bounds: state.tiles().bounds,
        version: env!("CARGO_PKG_VERSION").into(),
        dispatchable_statuses: precinct_domain::unit::UnitStatus::ALL
            .iter()
            .filter(|s| s.can_be_dispatched())
            .map(|s| s.as_str().to_owned())
            .collect(),
    }))
}

/// Checks that `path` is a PMTiles (version 3) archive, so a wrong file is
/// refused at start-up rather than shown as a blank map.
pub fn check_pmtiles(path: &Path) -> Result<(), String> {
    let mut head = Vec::with_capacity(8);
    std::fs::File::open(path)
        .and_then(|f| f.take(8).read_to_end(&mut head))
        .map_err(|e| format!("reading {}: {e}", path.display()))?;
    if head.len() < 8 || &head[..7] != b"PMTiles" || head[7] != 3 {
        return Err(format!(
            "{} is not a PMTiles version 3 archive",
            path.display()
        ));
    }
    Ok(())
}

#[utoipa::path(
    get, path = "/api/map/basemap.pmtiles", operation_id = "get_basemap", tag = "ground",
    params(("Range" = Option<String>, Header, description = "bytes=START-END, as PMTiles readers send")),
    responses(
        (status = 200, description = "The whole file (no Range header)", content_type = "application/octet-stream"),
        (status = 206, description = "The requested bytes of the city's PMTiles base map", content_type = "application/octet-stream"),
        (status = 404, description = "No base map configured", body = crate::error::ErrorBody),
        (status = 416, description = "The range is not in the file", body = crate::error::ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn get_basemap(
    State(state): State<AppState>,
    authed: Authed,
    request: axum::extract::Request,
) -> Result<Response, ApiError> {
    use tower::ServiceExt;
    authed.may(Action::ViewGround)?;
    let path = state
        .basemap
        .clone()
        .ok_or_else(|| ApiError::not_found("base map"))?;
    // tower-http serves the file: ranges (206 with Content-Range), the whole
    // file streamed, conditional requests; only its bare 416 is replaced by
    // the API's error body.
    let (parts, _) = request.into_parts();
    let request = axum::http::Request::from_parts(parts, axum::body::Body::empty());
    let served = tower_http::services::ServeFile::new_with_mime(
        &*path,
        &"application/octet-stream".parse().expect("a MIME type"),
    )
    .oneshot(request)
    .await
    .map_err(|error| {
        tracing::error!(%error, "reading the base map");
        ApiError::internal()
    })?;
    if served.status() == StatusCode::RANGE_NOT_SATISFIABLE {
        return Err(ApiError::new(
            StatusCode::RANGE_NOT_SATISFIABLE,
            "invalid_range",
            "ask for a byte range within the file",
            "请求的字节范围无效",
        ));
    }
    let mut response = served.map(axum::body::Body::new);
    response.headers_mut().insert(
        CACHE_CONTROL,
        HeaderValue::from_static("private, max-age=3600"),
    );
    Ok(response)
}

fn page(asset: precinct_web::Asset, headers: &HeaderMap) -> Response {
    let cache = if asset.immutable {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    };
    let accepts_gzip = headers
        .get(ACCEPT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|e| e.trim().starts_with("gzip")));
    let (bytes, encoding) = match asset.gzip {
        Some(gzip) if accepts_gzip => (gzip, Some("gzip")),
        _ => (asset.bytes, None),
    };
    let mut response = (
        [
            (CONTENT_TYPE, HeaderValue::from_static(asset.content_type)),
            (VARY, HeaderValue::from_static("accept-encoding")),
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
        bytes,
    )
        .into_response();
    if let Some(encoding) = encoding {
        response
            .headers_mut()
            .insert(CONTENT_ENCODING, HeaderValue::from_static(encoding));
    }
    response
}

/// Everything no route took: API paths get the JSON 404; built files are
/// served; any other page path gets the single page, which routes itself
/// (`/` is the console, `/field` the field view).
pub async fn fallback(method: Method, uri: Uri, headers: HeaderMap) -> Response {
    let path = uri.path();
    let api = path == "/api" || path.starts_with("/api/");
    if api || (method != Method::GET && method != Method::HEAD) {
        return crate::error::route_not_found().into_response();
    }
    if let Some(asset) = precinct_web::asset(path) {
        return page(asset, &headers);
    }
    if path.starts_with("/assets/") || path.rsplit('/').next().is_some_and(|n| n.contains('.')) {
        return (StatusCode::NOT_FOUND, "not found").into_response();
    }
    page(precinct_web::index(), &headers)
}

#[utoipa::path(
    get, path = "/api/map/tiles/{z}/{x}/{y}", operation_id = "get_base_tile", tag = "ground",
    params(
        ("z" = u8, Path, description = "Zoom, 10 to 16"),
        ("x" = u32, Path, description = "Column, 0 to 2^z − 1"),
        ("y" = u32, Path, description = "Row, 0 to 2^z − 1"),
    ),
    responses(
        (status = 200, description = "A Mapbox Vector Tile of the base map built from the road import (layers roads with class and name, water, waterways, parks, buildings), served from memory", content_type = "application/vnd.mapbox-vector-tile"),
        (status = 204, description = "Nothing drawn there"),
        (status = 404, description = "Not a tile of zooms 10–16 (`no_tile`)", body = crate::error::ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn get_base_tile(
    State(state): State<AppState>,
    authed: Authed,
    axum::extract::Path((z, x, y)): axum::extract::Path<(String, String, String)>,
) -> Result<Response, ApiError> {
    use precinct_osm::tiles::{MAX_ZOOM, MIN_ZOOM};
    authed.may(Action::ViewGround)?;
    let no_tile = || {
        ApiError::new(
            axum::http::StatusCode::NOT_FOUND,
            "no_tile",
            format!("no tile {z}/{x}/{y}: zooms are {MIN_ZOOM} to {MAX_ZOOM}"),
            format!("无此瓦片 {z}/{x}/{y}:缩放级别为 {MIN_ZOOM} 至 {MAX_ZOOM}"),
        )
    };
    let zoom: u8 = z.parse().map_err(|_| no_tile())?;
    let (column, row): (u32, u32) = (
        x.parse().map_err(|_| no_tile())?,
        y.trim_end_matches(".pbf").parse().map_err(|_| no_tile())?,
    );
    if !(MIN_ZOOM..=MAX_ZOOM).contains(&zoom) || column >> zoom != 0 || row >> zoom != 0 {
        return Err(no_tile());
    }
    let tiles = state.tiles();
    Ok(match tiles.get(zoom, column, row) {
        Some(bytes) => (
            [
                (
                    axum::http::header::CONTENT_TYPE,
                    "application/vnd.mapbox-vector-tile",
                ),
                (axum::http::header::CACHE_CONTROL, "private, max-age=300"),
            ],
            bytes.to_vec(),
        )
            .into_response(),
        None => axum::http::StatusCode::NO_CONTENT.into_response(),
    })
}
