//! The write rules, written once for every backend.
//!
//! A backend runs each operation inside one of its write transactions and
//! provides [`WriteTx`]: small row-level primitives (load a unit, set its
//! status, add an assignment, write an event …). The operations here read
//! the current state, ask the domain whether the change is legal, and then
//! make it through those primitives. A backend thus decides *how* rows are
//! stored, never *what* a dispatch or a close does.

use crate::disputes::SqlValue::{Bool, Int, Real, Text};
use crate::disputes::{self, Depth, SqlExec, SqlValue, Which};
use crate::rows::ms;
use crate::{AuditEntry, InitialPasswords, StoreError, StoreResult};
use precinct_domain::dispute::{Dispute, DisputeChange, DisputeOp, NewDispute, RiskFacts};
use precinct_domain::event::{Actor, Event, EventKind};
use precinct_domain::ground::Jurisdiction;
use precinct_domain::history::HistoryRecord;
use precinct_domain::ids::DisputeId;
use precinct_domain::ids::{IncidentId, UnitId, UserId};
use precinct_domain::incident::{Disposition, Incident, IncidentStatus, check_merge, checked_text};
use precinct_domain::policy::{self, Action};
use precinct_domain::station::{
    self, Checks, LayerChanges, PersonChange, PersonFields, StationEdit, StationPackage,
    StationPlan, StationState, UnitChange, UnitFields,
};
use precinct_domain::unit::{Unit, UnitStatus};
use precinct_domain::user::User;
use precinct_domain::{Coordinates, DomainError, Timestamp};

/// Which first-arrival time an arrival stamps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arrival {
    Police,
    Helper,
}

/// Which step of a first-response task an assignment records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskStep {
    Accepted,
    HandedOver,
}

fn int(value: i64) -> SqlValue {
    Int(Some(value))
}

fn text(value: &str) -> SqlValue {
    Text(Some(value.to_owned()))
}

/// Row-level changes inside one write transaction. Every method acts on the
/// transaction's current state; none commits. Statements written once for
/// every SQL backend (disputes) run through [`SqlExec`].
// The futures are used only by the backends' own writers, which know the
// concrete (and Send) types, so `async fn` here is fine.
#[allow(async_fn_in_trait)]
pub trait WriteTx: SqlExec {
    /// The time this transaction stamps its changes with.
    fn now(&self) -> Timestamp;
    /// Stamps what follows with `at` instead (converting stored history).
    fn stamp_at(&mut self, at: Timestamp);
    /// Where the hash chains stand in this transaction (see `chain::Heads`).
    fn heads(&mut self) -> &mut crate::chain::Heads;
    /// A position to push live once this transaction commits.
    fn moved(&mut self, moved: crate::UnitMoved);
    async fn load_unit(&mut self, id: UnitId) -> StoreResult<Unit> {
        crate::reads::unit(self, id).await
    }

    async fn load_incident(&mut self, id: IncidentId) -> StoreResult<Incident> {
        crate::reads::incident(self, id).await
    }

    // The row changes below are written once, over `SqlExec`, for every
    // SQL backend (`$n` placeholders; SQLite reads them as `?n`).

    /// Sets a unit's status and the incident it works (None: free).
    async fn set_unit_status(
        &mut self,
        id: UnitId,
        status: UnitStatus,
        incident: Option<IncidentId>,
    ) -> StoreResult<()> {
        self.execute(
            "UPDATE units SET status = $1, incident_id = $2 WHERE id = $3",
            &[text(status.as_str()), Int(incident.map(|i| i.0)), int(id.0)],
        )
        .await
        .map(drop)
    }

    async fn set_unit_position(&mut self, id: UnitId, position: Coordinates) -> StoreResult<()> {
        let now = ms(self.now());
        self.execute(
            "UPDATE units SET lat = $1, lon = $2, position_at = $3 WHERE id = $4",
            &[
                Real(Some(position.lat())),
                Real(Some(position.lon())),
                int(now),
                int(id.0),
            ],
        )
        .await
        .map(drop)
    }

    /// Points a unit at another incident without changing its status.
    async fn set_unit_incident(&mut self, id: UnitId, incident: IncidentId) -> StoreResult<()> {
        self.execute(
            "UPDATE units SET incident_id = $1 WHERE id = $2",
            &[int(incident.0), int(id.0)],
        )
        .await
        .map(drop)
    }

    async fn add_assignment(
        &mut self,
        incident: IncidentId,
        unit: UnitId,
        police: bool,
    ) -> StoreResult<()> {
        let now = ms(self.now());
        self.execute(
            "INSERT INTO assignments (incident_id, unit_id, police, assigned_at) VALUES ($1, $2, $3, $4)",
            &[int(incident.0), int(unit.0), Bool(police), int(now)],
        )
        .await
        .map(drop)
    }

    /// Marks the unit's (or, with None, every) open assignment released now.
    async fn release_assignments(
        &mut self,
        incident: IncidentId,
        unit: Option<UnitId>,
    ) -> StoreResult<()> {
        let now = ms(self.now());
        self.execute(
            "UPDATE assignments SET released_at = $1 WHERE incident_id = $2 \
             AND (CAST($3 AS BIGINT) IS NULL OR unit_id = $3) AND released_at IS NULL",
            &[int(now), int(incident.0), Int(unit.map(|u| u.0))],
        )
        .await
        .map(drop)
    }

    /// Moves a unit's open assignment from one incident to another.
    async fn move_assignment(
        &mut self,
        from: IncidentId,
        to: IncidentId,
        unit: UnitId,
    ) -> StoreResult<()> {
        self.execute(
            "UPDATE assignments SET incident_id = $1 WHERE incident_id = $2 AND unit_id = $3 \
             AND released_at IS NULL",
            &[int(to.0), int(from.0), int(unit.0)],
        )
        .await
        .map(drop)
    }

    /// Marks a segment closed (or updates its reason).
    async fn close_segment(
        &mut self,
        segment: u32,
        by: &str,
        reason: Option<&str>,
    ) -> StoreResult<()> {
        let now = ms(self.now());
        self.execute(
            "INSERT INTO road_closures (segment, closed_at, closed_by, reason) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (segment) DO UPDATE SET reason = EXCLUDED.reason",
            &[
                int(i64::from(segment)),
                int(now),
                text(by),
                Text(reason.map(str::to_owned)),
            ],
        )
        .await
        .map(drop)
    }

    async fn reopen_segment(&mut self, segment: u32) -> StoreResult<()> {
        self.execute(
            "DELETE FROM road_closures WHERE segment = $1",
            &[int(i64::from(segment))],
        )
        .await
        .map(drop)
    }

    /// Stamps a step of the unit's open assignment (if not yet stamped).
    async fn stamp_task(
        &mut self,
        incident: IncidentId,
        unit: UnitId,
        step: TaskStep,
    ) -> StoreResult<()> {
        let sql = match step {
            TaskStep::Accepted => {
                "UPDATE assignments SET accepted_at = COALESCE(accepted_at, $1) \
                 WHERE incident_id = $2 AND unit_id = $3 AND released_at IS NULL"
            }
            TaskStep::HandedOver => {
                "UPDATE assignments SET handed_over_at = COALESCE(handed_over_at, $1) \
                 WHERE incident_id = $2 AND unit_id = $3 AND released_at IS NULL"
            }
        };
        let now = ms(self.now());
        self.execute(sql, &[int(now), int(incident.0), int(unit.0)])
            .await
            .map(drop)
    }

