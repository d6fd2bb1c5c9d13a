//! Disputes (矛盾纠纷) and their mediation: open a case (from an incident
//! referred to mediation, from screening, or a walk-in), follow it through
//! sessions, the agreement and its signatures, and the follow-up visits.
//!
//! Access is the domain's policy (`precinct_domain::policy`): the police
//! station (admin, dispatcher, officer) sees every case; a mediator or
//! company staff member sees only cases their organisation takes part in,
//! and any other id answers 404, as if it did not exist. Parties' contact
//! details are shown in full only to those who work the case, and every
//! such read is audited. Analysts use the figures, not case files.
//!
//! Every change is one write transaction (`Store::change_dispute`): the
//! rule, the version check, its events and the audit of the answer.

use crate::AppState;
use crate::dto::{
    LocationInput, PersonalData, free_text, masked_copy, strings_hold_personal_numbers,
};
use crate::error::{ApiError, ErrorBody};
use crate::extract::{JsonBody, PathId, QueryParams};
use crate::session::Authed;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use precinct_domain::dispute::*;
use precinct_domain::ground::Organisation;
use precinct_domain::ids::{DisputeId, IncidentId, OrganisationId, UserId};
use precinct_domain::incident::{PhoneNumber, mask_name};
use precinct_domain::policy::{self, Action};
use precinct_domain::user::User;
use precinct_storage::StoreError;
use precinct_storage::apply::repeat_window_start;
use precinct_storage::disputes::StatusFilter;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// Whether `user` may see this case (the policy's `view_dispute`).
fn may_see(user: &User, dispute: &Dispute) -> bool {
    policy::allows_on_dispute(user, Action::ViewDispute, dispute)
}

/// The case if this user may see it; otherwise 404, as if it did not exist.
async fn load(state: &AppState, user: &User, id: i64) -> Result<Dispute, ApiError> {
    let dispute = state.store.get_dispute(DisputeId(id)).await?;
    if may_see(user, &dispute) {
        Ok(dispute)
    } else {
        Err(ApiError::from(StoreError::not_found("dispute", id)))
    }
}

// ---------------------------------------------------------------- limits

use precinct_domain::dispute::{check_count as count_limit, check_text as text_limit, limits};

fn party_limits(field: &str, parties: &[PartyInput]) -> Result<(), ApiError> {
    count_limit(field, parties.len(), limits::PARTIES)?;
    for party in parties {
        text_limit(&format!("{field}.name"), &party.name, limits::NAME)?;
        text_limit(
            &format!("{field}.phone"),
            party.phone.as_deref().unwrap_or_default(),
            limits::PHONE,
        )?;
    }
    Ok(())
}

// ---------------------------------------------------------------- wire types

#[derive(Debug, Serialize, ToSchema)]
pub struct OrganisationDto {
    pub id: i64,
    /// police_station, judicial_office, law_firm, court, residents_committee,
    /// petition_office, property_company, market_management, owners_committee, other
    #[schema(schema_with = crate::schema::organisation_kind)]
    pub kind: String,
    pub name: String,
    pub community_id: Option<i64>,
    pub property_company_id: Option<i64>,
}

