//! Setting a station up from its own files: validate a station package (its
//! problems, or the diff it would make), import it in one transaction, and
//! export the station as a package. Administrators only. The CLI
//! (`precinct station …`) calls the same [`validate_package`] and
//! [`import_package`], so both doors behave alike.

use crate::AppState;
use crate::error::{ApiError, ErrorBody};
use crate::heavy::HeavyWork;
use crate::passwords::issue_one_time_passwords;
use crate::session::Authed;
use axum::Json;
use axum::extract::multipart::MultipartRejection;
use axum::extract::{Multipart, State};
use axum::http::StatusCode;
use axum::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};
use precinct_domain::event::Actor;
use precinct_domain::policy::Action;
use precinct_domain::station::{self, Problem, StationPackage, StationPlan};
use precinct_station::PackageFiles;
use precinct_storage::{InitialPasswords, SharedStore, StoreError};
use serde::Serialize;
use utoipa::ToSchema;

/// The largest package upload: a city's ground and rosters, zipped.
pub const MAX_UPLOAD_BYTES: usize = 64 * 1024 * 1024;

/// One problem of a package, where it is.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ProblemDto {
    /// The file inside the package, e.g. `units.xlsx`.
    pub file: String,
    /// The spreadsheet's sheet, for `.xlsx` files.
    pub sheet: Option<String>,
    /// The row as the spreadsheet numbers it (the header is row 1).
    pub row: Option<u32>,
    /// The feature's index in its layer (from 0), for ground files.
    pub feature: Option<u32>,
    /// The column or property at fault, by its English key.
    pub column: Option<String>,
    pub message: String,
    pub message_zh: String,
}

impl From<&Problem> for ProblemDto {
    fn from(p: &Problem) -> ProblemDto {
        ProblemDto {
            file: p.at.file.clone(),
            sheet: p.at.sheet.clone(),
            row: p.at.row,
            feature: p.at.feature,
            column: p.column.clone(),
            message: p.message.clone(),
            message_zh: p.message_zh.clone(),
        }
    }
}

pub use crate::dto::LayerChangesDto;

/// A new account's one-time password, shown once.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OneTimePasswordDto {
    pub username: String,
    pub display_name: String,
    /// Must be changed at the first login.
    pub one_time_password: String,
}

/// A package's validation report: its problems (nothing can be applied
/// while there is one), or the changes it makes.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct StationReport {
    pub valid: bool,
    pub problems: Vec<ProblemDto>,
    /// What was ignored: files and columns the package format does not
    /// know, an upload field other than `package`. Nothing stops an import.
    pub warnings: Vec<ProblemDto>,
    pub changes: Vec<LayerChangesDto>,
    /// Set by an import: the new accounts' one-time passwords. They are not
    /// stored anywhere in clear; this is the only time they are shown.
    pub accounts: Vec<OneTimePasswordDto>,
}

/// The body of a refused import: the error and every problem.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PackageErrorBody {
    /// `invalid_station_package`.
    pub code: String,
    pub message: String,
    pub message_zh: String,
    pub problems: Vec<ProblemDto>,
    /// What was ignored (unknown files and columns).
    pub warnings: Vec<ProblemDto>,
}

/// Why a package was not imported.
#[derive(Debug)]
pub enum PackageRefusal {
    /// The archive could not be opened at all.
    Unreadable(String),
    /// Its content has problems; nothing was applied.
    Problems {
        problems: Vec<Problem>,
        warnings: Vec<Problem>,
    },
    Store(StoreError),
    /// Refused before an answer (the checks took too long).
    Refused(ApiError),
    /// A file beyond its limits (a spreadsheet's cells or unpacked size):
    /// refused whole, even by validation, naming the file.
    TooLarge(Box<Problem>),
}

impl From<StoreError> for PackageRefusal {
    fn from(e: StoreError) -> PackageRefusal {
        PackageRefusal::Store(e)
    }
}