    /// Stamps the unit's open assignment and the incident's first arrival of that kind (if not yet stamped).
    async fn record_arrival(
        &mut self,
        incident: IncidentId,
        unit: UnitId,
        kind: Arrival,
    ) -> StoreResult<()> {
        let now = ms(self.now());
        self.execute(
            "UPDATE assignments SET arrived_at = COALESCE(arrived_at, $1) \
             WHERE incident_id = $2 AND unit_id = $3 AND released_at IS NULL",
            &[int(now), int(incident.0), int(unit.0)],
        )
        .await?;
        let sql = match kind {
            Arrival::Police => {
                "UPDATE incidents SET first_police_on_scene_at = COALESCE(first_police_on_scene_at, $1) WHERE id = $2"
            }
            Arrival::Helper => {
                "UPDATE incidents SET first_helper_on_scene_at = COALESCE(first_helper_on_scene_at, $1) WHERE id = $2"
            }
        };
        self.execute(sql, &[int(now), int(incident.0)])
            .await
            .map(drop)
    }

    /// Sets the status and stamps its time column (dispatched, first on scene, closed) if not yet stamped.
    async fn set_incident_status(
        &mut self,
        id: IncidentId,
        status: IncidentStatus,
    ) -> StoreResult<()> {
        let sql = match status {
            // No transition leads back to received; kept total for the match.
            IncidentStatus::Received => {
                "UPDATE incidents SET status = $1 WHERE id = $3 AND CAST($2 AS BIGINT) IS NOT NULL"
            }
            IncidentStatus::Dispatched => {
                "UPDATE incidents SET status = $1, dispatched_at = COALESCE(dispatched_at, $2) WHERE id = $3"
            }
            IncidentStatus::OnScene => {
                "UPDATE incidents SET status = $1, first_on_scene_at = COALESCE(first_on_scene_at, $2) WHERE id = $3"
            }
            IncidentStatus::Closed => {
                "UPDATE incidents SET status = $1, closed_at = COALESCE(closed_at, $2) WHERE id = $3"
            }
        };
        let now = ms(self.now());
        self.execute(sql, &[text(status.as_str()), int(now), int(id.0)])
            .await
            .map(drop)
    }

    async fn set_disposition(
        &mut self,
        id: IncidentId,
        disposition: Disposition,
        remark: Option<&str>,
    ) -> StoreResult<()> {
        self.execute(
            "UPDATE incidents SET disposition = $1, closing_remark = $2 WHERE id = $3",
            &[
                text(disposition.as_str()),
                Text(remark.map(str::to_owned)),
                int(id.0),
            ],
        )
        .await
        .map(drop)
    }

    async fn set_merged_into(&mut self, id: IncidentId, into: IncidentId) -> StoreResult<()> {
        self.execute(
            "UPDATE incidents SET merged_into = $1 WHERE id = $2",
            &[int(into.0), int(id.0)],
        )
        .await
        .map(drop)
    }

    async fn save_ground(&mut self, ground: &Jurisdiction) -> StoreResult<()> {
        let body = serde_json::to_string(ground).map_err(|e| StoreError::Other(e.to_string()))?;
        self.execute(
            "INSERT INTO ground (id, body) VALUES (1, $1) ON CONFLICT (id) DO UPDATE SET body = EXCLUDED.body",
            &[Text(Some(body))],
        )
        .await
        .map(drop)
    }

    /// The ground, every unit (retired too) and every account (disabled too).
    async fn load_station(&mut self) -> StoreResult<StationState> {
        crate::reads::station(self).await
    }

    async fn insert_unit(
        &mut self,
        fields: &UnitFields,
        status: UnitStatus,
        position: Option<Coordinates>,
    ) -> StoreResult<UnitId> {
        let now = ms(self.now());
        let mut id = None;
        self.query(
            "INSERT INTO units (call_sign, name, kind, home_post_id, zone_id, capabilities, status, lat, lon, \
             position_at, member_count, property_company_id, phone) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING id",
            &[
                text(&fields.call_sign),
                text(&fields.name),
                text(fields.kind.as_str()),
                Int(fields.home_post_id.map(|p| p.0)),
                Int(fields.zone_id.map(|z| z.0)),
                text(&crate::rows::capabilities_text(&fields.capabilities)),
                text(status.as_str()),
                Real(position.map(|p| p.lat())),
                Real(position.map(|p| p.lon())),
                Int(position.map(|_| now)),
                int(i64::from(fields.member_count)),
                Int(fields.property_company_id.map(|p| p.0)),
                Text(fields.phone.as_ref().map(|p| p.as_str().to_owned())),
            ],
            &mut |row| {
                id = Some(UnitId(row.i64("id")?));
                Ok(())
            },
        )
        .await?;
        id.ok_or_else(|| StoreError::Other("the new unit has no id".into()))
    }

    /// New record fields for a unit; a retired unit is listed again.
    async fn update_unit_record(&mut self, id: UnitId, fields: &UnitFields) -> StoreResult<()> {
        self.execute(
            "UPDATE units SET name = $1, kind = $2, home_post_id = $3, zone_id = $4, capabilities = $5, \
             member_count = $6, property_company_id = $7, phone = $8, retired = $9 WHERE id = $10",
            &[
                text(&fields.name),
                text(fields.kind.as_str()),
                Int(fields.home_post_id.map(|p| p.0)),
                Int(fields.zone_id.map(|z| z.0)),
                text(&crate::rows::capabilities_text(&fields.capabilities)),
                int(i64::from(fields.member_count)),
                Int(fields.property_company_id.map(|p| p.0)),
                Text(fields.phone.as_ref().map(|p| p.as_str().to_owned())),
                Bool(false),
                int(id.0),
            ],
        )
        .await
        .map(drop)
    }

    async fn retire_unit(&mut self, id: UnitId) -> StoreResult<()> {
        self.execute(
            "UPDATE units SET retired = $1 WHERE id = $2",
            &[Bool(true), int(id.0)],
        )
        .await
        .map(drop)
    }

    async fn insert_user(
        &mut self,
        fields: &PersonFields,
        unit: Option<UnitId>,
        password_hash: &str,
        must_change_password: bool,
    ) -> StoreResult<UserId> {
        let mut id = None;
        self.query(
            "INSERT INTO users (username, display_name, role, password_hash, unit_id, organisation_id, phone, \
             must_change_password) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
            &[
                text(fields.username.as_str()),
                text(&fields.display_name),
                text(fields.role.as_str()),
                text(password_hash),
                Int(unit.map(|u| u.0)),
                Int(fields.organisation_id.map(|o| o.0)),
                Text(fields.phone.as_ref().map(|p| p.as_str().to_owned())),
                Bool(must_change_password),
            ],
            &mut |row| {
                id = Some(UserId(row.i64("id")?));
                Ok(())
            },
        )
        .await?;
        id.ok_or_else(|| StoreError::Other("the new account has no id".into()))
    }

