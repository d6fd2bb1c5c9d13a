//! The second trust round (issue 23), each finding as a test that failed
//! before its fix: shape checks that answer in seconds, the last
//! administrator kept, restore refused under a running server, personal
//! data in free text masked and its reads audited, one winner of a
//! second-factor confirmation race, an import's effect on sessions at once.

use crate::common::{Backend, TestApp, api_test};
use crate::crash::database_arg;
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

fn run_precinct(args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_precinct"))
        .args(args)
        .env("PRECINCT_LOG", "warn")
        .output()
        .expect("the precinct binary runs")
}

async fn upload(
    app: &TestApp,
    token: &str,
    path: &str,
    files: &precinct_station::PackageFiles,
) -> (StatusCode, Value) {
    upload_as(app, token, path, "package", files).await
}

/// As [`upload`], the file in the form field `field`.
async fn upload_as(
    app: &TestApp,
    token: &str,
    path: &str,
    field: &'static str,
    files: &precinct_station::PackageFiles,
) -> (StatusCode, Value) {
    app.upload(
        token,
        path,
        vec![(field, "station.zip", files.to_zip().unwrap())],
    )
    .await
}

fn feature(code: &str, parent: &str, ring: &[[f64; 2]]) -> Value {
    json!({
        "type": "Feature",
        "properties": { "code": code, "name": code, "parent": parent },
        "geometry": { "type": "Polygon", "coordinates": [ring] },
    })
}

fn collection(features: Vec<Value>) -> Vec<u8> {
    json!({ "type": "FeatureCollection", "features": features })
        .to_string()
        .into_bytes()
}

/// 3,000 copies of one community ran 300 s of CPU, and one boundary of
/// 200,000 points 46 s: each now answers within seconds, its problems
/// listed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn heavy_shapes_are_answered_within_seconds() {
    let app = crate::common::spawn_app(Backend::Sqlite).await.unwrap();
    let admin = app.login("admin").await;
    let ground = app.store.jurisdiction().await.unwrap();
    let community = &ground.communities[0];
    let zone = ground
        .zones
        .iter()
        .find(|z| z.id == community.zone_id)
        .unwrap();
    let ring: Vec<[f64; 2]> = community.boundary.rings()[0]
        .iter()
        .map(|p| [p.lon(), p.lat()])
        .collect();

    let mut files = precinct_station::PackageFiles::new();
    files.insert(
        "station.toml",
        format!("name = \"{}\"\n", ground.station_name).into_bytes(),
    );
    let copies = (0..3_000)
        .map(|n| feature(&format!("COPY{n:04}"), &zone.code, &ring))
        .collect();
    files.insert("communities.geojson", collection(copies));
    let started = Instant::now();
    let (status, report) = upload(&app, &admin, "/api/station/validate", &files).await;
    let took = started.elapsed();
    eprintln!("3,000 identical communities: {status} in {took:?}");
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(report["valid"], false);
    let problems = report["problems"].as_array().unwrap();
    assert!(
        problems
            .iter()
            .any(|p| p["message"].as_str().unwrap().contains("overlaps")),
        "{report}"
    );
    assert!(
        problems.len() < 1_000,
        "the overlaps are listed up to a bound: {}",
        problems.len()
    );
    assert!(took < Duration::from_secs(10), "answered in {took:?}");

    // One boundary of 200,000 points in 50 lobes around the first community.
    let centre = community.boundary.centroid();
    let big: Vec<[f64; 2]> = (0..200_000)
        .map(|i| {
            let angle = i as f64 / 200_000.0 * std::f64::consts::TAU;
            let radius = 0.002 * (1.0 + 0.1 * (angle * 50.0).sin());
            [
                centre.lon() + radius * angle.cos(),
                centre.lat() + radius * angle.sin(),
            ]
        })
        .collect();
    let mut files = precinct_station::PackageFiles::new();
    files.insert(
        "station.toml",
        format!("name = \"{}\"\n", ground.station_name).into_bytes(),
    );
    files.insert(
        "communities.geojson",
        collection(vec![feature("BIG", &zone.code, &big)]),
    );
    let started = Instant::now();
    let (status, report) = upload(&app, &admin, "/api/station/validate", &files).await;
    let took = started.elapsed();
    eprintln!("one community of 200,000 points: {status} in {took:?}");
    assert_eq!(status, StatusCode::OK, "{report}");
    assert!(took < Duration::from_secs(10), "answered in {took:?}");
}

