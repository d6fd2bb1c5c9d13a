//! What people in the field see (issue 25, item 8): a volunteer's or grid
//! worker's report (义警上报: a category, a note, a photo, their position)
//! arrives in the queue as an incident with its own source; photos of a
//! scene are attached to an incident and read back (each read audited).

use crate::AppState;
use crate::dto::{IncidentDto, PersonalData, PhotoDto};
use crate::error::{ApiError, ErrorBody};
use crate::extract::PathId;
use crate::session::Authed;
use axum::Json;
use axum::extract::multipart::MultipartRejection;
use axum::extract::{Multipart, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use precinct_domain::ids::IncidentId;
use precinct_domain::incident::{IntakeForm, IntakeSource};
use precinct_domain::photo::{MAX_PHOTO_BYTES, photo_type};
use precinct_domain::policy::{self, Action};
use precinct_domain::unit::UnitKind;
use precinct_storage::NewPhoto;
use serde::Serialize;
use std::collections::BTreeMap;
use utoipa::ToSchema;

/// The largest field report or photo upload (a photo and a few fields).
pub const MAX_FIELD_UPLOAD_BYTES: usize = MAX_PHOTO_BYTES + 64 * 1024;

/// A field report's form (multipart).
#[derive(Debug, ToSchema)]
#[allow(dead_code)]
pub struct FieldReportForm {
    /// A code of the station's incident table.
    category: String,
    /// What is happening (up to 500 characters).
    note: Option<String>,
    /// The reporter's position (WGS-84).
    lat: f64,
    lon: f64,
    /// Else the nearest address is named.
    address: Option<String>,
    /// A JPEG, PNG or WebP image, at most 8 MiB.
    #[schema(value_type = Option<String>, format = Binary)]
    photo: Option<Vec<u8>>,
}

/// A photo upload (multipart).
#[derive(Debug, ToSchema)]
#[allow(dead_code)]
pub struct PhotoForm {
    /// A JPEG, PNG or WebP image of the scene, at most 8 MiB.
    #[schema(value_type = String, format = Binary)]
    photo: Vec<u8>,
}

/// What a field report made: the incident in the queue and its photo.
#[derive(Debug, Serialize, ToSchema)]
pub struct FieldReportResponse {
    pub incident: IncidentDto,
    pub photo: Option<PhotoDto>,
}

/// A multipart body's text fields and its one image.
struct Upload {
    fields: BTreeMap<String, String>,
    photo: Option<NewPhoto>,
}

fn bad_upload(message: String) -> ApiError {
    ApiError::new(
        StatusCode::BAD_REQUEST,
        "invalid_upload",
        message,
        "上传内容无效:请以 multipart/form-data 提交(字段 category、note、lat、lon,照片字段 photo)",
    )
}

/// Reads the fields and checks the photo: a JPEG, PNG or WebP by its bytes,
/// at most 8 MiB. Not a multipart body: 400. A body whose parts cannot be
/// read, or a known field that is not short UTF-8 text: 422. Other fields
/// are ignored.
async fn read_upload(multipart: Result<Multipart, MultipartRejection>) -> Result<Upload, Response> {
    let mut multipart = multipart.map_err(|e| bad_upload(e.body_text()).into_response())?;
    let bad = |message: String| {
        ApiError::unprocessable(
            "invalid_upload",
            message,
            "上传内容无法读取:字段 category、note、lat、lon、address 须为文本,照片字段 photo",
        )
        .into_response()
    };
    let mut upload = Upload {
        fields: BTreeMap::new(),
        photo: None,
    };
    while let Some(field) = multipart
        .next_field()
        .await
        .map_err(|e| crate::extract::field_error(e, MAX_FIELD_UPLOAD_BYTES, &bad))?
    {
        let name = field.name().unwrap_or_default().to_owned();
        let bytes = field
            .bytes()
            .await
            .map_err(|e| crate::extract::field_error(e, MAX_FIELD_UPLOAD_BYTES, &bad))?;
        if name == "photo" {
            if bytes.is_empty() {
                continue;
            }
            if bytes.len() > MAX_PHOTO_BYTES {
                return Err(ApiError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "payload_too_large",
                    format!("a photo is at most {MAX_PHOTO_BYTES} bytes"),
                    "照片过大(最大 8 MiB)",
                )
                .into_response());
            }
            let Some(content_type) = photo_type(&bytes) else {
                return Err(ApiError::unprocessable(
                    "invalid_photo",
                    "the photo is not a JPEG, PNG or WebP image",
                    "照片须为 JPEG、PNG 或 WebP 图片",
                )
                .into_response());
            };
            upload.photo = Some(NewPhoto {
                content_type: content_type.to_owned(),
                bytes: bytes.to_vec(),
                unit_id: None,
            });
        } else if ["category", "note", "lat", "lon", "address"].contains(&name.as_str()) {
            if bytes.len() > 4096 {
                return Err(bad(format!("field {name} is longer than 4096 bytes")));
            }
            let text = String::from_utf8(bytes.to_vec())
                .map_err(|_| bad(format!("field {name} is not UTF-8 text")))?;
            upload.fields.insert(name, text);
        }
    }
    Ok(upload)
}