    /// New fields for an account; a disabled account is enabled again.
    async fn update_user_record(
        &mut self,
        id: UserId,
        fields: &PersonFields,
        unit: Option<UnitId>,
    ) -> StoreResult<()> {
        self.execute(
            "UPDATE users SET display_name = $1, role = $2, unit_id = $3, organisation_id = $4, phone = $5, \
             disabled = $6 WHERE id = $7",
            &[
                text(&fields.display_name),
                text(fields.role.as_str()),
                Int(unit.map(|u| u.0)),
                Int(fields.organisation_id.map(|o| o.0)),
                Text(fields.phone.as_ref().map(|p| p.as_str().to_owned())),
                Bool(false),
                int(id.0),
            ],
        )
        .await
        .map(drop)
    }

    /// Disables an account and ends its sessions.
    async fn disable_user(&mut self, id: UserId) -> StoreResult<()> {
        self.execute(
            "UPDATE users SET disabled = $1 WHERE id = $2",
            &[Bool(true), int(id.0)],
        )
        .await?;
        self.execute("DELETE FROM sessions WHERE user_id = $1", &[int(id.0)])
            .await
            .map(drop)
    }

    /// Inserts past incidents (closed, source `history`), skipping those
    /// whose external id is already stored; their rollups move in this
    /// transaction. Returns how many were inserted.
    async fn insert_history(&mut self, records: &[HistoryRecord]) -> StoreResult<u64>;
    /// Writes an event in this transaction; it is published after commit.
    async fn emit(
        &mut self,
        actor: &Actor,
        incident: Option<IncidentId>,
        unit: Option<UnitId>,
        kind: EventKind,
    ) -> StoreResult<Event>;
}

async fn change_unit_status(
    tx: &mut impl WriteTx,
    unit: &Unit,
    to: UnitStatus,
    incident: Option<IncidentId>,
    actor: &Actor,
) -> StoreResult<()> {
    tx.set_unit_status(unit.id, to, incident).await?;
    // The event belongs to the incident the unit worked (or now works).
    let event_incident = incident.or(unit.incident_id);
    tx.emit(
        actor,
        event_incident,
        Some(unit.id),
        EventKind::UnitStatusChanged {
            from: unit.status,
            to,
        },
    )
    .await?;
    Ok(())
}

async fn change_incident_status(
    tx: &mut impl WriteTx,
    incident: &Incident,
    to: IncidentStatus,
    actor: &Actor,
) -> StoreResult<()> {
    incident.status.transition(to)?;
    tx.set_incident_status(incident.id, to).await?;
    if to != IncidentStatus::Closed {
        tx.emit(
            actor,
            Some(incident.id),
            None,
            EventKind::IncidentStatusChanged {
                from: incident.status,
                to,
            },
        )
        .await?;
    }
    Ok(())
}

/// Assigns every unit or none: a unit that is not free fails the whole call.
pub async fn dispatch_order(
    tx: &mut impl WriteTx,
    id: IncidentId,
    order: precinct_domain::incident::DispatchOrder,
    actor: &Actor,
) -> StoreResult<crate::DispatchOutcome> {
    // The names first (an empty or repeated list loads nothing).
    let incident = tx.load_incident(id).await?;
    precinct_domain::incident::check_dispatch(&incident, &order.units, &[])?;
    let mut units = Vec::with_capacity(order.units.len());
    for &unit in &order.units {
        units.push(tx.load_unit(unit).await?);
    }
    // Every unit decided before any changes: all or nothing.
    let decision = precinct_domain::incident::decide_dispatch(&incident, &order, &units)?;
    for &unit in &decision.divert {
        update_unit_status(tx, unit, UnitStatus::OnPatrol, actor).await?;
    }
    tx.emit(
        actor,
        Some(id),
        None,
        EventKind::UnitsDispatched {
            unit_ids: decision.send.clone(),
        },
    )
    .await?;
    for &unit in &decision.send {
        let unit = tx.load_unit(unit).await?;
        tx.add_assignment(id, unit.id, unit.kind.is_police())
            .await?;
        change_unit_status(tx, &unit, UnitStatus::Dispatched, Some(id), actor).await?;
    }
    if incident.status == IncidentStatus::Received {
        change_incident_status(tx, &incident, IncidentStatus::Dispatched, actor).await?;
    }
    Ok(crate::DispatchOutcome {
        incident: tx.load_incident(id).await?,
        decision,
    })
}

/// A status change reported by (or for) a unit. Arriving stamps the
/// incident's first arrivals; going back to patrol, post or off duty
/// releases the unit from its incident.
pub async fn update_unit_status(
    tx: &mut impl WriteTx,
    id: UnitId,
    to: UnitStatus,
    actor: &Actor,
) -> StoreResult<Unit> {
    let unit = tx.load_unit(id).await?;
    unit.status.reported_change(to)?;
    let releases = matches!(
        to,
        UnitStatus::OnPatrol | UnitStatus::AtPost | UnitStatus::OffDuty
    );
    let keeps_incident = if releases { None } else { unit.incident_id };
    change_unit_status(tx, &unit, to, keeps_incident, actor).await?;
    if let Some(incident_id) = unit.incident_id {
        if to == UnitStatus::OnScene {
            let kind = if unit.kind.is_police() {
                Arrival::Police
            } else {
                Arrival::Helper
            };
            tx.record_arrival(incident_id, unit.id, kind).await?;
            let incident = tx.load_incident(incident_id).await?;
            if incident.status == IncidentStatus::Dispatched {
                change_incident_status(tx, &incident, IncidentStatus::OnScene, actor).await?;
            }
        }
        if releases {
            tx.release_assignments(incident_id, Some(unit.id)).await?;
        }
    }
    tx.load_unit(id).await
}

/// A unit's position: its row and a point of its track, no event (see
/// `UnitMoved`); pushed live after commit.
pub async fn report_unit_position(
    tx: &mut impl WriteTx,
    id: UnitId,
    position: Coordinates,
    actor: &Actor,
) -> StoreResult<Unit> {
    let unit = tx.load_unit(id).await?;
    tx.set_unit_position(id, position).await?;
    let at = tx.now();
    tx.execute(
        "INSERT INTO unit_positions (unit_id, at, lat, lon, reported_by) VALUES ($1, $2, $3, $4, $5)",
        &[
            int(id.0),
            int(ms(at)),
            Real(Some(position.lat())),
            Real(Some(position.lon())),
            Int(actor.user_id.map(|u| u.0)),
        ],
    )
    .await?;
    tx.moved(crate::UnitMoved {
        unit_id: id,
        position,
        at,
    });
    Ok(Unit {
        position: Some(position),
        position_at: Some(at),
        ..unit
    })
}

pub async fn add_note(
    tx: &mut impl WriteTx,
    id: IncidentId,
    text: String,
    actor: &Actor,
) -> StoreResult<Event> {
    let text = checked_text("text", &text, 2000)?;
    tx.load_incident(id).await?;
    tx.emit(actor, Some(id), None, EventKind::NoteAdded { text })
        .await
}

