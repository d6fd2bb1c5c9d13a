//! Scratch databases for tests and benchmarks: one fresh database per test,
//! on the server named by `PRECINCT_TEST_DATABASE_URL`.

use tokio_postgres::NoTls;

/// The environment variable naming the PostgreSQL server tests may use.
pub const TEST_DATABASE_URL: &str = "PRECINCT_TEST_DATABASE_URL";

/// The admin URL tests may use, if one is configured.
///
/// Under CI (`CI` set) a missing URL fails the test instead of skipping
/// it: a suite that passes by not running is how a broken backend lands.
pub fn test_database_url() -> Option<String> {
    let url = std::env::var(TEST_DATABASE_URL)
        .ok()
        .filter(|u| !u.trim().is_empty());
    let under_ci = std::env::var("CI").is_ok_and(|ci| !ci.trim().is_empty() && ci != "false");
    assert!(
        url.is_some() || !under_ci,
        "{TEST_DATABASE_URL} is not set under CI: the PostgreSQL suites must run there, not be skipped"
    );
    url
}

/// `url` with its database name replaced.
pub fn with_database(url: &str, database: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let server = match base[scheme_end..].find('/') {
        Some(slash) => &base[..scheme_end + slash],
        None => base,
    };
    match query {
        Some(query) => format!("{server}/{database}?{query}"),
        None => format!("{server}/{database}"),
    }
}

/// Creates an empty database and returns its URL. Databases left behind by
/// test processes that no longer run are dropped first.
pub async fn scratch_database(admin_url: &str) -> Result<String, tokio_postgres::Error> {
    use std::sync::atomic::{AtomicU32, Ordering};
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let (client, connection) = tokio_postgres::connect(admin_url, NoTls).await?;
    let driver = tokio::spawn(connection);
    let stale = client
        .query(
            "SELECT datname FROM pg_database WHERE datname LIKE 'precinct_test_%'",
            &[],
        )
        .await?;
    for row in stale {
        let name: String = row.get(0);
        let pid = name.split('_').nth(2).and_then(|p| p.parse::<u32>().ok());
        let alive = pid.is_some_and(|pid| std::path::Path::new(&format!("/proc/{pid}")).exists());
        if !alive {
            let _ = client
                .batch_execute(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                .await;
        }
    }
    let name = format!(
        "precinct_test_{}_{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::SeqCst)
    );
    client
        .batch_execute(&format!("CREATE DATABASE \"{name}\""))
        .await?;
    drop(client);
    let _ = driver.await;
    Ok(with_database(admin_url, &name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_names_are_replaced() {
        let cases = [
            (
                "postgres://postgres@127.0.0.1:5432/postgres",
                "postgres://postgres@127.0.0.1:5432/x",
            ),
            (
                "postgres://u:p@h/db?sslmode=disable",
                "postgres://u:p@h/x?sslmode=disable",
            ),
            ("postgresql://h:5432", "postgresql://h:5432/x"),
        ];
        for (url, expected) in cases {
            assert_eq!(with_database(url, "x"), expected);
        }
    }
}
