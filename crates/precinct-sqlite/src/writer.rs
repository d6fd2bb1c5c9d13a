//! The single writer thread and its group commit.
//!
//! SQLite admits one writer at a time, so Precinct gives it exactly one: a
//! thread that owns the write connection and takes jobs from a channel. It
//! drains every job waiting when it wakes, runs each inside its own savepoint
//! (a failing job rolls back alone), commits them together with one fsync,
//! publishes their events, then acknowledges each. Concurrent writers thus
//! share commits (group commit), and every check-then-write inside a job is
//! atomic with respect to every other write: two dispatchers can never both
//! see a unit as free.

use crate::checkpoint::Checkpointer;
use crate::rows::store_error;
use chrono::SubsecRound;
use precinct_domain::Timestamp;
use precinct_domain::event::{Actor, Event, EventKind};
use precinct_domain::ids::{IncidentId, UnitId};
use precinct_storage::UnitMoved;
use precinct_storage::chain::Heads;
use precinct_storage::rollups::Accumulator;
use precinct_storage::{Clock, StoreError, StoreResult};
use rusqlite::Connection;
use std::sync::Arc;
use std::sync::mpsc;
use tokio::sync::{broadcast, oneshot};

/// Most jobs folded into one commit; bounds the latency a batch adds.
const MAX_BATCH: usize = 1024;

/// What a job hands back after running: whether it succeeded, and how to
/// deliver its result once the batch's commit outcome is known.
type Completion = Box<dyn FnOnce(Option<StoreError>) + Send>;
pub(crate) type Job = Box<dyn FnOnce(&mut WriteCtx<'_>) -> (bool, Completion) + Send>;

/// What a job may touch: the write connection (inside the batch's
/// transaction), the batch's time, and the events it emits.
pub(crate) struct WriteCtx<'c> {
    pub conn: &'c Connection,
    pub now: Timestamp,
    events: Vec<Event>,
    /// Where the hash chains stand (a job rolled back puts them back).
    pub heads: Heads,
    /// What the job's new incidents add to the rollups, added with its
    /// batch's before the commit.
    pub rollups: Accumulator,
    /// Positions to push live after commit.
    positions: Vec<UnitMoved>,
}

/// Where committed changes are pushed live.
pub(crate) struct Live {
    pub events: broadcast::Sender<Event>,
    pub positions: broadcast::Sender<UnitMoved>,
}

impl WriteCtx<'_> {
    /// Runs one cached statement that returns no rows.
    pub fn run(&self, sql: &str, params: impl rusqlite::Params) -> StoreResult<()> {
        self.conn
            .prepare_cached(sql)
            .and_then(|mut s| s.execute(params))
            .map(drop)
            .map_err(store_error)
    }

    /// Writes an event, sealed into the chain, in the current transaction;
    /// it is published after commit.
    pub fn emit(
        &mut self,
        actor: &Actor,
        incident_id: Option<IncidentId>,
        unit_id: Option<UnitId>,
        kind: EventKind,
    ) -> StoreResult<Event> {
        let event = precinct_storage::apply::run_ready(precinct_storage::chain::insert_event(
            self,
            actor,
            incident_id,
            unit_id,
            kind,
        ))?;
        self.events.push(event.clone());
        Ok(event)
    }

    /// A position to push live once the batch commits.
    pub fn moved(&mut self, moved: UnitMoved) {
        self.positions.push(moved);
    }
}

/// Wraps a typed closure as a job whose result goes back through `reply`.
pub(crate) fn job<T: Send + 'static>(
    work: impl FnOnce(&mut WriteCtx<'_>) -> StoreResult<T> + Send + 'static,
    reply: oneshot::Sender<StoreResult<T>>,
) -> Job {
    Box::new(move |ctx| {
        let result = work(ctx);
        let ok = result.is_ok();
        let completion: Completion = Box::new(move |commit_error| {
            let _ = reply.send(match commit_error {
                None => result,
                Some(e) => Err(e),
            });
        });
        (ok, completion)
    })
}