impl IntoResponse for PackageRefusal {
    fn into_response(self) -> Response {
        match self {
            PackageRefusal::Unreadable(reason) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                Json(PackageErrorBody {
                    code: "invalid_station_package".into(),
                    message: format!("the package cannot be opened: {reason}"),
                    message_zh: format!("无法打开数据包：{reason}"),
                    problems: Vec::new(),
                    warnings: Vec::new(),
                }),
            )
                .into_response(),
            PackageRefusal::Problems { problems, warnings } => (
                StatusCode::UNPROCESSABLE_ENTITY,
                Json(PackageErrorBody {
                    code: "invalid_station_package".into(),
                    message: format!(
                        "the package has {} problems; nothing was applied",
                        problems.len()
                    ),
                    message_zh: format!("数据包有 {} 处问题，未导入任何内容", problems.len()),
                    problems: problems.iter().map(ProblemDto::from).collect(),
                    warnings: warnings.iter().map(ProblemDto::from).collect(),
                }),
            )
                .into_response(),
            PackageRefusal::Store(e) => ApiError::from(e).into_response(),
            PackageRefusal::Refused(e) => (
                e.status,
                Json(PackageErrorBody {
                    code: e.code.into(),
                    message: e.message,
                    message_zh: e.message_zh,
                    problems: Vec::new(),
                    warnings: Vec::new(),
                }),
            )
                .into_response(),
            PackageRefusal::TooLarge(problem) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                Json(PackageErrorBody {
                    code: "invalid_station_package".into(),
                    message: format!("{}: {}", problem.at.file, problem.message),
                    message_zh: format!("{}：{}", problem.at.file, problem.message_zh),
                    problems: vec![ProblemDto::from(problem.as_ref())],
                    warnings: Vec::new(),
                }),
            )
                .into_response(),
        }
    }
}

/// Reads and checks a package against the stored station: the package and
/// its plan, or every problem. Reading and checking run in `heavy`'s pool,
/// under its deadline, and stop when the caller goes away.
pub async fn validate_package(
    store: &SharedStore,
    heavy: &HeavyWork,
    files: PackageFiles,
) -> Result<Validated, PackageRefusal> {
    let state = store.station_state().await?;
    // What was read is checked too, even when reading met problems, so the
    // report lists every problem at once.
    let (read, checked) = heavy
        .run(move |budget| {
            let read = precinct_station::read_package_within(&files, budget)?;
            let checked = station::validate_within(&read.package, &state, budget);
            Ok((read, checked))
        })
        .await
        .map_err(PackageRefusal::Refused)?
        .map_err(PackageRefusal::TooLarge)?;
    let precinct_station::PackageRead {
        package,
        mut problems,
        warnings,
    } = read;
    match checked {
        Ok(plan) if problems.is_empty() => Ok(Validated {
            package,
            plan,
            warnings,
        }),
        Ok(_) => Err(PackageRefusal::Problems { problems, warnings }),
        Err(more) => {
            problems.extend(more);
            Err(PackageRefusal::Problems { problems, warnings })
        }
    }
}

/// A package that may be imported: what it holds, the plan, and what was
/// ignored in it.
#[derive(Debug)]
pub struct Validated {
    pub package: StationPackage,
    pub plan: StationPlan,
    pub warnings: Vec<Problem>,
}

/// How new accounts of an import get their first password.
#[derive(Debug, Clone)]
pub enum FirstPasswords {
    /// A one-time password each, handed out once, to be changed at first login.
    OneTime,
    /// The same password hash for all (the demo's printed password).
    Shared(String),
}

/// Validates and imports a package in one transaction. Returns the changes
/// and, for [`FirstPasswords::OneTime`], the passwords to hand out.
pub async fn import_package(
    store: &SharedStore,
    heavy: &HeavyWork,
    files: PackageFiles,
    first_passwords: FirstPasswords,
    actor: Actor,
    audit: precinct_storage::AuditEntry,
) -> Result<StationReport, PackageRefusal> {
    let Validated {
        package,
        plan,
        warnings,
    } = validate_package(store, heavy, files).await?;
    let new_accounts = plan.new_usernames();
    let (handed_out, passwords) = match first_passwords {
        FirstPasswords::OneTime => {
            tokio::task::spawn_blocking(move || issue_one_time_passwords(&new_accounts))
                .await
                .map_err(|_| PackageRefusal::Store(StoreError::Other("hashing panicked".into())))?
        }
        FirstPasswords::Shared(hash) => (
            Vec::new(),
            InitialPasswords {
                hashes: new_accounts
                    .iter()
                    .map(|u| (u.as_str().to_owned(), hash.clone()))
                    .collect(),
                must_change: false,
            },
        ),
    };
    let display_names: std::collections::HashMap<&str, &str> = package
        .people
        .iter()
        .flatten()
        .map(|p| (p.username.as_str(), p.name.as_str()))
        .collect();
    let accounts = handed_out
        .iter()
        .map(|(username, password)| OneTimePasswordDto {
            username: username.as_str().to_owned(),
            display_name: display_names
                .get(username.as_str())
                .map(|n| (*n).to_owned())
                .unwrap_or_default(),
            one_time_password: password.clone(),
        })
        .collect();
    let changes = store
        .import_station(package, passwords, actor, audit)
        .await?;
    Ok(StationReport {
        valid: true,
        problems: Vec::new(),
        warnings: warnings.iter().map(ProblemDto::from).collect(),
        changes: changes.iter().map(LayerChangesDto::from).collect(),
        accounts,
    })
}

