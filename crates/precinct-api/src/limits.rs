//! Abuse limits, as configuration: how long a client may take to send its
//! headers and its body, how many event streams one session may hold open,
//! how many password checks run at once, and the login throttle's budgets.
//! Body size limits are per route (`DefaultBodyLimit`), text lengths per
//! field (`dto`).

use crate::error::ApiError;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::http::header::CONNECTION;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http_body::{Frame, SizeHint};
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

/// The server's abuse limits (see the README, "Limits").
#[derive(Debug, Clone)]
pub struct Limits {
    /// A connection that has not sent a request's headers this long after
    /// it opened (or after its last response) is closed.
    pub header_timeout: Duration,
    /// A request body must arrive whole within this long (else 408).
    pub body_timeout: Duration,
    /// The same for station package uploads (up to 64 MiB).
    pub upload_timeout: Duration,
    /// Live event streams one session may hold open at once (else 429).
    pub streams_per_session: usize,
    /// Password hashes computed at once (each takes 19 MiB and a core);
    /// other logins queue.
    pub password_checks: usize,
    /// Uploads (station packages, history files) read and checked at once;
    /// others wait their turn.
    pub upload_checks: usize,
    /// Reading and checking one upload stops after this long (422
    /// `too_complex`).
    pub upload_check_deadline: Duration,
    pub login: LoginLimits,
    /// `/readyz` says not ready below this much free space on the
    /// database's disk (SQLite).
    pub min_free_disk_bytes: u64,
    /// A session ends this long after login, however busy.
    pub session_lifetime: chrono::TimeDelta,
    /// An administrator's session ends after this long without a request.
    pub admin_idle: chrono::TimeDelta,
    /// Other sessions end after this long without a request (None: only
    /// the lifetime applies).
    pub idle: Option<chrono::TimeDelta>,
    /// Admins and dispatchers must enrol a second factor (TOTP) before
    /// anything else.
    pub second_factor_required: bool,
}

impl Limits {
    /// The pool uploads are read and checked in.
    pub fn heavy_work(&self) -> crate::heavy::HeavyWork {
        crate::heavy::HeavyWork::new(self.upload_checks, self.upload_check_deadline)
    }

    /// How long a session of `role` may go without a request.
    pub fn idle_limit(&self, role: precinct_domain::user::Role) -> Option<chrono::TimeDelta> {
        match role {
            precinct_domain::user::Role::Admin => Some(self.admin_idle),
            _ => self.idle,
        }
    }
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            header_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(60),
            upload_timeout: Duration::from_secs(600),
            streams_per_session: 8,
            password_checks: std::thread::available_parallelism()
                .map_or(1, |n| (n.get() / 2).max(1)),
            upload_checks: 1,
            upload_check_deadline: Duration::from_secs(120),
            login: LoginLimits::default(),
            min_free_disk_bytes: 256 * 1024 * 1024,
            session_lifetime: chrono::TimeDelta::hours(12),
            admin_idle: chrono::TimeDelta::minutes(30),
            idle: None,
            second_factor_required: false,
        }
    }
}

/// Puts a deadline on reading each request's body; a body not received
/// in time answers 408 `request_timeout` and the connection closes.
pub(crate) async fn body_deadline(
    State(limits): State<Arc<Limits>>,
    request: Request,
    next: Next,
) -> Response {
    let timeout = if request.uri().path().starts_with("/api/station/") {
        limits.upload_timeout
    } else {
        limits.body_timeout
    };
    let expired = Arc::new(AtomicBool::new(false));
    let request = request.map(|inner| {
        Body::new(DeadlineBody {
            inner,
            deadline: Box::pin(tokio::time::sleep(timeout)),
            expired: expired.clone(),
        })
    });
    let response = next.run(request).await;
    if expired.load(Ordering::SeqCst) {
        let mut response = ApiError::new(
            StatusCode::REQUEST_TIMEOUT,
            "request_timeout",
            format!(
                "the request body did not arrive within {} s",
                timeout.as_secs()
            ),
            format!("请求内容未在 {} 秒内送达", timeout.as_secs()),
        )
        .into_response();
        response
            .headers_mut()
            .insert(CONNECTION, axum::http::HeaderValue::from_static("close"));
        return response;
    }
    response
}

/// A request body that fails once its deadline has passed.
struct DeadlineBody {
    inner: Body,
    deadline: Pin<Box<tokio::time::Sleep>>,
    expired: Arc<AtomicBool>,
}

impl http_body::Body for DeadlineBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        if let Poll::Ready(frame) = Pin::new(&mut self.inner).poll_frame(cx) {
            return Poll::Ready(frame);
        }
        if self.deadline.as_mut().poll(cx).is_ready() {
            self.expired.store(true, Ordering::SeqCst);
            return Poll::Ready(Some(Err(axum::Error::new("request body timed out"))));
        }
        Poll::Pending
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// Open event streams per session (by token hash).
#[derive(Debug, Default)]
pub(crate) struct OpenStreams {
    counts: Mutex<HashMap<String, usize>>,
}

/// One open stream of a session; dropping it closes the count.
#[derive(Debug)]
pub(crate) struct StreamSlot {
    streams: Arc<OpenStreams>,
    session: String,
}

