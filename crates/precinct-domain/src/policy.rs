//! Who may do what: one table of [`Action`] × [`Role`] → the [`Relation`]
//! the user must have to the object (or none at all). Every API handler
//! asks [`allows`]; the API tells clients what a user may do on each object
//! (`allowed_actions`), so no client copies a rule.

use crate::dispute::{Dispute, DisputeOp, Step};
use crate::ids::{IncidentId, OrganisationId, UnitId};
use crate::incident::Incident;
use crate::text::string_enum;
use crate::user::{Role, User};

string_enum! {
    /// Everything a signed-in user can ask for.
    pub enum Action {
        /// Their own account: who they are, password, second factor, sign out, live updates.
        UseOwnAccount = "use_own_account",
        ViewGround = "view_ground",
        ViewIncidents = "view_incidents",
        /// Callers' and parties' names and phones unmasked (every such read audited).
        ReadPersonalData = "read_personal_data",
        ReportIncident = "report_incident",
        AddIncidentNote = "add_incident_note",
        /// Response plans and recommendations.
        PlanResponse = "plan_response",
        DispatchUnits = "dispatch_units",
        CloseIncident = "close_incident",
        MergeIncidents = "merge_incidents",
        ViewUnits = "view_units",
        /// A unit's status and position, from the field.
        ReportForUnit = "report_for_unit",
        /// A first-response task: view, accept, decline, hand over.
        AnswerTask = "answer_task",
        CloseRoads = "close_roads",
        ViewFigures = "view_figures",
        ViewOrganisations = "view_organisations",
        /// Lists of cases (only those the user may see).
        ListDisputes = "list_disputes",
        OpenDispute = "open_dispute",
        ViewDispute = "view_dispute",
        AcceptDispute = "accept_dispute",
        /// Sessions, agreement, signatures, follow-ups, referral, closing.
        WorkDispute = "work_dispute",
        PrintAgreement = "print_agreement",
        ManageStation = "manage_station",
        ManageAccounts = "manage_accounts",
        ManageUnits = "manage_units",
        ManageSessions = "manage_sessions",
        ViewMetrics = "view_metrics",
    }
}

string_enum! {
    /// What a user must be to an object for a rule to hold.
    pub enum Relation {
        /// Nothing: the role alone suffices.
        Any = "any",
        /// The object is the user's own unit (or its task).
        OwnUnit = "own_unit",
        /// The user's organisation leads the case.
        OwnOrganisation = "own_organisation",
        /// The user's organisation takes part in the case (leads it or joins it).
        PartyToCase = "party_to_case",
    }
}

use Action::*;
use Relation::*;
use Role::*;

/// Every role, with no relation needed.
const EVERYONE: &[(Role, Relation)] = &[
    (Admin, Any),
    (Dispatcher, Any),
    (Officer, Any),
    (Volunteer, Any),
    (Mediator, Any),
    (Analyst, Any),
];

/// The station on every case; mediators and company staff on the cases
/// their organisation takes part in.
const CASE_WORKERS: &[(Role, Relation)] = &[
    (Admin, Any),
    (Dispatcher, Any),
    (Officer, Any),
    (Volunteer, PartyToCase),
    (Mediator, PartyToCase),
];

