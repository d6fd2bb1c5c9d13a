//! Issue 17: past incidents imported, and the station's figures against
//! last year and the period before, from the rollups.

use crate::common::*;
use chrono::{DateTime, Duration, TimeZone, Utc};
use reqwest::StatusCode;
use serde_json::Value;

/// Last year's and this year's counts, chosen so that the changes are the
/// seed's figures exactly: (category, last year, this year).
const COUNTS: [(&str, usize, usize); 5] = [
    ("theft", 259, 142),
    ("fraud", 67, 78),
    ("public_disturbance", 229, 173),
    ("neighbour_noise_dispute", 57, 54),
    ("help_request", 2, 126),
];

fn local(y: i32, m: u32, d: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, 0, 0, 0).unwrap() - Duration::hours(8)
}

/// A CSV of both years' incidents (local times, Chinese headers), the
/// police on scene after 600 s last year and 480 s this year.
fn history_csv(shop: &Value) -> String {
    let mut csv =
        String::from("警情编号,报警时间,警情类别,纬度,经度,地址,处置结果,派警时间,到场时间\n");
    let mut n = 0;
    for (year, response) in [(2025, 600), (2026, 480)] {
        let start = local(year, 1, 1);
        for (category, last, this) in COUNTS {
            let count = if year == 2025 { last } else { this };
            for k in 0..count {
                n += 1;
                // Spread over the first 270 days of the year, local time.
                let at =
                    start + Duration::minutes((k as i64 * 7919 + n as i64 * 31) % (270 * 24 * 60));
                let (lat, lon) = near(shop, (k % 20) as f64 * 30.0, (k / 20) as f64 * 30.0);
                let local_time = (at + Duration::hours(8)).format("%Y-%m-%d %H:%M:%S");
                let dispatched =
                    (at + Duration::hours(8) + Duration::seconds(60)).format("%Y-%m-%d %H:%M:%S");
                let arrived = (at + Duration::hours(8) + Duration::seconds(response))
                    .format("%Y-%m-%d %H:%M:%S");
                let disposition = if k % 4 == 0 {
                    "现场处置"
                } else {
                    "no_action_needed"
                };
                csv.push_str(&format!(
                    "H{year}-{n},{local_time},{category},{lat},{lon},美食七街,{disposition},{dispatched},{arrived}\n"
                ));
            }
        }
    }
    csv
}

async fn upload(
    app: &TestApp,
    token: &str,
    name: &str,
    bytes: Vec<u8>,
    mapping: Option<&str>,
) -> (StatusCode, Value) {
    let mut parts = vec![("file", name, bytes)];
    if let Some(mapping) = mapping {
        parts.push(("mapping", "mapping.csv", mapping.as_bytes().to_vec()));
    }
    app.upload(token, "/api/history/import", parts).await
}

fn figure<'a>(figures: &'a Value, key: &str) -> &'a Value {
    figures["figures"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["key"] == key)
        .unwrap_or_else(|| panic!("no figure {key}"))
}

fn percent(v: &Value) -> f64 {
    (v.as_f64().unwrap() * 10_000.0).round() / 100.0
}

