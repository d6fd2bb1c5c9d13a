//! The administrator's records: every account (with its phone, an audited
//! read), editing one account or one unit, disabling and enabling an
//! account, resetting a password to a one-time one.
//!
//! An edit is an import of the station with that one record changed: it is
//! checked like a package (an unknown post or unit is refused, naming it),
//! planned and written in one transaction with its `station_imported`
//! event, so there is one write path for the station's records.

use crate::AppState;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{JsonBody, PathId};
use crate::passwords::{hash_one_time_password, new_one_time_password};
use crate::session::Authed;
use crate::station::package::{LayerChangesDto, OneTimePasswordDto};
use axum::Json;
use axum::extract::State;
use precinct_domain::ids::{UnitId, UserId};
use precinct_domain::incident::PhoneNumber;
use precinct_domain::policy::{self, Action};
use precinct_domain::station::{PersonEdit, StationEdit, UnitEdit};
use precinct_domain::unit::{Capability, UnitKind};
use precinct_domain::user::Role;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// An account as the administrator sees it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AccountDto {
    pub id: i64,
    pub username: String,
    pub display_name: String,
    #[schema(schema_with = crate::schema::role)]
    pub role: String,
    pub unit_id: Option<i64>,
    pub unit_call_sign: Option<String>,
    pub organisation_id: Option<i64>,
    pub organisation_name: Option<String>,
    pub phone: Option<String>,
    pub disabled: bool,
    pub must_change_password: bool,
    /// A second factor (TOTP) is enrolled.
    pub second_factor: bool,
    /// Whether this administrator may disable the account (not their own,
    /// not another administrator's).
    pub can_be_disabled: bool,
}

#[utoipa::path(
    get, path = "/api/admin/users", operation_id = "list_users", tag = "station",
    responses(
        (status = 200, description = "Every account, disabled ones too, with their phones (the read is audited)", body = [AccountDto]),
        (status = 403, description = "Administrators only", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn list_users(
    State(state): State<AppState>,
    authed: Authed,
) -> Result<Json<Vec<AccountDto>>, ApiError> {
    let admin = authed.may(Action::ManageAccounts)?;
    let station = state.store.station_state().await?;
    state
        .audit(
            admin,
            "list_users",
            format!("{} accounts", station.users.len()),
        )
        .await?;
    let accounts = station
        .users
        .iter()
        .map(|u| AccountDto {
            id: u.id.0,
            username: u.username.as_str().to_owned(),
            display_name: u.display_name.clone(),
            role: u.role.as_str().to_owned(),
            unit_id: u.unit_id.map(|id| id.0),
            unit_call_sign: u
                .unit_id
                .and_then(|id| station.units.iter().find(|unit| unit.id == id))
                .map(|unit| unit.call_sign.clone()),
            organisation_id: u.organisation_id.map(|id| id.0),
            organisation_name: u
                .organisation_id
                .and_then(|id| station.ground.organisation(id))
                .map(|o| o.name.clone()),
            phone: u.phone.as_ref().map(|p| p.as_str().to_owned()),
            disabled: u.disabled,
            must_change_password: u.must_change_password,
            second_factor: u.second_factor,
            can_be_disabled: policy::may_disable_account(admin, u),
        })
        .collect();
    Ok(Json(accounts))
}

/// Changes to one account; what is left out stays as it is.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateUserRequest {
    pub display_name: Option<String>,
    #[schema(schema_with = crate::schema::role_or_null)]
    pub role: Option<String>,
    /// The call sign of the unit a field user belongs to; "" for none.
    pub unit_call_sign: Option<String>,
    /// "" for none.
    pub phone: Option<String>,
    /// Disable (true) or enable again (false).
    pub disabled: Option<bool>,
}

/// Changes to one unit's record; what is left out stays as it is.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateUnitRequest {
    pub name: Option<String>,
    #[schema(schema_with = crate::schema::unit_kind_or_null)]
    pub kind: Option<String>,
    /// The code of its post; "" for none.
    pub post: Option<String>,
    #[schema(schema_with = crate::schema::capabilities_or_null)]
    pub capabilities: Option<Vec<String>>,
    /// "" for none.
    pub phone: Option<String>,
}

fn invalid(field: &str, message: String, message_zh: String) -> ApiError {
    ApiError::unprocessable("invalid_field", format!("{field}: {message}"), message_zh)
}

fn phone(text: &str) -> Result<Option<PhoneNumber>, ApiError> {
    if text.trim().is_empty() {
        return Ok(None);
    }
    PhoneNumber::parse(text).map(Some).map_err(|e| {
        invalid(
            "phone",
            e.to_string(),
            format!("电话号码 “{text}” 格式错误"),
        )
    })
}

fn text(field: &str, value: &str) -> Result<String, ApiError> {
    let value = value.trim();
    if value.is_empty() || value.chars().count() > 100 {
        return Err(invalid(
            field,
            "must have 1 to 100 characters".into(),
            format!("{field} 须为 1 到 100 个字符"),
        ));
    }
    Ok(value.to_owned())
}

