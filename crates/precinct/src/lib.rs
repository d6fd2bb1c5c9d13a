//! The glue of the `precinct` binary: opening a store from a URL, seeding the
//! demo station, creating users, and running the server until a shutdown
//! signal. Kept as a library so the integration tests drive exactly what the
//! binary runs.

pub mod backup;

use anyhow::{Context, bail};
use precinct_api::{AppState, FirstPasswords, PackageRefusal};
use precinct_domain::event::Actor;
use precinct_domain::ids::UnitId;
use precinct_domain::unit::UnitStatus;
use precinct_domain::user::{Role, Username};
use precinct_postgres::PgStore;
use precinct_sim::District;
use precinct_sqlite::SqliteStore;
use precinct_station::PackageFiles;
use precinct_storage::transfer::{ContentHash, Table};
use precinct_storage::{Clock, NewUser, SharedStore, SystemClock};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Where the station's data lives.
#[derive(Clone, PartialEq, Eq)]
pub enum DatabaseUrl {
    /// `sqlite://PATH` (or a bare path): the embedded default.
    Sqlite(PathBuf),
    /// `postgres://…`: shared by several instances.
    Postgres(String),
}

impl std::fmt::Debug for DatabaseUrl {
    /// Never prints a PostgreSQL password.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DatabaseUrl::Sqlite(path) => write!(f, "sqlite://{}", path.display()),
            DatabaseUrl::Postgres(url) => write!(f, "{}", redact_password(url)),
        }
    }
}

/// `postgres://user:secret@host/db` → `postgres://user:***@host/db`.
pub fn redact_password(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) => {
            if parsed.password().is_some() {
                // Only a URL without a host has no password to set.
                let _ = parsed.set_password(Some("***"));
            }
            parsed.to_string()
        }
        // What cannot be parsed is not shown: it may hold a password.
        Err(_) => "(an unreadable database URL)".to_owned(),
    }
}

impl DatabaseUrl {
    pub fn parse(text: &str) -> anyhow::Result<DatabaseUrl> {
        if let Some(path) = text
            .strip_prefix("sqlite://")
            .or_else(|| text.strip_prefix("sqlite:"))
        {
            if path.is_empty() {
                bail!("the SQLite URL {text:?} names no file; use sqlite://PATH");
            }
            return Ok(DatabaseUrl::Sqlite(PathBuf::from(path)));
        }
        if text.starts_with("postgres://") || text.starts_with("postgresql://") {
            return Ok(DatabaseUrl::Postgres(text.to_owned()));
        }
        if text.contains("://") {
            bail!(
                "unknown database URL {:?}; use sqlite://PATH or postgres://…",
                redact_password(text)
            );
        }
        Ok(DatabaseUrl::Sqlite(PathBuf::from(text)))
    }
}

/// Opens the store a URL names, creating and migrating it if needed.
pub async fn open_store(url: &DatabaseUrl, clock: Arc<dyn Clock>) -> anyhow::Result<SharedStore> {
    match url {
        DatabaseUrl::Sqlite(path) => {
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir)
                    .with_context(|| format!("creating {}", dir.display()))?;
            }
            Ok(Arc::new(SqliteStore::open(path, clock)?))
        }
        DatabaseUrl::Postgres(url) => Ok(Arc::new(PgStore::open(url, clock).await?)),
    }
}

