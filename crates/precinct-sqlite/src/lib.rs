//! SQLite backend of Precinct's [`Store`]: the embedded default.
//!
//! Durability: WAL journal with `synchronous=FULL`, checked when the store
//! opens; a write is acknowledged only after its commit returned. Writes go
//! through one writer thread with group commit ([`writer`]); reads use a small
//! pool of read-only connections on blocking threads.

mod checkpoint;
mod ops;
mod rows;
mod schema;
mod writer;

use async_trait::async_trait;
use precinct_domain::dispute::{Dispute, DisputeOp, NewDispute};
use precinct_domain::event::{Actor, Event};
use precinct_domain::ground::Jurisdiction;
use precinct_domain::ids::{DisputeId, EventId, IncidentId, UnitId, UserId};
use precinct_domain::incident::{DispatchOrder, Disposition, Incident, Intake};
use precinct_domain::station::{LayerChanges, StationPackage, StationState};
use precinct_domain::unit::{NewUnit, Unit, UnitStatus};
use precinct_domain::user::{User, Username};
use precinct_domain::{Coordinates, Timestamp};
use precinct_geo::roads::{MapArea, PointAddress, RoadWay};
use precinct_storage::CaseView;
use precinct_storage::apply::{self, WriteTx};
use precinct_storage::disputes::{Depth, Which};
use precinct_storage::prelude::*;
use precinct_storage::reads;
use precinct_storage::rollups::{Measures, RollupKey, RollupQuery, RollupRow};
use precinct_storage::transfer::{ExportRow, ImportValue, Table, export_row, import_values};
use precinct_storage::{
    AuditEntry, Clock, Credentials, DispatchOutcome, IncidentFilter, InitialPasswords,
    IntakeOutcome, NewPhoto, NewUser, PhotoInfo, Readiness, RequestClaim, RoadClosure,
    SecondFactor, SecondFactorProof, Session, SessionRecord, Store, StoreError, StoreResult,
    TrackPoint, UnitMoved,
};
use rows::{ms, store_error};
use rusqlite::types::Value as SqlValue;
use rusqlite::{Connection, OpenFlags, params};
pub use schema::register_functions;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, mpsc};
use tokio::sync::{broadcast, oneshot};

/// How many committed events a live subscriber may fall behind before it
/// must catch up from the database.
const EVENT_BUFFER: usize = 8192;

/// Why a database could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("cannot open SQLite database {path}: {source}")]
    Open {
        path: PathBuf,
        source: rusqlite::Error,
    },
    #[error("SQLite database {path} is not durable: {detail}")]
    NotDurable { path: PathBuf, detail: String },
    #[error("cannot migrate SQLite database {path}: {source}")]
    Migrate {
        path: PathBuf,
        source: rusqlite::Error,
    },
    #[error("SQLite database {path} is in use: {detail}")]
    InUse { path: PathBuf, detail: String },
}

/// Marks the database at `path` as open for as long as the returned file
/// lives: a shared `flock` on the database file itself (SQLite's own locks
/// are POSIX record locks, which `flock` does not touch). Every store that
/// opens the file holds one; [`claim_for_restore`] needs it exclusive, so a
/// restore never replaces a database a server (or any command) has open,
/// and no store opens one a restore is replacing. The kernel drops it when
/// the process ends, however it ends.
fn hold_open_marker(path: &Path) -> Result<std::fs::File, OpenError> {
    let file = std::fs::File::open(path).map_err(|e| OpenError::InUse {
        path: path.to_owned(),
        detail: e.to_string(),
    })?;
    rustix::fs::flock(&file, rustix::fs::FlockOperation::NonBlockingLockShared).map_err(|e| {
        OpenError::InUse {
            path: path.to_owned(),
            detail: format!("a restore is putting another database in its place ({e})"),
        }
    })?;
    Ok(file)
}

/// The database at a path, claimed for a restore: no store has it open,
/// and none may open it while this lives.
#[derive(Debug)]
pub struct RestoreClaim {
    _marker: Option<std::fs::File>,
}

/// Claims the database at `path` for a restore that will replace it:
/// refused while any store holds it open (a running server, a command), or
/// while another program has it open (SQLite's own lock: its write-ahead log
/// is live). A database left by a crash is recovered by the probe. A path
/// with no database is claimed as it is.
pub fn claim_for_restore(path: &Path) -> Result<RestoreClaim, OpenError> {
    if !path.exists() {
        return Ok(RestoreClaim { _marker: None });
    }
    let in_use = |detail: String| OpenError::InUse {
        path: path.to_owned(),
        detail,
    };
    let marker = std::fs::File::open(path).map_err(|e| in_use(e.to_string()))?;
    rustix::fs::flock(&marker, rustix::fs::FlockOperation::NonBlockingLockExclusive).map_err(
        |_| {
            in_use(
                "a Precinct server or command has it open; stop it first (restoring under a running server would lose what it writes and corrupt the file)"
                    .into(),
            )
        },
    )?;
    // SQLite's own lock: an exclusive transaction in exclusive locking
    // mode is refused at once while any other connection has the database
    // open, whatever program holds it.
    let probe = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|e| in_use(e.to_string()))?;
    let busy = |e: rusqlite::Error| {
        in_use(format!(
            "another program has it open (its write-ahead log is live): {e}"
        ))
    };
    probe
        .busy_timeout(std::time::Duration::ZERO)
        .map_err(busy)?;
    probe
        .pragma_update(None, "locking_mode", "EXCLUSIVE")
        .map_err(busy)?;
    probe
        .execute_batch("BEGIN EXCLUSIVE; COMMIT;")
        .map_err(busy)?;
    probe.close().map_err(|(_, e)| busy(e))?;
    Ok(RestoreClaim {
        _marker: Some(marker),
    })
}

