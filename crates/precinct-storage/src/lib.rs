//! The storage trait every Precinct backend implements, its error type, the
//! clock it stamps changes with, and the story suite every backend must pass.
//!
//! Architecture invariants:
//! - A backend applies the domain's transition functions inside the same
//!   transaction as the write, and writes each change's event in that
//!   transaction too; an acknowledged write is durable.
//! - No driver type (rusqlite, sqlx, …) appears in this crate's API: backends
//!   map their errors to [`StoreError`] before returning.
//! - Committed events are published to [`Store::subscribe`] in commit order,
//!   before the write that made them is acknowledged.

pub mod apply;
pub mod chain;
pub mod disputes;
pub mod legacy;
pub mod reads;
pub mod recurrence;
pub mod rollups;
pub mod rows;
#[cfg(feature = "testing")]
pub mod suite;
pub mod transfer;

pub use apply::CaseView;
use async_trait::async_trait;
use precinct_domain::dispute::{Dispute, DisputeOp, NewDispute};
use precinct_domain::event::{Actor, Event};
use precinct_domain::ground::Jurisdiction;
use precinct_domain::ids::{DisputeId, EventId, IncidentId, OrganisationId, UnitId, UserId};
use precinct_domain::incident::{
    DispatchDecision, DispatchOrder, Disposition, Incident, IncidentStatus, Intake,
};
use precinct_domain::station::{LayerChanges, StationPackage, StationState};
use precinct_domain::unit::{NewUnit, Unit, UnitStatus};
use precinct_domain::user::{Role, User, Username};
use precinct_domain::{Coordinates, DomainError, Timestamp};
use precinct_geo::roads::{MapArea, PointAddress, RoadWay};
use std::sync::Arc;
use tokio::sync::broadcast;

/// What can go wrong in storage. Driver errors keep their source chain
/// for the logs; what clients see is decided at the API edge.
#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    #[error("{entity} {id} not found")]
    NotFound { entity: &'static str, id: String },
    /// The request breaks a domain rule (illegal transition, unit busy, …).
    #[error(transparent)]
    Rule(#[from] DomainError),
    /// A uniqueness constraint: the thing already exists.
    #[error("{0}")]
    AlreadyExists(String),
    /// The policy does not let this user do this to this object.
    #[error("forbidden: {0}")]
    Forbidden(String),
    /// What the change was decided on changed meanwhile (a newer version of
    /// a case, a station changed since its package was validated): read
    /// again and decide again.
    #[error("{0}")]
    Stale(String),
    /// The disk (or the database server's) is full: nothing was written;
    /// writes work again once space is freed.
    #[error("storage full: {0}")]
    StorageFull(String),
    /// The database driver failed (a lost connection, I/O, a constraint the
    /// rules did not foresee); the driver's error is kept as the source, so
    /// logs show the whole chain. Logged, not shown.
    #[error("{context}")]
    Driver {
        context: String,
        #[source]
        source: Arc<dyn std::error::Error + Send + Sync>,
    },
    /// Anything else: I/O, corruption, a lost connection. Logged, not shown.
    #[error("storage failure: {0}")]
    Other(String),
}

/// Equal when of the same kind with the same text (a driver error's source
/// is compared by identity).
impl PartialEq for StoreError {
    fn eq(&self, other: &StoreError) -> bool {
        use StoreError::*;
        match (self, other) {
            (NotFound { entity: a, id: b }, NotFound { entity: c, id: d }) => a == c && b == d,
            (Rule(a), Rule(b)) => a == b,
            (AlreadyExists(a), AlreadyExists(b))
            | (Stale(a), Stale(b))
            | (StorageFull(a), StorageFull(b))
            | (Other(a), Other(b)) => a == b,
            (
                Driver {
                    context: a,
                    source: x,
                },
                Driver {
                    context: b,
                    source: y,
                },
            ) => a == b && Arc::ptr_eq(x, y),
            _ => false,
        }
    }
}

impl StoreError {
    /// A driver's error, kept whole as the source.
    pub fn driver(
        context: impl Into<String>,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> StoreError {
        StoreError::Driver {
            context: context.into(),
            source: Arc::new(source),
        }
    }

    /// The error and every source under it, for the logs.
    pub fn chain(&self) -> String {
        let mut text = self.to_string();
        let mut source = std::error::Error::source(self);
        while let Some(cause) = source {
            text.push_str(": ");
            text.push_str(&cause.to_string());
            source = cause.source();
        }
        text
    }

    pub fn not_found(entity: &'static str, id: impl ToString) -> StoreError {
        StoreError::NotFound {
            entity,
            id: id.to_string(),
        }
    }
}

pub type StoreResult<T> = Result<T, StoreError>;

/// The time source of a store. Injected so tests and the simulator (which may
/// run faster than real time) control what "now" is.
pub trait Clock: Send + Sync + std::fmt::Debug + 'static {
    fn now(&self) -> Timestamp;
    /// Clock seconds per real second: 1 for wall-clock time, more for a
    /// demo that runs fast, 0 for a clock only moved by hand.
    fn speed(&self) -> f64 {
        1.0
    }
}

/// Wall-clock time.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        chrono::Utc::now()
    }
}

