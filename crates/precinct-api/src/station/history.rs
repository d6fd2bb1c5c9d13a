//! Importing past incidents (issue 17): a `.xlsx` or `.csv` file and an
//! optional mapping of old category codes, read by `precinct_station`,
//! checked row by row by the domain, imported in one transaction. The CLI
//! (`precinct history import`) calls the same [`import_history_file`].

use crate::AppState;
use crate::error::{ApiError, ErrorBody};
use crate::extract::QueryParams;
use crate::heavy::HeavyWork;
use crate::session::Authed;
use crate::station::package::ProblemDto;
use axum::Json;
use axum::extract::multipart::MultipartRejection;
use axum::extract::{Multipart, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{NaiveDateTime, TimeZone, Utc};
use precinct_domain::Timestamp;
use precinct_domain::event::Actor;
use precinct_domain::ground::Jurisdiction;
use precinct_domain::history::{HistoryRules, sort_history};
use precinct_domain::policy::Action;
use precinct_domain::station::Problem;
use precinct_storage::apply::HistoryImported;
use precinct_storage::{SharedStore, StoreError};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::{IntoParams, ToSchema};

/// The largest history upload (about two million rows of CSV).
pub const MAX_HISTORY_BYTES: usize = 256 * 1024 * 1024;
/// The most problems one answer lists (the count is always whole).
const MAX_PROBLEMS_LISTED: usize = 1_000;

/// What an import did.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct HistoryReport {
    pub file: String,
    pub rows: u64,
    pub inserted: u64,
    /// Rows whose external id was already imported: left as they were.
    pub already_present: u64,
    /// Rows outside the station's ground: kept, and counted here.
    pub outside: u64,
    /// Rows refused and skipped (only when `skip_invalid` was asked; by
    /// default one bad row refuses the whole file).
    pub skipped: u64,
    /// Why each skipped row was refused (the first 1,000 problems).
    pub skipped_problems: Vec<ProblemDto>,
}

/// What an import did, and the refused rows as a CSV (empty when none
/// were skipped) that the CLI writes beside the input.
#[derive(Debug, Clone)]
pub struct HistoryOutcome {
    pub report: HistoryReport,
    pub rejects_csv: Vec<u8>,
}

/// The body of a refused import: every problem (the first 1,000), nothing imported.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct HistoryErrorBody {
    /// `invalid_history`.
    pub code: String,
    pub message: String,
    pub message_zh: String,
    /// How many problems there are in all.
    pub problem_count: usize,
    pub problems: Vec<ProblemDto>,
}

/// Why a history file was not imported.
#[derive(Debug)]
pub enum HistoryRefusal {
    Problems(Vec<Problem>),
    Store(StoreError),
    /// Refused before an answer (reading took too long).
    Refused(ApiError),
}

impl From<StoreError> for HistoryRefusal {
    fn from(e: StoreError) -> HistoryRefusal {
        HistoryRefusal::Store(e)
    }
}

impl IntoResponse for HistoryRefusal {
    fn into_response(self) -> Response {
        match self {
            HistoryRefusal::Problems(problems) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                Json(HistoryErrorBody {
                    code: "invalid_history".into(),
                    message: format!(
                        "the file has {} problems; nothing was imported",
                        problems.len()
                    ),
                    message_zh: format!("文件有 {} 处问题,未导入任何内容", problems.len()),
                    problem_count: problems.len(),
                    problems: problems
                        .iter()
                        .take(MAX_PROBLEMS_LISTED)
                        .map(ProblemDto::from)
                        .collect(),
                }),
            )
                .into_response(),
            HistoryRefusal::Store(e) => ApiError::from(e).into_response(),
            HistoryRefusal::Refused(e) => e.into_response(),
        }
    }
}

/// A file to import: its name (the extension says its format) and bytes.
#[derive(Debug, Clone)]
pub struct NamedFile {
    pub name: String,
    pub bytes: Vec<u8>,
}