/// Copies the database at `source` into a new file `dest`, online: SQLite's
/// backup API copies every page in one step, inside one read transaction,
/// so the copy is one consistent moment even while a server writes (WAL
/// readers do not block the writer). The copy is synced before returning.
pub fn backup(source: &Path, dest: &Path) -> Result<(), OpenError> {
    let open_error = |path: &Path| {
        let path = path.to_owned();
        move |source| OpenError::Open { path, source }
    };
    if dest.exists() {
        return Err(OpenError::Open {
            path: dest.to_owned(),
            source: rusqlite::Error::InvalidPath(dest.to_owned()),
        });
    }
    let from = open_connection(source, true)?;
    {
        let mut to = Connection::open(dest).map_err(open_error(dest))?;
        let copy = rusqlite::backup::Backup::new(&from, &mut to).map_err(open_error(source))?;
        // Every page at once (-1): one read transaction, one moment.
        loop {
            match copy.step(-1).map_err(open_error(source))? {
                rusqlite::backup::StepResult::Done => break,
                _ => std::thread::sleep(std::time::Duration::from_millis(10)),
            }
        }
    }
    std::fs::File::open(dest)
        .and_then(|f| f.sync_all())
        .map_err(|e| OpenError::NotDurable {
            path: dest.to_owned(),
            detail: e.to_string(),
        })
}

/// The SQLite store. Cheap to share behind an `Arc`.
pub struct SqliteStore {
    path: PathBuf,
    /// Held while the store is open (see [`hold_open_marker`]).
    _open_marker: std::fs::File,
    jobs: Mutex<mpsc::Sender<writer::Job>>,
    readers: Arc<ReadPool>,
    events: broadcast::Sender<Event>,
    positions: broadcast::Sender<UnitMoved>,
    writer_thread: Mutex<Option<std::thread::JoinHandle<()>>>,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

fn open_connection(path: &Path, read_only: bool) -> Result<Connection, OpenError> {
    let flags = if read_only {
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX
    } else {
        OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX
    };
    let open_error = |source| OpenError::Open {
        path: path.to_owned(),
        source,
    };
    let conn = Connection::open_with_flags(path, flags).map_err(open_error)?;
    conn.busy_timeout(std::time::Duration::from_secs(10))
        .map_err(open_error)?;
    conn.pragma_update(None, "foreign_keys", "ON")
        .map_err(open_error)?;
    schema::register_functions(&conn).map_err(open_error)?;
    Ok(conn)
}

/// Turns on WAL and `synchronous=FULL`, then reads both back: a database that
/// does not confirm them is refused, because acknowledged writes could be lost.
fn ensure_durable(conn: &Connection, path: &Path) -> Result<(), OpenError> {
    let not_durable = |detail: String| OpenError::NotDurable {
        path: path.to_owned(),
        detail,
    };
    let mode: String = conn
        .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
        .map_err(|e| not_durable(e.to_string()))?;
    conn.pragma_update(None, "synchronous", "FULL")
        .map_err(|e| not_durable(e.to_string()))?;
    let synchronous: i64 = conn
        .query_row("PRAGMA synchronous", [], |r| r.get(0))
        .map_err(|e| not_durable(e.to_string()))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(not_durable(format!("journal_mode is {mode}, expected wal")));
    }
    if synchronous != 2 {
        return Err(not_durable(format!(
            "synchronous is {synchronous}, expected 2 (FULL)"
        )));
    }
    Ok(())
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `path`, migrates it and
    /// starts the writer thread.
    pub fn open(path: impl AsRef<Path>, clock: Arc<dyn Clock>) -> Result<SqliteStore, OpenError> {
        let path = path.as_ref().to_owned();
        let mut conn = open_connection(&path, false)?;
        ensure_durable(&conn, &path)?;
        // Before anything is written: a restore may be replacing the file.
        let open_marker = hold_open_marker(&path)?;
        // The writer's page cache: 64 MiB (SQLite's default is 2 MiB), so a
        // bulk write's index updates stay in memory until commit; and the
        // savepoint journal each job runs under in memory, not a temporary
        // file (the WAL holds what must survive).
        for (pragma, value) in [("cache_size", "-65536"), ("temp_store", "MEMORY")] {
            conn.pragma_update(None, pragma, value)
                .map_err(|source| OpenError::Open {
                    path: path.clone(),
                    source,
                })?;
        }
        schema::migrate(&mut conn).map_err(|source| OpenError::Migrate {
            path: path.clone(),
            source,
        })?;
        let converted = writer::run_alone(&conn, clock.now(), |ctx| {
            apply::run_ready(apply::convert_legacy_disputes(ctx))
        })
        .map_err(|e| OpenError::NotDurable {
            path: path.clone(),
            detail: format!("converting stored disputes: {e}"),
        })?;
        if converted > 0 {
            tracing::info!(converted, "disputes converted from JSON bodies to columns");
        }

        // Checkpoints run beside the writer, not on its commits (see `checkpoint`).
        let checkpointer = checkpoint::Checkpointer::start(open_connection(&path, false)?)
            .map_err(|e| OpenError::NotDurable {
                path: path.clone(),
                detail: format!("checkpointer thread: {e}"),
            })?;
        let (jobs_tx, jobs_rx) = mpsc::channel();
        let (events, _) = broadcast::channel(EVENT_BUFFER);
        let (positions, _) = broadcast::channel(EVENT_BUFFER);
        let live = writer::Live {
            events: events.clone(),
            positions: positions.clone(),
        };
        let writer_thread = std::thread::Builder::new()
            .name("precinct-sqlite-writer".into())
            .spawn(move || writer::run(conn, jobs_rx, live, clock, checkpointer))
            .map_err(|e| OpenError::NotDurable {
                path: path.clone(),
                detail: format!("writer thread: {e}"),
            })?;
        Ok(SqliteStore {
            readers: Arc::new(ReadPool {
                path: path.clone(),
                idle: Mutex::new(Vec::new()),
            }),
            path,
            _open_marker: open_marker,
            jobs: Mutex::new(jobs_tx),
            events,
            positions,
            writer_thread: Mutex::new(Some(writer_thread)),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Stops accepting writes, lets the writer finish every queued write, and
    /// waits for it. Called at graceful shutdown.
    pub fn close(&self) {
        let (dead, _) = mpsc::channel();
        drop(std::mem::replace(
            &mut *self.jobs.lock().expect("jobs lock"),
            dead,
        ));
        if let Some(handle) = self.writer_thread.lock().expect("writer lock").take() {
            let _ = handle.join();
        }
    }

    async fn write<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut writer::WriteCtx<'_>) -> StoreResult<T> + Send + 'static,
    ) -> StoreResult<T> {
        let (reply, answer) = oneshot::channel();
        self.jobs
            .lock()
            .expect("jobs lock")
            .send(writer::job(work, reply))
            .map_err(|_| StoreError::Other("the store is shut down".into()))?;
        answer
            .await
            .map_err(|_| StoreError::Other("the write was abandoned".into()))?
    }

    async fn read<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Connection) -> StoreResult<T> + Send + 'static,
    ) -> StoreResult<T> {
        let pool = self.readers.clone();
        tokio::task::spawn_blocking(move || {
            let conn = pool.take()?;
            let result = work(&conn);
            pool.give(conn);
            result
        })
        .await
        .map_err(|e| StoreError::Other(format!("read task failed: {e}")))?
    }
}

