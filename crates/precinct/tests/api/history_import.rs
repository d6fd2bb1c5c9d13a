//! Issue 25, item 7: history import takes real exports. Offences reported
//! decades after they happened (dated 1966–1970) are taken and counted in
//! their own local hours and days; a file with a few bad rows is refused
//! whole by default, and with `skip_invalid` its valid rows are imported
//! and each refused row is named with its reasons.

use crate::common::*;
use reqwest::StatusCode;
use serde_json::Value;

fn enc(text: &str) -> String {
    text.replace('+', "%2B").replace(':', "%3A")
}

/// A real export's shape: recent rows, three from the 1960s (station time,
/// Asia/Shanghai), one from 1899 and one with a category no table knows.
fn export(shop: &Value) -> String {
    let (lat, lon) = near(shop, 0.0, 0.0);
    let mut csv = String::from("警情编号,报警时间,警情类别,纬度,经度,地址\n");
    for n in 0..20 {
        csv.push_str(&format!(
            "R-{n},2025-06-{:02} 10:00:00,theft,{lat},{lon},美食七街\n",
            1 + n
        ));
    }
    csv.push_str(&format!(
        "OLD-1,1966-05-02 03:10:00,burglary,{lat},{lon},\n"
    ));
    csv.push_str(&format!(
        "OLD-2,1966-05-02 03:40:00,burglary,{lat},{lon},\n"
    ));
    csv.push_str(&format!("OLD-3,1970-12-31 23:30:00,fraud,{lat},{lon},\n"));
    csv.push_str(&format!("BAD-1,1899-12-31 12:00:00,theft,{lat},{lon},\n"));
    csv.push_str(&format!("BAD-2,2025-06-03 10:00:00,0999,{lat},{lon},\n"));
    csv
}

async fn count(app: &TestApp, token: &str) -> usize {
    let (_, list) = app
        .get(Some(token), "/api/incidents?status=closed&limit=1000")
        .await;
    list.as_array()
        .unwrap()
        .iter()
        .filter(|i| i["source"] == "history")
        .count()
}

