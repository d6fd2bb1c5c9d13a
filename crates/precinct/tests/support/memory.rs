//! For test binaries that measure the server's memory: their own process
//! is the server, so `/proc/self/status` is its memory alone.

use precinct_api::AppState;
use precinct_storage::{Clock, SharedStore, SystemClock};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Resident memory of this process, in bytes (Linux).
pub fn resident_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// The demo station (seed 1) on SQLite in `dir`, served on port 0 in this
/// process: its store and its base URL.
pub async fn demo_server(dir: &std::path::Path, password: &str) -> (SharedStore, String) {
    let url = precinct::DatabaseUrl::Sqlite(dir.join("station.db"));
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let store = precinct::open_store(&url, clock.clone()).await.unwrap();
    precinct::seed_demo(&store, &precinct_sim::generate(1), password, None)
        .await
        .unwrap();
    let state = AppState::new(store.clone(), clock).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(precinct_api::serve(listener, state, std::future::pending()));
    (store, base)
}

/// The highest resident memory seen while it runs, sampled every few
/// milliseconds.
pub struct Peak {
    peak: Arc<AtomicU64>,
    sampling: tokio::task::JoinHandle<()>,
}

impl Peak {
    pub fn start(from: u64) -> Peak {
        let peak = Arc::new(AtomicU64::new(from));
        let sampling = {
            let peak = peak.clone();
            tokio::spawn(async move {
                loop {
                    if let Some(now) = resident_bytes() {
                        peak.fetch_max(now, Ordering::Relaxed);
                    }
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
            })
        };
        Peak { peak, sampling }
    }

    /// Stops sampling; the peak seen.
    pub fn stop(self) -> u64 {
        self.sampling.abort();
        self.peak.load(Ordering::Relaxed)
    }
}