/// Past the deadline, validation stops and says so; nothing is changed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn validation_past_its_deadline_is_refused() {
    let app = crate::common::spawn_app_with(Backend::Sqlite, |state| {
        state.with_limits(precinct_api::limits::Limits {
            upload_check_deadline: Duration::from_millis(1),
            ..Default::default()
        })
    })
    .await
    .unwrap();
    let admin = app.login("admin").await;
    let files = app.export_package(&admin).await;
    let (status, body) = upload(&app, &admin, "/api/station/validate", &files).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["code"], "too_complex");
    assert!(!body["message_zh"].as_str().unwrap().is_empty());
}

api_test! {
    async fn the_last_administrator_can_be_neither_demoted_nor_disabled(app) {
        let admin = app.login("admin").await;
        let (_, users) = app.get(Some(&admin), "/api/admin/users").await;
        let me = users.as_array().unwrap().iter().find(|u| u["username"] == "admin").unwrap().clone();
        assert_eq!(
            users.as_array().unwrap().iter().filter(|u| u["role"] == "admin" && u["disabled"] == false).count(),
            1,
            "the demo has one administrator"
        );
        let events = app.event_count().await;

        // By an edit of one's own account.
        let (status, body) = app
            .post(Some(&admin), &format!("/api/admin/users/{}", me["id"]), json!({ "role": "analyst" }))
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert!(body["message"].as_str().unwrap().contains("administrator"), "{body}");

        // By a package: validation names the row, import refuses it.
        let mut files = precinct_station::PackageFiles::new();
        files.insert("station.toml", b"name = \"x\"\n".to_vec());
        files.insert("people.csv", "username,name,role\nadmin,管理员,analyst\n".as_bytes().to_vec());
        let (status, report) = upload(&app, &admin, "/api/station/validate", &files).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(report["valid"], false, "{report}");
        let problem = &report["problems"][0];
        assert_eq!(problem["file"], "people.csv");
        assert_eq!(problem["row"], 2);
        assert_eq!(problem["column"], "role");
        let (status, body) = upload(&app, &admin, "/api/station/import", &files).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert_eq!(app.event_count().await, events, "nothing changed");
        let (_, me_now) = app.get(Some(&admin), "/api/me").await;
        assert_eq!(me_now["role"], "admin");

        // With a second administrator, the first may step down.
        let dispatcher = users.as_array().unwrap().iter().find(|u| u["username"] == "dispatcher").unwrap();
        let (status, body) = app
            .post(Some(&admin), &format!("/api/admin/users/{}", dispatcher["id"]), json!({ "role": "admin" }))
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let (status, body) = app
            .post(Some(&admin), &format!("/api/admin/users/{}", me["id"]), json!({ "role": "analyst" }))
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
}

api_test! {
    async fn restore_is_refused_while_the_server_runs(app) {
        let token = app.login("dispatcher").await;
        let before = app.instruction(&token, "restore-before", "theft", 28.15, 113.02).await;
        let dir = tempfile::tempdir().unwrap();
        let backup = dir.path().join(match app.url {
            precinct::DatabaseUrl::Sqlite(_) => "backup.db",
            precinct::DatabaseUrl::Postgres(_) => "backup.dump",
        });
        let database = database_arg(&app.url);
        let output = run_precinct(&["backup", "--database", &database, backup.to_str().unwrap()]);
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));

        let output = run_precinct(&["restore", "--database", &database, "--replace", backup.to_str().unwrap()]);
        let said = String::from_utf8_lossy(&output.stderr).into_owned();
        assert!(!output.status.success(), "restore under a running server must be refused");
        eprintln!("restore refused: {said}");
        match &app.url {
            precinct::DatabaseUrl::Sqlite(path) => {
                assert!(said.contains("in use"), "{said}");
                let leftovers: Vec<String> = std::fs::read_dir(path.parent().unwrap())
                    .unwrap()
                    .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                    .filter(|name| name.contains("restoring"))
                    .collect();
                assert!(leftovers.is_empty(), "a refusal leaves nothing behind: {leftovers:?}");
            }
            precinct::DatabaseUrl::Postgres(_) => assert!(said.contains("not empty"), "{said}"),
        }

        // The running station goes on, whole.
        let after = app.instruction(&token, "restore-after", "theft", 28.151, 113.021).await;
        let (status, _) = app.get(Some(&token), &format!("/api/incidents/{}", before["id"])).await;
        assert_eq!(status, StatusCode::OK);
        let (status, _) = app.get(Some(&token), &format!("/api/incidents/{}", after["id"])).await;
        assert_eq!(status, StatusCode::OK);
        if let precinct::DatabaseUrl::Sqlite(path) = &app.url {
            let conn = rusqlite::Connection::open(path).unwrap();
            let check: String = conn.query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
            assert_eq!(check, "ok");
        }
        let reports = precinct_storage::chain::verify(app.store.as_ref()).await.unwrap();
        assert!(reports.iter().all(|r| r.broken.is_none()), "{reports:?}");
    }
}

