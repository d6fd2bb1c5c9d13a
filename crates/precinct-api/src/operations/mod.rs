//! Health, readiness, metrics and the API's own document.

pub mod metrics;

use crate::AppState;
use crate::gate::{Gate, Routes};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use precinct_domain::policy::Action::ViewMetrics;
use precinct_storage::StoreError;
use utoipa_axum::routes;

pub(crate) fn routes() -> Routes {
    Routes::default()
        .add(Gate::Public, routes!(healthz))
        .add(Gate::Public, routes!(readyz))
        .add(Gate::Public, routes!(openapi_json))
        .add(Gate::Session(ViewMetrics), routes!(metrics::render))
}

#[utoipa::path(
    get, path = "/healthz", operation_id = "health", tag = "operations",
    responses((status = 200, description = "The server and its store answer"), (status = 503, description = "The store does not answer"))
)]
pub async fn healthz(State(state): State<AppState>) -> impl IntoResponse {
    match state.store.count_users().await {
        Ok(_) => (StatusCode::OK, Json(serde_json::json!({ "status": "ok" }))),
        Err(error) => {
            tracing::error!(%error, "health check failed");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(serde_json::json!({ "status": "unavailable" })),
            )
        }
    }
}

/// What `/readyz` answers.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct ReadinessDto {
    /// `ready` or `not_ready`.
    pub status: &'static str,
    /// Whether a write through the writer succeeded just now.
    pub database_writable: bool,
    /// Free bytes on the database's disk (SQLite; absent for PostgreSQL).
    pub free_bytes: Option<u64>,
    /// The least free space for ready.
    pub min_free_bytes: u64,
    /// Why not ready, when not (English).
    pub problems: Vec<String>,
}

#[utoipa::path(
    get, path = "/readyz", operation_id = "readiness", tag = "operations",
    responses(
        (status = 200, description = "The server can take writes: a real write went through the writer, and the database's disk has more free space than the threshold", body = ReadinessDto),
        (status = 503, description = "Not ready: the database does not take writes (disk full, PostgreSQL unreachable) or free space is below the threshold; a load balancer should send traffic elsewhere", body = ReadinessDto),
    )
)]
pub async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    let min_free_bytes = state.limits.min_free_disk_bytes;
    let mut problems = Vec::new();
    let probe = tokio::time::timeout(std::time::Duration::from_secs(5), state.store.readiness());
    let (database_writable, free_bytes) = match probe.await {
        Ok(Ok(readiness)) => (true, readiness.free_bytes),
        Ok(Err(error)) => {
            tracing::warn!(%error, "readiness: the database does not take writes");
            problems.push(match error {
                StoreError::StorageFull(_) => "storage full: the database cannot write".to_owned(),
                _ => "the database does not take writes".to_owned(),
            });
            (false, None)
        }
        Err(_) => {
            problems.push("the database did not answer within 5 s".to_owned());
            (false, None)
        }
    };
    if let Some(free) = free_bytes
        && free < min_free_bytes
    {
        problems.push(format!(
            "{} MiB free on the database's disk, below the {} MiB threshold",
            free / (1024 * 1024),
            min_free_bytes / (1024 * 1024)
        ));
    }
    let ready = problems.is_empty();
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (
        status,
        Json(ReadinessDto {
            status: if ready { "ready" } else { "not_ready" },
            database_writable,
            free_bytes,
            min_free_bytes,
            problems,
        }),
    )
}

#[utoipa::path(
    get, path = "/api/openapi.json", operation_id = "openapi_document", tag = "operations",
    responses((status = 200, description = "This document (OpenAPI 3.1)", content_type = "application/json"))
)]
pub async fn openapi_json() -> impl IntoResponse {
    (
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        crate::openapi::served(),
    )
}
