//! The record proves itself: events and audit entries are chained by hash,
//! and `verify` finds any one tampering (issue 15).

use crate::common::{TestApp, api_test};
use precinct_storage::chain::{self, TableReport};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// The database itself, past the API: what a tamperer with its files or
/// credentials could do.
enum Raw {
    Sqlite(rusqlite::Connection),
    Postgres(tokio_postgres::Client),
}

/// A value as text; None for NULL.
type Cell = Option<String>;

impl Raw {
    async fn connect(app: &TestApp) -> Raw {
        match &app.url {
            precinct::DatabaseUrl::Sqlite(path) => {
                let conn = rusqlite::Connection::open(path).unwrap();
                // Putting rows back fires the chain trigger, which names it.
                precinct_sqlite::register_functions(&conn).unwrap();
                Raw::Sqlite(conn)
            }
            precinct::DatabaseUrl::Postgres(url) => {
                let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
                    .await
                    .unwrap();
                tokio::spawn(connection);
                Raw::Postgres(client)
            }
        }
    }

    /// Every row of `table` as text cells, in id order, with column names.
    async fn rows(&self, table: &str, columns: &[&str]) -> Vec<Vec<Cell>> {
        let casts: Vec<String> = columns
            .iter()
            .map(|c| format!("CAST({c} AS TEXT)"))
            .collect();
        // Ordered by the numeric id (the cast column is also called id).
        let sql = format!(
            "SELECT {} FROM {table} ORDER BY {table}.id",
            casts.join(", ")
        );
        match self {
            Raw::Sqlite(conn) => {
                let mut statement = conn.prepare(&sql).unwrap();
                statement
                    .query_map([], |row| {
                        (0..columns.len()).map(|i| row.get::<_, Cell>(i)).collect()
                    })
                    .unwrap()
                    .collect::<Result<_, _>>()
                    .unwrap()
            }
            Raw::Postgres(client) => client
                .query(&sql, &[])
                .await
                .unwrap()
                .iter()
                .map(|row| (0..columns.len()).map(|i| row.get::<_, Cell>(i)).collect())
                .collect(),
        }
    }

    /// Runs one statement with text parameters (cast by the database).
    async fn execute(&self, sql: &str, params: &[Cell]) {
        match self {
            Raw::Sqlite(conn) => {
                conn.execute(sql, rusqlite::params_from_iter(params.iter()))
                    .unwrap();
            }
            Raw::Postgres(client) => {
                let params: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> = params
                    .iter()
                    .map(|p| p as &(dyn tokio_postgres::types::ToSql + Sync))
                    .collect();
                client.execute(sql, &params).await.unwrap();
            }
        }
    }

    fn placeholder(&self, n: usize, integer: bool) -> String {
        match self {
            Raw::Sqlite(_) if integer => format!("CAST(?{n} AS INTEGER)"),
            Raw::Sqlite(_) => format!("?{n}"),
            Raw::Postgres(_) if integer => format!("CAST(${n}::TEXT AS BIGINT)"),
            Raw::Postgres(_) => format!("${n}::TEXT"),
        }
    }
}

const TABLES: [(&str, &[&str], &[&str]); 2] = [
    (
        "events",
        &[
            "id",
            "at",
            "actor_user_id",
            "actor_name",
            "incident_id",
            "unit_id",
            "kind",
            "data",
            "prev_hash",
            "hash",
        ],
        &["id", "at", "actor_user_id", "incident_id", "unit_id"],
    ),
    (
        "audit_log",
        &[
            "id",
            "at",
            "user_id",
            "username",
            "action",
            "subject",
            "prev_hash",
            "hash",
        ],
        &["id", "at", "user_id"],
    ),
];

fn whole(reports: &[TableReport]) -> bool {
    reports.iter().all(|r| r.broken.is_none())
}

