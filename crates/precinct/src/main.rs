//! `precinct`: the command platform's one binary.

use anyhow::Context;
use clap::{Parser, Subcommand};
use precinct::{DatabaseUrl, open_store, seed_demo};
use precinct_api::AppState;
use precinct_sim::{DemoClock, Simulator, SimulatorConfig};
use precinct_storage::SystemClock;
use std::io::Read;
use std::path::PathBuf;
use std::sync::Arc;

#[derive(Debug, Parser)]
#[command(
    name = "precinct",
    version,
    about = "Precinct — command platform for community policing (警务指挥平台)"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run a demo station: a generated district, demo accounts and a live incident simulator.
    Demo {
        #[command(flatten)]
        station: StationArgs,
        /// Where the demo keeps its SQLite database.
        #[arg(long, env = "PRECINCT_DEMO__DATA_DIR", default_value = "precinct-demo")]
        data_dir: PathBuf,
        /// Use this database instead (e.g. postgres://…); default: SQLite in --data-dir.
        #[arg(long, env = "PRECINCT_DATABASE__URL")]
        database: Option<String>,
        #[arg(long, env = "PRECINCT_DEMO__SEED", default_value_t = 42)]
        seed: u64,
        /// The password of every demo account.
        #[arg(long, env = "PRECINCT_DEMO__PASSWORD", default_value = "precinct-demo")]
        demo_password: String,
        /// Simulated seconds per real second.
        #[arg(long, env = "PRECINCT_DEMO__SPEED", default_value_t = 1.0)]
        speed: f64,
        /// Multiplies the simulator's incident rates.
        #[arg(long, env = "PRECINCT_DEMO__INTENSITY", default_value_t = 1.0)]
        intensity: f64,
        /// Serve the district without simulated incidents.
        #[arg(long)]
        no_simulator: bool,
        /// Hours of the station's past the simulator plays before a new demo
        /// opens, so it opens mid-shift with handled, closed and open
        /// incidents (0: open on an empty station).
        #[arg(long, env = "PRECINCT_DEMO__WARM_UP_HOURS", default_value_t = 8)]
        warm_up_hours: u32,
    },
    /// Run a real station against a database.
    Serve {
        #[command(flatten)]
        station: StationArgs,
        /// sqlite://PATH or postgres://USER@HOST/DB
        #[arg(long, env = "PRECINCT_DATABASE__URL")]
        database: String,
        /// How old a unit's position may be before it is stale, for every
        /// kind (otherwise by kind: patrol cars and foot patrols 10 minutes,
        /// post teams 60, the others 30).
        #[arg(long, env = "PRECINCT_DISPATCH__STALE_AFTER_MINUTES")]
        stale_after_minutes: Option<u32>,
        /// Per-kind limits over those: `patrol_car=5,grid_worker=45` (minutes).
        #[arg(long, env = "PRECINCT_DISPATCH__STALE_AFTER")]
        stale_after: Option<String>,
    },
    /// Copy a station into an empty database (e.g. SQLite to PostgreSQL), verified by counts and hashes.
    MigrateData {
        #[arg(long)]
        from: String,
        #[arg(long)]
        to: String,
    },
    /// Load an OpenStreetMap PBF extract as the station's road network.
    /// Running instances pick it up when restarted.
    ImportRoads {
        /// The .osm.pbf file.
        file: PathBuf,
        #[arg(long, env = "PRECINCT_DATABASE__URL")]
        database: String,
    },
    /// Check that the event log and the audit log are unbroken: recompute
    /// every row's hash chain and report the first broken link (exit 1).
    Verify {
        #[arg(long, env = "PRECINCT_DATABASE__URL")]
        database: String,
    },
    /// Take an online, consistent copy of the station's database into DEST
    /// (SQLite: the backup API, while the server runs; PostgreSQL: pg_dump).
    Backup {
        #[arg(long, env = "PRECINCT_DATABASE__URL")]
        database: String,
        dest: PathBuf,
    },
    /// Put a backup in place as the station's database, once its record
    /// verifies (SQLite: stop the server first; PostgreSQL: into an empty database).
    Restore {
        #[arg(long, env = "PRECINCT_DATABASE__URL")]
        database: String,
        source: PathBuf,
        /// Replace an existing SQLite database file.
        #[arg(long)]
        replace: bool,
    },
    /// Print the API's OpenAPI document (the same as /api/openapi.json).
    Openapi,
    /// Manage accounts.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Set a station up from its own files: a station package (see the README).
    Station {
        #[command(subcommand)]
        command: StationCommand,
    },
    /// The station's past incidents (历史警情).
    History {
        #[command(subcommand)]
        command: HistoryCommand,
    },
}

