//! Past incidents from `.xlsx` or `.csv` (UTF-8, or GBK/GB18030 as Chinese
//! office software saves it), with English or Chinese headers, and the
//! mapping file of old category codes. Reading only: the domain checks the
//! rows (`precinct_domain::history::check_history`).

use crate::columns::Column;
use crate::sheet::{HISTORY_LIMITS, SheetLimits, csv_rows, xlsx_rows};
use precinct_domain::budget::{Budget, Unlimited};
use precinct_domain::history::HistoryRow;
use precinct_domain::station::{Problem, Source};
use std::collections::BTreeMap;

const fn column(key: &'static str, label_zh: &'static str, required: bool) -> Column {
    Column {
        key,
        label_zh,
        required,
    }
}

/// The history file's columns, each headed by its key or its Chinese label.
pub const HISTORY_COLUMNS: [Column; 10] = [
    column("external_id", "警情编号", true),
    column("reported_at", "报警时间", true),
    column("category", "警情类别", true),
    column("lat", "纬度", true),
    column("lon", "经度", true),
    column("datum", "坐标系", false),
    column("address", "地址", false),
    column("disposition", "处置结果", false),
    column("dispatched_at", "派警时间", false),
    column("arrived_at", "到场时间", false),
];

/// The mapping file's columns: an old code and the station's code for it.
pub const MAPPING_COLUMNS: [Column; 2] = [
    column("old_code", "旧代码", true),
    column("category", "警情类别", true),
];

fn problem(file: &str, en: String, zh: String) -> Problem {
    Problem::new(&Source::file(file), None, en, zh)
}

/// A data row: its place, and its cells in the order of the columns asked for.
type TableRow = (Source, Vec<Option<String>>);

/// A table's data rows, its header checked.
fn table(
    file: &str,
    bytes: &[u8],
    columns: &[Column],
    limits: &SheetLimits,
    budget: &dyn Budget,
) -> Result<Vec<TableRow>, Vec<Problem>> {
    let lower = file.to_ascii_lowercase();
    let (sheet, rows) = if lower.ends_with(".xlsx") {
        xlsx_rows(bytes, limits, limits.unpacked_bytes, budget)
            .map(|(sheet, rows, _)| (Some(sheet), rows))
    } else if lower.ends_with(".csv") {
        csv_rows(bytes, limits, budget).map(|rows| (None, rows))
    } else {
        return Err(vec![problem(
            file,
            "the file must be .xlsx or .csv".into(),
            "文件须为 .xlsx 或 .csv".into(),
        )]);
    }
    .map_err(|e| vec![problem(file, e.message, e.message_zh)])?;
    let Some(header_at) = rows
        .iter()
        .position(|r| r.iter().any(|c| !c.trim().is_empty()))
    else {
        return Ok(Vec::new());
    };
    let header = &rows[header_at];
    let find = |c: &Column| {
        header.iter().position(|h| {
            let h = h.trim().trim_start_matches('\u{feff}');
            h.eq_ignore_ascii_case(c.key) || h == c.label_zh
        })
    };
    let positions: Vec<Option<usize>> = columns.iter().map(find).collect();
    let missing: Vec<&Column> = columns
        .iter()
        .zip(&positions)
        .filter(|(c, p)| c.required && p.is_none())
        .map(|(c, _)| c)
        .collect();
    if !missing.is_empty() {
        let en = missing.iter().map(|c| c.key).collect::<Vec<_>>().join(", ");
        let zh = missing
            .iter()
            .map(|c| c.label_zh)
            .collect::<Vec<_>>()
            .join("、");
        return Err(vec![problem(
            file,
            format!("the header lacks the column(s) {en}"),
            format!("表头缺少列:{zh}"),
        )]);
    }
    let mut out = Vec::with_capacity(rows.len() - header_at);
    for (index, row) in rows.iter().enumerate().skip(header_at + 1) {
        if row.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        let at = Source {
            file: file.to_owned(),
            sheet: sheet.clone(),
            row: Some(index as u32 + 1),
            feature: None,
        };
        let cells = positions
            .iter()
            .map(|p| {
                p.and_then(|p| row.get(p))
                    .map(|c| c.trim())
                    .filter(|c| !c.is_empty())
                    .map(str::to_owned)
            })
            .collect();
        out.push((at, cells));
    }
    Ok(out)
}

/// Reads a history file's rows (the first sheet of a workbook); the header
/// may stand on any row before the data.
pub fn read_history(file: &str, bytes: &[u8]) -> Result<Vec<HistoryRow>, Vec<Problem>> {
    read_history_within(file, bytes, &Unlimited)
}

/// As [`read_history`], stopping early when `budget` is spent (the caller
/// must then refuse the answer).
pub fn read_history_within(
    file: &str,
    bytes: &[u8],
    budget: &dyn Budget,
) -> Result<Vec<HistoryRow>, Vec<Problem>> {
    Ok(
        table(file, bytes, &HISTORY_COLUMNS, &HISTORY_LIMITS, budget)?
            .into_iter()
            .map(|(at, mut c)| {
                let mut take = |i: usize| c[i].take();
                HistoryRow {
                    external_id: take(0).unwrap_or_default(),
                    reported_at: take(1).unwrap_or_default(),
                    category: take(2).unwrap_or_default(),
                    lat: take(3).unwrap_or_default(),
                    lon: take(4).unwrap_or_default(),
                    datum: take(5),
                    address: take(6),
                    disposition: take(7),
                    dispatched_at: take(8),
                    arrived_at: take(9),
                    at,
                }
            })
            .collect(),
    )
}

