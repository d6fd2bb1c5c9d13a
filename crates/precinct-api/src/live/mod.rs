//! The live stream of committed events.

pub mod stream;

use crate::gate::{Gate, Routes};
use precinct_domain::policy::Action::UseOwnAccount;
use utoipa_axum::routes;

pub(crate) fn routes() -> Routes {
    Routes::default()
        .add(Gate::Session(UseOwnAccount), routes!(stream::stream_events))
        .schema::<stream::StreamData>()
}
