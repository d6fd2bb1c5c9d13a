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
    /// A photo of the scene was attached (a field report's, or one taken
    /// on the task); its bytes are read through `get_photo`.
    PhotoAttached {
        photo_id: i64,
        content_type: String,
        size: u64,
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
    /// A dispute case changed (or was registered). `organisations` are the
    /// ones taking part, the responsible one first: the live stream shows
    /// the event only to those who may see the case.
    DisputeChanged {
        dispute_id: crate::ids::DisputeId,
        organisations: Vec<crate::ids::OrganisationId>,
        status: crate::dispute::DisputeStatus,
        change: crate::dispute::DisputeChangeKind,
    },
    /// A station package was imported: what it changed, layer by layer.
    StationImported {
        changes: Vec<crate::station::LayerChanges>,
    },
    /// Past incidents were imported: how many rows, how many new, how many
    /// already present (by external id), how many outside the ground.
    HistoryImported {
        file: String,
        rows: u64,
        inserted: u64,
        already_present: u64,
        outside: u64,
    },
    /// The road network was replaced (generated, or imported from
    /// OpenStreetMap): routing and the map read it from now on.
    RoadsReplaced {
        ways: u32,
    },
    /// An account was created outside a station package (the command line,
    /// the demo); a package's accounts are in its `station_imported`.
    AccountCreated {
        user_id: UserId,
        username: String,
        role: crate::user::Role,
    },
}

/// Every kind's name ([`EventKind::name`]), for documents and clients.
pub const EVENT_NAMES: &[&str] = &[
    "incident_received",
    "duplicate_linked",
    "units_dispatched",
    "unit_status_changed",
    "unit_position_reported",
    "first_response_accepted",
    "first_response_declined",
    "handed_over",
    "roads_closed",
    "roads_reopened",
    "incident_status_changed",
    "note_added",
    "photo_attached",
    "incident_closed",
    "incidents_merged",
    "dispute_recurrence",
    "dispute_changed",
    "station_imported",
    "history_imported",
    "roads_replaced",
    "account_created",
];

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
            EventKind::PhotoAttached { .. } => "photo_attached",
            EventKind::IncidentClosed { .. } => "incident_closed",
            EventKind::IncidentsMerged { .. } => "incidents_merged",
            EventKind::DisputeRecurrence { .. } => "dispute_recurrence",
            EventKind::DisputeChanged { .. } => "dispute_changed",
            EventKind::StationImported { .. } => "station_imported",
            EventKind::HistoryImported { .. } => "history_imported",
            EventKind::RoadsReplaced { .. } => "roads_replaced",
            EventKind::AccountCreated { .. } => "account_created",
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dispute::{DisputeChangeKind, DisputeStatus};
    use crate::ids::DisputeId;

    /// One of each kind. The match below has no wildcard: a new kind does
    /// not compile until it is added here, and so checked against the list.
    fn one_of_each() -> Vec<EventKind> {
        let here = Coordinates::new(28.15, 113.02).unwrap();
        let all = vec![
            EventKind::IncidentReceived {
                source: IntakeSource::Phone,
                external_id: None,
                category: CategoryCode::parse("theft").unwrap(),
                priority: Priority::new(1).unwrap(),
                location: here,
                address: String::new(),
                summary: String::new(),
            },
            EventKind::DuplicateLinked {
                duplicate_of: IncidentId(1),
                distance_m: 0.0,
            },
            EventKind::UnitsDispatched { unit_ids: vec![] },
            EventKind::UnitStatusChanged {
                from: UnitStatus::OnPatrol,
                to: UnitStatus::Dispatched,
            },
            EventKind::UnitPositionReported { position: here },
            EventKind::FirstResponseAccepted,
            EventKind::FirstResponseDeclined { reason: None },
            EventKind::HandedOver,
            EventKind::RoadsClosed {
                segments: vec![],
                reason: None,
            },
            EventKind::RoadsReopened { segments: vec![] },
            EventKind::IncidentStatusChanged {
                from: IncidentStatus::Received,
                to: IncidentStatus::Dispatched,
            },
            EventKind::NoteAdded {
                text: String::new(),
            },
            EventKind::PhotoAttached {
                photo_id: 1,
                content_type: "image/jpeg".into(),
                size: 1,
            },
            EventKind::IncidentClosed {
                disposition: Disposition::NoActionNeeded,
                remark: None,
            },
            EventKind::IncidentsMerged {
                duplicate_id: IncidentId(1),
                into_id: IncidentId(2),
            },
            EventKind::DisputeRecurrence {
                dispute_ids: vec![],
            },
            EventKind::DisputeChanged {
                dispute_id: DisputeId(1),
                organisations: vec![],
                status: DisputeStatus::Closed,
                change: DisputeChangeKind::ClosedAfterReferral,
            },
            EventKind::StationImported { changes: vec![] },
            EventKind::HistoryImported {
                file: "history.csv".into(),
                rows: 2,
                inserted: 1,
                already_present: 1,
                outside: 0,
            },
            EventKind::RoadsReplaced { ways: 3 },
            EventKind::AccountCreated {
                user_id: UserId(1),
                username: "admin".into(),
                role: crate::user::Role::Admin,
            },
        ];
        for kind in &all {
            match kind {
                EventKind::IncidentReceived { .. }
                | EventKind::DuplicateLinked { .. }
                | EventKind::UnitsDispatched { .. }
                | EventKind::UnitStatusChanged { .. }
                | EventKind::UnitPositionReported { .. }
                | EventKind::FirstResponseAccepted
                | EventKind::FirstResponseDeclined { .. }
                | EventKind::HandedOver
                | EventKind::RoadsClosed { .. }
                | EventKind::RoadsReopened { .. }
                | EventKind::IncidentStatusChanged { .. }
                | EventKind::NoteAdded { .. }
                | EventKind::PhotoAttached { .. }
                | EventKind::IncidentClosed { .. }
                | EventKind::IncidentsMerged { .. }
                | EventKind::DisputeRecurrence { .. }
                | EventKind::DisputeChanged { .. }
                | EventKind::StationImported { .. }
                | EventKind::HistoryImported { .. }
                | EventKind::RoadsReplaced { .. }
                | EventKind::AccountCreated { .. } => {}
            }
        }
        all
    }

    #[test]
    fn every_kind_is_named_once_and_as_serde_tags_it() {
        let all = one_of_each();
        let names: Vec<&str> = all.iter().map(EventKind::name).collect();
        assert_eq!(names, EVENT_NAMES);
        for kind in &all {
            let json = serde_json::to_value(kind).unwrap();
            assert_eq!(json["type"], kind.name());
        }
    }
}
