//! Spreadsheets read within bounds. An `.xlsx` is a zip of XML: a few
//! kilobytes can declare a sheet of 17 billion cells (one cell at
//! `XFD1048576`), unpack to a gigabyte of shared strings, or hold two
//! million rows. Everything is checked before it is allocated:
//!
//! 1. the archive's parts are unpacked once into nothing, counting bytes:
//!    all of them against the whole budget (the package's), and each part
//!    the reader keeps in memory (shared strings, styles, the workbook)
//!    against a smaller one;
//! 2. the first sheet's cells are walked once without keeping them,
//!    refusing a non-empty cell beyond the rows or columns a table may have,
//!    or more cells than it may hold;
//! 3. only then are the rows built, each no wider than its last cell.
//!
//! Empty cells (a stray format far away) are ignored, not refused.

use precinct_domain::budget::Budget;
use std::io::{Read, Seek};

/// What one spreadsheet may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SheetLimits {
    /// Rows, counting the header.
    pub rows: u32,
    pub columns: u32,
    /// Non-empty cells.
    pub cells: u64,
    /// Every part of the workbook, unpacked.
    pub unpacked_bytes: u64,
    /// Each part read whole into memory (shared strings, styles, the
    /// workbook), unpacked.
    pub loaded_bytes: u64,
}

/// A table of a station package (units, people, organisations, codes).
pub const TABLE_LIMITS: SheetLimits = SheetLimits {
    rows: 200_000,
    columns: 1_024,
    cells: 4_000_000,
    unpacked_bytes: crate::MAX_PACKAGE_BYTES,
    loaded_bytes: 32 * 1024 * 1024,
};

/// A history file: Excel's own limit of rows, more cells.
pub const HISTORY_LIMITS: SheetLimits = SheetLimits {
    rows: 1_048_576,
    columns: 1_024,
    cells: 16_000_000,
    unpacked_bytes: 2 * 1024 * 1024 * 1024,
    loaded_bytes: 64 * 1024 * 1024,
};

/// Spreadsheet column letters (0 → A, 16383 → XFD).
fn column_name(mut column: u32) -> String {
    let mut name = Vec::new();
    loop {
        name.push(b'A' + (column % 26) as u8);
        if column < 26 {
            break;
        }
        column = column / 26 - 1;
    }
    name.reverse();
    String::from_utf8(name).unwrap_or_default()
}

/// Why a sheet was not read, in English and Chinese.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SheetError {
    /// Beyond the limits (or stopped): the file is refused as a whole,
    /// not read as far as it goes.
    pub too_large: bool,
    pub message: String,
    pub message_zh: String,
}

impl SheetError {
    fn new(message: String, message_zh: String) -> SheetError {
        SheetError {
            too_large: true,
            message,
            message_zh,
        }
    }

    fn unreadable(e: impl std::fmt::Display) -> SheetError {
        SheetError {
            too_large: false,
            message: format!("not a readable .xlsx workbook: {e}"),
            message_zh: format!("无法读取 .xlsx 工作簿：{e}"),
        }
    }

    fn stopped() -> SheetError {
        SheetError::new(
            "reading stopped: the time allowed ran out".into(),
            "读取已停止：超出允许的时间".into(),
        )
    }
}

const MIB: u64 = 1024 * 1024;