#[derive(Debug, Subcommand)]
enum HistoryCommand {
    /// Import past incidents from .xlsx or .csv (UTF-8 or GBK) in one
    /// transaction; rows already imported (by external id) are left as they
    /// are, so importing again changes nothing (see the README).
    Import {
        file: PathBuf,
        #[arg(long, env = "PRECINCT_DATABASE__URL")]
        database: String,
        /// A table of old category codes (old_code, category) to the station's.
        #[arg(long)]
        mapping: Option<PathBuf>,
        /// The zone local times in the file are read in (default: the
        /// station's own, from its package).
        #[arg(long, env = "PRECINCT_STATION__TIME_ZONE")]
        time_zone: Option<String>,
        /// Import the valid rows and write the refused ones, each with its
        /// reasons, to FILE.rejects.csv beside the input (by default one bad
        /// row refuses the whole file).
        #[arg(long)]
        skip_invalid: bool,
    },
}

#[derive(Debug, Subcommand)]
enum StationCommand {
    /// Write an example package (one of everything, Chinese headers) into DIR.
    Template { dir: PathBuf },
    /// Check a package (a directory or a .zip) against the station: every
    /// problem, or the changes an import would make. Changes nothing.
    Validate {
        path: PathBuf,
        #[arg(long, env = "PRECINCT_DATABASE__URL")]
        database: String,
    },
    /// Import a package in one transaction (all or nothing). New accounts get
    /// one-time passwords, written once to --passwords.
    Import {
        path: PathBuf,
        #[arg(long, env = "PRECINCT_DATABASE__URL")]
        database: String,
        /// Where to write the new accounts' one-time passwords (CSV); it must
        /// not exist yet. Default: one-time-passwords-<time>.csv here.
        #[arg(long)]
        passwords: Option<PathBuf>,
    },
    /// Write the station as a package: DEST ending in .zip, else a directory.
    Export {
        dest: PathBuf,
        #[arg(long, env = "PRECINCT_DATABASE__URL")]
        database: String,
    },
}

#[derive(Debug, Subcommand)]
enum UserCommand {
    /// Add a user. The password is read from PRECINCT_PASSWORD or standard input.
    Add {
        #[arg(long, env = "PRECINCT_DATABASE__URL")]
        database: String,
        #[arg(long)]
        username: String,
        /// admin, dispatcher, officer, volunteer, mediator or analyst.
        #[arg(long)]
        role: String,
        #[arg(long)]
        display_name: Option<String>,
        /// The call sign of the unit a field user belongs to.
        #[arg(long)]
        unit: Option<String>,
        /// The organisation (by name) a mediator or company staff member belongs to.
        #[arg(long)]
        organisation: Option<String>,
    },
}