/// Loads a generated district and its demo accounts into an empty store,
/// through the door a real station uses: the district is written as a
/// station package (into `package_dir` when given, so an administrator can
/// look at it, and read back from there) and imported. Units then come on
/// duty where the district puts them. Returns false (and changes nothing)
/// when the store already holds a station.
pub async fn seed_demo(
    store: &SharedStore,
    district: &District,
    password: &str,
    package_dir: Option<&Path>,
) -> anyhow::Result<bool> {
    if store.count_users().await? > 0 || !store.jurisdiction().await?.zones.is_empty() {
        return Ok(false);
    }
    let mut files = precinct_station::write_package(&district.package())?;
    if let Some(dir) = package_dir {
        files.write_dir(dir)?;
        files = PackageFiles::open(dir)?;
    }
    // Every demo account shares the printed demo password, so one hash serves all.
    let hash =
        precinct_api::hash_password(password).map_err(|e| anyhow::anyhow!("hashing: {e}"))?;
    precinct_api::import_package(
        store,
        &precinct_api::heavy::HeavyWork::unbounded(),
        files,
        FirstPasswords::Shared(hash),
        Actor::system("demo"),
        precinct_storage::AuditEntry::command_line(chrono::Utc::now(), "import_station_package"),
    )
    .await
    .map_err(refusal)?;
    store
        .replace_roads(
            district.roads.clone(),
            district.addresses.clone(),
            Vec::new(),
            Actor::system("demo"),
        )
        .await?;
    deploy_units(store, district).await?;
    Ok(true)
}

/// Puts the district's units where it says: imported units wait at their
/// post; the demo's patrols, volunteers and grid workers are out on patrol
/// around the ground. Concurrent, so the writers commit them in a few batches.
async fn deploy_units(store: &SharedStore, district: &District) -> anyhow::Result<()> {
    let stored: HashMap<String, UnitId> = store
        .list_units()
        .await?
        .into_iter()
        .map(|u| (u.call_sign, u.id))
        .collect();
    let mut deployments = tokio::task::JoinSet::new();
    for unit in &district.units {
        let id = *stored
            .get(&unit.call_sign)
            .with_context(|| format!("unit {} was not imported", unit.call_sign))?;
        let (store, status, position) = (store.clone(), unit.status, unit.position);
        deployments.spawn(async move {
            let actor = Actor::system("demo");
            if status != UnitStatus::AtPost {
                store.update_unit_status(id, status, actor.clone()).await?;
            }
            if let Some(position) = position {
                store.report_unit_position(id, position, actor).await?;
            }
            Ok::<_, precinct_storage::StoreError>(())
        });
    }
    while let Some(done) = deployments.join_next().await {
        done??;
    }
    Ok(())
}

/// Creates a file only its owner may read, refusing one that exists.
pub fn create_secret_file(path: &Path) -> anyhow::Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options
        .open(path)
        .with_context(|| format!("creating {} (it must not exist yet)", path.display()))
}

/// A refused package as an error that lists its problems.
pub fn refusal(refusal: PackageRefusal) -> anyhow::Error {
    match refusal {
        PackageRefusal::Unreadable(reason) => {
            anyhow::anyhow!("the package cannot be opened: {reason}")
        }
        PackageRefusal::Problems { problems, warnings } => {
            let mut text = format!(
                "the package has {} problems; nothing was applied:",
                problems.len()
            );
            for problem in &problems {
                text.push_str(&format!("\n  {problem}"));
            }
            for warning in &warnings {
                text.push_str(&format!("\n  (ignored) {warning}"));
            }
            anyhow::anyhow!(text)
        }
        PackageRefusal::Store(e) => e.into(),
        PackageRefusal::Refused(e) => anyhow::anyhow!("{}", e.message),
        PackageRefusal::TooLarge(problem) => anyhow::anyhow!("the package is refused: {problem}"),
    }
}

/// Gives a fresh demo station its past: two years of incidents written to
/// `data_dir/history.csv` and imported as a station imports its history
/// file, then a year of dispute cases played at their times on `clock`
/// (which must be warming up; it is left at `until`). Returns the import's
/// report and how many cases were opened.
pub async fn seed_history(
    store: &SharedStore,
    district: &District,
    clock: &precinct_sim::DemoClock,
    until: chrono::DateTime<chrono::Utc>,
    seed: u64,
    data_dir: &Path,
) -> anyhow::Result<(precinct_api::station::history::HistoryReport, usize)> {
    let csv = precinct_sim::history::history_csv(district, until, seed);
    let path = data_dir.join("history.csv");
    std::fs::write(&path, csv).with_context(|| format!("writing {}", path.display()))?;
    let report = import_history(store, &path, None, ("Asia/Shanghai", false), |_| {}).await?;
    let cases = precinct_sim::disputes::play_disputes(
        store,
        district,
        clock,
        until - chrono::Duration::days(365),
        until,
        seed,
    )
    .await?;
    Ok((report, cases))
}