/// A clock that moves only when told to: for deterministic tests.
#[derive(Debug)]
pub struct ManualClock {
    now: std::sync::Mutex<Timestamp>,
}

impl ManualClock {
    pub fn new(start: Timestamp) -> ManualClock {
        ManualClock {
            now: std::sync::Mutex::new(start),
        }
    }

    pub fn advance(&self, by: chrono::Duration) {
        *self.now.lock().expect("clock lock") += by;
    }

    pub fn set(&self, to: Timestamp) {
        *self.now.lock().expect("clock lock") = to;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        *self.now.lock().expect("clock lock")
    }

    fn speed(&self) -> f64 {
        0.0
    }
}

/// Result of an intake: the incident, and whether this call created it (false
/// when the same instruction had already been received: 双接警).
#[derive(Debug, Clone, PartialEq)]
pub struct IntakeOutcome {
    pub incident: Incident,
    pub created: bool,
}

/// What claiming a request's idempotency key found (`Idempotency-Key`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RequestClaim {
    /// The key is new: this request runs, and its answer is kept.
    Claimed,
    /// The request ran: its answer, to give again.
    Done { status: u16, body: String },
    /// The request is running, or its first attempt ended without an
    /// answer (the instance stopped): it is never run a second time.
    Pending { since: Timestamp },
    /// The key was used for another request.
    Mismatch,
}

/// How long a request's idempotency key and its answer are kept.
pub const REQUEST_KEY_HOURS: i64 = 24;

/// What a dispatch did.
#[derive(Debug, Clone, PartialEq)]
pub struct DispatchOutcome {
    pub incident: Incident,
    /// The units sent, those of them stood down from another incident
    /// first, and those left as they were (already on the incident).
    pub decision: DispatchDecision,
}

/// Which incidents to list, newest first.
#[derive(Debug, Clone, PartialEq)]
pub struct IncidentFilter {
    pub status: Option<IncidentStatus>,
    pub open_only: bool,
    /// Only incidents this unit is or was assigned to.
    pub assigned_unit: Option<UnitId>,
    /// Only incidents reported at or after this time…
    pub reported_from: Option<Timestamp>,
    /// …and before this one.
    pub reported_until: Option<Timestamp>,
    pub limit: u32,
}

impl Default for IncidentFilter {
    fn default() -> Self {
        IncidentFilter {
            status: None,
            open_only: false,
            assigned_unit: None,
            reported_from: None,
            reported_until: None,
            limit: 200,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct NewUser {
    pub username: Username,
    pub display_name: String,
    pub role: Role,
    /// A PHC string (argon2id); the store never sees a password.
    pub password_hash: String,
    pub unit_id: Option<UnitId>,
    pub organisation_id: Option<OrganisationId>,
}

/// A user with the hash to check a password against.
#[derive(Clone, PartialEq)]
pub struct Credentials {
    pub user: User,
    pub password_hash: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("user", &self.user)
            .field("password_hash", &"<redacted>")
            .finish()
    }
}

/// An account's second factor (TOTP, RFC 6238), as stored.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct SecondFactor {
    /// The confirmed TOTP secret (base32); None when not enrolled.
    pub secret: Option<String>,
    /// A secret being enrolled, until a code from it confirms it.
    pub pending: Option<String>,
    /// The last TOTP time step accepted: a code is never accepted twice.
    pub last_step: Option<i64>,
    /// SHA-256 (hex) of each unused recovery code.
    pub recovery_hashes: Vec<String>,
}

impl std::fmt::Debug for SecondFactor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecondFactor")
            .field("enrolled", &self.secret.is_some())
            .field("pending", &self.pending.is_some())
            .field("last_step", &self.last_step)
            .field("recovery_codes", &self.recovery_hashes.len())
            .finish()
    }
}