/// What `demo` and `serve` both take: where to listen and how the station
/// is set up.
#[derive(Debug, clap::Args)]
struct StationArgs {
    #[arg(long, env = "PRECINCT_SERVER__ADDR", default_value = "127.0.0.1:8080")]
    addr: String,
    /// Response plans (TOML) to use instead of the shipped ones.
    #[arg(long, env = "PRECINCT_DISPATCH__PLANS")]
    plans: Option<PathBuf>,
    /// Overrides the station's time zone (its package's `station.toml`
    /// `time_zone`), an IANA name. Without it the package's zone governs.
    #[arg(long, env = "PRECINCT_STATION__TIME_ZONE")]
    time_zone: Option<String>,
    /// A PMTiles file of the city, drawn under the station's own map layers.
    #[arg(long, env = "PRECINCT_MAP__BASEMAP")]
    basemap: Option<PathBuf>,
    /// The CJK font for printed agreements (default: fonts-wqy-microhei or Noto CJK).
    #[arg(long, env = "PRECINCT_DOCS__CJK_FONT")]
    cjk_font: Option<PathBuf>,
    /// A bearer token (16+ characters) that lets a scraper read /metrics;
    /// without it only an administrator's session may.
    #[arg(long, env = "PRECINCT_METRICS__TOKEN", hide_env_values = true)]
    metrics_token: Option<String>,
    #[command(flatten)]
    limits: LimitArgs,
}

/// Abuse limits (see the README, "Limits").
#[derive(Debug, clap::Args)]
struct LimitArgs {
    /// Seconds a client may take to send a request's headers.
    #[arg(
        long,
        env = "PRECINCT_LIMITS__HEADER_TIMEOUT_SECS",
        default_value_t = 10
    )]
    header_timeout_secs: u64,
    /// Seconds a client may take to send a request's body (else 408).
    #[arg(long, env = "PRECINCT_LIMITS__BODY_TIMEOUT_SECS", default_value_t = 60)]
    body_timeout_secs: u64,
    /// Seconds a station package upload may take.
    #[arg(
        long,
        env = "PRECINCT_LIMITS__UPLOAD_TIMEOUT_SECS",
        default_value_t = 600
    )]
    upload_timeout_secs: u64,
    /// Live event streams one session may hold open at once.
    #[arg(
        long,
        env = "PRECINCT_LIMITS__STREAMS_PER_SESSION",
        default_value_t = 8
    )]
    streams_per_session: usize,
    /// Password checks computed at once (default: half the cores).
    #[arg(long, env = "PRECINCT_LIMITS__PASSWORD_CHECKS")]
    password_checks: Option<usize>,
    /// Uploads (station packages, history files) read and checked at once; others wait.
    #[arg(long, env = "PRECINCT_LIMITS__UPLOAD_CHECKS", default_value_t = 1)]
    upload_checks: usize,
    /// Seconds reading and checking one upload may take (else 422 too_complex).
    #[arg(
        long,
        env = "PRECINCT_LIMITS__UPLOAD_CHECK_SECS",
        default_value_t = 120
    )]
    upload_check_secs: u64,
    /// Failed logins of one username from one address (or known device) before cool-downs.
    #[arg(
        long,
        env = "PRECINCT_LIMITS__LOGIN_FREE_FAILURES",
        default_value_t = 5
    )]
    login_free_failures: u32,
    /// Failed logins from one address, all usernames, before its cool-downs.
    #[arg(
        long,
        env = "PRECINCT_LIMITS__LOGIN_ADDRESS_FREE_FAILURES",
        default_value_t = 300
    )]
    login_address_free_failures: u32,
    /// Failed logins of one username, all addresses, before its cool-downs (known devices excepted).
    #[arg(
        long,
        env = "PRECINCT_LIMITS__LOGIN_USERNAME_FREE_FAILURES",
        default_value_t = 30
    )]
    login_username_free_failures: u32,
    /// /readyz says not ready below this many MiB free on the database's disk.
    #[arg(long, env = "PRECINCT_LIMITS__MIN_FREE_DISK_MB", default_value_t = 256)]
    min_free_disk_mb: u64,
    /// Hours a session lasts after login.
    #[arg(long, env = "PRECINCT_AUTH__SESSION_HOURS", default_value_t = 12)]
    session_hours: u32,
    /// Minutes without a request after which an administrator's session ends.
    #[arg(long, env = "PRECINCT_AUTH__ADMIN_IDLE_MINUTES", default_value_t = 30)]
    admin_idle_minutes: u32,
    /// Minutes without a request after which other sessions end (0: never; the lifetime still applies).
    #[arg(long, env = "PRECINCT_AUTH__IDLE_MINUTES", default_value_t = 0)]
    idle_minutes: u32,
    /// Whether admins and dispatchers must enrol a second factor (TOTP):
    /// `required` (the default of `serve`) or `optional` (the default of `demo`).
    #[arg(long, env = "PRECINCT_AUTH__SECOND_FACTOR")]
    second_factor: Option<SecondFactorPolicy>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum SecondFactorPolicy {
    Required,
    Optional,
}

