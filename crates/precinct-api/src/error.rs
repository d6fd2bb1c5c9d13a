//! The API's error: a status, a stable machine-readable code, and a human
//! message in English and Chinese. Internals are logged, never shown.

use axum::Json;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use precinct_domain::DomainError;
use precinct_storage::StoreError;
use serde::Serialize;
use utoipa::ToSchema;

/// The body of every error response.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ErrorBody {
    /// Stable machine-readable code, e.g. `unknown_category`.
    pub code: String,
    /// What went wrong, in English.
    pub message: String,
    /// 中文说明.
    pub message_zh: String,
}

#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub message_zh: String,
}

impl ApiError {
    pub fn new(
        status: StatusCode,
        code: &'static str,
        message: impl Into<String>,
        message_zh: impl Into<String>,
    ) -> ApiError {
        ApiError {
            status,
            code,
            message: message.into(),
            message_zh: message_zh.into(),
        }
    }

    pub fn unprocessable(
        code: &'static str,
        message: impl Into<String>,
        message_zh: impl Into<String>,
    ) -> ApiError {
        ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, code, message, message_zh)
    }

    pub fn unauthenticated() -> ApiError {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
            "log in first",
            "请先登录",
        )
    }

    pub fn forbidden() -> ApiError {
        ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "your role may not do this",
            "您的角色无权执行此操作",
        )
    }

    pub fn not_found(what: &str) -> ApiError {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("{what} not found"),
            format!("未找到{what}"),
        )
    }

    /// The disk is full: nothing was saved; writes work again by themselves
    /// once space is freed.
    pub fn storage_full() -> ApiError {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "storage_full",
            "the server's storage is full: nothing was saved; try again once an administrator has freed space",
            "服务器存储空间已满，本次操作未保存；请待管理员释放空间后重试",
        )
    }

    pub fn internal() -> ApiError {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "an internal error occurred; it has been logged",
            "服务器内部错误,已记录",
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            code: self.code.to_owned(),
            message: self.message,
            message_zh: self.message_zh,
        };
        (self.status, Json(body)).into_response()
    }
}

impl From<DomainError> for ApiError {
    fn from(e: DomainError) -> ApiError {
        let message = e.to_string();
        match &e {
            DomainError::InvalidInput { field, .. } => {
                ApiError::unprocessable("invalid_input", message, format!("输入无效:{field}"))
            }
            DomainError::IllegalTransition { entity, from, to } => ApiError::new(
                StatusCode::CONFLICT,
                e.code(),
                message,
                format!("状态不允许:{entity} 不能从 {from} 变为 {to}"),
            ),
            DomainError::UnitUnavailable { unit, status } => ApiError::new(
                StatusCode::CONFLICT,
                e.code(),
                message,
                format!("警力 {unit} 当前不可调派(状态 {status})"),
            ),
            DomainError::IncidentClosed { incident } => ApiError::new(
                StatusCode::CONFLICT,
                e.code(),
                message,
                format!("警情 {incident} 已结束"),
            ),
            DomainError::AlreadyDispatched { call_signs } => ApiError::new(
                StatusCode::CONFLICT,
                e.code(),
                message,
                format!("已在本警情上，无需重复派警：{}", call_signs.join("、")),
            ),
            DomainError::ResendUnconfirmed { call_signs } => ApiError::new(
                StatusCode::CONFLICT,
                e.code(),
                message,
                format!(
                    "曾拒绝或退出本警情，确认后才能再次调派：{}",
                    call_signs.join("、")
                ),
            ),
            DomainError::NotReferred { incident } => ApiError::unprocessable(
                e.code(),
                message,
                format!("警情 {incident} 未以“移交调解”结案"),
            ),
            DomainError::InvalidRecord { message_zh, .. } => {
                ApiError::unprocessable(e.code(), message, message_zh.clone())
            }
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> ApiError {
        match e {
            StoreError::NotFound { entity, id } => ApiError::new(
                StatusCode::NOT_FOUND,
                "not_found",
                format!("{entity} {id} not found"),
                format!("未找到 {entity} {id}"),
            ),
            StoreError::Rule(rule) => rule.into(),
            StoreError::Forbidden(_) => ApiError::forbidden(),
            StoreError::AlreadyExists(message) => ApiError::new(
                StatusCode::CONFLICT,
                "already_exists",
                message,
                "记录已存在",
            ),
            StoreError::Stale(message) => ApiError::new(
                StatusCode::CONFLICT,
                "conflict",
                message,
                "数据已被他人修改，请刷新后重试",
            ),
            StoreError::StorageFull(detail) => {
                tracing::error!(%detail, "storage full: writes fail until space is freed");
                ApiError::storage_full()
            }
            error @ StoreError::Driver { .. } => {
                tracing::error!(detail = %error.chain(), "storage failure");
                ApiError::internal()
            }
            StoreError::Other(detail) => {
                tracing::error!(%detail, "storage failure");
                ApiError::internal()
            }
        }
    }
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> ApiError {
        match rejection {
            JsonRejection::JsonDataError(e) => ApiError::unprocessable(
                "invalid_field",
                format!(
                    "the request body does not match the schema: {}",
                    e.body_text()
                ),
                "请求内容字段缺失或类型错误",
            ),
            other if other.status() == StatusCode::PAYLOAD_TOO_LARGE => ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                "the request body is larger than this endpoint takes",
                "请求内容过大",
            ),
            JsonRejection::MissingJsonContentType(_) => ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "send the body as Content-Type: application/json",
                "请求须为 JSON (Content-Type: application/json)",
            ),
            other => ApiError::new(
                StatusCode::BAD_REQUEST,
                "malformed_json",
                format!("the request body is not valid JSON: {}", other.body_text()),
                "请求内容不是合法的 JSON",
            ),
        }
    }
}

impl From<PathRejection> for ApiError {
    fn from(rejection: PathRejection) -> ApiError {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_path",
            rejection.body_text(),
            "路径参数无效",
        )
    }
}

impl From<QueryRejection> for ApiError {
    fn from(rejection: QueryRejection) -> ApiError {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_query",
            rejection.body_text(),
            "查询参数无效",
        )
    }
}

/// What a path that is no route answers (under `/api/`).
pub(crate) fn route_not_found() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "route_not_found",
        "no such endpoint",
        "接口不存在",
    )
}