impl Drop for SqliteStore {
    fn drop(&mut self) {
        self.close();
    }
}

/// Idle read-only connections, opened on demand.
struct ReadPool {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
}

impl ReadPool {
    fn take(&self) -> StoreResult<Connection> {
        if let Some(conn) = self.idle.lock().expect("pool lock").pop() {
            return Ok(conn);
        }
        open_connection(&self.path, true).map_err(|e| StoreError::Other(e.to_string()))
    }

    fn give(&self, conn: Connection) {
        let mut idle = self.idle.lock().expect("pool lock");
        if idle.len() < 8 {
            idle.push(conn);
        }
    }
}

#[async_trait]
impl StationStore for SqliteStore {
    async fn replace_jurisdiction(&self, ground: Jurisdiction) -> StoreResult<()> {
        self.write(move |ctx| apply::run_ready(ctx.save_ground(&ground)))
            .await
    }

    async fn jurisdiction(&self) -> StoreResult<Jurisdiction> {
        self.read(move |conn| apply::run_ready(reads::jurisdiction(&mut rows::Reader(conn))))
            .await
    }

    async fn replace_roads(
        &self,
        ways: Vec<RoadWay>,
        addresses: Vec<PointAddress>,
        areas: Vec<MapArea>,
        actor: Actor,
    ) -> StoreResult<()> {
        self.write(move |ctx| {
            apply::run_ready(apply::replace_roads(ctx, &ways, &addresses, &areas, &actor))
        })
        .await
    }

    async fn roads(&self) -> StoreResult<Vec<RoadWay>> {
        self.read(move |conn| apply::run_ready(reads::roads(&mut rows::Reader(conn))))
            .await
    }

    async fn road_addresses(&self) -> StoreResult<Vec<PointAddress>> {
        self.read(move |conn| apply::run_ready(reads::road_addresses(&mut rows::Reader(conn))))
            .await
    }

    async fn road_areas(&self) -> StoreResult<Vec<MapArea>> {
        self.read(move |conn| apply::run_ready(reads::road_areas(&mut rows::Reader(conn))))
            .await
    }

    async fn close_roads(
        &self,
        segments: Vec<u32>,
        reason: Option<String>,
        actor: Actor,
    ) -> StoreResult<()> {
        self.write(move |ctx| apply::run_ready(apply::close_roads(ctx, segments, reason, &actor)))
            .await
    }

