//! Fan-out of committed events to this instance's subscribers, in id order
//! and without gaps, whichever instance committed them.
//!
//! Event ids increase in commit order across all instances (see `writer`),
//! so once event N is known to be committed every event up to N is final.
//! The publisher keeps the last id it sent. Its own writer's events come
//! straight from memory. Any gap before them (other instances' events, or
//! ids of rolled-back jobs) and events announced by NOTIFY are read from the
//! database.

use crate::rows::{PgRow, store_error};
use deadpool_postgres::Pool;
use futures_util::StreamExt;
use precinct_domain::event::Event;
use precinct_domain::ids::UnitId;
use precinct_storage::rows::ms;
use precinct_storage::rows::{EVENT_COLUMNS, event_from_row};
use precinct_storage::{StoreResult, UnitMoved};
use tokio::sync::{Mutex, broadcast, mpsc};
use tokio_postgres::{AsyncMessage, NoTls};

#[derive(Debug)]
pub(crate) struct Publisher {
    pool: Pool,
    sender: broadcast::Sender<Event>,
    positions: broadcast::Sender<UnitMoved>,
    /// This instance, in its position notifications: it pushes its own
    /// from memory and skips them when they come back.
    instance: u64,
    /// Each unit's newest position pushed: one committed earlier that
    /// arrives later (another instance's, by notification) is not pushed,
    /// so a map never moves a unit back.
    newest: std::sync::Mutex<std::collections::HashMap<UnitId, chrono::DateTime<chrono::Utc>>>,
    last_sent: Mutex<i64>,
    /// Held by this instance's writer from sending a batch until it has
    /// published the batch's events (see [`Publisher::batch`]).
    batch: Mutex<()>,
}

impl Publisher {
    pub async fn new(
        pool: Pool,
        sender: broadcast::Sender<Event>,
        positions: broadcast::Sender<UnitMoved>,
    ) -> StoreResult<Publisher> {
        let client = pool
            .get()
            .await
            .map_err(|e| precinct_storage::StoreError::Other(e.to_string()))?;
        let last: i64 = client
            .query_one("SELECT COALESCE(MAX(id), 0) FROM events", &[])
            .await
            .map_err(store_error)?
            .get(0);
        Ok(Publisher {
            pool,
            sender,
            positions,
            newest: std::sync::Mutex::new(std::collections::HashMap::new()),
            // Random per instance (std's hasher keys are).
            instance: {
                use std::hash::{BuildHasher, Hasher};
                std::collections::hash_map::RandomState::new()
                    .build_hasher()
                    .finish()
            },
            last_sent: Mutex::new(last),
            batch: Mutex::new(()),
        })
    }

