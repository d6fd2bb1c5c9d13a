//! The rule violations the domain can report.

use std::fmt;

/// A request that breaks a domain rule. Each variant has a stable machine code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DomainError {
    #[error("illegal {entity} transition from {from} to {to}")]
    IllegalTransition {
        entity: Entity,
        from: &'static str,
        to: &'static str,
    },
    #[error("invalid {field}: {reason}")]
    InvalidInput { field: &'static str, reason: String },
    #[error("unit {unit} is not available (status {status})")]
    UnitUnavailable { unit: i64, status: &'static str },
    #[error("incident {incident} is closed")]
    IncidentClosed { incident: i64 },
    /// Every unit of a dispatch is already on the incident: a second click
    /// or a retry sends nothing.
    #[error("already on this incident, nothing more to send: {}", call_signs.join(", "))]
    AlreadyDispatched { call_signs: Vec<String> },
    /// Units that declined or withdrew from this incident are sent again
    /// only when the dispatcher confirms it.
    #[error("declined or withdrew from this incident; confirm to send again: {}", call_signs.join(", "))]
    ResendUnconfirmed { call_signs: Vec<String> },
    #[error("incident {incident} was not closed as referred to mediation")]
    NotReferred { incident: i64 },
    /// A record an administrator edits would break the station (an unknown
    /// post, the last administrator gone …), in both languages.
    #[error("{field}: {message}")]
    InvalidRecord {
        field: String,
        message: String,
        message_zh: String,
    },
}

impl DomainError {
    pub fn invalid(field: &'static str, reason: impl Into<String>) -> DomainError {
        DomainError::InvalidInput {
            field,
            reason: reason.into(),
        }
    }

    /// A stable, machine-readable code for clients.
    pub fn code(&self) -> &'static str {
        match self {
            DomainError::IllegalTransition { .. } => "illegal_transition",
            DomainError::InvalidInput { .. } => "invalid_input",
            DomainError::UnitUnavailable { .. } => "unit_unavailable",
            DomainError::IncidentClosed { .. } => "incident_closed",
            DomainError::AlreadyDispatched { .. } => "already_dispatched",
            DomainError::ResendUnconfirmed { .. } => "confirm_resend",
            DomainError::NotReferred { .. } => "not_referred",
            DomainError::InvalidRecord { .. } => "invalid_field",
        }
    }
}

/// Which lifecycle a transition belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Entity {
    Incident,
    Unit,
    Dispute,
}

impl fmt::Display for Entity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Entity::Incident => "incident",
            Entity::Unit => "unit",
            Entity::Dispute => "dispute",
        })
    }
}