/// A proof of the second factor, accepted at most once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecondFactorProof {
    /// A TOTP code valid at this time step (checked by the caller).
    Step(i64),
    /// A recovery code, by its SHA-256 (hex).
    Recovery(String),
    /// The first code of an enrolment: the pending `secret` (the one the
    /// code was checked against) comes into force at `step` with these
    /// recovery codes. Accepted once: of simultaneous confirmations,
    /// exactly one wins, as each is decided in the writer's transaction.
    Enrolment {
        secret: String,
        step: i64,
        recovery_hashes: Vec<String>,
    },
}

impl SecondFactor {
    /// The factor after accepting `proof`, or None when it is refused: a
    /// step not later than the last accepted one, or a recovery code that
    /// is not (or no longer) the account's.
    pub fn accept(&self, proof: &SecondFactorProof) -> Option<SecondFactor> {
        let mut next = self.clone();
        match proof {
            SecondFactorProof::Step(step) => {
                if self.last_step.is_some_and(|last| *step <= last) {
                    return None;
                }
                next.last_step = Some(*step);
            }
            SecondFactorProof::Recovery(hash) => {
                let at = self.recovery_hashes.iter().position(|h| h == hash)?;
                next.recovery_hashes.remove(at);
            }
            SecondFactorProof::Enrolment {
                secret,
                step,
                recovery_hashes,
            } => {
                if self.secret.is_some() || self.pending.as_ref() != Some(secret) {
                    return None;
                }
                next = SecondFactor {
                    secret: Some(secret.clone()),
                    pending: None,
                    last_step: Some(*step),
                    recovery_hashes: recovery_hashes.clone(),
                };
            }
        }
        Some(next)
    }
}

/// A session: whose, since when, and when it was last used.
#[derive(Debug, Clone, PartialEq)]
pub struct Session {
    pub user: User,
    pub created_at: Timestamp,
    pub last_seen_at: Timestamp,
    pub expires_at: Timestamp,
}

/// A session as the administrator lists it.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionRecord {
    /// The SHA-256 of the session's token: names the session, opens nothing.
    pub token_hash: String,
    pub user_id: UserId,
    pub username: String,
    pub role: Role,
    pub created_at: Timestamp,
    pub last_seen_at: Timestamp,
    pub expires_at: Timestamp,
    /// The client's address at login.
    pub address: Option<String>,
}

/// A point of a unit's track: where it reported itself, and when.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TrackPoint {
    pub at: Timestamp,
    pub position: Coordinates,
}

/// A unit's reported position, committed: a point of its track
/// (`unit_positions`), pushed live to the map after commit. Positions are
/// the heaviest write (a fleet reports every few seconds), so they are not
/// events of the record: no event row, no hash, one small row each.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct UnitMoved {
    pub unit_id: UnitId,
    pub position: Coordinates,
    pub at: Timestamp,
}

/// A photo to attach: its checked type and bytes, and the unit whose
/// member took it.
#[derive(Debug, Clone, PartialEq)]
pub struct NewPhoto {
    pub content_type: String,
    pub bytes: Vec<u8>,
    pub unit_id: Option<UnitId>,
}

/// A photo of a scene, without its bytes.
#[derive(Debug, Clone, PartialEq)]
pub struct PhotoInfo {
    pub id: i64,
    pub incident_id: IncidentId,
    pub content_type: String,
    pub size: u64,
    /// The unit whose member took it, if any.
    pub unit_id: Option<UnitId>,
    /// Who attached it (the actor's name).
    pub taken_by: String,
    pub at: Timestamp,
}

/// A closed road segment.
#[derive(Debug, Clone, PartialEq)]
pub struct RoadClosure {
    pub segment: u32,
    pub closed_at: Timestamp,
    pub closed_by: String,
    pub reason: Option<String>,
}

/// The passwords new accounts of an import start with, by username.
#[derive(Clone, PartialEq, Default)]
pub struct InitialPasswords {
    /// PHC strings; the store never sees a password.
    pub hashes: std::collections::HashMap<String, String>,
    /// One-time passwords: the account must set its own at first login.
    pub must_change: bool,
}

