//! Past incidents a station brings with it (历史警情): rows of a file,
//! checked against the station's ground and code table into
//! `HistoryRecord`s. History is taken as recorded: only the external id
//! makes two rows one; no near-duplicate linking.

use crate::Timestamp;
use crate::category::Category;
use crate::ground::{Jurisdiction, Resolution};
use crate::ids::IncidentId;
use crate::incident::{Caller, Disposition, Incident, IncidentStatus, IntakeSource, Priority};
use crate::station::{Problem, Source};
use chrono::{DateTime, NaiveDateTime, Utc};
use precinct_geo::{Coordinates, Datum};
use std::collections::{BTreeMap, HashMap};

/// One row as read from the file: its place and its cells' text.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HistoryRow {
    pub at: Source,
    pub external_id: String,
    pub reported_at: String,
    pub category: String,
    pub lat: String,
    pub lon: String,
    pub datum: Option<String>,
    pub address: Option<String>,
    pub disposition: Option<String>,
    pub dispatched_at: Option<String>,
    pub arrived_at: Option<String>,
}

/// A checked past incident.
#[derive(Debug, Clone, PartialEq)]
pub struct HistoryRecord {
    pub external_id: String,
    pub reported_at: Timestamp,
    pub category: Category,
    pub priority: Priority,
    pub location: Coordinates,
    pub resolution: Resolution,
    pub address: String,
    pub disposition: Option<Disposition>,
    pub dispatched_at: Option<Timestamp>,
    pub arrived_at: Option<Timestamp>,
}

/// The most characters of an external id.
pub const MAX_EXTERNAL_ID: usize = 100;
/// The most characters of an address.
pub const MAX_ADDRESS: usize = 300;

impl HistoryRecord {
    /// Whether the record lies outside the station's ground (kept, counted).
    pub fn is_outside(&self) -> bool {
        self.resolution.is_outside_ground()
    }

    /// The incident the record is stored as: closed when recorded, with its
    /// disposition if it has one; the arrival is the first police unit's.
    pub fn incident(&self, id: IncidentId) -> Incident {
        let closed_at = [Some(self.reported_at), self.dispatched_at, self.arrived_at]
            .into_iter()
            .flatten()
            .max();
        Incident {
            id,
            source: IntakeSource::History,
            external_id: Some(self.external_id.clone()),
            category: self.category.clone(),
            priority: self.priority,
            status: IncidentStatus::Closed,
            disposition: self.disposition,
            closing_remark: None,
            location: self.location,
            resolution: self.resolution,
            address: self.address.clone(),
            caller: Caller::default(),
            summary: self.summary(),
            reported_at: self.reported_at,
            received_at: self.reported_at,
            dispatched_at: self.dispatched_at,
            first_on_scene_at: self.arrived_at,
            first_police_on_scene_at: self.arrived_at,
            first_helper_on_scene_at: None,
            closed_at,
            duplicate_of: None,
            merged_into: None,
            assignments: Vec::new(),
        }
    }

    /// The summary an imported incident carries.
    pub fn summary(&self) -> String {
        format!("历史警情 {} (imported history)", self.external_id)
    }
}

/// Reads a time: RFC 3339, or a local time in the station's zone (`local`).
pub fn parse_time(
    text: &str,
    local: &dyn Fn(NaiveDateTime) -> Option<Timestamp>,
) -> Option<Timestamp> {
    let text = text.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Some(t.with_timezone(&Utc));
    }
    const FORMATS: [&str; 6] = [
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M",
        "%Y/%m/%d %H:%M:%S%.f",
        "%Y/%m/%d %H:%M",
        "%Y-%m-%dT%H:%M",
    ];
    FORMATS
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(text, f).ok())
        .and_then(local)
}

/// What a file's rows must satisfy beyond their own cells.
pub struct HistoryRules<'a> {
    pub ground: &'a Jurisdiction,
    /// Old category codes → the station's (a mapping file).
    pub mapping: &'a BTreeMap<String, String>,
    pub local: &'a dyn Fn(NaiveDateTime) -> Option<Timestamp>,
    /// Rows reported after this (a day past now) are refused.
    pub latest: Timestamp,
}