/// Flags an incident as recurring these disputes (an event on its timeline)
/// and lists it with each of them, in one transaction.
/// Attaches a photo to an open incident (at most
/// `MAX_PHOTOS_PER_INCIDENT`), with its event.
pub async fn attach_photo(
    tx: &mut impl WriteTx,
    id: IncidentId,
    photo: crate::NewPhoto,
    actor: &Actor,
) -> StoreResult<crate::PhotoInfo> {
    use precinct_domain::photo::MAX_PHOTOS_PER_INCIDENT;
    let incident = tx.load_incident(id).await?;
    if incident.status == IncidentStatus::Closed {
        return Err(DomainError::IncidentClosed { incident: id.0 }.into());
    }
    let (mut held, mut next) = (0, 1);
    tx.query(
        "SELECT CAST(count(*) FILTER (WHERE incident_id = $1) AS BIGINT) AS held, \
         CAST(coalesce(max(id), 0) + 1 AS BIGINT) AS next FROM photos",
        &[int(id.0)],
        &mut |row| {
            held = row.i64("held")?;
            next = row.i64("next")?;
            Ok(())
        },
    )
    .await?;
    if held >= MAX_PHOTOS_PER_INCIDENT {
        return Err(DomainError::InvalidRecord {
            field: "photo".into(),
            message: format!("an incident holds at most {MAX_PHOTOS_PER_INCIDENT} photos"),
            message_zh: format!("每起警情最多{MAX_PHOTOS_PER_INCIDENT}张照片"),
        }
        .into());
    }
    let at = tx.now();
    let info = crate::PhotoInfo {
        id: next,
        incident_id: id,
        content_type: photo.content_type,
        size: photo.bytes.len() as u64,
        unit_id: photo.unit_id,
        taken_by: actor.name.clone(),
        at,
    };
    tx.execute(
        "INSERT INTO photos (id, incident_id, content_type, size, body, unit_id, taken_by, at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        &[
            int(info.id),
            int(id.0),
            text(&info.content_type),
            int(info.size as i64),
            SqlValue::Bytes(Some(photo.bytes)),
            Int(info.unit_id.map(|u| u.0)),
            text(&info.taken_by),
            int(ms(at)),
        ],
    )
    .await?;
    tx.emit(
        actor,
        Some(id),
        info.unit_id,
        EventKind::PhotoAttached {
            photo_id: info.id,
            content_type: info.content_type.clone(),
            size: info.size,
        },
    )
    .await?;
    Ok(info)
}

pub async fn flag_recurrence(
    tx: &mut impl WriteTx,
    id: IncidentId,
    dispute_ids: Vec<DisputeId>,
    actor: &Actor,
) -> StoreResult<Event> {
    if dispute_ids.is_empty() {
        return Err(DomainError::invalid("dispute_ids", "name at least one dispute").into());
    }
    tx.load_incident(id).await?;
    let event = tx
        .emit(
            actor,
            Some(id),
            None,
            EventKind::DisputeRecurrence {
                dispute_ids: dispute_ids.clone(),
            },
        )
        .await?;
    for dispute in dispute_ids {
        let mut case = disputes::load_one(tx, dispute).await?;
        let before = case.history.len();
        let version = case.version;
        case.apply(DisputeOp::LinkIncident(id), tx.now(), &actor.name)?;
        save_dispute_change(tx, &mut case, version, before, actor).await?;
    }
    Ok(event)
}

/// The disputes opened before this are repeats only while still open.
pub fn repeat_window_start(at: Timestamp) -> Timestamp {
    at - chrono::Duration::days(precinct_domain::dispute::REPEAT_WINDOW_DAYS)
}

/// A case as a user sees it after a change: whole, and the earlier cases it
/// repeats (among those the user may see).
#[derive(Debug, Clone, PartialEq)]
pub struct CaseView {
    pub dispute: Dispute,
    pub repeats: Vec<DisputeId>,
}

/// Opens a case: from an incident it must be one closed as referred to
/// mediation (its family, summary, address and place fill the case);
/// repeats are looked for among the cases `opener` may see, so a name or an
/// address never reveals another organisation's case; risk is assessed;
/// the case and its `registered` event are written.
pub async fn open_dispute(
    tx: &mut impl WriteTx,
    mut new: NewDispute,
    from_incident: Option<IncidentId>,
    opener: &User,
    actor: &Actor,
) -> StoreResult<CaseView> {
    let mut facts = RiskFacts::default();
    if let Some(id) = from_incident {
        let incident = tx.load_incident(id).await?;
        precinct_domain::dispute::fill_from_incident(&mut new, &incident, &mut facts)?;
    }
    let now = tx.now();
    let earlier: Vec<Dispute> = disputes::load_to(
        tx,
        Which::Recent(repeat_window_start(now)),
        Depth::ForRepeats,
    )
    .await?
    .into_iter()
    .filter(|d| policy::allows_on_dispute(opener, Action::ViewDispute, d))
    .collect();
    let (at_address, between_parties, repeats) =
        precinct_domain::dispute::repeat_facts(&new.address, &new.parties, &earlier, now);
    facts.repeat_at_address = at_address;
    facts.repeat_between_parties = between_parties;
    let mut dispute = Dispute::open(new, facts, now, &actor.name)?;
    dispute.id = disputes::next_id(tx).await?;
    dispute.version = 1;
    disputes::insert(tx, &dispute).await?;
    let history = std::mem::take(&mut dispute.history);
    for change in history {
        emit_dispute_change(tx, &mut dispute, change, actor).await?;
    }
    Ok(CaseView { dispute, repeats })
}

/// Applies one change to a case `by` may work (else `NotFound`, as if it
/// did not exist, or `Forbidden` when they see it but may not do this),
/// checked against the version they saw (`expected`, else `Stale`), written
/// with its events; the case as `by` then sees it, their reading of its
/// parties audited, all in one transaction.
pub async fn change_dispute(
    tx: &mut impl WriteTx,
    id: DisputeId,
    expected: Option<i64>,
    op: DisputeOp,
    by: &User,
    actor: &Actor,
) -> StoreResult<CaseView> {
    let mut case = disputes::load_one(tx, id).await?;
    if !policy::allows_on_dispute(by, Action::ViewDispute, &case) {
        return Err(StoreError::not_found("dispute", id));
    }
    let action = policy::dispute_op_action(&op);
    if !policy::allows_on_dispute(by, action, &case) {
        return Err(StoreError::Forbidden(format!(
            "{} may not {action} on dispute {id}",
            by.role
        )));
    }
    let version = case.version;
    if let Some(expected) = expected
        && expected != version
    {
        return Err(stale(id));
    }
    let before = case.history.len();
    // Times to the millisecond, as stored: the case made is the case read back.
    case.apply(op.to_millis(), tx.now(), &actor.name)?;
    save_dispute_change(tx, &mut case, version, before, actor).await?;
    let dispute = case;
    // The answer shows the parties in full: that read is audited here, in
    // the same transaction.
    if dispute.parties.iter().any(|p| p.organisation.is_none()) {
        let entry = AuditEntry {
            at: tx.now(),
            user_id: Some(by.id),
            username: by.username.as_str().to_owned(),
            action: "read_parties".into(),
            subject: format!("dispute {id}"),
        };
        audit(tx, &entry).await?;
    }
    let candidates = Which::MayRepeat {
        since: repeat_window_start(dispute.opened_at),
        address: dispute.address.clone(),
        parties: dispute.parties.clone(),
    };
    let others = disputes::load_to(tx, candidates, Depth::ForRepeats).await?;
    let repeats = precinct_domain::dispute::repeats_of(&dispute, &others, |d| {
        policy::allows_on_dispute(by, Action::ViewDispute, d)
    });
    Ok(CaseView { dispute, repeats })
}