/// Once the server has stopped, the same restore goes through.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restore_goes_through_once_the_store_is_closed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("station.db");
    let url = precinct::DatabaseUrl::Sqlite(path.clone());
    let store = precinct::open_store(&url, std::sync::Arc::new(precinct_storage::SystemClock))
        .await
        .unwrap();
    let backup = dir.path().join("backup.db");
    let output = run_precinct(&[
        "backup",
        "--database",
        &database_arg(&url),
        backup.to_str().unwrap(),
    ]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let restore = || {
        run_precinct(&[
            "restore",
            "--database",
            &database_arg(&url),
            "--replace",
            backup.to_str().unwrap(),
        ])
    };
    // Open in this process: refused, as from outside.
    assert!(!restore().status.success());
    store.shutdown().await;
    drop(store);
    let output = restore();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

api_test! {
    async fn phone_and_id_numbers_in_free_text_are_masked_and_their_reads_audited(app) {
        let dispatcher = app.login("dispatcher").await;
        let (status, created) = app
            .post(
                Some(&dispatcher),
                "/api/incidents",
                json!({
                    "source": "phone",
                    "category": "theft",
                    "priority": 2,
                    "location": { "lat": 28.15, "lon": 113.02 },
                    "summary": "报警人王小明 13912345678 身份证430102199001011234",
                }),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
        let id = created["incident"]["id"].as_i64().unwrap();
        let (status, _) = app
            .post(Some(&dispatcher), &format!("/api/incidents/{id}/notes"), json!({ "text": "回拨 0731-88886666 无人接听" }))
            .await;
        assert_eq!(status, StatusCode::CREATED);
        let full_summary = "报警人王小明 13912345678 身份证430102199001011234";
        let masked_summary = "报警人王小明 139****5678 身份证430***********1234";

        // Roles that see personal data masked: in lists and in details.
        let analyst = app.login("analyst").await;
        let audit_before = app.store.audit_log(1_000).await.unwrap().len();
        let (_, list) = app.get(Some(&analyst), "/api/incidents").await;
        let listed = list.as_array().unwrap().iter().find(|i| i["id"] == id).unwrap();
        assert_eq!(listed["summary"], masked_summary);
        let (status, detail) = app.get(Some(&analyst), &format!("/api/incidents/{id}")).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(detail["summary"], masked_summary);
        let timeline = detail["timeline"].to_string();
        assert!(timeline.contains("073*****6666"), "{timeline}");
        assert!(!timeline.contains("88886666") && !timeline.contains("13912345678"), "{timeline}");
        let (_, dispatcher_list) = app.get(Some(&dispatcher), "/api/incidents").await;
        let listed = dispatcher_list.as_array().unwrap().iter().find(|i| i["id"] == id).unwrap();
        assert_eq!(listed["summary"], masked_summary, "lists are always masked");
        assert_eq!(
            app.store.audit_log(1_000).await.unwrap().len(),
            audit_before,
            "masked reads are not personal-data reads"
        );

        // A dispatcher's full read shows them, and is audited.
        let (_, detail) = app.get(Some(&dispatcher), &format!("/api/incidents/{id}")).await;
        assert_eq!(detail["summary"], full_summary);
        assert!(detail["timeline"].to_string().contains("0731-88886666"));
        let audit = app.store.audit_log(1_000).await.unwrap();
        assert_eq!(audit.len(), audit_before + 1, "the unmasked read is audited");
        assert_eq!(audit[0].username, "dispatcher");
        assert_eq!(audit[0].action, "read_caller");
        assert_eq!(audit[0].subject, format!("incident {id}"));

        // Mediators of outside organisations see no incident their cases do not link.
        for mediator in ["mediator", "lawyer", "market"] {
            let token = app.login(mediator).await;
            let (status, list) = app.get(Some(&token), "/api/incidents?status=all").await;
            assert_eq!(status, StatusCode::OK);
            assert!(
                list.as_array().unwrap().iter().all(|i| i["id"] != id),
                "{mediator} lists an incident no case of theirs links"
            );
            let (status, _) = app.get(Some(&token), &format!("/api/incidents/{id}")).await;
            assert_eq!(status, StatusCode::NOT_FOUND, "{mediator}");
        }
    }
}

api_test! {
    async fn a_mediator_sees_the_incident_of_a_case_they_work(app) {
        let dispatcher = app.login("dispatcher").await;
        let incident = app.instruction(&dispatcher, "mediated-1", "neighbour_noise_dispute", 28.15, 113.02).await;
        let id = incident["id"].as_i64().unwrap();
        let (status, closed) = app
            .post(Some(&dispatcher), &format!("/api/incidents/{id}/close"), json!({ "disposition": "referred_to_mediation", "remark": "双方同意调解" }))
            .await;
        assert_eq!(status, StatusCode::OK, "{closed}");
        let mediator = app.login("mediator").await;
        let (status, _) = app.get(Some(&mediator), &format!("/api/incidents/{id}")).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "no case links it yet");
        let judicial_office = app
            .store
            .jurisdiction()
            .await
            .unwrap()
            .organisations
            .iter()
            .find(|o| o.kind == precinct_domain::ground::OrganisationKind::JudicialOffice)
            .unwrap()
            .id;
        let (status, case) = app
            .post(
                Some(&dispatcher),
                "/api/disputes",
                json!({
                    "source": "incident",
                    "incident_id": id,
                    "parties": [{ "name": "李先生", "vulnerable": false }, { "name": "王女士", "vulnerable": false }],
                    "responsible_org_id": judicial_office.0,
                    "participating_org_ids": [],
                }),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{case}");
        let (status, detail) = app.get(Some(&mediator), &format!("/api/incidents/{id}")).await;
        assert_eq!(status, StatusCode::OK, "{detail}");
        assert_eq!(detail["caller"]["masked"], true);
        let (_, list) = app.get(Some(&mediator), "/api/incidents?status=all").await;
        assert!(list.as_array().unwrap().iter().any(|i| i["id"] == id));
        let lawyer = app.login("lawyer").await;
        let (status, _) = app.get(Some(&lawyer), &format!("/api/incidents/{id}")).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "another organisation's case");
    }
}

api_test! {
    async fn an_import_disables_and_demotes_at_once(app) {
        let admin = app.login("admin").await;
        let volunteer = app.login("volunteer").await;
        let dispatcher = app.login("dispatcher").await;
        // Both sessions are in use (and cached) before the import.
        for token in [&volunteer, &dispatcher] {
            let (status, _) = app.get(Some(token), "/api/me").await;
            assert_eq!(status, StatusCode::OK);
        }
        // The people layer given whole: the dispatcher demoted, every other
        // account but the administrators disabled.
        let mut files = precinct_station::PackageFiles::new();
        files.insert("station.toml", b"name = \"x\"\n".to_vec());
        files.insert("people.csv", "username,name,role\ndispatcher,值班员,analyst\n".as_bytes().to_vec());
        let (status, report) = upload(&app, &admin, "/api/station/import", &files).await;
        assert_eq!(status, StatusCode::OK, "{report}");
        // At once, not after the session cache's ten seconds.
        let (status, body) = app.get(Some(&volunteer), "/api/me").await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "a disabled account's session ended: {body}");
        let (status, me) = app.get(Some(&dispatcher), "/api/me").await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(me["role"], "analyst", "the new role applies at once");
        let (status, _) = app.post(Some(&dispatcher), "/api/incidents", json!({
            "source": "phone", "category": "theft", "priority": 2,
            "location": { "lat": 28.15, "lon": 113.02 }, "summary": "x",
        })).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "an analyst takes no intake");
    }
}

