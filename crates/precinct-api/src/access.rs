//! Which policy action each route is: the one table the session extractor
//! ([`crate::auth::Authed`]) consults before any handler runs, so a role
//! that may never do an action is refused (403 `forbidden`) on every route
//! of it. Handlers then ask the policy again about the object itself
//! (`precinct_domain::policy`: own unit, own organisation, party to the case).
//!
//! A route missing here answers 500 to every session: the test
//! `every_route_consults_the_policy` fails first.

use precinct_domain::policy::Action;

/// What a route needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gate {
    /// No session (health, the document, logging in).
    Public,
    /// A session whose role may do this action (on some object).
    Session(Action),
}

use Action::*;
use Gate::{Public, Session};

/// Every route: method, path template (as routed), gate.
pub const ROUTES: &[(&str, &str, Gate)] = &[
    ("GET", "/healthz", Public),
    ("GET", "/readyz", Public),
    ("GET", "/metrics", Session(ViewMetrics)),
    ("GET", "/api/openapi.json", Public),
    ("POST", "/api/auth/login", Public),
    ("POST", "/api/auth/logout", Session(UseOwnAccount)),
    ("GET", "/api/me", Session(UseOwnAccount)),
    ("POST", "/api/auth/password", Session(UseOwnAccount)),
    ("POST", "/api/auth/totp/enrol", Session(UseOwnAccount)),
    ("POST", "/api/auth/totp/confirm", Session(UseOwnAccount)),
    ("GET", "/api/admin/sessions", Session(ManageSessions)),
    (
        "POST",
        "/api/admin/sessions/{id}/revoke",
        Session(ManageSessions),
    ),
    (
        "POST",
        "/api/admin/users/{id}/reset-second-factor",
        Session(ManageAccounts),
    ),
    ("POST", "/api/station/validate", Session(ManageStation)),
    ("POST", "/api/station/import", Session(ManageStation)),
    ("GET", "/api/station/export", Session(ManageStation)),
    ("POST", "/api/history/import", Session(ManageStation)),
    ("GET", "/api/station/template", Session(ManageStation)),
    ("GET", "/api/admin/users", Session(ManageAccounts)),
    ("POST", "/api/admin/users/{id}", Session(ManageAccounts)),
    (
        "POST",
        "/api/admin/users/{id}/reset-password",
        Session(ManageAccounts),
    ),
    ("POST", "/api/admin/units/{id}", Session(ManageUnits)),
    ("GET", "/api/jurisdiction", Session(ViewGround)),
    ("GET", "/api/jurisdiction/resolve", Session(ViewGround)),
    ("GET", "/api/places", Session(ViewGround)),
    ("GET", "/api/console/config", Session(ViewGround)),
    ("GET", "/api/map/roads", Session(ViewGround)),
    ("GET", "/api/map/basemap.pmtiles", Session(ViewGround)),
    ("POST", "/api/incidents", Session(ReportIncident)),
    ("GET", "/api/incidents", Session(ViewIncidents)),
    ("GET", "/api/incidents/{id}", Session(ViewIncidents)),
    (
        "POST",
        "/api/incidents/{id}/dispatch",
        Session(DispatchUnits),
    ),
    (
        "GET",
        "/api/incidents/{id}/recommendation",
        Session(PlanResponse),
    ),
    (
        "POST",
        "/api/incidents/{id}/dispatch-plan",
        Session(DispatchUnits),
    ),
    (
        "POST",
        "/api/incidents/{id}/notes",
        Session(AddIncidentNote),
    ),
    ("POST", "/api/incidents/{id}/close", Session(CloseIncident)),
    ("POST", "/api/incidents/{id}/merge", Session(MergeIncidents)),
    ("GET", "/api/roads/closures", Session(ViewGround)),
    ("POST", "/api/roads/closures", Session(CloseRoads)),
    ("POST", "/api/roads/closures/reopen", Session(CloseRoads)),
    ("GET", "/api/figures/response", Session(ViewFigures)),
    ("GET", "/api/figures/disputes", Session(ViewFigures)),
    ("GET", "/api/figures/station", Session(ViewFigures)),
    ("GET", "/api/figures/breakdown", Session(ViewFigures)),
    ("GET", "/api/figures/series", Session(ViewFigures)),
    ("GET", "/api/figures/export", Session(ViewFigures)),
    ("GET", "/api/figures/briefing", Session(ViewFigures)),
    ("GET", "/api/analysis/hotspots", Session(ViewFigures)),
    ("GET", "/api/organisations", Session(ViewOrganisations)),
    ("POST", "/api/disputes", Session(OpenDispute)),
    ("GET", "/api/disputes", Session(ListDisputes)),
    ("GET", "/api/disputes/{id}", Session(ViewDispute)),
    ("POST", "/api/disputes/{id}/accept", Session(AcceptDispute)),
    ("POST", "/api/disputes/{id}/sessions", Session(WorkDispute)),
    (
        "POST",
        "/api/disputes/{id}/planned-sessions",
        Session(WorkDispute),
    ),
    ("POST", "/api/disputes/{id}/agreement", Session(WorkDispute)),
    (
        "POST",
        "/api/disputes/{id}/signatures",
        Session(WorkDispute),
    ),
    (
        "POST",
        "/api/disputes/{id}/follow-ups",
        Session(WorkDispute),
    ),
    ("POST", "/api/disputes/{id}/refer", Session(WorkDispute)),
    ("POST", "/api/disputes/{id}/close", Session(WorkDispute)),
    (
        "GET",
        "/api/disputes/{id}/agreement.pdf",
        Session(PrintAgreement),
    ),
    ("GET", "/api/units", Session(ViewUnits)),
    ("POST", "/api/units/{id}/status", Session(ReportForUnit)),
    ("POST", "/api/units/{id}/position", Session(ReportForUnit)),
    ("GET", "/api/units/{id}/task", Session(AnswerTask)),
    ("POST", "/api/units/{id}/task/accept", Session(AnswerTask)),
    ("POST", "/api/units/{id}/task/decline", Session(AnswerTask)),
    ("POST", "/api/units/{id}/task/handover", Session(AnswerTask)),
    ("GET", "/api/events/stream", Session(UseOwnAccount)),
];

/// The gate of a route, if the table has it.
pub fn gate(method: &str, path: &str) -> Option<Gate> {
    ROUTES
        .iter()
        .find(|(m, p, _)| *m == method && *p == path)
        .map(|&(_, _, gate)| gate)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_route_once() {
        for (i, (m, p, _)) in ROUTES.iter().enumerate() {
            assert!(
                !ROUTES[..i].iter().any(|(m2, p2, _)| m2 == m && p2 == p),
                "{m} {p} twice"
            );
        }
    }
}
