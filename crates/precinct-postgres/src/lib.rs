//! PostgreSQL backend of Precinct's [`Store`]: how one deployment grows past
//! one machine. Several Precinct instances share one database and behave as
//! one system.
//!
//! - Writes: one writer task per instance with group commit; all instances'
//!   writers serialize on one advisory lock, so decisions are atomic across
//!   instances and event ids follow commit order ([`writer`]).
//! - Live events: each commit NOTIFYs the newest event id; every instance's
//!   listener re-reads and publishes in order, and catches up after a lost
//!   connection ([`publisher`]).
//! - Durability: `fsync`, `synchronous_commit` and `full_page_writes` must be
//!   on; the store refuses to open otherwise.

mod intake;
mod keys;
mod ops;
mod positions;
mod publisher;
mod rows;
mod schema;
#[cfg(any(test, feature = "testing"))]
pub mod testing;
mod tx;
mod writer;

use async_trait::async_trait;
use deadpool_postgres::{Manager, ManagerConfig, Object, Pool, RecyclingMethod};
use precinct_domain::Coordinates;
use precinct_domain::Timestamp;
use precinct_domain::dispute::{Dispute, DisputeOp, NewDispute};
use precinct_domain::event::{Actor, Event};
use precinct_domain::ground::Jurisdiction;
use precinct_domain::ids::{DisputeId, EventId, IncidentId, UnitId, UserId};
use precinct_domain::incident::{DispatchOrder, Disposition, Incident, Intake};
use precinct_domain::station::{LayerChanges, StationPackage, StationState};
use precinct_domain::unit::{NewUnit, Unit, UnitStatus};
use precinct_domain::user::{User, Username};
use precinct_geo::roads::{MapArea, PointAddress, RoadWay};
use precinct_storage::CaseView;
use precinct_storage::apply::{self, WriteTx};
use precinct_storage::disputes::{Depth, Which};
use precinct_storage::prelude::*;
use precinct_storage::reads;
use precinct_storage::rollups::{Measures, RollupKey, RollupQuery, RollupRow};
use precinct_storage::rows::ms;
use precinct_storage::transfer::{ExportRow, ImportValue, Table, export_row, import_values};
use precinct_storage::{
    AuditEntry, Clock, Credentials, DispatchOutcome, IncidentFilter, InitialPasswords,
    IntakeOutcome, NewPhoto, NewUser, PhotoInfo, Readiness, RequestClaim, RoadClosure,
    SecondFactor, SecondFactorProof, Session, SessionRecord, Store, StoreError, StoreResult,
    TrackPoint,
};
use rows::{PgRow, store_error};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use tokio::sync::{broadcast, mpsc, oneshot};
use tokio_postgres::NoTls;
use tokio_postgres::types::ToSql;
use tx::Reader;

const EVENT_BUFFER: usize = 8192;
const POOL_SIZE: usize = 16;

/// Why a database could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("invalid PostgreSQL URL: {0}")]
    Url(String),
    #[error("cannot connect to PostgreSQL: {0}")]
    Connect(String),
    #[error("PostgreSQL is not durable: {0}")]
    NotDurable(String),
    #[error("cannot migrate the PostgreSQL schema: {0}")]
    Migrate(String),
}

/// The PostgreSQL store of one Precinct instance.
pub struct PgStore {
    pool: Pool,
    jobs: Mutex<Option<mpsc::UnboundedSender<writer::Job>>>,
    events: broadcast::Sender<Event>,
    positions: broadcast::Sender<precinct_storage::UnitMoved>,
    writer_task: tokio::sync::Mutex<Option<tokio::task::JoinHandle<()>>>,
    listener_task: tokio::task::JoinHandle<()>,
}

impl std::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgStore").finish_non_exhaustive()
    }
}

/// Reads the durability settings back and refuses any that is off: with
/// them off, PostgreSQL may lose or corrupt acknowledged writes.
async fn ensure_durable(client: &tokio_postgres::Client) -> Result<(), OpenError> {
    for setting in ["fsync", "synchronous_commit", "full_page_writes"] {
        let row = client
            .query_one(&format!("SHOW {setting}"), &[])
            .await
            .map_err(|e| OpenError::Connect(e.to_string()))?;
        let value: String = row.get(0);
        if value == "off" {
            return Err(OpenError::NotDurable(format!(
                "{setting} is off; it must be on"
            )));
        }
    }
    Ok(())
}