impl From<&Organisation> for OrganisationDto {
    fn from(o: &Organisation) -> Self {
        OrganisationDto {
            id: o.id.0,
            kind: o.kind.as_str().into(),
            name: o.name.clone(),
            community_id: o.community_id.map(|c| c.0),
            property_company_id: o.property_company_id.map(|p| p.0),
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct PartyInput {
    pub name: String,
    pub phone: Option<String>,
    #[serde(default)]
    pub vulnerable: bool,
    /// Set when the party is an organisation (its kind).
    #[schema(schema_with = crate::schema::organisation_kind_or_null)]
    pub organisation_kind: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PartyDto {
    pub name: String,
    pub phone: Option<String>,
    pub vulnerable: bool,
    #[schema(schema_with = crate::schema::organisation_kind_or_null)]
    pub organisation_kind: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct OpenDisputeRequest {
    /// incident, screening or walk_in
    #[schema(schema_with = crate::schema::dispute_source)]
    pub source: String,
    /// Required when `source` is `incident`: an incident closed as referred to mediation.
    pub incident_id: Option<i64>,
    /// neighbour_noise, family_marital, commercial_debt, labour, property_management, consumer, land, other
    /// (default for an incident: from its category)
    #[schema(schema_with = crate::schema::dispute_category_or_null)]
    pub category: Option<String>,
    /// Default for an incident: its summary.
    pub summary: Option<String>,
    /// Default for an incident: its address.
    pub address: Option<String>,
    pub location: Option<LocationInput>,
    pub parties: Vec<PartyInput>,
    pub responsible_org_id: i64,
    #[serde(default)]
    pub participating_org_ids: Vec<i64>,
}

// The wire form of the case file's parts, for the document: the domain's
// own types (serialized as they are) have these fields. Never built.

/// A session arranged ahead.
#[derive(Debug, ToSchema)]
#[allow(dead_code)]
pub struct PlannedSessionDto {
    at: DateTime<Utc>,
    #[schema(schema_with = crate::schema::venue)]
    venue: String,
    /// The organisations that come.
    organisations: Vec<i64>,
    notes: String,
    planned_by: String,
}

/// Someone at a session.
#[derive(Debug, ToSchema)]
#[allow(dead_code)]
pub struct ParticipantDto {
    name: String,
    /// 社区干部, 物业经理, 律师 … as said at the session.
    role: String,
    organisation_id: Option<i64>,
}

/// A mediation session held.
#[derive(Debug, ToSchema)]
#[allow(dead_code)]
pub struct MediationSessionDto {
    at: DateTime<Utc>,
    #[schema(schema_with = crate::schema::venue)]
    venue: String,
    participants: Vec<ParticipantDto>,
    notes: String,
    #[schema(schema_with = crate::schema::session_outcome)]
    outcome: String,
    recorded_by: String,
}

/// A party's signature.
#[derive(Debug, ToSchema)]
#[allow(dead_code)]
pub struct SignatureDto {
    party: String,
    signed_at: DateTime<Utc>,
}

/// The mediation agreement (调解协议).
#[derive(Debug, ToSchema)]
#[allow(dead_code)]
pub struct AgreementDto {
    facts: String,
    terms: Vec<String>,
    drafted_at: DateTime<Utc>,
    signatures: Vec<SignatureDto>,
    /// When the last party signed: the agreement is in force.
    signed_at: Option<DateTime<Utc>>,
}

/// A follow-up visit, due or made.
#[derive(Debug, ToSchema)]
#[allow(dead_code)]
pub struct FollowUpDto {
    due_at: DateTime<Utc>,
    visited_at: Option<DateTime<Utc>>,
    visited_by: Option<String>,
    #[schema(schema_with = crate::schema::follow_up_outcome_or_null)]
    outcome: Option<String>,
    notes: Option<String>,
}

/// One line of the case's history: an event of the case, typed.
#[derive(Debug, ToSchema)]
#[allow(dead_code)]
pub struct DisputeChangeDto {
    at: DateTime<Utc>,
    actor: String,
    /// The status the change left the case in.
    #[schema(schema_with = crate::schema::dispute_status)]
    status: String,
    change: crate::dto::DisputeChangeKindDto,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DisputeDto {
    pub id: i64,
    /// Send it back unchanged with a change: the store refuses a stale one.
    pub version: i64,
    #[schema(schema_with = crate::schema::dispute_source)]
    pub source: String,
    #[schema(schema_with = crate::schema::dispute_category)]
    pub category: String,
    #[schema(schema_with = crate::schema::dispute_status)]
    pub status: String,
    pub summary: String,
    pub address: String,
    pub community_id: Option<i64>,
    pub incident_ids: Vec<i64>,
    pub parties: Vec<PartyDto>,
    /// True when names and phones are masked for this reader.
    pub parties_masked: bool,
    /// low, medium or high
    #[schema(schema_with = crate::schema::risk_level)]
    pub risk: String,
    /// violence_in_incident, repeat_at_address, repeat_between_parties, many_parties, vulnerable_party
    #[schema(schema_with = crate::schema::risk_reasons)]
    pub risk_reasons: Vec<String>,
    /// Earlier disputes this one repeats (same address or people, within 90 days).
    pub repeats: Vec<i64>,
    pub responsible_org: OrganisationDto,
    pub participating_orgs: Vec<OrganisationDto>,
    pub mediator_ids: Vec<i64>,
    /// Sessions arranged ahead, earliest first.
    #[schema(value_type = Vec<PlannedSessionDto>)]
    pub planned_sessions: Vec<PlannedSession>,
    #[schema(value_type = Vec<MediationSessionDto>)]
    pub sessions: Vec<MediationSession>,
    #[schema(value_type = Option<AgreementDto>)]
    pub agreement: Option<Agreement>,
    #[schema(value_type = Vec<FollowUpDto>)]
    pub follow_ups: Vec<FollowUp>,
    /// court, petition_office or arbitration
    #[schema(schema_with = crate::schema::referral_or_null)]
    pub referral: Option<String>,
    #[schema(value_type = Vec<DisputeChangeDto>)]
    pub history: Vec<DisputeChange>,
    pub opened_at: DateTime<Utc>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub closed_at: Option<DateTime<Utc>>,
    /// What this user may do on this case now, by operation id: the policy
    /// and what the case's status admits (`get_dispute`, `accept_dispute`,
    /// `plan_session`, `record_session`, `record_agreement`, `sign_agreement`,
    /// `record_follow_up`, `refer_dispute`, `close_dispute`, `print_agreement`).
    #[schema(schema_with = crate::schema::case_actions)]
    pub allowed_actions: Vec<String>,
}

fn organisation_dto(state: &AppState, id: OrganisationId) -> OrganisationDto {
    match state.ground().organisation(id) {
        Some(o) => OrganisationDto::from(o),
        None => OrganisationDto {
            id: id.0,
            kind: "other".into(),
            name: format!("#{id}"),
            community_id: None,
            property_company_id: None,
        },
    }
}

fn dispute_dto(
    state: &AppState,
    user: &User,
    d: &Dispute,
    masked: bool,
    repeats: Vec<DisputeId>,
) -> DisputeDto {
    // Phone and ID numbers in the narrative are masked where the parties are.
    let personal = if masked {
        PersonalData::Masked
    } else {
        PersonalData::Shown
    };
    fn narrative<T: serde::Serialize + serde::de::DeserializeOwned + Clone>(
        value: &T,
        masked: bool,
    ) -> T {
        if masked {
            masked_copy(value)
        } else {
            value.clone()
        }
    }
    let parties = d
        .parties
        .iter()
        .map(|p| {
            let person = p.organisation.is_none();
            PartyDto {
                name: if masked && person {
                    mask_name(&p.name)
                } else {
                    p.name.clone()
                },
                phone: if masked {
                    p.masked_phone()
                } else {
                    p.phone.as_ref().map(|n| n.as_str().to_owned())
                },
                vulnerable: p.vulnerable,
                organisation_kind: p.organisation.map(|k| k.as_str().to_owned()),
            }
        })
        .collect();
    DisputeDto {
        id: d.id.0,
        version: d.version,
        source: d.source.as_str().into(),
        category: d.category.as_str().into(),
        status: d.status.as_str().into(),
        summary: free_text(&d.summary, personal),
        address: free_text(&d.address, personal),
        community_id: d.community_id.map(|c| c.0),
        incident_ids: d.incident_ids.iter().map(|i| i.0).collect(),
        parties,
        parties_masked: masked,
        risk: d.risk.as_str().into(),
        risk_reasons: d.risk_reasons.iter().map(|r| r.as_str().into()).collect(),
        repeats: repeats.iter().map(|r| r.0).collect(),
        responsible_org: organisation_dto(state, d.responsible_org),
        participating_orgs: d
            .participating_orgs
            .iter()
            .map(|&o| organisation_dto(state, o))
            .collect(),
        mediator_ids: d.mediators.iter().map(|u| u.0).collect(),
        planned_sessions: narrative(&d.planned_sessions, masked),
        sessions: narrative(&d.sessions, masked),
        agreement: narrative(&d.agreement, masked),
        follow_ups: narrative(&d.follow_ups, masked),
        referral: d.referral.map(|r| r.as_str().into()),
        history: if masked {
            d.history
                .iter()
                .map(|h| DisputeChange {
                    change: masked_copy(&h.change.masked()),
                    ..h.clone()
                })
                .collect()
        } else {
            d.history.clone()
        },
        opened_at: d.opened_at,
        resolved_at: d.resolved_at,
        closed_at: d.closed_at,
        allowed_actions: policy::dispute_actions(user, d)
            .into_iter()
            .map(str::to_owned)
            .collect(),
    }
}

/// Records that `user` read the people's details of a case (if it has any).
async fn audit_parties_read(state: &AppState, user: &User, d: &Dispute) -> Result<(), ApiError> {
    let narrative_holds_numbers = serde_json::to_value(d)
        .map(|json| strings_hold_personal_numbers(&json))
        .unwrap_or(false);
    if d.parties.iter().any(|p| p.organisation.is_none()) || narrative_holds_numbers {
        state
            .audit(user, "read_parties", format!("dispute {}", d.id))
            .await?;
    }
    Ok(())
}

/// The full case for one who works it (reads of people's details audited).
async fn shown(state: &AppState, user: &User, d: &Dispute) -> Result<DisputeDto, ApiError> {
    audit_parties_read(state, user, d).await?;
    let others = state
        .store
        .recent_disputes(repeat_window_start(d.opened_at))
        .await?;
    // Only cases the reader may see: a repeat must not reveal another
    // organisation's case.
    let repeats = repeats_of(d, &others, |o| may_see(user, o));
    Ok(dispute_dto(state, user, d, false, repeats))
}

fn unknown(field: &'static str, value: &str) -> ApiError {
    ApiError::unprocessable(
        "invalid_field",
        format!("unknown {field} {value:?}"),
        format!("{field} 取值无效:{value}"),
    )
}

fn parse<T>(field: &'static str, value: &str, parse: fn(&str) -> Option<T>) -> Result<T, ApiError> {
    parse(value).ok_or_else(|| unknown(field, value))
}

fn organisation(state: &AppState, id: i64) -> Result<OrganisationId, ApiError> {
    let id = OrganisationId(id);
    state
        .ground()
        .organisation(id)
        .map(|o| o.id)
        .ok_or_else(|| {
            ApiError::unprocessable(
                "unknown_organisation",
                format!("organisation {id} does not exist"),
                format!("组织 {id} 不存在"),
            )
        })
}

fn parties(input: Vec<PartyInput>) -> Result<Vec<Party>, ApiError> {
    input
        .into_iter()
        .map(|p| {
            let phone = match p.phone.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
                Some(text) => Some(PhoneNumber::parse(text).map_err(|_| {
                    ApiError::unprocessable(
                        "invalid_phone",
                        format!(
                            "the phone number of party {:?} is not a phone number",
                            p.name
                        ),
                        format!("当事人“{}”的电话号码无效", p.name),
                    )
                })?),
                None => None,
            };
            let organisation = match p.organisation_kind.as_deref() {
                Some(kind) => Some(parse("organisation_kind", kind, OrganisationKind::parse)?),
                None => None,
            };
            Ok(Party {
                name: p.name.trim().to_owned(),
                phone,
                vulnerable: p.vulnerable,
                organisation,
            })
        })
        .collect()
}

// ------------------------------------------------------------------ handlers

#[utoipa::path(
    get, path = "/api/organisations", operation_id = "list_organisations", tag = "disputes",
    responses((status = 200, body = [OrganisationDto])),
    security(("bearer" = []))
)]
pub async fn list_organisations(
    State(state): State<AppState>,
    authed: Authed,
) -> Result<Json<Vec<OrganisationDto>>, ApiError> {
    authed.may(Action::ViewOrganisations)?;
    Ok(Json(
        state
            .ground()
            .organisations
            .iter()
            .map(OrganisationDto::from)
            .collect(),
    ))
}

#[utoipa::path(
    post, path = "/api/disputes", operation_id = "open_dispute", tag = "disputes",
    request_body = OpenDisputeRequest,
    responses(
        (status = 201, description = "Registered, with its risk and reasons", body = DisputeDto),
        (status = 422, description = "Unknown organisation or category, no party, an incident not referred to mediation", body = ErrorBody),
        (status = 403, body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn open_dispute(
    State(state): State<AppState>,
    authed: Authed,
    JsonBody(request): JsonBody<OpenDisputeRequest>,
) -> Result<(StatusCode, Json<DisputeDto>), ApiError> {
    text_limit(
        "summary",
        request.summary.as_deref().unwrap_or_default(),
        limits::SUMMARY,
    )?;
    text_limit(
        "address",
        request.address.as_deref().unwrap_or_default(),
        limits::ADDRESS,
    )?;
    party_limits("parties", &request.parties)?;
    count_limit(
        "participating_org_ids",
        request.participating_org_ids.len(),
        limits::ORGANISATIONS,
    )?;
    let user = authed.may(Action::OpenDispute)?.clone();
    let source = parse("source", &request.source, DisputeSource::parse)?;
    let responsible = organisation(&state, request.responsible_org_id)?;
    let participating = request
        .participating_org_ids
        .iter()
        .map(|&id| organisation(&state, id))
        .collect::<Result<Vec<_>, _>>()?;
    // The relation the opener will have to the case it opens.
    let organisations: Vec<OrganisationId> = std::iter::once(responsible)
        .chain(participating.iter().copied())
        .collect();
    if !policy::allows(
        user.role,
        Action::OpenDispute,
        &policy::case_relations(&user, &organisations),
    ) {
        return Err(ApiError::forbidden());
    }
    let from_incident = match (source, request.incident_id) {
        (DisputeSource::Incident, Some(id)) => Some(IncidentId(id)),
        (DisputeSource::Incident, None) => {
            return Err(ApiError::unprocessable(
                "missing_incident",
                "a dispute from an incident names the incident",
                "请指明来源警情",
            ));
        }
        (_, Some(_)) => {
            return Err(ApiError::unprocessable(
                "invalid_field",
                "only a dispute from an incident names one",
                "仅“警情移交”来源可关联警情",
            ));
        }
        (_, None) => None,
    };
    let (location, community_id) = match request.location {
        Some(point) => {
            let point = point.parse()?;
            (Some(point), state.ground().resolve(point).community_id)
        }
        None => (None, None),
    };
    let category = match request.category.as_deref() {
        Some(text) => parse("category", text, DisputeCategory::parse)?,
        // From an incident: its category decides (see `fill_from_incident`).
        None => DisputeCategory::Other,
    };
    let new = NewDispute {
        source,
        category,
        summary: request.summary.unwrap_or_default(),
        address: request.address.unwrap_or_default(),
        location,
        community_id,
        incident_ids: Vec::new(),
        parties: parties(request.parties)?,
        responsible_org: responsible,
        participating_orgs: participating,
    };
    let actor = authed.actor();
    let opened = state
        .store
        .open_dispute(new, from_incident, user.clone(), actor)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(dispute_dto(
            &state,
            &user,
            &opened.dispute,
            false,
            opened.repeats,
        )),
    ))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListDisputesQuery {
    /// One status (registered, accepted, in_mediation, …), `open` (not closed, the default) or `all`.
    #[param(schema_with = crate::schema::dispute_status_filter)]
    pub status: Option<String>,
    /// At most this many (default 200; 1 to 500).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<u32>,
    /// Only cases older than this one (its id): the next page after a page
    /// whose last case it is.
    #[param(minimum = 1)]
    pub before: Option<i64>,
}

#[utoipa::path(
    get, path = "/api/disputes", operation_id = "list_disputes", tag = "disputes",
    params(ListDisputesQuery),
    responses((status = 200, description = "The cases this user may see, newest first, a page at a time (`limit`, then `before` = the last id); parties masked", body = [DisputeDto])),
    security(("bearer" = []))
)]
pub async fn list_disputes(
    State(state): State<AppState>,
    authed: Authed,
    QueryParams(query): QueryParams<ListDisputesQuery>,
) -> Result<Json<Vec<DisputeDto>>, ApiError> {
    let user = authed.may(Action::ListDisputes)?;
    let status = match query.status.as_deref() {
        None | Some("open") => StatusFilter::Open,
        Some("all") => StatusFilter::All,
        Some(text) => StatusFilter::Only(parse("status", text, DisputeStatus::parse)?),
    };
    let limit = crate::dto::limit_within(query.limit, 200, 500)?;
    let mut before = match query.before {
        None => None,
        Some(id) if id > 0 => Some(DisputeId(id)),
        Some(_) => {
            return Err(ApiError::unprocessable(
                "invalid_field",
                "before must be a case id (a positive integer)",
                "before 须为案件编号（正整数）",
            ));
        }
    };
    // Pages of the store, newest first, until this one is full with cases
    // the user may see (a mediator sees only their organisation's).
    let mut shown = Vec::new();
    loop {
        let page = state.store.dispute_page(before, status, limit).await?;
        let exhausted = page.len() < limit as usize;
        before = page.last().map(|d| d.id);
        for dispute in page.iter().filter(|d| may_see(user, d)) {
            if shown.len() < limit as usize {
                shown.push(dispute_dto(&state, user, dispute, true, Vec::new()));
            }
        }
        if exhausted || shown.len() >= limit as usize {
            break;
        }
    }
    Ok(Json(shown))
}

#[utoipa::path(
    get, path = "/api/disputes/{id}", operation_id = "get_dispute", tag = "disputes",
    params(("id" = i64, Path, description = "Dispute id")),
    responses((status = 200, description = "The whole case; reading the parties' details is audited", body = DisputeDto), (status = 404, description = "No such case, or not one of yours", body = ErrorBody)),
    security(("bearer" = []))
)]
pub async fn get_dispute(
    State(state): State<AppState>,
    authed: Authed,
    PathId(id): PathId,
) -> Result<Json<DisputeDto>, ApiError> {
    let user = authed.may(Action::ViewDispute)?;
    let dispute = load(&state, user, id).await?;
    Ok(Json(shown(&state, user, &dispute).await?))
}