/// Unpacks every part of the archive into nothing, counting: the whole
/// against `limits.unpacked_bytes` (and what is left of `budget_bytes`),
/// and each part kept in memory by the reader against `limits.loaded_bytes`.
/// Returns the bytes unpacked.
fn check_parts(
    bytes: &[u8],
    limits: &SheetLimits,
    budget_bytes: u64,
    budget: &dyn Budget,
) -> Result<u64, SheetError> {
    let mut archive =
        zip::ZipArchive::new(std::io::Cursor::new(bytes)).map_err(SheetError::unreadable)?;
    if archive.len() > 10_000 {
        return Err(SheetError::unreadable("it has more than 10,000 parts"));
    }
    let whole = limits.unpacked_bytes.min(budget_bytes);
    let mut total = 0u64;
    let mut buffer = vec![0u8; 64 * 1024];
    for index in 0..archive.len() {
        let mut part = archive.by_index(index).map_err(SheetError::unreadable)?;
        let name = part.name().map_err(SheetError::unreadable)?.into_owned();
        // Worksheets are read as a stream; everything else whole.
        let streamed = name.starts_with("xl/worksheets/") && !name.contains("/_rels/");
        let mut size = 0u64;
        loop {
            let read = part.read(&mut buffer).map_err(SheetError::unreadable)?;
            if read == 0 {
                break;
            }
            size += read as u64;
            total += read as u64;
            if !streamed && size > limits.loaded_bytes {
                return Err(SheetError::new(
                    format!(
                        "its part {name} unpacks to more than {} MiB",
                        limits.loaded_bytes / MIB
                    ),
                    format!("其中 {name} 解压后超过 {} MiB", limits.loaded_bytes / MIB),
                ));
            }
            if total > whole {
                return Err(SheetError::new(
                    format!("it unpacks to more than {} MiB", whole / MIB),
                    format!("解压后超过 {} MiB", whole / MIB),
                ));
            }
            if budget.exhausted() {
                return Err(SheetError::stopped());
            }
        }
    }
    Ok(total)
}

/// The first sheet of an `.xlsx` as rows of text (index i is spreadsheet
/// row i + 1), within `limits`; `budget_bytes` is what is left of the
/// package's unpacked size, which this workbook counts against. Returns the
/// sheet's name, its rows and the bytes the workbook unpacked to.
pub fn xlsx_rows(
    bytes: &[u8],
    limits: &SheetLimits,
    budget_bytes: u64,
    budget: &dyn Budget,
) -> Result<(String, Vec<Vec<String>>, u64), SheetError> {
    use calamine::Reader;
    let unpacked = check_parts(bytes, limits, budget_bytes, budget)?;
    let mut workbook: calamine::Xlsx<_> =
        calamine::Xlsx::new(std::io::Cursor::new(bytes)).map_err(SheetError::unreadable)?;
    let sheet = workbook
        .sheet_names()
        .first()
        .cloned()
        .ok_or_else(|| SheetError::unreadable("the workbook has no sheet"))?;
    let shape = walk(&mut workbook, &sheet, limits, budget)?;
    let mut rows: Vec<Vec<String>> = vec![Vec::new(); shape.rows];
    let mut cells = workbook
        .worksheet_cells_reader(&sheet)
        .map_err(SheetError::unreadable)?;
    while let Some(cell) = cells.next_cell().map_err(SheetError::unreadable)? {
        let text = text(cell.get_value());
        if text.is_empty() {
            continue;
        }
        let (row, column) = cell.get_position();
        let row = &mut rows[row as usize];
        if row.len() <= column as usize {
            row.resize(column as usize + 1, String::new());
        }
        row[column as usize] = text;
    }
    Ok((sheet, rows, unpacked))
}

/// What the walk over a sheet found: how many rows to build.
struct Shape {
    rows: usize,
}

/// Walks the sheet's cells once, keeping none, refusing what is beyond
/// `limits`.
fn walk<RS: Read + Seek>(
    workbook: &mut calamine::Xlsx<RS>,
    sheet: &str,
    limits: &SheetLimits,
    budget: &dyn Budget,
) -> Result<Shape, SheetError> {
    let mut cells = workbook
        .worksheet_cells_reader(sheet)
        .map_err(SheetError::unreadable)?;
    let (mut count, mut last_row) = (0u64, None::<u32>);
    while let Some(cell) = cells.next_cell().map_err(SheetError::unreadable)? {
        if matches!(cell.get_value(), calamine::DataRef::Empty) {
            continue;
        }
        let (row, column) = cell.get_position();
        if row >= limits.rows || column >= limits.columns {
            let at = format!("{}{}", column_name(column), u64::from(row) + 1);
            return Err(SheetError::new(
                format!(
                    "the cell {at} is beyond what a table may have ({} rows, {} columns)",
                    limits.rows, limits.columns
                ),
                format!(
                    "单元格 {at} 超出表格允许的范围（{} 行，{} 列）",
                    limits.rows, limits.columns
                ),
            ));
        }
        count += 1;
        if count > limits.cells {
            return Err(SheetError::new(
                format!("the sheet has more than {} filled cells", limits.cells),
                format!("工作表的非空单元格超过 {} 个", limits.cells),
            ));
        }
        if count % 65_536 == 0 && budget.exhausted() {
            return Err(SheetError::stopped());
        }
        last_row = Some(last_row.map_or(row, |r| r.max(row)));
    }
    Ok(Shape {
        rows: last_row.map_or(0, |r| r as usize + 1),
    })
}