/// Whether the database at `url` holds no tables at all (a restore target).
pub async fn database_is_empty(url: &str) -> Result<bool, OpenError> {
    let config: tokio_postgres::Config = url
        .parse()
        .map_err(|e: tokio_postgres::Error| OpenError::Url(e.to_string()))?;
    let (client, connection) = config
        .connect(NoTls)
        .await
        .map_err(|e| OpenError::Connect(e.to_string()))?;
    let driver = tokio::spawn(connection);
    let tables: i64 = client
        .query_one(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'",
            &[],
        )
        .await
        .map_err(|e| OpenError::Connect(e.to_string()))?
        .get(0);
    drop(client);
    let _ = driver.await;
    Ok(tables == 0)
}

impl PgStore {
    /// Connects, checks durability, migrates, and starts the writer and the
    /// event listener. Must be called inside a tokio runtime.
    pub async fn open(url: &str, clock: Arc<dyn Clock>) -> Result<PgStore, OpenError> {
        let config: tokio_postgres::Config = url
            .parse()
            .map_err(|e: tokio_postgres::Error| OpenError::Url(e.to_string()))?;
        let (mut client, connection) = config
            .connect(NoTls)
            .await
            .map_err(|e| OpenError::Connect(e.to_string()))?;
        let driver = tokio::spawn(connection);
        ensure_durable(&client).await?;
        schema::migrate(&mut client)
            .await
            .map_err(|e| OpenError::Migrate(e.to_string()))?;
        drop(client);
        let _ = driver.await;

        let manager = Manager::from_config(
            config.clone(),
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(POOL_SIZE)
            .build()
            .map_err(|e| OpenError::Connect(e.to_string()))?;
        let (events, _) = broadcast::channel(EVENT_BUFFER);
        let (positions, _) = broadcast::channel(EVENT_BUFFER);
        let publisher = Arc::new(
            publisher::Publisher::new(pool.clone(), events.clone(), positions.clone())
                .await
                .map_err(|e| OpenError::Connect(e.to_string()))?,
        );
        let (jobs_tx, jobs_rx) = mpsc::unbounded_channel();
        let writer_task =
            tokio::spawn(writer::run(pool.clone(), jobs_rx, publisher.clone(), clock));
        let listener_task = tokio::spawn(publisher::listen(config, publisher));
        let store = PgStore {
            pool,
            jobs: Mutex::new(Some(jobs_tx)),
            events,
            positions,
            writer_task: tokio::sync::Mutex::new(Some(writer_task)),
            listener_task,
        };
        let converted = store
            .write(|ctx| Box::pin(async move { apply::convert_legacy_disputes(ctx).await }))
            .await
            .map_err(|e| OpenError::Migrate(format!("converting stored disputes: {e}")))?;
        if converted > 0 {
            tracing::info!(converted, "disputes converted from JSON bodies to columns");
        }
        Ok(store)
    }

    async fn write<T, F>(&self, work: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: for<'a> FnOnce(&'a mut writer::WriteCtx) -> writer::BoxFuture<'a, StoreResult<T>>
            + Send
            + 'static,
    {
        let (reply, answer) = oneshot::channel();
        self.send(writer::job(work, reply))?;
        answer
            .await
            .map_err(|_| StoreError::Other("the write was abandoned".into()))?
    }

    fn send(&self, job: writer::Job) -> StoreResult<()> {
        let sent = match &*self.jobs.lock().expect("jobs lock") {
            Some(jobs) => jobs.send(job).is_ok(),
            None => false,
        };
        if sent {
            Ok(())
        } else {
            Err(StoreError::Other("the store is shut down".into()))
        }
    }

    async fn client(&self) -> StoreResult<Object> {
        self.pool
            .get()
            .await
            .map_err(|e| StoreError::Other(format!("no database connection: {e}")))
    }

    async fn read_rows(
        &self,
        sql: &str,
        params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
    ) -> StoreResult<Vec<tokio_postgres::Row>> {
        let client = self.client().await?;
        let statement = client.prepare_cached(sql).await.map_err(store_error)?;
        client.query(&statement, params).await.map_err(store_error)
    }
}

impl Drop for PgStore {
    fn drop(&mut self) {
        self.listener_task.abort();
    }
}

#[async_trait]
impl StationStore for PgStore {
    async fn replace_jurisdiction(&self, ground: Jurisdiction) -> StoreResult<()> {
        self.write(move |ctx| Box::pin(async move { ctx.save_ground(&ground).await }))
            .await
    }

    async fn jurisdiction(&self) -> StoreResult<Jurisdiction> {
        reads::jurisdiction(&mut Reader(&*self.client().await?)).await
    }

