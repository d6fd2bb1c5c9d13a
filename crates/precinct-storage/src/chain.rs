//! The record proves itself: every event and every audit entry carries the
//! hash of the one before it (`prev_hash`) and its own (`hash`), a SHA-256
//! over that and its content. Each row is sealed as it is built, by the
//! writer that inserts it, under the single writer (lock): the writer's
//! transaction reads where each chain stands once ([`Heads`]), gives each
//! new row the next id and its hashes ([`insert_event`], [`insert_audit`];
//! PostgreSQL's intake function does the same in SQL), so no row is written
//! twice and the chain follows id order. [`verify`] recomputes it and
//! reports the first broken link.
//!
//! A row's content is its columns in [`Table::columns`] order (the hash
//! columns excepted), each written as `<byte length>:<text>;`, or `-;` for
//! NULL, integers in decimal. The first row's `prev_hash` is empty.

use crate::apply::WriteTx;
use crate::disputes::SqlValue;
use crate::transfer::Table;
use crate::{AuditEntry, Store, StoreError, StoreResult};
use precinct_domain::event::{Actor, Event, EventKind, NewEvent};
use precinct_domain::ids::{EventId, IncidentId, UnitId};
use serde_json::Value;
use sha2::{Digest, Sha256};

/// The chained tables.
pub const CHAINED: [Table; 2] = [Table::Events, Table::AuditLog];

/// The hash of a row whose content columns are `parts`, after `prev`.
pub fn link<'a>(prev: &str, parts: impl IntoIterator<Item = Option<&'a str>>) -> String {
    let mut hasher = Sha256::new();
    hasher.update(prev.as_bytes());
    hasher.update(b"\n");
    for part in parts {
        match part {
            None => hasher.update(b"-;"),
            Some(text) => {
                hasher.update(text.len().to_string().as_bytes());
                hasher.update(b":");
                hasher.update(text.as_bytes());
                hasher.update(b";");
            }
        }
    }
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let digest = hasher.finalize();
    let mut out = String::with_capacity(64);
    for b in digest {
        out.push(char::from(HEX[usize::from(b >> 4)]));
        out.push(char::from(HEX[usize::from(b & 15)]));
    }
    out
}

/// Where a chain stands: its last row's id and hash (0 and "" when empty).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Head {
    pub id: i64,
    pub hash: String,
}

/// A new row's seal: the id it is written under and its hash columns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seal {
    pub id: i64,
    pub prev_hash: String,
    pub hash: String,
}

impl Head {
    /// Seals the next row, whose content after its id is `parts`, and moves
    /// the head on to it.
    pub fn seal<'a>(&mut self, parts: impl IntoIterator<Item = Option<&'a str>>) -> Seal {
        let id = self.id + 1;
        let id_text = id.to_string();
        let mut all: Vec<Option<&str>> = Vec::with_capacity(8);
        all.push(Some(id_text.as_str()));
        for part in parts {
            all.push(part);
        }
        let hash = link(&self.hash, all);
        let prev_hash = std::mem::replace(&mut self.hash, hash.clone());
        self.id = id;
        Seal {
            id,
            prev_hash,
            hash,
        }
    }
}

/// The heads of both chains as one writer transaction sees them: read once,
/// when the transaction first writes to a chain (under the writers' lock,
/// so no one else moves them), then moved on by each row it seals. A job
/// rolled back to its savepoint puts back the heads it started from; a new
/// transaction starts from nothing and reads them again.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Heads {
    events: Option<Head>,
    audit_log: Option<Head>,
}

impl Heads {
    fn slot(&mut self, table: Table) -> &mut Option<Head> {
        match table {
            Table::AuditLog => &mut self.audit_log,
            _ => &mut self.events,
        }
    }

    /// Forgets both heads (after rows were written by another path, e.g.
    /// PostgreSQL's intake function inside the same transaction).
    pub fn forget(&mut self) {
        *self = Heads::default();
    }
}

/// The head of `table` for the current transaction, read when not known yet.
async fn head(tx: &mut impl WriteTx, table: Table) -> StoreResult<&mut Head> {
    if tx.heads().slot(table).is_none() {
        let mut head = Head::default();
        tx.query(
            &format!(
                "SELECT id, hash FROM {} ORDER BY id DESC LIMIT 1",
                table.name()
            ),
            &[],
            &mut |row| {
                head = Head {
                    id: row.i64("id")?,
                    hash: row.opt_text("hash")?.unwrap_or_default(),
                };
                Ok(())
            },
        )
        .await?;
        *tx.heads().slot(table) = Some(head);
    }
    Ok(tx.heads().slot(table).get_or_insert_default())
}

