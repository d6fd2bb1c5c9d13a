//! The OpenAPI document served at `/api/openapi.json`: the integration contract.

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

#[derive(OpenApi, Debug)]
#[openapi(
    info(
        title = "Precinct API",
        description = "Command platform for community policing: intake, dispatch, live units, incidents.\n\n\
            Errors always have the body `{ code, message, message_zh }` with a stable `code`.\n\
            Times are UTC (RFC 3339). Coordinates are WGS84 unless `datum: gcj02` is given."
    ),
    components(schemas(crate::error::ErrorBody)),
    tags(
        (name = "auth", description = "Log in and out"),
        (name = "incidents", description = "警情: intake to close"),
        (name = "units", description = "警力: status and position"),
        (name = "ground", description = "辖区: zones, communities, grid cells, places"),
        (name = "events", description = "Live stream of committed events"),
        (name = "roads", description = "道路: closures that routing avoids"),
        (name = "figures", description = "统计: the station's figures over a period"),
        (name = "disputes", description = "矛盾纠纷: cases, mediation sessions, agreements, follow-up visits"),
        (name = "station", description = "站点数据包: set the station up from its own files (administrators)"),
        (name = "operations", description = "Health and metrics"),
    )
)]
struct ApiDoc;

/// The document: its head (above) and the paths of every route as declared
/// with its gate (`crate::routes`), then the errors every operation can
/// answer and the bearer scheme.
pub fn openapi() -> utoipa::openapi::OpenApi {
    let mut document = ApiDoc::openapi();
    let (_, paths) = crate::routes().split();
    document.merge(paths);
    for modifier in [
        &BearerAuth as &dyn Modify,
        &StandardErrors,
        &ResponsesComplete,
    ] {
        modifier.modify(&mut document);
    }
    document
}

/// The document as served (compact JSON), made once.
pub(crate) fn served() -> &'static str {
    static SERVED: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
        serde_json::to_string(&openapi()).expect("the document serializes")
    });
    &SERVED
}

/// The document as served, pretty-printed (what `web/openapi.json` holds,
/// and what the web's types are generated from).
pub fn document() -> String {
    serde_json::to_string_pretty(&openapi()).expect("the document serializes")
}

#[derive(Debug)]
struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// What the server sends has every field: an absent value is `null`, never
/// a missing key. So every property of a response schema (`…Dto`, and the
/// few named otherwise) is required; a generated client then need not
/// guess. Request schemas keep their optional fields.
#[derive(Debug)]
struct ResponsesComplete;

impl Modify for ResponsesComplete {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::RefOr;
        let Some(components) = openapi.components.as_mut() else {
            return;
        };
        let responses_named_otherwise = [
            "ErrorBody",
            "StationReport",
            "ConsoleConfig",
            "Point",
            "EventData",
        ];
        for (name, schema) in components.schemas.iter_mut() {
            if !(name.ends_with("Dto") || responses_named_otherwise.contains(&name.as_str())) {
                continue;
            }
            if let RefOr::T(schema) = schema {
                complete(schema);
            }
        }
    }
}

/// Marks every property of `schema` required, and of the objects it holds
/// inline (a union's members, their `data`); an object of no properties is
/// closed (`{}` exactly), not a bare object.
fn complete(schema: &mut utoipa::openapi::Schema) {
    fn inline(
        item: &mut utoipa::openapi::RefOr<utoipa::openapi::Schema>,
    ) -> Option<&mut utoipa::openapi::Schema> {
        match item {
            utoipa::openapi::RefOr::T(schema) => Some(schema),
            utoipa::openapi::RefOr::Ref(_) => None,
        }
    }
    use utoipa::openapi::schema::{AdditionalProperties, ArrayItems};
    use utoipa::openapi::{RefOr, Schema};
    match schema {
        Schema::Object(object) => {
            for property in object.properties.keys() {
                if !object.required.contains(property) {
                    object.required.push(property.clone());
                }
            }
            let is_object = object.schema_type
                == utoipa::openapi::schema::SchemaType::from(utoipa::openapi::schema::Type::Object);
            if is_object && object.properties.is_empty() && object.additional_properties.is_none() {
                object.additional_properties =
                    Some(Box::new(AdditionalProperties::FreeForm(false)));
            }
            object
                .properties
                .values_mut()
                .filter_map(inline)
                .for_each(complete);
        }
        Schema::AllOf(all) => all.items.iter_mut().filter_map(inline).for_each(complete),
        Schema::OneOf(one) => one.items.iter_mut().filter_map(inline).for_each(complete),
        Schema::Array(array) => {
            if let ArrayItems::RefOrSchema(item) = &mut array.items
                && let RefOr::T(schema) = item.as_mut()
            {
                complete(schema);
            }
        }
        _ => {}
    }
}

