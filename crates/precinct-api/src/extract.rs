//! Extractors whose rejections are [`ApiError`]s, so malformed input gets the
//! same stable JSON error body as every other failure.

use crate::error::ApiError;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

/// A JSON body.
#[derive(Debug)]
pub struct JsonBody<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let axum::Json(value) = axum::Json::<T>::from_request(req, state).await?;
        Ok(JsonBody(value))
    }
}

/// A numeric id in the path.
#[derive(Debug, Clone, Copy)]
pub struct PathId(pub i64);

impl<S: Send + Sync> FromRequestParts<S> for PathId {
    type Rejection = ApiError;

    /// Ids are positive integers; any other text names nothing, so it
    /// answers 404 like an id that does not exist.
    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let axum::extract::Path(id) =
            axum::extract::Path::<String>::from_request_parts(parts, state).await?;
        match id.parse::<i64>() {
            Ok(id) if id > 0 => Ok(PathId(id)),
            _ => Err(ApiError::new(
                axum::http::StatusCode::NOT_FOUND,
                "not_found",
                format!("nothing has the id {id:?}"),
                "未找到该编号的记录",
            )),
        }
    }
}

/// Query parameters.
#[derive(Debug)]
pub struct QueryParams<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for QueryParams<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let axum::extract::Query(value) =
            axum::extract::Query::<T>::from_request_parts(parts, state).await?;
        Ok(QueryParams(value))
    }
}

/// A multipart field that could not be read: 413 `payload_too_large` past
/// `limit` bytes, else what `bad` says (400).
pub(crate) fn field_error(
    e: axum::extract::multipart::MultipartError,
    limit: usize,
    bad: &dyn Fn(String) -> axum::response::Response,
) -> axum::response::Response {
    if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
        let error = ApiError::new(
            axum::http::StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!("the upload is larger than {limit} bytes"),
            "上传文件过大",
        );
        axum::response::IntoResponse::into_response(error)
    } else {
        bad(e.body_text())
    }
}