impl std::fmt::Debug for HistoryRules<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HistoryRules")
            .field("mapping", &self.mapping)
            .field("latest", &self.latest)
            .finish_non_exhaustive()
    }
}

/// The earliest time a record may carry: 1 January 1900 (UTC). Real
/// exports hold offences reported decades after they happened.
pub fn earliest_time() -> Timestamp {
    DateTime::<Utc>::from_timestamp(EARLIEST_SECONDS, 0).unwrap_or_default()
}

/// 1900-01-01T00:00:00Z in seconds from 1970.
pub const EARLIEST_SECONDS: i64 = -2_208_988_800;

/// A file's rows sorted: the good ones as records, the others with every
/// problem each has.
#[derive(Debug, Clone, Default)]
pub struct HistoryCheck {
    pub records: Vec<HistoryRecord>,
    /// The rows refused: (index into the rows, its problems).
    pub refused: Vec<(usize, Vec<Problem>)>,
}

impl HistoryCheck {
    /// Every problem, in row order.
    pub fn problems(&self) -> Vec<Problem> {
        self.refused
            .iter()
            .flat_map(|(_, p)| p.iter().cloned())
            .collect()
    }
}

/// Checks every row; every problem is named by its row and column, and
/// none stops the checking of the rest. All or nothing: the records, or
/// every problem.
pub fn check_history(
    rows: &[HistoryRow],
    rules: &HistoryRules<'_>,
) -> Result<Vec<HistoryRecord>, Vec<Problem>> {
    let checked = sort_history(rows, rules);
    if checked.refused.is_empty() {
        Ok(checked.records)
    } else {
        Err(checked.problems())
    }
}