/// The one table: for each action, the roles that may do it and the
/// relation each needs. A role not listed may not do the action at all.
pub const POLICY: &[(Action, &[(Role, Relation)])] = &[
    (UseOwnAccount, EVERYONE),
    (ViewGround, EVERYONE),
    (
        // Volunteers see only incidents their unit works (filtered by the
        // store query); mediators, who belong to organisations outside the
        // station, only incidents linked to cases their organisation takes
        // part in.
        ViewIncidents,
        &[
            (Admin, Any),
            (Dispatcher, Any),
            (Officer, Any),
            (Volunteer, OwnUnit),
            (Mediator, PartyToCase),
            (Analyst, Any),
        ],
    ),
    (
        ReadPersonalData,
        &[(Admin, Any), (Dispatcher, Any), (Officer, Any)],
    ),
    (
        ReportIncident,
        &[
            (Admin, Any),
            (Dispatcher, Any),
            (Officer, Any),
            (Volunteer, Any),
        ],
    ),
    (
        AddIncidentNote,
        &[
            (Admin, Any),
            (Dispatcher, Any),
            (Officer, Any),
            (Volunteer, OwnUnit),
        ],
    ),
    (
        PlanResponse,
        &[(Admin, Any), (Dispatcher, Any), (Officer, Any)],
    ),
    (DispatchUnits, &[(Admin, Any), (Dispatcher, Any)]),
    (
        CloseIncident,
        &[(Admin, Any), (Dispatcher, Any), (Officer, Any)],
    ),
    (MergeIncidents, &[(Admin, Any), (Dispatcher, Any)]),
    (ViewUnits, EVERYONE),
    (
        ReportForUnit,
        &[
            (Admin, Any),
            (Dispatcher, Any),
            (Officer, OwnUnit),
            (Volunteer, OwnUnit),
        ],
    ),
    (
        AnswerTask,
        &[
            (Admin, Any),
            (Dispatcher, Any),
            (Officer, OwnUnit),
            (Volunteer, OwnUnit),
        ],
    ),
    (CloseRoads, &[(Admin, Any), (Dispatcher, Any)]),
    (
        ViewFigures,
        &[(Admin, Any), (Dispatcher, Any), (Analyst, Any)],
    ),
    (ViewOrganisations, EVERYONE),
    (ListDisputes, CASE_WORKERS),
    (OpenDispute, CASE_WORKERS),
    (ViewDispute, CASE_WORKERS),
    (
        AcceptDispute,
        &[
            (Admin, Any),
            (Dispatcher, Any),
            (Officer, Any),
            (Mediator, OwnOrganisation),
        ],
    ),
    (WorkDispute, CASE_WORKERS),
    (PrintAgreement, CASE_WORKERS),
    (ManageStation, &[(Admin, Any)]),
    (ManageAccounts, &[(Admin, Any)]),
    (ManageUnits, &[(Admin, Any)]),
    (ManageSessions, &[(Admin, Any)]),
    (ViewMetrics, &[(Admin, Any)]),
];

/// The relation `role` needs for `action`; `None` when the role may not do it.
pub fn rule(role: Role, action: Action) -> Option<Relation> {
    POLICY
        .iter()
        .find(|(a, _)| *a == action)
        .and_then(|(_, rules)| rules.iter().find(|(r, _)| *r == role))
        .map(|&(_, relation)| relation)
}

/// Whether `role` may ever do `action` (on some object).
pub fn may_ever(role: Role, action: Action) -> bool {
    rule(role, action).is_some()
}

/// Whether `role`, holding `held` relations to the object, may do `action`.
pub fn allows(role: Role, action: Action, held: &[Relation]) -> bool {
    match rule(role, action) {
        None => false,
        Some(Any) => true,
        Some(needed) => held.contains(&needed),
    }
}

/// What `user` is to a unit.
pub fn unit_relations(user: &User, unit: UnitId) -> Vec<Relation> {
    if user.unit_id == Some(unit) {
        vec![OwnUnit]
    } else {
        Vec::new()
    }
}

/// Whether `admin` may disable `account` from the console: not their own
/// (they would lock themselves out) and not another administrator's.
pub fn may_disable_account(admin: &User, account: &User) -> bool {
    allows(admin.role, ManageAccounts, &[]) && admin.id != account.id && account.role != Admin
}