impl std::fmt::Debug for InitialPasswords {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InitialPasswords")
            .field("accounts", &self.hashes.len())
            .field("must_change", &self.must_change)
            .finish()
    }
}

/// One read of personal data, or another action worth a trail.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditEntry {
    pub at: Timestamp,
    pub user_id: Option<UserId>,
    pub username: String,
    pub action: String,
    pub subject: String,
}

impl AuditEntry {
    /// An entry for what the command line does (no account: whoever runs
    /// `precinct` on the server).
    pub fn command_line(at: Timestamp, action: &str) -> AuditEntry {
        AuditEntry {
            at,
            user_id: None,
            username: "(command line)".into(),
            action: action.into(),
            subject: String::new(),
        }
    }
}

/// The station's own records: its ground, roads and closures, units' records, a station package, past incidents.
#[async_trait]
pub trait StationStore: Send + Sync + std::fmt::Debug + 'static {
    /// Replaces the station's ground (used when a district is generated or imported).
    async fn replace_jurisdiction(&self, ground: Jurisdiction) -> StoreResult<()>;
    async fn jurisdiction(&self) -> StoreResult<Jurisdiction>;
    /// Replaces the station's road network (generated, or imported from
    /// OSM) and what its extract knows of addresses.
    async fn replace_roads(
        &self,
        ways: Vec<RoadWay>,
        addresses: Vec<PointAddress>,
        areas: Vec<MapArea>,
        actor: Actor,
    ) -> StoreResult<()>;
    /// The road network's ways; empty until one is generated or imported.
    async fn roads(&self) -> StoreResult<Vec<RoadWay>>;
    /// The house numbers and named places the road import kept.
    async fn road_addresses(&self) -> StoreResult<Vec<PointAddress>>;
    /// The base map's water, parks and buildings the road import kept.
    async fn road_areas(&self) -> StoreResult<Vec<MapArea>>;
    /// Closes road segments (routing avoids them) and records who and why.
    async fn close_roads(
        &self,
        segments: Vec<u32>,
        reason: Option<String>,
        actor: Actor,
    ) -> StoreResult<()>;
    async fn reopen_roads(&self, segments: Vec<u32>, actor: Actor) -> StoreResult<()>;
    async fn road_closures(&self) -> StoreResult<Vec<RoadClosure>>;
    async fn create_units(&self, units: Vec<NewUnit>) -> StoreResult<Vec<Unit>>;
    /// The station as stored: ground, every unit (retired too), every
    /// account (disabled too). What an import is planned against.
    async fn station_state(&self) -> StoreResult<StationState>;
    /// Imports a station package in one transaction: checked again and
    /// planned against the station as it is inside the transaction, then
    /// written with one `station_imported` event and `audit` (its subject
    /// set to what the import did). New accounts take their
    /// password from `passwords` (`Stale` if one is missing: the station
    /// changed since the caller planned).
    async fn import_station(
        &self,
        package: StationPackage,
        passwords: InitialPasswords,
        actor: Actor,
        audit: AuditEntry,
    ) -> StoreResult<Vec<LayerChanges>>;
    /// An administrator's edit of one account or unit, planned and written
    /// in one writer transaction against the station as it stands
    /// (`apply::edit_station`).
    async fn edit_station(
        &self,
        edit: precinct_domain::station::StationEdit,
        editor: User,
        actor: Actor,
        audit: AuditEntry,
    ) -> StoreResult<Vec<LayerChanges>>;
    /// Imports past incidents in one transaction (see
    /// [`apply::import_history`]).
    async fn import_history(
        &self,
        file: String,
        records: Vec<precinct_domain::history::HistoryRecord>,
        actor: Actor,
        audit: AuditEntry,
    ) -> StoreResult<apply::HistoryImported>;
}

