//! The console and the field view in a real headless Chromium: story 2 end to
//! end, the language switch, the login failure, a dropped and restored event
//! stream, and no request to any other host. The browser part is
//! `web/e2e/console.e2e.mjs` (playwright-core); this test starts a real demo
//! server for it and checks that it passed.
//!
//! Needs Debian's `chromium` (`.ci/run` installs it). Without it the test
//! says so and passes, except under CI (`CI` set), where it fails.

use std::path::PathBuf;
use std::process::Command;

#[path = "support/pmtiles.rs"]
mod pmtiles;
#[path = "support/spawn.rs"]
mod spawn;
use pmtiles::write_raster_pmtiles;

const PASSWORD: &str = "browser-e2e-pass";

fn chromium() -> Option<PathBuf> {
    let candidates = [
        std::env::var_os("PRECINCT_CHROMIUM").map(PathBuf::from),
        Some(PathBuf::from("/usr/bin/chromium")),
        Some(PathBuf::from("/usr/bin/chromium-browser")),
    ];
    candidates.into_iter().flatten().find(|p| p.exists())
}

/// What a browser test needs: Debian's Chromium, the web sources (with
/// the e2e scripts), and where screenshots go.
struct Browser {
    chromium: PathBuf,
    web: PathBuf,
    out: PathBuf,
}

/// None (the test says it skipped) without Chromium, except under CI.
fn browser() -> Option<Browser> {
    let Some(chromium) = chromium() else {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must run the browser tests: install Debian's chromium (see .ci/run)"
        );
        eprintln!("SKIPPED: no Chromium (apt-get install chromium, or set PRECINCT_CHROMIUM)");
        return None;
    };
    Some(Browser {
        chromium,
        web: PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../web"),
        out: std::env::var_os("PRECINCT_E2E_OUT")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("e2e")),
    })
}

impl Browser {
    /// Runs `web/e2e/SCRIPT` against the server at `base` (with `env` on
    /// top of the common settings) and fails the test unless it passes.
    /// Returns what it printed.
    fn run(&self, script: &str, base: &str, env: &[(&str, &std::ffi::OsStr)]) -> String {
        let mut command = Command::new("node");
        command
            .arg(format!("e2e/{script}"))
            .current_dir(&self.web)
            .env("PRECINCT_URL", base)
            .env("PRECINCT_PASSWORD", PASSWORD)
            .env("PRECINCT_E2E_OUT", &self.out)
            .env("PRECINCT_CHROMIUM", &self.chromium);
        for (name, value) in env {
            command.env(name, value);
        }
        let run = command
            .output()
            .expect("node runs (Node.js is needed to build the console anyway)");
        let stdout = String::from_utf8_lossy(&run.stdout).into_owned();
        assert!(
            run.status.success(),
            "{script} failed; screenshots in {}\n{stdout}\n{}",
            self.out.display(),
            String::from_utf8_lossy(&run.stderr)
        );
        stdout
    }
}

#[test]
fn story_two_through_the_console_and_the_field_view() {
    let Some(browser) = browser() else {
        return;
    };
    let data = tempfile::tempdir().unwrap();
    let basemap = data.path().join("city.pmtiles");
    write_raster_pmtiles(&basemap);
    let mut args: Vec<std::ffi::OsString> = [
        "demo",
        "--addr",
        "127.0.0.1:0",
        "--no-simulator",
        // The station's clock runs 20 times faster than real time, so the
        // queue's time targets (60 s to dispatch) are missed within seconds.
        "--speed",
        "20",
        "--demo-password",
        PASSWORD,
        "--basemap",
    ]
    .map(Into::into)
    .to_vec();
    args.push(basemap.into());
    args.push("--data-dir".into());
    args.push(data.path().into());
    let server = spawn::precinct(args);
    let base = server.base.clone();
    for account in ["dispatcher", "cc110", "volunteer", "officer", "mediator"] {
        assert!(
            server
                .printed
                .iter()
                .any(|l| l.trim_start().starts_with(account)),
            "the demo has a {account} account: {:?}",
            server.printed
        );
    }
    browser.run(
        "console.e2e.mjs",
        &base,
        &[("PRECINCT_EXPECT_BASEMAP", "1".as_ref())],
    );
    drop(server);
    let figures =
        std::fs::read_to_string(browser.out.join("figures.json")).expect("figures written");
    let figures: serde_json::Value = serde_json::from_str(&figures).unwrap();
    assert_eq!(figures["clicks_to_dispatch"], 2, "{figures}");
    assert_eq!(figures["foreign_requests"], 0, "{figures}");
    for shot in [
        "console-plan.png",
        "field-volunteer.png",
        "field-officer.png",
    ] {
        assert!(browser.out.join(shot).exists(), "{shot} saved");
    }
    eprintln!(
        "browser figures: {figures} (screenshots in {})",
        browser.out.display()
    );
}