    async fn reopen_roads(&self, segments: Vec<u32>, actor: Actor) -> StoreResult<()> {
        self.write(move |ctx| apply::run_ready(apply::reopen_roads(ctx, segments, &actor)))
            .await
    }

    async fn road_closures(&self) -> StoreResult<Vec<RoadClosure>> {
        self.read(move |conn| apply::run_ready(reads::road_closures(&mut rows::Reader(conn))))
            .await
    }

    async fn create_units(&self, units: Vec<NewUnit>) -> StoreResult<Vec<Unit>> {
        self.write(move |ctx| apply::run_ready(apply::create_units(ctx, units)))
            .await
    }

    async fn station_state(&self) -> StoreResult<StationState> {
        self.read(move |conn| apply::run_ready(reads::station(&mut rows::Reader(conn))))
            .await
    }

    async fn import_station(
        &self,
        package: StationPackage,
        passwords: InitialPasswords,
        actor: Actor,
        audit: AuditEntry,
    ) -> StoreResult<Vec<LayerChanges>> {
        self.write(move |ctx| {
            apply::run_ready(apply::import_station(
                ctx, &package, &passwords, &actor, &audit,
            ))
        })
        .await
    }

    async fn edit_station(
        &self,
        edit: precinct_domain::station::StationEdit,
        editor: User,
        actor: Actor,
        audit: AuditEntry,
    ) -> StoreResult<Vec<LayerChanges>> {
        self.write(move |ctx| {
            apply::run_ready(apply::edit_station(ctx, &edit, &editor, &actor, &audit))
        })
        .await
    }

    async fn import_history(
        &self,
        file: String,
        records: Vec<precinct_domain::history::HistoryRecord>,
        actor: Actor,
        audit: AuditEntry,
    ) -> StoreResult<apply::HistoryImported> {
        self.write(move |ctx| {
            apply::run_ready(apply::import_history(ctx, &file, &records, &actor, &audit))
        })
        .await
    }
}

#[async_trait]
impl IncidentStore for SqliteStore {
    async fn list_units(&self) -> StoreResult<Vec<Unit>> {
        self.read(move |conn| apply::run_ready(reads::units(&mut rows::Reader(conn))))
            .await
    }

    async fn get_unit(&self, id: UnitId) -> StoreResult<Unit> {
        self.read(move |conn| apply::run_ready(reads::unit(&mut rows::Reader(conn), id)))
            .await
    }

    async fn update_unit_status(
        &self,
        id: UnitId,
        to: UnitStatus,
        actor: Actor,
    ) -> StoreResult<Unit> {
        self.write(move |ctx| apply::run_ready(apply::update_unit_status(ctx, id, to, &actor)))
            .await
    }

    async fn report_unit_position(
        &self,
        id: UnitId,
        position: Coordinates,
        actor: Actor,
    ) -> StoreResult<Unit> {
        self.write(move |ctx| {
            apply::run_ready(apply::report_unit_position(ctx, id, position, &actor))
        })
        .await
    }

    async fn accept_task(&self, id: UnitId, actor: Actor) -> StoreResult<Unit> {
        self.write(move |ctx| apply::run_ready(apply::accept_task(ctx, id, &actor)))
            .await
    }

    async fn decline_task(
        &self,
        id: UnitId,
        reason: Option<String>,
        actor: Actor,
    ) -> StoreResult<Unit> {
        self.write(move |ctx| apply::run_ready(apply::decline_task(ctx, id, reason, &actor)))
            .await
    }

    async fn hand_over(&self, id: UnitId, actor: Actor) -> StoreResult<Unit> {
        self.write(move |ctx| apply::run_ready(apply::hand_over(ctx, id, &actor)))
            .await
    }

    async fn intake(&self, intake: Intake, actor: Actor) -> StoreResult<IntakeOutcome> {
        self.write(move |ctx| ops::intake(ctx, intake, &actor))
            .await
    }

    async fn get_incident(&self, id: IncidentId) -> StoreResult<Incident> {
        self.read(move |conn| apply::run_ready(reads::incident(&mut rows::Reader(conn), id)))
            .await
    }

    async fn list_incidents(&self, filter: IncidentFilter) -> StoreResult<Vec<Incident>> {
        self.read(move |conn| apply::run_ready(reads::incidents(&mut rows::Reader(conn), &filter)))
            .await
    }

    async fn dispatch_order(
        &self,
        id: IncidentId,
        order: DispatchOrder,
        actor: Actor,
    ) -> StoreResult<DispatchOutcome> {
        self.write(move |ctx| apply::run_ready(apply::dispatch_order(ctx, id, order, &actor)))
            .await
    }

    async fn add_note(&self, id: IncidentId, text: String, actor: Actor) -> StoreResult<Event> {
        self.write(move |ctx| apply::run_ready(apply::add_note(ctx, id, text, &actor)))
            .await
    }

    async fn attach_photo(
        &self,
        id: IncidentId,
        photo: NewPhoto,
        actor: Actor,
    ) -> StoreResult<PhotoInfo> {
        self.write(move |ctx| apply::run_ready(apply::attach_photo(ctx, id, photo, &actor)))
            .await
    }

    async fn photos(&self, id: IncidentId) -> StoreResult<Vec<PhotoInfo>> {
        self.read(move |conn| apply::run_ready(reads::photos(&mut rows::Reader(conn), id)))
            .await
    }

