//! `precinct`: the command platform's one binary.

use anyhow::Context;
use clap::{Parser, Subcommand};
use precinct::{DatabaseUrl, open_store, seed_demo};
use precinct_api::AppState;
use precinct_sim::{ScaledClock, Simulator, SimulatorConfig};
use precinct_storage::{SharedStore, SystemClock};
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
        #[arg(long, env = "PRECINCT_SERVER__ADDR", default_value = "127.0.0.1:8080")]
        addr: String,
        /// Where the demo keeps its SQLite database.
        #[arg(long, env = "PRECINCT_DEMO__DATA_DIR", default_value = "precinct-demo")]
        data_dir: PathBuf,
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
    },
    /// Run a real station against a database.
    Serve {
        #[arg(long, env = "PRECINCT_SERVER__ADDR", default_value = "127.0.0.1:8080")]
        addr: String,
        /// sqlite://PATH
        #[arg(long, env = "PRECINCT_DATABASE__URL")]
        database: String,
    },
    /// Manage accounts.
    User {
        #[command(subcommand)]
        command: UserCommand,
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
    },
}

fn init_tracing() {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_env("PRECINCT_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    init_tracing();
    match Cli::parse().command {
        Command::Demo {
            addr,
            data_dir,
            seed,
            demo_password,
            speed,
            intensity,
            no_simulator,
        } => {
            demo(
                addr,
                data_dir,
                seed,
                demo_password,
                speed,
                intensity,
                no_simulator,
            )
            .await
        }
        Command::Serve { addr, database } => serve(addr, database).await,
        Command::User {
            command:
                UserCommand::Add {
                    database,
                    username,
                    role,
                    display_name,
                    unit,
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
            let store = open_store(&DatabaseUrl::parse(&database)?, Arc::new(SystemClock))?;
            let shared: SharedStore = store.clone();
            let user = precinct::add_user(
                &shared,
                &username,
                display_name.as_deref(),
                &role,
                &password,
                unit.as_deref(),
            )
            .await?;
            store.close();
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

async fn serve(addr: String, database: String) -> anyhow::Result<()> {
    let store = open_store(&DatabaseUrl::parse(&database)?, Arc::new(SystemClock))?;
    let shared: SharedStore = store.clone();
    if shared.count_users().await? == 0 {
        tracing::warn!(
            "this station has no users yet: add an admin with `precinct user add --role admin`"
        );
    }
    let state = AppState::new(shared, Arc::new(SystemClock)).await?;
    precinct::run_server(&addr, state, precinct::shutdown_signal()).await?;
    // In-flight requests have finished; let the writer drain and stop.
    store.close();
    Ok(())
}

#[allow(clippy::too_many_arguments)]
async fn demo(
    addr: String,
    data_dir: PathBuf,
    seed: u64,
    password: String,
    speed: f64,
    intensity: f64,
    no_simulator: bool,
) -> anyhow::Result<()> {
    let clock = Arc::new(ScaledClock::new(chrono::Utc::now(), speed));
    let store = open_store(
        &DatabaseUrl::Sqlite(data_dir.join("precinct.db")),
        clock.clone(),
    )?;
    let shared: SharedStore = store.clone();
    let district = precinct_sim::generate(seed);
    let fresh = seed_demo(&shared, &district, &password).await?;
    let state = AppState::new(shared.clone(), clock.clone()).await?;

    println!(
        "Precinct demo — {} (seed {seed}, speed {speed}x)",
        district.ground.station_name
    );
    println!("data: {}", data_dir.display());
    if fresh {
        println!("accounts (password: {password}):");
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
    let simulator = (!no_simulator).then(|| {
        let config = SimulatorConfig {
            seed,
            intensity,
            ..SimulatorConfig::default()
        };
        tokio::spawn(
            Simulator::new(shared.clone(), clock.clone(), state.ground(), config).run(stopped),
        )
    });
    let shutdown = async move {
        precinct::shutdown_signal().await;
        let _ = stop.send(true);
    };
    precinct::run_server(&addr, state, shutdown).await?;
    if let Some(simulator) = simulator {
        let _ = simulator.await;
    }
    store.close();
    Ok(())
}