/// Writes an event, sealed, in the writer's transaction (both backends'
/// `emit`). It is the transaction's to publish after commit.
pub async fn insert_event(
    tx: &mut impl WriteTx,
    actor: &Actor,
    incident_id: Option<IncidentId>,
    unit_id: Option<UnitId>,
    kind: EventKind,
) -> StoreResult<Event> {
    let at = crate::rows::ms(tx.now());
    let data = crate::rows::event_data(&kind)?;
    let (at_text, user_text) = (at.to_string(), actor.user_id.map(|u| u.0.to_string()));
    let (incident_text, unit_text) = (
        incident_id.map(|i| i.0.to_string()),
        unit_id.map(|u| u.0.to_string()),
    );
    let seal = head(tx, Table::Events).await?.seal([
        Some(at_text.as_str()),
        user_text.as_deref(),
        Some(actor.name.as_str()),
        incident_text.as_deref(),
        unit_text.as_deref(),
        Some(kind.name()),
        Some(data.as_str()),
    ]);
    tx.execute(
        "INSERT INTO events (id, at, actor_user_id, actor_name, incident_id, unit_id, kind, data, prev_hash, hash) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        &[
            SqlValue::Int(Some(seal.id)),
            SqlValue::Int(Some(at)),
            SqlValue::Int(actor.user_id.map(|u| u.0)),
            SqlValue::Text(Some(actor.name.clone())),
            SqlValue::Int(incident_id.map(|i| i.0)),
            SqlValue::Int(unit_id.map(|u| u.0)),
            SqlValue::Text(Some(kind.name().to_owned())),
            SqlValue::Text(Some(data)),
            SqlValue::Text(Some(seal.prev_hash)),
            SqlValue::Text(Some(seal.hash)),
        ],
    )
    .await?;
    Ok(NewEvent {
        at: tx.now(),
        actor: actor.clone(),
        incident_id,
        unit_id,
        kind,
    }
    .committed(EventId(seal.id)))
}

/// Writes an audit entry, sealed, in the writer's transaction.
pub async fn insert_audit(tx: &mut impl WriteTx, entry: &AuditEntry) -> StoreResult<()> {
    let at = crate::rows::ms(entry.at);
    let (at_text, user_text) = (at.to_string(), entry.user_id.map(|u| u.0.to_string()));
    let seal = head(tx, Table::AuditLog).await?.seal([
        Some(at_text.as_str()),
        user_text.as_deref(),
        Some(entry.username.as_str()),
        Some(entry.action.as_str()),
        Some(entry.subject.as_str()),
    ]);
    tx.execute(
        "INSERT INTO audit_log (id, at, user_id, username, action, subject, prev_hash, hash) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        &[
            SqlValue::Int(Some(seal.id)),
            SqlValue::Int(Some(at)),
            SqlValue::Int(entry.user_id.map(|u| u.0)),
            SqlValue::Text(Some(entry.username.clone())),
            SqlValue::Text(Some(entry.action.clone())),
            SqlValue::Text(Some(entry.subject.clone())),
            SqlValue::Text(Some(seal.prev_hash)),
            SqlValue::Text(Some(seal.hash)),
        ],
    )
    .await
    .map(drop)
}

/// A broken link: where, and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Break {
    pub table: &'static str,
    pub id: i64,
    pub problem: String,
}

impl std::fmt::Display for Break {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} row {}: {}", self.table, self.id, self.problem)
    }
}

/// What `verify` found in one table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableReport {
    pub table: &'static str,
    pub rows: u64,
    /// The last row's id and hash: note them somewhere else (a printed
    /// report, another system) to detect later removal of the newest rows.
    pub head: Option<(i64, String)>,
    pub broken: Option<Break>,
}

/// Recomputes the chain of every chained table, then holds the incidents
/// to the sealed events.
pub async fn verify(store: &dyn Store) -> StoreResult<Vec<TableReport>> {
    let mut reports = Vec::new();
    for table in CHAINED {
        reports.push(verify_table(store, table).await?);
    }
    // Incidents are held to the events: only once the events are sound.
    if reports.iter().all(|r| r.broken.is_none()) {
        reports.push(verify_incidents(store).await?);
    }
    Ok(reports)
}