impl LimitArgs {
    /// The limits, with the second factor required unless said otherwise
    /// when `second_factor_by_default`.
    fn limits(
        &self,
        second_factor_by_default: bool,
    ) -> anyhow::Result<precinct_api::limits::Limits> {
        use std::time::Duration;
        let defaults = precinct_api::limits::Limits::default();
        if self.header_timeout_secs == 0
            || self.body_timeout_secs == 0
            || self.upload_timeout_secs == 0
        {
            anyhow::bail!("timeouts must be at least one second");
        }
        if self.streams_per_session == 0
            || self.password_checks == Some(0)
            || self.upload_checks == 0
            || self.upload_check_secs == 0
        {
            anyhow::bail!(
                "--streams-per-session, --password-checks, --upload-checks and --upload-check-secs must be at least 1"
            );
        }
        Ok(precinct_api::limits::Limits {
            header_timeout: Duration::from_secs(self.header_timeout_secs),
            body_timeout: Duration::from_secs(self.body_timeout_secs),
            upload_timeout: Duration::from_secs(self.upload_timeout_secs),
            streams_per_session: self.streams_per_session,
            password_checks: self.password_checks.unwrap_or(defaults.password_checks),
            upload_checks: self.upload_checks,
            upload_check_deadline: Duration::from_secs(self.upload_check_secs),
            login: precinct_api::limits::LoginLimits {
                free_failures: self.login_free_failures.max(1),
                address_free_failures: self.login_address_free_failures.max(1),
                username_free_failures: self.login_username_free_failures.max(1),
                ..defaults.login
            },
            min_free_disk_bytes: self.min_free_disk_mb.saturating_mul(1024 * 1024),
            session_lifetime: chrono::TimeDelta::hours(i64::from(self.session_hours.max(1))),
            admin_idle: chrono::TimeDelta::minutes(i64::from(self.admin_idle_minutes.max(1))),
            idle: (self.idle_minutes > 0)
                .then(|| chrono::TimeDelta::minutes(i64::from(self.idle_minutes))),
            second_factor_required: match self.second_factor {
                Some(policy) => policy == SecondFactorPolicy::Required,
                None => second_factor_by_default,
            },
        })
    }
}

