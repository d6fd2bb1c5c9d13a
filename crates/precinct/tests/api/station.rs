//! A real station set up from its own files, as its administrator would:
//! a package built on Monaco (the repository's own OSM extract gives the
//! streets): zones and communities as GeoJSON, grid cells as a zipped
//! Shapefile with a GBK `.dbf`, posts on real streets, units in `.xlsx`,
//! grid workers in a GBK `.csv`, people and organisations. Imported with the
//! CLI into a fresh database, served, and used: an incident on a real street
//! gets the recommended plan by road and it is dispatched. On SQLite and
//! PostgreSQL. Also: a broken package changes nothing, re-importing changes
//! nothing, export → import gives the same station, a retired unit keeps
//! its name in the incidents it worked, and only admins may import.

use crate::common::{Backend, fresh_database};
use crate::crash::database_arg;
use crate::spawn::{Spawned, precinct};
use precinct_geo::Coordinates;
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const ADMIN_PASSWORD: &str = "station-admin-password";

fn monaco_extract() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/monaco.osm.pbf")
}

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_precinct"))
        .args(args)
        .env("PRECINCT_LOG", "warn")
        .env("PRECINCT_PASSWORD", ADMIN_PASSWORD)
        .output()
        .expect("the precinct binary runs")
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// Points on Monaco's driving streets nearest to where the posts and
/// places should stand, so the package's posts are on real streets.
fn on_streets(targets: &[(f64, f64)]) -> Vec<Coordinates> {
    let file =
        std::fs::File::open(monaco_extract()).expect("the Monaco extract ships in testdata/");
    let roads = precinct_osm::read_roads(std::io::BufReader::new(file), |_| {}).unwrap();
    let nodes: Vec<Coordinates> = roads
        .ways
        .iter()
        .filter(|w| w.class != precinct_geo::roads::RoadClass::Footway)
        .flat_map(|w| w.nodes.iter().map(|(_, c)| *c))
        .collect();
    targets
        .iter()
        .map(|&(lat, lon)| {
            let target = Coordinates::new(lat, lon).unwrap();
            *nodes
                .iter()
                .min_by(|a, b| a.distance_m(target).total_cmp(&b.distance_m(target)))
                .unwrap()
        })
        .collect()
}

fn square(s: f64, w: f64, n: f64, e: f64) -> Value {
    json!({"type": "Polygon", "coordinates": [[[w, s], [e, s], [e, n], [w, n], [w, s]]]})
}

fn feature(geometry: Value, properties: Value) -> Value {
    json!({"type": "Feature", "geometry": geometry, "properties": properties})
}

fn point(c: Coordinates) -> Value {
    json!({"type": "Point", "coordinates": [c.lon(), c.lat()]})
}

fn collection(features: Vec<Value>) -> String {
    json!({"type": "FeatureCollection", "features": features}).to_string()
}

const SOUTH: f64 = 43.723;
const MIDDLE: f64 = 43.739;
const NORTH: f64 = 43.755;
const WEST: f64 = 7.405;
const CENTRE: f64 = 7.425;
const EAST: f64 = 7.445;

/// (code, name, zone, south, west, north, east) of the four communities.
const COMMUNITIES: [(&str, &str, &str, f64, f64, f64, f64); 4] = [
    ("FV", "枫丹维耶社区", "W", SOUTH, WEST, MIDDLE, CENTRE),
    ("MC", "摩纳哥城社区", "W", MIDDLE, WEST, NORTH, CENTRE),
    ("CD", "拉孔达米纳社区", "E", SOUTH, CENTRE, MIDDLE, EAST),
    ("MO", "蒙特卡洛社区", "E", MIDDLE, CENTRE, NORTH, EAST),
];

