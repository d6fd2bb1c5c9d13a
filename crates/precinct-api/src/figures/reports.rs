//! The analyst's documents (issue 17): every figures table as an Excel
//! workbook (rust_xlsxwriter), and the monthly briefing (研判月报) as a
//! Chinese PDF from the same printing crate as the mediation agreement.

use crate::AppState;
use crate::error::{ApiError, ErrorBody};
use crate::extract::QueryParams;
use crate::figures::hotspots::{GridCellHotspotDto, grid_cell_gi, map_hot_cells};
use crate::figures::response::PeriodQuery;
use crate::figures::station::{
    BreakdownBy, FiguresBreakdownDto, StationFiguresDto, breakdown_of, check_any_period, figures_of,
};
use crate::session::Authed;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Datelike, NaiveDate, TimeZone, Utc};
use precinct_domain::figures::DisputeFigures;
use precinct_domain::policy::Action;
use rust_xlsxwriter::{Format, Workbook, Worksheet, XlsxError};
use serde::Deserialize;
use utoipa::IntoParams;

/// The breakdowns exported, with their sheet names.
const SHEETS: [(BreakdownBy, &str); 5] = [
    (BreakdownBy::Category, "分类 Category"),
    (BreakdownBy::Zone, "防区 Zone"),
    (BreakdownBy::Community, "社区 Community"),
    (BreakdownBy::GridCell, "网格 Grid cell"),
    (BreakdownBy::HourWeekday, "时段 Hour×weekday"),
];

fn xlsx_error(e: XlsxError) -> ApiError {
    tracing::error!(error = %e, "writing a workbook");
    ApiError::internal()
}

fn header(sheet: &mut Worksheet, columns: &[&str], bold: &Format) -> Result<(), XlsxError> {
    for (c, title) in columns.iter().enumerate() {
        sheet.write_string_with_format(0, c as u16, *title, bold)?;
        sheet.set_column_width(c as u16, 14)?;
    }
    Ok(())
}

fn number(
    sheet: &mut Worksheet,
    row: u32,
    col: u16,
    value: Option<f64>,
    format: &Format,
) -> Result<(), XlsxError> {
    if let Some(v) = value {
        sheet.write_number_with_format(row, col, v, format)?;
    }
    Ok(())
}