/// Imports a history file (with an optional mapping of old category codes)
/// into the station, reading local times in `time_zone`; reports each stage.
/// A refusal lists the first 50 problems and how many there are.
pub async fn import_history(
    store: &SharedStore,
    file: &std::path::Path,
    mapping: Option<&std::path::Path>,
    (time_zone, skip_invalid): (&str, bool),
    mut progress: impl FnMut(&str),
) -> anyhow::Result<precinct_api::station::history::HistoryReport> {
    use precinct_api::station::history::{HistoryRefusal, NamedFile};
    let tz: chrono_tz::Tz = time_zone
        .parse()
        .map_err(|_| anyhow::anyhow!("unknown time zone {time_zone:?}"))?;
    let read = |path: &std::path::Path| -> anyhow::Result<NamedFile> {
        Ok(NamedFile {
            name: path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            bytes: std::fs::read(path).with_context(|| format!("reading {}", path.display()))?,
        })
    };
    let rejects = rejects_path(file);
    let file = read(file)?;
    let mapping = mapping.map(read).transpose()?;
    progress(&format!(
        "read {} ({:.1} MB); checking its rows and importing them in one transaction",
        file.name,
        file.bytes.len() as f64 / 1e6
    ));
    let ground = std::sync::Arc::new(store.jurisdiction().await?);
    let result = precinct_api::station::history::import_history_file(
        store,
        &precinct_api::heavy::HeavyWork::unbounded(),
        ground,
        tz,
        (file, mapping),
        skip_invalid,
        (
            precinct_domain::event::Actor::system("history import"),
            precinct_storage::AuditEntry::command_line(chrono::Utc::now(), "import_history"),
        ),
    )
    .await;
    match result {
        Ok(outcome) => {
            if !outcome.rejects_csv.is_empty() {
                std::fs::write(&rejects, &outcome.rejects_csv)
                    .with_context(|| format!("writing {}", rejects.display()))?;
            }
            Ok(outcome.report)
        }
        Err(HistoryRefusal::Store(e)) => Err(e.into()),
        Err(HistoryRefusal::Refused(e)) => Err(anyhow::anyhow!("{}", e.message)),
        Err(HistoryRefusal::Problems(problems)) => {
            let mut text = format!(
                "the file has {} problems; nothing was imported:",
                problems.len()
            );
            for problem in problems.iter().take(50) {
                text.push_str(&format!("\n  {problem}"));
            }
            if problems.len() > 50 {
                text.push_str(&format!("\n  … and {} more", problems.len() - 50));
            }
            Err(anyhow::anyhow!(text))
        }
    }
}

/// Where `history import --skip-invalid` writes the refused rows: beside
/// the input, `history.csv` → `history.rejects.csv`.
pub fn rejects_path(file: &std::path::Path) -> std::path::PathBuf {
    let stem = file
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "history".into());
    file.with_file_name(format!("{stem}.rejects.csv"))
}

