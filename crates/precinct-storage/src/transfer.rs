//! Copying a station between backends (`precinct migrate-data`): every table
//! with its canonical columns, rows as JSON values in that order, and a
//! content hash so source and destination can be compared.

use crate::StoreResult;
use crate::rows::{SqlRow, unreadable};
use serde_json::Value;
use sha2::{Digest, Sha256};

/// How a column's values are typed, whatever each backend calls the type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnKind {
    Int,
    Real,
    Text,
    Bool,
    /// Binary, written to the export as base64 text.
    Bytes,
}

/// The tables of a station, in an order that satisfies foreign keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Table {
    Ground,
    Roads,
    RoadAddresses,
    RoadAreas,
    RoadClosures,
    Units,
    Users,
    Sessions,
    Incidents,
    Assignments,
    Events,
    AuditLog,
    Disputes,
    DisputeIncidents,
    DisputeOrganisations,
    DisputeMediators,
    DisputeParties,
    DisputePlannedSessions,
    DisputeSessions,
    DisputeSessionParticipants,
    DisputeAgreements,
    DisputeAgreementTerms,
    DisputeSignatures,
    DisputeFollowUps,
    DisputeEvents,
    Photos,
    UnitPositions,
}

use ColumnKind::{Bool, Bytes, Int, Real, Text};

