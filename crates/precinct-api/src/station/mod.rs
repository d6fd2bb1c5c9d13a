//! The station: its package (import, export, validate), history, ground,
//! roads and the console's configuration and base map.

pub mod console;
pub mod ground;
pub(crate) mod ground_schema;
pub mod history;
pub mod package;
pub mod roads;

use crate::gate::{Gate, Routes};
use axum::extract::DefaultBodyLimit;
use precinct_domain::policy::Action::*;
use utoipa_axum::routes;

pub(crate) fn routes() -> Routes {
    let upload = |max| {
        move |router: axum::routing::MethodRouter<_>| router.layer(DefaultBodyLimit::max(max))
    };
    Routes::default()
        .add_with(
            Gate::Session(ManageStation),
            routes!(package::validate_station_package),
            upload(package::MAX_UPLOAD_BYTES),
        )
        .add_with(
            Gate::Session(ManageStation),
            routes!(package::import_station_package),
            upload(package::MAX_UPLOAD_BYTES),
        )
        .add(
            Gate::Session(ManageStation),
            routes!(package::export_station_package),
        )
        .add(
            Gate::Session(ManageStation),
            routes!(package::station_package_template),
        )
        .add_with(
            Gate::Session(ManageStation),
            routes!(history::import_history),
            upload(history::MAX_HISTORY_BYTES),
        )
        .add(Gate::Session(ViewGround), routes!(ground::get_jurisdiction))
        .add(Gate::Session(ViewGround), routes!(ground::resolve_location))
        .add(Gate::Session(ViewGround), routes!(ground::search_places))
        .add(Gate::Session(ViewGround), routes!(ground::search_addresses))
        .add(Gate::Session(ViewGround), routes!(ground::reverse_geocode))
        .add(
            Gate::Session(ViewGround),
            routes!(console::get_console_config),
        )
        .add(Gate::Session(ViewGround), routes!(console::get_basemap))
        .add(Gate::Session(ViewGround), routes!(console::get_base_tile))
        .add(Gate::Session(ViewGround), routes!(roads::map_roads))
        .add(
            Gate::Session(ViewGround),
            routes!(roads::list_road_closures),
        )
        .add(Gate::Session(CloseRoads), routes!(roads::close_roads))
        .add(Gate::Session(CloseRoads), routes!(roads::reopen_roads))
}