api_test! {
    async fn what_a_package_holds_that_nothing_reads_is_reported(app) {
        let admin = app.login("admin").await;
        let mut files = precinct_station::PackageFiles::new();
        files.insert("station.toml", b"name = \"x\"\n".to_vec());
        files.insert("readme.txt", b"notes".to_vec());
        // A misspelt table name: without a warning, the units would be left as they are unseen.
        files.insert("unit.csv", b"call_sign,name,kind\nA1,a,patrol_car\n".to_vec());
        files.insert(
            "organisations.csv",
            "code,name,kind,备注\nORG-X,某律所,law_firm,新增\n".as_bytes().to_vec(),
        );
        // The file in a form field of another name.
        let (status, report) = upload_as(&app, &admin, "/api/station/validate", "file", &files).await;
        assert_eq!(status, StatusCode::OK);
        let warnings = report["warnings"].as_array().unwrap();
        let said = |file: &str, word: &str| {
            warnings.iter().any(|w| w["file"] == file && w["message"].as_str().unwrap().contains(word) && !w["message_zh"].as_str().unwrap().is_empty())
        };
        assert!(said("readme.txt", "not a file of the station package"), "{report}");
        assert!(said("unit.csv", "not a file of the station package"), "{report}");
        assert!(said("organisations.csv", "备注"), "{report}");
        assert!(said("(upload)", "`package`"), "{report}");
        assert_eq!(warnings.len(), 4, "{report}");
    }
}