/// Incidents from intake to close, the units' work on them, and the event log.
#[async_trait]
pub trait IncidentStore: Send + Sync + std::fmt::Debug + 'static {
    /// The station's forces: every unit not retired.
    async fn list_units(&self) -> StoreResult<Vec<Unit>>;
    async fn get_unit(&self, id: UnitId) -> StoreResult<Unit>;
    /// A status change reported by (or for) a unit; arrival and release
    /// update its incident in the same transaction.
    async fn update_unit_status(
        &self,
        id: UnitId,
        to: UnitStatus,
        actor: Actor,
    ) -> StoreResult<Unit>;
    async fn report_unit_position(
        &self,
        id: UnitId,
        position: Coordinates,
        actor: Actor,
    ) -> StoreResult<Unit>;
    /// A helper accepts its first-response task (and sets off).
    async fn accept_task(&self, id: UnitId, actor: Actor) -> StoreResult<Unit>;
    /// A helper declines a task it has not accepted (and is released).
    async fn decline_task(
        &self,
        id: UnitId,
        reason: Option<String>,
        actor: Actor,
    ) -> StoreResult<Unit>;
    /// A helper on scene hands over to the police on scene (and is released).
    async fn hand_over(&self, id: UnitId, actor: Actor) -> StoreResult<Unit>;
    /// Takes in a report. The same source and external id return the existing
    /// incident and change nothing; a likely duplicate is linked.
    async fn intake(&self, intake: Intake, actor: Actor) -> StoreResult<IntakeOutcome>;
    async fn get_incident(&self, id: IncidentId) -> StoreResult<Incident>;
    async fn list_incidents(&self, filter: IncidentFilter) -> StoreResult<Vec<Incident>>;
    /// Assigns every unit or none: a unit that is not free fails the whole
    /// call; one already on the incident is left as it is (a retry sends
    /// nobody twice). The plain form of [`IncidentStore::dispatch_order`].
    async fn dispatch(
        &self,
        id: IncidentId,
        units: Vec<UnitId>,
        actor: Actor,
    ) -> StoreResult<Incident> {
        let order = DispatchOrder {
            units,
            ..DispatchOrder::default()
        };
        Ok(self.dispatch_order(id, order, actor).await?.incident)
    }
    /// Decides an order in the writer's transaction against the incident
    /// and units as they are there (`incident::decide_dispatch`), stands
    /// diverted units down and sends the rest, all or nothing.
    async fn dispatch_order(
        &self,
        id: IncidentId,
        order: DispatchOrder,
        actor: Actor,
    ) -> StoreResult<DispatchOutcome>;
    async fn add_note(&self, id: IncidentId, text: String, actor: Actor) -> StoreResult<Event>;
    /// Attaches a photo (bytes already checked as an image) to an open
    /// incident: a row and a `photo_attached` event in one transaction.
    async fn attach_photo(
        &self,
        id: IncidentId,
        photo: NewPhoto,
        actor: Actor,
    ) -> StoreResult<PhotoInfo>;
    /// An incident's photos, oldest first (no bytes).
    async fn photos(&self, id: IncidentId) -> StoreResult<Vec<PhotoInfo>>;
    /// One photo and its bytes.
    async fn photo(&self, id: i64) -> StoreResult<(PhotoInfo, Vec<u8>)>;
    /// Records on an incident's timeline that it recurs these disputes.
    async fn flag_recurrence(
        &self,
        id: IncidentId,
        dispute_ids: Vec<DisputeId>,
        actor: Actor,
    ) -> StoreResult<Event>;
    /// Closes an incident; its units are released back to patrol.
    async fn close_incident(
        &self,
        id: IncidentId,
        disposition: Disposition,
        remark: Option<String>,
        actor: Actor,
    ) -> StoreResult<Incident>;
    /// Closes `duplicate` as merged into `into`, moving its units over.
    async fn merge_incidents(
        &self,
        duplicate: IncidentId,
        into: IncidentId,
        actor: Actor,
    ) -> StoreResult<Incident>;
    /// An incident's events and those of incidents merged into it, in order.
    async fn timeline(&self, id: IncidentId) -> StoreResult<Vec<Event>>;
    async fn events_after(&self, after: EventId, limit: u32) -> StoreResult<Vec<Event>>;
    /// Where a unit reported itself over [from, until), oldest first, at
    /// most `limit` points (position reports are a track, not a timeline).
    async fn unit_track(
        &self,
        unit: UnitId,
        from: Timestamp,
        until: Timestamp,
        limit: u32,
    ) -> StoreResult<Vec<TrackPoint>>;
    /// Committed events, in commit order. A lagging receiver must catch up
    /// with [`Store::events_after`].
    fn subscribe(&self) -> broadcast::Receiver<Event>;
    /// Committed positions, in commit order (every instance's). A lagging
    /// receiver has missed some: the next report of each unit supersedes
    /// them, and `list_units` has the latest.
    fn subscribe_positions(&self) -> broadcast::Receiver<UnitMoved>;
}