fn coordinate(fields: &BTreeMap<String, String>, name: &str) -> Result<f64, ApiError> {
    fields
        .get(name)
        .and_then(|v| v.trim().parse::<f64>().ok())
        .filter(|v| v.is_finite())
        .ok_or_else(|| {
            ApiError::unprocessable(
                "missing_location",
                format!("{name} must be a number: a field report needs the reporter's position"),
                "上报须附带当前位置(lat、lon)",
            )
        })
}

#[utoipa::path(
    post, path = "/api/field-reports", operation_id = "report_from_field", tag = "incidents",
    request_body(content = FieldReportForm, content_type = "multipart/form-data", description = "What a volunteer or grid worker sees (义警上报): `category` (a code of the station's table), `note` (what is happening, up to 500 characters), `lat` and `lon` (the reporter's position, WGS-84), optionally `address` (else the nearest address is named) and `photo` (a JPEG, PNG or WebP image, at most 8 MiB)."),
    responses(
        (status = 201, description = "In the queue: an incident with the source `volunteer_report` (or `grid_worker_report` for a grid worker), placed at the reporter's position, and its photo", body = FieldReportResponse),
        (status = 400, description = "Not a multipart body", body = ErrorBody),
        (status = 403, description = "Only members of a helper unit (volunteers, grid workers, security and property staff) report from the field; police take reports through intake (`field_report_for_helpers`)", body = ErrorBody),
        (status = 413, description = "A photo larger than 8 MiB", body = ErrorBody),
        (status = 422, description = "An unknown category, no position, a position far from the ground, a photo that is not an image (`invalid_photo`), or parts that cannot be read (`invalid_upload`)", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn report_from_field(
    State(state): State<AppState>,
    authed: Authed,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<(StatusCode, Json<FieldReportResponse>), Response> {
    let user = authed
        .may(Action::ReportIncident)
        .map_err(IntoResponse::into_response)?;
    let helpers_only = || {
        ApiError::new(
            StatusCode::FORBIDDEN,
            "field_report_for_helpers",
            "field reports come from members of helper units (volunteers, grid workers); police take reports through intake",
            "现场上报仅限义警、网格员等辅助力量;民警请通过接警录入",
        )
        .into_response()
    };
    let unit_id = user.unit_id.ok_or_else(helpers_only)?;
    let unit = state
        .store
        .get_unit(unit_id)
        .await
        .map_err(|e| ApiError::from(e).into_response())?;
    if unit.kind.is_police() {
        return Err(helpers_only());
    }
    let upload = read_upload(multipart).await?;
    let fields = &upload.fields;
    let at = precinct_domain::Coordinates::new(
        coordinate(fields, "lat").map_err(IntoResponse::into_response)?,
        coordinate(fields, "lon").map_err(IntoResponse::into_response)?,
    )
    .map_err(|_| {
        ApiError::unprocessable(
            "coordinates_out_of_range",
            "lat must be -90 to 90 and lon -180 to 180",
            "坐标超出范围",
        )
        .into_response()
    })?;
    let ground = state.ground();
    let category = fields.get("category").cloned().unwrap_or_default();
    let note = fields
        .get("note")
        .map(|n| n.trim().to_owned())
        .unwrap_or_default();
    let label = ground
        .category_def(category.trim())
        .map(|d| d.name_zh)
        .unwrap_or_default();
    let source = if unit.kind == UnitKind::GridWorker {
        IntakeSource::GridWorkerReport
    } else {
        IntakeSource::VolunteerReport
    };
    let address = match fields
        .get("address")
        .map(|a| a.trim())
        .filter(|a| !a.is_empty())
    {
        Some(a) => a.to_owned(),
        None => {
            let (g, streets) = (ground.clone(), state.streets());
            tokio::task::spawn_blocking(move || precinct_domain::address::reverse(&g, &streets, at))
                .await
                .ok()
                .flatten()
                .map(|h| h.address)
                .unwrap_or_default()
        }
    };
    let summary = if note.is_empty() {
        format!("{}上报:{label}", unit.call_sign)
    } else {
        format!("{}上报:{note}", unit.call_sign)
    };
    let form = IntakeForm {
        source: source.as_str().to_owned(),
        external_id: None,
        category,
        priority: None,
        location: Some(at),
        place_id: None,
        address: Some(address),
        caller_name: None,
        caller_phone: None,
        summary,
        reported_at: None,
    };
    let intake = form
        .into_intake(&ground, state.clock.now())
        .map_err(|e| ApiError::from(e).into_response())?;
    let outcome = state
        .store
        .intake(intake, authed.actor())
        .await
        .map_err(|e| ApiError::from(e).into_response())?;
    state.check_recurrence(outcome.incident.clone());
    let photo = match upload.photo {
        Some(mut photo) => {
            photo.unit_id = Some(unit_id);
            let info = state
                .store
                .attach_photo(outcome.incident.id, photo, authed.actor())
                .await
                .map_err(|e| ApiError::from(e).into_response())?;
            Some(PhotoDto::from(&info))
        }
        None => None,
    };
    let personal = if policy::sees_personal_data(user.role) {
        PersonalData::Shown
    } else {
        PersonalData::Masked
    };
    Ok((
        StatusCode::CREATED,
        Json(FieldReportResponse {
            incident: IncidentDto::new(&outcome.incident, &ground, personal),
            photo,
        }),
    ))
}

#[utoipa::path(
    post, path = "/api/incidents/{id}/photos", operation_id = "attach_photo", tag = "incidents",
    params(("id" = i64, Path, description = "Incident id")),
    request_body(content = PhotoForm, content_type = "multipart/form-data", description = "`photo`: a JPEG, PNG or WebP image of the scene, at most 8 MiB."),
    responses(
        (status = 201, description = "Attached; a `photo_attached` event on the incident", body = PhotoDto),
        (status = 400, description = "Not a multipart body, or no `photo`", body = ErrorBody),
        (status = 404, description = "No such incident (or not one you may see)", body = ErrorBody),
        (status = 409, description = "The incident is closed", body = ErrorBody),
        (status = 413, description = "Larger than 8 MiB", body = ErrorBody),
        (status = 422, description = "Not an image (`invalid_photo`), parts that cannot be read (`invalid_upload`), or the incident holds 20 photos already", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn attach_photo(
    State(state): State<AppState>,
    authed: Authed,
    PathId(id): PathId,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<(StatusCode, Json<PhotoDto>), Response> {
    let user = authed
        .may(Action::AddIncidentNote)
        .map_err(IntoResponse::into_response)?;
    let incident = super::intake::visible_incident(&state, user, IncidentId(id))
        .await
        .map_err(IntoResponse::into_response)?;
    if !policy::allows(
        user.role,
        Action::AddIncidentNote,
        &policy::incident_relations(user, &incident, &[]),
    ) {
        return Err(ApiError::forbidden().into_response());
    }
    let upload = read_upload(multipart).await?;
    let Some(mut photo) = upload.photo else {
        return Err(bad_upload("no field `photo` in the upload".into()).into_response());
    };
    photo.unit_id = user.unit_id;
    let info = state
        .store
        .attach_photo(incident.id, photo, authed.actor())
        .await
        .map_err(|e| ApiError::from(e).into_response())?;
    Ok((StatusCode::CREATED, Json(PhotoDto::from(&info))))
}

#[utoipa::path(
    get, path = "/api/photos/{id}", operation_id = "get_photo", tag = "incidents",
    params(("id" = i64, Path, description = "Photo id")),
    responses(
        (status = 200, description = "The image (its own content type); each read is audited", content_type = "image/jpeg"),
        (status = 404, description = "No such photo (or one of an incident you may not see)", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn get_photo(
    State(state): State<AppState>,
    authed: Authed,
    PathId(id): PathId,
) -> Result<Response, ApiError> {
    let user = authed.may(Action::ViewIncidents)?;
    let (info, bytes) = state.store.photo(id).await?;
    // As if it did not exist when its incident is not the reader's to see.
    super::intake::visible_incident(&state, user, info.incident_id)
        .await
        .map_err(|_| ApiError::not_found(&format!("photo {id}")))?;
    state
        .audit(
            user,
            "read_photo",
            format!("photo {id} of incident {}", info.incident_id),
        )
        .await?;
    Ok((
        [
            (header::CONTENT_TYPE, info.content_type),
            (header::CACHE_CONTROL, "private, max-age=3600".to_owned()),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_owned()),
        ],
        bytes,
    )
        .into_response())
}