api_test! {
    async fn history_gives_the_seed_figures_year_on_year(app) {
        let admin = app.login("admin").await;
        let analyst = app.login("analyst").await;
        let d = app.login("dispatcher").await;
        let shop = app.place(&d, "美食七街7号").await;
        let csv = history_csv(&shop);
        let rows = COUNTS.iter().map(|c| c.1 + c.2).sum::<usize>() as u64;

        // Bad rows are named, and nothing is imported.
        let mut bad = csv.clone();
        bad.push_str("B-1,yesterday,theft,31.2,121.5,,,,\nB-2,2026-02-01 10:00:00,ufo,north,121.5,,,,\n");
        let before = app.event_count().await;
        let (status, body) = upload(&app, &admin, "history.csv", bad.into_bytes(), None).await;
        assert_eq!((status, body["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_history")), "{body}");
        let named: Vec<(u64, &str)> = body["problems"].as_array().unwrap().iter()
            .map(|p| (p["row"].as_u64().unwrap(), p["column"].as_str().unwrap())).collect();
        let last_row = rows + 1;
        assert_eq!(named, [(last_row + 1, "reported_at"), (last_row + 2, "category"), (last_row + 2, "lat")]);
        assert_eq!(app.event_count().await, before, "nothing imported");

        // Only administrators import.
        let (status, _) = upload(&app, &analyst, "history.csv", csv.clone().into_bytes(), None).await;
        assert_eq!(status, StatusCode::FORBIDDEN);

        // GBK, as Chinese office software saves it.
        let (gbk, _, _) = encoding_rs::GBK.encode(&csv);
        let (status, report) = upload(&app, &admin, "history.csv", gbk.into_owned(), None).await;
        assert_eq!(status, StatusCode::OK, "{report}");
        assert_eq!((report["rows"].as_u64(), report["inserted"].as_u64(), report["outside"].as_u64()), (Some(rows), Some(rows), Some(0)));

        // Re-importing changes nothing.
        let period = format!("from={}&until={}", urlenc(local(2026, 1, 1)), urlenc(local(2026, 10, 1)));
        let (_, first) = app.get(Some(&analyst), &format!("/api/figures/station?{period}")).await;
        let (status, again) = upload(&app, &admin, "history.csv", csv.clone().into_bytes(), None).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!((again["inserted"].as_u64(), again["already_present"].as_u64()), (Some(0), Some(rows)));
        let (status, figures) = app.get(Some(&analyst), &format!("/api/figures/station?{period}")).await;
        assert_eq!(status, StatusCode::OK, "{figures}");
        assert_eq!(figures, first, "re-import changed nothing");

        // The seed's figures, to two decimals.
        for (key, change) in [("incidents", -6.68), ("criminal", -32.52), ("public_order", -24.45), ("theft", -45.17), ("dispute", -5.26)] {
            assert_eq!(percent(&figure(&figures, key)["yoy_change"]), change, "{key}");
            assert!(figure(&figures, key)["definition"].as_str().unwrap().len() > 20);
        }
        assert_eq!(figure(&figures, "incidents")["value"], 573.0);
        assert_eq!(figure(&figures, "incidents")["last_year"], 614.0);
        let police = figure(&figures, "police_response_seconds");
        assert_eq!((police["value"].as_f64(), police["last_year"].as_f64()), (Some(480.0), Some(600.0)));
        assert_eq!(percent(&police["yoy_change"]), -20.0, "faster: 600 s → 480 s is speed +25%");
        let on_scene = figure(&figures, "on_scene_resolution_rate")["value"].as_f64().unwrap();
        assert!(on_scene > 0.2 && on_scene < 0.3, "{on_scene}");
        assert_eq!(figures["last_year_from"], "2024-12-31T16:00:00Z");
        let previous = figure(&figures, "incidents")["previous"].as_f64().unwrap();
        assert!(previous > 0.0, "the previous 273 days reach back into last year's history");

        // Breakdowns add up to the total, in the station's time zone.
        for by in ["category", "zone", "community", "grid_cell", "hour_weekday"] {
            let (status, b) = app.get(Some(&analyst), &format!("/api/figures/breakdown?{period}&by={by}")).await;
            assert_eq!(status, StatusCode::OK, "{b}");
            let rows = b["rows"].as_array().unwrap();
            let sum: i64 = rows.iter().map(|r| r["incidents"].as_i64().unwrap()).sum();
            let last: i64 = rows.iter().map(|r| r["last_year"].as_i64().unwrap()).sum();
            assert_eq!((sum, last), (573, 614), "{by}");
            if by == "hour_weekday" {
                assert_eq!(rows.len(), 168);
            }
            if by == "category" {
                assert_eq!(rows[0]["key"], "public_disturbance");
                assert_eq!(rows[0]["name"], "扰乱公共秩序");
            }
        }

        // The series adds up to the figures, by month of the station's calendar.
        let (status, series) = app.get(Some(&analyst), &format!("/api/figures/series?{period}&interval=month")).await;
        assert_eq!(status, StatusCode::OK, "{series}");
        let points = series["points"].as_array().unwrap();
        assert_eq!(points.len(), 9);
        assert_eq!(points[1]["start"], "2026-01-31T16:00:00Z", "February from local midnight");
        let total: i64 = points.iter().map(|p| p["incidents"].as_i64().unwrap()).sum();
        let thefts: i64 = points.iter().map(|p| p["theft"].as_i64().unwrap()).sum();
        assert_eq!((total, thefts), (573, 142));
        let (_, daily) = app.get(Some(&analyst), &format!("/api/figures/series?{period}")).await;
        assert_eq!(daily["interval"], "week", "273 days: weekly by default");
        let (status, body) = app.get(Some(&analyst), &format!("/api/figures/series?from={}&until=2027-12-01T00:00:00Z&interval=day", urlenc(local(2026, 1, 1)))).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");

        // Every table as a workbook holding the numbers the API answers.
        let response = app.client.get(format!("{}/api/figures/export?{period}", app.base)).bearer_auth(&analyst).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let xlsx = response.bytes().await.unwrap().to_vec();
        let mut book: calamine::Xlsx<_> = calamine::open_workbook_from_rs(std::io::Cursor::new(xlsx)).unwrap();
        use calamine::{DataType, Reader};
        let names = book.sheet_names().to_vec();
        assert_eq!(names.len(), 7, "{names:?}");
        let sheet = book.worksheet_range(&names[0]).unwrap();
        let row = sheet.rows().find(|r| r[1] == "theft").expect("the theft row");
        assert_eq!(row[2].get_float(), Some(142.0));
        assert_eq!(row[3].get_float(), Some(259.0));
        assert!((row[4].get_float().unwrap() + 0.4517).abs() < 1e-4);
        let categories = book.worksheet_range(&names[1]).unwrap();
        let sum: f64 = categories.rows().skip(1).filter_map(|r| r[2].get_float()).sum();
        assert_eq!(sum, 573.0);

        // The monthly briefing: a Chinese PDF with the month's figures.
        let response = app.client.get(format!("{}/api/figures/briefing?month=2026-03", app.base)).bearer_auth(&analyst).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let pdf = response.bytes().await.unwrap().to_vec();
        assert!(pdf.starts_with(b"%PDF-"));
        let (_, march) = app.get(Some(&analyst), &format!("/api/figures/station?from={}&until={}", urlenc(local(2026, 3, 1)), urlenc(local(2026, 4, 1)))).await;
        if let Some(text) = pdf_text(&pdf) {
            assert!(text.contains("2026年3月 警情研判月报"), "{text}");
            let count = figure(&march, "incidents")["value"].as_f64().unwrap();
            assert!(text.contains(&format!("警情总量:{count:.0} 起")), "{text}");
            // Hotspots as the map's layer computes them (250 m cells).
            assert!(text.contains("250 米格网"), "{text}");
            assert!(text.contains("矛盾纠纷"), "{text}");
        }
        let (status, body) = app.get(Some(&analyst), "/api/figures/briefing?month=2026-13").await;
        assert_eq!((status, body["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_month")));

        // A mapping file of old codes; and every bad period or breakdown.
        let old = "警情编号,报警时间,警情类别,纬度,经度\nOLD-1,2026-03-01 09:00:00,0101,31.2,121.5\n";
        let (status, report) = upload(&app, &admin, "old.csv", old.as_bytes().to_vec(), Some("旧代码,警情类别\n0101,theft\n")).await;
        assert_eq!(status, StatusCode::OK, "{report}");
        assert_eq!(report["outside"], 1, "kept and counted as outside the ground");
        let (_, after) = app.get(Some(&analyst), &format!("/api/figures/station?{period}")).await;
        assert_eq!(figure(&after, "theft")["value"], 143.0);
        for bad in [
            format!("from={}&until={}", urlenc(local(2026, 2, 1)), urlenc(local(2026, 1, 1))),
            format!("from=1899-12-31T00:00:00Z&until={}", urlenc(local(2026, 1, 1))),
        ] {
            let (status, body) = app.get(Some(&analyst), &format!("/api/figures/station?{bad}")).await;
            assert_eq!((status, body["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_period")), "{bad}");
        }
        let (status, body) = app.get(Some(&analyst), &format!("/api/figures/breakdown?{period}&by=planet")).await;
        assert_eq!((status, body["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_breakdown")));
        let volunteer = app.login("volunteer").await;
        let (status, _) = app.get(Some(&volunteer), &format!("/api/figures/station?{period}")).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        // Ten years ask nothing more of it.
        let (status, decade) = app.get(Some(&analyst), &format!("/api/figures/station?from={}&until={}", urlenc(local(2017, 1, 1)), urlenc(local(2027, 1, 1)))).await;
        assert_eq!(status, StatusCode::OK);
        assert!(figure(&decade, "incidents")["value"].as_f64().unwrap() >= (rows + 1) as f64);
    }
}

fn urlenc(t: DateTime<Utc>) -> String {
    t.to_rfc3339().replace('+', "%2B").replace(':', "%3A")
}