api_test! {
    async fn any_one_tampering_with_events_or_audit_entries_is_found(app) {
        // A history: incidents with their events, unmasked reads (audited).
        let dispatcher = app.login("dispatcher").await;
        for n in 0..30 {
            let incident = app
                .instruction(&dispatcher, &format!("chain-{n}"), "theft", 28.15, 113.02)
                .await;
            app.get(Some(&dispatcher), &format!("/api/incidents/{}", incident["id"]))
                .await;
        }
        let reports = chain::verify(app.store.as_ref()).await.unwrap();
        assert!(whole(&reports), "{reports:?}");
        assert!(reports.iter().all(|r| r.rows >= 30), "{reports:?}");

        let raw = Raw::connect(&app).await;
        let mut rng = StdRng::seed_from_u64(15);
        let mut found = 0;
        for round in 0..1000 {
            let (table, columns, integers) = TABLES[rng.random_range(0..TABLES.len())];
            let rows = raw.rows(table, columns).await;
            let at = rng.random_range(0..rows.len());
            let row = rows[at].clone();
            let id = row[0].clone();
            let id_param = raw.placeholder(1, true);
            let kind = rng.random_range(0..4);
            let expected_id;
            if kind == 3 && at + 1 < rows.len() {
                // Remove a row (not the newest: see the README).
                raw.execute(&format!("DELETE FROM {table} WHERE id = {id_param}"), std::slice::from_ref(&id))
                    .await;
                expected_id = rows[at + 1][0].clone();
            } else {
                // Change one column: content, prev_hash or hash.
                let column = match kind {
                    1 => columns.len() - 2,
                    2 => columns.len() - 1,
                    _ => rng.random_range(1..columns.len() - 2),
                };
                let name = columns[column];
                let integer = integers.contains(&name);
                let new = match (&row[column], integer) {
                    (Some(v), true) => Some((v.parse::<i64>().unwrap() + 1).to_string()),
                    (None, true) => Some("7".to_owned()),
                    (Some(v), false) => Some(format!("{v}x")),
                    (None, false) => Some("x".to_owned()),
                };
                let value = raw.placeholder(2, integer);
                raw.execute(
                    &format!("UPDATE {table} SET {name} = {value} WHERE id = {id_param}"),
                    &[id.clone(), new],
                )
                .await;
                expected_id = id.clone();
            }
            let reports = chain::verify(app.store.as_ref()).await.unwrap();
            let broken = reports
                .iter()
                .find_map(|r| r.broken.clone())
                .unwrap_or_else(|| panic!("round {round}: tampering with {table} row {id:?} was not found"));
            assert_eq!(broken.table, table, "round {round}");
            assert_eq!(Some(broken.id.to_string()), expected_id, "round {round}: {broken}");
            found += 1;
            // Put the row back as it was.
            raw.execute(&format!("DELETE FROM {table} WHERE id = {id_param}"), std::slice::from_ref(&id))
                .await;
            let values: Vec<String> = columns
                .iter()
                .enumerate()
                .map(|(i, c)| raw.placeholder(i + 1, integers.contains(c)))
                .collect();
            raw.execute(
                &format!("INSERT INTO {table} ({}) VALUES ({})", columns.join(", "), values.join(", ")),
                &row,
            )
            .await;
            let after = raw.rows(table, columns).await;
            assert_eq!(after, rows, "round {round}: the row {id:?} was put back as it was");
        }
        assert_eq!(found, 1000);
        assert!(whole(&chain::verify(app.store.as_ref()).await.unwrap()));
    }
}

api_test! {
    async fn an_incident_row_changed_past_the_api_is_found(app) {
        // Issue 23: `verify` held only events and audit entries; an edited
        // summary passed. Each incident is now held to its sealed events.
        let dispatcher = app.login("dispatcher").await;
        let mut ids = Vec::new();
        for n in 0..4 {
            let incident = app
                .instruction(&dispatcher, &format!("row-{n}"), "theft", 28.15 + n as f64 * 0.01, 113.02)
                .await;
            ids.push(incident["id"].as_i64().unwrap());
        }
        let (status, body) = app
            .post(
                Some(&dispatcher),
                &format!("/api/incidents/{}/close", ids[0]),
                serde_json::json!({ "disposition": "resolved_on_scene", "remark": "当场调解" }),
            )
            .await;
        assert!(status.is_success(), "{body}");
        assert!(whole(&chain::verify(app.store.as_ref()).await.unwrap()));

        let raw = Raw::connect(&app).await;
        let id = |n: usize| Some(ids[n].to_string());
        let cases: [(usize, &str, Option<String>, bool); 9] = [
            (1, "summary", Some("改过的摘要".into()), false),
            (1, "address", Some("别处".into()), false),
            (2, "category", Some("fight".into()), false),
            (2, "priority", Some("1".into()), true),
            (3, "external_id", Some("forged".into()), false),
            (0, "closing_remark", Some("改过的处置说明".into()), false),
            (0, "disposition", Some("no_action_needed".into()), false),
            (3, "disposition", Some("resolved_on_scene".into()), false),
            (3, "duplicate_of", id(1), true),
        ];
        for (n, column, value, integer) in cases {
            let target = ids[n];
            let before = raw.rows("incidents", &["id", column]).await;
            let original = before
                .iter()
                .find(|r| r[0].as_deref() == Some(target.to_string().as_str()))
                .unwrap()[1]
                .clone();
            let set = |value: Option<String>| {
                let raw = &raw;
                async move {
                    raw.execute(
                        &format!(
                            "UPDATE incidents SET {column} = {} WHERE id = {}",
                            raw.placeholder(1, integer),
                            raw.placeholder(2, true)
                        ),
                        &[value, Some(target.to_string())],
                    )
                    .await
                }
            };
            set(value).await;
            let reports = chain::verify(app.store.as_ref()).await.unwrap();
            let broken = reports
                .iter()
                .find_map(|r| r.broken.clone())
                .unwrap_or_else(|| panic!("a changed {column} was not found"));
            assert_eq!((broken.table, broken.id), ("incidents", target), "{column}: {broken}");
            set(original).await;
            assert!(whole(&chain::verify(app.store.as_ref()).await.unwrap()), "{column} put back");
        }
    }
}