fn stale(id: DisputeId) -> StoreError {
    StoreError::Stale(format!(
        "dispute {id} was changed by someone else; reload it and try again"
    ))
}

/// Writes a changed case at the next version and an event for each history
/// line the change added.
async fn save_dispute_change(
    tx: &mut impl WriteTx,
    case: &mut Dispute,
    version: i64,
    before: usize,
    actor: &Actor,
) -> StoreResult<()> {
    case.version = version + 1;
    disputes::update(tx, case, version).await?;
    let added: Vec<DisputeChange> = case.history.drain(before..).collect();
    for change in added {
        emit_dispute_change(tx, case, change, actor).await?;
    }
    Ok(())
}

/// One history line as an event, linked to its case; the line goes back
/// onto the case's history.
async fn emit_dispute_change(
    tx: &mut impl WriteTx,
    case: &mut Dispute,
    change: DisputeChange,
    actor: &Actor,
) -> StoreResult<()> {
    let actor = Actor {
        user_id: actor.user_id,
        name: change.actor.clone(),
    };
    let event = tx
        .emit(
            &actor,
            None,
            None,
            EventKind::DisputeChanged {
                dispute_id: case.id,
                organisations: case.organisations().collect(),
                status: change.status,
                change: change.change.clone(),
            },
        )
        .await?;
    disputes::link_event(tx, event.id, case.id).await?;
    case.history.push(DisputeChange {
        at: event.at,
        ..change
    });
    Ok(())
}

/// Converts the cases a database stored as JSON bodies (`legacy_disputes`)
/// to columns, child tables and one event per history line (stamped with
/// the line's own time), keeping ids and versions. Returns how many.
pub async fn convert_legacy_disputes(tx: &mut impl WriteTx) -> StoreResult<usize> {
    let mut bodies: Vec<(i64, i64, String)> = Vec::new();
    tx.query(
        "SELECT id, version, body FROM legacy_disputes ORDER BY id",
        &[],
        &mut |row| {
            bodies.push((row.i64("id")?, row.i64("version")?, row.text("body")?));
            Ok(())
        },
    )
    .await?;
    let now = tx.now();
    for (id, version, body) in &bodies {
        let mut case = crate::legacy::from_body(body)?;
        case.id = DisputeId(*id);
        case.version = *version;
        let history = std::mem::take(&mut case.history);
        disputes::insert(tx, &case).await?;
        for change in history {
            tx.stamp_at(change.at);
            let actor = Actor::system(&change.actor);
            emit_dispute_change(tx, &mut case, change, &actor).await?;
        }
        tx.stamp_at(now);
        tx.execute(
            "DELETE FROM legacy_disputes WHERE id = $1",
            &[disputes::SqlValue::Int(Some(*id))],
        )
        .await?;
    }
    Ok(bodies.len())
}

/// Releases every unit still assigned to `incident` back to patrol.
async fn release_units(
    tx: &mut impl WriteTx,
    incident: &Incident,
    actor: &Actor,
) -> StoreResult<()> {
    for assignment in incident
        .assignments
        .iter()
        .filter(|a| a.released_at.is_none())
    {
        let unit = tx.load_unit(assignment.unit_id).await?;
        if unit.incident_id == Some(incident.id) && unit.status.is_engaged() {
            let to = unit.status.reported_change(UnitStatus::OnPatrol)?;
            change_unit_status(tx, &unit, to, None, actor).await?;
        }
    }
    tx.release_assignments(incident.id, None).await
}

/// Closes an incident; its units are released back to patrol.
pub async fn close_incident(
    tx: &mut impl WriteTx,
    id: IncidentId,
    disposition: Disposition,
    remark: Option<String>,
    actor: &Actor,
) -> StoreResult<Incident> {
    let disposition = disposition.chosen_by_user()?;
    let remark = remark
        .map(|r| checked_text("remark", &r, 2000))
        .transpose()?;
    let incident = tx.load_incident(id).await?;
    change_incident_status(tx, &incident, IncidentStatus::Closed, actor).await?;
    tx.set_disposition(id, disposition, remark.as_deref())
        .await?;
    tx.emit(
        actor,
        Some(id),
        None,
        EventKind::IncidentClosed {
            disposition,
            remark,
        },
    )
    .await?;
    release_units(tx, &incident, actor).await?;
    tx.load_incident(id).await
}

/// Closes `duplicate_id` as merged into `into_id`, moving its units over.
pub async fn merge_incidents(
    tx: &mut impl WriteTx,
    duplicate_id: IncidentId,
    into_id: IncidentId,
    actor: &Actor,
) -> StoreResult<Incident> {
    let duplicate = tx.load_incident(duplicate_id).await?;
    let into = tx.load_incident(into_id).await?;
    check_merge(&duplicate, &into)?;
    tx.emit(
        actor,
        Some(into_id),
        None,
        EventKind::IncidentsMerged {
            duplicate_id,
            into_id,
        },
    )
    .await?;
    // Units sent to the duplicate now work the surviving incident.
    let moved: Vec<UnitId> = duplicate
        .assignments
        .iter()
        .filter(|a| a.released_at.is_none())
        .map(|a| a.unit_id)
        .collect();
    for &unit in &moved {
        tx.move_assignment(duplicate_id, into_id, unit).await?;
        tx.set_unit_incident(unit, into_id).await?;
    }
    if !moved.is_empty() && into.status == IncidentStatus::Received {
        change_incident_status(tx, &into, IncidentStatus::Dispatched, actor).await?;
    }
    change_incident_status(tx, &duplicate, IncidentStatus::Closed, actor).await?;
    tx.set_disposition(duplicate_id, Disposition::MergedAsDuplicate, None)
        .await?;
    tx.set_merged_into(duplicate_id, into_id).await?;
    let closed = EventKind::IncidentClosed {
        disposition: Disposition::MergedAsDuplicate,
        remark: None,
    };
    tx.emit(actor, Some(duplicate_id), None, closed).await?;
    tx.load_incident(into_id).await
}

/// The helper's open first-response task: its unit, incident and assignment.
async fn open_task(tx: &mut impl WriteTx, id: UnitId) -> StoreResult<(Unit, Incident)> {
    let unit = tx.load_unit(id).await?;
    let no_task = || DomainError::invalid("unit", format!("unit {id} has no first-response task"));
    if unit.kind.is_police() {
        return Err(no_task().into());
    }
    let incident_id = unit.incident_id.ok_or_else(no_task)?;
    let incident = tx.load_incident(incident_id).await?;
    if incident.active_assignment(id).is_none() {
        return Err(no_task().into());
    }
    Ok((unit, incident))
}

