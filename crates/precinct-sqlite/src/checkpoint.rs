//! WAL checkpoints off the writer's path.
//!
//! SQLite's automatic checkpoint runs on the committing connection: every
//! 1,000 WAL frames the writer copies pages into the database file and syncs
//! it, and every caller in its next batch waits for that. Here the writer's
//! connection has automatic checkpoints off. A checkpointer thread with its
//! own connection copies frames in the background (`PASSIVE`: it never waits
//! for the writer, and the writer never waits for it). Once a background pass
//! has caught up with a large WAL, the writer finishes the few frames written
//! since, itself, after a commit: the WAL is then fully copied, and the
//! writer's next transaction starts it over from the beginning. (A WAL that
//! is never started over grows without end, and a growing file makes every
//! commit's sync dearer.)
//!
//! Checkpoints do not touch durability: a commit is acknowledged only after
//! its frames are synced in the WAL.

use rusqlite::Connection;
use std::cell::Cell;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::mpsc;
use std::thread::JoinHandle;

/// The WAL size (frames) at which a background pass starts; the automatic
/// checkpoint's default threshold.
const CHECKPOINT_FRAMES: i64 = 1000;

/// Where the background pass stands.
const IDLE: u8 = 0;
const RUNNING: u8 = 1;
const CAUGHT_UP: u8 = 2;

thread_local! {
    /// The writer connection's WAL size in frames after its last commit, as
    /// SQLite's WAL hook reports it (only the writer thread commits on it).
    static WAL_FRAMES: Cell<i64> = const { Cell::new(0) };
}

fn record_wal_frames(_wal: &rusqlite::hooks::Wal, frames: std::ffi::c_int) -> rusqlite::Result<()> {
    WAL_FRAMES.set(i64::from(frames));
    Ok(())
}

pub(crate) struct Checkpointer {
    wake: Option<mpsc::SyncSender<()>>,
    state: Arc<AtomicU8>,
    thread: Option<JoinHandle<()>>,
}

/// One passive checkpoint: the WAL's size and how much of it is now copied,
/// in frames.
fn passive(conn: &Connection) -> rusqlite::Result<(i64, i64)> {
    conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |row| {
        Ok((row.get(1)?, row.get(2)?))
    })
}

impl Checkpointer {
    /// Starts the background thread on its own connection, `conn`.
    pub fn start(conn: Connection) -> std::io::Result<Checkpointer> {
        let (wake, woken) = mpsc::sync_channel::<()>(1);
        let state = Arc::new(AtomicU8::new(IDLE));
        let pass = state.clone();
        let thread = std::thread::Builder::new()
            .name("precinct-sqlite-checkpointer".into())
            .spawn(move || {
                while woken.recv().is_ok() {
                    let outcome = match passive(&conn) {
                        Ok((frames, copied)) if copied >= frames => CAUGHT_UP,
                        Ok(_) => IDLE,
                        // Busy or failed: the writer asks again, and nothing
                        // acknowledged depends on it.
                        Err(error) => {
                            tracing::debug!(%error, "background checkpoint");
                            IDLE
                        }
                    };
                    pass.store(outcome, Ordering::Release);
                }
            })?;
        Ok(Checkpointer {
            wake: Some(wake),
            state,
            thread: Some(thread),
        })
    }

    /// Takes over checkpoints from SQLite's automatic ones on the writer's
    /// connection (its WAL hook replaces theirs). Called on the writer thread.
    pub fn install(&self, conn: &Connection) {
        conn.wal_hook(Some(record_wal_frames));
    }

    /// Called by the writer after each batch, on its own connection.
    pub fn after_commit(&self, conn: &Connection) {
        match self.state.load(Ordering::Acquire) {
            CAUGHT_UP => {
                // The few frames written since the background pass began.
                if let Err(error) = passive(conn) {
                    tracing::debug!(%error, "finishing checkpoint");
                }
                WAL_FRAMES.set(0);
                self.state.store(IDLE, Ordering::Release);
            }
            IDLE if WAL_FRAMES.get() >= CHECKPOINT_FRAMES => {
                if let Some(wake) = &self.wake {
                    self.state.store(RUNNING, Ordering::Release);
                    if wake.try_send(()).is_err() {
                        self.state.store(IDLE, Ordering::Release);
                    }
                }
            }
            _ => {}
        }
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        drop(self.wake.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