    async fn photo(&self, id: i64) -> StoreResult<(PhotoInfo, Vec<u8>)> {
        self.read(move |conn| apply::run_ready(reads::photo(&mut rows::Reader(conn), id)))
            .await
    }

    async fn flag_recurrence(
        &self,
        id: IncidentId,
        dispute_ids: Vec<DisputeId>,
        actor: Actor,
    ) -> StoreResult<Event> {
        self.write(move |ctx| {
            apply::run_ready(apply::flag_recurrence(ctx, id, dispute_ids, &actor))
        })
        .await
    }

    async fn close_incident(
        &self,
        id: IncidentId,
        disposition: Disposition,
        remark: Option<String>,
        actor: Actor,
    ) -> StoreResult<Incident> {
        self.write(move |ctx| {
            apply::run_ready(apply::close_incident(ctx, id, disposition, remark, &actor))
        })
        .await
    }

    async fn merge_incidents(
        &self,
        duplicate: IncidentId,
        into: IncidentId,
        actor: Actor,
    ) -> StoreResult<Incident> {
        self.write(move |ctx| {
            apply::run_ready(apply::merge_incidents(ctx, duplicate, into, &actor))
        })
        .await
    }

    async fn timeline(&self, id: IncidentId) -> StoreResult<Vec<Event>> {
        self.read(move |conn| apply::run_ready(reads::timeline(&mut rows::Reader(conn), id)))
            .await
    }

    async fn events_after(&self, after: EventId, limit: u32) -> StoreResult<Vec<Event>> {
        self.read(move |conn| {
            apply::run_ready(reads::events_after(&mut rows::Reader(conn), after, limit))
        })
        .await
    }

    async fn unit_track(
        &self,
        unit: UnitId,
        from: Timestamp,
        until: Timestamp,
        limit: u32,
    ) -> StoreResult<Vec<TrackPoint>> {
        self.read(move |conn| {
            apply::run_ready(reads::unit_track(
                &mut rows::Reader(conn),
                unit,
                from,
                until,
                limit,
            ))
        })
        .await
    }

    fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.events.subscribe()
    }

    fn subscribe_positions(&self) -> broadcast::Receiver<UnitMoved> {
        self.positions.subscribe()
    }
}

#[async_trait]
impl AccountStore for SqliteStore {
    async fn claim_request(
        &self,
        user: UserId,
        key: String,
        fingerprint: String,
    ) -> StoreResult<RequestClaim> {
        let now = chrono::Utc::now();
        self.write(move |ctx| {
            apply::run_ready(apply::claim_request(ctx, user, &key, &fingerprint, now))
        })
        .await
    }

    async fn finish_request(
        &self,
        user: UserId,
        key: String,
        status: u16,
        body: String,
    ) -> StoreResult<()> {
        self.write(move |ctx| {
            apply::run_ready(apply::finish_request(ctx, user, &key, status, &body))
        })
        .await
    }

    async fn release_request(&self, user: UserId, key: String) -> StoreResult<()> {
        self.write(move |ctx| apply::run_ready(apply::release_request(ctx, user, &key)))
            .await
    }

    async fn set_password(
        &self,
        id: UserId,
        password_hash: String,
        must_change: bool,
        audit: Option<AuditEntry>,
    ) -> StoreResult<()> {
        self.write(move |ctx| {
            apply::run_ready(apply::set_password(
                ctx,
                id,
                &password_hash,
                must_change,
                audit.as_ref(),
            ))
        })
        .await
    }

    async fn create_user(&self, user: NewUser, actor: Actor) -> StoreResult<User> {
        self.write(move |ctx| apply::run_ready(apply::create_user(ctx, user, &actor)))
            .await
    }

    async fn credentials(&self, username: &Username) -> StoreResult<Option<Credentials>> {
        let username = username.clone();
        self.read(move |conn| {
            apply::run_ready(reads::credentials(&mut rows::Reader(conn), &username))
        })
        .await
    }

    async fn count_users(&self) -> StoreResult<u64> {
        self.read(move |conn| apply::run_ready(reads::count_users(&mut rows::Reader(conn))))
            .await
    }

    async fn create_session(
        &self,
        token_hash: String,
        user_id: UserId,
        expires_at: Timestamp,
        address: Option<String>,
    ) -> StoreResult<()> {
        let now = chrono::Utc::now();
        self.write(move |ctx| {
            apply::run_ready(apply::create_session(
                ctx,
                &token_hash,
                user_id,
                now,
                expires_at,
                address.as_deref(),
            ))
        })
        .await
    }

    async fn session_user(&self, token_hash: String) -> StoreResult<Option<Session>> {
        let now = chrono::Utc::now();
        self.read(move |conn| {
            apply::run_ready(reads::session_user(
                &mut rows::Reader(conn),
                &token_hash,
                now,
            ))
        })
        .await
    }

    async fn touch_session(&self, token_hash: String, at: Timestamp) -> StoreResult<()> {
        self.write(move |ctx| apply::run_ready(apply::touch_session(ctx, &token_hash, at)))
            .await
    }

