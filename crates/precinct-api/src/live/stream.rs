//! The live stream: committed events as Server-Sent Events.
//!
//! A subscriber first subscribes to the store's live events, then replays
//! from the database everything after the id it last saw (Last-Event-ID or
//! `?after=`), then forwards live events, skipping any it already sent. If it
//! falls behind the live buffer it catches up from the database again, so no
//! event is skipped and none is sent twice.

use crate::AppState;
use crate::dto::{EventDto, StreamQuery};
use crate::error::{ApiError, ErrorBody};
use crate::extract::QueryParams;
use crate::session::{Authed, presented_token, token_hash};
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use futures_util::Stream;
use precinct_domain::event::{Event, EventKind};
use precinct_domain::ids::{EventId, IncidentId, UnitId};
use precinct_domain::policy::{self, Action};
use precinct_domain::user::User;
use precinct_storage::{IncidentFilter, UnitMoved};
use std::collections::{HashMap, HashSet};
use std::convert::Infallible;
use std::time::Duration;
use tokio::sync::{broadcast, mpsc};
use tokio_stream::StreamExt;
use tokio_stream::wrappers::ReceiverStream;

/// Which events a subscriber may see: everything, or (for volunteers) only
/// their own unit's and their incidents'; a dispute's changes only if the
/// policy lets them see the case.
#[derive(Debug)]
struct Visibility {
    user: User,
    unit: Option<UnitId>,
    incidents: Option<HashSet<IncidentId>>,
}

impl Visibility {
    async fn for_user(state: &AppState, user: &User) -> Result<Visibility, ApiError> {
        if policy::sees_only_case_incidents(user.role) {
            // Mediators: the incidents of their organisation's cases, as
            // they stand when the stream opens (reconnecting renews it).
            return Ok(Visibility {
                user: user.clone(),
                unit: None,
                incidents: Some(
                    crate::incidents::intake::case_incidents(state, user)
                        .await?
                        .into_iter()
                        .collect(),
                ),
            });
        }
        if !policy::sees_only_own_unit_incidents(user.role) {
            return Ok(Visibility {
                user: user.clone(),
                unit: None,
                incidents: None,
            });
        }
        let mut incidents = HashSet::new();
        if let Some(unit) = user.unit_id {
            let filter = IncidentFilter {
                assigned_unit: Some(unit),
                limit: 1000,
                ..IncidentFilter::default()
            };
            incidents.extend(
                state
                    .store
                    .list_incidents(filter)
                    .await?
                    .into_iter()
                    .map(|i| i.id),
            );
        }
        Ok(Visibility {
            user: user.clone(),
            unit: user.unit_id,
            incidents: Some(incidents),
        })
    }

    /// Positions: every unit's for those who see every incident, a
    /// volunteer's own unit's, none for a mediator.
    fn admits_position(&self, unit: UnitId) -> bool {
        match (&self.incidents, self.unit) {
            (None, _) => true,
            (Some(_), own) => own == Some(unit),
        }
    }

    fn admits(&mut self, event: &Event) -> bool {
        if let EventKind::AccountCreated { .. } = &event.kind {
            return policy::may_ever(self.user.role, Action::ManageAccounts);
        }
        if let EventKind::DisputeChanged { organisations, .. } = &event.kind {
            return policy::allows(
                self.user.role,
                Action::ViewDispute,
                &policy::case_relations(&self.user, organisations),
            );
        }
        let Some(incidents) = &mut self.incidents else {
            return true;
        };
        if let (EventKind::UnitsDispatched { unit_ids }, Some(incident), Some(unit)) =
            (&event.kind, event.incident_id, self.unit)
            && unit_ids.contains(&unit)
        {
            incidents.insert(incident);
        }
        (event.unit_id.is_some() && event.unit_id == self.unit)
            || event.incident_id.is_some_and(|i| incidents.contains(&i))
    }
}

fn sse_event(event: &Event) -> SseEvent {
    // Streams show personal data masked, free text included.
    let mut dto = EventDto::masked(event);
    // A frame names no party: who signed is read (and audited) with the case.
    if let EventKind::DisputeChanged {
        dispute_id,
        organisations,
        status,
        change,
    } = &event.kind
    {
        let masked = EventKind::DisputeChanged {
            dispute_id: *dispute_id,
            organisations: organisations.clone(),
            status: *status,
            change: change.masked(),
        };
        dto = EventDto::masked(&Event {
            kind: masked,
            ..event.clone()
        });
    }
    SseEvent::default()
        .id(event.id.0.to_string())
        // The kind's name is its `type` (the document's union is checked
        // against the domain's names, `openapi` tests).
        .event(event.kind.name())
        .json_data(&dto)
        .unwrap_or_else(|_| SseEvent::default().comment("unencodable event"))
}

