//! Station package benchmark (issue 14): a city-sized package, 2,000 units,
//! 5,000 people, 1,000 grid cells, 10,000 places (with 2 zones, 50
//! communities, 52 posts, 200 organisations, 500 cameras), written as a
//! real package (GeoJSON, .xlsx), then in one run:
//!
//! 1. read: parsing the files into records;
//! 2. validation: read + every check (codes, references, shapes) + the plan
//!    against an empty station — what `validate_station_package` does;
//! 3. import on SQLite into a fresh database: validation, one-time passwords
//!    for 5,000 new accounts, and the one import transaction;
//! 4. re-import of the same package (nothing changes);
//! 5. the same import and re-import on PostgreSQL when
//!    PRECINCT_TEST_DATABASE_URL names a server.
//!
//! Run: `cargo bench -p precinct --bench station` (BENCH_RUNS=3 by default;
//! the best and the median of the runs are printed).

use precinct_domain::dispute::OrganisationKind;
use precinct_domain::event::Actor;
use precinct_domain::ground::{PlaceKind, PostKind};
use precinct_domain::station::*;
use precinct_domain::unit::UnitKind;
use precinct_domain::user::{Role, Username};
use precinct_geo::{Coordinates, Polygon};
use precinct_station::PackageFiles;
use precinct_storage::{SharedStore, SystemClock};
use std::sync::Arc;
use std::time::{Duration, Instant};

const COLUMNS: usize = 10;
const ROWS: usize = 5;
/// Each community's size in degrees (about 1 km).
const STEP: f64 = 0.01;

fn c(lat: f64, lon: f64) -> Coordinates {
    Coordinates::new(lat, lon).unwrap()
}

fn at(file: &str) -> Source {
    Source::file(file)
}