/// Grid cells as a zipped Shapefile whose `.dbf` is GBK with no `.cpg`.
fn grid_cells_shapefile() -> Vec<u8> {
    use shapefile::dbase::{self, FieldValue, Record, TableWriterBuilder};
    let scratch = tempfile::tempdir().unwrap();
    {
        let create = |name: &str| std::fs::File::create(scratch.path().join(name)).unwrap();
        let table =
            TableWriterBuilder::with_encoding(dbase::encoding::EncodingRs::from(encoding_rs::GBK))
                .add_character_field("code".try_into().unwrap(), 10)
                .add_character_field("name".try_into().unwrap(), 30)
                .add_character_field("parent".try_into().unwrap(), 10)
                .build_with_dest(create("grid_cells.dbf"));
        let mut writer = shapefile::Writer::new(
            shapefile::ShapeWriter::with_shx(create("grid_cells.shp"), create("grid_cells.shx")),
            table,
        );
        for (code, name, _, s, w, n, e) in COMMUNITIES {
            let half = (w + e) / 2.0;
            for (index, (west, east)) in [(w, half), (half, e)].into_iter().enumerate() {
                let ring = vec![
                    shapefile::Point::new(west, s),
                    shapefile::Point::new(west, n),
                    shapefile::Point::new(east, n),
                    shapefile::Point::new(east, s),
                    shapefile::Point::new(west, s),
                ];
                let mut record = Record::default();
                let cell = format!("{code}-{}", index + 1);
                record.insert("code".into(), FieldValue::Character(Some(cell)));
                record.insert(
                    "name".into(),
                    FieldValue::Character(Some(format!("{name}第{}网格", index + 1))),
                );
                record.insert("parent".into(), FieldValue::Character(Some(code.into())));
                writer
                    .write_shape_and_record(
                        &shapefile::Polygon::new(shapefile::PolygonRing::Outer(ring)),
                        &record,
                    )
                    .unwrap();
            }
        }
    }
    let mut inner = precinct_station::PackageFiles::new();
    for extension in ["shp", "shx", "dbf"] {
        let name = format!("grid_cells.{extension}");
        inner.insert(&name, std::fs::read(scratch.path().join(&name)).unwrap());
    }
    inner.to_zip().unwrap()
}

/// Units in `.xlsx` under Chinese headers.
fn units_xlsx(rows: &[[&str; 6]]) -> Vec<u8> {
    let mut workbook = rust_xlsxwriter::Workbook::new();
    let sheet = workbook.add_worksheet();
    sheet.set_name("警力").unwrap();
    for (column, header) in ["呼号", "名称", "类型", "警务点", "能力", "电话"]
        .iter()
        .enumerate()
    {
        sheet.write_string(0, column as u16, *header).unwrap();
    }
    for (row, cells) in rows.iter().enumerate() {
        for (column, cell) in cells.iter().enumerate() {
            if !cell.is_empty() {
                sheet
                    .write_string(row as u32 + 1, column as u16, *cell)
                    .unwrap();
            }
        }
    }
    workbook.save_to_buffer().unwrap()
}

const UNITS: &[[&str; 6]] = &[
    [
        "西区驻点",
        "西区警务驻点民警",
        "post_team",
        "P-W",
        "",
        "+377 93 15 30 15",
    ],
    [
        "东区驻点",
        "东区警务驻点民警",
        "post_team",
        "P-E",
        "",
        "+377 93 15 30 16",
    ],
    [
        "西巡1",
        "西区巡逻车1",
        "patrol_car",
        "P-W",
        "law_enforcement;patrol;vehicle",
        "",
    ],
    [
        "东巡1",
        "东区巡逻车1",
        "patrol_car",
        "P-E",
        "law_enforcement；patrol；vehicle",
        "",
    ],
    [
        "蒙特卡洛警务队",
        "蒙特卡洛1+N+N社区警务团队",
        "community_police_team",
        "P-MO",
        "",
        "",
    ],
    [
        "枫丹维耶警务队",
        "枫丹维耶1+N+N社区警务团队",
        "community_police_team",
        "P-FV",
        "",
        "",
    ],
];