/// The uploaded package: the first file field of the multipart body,
/// unpacked in `heavy`'s pool.
async fn uploaded(
    heavy: &HeavyWork,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<(PackageFiles, Option<Problem>), Response> {
    let bad = |message: String| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_upload",
            message,
            "上传内容无效：请以 multipart/form-data 上传一个 .zip 文件（字段名 package）",
        )
        .into_response()
    };
    let mut multipart = multipart.map_err(|e| bad(e.body_text()))?;
    loop {
        let field = multipart
            .next_field()
            .await
            .map_err(|e| crate::extract::field_error(e, MAX_UPLOAD_BYTES, &bad))?
            .ok_or_else(|| {
                bad("no file in the upload; send the .zip as the field `package`".into())
            })?;
        if field.file_name().is_none() && field.name() != Some("package") {
            continue;
        }
        let warning = field_warning(field.name());
        let bytes = field
            .bytes()
            .await
            .map_err(|e| crate::extract::field_error(e, MAX_UPLOAD_BYTES, &bad))?;
        let files = heavy
            .run(move |_| PackageFiles::from_zip(&bytes))
            .await
            .map_err(IntoResponse::into_response)?
            .map_err(|e| PackageRefusal::Unreadable(e.to_string()).into_response())?;
        return Ok((files, warning));
    }
}

fn report_of(result: Result<Validated, PackageRefusal>) -> Result<StationReport, PackageRefusal> {
    match result {
        Ok(Validated { plan, warnings, .. }) => Ok(StationReport {
            valid: true,
            problems: Vec::new(),
            warnings: warnings.iter().map(ProblemDto::from).collect(),
            changes: plan.changes.iter().map(LayerChangesDto::from).collect(),
            accounts: Vec::new(),
        }),
        Err(PackageRefusal::Problems { problems, warnings }) => Ok(StationReport {
            valid: false,
            problems: problems.iter().map(ProblemDto::from).collect(),
            warnings: warnings.iter().map(ProblemDto::from).collect(),
            changes: Vec::new(),
            accounts: Vec::new(),
        }),
        Err(other) => Err(other),
    }
}

/// A warning for an upload whose file came in a field other than `package`.
fn field_warning(field: Option<&str>) -> Option<Problem> {
    let field = field.unwrap_or_default();
    (field != "package").then(|| {
        Problem::new(
            &precinct_domain::station::Source::file("(upload)"),
            Some("package"),
            format!("the file came in the form field {field:?}, not `package`; it was read as the package"),
            format!("文件位于表单字段 “{field}” 而非 package，已按数据包读取"),
        )
    })
}