/// Checks every row and keeps the good ones apart from the refused (for an
/// import that skips the invalid rows). A repeated external id refuses the
/// later row.
pub fn sort_history(rows: &[HistoryRow], rules: &HistoryRules<'_>) -> HistoryCheck {
    let mut problems = Vec::new();
    let mut refused = Vec::new();
    let mut records = Vec::with_capacity(rows.len());
    let mut seen: HashMap<&str, &Source> = HashMap::with_capacity(rows.len());
    let earliest = earliest_time();
    for (index, row) in rows.iter().enumerate() {
        let before = problems.len();
        let mut problem = |column: &str, en: String, zh: String| {
            problems.push(Problem::new(&row.at, Some(column), en, zh));
        };
        let external_id = row.external_id.trim();
        if external_id.is_empty() || external_id.chars().count() > MAX_EXTERNAL_ID {
            problem(
                "external_id",
                format!("external_id must be 1 to {MAX_EXTERNAL_ID} characters"),
                format!("警情编号须为1至{MAX_EXTERNAL_ID}个字符"),
            );
        } else if let Some(first) = seen.insert(external_id, &row.at) {
            problem(
                "external_id",
                format!(
                    "external_id {external_id:?} is repeated (first at row {})",
                    first.row.unwrap_or(0)
                ),
                format!(
                    "警情编号 {external_id} 重复(首次出现在第 {} 行)",
                    first.row.unwrap_or(0)
                ),
            );
        }
        let mut time = |column: &str, text: &str| -> Option<Timestamp> {
            match parse_time(text, rules.local) {
                Some(t) if t >= earliest && t <= rules.latest => Some(t),
                Some(_) => {
                    problem(
                        column,
                        format!("{column} {text:?} is before 1900 or in the future"),
                        format!("{column} {text} 早于1900年或晚于当前"),
                    );
                    None
                }
                None => {
                    problem(
                        column,
                        format!(
                            "{column} {text:?} is not a time (RFC 3339, or local \"2025-03-01 14:05:00\")"
                        ),
                        format!(
                            "{column} {text} 不是时间(RFC 3339 或本地时间 \"2025-03-01 14:05:00\")"
                        ),
                    );
                    None
                }
            }
        };
        let reported_at = time("reported_at", &row.reported_at);
        let dispatched_at = row
            .dispatched_at
            .as_deref()
            .map(|t| (time("dispatched_at", t), t));
        let arrived_at = row
            .arrived_at
            .as_deref()
            .map(|t| (time("arrived_at", t), t));
        for (column, given) in [
            ("dispatched_at", &dispatched_at),
            ("arrived_at", &arrived_at),
        ] {
            if let (Some(r), Some((Some(t), text))) = (reported_at, given)
                && *t < r
            {
                problem(
                    column,
                    format!("{column} {text:?} is before reported_at"),
                    format!("{column} {text} 早于报警时间"),
                );
            }
        }
        let code = row.category.trim();
        let code = rules.mapping.get(code).map_or(code, String::as_str);
        let category = rules.ground.category(code);
        let priority = rules.ground.category_def(code).map(|d| d.default_priority);
        if category.is_none() {
            problem(
                "category",
                format!(
                    "category {:?} is not a code of the station's table (nor mapped to one)",
                    row.category.trim()
                ),
                format!(
                    "警情类别 {} 不在本所警情类别代码表中(映射表中也没有)",
                    row.category.trim()
                ),
            );
        }
        let datum = match row.datum.as_deref().map(str::trim) {
            None | Some("") => Some(Datum::Wgs84),
            Some(text) => {
                let d = Datum::parse(text);
                if d.is_none() {
                    problem(
                        "datum",
                        format!("datum {text:?} is not wgs84 or gcj02"),
                        format!("坐标系 {text} 应为 wgs84 或 gcj02"),
                    );
                }
                d
            }
        };
        let number = |text: &str| text.trim().parse::<f64>().ok().filter(|v| v.is_finite());
        let location = match (number(&row.lat), number(&row.lon), datum) {
            (Some(lat), Some(lon), Some(datum)) => match Coordinates::from_datum(lat, lon, datum) {
                Ok(c) => Some(c),
                Err(e) => {
                    problem("lat", e.to_string(), format!("坐标无效:{e}"));
                    None
                }
            },
            (lat, lon, _) => {
                if lat.is_none() {
                    problem(
                        "lat",
                        format!("lat {:?} is not a number", row.lat),
                        format!("纬度 {} 不是数字", row.lat),
                    );
                }
                if lon.is_none() {
                    problem(
                        "lon",
                        format!("lon {:?} is not a number", row.lon),
                        format!("经度 {} 不是数字", row.lon),
                    );
                }
                None
            }
        };
        let address = row.address.as_deref().map(str::trim).unwrap_or_default();
        if address.chars().count() > MAX_ADDRESS {
            problem(
                "address",
                format!("address is longer than {MAX_ADDRESS} characters"),
                format!("地址超过{MAX_ADDRESS}个字符"),
            );
        }
        let disposition = match row.disposition.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(text) => {
                let d = Disposition::parse(text)
                    .or_else(|| Disposition::from_label_zh(text))
                    .filter(|d| *d != Disposition::MergedAsDuplicate);
                if d.is_none() {
                    problem(
                        "disposition",
                        format!("disposition {text:?} is not one of {}", disposition_codes()),
                        format!("处置结果 {text} 无效,应为:{}", disposition_codes()),
                    );
                }
                d
            }
        };
        if problems.len() > before {
            refused.push((index, problems.split_off(before)));
            continue;
        }
        let (Some(reported_at), Some(category), Some(priority), Some(location)) =
            (reported_at, category, priority, location)
        else {
            continue;
        };
        records.push(HistoryRecord {
            external_id: external_id.to_owned(),
            reported_at,
            category,
            priority,
            location,
            resolution: rules.ground.resolve(location),
            address: address.to_owned(),
            disposition,
            dispatched_at: dispatched_at.and_then(|(t, _)| t),
            arrived_at: arrived_at.and_then(|(t, _)| t),
        });
    }
    HistoryCheck { records, refused }
}