/// Makes one edit in one writer transaction, planned there against the
/// station as it stands (`apply::edit_station`), and audits it.
async fn edit_station(
    state: &AppState,
    authed: &Authed,
    edit: StationEdit,
    audit: (&str, String),
) -> Result<Json<Vec<LayerChangesDto>>, ApiError> {
    // The change itself is an event; the audit log says who changed what,
    // in the same transaction.
    let entry = state.audit_entry(&authed.0, audit.0, audit.1);
    let changes = state
        .store
        .edit_station(edit, authed.0.clone(), authed.actor(), entry)
        .await?;
    Ok(Json(changes.iter().map(LayerChangesDto::from).collect()))
}

#[utoipa::path(
    post, path = "/api/admin/users/{id}", operation_id = "update_user", tag = "station",
    params(("id" = i64, Path, description = "The account's id")),
    request_body = UpdateUserRequest,
    responses(
        (status = 200, description = "Changed in one transaction (an event records it)", body = [LayerChangesDto]),
        (status = 403, description = "Administrators only", body = ErrorBody),
        (status = 404, description = "No such account", body = ErrorBody),
        (status = 422, description = "An unknown role or unit, a malformed phone; nothing changed", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn update_user(
    State(state): State<AppState>,
    authed: Authed,
    PathId(id): PathId,
    JsonBody(request): JsonBody<UpdateUserRequest>,
) -> Result<Json<Vec<LayerChangesDto>>, ApiError> {
    authed.may(Action::ManageAccounts)?;
    let role = request
        .role
        .as_deref()
        .map(|role| {
            Role::parse(role).ok_or_else(|| {
                invalid(
                    "role",
                    format!("unknown role {role:?}"),
                    format!("未知角色 “{role}”"),
                )
            })
        })
        .transpose()?;
    let edit = PersonEdit {
        display_name: request
            .display_name
            .as_deref()
            .map(|name| text("display_name", name))
            .transpose()?,
        role,
        unit_call_sign: request
            .unit_call_sign
            .as_deref()
            .map(|unit| (!unit.trim().is_empty()).then(|| unit.trim().to_owned())),
        phone: request.phone.as_deref().map(phone).transpose()?,
        disabled: request.disabled,
    };
    let edit = StationEdit::Person {
        id: UserId(id),
        edit,
    };
    let changes =
        edit_station(&state, &authed, edit, ("update_user", format!("user {id}"))).await?;
    // The account may have changed role or been disabled: at once.
    state.forget_session_cache();
    Ok(changes)
}

#[utoipa::path(
    post, path = "/api/admin/units/{id}", operation_id = "update_unit", tag = "station",
    params(("id" = i64, Path, description = "The unit's id")),
    request_body = UpdateUnitRequest,
    responses(
        (status = 200, description = "Changed in one transaction (an event records it)", body = [LayerChangesDto]),
        (status = 403, description = "Administrators only", body = ErrorBody),
        (status = 404, description = "No such unit (or a retired one)", body = ErrorBody),
        (status = 422, description = "An unknown kind, post or capability, a malformed phone; nothing changed", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn update_unit(
    State(state): State<AppState>,
    authed: Authed,
    PathId(id): PathId,
    JsonBody(request): JsonBody<UpdateUnitRequest>,
) -> Result<Json<Vec<LayerChangesDto>>, ApiError> {
    authed.may(Action::ManageUnits)?;
    let kind = request
        .kind
        .as_deref()
        .map(|kind| {
            UnitKind::parse(kind).ok_or_else(|| {
                invalid(
                    "kind",
                    format!("unknown kind {kind:?}"),
                    format!("未知类型 “{kind}”"),
                )
            })
        })
        .transpose()?;
    let capabilities = request
        .capabilities
        .as_ref()
        .map(|capabilities| {
            capabilities
                .iter()
                .map(|c| {
                    Capability::parse(c).ok_or_else(|| {
                        invalid(
                            "capabilities",
                            format!("unknown capability {c:?}"),
                            format!("未知能力 “{c}”"),
                        )
                    })
                })
                .collect::<Result<Vec<_>, _>>()
        })
        .transpose()?;
    let edit = UnitEdit {
        name: request
            .name
            .as_deref()
            .map(|name| text("name", name))
            .transpose()?,
        kind,
        post: request
            .post
            .as_deref()
            .map(|post| (!post.trim().is_empty()).then(|| post.trim().to_owned())),
        capabilities,
        phone: request.phone.as_deref().map(phone).transpose()?,
    };
    let edit = StationEdit::Unit {
        id: UnitId(id),
        edit,
    };
    edit_station(&state, &authed, edit, ("update_unit", format!("unit {id}"))).await
}

#[utoipa::path(
    post, path = "/api/admin/users/{id}/reset-password", operation_id = "reset_password", tag = "station",
    params(("id" = i64, Path, description = "The account's id")),
    responses(
        (status = 200, description = "A new one-time password, shown only now; it must be changed at the next login", body = OneTimePasswordDto),
        (status = 403, description = "Administrators only", body = ErrorBody),
        (status = 404, description = "No such account", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn reset_password(
    State(state): State<AppState>,
    authed: Authed,
    PathId(id): PathId,
) -> Result<Json<OneTimePasswordDto>, ApiError> {
    let admin = authed.may(Action::ManageAccounts)?;
    let station = state.store.station_state().await?;
    let user = station
        .users
        .iter()
        .find(|u| u.id == UserId(id))
        .ok_or_else(|| ApiError::not_found("user"))?;
    let password = new_one_time_password();
    let entry = state.audit_entry(
        admin,
        "reset_password",
        format!("user {}", user.username.as_str()),
    );
    state
        .store
        .set_password(
            user.id,
            hash_one_time_password(&password),
            true,
            Some(entry),
        )
        .await?;
    Ok(Json(OneTimePasswordDto {
        username: user.username.as_str().to_owned(),
        display_name: user.display_name.clone(),
        one_time_password: password,
    }))
}

/// A session, as the administrator sees it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SessionDto {
    /// Names the session (the SHA-256 of its token; it opens nothing).
    pub id: String,
    pub user_id: i64,
    pub username: String,
    #[schema(schema_with = crate::schema::role)]
    pub role: String,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub last_seen_at: chrono::DateTime<chrono::Utc>,
    pub expires_at: chrono::DateTime<chrono::Utc>,
    /// The client's address at login.
    pub address: Option<String>,
    /// The session this request came with.
    pub current: bool,
}

#[utoipa::path(
    get, path = "/api/admin/sessions", operation_id = "list_sessions", tag = "station",
    responses(
        (status = 200, description = "Every unexpired session, newest first (the read is audited)", body = [SessionDto]),
        (status = 401, body = ErrorBody),
        (status = 403, description = "Administrators only", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn list_sessions(
    State(state): State<AppState>,
    authed: Authed,
    headers: axum::http::HeaderMap,
) -> Result<Json<Vec<SessionDto>>, ApiError> {
    let admin = authed.may(Action::ManageSessions)?;
    let sessions = state.store.list_sessions().await?;
    state
        .audit(
            admin,
            "list_sessions",
            format!("{} sessions", sessions.len()),
        )
        .await?;
    let current = crate::session::presented_token(&headers).map(|t| crate::session::token_hash(&t));
    Ok(Json(
        sessions
            .into_iter()
            .map(|s| SessionDto {
                current: current.as_deref() == Some(s.token_hash.as_str()),
                id: s.token_hash,
                user_id: s.user_id.0,
                username: s.username,
                role: s.role.as_str().to_owned(),
                created_at: s.created_at,
                last_seen_at: s.last_seen_at,
                expires_at: s.expires_at,
                address: s.address,
            })
            .collect(),
    ))
}

#[utoipa::path(
    post, path = "/api/admin/sessions/{id}/revoke", operation_id = "revoke_session", tag = "station",
    params(("id" = String, Path, description = "The session's id, as listed")),
    responses(
        (status = 204, description = "Ended: its next request answers 401 and its live streams close"),
        (status = 401, body = ErrorBody),
        (status = 403, description = "Administrators only", body = ErrorBody),
        (status = 404, description = "No such session", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn revoke_session(
    State(state): State<AppState>,
    authed: Authed,
    path: Result<axum::extract::Path<String>, axum::extract::rejection::PathRejection>,
) -> Result<axum::http::StatusCode, ApiError> {
    let admin = authed.may(Action::ManageSessions)?;
    let axum::extract::Path(id) = path?;
    let session = state
        .store
        .list_sessions()
        .await?
        .into_iter()
        .find(|s| s.token_hash == id)
        .ok_or_else(|| ApiError::not_found("session"))?;
    let entry = state.audit_entry(
        admin,
        "revoke_session",
        format!("a session of {}", session.username),
    );
    state.end_session(&session.token_hash, Some(entry)).await?;
    Ok(axum::http::StatusCode::NO_CONTENT)
}

#[utoipa::path(
    post, path = "/api/admin/users/{id}/reset-second-factor", operation_id = "reset_second_factor", tag = "station",
    params(("id" = i64, Path, description = "The account's id")),
    responses(
        (status = 204, description = "The account's second factor and recovery codes are gone; it enrols again at its next login"),
        (status = 401, body = ErrorBody),
        (status = 403, description = "Administrators only", body = ErrorBody),
        (status = 404, description = "No such account", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn reset_second_factor(
    State(state): State<AppState>,
    authed: Authed,
    PathId(id): PathId,
) -> Result<axum::http::StatusCode, ApiError> {
    let admin = authed.may(Action::ManageAccounts)?;
    // An unknown account answers 404.
    state.store.second_factor(UserId(id)).await?;
    let entry = state.audit_entry(admin, "reset_second_factor", format!("user {id}"));
    state
        .store
        .set_second_factor(
            UserId(id),
            precinct_storage::SecondFactor::default(),
            Some(entry),
        )
        .await?;
    state.forget_session_cache();
    Ok(axum::http::StatusCode::NO_CONTENT)
}