/// The workbook of a period's figures, breakdowns and grid-cell hotspots.
fn workbook(
    figures: &StationFiguresDto,
    breakdowns: &[(&str, FiguresBreakdownDto)],
    hotspots: Option<&[GridCellHotspotDto]>,
) -> Result<Vec<u8>, XlsxError> {
    let mut book = Workbook::new();
    let bold = Format::new().set_bold();
    let percent = Format::new().set_num_format("0.00%");
    let plain = Format::new().set_num_format("0.##");
    let sheet = book.add_worksheet();
    sheet.set_name("指标 Figures")?;
    header(
        sheet,
        &[
            "指标",
            "key",
            "本期 value",
            "去年同期 last_year",
            "同比 yoy_change",
            "上期 previous",
            "环比 pop_change",
            "口径 definition",
        ],
        &bold,
    )?;
    for (k, f) in figures.figures.iter().enumerate() {
        let row = k as u32 + 1;
        let value_format = if f.unit == "rate" { &percent } else { &plain };
        sheet.write_string(row, 0, &f.label_zh)?;
        sheet.write_string(row, 1, &f.key)?;
        number(sheet, row, 2, f.value, value_format)?;
        number(sheet, row, 3, f.last_year, value_format)?;
        number(sheet, row, 4, f.yoy_change, &percent)?;
        number(sheet, row, 5, f.previous, value_format)?;
        number(sheet, row, 6, f.pop_change, &percent)?;
        sheet.write_string(row, 7, &f.definition)?;
    }
    let last = figures.figures.len() as u32 + 2;
    sheet.write_string(last, 0, "统计时段 period")?;
    sheet.write_string(last, 2, figures.from.to_rfc3339())?;
    sheet.write_string(last, 3, figures.until.to_rfc3339())?;
    for (name, b) in breakdowns {
        let sheet = book.add_worksheet();
        sheet.set_name(*name)?;
        header(
            sheet,
            &[
                "key",
                "名称 name",
                "警情 incidents",
                "去年同期 last_year",
                "同比 yoy_change",
                "派警 dispatched",
                "出警平均秒 police_response_seconds",
                "先期平均秒 first_response_seconds",
                "现场处置率 on_scene_resolution_rate",
            ],
            &bold,
        )?;
        for (k, r) in b.rows.iter().enumerate() {
            let row = k as u32 + 1;
            sheet.write_string(row, 0, &r.key)?;
            if let Some(name) = &r.name {
                sheet.write_string(row, 1, name)?;
            }
            sheet.write_number(row, 2, r.incidents as f64)?;
            sheet.write_number(row, 3, r.last_year as f64)?;
            number(sheet, row, 4, r.yoy_change, &percent)?;
            sheet.write_number(row, 5, r.dispatched as f64)?;
            number(sheet, row, 6, r.police_response_seconds, &plain)?;
            number(sheet, row, 7, r.first_response_seconds, &plain)?;
            number(sheet, row, 8, r.on_scene_resolution_rate, &percent)?;
        }
    }
    let sheet = book.add_worksheet();
    sheet.set_name("热点 Hotspots")?;
    header(
        sheet,
        &[
            "网格 code",
            "名称 name",
            "警情 incidents",
            "Gi* z",
            "p",
            "显著 significant",
        ],
        &bold,
    )?;
    let Some(hotspots) = hotspots else {
        // Said, not left empty: a reader must not take it for no hotspots.
        sheet.write_string(
            1,
            0,
            format!(
                "热点仅计算 {HOTSPOT_MAX_DAYS} 天以内的时段 / hotspots are computed for periods of up to {HOTSPOT_MAX_DAYS} days"
            ),
        )?;
        return book.save_to_buffer();
    };
    for (k, h) in hotspots.iter().enumerate() {
        let row = k as u32 + 1;
        sheet.write_string(row, 0, &h.code)?;
        sheet.write_string(row, 1, &h.name)?;
        sheet.write_number(row, 2, h.incidents)?;
        sheet.write_number(row, 3, h.z)?;
        sheet.write_number(row, 4, h.p)?;
        sheet.write_boolean(row, 5, h.significant)?;
    }
    book.save_to_buffer()
}

/// Gi* over the grid cells for a period (at most 400 days are read).
/// The longest period whose grid-cell hotspots the export and the
/// briefing compute (a hotspot is a pattern of weeks and months, not years).
const HOTSPOT_MAX_DAYS: i64 = 400;

/// The period's grid-cell hotspots; None for a period longer than
/// [`HOTSPOT_MAX_DAYS`].
async fn hotspots_of(
    state: &AppState,
    from: DateTime<Utc>,
    until: DateTime<Utc>,
) -> Result<Option<Vec<GridCellHotspotDto>>, ApiError> {
    if until - from > chrono::Duration::days(HOTSPOT_MAX_DAYS) {
        return Ok(None);
    }
    let incidents: Vec<_> = super::period_incidents(state, from, until)
        .await?
        .into_iter()
        .filter(|i| i.merged_into.is_none())
        .collect();
    Ok(Some(grid_cell_gi(&state.ground(), &incidents, 0.05)))
}