/// Runs until every sender is dropped, then finishes the queue and returns.
pub(crate) fn run(
    conn: Connection,
    jobs: mpsc::Receiver<Job>,
    live: Live,
    clock: Arc<dyn Clock>,
    checkpointer: Checkpointer,
) {
    checkpointer.install(&conn);
    let mut last_batch = 0;
    while let Some(first) = next_job(&jobs) {
        let mut batch = vec![first];
        gather(&jobs, &mut batch, last_batch);
        last_batch = batch.len();
        // Stored times have millisecond precision; stamp with exactly that.
        let now = clock.now().trunc_subsecs(3);
        run_batch(&conn, batch, &live, now);
        checkpointer.after_commit(&conn);
    }
    // Stop the background checkpoints before the connection closes (closing
    // the last connection checkpoints the rest).
    drop(checkpointer);
}

/// How long the writer keeps looking for the next job before it sleeps.
const SPIN: std::time::Duration = std::time::Duration::from_micros(150);

/// The next job. A client that writes again right after its acknowledgement
/// would otherwise pay a thread wake-up each time; looking (and yielding)
/// for a moment first catches it awake.
fn next_job(jobs: &mpsc::Receiver<Job>) -> Option<Job> {
    let started = std::time::Instant::now();
    while started.elapsed() < SPIN {
        match jobs.try_recv() {
            Ok(job) => return Some(job),
            Err(mpsc::TryRecvError::Empty) => std::thread::yield_now(),
            Err(mpsc::TryRecvError::Disconnected) => return None,
        }
    }
    jobs.recv().ok()
}

/// How long a batch may wait for the writers of the previous batch to come
/// back (see [`gather`]).
const LINGER: std::time::Duration = std::time::Duration::from_micros(250);

/// Adds every waiting job to `batch`. When the previous batch was larger,
/// its callers are likely about to write again: it keeps looking, for at
/// most [`LINGER`], until the batch is as large as the last one, so one wave
/// of writers shares one commit instead of splitting into many small ones.
/// A lone writer (previous batch of one) never waits.
fn gather(jobs: &mpsc::Receiver<Job>, batch: &mut Vec<Job>, last_batch: usize) {
    let drain = |batch: &mut Vec<Job>| {
        while batch.len() < MAX_BATCH {
            match jobs.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
    };
    drain(batch);
    let target = last_batch.min(MAX_BATCH);
    let started = std::time::Instant::now();
    while batch.len() < target && started.elapsed() < LINGER {
        std::thread::yield_now();
        drain(batch);
    }
}

/// Runs a job; a job that panics fails alone, as if it had returned an error
/// (its writes are rolled back with its savepoint, or with the transaction
/// when it is alone), instead of taking the writer thread, and with it every
/// later write, down. Its caller's reply channel went with it: the caller
/// gets an error.
fn run_contained(job: Job, ctx: &mut WriteCtx<'_>) -> (bool, Completion) {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| job(ctx))) {
        Ok(done) => done,
        Err(_) => {
            tracing::error!("a write job panicked; it is rolled back and fails alone");
            ctx.events.clear();
            (false, Box::new(|_| {}))
        }
    }
}

/// Runs one of the fixed transaction-control statements, prepared once.
fn control(conn: &Connection, sql: &str) -> rusqlite::Result<()> {
    conn.prepare_cached(sql)?.execute([]).map(drop)
}

