//! The writer task and its group commit, PostgreSQL edition.
//!
//! Each instance runs one writer task, like the SQLite backend's writer
//! thread. It drains the queued jobs, opens a transaction, and takes a
//! transaction-scoped advisory lock that every instance's writer takes. It
//! runs each job in its own savepoint, then commits them together. Holding
//! the lock until commit does two things:
//! - check-then-write stays atomic *across instances*: two dispatchers on two
//!   servers can never both take a unit, and one instruction sent to both
//!   becomes one incident;
//! - event ids (taken from a sequence while the lock is held) increase in
//!   commit order across the whole deployment, which is what lets every
//!   subscriber resume from "the last id I saw" without skipping anything.
//!
//! The commit also sends `NOTIFY precinct_events, '<last event id>'`, which
//! the other instances' listeners turn into re-reads of the new events.
//!
//! A batch of nothing but intakes skips all that: it is one call of the
//! server-side function `precinct_intake`, which takes the same lock and
//! sends the same notification, as its own transaction (see
//! `intake::intake_run`). Between batches the writer lingers briefly for the
//! previous wave of writers (see [`gather`]).

use crate::publisher::Publisher;
use crate::rows::store_error;
use chrono::SubsecRound;
use deadpool_postgres::{Object, Pool};
use futures_util::FutureExt;
use precinct_domain::Timestamp;
use precinct_domain::event::{Actor, Event, EventKind};
use precinct_domain::ids::{IncidentId, UnitId};
use precinct_domain::incident::Intake;
use precinct_storage::UnitMoved;
use precinct_storage::chain::Heads;
use precinct_storage::{Clock, IntakeOutcome, StoreError, StoreResult};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot};

pub(crate) use crate::keys::{EVENTS_CHANNEL, POSITIONS_CHANNEL, WRITE_LOCK};
/// Most jobs folded into one commit.
const MAX_BATCH: usize = 1024;

pub(crate) type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;
type Completion = Box<dyn FnOnce(Option<StoreError>) + Send>;
pub(crate) type Work =
    Box<dyn for<'a> FnOnce(&'a mut WriteCtx) -> BoxFuture<'a, (bool, Completion)> + Send>;

/// A queued write. Intakes are a variant of their own so the writer can take
/// a run of them together (see `intake::intake_run`).
pub(crate) enum Job {
    Work(Work),
    Intake {
        intake: Box<Intake>,
        actor: Actor,
        reply: oneshot::Sender<StoreResult<IntakeOutcome>>,
    },
    /// Positions too: a run of them is one statement.
    Position {
        report: crate::positions::Report,
        reply: oneshot::Sender<StoreResult<precinct_domain::unit::Unit>>,
    },
}

/// What a job may touch: the writer's connection (inside the batch's
/// transaction), the batch's time, and the events it emits.
pub(crate) struct WriteCtx {
    pub client: Object,
    pub now: Timestamp,
    events: Vec<Event>,
    /// Where the hash chains stand in this batch's transaction.
    pub heads: Heads,
    /// Positions the current job committed, to push live.
    pub positions: Vec<UnitMoved>,
}

impl WriteCtx {
    /// Writes an event, sealed into the chain, in the current transaction;
    /// it is published after commit.
    pub async fn emit(
        &mut self,
        actor: &Actor,
        incident_id: Option<IncidentId>,
        unit_id: Option<UnitId>,
        kind: EventKind,
    ) -> StoreResult<Event> {
        let event =
            precinct_storage::chain::insert_event(self, actor, incident_id, unit_id, kind).await?;
        self.events.push(event.clone());
        Ok(event)
    }
}

/// Wraps an async write as a job whose result goes back through `reply`.
pub(crate) fn job<T, F>(work: F, reply: oneshot::Sender<StoreResult<T>>) -> Job
where
    T: Send + 'static,
    F: for<'a> FnOnce(&'a mut WriteCtx) -> BoxFuture<'a, StoreResult<T>> + Send + 'static,
{
    Job::Work(Box::new(move |ctx| {
        Box::pin(async move {
            let result = work(ctx).await;
            let ok = result.is_ok();
            let completion: Completion = Box::new(move |commit_error| {
                let _ = reply.send(match commit_error {
                    None => result,
                    Some(e) => Err(e),
                });
            });
            (ok, completion)
        })
    }))
}

