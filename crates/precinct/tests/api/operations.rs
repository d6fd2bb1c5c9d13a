//! Health, metrics, the OpenAPI contract, and the ground.

use crate::common::*;
use reqwest::StatusCode;

api_test! {
    async fn openapi_names_every_operation_of_the_contract(app) {
        let (status, doc) = app.get(None, "/api/openapi.json").await;
        assert_eq!(status, StatusCode::OK);
        // Query parameters are declared in the query, and only path
        // templates' own names are path parameters (a generated client must
        // be able to call every operation).
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, op) in item.as_object().unwrap() {
                for parameter in op["parameters"].as_array().into_iter().flatten() {
                    let name = parameter["name"].as_str().unwrap();
                    let place = parameter["in"].as_str().unwrap();
                    let in_template = path.contains(&format!("{{{name}}}"));
                    assert_eq!(
                        place == "path",
                        in_template,
                        "{method} {path}: parameter {name} is declared in {place}"
                    );
                }
            }
        }
        let mut ids: Vec<String> = Vec::new();
        for (_, item) in doc["paths"].as_object().unwrap() {
            for (_, op) in item.as_object().unwrap() {
                if let Some(id) = op["operationId"].as_str() {
                    ids.push(id.to_owned());
                }
            }
        }
        for required in [
            "login",
            "create_incident",
            "get_incident",
            "list_incidents",
            "merge_incidents",
            "dispatch_units",
            "update_unit_status",
            "report_unit_position",
            "add_incident_note",
            "close_incident",
            "list_units",
            "get_jurisdiction",
            "stream_events",
            "validate_station_package",
            "import_station_package",
            "export_station_package",
            "change_password",
        ] {
            assert!(
                ids.iter().any(|id| id == required),
                "{required} is in the OpenAPI document"
            );
        }
        assert!(doc["components"]["schemas"]["ErrorBody"].is_object());
        assert!(doc["components"]["securitySchemes"]["bearer"].is_object());

        // Every error an operation can answer is documented, with the error
        // body: a client generated from the document handles each.
        let error_body = |response: &serde_json::Value| {
            response["content"]["application/json"]["schema"]["$ref"]
                .as_str()
                .is_some_and(|r| r.ends_with("ErrorBody"))
        };
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, op) in item.as_object().unwrap() {
                let responses = op["responses"].as_object().unwrap();
                let mut wanted = vec!["400", "500"];
                if op["security"].is_array() {
                    wanted.extend(["401", "403"]);
                }
                if path.contains("{id}") {
                    wanted.push("404");
                }
                if op["requestBody"].is_object() {
                    wanted.extend(["413", "415", "422"]);
                }
                if method == "post" {
                    wanted.push("503");
                }
                for status in wanted {
                    assert!(
                        responses.get(status).is_some_and(error_body),
                        "{method} {path} documents {status} with the error body"
                    );
                }
            }
        }
        // Fields with a fixed set of values are enums, read from the domain.
        let schemas = &doc["components"]["schemas"];
        let values = |schema: &serde_json::Value| -> Vec<String> {
            schema["enum"]
                .as_array()
                .unwrap_or_else(|| panic!("an enum: {schema}"))
                .iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        };
        assert!(values(&schemas["IncidentDto"]["properties"]["status"]).contains(&"dispatched".to_owned()));
        assert!(values(&schemas["UnitDto"]["properties"]["kind"]).contains(&"patrol_car".to_owned()));
        assert!(values(&schemas["UserDto"]["properties"]["role"]).contains(&"mediator".to_owned()));
        assert!(values(&schemas["CloseRequest"]["properties"]["disposition"]).contains(&"referred_to_mediation".to_owned()));
        assert!(values(&schemas["DisputeDto"]["properties"]["risk"]).contains(&"high".to_owned()));
        let list = &doc["paths"]["/api/incidents"]["get"]["parameters"];
        let status = list.as_array().unwrap().iter().find(|p| p["name"] == "status").unwrap();
        assert!(values(&status["schema"]).contains(&"all".to_owned()));
        // Ids are positive.
        let get = &doc["paths"]["/api/incidents/{id}"]["get"]["parameters"][0];
        assert_eq!(get["schema"]["minimum"], 1, "{get}");
    }
}