    /// Marks a batch of this instance's writer as under way until the guard
    /// is dropped. A notification arriving meanwhile (most likely for this
    /// very batch) waits for it, so the writer publishes its own events from
    /// memory and the listener reads from the database only what other
    /// instances committed.
    pub async fn batch(&self) -> tokio::sync::MutexGuard<'_, ()> {
        self.batch.lock().await
    }

    /// Events this instance's writer just committed, in id order.
    pub async fn publish_local(&self, events: Vec<Event>) {
        let Some(first) = events.first() else { return };
        let mut last = self.last_sent.lock().await;
        if first.id.0 > *last + 1 {
            self.send_stored(&mut last, first.id.0 - 1).await;
        }
        for event in events {
            if event.id.0 > *last {
                *last = event.id.0;
                let _ = self.sender.send(event);
            }
        }
    }

    /// Positions this instance's writer just committed.
    pub fn publish_positions(&self, positions: &[UnitMoved]) {
        for moved in positions {
            self.push_position(*moved);
        }
    }

    /// Pushes a position unless a newer one of its unit went out already.
    fn push_position(&self, moved: UnitMoved) {
        let mut newest = self.newest.lock().unwrap_or_else(|e| e.into_inner());
        match newest.get(&moved.unit_id) {
            Some(&at) if at > moved.at => {}
            _ => {
                newest.insert(moved.unit_id, moved.at);
                let _ = self.positions.send(moved);
            }
        }
    }

    /// The notifications telling the other instances of committed
    /// positions: `<instance>;<unit>,<lat>,<lon>,<at ms>;…`, each under
    /// PostgreSQL's 8,000-byte payload limit.
    pub fn positions_payloads(&self, positions: &[UnitMoved]) -> Vec<String> {
        use std::fmt::Write;
        let mut payloads = Vec::new();
        let mut current = String::new();
        for m in positions {
            if current.len() > 7_800 {
                payloads.push(std::mem::take(&mut current));
            }
            if current.is_empty() {
                current = self.instance.to_string();
            }
            let _ = write!(
                current,
                ";{},{},{},{}",
                m.unit_id.0,
                m.position.lat(),
                m.position.lon(),
                ms(m.at)
            );
        }
        if !current.is_empty() {
            payloads.push(current);
        }
        payloads
    }

    /// Another instance's positions, from its notification.
    fn received_positions(&self, payload: &str) {
        let mut parts = payload.split(';');
        let from = parts.next().and_then(|p| p.parse::<u64>().ok());
        if from.is_none() || from == Some(self.instance) {
            return;
        }
        for part in parts {
            let fields: Vec<&str> = part.split(',').collect();
            let [unit, lat, lon, at] = fields[..] else {
                continue;
            };
            let (Ok(unit), Ok(lat), Ok(lon), Ok(at)) = (
                unit.parse::<i64>(),
                lat.parse::<f64>(),
                lon.parse::<f64>(),
                at.parse::<i64>(),
            ) else {
                continue;
            };
            let (Ok(position), Some(at)) = (
                precinct_domain::Coordinates::new(lat, lon),
                chrono::DateTime::from_timestamp_millis(at),
            ) else {
                continue;
            };
            self.push_position(UnitMoved {
                unit_id: UnitId(unit),
                position,
                at,
            });
        }
    }

    /// Everything up to `id` is committed (a notification, or a catch-up).
    pub async fn advance_to(&self, id: i64) {
        drop(self.batch.lock().await);
        let mut last = self.last_sent.lock().await;
        if id > *last {
            self.send_stored(&mut last, id).await;
        }
    }

    async fn send_stored(&self, last: &mut i64, up_to: i64) {
        let client = match self.pool.get().await {
            Ok(client) => client,
            Err(error) => {
                tracing::error!(%error, "cannot read events to publish");
                return;
            }
        };
        let sql = format!(
            "SELECT {EVENT_COLUMNS} FROM events WHERE id > $1 AND id <= $2 ORDER BY id LIMIT 1000"
        );
        loop {
            let rows = match client.query(&sql, &[&*last, &up_to]).await {
                Ok(rows) => rows,
                Err(error) => {
                    tracing::error!(%error, "cannot read events to publish");
                    return;
                }
            };
            if rows.is_empty() {
                *last = up_to;
                return;
            }
            for row in &rows {
                match event_from_row(&PgRow(row)) {
                    Ok(event) => {
                        *last = event.id.0;
                        let _ = self.sender.send(event);
                    }
                    Err(error) => {
                        tracing::error!(%error, "unreadable event");
                        return;
                    }
                }
            }
        }
    }
}

/// Listens for other instances' commits, reconnecting after a lost
/// connection and catching up on whatever was committed meanwhile.
pub(crate) async fn listen(config: tokio_postgres::Config, publisher: std::sync::Arc<Publisher>) {
    loop {
        match config.connect(NoTls).await {
            Ok((client, mut connection)) => {
                let (notifications, mut received) = mpsc::unbounded_channel::<(bool, String)>();
                let driver = tokio::spawn(async move {
                    let mut messages =
                        futures_util::stream::poll_fn(move |cx| connection.poll_message(cx));
                    while let Some(message) = messages.next().await {
                        match message {
                            Ok(AsyncMessage::Notification(n)) => {
                                let positions = n.channel() == crate::keys::POSITIONS_CHANNEL;
                                let _ = notifications.send((positions, n.payload().to_owned()));
                            }
                            Ok(_) => {}
                            Err(error) => {
                                tracing::warn!(%error, "event listener connection lost");
                                break;
                            }
                        }
                    }
                });
                let listening = client
                    .batch_execute(&format!(
                        "LISTEN {}; LISTEN {}",
                        crate::keys::EVENTS_CHANNEL,
                        crate::keys::POSITIONS_CHANNEL
                    ))
                    .await;
                if listening.is_ok() {
                    if let Ok(row) = client
                        .query_one("SELECT COALESCE(MAX(id), 0) FROM events", &[])
                        .await
                    {
                        publisher.advance_to(row.get(0)).await;
                    }
                    while let Some((positions, payload)) = received.recv().await {
                        if positions {
                            publisher.received_positions(&payload);
                        } else if let Ok(id) = payload.parse::<i64>() {
                            publisher.advance_to(id).await;
                        }
                    }
                }
                driver.abort();
            }
            Err(error) => tracing::warn!(%error, "event listener cannot connect"),
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
}
