//! Dispatch by road: the recommended response (a plan filled with units
//! ranked by travel time) and dispatching it in one call.

use crate::AppState;
use crate::dto::IncidentDto;
use crate::dto::PersonalData;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{JsonBody, PathId};
use crate::session::Authed;
use axum::Json;
use axum::extract::State;
use precinct_domain::ids::{IncidentId, UnitId};
use precinct_domain::incident::Priority;
use precinct_domain::plan::{ForceRole, TravelMode};
use precinct_domain::policy::Action;
use precinct_domain::recommend::{Candidate, RecommendContext, Recommendation, Why, recommend};
use precinct_domain::unit::Unit;
use precinct_geo::roads::Closures;
use precinct_storage::IncidentFilter;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use utoipa::ToSchema;

#[derive(Debug, Serialize, ToSchema)]
pub struct CandidateDto {
    pub unit_id: i64,
    pub call_sign: String,
    pub kind: String,
    pub eta_seconds: f64,
    pub road_distance_m: f64,
    /// driving or walking
    pub travel: String,
    /// True when estimated in a straight line (no road network, or off it).
    pub estimated: bool,
    /// Minutes since the unit's position was reported, when stale.
    pub stale_minutes: Option<i64>,
    /// The incident this unit would be diverted from (priority 1 only).
    pub diversion_from: Option<i64>,
    /// The unit belongs to another zone (ranked as if 2 minutes farther).
    pub other_zone: bool,
    /// Part of the proposal (the first `count` of the force).
    pub proposed: bool,
    pub reason: String,
    pub reason_zh: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ForceDto {
    /// police, patrol_police, community_police, first_response or property_company
    pub role: String,
    pub count: u32,
    pub travel: String,
    pub within_m: Option<f64>,
    /// Units already working the incident that fill this force (sent
    /// earlier): only the rest of `count` is proposed.
    pub already_unit_ids: Vec<i64>,
    /// Why fewer than still needed were found, if so.
    pub shortfall: Option<String>,
    pub candidates: Vec<CandidateDto>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RecommendationDto {
    pub incident_id: i64,
    pub plan: String,
    /// The coordinated emergency mechanism (应急处置协同机制) applies.
    pub coordinated: bool,
    pub forces: Vec<ForceDto>,
    /// Every proposed unit, in order: what `dispatch_plan` sends by default.
    pub proposed_unit_ids: Vec<i64>,
}

fn role_name(role: ForceRole) -> &'static str {
    match role {
        ForceRole::Police => "police",
        ForceRole::PatrolPolice => "patrol_police",
        ForceRole::CommunityPolice => "community_police",
        ForceRole::FirstResponse => "first_response",
        ForceRole::PropertyCompany => "property_company",
    }
}

fn travel_name(travel: TravelMode) -> &'static str {
    match travel {
        TravelMode::Driving => "driving",
        TravelMode::Walking => "walking",
    }
}

/// A sentence in English and in Chinese saying why the unit is there.
fn reasons(candidate: &Candidate, role: ForceRole) -> (String, String) {
    let minutes = (candidate.eta_seconds / 60.0).floor() as i64;
    let seconds = (candidate.eta_seconds % 60.0).round() as i64;
    let km = candidate.road_distance_m / 1000.0;
    let (how, how_zh) = match candidate.travel {
        TravelMode::Driving => ("by road", "驾车"),
        TravelMode::Walking => ("on foot", "步行"),
    };
    let (what, what_zh) = match role {
        ForceRole::Police | ForceRole::PatrolPolice => {
            ("nearest free police unit", "最近的可用警力")
        }
        ForceRole::CommunityPolice => ("the incident community's police team", "辖区社区警务团队"),
        ForceRole::FirstResponse => ("nearest first-response team", "最近的先期处置力量"),
        ForceRole::PropertyCompany => (
            "staff of the company managing the place",
            "属地物业/市场管理方",
        ),
    };
    // A stale position says so below; otherwise an estimate is a straight line.
    let straight = candidate.estimated && candidate.stale_minutes.is_none();
    let estimate = if straight {
        " (straight-line estimate)"
    } else {
        ""
    };
    let estimate_zh = if straight { "(直线估算)" } else { "" };
    let mut reason = format!("{what}: {minutes} min {seconds} s {how}, {km:.1} km{estimate}");
    let mut reason_zh =
        format!("{what_zh},{how_zh}约{minutes}分{seconds}秒,{km:.1}公里{estimate_zh}");
    if let Why::Diversion { from, priority } = candidate.why {
        reason.push_str(&format!(
            "; would leave incident {from} (priority {})",
            priority.get()
        ));
        reason_zh.push_str(&format!(";需从警情{from}(优先级{})改派", priority.get()));
    }
    if candidate.other_zone {
        reason.push_str("; from the neighbouring zone");
        reason_zh.push_str(";跨防区支援");
    }
    if let Some(m) = candidate.stale_minutes {
        reason.push_str(&format!(
            "; position {m} min old, so the time is an estimate"
        ));
        reason_zh.push_str(&format!(";位置已{m}分钟未更新,到达时间为估算"));
    }
    (reason, reason_zh)
}

