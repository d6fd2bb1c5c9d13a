//! Issue 25, item 8: a volunteer reports what they see (义警上报: a
//! category, a note, a photo, their position) and it arrives in the queue
//! with its own source, placed and addressed where they stand; the photo
//! is read back by those who may see the incident, each read audited. Bad
//! uploads change nothing.

use crate::common::*;
use reqwest::StatusCode;
use serde_json::Value;

/// A real 1×1 PNG.
const PNG: &[u8] = &[
    0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1F, 0x15, 0xC4,
    0x89, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9C, 0x63, 0xF8, 0xCF, 0xC0, 0xF0,
    0x1F, 0x00, 0x05, 0x00, 0x01, 0xFF, 0x89, 0x99, 0x3D, 0x1D, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45,
    0x4E, 0x44, 0xAE, 0x42, 0x60, 0x82,
];

/// A multipart body's parts: (field, file name, bytes).
type Parts = Vec<(&'static str, &'static str, Vec<u8>)>;

fn report(category: &str, note: &str, at: Option<(f64, f64)>, photo: Option<Vec<u8>>) -> Parts {
    let mut parts = vec![
        ("category", "", category.as_bytes().to_vec()),
        ("note", "", note.as_bytes().to_vec()),
    ];
    if let Some((lat, lon)) = at {
        parts.push(("lat", "", lat.to_string().into_bytes()));
        parts.push(("lon", "", lon.to_string().into_bytes()));
    }
    if let Some(photo) = photo {
        parts.push(("photo", "scene.png", photo));
    }
    parts
}

async fn open_count(app: &TestApp, token: &str) -> usize {
    let (_, list) = app.get(Some(token), "/api/incidents?limit=1000").await;
    list.as_array().map_or(0, Vec::len)
}

api_test! {
    async fn a_volunteers_report_with_a_photo_reaches_the_queue(app) {
        let volunteer = app.login("volunteer").await;
        let dispatcher = app.login("dispatcher").await;
        let officer = app.login("officer").await;
        let outsider = app.login("market").await;
        let shop = app.place(&dispatcher, "美食七街7号").await;
        let at = near(&shop, 20.0, 10.0);
        let before = open_count(&app, &dispatcher).await;

        // Bad uploads: each refused with its code, nothing created.
        let refused: [(Parts, StatusCode, &str); 4] = [
            (report("fight_assault", "打架", Some(at), Some(b"<svg onload=alert(1)>".to_vec())), StatusCode::UNPROCESSABLE_ENTITY, "invalid_photo"),
            (report("fight_assault", "打架", None, Some(PNG.to_vec())), StatusCode::UNPROCESSABLE_ENTITY, "missing_location"),
            (report("no_such_code", "打架", Some(at), None), StatusCode::UNPROCESSABLE_ENTITY, "unknown_category"),
            (report("fight_assault", "打架", Some(at), Some(vec![0xFF; 8 * 1024 * 1024 + 1])), StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large"),
        ];
        for (parts, status, code) in refused {
            let (got, body) = app.upload(&volunteer, "/api/field-reports", parts).await;
            assert_eq!((got, body["code"].as_str()), (status, Some(code)), "{body}");
        }
        let (status, body) = app
            .upload(&officer, "/api/field-reports", report("fight_assault", "打架", Some(at), None))
            .await;
        assert_eq!((status, body["code"].as_str()), (StatusCode::FORBIDDEN, Some("field_report_for_helpers")), "{body}");
        assert_eq!(open_count(&app, &dispatcher).await, before, "nothing created");

        // The report: in the queue with its source, where the volunteer stands.
        let (status, made) = app
            .upload(
                &volunteer,
                "/api/field-reports",
                report("fight_assault", "两名男子在烧烤摊前推搡", Some(at), Some(PNG.to_vec())),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{made}");
        let incident = &made["incident"];
        assert_eq!(incident["source"], "volunteer_report");
        assert_eq!(incident["status"], "received");
        assert!(incident["summary"].as_str().unwrap().contains("推搡"), "{made}");
        assert!(!incident["address"].as_str().unwrap().is_empty(), "addressed where they stand: {made}");
        assert!((incident["location"]["lat"].as_f64().unwrap() - at.0).abs() < 1e-6);
        let id = incident["id"].as_i64().unwrap();
        let photo_url = made["photo"]["url"].as_str().unwrap().to_owned();

        // The dispatcher sees it arrive, with its photo.
        let (_, list) = app.get(Some(&dispatcher), "/api/incidents").await;
        assert!(list.as_array().unwrap().iter().any(|i| i["id"] == id && i["source"] == "volunteer_report"));
        let (_, detail) = app.get(Some(&dispatcher), &format!("/api/incidents/{id}")).await;
        assert_eq!(detail["photos"].as_array().unwrap().len(), 1, "{detail}");
        assert_eq!(detail["photos"][0]["url"], Value::from(photo_url.clone()));
        assert!(detail["timeline"].as_array().unwrap().iter().any(|e| e["type"] == "photo_attached"));
        let response = app.client.get(format!("{}{photo_url}", app.base)).bearer_auth(&dispatcher).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()["content-type"], "image/png");
        assert_eq!(response.bytes().await.unwrap().as_ref(), PNG);
        let audit = app.store.audit_log(100).await.unwrap();
        assert!(
            audit.iter().any(|e| e.action == "read_photo" && e.username == "dispatcher"),
            "the photo's read is audited: {audit:?}"
        );
        // Someone who may not see the incident does not see its photo.
        let response = app.client.get(format!("{}{photo_url}", app.base)).bearer_auth(&outsider).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::NOT_FOUND);

        // A body whose parts cannot be read (a part named with control
        // characters) is refused as unreadable, not taken for a missing field.
        let mut body = b"--b\r\nContent-Disposition: form-data; name=\"\x03\x10\"\r\n\r\nx\r\n".to_vec();
        body.extend_from_slice(b"--b\r\nContent-Disposition: form-data; name=\"photo\"; filename=\"p\"\r\n\r\n");
        body.extend_from_slice(PNG);
        body.extend_from_slice(b"\r\n--b--\r\n");
        let response = app
            .client
            .post(format!("{}/api/incidents/{id}/photos", app.base))
            .bearer_auth(&dispatcher)
            .header("content-type", "multipart/form-data; boundary=b")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let refused: Value = response.json().await.unwrap();
        assert_eq!(refused["code"], "invalid_upload", "{refused}");

        // An officer on the scene adds a photo; a closed incident takes none.
        let (status, body) = app
            .upload(&dispatcher, &format!("/api/incidents/{id}/photos"), vec![("photo", "more.png", PNG.to_vec())])
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        let (status, _) = app
            .post(Some(&dispatcher), &format!("/api/incidents/{id}/close"), serde_json::json!({"disposition": "no_action_needed"}))
            .await;
        assert_eq!(status, StatusCode::OK);
        let (status, body) = app
            .upload(&dispatcher, &format!("/api/incidents/{id}/photos"), vec![("photo", "late.png", PNG.to_vec())])
            .await;
        assert_eq!((status, body["code"].as_str()), (StatusCode::CONFLICT, Some("incident_closed")), "{body}");
    }
}
