//! The station's figures over a period (issue 4: response times; more to come).

use crate::AppState;
use crate::auth::Authed;
use crate::error::{ApiError, ErrorBody};
use crate::extract::QueryParams;
use axum::Json;
use axum::extract::State;
use chrono::{DateTime, Utc};
use precinct_domain::figures::{Durations, ResponseFigures};
use precinct_domain::user::Role;
use precinct_storage::IncidentFilter;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

const READERS: &[Role] = &[Role::Admin, Role::Dispatcher, Role::Analyst];
/// Most incidents one figure is computed over.
const MAX_INCIDENTS: u32 = 200_000;

#[derive(Debug, Deserialize, IntoParams)]
pub struct PeriodQuery {
    /// Start of the period (RFC 3339, inclusive).
    pub from: DateTime<Utc>,
    /// End of the period (RFC 3339, exclusive).
    pub until: DateTime<Utc>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DurationsDto {
    pub count: usize,
    pub mean_seconds: Option<f64>,
    pub median_seconds: Option<f64>,
    pub p90_seconds: Option<f64>,
}

impl From<Durations> for DurationsDto {
    fn from(d: Durations) -> DurationsDto {
        DurationsDto {
            count: d.count,
            mean_seconds: d.mean,
            median_seconds: d.median,
            p90_seconds: d.p90,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ResponseFiguresDto {
    pub from: DateTime<Utc>,
    pub until: DateTime<Utc>,
    /// Incidents reported in the period, merged duplicates excluded.
    pub incidents: usize,
    pub dispatched: usize,
    pub closed: usize,
    /// Report → first police unit on scene (出警速度).
    pub police_response: DurationsDto,
    /// Report → first helper on scene (先期处置).
    pub first_response: DurationsDto,
    /// Closed as resolved on scene ÷ closed (现场警情处置率).
    pub on_scene_resolution_rate: Option<f64>,
}

#[utoipa::path(
    get, path = "/api/figures/response", operation_id = "response_figures", tag = "figures",
    params(PeriodQuery),
    responses(
        (status = 200, description = "Response figures for incidents reported in [from, until). Definitions: incidents exclude merged duplicates; police_response is seconds from the report to the first police unit on scene, over incidents police reached; first_response likewise for the first volunteer, security-force or property team; percentiles are nearest-rank; on_scene_resolution_rate is closed-as-resolved-on-scene ÷ closed.", body = ResponseFiguresDto),
        (status = 422, description = "from is not before until, or the period is longer than 400 days", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn response_figures(
    State(state): State<AppState>,
    authed: Authed,
    QueryParams(period): QueryParams<PeriodQuery>,
) -> Result<Json<ResponseFiguresDto>, ApiError> {
    authed.require(READERS)?;
    if period.from >= period.until || period.until - period.from > chrono::Duration::days(400) {
        return Err(ApiError::unprocessable(
            "invalid_period",
            "from must be before until, and the period at most 400 days",
            "统计时段无效:开始须早于结束,且不超过400天",
        ));
    }
    let filter = IncidentFilter {
        reported_from: Some(period.from),
        reported_until: Some(period.until),
        limit: MAX_INCIDENTS,
        ..IncidentFilter::default()
    };
    let incidents = state.store.list_incidents(filter).await?;
    let f = ResponseFigures::of(&incidents);
    Ok(Json(ResponseFiguresDto {
        from: period.from,
        until: period.until,
        incidents: f.incidents,
        dispatched: f.dispatched,
        closed: f.closed,
        police_response: f.police_response.into(),
        first_response: f.first_response.into(),
        on_scene_resolution_rate: f.on_scene_resolution_rate,
    }))
}