/// Uploads over the limit answer 413 `payload_too_large`, not 400 (the
/// station package's file field read past its 64 MiB). The server answers
/// and closes while the client is still sending, so the request is written
/// by hand and its answer read while the body is still going out (an HTTP
/// client that stops at the broken pipe never sees the answer).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversized_package_upload_answers_413() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let app = crate::common::spawn_app(Backend::Sqlite).await.unwrap();
    let admin = app.login("admin").await;
    let address = app.base.trim_start_matches("http://").to_string();
    let boundary = "precinct-oversized";
    let head = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"package\"; \
         filename=\"station.zip\"\r\nContent-Type: application/zip\r\n\r\n"
    );
    let tail = format!("\r\n--{boundary}--\r\n");
    let file_len = 65 * 1024 * 1024;
    let request = format!(
        "POST /api/station/validate HTTP/1.1\r\nHost: {address}\r\n\
         Authorization: Bearer {admin}\r\n\
         Content-Type: multipart/form-data; boundary={boundary}\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{head}",
        head.len() + file_len + tail.len()
    );
    let stream = tokio::net::TcpStream::connect(&address).await.unwrap();
    let (mut reader, mut writer) = stream.into_split();
    let sending = tokio::spawn(async move {
        writer.write_all(request.as_bytes()).await?;
        let chunk = vec![0u8; 1024 * 1024];
        for _ in 0..file_len / chunk.len() {
            writer.write_all(&chunk).await?;
        }
        writer.write_all(tail.as_bytes()).await
    });
    let mut answer = Vec::new();
    let mut buffer = [0u8; 8192];
    loop {
        match tokio::time::timeout(Duration::from_secs(60), reader.read(&mut buffer)).await {
            Ok(Ok(0)) | Ok(Err(_)) => break,
            Ok(Ok(n)) => answer.extend_from_slice(&buffer[..n]),
            Err(_) => panic!("no answer within a minute"),
        }
    }
    sending.abort();
    let answer = String::from_utf8_lossy(&answer);
    assert!(
        answer.starts_with("HTTP/1.1 413"),
        "the server answers 413: {answer}"
    );
    assert!(answer.contains("\"payload_too_large\""), "{answer}");
}
