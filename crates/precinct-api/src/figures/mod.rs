//! The station's figures: response and dispute figures, the station's own
//! figures, series and breakdowns, reports and hotspots.

pub mod hotspots;
pub mod reports;
pub mod response;
mod schema;
pub mod station;

use crate::gate::{Gate, Routes};
use precinct_domain::policy::Action::ViewFigures;
use utoipa_axum::routes;

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
}