/// A helper accepts its first-response task and sets off.
pub async fn accept_task(tx: &mut impl WriteTx, id: UnitId, actor: &Actor) -> StoreResult<Unit> {
    let (unit, incident) = open_task(tx, id).await?;
    if incident
        .active_assignment(id)
        .and_then(|a| a.accepted_at)
        .is_some()
    {
        return Err(DomainError::invalid("task", "the task is already accepted").into());
    }
    tx.stamp_task(incident.id, id, TaskStep::Accepted).await?;
    tx.emit(
        actor,
        Some(incident.id),
        Some(id),
        EventKind::FirstResponseAccepted,
    )
    .await?;
    if unit.status == UnitStatus::Dispatched {
        change_unit_status(tx, &unit, UnitStatus::EnRoute, Some(incident.id), actor).await?;
    }
    tx.load_unit(id).await
}

/// A helper declines a task it has not accepted; it is released to patrol.
pub async fn decline_task(
    tx: &mut impl WriteTx,
    id: UnitId,
    reason: Option<String>,
    actor: &Actor,
) -> StoreResult<Unit> {
    let (unit, incident) = open_task(tx, id).await?;
    if incident
        .active_assignment(id)
        .and_then(|a| a.accepted_at)
        .is_some()
        || unit.status != UnitStatus::Dispatched
    {
        return Err(DomainError::invalid(
            "task",
            "an accepted task cannot be declined; report clear instead",
        )
        .into());
    }
    let reason = reason
        .map(|r| checked_text("reason", &r, 500))
        .transpose()?;
    tx.emit(
        actor,
        Some(incident.id),
        Some(id),
        EventKind::FirstResponseDeclined { reason },
    )
    .await?;
    change_unit_status(tx, &unit, UnitStatus::OnPatrol, None, actor).await?;
    tx.release_assignments(incident.id, Some(id)).await?;
    tx.load_unit(id).await
}

/// A helper on scene hands over to the police on scene and goes back to patrol.
pub async fn hand_over(tx: &mut impl WriteTx, id: UnitId, actor: &Actor) -> StoreResult<Unit> {
    let (unit, incident) = open_task(tx, id).await?;
    if unit.status != UnitStatus::OnScene {
        return Err(DomainError::invalid("task", "hand over once on scene").into());
    }
    if incident.first_police_on_scene_at.is_none() {
        return Err(DomainError::invalid(
            "task",
            "no police unit is on scene yet: stay until they arrive",
        )
        .into());
    }
    tx.stamp_task(incident.id, id, TaskStep::HandedOver).await?;
    tx.emit(actor, Some(incident.id), Some(id), EventKind::HandedOver)
        .await?;
    change_unit_status(tx, &unit, UnitStatus::OnPatrol, None, actor).await?;
    tx.release_assignments(incident.id, Some(id)).await?;
    tx.load_unit(id).await
}

fn checked_segments(mut segments: Vec<u32>) -> StoreResult<Vec<u32>> {
    segments.sort_unstable();
    segments.dedup();
    if segments.is_empty() || segments.len() > 10_000 {
        return Err(DomainError::invalid("segment_ids", "name 1 to 10,000 road segments").into());
    }
    Ok(segments)
}

pub async fn close_roads(
    tx: &mut impl WriteTx,
    segments: Vec<u32>,
    reason: Option<String>,
    actor: &Actor,
) -> StoreResult<()> {
    let segments = checked_segments(segments)?;
    let reason = reason
        .map(|r| checked_text("reason", &r, 500))
        .transpose()?;
    for &segment in &segments {
        tx.close_segment(segment, &actor.name, reason.as_deref())
            .await?;
    }
    tx.emit(
        actor,
        None,
        None,
        EventKind::RoadsClosed { segments, reason },
    )
    .await?;
    Ok(())
}

pub async fn reopen_roads(
    tx: &mut impl WriteTx,
    segments: Vec<u32>,
    actor: &Actor,
) -> StoreResult<()> {
    let segments = checked_segments(segments)?;
    for &segment in &segments {
        tx.reopen_segment(segment).await?;
    }
    tx.emit(actor, None, None, EventKind::RoadsReopened { segments })
        .await?;
    Ok(())
}

/// Imports a station package: checked again and planned against the
/// station as this transaction sees it (so a change committed since the
/// caller's preview is taken into account), then written, with one event.
pub async fn import_station(
    tx: &mut impl WriteTx,
    package: &StationPackage,
    passwords: &InitialPasswords,
    actor: &Actor,
    entry: &AuditEntry,
) -> StoreResult<Vec<LayerChanges>> {
    let state = tx.load_station().await?;
    // Shapes were checked when the package was validated; what the plan
    // needs is that every reference is known in the station as it is now.
    let plan = station::checked_plan(package, &state, Checks::References).map_err(|problems| {
        StoreError::Stale(format!(
            "the station changed since the package was validated ({} problems, first: {}); validate it again",
            problems.len(),
            problems[0]
        ))
    })?;
    for username in plan.new_usernames() {
        if !passwords.hashes.contains_key(username.as_str()) {
            return Err(StoreError::Stale(format!(
                "account {} is new since the package was validated; validate it again",
                username.as_str()
            )));
        }
    }
    let new_accounts = plan.new_usernames().len();
    let changes = write_station_plan(tx, &state, plan, passwords, actor).await?;
    // The entry says what the import did.
    let entry = AuditEntry {
        subject: format!("{new_accounts} new accounts"),
        ..entry.clone()
    };
    audit(tx, &entry).await?;
    Ok(changes)
}

/// Writes one audit entry in this transaction (sealed into the audit
/// chain like any other): the one statement every audit goes through.
pub async fn audit(tx: &mut impl WriteTx, entry: &AuditEntry) -> StoreResult<()> {
    crate::chain::insert_audit(tx, entry).await
}

/// Sets an account's password (and whether it must be changed at the next
/// login), with its audit entry when there is one, in this transaction.
pub async fn set_password(
    tx: &mut impl WriteTx,
    id: UserId,
    password_hash: &str,
    must_change: bool,
    entry: Option<&AuditEntry>,
) -> StoreResult<()> {
    let changed = tx
        .execute(
            "UPDATE users SET password_hash = $1, must_change_password = $2 WHERE id = $3",
            &[
                Text(Some(password_hash.to_owned())),
                Bool(must_change),
                Int(Some(id.0)),
            ],
        )
        .await?;
    if changed == 0 {
        return Err(StoreError::not_found("user", id.0));
    }
    if let Some(entry) = entry {
        audit(tx, entry).await?;
    }
    Ok(())
}

/// An administrator's edit of one account or unit, planned inside this
/// transaction against the station as it stands (so it never undoes an
/// import or another edit committed meanwhile), written as an import of
/// that record, with one event and its audit entry.
pub async fn edit_station(
    tx: &mut impl WriteTx,
    edit: &StationEdit,
    editor: &User,
    actor: &Actor,
    entry: &AuditEntry,
) -> StoreResult<Vec<LayerChanges>> {
    let state = tx.load_station().await?;
    let plan = station::edit_plan(&state, edit, editor).ok_or_else(|| match edit {
        StationEdit::Person { id, .. } => StoreError::not_found("user", id.0),
        StationEdit::Unit { id, .. } => StoreError::not_found("unit", id.0),
    })??;
    let changes = write_station_plan(tx, &state, plan, &InitialPasswords::default(), actor).await?;
    audit(tx, entry).await?;
    Ok(changes)
}