fn run_batch(conn: &Connection, batch: Vec<Job>, live: &Live, now: Timestamp) {
    if let Err(e) = control(conn, "BEGIN IMMEDIATE") {
        let error = store_error(e);
        tracing::error!(%error, "could not begin a write transaction");
        // Dropping the jobs drops their reply channels: each caller gets an
        // error and nothing was written.
        drop(batch);
        return;
    }
    let mut completions = Vec::with_capacity(batch.len());
    let mut committed_events = Vec::new();
    let mut heads = Heads::default();
    let mut rollups = Accumulator::default();
    let mut positions = Vec::new();
    // A job alone in its batch needs no savepoint: if it fails, the whole
    // transaction is rolled back instead.
    let isolate = batch.len() > 1;
    let mut lone_job_failed = false;
    for job in batch {
        let savepoint = if isolate {
            control(conn, "SAVEPOINT job")
        } else {
            Ok(())
        };
        let mut ctx = WriteCtx {
            conn,
            now,
            events: Vec::new(),
            heads: heads.clone(),
            rollups: Accumulator::default(),
            positions: Vec::new(),
        };
        let (ok, completion) = run_contained(job, &mut ctx);
        let finish = if savepoint.is_err() {
            savepoint
        } else if !isolate {
            lone_job_failed = !ok;
            Ok(())
        } else if ok {
            control(conn, "RELEASE job")
        } else {
            control(conn, "ROLLBACK TO job").and_then(|()| control(conn, "RELEASE job"))
        };
        if ok {
            committed_events.append(&mut ctx.events);
            heads = ctx.heads;
            rollups.merge(ctx.rollups);
            positions.append(&mut ctx.positions);
        }
        if let Err(e) = finish {
            // The transaction is in an unknown state: abandon the whole batch.
            let error = store_error(e);
            tracing::error!(%error, "savepoint failed; rolling back the batch");
            let _ = conn.execute_batch("ROLLBACK");
            completions.push(completion);
            for completion in completions {
                completion(Some(error.clone()));
            }
            return;
        }
        completions.push(completion);
    }
    if lone_job_failed {
        if let Err(e) = control(conn, "ROLLBACK") {
            tracing::error!(error = %store_error(e), "rollback failed");
        }
        // The job's own error is its answer; nothing was written.
        for completion in completions {
            completion(None);
        }
        return;
    }
    // The batch's new incidents' rollups, one upsert per row touched.
    let added = if rollups.is_empty() {
        Ok(())
    } else {
        precinct_storage::apply::run_ready(precinct_storage::rollups::add(
            &mut crate::rows::Reader(conn),
            rollups,
        ))
    };
    match added.and_then(|()| control(conn, "COMMIT").map_err(store_error)) {
        Ok(()) => {
            // Publish before acknowledging, so a client that sees its ack can
            // rely on the event being on the live stream already.
            for event in committed_events {
                let _ = live.events.send(event);
            }
            for moved in positions {
                let _ = live.positions.send(moved);
            }
            for completion in completions {
                completion(None);
            }
        }
        Err(error) => {
            tracing::error!(%error, "commit failed");
            let _ = conn.execute_batch("ROLLBACK");
            for completion in completions {
                completion(Some(error.clone()));
            }
        }
    }
}

/// Runs one write on `conn` in its own transaction before the writer starts
/// (work the store does on opening). Its events are written, not published:
/// nobody subscribes yet.
pub(crate) fn run_alone<T>(
    conn: &Connection,
    now: Timestamp,
    work: impl FnOnce(&mut WriteCtx<'_>) -> StoreResult<T>,
) -> StoreResult<T> {
    control(conn, "BEGIN IMMEDIATE").map_err(store_error)?;
    let mut ctx = WriteCtx {
        conn,
        now: now.trunc_subsecs(3),
        events: Vec::new(),
        heads: Heads::default(),
        rollups: Accumulator::default(),
        positions: Vec::new(),
    };
    let done = work(&mut ctx).and_then(|value| {
        let rollups = std::mem::take(&mut ctx.rollups);
        precinct_storage::apply::run_ready(precinct_storage::rollups::add(
            &mut crate::rows::Reader(conn),
            rollups,
        ))?;
        Ok(value)
    });
    match done {
        Ok(value) => {
            control(conn, "COMMIT").map_err(store_error)?;
            Ok(value)
        }
        Err(error) => {
            let _ = control(conn, "ROLLBACK");
            Err(error)
        }
    }
}