/// Documents the errors every operation can answer, with the error body,
/// where its own annotation does not already: 400 (an unreadable path,
/// query or body), 401 and 403 (operations that need a session: no session,
/// a role without the right, a password or a second factor still to set, a
/// cross-site cookie change), 404 (operations on an object by id), 408,
/// 413, 415 and 422 (operations with a body), 422 (operations with query
/// parameters), 429 (the live stream), 500, and 503 (`storage_full`, on
/// every write).
#[derive(Debug)]
struct StandardErrors;

impl Modify for StandardErrors {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::path::{HttpMethod, ParameterIn};
        use utoipa::openapi::{ContentBuilder, Ref, RefOr, ResponseBuilder};
        let error = |description: &str| {
            RefOr::T(
                ResponseBuilder::new()
                    .description(description)
                    .content(
                        "application/json",
                        ContentBuilder::new()
                            .schema(Some(Ref::from_schema_name("ErrorBody")))
                            .build(),
                    )
                    .build(),
            )
        };
        for (path, item) in openapi.paths.paths.iter_mut() {
            let operations = [
                (HttpMethod::Get, item.get.as_mut()),
                (HttpMethod::Post, item.post.as_mut()),
                (HttpMethod::Put, item.put.as_mut()),
                (HttpMethod::Delete, item.delete.as_mut()),
                (HttpMethod::Patch, item.patch.as_mut()),
            ];
            for (method, operation) in operations {
                let Some(operation) = operation else { continue };
                // Ids are positive: a client learns so from the document.
                for parameter in operation.parameters.iter_mut().flatten() {
                    if matches!(parameter.parameter_in, ParameterIn::Path)
                        && parameter.name == "id"
                        && let Some(RefOr::T(utoipa::openapi::Schema::Object(schema))) =
                            parameter.schema.as_mut()
                        && schema.schema_type
                            == utoipa::openapi::schema::SchemaType::from(
                                utoipa::openapi::schema::Type::Integer,
                            )
                    {
                        schema.minimum = Some(1.into());
                    }
                }
                let params = operation.parameters.as_deref().unwrap_or_default();
                let by_id = params
                    .iter()
                    .any(|p| matches!(p.parameter_in, ParameterIn::Path));
                let has_query = params
                    .iter()
                    .any(|p| matches!(p.parameter_in, ParameterIn::Query));
                let has_body = operation.request_body.is_some();
                let secured = operation.security.is_some();
                let write = matches!(
                    method,
                    HttpMethod::Post | HttpMethod::Put | HttpMethod::Delete | HttpMethod::Patch
                );
                let mut wanted: Vec<(&str, &str)> = vec![
                    (
                        "400",
                        "The request cannot be read: a path, query or body that is not what this operation takes (`invalid_path`, `invalid_query`, `malformed_json`, `malformed_request`)",
                    ),
                    (
                        "500",
                        "An internal failure, logged on the server (`internal`)",
                    ),
                ];
                if secured {
                    wanted.push((
                        "401",
                        "No session, or it ended (`unauthenticated`, `session_expired`)",
                    ));
                    wanted.push(("403", "The role may not do this (`forbidden`), or a one-time password or a required second factor must be set first (`password_change_required`, `second_factor_enrolment_required`), or a change with the session cookie did not come from Precinct's pages (`cross_site_request`)"));
                }
                if by_id {
                    wanted.push(("404", "No such object, or not visible to you (`not_found`)"));
                }
                if has_body {
                    wanted.push(("408", "The body did not arrive in time (`request_timeout`)"));
                    wanted.push((
                        "413",
                        "The body is larger than this operation takes (`payload_too_large`)",
                    ));
                    wanted.push(("415", "The body is not of the media type this operation takes (`unsupported_media_type`)"));
                }
                if has_body || has_query {
                    wanted.push(("422", "A value is not acceptable (`invalid_field` naming the field, or the operation's own codes)"));
                }
                if write {
                    wanted.push((
                        "503",
                        "The server's storage is full: nothing was saved (`storage_full`)",
                    ));
                }
                if path == "/api/events/stream" {
                    wanted.push((
                        "429",
                        "This session holds as many live streams as it may (`too_many_streams`)",
                    ));
                }
                for (status, description) in wanted {
                    operation
                        .responses
                        .responses
                        .entry(status.to_owned())
                        .or_insert_with(|| error(description));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    /// The web's TypeScript types are generated from `web/openapi.json`
    /// (openapi-typescript, in the web build): it must be this document.
    /// `PRECINCT_UPDATE_OPENAPI=1 cargo test -p precinct-api openapi` writes it.
    #[test]
    fn the_committed_document_is_the_served_one() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../web/openapi.json");
        let served = format!("{}\n", super::document());
        if std::env::var_os("PRECINCT_UPDATE_OPENAPI").is_some() {
            std::fs::write(&path, &served).expect("writing web/openapi.json");
            return;
        }
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            committed == served,
            "web/openapi.json is not the API's document: run `PRECINCT_UPDATE_OPENAPI=1 cargo test -p precinct-api openapi`, then `npm run generate` in web/, and commit both"
        );
    }

    /// The live events are a tagged union in the document: one member per
    /// kind the domain has, each with its `type` and a typed `data` (the web
    /// build checks its handlers against it).
    #[test]
    fn every_event_kind_is_a_typed_member_of_the_union() {
        let doc: serde_json::Value = serde_json::from_str(&super::document()).unwrap();
        let members = doc["components"]["schemas"]["EventData"]["oneOf"]
            .as_array()
            .expect("EventData is a union");
        let mut types = Vec::new();
        for member in members {
            let kind = member["properties"]["type"]["enum"][0].as_str().unwrap();
            let data = &member["properties"]["data"];
            assert!(
                data["properties"].is_object()
                    || data["$ref"].is_string()
                    || data["additionalProperties"] == false,
                "{kind}: {data}"
            );
            assert_eq!(
                member["required"],
                serde_json::json!(["data", "type"]),
                "{kind}"
            );
            types.push(kind.to_owned());
        }
        assert_eq!(types, precinct_domain::event::EVENT_NAMES);
    }

    /// Every schema is named and complete: no property is a bare object.
    #[test]
    fn no_schema_is_a_bare_object() {
        let doc: serde_json::Value = serde_json::from_str(&super::document()).unwrap();
        let mut bare = Vec::new();
        fn walk(path: &str, value: &serde_json::Value, bare: &mut Vec<String>) {
            match value {
                serde_json::Value::Object(map) => {
                    let is_object = map.get("type").is_some_and(|t| {
                        t == "object"
                            || t.as_array()
                                .is_some_and(|a| a.iter().any(|x| x == "object"))
                    });
                    if is_object
                        && !map.contains_key("properties")
                        && !map.contains_key("additionalProperties")
                        && !map.contains_key("$ref")
                    {
                        bare.push(path.to_owned());
                    }
                    for (k, v) in map {
                        walk(&format!("{path}/{k}"), v, bare);
                    }
                }
                serde_json::Value::Array(items) => {
                    for (i, v) in items.iter().enumerate() {
                        walk(&format!("{path}/{i}"), v, bare);
                    }
                }
                _ => {}
            }
        }
        walk("", &doc, &mut bare);
        assert!(bare.is_empty(), "bare objects in the document: {bare:#?}");
    }
}