/// Applies one change to a case the user works: one write transaction
/// (the policy, the rule, the version check, its events, the audit of the
/// answer), then the case as they see it.
async fn change(
    state: &AppState,
    authed: &Authed,
    id: i64,
    version: Option<i64>,
    op: DisputeOp,
) -> Result<Json<DisputeDto>, ApiError> {
    // The store asks the policy about this case (`apply::change_dispute`).
    let user = authed.may(policy::dispute_op_action(&op))?;
    let view = state
        .store
        .change_dispute(DisputeId(id), version, op, user.clone(), authed.actor())
        .await
        .map_err(|e| match e {
            StoreError::Stale(message) => ApiError::new(
                StatusCode::CONFLICT,
                "conflict",
                message,
                "该案件已被他人修改，请刷新后重试",
            ),
            other => other.into(),
        })?;
    Ok(Json(dispute_dto(
        state,
        user,
        &view.dispute,
        false,
        view.repeats,
    )))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct AcceptRequest {
    /// Users who mediate (default: the one accepting).
    #[serde(default)]
    pub mediator_ids: Vec<i64>,
    /// The case's version the user saw: a change to a case that moved on
    /// meanwhile answers 409 `conflict` (leave it out to apply regardless).
    pub version: Option<i64>,
}

#[utoipa::path(
    post, path = "/api/disputes/{id}/accept", operation_id = "accept_dispute", tag = "disputes",
    params(("id" = i64, Path, description = "Dispute id")),
    request_body = AcceptRequest,
    responses((status = 200, body = DisputeDto), (status = 409, description = "Illegal transition, or changed meanwhile", body = ErrorBody), (status = 422, description = "`unknown_mediator`: a named mediator is no active account that works cases", body = ErrorBody)),
    security(("bearer" = []))
)]
pub async fn accept_dispute(
    State(state): State<AppState>,
    authed: Authed,
    PathId(id): PathId,
    JsonBody(request): JsonBody<AcceptRequest>,
) -> Result<Json<DisputeDto>, ApiError> {
    count_limit(
        "mediator_ids",
        request.mediator_ids.len(),
        limits::MEDIATORS,
    )?;
    // Mediators named must be accounts that work cases, and still active.
    if !request.mediator_ids.is_empty() {
        let users = state.store.station_state().await?.users;
        for &id in &request.mediator_ids {
            // The station's own, or a member of a mediating organisation.
            let works_cases = users.iter().any(|u| {
                u.id == UserId(id)
                    && !u.disabled
                    && (policy::rule(u.role, Action::WorkDispute) == Some(policy::Relation::Any)
                        || (policy::may_ever(u.role, Action::WorkDispute)
                            && u.organisation_id.is_some()))
            });
            if !works_cases {
                return Err(ApiError::unprocessable(
                    "unknown_mediator",
                    format!("no active account {id} that works dispute cases"),
                    format!("账号 {id} 不存在、已停用或不办理纠纷案件"),
                ));
            }
        }
    }
    let mut mediators: Vec<UserId> = request.mediator_ids.iter().map(|&u| UserId(u)).collect();
    if mediators.is_empty() {
        mediators.push(authed.may(Action::AcceptDispute)?.id);
    }
    change(
        &state,
        &authed,
        id,
        request.version,
        DisputeOp::Accept { mediators },
    )
    .await
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct PlanSessionRequest {
    /// When (RFC 3339, not in the past).
    pub at: DateTime<Utc>,
    /// mediation_room, legal_service_station or on_site
    #[schema(schema_with = crate::schema::venue)]
    pub venue: String,
    /// The organisations asked to attend.
    #[serde(default)]
    pub organisation_ids: Vec<i64>,
    #[serde(default)]
    pub notes: String,
    /// The case's version the user saw: a change to a case that moved on
    /// meanwhile answers 409 `conflict` (leave it out to apply regardless).
    pub version: Option<i64>,
}

#[utoipa::path(
    post, path = "/api/disputes/{id}/planned-sessions", operation_id = "plan_session", tag = "disputes",
    params(("id" = i64, Path, description = "Dispute id")),
    request_body = PlanSessionRequest,
    responses((status = 200, description = "Arranged; shown on the case until a session is recorded", body = DisputeDto), (status = 409, description = "`conflict`: the case changed since the version sent; reload it", body = ErrorBody), (status = 422, description = "In the past, unknown venue or organisation, or the case is not being mediated", body = ErrorBody)),
    security(("bearer" = []))
)]
pub async fn plan_session(
    State(state): State<AppState>,
    authed: Authed,
    PathId(id): PathId,
    JsonBody(request): JsonBody<PlanSessionRequest>,
) -> Result<Json<DisputeDto>, ApiError> {
    text_limit("notes", &request.notes, limits::NOTES)?;
    count_limit(
        "organisation_ids",
        request.organisation_ids.len(),
        limits::ORGANISATIONS,
    )?;
    let venue = parse("venue", &request.venue, Venue::parse)?;
    let organisations = request
        .organisation_ids
        .iter()
        .map(|&o| organisation(&state, o))
        .collect::<Result<Vec<_>, _>>()?;
    let planned = PlannedSession {
        at: request.at,
        venue,
        organisations,
        notes: request.notes.trim().to_owned(),
        planned_by: authed.actor().name,
    };
    change(
        &state,
        &authed,
        id,
        request.version,
        DisputeOp::PlanSession(planned),
    )
    .await
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ParticipantInput {
    pub name: String,
    pub role: String,
    pub organisation_id: Option<i64>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct SessionRequest {
    /// Default: now.
    pub at: Option<DateTime<Utc>>,
    /// mediation_room, legal_service_station or on_site
    #[schema(schema_with = crate::schema::venue)]
    pub venue: String,
    pub participants: Vec<ParticipantInput>,
    #[serde(default)]
    pub notes: String,
    /// agreement, failed or continued
    #[schema(schema_with = crate::schema::session_outcome)]
    pub outcome: String,
    /// The case's version the user saw: a change to a case that moved on
    /// meanwhile answers 409 `conflict` (leave it out to apply regardless).
    pub version: Option<i64>,
}

#[utoipa::path(
    post, path = "/api/disputes/{id}/sessions", operation_id = "record_session", tag = "disputes",
    params(("id" = i64, Path, description = "Dispute id")),
    request_body = SessionRequest,
    responses((status = 200, description = "Recorded; its outcome moves the case on", body = DisputeDto), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = []))
)]
pub async fn record_session(
    State(state): State<AppState>,
    authed: Authed,
    PathId(id): PathId,
    JsonBody(request): JsonBody<SessionRequest>,
) -> Result<Json<DisputeDto>, ApiError> {
    text_limit("notes", &request.notes, limits::NOTES)?;
    count_limit(
        "participants",
        request.participants.len(),
        limits::PARTICIPANTS,
    )?;
    for participant in &request.participants {
        text_limit("participants.name", &participant.name, limits::NAME)?;
        text_limit("participants.role", &participant.role, limits::NAME)?;
    }
    let venue = parse("venue", &request.venue, Venue::parse)?;
    let outcome = parse("outcome", &request.outcome, SessionOutcome::parse)?;
    let participants = request
        .participants
        .into_iter()
        .map(|p| {
            let organisation_id = p
                .organisation_id
                .map(|o| organisation(&state, o))
                .transpose()?;
            Ok(Participant {
                name: p.name.trim().to_owned(),
                role: p.role.trim().to_owned(),
                organisation_id,
            })
        })
        .collect::<Result<Vec<_>, ApiError>>()?;
    let at = request.at.unwrap_or_else(|| state.clock.now());
    let session = MediationSession {
        at,
        venue,
        participants,
        notes: request.notes.trim().to_owned(),
        outcome,
        recorded_by: authed.actor().name,
    };
    change(
        &state,
        &authed,
        id,
        request.version,
        DisputeOp::RecordSession(session),
    )
    .await
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct AgreementRequest {
    /// The facts as the parties accept them.
    pub facts: String,
    /// What each party undertakes, one term each.
    pub terms: Vec<String>,
    /// The case's version the user saw: a change to a case that moved on
    /// meanwhile answers 409 `conflict` (leave it out to apply regardless).
    pub version: Option<i64>,
}

#[utoipa::path(
    post, path = "/api/disputes/{id}/agreement", operation_id = "record_agreement", tag = "disputes",
    params(("id" = i64, Path, description = "Dispute id")),
    request_body = AgreementRequest,
    responses((status = 200, body = DisputeDto), (status = 409, description = "`conflict`: the case changed since the version sent; reload it", body = ErrorBody), (status = 422, description = "No agreement reached yet, or no term", body = ErrorBody)),
    security(("bearer" = []))
)]
pub async fn record_agreement(
    State(state): State<AppState>,
    authed: Authed,
    PathId(id): PathId,
    JsonBody(request): JsonBody<AgreementRequest>,
) -> Result<Json<DisputeDto>, ApiError> {
    text_limit("facts", &request.facts, limits::FACTS)?;
    count_limit("terms", request.terms.len(), limits::TERMS)?;
    for term in &request.terms {
        text_limit("terms", term, limits::TERM)?;
    }
    let op = DisputeOp::DraftAgreement {
        facts: request.facts,
        terms: request.terms,
    };
    change(&state, &authed, id, request.version, op).await
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct SignRequest {
    /// The party's name, as on the case.
    pub party: String,
    /// The case's version the user saw: a change to a case that moved on
    /// meanwhile answers 409 `conflict` (leave it out to apply regardless).
    pub version: Option<i64>,
}

#[utoipa::path(
    post, path = "/api/disputes/{id}/signatures", operation_id = "sign_agreement", tag = "disputes",
    params(("id" = i64, Path, description = "Dispute id")),
    request_body = SignRequest,
    responses((status = 200, description = "Signed; when every party has signed, the 7- and 30-day follow-ups are scheduled", body = DisputeDto), (status = 409, description = "`conflict`: the case changed since the version sent; reload it", body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = []))
)]
pub async fn sign_agreement(
    State(state): State<AppState>,
    authed: Authed,
    PathId(id): PathId,
    JsonBody(request): JsonBody<SignRequest>,
) -> Result<Json<DisputeDto>, ApiError> {
    text_limit("party", &request.party, limits::NAME)?;
    let op = DisputeOp::Sign {
        party: request.party,
    };
    change(&state, &authed, id, request.version, op).await
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct FollowUpRequest {
    /// stable or relapsed (a relapse reopens the case)
    #[schema(schema_with = crate::schema::follow_up_outcome)]
    pub outcome: String,
    pub notes: Option<String>,
    /// The case's version the user saw: a change to a case that moved on
    /// meanwhile answers 409 `conflict` (leave it out to apply regardless).
    pub version: Option<i64>,
}

#[utoipa::path(
    post, path = "/api/disputes/{id}/follow-ups", operation_id = "record_follow_up", tag = "disputes",
    params(("id" = i64, Path, description = "Dispute id")),
    request_body = FollowUpRequest,
    responses((status = 200, description = "The next due visit recorded", body = DisputeDto), (status = 409, description = "`conflict`: the case changed since the version sent; reload it", body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = []))
)]
pub async fn record_follow_up(
    State(state): State<AppState>,
    authed: Authed,
    PathId(id): PathId,
    JsonBody(request): JsonBody<FollowUpRequest>,
) -> Result<Json<DisputeDto>, ApiError> {
    text_limit(
        "notes",
        request.notes.as_deref().unwrap_or_default(),
        limits::NOTES,
    )?;
    let outcome = parse("outcome", &request.outcome, FollowUpOutcome::parse)?;
    let op = DisputeOp::RecordFollowUp {
        outcome,
        notes: request.notes,
    };
    change(&state, &authed, id, request.version, op).await
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ReferRequest {
    /// court, petition_office or arbitration
    #[schema(schema_with = crate::schema::referral)]
    pub to: String,
    /// The case's version the user saw: a change to a case that moved on
    /// meanwhile answers 409 `conflict` (leave it out to apply regardless).
    pub version: Option<i64>,
}

#[utoipa::path(
    post, path = "/api/disputes/{id}/refer", operation_id = "refer_dispute", tag = "disputes",
    params(("id" = i64, Path, description = "Dispute id")),
    request_body = ReferRequest,
    responses((status = 200, body = DisputeDto), (status = 409, description = "Only failed mediation is referred", body = ErrorBody)),
    security(("bearer" = []))
)]
pub async fn refer_dispute(
    State(state): State<AppState>,
    authed: Authed,
    PathId(id): PathId,
    JsonBody(request): JsonBody<ReferRequest>,
) -> Result<Json<DisputeDto>, ApiError> {
    let to = parse("to", &request.to, Referral::parse)?;
    change(&state, &authed, id, request.version, DisputeOp::Refer(to)).await
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct CloseDisputeRequest {
    /// Why a registered case is not for mediation (withdrawn, out of scope).
    pub reason: Option<String>,
    /// The case's version the user saw: a change to a case that moved on
    /// meanwhile answers 409 `conflict` (leave it out to apply regardless).
    pub version: Option<i64>,
}

#[utoipa::path(
    post, path = "/api/disputes/{id}/close", operation_id = "close_dispute", tag = "disputes",
    params(("id" = i64, Path, description = "Dispute id")),
    request_body = CloseDisputeRequest,
    responses((status = 200, description = "A registered case dismissed, or a referred one closed", body = DisputeDto), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = []))
)]
pub async fn close_dispute(
    State(state): State<AppState>,
    authed: Authed,
    PathId(id): PathId,
    JsonBody(request): JsonBody<CloseDisputeRequest>,
) -> Result<Json<DisputeDto>, ApiError> {
    text_limit(
        "reason",
        request.reason.as_deref().unwrap_or_default(),
        limits::REASON,
    )?;
    let op = DisputeOp::Close {
        reason: request.reason,
    };
    change(&state, &authed, id, request.version, op).await
}