/// Reads, checks and imports a history file against the stored ground,
/// reading local times in `tz`. All or nothing by default: every problem,
/// or what was imported. With `skip_invalid`, the valid rows are imported
/// and the refused ones reported with their reasons.
pub async fn import_history_file(
    store: &SharedStore,
    heavy: &HeavyWork,
    ground: std::sync::Arc<Jurisdiction>,
    tz: chrono_tz::Tz,
    (file, mapping): (NamedFile, Option<NamedFile>),
    skip_invalid: bool,
    (actor, audit): (Actor, precinct_storage::AuditEntry),
) -> Result<HistoryOutcome, HistoryRefusal> {
    // The import's time is its audit entry's.
    let now = audit.at;
    let name = file.name.clone();
    // Reading and checking hundreds of thousands of rows: in the pool of
    // heavy work, under its deadline.
    let (records, problems, rejects_csv, skipped) = heavy
        .run(move |budget| {
            let mapping = match &mapping {
                Some(m) => precinct_station::history::read_mapping(&m.name, &m.bytes)?,
                None => BTreeMap::new(),
            };
            let rows =
                precinct_station::history::read_history_within(&file.name, &file.bytes, budget)?;
            let local = move |t: NaiveDateTime| -> Option<Timestamp> {
                tz.from_local_datetime(&t)
                    .earliest()
                    .map(|t| t.with_timezone(&Utc))
            };
            let checked = sort_history(
                &rows,
                &HistoryRules {
                    ground: &ground,
                    mapping: &mapping,
                    local: &local,
                    latest: now + chrono::Duration::days(1),
                },
            );
            if checked.refused.is_empty() {
                return Ok((checked.records, Vec::new(), Vec::new(), 0));
            }
            if !skip_invalid {
                return Err(checked.problems());
            }
            let refused: Vec<(&precinct_domain::history::HistoryRow, &[Problem])> = checked
                .refused
                .iter()
                .map(|(index, problems)| (&rows[*index], problems.as_slice()))
                .collect();
            let csv = precinct_station::history::write_rejects(&refused);
            let problems = checked.problems();
            let skipped = checked.refused.len() as u64;
            Ok((checked.records, problems, csv, skipped))
        })
        .await
        .map_err(HistoryRefusal::Refused)?
        .map_err(HistoryRefusal::Problems)?;
    let HistoryImported {
        rows,
        inserted,
        already_present,
        outside,
    } = store
        .import_history(name.clone(), records, actor, audit)
        .await?;
    Ok(HistoryOutcome {
        report: HistoryReport {
            file: name,
            rows: rows + skipped,
            inserted,
            already_present,
            outside,
            skipped,
            skipped_problems: problems
                .iter()
                .take(MAX_PROBLEMS_LISTED)
                .map(ProblemDto::from)
                .collect(),
        },
        rejects_csv,
    })
}

/// The uploaded files: `file` (required) and `mapping` (optional).
async fn uploaded(
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<(NamedFile, Option<NamedFile>), Response> {
    let bad = |message: String| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_upload",
            message,
            "上传内容无效:请以 multipart/form-data 上传 .xlsx 或 .csv 文件(字段名 file,可选 mapping)",
        )
        .into_response()
    };
    let mut multipart = multipart.map_err(|e| bad(e.body_text()))?;
    let (mut file, mut mapping) = (None, None);
    while let Some(field) = multipart
        .next_field()
        .await
        .map_err(|e| crate::extract::field_error(e, MAX_HISTORY_BYTES, &bad))?
    {
        let field_name = field.name().unwrap_or_default().to_owned();
        let name = field.file_name().unwrap_or("history.csv").to_owned();
        let bytes = field
            .bytes()
            .await
            .map_err(|e| crate::extract::field_error(e, MAX_HISTORY_BYTES, &bad))?
            .to_vec();
        match field_name.as_str() {
            "file" => file = Some(NamedFile { name, bytes }),
            "mapping" => mapping = Some(NamedFile { name, bytes }),
            _ => {}
        }
    }
    let file = file.ok_or_else(|| bad("no field `file` in the upload".into()))?;
    Ok((file, mapping))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ImportHistoryQuery {
    /// Import the valid rows and skip the refused ones (listed with their
    /// reasons in `skipped_problems`). By default one bad row refuses the file.
    #[serde(default)]
    pub skip_invalid: bool,
}

#[utoipa::path(
    post, path = "/api/history/import", operation_id = "import_history", tag = "station",
    params(ImportHistoryQuery),
    request_body(content_type = "multipart/form-data", description = "The past incidents as .xlsx or .csv (UTF-8 or GBK) in the field `file`, with the columns external_id, reported_at (RFC 3339, or local time in the station's zone), category (a code of the station's table, or an old code the optional `mapping` file maps: columns old_code, category), lat, lon, and optionally datum (wgs84 default, gcj02), address, disposition, dispatched_at, arrived_at; Chinese headers (警情编号, 报警时间, 警情类别, 纬度, 经度, 坐标系, 地址, 处置结果, 派警时间, 到场时间) are accepted."),
    responses(
        (status = 200, description = "Imported in one transaction; a row whose external id was imported before is left as it was (re-importing changes nothing); rows outside the ground are kept and counted", body = HistoryReport),
        (status = 400, description = "Not a multipart upload with a `file`", body = ErrorBody),
        (status = 403, description = "Administrators only", body = ErrorBody),
        (status = 413, description = "Larger than 256 MiB", body = ErrorBody),
        (status = 422, description = "`invalid_history`: every bad row and column; nothing was imported (without `skip_invalid`)", body = HistoryErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn import_history(
    State(state): State<AppState>,
    authed: Authed,
    QueryParams(query): QueryParams<ImportHistoryQuery>,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<Json<HistoryReport>, Response> {
    authed
        .may(Action::ManageStation)
        .map_err(IntoResponse::into_response)?;
    let (file, mapping) = uploaded(multipart).await?;
    let outcome = import_history_file(
        &state.store,
        &state.heavy,
        state.ground(),
        state.tz(),
        (file, mapping),
        query.skip_invalid,
        (
            authed.actor(),
            state.audit_entry(&authed.0, "import_history", ""),
        ),
    )
    .await
    .map_err(IntoResponse::into_response)?;
    Ok(Json(outcome.report))
}
