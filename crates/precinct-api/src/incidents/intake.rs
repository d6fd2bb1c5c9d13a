//! Incident handlers: intake, read, list, dispatch, notes, close, merge.

use crate::AppState;
use crate::dto::*;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{JsonBody, PathId, QueryParams};
use crate::session::Authed;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use precinct_domain::ids::{IncidentId, UnitId};
use precinct_domain::incident::{Incident, IncidentStatus};
use precinct_domain::policy::{self, Action};
use precinct_domain::user::User;
use precinct_storage::IncidentFilter;
use std::time::Instant;

/// Loads an incident the user may see. A volunteer sees only incidents their
/// unit is or was assigned to; others are reported as not found, so ids of
/// other incidents reveal nothing.
pub(crate) async fn visible_incident(
    state: &AppState,
    user: &User,
    id: IncidentId,
) -> Result<Incident, ApiError> {
    let incident = state.store.get_incident(id).await?;
    let cases = if policy::sees_only_case_incidents(user.role) {
        case_links(state).await?
    } else {
        Vec::new()
    };
    if !policy::allows(
        user.role,
        Action::ViewIncidents,
        &policy::incident_relations(user, &incident, &cases),
    ) {
        // As if it did not exist.
        return Err(ApiError::not_found(&format!("incident {id}")));
    }
    Ok(incident)
}

/// Every case's incidents and organisations, for the policy's question
/// whether an incident is linked to a case the reader's organisation takes
/// part in.
pub(crate) async fn case_links(
    state: &AppState,
) -> Result<Vec<(Vec<IncidentId>, Vec<precinct_domain::ids::OrganisationId>)>, ApiError> {
    Ok(state
        .store
        .list_disputes()
        .await?
        .into_iter()
        .filter(|d| !d.incident_ids.is_empty())
        .map(|d| (d.incident_ids.clone(), d.organisations().collect()))
        .collect())
}

/// The incidents `user` sees through the cases their organisation takes
/// part in (mediators).
pub(crate) async fn case_incidents(
    state: &AppState,
    user: &User,
) -> Result<std::collections::BTreeSet<IncidentId>, ApiError> {
    Ok(case_links(state)
        .await?
        .into_iter()
        .filter(|(_, organisations)| {
            policy::case_relations(user, organisations).contains(&policy::Relation::PartyToCase)
        })
        .flat_map(|(incidents, _)| incidents)
        .collect())
}

/// Shows callers' details, and phone and ID numbers in the incident's texts
/// and timeline, to roles that need them, recording each such read.
async fn personal_data_for(
    state: &AppState,
    user: &User,
    incident: &Incident,
    timeline: &[precinct_domain::event::Event],
) -> Result<PersonalData, ApiError> {
    if !policy::sees_personal_data(user.role) {
        return Ok(PersonalData::Masked);
    }
    if crate::dto::holds_personal_data(incident, timeline) {
        state
            .audit(user, "read_caller", format!("incident {}", incident.id))
            .await?;
    }
    Ok(PersonalData::Shown)
}