/// Writes the Monaco station package into `dir`.
fn write_monaco_package(dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    let write = |name: &str, bytes: &[u8]| std::fs::write(dir.join(name), bytes).unwrap();
    write(
        "station.toml",
        "name = \"摩纳哥测试派出所\"\ntime_zone = \"Europe/Monaco\"\ndatum = \"wgs84\"\n"
            .as_bytes(),
    );
    write(
        "zones.geojson",
        collection(vec![
            feature(
                square(SOUTH, WEST, NORTH, CENTRE),
                json!({"code": "W", "name": "西部警务防区"}),
            ),
            feature(
                square(SOUTH, CENTRE, NORTH, EAST),
                json!({"编码": "E", "名称": "东部警务防区"}),
            ),
        ])
        .as_bytes(),
    );
    write(
        "communities.geojson",
        collection(
            COMMUNITIES
                .iter()
                .map(|(code, name, zone, s, w, n, e)| {
                    feature(
                        square(*s, *w, *n, *e),
                        json!({"code": code, "name": name, "parent": zone}),
                    )
                })
                .collect(),
        )
        .as_bytes(),
    );
    write("grid_cells.zip", &grid_cells_shapefile());
    // Posts and places on real streets.
    let spots = on_streets(&[
        (43.7320, 7.4170), // Fontvieille
        (43.7395, 7.4275), // Casino square
        (43.7440, 7.4330), // Monte-Carlo
        (43.7300, 7.4160), // Fontvieille office
        (43.7347, 7.4210), // Port Hercule
        (43.7395, 7.4290), // near the casino
    ]);
    write(
        "posts.geojson",
        collection(vec![
            feature(
                point(spots[0]),
                json!({"code": "P-W", "name": "西区警务驻点", "parent": "W"}),
            ),
            feature(
                point(spots[1]),
                json!({"code": "P-E", "name": "东区警务驻点", "parent": "E"}),
            ),
            feature(
                point(spots[2]),
                json!({"code": "P-MO", "name": "蒙特卡洛警务室", "parent": "MO"}),
            ),
            feature(
                point(spots[3]),
                json!({"code": "P-FV", "name": "枫丹维耶警务室", "parent": "FV"}),
            ),
        ])
        .as_bytes(),
    );
    write(
        "places.geojson",
        collection(vec![
            feature(
                point(spots[4]),
                json!({"code": "PL-PORT", "name": "赫拉克勒斯港", "kind": "other", "address": "Quai Albert 1er", "aliases": "港口；Port Hercule"}),
            ),
            feature(
                point(spots[5]),
                json!({"code": "PL-CASINO", "name": "蒙特卡洛赌场广场", "kind": "street", "address": "Place du Casino"}),
            ),
        ])
        .as_bytes(),
    );
    write("units.xlsx", &units_xlsx(UNITS));
    // Grid workers kept by the community in a GBK CSV from office software.
    let grid_workers = "呼号,名称,类型,警务点,电话\n\
        网格员01,蒙特卡洛网格员张敏,grid_worker,P-MO,13800000001\n\
        网格员02,枫丹维耶网格员王芳,grid_worker,P-FV,13800000002\n";
    write(
        "units-grid-workers.csv",
        &encoding_rs::GBK.encode(grid_workers).0,
    );
    let mut people = b"\xEF\xBB\xBF".to_vec();
    people.extend_from_slice(
        "username,name,role,unit,organisation,phone\n\
         duty.officer,值班指挥员,dispatcher,,,\n\
         li.ming,李明,officer,东区驻点,,13900000001\n\
         zhang.min,张敏,volunteer,网格员01,,13800000001\n\
         mediator.judicial,司法所调解员,mediator,,ORG-JUD,\n"
            .as_bytes(),
    );
    write("people.csv", &people);
    // The station's own incident code table: two shipped codes kept, one of
    // its own added, the rest retired.
    write(
        "categories.csv",
        "code,name_zh,name_en,family,default_priority\n\
         theft,盗窃,Theft,criminal,2\n\
         fight_assault,打架斗殴,Fight / assault,criminal,1\n\
         dian-dong-che,电动车被盗,E-bike theft,criminal,2\n"
            .as_bytes(),
    );
    write(
        "organisations.csv",
        "编码,名称,类型,管理地点\n\
         ORG-STATION,摩纳哥测试派出所,police_station,\n\
         ORG-JUD,司法所,judicial_office,\n\
         ORG-PORT,港口管理公司,market_management,PL-PORT\n"
            .as_bytes(),
    );
}

struct Station {
    _dir: tempfile::TempDir,
    package: PathBuf,
    database: String,
    passwords: PathBuf,
}

/// A fresh database with the Monaco package imported by the CLI, its roads
/// imported, and an administrator. None when the backend is not configured.
async fn imported_station(backend: Backend) -> Option<Station> {
    let dir = tempfile::tempdir().unwrap();
    let url = fresh_database(backend, dir.path()).await?;
    let database = database_arg(&url);
    let package = dir.path().join("monaco-package");
    write_monaco_package(&package);
    let package_arg = package.to_str().unwrap();

    let validated = run(&["station", "validate", package_arg, "--database", &database]);
    assert!(validated.status.success(), "{}", text(&validated));
    assert!(
        text(&validated).contains("8 units added"),
        "{}",
        text(&validated)
    );

    let passwords = dir.path().join("passwords.csv");
    let imported = run(&[
        "station",
        "import",
        package_arg,
        "--database",
        &database,
        "--passwords",
        passwords.to_str().unwrap(),
    ]);
    assert!(imported.status.success(), "{}", text(&imported));
    assert!(
        text(&imported).contains("4 new accounts"),
        "{}",
        text(&imported)
    );
    let roads = run(&[
        "import-roads",
        monaco_extract().to_str().unwrap(),
        "--database",
        &database,
    ]);
    assert!(roads.status.success(), "{}", text(&roads));
    let admin = run(&[
        "user",
        "add",
        "--database",
        &database,
        "--username",
        "admin",
        "--role",
        "admin",
    ]);
    assert!(admin.status.success(), "{}", text(&admin));
    Some(Station {
        _dir: dir,
        package,
        database,
        passwords,
    })
}