/// A demo without its simulator, its accounts' password [`PASSWORD`], its
/// data in `data`, and `extra` flags.
fn quiet_demo(data: &std::path::Path, extra: &[&str]) -> spawn::Spawned {
    let mut args: Vec<std::ffi::OsString> = [
        "demo",
        "--addr",
        "127.0.0.1:0",
        "--no-simulator",
        "--demo-password",
        PASSWORD,
    ]
    .into_iter()
    .chain(extra.iter().copied())
    .map(Into::into)
    .collect();
    args.push("--data-dir".into());
    args.push(data.into());
    spawn::precinct(args)
}

/// The administrator's station pages: a package with two errors is shown
/// with its rows, the fixed one imported, its new units seen on the map.
#[test]
fn the_admin_sets_the_station_up_from_a_package() {
    let Some(browser) = browser() else {
        return;
    };
    let data = tempfile::tempdir().unwrap();
    let server = quiet_demo(data.path(), &[]);
    // The demo's own district, as the package it imported, plus a roster of
    // two new patrol cars and an account for one of them.
    let package = data.path().join("station-package");
    let with_new_units = |units: &str| {
        let mut files = precinct_station::PackageFiles::open(&package).unwrap();
        files.insert("units-new.csv", units.as_bytes().to_vec());
        assert!(
            files.get("people.xlsx").is_some(),
            "the demo's package has its people"
        );
        files.insert(
            "people-new.csv",
            "username,name,role,unit\nxin.xun,新巡逻员,officer,新巡1\n"
                .as_bytes()
                .to_vec(),
        );
        // A note that is no part of the format: ignored, with a warning.
        files.insert("说明.txt", "新增两辆巡逻车".as_bytes().to_vec());
        files.to_zip().unwrap()
    };
    let broken = data.path().join("broken.zip");
    let fixed = data.path().join("fixed.zip");
    std::fs::write(
        &broken,
        with_new_units(
            "呼号,名称,类型,警务点\n新巡1,新巡逻车1,patrol_car,P-ZZ\n新巡2,新巡逻车2,tank,P-N\n",
        ),
    )
    .unwrap();
    std::fs::write(
        &fixed,
        with_new_units("呼号,名称,类型,警务点\n新巡1,新巡逻车1,patrol_car,P-N\n新巡2,新巡逻车2,patrol_car,P-S\n"),
    )
    .unwrap();
    browser.run(
        "admin.e2e.mjs",
        &server.base,
        &[
            ("PRECINCT_BROKEN", broken.as_os_str()),
            ("PRECINCT_FIXED", fixed.as_os_str()),
        ],
    );
    drop(server);
    assert!(browser.out.join("admin-ground.png").exists());
}

/// A station that requires a second factor of its command roles: a
/// dispatcher enrols in the console (QR code, code, recovery codes) and
/// logs in with a recovery code.
#[test]
fn a_dispatcher_enrols_a_second_factor_in_the_console() {
    let Some(browser) = browser() else {
        return;
    };
    let data = tempfile::tempdir().unwrap();
    let server = quiet_demo(data.path(), &["--second-factor", "required"]);
    browser.run("second-factor.e2e.mjs", &server.base, &[]);
    drop(server);
    assert!(browser.out.join("second-factor-enrol.png").exists());
}