fn to_dto(
    incident: IncidentId,
    recommendation: &Recommendation,
    units: &HashMap<UnitId, &Unit>,
) -> RecommendationDto {
    let forces = recommendation
        .forces
        .iter()
        .map(|force| ForceDto {
            role: role_name(force.requirement.role).into(),
            count: force.requirement.count,
            travel: travel_name(force.requirement.travel()).into(),
            within_m: force.requirement.within_m,
            already_unit_ids: force.already.iter().map(|u| u.0).collect(),
            shortfall: force.shortfall.map(str::to_owned),
            candidates: force
                .candidates
                .iter()
                .enumerate()
                .map(|(rank, c)| {
                    let (reason, reason_zh) = reasons(c, force.requirement.role);
                    let unit = units.get(&c.unit_id);
                    CandidateDto {
                        unit_id: c.unit_id.0,
                        call_sign: unit.map(|u| u.call_sign.clone()).unwrap_or_default(),
                        kind: unit.map(|u| u.kind.as_str().to_owned()).unwrap_or_default(),
                        eta_seconds: (c.eta_seconds * 10.0).round() / 10.0,
                        road_distance_m: c.road_distance_m.round(),
                        travel: travel_name(c.travel).into(),
                        estimated: c.estimated,
                        stale_minutes: c.stale_minutes,
                        diversion_from: match c.why {
                            Why::Diversion { from, .. } => Some(from.0),
                            Why::Available => None,
                        },
                        other_zone: c.other_zone,
                        proposed: rank < force.needed(),
                        reason,
                        reason_zh,
                    }
                })
                .collect(),
        })
        .collect();
    RecommendationDto {
        incident_id: incident.0,
        plan: recommendation.plan.clone(),
        coordinated: recommendation.coordinated,
        forces,
        proposed_unit_ids: recommendation
            .proposed_units()
            .into_iter()
            .map(|u| u.0)
            .collect(),
    }
}

/// Computes the recommendation for an incident from the current state;
/// also the units the incident had when it was read.
async fn compute(
    state: &AppState,
    id: IncidentId,
) -> Result<(Recommendation, Vec<Unit>, Vec<UnitId>), ApiError> {
    let incident = state.store.get_incident(id).await?;
    let units = state.store.list_units().await?;
    let open = state
        .store
        .list_incidents(IncidentFilter {
            open_only: true,
            limit: 1000,
            ..IncidentFilter::default()
        })
        .await?;
    let open_priorities: HashMap<IncidentId, Priority> =
        open.iter().map(|i| (i.id, i.priority)).collect();
    let plans = state.plans();
    let plan = plans
        .plan_for(&incident.category, incident.priority)
        .ok_or_else(ApiError::internal)?;
    let mut closures = Closures::default();
    for closure in state.store.road_closures().await? {
        closures.close(closure.segment);
    }
    let (ground, roads) = (state.ground(), state.roads());
    let context = RecommendContext {
        ground: &ground,
        network: &roads,
        closures: &closures,
        now: state.clock.now(),
        stale_after: &state.stale_after,
        open_priorities: &open_priorities,
    };
    let recommendation =
        state.with_scratch(|scratch| recommend(&incident, plan, &units, &context, scratch));
    let working = incident
        .assignments
        .iter()
        .filter(|a| a.released_at.is_none())
        .map(|a| a.unit_id)
        .collect();
    Ok((recommendation, units, working))
}