fn one_time_password(station: &Station, username: &str) -> String {
    let file = std::fs::read_to_string(&station.passwords).unwrap();
    assert!(
        file.starts_with("username,name,one_time_password\n"),
        "{file}"
    );
    file.lines()
        .find_map(|line| {
            let cells: Vec<&str> = line.split(',').collect();
            (cells[0] == username).then(|| cells[2].to_owned())
        })
        .unwrap_or_else(|| panic!("no password for {username} in {file}"))
}

async fn call(
    client: &reqwest::Client,
    method: reqwest::Method,
    url: String,
    token: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut request = client.request(method, url).bearer_auth(token);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let text = response.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

async fn login(client: &reqwest::Client, base: &str, username: &str, password: &str) -> Value {
    let response = client
        .post(format!("{base}/api/auth/login"))
        .json(&json!({"username": username, "password": password}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK, "login {username}");
    response.json().await.unwrap()
}

fn serve(station: &Station) -> Spawned {
    precinct([
        "serve",
        "--addr",
        "127.0.0.1:0",
        "--second-factor",
        "optional",
        "--database",
        &station.database,
    ])
}

async fn a_real_city_station_goes_live_from_its_files(backend: Backend) {
    let Some(station) = imported_station(backend).await else {
        eprintln!("skipped on PostgreSQL: PRECINCT_TEST_DATABASE_URL is not set");
        return;
    };
    let server = serve(&station);
    let base = &server.base;
    let client = reqwest::Client::new();
    let get = |path: &str, token: &str| {
        let (url, token, client) = (format!("{base}{path}"), token.to_owned(), client.clone());
        async move { call(&client, reqwest::Method::GET, url, &token, None).await }
    };

    // The dispatcher from the roster logs in with the one-time password and
    // must set their own before anything else.
    let first = login(
        &client,
        base,
        "duty.officer",
        &one_time_password(&station, "duty.officer"),
    )
    .await;
    assert_eq!(first["user"]["must_change_password"], true);
    let token = first["token"].as_str().unwrap().to_owned();
    let (status, body) = get("/api/incidents", &token).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("password_change_required"))
    );
    let (status, body) = call(
        &client,
        reqwest::Method::POST,
        format!("{base}/api/auth/password"),
        &token,
        Some(json!({"current_password": one_time_password(&station, "duty.officer"), "new_password": "short"})),
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_field"))
    );
    let (status, _) = call(
        &client,
        reqwest::Method::POST,
        format!("{base}/api/auth/password"),
        &token,
        Some(json!({"current_password": one_time_password(&station, "duty.officer"), "new_password": "my own long password"})),
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, me) = get("/api/me", &token).await;
    assert_eq!(me["must_change_password"], false);
    // The one-time password no longer works; the new one does.
    let stale = client
        .post(format!("{base}/api/auth/login"))
        .json(&json!({"username": "duty.officer", "password": one_time_password(&station, "duty.officer")}))
        .send()
        .await
        .unwrap();
    assert_eq!(stale.status(), StatusCode::UNAUTHORIZED);
    let token = login(&client, base, "duty.officer", "my own long password").await["token"]
        .as_str()
        .unwrap()
        .to_owned();

    // The ground, the forces and the accounts are the station's own.
    let (_, ground) = get("/api/jurisdiction", &token).await;
    assert_eq!(ground["station_name"], "摩纳哥测试派出所");
    assert_eq!(ground["zones"].as_array().unwrap().len(), 2);
    assert_eq!(ground["grid_cells"].as_array().unwrap().len(), 8);
    assert_eq!(
        ground["grid_cells"][0]["name"], "枫丹维耶社区第1网格",
        "GBK .dbf read"
    );
    let (_, units) = get("/api/units", &token).await;
    let units = units.as_array().unwrap().clone();
    assert_eq!(units.len(), 8);
    let grid_worker = units.iter().find(|u| u["call_sign"] == "网格员01").unwrap();
    assert_eq!(grid_worker["kind"], "grid_worker", "GBK CSV read");
    let (_, places) = get("/api/places?q=港口", &token).await;
    assert_eq!(places[0]["name"], "赫拉克勒斯港", "aliases are searched");
    // The officer account belongs to its unit.
    let officer = login(
        &client,
        base,
        "li.ming",
        &one_time_password(&station, "li.ming"),
    )
    .await;
    let east_post = units.iter().find(|u| u["call_sign"] == "东区驻点").unwrap();
    assert_eq!(officer["user"]["unit_id"], east_post["id"]);

    // A fight reported on a real street near the casino.
    let scene = on_streets(&[(43.7402, 7.4265)])[0];
    let (status, created) = call(
        &client,
        reqwest::Method::POST,
        format!("{base}/api/incidents"),
        &token,
        Some(json!({
            "source": "instruction_110", "external_id": "MC-0001", "category": "fight_assault", "priority": 1,
            "location": {"lat": scene.lat(), "lon": scene.lon()}, "address": "Avenue de Monte-Carlo",
            "summary": "两人在赌场广场附近打架",
        })),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let incident = &created["incident"];
    assert!(incident["zone_id"].is_number(), "on the ground: {incident}");
    assert!(incident["grid_cell_id"].is_number(), "{incident}");
    let id = incident["id"].as_i64().unwrap();
    let (status, plan) = get(&format!("/api/incidents/{id}/recommendation"), &token).await;
    assert_eq!(status, StatusCode::OK, "{plan}");
    let proposed: Vec<&Value> = plan["forces"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|f| f["candidates"].as_array().unwrap())
        .filter(|c| c["proposed"] == true)
        .collect();
    assert!(!proposed.is_empty(), "{plan}");
    for candidate in &proposed {
        assert_eq!(
            candidate["estimated"], false,
            "by road, not a straight line: {candidate}"
        );
        assert!(candidate["road_distance_m"].as_f64().unwrap() > 0.0);
    }
    // The east post stands by the casino: its units are the nearest police by road.
    let police = plan["forces"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["role"] == "patrol_police")
        .unwrap();
    let nearest = police["candidates"][0]["call_sign"].as_str().unwrap();
    assert!(["东区驻点", "东巡1"].contains(&nearest), "{plan}");
    let (status, dispatched) = call(
        &client,
        reqwest::Method::POST,
        format!("{base}/api/incidents/{id}/dispatch-plan"),
        &token,
        Some(json!({})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{dispatched}");
    assert_eq!(dispatched["incident"]["status"], "dispatched");
    assert_eq!(dispatched["dispatched_unit_ids"], plan["proposed_unit_ids"]);

    // Categories are the station's: its own code is taken in (with its
    // default priority and family, and a plan: the last plan covers every
    // code), a shipped code it left out is refused.
    let report = |category: &str| {
        json!({"source": "phone", "category": category, "location": {"lat": scene.lat(), "lon": scene.lon()},
               "summary": "电动车在楼下被盗"})
    };
    let (status, own) = call(
        &client,
        reqwest::Method::POST,
        format!("{base}/api/incidents"),
        &token,
        Some(report("dian-dong-che")),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{own}");
    assert_eq!(own["incident"]["family"], "criminal");
    assert_eq!(
        own["incident"]["priority"], 2,
        "the category's default priority"
    );
    assert_eq!(own["incident"]["category_label_zh"], "电动车被盗");
    let own_id = own["incident"]["id"].as_i64().unwrap();
    let (status, _) = get(&format!("/api/incidents/{own_id}/recommendation"), &token).await;
    assert_eq!(status, StatusCode::OK);
    let (status, refused) = call(
        &client,
        reqwest::Method::POST,
        format!("{base}/api/incidents"),
        &token,
        Some(report("fire")),
    )
    .await;
    assert_eq!(
        (status, refused["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("unknown_category"))
    );
    let (_, ground) = get("/api/jurisdiction", &token).await;
    let codes: Vec<&str> = ground["categories"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, ["theft", "fight_assault", "dian-dong-che"]);
    drop(server);

    // Importing the same package again changes nothing.
    let again = run(&[
        "station",
        "import",
        station.package.to_str().unwrap(),
        "--database",
        &station.database,
        "--passwords",
        station.package.join("../again.csv").to_str().unwrap(),
    ]);
    assert!(again.status.success(), "{}", text(&again));
    let output = text(&again);
    assert!(
        output.contains("0 units added, 0 changed, 0 retired, 8 unchanged"),
        "{output}"
    );
    assert!(output.contains("no new accounts"), "{output}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_real_city_station_goes_live_from_its_files_on_sqlite() {
    a_real_city_station_goes_live_from_its_files(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_real_city_station_goes_live_from_its_files_on_postgres() {
    a_real_city_station_goes_live_from_its_files(Backend::Postgres).await;
}

/// Export → import into an empty database → export: the same station.
async fn export_then_import_gives_the_same_station(backend: Backend) {
    let Some(station) = imported_station(backend).await else {
        eprintln!("skipped on PostgreSQL: PRECINCT_TEST_DATABASE_URL is not set");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let exported = dir.path().join("exported.zip");
    let export = run(&[
        "station",
        "export",
        exported.to_str().unwrap(),
        "--database",
        &station.database,
    ]);
    assert!(export.status.success(), "{}", text(&export));
    let other = fresh_database(backend, dir.path()).await.unwrap();
    let other = database_arg(&other);
    let import = run(&[
        "station",
        "import",
        exported.to_str().unwrap(),
        "--database",
        &other,
        "--passwords",
        dir.path().join("p.csv").to_str().unwrap(),
    ]);
    assert!(import.status.success(), "{}", text(&import));
    let again = dir.path().join("again.zip");
    assert!(
        run(&[
            "station",
            "export",
            again.to_str().unwrap(),
            "--database",
            &other
        ])
        .status
        .success()
    );
    let read = |path: &Path| {
        let files = precinct_station::PackageFiles::open(path).unwrap();
        let package = precinct_station::read_package(&files).unwrap();
        // Where a record came from is not the station.
        format!("{package:?}")
            .replace("exported.zip", "")
            .replace("again.zip", "")
    };
    let (first, second) = (read(&exported), read(&again));
    assert_eq!(first, second);
    assert!(first.contains("赫拉克勒斯港") && first.contains("duty.officer"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn export_then_import_gives_the_same_station_on_sqlite() {
    export_then_import_gives_the_same_station(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn export_then_import_gives_the_same_station_on_postgres() {
    export_then_import_gives_the_same_station(Backend::Postgres).await;
}

/// `history import` on a real export: one bad row refuses the file by
/// default; `--skip-invalid` imports the rest (the 1960s included) and
/// writes the refused rows with their reasons beside the input, in a file
/// that, corrected, imports as history again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_import_skips_invalid_rows_into_a_rejects_file() {
    let station = imported_station(Backend::Sqlite).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("export-2026.csv");
    let mut csv = String::from("external_id,reported_at,category,lat,lon,address\n");
    for (n, at) in ["2025-06-01 10:00", "1966-05-02 03:10", "1970-12-31 23:30"]
        .iter()
        .enumerate()
    {
        csv.push_str(&format!(
            "OK-{n},{at},theft,43.735,7.42,Boulevard des Moulins\n"
        ));
    }
    csv.push_str("BAD-1,1899-12-31 12:00,theft,43.735,7.42,\n");
    csv.push_str("BAD-2,2025-06-03 10:00,no-such-code,43.735,7.42,\"Rue Grimaldi, 5\"\n");
    std::fs::write(&file, &csv).unwrap();
    let import = |extra: &[&str]| {
        let mut args = vec![
            "history",
            "import",
            file.to_str().unwrap(),
            "--database",
            &station.database,
        ];
        args.extend(extra);
        run(&args)
    };
    let refused = import(&[]);
    assert!(!refused.status.success(), "{}", text(&refused));
    assert!(text(&refused).contains("2 problems"), "{}", text(&refused));
    let rejects = dir.path().join("export-2026.rejects.csv");
    assert!(!rejects.exists(), "no rejects file without --skip-invalid");

    let skipped = import(&["--skip-invalid"]);
    assert!(skipped.status.success(), "{}", text(&skipped));
    assert!(text(&skipped).contains("3 new"), "{}", text(&skipped));
    assert!(
        text(&skipped).contains("skipped 2 refused rows"),
        "{}",
        text(&skipped)
    );
    let written = std::fs::read_to_string(&rejects).expect("the rejects file beside the input");
    let lines: Vec<&str> = written.lines().collect();
    assert_eq!(lines.len(), 3, "{written}");
    assert!(
        lines[0].starts_with("\u{feff}row,external_id,reported_at"),
        "{written}"
    );
    assert!(
        lines[1].starts_with("5,BAD-1,1899-12-31 12:00"),
        "{written}"
    );
    assert!(lines[1].contains("reported_at: "), "{written}");
    assert!(lines[2].contains("\"Rue Grimaldi, 5\""), "{written}");
    assert!(lines[2].contains("category: "), "{written}");

    // Corrected in place, the rejects import as history.
    let corrected = written
        .replace("1899-12-31 12:00", "1969-12-31 12:00")
        .replace("no-such-code", "theft");
    std::fs::write(&rejects, corrected).unwrap();
    let again = run(&[
        "history",
        "import",
        rejects.to_str().unwrap(),
        "--database",
        &station.database,
    ]);
    assert!(again.status.success(), "{}", text(&again));
    assert!(text(&again).contains("2 new"), "{}", text(&again));
}

/// A package with problems is refused with every one named, and the
/// station is exactly as it was.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broken_package_changes_nothing() {
    let station = imported_station(Backend::Sqlite).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let before = dir.path().join("before.zip");
    assert!(
        run(&[
            "station",
            "export",
            before.to_str().unwrap(),
            "--database",
            &station.database
        ])
        .status
        .success()
    );

    // A unit at an unknown post (row 3) and a person with a role that does
    // not exist (row 2), beside a change that alone would be fine.
    let mut rows = UNITS.to_vec();
    rows[1][3] = "P-X";
    rows.push(["新巡2", "新巡逻车", "patrol_car", "P-E", "", ""]);
    std::fs::write(station.package.join("units.xlsx"), units_xlsx(&rows)).unwrap();
    let mut people = std::fs::read_to_string(station.package.join("people.csv")).unwrap();
    people = people.replace(
        "duty.officer,值班指挥员,dispatcher",
        "duty.officer,值班指挥员,commander",
    );
    std::fs::write(station.package.join("people.csv"), people).unwrap();

    let package = station.package.to_str().unwrap();
    let passwords = dir.path().join("passwords.csv");
    for command in ["validate", "import"] {
        let mut args = vec!["station", command, package, "--database", &station.database];
        if command == "import" {
            args.extend(["--passwords", passwords.to_str().unwrap()]);
        }
        let output = run(&args);
        assert!(!output.status.success(), "{command}: {}", text(&output));
        let output = text(&output);
        assert!(
            output.contains("people.csv row 2 column role: unknown role \"commander\""),
            "{output}"
        );
        assert!(
            output.contains("units.xlsx [警力] row 3 column post: unknown post code \"P-X\""),
            "{output}"
        );
        assert!(!passwords.exists(), "no password file is left");
    }
    let after = dir.path().join("after.zip");
    assert!(
        run(&[
            "station",
            "export",
            after.to_str().unwrap(),
            "--database",
            &station.database
        ])
        .status
        .success()
    );
    let read = |path: &Path| {
        let files = precinct_station::PackageFiles::open(path).unwrap();
        format!("{:?}", precinct_station::read_package(&files).unwrap())
            .replace("before.zip", "")
            .replace("after.zip", "")
    };
    assert_eq!(read(&before), read(&after));
}

/// A unit left out of the package is retired: no longer a force, but the
/// incident it worked still names it; listed again, it comes back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retiring_a_unit_that_past_incidents_name() {
    let station = imported_station(Backend::Sqlite).await.unwrap();
    let server = serve(&station);
    let base = server.base.clone();
    let client = reqwest::Client::new();
    let admin = login(&client, &base, "admin", ADMIN_PASSWORD).await["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let get = |path: String| {
        call(
            &client,
            reqwest::Method::GET,
            format!("{base}{path}"),
            &admin,
            None,
        )
    };
    let (_, units) = get("/api/units".into()).await;
    let patrol = units
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["call_sign"] == "西巡1")
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    let scene = on_streets(&[(43.7320, 7.4175)])[0];
    let (_, created) = call(
        &client,
        reqwest::Method::POST,
        format!("{base}/api/incidents"),
        &admin,
        Some(
            json!({"source": "phone", "category": "theft", "priority": 2,
            "location": {"lat": scene.lat(), "lon": scene.lon()}, "summary": "自行车被盗"}),
        ),
    )
    .await;
    let id = created["incident"]["id"].as_i64().unwrap();
    let (status, _) = call(
        &client,
        reqwest::Method::POST,
        format!("{base}/api/incidents/{id}/dispatch"),
        &admin,
        Some(json!({"unit_ids": [patrol]})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);

    // The package without 西巡1, imported through the API as a .zip upload.
    let rows: Vec<[&str; 6]> = UNITS.iter().filter(|r| r[0] != "西巡1").copied().collect();
    std::fs::write(station.package.join("units.xlsx"), units_xlsx(&rows)).unwrap();
    let zip = precinct_station::PackageFiles::open(&station.package)
        .unwrap()
        .to_zip()
        .unwrap();
    let upload = |path: &str, token: &str| {
        let form = reqwest::multipart::Form::new().part(
            "package",
            reqwest::multipart::Part::bytes(zip.clone()).file_name("station.zip"),
        );
        client
            .post(format!("{base}{path}"))
            .bearer_auth(token)
            .multipart(form)
            .send()
    };
    let report: Value = upload("/api/station/validate", &admin)
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(report["valid"], true, "{report}");
    let units_change = report["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["layer"] == "units")
        .unwrap();
    assert_eq!(units_change["retired"], 1, "{report}");
    assert_eq!(
        units_change["summary"],
        "0 units added, 0 changed, 1 retired, 7 unchanged"
    );
    // Only administrators may validate or import.
    let officer = login(
        &client,
        &base,
        "li.ming",
        &one_time_password(&station, "li.ming"),
    )
    .await;
    let officer = officer["token"].as_str().unwrap();
    let (status, _) = call(
        &client,
        reqwest::Method::POST,
        format!("{base}/api/auth/password"),
        officer,
        Some(json!({"current_password": one_time_password(&station, "li.ming"), "new_password": "officer long password"})),
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    for path in ["/api/station/validate", "/api/station/import"] {
        let response = upload(path, officer).await.unwrap();
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{path}");
    }
    let (status, _) = call(
        &client,
        reqwest::Method::GET,
        format!("{base}/api/station/export"),
        officer,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    let response = upload("/api/station/import", &admin).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let (_, units) = get("/api/units".into()).await;
    assert!(
        units
            .as_array()
            .unwrap()
            .iter()
            .all(|u| u["call_sign"] != "西巡1"),
        "retired: not a force"
    );
    assert_eq!(units.as_array().unwrap().len(), 7);
    let (_, incident) = get(format!("/api/incidents/{id}")).await;
    assert_eq!(
        incident["assignments"][0]["unit_id"], patrol,
        "the incident still names it"
    );
    // Exporting is audited (it holds people's phone numbers).
    let response = client
        .get(format!("{base}/api/station/export"))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "application/zip");
    let exported =
        precinct_station::PackageFiles::from_zip(&response.bytes().await.unwrap()).unwrap();
    let exported = precinct_station::read_package(&exported).unwrap();
    assert_eq!(exported.units.unwrap().len(), 7);
    drop(server);
    let store = precinct::open_store(
        &precinct::DatabaseUrl::parse(&station.database).unwrap(),
        std::sync::Arc::new(precinct_storage::SystemClock),
    )
    .await
    .unwrap();
    let audit = store.audit_log(50).await.unwrap();
    assert!(
        audit
            .iter()
            .any(|a| a.action == "export_station_package" && a.username == "admin")
    );
    store.shutdown().await;
}

/// What is not a package gets a clear error and changes nothing: no file,
/// not a zip, a refused import with its problems (422 with every one).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_uploads_get_clear_errors_and_change_nothing() {
    let app = crate::common::spawn_app(Backend::Sqlite).await.unwrap();
    let admin = app.login("admin").await;
    let units_before = app.get(Some(&admin), "/api/units").await.1;
    let send = |form: reqwest::multipart::Form, path: &str| {
        app.client
            .post(format!("{}{path}", app.base))
            .bearer_auth(&admin)
            .multipart(form)
            .send()
    };
    let file = |bytes: Vec<u8>| {
        reqwest::multipart::Form::new().part(
            "package",
            reqwest::multipart::Part::bytes(bytes).file_name("station.zip"),
        )
    };
    // No file at all.
    let response = send(
        reqwest::multipart::Form::new().text("note", "x"),
        "/api/station/import",
    )
    .await
    .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["code"], "invalid_upload");
    // Not a zip.
    let response = send(file(b"PK not really".to_vec()), "/api/station/import")
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["code"], "invalid_station_package");
    assert!(!body["message_zh"].as_str().unwrap().is_empty());
    // A package with a problem: every one listed, nothing applied.
    let mut files = precinct_station::PackageFiles::new();
    files.insert("station.toml", b"name = \"x\"\n".to_vec());
    files.insert(
        "units.csv",
        "call_sign,name,kind,post\nA1,a,patrol_car,NOPE\nA2,b,patrol_car,\n"
            .as_bytes()
            .to_vec(),
    );
    let response = send(file(files.to_zip().unwrap()), "/api/station/import")
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["code"], "invalid_station_package");
    assert_eq!(body["problems"][0]["file"], "units.csv");
    assert_eq!(body["problems"][0]["row"], 2);
    assert_eq!(body["problems"][0]["column"], "post");
    assert_eq!(
        app.get(Some(&admin), "/api/units").await.1,
        units_before,
        "nothing applied"
    );
    // A JSON body is not an upload.
    let (status, body) = app
        .post(Some(&admin), "/api/station/validate", json!({}))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
}
