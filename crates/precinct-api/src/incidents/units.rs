//! Unit handlers: the board, status reports and position reports.

use crate::AppState;
use crate::dto::*;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{JsonBody, PathId};
use crate::session::Authed;
use axum::Json;
use axum::extract::State;
use precinct_domain::ids::UnitId;
use precinct_domain::policy::{self, Action};
use precinct_domain::user::User;

/// Whether `user` may do `action` for this unit (the policy: dispatchers
/// and admins for any unit, officers and volunteers for their own).
fn may_act_for(user: &User, action: Action, unit: UnitId) -> Result<(), ApiError> {
    if policy::allows(user.role, action, &policy::unit_relations(user, unit)) {
        Ok(())
    } else {
        Err(ApiError::forbidden())
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
    authed.may(Action::ViewUnits)?;
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
    may_act_for(&authed.0, Action::ReportForUnit, UnitId(id))?;
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
    may_act_for(&authed.0, Action::ReportForUnit, UnitId(id))?;
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

/// A helper's current first-response task (先期处置任务).
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct TaskDto {
    pub unit_id: i64,
    /// The incident (callers' details masked).
    pub incident: IncidentDto,
    /// What to do until police arrive.
    pub instruction_zh: String,
    pub instruction_en: String,
    pub assigned_at: chrono::DateTime<chrono::Utc>,
    pub accepted_at: Option<chrono::DateTime<chrono::Utc>>,
    pub arrived_at: Option<chrono::DateTime<chrono::Utc>>,
    /// Police are on scene: the helper may hand over.
    pub police_on_scene: bool,
}

#[derive(Debug, Default, serde::Deserialize, utoipa::ToSchema)]
pub struct DeclineRequest {
    #[serde(default)]
    #[schema(max_length = 500)]
    pub reason: Option<String>,
}

fn no_task(id: i64) -> ApiError {
    ApiError::not_found(&format!("first-response task of unit {id}"))
}

#[utoipa::path(
    get, path = "/api/units/{id}/task", operation_id = "get_unit_task", tag = "units",
    params(("id" = i64, Path, description = "Unit id")),
    responses((status = 200, body = TaskDto), (status = 404, description = "No open task", body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = []))
)]
pub async fn get_unit_task(
    State(state): State<AppState>,
    authed: Authed,
    PathId(id): PathId,
) -> Result<Json<TaskDto>, ApiError> {
    may_act_for(&authed.0, Action::AnswerTask, UnitId(id))?;
    let unit = state.store.get_unit(UnitId(id)).await?;
    let incident_id = unit
        .incident_id
        .filter(|_| !unit.kind.is_police())
        .ok_or_else(|| no_task(id))?;
    let incident = state.store.get_incident(incident_id).await?;
    let assignment = incident
        .active_assignment(unit.id)
        .ok_or_else(|| no_task(id))?
        .clone();
    let (zh, en) = precinct_domain::incident::first_response_instruction(&incident.category);
    Ok(Json(TaskDto {
        unit_id: id,
        incident: IncidentDto::new(&incident, &state.ground(), PersonalData::Masked),
        instruction_zh: zh.into(),
        instruction_en: en.into(),
        assigned_at: assignment.assigned_at,
        accepted_at: assignment.accepted_at,
        arrived_at: assignment.arrived_at,
        police_on_scene: incident.first_police_on_scene_at.is_some(),
    }))
}

#[utoipa::path(
    post, path = "/api/units/{id}/task/accept", operation_id = "accept_task", tag = "units",
    params(("id" = i64, Path, description = "Unit id")),
    responses((status = 200, description = "Accepted; the unit is en route", body = UnitDto), (status = 422, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = []))
)]
pub async fn accept_task(
    State(state): State<AppState>,
    authed: Authed,
    PathId(id): PathId,
) -> Result<Json<UnitDto>, ApiError> {
    may_act_for(&authed.0, Action::AnswerTask, UnitId(id))?;
    let unit = state.store.accept_task(UnitId(id), authed.actor()).await?;
    Ok(Json(UnitDto::from(&unit)))
}

