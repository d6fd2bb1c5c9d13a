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

#[test]
fn story_two_through_the_console_and_the_field_view() {
    let Some(chromium) = chromium() else {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must run the browser tests: install Debian's chromium (see .ci/run)"
        );
        eprintln!("SKIPPED: no Chromium (apt-get install chromium, or set PRECINCT_CHROMIUM)");
        return;
    };
    let web = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../web");
    let out = std::env::var_os("PRECINCT_E2E_OUT")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("e2e"));
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
    let run = Command::new("node")
        .arg("e2e/console.e2e.mjs")
        .current_dir(&web)
        .env("PRECINCT_URL", &base)
        .env("PRECINCT_PASSWORD", PASSWORD)
        .env("PRECINCT_E2E_OUT", &out)
        .env("PRECINCT_CHROMIUM", &chromium)
        .env("PRECINCT_EXPECT_BASEMAP", "1")
        .output();
    drop(server);
    let run = run.expect("node runs (Node.js is needed to build the console anyway)");
    let stdout = String::from_utf8_lossy(&run.stdout);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(
        run.status.success(),
        "the browser test failed; screenshots in {}\n{stdout}\n{stderr}",
        out.display()
    );
    let figures = std::fs::read_to_string(out.join("figures.json")).expect("figures written");
    let figures: serde_json::Value = serde_json::from_str(&figures).unwrap();
    assert_eq!(figures["clicks_to_dispatch"], 2, "{figures}");
    assert_eq!(figures["foreign_requests"], 0, "{figures}");
    for shot in [
        "console-plan.png",
        "field-volunteer.png",
        "field-officer.png",
    ] {
        assert!(out.join(shot).exists(), "{shot} saved");
    }
    eprintln!(
        "browser figures: {figures} (screenshots in {})",
        out.display()
    );
}
