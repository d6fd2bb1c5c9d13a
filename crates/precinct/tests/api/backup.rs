//! Backup while four clients write, restore, verify: every write
//! acknowledged before the backup began is in the copy, and its record
//! verifies (issue 15). Through the real binary, as an operator runs it.

use crate::common::{Backend, TestApp, api_test, fresh_database};
use reqwest::StatusCode;
use serde_json::json;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

fn url_text(url: &precinct::DatabaseUrl) -> String {
    match url {
        precinct::DatabaseUrl::Sqlite(path) => format!("sqlite://{}", path.display()),
        precinct::DatabaseUrl::Postgres(url) => url.clone(),
    }
}

fn precinct(args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_precinct"))
        .args(args)
        .env("PRECINCT_LOG", "warn")
        .output()
        .expect("the precinct binary runs")
}

api_test! {
    async fn a_backup_taken_while_four_clients_write_restores_and_verifies(app) {
        let app = Arc::new(app);
        let token = app.login("dispatcher").await;
        let acknowledged = Arc::new(Mutex::new(Vec::<String>::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let writers: Vec<_> = (0..4)
            .map(|w| {
                let (app, token, acknowledged, stop) =
                    (app.clone(), token.clone(), acknowledged.clone(), stop.clone());
                tokio::spawn(async move {
                    let mut n = 0;
                    while !stop.load(Ordering::SeqCst) {
                        let external = format!("backup-{w}-{n}");
                        let (status, _) = post_incident(&app, &token, &external).await;
                        assert!(status.is_success(), "{status}");
                        acknowledged.lock().unwrap().push(external);
                        n += 1;
                    }
                })
            })
            .collect();
        tokio::time::sleep(std::time::Duration::from_millis(700)).await;

        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join(match app.url {
            precinct::DatabaseUrl::Sqlite(_) => "station-backup.db",
            precinct::DatabaseUrl::Postgres(_) => "station-backup.dump",
        });
        let before_backup: Vec<String> = acknowledged.lock().unwrap().clone();
        let source = url_text(&app.url);
        let dest_text = dest.to_str().unwrap().to_owned();
        let output = tokio::task::spawn_blocking(move || {
            precinct(&["backup", "--database", &source, &dest_text])
        })
        .await
        .unwrap();
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        // The writers went on during the backup.
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        stop.store(true, Ordering::SeqCst);
        for writer in writers {
            writer.await.unwrap();
        }
        let total = acknowledged.lock().unwrap().len();
        assert!(before_backup.len() >= 4, "writes before the backup: {}", before_backup.len());

        // A backup never overwrites.
        let again = precinct(&["backup", "--database", &url_text(&app.url), dest.to_str().unwrap()]);
        assert!(!again.status.success());

        // Restore into a new place, then read it back.
        let restored = match app.url {
            precinct::DatabaseUrl::Sqlite(_) => precinct::DatabaseUrl::Sqlite(dir.path().join("restored.db")),
            precinct::DatabaseUrl::Postgres(_) => fresh_database(Backend::Postgres, dir.path()).await.unwrap(),
        };
        let output = precinct(&["restore", "--database", &url_text(&restored), dest.to_str().unwrap()]);
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        let output = precinct(&["verify", "--database", &url_text(&restored)]);
        let printed = String::from_utf8_lossy(&output.stdout).into_owned();
        assert!(output.status.success(), "{printed}");
        assert!(printed.contains("events:") && printed.contains("audit_log:"), "{printed}");

        let store = precinct::open_store(&restored, Arc::new(precinct_storage::SystemClock))
            .await
            .unwrap();
        let incidents = store
            .list_incidents(precinct_storage::IncidentFilter { limit: 100_000, ..Default::default() })
            .await
            .unwrap();
        let stored: std::collections::HashSet<String> =
            incidents.iter().filter_map(|i| i.external_id.clone()).collect();
        for external in &before_backup {
            assert!(stored.contains(external), "{external}, acknowledged before the backup, is in it");
        }
        eprintln!(
            "backup: {} writes acknowledged before it began, {} in all, {} in the copy",
            before_backup.len(),
            total,
            stored.iter().filter(|e| e.starts_with("backup-")).count()
        );
        store.shutdown().await;
        drop(store);

        // A tampered copy is refused.
        if let precinct::DatabaseUrl::Sqlite(path) = &restored {
            let conn = rusqlite::Connection::open(path).unwrap();
            let changed = conn.execute("UPDATE events SET data = data || ' ' WHERE id = (SELECT min(id) FROM events)", []).unwrap();
            assert_eq!(changed, 1);
            drop(conn);
            let target = dir.path().join("again.db");
            let output = precinct(&["restore", "--database", target.to_str().unwrap(), path.to_str().unwrap()]);
            assert!(!output.status.success());
            assert!(String::from_utf8_lossy(&output.stderr).contains("does not verify"));
            assert!(!target.exists(), "nothing was restored");
        }
    }
}

async fn post_incident(
    app: &TestApp,
    token: &str,
    external: &str,
) -> (StatusCode, serde_json::Value) {
    app.post(
        Some(token),
        "/api/incidents",
        json!({
            "source": "instruction_110",
            "external_id": external,
            "category": "theft",
            "location": { "lat": 28.15, "lon": 113.02 },
            "summary": "电动车被盗",
        }),
    )
    .await
}
