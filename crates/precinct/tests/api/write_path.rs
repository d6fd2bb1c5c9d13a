//! Every audited write makes its change, its event and its audit entry in
//! one transaction (issue 24). The test walks the operations, as the access
//! test walks the routes: with the database refusing audit entries (a
//! trigger), each operation fails and changes nothing, no event included;
//! with the trigger gone, each succeeds and writes its entry (and its event,
//! where it has one).

use crate::common::{Backend, PASSWORD, TestApp, api_test};
use reqwest::StatusCode;
use serde_json::json;

/// Runs `statements` on the app's database, beside the server.
async fn execute(app: &TestApp, statements: &str) {
    match &app.url {
        precinct::DatabaseUrl::Sqlite(path) => {
            let connection = rusqlite::Connection::open(path).unwrap();
            connection
                .busy_timeout(std::time::Duration::from_secs(10))
                .unwrap();
            connection.execute_batch(statements).unwrap();
        }
        precinct::DatabaseUrl::Postgres(url) => {
            let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
                .await
                .unwrap();
            tokio::spawn(connection);
            client.batch_execute(statements).await.unwrap();
        }
    }
}

/// Every row of `table` as text, in key order.
async fn rows(app: &TestApp, table: &str) -> Vec<String> {
    match &app.url {
        precinct::DatabaseUrl::Sqlite(path) => {
            let connection = rusqlite::Connection::open(path).unwrap();
            let mut statement = connection
                .prepare(&format!("SELECT * FROM {table} ORDER BY 1"))
                .unwrap();
            let columns = statement.column_count();
            statement
                .query_map([], |row| {
                    Ok((0..columns)
                        .map(|i| format!("{:?}", row.get_ref(i).unwrap()))
                        .collect::<Vec<_>>()
                        .join("|"))
                })
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap()
        }
        precinct::DatabaseUrl::Postgres(url) => {
            let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
                .await
                .unwrap();
            tokio::spawn(connection);
            client
                .query(
                    &format!(
                        "SELECT row_to_json(x)::text FROM (SELECT * FROM {table} ORDER BY 1) x"
                    ),
                    &[],
                )
                .await
                .unwrap()
                .iter()
                .map(|row| row.get::<_, String>(0))
                .collect()
        }
    }
}

/// What a failed write must leave as it was.
async fn fingerprint(app: &TestApp) -> Vec<Vec<String>> {
    let mut all = Vec::new();
    for table in ["users", "units", "sessions", "incidents", "roads"] {
        all.push(rows(app, table).await);
    }
    all.push(vec![app.event_count().await.to_string()]);
    all.push(vec![rows(app, "audit_log").await.len().to_string()]);
    all
}

fn refuse_audits(backend: Backend) -> &'static str {
    match backend {
        Backend::Sqlite => {
            "CREATE TRIGGER refuse_audit BEFORE INSERT ON audit_log \
             BEGIN SELECT RAISE(ABORT, 'audit refused'); END;"
        }
        Backend::Postgres => {
            "CREATE FUNCTION refuse_audit() RETURNS trigger LANGUAGE plpgsql AS \
             $$ BEGIN RAISE EXCEPTION 'audit refused'; END $$; \
             CREATE TRIGGER refuse_audit BEFORE INSERT ON audit_log \
             FOR EACH ROW EXECUTE FUNCTION refuse_audit();"
        }
    }
}

fn allow_audits(backend: Backend) -> &'static str {
    match backend {
        Backend::Sqlite => "DROP TRIGGER refuse_audit;",
        Backend::Postgres => {
            "DROP TRIGGER refuse_audit ON audit_log; DROP FUNCTION refuse_audit();"
        }
    }
}

/// A multipart upload of one file in `field` (`file_name`).
async fn upload(
    app: &TestApp,
    token: &str,
    path: &str,
    field: &'static str,
    file_name: &str,
    bytes: Vec<u8>,
) -> StatusCode {
    let form = reqwest::multipart::Form::new().part(
        field,
        reqwest::multipart::Part::bytes(bytes).file_name(file_name.to_owned()),
    );
    app.client
        .post(format!("{}{path}", app.base))
        .bearer_auth(token)
        .multipart(form)
        .send()
        .await
        .unwrap()
        .status()
}

/// The audited writes, by name: each returns its answer's status.
const OPERATIONS: &[&str] = &[
    "update_user",
    "update_unit",
    "reset_password",
    "reset_second_factor",
    "revoke_session",
    "change_password",
    "import_station_package",
    "import_history",
];

/// Whether the operation also writes an event.
fn writes_event(operation: &str) -> bool {
    matches!(
        operation,
        "update_user" | "update_unit" | "import_station_package" | "import_history"
    )
}

struct Fixture {
    admin: String,
    analyst: String,
    dispatcher_id: i64,
    unit_id: i64,
    volunteer_sessions: Vec<String>,
    package: Vec<u8>,
    history: Vec<u8>,
}