impl StationArgs {
    /// Applies these settings, refusing a wrong file, zone or plan at start-up.
    /// `second_factor_by_default`: whether admins and dispatchers must enrol
    /// a second factor unless `--second-factor` says otherwise (a real
    /// station: yes; the demo: no).
    fn apply(
        &self,
        mut state: AppState,
        second_factor_by_default: bool,
    ) -> anyhow::Result<AppState> {
        state = state.with_limits(self.limits.limits(second_factor_by_default)?);
        if let Some(zone) = &self.time_zone {
            state = state.with_time_zone(zone).map_err(anyhow::Error::msg)?;
            let station = state.ground().time_zone.clone().unwrap_or_default();
            tracing::warn!(
                time_zone = %zone,
                station = %station,
                "the time zone is overridden (--time-zone): local times, periods and printed documents use it instead of the station's own"
            );
        }
        if let Some(path) = &self.basemap {
            state = state
                .with_basemap(path.clone())
                .map_err(anyhow::Error::msg)?;
        }
        if let Some(token) = &self.metrics_token {
            state = state
                .with_metrics_token(token)
                .map_err(anyhow::Error::msg)?;
        }
        if let Some(path) = &self.cjk_font {
            state = state
                .with_cjk_font(path.clone())
                .map_err(anyhow::Error::msg)?;
        }
        if let Some((path, text, plans)) = read_plans(self.plans.as_ref())? {
            // A plan naming a code the station does not have is a typo
            // until proved otherwise: refused, with where it is.
            if let Some(code) = plans
                .unknown_codes(&state.ground().category_table())
                .first()
            {
                let line = text
                    .lines()
                    .position(|l| l.contains(&format!("\"{code}\"")))
                    .map_or(String::new(), |n| format!(" (line {})", n + 1));
                anyhow::bail!(
                    "plans file {}{line}: category {code:?} is not in the station's code table",
                    path.display()
                );
            }
            state = state.with_plans(plans);
        }
        Ok(state)
    }
}