    async fn replace_roads(
        &self,
        ways: Vec<RoadWay>,
        addresses: Vec<PointAddress>,
        areas: Vec<MapArea>,
        actor: Actor,
    ) -> StoreResult<()> {
        self.write(move |ctx| {
            Box::pin(
                async move { apply::replace_roads(ctx, &ways, &addresses, &areas, &actor).await },
            )
        })
        .await
    }

    async fn roads(&self) -> StoreResult<Vec<RoadWay>> {
        reads::roads(&mut Reader(&*self.client().await?)).await
    }

    async fn road_addresses(&self) -> StoreResult<Vec<PointAddress>> {
        reads::road_addresses(&mut Reader(&*self.client().await?)).await
    }

    async fn road_areas(&self) -> StoreResult<Vec<MapArea>> {
        reads::road_areas(&mut Reader(&*self.client().await?)).await
    }

    async fn close_roads(
        &self,
        segments: Vec<u32>,
        reason: Option<String>,
        actor: Actor,
    ) -> StoreResult<()> {
        self.write(move |ctx| {
            Box::pin(async move { apply::close_roads(ctx, segments, reason, &actor).await })
        })
        .await
    }

    async fn reopen_roads(&self, segments: Vec<u32>, actor: Actor) -> StoreResult<()> {
        self.write(move |ctx| {
            Box::pin(async move { apply::reopen_roads(ctx, segments, &actor).await })
        })
        .await
    }

    async fn road_closures(&self) -> StoreResult<Vec<RoadClosure>> {
        reads::road_closures(&mut Reader(&*self.client().await?)).await
    }

    async fn create_units(&self, units: Vec<NewUnit>) -> StoreResult<Vec<Unit>> {
        self.write(move |ctx| Box::pin(async move { apply::create_units(ctx, units).await }))
            .await
    }

    async fn station_state(&self) -> StoreResult<StationState> {
        reads::station(&mut Reader(&*self.client().await?)).await
    }

    async fn import_station(
        &self,
        package: StationPackage,
        passwords: InitialPasswords,
        actor: Actor,
        audit: AuditEntry,
    ) -> StoreResult<Vec<LayerChanges>> {
        self.write(move |ctx| {
            Box::pin(async move {
                apply::import_station(ctx, &package, &passwords, &actor, &audit).await
            })
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
            Box::pin(async move { apply::edit_station(ctx, &edit, &editor, &actor, &audit).await })
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
            Box::pin(
                async move { apply::import_history(ctx, &file, &records, &actor, &audit).await },
            )
        })
        .await
    }
}

#[async_trait]
impl IncidentStore for PgStore {
    async fn list_units(&self) -> StoreResult<Vec<Unit>> {
        reads::units(&mut Reader(&*self.client().await?)).await
    }

    async fn get_unit(&self, id: UnitId) -> StoreResult<Unit> {
        reads::unit(&mut Reader(&*self.client().await?), id).await
    }

    async fn update_unit_status(
        &self,
        id: UnitId,
        to: UnitStatus,
        actor: Actor,
    ) -> StoreResult<Unit> {
        self.write(move |ctx| {
            Box::pin(async move { apply::update_unit_status(ctx, id, to, &actor).await })
        })
        .await
    }

    async fn report_unit_position(
        &self,
        id: UnitId,
        position: Coordinates,
        actor: Actor,
    ) -> StoreResult<Unit> {
        // Batched with the other reports waiting (`positions::positions_run`).
        let (reply, answer) = oneshot::channel();
        self.send(writer::Job::Position {
            report: positions::Report {
                unit: id,
                position,
                actor,
            },
            reply,
        })?;
        answer
            .await
            .map_err(|_| StoreError::Other("the write was abandoned".into()))?
    }

    async fn accept_task(&self, id: UnitId, actor: Actor) -> StoreResult<Unit> {
        self.write(move |ctx| Box::pin(async move { apply::accept_task(ctx, id, &actor).await }))
            .await
    }

    async fn decline_task(
        &self,
        id: UnitId,
        reason: Option<String>,
        actor: Actor,
    ) -> StoreResult<Unit> {
        self.write(move |ctx| {
            Box::pin(async move { apply::decline_task(ctx, id, reason, &actor).await })
        })
        .await
    }

    async fn hand_over(&self, id: UnitId, actor: Actor) -> StoreResult<Unit> {
        self.write(move |ctx| Box::pin(async move { apply::hand_over(ctx, id, &actor).await }))
            .await
    }