/// A deterministic city: communities on a 10 × 5 lattice, each with 20 grid
/// cells, a community police office, 200 places and 10 cameras.
fn city() -> StationPackage {
    let (south, west) = (28.0, 113.0);
    let mut random = 0x2545_f491_4f6c_dd1du64;
    let mut next = move || {
        random ^= random << 13;
        random ^= random >> 7;
        random ^= random << 17;
        (random >> 11) as f64 / (1u64 << 53) as f64
    };
    let zones = vec![
        ZoneRecord {
            at: at("zones.geojson"),
            code: "W".into(),
            name: "西部防区".into(),
            boundary: Polygon::rectangle(
                c(south, west),
                c(south + STEP * ROWS as f64, west + STEP * 5.0),
            ),
        },
        ZoneRecord {
            at: at("zones.geojson"),
            code: "E".into(),
            name: "东部防区".into(),
            boundary: Polygon::rectangle(
                c(south, west + STEP * 5.0),
                c(south + STEP * ROWS as f64, west + STEP * COLUMNS as f64),
            ),
        },
    ];
    let (mut communities, mut grid_cells, mut posts, mut places, mut cameras) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for row in 0..ROWS {
        for column in 0..COLUMNS {
            let code = format!("C{row}{column}");
            let (s, w) = (south + STEP * row as f64, west + STEP * column as f64);
            communities.push(CommunityRecord {
                at: at("communities.geojson"),
                code: code.clone(),
                name: format!("第{row}{column}社区"),
                parent: if column < 5 { "W".into() } else { "E".into() },
                boundary: Polygon::rectangle(c(s, w), c(s + STEP, w + STEP)),
            });
            for cell in 0..20 {
                let (cs, cw) = (
                    s + STEP / 4.0 * (cell / 5) as f64,
                    w + STEP / 5.0 * (cell % 5) as f64,
                );
                grid_cells.push(GridCellRecord {
                    at: at("grid_cells.geojson"),
                    code: format!("{code}-{cell:02}"),
                    name: format!("第{row}{column}社区第{cell}网格"),
                    parent: code.clone(),
                    boundary: Polygon::rectangle(c(cs, cw), c(cs + STEP / 4.0, cw + STEP / 5.0)),
                });
            }
            posts.push(PostRecord {
                at: at("posts.geojson"),
                code: format!("P-{code}"),
                name: format!("第{row}{column}社区警务室"),
                kind: Some(PostKind::CommunityPoliceOffice),
                parent: code.clone(),
                location: c(s + STEP / 2.0, w + STEP / 2.0),
            });
            for n in 0..200 {
                places.push(PlaceRecord {
                    at: at("places.geojson"),
                    code: format!("PL-{code}-{n:03}"),
                    name: format!("第{row}{column}社区{n}号楼"),
                    kind: PlaceKind::ResidentialCompound,
                    address: format!("某某路{n}号"),
                    aliases: Vec::new(),
                    parent: Some(code.clone()),
                    parent_place: None,
                    location: c(
                        s + STEP * (0.05 + 0.9 * next()),
                        w + STEP * (0.05 + 0.9 * next()),
                    ),
                });
            }
            for n in 0..10 {
                cameras.push(CameraRecord {
                    at: at("cameras.geojson"),
                    code: format!("CAM-{code}-{n}"),
                    name: format!("第{row}{column}社区视频点{n}"),
                    parent: Some(code.clone()),
                    direction: Some(90.0),
                    stream_url: None,
                    location: c(s + STEP * next(), w + STEP * next()),
                });
            }
        }
    }
    for (code, zone, lon) in [
        ("P-W", "W", west + STEP * 2.5),
        ("P-E", "E", west + STEP * 7.5),
    ] {
        posts.push(PostRecord {
            at: at("posts.geojson"),
            code: code.into(),
            name: format!("{zone}警务驻点"),
            kind: Some(PostKind::PolicePost),
            parent: zone.into(),
            location: c(south + STEP * 2.5, lon),
        });
    }
    // 200 companies, each managing 50 places.
    let organisations: Vec<OrganisationRecord> = (0..200)
        .map(|n| OrganisationRecord {
            at: at("organisations.xlsx"),
            code: format!("ORG-{n:03}"),
            name: format!("第{n}物业公司"),
            kind: OrganisationKind::PropertyCompany,
            manages: places[n * 50..(n + 1) * 50]
                .iter()
                .map(|p| p.code.clone())
                .collect(),
            community: None,
        })
        .collect();
    let kinds = [
        UnitKind::PatrolCar,
        UnitKind::FootPatrol,
        UnitKind::CommunityPoliceTeam,
        UnitKind::VolunteerPoliceTeam,
        UnitKind::SecurityForceTeam,
        UnitKind::GridWorker,
        UnitKind::GridWorker,
        UnitKind::GridWorker,
    ];
    let units: Vec<UnitRecord> = (0..2000)
        .map(|n| UnitRecord {
            at: at("units.xlsx"),
            call_sign: format!("U{n:04}"),
            name: format!("力量{n}"),
            kind: kinds[n % kinds.len()],
            post: Some(posts[n % posts.len()].code.clone()),
            zone: None,
            capabilities: Vec::new(),
            phone: precinct_domain::incident::PhoneNumber::parse(&format!("1380000{n:04}")).ok(),
            organisation: None,
            members: 2,
        })
        .collect();
    let roles = [
        Role::Officer,
        Role::Volunteer,
        Role::Dispatcher,
        Role::Mediator,
        Role::Analyst,
    ];
    let people: Vec<PersonRecord> = (0..5000)
        .map(|n| {
            let role = roles[n % roles.len()];
            PersonRecord {
                at: at("people.xlsx"),
                username: Username::parse(&format!("user{n:04}")).unwrap(),
                name: format!("人员{n}"),
                role,
                unit: matches!(role, Role::Officer | Role::Volunteer)
                    .then(|| format!("U{:04}", n % 2000)),
                organisation: (role == Role::Mediator).then(|| format!("ORG-{:03}", n % 200)),
                phone: precinct_domain::incident::PhoneNumber::parse(&format!("1390000{n:04}"))
                    .ok(),
            }
        })
        .collect();
    StationPackage {
        name: "基准测试派出所".into(),
        time_zone: "Asia/Shanghai".into(),
        zones: Some(zones),
        communities: Some(communities),
        grid_cells: Some(grid_cells),
        posts: Some(posts),
        places: Some(places),
        cameras: Some(cameras),
        organisations: Some(organisations),
        units: Some(units),
        people: Some(people),
        categories: None,
    }
}