#[utoipa::path(
    post, path = "/api/station/validate", operation_id = "validate_station_package", tag = "station",
    request_body(content_type = "multipart/form-data", description = "The station package as a .zip, in the field `package`"),
    responses(
        (status = 200, description = "The report: its problems (valid false), or the changes an import would make; nothing is changed", body = StationReport),
        (status = 400, description = "Not a multipart upload with a file", body = ErrorBody),
        (status = 403, description = "Administrators only", body = ErrorBody),
        (status = 413, description = "Larger than 64 MiB", body = ErrorBody),
        (status = 422, description = "Not a readable .zip; a spreadsheet beyond its limits (`invalid_station_package`, naming the file); checks that took too long (`too_complex`)", body = PackageErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn validate_station_package(
    State(state): State<AppState>,
    authed: Authed,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<Json<StationReport>, Response> {
    authed
        .may(Action::ManageStation)
        .map_err(IntoResponse::into_response)?;
    let (files, field) = uploaded(&state.heavy, multipart).await?;
    let result = validate_package(&state.store, &state.heavy, files).await;
    let mut report = report_of(result).map_err(IntoResponse::into_response)?;
    report.warnings.extend(field.as_ref().map(ProblemDto::from));
    Ok(Json(report))
}

#[utoipa::path(
    post, path = "/api/station/import", operation_id = "import_station_package", tag = "station",
    request_body(content_type = "multipart/form-data", description = "The station package as a .zip, in the field `package`"),
    responses(
        (status = 200, description = "Imported in one transaction: the changes, and new accounts' one-time passwords (shown only now)", body = StationReport),
        (status = 400, description = "Not a multipart upload with a file", body = ErrorBody),
        (status = 403, description = "Administrators only", body = ErrorBody),
        (status = 409, description = "The station changed while importing; validate again", body = ErrorBody),
        (status = 413, description = "Larger than 64 MiB", body = ErrorBody),
        (status = 422, description = "`invalid_station_package`: every problem; nothing was applied", body = PackageErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn import_station_package(
    State(state): State<AppState>,
    authed: Authed,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<Json<StationReport>, Response> {
    authed
        .may(Action::ManageStation)
        .map_err(IntoResponse::into_response)?;
    let (files, field) = uploaded(&state.heavy, multipart).await?;
    let mut report = match import_package(
        &state.store,
        &state.heavy,
        files,
        FirstPasswords::OneTime,
        authed.actor(),
        state.audit_entry(&authed.0, "import_station_package", ""),
    )
    .await
    {
        Ok(report) => report,
        Err(PackageRefusal::Problems {
            problems,
            mut warnings,
        }) => {
            warnings.extend(field);
            return Err(PackageRefusal::Problems { problems, warnings }.into_response());
        }
        Err(refusal) => return Err(refusal.into_response()),
    };
    report.warnings.extend(field.as_ref().map(ProblemDto::from));
    // Accounts the import disabled or demoted lose their powers now: their
    // sessions ended in its transaction, and this instance forgets what it
    // cached (others when the event reaches them).
    state.forget_session_cache();
    // The ground changed: this instance serves the new one from now on
    // (others reload when the event reaches them).
    state
        .reload_ground()
        .await
        .map_err(|e| ApiError::from(e).into_response())?;
    Ok(Json(report))
}

#[utoipa::path(
    get, path = "/api/station/export", operation_id = "export_station_package", tag = "station",
    responses(
        (status = 200, description = "The station as a package (.zip): station.toml, the ground as GeoJSON, units, people and organisations as .xlsx. It holds people's phone numbers: the export is audited", content_type = "application/zip"),
        (status = 403, description = "Administrators only", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn export_station_package(
    State(state): State<AppState>,
    authed: Authed,
) -> Result<Response, ApiError> {
    let user = authed.may(Action::ManageStation)?;
    let station_state = state.store.station_state().await?;
    let package = StationPackage::of_station(&station_state);
    let files = precinct_station::write_package(&package).map_err(|e| {
        tracing::error!(error = %e, "writing the station package");
        ApiError::internal()
    })?;
    let zip = files.to_zip().map_err(|_| ApiError::internal())?;
    state
        .audit(
            user,
            "export_station_package",
            format!("{} people", package.people.as_ref().map_or(0, Vec::len)),
        )
        .await?;
    Ok((
        [
            (CONTENT_TYPE, "application/zip"),
            (CONTENT_DISPOSITION, "attachment; filename=\"station.zip\""),
        ],
        zip,
    )
        .into_response())
}

#[utoipa::path(
    get, path = "/api/station/template", operation_id = "station_package_template", tag = "station",
    responses(
        (status = 200, description = "An example package (.zip) with one of everything and Chinese headers", content_type = "application/zip"),
        (status = 403, description = "Administrators only", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn station_package_template(authed: Authed) -> Result<Response, ApiError> {
    authed.may(Action::ManageStation)?;
    let zip = precinct_station::template()
        .and_then(|files| files.to_zip())
        .map_err(|_| ApiError::internal())?;
    Ok((
        [
            (CONTENT_TYPE, "application/zip"),
            (
                CONTENT_DISPOSITION,
                "attachment; filename=\"station-template.zip\"",
            ),
        ],
        zip,
    )
        .into_response())
}