/// How often a stream sends the positions committed since its last
/// `unit_positions` frame: a fleet reports hundreds a second, a map needs
/// each unit's newest a few times a second.
const POSITIONS_EVERY: Duration = Duration::from_millis(250);

/// The positions committed since the last frame, each unit's newest, as a
/// frame: `event: unit_positions`, no id (positions are not events of the
/// record; a reconnecting client reads `list_units`).
fn positions_frame(pending: &mut HashMap<UnitId, UnitMoved>) -> SseEvent {
    let mut positions: Vec<UnitPositionDto> = pending.values().map(UnitPositionDto::from).collect();
    pending.clear();
    positions.sort_by_key(|p| (p.at, p.unit_id));
    SseEvent::default()
        .event("unit_positions")
        .json_data(UnitPositionsDto { positions })
        .unwrap_or_else(|_| SseEvent::default().comment("unencodable positions"))
}

/// Where a unit reported itself.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct UnitPositionDto {
    pub unit_id: i64,
    pub lat: f64,
    pub lon: f64,
    pub at: chrono::DateTime<chrono::Utc>,
}

/// The `unit_positions` frame's data: each unit that moved since the last
/// frame, its newest position, oldest first.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct UnitPositionsDto {
    pub positions: Vec<UnitPositionDto>,
}

impl From<&UnitMoved> for UnitPositionDto {
    fn from(m: &UnitMoved) -> Self {
        UnitPositionDto {
            unit_id: m.unit_id.0,
            lat: m.position.lat(),
            lon: m.position.lon(),
            at: m.at,
        }
    }
}

/// How often a stream checks that its session still stands (logged out on
/// another instance, expired, its account disabled).
const SESSION_RECHECK: Duration = Duration::from_secs(10);

struct Forwarder {
    /// Counts this stream against its session's cap while it runs.
    _slot: crate::limits::StreamSlot,
    state: AppState,
    out: mpsc::Sender<SseEvent>,
    visibility: Visibility,
    last_sent: Option<EventId>,
    /// The session's token hash: the stream lives as long as the session.
    session: String,
}

impl Forwarder {
    /// Sends one event unless already sent or not visible. False when the client is gone.
    async fn forward(&mut self, event: &Event) -> bool {
        if self.last_sent.is_some_and(|last| event.id <= last) {
            return true;
        }
        self.last_sent = Some(event.id);
        if !self.visibility.admits(event) {
            return true;
        }
        self.out.send(sse_event(event)).await.is_ok()
    }

    /// Replays stored events after the last one sent. False when the client is gone or the store failed.
    async fn catch_up(&mut self) -> bool {
        let Some(mut after) = self.last_sent else {
            return true;
        };
        loop {
            let page = match self.state.store.events_after(after, 500).await {
                Ok(page) => page,
                Err(error) => {
                    tracing::error!(%error, "event stream catch-up failed");
                    return false;
                }
            };
            let Some(last) = page.last() else { return true };
            after = last.id;
            for event in &page {
                if !self.forward(event).await {
                    return false;
                }
            }
        }
    }

    async fn session_stands(&self) -> bool {
        // An unreadable store is not a logout: the stream stays. A changed
        // role (an import or an edit) ends it too: the client reconnects
        // and sees what its new role sees.
        match self.state.store.session_user(self.session.clone()).await {
            Ok(None) => false,
            Ok(Some(session)) => session.user.role == self.visibility.user.role,
            Err(_) => true,
        }
    }

    async fn run(
        mut self,
        mut live: broadcast::Receiver<Event>,
        mut positions: broadcast::Receiver<UnitMoved>,
    ) {
        let mut ended = self.state.ended_sessions.subscribe();
        let mut recheck = tokio::time::interval(SESSION_RECHECK);
        recheck.tick().await;
        let mut flush = tokio::time::interval(POSITIONS_EVERY);
        flush.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut pending: HashMap<UnitId, UnitMoved> = HashMap::new();
        let ready =
            serde_json::json!({ "ready": true, "last_event_id": self.last_sent.map(|e| e.0) });
        if self
            .out
            .send(SseEvent::default().event("ready").data(ready.to_string()))
            .await
            .is_err()
            || !self.catch_up().await
        {
            return;
        }
        loop {
            let received = tokio::select! {
                received = live.recv() => received,
                moved = positions.recv() => {
                    match moved {
                        Ok(moved) if self.visibility.admits_position(moved.unit_id) => {
                            pending.insert(moved.unit_id, moved);
                        }
                        // Missed positions are superseded by the next ones.
                        Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => {}
                        Err(broadcast::error::RecvError::Closed) => return,
                    }
                    continue;
                }
                _ = flush.tick() => {
                    if !pending.is_empty() && self.out.send(positions_frame(&mut pending)).await.is_err() {
                        return;
                    }
                    continue;
                }
                // The client went away: free its slot now, not at the next event.
                () = self.out.closed() => return,
                session = ended.recv() => {
                    match session {
                        Ok(hash) if hash == self.session => return,
                        _ => continue,
                    }
                }
                _ = recheck.tick() => {
                    if self.session_stands().await {
                        continue;
                    }
                    return;
                }
            };
            match received {
                Ok(event) => {
                    // An import may have disabled or demoted this account
                    // (its sessions end in the import's transaction): on
                    // every instance, the stream asks at once.
                    if matches!(event.kind, EventKind::StationImported { .. })
                        && !self.session_stands().await
                    {
                        return;
                    }
                    if !self.forward(&event).await {
                        return;
                    }
                }
                Err(broadcast::error::RecvError::Lagged(missed)) => {
                    tracing::warn!(
                        missed,
                        "event subscriber lagged; catching up from the store"
                    );
                    if !self.catch_up().await {
                        return;
                    }
                }
                Err(broadcast::error::RecvError::Closed) => return,
            }
        }
    }
}