/// Writes a planned station: the ground, units and accounts, and one
/// `station_imported` event.
async fn write_station_plan(
    tx: &mut impl WriteTx,
    state: &StationState,
    plan: StationPlan,
    passwords: &InitialPasswords,
    actor: &Actor,
) -> StoreResult<Vec<LayerChanges>> {
    tx.save_ground(&plan.ground).await?;
    let mut unit_ids: std::collections::HashMap<String, UnitId> = state
        .units
        .iter()
        .map(|u| (u.call_sign.clone(), u.id))
        .collect();
    for change in &plan.units {
        match change {
            UnitChange::Add { fields, start_at } => {
                let status = if start_at.is_some() {
                    UnitStatus::AtPost
                } else {
                    UnitStatus::OffDuty
                };
                let id = tx.insert_unit(fields, status, *start_at).await?;
                unit_ids.insert(fields.call_sign.clone(), id);
            }
            UnitChange::Update { id, fields } => tx.update_unit_record(*id, fields).await?,
            UnitChange::Retire { id } => {
                let unit = tx.load_unit(*id).await?;
                // A free unit goes off duty; one working an incident finishes it.
                if unit.status.can_be_dispatched() {
                    change_unit_status(tx, &unit, UnitStatus::OffDuty, None, actor).await?;
                }
                tx.retire_unit(*id).await?;
            }
        }
    }
    for change in &plan.people {
        let unit_of = |fields: &PersonFields| {
            fields
                .unit_call_sign
                .as_ref()
                .and_then(|c| unit_ids.get(c).copied())
        };
        match change {
            PersonChange::Add(fields) => {
                let hash = &passwords.hashes[fields.username.as_str()];
                tx.insert_user(fields, unit_of(fields), hash, passwords.must_change)
                    .await?;
            }
            PersonChange::Update { id, fields } => {
                tx.update_user_record(*id, fields, unit_of(fields)).await?
            }
            PersonChange::Disable { id } => tx.disable_user(*id).await?,
        }
    }
    tx.emit(
        actor,
        None,
        None,
        EventKind::StationImported {
            changes: plan.changes.clone(),
        },
    )
    .await?;
    Ok(plan.changes)
}

/// What a history import did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct HistoryImported {
    pub rows: u64,
    pub inserted: u64,
    /// Rows whose external id was already stored: nothing changed for them.
    pub already_present: u64,
    /// Rows outside the station's ground (kept and counted).
    pub outside: u64,
}

/// Imports checked past incidents in one transaction: all or nothing, and
/// again changes nothing (only the external id makes two rows one). One
/// `history_imported` event records it.
pub async fn import_history(
    tx: &mut impl WriteTx,
    file: &str,
    records: &[HistoryRecord],
    actor: &Actor,
    entry: &AuditEntry,
) -> StoreResult<HistoryImported> {
    let inserted = tx.insert_history(records).await?;
    let rows = records.len() as u64;
    let done = HistoryImported {
        rows,
        inserted,
        already_present: rows - inserted,
        outside: records.iter().filter(|r| r.is_outside()).count() as u64,
    };
    tx.emit(
        actor,
        None,
        None,
        EventKind::HistoryImported {
            file: file.to_owned(),
            rows: done.rows,
            inserted: done.inserted,
            already_present: done.already_present,
            outside: done.outside,
        },
    )
    .await?;
    // The entry says what the import did.
    let entry = AuditEntry {
        subject: format!("{file}: {} rows, {} new", done.rows, done.inserted),
        ..entry.clone()
    };
    audit(tx, &entry).await?;
    Ok(done)
}

/// Replaces the road network, with one `roads_replaced` event.
pub async fn replace_roads(
    tx: &mut impl WriteTx,
    ways: &[precinct_geo::roads::RoadWay],
    addresses: &[precinct_geo::roads::PointAddress],
    areas: &[precinct_geo::roads::MapArea],
    actor: &Actor,
) -> StoreResult<()> {
    for (table, body) in [
        ("roads", serde_json::to_string(ways)),
        ("road_addresses", serde_json::to_string(addresses)),
        ("road_areas", serde_json::to_string(areas)),
    ] {
        let body = body.map_err(|e| StoreError::Other(e.to_string()))?;
        tx.execute(&format!("DELETE FROM {table} WHERE id = 1"), &[])
            .await?;
        tx.execute(
            &format!("INSERT INTO {table} (id, body) VALUES ($1, $2)"),
            &[Int(Some(1)), Text(Some(body))],
        )
        .await?;
    }
    let ways = u32::try_from(ways.len()).unwrap_or(u32::MAX);
    tx.emit(actor, None, None, EventKind::RoadsReplaced { ways })
        .await?;
    Ok(())
}

/// Creates an account outside a station package (the command line, the
/// demo), with one `account_created` event.
pub async fn create_user(
    tx: &mut impl WriteTx,
    user: crate::NewUser,
    actor: &Actor,
) -> StoreResult<User> {
    let mut id = None;
    tx.query(
        "INSERT INTO users (username, display_name, role, password_hash, unit_id, organisation_id) \
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        &[
            Text(Some(user.username.as_str().to_owned())),
            Text(Some(user.display_name.clone())),
            Text(Some(user.role.as_str().to_owned())),
            Text(Some(user.password_hash.clone())),
            Int(user.unit_id.map(|u| u.0)),
            Int(user.organisation_id.map(|o| o.0)),
        ],
        &mut |row| {
            id = Some(UserId(row.i64("id")?));
            Ok(())
        },
    )
    .await
    .map_err(|e| match e {
        StoreError::AlreadyExists(_) => {
            StoreError::AlreadyExists(format!("user {} already exists", user.username.as_str()))
        }
        other => other,
    })?;
    let id = id.ok_or_else(|| StoreError::Other("the new account has no id".into()))?;
    tx.emit(
        actor,
        None,
        None,
        EventKind::AccountCreated {
            user_id: id,
            username: user.username.as_str().to_owned(),
            role: user.role,
        },
    )
    .await?;
    Ok(User {
        id,
        username: user.username,
        display_name: user.display_name,
        role: user.role,
        unit_id: user.unit_id,
        organisation_id: user.organisation_id,
        phone: None,
        disabled: false,
        must_change_password: false,
        second_factor: false,
    })
}

/// Ends a session, with its audit entry when there is one (an
/// administrator's revocation).
pub async fn delete_session(
    tx: &mut impl WriteTx,
    token_hash: &str,
    entry: Option<&AuditEntry>,
) -> StoreResult<()> {
    tx.execute(
        "DELETE FROM sessions WHERE token_hash = $1",
        &[Text(Some(token_hash.to_owned()))],
    )
    .await?;
    if let Some(entry) = entry {
        audit(tx, entry).await?;
    }
    Ok(())
}