    async fn intake(&self, intake: Intake, actor: Actor) -> StoreResult<IntakeOutcome> {
        let (reply, answer) = oneshot::channel();
        self.send(writer::Job::Intake {
            intake: Box::new(intake),
            actor,
            reply,
        })?;
        answer
            .await
            .map_err(|_| StoreError::Other("the write was abandoned".into()))?
    }

    async fn get_incident(&self, id: IncidentId) -> StoreResult<Incident> {
        reads::incident(&mut Reader(&*self.client().await?), id).await
    }

    async fn list_incidents(&self, filter: IncidentFilter) -> StoreResult<Vec<Incident>> {
        reads::incidents(&mut Reader(&*self.client().await?), &filter).await
    }

    async fn dispatch_order(
        &self,
        id: IncidentId,
        order: DispatchOrder,
        actor: Actor,
    ) -> StoreResult<DispatchOutcome> {
        self.write(move |ctx| {
            Box::pin(async move { apply::dispatch_order(ctx, id, order, &actor).await })
        })
        .await
    }

    async fn add_note(&self, id: IncidentId, text: String, actor: Actor) -> StoreResult<Event> {
        self.write(move |ctx| Box::pin(async move { apply::add_note(ctx, id, text, &actor).await }))
            .await
    }

    async fn attach_photo(
        &self,
        id: IncidentId,
        photo: NewPhoto,
        actor: Actor,
    ) -> StoreResult<PhotoInfo> {
        self.write(move |ctx| {
            Box::pin(async move { apply::attach_photo(ctx, id, photo, &actor).await })
        })
        .await
    }

    async fn photos(&self, id: IncidentId) -> StoreResult<Vec<PhotoInfo>> {
        reads::photos(&mut Reader(&*self.client().await?), id).await
    }

    async fn photo(&self, id: i64) -> StoreResult<(PhotoInfo, Vec<u8>)> {
        reads::photo(&mut Reader(&*self.client().await?), id).await
    }

    async fn flag_recurrence(
        &self,
        id: IncidentId,
        dispute_ids: Vec<DisputeId>,
        actor: Actor,
    ) -> StoreResult<Event> {
        self.write(move |ctx| {
            Box::pin(async move { apply::flag_recurrence(ctx, id, dispute_ids, &actor).await })
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
            Box::pin(
                async move { apply::close_incident(ctx, id, disposition, remark, &actor).await },
            )
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
            Box::pin(async move { apply::merge_incidents(ctx, duplicate, into, &actor).await })
        })
        .await
    }

    async fn timeline(&self, id: IncidentId) -> StoreResult<Vec<Event>> {
        reads::timeline(&mut Reader(&*self.client().await?), id).await
    }

    async fn events_after(&self, after: EventId, limit: u32) -> StoreResult<Vec<Event>> {
        reads::events_after(&mut Reader(&*self.client().await?), after, limit).await
    }

    async fn unit_track(
        &self,
        unit: UnitId,
        from: Timestamp,
        until: Timestamp,
        limit: u32,
    ) -> StoreResult<Vec<TrackPoint>> {
        reads::unit_track(
            &mut Reader(&*self.client().await?),
            unit,
            from,
            until,
            limit,
        )
        .await
    }

    fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.events.subscribe()
    }

    fn subscribe_positions(&self) -> broadcast::Receiver<precinct_storage::UnitMoved> {
        self.positions.subscribe()
    }
}

#[async_trait]
impl AccountStore for PgStore {
    async fn claim_request(
        &self,
        user: UserId,
        key: String,
        fingerprint: String,
    ) -> StoreResult<RequestClaim> {
        let now = chrono::Utc::now();
        self.write(move |ctx| {
            Box::pin(async move { apply::claim_request(ctx, user, &key, &fingerprint, now).await })
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
            Box::pin(async move { apply::finish_request(ctx, user, &key, status, &body).await })
        })
        .await
    }

