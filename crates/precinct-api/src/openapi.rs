//! The OpenAPI document served at `/api/openapi.json`: the integration contract.

use crate::{
    admin, auth, console, dispatch, disputes, figures, ground, incidents, roads, station, stream,
    units,
};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

#[derive(OpenApi, Debug)]
#[openapi(
    info(
        title = "Precinct API",
        description = "Command platform for community policing: intake, dispatch, live units, incidents.\n\n\
            Errors always have the body `{ code, message, message_zh }` with a stable `code`.\n\
            Times are UTC (RFC 3339). Coordinates are WGS84 unless `datum: gcj02` is given."
    ),
    paths(
        crate::healthz,
        crate::readyz,
        auth::login,
        auth::logout,
        auth::me,
        auth::change_password,
        crate::second_factor::enrol_second_factor,
        crate::second_factor::confirm_second_factor,
        admin::list_sessions,
        admin::revoke_session,
        admin::reset_second_factor,
        station::validate_station_package,
        station::import_station_package,
        station::export_station_package,
        station::station_package_template,
        admin::list_users,
        admin::update_user,
        admin::update_unit,
        admin::reset_password,
        ground::get_jurisdiction,
        ground::resolve_location,
        ground::search_places,
        incidents::create_incident,
        incidents::get_incident,
        incidents::list_incidents,
        incidents::dispatch_units,
        dispatch::recommend_response,
        dispatch::dispatch_plan,
        incidents::add_incident_note,
        incidents::close_incident,
        incidents::merge_incidents,
        units::list_units,
        units::update_unit_status,
        units::report_unit_position,
        units::get_unit_task,
        units::accept_task,
        units::decline_task,
        units::hand_over,
        stream::stream_events,
        figures::response_figures,
        figures::dispute_figures,
        roads::list_road_closures,
        roads::close_roads,
        roads::reopen_roads,
        roads::map_roads,
        console::get_console_config,
        console::get_basemap,
        disputes::list_organisations,
        disputes::open_dispute,
        disputes::list_disputes,
        disputes::get_dispute,
        disputes::accept_dispute,
        disputes::plan_session,
        disputes::record_session,
        disputes::record_agreement,
        disputes::sign_agreement,
        disputes::record_follow_up,
        disputes::refer_dispute,
        disputes::close_dispute,
        disputes::print_agreement,
    ),
    modifiers(&BearerAuth),
    tags(
        (name = "auth", description = "Log in and out"),
        (name = "incidents", description = "警情: intake to close"),
        (name = "units", description = "警力: status and position"),
        (name = "ground", description = "辖区: zones, communities, grid cells, places"),
        (name = "events", description = "Live stream of committed events"),
        (name = "roads", description = "道路: closures that routing avoids"),
        (name = "figures", description = "统计: the station's figures over a period"),
        (name = "disputes", description = "矛盾纠纷: cases, mediation sessions, agreements, follow-up visits"),
        (name = "station", description = "站点数据包: set the station up from its own files (administrators)"),
        (name = "operations", description = "Health and metrics"),
    )
)]
pub struct ApiDoc;

#[derive(Debug)]
struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}