api_test! {
    async fn a_real_export_back_to_the_sixties_with_a_few_bad_rows(app) {
        let admin = app.login("admin").await;
        let analyst = app.login("analyst").await;
        let dispatcher = app.login("dispatcher").await;
        let shop = app.place(&dispatcher, "美食七街7号").await;
        let csv = export(&shop).into_bytes();
        let before = count(&app, &dispatcher).await;

        // All or nothing by default: both bad rows named, nothing imported.
        let (status, body) = app
            .upload(&admin, "/api/history/import", vec![("file", "export.csv", csv.clone())])
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert_eq!(body["code"], "invalid_history");
        assert_eq!(body["problem_count"], 2, "{body}");
        let rows: Vec<u64> = body["problems"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["row"].as_u64().unwrap())
            .collect();
        assert_eq!(rows, [25, 26], "the 1960s rows are not among them: {body}");
        assert_eq!(count(&app, &dispatcher).await, before, "nothing imported");

        // Skipping the invalid rows: the rest imported, the two reported.
        let (status, report) = app
            .upload(
                &admin,
                "/api/history/import?skip_invalid=true",
                vec![("file", "export.csv", csv.clone())],
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{report}");
        assert_eq!(report["rows"], 25, "{report}");
        assert_eq!(report["inserted"], 23, "{report}");
        assert_eq!(report["skipped"], 2, "{report}");
        let problems = report["skipped_problems"].as_array().unwrap();
        assert_eq!(problems[0]["row"], 25);
        assert_eq!(problems[0]["column"], "reported_at");
        assert!(problems[0]["message_zh"].as_str().unwrap().contains("1900"), "{report}");
        assert_eq!(problems[1]["column"], "category");
        // Again: the same rows already present, the same two skipped.
        let (status, again) = app
            .upload(
                &admin,
                "/api/history/import?skip_invalid=true",
                vec![("file", "export.csv", csv)],
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{again}");
        assert_eq!(again["inserted"], 0, "{again}");
        assert_eq!(again["already_present"], 23, "{again}");

        // The 1960s counted in the station's own hours and days: Monday
        // 2 May 1966, 03:xx in Shanghai (UTC+8).
        let period = format!(
            "from={}&until={}",
            enc("1966-05-02T00:00:00+08:00"),
            enc("1966-05-09T00:00:00+08:00")
        );
        let (status, hours) = app
            .get(Some(&analyst), &format!("/api/figures/breakdown?{period}&by=hour_weekday"))
            .await;
        assert_eq!(status, StatusCode::OK, "{hours}");
        let monday_3 = hours["rows"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["weekday"] == 1 && r["hour"] == 3)
            .map(|r| r["incidents"].as_i64().unwrap());
        assert_eq!(monday_3, Some(2), "{hours}");
        let (status, series) = app
            .get(Some(&analyst), &format!("/api/figures/series?{period}&interval=day"))
            .await;
        assert_eq!(status, StatusCode::OK, "{series}");
        let per_day: Vec<i64> = series["points"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["incidents"].as_i64().unwrap())
            .collect();
        assert_eq!(per_day, [2, 0, 0, 0, 0, 0, 0], "{series}");
        // New Year's Eve 1970, 23:30 local, is 1970's, not 1971's.
        let (status, year) = app
            .get(
                Some(&analyst),
                &format!(
                    "/api/figures/breakdown?from={}&until={}&by=category",
                    enc("1970-01-01T00:00:00+08:00"),
                    enc("1971-01-01T00:00:00+08:00")
                ),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{year}");
        let fraud = year["rows"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["key"] == "fraud")
            .map(|r| r["incidents"].as_i64().unwrap());
        assert_eq!(fraud, Some(1), "{year}");
        // The export records no dispositions: the on-scene rate has no data
        // (无数据), not 0%, while the counts are there.
        let (status, figures) = app
            .get(Some(&analyst), &format!("/api/figures/station?{period}"))
            .await;
        assert_eq!(status, StatusCode::OK, "{figures}");
        let figure = |key: &str| {
            figures["figures"]
                .as_array()
                .unwrap()
                .iter()
                .find(|f| f["key"] == key)
                .cloned()
                .unwrap_or_else(|| panic!("no {key}: {figures}"))
        };
        assert_eq!(figure("incidents")["value"], 2.0, "{figures}");
        assert_eq!(figure("on_scene_resolution_rate")["value"], Value::Null, "{figures}");
        // A period still running is compared like for like: up to now,
        // against the same days a year earlier.
        let now = precinct_storage::Clock::now(&*app.clock);
        let running = format!(
            "from={}&until={}",
            enc(&(now - chrono::Duration::days(3)).to_rfc3339()),
            enc(&(now + chrono::Duration::days(20)).to_rfc3339())
        );
        let (status, so_far) = app.get(Some(&analyst), &format!("/api/figures/station?{running}")).await;
        assert_eq!(status, StatusCode::OK, "{so_far}");
        let at = |key: &str| chrono::DateTime::parse_from_rfc3339(so_far[key].as_str().unwrap()).unwrap();
        assert!((at("until").timestamp() - now.timestamp()).abs() < 120, "{so_far}");
        let a_year = at("until").timestamp() - at("last_year_until").timestamp();
        assert!((365 * 86_400..=366 * 86_400).contains(&a_year), "{so_far}");
        // Before 1900 is not a period.
        let (status, refused) = app
            .get(
                Some(&analyst),
                &format!(
                    "/api/figures/station?from={}&until={}",
                    enc("1899-01-01T00:00:00+08:00"),
                    enc("1900-06-01T00:00:00+08:00")
                ),
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{refused}");
        assert_eq!(refused["code"], "invalid_period");
    }
}