/// Imports an OpenStreetMap PBF extract as the station's road network,
/// and what it knows of addresses, reporting progress, and returns (nodes,
/// segments) of the driving graph and the addresses kept.
pub async fn import_roads(
    store: &SharedStore,
    path: &std::path::Path,
    mut progress: impl FnMut(&str),
) -> anyhow::Result<(usize, u32, usize)> {
    let file = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let roads = precinct_osm::read_roads(std::io::BufReader::new(file), |p| {
        progress(&format!(
            "blob {}: {} nodes, {} ways, {} roads",
            p.blobs, p.nodes, p.ways, p.road_ways
        ))
    })
    .with_context(|| format!("reading {}", path.display()))?;
    let network = precinct_geo::roads::RoadNetwork::build(&roads.ways);
    let nodes = network.usable_node_count(precinct_geo::roads::Profile::Driving);
    let addresses = roads.addresses.len();
    store
        .replace_roads(
            roads.ways,
            roads.addresses,
            roads.areas,
            precinct_domain::event::Actor::system("road import"),
        )
        .await?;
    Ok((nodes, network.segment_count(), addresses))
}

/// Creates one user (for `precinct user add`).
pub async fn add_user(
    store: &SharedStore,
    username: &str,
    display_name: Option<&str>,
    role: &str,
    password: &str,
    unit_call_sign: Option<&str>,
    organisation: Option<&str>,
) -> anyhow::Result<precinct_domain::user::User> {
    let username = Username::parse(username)?;
    let role = Role::parse(role).with_context(|| {
        let roles: Vec<_> = Role::ALL.iter().map(|r| r.as_str()).collect();
        format!("unknown role {role:?}; use one of {}", roles.join(", "))
    })?;
    if password.chars().count() < 8 {
        bail!("the password must have at least 8 characters");
    }
    let unit_id = match unit_call_sign {
        Some(call_sign) => Some(
            store
                .list_units()
                .await?
                .into_iter()
                .find(|u| u.call_sign == call_sign)
                .with_context(|| format!("no unit with call sign {call_sign:?}"))?
                .id,
        ),
        None => None,
    };
    let organisation_id = match organisation {
        Some(name) => Some(
            store
                .jurisdiction()
                .await?
                .organisations
                .iter()
                .find(|o| o.name == name)
                .with_context(|| format!("no organisation named {name:?}"))?
                .id,
        ),
        None => None,
    };
    let password_hash =
        precinct_api::hash_password(password).map_err(|e| anyhow::anyhow!("hashing: {e}"))?;
    let user = store
        .create_user(
            NewUser {
                display_name: display_name.unwrap_or(username.as_str()).to_owned(),
                username,
                role,
                password_hash,
                unit_id,
                organisation_id,
            },
            precinct_domain::event::Actor::system("precinct user add"),
        )
        .await?;
    Ok(user)
}

/// What `migrate-data` copied: per table, rows and the content hash that
/// matched on both sides.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrationReport {
    pub tables: Vec<(&'static str, u64, String)>,
}

impl std::fmt::Display for MigrationReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (table, rows, hash) in &self.tables {
            writeln!(f, "{table:<12} {rows:>9} rows  sha256 {hash}")?;
        }
        write!(
            f,
            "all {} tables copied; row counts and content hashes match",
            self.tables.len()
        )
    }
}

/// Rows per page when copying.
const MIGRATION_PAGE: u32 = 2000;

async fn table_hash(store: &SharedStore, table: Table) -> anyhow::Result<ContentHash> {
    let mut hash = ContentHash::default();
    loop {
        let page = store.export_rows(table, hash.rows, MIGRATION_PAGE).await?;
        if page.is_empty() {
            return Ok(hash);
        }
        page.iter().for_each(|row| hash.add(row));
    }
}