#[utoipa::path(
    post, path = "/api/units/{id}/task/decline", operation_id = "decline_task", tag = "units",
    params(("id" = i64, Path, description = "Unit id")),
    request_body = DeclineRequest,
    responses((status = 200, description = "Declined; the unit is back on patrol", body = UnitDto), (status = 422, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = []))
)]
pub async fn decline_task(
    State(state): State<AppState>,
    authed: Authed,
    PathId(id): PathId,
    JsonBody(request): JsonBody<DeclineRequest>,
) -> Result<Json<UnitDto>, ApiError> {
    may_act_for(&authed.0, Action::AnswerTask, UnitId(id))?;
    let unit = state
        .store
        .decline_task(
            UnitId(id),
            request
                .reason
                .as_deref()
                .filter(|r| !r.trim().is_empty())
                .map(|r| crate::dto::bounded("reason", r, 500))
                .transpose()?,
            authed.actor(),
        )
        .await?;
    Ok(Json(UnitDto::from(&unit)))
}

#[utoipa::path(
    post, path = "/api/units/{id}/task/handover", operation_id = "hand_over", tag = "units",
    params(("id" = i64, Path, description = "Unit id")),
    responses((status = 200, description = "Handed over to the police on scene; back on patrol", body = UnitDto), (status = 422, description = "Not on scene, or no police on scene yet", body = ErrorBody)),
    security(("bearer" = []))
)]
pub async fn hand_over(
    State(state): State<AppState>,
    authed: Authed,
    PathId(id): PathId,
) -> Result<Json<UnitDto>, ApiError> {
    may_act_for(&authed.0, Action::AnswerTask, UnitId(id))?;
    let unit = state.store.hand_over(UnitId(id), authed.actor()).await?;
    Ok(Json(UnitDto::from(&unit)))
}

/// A unit's track over a period.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TrackQuery {
    /// Start of the period (RFC 3339, inclusive).
    pub from: chrono::DateTime<chrono::Utc>,
    /// End of the period (RFC 3339, exclusive); at most 7 days after `from`.
    pub until: chrono::DateTime<chrono::Utc>,
    /// At most this many points, oldest first (default and maximum 20,000).
    #[param(minimum = 1, maximum = 20000)]
    pub limit: Option<u32>,
}

/// The most points a track answer holds.
const TRACK_POINTS: u32 = 20_000;

/// Where a unit reported itself, and when.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct TrackPointDto {
    pub at: chrono::DateTime<chrono::Utc>,
    pub lat: f64,
    pub lon: f64,
}

/// A unit's track: its position reports over a period, oldest first.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct TrackDto {
    pub unit_id: i64,
    pub from: chrono::DateTime<chrono::Utc>,
    pub until: chrono::DateTime<chrono::Utc>,
    pub points: Vec<TrackPointDto>,
    /// True when the period held more points than `limit`: the answer
    /// stops at the limit (ask again from the last point's time).
    pub truncated: bool,
}