/// Accounts, sessions, second factors and the audit log.
#[async_trait]
pub trait AccountStore: Send + Sync + std::fmt::Debug + 'static {
    /// Claims `key` for a request of `user` whose content hashes to
    /// `fingerprint` (keys older than a day are forgotten first).
    async fn claim_request(
        &self,
        user: UserId,
        key: String,
        fingerprint: String,
    ) -> StoreResult<RequestClaim>;
    /// Keeps a claimed request's answer.
    async fn finish_request(
        &self,
        user: UserId,
        key: String,
        status: u16,
        body: String,
    ) -> StoreResult<()>;
    /// Forgets a claim whose request failed on the server's side, so it
    /// may be sent again.
    async fn release_request(&self, user: UserId, key: String) -> StoreResult<()>;
    /// Sets an account's password (and whether it must be changed at the
    /// next login), with its audit entry in the same transaction
    /// (`apply::set_password`).
    async fn set_password(
        &self,
        id: UserId,
        password_hash: String,
        must_change: bool,
        audit: Option<AuditEntry>,
    ) -> StoreResult<()>;
    /// Creates an account (the command line, the demo) with its
    /// `account_created` event (`apply::create_user`).
    async fn create_user(&self, user: NewUser, actor: Actor) -> StoreResult<User>;
    async fn credentials(&self, username: &Username) -> StoreResult<Option<Credentials>>;
    async fn count_users(&self) -> StoreResult<u64>;
    /// Starts a session now (real time), from `address`.
    async fn create_session(
        &self,
        token_hash: String,
        user_id: UserId,
        expires_at: Timestamp,
        address: Option<String>,
    ) -> StoreResult<()>;
    /// An unexpired session of an enabled account.
    async fn session_user(&self, token_hash: String) -> StoreResult<Option<Session>>;
    /// Marks a session used at `at`.
    async fn touch_session(&self, token_hash: String, at: Timestamp) -> StoreResult<()>;
    /// Every unexpired session, newest first.
    async fn list_sessions(&self) -> StoreResult<Vec<SessionRecord>>;
    /// Ends a session, with its audit entry in the same transaction when
    /// there is one (`apply::delete_session`).
    async fn delete_session(
        &self,
        token_hash: String,
        audit: Option<AuditEntry>,
    ) -> StoreResult<()>;
    /// The account's second factor (all empty when it has none).
    async fn second_factor(&self, user: UserId) -> StoreResult<SecondFactor>;
    /// Replaces the account's second factor (enrolment begun or confirmed, or reset).
    async fn set_second_factor(
        &self,
        user: UserId,
        factor: SecondFactor,
        audit: Option<AuditEntry>,
    ) -> StoreResult<()>;
    /// Accepts a proof once (see [`SecondFactor::accept`]), in one
    /// transaction; false when it is refused.
    async fn consume_second_factor(
        &self,
        user: UserId,
        proof: SecondFactorProof,
        audit: Option<AuditEntry>,
    ) -> StoreResult<bool>;
    async fn record_audit(&self, entry: AuditEntry) -> StoreResult<()>;
    async fn audit_log(&self, limit: u32) -> StoreResult<Vec<AuditEntry>>;
}