/// Copies a whole station from one database into an empty one, table by
/// table, then re-reads both sides and compares row counts and content
/// hashes. The source station should be stopped while it runs.
pub async fn migrate_data(
    from: &DatabaseUrl,
    to: &DatabaseUrl,
    mut progress: impl FnMut(&str),
) -> anyhow::Result<MigrationReport> {
    if from == to {
        bail!("the source and the destination are the same database");
    }
    let source = open_store(from, Arc::new(SystemClock))
        .await
        .context("opening the source")?;
    let destination = open_store(to, Arc::new(SystemClock))
        .await
        .context("opening the destination")?;
    for table in Table::ALL {
        if !destination.export_rows(table, 0, 1).await?.is_empty() {
            bail!(
                "the destination already holds data (table {}); migrate into an empty database",
                table.name()
            );
        }
    }
    let mut report = MigrationReport { tables: Vec::new() };
    for table in Table::ALL {
        let mut copied = 0u64;
        loop {
            let page = source.export_rows(table, copied, MIGRATION_PAGE).await?;
            if page.is_empty() {
                break;
            }
            copied += page.len() as u64;
            destination
                .import_rows(table, page)
                .await
                .with_context(|| format!("copying {}", table.name()))?;
            progress(&format!("{}: {copied} rows copied", table.name()));
        }
        let (expected, actual) = (
            table_hash(&source, table).await?,
            table_hash(&destination, table).await?,
        );
        if expected.rows != actual.rows || expected.hex() != actual.hex() {
            bail!(
                "{} differs after the copy: source {} rows ({}), destination {} rows ({})",
                table.name(),
                expected.rows,
                expected.hex(),
                actual.rows,
                actual.hex()
            );
        }
        progress(&format!("{}: {} rows verified", table.name(), actual.rows));
        report
            .tables
            .push((table.name(), actual.rows, actual.hex()));
    }
    destination.finish_import().await?;
    source.shutdown().await;
    destination.shutdown().await;
    Ok(report)
}

/// Prints what `verify` found; true when every chain is whole.
pub fn print_verification(reports: &[precinct_storage::chain::TableReport]) -> bool {
    let mut whole = true;
    for report in reports {
        match (&report.broken, &report.head) {
            (Some(broken), _) => {
                whole = false;
                println!("BROKEN  {broken}");
            }
            (None, Some((id, hash))) => println!(
                "ok      {}: {} rows chained; head: row {id}, hash {hash}",
                report.table, report.rows
            ),
            (None, None) if report.rows > 0 => println!(
                "ok      {}: {} rows, each as its sealed events say",
                report.table, report.rows
            ),
            (None, None) => println!("ok      {}: empty", report.table),
        }
    }
    whole
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
    tracing::info!("shutting down: finishing in-flight requests");
}

/// Binds, announces the address on stdout, and serves until shutdown.
pub async fn run_server(
    addr: &str,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("binding {addr}"))?;
    let local = listener.local_addr()?;
    // Tests and scripts read this line to learn the port.
    println!("listening on http://{local}");
    tracing::info!(%local, "serving");
    precinct_api::serve(listener, state, shutdown).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_urls() {
        assert_eq!(
            DatabaseUrl::parse("sqlite://data/p.db").unwrap(),
            DatabaseUrl::Sqlite("data/p.db".into())
        );
        assert_eq!(
            DatabaseUrl::parse("sqlite:///abs/p.db").unwrap(),
            DatabaseUrl::Sqlite("/abs/p.db".into())
        );
        assert_eq!(
            DatabaseUrl::parse("p.db").unwrap(),
            DatabaseUrl::Sqlite("p.db".into())
        );
        assert!(DatabaseUrl::parse("sqlite://").is_err());
        assert!(DatabaseUrl::parse("mysql://x").is_err());
        assert_eq!(
            DatabaseUrl::parse("postgres://h/x").unwrap(),
            DatabaseUrl::Postgres("postgres://h/x".into())
        );
        assert_eq!(
            format!(
                "{:?}",
                DatabaseUrl::parse("postgres://u:secret@h/x").unwrap()
            ),
            "postgres://u:***@h/x"
        );
        assert_eq!(redact_password("postgres://u@h/x"), "postgres://u@h/x");
        assert_eq!(
            redact_password("postgres://u:s%40cret%3A1@h:5432/x?sslmode=disable"),
            "postgres://u:***@h:5432/x?sslmode=disable"
        );
        assert!(!redact_password("postgres://u:secret@[::1/x").contains("secret"));
    }
}