#[utoipa::path(
    get, path = "/api/units/{id}/track", operation_id = "unit_track", tag = "units",
    params(("id" = i64, Path, description = "Unit id"), TrackQuery),
    responses(
        (status = 200, description = "The unit's position reports over the period, oldest first (a track, kept apart from incidents' timelines)", body = TrackDto),
        (status = 404, body = ErrorBody),
        (status = 422, description = "A period that ends before it starts or spans more than 7 days, or a limit outside 1–20,000 (`invalid_period`, `invalid_limit`)", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn unit_track(
    State(state): State<AppState>,
    authed: Authed,
    PathId(id): PathId,
    crate::extract::QueryParams(query): crate::extract::QueryParams<TrackQuery>,
) -> Result<Json<TrackDto>, ApiError> {
    authed.may(Action::ViewUnits)?;
    if query.until <= query.from || query.until - query.from > chrono::Duration::days(7) {
        return Err(ApiError::unprocessable(
            "invalid_period",
            "until must be after from, and at most 7 days after it",
            "结束时间须晚于开始时间，且相隔不超过7天",
        ));
    }
    let limit = query.limit.unwrap_or(TRACK_POINTS);
    if !(1..=TRACK_POINTS).contains(&limit) {
        return Err(ApiError::unprocessable(
            "invalid_limit",
            "limit must be 1 to 20000",
            "limit 应为 1 至 20000",
        ));
    }
    let unit = state.store.get_unit(UnitId(id)).await?;
    let mut points = state
        .store
        .unit_track(unit.id, query.from, query.until, limit + 1)
        .await?;
    let truncated = points.len() > limit as usize;
    points.truncate(limit as usize);
    Ok(Json(TrackDto {
        unit_id: unit.id.0,
        from: query.from,
        until: query.until,
        points: points
            .iter()
            .map(|p| TrackPointDto {
                at: p.at,
                lat: p.position.lat(),
                lon: p.position.lon(),
            })
            .collect(),
        truncated,
    }))
}

/// A unit's way to its incident and when it should arrive.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct RouteDto {
    pub unit_id: i64,
    pub incident_id: i64,
    /// `driving` or `walking`, as the unit's kind travels.
    pub travel: String,
    /// From the unit's last position along the roads to the incident.
    pub path: Vec<Point>,
    pub distance_m: f64,
    pub eta_seconds: f64,
    /// A straight line (no road network, or none joining them): the time is
    /// an estimate.
    pub estimated: bool,
    /// When the route was reckoned, and the arrival it gives (count down to it).
    pub computed_at: chrono::DateTime<chrono::Utc>,
    pub arrive_by: chrono::DateTime<chrono::Utc>,
    /// When the unit last reported the position the route starts from.
    pub position_at: Option<chrono::DateTime<chrono::Utc>>,
}

#[utoipa::path(
    get, path = "/api/units/{id}/route", operation_id = "unit_route", tag = "units",
    params(("id" = i64, Path, description = "Unit id")),
    responses(
        (status = 200, description = "A dispatched or en-route unit's road route from its last position to its incident (the path its recommendation's time was reckoned on, closures avoided) with its ETA", body = RouteDto),
        (status = 404, description = "No such unit, or it is not on its way to an incident or has no position (`no_route`)", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn unit_route(
    State(state): State<AppState>,
    authed: Authed,
    PathId(id): PathId,
) -> Result<Json<RouteDto>, ApiError> {
    use precinct_domain::unit::UnitStatus;
    authed.may(Action::ViewUnits)?;
    let unit = state.store.get_unit(UnitId(id)).await?;
    let no_route = || {
        ApiError::new(
            axum::http::StatusCode::NOT_FOUND,
            "no_route",
            format!("unit {id} is not on its way to an incident, or its position is unknown"),
            "该警力未在赶赴警情途中,或位置未知",
        )
    };
    let (Some(incident_id), Some(from), true) = (
        unit.incident_id,
        unit.position,
        matches!(unit.status, UnitStatus::Dispatched | UnitStatus::EnRoute),
    ) else {
        return Err(no_route());
    };
    let incident = state.store.get_incident(incident_id).await?;
    let mut closures = precinct_geo::roads::Closures::default();
    for closure in state.store.road_closures().await? {
        closures.close(closure.segment);
    }
    let travel = precinct_domain::recommend::unit_travel(unit.kind);
    let roads = state.roads();
    let to = incident.location;
    let route = tokio::task::spawn_blocking(move || {
        precinct_domain::recommend::route_between(from, to, travel, &roads, &closures)
    })
    .await
    .map_err(|_| ApiError::internal())?;
    let now = state.clock.now();
    Ok(Json(RouteDto {
        unit_id: unit.id.0,
        incident_id: incident_id.0,
        travel: match travel {
            precinct_domain::plan::TravelMode::Driving => "driving",
            precinct_domain::plan::TravelMode::Walking => "walking",
        }
        .into(),
        path: route.path.into_iter().map(Point::from).collect(),
        distance_m: route.distance_m.round(),
        eta_seconds: route.eta_seconds.round(),
        estimated: route.estimated,
        computed_at: now,
        arrive_by: now + chrono::Duration::milliseconds((route.eta_seconds * 1000.0) as i64),
        position_at: unit.position_at,
    }))
}
