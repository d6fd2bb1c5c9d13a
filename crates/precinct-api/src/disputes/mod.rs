//! Disputes: cases, mediation sessions, agreements, follow-ups.

pub mod cases;

use crate::gate::{Gate, Routes};
use precinct_domain::policy::Action::*;
use utoipa_axum::routes;

pub(crate) fn routes() -> Routes {
    Routes::default()
        .add(
            Gate::Session(ViewOrganisations),
            routes!(cases::list_organisations),
        )
        .add(Gate::Session(OpenDispute), routes!(cases::open_dispute))
        .add(Gate::Session(ListDisputes), routes!(cases::list_disputes))
        .add(Gate::Session(ViewDispute), routes!(cases::get_dispute))
        .add(Gate::Session(AcceptDispute), routes!(cases::accept_dispute))
        .add(Gate::Session(WorkDispute), routes!(cases::plan_session))
        .add(Gate::Session(WorkDispute), routes!(cases::record_session))
        .add(Gate::Session(WorkDispute), routes!(cases::record_agreement))
        .add(Gate::Session(WorkDispute), routes!(cases::sign_agreement))
        .add(Gate::Session(WorkDispute), routes!(cases::record_follow_up))
        .add(Gate::Session(WorkDispute), routes!(cases::refer_dispute))
        .add(Gate::Session(WorkDispute), routes!(cases::close_dispute))
        .add(
            Gate::Session(PrintAgreement),
            routes!(cases::print_agreement),
        )
}