impl Table {
    pub const ALL: [Table; 27] = [
        Table::Ground,
        Table::Roads,
        Table::RoadAddresses,
        Table::RoadAreas,
        Table::RoadClosures,
        Table::Units,
        Table::Users,
        Table::Sessions,
        Table::Incidents,
        Table::Assignments,
        Table::Events,
        Table::AuditLog,
        Table::Disputes,
        Table::DisputeIncidents,
        Table::DisputeOrganisations,
        Table::DisputeMediators,
        Table::DisputeParties,
        Table::DisputePlannedSessions,
        Table::DisputeSessions,
        Table::DisputeSessionParticipants,
        Table::DisputeAgreements,
        Table::DisputeAgreementTerms,
        Table::DisputeSignatures,
        Table::DisputeFollowUps,
        Table::DisputeEvents,
        Table::Photos,
        Table::UnitPositions,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Table::Ground => "ground",
            Table::Roads => "roads",
            Table::RoadAddresses => "road_addresses",
            Table::RoadAreas => "road_areas",
            Table::RoadClosures => "road_closures",
            Table::Units => "units",
            Table::Users => "users",
            Table::Sessions => "sessions",
            Table::Incidents => "incidents",
            Table::Assignments => "assignments",
            Table::Events => "events",
            Table::AuditLog => "audit_log",
            Table::Disputes => "disputes",
            Table::DisputeIncidents => "dispute_incidents",
            Table::DisputeOrganisations => "dispute_organisations",
            Table::DisputeMediators => "dispute_mediators",
            Table::DisputeParties => "dispute_parties",
            Table::DisputePlannedSessions => "dispute_planned_sessions",
            Table::DisputeSessions => "dispute_sessions",
            Table::DisputeSessionParticipants => "dispute_session_participants",
            Table::DisputeAgreements => "dispute_agreements",
            Table::DisputeAgreementTerms => "dispute_agreement_terms",
            Table::DisputeSignatures => "dispute_signatures",
            Table::DisputeFollowUps => "dispute_follow_ups",
            Table::DisputeEvents => "dispute_events",
            Table::Photos => "photos",
            Table::UnitPositions => "unit_positions",
        }
    }

    /// The columns copied, in order. Every table's own id is included, so
    /// references and event ids survive the copy.
    pub fn columns(self) -> &'static [(&'static str, ColumnKind)] {
        match self {
            Table::Ground | Table::Roads | Table::RoadAddresses | Table::RoadAreas => {
                &[("id", Int), ("body", Text)]
            }
            Table::RoadClosures => &[
                ("segment", Int),
                ("closed_at", Int),
                ("closed_by", Text),
                ("reason", Text),
            ],
            Table::Units => &[
                ("id", Int),
                ("call_sign", Text),
                ("name", Text),
                ("kind", Text),
                ("home_post_id", Int),
                ("zone_id", Int),
                ("capabilities", Text),
                ("status", Text),
                ("lat", Real),
                ("lon", Real),
                ("position_at", Int),
                ("incident_id", Int),
                ("member_count", Int),
                ("property_company_id", Int),
                ("phone", Text),
                ("retired", Bool),
            ],
            Table::Users => &[
                ("id", Int),
                ("username", Text),
                ("display_name", Text),
                ("role", Text),
                ("password_hash", Text),
                ("unit_id", Int),
                ("organisation_id", Int),
                ("phone", Text),
                ("disabled", Bool),
                ("must_change_password", Bool),
                ("totp_secret", Text),
                ("totp_pending", Text),
                ("totp_last_step", Int),
                ("recovery_codes", Text),
            ],
            Table::Sessions => &[
                ("token_hash", Text),
                ("user_id", Int),
                ("expires_at", Int),
                ("created_at", Int),
                ("last_seen_at", Int),
                ("address", Text),
            ],
            Table::Incidents => &[
                ("id", Int),
                ("source", Text),
                ("external_id", Text),
                ("category", Text),
                ("family", Text),
                ("priority", Int),
                ("status", Text),
                ("disposition", Text),
                ("closing_remark", Text),
                ("lat", Real),
                ("lon", Real),
                ("cell", Int),
                ("zone_id", Int),
                ("community_id", Int),
                ("grid_cell_id", Int),
                ("address", Text),
                ("caller_name", Text),
                ("caller_phone", Text),
                ("summary", Text),
                ("reported_at", Int),
                ("received_at", Int),
                ("dispatched_at", Int),
                ("first_on_scene_at", Int),
                ("first_police_on_scene_at", Int),
                ("first_helper_on_scene_at", Int),
                ("closed_at", Int),
                ("duplicate_of", Int),
                ("merged_into", Int),
            ],
            Table::Assignments => &[
                ("incident_id", Int),
                ("unit_id", Int),
                ("police", Bool),
                ("assigned_at", Int),
                ("arrived_at", Int),
                ("released_at", Int),
                ("accepted_at", Int),
                ("handed_over_at", Int),
            ],
            Table::Events => &[
                ("id", Int),
                ("at", Int),
                ("actor_user_id", Int),
                ("actor_name", Text),
                ("incident_id", Int),
                ("unit_id", Int),
                ("kind", Text),
                ("data", Text),
                ("prev_hash", Text),
                ("hash", Text),
            ],
            Table::AuditLog => &[
                ("id", Int),
                ("at", Int),
                ("user_id", Int),
                ("username", Text),
                ("action", Text),
                ("subject", Text),
                ("prev_hash", Text),
                ("hash", Text),
            ],
            Table::Disputes => &[
                ("id", Int),
                ("version", Int),
                ("source", Text),
                ("category", Text),
                ("status", Text),
                ("summary", Text),
                ("address", Text),
                ("lat", Real),
                ("lon", Real),
                ("community_id", Int),
                ("risk", Text),
                ("risk_reasons", Text),
                ("responsible_org", Int),
                ("referral", Text),
                ("opened_at", Int),
                ("resolved_at", Int),
                ("closed_at", Int),
                ("address_key", Text),
            ],
            Table::DisputeIncidents => {
                &[("dispute_id", Int), ("position", Int), ("incident_id", Int)]
            }
            Table::DisputeOrganisations => &[
                ("dispute_id", Int),
                ("position", Int),
                ("organisation_id", Int),
            ],
            Table::DisputeMediators => &[("dispute_id", Int), ("position", Int), ("user_id", Int)],
            Table::DisputeParties => &[
                ("dispute_id", Int),
                ("position", Int),
                ("name", Text),
                ("phone", Text),
                ("vulnerable", Bool),
                ("organisation_kind", Text),
            ],
            Table::DisputePlannedSessions => &[
                ("dispute_id", Int),
                ("position", Int),
                ("at", Int),
                ("venue", Text),
                ("organisations", Text),
                ("notes", Text),
                ("planned_by", Text),
            ],
            Table::DisputeSessions => &[
                ("dispute_id", Int),
                ("position", Int),
                ("at", Int),
                ("venue", Text),
                ("notes", Text),
                ("outcome", Text),
                ("recorded_by", Text),
            ],
            Table::DisputeSessionParticipants => &[
                ("dispute_id", Int),
                ("session", Int),
                ("position", Int),
                ("name", Text),
                ("role", Text),
                ("organisation_id", Int),
            ],
            Table::DisputeAgreements => &[
                ("dispute_id", Int),
                ("facts", Text),
                ("drafted_at", Int),
                ("signed_at", Int),
            ],
            Table::DisputeAgreementTerms => {
                &[("dispute_id", Int), ("position", Int), ("term", Text)]
            }
            Table::DisputeSignatures => &[
                ("dispute_id", Int),
                ("position", Int),
                ("party", Text),
                ("signed_at", Int),
            ],
            Table::DisputeFollowUps => &[
                ("dispute_id", Int),
                ("position", Int),
                ("due_at", Int),
                ("visited_at", Int),
                ("visited_by", Text),
                ("outcome", Text),
                ("notes", Text),
            ],
            Table::DisputeEvents => &[("event_id", Int), ("dispute_id", Int)],
            Table::Photos => &[
                ("id", Int),
                ("incident_id", Int),
                ("content_type", Text),
                ("size", Int),
                ("body", Bytes),
                ("unit_id", Int),
                ("taken_by", Text),
                ("at", Int),
            ],
            Table::UnitPositions => &[
                ("id", Int),
                ("unit_id", Int),
                ("at", Int),
                ("lat", Real),
                ("lon", Real),
                ("reported_by", Int),
            ],
        }
    }

    /// The order rows are copied and hashed in (the same on every backend).
    pub fn order_by(self) -> &'static str {
        match self {
            Table::Sessions => "token_hash",
            Table::RoadClosures => "segment",
            Table::Assignments => "incident_id, assigned_at, unit_id, arrived_at, released_at",
            Table::DisputeIncidents => "dispute_id, position",
            Table::DisputeOrganisations => "dispute_id, position",
            Table::DisputeMediators => "dispute_id, position",
            Table::DisputeParties => "dispute_id, position",
            Table::DisputePlannedSessions => "dispute_id, position",
            Table::DisputeSessions => "dispute_id, position",
            Table::DisputeSessionParticipants => "dispute_id, session, position",
            Table::DisputeAgreements => "dispute_id",
            Table::DisputeAgreementTerms => "dispute_id, position",
            Table::DisputeSignatures => "dispute_id, position",
            Table::DisputeFollowUps => "dispute_id, position",
            Table::DisputeEvents => "event_id",

            _ => "id",
        }
    }

    /// Whether the table's `id` comes from a sequence the destination must
    /// move past the copied ids.
    pub fn has_serial_id(self) -> bool {
        // Named positively: a new table without an id sequence must not be assumed to have one.
        matches!(
            self,
            Table::Units
                | Table::Users
                | Table::Incidents
                | Table::Events
                | Table::AuditLog
                | Table::UnitPositions
        )
    }

    /// `SELECT <columns> FROM <table> ORDER BY <order>` (the caller adds paging).
    pub fn select_sql(self) -> String {
        let columns: Vec<&str> = self.columns().iter().map(|(name, _)| *name).collect();
        format!(
            "SELECT {} FROM {} ORDER BY {}",
            columns.join(", "),
            self.name(),
            self.order_by()
        )
    }
}