async fn run(app: &TestApp, fx: &Fixture, operation: &str, round: u32) -> StatusCode {
    let admin = Some(fx.admin.as_str());
    let dispatcher = fx.dispatcher_id;
    match operation {
        "update_user" => {
            let name = format!("值班调度员{round}");
            let body = json!({ "display_name": name });
            let path = format!("/api/admin/users/{dispatcher}");
            app.post(admin, &path, body).await.0
        }
        "update_unit" => {
            let body = json!({ "name": format!("巡逻组{round}") });
            let path = format!("/api/admin/units/{}", fx.unit_id);
            app.post(admin, &path, body).await.0
        }
        "reset_password" => {
            let path = format!("/api/admin/users/{dispatcher}/reset-password");
            app.post(admin, &path, json!({})).await.0
        }
        "reset_second_factor" => {
            let path = format!("/api/admin/users/{dispatcher}/reset-second-factor");
            app.post(admin, &path, json!({})).await.0
        }
        "revoke_session" => {
            let id = &fx.volunteer_sessions[round as usize];
            let path = format!("/api/admin/sessions/{id}/revoke");
            app.post(admin, &path, json!({})).await.0
        }
        "change_password" => {
            // The refused round changed nothing: the password is still the first.
            let new = format!("a brand-new password {round}");
            let body = json!({ "current_password": PASSWORD, "new_password": new });
            app.post(Some(&fx.analyst), "/api/auth/password", body)
                .await
                .0
        }
        "import_station_package" => {
            upload(
                app,
                &fx.admin,
                "/api/station/import",
                "package",
                "station.zip",
                fx.package.clone(),
            )
            .await
        }
        "import_history" => {
            upload(
                app,
                &fx.admin,
                "/api/history/import",
                "file",
                "history.csv",
                fx.history.clone(),
            )
            .await
        }
        other => panic!("no operation {other}"),
    }
}

async fn fixture(app: &TestApp) -> Fixture {
    let admin = app.login("admin").await;
    let analyst = app.login("analyst").await;
    for _ in 0..2 {
        app.login("volunteer").await;
    }
    // Listing sessions is audited too: read before audits are refused.
    let (_, sessions) = app.get(Some(&admin), "/api/admin/sessions").await;
    let volunteer_sessions: Vec<String> = sessions
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["username"] == "volunteer")
        .map(|s| s["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(volunteer_sessions.len(), 2, "{sessions}");
    let (_, users) = app.get(Some(&admin), "/api/admin/users").await;
    let dispatcher_id = users
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["username"] == "dispatcher")
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    let (_, units) = app.get(Some(&admin), "/api/units").await;
    let unit_id = units[0]["id"].as_i64().unwrap();
    // The station as exported, and one unit more: an import that changes it.
    let mut files = app.export_package(&admin).await;
    files.insert(
        "units-more.csv",
        "call_sign,name,kind\nWP1,写入路径,patrol_car\n"
            .as_bytes()
            .to_vec(),
    );
    let package = files.to_zip().unwrap();
    let shop = app.place(&admin, "美食七街7号").await;
    let (lat, lon) = crate::common::near(&shop, 10.0, 10.0);
    let history = format!(
        "警情编号,报警时间,警情类别,纬度,经度,地址,处置结果\n\
         WP-1,2026-03-01 10:00:00,theft,{lat},{lon},美食七街,no_action_needed\n"
    )
    .into_bytes();
    Fixture {
        admin,
        analyst,
        dispatcher_id,
        unit_id,
        volunteer_sessions,
        package,
        history,
    }
}

api_test! {
    async fn every_audited_write_is_one_transaction_with_its_event(app) {
        let backend = match app.url {
            precinct::DatabaseUrl::Sqlite(_) => Backend::Sqlite,
            precinct::DatabaseUrl::Postgres(_) => Backend::Postgres,
        };
        let fx = fixture(&app).await;
        for operation in OPERATIONS {
            // Refused audit: the whole write is refused.
            execute(&app, refuse_audits(backend)).await;
            let before = fingerprint(&app).await;
            let status = run(&app, &fx, operation, 0).await;
            assert!(!status.is_success(), "{operation} with its audit refused: {status}");
            let after = fingerprint(&app).await;
            assert!(before == after, "{operation} changed something with its audit refused");
            // Allowed again: it is made, with its entry (and its event).
            execute(&app, allow_audits(backend)).await;
            let (events, audits) = (app.event_count().await, rows(&app, "audit_log").await.len());
            let status = run(&app, &fx, operation, 1).await;
            assert!(status.is_success(), "{operation}: {status}");
            assert!(rows(&app, "audit_log").await.len() > audits, "{operation} wrote no audit entry");
            if writes_event(operation) {
                assert!(app.event_count().await > events, "{operation} wrote no event");
            }
        }
    }
}
