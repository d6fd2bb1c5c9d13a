//! Road closures: shared by every instance (stored), respected by the next
//! recommendation.

use crate::AppState;
use crate::dto::LocationInput;
use crate::error::{ApiError, ErrorBody};
use crate::extract::JsonBody;
use crate::session::Authed;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use precinct_domain::policy::Action;
use precinct_geo::roads::Profile;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Serialize, ToSchema)]
pub struct ClosureDto {
    pub segment_id: u32,
    pub closed_at: chrono::DateTime<chrono::Utc>,
    pub closed_by: String,
    pub reason: Option<String>,
    /// The segment's two ends, for the map.
    pub line: Vec<crate::dto::Point>,
}

/// How far from a `near` point its junction may be.
const MAX_JUNCTION_DISTANCE_M: f64 = 200.0;

/// Close segments by id, or every road at the junction nearest a point.
#[derive(Debug, Deserialize, ToSchema)]
pub struct CloseRoadsRequest {
    #[serde(default)]
    pub segment_ids: Vec<u32>,
    pub near: Option<LocationInput>,
    #[schema(max_length = 500)]
    pub reason: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ReopenRoadsRequest {
    pub segment_ids: Vec<u32>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ClosedDto {
    pub closed_segment_ids: Vec<u32>,
}

fn check_segments(state: &AppState, segments: &[u32]) -> Result<(), ApiError> {
    let count = state.roads().segment_count();
    match segments.iter().find(|&&s| s >= count) {
        Some(bad) => Err(ApiError::unprocessable(
            "unknown_segment",
            format!("road segment {bad} does not exist (the network has {count})"),
            "路段不存在",
        )),
        None => Ok(()),
    }
}

#[utoipa::path(
    get, path = "/api/roads/closures", operation_id = "list_road_closures", tag = "roads",
    responses((status = 200, body = [ClosureDto])),
    security(("bearer" = []))
)]
pub async fn list_road_closures(
    State(state): State<AppState>,
    authed: Authed,
) -> Result<Json<Vec<ClosureDto>>, ApiError> {
    authed.may(Action::ViewGround)?;
    let closures = state.store.road_closures().await?;
    let roads = state.roads();
    Ok(Json(
        closures
            .into_iter()
            .map(|c| ClosureDto {
                segment_id: c.segment,
                line: roads
                    .segment_line(c.segment)
                    .map(|ends| ends.iter().map(|&p| crate::dto::Point::from(p)).collect())
                    .unwrap_or_default(),
                closed_at: c.closed_at,
                closed_by: c.closed_by,
                reason: c.reason,
            })
            .collect(),
    ))
}

#[utoipa::path(
    get, path = "/api/map/roads", operation_id = "map_roads", tag = "roads",
    responses((status = 200, description = "The station's road network as a GeoJSON FeatureCollection of LineStrings (properties `class` and, where known, the street's `name`), for the console's own base map", body = crate::station::ground_schema::RoadMapSchema)),
    security(("bearer" = []))
)]
pub async fn map_roads(
    State(state): State<AppState>,
    authed: Authed,
) -> Result<Json<serde_json::Value>, ApiError> {
    authed.may(Action::ViewGround)?;
    let ways = state.store.roads().await?;
    // Six decimals are 0.1 m: enough for a map, and a third of the bytes.
    let round = |x: f64| (x * 1e6).round() / 1e6;
    let features: Vec<serde_json::Value> = ways
        .iter()
        .map(|way| {
            let line: Vec<[f64; 2]> = way
                .nodes
                .iter()
                .map(|(_, c)| [round(c.lon()), round(c.lat())])
                .collect();
            let mut properties = serde_json::json!({ "class": way.class });
            if let Some(name) = &way.name {
                properties["name"] = serde_json::Value::from(name.as_str());
            }
            serde_json::json!({
                "type": "Feature",
                "properties": properties,
                "geometry": { "type": "LineString", "coordinates": line },
            })
        })
        .collect();
    Ok(Json(serde_json::json!({
        "type": "FeatureCollection",
        "features": features,
    })))
}

#[utoipa::path(
    post, path = "/api/roads/closures", operation_id = "close_roads", tag = "roads",
    request_body = CloseRoadsRequest,
    responses(
        (status = 201, description = "Closed; the next recommendation avoids them", body = ClosedDto),
        (status = 422, description = "Unknown segment, or nothing named", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn close_roads(
    State(state): State<AppState>,
    authed: Authed,
    JsonBody(request): JsonBody<CloseRoadsRequest>,
) -> Result<(StatusCode, Json<ClosedDto>), ApiError> {
    authed.may(Action::CloseRoads)?;
    let mut segments = request.segment_ids;
    if let Some(near) = request.near {
        let point = near.parse()?;
        let roads = state.roads();
        let junction = roads.snap(Profile::Driving, point).ok_or_else(|| {
            ApiError::unprocessable(
                "no_road_nearby",
                "there is no road network to close",
                "没有可封闭的道路",
            )
        })?;
        // A junction far from the point is not the one meant: refused,
        // rather than closing some street of another district.
        if junction.distance_m > MAX_JUNCTION_DISTANCE_M {
            return Err(ApiError::unprocessable(
                "no_road_nearby",
                format!(
                    "no junction within {MAX_JUNCTION_DISTANCE_M:.0} m of that point (the nearest is {:.1} km away)",
                    junction.distance_m / 1000.0
                ),
                format!(
                    "该点 {MAX_JUNCTION_DISTANCE_M:.0} 米内没有路口（最近的在 {:.1} 公里外）",
                    junction.distance_m / 1000.0
                ),
            ));
        }
        segments.extend(roads.segments_at(Profile::Driving, junction.node));
    }
    check_segments(&state, &segments)?;
    state
        .store
        .close_roads(
            segments.clone(),
            request
                .reason
                .as_deref()
                .filter(|r| !r.trim().is_empty())
                .map(|r| crate::dto::bounded("reason", r, 500))
                .transpose()?,
            authed.actor(),
        )
        .await?;
    segments.sort_unstable();
    segments.dedup();
    Ok((
        StatusCode::CREATED,
        Json(ClosedDto {
            closed_segment_ids: segments,
        }),
    ))
}

#[utoipa::path(
    post, path = "/api/roads/closures/reopen", operation_id = "reopen_roads", tag = "roads",
    request_body = ReopenRoadsRequest,
    responses((status = 204, description = "Reopened"), (status = 422, body = ErrorBody)),
    security(("bearer" = []))
)]
pub async fn reopen_roads(
    State(state): State<AppState>,
    authed: Authed,
    JsonBody(request): JsonBody<ReopenRoadsRequest>,
) -> Result<StatusCode, ApiError> {
    authed.may(Action::CloseRoads)?;
    check_segments(&state, &request.segment_ids)?;
    state
        .store
        .reopen_roads(request.segment_ids, authed.actor())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
