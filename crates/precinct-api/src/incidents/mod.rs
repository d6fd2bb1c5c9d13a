//! Incidents from intake to close, dispatch and its recommendations, and the
//! units' status, positions and tasks.

pub mod dispatch;
pub mod intake;
pub mod photos;
pub mod units;

use crate::gate::{Gate, Routes};
use axum::extract::DefaultBodyLimit;
use precinct_domain::policy::Action::*;
use utoipa_axum::routes;

pub(crate) fn routes() -> Routes {
    let upload = |router: axum::routing::MethodRouter<_>| {
        router.layer(DefaultBodyLimit::max(photos::MAX_FIELD_UPLOAD_BYTES))
    };
    Routes::default()
        .add_with(
            Gate::Session(ReportIncident),
            routes!(photos::report_from_field),
            upload,
        )
        .add_with(
            Gate::Session(AddIncidentNote),
            routes!(photos::attach_photo),
            upload,
        )
        .add(Gate::Session(ViewIncidents), routes!(photos::get_photo))
        .add_idempotent(
            Gate::Session(ReportIncident),
            routes!(intake::create_incident),
        )
        .add(
            Gate::Session(ViewIncidents),
            routes!(intake::list_incidents),
        )
        .add(Gate::Session(ViewIncidents), routes!(intake::get_incident))
        .add_idempotent(
            Gate::Session(DispatchUnits),
            routes!(intake::dispatch_units),
        )
        .add(
            Gate::Session(PlanResponse),
            routes!(dispatch::recommend_response),
        )
        .add_idempotent(
            Gate::Session(DispatchUnits),
            routes!(dispatch::dispatch_plan),
        )
        .add(
            Gate::Session(AddIncidentNote),
            routes!(intake::add_incident_note),
        )
        .add(
            Gate::Session(CloseIncident),
            routes!(intake::close_incident),
        )
        .add(
            Gate::Session(MergeIncidents),
            routes!(intake::merge_incidents),
        )
        .add(Gate::Session(ViewUnits), routes!(units::list_units))
        .add(Gate::Session(ViewUnits), routes!(units::unit_track))
        .add(Gate::Session(ViewUnits), routes!(units::unit_route))
        .add(
            Gate::Session(ReportForUnit),
            routes!(units::update_unit_status),
        )
        .add(
            Gate::Session(ReportForUnit),
            routes!(units::report_unit_position),
        )
        .add(Gate::Session(AnswerTask), routes!(units::get_unit_task))
        .add(Gate::Session(AnswerTask), routes!(units::accept_task))
        .add(Gate::Session(AnswerTask), routes!(units::decline_task))
        .add(Gate::Session(AnswerTask), routes!(units::hand_over))
}