/// What an incident row must hold, by its sealed events: what was reported
/// (source, external id, category, priority, place, address, summary: its
/// `incident_received`), how it was closed (disposition and remark: its last
/// `incident_closed`), what it duplicates and what it was merged into.
/// Kept as one fingerprint per incident, so the check holds millions in
/// memory.
#[derive(Debug, Default, Clone, Copy)]
struct Expected {
    received: Option<u64>,
    closed: Option<u64>,
    duplicate_of: Option<i64>,
    merged_into: Option<i64>,
}

fn fingerprint(parts: &[Option<String>]) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    parts.hash(&mut hasher);
    hasher.finish()
}

fn number(value: &Value) -> Option<String> {
    match value {
        Value::Null => None,
        Value::Number(n) => n.as_f64().map(|f| format!("{f:?}")),
        other => Some(other.to_string()),
    }
}

/// The incidents table is what the events made of it: each incident taken
/// in live is held to its sealed events (an incident imported as history
/// has none of its own, and the history import's event only counts them).
/// Callers' details are not in the events (the live stream shows them to
/// all), so they are not covered.
async fn verify_incidents(store: &dyn Store) -> StoreResult<TableReport> {
    use precinct_domain::event::EventKind;
    use precinct_domain::ids::EventId;
    const PAGE: u32 = 5_000;
    let mut expected: std::collections::HashMap<i64, Expected> = std::collections::HashMap::new();
    let mut after = EventId(0);
    loop {
        let page = store.events_after(after, PAGE).await?;
        for event in &page {
            let Some(incident) = event.incident_id else {
                continue;
            };
            match &event.kind {
                EventKind::IncidentReceived {
                    source,
                    external_id,
                    category,
                    priority,
                    location,
                    address,
                    summary,
                } => {
                    // The fields of a report, as the incidents table stores them.
                    expected.entry(incident.0).or_default().received = Some(fingerprint(&[
                        Some(source.as_str().to_owned()),
                        external_id.clone(),
                        Some(category.as_str().to_owned()),
                        Some(priority.get().to_string()),
                        Some(format!("{:?}", location.lat())),
                        Some(format!("{:?}", location.lon())),
                        Some(address.clone()),
                        Some(summary.clone()),
                    ]));
                }
                EventKind::IncidentClosed {
                    disposition,
                    remark,
                } => {
                    expected.entry(incident.0).or_default().closed = Some(fingerprint(&[
                        Some(disposition.as_str().to_owned()),
                        remark.clone(),
                    ]));
                }
                EventKind::DuplicateLinked { duplicate_of, .. } => {
                    expected.entry(incident.0).or_default().duplicate_of = Some(duplicate_of.0);
                }
                EventKind::IncidentsMerged {
                    duplicate_id,
                    into_id,
                } => {
                    expected.entry(duplicate_id.0).or_default().merged_into = Some(into_id.0);
                }
                _ => {}
            }
        }
        match page.last() {
            Some(last) if page.len() == PAGE as usize => after = last.id,
            _ => break,
        }
    }

    let table = Table::Incidents;
    let columns = table.columns();
    let at = |name: &str| {
        columns
            .iter()
            .position(|(n, _)| *n == name)
            .ok_or_else(|| StoreError::Other(format!("incidents has no {name} column")))
    };
    let [
        id,
        source,
        external_id,
        category,
        priority,
        lat,
        lon,
        address,
        summary,
    ] = [
        "id",
        "source",
        "external_id",
        "category",
        "priority",
        "lat",
        "lon",
        "address",
        "summary",
    ]
    .map(at);
    let (id, source, external_id, category, priority) =
        (id?, source?, external_id?, category?, priority?);
    let (lat, lon, address, summary) = (lat?, lon?, address?, summary?);
    let (disposition, remark) = (at("disposition")?, at("closing_remark")?);
    let (duplicate_of, merged_into) = (at("duplicate_of")?, at("merged_into")?);
    let mut report = TableReport {
        table: table.name(),
        rows: 0,
        head: None,
        broken: None,
    };
    let mut offset = 0u64;
    loop {
        let page = store.export_rows(table, offset, PAGE).await?;
        offset += page.len() as u64;
        for row in &page {
            report.rows += 1;
            let row_id = row[id].as_i64().unwrap_or_default();
            let wanted = expected.get(&row_id).copied().unwrap_or_default();
            let problem = if text(&row[source]).as_deref() == Some("history") {
                None
            } else if wanted.received.is_none() {
                Some("it has no sealed report (incident_received event)".to_owned())
            } else if wanted.received
                != Some(fingerprint(&[
                    text(&row[source]),
                    text(&row[external_id]),
                    text(&row[category]),
                    text(&row[priority]),
                    number(&row[lat]),
                    number(&row[lon]),
                    text(&row[address]),
                    text(&row[summary]),
                ]))
            {
                Some("what it says was reported differs from its sealed report (the row was changed)".to_owned())
            } else if wanted.closed.is_some()
                && wanted.closed
                    != Some(fingerprint(&[text(&row[disposition]), text(&row[remark])]))
            {
                Some(
                    "how it was closed differs from its sealed closing (the row was changed)"
                        .to_owned(),
                )
            } else if wanted.closed.is_none()
                && (!row[disposition].is_null() || !row[remark].is_null())
            {
                Some(
                    "it has a disposition no sealed closing gave it (the row was changed)"
                        .to_owned(),
                )
            } else if row[duplicate_of].as_i64() != wanted.duplicate_of
                || row[merged_into].as_i64() != wanted.merged_into
            {
                Some("its duplicate or merge link differs from its sealed events (the row was changed)".to_owned())
            } else {
                None
            };
            if let Some(problem) = problem {
                report.broken = Some(Break {
                    table: table.name(),
                    id: row_id,
                    problem,
                });
                return Ok(report);
            }
        }
        if page.len() < PAGE as usize {
            return Ok(report);
        }
    }
}