    async fn release_request(&self, user: UserId, key: String) -> StoreResult<()> {
        self.write(move |ctx| {
            Box::pin(async move { apply::release_request(ctx, user, &key).await })
        })
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
            Box::pin(async move {
                apply::set_password(ctx, id, &password_hash, must_change, audit.as_ref()).await
            })
        })
        .await
    }

    async fn create_user(&self, user: NewUser, actor: Actor) -> StoreResult<User> {
        self.write(move |ctx| Box::pin(async move { apply::create_user(ctx, user, &actor).await }))
            .await
    }

    async fn credentials(&self, username: &Username) -> StoreResult<Option<Credentials>> {
        reads::credentials(&mut Reader(&*self.client().await?), username).await
    }

    async fn count_users(&self) -> StoreResult<u64> {
        reads::count_users(&mut Reader(&*self.client().await?)).await
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
            Box::pin(async move {
                apply::create_session(
                    ctx,
                    &token_hash,
                    user_id,
                    now,
                    expires_at,
                    address.as_deref(),
                )
                .await
            })
        })
        .await
    }

    async fn session_user(&self, token_hash: String) -> StoreResult<Option<Session>> {
        reads::session_user(
            &mut Reader(&*self.client().await?),
            &token_hash,
            chrono::Utc::now(),
        )
        .await
    }

    async fn touch_session(&self, token_hash: String, at: Timestamp) -> StoreResult<()> {
        self.write(move |ctx| {
            Box::pin(async move { apply::touch_session(ctx, &token_hash, at).await })
        })
        .await
    }

    async fn list_sessions(&self) -> StoreResult<Vec<SessionRecord>> {
        reads::sessions(&mut Reader(&*self.client().await?), chrono::Utc::now()).await
    }

    async fn delete_session(
        &self,
        token_hash: String,
        audit: Option<AuditEntry>,
    ) -> StoreResult<()> {
        self.write(move |ctx| {
            Box::pin(async move { apply::delete_session(ctx, &token_hash, audit.as_ref()).await })
        })
        .await
    }

    async fn second_factor(&self, user: UserId) -> StoreResult<SecondFactor> {
        reads::second_factor(&mut Reader(&*self.client().await?), user).await
    }

    async fn set_second_factor(
        &self,
        user: UserId,
        factor: SecondFactor,
        audit: Option<AuditEntry>,
    ) -> StoreResult<()> {
        self.write(move |ctx| {
            Box::pin(
                async move { apply::set_second_factor(ctx, user, &factor, audit.as_ref()).await },
            )
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
            Box::pin(async move {
                apply::consume_second_factor(ctx, user, &proof, audit.as_ref()).await
            })
        })
        .await
    }

    async fn record_audit(&self, entry: AuditEntry) -> StoreResult<()> {
        self.write(move |ctx| Box::pin(async move { apply::audit(ctx, &entry).await }))
            .await
    }

    async fn audit_log(&self, limit: u32) -> StoreResult<Vec<AuditEntry>> {
        reads::audit_log(&mut Reader(&*self.client().await?), limit).await
    }
}

#[async_trait]
impl DisputeStore for PgStore {
    async fn open_dispute(
        &self,
        new: NewDispute,
        from_incident: Option<IncidentId>,
        opener: User,
        actor: Actor,
    ) -> StoreResult<CaseView> {
        self.write(move |ctx| {
            Box::pin(
                async move { apply::open_dispute(ctx, new, from_incident, &opener, &actor).await },
            )
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
            Box::pin(async move { apply::change_dispute(ctx, id, expected, op, &by, &actor).await })
        })
        .await
    }

    /// Cases read whole from one snapshot (a repeatable-read transaction).
    async fn read_disputes(&self, which: Which, depth: Depth) -> StoreResult<Vec<Dispute>> {
        let client = self.client().await?;
        client
            .batch_execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            .await
            .map_err(rows::store_error)?;
        let result =
            precinct_storage::disputes::load_to(&mut tx::Reader(&client), which, depth).await;
        let end = if result.is_ok() { "COMMIT" } else { "ROLLBACK" };
        client.batch_execute(end).await.map_err(rows::store_error)?;
        result
    }
}

#[async_trait]
impl FigureStore for PgStore {
    async fn figure_rollups(&self, queries: Vec<RollupQuery>) -> StoreResult<Vec<Vec<RollupRow>>> {
        let client = self.client().await?;
        // One snapshot; no parallel workers and no JIT: the statement's
        // arms are small index range scans, and starting workers or
        // compiling its thirty-odd arms cost ten to a hundred times what
        // they save (bench/README.md).
        client
            .batch_execute(
                "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; \
                 SET LOCAL max_parallel_workers_per_gather = 0; SET LOCAL jit = off",
            )
            .await
            .map_err(rows::store_error)?;
        let result = precinct_storage::rollups::read(&mut tx::Reader(&client), &queries).await;
        let end = if result.is_ok() { "COMMIT" } else { "ROLLBACK" };
        client.batch_execute(end).await.map_err(rows::store_error)?;
        result
    }

    async fn stored_rollups(&self) -> StoreResult<BTreeMap<RollupKey, Measures>> {
        let client = self.client().await?;
        precinct_storage::rollups::stored(&mut tx::Reader(&client)).await
    }
}