/// The refused rows of an import that skipped them, as a UTF-8 CSV (with a
/// byte-order mark, so spreadsheet software reads the Chinese): the row's
/// number in the input, its cells under the history file's own headers (so
/// the file can be corrected and imported again), and every reason.
pub fn write_rejects(refused: &[(&HistoryRow, &[Problem])]) -> Vec<u8> {
    let mut out = "\u{feff}".as_bytes().to_vec();
    let mut writer = csv::Writer::from_writer(&mut out);
    let mut header = vec!["row"];
    header.extend(HISTORY_COLUMNS.iter().map(|c| c.key));
    header.extend(["problems", "problems_zh"]);
    let _ = writer.write_record(&header);
    for (row, problems) in refused {
        let optional = |v: &Option<String>| v.clone().unwrap_or_default();
        let join = |zh: bool| {
            problems
                .iter()
                .map(|p| {
                    let message = if zh { &p.message_zh } else { &p.message };
                    match &p.column {
                        Some(column) => format!("{column}: {message}"),
                        None => message.clone(),
                    }
                })
                .collect::<Vec<_>>()
                .join("; ")
        };
        let record = [
            row.at.row.map(|r| r.to_string()).unwrap_or_default(),
            row.external_id.clone(),
            row.reported_at.clone(),
            row.category.clone(),
            row.lat.clone(),
            row.lon.clone(),
            optional(&row.datum),
            optional(&row.address),
            optional(&row.disposition),
            optional(&row.dispatched_at),
            optional(&row.arrived_at),
            join(false),
            join(true),
        ];
        let _ = writer.write_record(&record);
    }
    drop(writer);
    out
}

/// Reads a mapping file: old category code → the station's code.
pub fn read_mapping(file: &str, bytes: &[u8]) -> Result<BTreeMap<String, String>, Vec<Problem>> {
    let mut mapping = BTreeMap::new();
    let mut problems = Vec::new();
    for (at, cells) in table(file, bytes, &MAPPING_COLUMNS, &HISTORY_LIMITS, &Unlimited)? {
        match (&cells[0], &cells[1]) {
            (Some(old), Some(new)) => {
                if let Some(before) = mapping.insert(old.clone(), new.clone())
                    && before != *new
                {
                    problems.push(Problem::new(
                        &at,
                        Some("old_code"),
                        format!("old code {old:?} is mapped twice"),
                        format!("旧代码 {old} 重复映射"),
                    ));
                }
            }
            _ => problems.push(Problem::new(
                &at,
                Some("category"),
                "a mapping row needs both codes".into(),
                "映射行须同时填写旧代码和警情类别".into(),
            )),
        }
    }
    if problems.is_empty() {
        Ok(mapping)
    } else {
        Err(problems)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chinese_headers_in_gbk_and_row_numbers() {
        let text = "\u{feff}警情编号,报警时间,警情类别,纬度,经度,地址\n\
                    A1,2025-03-01 14:05:00,theft,31.2,121.5,高桥镇\n\
                    \n\
                    A2,2025-03-02T01:00:00Z,0101,31.21,121.51,\n";
        let (gbk, _, _) = encoding_rs::GBK.encode(text.trim_start_matches('\u{feff}'));
        for bytes in [text.as_bytes(), &gbk[..]] {
            let rows = read_history("history.csv", bytes).expect("rows");
            assert_eq!(rows.len(), 2);
            assert_eq!(rows[0].external_id, "A1");
            assert_eq!(rows[0].address.as_deref(), Some("高桥镇"));
            assert_eq!(rows[1].at.row, Some(4), "the line a spreadsheet shows");
            assert_eq!(rows[1].address, None);
        }
        let problems = read_history("history.csv", b"external_id,category\nA,theft\n").unwrap_err();
        assert!(
            problems[0].message.contains("reported_at, lat, lon"),
            "{problems:?}"
        );
        assert!(read_history("history.txt", b"").is_err());
        let mapping = read_mapping("map.csv", "旧代码,警情类别\n0101,theft\n".as_bytes()).unwrap();
        assert_eq!(mapping["0101"], "theft");
    }

    #[test]
    fn rejects_read_back_as_a_history_file() {
        let text = "external_id,reported_at,category,lat,lon,address\n\
                    A1,1899-05-01 14:05:00,theft,31.2,121.5,\"高桥镇, 3号\"\n";
        let rows = read_history("history.csv", text.as_bytes()).expect("rows");
        let problems = [Problem::new(
            &rows[0].at,
            Some("reported_at"),
            "too early".into(),
            "太早".into(),
        )];
        let rejects = write_rejects(&[(&rows[0], &problems[..])]);
        let text = String::from_utf8(rejects.clone()).unwrap();
        assert!(text.contains("reported_at: too early"), "{text}");
        assert!(text.contains("reported_at: 太早"), "{text}");
        let again = read_history("history.rejects.csv", &rejects).expect("corrected and re-read");
        assert_eq!(again[0].external_id, "A1");
        assert_eq!(again[0].reported_at, rows[0].reported_at);
        assert_eq!(again[0].address, rows[0].address);
    }
}