fn text(value: &Value) -> Option<String> {
    match value {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    }
}

async fn verify_table(store: &dyn Store, table: Table) -> StoreResult<TableReport> {
    const PAGE: u32 = 5_000;
    let columns = table.columns();
    let position = |name: &str| {
        columns
            .iter()
            .position(|(n, _)| *n == name)
            .ok_or_else(|| StoreError::Other(format!("{} has no {name} column", table.name())))
    };
    let (prev_at, hash_at, id_at) = (position("prev_hash")?, position("hash")?, position("id")?);
    let mut report = TableReport {
        table: table.name(),
        rows: 0,
        head: None,
        broken: None,
    };
    let mut prev = String::new();
    let mut offset = 0u64;
    loop {
        let page = store.export_rows(table, offset, PAGE).await?;
        offset += page.len() as u64;
        for row in &page {
            report.rows += 1;
            let id = row[id_at].as_i64().unwrap_or_default();
            let brk = |problem: String| Break {
                table: table.name(),
                id,
                problem,
            };
            let stored_prev = text(&row[prev_at]);
            let stored_hash = text(&row[hash_at]);
            let parts: Vec<Option<String>> = row
                .iter()
                .enumerate()
                .filter(|(i, _)| *i != prev_at && *i != hash_at)
                .map(|(_, v)| text(v))
                .collect();
            let computed = link(&prev, parts.iter().map(|p| p.as_deref()));
            let problem = if stored_prev.as_deref() != Some(prev.as_str()) {
                Some(
                    "its prev_hash is not the hash of the row before it (a row before it was removed or changed)"
                        .to_owned(),
                )
            } else if stored_hash.as_deref() != Some(computed.as_str()) {
                Some("its content does not match its hash (the row was changed)".to_owned())
            } else {
                None
            };
            if let Some(problem) = problem {
                report.broken = Some(brk(problem));
                return Ok(report);
            }
            report.head = Some((id, computed.clone()));
            prev = computed;
        }
        if page.len() < PAGE as usize {
            return Ok(report);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_are_unambiguous() {
        let a = link("", [Some("1"), Some("ab"), None]);
        assert_eq!(a.len(), 64);
        assert_ne!(a, link("", [Some("1"), Some("a"), Some("b")]));
        assert_ne!(a, link("", [Some("1"), Some("ab"), Some("")]));
        assert_ne!(a, link("x", [Some("1"), Some("ab"), None]));
        // Known answer: sha256("\n1:7;-;").
        assert_eq!(
            link("", [Some("7"), None]),
            format!("{:x}", Sha256::digest(b"\n1:7;-;"))
        );
    }
}