impl OpenStreams {
    /// A slot for one more stream of `session`, unless it holds `cap` already.
    pub(crate) fn open(self: &Arc<Self>, session: &str, cap: usize) -> Option<StreamSlot> {
        let mut counts = self.counts.lock().expect("open streams");
        let count = counts.entry(session.to_owned()).or_default();
        if *count >= cap {
            return None;
        }
        *count += 1;
        Some(StreamSlot {
            streams: self.clone(),
            session: session.to_owned(),
        })
    }
}

impl Drop for StreamSlot {
    fn drop(&mut self) {
        let mut counts = self.streams.counts.lock().expect("open streams");
        if let Some(count) = counts.get_mut(&self.session) {
            *count -= 1;
            if *count == 0 {
                counts.remove(&self.session);
            }
        }
    }
}

/// A connection's stream, on which hyper's own answers to requests it could
/// not parse (400, 414 URI too long, 431 headers too large: sent before any
/// handler runs, with an empty body) leave with Precinct's JSON error body,
/// like every other error.
#[derive(Debug)]
pub(crate) struct JsonParseErrors<S> {
    inner: S,
    /// A rewritten answer being written, and how much of it is written.
    pending: Option<(Vec<u8>, usize)>,
}

impl<S> JsonParseErrors<S> {
    pub(crate) fn new(inner: S) -> JsonParseErrors<S> {
        JsonParseErrors {
            inner,
            pending: None,
        }
    }
}

/// The JSON answer standing in for hyper's bodiless one in `head`, if it is one.
fn rewritten_parse_error(head: &[u8]) -> Option<Vec<u8>> {
    let (status, code, message, message_zh) = if head.starts_with(b"HTTP/1.1 414 ") {
        (
            "414 URI Too Long",
            "uri_too_long",
            "the request's address (URI) is too long",
            "请求地址过长",
        )
    } else if head.starts_with(b"HTTP/1.1 431 ") {
        (
            "431 Request Header Fields Too Large",
            "headers_too_large",
            "the request's headers are too large",
            "请求头过大",
        )
    } else if head.starts_with(b"HTTP/1.1 400 ") {
        (
            "400 Bad Request",
            "malformed_request",
            "the request is not valid HTTP/1.1",
            "请求不是合法的 HTTP/1.1 请求",
        )
    } else {
        return None;
    };
    let text = String::from_utf8_lossy(head).to_ascii_lowercase();
    if !text.contains("\r\ncontent-length: 0\r\n") || !text.ends_with("\r\n\r\n") {
        return None;
    }
    let body = serde_json::json!({ "code": code, "message": message, "message_zh": message_zh })
        .to_string();
    Some(
        format!(
            "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        )
        .into_bytes(),
    )
}

impl<S: tokio::io::AsyncRead + Unpin> tokio::io::AsyncRead for JsonParseErrors<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<S: tokio::io::AsyncWrite + Unpin> tokio::io::AsyncWrite for JsonParseErrors<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let this = &mut *self;
        if this.pending.is_none() {
            // An automatic answer is a short head alone, written at once.
            match (buf.len() < 1024)
                .then(|| rewritten_parse_error(buf))
                .flatten()
            {
                Some(answer) => this.pending = Some((answer, 0)),
                None => return Pin::new(&mut this.inner).poll_write(cx, buf),
            }
        }
        let Some((answer, written)) = &mut this.pending else {
            unreachable!("set above");
        };
        while *written < answer.len() {
            match Pin::new(&mut this.inner).poll_write(cx, &answer[*written..]) {
                Poll::Ready(Ok(0)) => {
                    return Poll::Ready(Err(std::io::ErrorKind::WriteZero.into()));
                }
                Poll::Ready(Ok(n)) => *written += n,
                Poll::Ready(Err(error)) => return Poll::Ready(Err(error)),
                Poll::Pending => return Poll::Pending,
            }
        }
        this.pending = None;
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hypers_bodiless_parse_errors_get_a_json_body() {
        let head = b"HTTP/1.1 414 URI Too Long\r\ncontent-length: 0\r\ndate: Mon, 30 Nov 2026 12:00:00 GMT\r\n\r\n";
        let answer = String::from_utf8(rewritten_parse_error(head).unwrap()).unwrap();
        let (head, body) = answer.split_once("\r\n\r\n").unwrap();
        assert!(head.starts_with("HTTP/1.1 414 URI Too Long\r\n"), "{head}");
        assert!(
            head.contains(&format!("content-length: {}", body.len())),
            "{head}"
        );
        let body: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!(body["code"], "uri_too_long");
        // A handler's own answers are left alone.
        assert!(
            rewritten_parse_error(
                b"HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\ncontent-length: 80\r\n\r\n"
            )
            .is_none()
        );
        assert!(rewritten_parse_error(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n").is_none());
    }
}

/// The login throttle's budgets (see `accounts::login::LoginThrottle`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoginLimits {
    /// Failures of one username from one address (or one known device) before cool-downs start.
    pub free_failures: u32,
    /// Failures from one address, all usernames together, before its cool-downs start.
    pub address_free_failures: u32,
    /// Failures of one username, all addresses together, before its cool-downs start
    /// (known devices are not held up by it).
    pub username_free_failures: u32,
    /// The longest cool-down.
    pub max_cool_down: Duration,
    /// Failures are forgotten this long after the last one.
    pub forget_after: Duration,
}

impl Default for LoginLimits {
    fn default() -> LoginLimits {
        LoginLimits {
            free_failures: 5,
            address_free_failures: 300,
            username_free_failures: 30,
            max_cool_down: Duration::from_secs(300),
            forget_after: Duration::from_secs(15 * 60),
        }
    }
}
