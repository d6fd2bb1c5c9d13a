//! The station's ground: the whole jurisdiction, point resolution, place search.

use crate::AppState;
use crate::dto::*;
use crate::error::ApiError;
use crate::extract::QueryParams;
use crate::session::Authed;
use axum::Json;
use axum::extract::State;
use precinct_domain::ground::Place;
use precinct_domain::policy::Action;

#[utoipa::path(
    get, path = "/api/jurisdiction", operation_id = "get_jurisdiction", tag = "ground",
    responses((status = 200, description = "Zones, communities and grid cells (polygons of {lat, lon}), posts, places, property companies, cameras, organisations, and `categories`: the station's incident code table in force (code, name_zh, name_en, family, default_priority)", body = crate::station::ground_schema::GroundSchema)),
    security(("bearer" = []))
)]
pub async fn get_jurisdiction(
    State(state): State<AppState>,
    authed: Authed,
) -> Result<Json<serde_json::Value>, ApiError> {
    authed.may(Action::ViewGround)?;
    let ground = state.ground();
    let mut value = serde_json::to_value(&*ground).map_err(|_| ApiError::internal())?;
    // The code table in force, the shipped one included, so clients list
    // exactly what intake accepts.
    value["categories"] =
        serde_json::to_value(&*ground.category_table()).map_err(|_| ApiError::internal())?;
    // The zone in force (the same the console's configuration gives).
    value["time_zone"] = serde_json::Value::from(state.tz().name());
    Ok(Json(value))
}

#[utoipa::path(
    get, path = "/api/jurisdiction/resolve", operation_id = "resolve_location", tag = "ground",
    params(ResolveQuery),
    responses((status = 200, body = ResolutionDto)),
    security(("bearer" = []))
)]
pub async fn resolve_location(
    State(state): State<AppState>,
    authed: Authed,
    QueryParams(query): QueryParams<ResolveQuery>,
) -> Result<Json<ResolutionDto>, ApiError> {
    authed.may(Action::ViewGround)?;
    let point = LocationInput {
        lat: query.lat,
        lon: query.lon,
        datum: query.datum,
    }
    .parse()?;
    let ground = state.ground();
    let r = ground.resolve(point);
    Ok(Json(ResolutionDto {
        outside_ground: r.is_outside_ground(),
        zone_id: r.zone_id.map(|z| z.0),
        zone_name: r
            .zone_id
            .and_then(|z| ground.zone(z))
            .map(|z| z.name.clone()),
        community_id: r.community_id.map(|c| c.0),
        community_name: r
            .community_id
            .and_then(|c| ground.community(c))
            .map(|c| c.name.clone()),
        grid_cell_id: r.grid_cell_id.map(|g| g.0),
        grid_cell_code: r
            .grid_cell_id
            .and_then(|g| ground.grid_cell(g))
            .map(|g| g.code.clone()),
    }))
}

#[utoipa::path(
    get, path = "/api/places", operation_id = "search_places", tag = "ground",
    params(PlaceSearchQuery),
    responses((status = 200, description = "Places whose name or address contains every term", body = [crate::station::ground_schema::PlaceSchema])),
    security(("bearer" = []))
)]
pub async fn search_places(
    State(state): State<AppState>,
    authed: Authed,
    QueryParams(query): QueryParams<PlaceSearchQuery>,
) -> Result<Json<Vec<Place>>, ApiError> {
    authed.may(Action::ViewGround)?;
    let ground = state.ground();
    Ok(Json(
        ground
            .search_places(
                &query.q,
                crate::dto::limit_within(
                    query.limit.map(|n| u32::try_from(n).unwrap_or(u32::MAX)),
                    20,
                    100,
                )? as usize,
            )
            .into_iter()
            .cloned()
            .collect(),
    ))
}