#[utoipa::path(
    get, path = "/api/figures/export", operation_id = "export_figures", tag = "figures",
    params(PeriodQuery),
    responses(
        (status = 200, description = "The period's figures (with 同比 and 环比 and their definitions), its breakdowns by category, zone, community, grid cell and hour × weekday, and Gi* over the grid cells (periods up to 400 days), as an Excel workbook, one sheet a table", content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        (status = 422, description = "A bad period", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn export_figures(
    State(state): State<AppState>,
    authed: Authed,
    QueryParams(period): QueryParams<PeriodQuery>,
) -> Result<Response, ApiError> {
    authed.may(Action::ViewFigures)?;
    check_any_period(&period)?;
    let figures = figures_of(&state, &period).await?;
    let mut breakdowns = Vec::new();
    for (by, name) in SHEETS {
        breakdowns.push((name, breakdown_of(&state, &period, by).await?));
    }
    let hotspots = hotspots_of(&state, period.from, period.until).await?;
    let bytes =
        tokio::task::spawn_blocking(move || workbook(&figures, &breakdowns, hotspots.as_deref()))
            .await
            .map_err(|_| ApiError::internal())?
            .map_err(xlsx_error)?;
    let name = format!(
        "figures-{}-{}.xlsx",
        period.from.with_timezone(&state.tz()).format("%Y%m%d"),
        period.until.with_timezone(&state.tz()).format("%Y%m%d")
    );
    Ok(attachment(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        &name,
        bytes,
    ))
}

fn attachment(content_type: &str, name: &str, bytes: Vec<u8>) -> Response {
    (
        [
            (axum::http::header::CONTENT_TYPE, content_type.to_owned()),
            (
                axum::http::header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
            (axum::http::header::CACHE_CONTROL, "no-store".to_owned()),
        ],
        bytes,
    )
        .into_response()
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MonthQuery {
    /// The month, `YYYY-MM`, in the station's time zone.
    #[param(pattern = r"^\d{4}-\d{2}$")]
    pub month: String,
}

/// A figure's value in words.
fn value_text(unit: &str, value: Option<f64>) -> String {
    match (unit, value) {
        (_, None) => "无数据".into(),
        ("seconds", Some(v)) => format!(
            "{:.0} 秒({}分{}秒)",
            v,
            (v / 60.0).floor(),
            (v % 60.0).round()
        ),
        ("rate", Some(v)) => format!("{:.2}%", v * 100.0),
        (_, Some(v)) => format!("{v:.0} 起"),
    }
}

fn change_text(change: Option<f64>) -> String {
    change.map_or_else(|| "—".into(), |c| format!("{:+.2}%", c * 100.0))
}

#[utoipa::path(
    get, path = "/api/figures/briefing", operation_id = "monthly_briefing", tag = "figures",
    params(MonthQuery),
    responses(
        (status = 200, description = "The month's briefing (研判月报) as a Chinese PDF: the station's figures with 同比 and 环比, the largest categories, the grid cells that are hotspots (Gi*), and the dispute figures", content_type = "application/pdf"),
        (status = 422, description = "`invalid_month`: not YYYY-MM", body = ErrorBody),
        (status = 503, description = "No CJK font on the server (`fonts-wqy-microhei`, or `--cjk-font`)", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn monthly_briefing(
    State(state): State<AppState>,
    authed: Authed,
    QueryParams(query): QueryParams<MonthQuery>,
) -> Result<Response, ApiError> {
    authed.may(Action::ViewFigures)?;
    let tz = state.tz();
    let first = NaiveDate::parse_from_str(&format!("{}-01", query.month.trim()), "%Y-%m-%d")
        .ok()
        .filter(|d| (1900..=2199).contains(&d.year()))
        .ok_or_else(|| {
            ApiError::unprocessable(
                "invalid_month",
                "month must be YYYY-MM",
                "月份无效:格式应为 YYYY-MM",
            )
        })?;
    let next = first
        .checked_add_months(chrono::Months::new(1))
        .unwrap_or(first);
    let start = |d: NaiveDate| {
        tz.from_local_datetime(&d.and_time(chrono::NaiveTime::MIN))
            .earliest()
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_default()
    };
    let period = PeriodQuery {
        from: start(first),
        until: start(next),
    };
    check_any_period(&period)?;
    let font = state.cjk_font().map_err(|message| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "no_cjk_font",
            message,
            "服务器未安装中文字体,无法生成月报",
        )
    })?;
    let figures = figures_of(&state, &period).await?;
    let categories = breakdown_of(&state, &period, BreakdownBy::Category).await?;
    let incidents: Vec<_> = super::period_incidents(&state, period.from, period.until)
        .await?
        .into_iter()
        .filter(|i| i.merged_into.is_none())
        .collect();
    let hotspots = grid_cell_gi(&state.ground(), &incidents, 0.05);
    let map_cells = tokio::task::spawn_blocking(move || map_hot_cells(&incidents))
        .await
        .map_err(|_| ApiError::internal())?;
    let disputes = state.store.list_disputes().await?;
    let d = DisputeFigures::of(&disputes, period.from, period.until);
    let ground = state.ground();
    let month = format!("{}年{}月", first.year(), first.month());
    let mut sections = Vec::new();
    sections.push((
        "一、主要指标(同比为与去年同月相比,环比为与上月相比)".to_owned(),
        figures
            .figures
            .iter()
            .map(|f| {
                format!(
                    "{}:{},同比 {},环比 {}",
                    f.label_zh,
                    value_text(&f.unit, f.value),
                    change_text(f.yoy_change),
                    change_text(f.pop_change)
                )
            })
            .collect(),
    ));
    sections.push((
        "二、警情构成(前五类)".to_owned(),
        categories
            .rows
            .iter()
            .take(5)
            .map(|r| {
                format!(
                    "{}:{} 起,同比 {}",
                    r.name.clone().unwrap_or_else(|| r.key.clone()),
                    r.incidents,
                    change_text(r.yoy_change)
                )
            })
            .collect(),
    ));
    // The same hot cells as the map's hotspot layer (250 m cells, Gi*,
    // false-discovery rate 5%), each named by where it is, then the
    // station's own grid cells that stand out.
    let streets = state.streets();
    let mut hot: Vec<String> = match &map_cells {
        Some(cells) if !cells.is_empty() => {
            let mut lines = vec![format!(
                "本月 250 米格网中显著热点 {} 个(与地图热点图层一致),最突出的 {} 个:",
                cells.len(),
                cells.len().min(5)
            )];
            for (k, cell) in cells.iter().take(5).enumerate() {
                let street = precinct_domain::address::reverse(&ground, &streets, cell.centre)
                    .map(|h| h.address)
                    .unwrap_or_else(|| {
                        format!("{:.5}, {:.5}", cell.centre.lat(), cell.centre.lon())
                    });
                let resolved = ground.resolve(cell.centre);
                let community = resolved
                    .community_id
                    .and_then(|id| ground.communities.iter().find(|c| c.id == id))
                    .map(|c| format!("({})", c.name))
                    .unwrap_or_default();
                lines.push(format!(
                    "{}. {street}{community}:{:.0} 起,Gi* z = {:.2}",
                    k + 1,
                    cell.incidents,
                    cell.z
                ));
            }
            lines
        }
        Some(_) => vec!["本月 250 米格网中无显著热点(与地图热点图层一致)。".to_owned()],
        None => vec!["本月警情分布过广,未计算格网热点。".to_owned()],
    };
    let grid: Vec<String> = hotspots
        .iter()
        .filter(|h| h.significant && h.z > 0.0)
        .take(5)
        .map(|h| {
            format!(
                "网格 {} {}:{} 起,Gi* z = {:.2}",
                h.code, h.name, h.incidents, h.z
            )
        })
        .collect();
    if grid.is_empty() {
        hot.push("按本所网格统计:无显著热点网格。".to_owned());
    } else {
        hot.push("按本所网格统计的显著热点网格:".to_owned());
        hot.extend(grid);
    }
    sections.push(("三、热点(Getis-Ord Gi*,错误发现率 5%)".to_owned(), hot));
    sections.push((
        "四、矛盾纠纷".to_owned(),
        vec![
            format!(
                "受理 {} 件,化解 {} 件,未化解 {} 件,化解率 {}",
                d.all.taken_in,
                d.all.resolved,
                d.all.unresolved,
                d.all
                    .resolution_rate()
                    .map_or_else(|| "—".into(), |r| format!("{:.2}%", r * 100.0))
            ),
            format!("回访 {} 件,反复 {} 件", d.visited, d.relapsed),
        ],
    ));
    let text = precinct_pdf::ReportText {
        title: format!("{} {month} 警情研判月报", ground.station_name),
        subtitle: format!(
            "统计时段:{} 至 {}(不含)",
            period.from.with_timezone(&tz).format("%Y-%m-%d %H:%M"),
            period.until.with_timezone(&tz).format("%Y-%m-%d %H:%M")
        ),
        sections,
        signed: format!(
            "{} 情报研判 {}",
            ground.station_name,
            state.clock.now().with_timezone(&tz).format("%Y年%m月%d日")
        ),
    };
    let pdf = tokio::task::spawn_blocking(move || precinct_pdf::report_pdf(&text, &font))
        .await
        .map_err(|_| ApiError::internal())?
        .map_err(|error| {
            tracing::error!(%error, "rendering a briefing");
            ApiError::internal()
        })?;
    Ok(attachment(
        "application/pdf",
        &format!("briefing-{}.pdf", query.month.trim()),
        pdf,
    ))
}
