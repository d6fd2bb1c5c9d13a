//! Events: every change is one, with who did it and when (UTC). An
//! incident's timeline is its events; the live stream carries them.

use crate::Timestamp;
use crate::ids::{EventId, IncidentId, UnitId, UserId};
use crate::incident::{CategoryCode, Disposition, IncidentStatus, IntakeSource, Priority};
use crate::unit::UnitStatus;
use precinct_geo::Coordinates;
use serde::{Deserialize, Serialize};

/// Who made a change: a user, or the system itself (e.g. the simulator).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    pub user_id: Option<UserId>,
    pub name: String,
}

impl Actor {
    pub fn system(name: &str) -> Actor {
        Actor {
            user_id: None,
            name: name.to_owned(),
        }
    }
}

/// What changed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum EventKind {
    IncidentReceived {
        source: IntakeSource,
        external_id: Option<String>,
        category: CategoryCode,
        priority: Priority,
        location: Coordinates,
        address: String,
        summary: String,
    },
    /// The new incident likely reports the same event as an earlier one.
    DuplicateLinked {
        duplicate_of: IncidentId,
        distance_m: f64,
    },
    UnitsDispatched {
        unit_ids: Vec<UnitId>,
    },
    UnitStatusChanged {
        from: UnitStatus,
        to: UnitStatus,
    },
    UnitPositionReported {
        position: Coordinates,
    },
    /// A helper accepted its first-response task.
    FirstResponseAccepted,
    /// A helper declined its first-response task and was released.
    FirstResponseDeclined {
        reason: Option<String>,
    },
    /// A helper handed the scene over to the police on scene.
    HandedOver,
    /// Road segments closed (routing avoids them from now on).
    RoadsClosed {
        segments: Vec<u32>,
        reason: Option<String>,
    },
    RoadsReopened {
        segments: Vec<u32>,
    },
    IncidentStatusChanged {
        from: IncidentStatus,
        to: IncidentStatus,
    },
    NoteAdded {
        text: String,
    },
    IncidentClosed {
        disposition: Disposition,
        remark: Option<String>,
    },
    /// `duplicate_id` was merged into `into_id`; recorded on both.
    IncidentsMerged {
        duplicate_id: IncidentId,
        into_id: IncidentId,
    },
    /// The incident recurs an open or recent dispute (same address or
    /// people within 90 days); the disputes now list it too.
    DisputeRecurrence {
        dispute_ids: Vec<crate::ids::DisputeId>,
    },
    /// A station package was imported: what it changed, layer by layer.
    StationImported {
        changes: Vec<crate::station::LayerChanges>,
    },
}

impl EventKind {
    /// A stable name for the kind (the serde tag), e.g. for the stream's event field.
    pub fn name(&self) -> &'static str {
        match self {
            EventKind::IncidentReceived { .. } => "incident_received",
            EventKind::DuplicateLinked { .. } => "duplicate_linked",
            EventKind::UnitsDispatched { .. } => "units_dispatched",
            EventKind::UnitStatusChanged { .. } => "unit_status_changed",
            EventKind::UnitPositionReported { .. } => "unit_position_reported",
            EventKind::FirstResponseAccepted => "first_response_accepted",
            EventKind::FirstResponseDeclined { .. } => "first_response_declined",
            EventKind::HandedOver => "handed_over",
            EventKind::RoadsClosed { .. } => "roads_closed",
            EventKind::RoadsReopened { .. } => "roads_reopened",
            EventKind::IncidentStatusChanged { .. } => "incident_status_changed",
            EventKind::NoteAdded { .. } => "note_added",
            EventKind::IncidentClosed { .. } => "incident_closed",
            EventKind::IncidentsMerged { .. } => "incidents_merged",
            EventKind::DisputeRecurrence { .. } => "dispute_recurrence",
            EventKind::StationImported { .. } => "station_imported",
        }
    }
}

/// An event about to be written: the store gives it its id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewEvent {
    pub at: Timestamp,
    pub actor: Actor,
    pub incident_id: Option<IncidentId>,
    pub unit_id: Option<UnitId>,
    pub kind: EventKind,
}

/// A committed event. Ids increase in commit order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub id: EventId,
    pub at: Timestamp,
    pub actor: Actor,
    pub incident_id: Option<IncidentId>,
    pub unit_id: Option<UnitId>,
    pub kind: EventKind,
}

impl NewEvent {
    pub fn committed(self, id: EventId) -> Event {
        Event {
            id,
            at: self.at,
            actor: self.actor,
            incident_id: self.incident_id,
            unit_id: self.unit_id,
            kind: self.kind,
        }
    }
}