/// The analyst's console over the demo's two years of history: figures
/// with 同比/环比, a change of period, the hotspot layer, the Excel export
/// (read back here: it holds the numbers the page showed) and the monthly
/// briefing (its text extracted here: it holds them too).
#[test]
fn the_analyst_reads_the_figures_exports_and_prints_them() {
    let Some(browser) = browser() else {
        return;
    };
    let data = tempfile::tempdir().unwrap();
    let server = quiet_demo(data.path(), &[]);
    browser.run("intel.e2e.mjs", &server.base, &[]);
    drop(server);
    let seen: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(browser.out.join("intel.json")).unwrap())
            .unwrap();
    assert_eq!(seen["foreign_requests"], 0, "{seen}");
    assert!(seen["hot_cells"].as_u64().unwrap() > 0, "{seen}");

    use calamine::{DataType, Reader};
    let mut book: calamine::Xlsx<_> =
        calamine::open_workbook(browser.out.join("figures.xlsx")).expect("the workbook opens");
    let names = book.sheet_names().to_vec();
    let figures = book.worksheet_range(&names[0]).unwrap();
    let value = |key: &str| {
        figures
            .rows()
            .find(|r| r[1] == key)
            .and_then(|r| r[2].get_float())
            .unwrap_or_else(|| panic!("no {key} in the workbook"))
    };
    assert_eq!(
        value("incidents"),
        seen["month_incidents"].as_f64().unwrap()
    );
    assert_eq!(value("theft"), seen["month_theft"].as_f64().unwrap());
    assert!(names.len() >= 7, "every table: {names:?}");

    let pdf = std::fs::read(browser.out.join("briefing.pdf")).unwrap();
    assert!(pdf.starts_with(b"%PDF-"));
    let text = Command::new("pdftotext")
        .arg(browser.out.join("briefing.pdf"))
        .arg("-")
        .output();
    match text {
        Ok(out) if out.status.success() => {
            let text = String::from_utf8(out.stdout).unwrap().replace('\n', "");
            let incidents = format!("警情总量:{} 起", seen["month_incidents"]);
            assert!(
                text.contains(&incidents),
                "the briefing says {incidents}: {text}"
            );
            assert!(
                text.contains("警情研判月报") && text.contains("矛盾纠纷"),
                "{text}"
            );
        }
        _ if std::env::var_os("CI").is_none() => {
            eprintln!("skipped the PDF text check: no pdftotext (apt-get install poppler-utils)");
        }
        other => panic!("CI needs pdftotext: {other:?}"),
    }
}

/// A new station (`serve` on an empty database with one administrator):
/// the console shows its administrator the first steps, in Chinese, and
/// opens the station pages from them.
#[test]
fn a_new_stations_admin_is_shown_the_first_steps() {
    let Some(browser) = browser() else {
        return;
    };
    let data = tempfile::tempdir().unwrap();
    let database = format!("sqlite://{}", data.path().join("new.db").display());
    let added = Command::new(env!("CARGO_BIN_EXE_precinct"))
        .args([
            "user",
            "add",
            "--database",
            &database,
            "--username",
            "admin",
            "--role",
            "admin",
        ])
        .env("PRECINCT_PASSWORD", PASSWORD)
        .env("PRECINCT_LOG", "warn")
        .output()
        .unwrap();
    assert!(
        added.status.success(),
        "{}",
        String::from_utf8_lossy(&added.stderr)
    );
    let server = spawn::precinct([
        "serve",
        "--database",
        &database,
        "--addr",
        "127.0.0.1:0",
        "--second-factor",
        "optional",
    ]);
    browser.run("first-run.e2e.mjs", &server.base, &[]);
    drop(server);
    assert!(browser.out.join("first-run.png").exists());
}

/// A station whose package names America/Toronto (imported with the CLI,
/// no `--time-zone`): the console shows Toronto times in a browser set to
/// Shanghai.
#[test]
fn a_toronto_station_shows_toronto_times() {
    let Some(browser) = browser() else {
        return;
    };
    let data = tempfile::tempdir().unwrap();
    let database = format!("sqlite://{}", data.path().join("toronto.db").display());
    let package = data.path().join("package");
    let run = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_precinct"))
            .args(args)
            .env("PRECINCT_PASSWORD", PASSWORD)
            .env("PRECINCT_LOG", "warn")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    run(&["station", "template", package.to_str().unwrap()]);
    let manifest = std::fs::read_to_string(package.join("station.toml")).unwrap();
    std::fs::write(
        package.join("station.toml"),
        manifest.replace("Asia/Shanghai", "America/Toronto"),
    )
    .unwrap();
    let passwords = data.path().join("passwords.csv");
    run(&[
        "station",
        "import",
        package.to_str().unwrap(),
        "--database",
        &database,
        "--passwords",
        passwords.to_str().unwrap(),
    ]);
    run(&[
        "user",
        "add",
        "--database",
        &database,
        "--username",
        "admin",
        "--role",
        "admin",
    ]);
    let server = spawn::precinct([
        "serve",
        "--database",
        &database,
        "--addr",
        "127.0.0.1:0",
        "--second-factor",
        "optional",
    ]);
    browser.run("time-zone.e2e.mjs", &server.base, &[]);
    drop(server);
}
