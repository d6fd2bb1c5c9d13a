//! Heavy work of uploads: reading and checking a station package, reading
//! and checking a history file. Each is CPU and memory a client chooses by
//! what it sends, so each runs
//! - in a bounded pool (`Limits::upload_checks` at once; others wait their
//!   turn), on a blocking thread, never on the async threads;
//! - under a deadline (`Limits::upload_check_deadline`): past it, the work
//!   stops at its next look at its [`Budget`] and the client gets 422
//!   `too_complex`;
//! - only while its client waits: when the request is dropped (the client
//!   left), the work stops at its next look too, and its slot is freed.

use crate::error::ApiError;
use precinct_domain::budget::Budget;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;

/// The pool heavy work waits for.
#[derive(Debug)]
pub struct HeavyWork {
    slots: Arc<Semaphore>,
    deadline: Option<Duration>,
}

impl HeavyWork {
    /// `slots` jobs at once, each stopped `deadline` after it starts.
    pub fn new(slots: usize, deadline: Duration) -> HeavyWork {
        HeavyWork {
            slots: Arc::new(Semaphore::new(slots.max(1))),
            deadline: Some(deadline),
        }
    }

    /// No deadline and one job at a time: the command line, where the
    /// operator is the client and Ctrl-C the cancellation.
    pub fn unbounded() -> HeavyWork {
        HeavyWork {
            slots: Arc::new(Semaphore::new(1)),
            deadline: None,
        }
    }

    /// Runs `work` on a blocking thread when a slot is free, with a budget
    /// that is spent at the deadline or when this future is dropped.
    pub async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Deadline) -> T + Send + 'static,
    ) -> Result<T, ApiError> {
        let permit = self
            .slots
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| ApiError::internal())?;
        let deadline = Arc::new(Deadline {
            until: self.deadline.map(|d| Instant::now() + d),
            cancelled: AtomicBool::new(false),
        });
        let _cancel_on_drop = CancelOnDrop(deadline.clone());
        let limit = self.deadline;
        let budget = deadline.clone();
        let result = tokio::task::spawn_blocking(move || {
            let result = work(&budget);
            // The slot is held until the work has really stopped.
            drop(permit);
            result
        })
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "heavy work panicked");
            ApiError::internal()
        })?;
        if deadline.past_deadline() {
            let seconds = limit.map_or(0, |d| d.as_secs());
            return Err(ApiError::unprocessable(
                "too_complex",
                format!(
                    "checking the upload took longer than the {seconds} s allowed; nothing was changed. Split the file or simplify its shapes"
                ),
                format!("检查上传内容超过允许的 {seconds} 秒，未做任何更改；请拆分文件或简化图形"),
            ));
        }
        Ok(result)
    }
}

/// The budget of one heavy job.
#[derive(Debug)]
pub struct Deadline {
    until: Option<Instant>,
    cancelled: AtomicBool,
}

impl Deadline {
    fn past_deadline(&self) -> bool {
        self.until.is_some_and(|until| Instant::now() >= until)
    }
}

impl Budget for Deadline {
    fn exhausted(&self) -> bool {
        self.cancelled.load(Ordering::Relaxed) || self.past_deadline()
    }
}

/// Cancels the job when the request's future is dropped (the client left).
struct CancelOnDrop(Arc<Deadline>);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        self.0.cancelled.store(true, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn past_its_deadline_work_stops_and_is_refused() {
        let pool = HeavyWork::new(1, Duration::from_millis(50));
        let refused = pool
            .run(|budget| {
                while !budget.exhausted() {
                    std::thread::sleep(Duration::from_millis(5));
                }
            })
            .await
            .unwrap_err();
        assert_eq!(refused.code, "too_complex");
        assert_eq!(pool.run(|_| 7).await.unwrap(), 7, "the slot is free again");
    }

    #[tokio::test]
    async fn a_dropped_request_stops_its_work_and_frees_its_slot() {
        let pool = Arc::new(HeavyWork::new(1, Duration::from_secs(600)));
        let stopped = Arc::new(AtomicBool::new(false));
        let job = {
            let (pool, stopped) = (pool.clone(), stopped.clone());
            tokio::spawn(async move {
                pool.run(move |budget| {
                    while !budget.exhausted() {
                        std::thread::sleep(Duration::from_millis(5));
                    }
                    stopped.store(true, Ordering::SeqCst);
                })
                .await
            })
        };
        tokio::time::sleep(Duration::from_millis(50)).await;
        job.abort();
        let next = tokio::time::timeout(Duration::from_secs(5), pool.run(|_| 1)).await;
        assert_eq!(next.unwrap().unwrap(), 1, "the next job got the slot");
        assert!(stopped.load(Ordering::SeqCst), "the first job stopped");
    }
}
