//! Prometheus metrics: requests, intake and dispatch counts and latencies,
//! served in the OpenMetrics text format at `/metrics`.

use crate::AppState;
use crate::error::ApiError;
use crate::session::{Authed, presented_token, token_hash};
use axum::extract::{MatchedPath, Request, State};
use axum::http::HeaderMap;
use axum::http::header::CONTENT_TYPE;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use precinct_domain::policy::Action;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use std::time::{Duration, Instant};

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: String,
    route: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: String,
}

fn latency_histogram() -> Histogram {
    // 100 µs … ~1.6 s
    Histogram::new(exponential_buckets(0.0001, 2.0, 15))
}

#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    request_seconds: Family<RouteLabels, Histogram, fn() -> Histogram>,
    intakes: Counter,
    intake_seconds: Histogram,
    dispatches: Counter,
    dispatch_seconds: Histogram,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("precinct");
        let requests = Family::<RequestLabels, Counter>::default();
        let request_seconds =
            Family::<RouteLabels, Histogram, fn() -> Histogram>::new_with_constructor(
                latency_histogram as fn() -> Histogram,
            );
        let intakes = Counter::default();
        let intake_seconds = latency_histogram();
        let dispatches = Counter::default();
        let dispatch_seconds = latency_histogram();
        registry.register(
            "http_requests",
            "HTTP requests by method, route and status",
            requests.clone(),
        );
        registry.register(
            "http_request_seconds",
            "HTTP request latency by route",
            request_seconds.clone(),
        );
        registry.register(
            "intakes",
            "Incident intakes acknowledged (new or repeated)",
            intakes.clone(),
        );
        registry.register(
            "intake_seconds",
            "Durable intake latency (parse, commit, acknowledge)",
            intake_seconds.clone(),
        );
        registry.register("dispatches", "Successful dispatches", dispatches.clone());
        registry.register(
            "dispatch_seconds",
            "Dispatch latency",
            dispatch_seconds.clone(),
        );
        Metrics {
            registry,
            requests,
            request_seconds,
            intakes,
            intake_seconds,
            dispatches,
            dispatch_seconds,
        }
    }
}

impl Metrics {
    pub fn observe_intake(&self, elapsed: Duration) {
        self.intakes.inc();
        self.intake_seconds.observe(elapsed.as_secs_f64());
    }

    pub fn observe_dispatch(&self, elapsed: Duration) {
        self.dispatches.inc();
        self.dispatch_seconds.observe(elapsed.as_secs_f64());
    }

    pub fn render(&self) -> String {
        let mut text = String::new();
        encode(&mut text, &self.registry).expect("writing to a String cannot fail");
        text
    }
}

/// Middleware counting and timing every request by its route template.
pub async fn track(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    // The standard methods by name; anything a client invents is "other",
    // so the label set (and /metrics) stays bounded.
    let method = match request.method().as_str() {
        m @ ("GET" | "HEAD" | "POST" | "PUT" | "PATCH" | "DELETE" | "OPTIONS" | "CONNECT"
        | "TRACE") => m,
        _ => "other",
    }
    .to_owned();
    let started = Instant::now();
    let response = next.run(request).await;
    state
        .metrics
        .requests
        .get_or_create(&RequestLabels {
            method,
            route: route.clone(),
            status: response.status().as_u16(),
        })
        .inc();
    state
        .metrics
        .request_seconds
        .get_or_create(&RouteLabels { route })
        .observe(started.elapsed().as_secs_f64());
    response
}

/// `/metrics` answers to the metrics token (`Authorization: Bearer …`,
/// configured for the scraper) or to an administrator's session: the
/// figures say how busy the station is, which is not for anyone who asks.
#[utoipa::path(
    get, path = "/metrics", operation_id = "metrics", tag = "operations",
    security(("bearer" = [])),
    responses((status = 200, description = "The server's metrics (OpenMetrics text): requests, latencies, writes, live streams. For an administrator's session or the configured scraper token.", content_type = "application/openmetrics-text"))
)]
pub async fn render(
    State(state): State<AppState>,
    headers: HeaderMap,
    authed: Result<Authed, ApiError>,
) -> Response {
    let by_token = match (&state.metrics_token, presented_token(&headers)) {
        // Compared as hashes, so the time taken does not tell how much matched.
        (Some(expected), Some(given)) => token_hash(expected.expose()) == token_hash(&given),
        _ => false,
    };
    if !by_token && let Err(e) = authed.and_then(|a| a.may(Action::ViewMetrics).map(drop)) {
        return e.into_response();
    }
    (
        [(
            CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        state.metrics.render(),
    )
        .into_response()
}