/// The `ready` event's data: the stream is open; events after
/// `last_event_id` follow.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct ReadyDto {
    /// Always true.
    pub ready: bool,
    pub last_event_id: Option<i64>,
}

/// One Server-Sent Event of the stream: `event` is `ready` (its `data` a
/// ReadyDto), an event's type (its `data` an EventDto, its `id` the event
/// id, for Last-Event-ID), or `unit_positions` (its `data` a
/// UnitPositionsDto, no id: positions are not events of the record; sent
/// a few times a second with each unit's newest since the last).
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct StreamFrame {
    pub event: String,
    /// The event id (absent on `ready`).
    #[schema(required = false)]
    pub id: Option<String>,
    /// JSON: a ReadyDto, an EventDto or a UnitPositionsDto.
    pub data: String,
}

/// The JSON carried in stream frames (documented for clients).
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum StreamData {
    Ready(ReadyDto),
    Event(Box<EventDto>),
    Positions(UnitPositionsDto),
}

#[utoipa::path(
    get, path = "/api/events/stream", operation_id = "stream_events", tag = "events",
    params(StreamQuery, ("Last-Event-ID" = Option<i64>, Header, description = "Resume after this event id")),
    responses(
        (status = 200, description = "text/event-stream: first a `ready` event (data: ReadyDto), then each committed event (id = event id, event = its type, data = EventDto JSON) and, every 250 ms, the positions committed meanwhile (event = unit_positions, no id, data = UnitPositionsDto JSON: each unit's newest)", content_type = "text/event-stream", body = StreamFrame),
        (status = 401, body = ErrorBody),
        (status = 429, description = "This session already holds as many live streams as it may (`too_many_streams`)", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn stream_events(
    State(state): State<AppState>,
    authed: Authed,
    headers: HeaderMap,
    QueryParams(query): QueryParams<StreamQuery>,
) -> Result<Sse<impl Stream<Item = Result<SseEvent, Infallible>>>, ApiError> {
    // A Last-Event-ID that is no event id is refused, not ignored: a client
    // resuming from it would silently get the wrong events.
    let header_id = match headers.get("last-event-id") {
        None => None,
        Some(value) => Some(
            value
                .to_str()
                .ok()
                .and_then(|v| v.trim().parse::<i64>().ok())
                .ok_or_else(|| {
                    ApiError::unprocessable(
                        "invalid_field",
                        "Last-Event-ID must be an event id (an integer)",
                        "Last-Event-ID 须为事件编号（整数）",
                    )
                })?,
        ),
    };
    let after = header_id.or(query.after).map(EventId);
    let session = presented_token(&headers)
        .map(|token| token_hash(&token))
        .unwrap_or_default();
    let cap = state.limits.streams_per_session;
    let Some(slot) = state.streams.open(&session, cap) else {
        return Err(ApiError::new(
            axum::http::StatusCode::TOO_MANY_REQUESTS,
            "too_many_streams",
            format!("this session already has {cap} live streams open; close one first"),
            format!("此会话已打开 {cap} 个实时推送连接，请先关闭其中一个"),
        ));
    };
    // Subscribe before reading anything, so nothing committed meanwhile is missed.
    let live = state.store.subscribe();
    let positions = state.store.subscribe_positions();
    let visibility = Visibility::for_user(&state, &authed.0).await?;
    let (out, events) = mpsc::channel(256);
    let forwarder = Forwarder {
        _slot: slot,
        state,
        out,
        visibility,
        last_sent: after,
        session,
    };
    tokio::spawn(forwarder.run(live, positions));
    let stream = ReceiverStream::new(events).map(Ok::<_, Infallible>);
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}