    async fn list_sessions(&self) -> StoreResult<Vec<SessionRecord>> {
        let now = chrono::Utc::now();
        self.read(move |conn| apply::run_ready(reads::sessions(&mut rows::Reader(conn), now)))
            .await
    }

    async fn delete_session(
        &self,
        token_hash: String,
        audit: Option<AuditEntry>,
    ) -> StoreResult<()> {
        self.write(move |ctx| {
            apply::run_ready(apply::delete_session(ctx, &token_hash, audit.as_ref()))
        })
        .await
    }

    async fn second_factor(&self, user: UserId) -> StoreResult<SecondFactor> {
        self.read(move |conn| apply::run_ready(reads::second_factor(&mut rows::Reader(conn), user)))
            .await
    }

    async fn set_second_factor(
        &self,
        user: UserId,
        factor: SecondFactor,
        audit: Option<AuditEntry>,
    ) -> StoreResult<()> {
        self.write(move |ctx| {
            apply::run_ready(apply::set_second_factor(ctx, user, &factor, audit.as_ref()))
        })
        .await
    }

    async fn consume_second_factor(
        &self,
        user: UserId,
        proof: SecondFactorProof,
        audit: Option<AuditEntry>,
    ) -> StoreResult<bool> {
        self.write(move |ctx| {
            apply::run_ready(apply::consume_second_factor(
                ctx,
                user,
                &proof,
                audit.as_ref(),
            ))
        })
        .await
    }

    async fn record_audit(&self, entry: AuditEntry) -> StoreResult<()> {
        self.write(move |ctx| apply::run_ready(apply::audit(ctx, &entry)))
            .await
    }

    async fn audit_log(&self, limit: u32) -> StoreResult<Vec<AuditEntry>> {
        self.read(move |conn| apply::run_ready(reads::audit_log(&mut rows::Reader(conn), limit)))
            .await
    }
}

#[async_trait]
impl DisputeStore for SqliteStore {
    async fn open_dispute(
        &self,
        new: NewDispute,
        from_incident: Option<IncidentId>,
        opener: User,
        actor: Actor,
    ) -> StoreResult<CaseView> {
        self.write(move |ctx| {
            apply::run_ready(apply::open_dispute(
                ctx,
                new,
                from_incident,
                &opener,
                &actor,
            ))
        })
        .await
    }

    async fn change_dispute(
        &self,
        id: DisputeId,
        expected: Option<i64>,
        op: DisputeOp,
        by: User,
        actor: Actor,
    ) -> StoreResult<CaseView> {
        self.write(move |ctx| {
            apply::run_ready(apply::change_dispute(ctx, id, expected, op, &by, &actor))
        })
        .await
    }

    /// Cases read whole from one snapshot (a read transaction).
    async fn read_disputes(&self, which: Which, depth: Depth) -> StoreResult<Vec<Dispute>> {
        self.read(move |conn| {
            conn.execute_batch("BEGIN").map_err(rows::store_error)?;
            let result = apply::run_ready(precinct_storage::disputes::load_to(
                &mut rows::Reader(conn),
                which,
                depth,
            ));
            conn.execute_batch("COMMIT").map_err(rows::store_error)?;
            result
        })
        .await
    }
}

#[async_trait]
impl FigureStore for SqliteStore {
    async fn figure_rollups(&self, queries: Vec<RollupQuery>) -> StoreResult<Vec<Vec<RollupRow>>> {
        self.read(move |conn| {
            conn.execute_batch("BEGIN").map_err(rows::store_error)?;
            let result = apply::run_ready(precinct_storage::rollups::read(
                &mut rows::Reader(conn),
                &queries,
            ));
            conn.execute_batch("COMMIT").map_err(rows::store_error)?;
            result
        })
        .await
    }

    async fn stored_rollups(&self) -> StoreResult<BTreeMap<RollupKey, Measures>> {
        self.read(move |conn| {
            apply::run_ready(precinct_storage::rollups::stored(&mut rows::Reader(conn)))
        })
        .await
    }
}

#[async_trait]
impl TransferStore for SqliteStore {
    async fn export_rows(
        &self,
        table: Table,
        offset: u64,
        limit: u32,
    ) -> StoreResult<Vec<ExportRow>> {
        self.read(move |conn| {
            let sql = format!("{} LIMIT ?1 OFFSET ?2", table.select_sql());
            rows::query_all(conn, &sql, params![limit, offset as i64], |row| {
                export_row(row, table)
            })
        })
        .await
    }

    async fn import_rows(&self, table: Table, copied: Vec<ExportRow>) -> StoreResult<()> {
        self.write(move |ctx| {
            let names: Vec<&str> = table.columns().iter().map(|(name, _)| *name).collect();
            let slots: Vec<String> = (1..=names.len()).map(|i| format!("?{i}")).collect();
            let sql = format!(
                "INSERT INTO {} ({}) VALUES ({})",
                table.name(),
                names.join(", "),
                slots.join(", ")
            );
            let mut statement = ctx.conn.prepare_cached(&sql).map_err(store_error)?;
            for row in &copied {
                let values = import_values(table, row)?
                    .into_iter()
                    .map(|value| match value {
                        ImportValue::Int(v) => v.map_or(SqlValue::Null, SqlValue::Integer),
                        ImportValue::Real(v) => v.map_or(SqlValue::Null, SqlValue::Real),
                        ImportValue::Text(v) => v.map_or(SqlValue::Null, SqlValue::Text),
                        ImportValue::Bool(v) => SqlValue::Integer(i64::from(v)),
                        ImportValue::Bytes(v) => v.map_or(SqlValue::Null, SqlValue::Blob),
                    });
                statement
                    .execute(rusqlite::params_from_iter(values))
                    .map_err(store_error)?;
            }
            Ok(())
        })
        .await
    }