#[utoipa::path(
    post, path = "/api/incidents", operation_id = "create_incident", tag = "incidents",
    request_body = CreateIncidentRequest,
    responses(
        (status = 201, description = "A new incident", body = IntakeResponse),
        (status = 200, description = "The same instruction was already received; nothing created", body = IntakeResponse),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 422, description = "Unknown category/source, bad priority, coordinates out of range, bad phone…", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn create_incident(
    State(state): State<AppState>,
    authed: Authed,
    JsonBody(request): JsonBody<CreateIncidentRequest>,
) -> Result<(StatusCode, Json<IntakeResponse>), ApiError> {
    let user = authed.may(Action::ReportIncident)?;
    let started = Instant::now();
    let ground = state.ground();
    let intake = request.into_intake(&ground, state.clock.now())?;
    let outcome = state.store.intake(intake, authed.actor()).await?;
    state.metrics.observe_intake(started.elapsed());
    if outcome.created {
        // Off the intake path: the flag follows within moments, on the timeline.
        state.check_recurrence(outcome.incident.clone());
    }
    let personal = if policy::sees_personal_data(user.role) {
        PersonalData::Shown
    } else {
        PersonalData::Masked
    };
    let status = if outcome.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((
        status,
        Json(IntakeResponse {
            created: outcome.created,
            incident: IncidentDto::new(&outcome.incident, &ground, personal),
        }),
    ))
}

#[utoipa::path(
    get, path = "/api/incidents/{id}", operation_id = "get_incident", tag = "incidents",
    params(("id" = i64, Path, description = "Incident id")),
    responses(
        (status = 200, description = "The incident with its timeline; callers' details masked unless your role needs them (reads are audited)", body = IncidentDetail),
        (status = 404, body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn get_incident(
    State(state): State<AppState>,
    authed: Authed,
    PathId(id): PathId,
) -> Result<Json<IncidentDetail>, ApiError> {
    let user = authed.may(Action::ViewIncidents)?;
    let incident = visible_incident(&state, user, IncidentId(id)).await?;
    let timeline = state.store.timeline(incident.id).await?;
    let personal = personal_data_for(&state, user, &incident, &timeline).await?;
    let mut recurrent_dispute_ids: Vec<i64> = timeline
        .iter()
        .filter_map(|e| match &e.kind {
            precinct_domain::event::EventKind::DisputeRecurrence { dispute_ids } => {
                Some(dispute_ids)
            }
            _ => None,
        })
        .flatten()
        .map(|d| d.0)
        .collect();
    recurrent_dispute_ids.sort_unstable();
    recurrent_dispute_ids.dedup();
    let photos = state.store.photos(incident.id).await?;
    Ok(Json(IncidentDetail {
        photos: photos.iter().map(crate::dto::PhotoDto::from).collect(),
        incident: IncidentDto::new(&incident, &state.ground(), personal),
        timeline: timeline
            .iter()
            .map(|e| EventDto::for_reader(e, personal))
            .collect(),
        recurrent_dispute_ids,
    }))
}

#[utoipa::path(
    get, path = "/api/incidents", operation_id = "list_incidents", tag = "incidents",
    params(ListIncidentsQuery),
    responses((status = 200, description = "Newest first; callers' details masked", body = [IncidentDto])),
    security(("bearer" = []))
)]
pub async fn list_incidents(
    State(state): State<AppState>,
    authed: Authed,
    QueryParams(query): QueryParams<ListIncidentsQuery>,
) -> Result<Json<Vec<IncidentDto>>, ApiError> {
    let user = authed.may(Action::ViewIncidents)?;
    let (status, open_only) = parse_status_filter(query.status.as_deref())?;
    let assigned_unit = if policy::sees_only_own_unit_incidents(user.role) {
        match user.unit_id {
            Some(unit) => Some(unit),
            None => return Ok(Json(Vec::new())),
        }
    } else {
        None
    };
    let limit = crate::dto::limit_within(query.limit, 200, 1000)?;
    let wanted = |incident: &Incident| match status {
        Some(status) => incident.status == status,
        None => !open_only || incident.status != IncidentStatus::Closed,
    };
    let incidents = if let Some(ids) = query.ids()? {
        // What live events touched: each as its reader may see it.
        let mut incidents = Vec::new();
        for id in ids {
            match visible_incident(&state, user, id).await {
                Ok(incident) if wanted(&incident) => incidents.push(incident),
                Ok(_) => {}
                Err(error) if error.status == axum::http::StatusCode::NOT_FOUND => {}
                Err(error) => return Err(error),
            }
        }
        incidents.sort_by_key(|incident| std::cmp::Reverse(incident.id));
        incidents.dedup_by_key(|incident| incident.id);
        incidents.truncate(limit as usize);
        incidents
    } else if policy::sees_only_case_incidents(user.role) {
        // Newest first, as the store lists them.
        let mut incidents = Vec::new();
        for id in case_incidents(&state, user).await?.into_iter().rev() {
            let incident = state.store.get_incident(id).await?;
            if wanted(&incident) && incidents.len() < limit as usize {
                incidents.push(incident);
            }
        }
        incidents
    } else {
        let filter = IncidentFilter {
            status,
            open_only,
            assigned_unit,
            limit,
            ..IncidentFilter::default()
        };
        state.store.list_incidents(filter).await?
    };
    let ground = state.ground();
    Ok(Json(
        incidents
            .iter()
            .map(|i| IncidentDto::new(i, &ground, PersonalData::Masked))
            .collect(),
    ))
}

#[utoipa::path(
    post, path = "/api/incidents/{id}/dispatch", operation_id = "dispatch_units", tag = "incidents",
    params(("id" = i64, Path, description = "Incident id")),
    request_body = DispatchRequest,
    responses(
        (status = 200, description = "Every unit assigned (units already on the incident are left as they are)", body = IncidentDto),
        (status = 409, description = "A unit is not free (`unit_unavailable`), every unit is already on the incident (`already_dispatched`), a unit that declined or withdrew is sent again without `confirm_resend` (`confirm_resend`), or the incident is closed; nothing assigned", body = ErrorBody),
        (status = 404, body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn dispatch_units(
    State(state): State<AppState>,
    authed: Authed,
    PathId(id): PathId,
    JsonBody(request): JsonBody<DispatchRequest>,
) -> Result<Json<IncidentDto>, ApiError> {
    authed.may(Action::DispatchUnits)?;
    let started = Instant::now();
    let order = precinct_domain::incident::DispatchOrder {
        units: request.unit_ids.into_iter().map(UnitId).collect(),
        divert: Vec::new(),
        confirm_resend: request.confirm_resend,
        seen: None,
    };
    let incident = state
        .store
        .dispatch_order(IncidentId(id), order, authed.actor())
        .await?
        .incident;
    state.metrics.observe_dispatch(started.elapsed());
    Ok(Json(IncidentDto::new(
        &incident,
        &state.ground(),
        PersonalData::Masked,
    )))
}

#[utoipa::path(
    post, path = "/api/incidents/{id}/notes", operation_id = "add_incident_note", tag = "incidents",
    params(("id" = i64, Path, description = "Incident id")),
    request_body = NoteRequest,
    responses((status = 201, body = EventDto), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = []))
)]
pub async fn add_incident_note(
    State(state): State<AppState>,
    authed: Authed,
    PathId(id): PathId,
    JsonBody(request): JsonBody<NoteRequest>,
) -> Result<(StatusCode, Json<EventDto>), ApiError> {
    let user = authed.may(Action::AddIncidentNote)?;
    visible_incident(&state, user, IncidentId(id)).await?;
    let event = state
        .store
        .add_note(IncidentId(id), request.text, authed.actor())
        .await?;
    Ok((StatusCode::CREATED, Json(EventDto::from(&event))))
}