#[utoipa::path(
    get, path = "/api/incidents/{id}/recommendation", operation_id = "recommend_response", tag = "incidents",
    params(("id" = i64, Path, description = "Incident id")),
    responses(
        (status = 200, description = "The incident's response plan filled with units ranked by travel time, each with its reason", body = RecommendationDto),
        (status = 404, body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn recommend_response(
    State(state): State<AppState>,
    authed: Authed,
    PathId(id): PathId,
) -> Result<Json<RecommendationDto>, ApiError> {
    authed.may(Action::PlanResponse)?;
    let (recommendation, units, _) = compute(&state, IncidentId(id)).await?;
    let by_id: HashMap<UnitId, &Unit> = units.iter().map(|u| (u.id, u)).collect();
    Ok(Json(to_dto(IncidentId(id), &recommendation, &by_id)))
}

/// Send `{}` to dispatch the proposal as it is.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct DispatchPlanRequest {
    /// The units to send instead of the proposal (add or remove units); omit to send the proposal.
    #[serde(default)]
    pub unit_ids: Option<Vec<i64>>,
    /// Send units that declined or withdrew from this incident again.
    #[serde(default)]
    pub confirm_resend: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DispatchPlanResponse {
    pub incident: IncidentDto,
    pub dispatched_unit_ids: Vec<i64>,
    /// Units taken off a lower-priority incident first.
    pub diverted_unit_ids: Vec<i64>,
    /// Units named that were already on the incident: left as they are.
    pub skipped_unit_ids: Vec<i64>,
}

#[utoipa::path(
    post, path = "/api/incidents/{id}/dispatch-plan", operation_id = "dispatch_plan", tag = "incidents",
    params(("id" = i64, Path, description = "Incident id")),
    request_body = DispatchPlanRequest,
    responses(
        (status = 200, description = "Every unit of the plan dispatched in one call", body = DispatchPlanResponse),
        (status = 409, description = "A unit is no longer free (`unit_unavailable`), the plan is already sent (`already_dispatched`: a second click or a retry), or a unit that declined or withdrew is named without `confirm_resend` (`confirm_resend`); nothing dispatched", body = ErrorBody),
        (status = 422, description = "The plan found no unit", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn dispatch_plan(
    State(state): State<AppState>,
    authed: Authed,
    PathId(id): PathId,
    JsonBody(request): JsonBody<DispatchPlanRequest>,
) -> Result<Json<DispatchPlanResponse>, ApiError> {
    authed.may(Action::DispatchUnits)?;
    let (recommendation, units, working) = compute(&state, IncidentId(id)).await?;
    let from_proposal = request.unit_ids.is_none();
    let chosen: Vec<UnitId> = match request.unit_ids {
        Some(ids) => ids.into_iter().map(UnitId).collect(),
        None => recommendation.proposed_units(),
    };
    if chosen.is_empty() {
        let already: Vec<String> = recommendation
            .forces
            .iter()
            .flat_map(|f| f.already.iter())
            .filter_map(|id| units.iter().find(|u| u.id == *id))
            .map(|u| u.call_sign.clone())
            .collect();
        if !already.is_empty() && recommendation.forces.iter().all(|f| f.needed() == 0) {
            return Err(precinct_domain::DomainError::AlreadyDispatched {
                call_signs: already,
            }
            .into());
        }
        return Err(ApiError::unprocessable(
            "nothing_to_dispatch",
            "the plan found no unit to send",
            "预案未找到可调派的警力",
        ));
    }
    // Diverted units (priority 1 only) are stood down from their incident
    // first, in the same transaction as the dispatch.
    let divert: Vec<UnitId> = recommendation
        .forces
        .iter()
        .flat_map(|f| f.candidates.iter())
        .filter(|c| matches!(c.why, Why::Diversion { .. }))
        .map(|c| c.unit_id)
        .filter(|u| chosen.contains(u))
        .collect();
    // The proposal was made outside the writer: it stands only if nobody
    // was sent meanwhile (checked in the dispatch's transaction).
    let seen = from_proposal.then_some(working);
    let order = precinct_domain::incident::DispatchOrder {
        units: chosen,
        divert,
        confirm_resend: request.confirm_resend,
        seen,
    };
    let outcome = state
        .store
        .dispatch_order(IncidentId(id), order, authed.actor())
        .await?;
    let ids = |units: &[UnitId]| units.iter().map(|u| u.0).collect();
    Ok(Json(DispatchPlanResponse {
        incident: IncidentDto::new(&outcome.incident, &state.ground(), PersonalData::Masked),
        dispatched_unit_ids: ids(&outcome.decision.send),
        diverted_unit_ids: ids(&outcome.decision.divert),
        skipped_unit_ids: ids(&outcome.decision.skipped),
    }))
}
