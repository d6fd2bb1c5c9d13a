//! The station's figures over a period: response times (issue 4) and
//! disputes (issue 6), each with its definitions.

use crate::AppState;
use crate::error::{ApiError, ErrorBody};
use crate::extract::QueryParams;
use crate::session::Authed;
use axum::Json;
use axum::extract::State;
use chrono::{DateTime, Utc};
use precinct_domain::figures::{Durations, ResponseFigures};
use precinct_domain::incident::CategoryFamily;
use precinct_domain::policy::Action;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
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
    authed.may(Action::ViewFigures)?;
    check_period(&period)?;
    let incidents = super::period_incidents(&state, period.from, period.until).await?;
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

/// The definitions of the dispute figures, served with them.
pub const DISPUTE_DEFINITIONS: &str = "taken_in: disputes opened (registered) in [from, until), from any source. \
resolved (化解): of those, the ones whose parties reached an agreement that has not relapsed since (a relapse found at a follow-up visit un-resolves the case until a new agreement). \
unresolved: of those, mediation failed or referred to the court, the petition office or arbitration without an agreement. \
resolution_rate (矛盾纠纷化解率): resolved ÷ (resolved + unresolved); cases still being worked and those dismissed as not for mediation are in neither term; null when none has concluded. \
time_to_resolution: seconds from registration to the agreement, over resolved cases (nearest-rank percentiles). \
relapse_rate: among cases with a follow-up visit recorded, the share where a visit found a relapse. \
by_category, by_community, by_organisation (the responsible one): the same counts per group. \
dispute_incidents: dispute-type incidents (纠纷类警情: neighbour/noise, commercial/debt, family and other disputes) reported in the period and in the same period a year earlier (同比), merged duplicates excluded; change = (this − last) ÷ last.";

#[derive(Debug, Serialize, ToSchema)]
pub struct DisputeCountsDto {
    /// The category, community or organisation counted (null community: outside any).
    pub key: Option<String>,
    pub name: Option<String>,
    pub taken_in: usize,
    pub resolved: usize,
    pub unresolved: usize,
    pub resolution_rate: Option<f64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct YearOnYearDto {
    pub this_period: usize,
    pub same_period_last_year: usize,
    /// (this − last) ÷ last; null when last is 0.
    pub change: Option<f64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DisputeFiguresDto {
    pub from: DateTime<Utc>,
    pub until: DateTime<Utc>,
    pub taken_in: usize,
    pub resolved: usize,
    pub unresolved: usize,
    pub resolution_rate: Option<f64>,
    pub time_to_resolution: DurationsDto,
    pub visited: usize,
    pub relapsed: usize,
    pub relapse_rate: Option<f64>,
    pub by_category: Vec<DisputeCountsDto>,
    pub by_community: Vec<DisputeCountsDto>,
    pub by_organisation: Vec<DisputeCountsDto>,
    pub dispute_incidents: YearOnYearDto,
    pub definitions: String,
}

fn counts_dto(
    key: Option<String>,
    name: Option<String>,
    c: &precinct_domain::figures::DisputeCounts,
) -> DisputeCountsDto {
    DisputeCountsDto {
        key,
        name,
        taken_in: c.taken_in,
        resolved: c.resolved,
        unresolved: c.unresolved,
        resolution_rate: c.resolution_rate(),
    }
}

pub(crate) fn check_period(period: &PeriodQuery) -> Result<(), ApiError> {
    if period.from >= period.until || period.until - period.from > chrono::Duration::days(400) {
        return Err(ApiError::unprocessable(
            "invalid_period",
            "from must be before until, and the period at most 400 days",
            "统计时段无效:开始须早于结束,且不超过400天",
        ));
    }
    Ok(())
}

#[utoipa::path(
    get, path = "/api/figures/disputes", operation_id = "dispute_figures", tag = "figures",
    params(PeriodQuery),
    responses(
        (status = 200, description = "Dispute figures for disputes opened in [from, until), with their definitions (also in the `definitions` field): taken_in: opened in the period. resolved: an agreement reached and not relapsed since. unresolved: mediation failed or referred without an agreement. resolution_rate = resolved ÷ (resolved + unresolved); cases still worked or dismissed count in neither. time_to_resolution: registration → agreement. relapse_rate: relapses ÷ cases visited. dispute_incidents: dispute-type incidents this period vs the same period a year earlier.", body = DisputeFiguresDto),
        (status = 422, description = "from is not before until, or the period is longer than 400 days", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn dispute_figures(
    State(state): State<AppState>,
    authed: Authed,
    QueryParams(period): QueryParams<PeriodQuery>,
) -> Result<Json<DisputeFiguresDto>, ApiError> {
    authed.may(Action::ViewFigures)?;
    check_period(&period)?;
    let disputes = state.store.list_disputes().await?;
    let f = precinct_domain::figures::DisputeFigures::of(&disputes, period.from, period.until);
    // Dispute-type incidents this period and a year earlier, from the rollups.
    let compared = crate::figures::station::Compared::of(&period);
    let queries = [compared.this, compared.last_year]
        .into_iter()
        .map(|(from, until)| precinct_storage::rollups::RollupQuery {
            dim: precinct_storage::rollups::RollupDim::Family,
            from,
            until,
            grain: precinct_storage::rollups::Grain::Total,
        })
        .collect();
    let answers = state.store.figure_rollups(queries).await?;
    let disputes_in = |rows: &[precinct_storage::rollups::RollupRow]| {
        rows.iter()
            .filter(|r| r.key == CategoryFamily::Dispute.as_str())
            .map(|r| r.measures.n as usize)
            .sum::<usize>()
    };
    let (now, before) = (disputes_in(&answers[0]), disputes_in(&answers[1]));
    let change = (before > 0).then(|| (now as f64 - before as f64) / before as f64);
    let ground = state.ground();
    Ok(Json(DisputeFiguresDto {
        from: period.from,
        until: period.until,
        taken_in: f.all.taken_in,
        resolved: f.all.resolved,
        unresolved: f.all.unresolved,
        resolution_rate: f.all.resolution_rate(),
        time_to_resolution: f.time_to_resolution.into(),
        visited: f.visited,
        relapsed: f.relapsed,
        relapse_rate: f.relapse_rate(),
        by_category: f
            .by_category
            .iter()
            .map(|(k, c)| counts_dto(Some(k.clone()), None, c))
            .collect(),
        by_community: f
            .by_community
            .iter()
            .map(|(k, c)| {
                let name = k.and_then(|id| {
                    ground
                        .community(precinct_domain::ids::CommunityId(id))
                        .map(|c| c.name.clone())
                });
                counts_dto(k.map(|id| id.to_string()), name, c)
            })
            .collect(),
        by_organisation: f
            .by_organisation
            .iter()
            .map(|(k, c)| {
                let name = ground
                    .organisation(precinct_domain::ids::OrganisationId(*k))
                    .map(|o| o.name.clone());
                counts_dto(Some(k.to_string()), name, c)
            })
            .collect(),
        dispute_incidents: YearOnYearDto {
            this_period: now,
            same_period_last_year: before,
            change,
        },
        definitions: DISPUTE_DEFINITIONS.into(),
    }))
}