fn text(cell: &calamine::DataRef<'_>) -> String {
    use calamine::DataRef;
    match cell {
        DataRef::Empty => String::new(),
        DataRef::String(s) | DataRef::DateTimeIso(s) | DataRef::DurationIso(s) => s.clone(),
        DataRef::SharedString(s) => (*s).to_owned(),
        DataRef::Float(f) => crate::read::number_text(*f),
        DataRef::Int(i) => i.to_string(),
        DataRef::Bool(b) => b.to_string(),
        DataRef::DateTime(d) if d.is_datetime() => excel_time(d.as_f64()),
        DataRef::DateTime(d) => crate::read::number_text(d.as_f64()),
        DataRef::Error(e) => e.to_string(),
    }
}

/// An Excel date-time cell (days since 1899-12-30) as local text.
fn excel_time(serial: f64) -> String {
    let epoch = chrono::NaiveDate::from_ymd_opt(1899, 12, 30)
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .unwrap_or_default();
    let ms = (serial * 86_400_000.0).round() as i64;
    (epoch + chrono::Duration::milliseconds(ms))
        .format("%Y-%m-%d %H:%M:%S")
        .to_string()
}

/// A CSV file's rows, each at its line (so blank lines keep the numbering a
/// spreadsheet shows), within `limits`.
pub fn csv_rows(
    bytes: &[u8],
    limits: &SheetLimits,
    budget: &dyn Budget,
) -> Result<Vec<Vec<String>>, SheetError> {
    let unreadable = |e: String| SheetError {
        too_large: false,
        message: format!("not a readable CSV file: {e}"),
        message_zh: format!("无法读取 CSV 文件：{e}"),
    };
    let text = crate::read::decode_text(bytes);
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut rows: Vec<Vec<String>> = Vec::new();
    let (mut counted, mut newlines, mut cells) = (0, 0, 0u64);
    for record in reader.records() {
        let record = record.map_err(|e| unreadable(e.to_string()))?;
        // The reader's position is where it started looking, before any
        // blank lines it skipped: count lines up to the record itself.
        let start = record.position().map_or(0, |p| p.byte() as usize);
        let start =
            start + text[start..].len() - text[start..].trim_start_matches(['\r', '\n']).len();
        newlines += text.as_bytes()[counted..start]
            .iter()
            .filter(|b| **b == b'\n')
            .count();
        counted = start;
        let line = 1 + newlines;
        if line > limits.rows as usize || record.len() > limits.columns as usize {
            return Err(SheetError::new(
                format!(
                    "line {line} is beyond what a table may have ({} rows, {} columns)",
                    limits.rows, limits.columns
                ),
                format!(
                    "第 {line} 行超出表格允许的范围（{} 行，{} 列）",
                    limits.rows, limits.columns
                ),
            ));
        }
        cells += record.len() as u64;
        if cells > limits.cells {
            return Err(SheetError::new(
                format!("the file has more than {} cells", limits.cells),
                format!("文件的单元格超过 {} 个", limits.cells),
            ));
        }
        if line % 65_536 == 0 && budget.exhausted() {
            return Err(SheetError::stopped());
        }
        rows.resize(line.saturating_sub(1).max(rows.len()), Vec::new());
        rows.push(record.iter().map(str::to_owned).collect());
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;
    use precinct_domain::budget::Unlimited;

    #[test]
    fn column_names() {
        for (column, name) in [
            (0, "A"),
            (25, "Z"),
            (26, "AA"),
            (701, "ZZ"),
            (16_383, "XFD"),
        ] {
            assert_eq!(column_name(column), name);
        }
    }

    #[test]
    fn csv_beyond_its_rows_is_refused() {
        let limits = SheetLimits {
            rows: 3,
            ..TABLE_LIMITS
        };
        assert_eq!(
            csv_rows(b"a\nb\nc\n", &limits, &Unlimited).unwrap().len(),
            3
        );
        let e = csv_rows(b"a\nb\nc\nd\n", &limits, &Unlimited).unwrap_err();
        assert!(e.message.contains("line 4"), "{e:?}");
    }
}