#[async_trait]
impl TransferStore for PgStore {
    async fn export_rows(
        &self,
        table: Table,
        offset: u64,
        limit: u32,
    ) -> StoreResult<Vec<ExportRow>> {
        let sql = format!("{} LIMIT $1 OFFSET $2", table.select_sql());
        let rows = self
            .read_rows(&sql, &[&i64::from(limit), &(offset as i64)])
            .await?;
        rows.iter()
            .map(|row| export_row(&PgRow(row), table))
            .collect()
    }

    async fn import_rows(&self, table: Table, copied: Vec<ExportRow>) -> StoreResult<()> {
        self.write(move |ctx| {
            Box::pin(async move {
                let names: Vec<&str> = table.columns().iter().map(|(name, _)| *name).collect();
                let slots: Vec<String> = (1..=names.len()).map(|i| format!("${i}")).collect();
                let sql = format!(
                    "INSERT INTO {} ({}) VALUES ({})",
                    table.name(),
                    names.join(", "),
                    slots.join(", ")
                );
                let statement = ctx.client.prepare_cached(&sql).await.map_err(store_error)?;
                for row in &copied {
                    let values: Vec<Box<dyn ToSql + Sync + Send>> = import_values(table, row)?
                        .into_iter()
                        .map(|value| -> Box<dyn ToSql + Sync + Send> {
                            match value {
                                ImportValue::Int(v) => Box::new(v),
                                ImportValue::Real(v) => Box::new(v),
                                ImportValue::Text(v) => Box::new(v),
                                ImportValue::Bool(v) => Box::new(v),
                                ImportValue::Bytes(v) => Box::new(v),
                            }
                        })
                        .collect();
                    let params: Vec<&(dyn ToSql + Sync)> = values
                        .iter()
                        .map(|v| v.as_ref() as &(dyn ToSql + Sync))
                        .collect();
                    ctx.client
                        .execute(&statement, &params)
                        .await
                        .map_err(store_error)?;
                }
                Ok(())
            })
        })
        .await
    }

    async fn finish_import(&self) -> StoreResult<()> {
        self.write(|ctx| {
            Box::pin(async move {
                for table in Table::ALL.into_iter().filter(|t| t.has_serial_id()) {
                    let name = table.name();
                    ctx.client
                        .execute(
                            &format!(
                                "SELECT setval(pg_get_serial_sequence('{name}', 'id'), \
                                 (SELECT COALESCE(MAX(id), 0) + 1 FROM {name}), false)"
                            ),
                            &[],
                        )
                        .await
                        .map_err(store_error)?;
                }
                // The copied incidents' rollups, recomputed.
                precinct_storage::rollups::rebuild(ctx).await
            })
        })
        .await
    }
}

#[async_trait]
impl Store for PgStore {
    async fn readiness(&self) -> StoreResult<Readiness> {
        self.write(|ctx| {
            Box::pin(async move {
                ctx.client
                    .execute(
                        "INSERT INTO readiness (id, checked_at) VALUES (1, $1) \
                         ON CONFLICT (id) DO UPDATE SET checked_at = EXCLUDED.checked_at",
                        &[&ms(ctx.now)],
                    )
                    .await
                    .map_err(store_error)?;
                Ok(())
            })
        })
        .await?;
        // The server's disk is not ours to see; its own monitoring watches it.
        Ok(Readiness { free_bytes: None })
    }

    async fn shutdown(&self) {
        drop(self.jobs.lock().expect("jobs lock").take());
        if let Some(task) = self.writer_task.lock().await.take() {
            let _ = task.await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use precinct_storage::{SharedStore, SystemClock};

    /// A store on a fresh database, when a test server is configured.
    async fn fresh_store() -> Option<SharedStore> {
        let url = scratch_url().await?;
        Some(Arc::new(
            PgStore::open(&url, Arc::new(SystemClock))
                .await
                .expect("open"),
        ))
    }

    precinct_storage::store_suite!(fresh_store);

    /// A fresh database's URL, when a test server is configured.
    async fn scratch_url() -> Option<String> {
        let Some(admin) = testing::test_database_url() else {
            eprintln!("skipped: PRECINCT_TEST_DATABASE_URL is not set");
            return None;
        };
        Some(
            testing::scratch_database(&admin)
                .await
                .expect("create a scratch database"),
        )
    }

    /// A write that panics fails, with its batch; later writes go on, and
    /// nothing it wrote stays.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_panicking_write_does_not_stop_the_writer() {
        let Some(url) = scratch_url().await else {
            return;
        };
        let store = PgStore::open(&url, Arc::new(SystemClock)).await.unwrap();
        let audit = |who: &'static str, panics: bool| {
            store.write(move |ctx| {
                Box::pin(async move {
                    ctx.client
                        .batch_execute(&format!(
                            "INSERT INTO audit_log (at, username, action, subject) VALUES (0, '{who}', 'x', 'x')"
                        ))
                        .await
                        .map_err(crate::rows::store_error)?;
                    assert!(!panics, "a bug in a write job");
                    Ok(())
                })
            })
        };
        assert!(audit("panicked", true).await.is_err());
        audit("after", false)
            .await
            .expect("the writer still writes");
        let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
            .await
            .unwrap();
        tokio::spawn(connection);
        let names: Vec<String> = client
            .query("SELECT username FROM audit_log", &[])
            .await
            .unwrap()
            .iter()
            .map(|row| row.get(0))
            .collect();
        assert_eq!(names, ["after"]);
        store.shutdown().await;
    }

