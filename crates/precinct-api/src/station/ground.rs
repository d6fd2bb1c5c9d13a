//! The station's ground: the whole jurisdiction, point resolution, place search.

use crate::AppState;
use crate::dto::*;
use crate::error::{ApiError, ErrorBody};
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

/// An address search.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AddressQuery {
    /// What the caller said: a place, a street, "A路与B路交叉口" or "A / B";
    /// any part of a name, pinyin initials (msqj) or one typo in a longer name.
    pub q: String,
    /// At most this many (default 10; 1 to 50).
    #[param(minimum = 1, maximum = 50)]
    pub limit: Option<u32>,
}

/// A point to name.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReverseQuery {
    pub lat: f64,
    pub lon: f64,
}

/// An address found.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct AddressDto {
    /// place (the station's own), house (a street and house number),
    /// intersection, poi (a named place of the road network's extract) or
    /// street.
    pub kind: String,
    pub name: String,
    /// What intake takes as the address.
    pub address: String,
    pub location: crate::dto::Point,
    /// The place, for intake's `place_id`.
    pub place_id: Option<i64>,
    /// From the ground's middle (search) or from the point asked (reverse).
    pub distance_m: f64,
}

impl From<precinct_domain::address::AddressHit> for AddressDto {
    fn from(h: precinct_domain::address::AddressHit) -> AddressDto {
        AddressDto {
            kind: h.kind.as_str().to_owned(),
            name: h.name,
            address: h.address,
            location: h.location.into(),
            place_id: h.place_id.map(|p| p.0),
            distance_m: h.distance_m.round(),
        }
    }
}

/// The reverse lookup's answer: the address there, if any is near.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct ReverseDto {
    pub address: Option<AddressDto>,
}

/// The middle of the ground (its zones'), where searches rank from.
fn ground_middle(
    ground: &precinct_domain::ground::Jurisdiction,
) -> Option<precinct_domain::Coordinates> {
    let centres: Vec<_> = ground.zones.iter().map(|z| z.boundary.centroid()).collect();
    let centres = if centres.is_empty() {
        ground.places.iter().map(|p| p.location).collect()
    } else {
        centres
    };
    let n = centres.len() as f64;
    (n > 0.0).then(|| {
        let (lat, lon) = centres
            .iter()
            .fold((0.0, 0.0), |(a, b), c| (a + c.lat(), b + c.lon()));
        precinct_domain::Coordinates::new(lat / n, lon / n).unwrap_or(centres[0])
    })
}

#[utoipa::path(
    get, path = "/api/addresses", operation_id = "search_addresses", tag = "ground",
    params(AddressQuery),
    responses(
        (status = 200, description = "The station's places first, then a street and house number, intersections, then named places and streets of its road network's extract; each by how well it matches, then nearest the ground", body = [AddressDto]),
        (status = 422, description = "A limit outside 1–50 (`invalid_limit`)", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn search_addresses(
    State(state): State<AppState>,
    authed: Authed,
    QueryParams(query): QueryParams<AddressQuery>,
) -> Result<Json<Vec<AddressDto>>, ApiError> {
    authed.may(Action::ViewGround)?;
    let limit = query.limit.unwrap_or(10);
    if !(1..=50).contains(&limit) {
        return Err(ApiError::unprocessable(
            "invalid_limit",
            "limit must be 1 to 50",
            "limit 应为 1 至 50",
        ));
    }
    let ground = state.ground();
    let streets = state.streets();
    let q: String = query.q.chars().take(100).collect();
    let hits = tokio::task::spawn_blocking(move || {
        let near = ground_middle(&ground)
            .unwrap_or_else(|| precinct_domain::Coordinates::new(0.0, 0.0).expect("a point"));
        precinct_domain::address::search(&ground, &streets, &q, near, limit as usize)
    })
    .await
    .map_err(|_| ApiError::internal())?;
    Ok(Json(hits.into_iter().map(AddressDto::from).collect()))
}

#[utoipa::path(
    get, path = "/api/addresses/reverse", operation_id = "reverse_geocode", tag = "ground",
    params(ReverseQuery),
    responses(
        (status = 200, description = "The place within 60 m, else the house or named place within 40 m, else the nearest named street within 200 m (\"X路附近\"), else none", body = ReverseDto),
        (status = 422, description = "Coordinates out of range (`coordinates_out_of_range`)", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn reverse_geocode(
    State(state): State<AppState>,
    authed: Authed,
    QueryParams(query): QueryParams<ReverseQuery>,
) -> Result<Json<ReverseDto>, ApiError> {
    authed.may(Action::ViewGround)?;
    let at = precinct_domain::Coordinates::new(query.lat, query.lon).map_err(|_| {
        ApiError::unprocessable(
            "coordinates_out_of_range",
            "lat must be -90 to 90 and lon -180 to 180",
            "坐标超出范围",
        )
    })?;
    let (ground, streets) = (state.ground(), state.streets());
    let hit = tokio::task::spawn_blocking(move || {
        precinct_domain::address::reverse(&ground, &streets, at)
    })
    .await
    .map_err(|_| ApiError::internal())?;
    Ok(Json(ReverseDto {
        address: hit.map(AddressDto::from),
    }))
}
