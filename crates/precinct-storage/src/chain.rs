//! The record proves itself: every event and every audit entry carries the
//! hash of the one before it (`prev_hash`) and its own (`hash`), a SHA-256
//! over that and its content. Both backends seal rows inside the inserting
//! transaction (a trigger), under the single writer, so the chain follows id
//! order; [`verify`] recomputes it and reports the first broken link.
//!
//! A row's content is its columns in [`Table::columns`] order (the hash
//! columns excepted), each written as `<byte length>:<text>;`, or `-;` for
//! NULL, integers in decimal. The first row's `prev_hash` is empty.

use crate::transfer::Table;
use crate::{Store, StoreError, StoreResult};
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
    hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
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

/// Recomputes the chain of every chained table.
pub async fn verify(store: &dyn Store) -> StoreResult<Vec<TableReport>> {
    let mut reports = Vec::new();
    for table in CHAINED {
        reports.push(verify_table(store, table).await?);
    }
    Ok(reports)
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
