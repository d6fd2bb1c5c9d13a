//! Unit handlers: the board, status reports and position reports.

use crate::AppState;
use crate::auth::Authed;
use crate::dto::*;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{JsonBody, PathId};
use axum::Json;
use axum::extract::State;
use precinct_domain::ids::UnitId;
use precinct_domain::user::{Role, User};

/// Dispatchers and admins act for any unit; officers and volunteers only for
/// their own.
fn may_act_for(user: &User, unit: UnitId) -> Result<(), ApiError> {
    match user.role {
        Role::Admin | Role::Dispatcher => Ok(()),
        Role::Officer | Role::Volunteer if user.unit_id == Some(unit) => Ok(()),
        _ => Err(ApiError::forbidden()),
    }
}

#[utoipa::path(
    get, path = "/api/units", operation_id = "list_units", tag = "units",
    responses((status = 200, body = [UnitDto])),
    security(("bearer" = []))
)]
pub async fn list_units(
    State(state): State<AppState>,
    authed: Authed,
) -> Result<Json<Vec<UnitDto>>, ApiError> {
    authed.require(Role::ALL)?;
    let units = state.store.list_units().await?;
    Ok(Json(units.iter().map(UnitDto::from).collect()))
}

#[utoipa::path(
    post, path = "/api/units/{id}/status", operation_id = "update_unit_status", tag = "units",
    params(("id" = i64, Path, description = "Unit id")),
    request_body = UnitStatusRequest,
    responses(
        (status = 200, body = UnitDto),
        (status = 409, description = "Illegal transition; nothing changed", body = ErrorBody),
        (status = 403, body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn update_unit_status(
    State(state): State<AppState>,
    authed: Authed,
    PathId(id): PathId,
    JsonBody(request): JsonBody<UnitStatusRequest>,
) -> Result<Json<UnitDto>, ApiError> {
    may_act_for(&authed.0, UnitId(id))?;
    let status = request.parse()?;
    let unit = state
        .store
        .update_unit_status(UnitId(id), status, authed.actor())
        .await?;
    Ok(Json(UnitDto::from(&unit)))
}

#[utoipa::path(
    post, path = "/api/units/{id}/position", operation_id = "report_unit_position", tag = "units",
    params(("id" = i64, Path, description = "Unit id")),
    request_body = PositionRequest,
    responses((status = 200, body = UnitDto), (status = 422, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = []))
)]
pub async fn report_unit_position(
    State(state): State<AppState>,
    authed: Authed,
    PathId(id): PathId,
    JsonBody(request): JsonBody<PositionRequest>,
) -> Result<Json<UnitDto>, ApiError> {
    may_act_for(&authed.0, UnitId(id))?;
    let position = LocationInput {
        lat: request.lat,
        lon: request.lon,
        datum: request.datum,
    }
    .parse()?;
    let unit = state
        .store
        .report_unit_position(UnitId(id), position, authed.actor())
        .await?;
    Ok(Json(UnitDto::from(&unit)))
}