/// What `user` is to an incident: their own unit's when their unit is
/// (or was) assigned to it.
pub fn incident_relations(
    user: &User,
    incident: &Incident,
    cases: &[(Vec<IncidentId>, Vec<OrganisationId>)],
) -> Vec<Relation> {
    let mut held = Vec::new();
    if let Some(unit) = user.unit_id
        && incident.assignments.iter().any(|a| a.unit_id == unit)
    {
        held.push(OwnUnit);
    }
    if cases.iter().any(|(incidents, organisations)| {
        incidents.contains(&incident.id)
            && case_relations(user, organisations).contains(&PartyToCase)
    }) {
        held.push(PartyToCase);
    }
    held
}

/// Whether `role` sees only incidents linked to cases its organisation
/// takes part in (mediators of organisations outside the station).
pub fn sees_only_case_incidents(role: Role) -> bool {
    rule(role, ViewIncidents) == Some(PartyToCase)
}

/// Whether `role` sees only its own unit's incidents (lists are filtered
/// to them; the live stream shows only their events).
pub fn sees_only_own_unit_incidents(role: Role) -> bool {
    rule(role, ViewIncidents) == Some(OwnUnit)
}

/// Whether `role` sees people's details unmasked.
pub fn sees_personal_data(role: Role) -> bool {
    rule(role, ReadPersonalData) == Some(Any)
}

/// What `user` is to a case.
pub fn dispute_relations(user: &User, dispute: &Dispute) -> Vec<Relation> {
    let organisations: Vec<OrganisationId> = dispute.organisations().collect();
    case_relations(user, &organisations)
}

/// What `user` is to a case taken part in by `organisations`, the
/// responsible one first (as a dispute event names them).
pub fn case_relations(user: &User, organisations: &[OrganisationId]) -> Vec<Relation> {
    let Some(org) = user.organisation_id else {
        return Vec::new();
    };
    let mut held = Vec::new();
    if organisations.first() == Some(&org) {
        held.push(OwnOrganisation);
    }
    if organisations.contains(&org) {
        held.push(PartyToCase);
    }
    held
}

/// Whether `user` may do `action` on `dispute` (by the table alone).
pub fn allows_on_dispute(user: &User, action: Action, dispute: &Dispute) -> bool {
    allows(user.role, action, &dispute_relations(user, dispute))
}

/// The action a step of a case is: accepting it, or working it.
pub fn step_action(step: Step) -> Action {
    match step {
        Step::Accept => AcceptDispute,
        _ => WorkDispute,
    }
}

/// The action a change of a case is (the API's gate and the writer's check
/// both ask this).
pub fn dispute_op_action(op: &DisputeOp) -> Action {
    match op {
        DisputeOp::Accept { .. } => AcceptDispute,
        _ => WorkDispute,
    }
}