fn runs() -> usize {
    std::env::var("BENCH_RUNS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(3)
}

/// (best, median) of the runs.
fn summary(mut times: Vec<Duration>) -> (f64, f64) {
    times.sort();
    (times[0].as_secs_f64(), times[times.len() / 2].as_secs_f64())
}

fn row(name: &str, times: Vec<Duration>, goal: Option<f64>) {
    let (best, median) = summary(times);
    let goal = goal.map_or(String::new(), |g| {
        format!("{g:.0} s ({:.0}% of it)", 100.0 * median / g)
    });
    println!("| {name} | {best:.3} | {median:.3} | {goal} |");
}

async fn import(store: &SharedStore, files: &PackageFiles) -> Duration {
    let started = Instant::now();
    let report = precinct_api::import_package(
        store,
        &precinct_api::heavy::HeavyWork::unbounded(),
        files.clone(),
        precinct_api::FirstPasswords::OneTime,
        Actor::system("bench"),
        precinct_storage::AuditEntry::command_line(chrono::Utc::now(), "bench"),
    )
    .await
    .map_err(precinct::refusal)
    .unwrap();
    let elapsed = started.elapsed();
    assert!(
        report
            .changes
            .iter()
            .any(|c| c.added > 0 || c.unchanged > 0)
    );
    elapsed
}

async fn backend(name: &str, files: &PackageFiles, mut fresh: impl AsyncFnMut() -> SharedStore) {
    let (mut first, mut again) = (Vec::new(), Vec::new());
    for _ in 0..runs() {
        let store = fresh().await;
        first.push(import(&store, files).await);
        again.push(import(&store, files).await);
        let units = store.list_units().await.unwrap().len();
        assert_eq!(units, 2000);
        store.shutdown().await;
    }
    let goal = (name == "SQLite").then_some(5.0);
    row(
        &format!("import into an empty station, {name}"),
        first,
        goal,
    );
    row(&format!("re-import (no change), {name}"), again, None);
}

#[tokio::main]
async fn main() {
    let package = city();
    let files = precinct_station::write_package(&package).unwrap();
    let bytes: usize = files.names().map(|n| files.get(n).unwrap().len()).sum();
    println!(
        "package: {} files, {:.1} MB (2 zones, 50 communities, 1,000 grid cells, 52 posts, 10,000 places, 500 cameras, 200 organisations, 2,000 units, 5,000 people)\n",
        files.names().count(),
        bytes as f64 / 1e6
    );
    println!("| phase | best s | median s | goal |");
    println!("|---|---|---|---|");

    let mut reads = Vec::new();
    let mut validations = Vec::new();
    for _ in 0..runs() {
        let started = Instant::now();
        let read = precinct_station::read_package(&files).unwrap();
        reads.push(started.elapsed());
        let plan = validate(&read, &StationState::default()).unwrap();
        validations.push(started.elapsed());
        assert_eq!(plan.new_usernames().len(), 5000);
    }
    row("read the files", reads, None);
    row("validation (read + checks + plan)", validations, Some(1.0));

    let dir = tempfile::Builder::new()
        .prefix("station-bench")
        .tempdir_in(
            std::env::var("BENCH_DIR").unwrap_or_else(|_| env!("CARGO_TARGET_TMPDIR").into()),
        )
        .unwrap();
    let mut n = 0;
    backend("SQLite", &files, async || {
        n += 1;
        let url = precinct::DatabaseUrl::Sqlite(dir.path().join(format!("bench-{n}.db")));
        precinct::open_store(&url, Arc::new(SystemClock))
            .await
            .unwrap()
    })
    .await;
    if let Some(admin) = precinct_postgres::testing::test_database_url() {
        backend("PostgreSQL", &files, async || {
            let url = precinct_postgres::testing::scratch_database(&admin)
                .await
                .unwrap();
            precinct::open_store(&precinct::DatabaseUrl::Postgres(url), Arc::new(SystemClock))
                .await
                .unwrap()
        })
        .await;
    } else {
        println!("\nPostgreSQL skipped: PRECINCT_TEST_DATABASE_URL is not set");
    }
}