api_test! {
    async fn health_and_metrics(app) {
        let (status, body) = app.get(None, "/healthz").await;
        assert_eq!(
            (status, body["status"].as_str()),
            (StatusCode::OK, Some("ok"))
        );
        let token = app.login("dispatcher").await;
        app.instruction(&token, "m-1", "theft", 28.15, 113.02).await;
        // Metrics are for administrators (or a scraper's token), not anyone.
        let (status, body) = app.get(None, "/metrics").await;
        assert_eq!((status, body["code"].as_str()), (StatusCode::UNAUTHORIZED, Some("unauthenticated")));
        let (status, _) = app.get(Some(&token), "/metrics").await;
        assert_eq!(status, StatusCode::FORBIDDEN, "a dispatcher may not read them");
        let admin = app.login("admin").await;
        let (status, text) = app.get(Some(&admin), "/metrics").await;
        assert_eq!(status, StatusCode::OK);
        let text = text.as_str().unwrap().to_owned();
        assert!(text.contains("precinct_intakes_total 1"), "{text}");
        assert!(text.contains("precinct_intake_seconds_count 1"));
        assert!(
            text.contains("route=\"/api/incidents\""),
            "requests are counted by route template"
        );
    }
}

api_test! {
    async fn the_ground_resolves_points(app) {
        let token = app.login("analyst").await;
        let (status, ground) = app.get(Some(&token), "/api/jurisdiction").await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(ground["zones"].as_array().unwrap().len(), 2);
        assert_eq!(ground["communities"].as_array().unwrap().len(), 10);
        assert_eq!(ground["grid_cells"].as_array().unwrap().len(), 40);

        let shop = app.place(&token, "美食七街7号").await;
        let (lat, lon) = near(&shop, 0.0, 0.0);
        let (_, r) = app
            .get(
                Some(&token),
                &format!("/api/jurisdiction/resolve?lat={lat}&lon={lon}"),
            )
            .await;
        assert_eq!(r["community_name"], "永定社区");
        assert_eq!(r["zone_name"], "北部警务防区");
        assert_eq!(r["grid_cell_code"], "YD-3");
        // The same point as a Chinese map app gives it (GCJ-02) resolves the same.
        let gcj = precinct_geo::wgs84_to_gcj02(precinct_domain::Coordinates::new(lat, lon).unwrap());
        let (_, r2) = app
            .get(
                Some(&token),
                &format!(
                    "/api/jurisdiction/resolve?lat={}&lon={}&datum=gcj02",
                    gcj.lat(),
                    gcj.lon()
                ),
            )
            .await;
        assert_eq!(r2["grid_cell_code"], "YD-3");
        let (_, outside) = app
            .get(Some(&token), "/api/jurisdiction/resolve?lat=39.9&lon=116.4")
            .await;
        assert_eq!(outside["outside_ground"], true);
        assert!(outside["zone_id"].is_null());

        let (_, leather) = app.get(Some(&token), "/api/places?q=皮具").await;
        assert_eq!(
            leather.as_array().unwrap().len(),
            3,
            "partial Chinese input finds the leather hall and its shops"
        );
    }
}

/// A scraper reads `/metrics` with the configured token, and only with it.
#[tokio::test]
async fn a_scraper_reads_metrics_with_its_token() {
    let dir = tempfile::tempdir().unwrap();
    let database = format!("sqlite://{}", dir.path().join("m.db").display());
    let server = crate::spawn::precinct([
        "serve",
        "--addr",
        "127.0.0.1:0",
        "--database",
        &database,
        "--metrics-token",
        "scraper-token-0123456789",
    ]);
    let client = reqwest::Client::new();
    let status = |token: &'static str| {
        let request = client
            .get(format!("{}/metrics", server.base))
            .bearer_auth(token);
        async move { request.send().await.unwrap().status() }
    };
    assert_eq!(status("scraper-token-0123456789").await, StatusCode::OK);
    assert_eq!(
        status("scraper-token-012345678X").await,
        StatusCode::UNAUTHORIZED
    );
}
