//! Issue 25, item 1: one clock. A station whose package says
//! `time_zone = "America/Toronto"` is run in Toronto time everywhere: the
//! console's configuration and the ground agree, history's local times are
//! read in it, and hour × weekday, day series and period edges follow it,
//! with no `--time-zone` given.

use crate::common::*;
use reqwest::StatusCode;
use serde_json::Value;

/// The station's package with its `station.toml` naming `zone`.
async fn import_with_zone(app: &TestApp, admin: &str, zone: &str) {
    let mut files = app.export_package(admin).await;
    let manifest = String::from_utf8(files.get("station.toml").unwrap().to_vec()).unwrap();
    let manifest: String = manifest
        .lines()
        .map(|line| {
            if line.trim_start().starts_with("time_zone") {
                format!("time_zone = \"{zone}\"")
            } else {
                line.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    let manifest = if manifest.contains("time_zone") {
        manifest
    } else {
        format!("{manifest}\ntime_zone = \"{zone}\"")
    };
    files.insert("station.toml", manifest.into_bytes());
    let zip = files.to_zip().unwrap();
    let (status, body) = app
        .upload(
            admin,
            "/api/station/import",
            vec![("package", "station.zip", zip)],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

async fn import_history(app: &TestApp, admin: &str, csv: String) -> Value {
    let (status, body) = app
        .upload(
            admin,
            "/api/history/import",
            vec![("file", "history.csv", csv.into_bytes())],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

fn enc(text: &str) -> String {
    text.replace('+', "%2B").replace(':', "%3A")
}

api_test! {
    async fn a_toronto_station_runs_on_toronto_time(app) {
        let admin = app.login("admin").await;
        let analyst = app.login("analyst").await;
        let dispatcher = app.login("dispatcher").await;
        import_with_zone(&app, &admin, "America/Toronto").await;

        // The console and the ground say the same zone.
        let (_, config) = app.get(Some(&dispatcher), "/api/console/config").await;
        assert_eq!(config["time_zone"], "America/Toronto", "{config}");
        let (_, ground) = app.get(Some(&dispatcher), "/api/jurisdiction").await;
        assert_eq!(ground["time_zone"], "America/Toronto");

        // History at known local hours (January: EST, UTC−5): five on
        // Monday 2026-01-05 at 03:xx, three on Wednesday 2026-01-07 at 22:xx,
        // one on Sunday 2026-01-11 at 23:30 (Monday 04:30 UTC).
        let shop = app.place(&dispatcher, "美食七街7号").await;
        let (lat, lon) = near(&shop, 0.0, 0.0);
        let mut csv = String::from("警情编号,报警时间,警情类别,纬度,经度\n");
        let mut n = 0;
        let mut row = |at: &str| {
            n += 1;
            csv.push_str(&format!("TZ-{n},{at},theft,{lat},{lon}\n"));
        };
        for minute in 0..5 {
            row(&format!("2026-01-05 03:{:02}:00", minute * 10));
        }
        for minute in 0..3 {
            row(&format!("2026-01-07 22:{:02}:00", minute * 10));
        }
        row("2026-01-11 23:30:00");
        let report = import_history(&app, &admin, csv).await;
        assert_eq!(report["inserted"], 9, "{report}");

        // The week of 5–11 January, Toronto midnights.
        let period = format!(
            "from={}&until={}",
            enc("2026-01-05T00:00:00-05:00"),
            enc("2026-01-12T00:00:00-05:00")
        );
        let (status, hours) = app
            .get(Some(&analyst), &format!("/api/figures/breakdown?{period}&by=hour_weekday"))
            .await;
        assert_eq!(status, StatusCode::OK, "{hours}");
        let count = |weekday: u64, hour: u64| {
            hours["rows"]
                .as_array()
                .unwrap()
                .iter()
                .find(|r| r["weekday"] == weekday && r["hour"] == hour)
                .map(|r| r["incidents"].as_i64().unwrap())
                .unwrap()
        };
        assert_eq!(count(1, 3), 5, "Monday 03:00 Toronto");
        assert_eq!(count(3, 22), 3, "Wednesday 22:00 Toronto");
        assert_eq!(count(7, 23), 1, "Sunday 23:00 Toronto (Monday in UTC)");
        assert_eq!(count(1, 8), 0, "not Monday 08:00 (UTC)");

        // Day series: each day starts at a Toronto midnight and holds that
        // local day's incidents; the Sunday night one is Sunday's.
        let (status, series) = app
            .get(Some(&analyst), &format!("/api/figures/series?{period}&interval=day"))
            .await;
        assert_eq!(status, StatusCode::OK, "{series}");
        let points = series["points"].as_array().unwrap();
        assert_eq!(points.len(), 7, "{series}");
        assert_eq!(points[0]["start"], "2026-01-05T05:00:00Z");
        let per_day: Vec<i64> = points.iter().map(|p| p["incidents"].as_i64().unwrap()).collect();
        assert_eq!(per_day, [5, 0, 3, 0, 0, 0, 1]);

        // The figures' default periods and last year's are Toronto-edged.
        let (status, figures) = app.get(Some(&analyst), &format!("/api/figures/station?{period}")).await;
        assert_eq!(status, StatusCode::OK, "{figures}");
        assert_eq!(figures["last_year_from"], "2025-01-05T05:00:00Z", "{figures}");
    }
}