/// One row, its values in [`Table::columns`] order.
pub type ExportRow = Vec<Value>;

/// Reads a row into its canonical JSON form.
pub fn export_row(row: &dyn SqlRow, table: Table) -> StoreResult<ExportRow> {
    table
        .columns()
        .iter()
        .map(|&(name, kind)| {
            Ok(match kind {
                Int => row.opt_i64(name)?.map_or(Value::Null, Value::from),
                Real => row.opt_f64(name)?.map_or(Value::Null, Value::from),
                Text => row.opt_text(name)?.map_or(Value::Null, Value::from),
                Bool => Value::from(row.boolean(name)?),
                Bytes => row.opt_bytes(name)?.map_or(Value::Null, |b| {
                    use base64::Engine;
                    Value::from(base64::engine::general_purpose::STANDARD.encode(b))
                }),
            })
        })
        .collect()
}

/// A typed value to bind when importing.
#[derive(Debug, Clone, PartialEq)]
pub enum ImportValue {
    Int(Option<i64>),
    Real(Option<f64>),
    Text(Option<String>),
    Bool(bool),
    Bytes(Option<Vec<u8>>),
}

/// Checks a canonical row against its table and types its values.
pub fn import_values(table: Table, row: &ExportRow) -> StoreResult<Vec<ImportValue>> {
    let columns = table.columns();
    if row.len() != columns.len() {
        return Err(unreadable(format!(
            "{}: {} values for {} columns",
            table.name(),
            row.len(),
            columns.len()
        )));
    }
    columns
        .iter()
        .zip(row)
        .map(|(&(name, kind), value)| {
            let wrong = || unreadable(format!("{}.{name}: unexpected {value}", table.name()));
            Ok(match (kind, value) {
                (Int, Value::Null) => ImportValue::Int(None),
                (Int, v) => ImportValue::Int(Some(v.as_i64().ok_or_else(wrong)?)),
                (Real, Value::Null) => ImportValue::Real(None),
                (Real, v) => ImportValue::Real(Some(v.as_f64().ok_or_else(wrong)?)),
                (Text, Value::Null) => ImportValue::Text(None),
                (Text, v) => ImportValue::Text(Some(v.as_str().ok_or_else(wrong)?.to_owned())),
                (Bool, v) => ImportValue::Bool(v.as_bool().ok_or_else(wrong)?),
                (Bytes, Value::Null) => ImportValue::Bytes(None),
                (Bytes, v) => {
                    use base64::Engine;
                    let text = v.as_str().ok_or_else(wrong)?;
                    let bytes = base64::engine::general_purpose::STANDARD
                        .decode(text)
                        .map_err(|_| wrong())?;
                    ImportValue::Bytes(Some(bytes))
                }
            })
        })
        .collect()
}

/// A running SHA-256 over rows in copy order.
#[derive(Debug, Default, Clone)]
pub struct ContentHash {
    hasher: Sha256,
    pub rows: u64,
}

impl ContentHash {
    pub fn add(&mut self, row: &ExportRow) {
        self.hasher
            .update(Value::Array(row.clone()).to_string().as_bytes());
        self.hasher.update(b"\n");
        self.rows += 1;
    }

    pub fn hex(&self) -> String {
        self.hasher
            .clone()
            .finalize()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }
}