#[utoipa::path(
    post, path = "/api/incidents/{id}/close", operation_id = "close_incident", tag = "incidents",
    params(("id" = i64, Path, description = "Incident id")),
    request_body = CloseRequest,
    responses(
        (status = 200, description = "Closed; its units are released to patrol", body = IncidentDto),
        (status = 409, description = "Already closed", body = ErrorBody),
        (status = 422, description = "Unknown disposition", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn close_incident(
    State(state): State<AppState>,
    authed: Authed,
    PathId(id): PathId,
    JsonBody(request): JsonBody<CloseRequest>,
) -> Result<Json<IncidentDto>, ApiError> {
    authed.may(Action::CloseIncident)?;
    let disposition = request.parse_disposition()?;
    let incident = state
        .store
        .close_incident(IncidentId(id), disposition, request.remark, authed.actor())
        .await?;
    Ok(Json(IncidentDto::new(
        &incident,
        &state.ground(),
        PersonalData::Masked,
    )))
}

#[utoipa::path(
    post, path = "/api/incidents/{id}/merge", operation_id = "merge_incidents", tag = "incidents",
    params(("id" = i64, Path, description = "The duplicate, closed as merged")),
    request_body = MergeRequest,
    responses(
        (status = 200, description = "The surviving incident; its timeline keeps both reports", body = IncidentDto),
        (status = 409, body = ErrorBody),
        (status = 422, body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn merge_incidents(
    State(state): State<AppState>,
    authed: Authed,
    PathId(id): PathId,
    JsonBody(request): JsonBody<MergeRequest>,
) -> Result<Json<IncidentDto>, ApiError> {
    authed.may(Action::MergeIncidents)?;
    let incident = state
        .store
        .merge_incidents(IncidentId(id), IncidentId(request.into), authed.actor())
        .await?;
    Ok(Json(IncidentDto::new(
        &incident,
        &state.ground(),
        PersonalData::Masked,
    )))
}