fn disposition_codes() -> String {
    Disposition::ALL
        .iter()
        .filter(|d| **d != Disposition::MergedAsDuplicate)
        .map(|d| d.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn shanghai(t: NaiveDateTime) -> Option<Timestamp> {
        Some(Utc.from_utc_datetime(&(t - chrono::Duration::hours(8))))
    }

    fn row(n: u32, id: &str) -> HistoryRow {
        HistoryRow {
            at: Source {
                file: "history.csv".into(),
                row: Some(n),
                ..Source::default()
            },
            external_id: id.into(),
            reported_at: "2025-03-01 14:05:00".into(),
            category: "theft".into(),
            lat: "31.2".into(),
            lon: "121.5".into(),
            ..HistoryRow::default()
        }
    }

    #[test]
    fn rows_are_checked_and_every_bad_cell_named() {
        let ground = Jurisdiction::default();
        let mapping = BTreeMap::from([("0101".to_owned(), "burglary".to_owned())]);
        let latest = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
        let rules = HistoryRules {
            ground: &ground,
            mapping: &mapping,
            local: &shanghai,
            latest,
        };
        let mut mapped = row(3, "B");
        mapped.category = "0101".into();
        mapped.reported_at = "2025-03-01T06:05:00Z".into();
        mapped.datum = Some("gcj02".into());
        mapped.disposition = Some("现场调解".into());
        let good = check_history(&[row(2, "A"), mapped], &rules).expect("good rows");
        assert_eq!(
            good[0].reported_at,
            Utc.with_ymd_and_hms(2025, 3, 1, 6, 5, 0).unwrap()
        );
        assert_eq!(good[1].reported_at, good[0].reported_at);
        assert_eq!(good[1].category.as_str(), "burglary");
        assert_ne!(good[1].location, good[0].location, "GCJ-02 converted");
        assert_eq!(good[1].disposition, Some(Disposition::ResolvedOnScene));
        assert!(good[0].is_outside(), "no ground: outside, but kept");

        let mut bad = vec![row(2, "A"), row(3, "A"), row(4, "C"), row(5, "")];
        bad[2].category = "nonsense".into();
        bad[2].lat = "north".into();
        bad[2].reported_at = "yesterday".into();
        bad[2].arrived_at = Some("2025-03-01 14:00:00".into());
        bad[2].disposition = Some("merged_as_duplicate".into());
        let problems = check_history(&bad, &rules).unwrap_err();
        let named: Vec<(u32, &str)> = problems
            .iter()
            .map(|p| (p.at.row.unwrap(), p.column.as_deref().unwrap()))
            .collect();
        assert_eq!(
            named,
            [
                (3, "external_id"),
                (4, "reported_at"),
                (4, "category"),
                (4, "lat"),
                (4, "disposition"),
                (5, "external_id"),
            ]
        );
        let mut late = row(2, "A");
        late.arrived_at = Some("2025-03-01 14:00:00".into());
        let problems = check_history(&[late], &rules).unwrap_err();
        assert_eq!(problems[0].column.as_deref(), Some("arrived_at"));
        let mut future = row(2, "A");
        future.reported_at = "2030-01-01 00:00".into();
        assert!(check_history(&[future], &rules).is_err());
        let mut old = row(2, "A");
        old.reported_at = "1966-05-01 08:00".into();
        let mut older = row(3, "B");
        older.reported_at = "1899-12-31 23:00".into();
        let checked = sort_history(&[old, older], &rules);
        assert_eq!(
            checked.records[0].reported_at,
            Utc.with_ymd_and_hms(1966, 5, 1, 0, 0, 0).unwrap(),
            "a real export's offences from the 1960s are taken"
        );
        assert_eq!(checked.refused.len(), 1);
        assert_eq!(checked.refused[0].0, 1, "1899 is refused");
    }
}