    /// A report at `east_m` metres east of a point in Changsha, a fight.
    fn report(external_id: &str, east_m: f64) -> Intake {
        use precinct_domain::incident::{Caller, DefaultCategory, IntakeSource, Priority};
        Intake {
            source: IntakeSource::Instruction110,
            external_id: Some(external_id.to_owned()),
            category: DefaultCategory::FightAssault.into(),
            priority: Priority::new(1).unwrap(),
            location: Coordinates::new(28.15, 113.02)
                .unwrap()
                .offset_m(east_m, 0.0),
            resolution: precinct_domain::ground::Resolution::OUTSIDE,
            address: "Food Street 7".into(),
            caller: Caller::default(),
            summary: "a fight".into(),
            reported_at: chrono::Utc::now(),
        }
    }

    /// Holds the writers' lock on a connection of its own until released,
    /// and counts the writers of this database queued behind it.
    struct HeldLock {
        client: tokio_postgres::Client,
    }

    impl HeldLock {
        async fn take(url: &str) -> HeldLock {
            let (client, connection) = tokio_postgres::connect(url, NoTls).await.unwrap();
            tokio::spawn(connection);
            client
                .batch_execute(&format!(
                    "BEGIN; SELECT pg_advisory_xact_lock({})",
                    keys::WRITE_LOCK
                ))
                .await
                .unwrap();
            HeldLock { client }
        }

        /// Waits until `count` writers wait for the lock (tests on other
        /// databases run meanwhile: each has its own advisory locks).
        async fn wait_for_waiters(&self, count: i64) {
            for _ in 0..500 {
                let waiting: i64 = self
                    .client
                    .query_one(
                        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted \
                         AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
                        &[],
                    )
                    .await
                    .unwrap()
                    .get(0);
                if waiting >= count {
                    return;
                }
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            }
            panic!("{count} writers never queued for the lock");
        }

        async fn release(self) {
            self.client.batch_execute("ROLLBACK").await.unwrap();
        }
    }