/// Runs until every sender is dropped, finishing the queue first.
pub(crate) async fn run(
    pool: Pool,
    mut jobs: mpsc::UnboundedReceiver<Job>,
    publisher: Arc<Publisher>,
    clock: Arc<dyn Clock>,
) {
    let mut connection: Option<Object> = None;
    let mut last_batch = 0;
    while let Some(first) = jobs.recv().await {
        let mut batch = vec![first];
        gather(&mut jobs, &mut batch, last_batch).await;
        last_batch = batch.len();
        let client = match connection.take() {
            Some(client) if !client.is_closed() => client,
            _ => match pool.get().await {
                Ok(client) => client,
                Err(error) => {
                    // Dropping the jobs answers each caller with an error; nothing was written.
                    tracing::error!(%error, "no database connection for the writer");
                    drop(batch);
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        let mut ctx = WriteCtx {
            client,
            now: clock.now().trunc_subsecs(3),
            events: Vec::new(),
            heads: Heads::default(),
            positions: Vec::new(),
        };
        let under_way = publisher.batch().await;
        // A job that panics must not take the writer task, and with it every
        // later write, down. Its batch's callers get an error (their reply
        // channels went with it), and its connection, in an unknown state, is
        // closed rather than reused: the server rolls back whatever was open.
        let done = std::panic::AssertUnwindSafe(run_batch(&mut ctx, batch, &publisher))
            .catch_unwind()
            .await;
        drop(under_way);
        if done.is_ok() {
            connection = Some(ctx.client);
        } else {
            tracing::error!(
                "a write batch panicked; its connection is closed and the batch failed"
            );
            drop(Object::take(ctx.client));
        }
    }
}

/// How long a batch may wait for the writers of the previous batch to come
/// back (see [`gather`]).
const LINGER: std::time::Duration = std::time::Duration::from_micros(250);

/// Adds every waiting job to `batch`. When the previous batch was larger,
/// its callers are likely about to write again: it keeps looking, for at
/// most [`LINGER`], until the batch is as large as the last one. A batch's
/// fixed cost (the round trip, the commit) is then shared by more writes
/// instead of splitting one wave of writers into many small commits. A lone
/// writer (previous batch of one) never waits.
async fn gather(jobs: &mut mpsc::UnboundedReceiver<Job>, batch: &mut Vec<Job>, last_batch: usize) {
    let drain = |jobs: &mut mpsc::UnboundedReceiver<Job>, batch: &mut Vec<Job>| {
        while batch.len() < MAX_BATCH {
            match jobs.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
    };
    drain(jobs, batch);
    let target = last_batch.min(MAX_BATCH);
    if batch.len() >= target {
        return;
    }
    // Timers are too coarse for this; yielding lets the callers run.
    let started = std::time::Instant::now();
    while batch.len() < target && started.elapsed() < LINGER {
        tokio::task::yield_now().await;
        drain(jobs, batch);
    }
}

async fn fail(ctx: &mut WriteCtx, completions: Vec<Completion>, error: StoreError) {
    tracing::error!(%error, "write batch failed; rolling back");
    let _ = ctx.client.batch_execute("ROLLBACK").await;
    for completion in completions {
        completion(Some(error.clone()));
    }
}

/// A run's answer, delivered once the batch's commit outcome is known.
fn after_commit<T: Send + 'static>(
    (answer, reply): (StoreResult<T>, oneshot::Sender<StoreResult<T>>),
) -> Completion {
    Box::new(move |error| {
        let _ = reply.send(match error {
            None => answer,
            Some(e) => Err(e),
        });
    })
}

/// A run's statement failed: its callers get the error, the batch is
/// rolled back, and later jobs are dropped (their callers get an error).
async fn fail_run<T>(
    ctx: &mut WriteCtx,
    completions: Vec<Completion>,
    replies: Vec<oneshot::Sender<StoreResult<T>>>,
    error: StoreError,
) {
    for reply in replies {
        let _ = reply.send(Err(error.clone()));
    }
    fail(ctx, completions, error).await;
}

async fn run_batch(ctx: &mut WriteCtx, batch: Vec<Job>, publisher: &Publisher) {
    if batch.iter().all(|job| matches!(job, Job::Intake { .. })) {
        return intakes_alone(ctx, batch, publisher).await;
    }
    let begin = format!("BEGIN; SELECT pg_advisory_xact_lock({WRITE_LOCK})");
    if let Err(e) = ctx.client.batch_execute(&begin).await {
        fail(ctx, Vec::new(), store_error(e)).await;
        drop(batch);
        return;
    }
    // A job alone in its batch needs no savepoint: if it fails, the whole
    // transaction is rolled back instead.
    let isolate = batch.len() > 1;
    let mut lone_job_failed = false;
    let mut completions: Vec<Completion> = Vec::with_capacity(batch.len());
    let mut committed = Vec::new();
    let mut positions = Vec::new();
    let mut jobs = batch.into_iter().peekable();
    while let Some(job) = jobs.next() {
        let work = match job {
            Job::Work(work) => work,
            Job::Position { report, reply } => {
                // This report and every report right after it together.
                let mut run = vec![report];
                let mut replies = vec![reply];
                while let Some(Job::Position { .. }) = jobs.peek() {
                    if let Some(Job::Position { report, reply }) = jobs.next() {
                        run.push(report);
                        replies.push(reply);
                    }
                }
                match crate::positions::positions_run(&ctx.client, ctx.now, &run).await {
                    Ok((answers, mut moved)) => {
                        positions.append(&mut moved);
                        completions.extend(answers.into_iter().zip(replies).map(after_commit));
                    }
                    Err(error) => return fail_run(ctx, completions, replies, error).await,
                }
                continue;
            }
            Job::Intake {
                intake,
                actor,
                reply,
            } => {
                // Take this intake and every intake right after it together.
                let mut run = vec![(*intake, actor)];
                let mut replies = vec![reply];
                while let Some(Job::Intake { .. }) = jobs.peek() {
                    if let Some(Job::Intake {
                        intake,
                        actor,
                        reply,
                    }) = jobs.next()
                    {
                        run.push((*intake, actor));
                        replies.push(reply);
                    }
                }
                // The intake function seals its own events: the heads move.
                ctx.heads.forget();
                let answer = crate::intake::intake_run(&ctx.client, ctx.now, run)
                    .await
                    .and_then(|run| {
                        // A failed read inside the transaction aborted it.
                        let outcomes = run.outcomes.into_iter().collect::<StoreResult<Vec<_>>>()?;
                        Ok((run.events, outcomes))
                    });
                match answer {
                    Ok((mut events, outcomes)) => {
                        committed.append(&mut events);
                        completions
                            .extend(outcomes.into_iter().map(Ok).zip(replies).map(after_commit));
                    }
                    Err(error) => return fail_run(ctx, completions, replies, error).await,
                }
                continue;
            }
        };
        if isolate && let Err(e) = ctx.client.batch_execute("SAVEPOINT job").await {
            fail(ctx, completions, store_error(e)).await;
            return;
        }
        ctx.events.clear();
        ctx.positions.clear();
        let heads = ctx.heads.clone();
        let (ok, completion) = work(ctx).await;
        if !ok {
            ctx.heads = heads;
        }
        completions.push(completion);
        let finish = if !isolate {
            lone_job_failed = !ok;
            Ok(())
        } else if ok {
            ctx.client.batch_execute("RELEASE SAVEPOINT job").await
        } else {
            ctx.client
                .batch_execute("ROLLBACK TO SAVEPOINT job; RELEASE SAVEPOINT job")
                .await
        };
        if let Err(e) = finish {
            fail(ctx, completions, store_error(e)).await;
            return;
        }
        if ok {
            committed.append(&mut ctx.events);
            positions.append(&mut ctx.positions);
        }
    }
    if lone_job_failed {
        let _ = ctx.client.batch_execute("ROLLBACK").await;
        // The job's own error is its answer; nothing was written.
        for completion in completions {
            completion(None);
        }
        return;
    }
    // The notification goes in the same round trip as the commit; it is
    // delivered only if the commit succeeds. The payload is an integer.
    let mut commit = String::new();
    if let Some(last) = committed.last() {
        commit.push_str(&format!(
            "SELECT pg_notify('{EVENTS_CHANNEL}', '{}'); ",
            last.id.0
        ));
    }
    // Positions reach the other instances the same way (digits, dots,
    // commas and semicolons only: nothing to quote).
    for payload in publisher.positions_payloads(&positions) {
        commit.push_str(&format!(
            "SELECT pg_notify('{POSITIONS_CHANNEL}', '{payload}'); "
        ));
    }
    commit.push_str("COMMIT");
    match ctx.client.batch_execute(&commit).await {
        Ok(()) => {
            // Publish before acknowledging, as the storage contract requires.
            publisher.publish_local(committed).await;
            publisher.publish_positions(&positions);
            for completion in completions {
                completion(None);
            }
        }
        Err(e) => {
            // The outcome is unknown if the connection broke during COMMIT:
            // report failure; intakes are safe to retry (same external id).
            let error = store_error(e);
            tracing::error!(%error, "commit failed");
            for completion in completions {
                completion(Some(error.clone()));
            }
        }
    }
}

/// A batch of nothing but intakes (the common case under load): the intake
/// statement runs on its own, as its own transaction, so the whole batch
/// takes one round trip and one commit.
async fn intakes_alone(ctx: &mut WriteCtx, batch: Vec<Job>, publisher: &Publisher) {
    let mut run = Vec::with_capacity(batch.len());
    let mut replies = Vec::with_capacity(batch.len());
    for job in batch {
        if let Job::Intake {
            intake,
            actor,
            reply,
        } = job
        {
            run.push((*intake, actor));
            replies.push(reply);
        }
    }
    match crate::intake::intake_run(&ctx.client, ctx.now, run).await {
        Ok(run) => {
            // Committed: publish before acknowledging, as the storage
            // contract requires. A report whose stored incident could not be
            // read back gets that error; its write (if any) stands.
            publisher.publish_local(run.events).await;
            for (outcome, reply) in run.outcomes.into_iter().zip(replies) {
                let _ = reply.send(outcome);
            }
        }
        Err(error) => {
            // The statement failed as a whole and wrote nothing, or the
            // connection broke and the outcome is unknown: intakes are safe
            // to retry (same external id).
            tracing::error!(%error, "intake batch failed");
            for reply in replies {
                let _ = reply.send(Err(error.clone()));
            }
        }
    }
}