/// A date in the station's time zone, as printed: 2026年11月1日.
fn chinese_date(state: &AppState, at: DateTime<Utc>) -> String {
    at.with_timezone(&state.tz())
        .format("%Y年%-m月%-d日")
        .to_string()
}

#[utoipa::path(
    get, path = "/api/disputes/{id}/agreement.pdf", operation_id = "print_agreement", tag = "disputes",
    params(("id" = i64, Path, description = "Dispute id")),
    responses(
        (status = 200, description = "The mediation agreement (调解协议书), A4, Chinese text in an embedded font (extractable)", content_type = "application/pdf"),
        (status = 404, description = "No such case (or not one of yours), or no agreement yet", body = ErrorBody),
        (status = 503, description = "No CJK font on the server (`fonts-wqy-microhei`, or `--cjk-font`)", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn print_agreement(
    State(state): State<AppState>,
    authed: Authed,
    PathId(id): PathId,
) -> Result<axum::response::Response, ApiError> {
    use axum::response::IntoResponse;
    let user = authed.may(Action::PrintAgreement)?;
    let dispute = load(&state, user, id).await?;
    if !policy::allows_on_dispute(user, Action::PrintAgreement, &dispute) {
        return Err(ApiError::forbidden());
    }
    let agreement = dispute
        .agreement
        .as_ref()
        .ok_or_else(|| ApiError::not_found(&format!("agreement of dispute {id}")))?;
    let font = state.cjk_font().map_err(|message| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "no_cjk_font",
            message,
            "服务器未安装中文字体，无法生成协议书",
        )
    })?;
    // The printed agreement names the parties: a read of their details.
    audit_parties_read(&state, user, &dispute).await?;
    let responsible = organisation_dto(&state, dispute.responsible_org).name;
    let mediators = dispute
        .organisations()
        .map(|o| organisation_dto(&state, o).name)
        .collect();
    let parties = dispute
        .parties
        .iter()
        .map(|p| match &p.phone {
            Some(phone) => format!("{}，联系电话 {}", p.name, phone.as_str()),
            None => p.name.clone(),
        })
        .collect();
    let signatures = dispute
        .parties
        .iter()
        .map(
            |p| match agreement.signatures.iter().find(|s| s.party == p.name) {
                Some(s) => format!("{}（已签字） {}", p.name, chinese_date(&state, s.signed_at)),
                None => format!("{}：＿＿＿＿＿＿＿＿", p.name),
            },
        )
        .collect();
    let dated = agreement.signed_at.unwrap_or(agreement.drafted_at);
    let text = precinct_pdf::AgreementText {
        title: "人民调解协议书".into(),
        number: format!(
            "{responsible}〔{}〕调字第 {} 号",
            dated.with_timezone(&state.tz()).format("%Y"),
            dispute.id
        ),
        parties,
        mediators,
        facts: agreement.facts.clone(),
        terms: agreement.terms.clone(),
        signatures,
        date: chinese_date(&state, dated),
    };
    let pdf = tokio::task::spawn_blocking(move || precinct_pdf::agreement_pdf(&text, &font))
        .await
        .map_err(|_| ApiError::internal())?
        .map_err(|error| {
            tracing::error!(%error, "rendering an agreement");
            ApiError::internal()
        })?;
    Ok((
        [
            (
                axum::http::header::CONTENT_TYPE,
                "application/pdf".to_owned(),
            ),
            (
                axum::http::header::CONTENT_DISPOSITION,
                format!("inline; filename=\"agreement-{id}.pdf\""),
            ),
            (axum::http::header::CACHE_CONTROL, "no-store".to_owned()),
        ],
        pdf,
    )
        .into_response())
}
