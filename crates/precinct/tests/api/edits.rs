//! An administrator's edit is planned inside the writer's transaction
//! against the station as it stands (issue 24): it never undoes an import
//! or another edit that committed while it was on its way. Before, an edit
//! read the station first and wrote the whole layer back: a unit another
//! import had just added was retired, and a concurrent edit reverted.

use crate::common::api_test;
use serde_json::{Value, json};

async fn units(app: &crate::common::TestApp, token: &str) -> Vec<Value> {
    app.get(Some(token), "/api/units")
        .await
        .1
        .as_array()
        .unwrap()
        .clone()
}

/// Renames each unit to `{prefix}-{id}`, all at once; the answers' statuses.
fn rename_at_once(
    app: &std::sync::Arc<crate::common::TestApp>,
    admin: &str,
    ids: [i64; 2],
    prefix: &str,
) -> Vec<tokio::task::JoinHandle<reqwest::StatusCode>> {
    ids.into_iter()
        .map(|id| {
            let (app, admin) = (app.clone(), admin.to_owned());
            let name = format!("{prefix}-{id}");
            tokio::spawn(async move {
                app.post(
                    Some(&admin),
                    &format!("/api/admin/units/{id}"),
                    json!({ "name": name }),
                )
                .await
                .0
            })
        })
        .collect()
}

api_test! {
    async fn an_edit_loses_neither_a_concurrent_import_nor_a_concurrent_edit(app) {
        let app = std::sync::Arc::new(app);
        let admin = app.login("admin").await;
        let export = app.export_package(&admin).await;
        let all = units(&app, &admin).await;
        let (first, second) = (all[0]["id"].as_i64().unwrap(), all[1]["id"].as_i64().unwrap());
        for round in 0..6 {
            // An import that adds a unit, and an edit of another unit, at once.
            let mut files = export.clone();
            files.insert(
                &format!("units-race{round}.csv"),
                format!("call_sign,name,kind\nRACE{round},竞速{round},patrol_car\n").into_bytes(),
            );
            let import = {
                let (app, admin, zip) = (app.clone(), admin.clone(), files.to_zip().unwrap());
                tokio::spawn(async move {
                    let form = reqwest::multipart::Form::new().part(
                        "package",
                        reqwest::multipart::Part::bytes(zip).file_name("station.zip"),
                    );
                    app.client
                        .post(format!("{}/api/station/import", app.base))
                        .bearer_auth(&admin)
                        .multipart(form)
                        .send()
                        .await
                        .unwrap()
                        .status()
                })
            };
            let edits = rename_at_once(&app, &admin, [first, second], &format!("改名{round}"));
            assert!(import.await.unwrap().is_success(), "round {round}: the import");
            for edit in edits {
                assert!(edit.await.unwrap().is_success(), "round {round}: an edit");
            }
            let now = units(&app, &admin).await;
            let added = now.iter().find(|u| u["call_sign"] == format!("RACE{round}"));
            assert!(
                added.is_some_and(|u| u["retired"] != true),
                "round {round}: the unit the import added stands: {added:?}"
            );
            // Both edits stand, unless the import (whose package lists the
            // old names) committed after them: then both are undone alike.
            let names: Vec<String> = [first, second]
                .iter()
                .map(|id| now.iter().find(|u| u["id"] == *id).unwrap()["name"].as_str().unwrap().to_owned())
                .collect();
            let edited: Vec<bool> = [first, second]
                .iter()
                .zip(&names)
                .map(|(id, name)| *name == format!("改名{round}-{id}"))
                .collect();
            assert!(
                edited[0] == edited[1] || names.iter().all(|n| n.starts_with("改名")),
                "round {round}: one concurrent edit undid the other: {names:?}"
            );
        }
        // Two edits of two units, no import: both stand, every time.
        for round in 0..6 {
            let edits = rename_at_once(&app, &admin, [first, second], &format!("再改{round}"));
            for edit in edits {
                assert!(edit.await.unwrap().is_success());
            }
            let now = units(&app, &admin).await;
            for id in [first, second] {
                let unit = now.iter().find(|u| u["id"] == id).unwrap();
                assert_eq!(unit["name"], format!("再改{round}-{id}"), "round {round}: both edits stand");
            }
        }
    }
}

api_test! {
    async fn an_edit_writes_its_event_and_its_audit_together_or_neither(app) {
        let admin = app.login("admin").await;
        let unit = units(&app, &admin).await[0]["id"].as_i64().unwrap();
        let (events, audits) = (app.event_count().await, app.store.audit_log(10_000).await.unwrap().len());
        // Refused in the writer (no such post): neither.
        let (status, body) = app
            .post(Some(&admin), &format!("/api/admin/units/{unit}"), json!({ "post": "NO-SUCH-POST" }))
            .await;
        assert_eq!(status, reqwest::StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert_eq!(body["code"], "invalid_field");
        assert!(!body["message_zh"].as_str().unwrap().is_empty());
        assert_eq!(app.event_count().await, events);
        assert_eq!(app.store.audit_log(10_000).await.unwrap().len(), audits);
        // Made: its station_imported event and its audit entry.
        let (status, body) = app
            .post(Some(&admin), &format!("/api/admin/units/{unit}"), json!({ "name": "审计测试车" }))
            .await;
        assert_eq!(status, reqwest::StatusCode::OK, "{body}");
        assert_eq!(app.event_count().await, events + 1);
        let audit = app.store.audit_log(10_000).await.unwrap();
        assert_eq!(audit.len(), audits + 1);
        assert_eq!((audit[0].action.as_str(), audit[0].subject.clone()), ("update_unit", format!("unit {unit}")));
        // A password reset and a password change: each with its audit entry.
        let (_, users) = app.get(Some(&admin), "/api/admin/users").await;
        let officer = users.as_array().unwrap().iter().find(|u| u["username"] == "officer").unwrap()["id"].clone();
        let (status, reset) = app
            .post(Some(&admin), &format!("/api/admin/users/{officer}/reset-password"), json!({}))
            .await;
        assert_eq!(status, reqwest::StatusCode::OK, "{reset}");
        let audit = app.store.audit_log(10_000).await.unwrap();
        assert_eq!((audit[0].action.as_str(), audit[0].subject.as_str()), ("reset_password", "user officer"));
        let token = app
            .post(None, "/api/auth/login", json!({ "username": "officer", "password": reset["one_time_password"] }))
            .await
            .1["token"]
            .as_str()
            .unwrap()
            .to_owned();
        let (status, body) = app
            .post(
                Some(&token),
                "/api/auth/password",
                json!({ "current_password": reset["one_time_password"], "new_password": "a-new-long-password" }),
            )
            .await;
        assert_eq!(status, reqwest::StatusCode::NO_CONTENT, "{body}");
        let audit = app.store.audit_log(10_000).await.unwrap();
        assert_eq!((audit[0].action.as_str(), audit[0].subject.as_str()), ("change_password", "user officer"));
        let reports = precinct_storage::chain::verify(app.store.as_ref()).await.unwrap();
        assert!(reports.iter().all(|r| r.broken.is_none()), "{reports:?}");
    }
}