    /// An intake arriving at one instance while another instance's write is
    /// about to commit is decided over what that write committed: a nearer
    /// report, the same instruction, a merge of the nearest candidate. The
    /// writers' lock is what makes this hold (`precinct_intake` looks up only
    /// once it holds the lock); a design that looks up earlier must keep it.
    /// Lock waiters are served in order, so queueing the other instance's
    /// write first makes it commit just before the intake decides.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_intake_is_decided_over_what_another_instance_just_committed() {
        let Some(url) = scratch_url().await else {
            return;
        };
        let here = Arc::new(PgStore::open(&url, Arc::new(SystemClock)).await.unwrap());
        let there = Arc::new(PgStore::open(&url, Arc::new(SystemClock)).await.unwrap());
        let actor = || Actor::system("test");
        // Queues `other` (on the other instance) for the lock, then an intake
        // here, and lets both go: `other` commits first.
        async fn one_after_the_other<T: Send + 'static>(
            url: &str,
            other: impl std::future::Future<Output = T> + Send + 'static,
            intake: impl std::future::Future<Output = StoreResult<IntakeOutcome>> + Send + 'static,
        ) -> (T, IntakeOutcome) {
            let lock = HeldLock::take(url).await;
            let other = tokio::spawn(other);
            lock.wait_for_waiters(1).await;
            let intake = tokio::spawn(intake);
            lock.wait_for_waiters(2).await;
            lock.release().await;
            (other.await.unwrap(), intake.await.unwrap().unwrap())
        }

        // An intake here that nothing races.
        let stored = |external_id: &'static str, east_m: f64| {
            let here = here.clone();
            async move {
                here.intake(report(external_id, east_m), actor())
                    .await
                    .unwrap()
            }
        };
        let far = stored("110-far", 250.0).await;
        assert!(far.incident.duplicate_of.is_none());

        // A new primary report committed just before, nearer than the stored one.
        let (store, intake) = (there.clone(), here.clone());
        let (west, linked) = one_after_the_other(
            &url,
            async move { store.intake(report("110-west", -200.0), actor()).await },
            async move { intake.intake(report("110-probe-2", -120.0), actor()).await },
        )
        .await;
        let west = west.unwrap().incident;
        assert!(west.duplicate_of.is_none(), "450 m from the first: primary");
        assert_eq!(
            linked.incident.duplicate_of,
            Some(west.id),
            "80 m from the report committed just before, 370 m from the first"
        );

        // The same instruction committed just before: one incident.
        let (store, intake) = (there.clone(), here.clone());
        let (first, second) = one_after_the_other(
            &url,
            async move { store.intake(report("110-twice", 5000.0), actor()).await },
            async move { intake.intake(report("110-twice", 5000.0), actor()).await },
        )
        .await;
        let first = first.unwrap();
        assert!(first.created);
        assert!(!second.created, "the second report is the same instruction");
        assert_eq!(second.incident.id, first.incident.id);

        // The only candidate is merged away just before: the intake does
        // not link to a merged incident.
        let target = stored("110-target", 9000.0).await;
        let chosen = stored("110-chosen", 9400.0).await;
        assert!(chosen.incident.duplicate_of.is_none());
        let (store, intake) = (there.clone(), here.clone());
        let (target_id, chosen_id) = (target.incident.id, chosen.incident.id);
        let (merged, linked) = one_after_the_other(
            &url,
            async move { store.merge_incidents(chosen_id, target_id, actor()).await },
            async move { intake.intake(report("110-probe-3", 9500.0), actor()).await },
        )
        .await;
        assert_eq!(merged.unwrap().id, target_id);
        assert_eq!(
            linked.incident.duplicate_of, None,
            "the only report within 300 m was merged just before"
        );

        here.shutdown().await;
        there.shutdown().await;
    }

    #[tokio::test]
    async fn a_session_that_would_not_wait_for_commits_is_refused() {
        let Some(url) = scratch_url().await else {
            return;
        };
        // synchronous_commit can be turned off per session: acknowledged
        // writes could then be lost on a crash, so the store must refuse.
        let separator = if url.contains('?') { '&' } else { '?' };
        let unsafe_url = format!("{url}{separator}options=-c%20synchronous_commit%3Doff");
        let error = PgStore::open(&unsafe_url, Arc::new(SystemClock))
            .await
            .unwrap_err();
        assert!(matches!(error, OpenError::NotDurable(_)), "{error}");
        assert!(
            error.to_string().contains("synchronous_commit is off"),
            "{error}"
        );
        assert!(
            PgStore::open(&url, Arc::new(SystemClock)).await.is_ok(),
            "the same database with defaults opens"
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
        let Some(admin) = testing::test_database_url() else {
            eprintln!("skipped: PRECINCT_TEST_DATABASE_URL is not set");
            return;
        };
        let url = testing::scratch_database(&admin).await.unwrap();
        {
            let (mut client, connection) = tokio_postgres::connect(&url, NoTls).await.unwrap();
            let driver = tokio::spawn(connection);
            schema::apply_until(&mut client, schema::json_disputes_version())
                .await
                .unwrap();
            for (id, status, version, opened_at, body) in
                precinct_storage::legacy::fixture_rows().unwrap()
            {
                client
                    .execute(
                        "INSERT INTO disputes (id, status, version, opened_at, body) VALUES ($1, $2, $3, $4, $5)",
                        &[&id, &status, &version, &opened_at, &body],
                    )
                    .await
                    .unwrap();
            }
            drop(client);
            let _ = driver.await;
        }
        let store = PgStore::open(&url, Arc::new(SystemClock)).await.unwrap();
        precinct_storage::legacy::assert_fixture_converted(&store).await;
        let reports = precinct_storage::chain::verify(&store).await.unwrap();
        assert!(reports.iter().all(|r| r.broken.is_none()), "{reports:?}");
        drop(store);
        let store = PgStore::open(&url, Arc::new(SystemClock)).await.unwrap();
        precinct_storage::legacy::assert_fixture_converted(&store).await;
    }
}