    /// SQLite gives the next rowid past the largest: nothing to move.
    /// The copied incidents' rollups, recomputed.
    async fn finish_import(&self) -> StoreResult<()> {
        self.write(|ctx| apply::run_ready(precinct_storage::rollups::rebuild(ctx)))
            .await
    }
}

#[async_trait]
impl Store for SqliteStore {
    async fn readiness(&self) -> StoreResult<Readiness> {
        self.write(|ctx| {
            ctx.run(
                "INSERT INTO readiness (id, checked_at) VALUES (1, ?1) \
                 ON CONFLICT (id) DO UPDATE SET checked_at = excluded.checked_at",
                [ms(ctx.now)],
            )
        })
        .await?;
        let dir = match self.path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir.to_owned(),
            _ => PathBuf::from("."),
        };
        let free_bytes = rustix::fs::statvfs(&dir)
            .ok()
            .map(|s| s.f_bavail.saturating_mul(s.f_frsize));
        Ok(Readiness { free_bytes })
    }

    async fn shutdown(&self) {
        self.close();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use precinct_storage::{SharedStore, SystemClock};

    /// Each test gets its own file in a fresh temporary directory, kept alive
    /// by leaking the guard for the test's (short) life.
    async fn fresh_store() -> Option<SharedStore> {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("precinct.db");
        std::mem::forget(dir);
        Some(Arc::new(
            SqliteStore::open(path, Arc::new(SystemClock)).expect("open"),
        ))
    }

    precinct_storage::store_suite!(fresh_store);

    /// A write that panics fails alone: its batch-mates and later writes go
    /// on, and nothing it wrote stays.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_panicking_write_fails_alone() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path().join("p.db"), Arc::new(SystemClock)).unwrap();
        let panicking = || {
            store.write(|ctx| -> StoreResult<()> {
                ctx.run("INSERT INTO audit_log (at, username, action, subject) VALUES (0, 'x', 'x', 'x')", [])?;
                panic!("a bug in a write job")
            })
        };
        let fine = || {
            store.write(|ctx| {
                ctx.run("INSERT INTO audit_log (at, username, action, subject) VALUES (0, 'ok', 'x', 'x')", [])
            })
        };
        // Alone in its batch, then beside others in one batch.
        assert!(panicking().await.is_err());
        let (a, b, c) = tokio::join!(fine(), panicking(), fine());
        assert!(a.is_ok() && b.is_err() && c.is_ok(), "{a:?} {b:?} {c:?}");
        fine().await.expect("the writer still writes");
        let rows: Vec<String> = store
            .read(|conn| {
                let mut statement = conn.prepare("SELECT username FROM audit_log").unwrap();
                let rows = statement.query_map([], |r| r.get(0)).unwrap();
                Ok(rows.map(Result::unwrap).collect())
            })
            .await
            .unwrap();
        assert_eq!(rows, ["ok", "ok", "ok"]);
    }

    /// Checkpoints run beside the writer (see `checkpoint`): under steady
    /// writes the database file takes the data while the store is open, and
    /// the WAL starts over instead of growing with every commit.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_wal_is_checkpointed_and_starts_over_under_steady_writes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.db");
        let store = Arc::new(SqliteStore::open(&path, Arc::new(SystemClock)).unwrap());
        // 3,200 rows of 8 KB: about 26 MB of data in all.
        let writers: Vec<_> = (0..16)
            .map(|_| {
                let store = store.clone();
                tokio::spawn(async move {
                    for _ in 0..200 {
                        store
                            .write(|ctx| {
                                ctx.run(
                                    "INSERT INTO audit_log (at, username, action, subject) VALUES (0, 'w', 'x', ?1)",
                                    ["x".repeat(8000)],
                                )
                            })
                            .await
                            .unwrap();
                    }
                })
            })
            .collect();
        for writer in writers {
            writer.await.unwrap();
        }
        let size = |suffix: &str| {
            let mut file = path.clone().into_os_string();
            file.push(suffix);
            std::fs::metadata(file).map_or(0, |m| m.len())
        };
        let (database, wal) = (size(""), size("-wal"));
        assert!(
            database > 8 << 20,
            "the database file holds {database} bytes: checkpoints did not copy the data"
        );
        assert!(
            wal < 16 << 20,
            "the WAL holds {wal} bytes: it was not started over"
        );
        store.close();
    }

    #[test]
    fn a_fresh_file_opens_in_wal_mode() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.db");
        let store = SqliteStore::open(&path, Arc::new(SystemClock)).unwrap();
        let conn = Connection::open(&path).unwrap();
        let mode: String = conn
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
        drop(store);
    }

    #[test]
    fn a_restore_claim_waits_for_every_holder_to_let_go() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.db");
        assert!(claim_for_restore(&path).is_ok(), "no database yet");
        let store = SqliteStore::open(&path, Arc::new(SystemClock)).unwrap();
        let refused = claim_for_restore(&path).unwrap_err();
        assert!(refused.to_string().contains("has it open"), "{refused}");
        store.close();
        drop(store);
        // Another program (no marker of ours) reading it: SQLite's own lock.
        let other = Connection::open(&path).unwrap();
        other
            .execute_batch("BEGIN; SELECT count(*) FROM users;")
            .unwrap();
        let refused = claim_for_restore(&path).unwrap_err();
        assert!(refused.to_string().contains("another program"), "{refused}");
        other.execute_batch("COMMIT;").unwrap();
        drop(other);
        let claim = claim_for_restore(&path).unwrap();
        // While claimed, no store opens it.
        let blocked = SqliteStore::open(&path, Arc::new(SystemClock)).unwrap_err();
        assert!(blocked.to_string().contains("restore"), "{blocked}");
        drop(claim);
        assert!(SqliteStore::open(&path, Arc::new(SystemClock)).is_ok());
    }

    #[test]
    fn a_database_that_cannot_be_durable_is_refused() {
        // An in-memory database cannot use a write-ahead log on disk.
        let error = SqliteStore::open(":memory:", Arc::new(SystemClock)).unwrap_err();
        assert!(matches!(error, OpenError::NotDurable { .. }), "{error}");
        assert!(
            error
                .to_string()
                .contains("journal_mode is memory, expected wal"),
            "{error}"
        );
    }

    #[tokio::test]
    async fn acknowledged_writes_survive_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.db");
        {
            let store = SqliteStore::open(&path, Arc::new(SystemClock)).unwrap();
            store
                .replace_jurisdiction(precinct_storage::suite::fixture_ground())
                .await
                .unwrap();
            store.close();
        }
        let reopened = SqliteStore::open(&path, Arc::new(SystemClock)).unwrap();
        assert_eq!(
            reopened.jurisdiction().await.unwrap(),
            precinct_storage::suite::fixture_ground()
        );
    }
}