/// Dispute cases.
#[async_trait]
pub trait DisputeStore: Send + Sync + std::fmt::Debug + 'static {
    /// Opens a case (`apply::open_dispute`): version 1, its `registered`
    /// event written with it; repeats among the cases `opener` may see.
    async fn open_dispute(
        &self,
        new: NewDispute,
        from_incident: Option<IncidentId>,
        opener: User,
        actor: Actor,
    ) -> StoreResult<CaseView>;
    /// Applies one change to a case (`apply::change_dispute`) in one write
    /// transaction with its events, and returns it as `by` sees it (the read
    /// of its parties audited in that transaction); `expected` is the
    /// version the user saw (`Stale` if the case moved on meanwhile).
    async fn change_dispute(
        &self,
        id: DisputeId,
        expected: Option<i64>,
        op: DisputeOp,
        by: User,
        actor: Actor,
    ) -> StoreResult<CaseView>;
    /// The cases `which` names, newest first, read to `depth` from one
    /// snapshot (`disputes::load_to`, written once): what the reads below
    /// are made of.
    async fn read_disputes(
        &self,
        which: disputes::Which,
        depth: disputes::Depth,
    ) -> StoreResult<Vec<Dispute>>;
    /// `NotFound` if there is no such dispute.
    async fn get_dispute(&self, id: DisputeId) -> StoreResult<Dispute> {
        self.read_disputes(disputes::Which::One(id), disputes::Depth::Whole)
            .await?
            .pop()
            .ok_or_else(|| StoreError::not_found("dispute", id))
    }
    /// Every dispute, newest first.
    async fn list_disputes(&self) -> StoreResult<Vec<Dispute>> {
        self.read_disputes(disputes::Which::All, disputes::Depth::Whole)
            .await
    }
    /// A page of disputes, newest first, whole: those below `before` (from
    /// the newest when None) that `status` admits, at most `limit`.
    async fn dispute_page(
        &self,
        before: Option<DisputeId>,
        status: disputes::StatusFilter,
        limit: u32,
    ) -> StoreResult<Vec<Dispute>> {
        let which = disputes::Which::Page {
            before,
            status,
            limit,
        };
        self.read_disputes(which, disputes::Depth::Whole).await
    }
    /// The disputes still open, or opened at or after `since`, newest first
    /// (what a repeat or a recurrence is looked for among), read to
    /// `Depth::ForRepeats`: columns, parties and organisations only; their
    /// sessions, agreement, follow-ups and history are left empty.
    async fn recent_disputes(&self, since: Timestamp) -> StoreResult<Vec<Dispute>> {
        self.read_disputes(disputes::Which::Recent(since), disputes::Depth::ForRepeats)
            .await
    }
}

/// The station's figures, from the rollups.
#[async_trait]
pub trait FigureStore: Send + Sync + std::fmt::Debug + 'static {
    /// The figures' rollups summed over each query's period, exactly
    /// (see [`rollups`]), all from one snapshot.
    async fn figure_rollups(
        &self,
        queries: Vec<rollups::RollupQuery>,
    ) -> StoreResult<Vec<Vec<rollups::RollupRow>>>;
    /// The stored rollup table, zero rows left out (tests compare it with
    /// [`rollups::recompute`]).
    async fn stored_rollups(
        &self,
    ) -> StoreResult<std::collections::BTreeMap<rollups::RollupKey, rollups::Measures>>;
}

/// Copying a station's rows to another database (`migrate-data`).
#[async_trait]
pub trait TransferStore: Send + Sync + std::fmt::Debug + 'static {
    /// A page of a table's rows in copy order (for `migrate-data`).
    async fn export_rows(
        &self,
        table: transfer::Table,
        offset: u64,
        limit: u32,
    ) -> StoreResult<Vec<transfer::ExportRow>>;
    /// Inserts copied rows as they are, ids included, in one transaction.
    async fn import_rows(
        &self,
        table: transfer::Table,
        rows: Vec<transfer::ExportRow>,
    ) -> StoreResult<()>;
    /// After an import: moves id sequences past the copied ids and
    /// recomputes the figures' rollups from the copied incidents.
    async fn finish_import(&self) -> StoreResult<()>;
}

/// The store's traits, for callers: `use precinct_storage::prelude::*;`
/// brings every capability's methods into scope.
pub mod prelude {
    pub use crate::{
        AccountStore, DisputeStore, FigureStore, IncidentStore, StationStore, Store, TransferStore,
    };
}

/// Everything a backend stores, by capability.
#[async_trait]
pub trait Store:
    StationStore + IncidentStore + AccountStore + DisputeStore + FigureStore + TransferStore
{
    /// Whether the store takes writes now: a real (tiny) write through the
    /// writer, and the free space where its files live.
    async fn readiness(&self) -> StoreResult<Readiness>;
    /// Stops taking writes, finishes every write already queued, and
    /// returns when they are durable. Called at graceful shutdown.
    async fn shutdown(&self);
}

/// What [`Store::readiness`] found (the write itself succeeded).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Readiness {
    /// Bytes free on the disk holding the database, when this process can
    /// see it (SQLite); None for a database server's disk.
    pub free_bytes: Option<u64>,
}

/// A shared handle to whichever backend is in use.
pub type SharedStore = Arc<dyn Store>;
