//! `precinct backup` and `precinct restore`: an online, consistent copy of
//! a station's database, and putting one back only after its record has
//! been verified.
//!
//! SQLite: the backup API (one consistent moment while the server writes);
//! the copy is a SQLite file. PostgreSQL: `pg_dump --format=custom` (a
//! consistent snapshot by PostgreSQL's own means) and `pg_restore`.

use crate::{DatabaseUrl, open_store, redact_password};
use anyhow::{Context, bail};
use precinct_storage::SystemClock;
use precinct_storage::chain::TableReport;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

/// Copies the station's database into `dest` (which must not exist).
pub async fn backup(database: &DatabaseUrl, dest: &Path) -> anyhow::Result<()> {
    if dest.exists() {
        bail!(
            "{} exists already; a backup never overwrites",
            dest.display()
        );
    }
    match database {
        DatabaseUrl::Sqlite(path) => {
            if !path.exists() {
                bail!("no SQLite database at {}", path.display());
            }
            let (path, dest) = (path.clone(), dest.to_owned());
            tokio::task::spawn_blocking(move || precinct_sqlite::backup(&path, &dest))
                .await
                .context("the backup task failed")??;
            Ok(())
        }
        DatabaseUrl::Postgres(url) => {
            let status = Command::new("pg_dump")
                .args(["--format=custom", "--no-owner", "--file"])
                .arg(dest)
                .arg("--dbname")
                .arg(url)
                .status()
                .context(
                    "running pg_dump (install PostgreSQL's client tools, e.g. apt-get install postgresql-client)",
                )?;
            if !status.success() {
                let _ = std::fs::remove_file(dest);
                bail!("pg_dump of {} failed ({status})", redact_password(url));
            }
            Ok(())
        }
    }
}

/// Verifies the record of the station at `database`.
pub async fn verify(database: &DatabaseUrl) -> anyhow::Result<Vec<TableReport>> {
    let store = open_store(database, Arc::new(SystemClock)).await?;
    let reports = precinct_storage::chain::verify(store.as_ref()).await;
    store.shutdown().await;
    Ok(reports?)
}

fn broken(reports: &[TableReport]) -> Option<String> {
    reports
        .iter()
        .find_map(|r| r.broken.as_ref())
        .map(ToString::to_string)
}

/// Puts the backup `source` in place as the station's database, after
/// checking it: its record must verify. SQLite: the copy is checked in a
/// file beside the target, then moved into place (the target must not
/// exist unless `replace`, and is refused while a server or any other
/// program has it open; nothing is left behind on refusal). PostgreSQL: the
/// target database must be empty; the copy is restored with `pg_restore`
/// and then verified (a copy that does not verify is reported, exit 1, and
/// must not be served).
pub async fn restore(
    database: &DatabaseUrl,
    source: &Path,
    replace: bool,
) -> anyhow::Result<Vec<TableReport>> {
    if !source.exists() {
        bail!("no backup at {}", source.display());
    }
    match database {
        DatabaseUrl::Sqlite(target) => {
            if target.exists() && !replace {
                bail!(
                    "{} exists; stop the server and pass --replace to put the backup in its place",
                    target.display()
                );
            }
            // Refused while anything has the target open; held until the
            // copy is in place, so no server opens it meanwhile.
            let _claim = precinct_sqlite::claim_for_restore(target)
                .with_context(|| format!("{} cannot be replaced now", target.display()))?;
            let checking = sibling(target, "restoring");
            // Whatever happens from here, the checked copy leaves nothing
            // behind but the restored database.
            let leftovers = Leftovers(sqlite_files(&checking));
            leftovers.remove();
            if let Some(dir) = checking.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir)?;
            }
            std::fs::copy(source, &checking)
                .with_context(|| format!("copying {}", source.display()))?;
            let reports = verify(&DatabaseUrl::Sqlite(checking.clone())).await?;
            if let Some(broken) = broken(&reports) {
                bail!("the backup does not verify ({broken}); nothing was restored");
            }
            // The checked copy was closed cleanly (no -wal left); move it in.
            for stale in sqlite_files(target) {
                let _ = std::fs::remove_file(stale);
            }
            std::fs::rename(&checking, target)
                .with_context(|| format!("moving the restored copy to {}", target.display()))?;
            if let Some(dir) = target.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::File::open(dir).and_then(|d| d.sync_all())?;
            }
            Ok(reports)
        }
        DatabaseUrl::Postgres(url) => {
            let empty = precinct_postgres::database_is_empty(url)
                .await
                .with_context(|| format!("connecting to {}", redact_password(url)))?;
            if !empty {
                bail!(
                    "{} is not empty; restore into a new, empty database",
                    redact_password(url)
                );
            }
            let status = Command::new("pg_restore")
                .args(["--no-owner", "--exit-on-error", "--dbname"])
                .arg(url)
                .arg(source)
                .status()
                .context("running pg_restore (install PostgreSQL's client tools)")?;
            if !status.success() {
                bail!("pg_restore into {} failed ({status})", redact_password(url));
            }
            let reports = verify(database).await?;
            if let Some(broken) = broken(&reports) {
                bail!("the restored database does not verify ({broken}); do not serve it");
            }
            Ok(reports)
        }
    }
}

/// Files removed when dropped: a refused or failed restore leaves none of
/// its own behind.
struct Leftovers([PathBuf; 3]);

impl Leftovers {
    fn remove(&self) {
        for file in &self.0 {
            let _ = std::fs::remove_file(file);
        }
    }
}

impl Drop for Leftovers {
    fn drop(&mut self) {
        self.remove();
    }
}

/// `dir/name.db` → `dir/name.db.<suffix>`.
fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_owned();
    name.push(format!(".{suffix}"));
    path.with_file_name(name)
}

/// A SQLite database file with its write-ahead log and shared memory.
fn sqlite_files(path: &Path) -> [PathBuf; 3] {
    [path.to_owned(), sibling(path, "wal"), sibling(path, "shm")]
}