#[cfg(test)]
mod legacy_tests {
    use super::*;
    use precinct_storage::SystemClock;

    /// A database of the release that stored disputes as JSON bodies, with
    /// cases in every state, migrates on opening and reads back the same cases.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn json_stored_disputes_migrate_and_read_back_identical() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.db");
        {
            let mut conn = open_connection(&path, false).unwrap();
            schema::migrate_until(&mut conn, schema::json_disputes_version()).unwrap();
            for (id, status, version, opened_at, body) in
                precinct_storage::legacy::fixture_rows().unwrap()
            {
                conn.execute(
                    "INSERT INTO disputes (id, status, version, opened_at, body) VALUES (?1, ?2, ?3, ?4, ?5)",
                    rusqlite::params![id, status, version, opened_at, body],
                )
                .unwrap();
            }
        }
        let store = SqliteStore::open(&path, Arc::new(SystemClock)).unwrap();
        precinct_storage::legacy::assert_fixture_converted(&store).await;
        // The history is events, sealed in the chain like every other.
        let reports = precinct_storage::chain::verify(&store).await.unwrap();
        assert!(reports.iter().all(|r| r.broken.is_none()), "{reports:?}");
        store.close();
        // Opening again converts nothing twice.
        let store = SqliteStore::open(&path, Arc::new(SystemClock)).unwrap();
        precinct_storage::legacy::assert_fixture_converted(&store).await;
    }

    /// Assignments made before they had an explicit id keep the order they
    /// were made in (their rowid) once migrated.
    #[tokio::test]
    async fn assignments_keep_their_order_through_the_id_migration() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.db");
        {
            let mut conn = open_connection(&path, false).unwrap();
            schema::migrate_until(&mut conn, schema::assignment_ids_version() - 1).unwrap();
            for id in 1..=3 {
                conn.execute(
                    "INSERT INTO units (id, call_sign, name, kind, capabilities, status, member_count) \
                     VALUES (?1, ?2, ?2, 'patrol_car', '', 'dispatched', 2)",
                    rusqlite::params![id, format!("U{id}")],
                )
                .unwrap();
            }
            conn.execute(
                "INSERT INTO incidents (id, source, category, family, priority, status, lat, lon, cell, \
                 address, summary, reported_at, received_at) \
                 VALUES (1, 'phone', 'fight', 'public_order', 1, 'dispatched', 31.2, 121.6, 0, 'x', 'y', 0, 0)",
                [],
            )
            .unwrap();
            // Made in the order 3, 1, 2: not the units' order.
            for unit in [3, 1, 2] {
                conn.execute(
                    "INSERT INTO assignments (incident_id, unit_id, police, assigned_at) VALUES (1, ?1, 1, 0)",
                    [unit],
                )
                .unwrap();
            }
        }
        let store = SqliteStore::open(&path, Arc::new(SystemClock)).unwrap();
        let incident = store.get_incident(IncidentId(1)).await.unwrap();
        let order: Vec<i64> = incident.assignments.iter().map(|a| a.unit_id.0).collect();
        assert_eq!(order, [3, 1, 2]);
        store.close();
    }
}