/// Opens a session for `user_id` at `now` until `expires_at`. Sessions
/// live on the wall clock (`now` is the caller's), never on a store's
/// clock, which a demo may run faster than real time.
pub async fn create_session(
    tx: &mut impl WriteTx,
    token_hash: &str,
    user_id: UserId,
    now: Timestamp,
    expires_at: Timestamp,
    address: Option<&str>,
) -> StoreResult<()> {
    let now = ms(now);
    tx.execute(
        "INSERT INTO sessions (token_hash, user_id, expires_at, created_at, last_seen_at, address) \
         VALUES ($1, $2, $3, $4, $4, $5)",
        &[
            Text(Some(token_hash.to_owned())),
            Int(Some(user_id.0)),
            Int(Some(ms(expires_at))),
            Int(Some(now)),
            Text(address.map(str::to_owned)),
        ],
    )
    .await
    .map(drop)
}

/// Notes a session's use at `at` (never moving it back).
pub async fn touch_session(
    tx: &mut impl WriteTx,
    token_hash: &str,
    at: Timestamp,
) -> StoreResult<()> {
    tx.execute(
        "UPDATE sessions SET last_seen_at = $2 WHERE token_hash = $1 AND last_seen_at < $2",
        &[Text(Some(token_hash.to_owned())), Int(Some(ms(at)))],
    )
    .await
    .map(drop)
}

async fn write_second_factor(
    tx: &mut impl WriteTx,
    user: UserId,
    factor: &crate::SecondFactor,
) -> StoreResult<()> {
    tx.execute(
        "UPDATE users SET totp_secret = $2, totp_pending = $3, totp_last_step = $4, recovery_codes = $5 \
         WHERE id = $1",
        &[
            Int(Some(user.0)),
            Text(factor.secret.clone()),
            Text(factor.pending.clone()),
            Int(factor.last_step),
            Text(Some(crate::rows::recovery_codes_json(factor))),
        ],
    )
    .await
    .map(drop)
}

/// Stores an account's second factor, with its audit entry when there is one.
pub async fn set_second_factor(
    tx: &mut impl WriteTx,
    user: UserId,
    factor: &crate::SecondFactor,
    entry: Option<&AuditEntry>,
) -> StoreResult<()> {
    write_second_factor(tx, user, factor).await?;
    if let Some(entry) = entry {
        audit(tx, entry).await?;
    }
    Ok(())
}

/// Accepts a proof of the second factor at most once: read, decided and
/// written in this writer transaction (every backend's writers run one at a
/// time, PostgreSQL's across instances under its write lock), with its
/// audit entry when accepted.
pub async fn consume_second_factor(
    tx: &mut impl WriteTx,
    user: UserId,
    proof: &crate::SecondFactorProof,
    entry: Option<&AuditEntry>,
) -> StoreResult<bool> {
    let factor = crate::reads::second_factor(tx, user).await?;
    match factor.accept(proof) {
        Some(next) => {
            set_second_factor(tx, user, &next, entry).await?;
            Ok(true)
        }
        None => Ok(false),
    }
}

/// Creates units outside a station package (tests and tools).
pub async fn create_units(
    tx: &mut impl WriteTx,
    units: Vec<precinct_domain::unit::NewUnit>,
) -> StoreResult<Vec<Unit>> {
    let mut created = Vec::with_capacity(units.len());
    for unit in units {
        let fields = UnitFields {
            call_sign: unit.call_sign,
            name: unit.name,
            kind: unit.kind,
            home_post_id: unit.home_post_id,
            zone_id: unit.zone_id,
            capabilities: unit.capabilities,
            phone: unit.phone,
            member_count: unit.member_count,
            property_company_id: unit.property_company_id,
        };
        let id = tx
            .insert_unit(&fields, unit.status, unit.position)
            .await
            .map_err(|e| match e {
                StoreError::AlreadyExists(_) => {
                    StoreError::AlreadyExists(format!("call sign {} is taken", fields.call_sign))
                }
                other => other,
            })?;
        created.push(tx.load_unit(id).await?);
    }
    Ok(created)
}

/// Claims a request's idempotency key (see [`crate::RequestClaim`]), in the
/// writer's transaction: of two requests with one key, one claims it.
pub async fn claim_request(
    tx: &mut impl WriteTx,
    user: UserId,
    key: &str,
    fingerprint: &str,
    now: Timestamp,
) -> StoreResult<crate::RequestClaim> {
    let forget = now - chrono::Duration::hours(crate::REQUEST_KEY_HOURS);
    tx.execute(
        "DELETE FROM request_keys WHERE created_at < $1",
        &[Int(Some(ms(forget)))],
    )
    .await?;
    let mut found = None;
    tx.query(
        "SELECT fingerprint, status, body, created_at FROM request_keys WHERE user_id = $1 AND key = $2",
        &[Int(Some(user.0)), Text(Some(key.to_owned()))],
        &mut |row| {
            found = Some((
                row.text("fingerprint")?,
                row.opt_i64("status")?,
                row.opt_text("body")?,
                row.i64("created_at")?,
            ));
            Ok(())
        },
    )
    .await?;
    Ok(match found {
        None => {
            tx.execute(
                "INSERT INTO request_keys (user_id, key, fingerprint, created_at) VALUES ($1, $2, $3, $4)",
                &[
                    Int(Some(user.0)),
                    Text(Some(key.to_owned())),
                    Text(Some(fingerprint.to_owned())),
                    Int(Some(ms(now))),
                ],
            )
            .await?;
            crate::RequestClaim::Claimed
        }
        Some((stored, ..)) if stored != fingerprint => crate::RequestClaim::Mismatch,
        Some((_, None, _, at)) => crate::RequestClaim::Pending {
            since: crate::rows::ts(at)?,
        },
        Some((_, Some(status), body, _)) => crate::RequestClaim::Done {
            status: u16::try_from(status).unwrap_or(500),
            body: body.unwrap_or_default(),
        },
    })
}

/// Keeps the answer of a claimed request.
pub async fn finish_request(
    tx: &mut impl WriteTx,
    user: UserId,
    key: &str,
    status: u16,
    body: &str,
) -> StoreResult<()> {
    tx.execute(
        "UPDATE request_keys SET status = $3, body = $4 WHERE user_id = $1 AND key = $2",
        &[
            Int(Some(user.0)),
            Text(Some(key.to_owned())),
            Int(Some(i64::from(status))),
            Text(Some(body.to_owned())),
        ],
    )
    .await
    .map(drop)
}

/// Forgets a claim (its request failed on the server's side).
pub async fn release_request(tx: &mut impl WriteTx, user: UserId, key: &str) -> StoreResult<()> {
    tx.execute(
        "DELETE FROM request_keys WHERE user_id = $1 AND key = $2 AND status IS NULL",
        &[Int(Some(user.0)), Text(Some(key.to_owned()))],
    )
    .await
    .map(drop)
}

/// Runs a future that never waits (a backend whose primitives complete
/// immediately, like SQLite's) to its end on the current thread.
///
/// # Panics
/// If the future is pending: that would be a backend bug.
pub fn run_ready<F: std::future::Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    let mut context = std::task::Context::from_waker(std::task::Waker::noop());
    match future.as_mut().poll(&mut context) {
        std::task::Poll::Ready(output) => output,
        std::task::Poll::Pending => panic!("a synchronous backend's write waited"),
    }
}