/// What `user` may do on `dispute` now, by operation id: read it
/// (`get_dispute`), each change its status admits ([`Dispute::steps`]) that
/// the table lets them make, and print the agreement once there is one.
pub fn dispute_actions(user: &User, dispute: &Dispute) -> Vec<&'static str> {
    let held = dispute_relations(user, dispute);
    let may = |action| allows(user.role, action, &held);
    if !may(ViewDispute) {
        return Vec::new();
    }
    let mut actions = vec!["get_dispute"];
    for step in dispute.steps() {
        if may(step_action(step)) {
            actions.push(step.as_str());
        }
    }
    if dispute.agreement.is_some() && may(PrintAgreement) {
        actions.push("print_agreement");
    }
    actions
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The table written out as data, one line per action: for each role
    /// in `Role::ALL` order (admin, dispatcher, officer, volunteer,
    /// mediator, analyst), `-` never, `*` always, or the relation needed.
    const EXPECTED: &[(&str, [&str; 6])] = &[
        ("use_own_account", ["*", "*", "*", "*", "*", "*"]),
        ("view_ground", ["*", "*", "*", "*", "*", "*"]),
        (
            "view_incidents",
            ["*", "*", "*", "own_unit", "party_to_case", "*"],
        ),
        ("read_personal_data", ["*", "*", "*", "-", "-", "-"]),
        ("report_incident", ["*", "*", "*", "*", "-", "-"]),
        ("add_incident_note", ["*", "*", "*", "own_unit", "-", "-"]),
        ("plan_response", ["*", "*", "*", "-", "-", "-"]),
        ("dispatch_units", ["*", "*", "-", "-", "-", "-"]),
        ("close_incident", ["*", "*", "*", "-", "-", "-"]),
        ("merge_incidents", ["*", "*", "-", "-", "-", "-"]),
        ("view_units", ["*", "*", "*", "*", "*", "*"]),
        (
            "report_for_unit",
            ["*", "*", "own_unit", "own_unit", "-", "-"],
        ),
        ("answer_task", ["*", "*", "own_unit", "own_unit", "-", "-"]),
        ("close_roads", ["*", "*", "-", "-", "-", "-"]),
        ("view_figures", ["*", "*", "-", "-", "-", "*"]),
        ("view_organisations", ["*", "*", "*", "*", "*", "*"]),
        (
            "list_disputes",
            ["*", "*", "*", "party_to_case", "party_to_case", "-"],
        ),
        (
            "open_dispute",
            ["*", "*", "*", "party_to_case", "party_to_case", "-"],
        ),
        (
            "view_dispute",
            ["*", "*", "*", "party_to_case", "party_to_case", "-"],
        ),
        (
            "accept_dispute",
            ["*", "*", "*", "-", "own_organisation", "-"],
        ),
        (
            "work_dispute",
            ["*", "*", "*", "party_to_case", "party_to_case", "-"],
        ),
        (
            "print_agreement",
            ["*", "*", "*", "party_to_case", "party_to_case", "-"],
        ),
        ("manage_station", ["*", "-", "-", "-", "-", "-"]),
        ("manage_accounts", ["*", "-", "-", "-", "-", "-"]),
        ("manage_units", ["*", "-", "-", "-", "-", "-"]),
        ("manage_sessions", ["*", "-", "-", "-", "-", "-"]),
        ("view_metrics", ["*", "-", "-", "-", "-", "-"]),
    ];

    #[test]
    fn every_action_role_and_relation() {
        assert_eq!(EXPECTED.len(), Action::ALL.len());
        assert_eq!(POLICY.len(), Action::ALL.len(), "one line per action");
        for (i, &action) in Action::ALL.iter().enumerate() {
            let (name, cells) = EXPECTED[i];
            assert_eq!(action.as_str(), name);
            for (j, &role) in Role::ALL.iter().enumerate() {
                let expected = match cells[j] {
                    "-" => None,
                    "*" => Some(Any),
                    other => Some(Relation::parse(other).unwrap()),
                };
                assert_eq!(rule(role, action), expected, "{action} by {role}");
                // Every relation held or not: allowed exactly when the rule says.
                for &relation in Relation::ALL {
                    let held = [relation];
                    let want = match expected {
                        None => false,
                        Some(Any) => true,
                        Some(needed) => needed == relation,
                    };
                    assert_eq!(
                        allows(role, action, &held),
                        want,
                        "{action} by {role} holding {relation}"
                    );
                }
                assert_eq!(allows(role, action, &[]), expected == Some(Any));
            }
        }
    }

    #[test]
    fn who_sees_what() {
        let personal: Vec<_> = Role::ALL
            .iter()
            .filter(|r| sees_personal_data(**r))
            .collect();
        assert_eq!(personal, [&Admin, &Dispatcher, &Officer]);
        assert!(sees_only_own_unit_incidents(Volunteer));
        assert!(!sees_only_own_unit_incidents(Officer));
        assert!(sees_only_case_incidents(Mediator));
        assert!(!sees_only_case_incidents(Analyst));
    }

    #[test]
    fn no_role_is_listed_twice_for_an_action() {
        for (action, rules) in POLICY {
            let mut roles: Vec<Role> = rules.iter().map(|(r, _)| *r).collect();
            roles.sort();
            roles.dedup();
            assert_eq!(roles.len(), rules.len(), "{action}");
        }
    }
}
