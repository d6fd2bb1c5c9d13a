//! The station's figures: response and dispute figures, the station's own
//! figures, series and breakdowns, reports and hotspots.

pub mod hotspots;
pub mod reports;
pub mod response;
mod schema;
pub mod station;

use crate::AppState;
use crate::error::ApiError;
use crate::gate::{Gate, Routes};
use precinct_domain::Timestamp;
use precinct_domain::incident::Incident;
use precinct_domain::policy::Action::ViewFigures;
use precinct_storage::IncidentFilter;
use utoipa_axum::routes;

/// The most incidents an answer computed from the incidents themselves
/// (response figures, hotspots, the hotspot sheet and the briefing's map)
/// reads. A period holding more is refused, never cut short: the station's
/// figures, breakdowns and series serve any period from the rollups.
pub const MAX_PERIOD_INCIDENTS: u32 = 200_000;

/// Every incident reported in [from, until), or 422 `period_too_large`
/// when there are more than [`MAX_PERIOD_INCIDENTS`].
pub(crate) async fn period_incidents(
    state: &AppState,
    from: Timestamp,
    until: Timestamp,
) -> Result<Vec<Incident>, ApiError> {
    let incidents = state
        .store
        .list_incidents(IncidentFilter {
            reported_from: Some(from),
            reported_until: Some(until),
            limit: MAX_PERIOD_INCIDENTS + 1,
            ..IncidentFilter::default()
        })
        .await?;
    if incidents.len() > MAX_PERIOD_INCIDENTS as usize {
        return Err(ApiError::unprocessable(
            "period_too_large",
            format!(
                "the period holds more than {MAX_PERIOD_INCIDENTS} incidents: choose a shorter one \
                 (the station's figures, breakdowns and series serve any period)"
            ),
            format!(
                "该时段警情超过 {MAX_PERIOD_INCIDENTS} 起，请缩短时段（本所统计、分类与趋势可查询任意时段）"
            ),
        ));
    }
    Ok(incidents)
}

pub(crate) fn routes() -> Routes {
    let gate = Gate::Session(ViewFigures);
    Routes::default()
        .add(gate, routes!(response::response_figures))
        .add(gate, routes!(response::dispute_figures))
        .add(gate, routes!(station::station_figures))
        .add(gate, routes!(station::figures_breakdown))
        .add(gate, routes!(station::figures_series))
        .add(gate, routes!(reports::export_figures))
        .add(gate, routes!(reports::monthly_briefing))
        .add(gate, routes!(hotspots::hotspots))
        .add(gate, routes!(hotspots::cell_incidents))
}