fn init_tracing() {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_env("PRECINCT_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}

/// What the demo runs with.
#[derive(Debug)]
struct DemoConfig {
    station: StationArgs,
    database: DatabaseUrl,
    /// Where the demo writes its district as a station package.
    data_dir: PathBuf,
    seed: u64,
    password: String,
    speed: f64,
    intensity: f64,
    simulator: bool,
    warm_up_hours: u32,
}

/// Reads the station's plans file, if one is given; errors name the file and the line.
/// The plans file (with its text, for naming lines later), if one is given.
fn read_plans(
    path: Option<&PathBuf>,
) -> anyhow::Result<Option<(&PathBuf, String, precinct_domain::plan::Plans)>> {
    let Some(path) = path else { return Ok(None) };
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading plans file {}", path.display()))?;
    let plans = precinct_api::load_plans(&text)
        .map_err(|e| anyhow::anyhow!("plans file {}: {e}", path.display()))?;
    Ok(Some((path, text, plans)))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    init_tracing();
    match Cli::parse().command {
        Command::Demo {
            station,
            data_dir,
            database,
            seed,
            demo_password,
            speed,
            intensity,
            no_simulator,
            warm_up_hours,
        } => {
            let database = match database {
                Some(url) => DatabaseUrl::parse(&url)?,
                None => DatabaseUrl::Sqlite(data_dir.join("precinct.db")),
            };
            std::fs::create_dir_all(&data_dir)
                .with_context(|| format!("creating {}", data_dir.display()))?;
            let config = DemoConfig {
                station,
                database,
                data_dir,
                seed,
                password: demo_password,
                speed,
                intensity,
                simulator: !no_simulator,
                warm_up_hours,
            };
            demo(config).await
        }
        Command::Serve {
            station,
            database,
            stale_after_minutes,
            stale_after,
        } => {
            let mut limits = match stale_after_minutes {
                Some(minutes) => {
                    precinct_domain::unit::StaleLimits::uniform(i64::from(minutes.max(1)))
                }
                None => precinct_domain::unit::StaleLimits::default(),
            };
            if let Some(text) = stale_after {
                limits = limits
                    .overridden(&text)
                    .map_err(|e| anyhow::anyhow!("--stale-after: {e}"))?;
            }
            serve(station, DatabaseUrl::parse(&database)?, limits).await
        }
        Command::ImportRoads { file, database } => {
            let store = open_store(&DatabaseUrl::parse(&database)?, Arc::new(SystemClock)).await?;
            let (nodes, segments, addresses) =
                precinct::import_roads(&store, &file, |line| eprintln!("  {line}")).await?;
            store.shutdown().await;
            println!(
                "imported {}: {nodes} drivable nodes, {segments} road segments, {addresses} addresses and named places",
                file.display()
            );
            Ok(())
        }
        Command::Station { command } => station(command).await,
        Command::History {
            command:
                HistoryCommand::Import {
                    file,
                    database,
                    mapping,
                    time_zone,
                    skip_invalid,
                },
        } => {
            let store = open_store(&DatabaseUrl::parse(&database)?, Arc::new(SystemClock)).await?;
            let time_zone = match time_zone {
                Some(zone) => zone,
                None => station_time_zone(&store).await?,
            };
            let started = std::time::Instant::now();
            let result = precinct::import_history(
                &store,
                &file,
                mapping.as_deref(),
                (&time_zone, skip_invalid),
                |line| println!("{line}"),
            )
            .await;
            store.shutdown().await;
            let report = result?;
            let seconds = started.elapsed().as_secs_f64();
            println!(
                "imported {}: {} rows, {} new, {} already present, {} outside the ground ({:.1} s, {:.0} rows/s)",
                report.file,
                report.rows,
                report.inserted,
                report.already_present,
                report.outside,
                seconds,
                report.rows as f64 / seconds.max(1e-9)
            );
            if report.skipped > 0 {
                println!(
                    "skipped {} refused rows; each with its reasons in {}",
                    report.skipped,
                    precinct::rejects_path(&file).display()
                );
            }
            Ok(())
        }
        Command::Openapi => {
            println!("{}", precinct_api::openapi::document());
            Ok(())
        }
        Command::Verify { database } => {
            let reports = precinct::backup::verify(&DatabaseUrl::parse(&database)?).await?;
            if !precinct::print_verification(&reports) {
                std::process::exit(1);
            }
            Ok(())
        }
        Command::Backup { database, dest } => {
            let database = DatabaseUrl::parse(&database)?;
            precinct::backup::backup(&database, &dest).await?;
            println!("backed up {database:?} into {}", dest.display());
            Ok(())
        }
        Command::Restore {
            database,
            source,
            replace,
        } => {
            let database = DatabaseUrl::parse(&database)?;
            let reports = precinct::backup::restore(&database, &source, replace).await?;
            precinct::print_verification(&reports);
            println!("restored {} into {database:?}", source.display());
            Ok(())
        }
        Command::MigrateData { from, to } => {
            let (from, to) = (DatabaseUrl::parse(&from)?, DatabaseUrl::parse(&to)?);
            eprintln!("copying {from:?} into {to:?}");
            let report = precinct::migrate_data(&from, &to, |line| eprintln!("  {line}")).await?;
            println!("{report}");
            Ok(())
        }
        Command::User {
            command:
                UserCommand::Add {
                    database,
                    username,
                    role,
                    display_name,
                    unit,
                    organisation,
                },
        } => {
            let password = match std::env::var("PRECINCT_PASSWORD") {
                Ok(p) => p,
                Err(_) => {
                    let mut p = String::new();
                    std::io::stdin()
                        .read_to_string(&mut p)
                        .context("reading the password from stdin")?;
                    p.trim_end_matches(['\r', '\n']).to_owned()
                }
            };
            let store = open_store(&DatabaseUrl::parse(&database)?, Arc::new(SystemClock)).await?;
            let user = precinct::add_user(
                &store,
                &username,
                display_name.as_deref(),
                &role,
                &password,
                unit.as_deref(),
                organisation.as_deref(),
            )
            .await?;
            store.shutdown().await;
            println!(
                "added user {} ({}) with id {}",
                user.username.as_str(),
                user.role,
                user.id
            );
            Ok(())
        }
    }
}

async fn station(command: StationCommand) -> anyhow::Result<()> {
    use precinct_station::PackageFiles;
    match command {
        StationCommand::Template { dir } => {
            precinct_station::template()?.write_dir(&dir)?;
            println!("wrote an example station package into {}", dir.display());
            Ok(())
        }
        StationCommand::Validate { path, database } => {
            let files = PackageFiles::open(&path)?;
            let store = open_store(&DatabaseUrl::parse(&database)?, Arc::new(SystemClock)).await?;
            let result = precinct_api::validate_package(
                &store,
                &precinct_api::heavy::HeavyWork::unbounded(),
                files,
            )
            .await;
            store.shutdown().await;
            let validated = result.map_err(precinct::refusal)?;
            println!(
                "{} is valid; importing it would make these changes:",
                path.display()
            );
            for change in &validated.plan.changes {
                println!("  {change}");
            }
            for warning in &validated.warnings {
                println!("  (ignored) {warning}");
            }
            Ok(())
        }
        StationCommand::Import {
            path,
            database,
            passwords,
        } => {
            let files = PackageFiles::open(&path)?;
            let passwords = passwords.unwrap_or_else(|| {
                PathBuf::from(format!(
                    "one-time-passwords-{}.csv",
                    chrono::Utc::now().format("%Y%m%dT%H%M%SZ")
                ))
            });
            // Refused before anything is imported: the passwords must have a
            // place to go, and an older file is never overwritten.
            let mut out = precinct::create_secret_file(&passwords)?;
            let store = open_store(&DatabaseUrl::parse(&database)?, Arc::new(SystemClock)).await?;
            let result = precinct_api::import_package(
                &store,
                &precinct_api::heavy::HeavyWork::unbounded(),
                files,
                precinct_api::FirstPasswords::OneTime,
                precinct_domain::event::Actor::system("station import"),
                precinct_storage::AuditEntry::command_line(
                    chrono::Utc::now(),
                    "import_station_package",
                ),
            )
            .await;
            store.shutdown().await;
            let report = match result {
                Ok(report) => report,
                Err(refusal) => {
                    drop(out);
                    let _ = std::fs::remove_file(&passwords);
                    return Err(precinct::refusal(refusal));
                }
            };
            for change in &report.changes {
                println!("  {}", change.summary);
            }
            for warning in &report.warnings {
                println!("  (ignored) {}: {}", warning.file, warning.message);
            }
            if report.accounts.is_empty() {
                drop(out);
                std::fs::remove_file(&passwords)?;
                println!("imported {}; no new accounts", path.display());
            } else {
                use std::io::Write;
                writeln!(out, "username,name,one_time_password")?;
                for account in &report.accounts {
                    writeln!(
                        out,
                        "{},{},{}",
                        account.username, account.display_name, account.one_time_password
                    )?;
                }
                out.sync_all()?;
                println!(
                    "imported {}; {} new accounts: their one-time passwords are in {} (hand them out, then delete the file; each must be changed at first login)",
                    path.display(),
                    report.accounts.len(),
                    passwords.display()
                );
            }
            Ok(())
        }
        StationCommand::Export { dest, database } => {
            let store = open_store(&DatabaseUrl::parse(&database)?, Arc::new(SystemClock)).await?;
            let state = store.station_state().await;
            store.shutdown().await;
            let package = precinct_domain::station::StationPackage::of_station(&state?);
            let files = precinct_station::write_package(&package)?;
            if dest
                .extension()
                .is_some_and(|e| e.eq_ignore_ascii_case("zip"))
            {
                std::fs::write(&dest, files.to_zip()?)
                    .with_context(|| format!("writing {}", dest.display()))?;
            } else {
                files.write_dir(&dest)?;
            }
            println!("exported the station into {}", dest.display());
            Ok(())
        }
    }
}

async fn serve(
    station: StationArgs,
    database: DatabaseUrl,
    stale_after: precinct_domain::unit::StaleLimits,
) -> anyhow::Result<()> {
    tracing::info!(?database, "opening the station's database");
    let store = open_store(&database, Arc::new(SystemClock)).await?;
    if store.count_users().await? == 0 {
        tracing::warn!(
            "this station has no users yet: add an admin with `precinct user add --role admin`"
        );
    }
    let mut state = station.apply(
        AppState::new(store.clone(), Arc::new(SystemClock)).await?,
        true,
    )?;
    state.stale_after = stale_after;
    precinct::run_server(&station.addr, state, precinct::shutdown_signal()).await?;
    // In-flight requests have finished; let the writer drain and stop.
    store.shutdown().await;
    Ok(())
}

async fn demo(config: DemoConfig) -> anyhow::Result<()> {
    // A new demo with a simulator first plays the hours before now; the
    // clock stands at the warm-up's start until then, so the district is
    // seeded at that time too.
    let opened_at = chrono::Utc::now();
    let warm_up = config.simulator && config.warm_up_hours > 0;
    let warm_up_from = opened_at - chrono::Duration::hours(i64::from(config.warm_up_hours));
    // The clock stands still while the district, its past and the warm-up
    // are written, each at its own time.
    let clock = Arc::new(DemoClock::warming_up(warm_up_from, config.speed));
    let store = open_store(&config.database, clock.clone()).await?;
    let district = precinct_sim::generate(config.seed);
    let package_dir = config.data_dir.join("station-package");
    let fresh = seed_demo(&store, &district, &config.password, Some(&package_dir)).await?;
    if fresh {
        println!("writing the station's past: two years of incidents and a year of disputes…");
        let started = std::time::Instant::now();
        let (history, cases) = precinct::seed_history(
            &store,
            &district,
            &clock,
            warm_up_from,
            config.seed,
            &config.data_dir,
        )
        .await?;
        println!(
            "past written in {:.1} s: {} incidents imported from {}, {cases} dispute cases",
            started.elapsed().as_secs_f64(),
            history.inserted,
            config.data_dir.join("history.csv").display()
        );
    }
    if !(warm_up && fresh) {
        // Existing data, or no warm-up: time goes on from now.
        clock.go_live();
    }
    let state = config
        .station
        .apply(AppState::new(store.clone(), clock.clone()).await?, false)?;

    println!(
        "Precinct demo — {} (seed {}, speed {}x)",
        district.ground.station_name, config.seed, config.speed
    );
    println!("data: {:?}", config.database);
    if fresh {
        println!("accounts (password: {}):", config.password);
    } else {
        println!("existing demo data reused; accounts keep the password they were created with:");
    }
    for account in district.accounts {
        println!(
            "  {:<12} {:<10} {}",
            account.username,
            account.role.as_str(),
            account.display_name
        );
    }

    let (stop, stopped) = tokio::sync::watch::channel(false);
    let simulator = if config.simulator {
        let settings = SimulatorConfig {
            seed: config.seed,
            intensity: config.intensity,
            ..SimulatorConfig::default()
        };
        let mut simulator = Simulator::new(
            store.clone(),
            clock.clone(),
            state.ground(),
            state.roads(),
            state.plans(),
            settings,
        );
        if warm_up && fresh {
            println!(
                "warming up: simulating the station's last {} hours…",
                config.warm_up_hours
            );
            let reports = simulator.warm_up(&clock, warm_up_from, opened_at).await?;
            println!("warmed up: reports in those hours: {reports}");
        }
        clock.go_live();
        Some(tokio::spawn(simulator.run(stopped)))
    } else {
        None
    };
    let shutdown = async move {
        precinct::shutdown_signal().await;
        let _ = stop.send(true);
    };
    precinct::run_server(&config.station.addr, state, shutdown).await?;
    if let Some(simulator) = simulator {
        let _ = simulator.await;
    }
    store.shutdown().await;
    Ok(())
}

/// The station's own time zone (its package's), Asia/Shanghai when it has none.
async fn station_time_zone(store: &precinct_storage::SharedStore) -> anyhow::Result<String> {
    Ok(store
        .jurisdiction()
        .await?
        .time_zone
        .unwrap_or_else(|| "Asia/Shanghai".to_owned()))
}
