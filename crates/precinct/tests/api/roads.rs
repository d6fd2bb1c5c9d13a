//! `precinct import-roads`: a real extract loads with progress; a bad file
//! is refused with where the problem is, and changes nothing.

use std::process::Command;

fn monaco() -> std::path::PathBuf {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/monaco.osm.pbf");
    assert!(
        path.exists(),
        "the Monaco extract is missing at {}; it ships in testdata/",
        path.display()
    );
    path
}

fn import(file: &std::path::Path, database: &str) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_precinct"))
        .arg("import-roads")
        .arg(file)
        .args(["--database", database])
        .env("PRECINCT_LOG", "warn")
        .output()
        .unwrap()
}

#[tokio::test]
async fn monaco_imports_with_progress_and_a_bad_file_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let database = format!("sqlite://{}", dir.path().join("roads.db").display());
    let output = import(&monaco(), &database);
    let (stdout, stderr) = (
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr),
    );
    assert!(output.status.success(), "{stderr}");
    assert!(stderr.contains("blob 1:"), "progress is shown: {stderr}");
    assert!(stdout.contains("drivable nodes"), "{stdout}");

    let store = precinct::open_store(
        &precinct::DatabaseUrl::parse(&database).unwrap(),
        std::sync::Arc::new(precinct_storage::SystemClock),
    )
    .await
    .unwrap();
    let before = store.roads().await.unwrap();
    // Streets keep their names (the map's labels, address search).
    let names: std::collections::BTreeSet<&str> =
        before.iter().filter_map(|w| w.name.as_deref()).collect();
    for street in [
        "Boulevard Albert 1er",
        "Avenue de la Costa",
        "Boulevard Princesse Charlotte",
    ] {
        assert!(names.contains(street), "{street} is named: {names:?}");
    }
    assert!(
        before.len() > 1000,
        "Monaco has thousands of road ways: {}",
        before.len()
    );

    let garbage = dir.path().join("not-a-map.osm.pbf");
    std::fs::write(&garbage, b"\x00\x00\x00\x08definitely not a blob header").unwrap();
    let output = import(&garbage, &database);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(
        stderr.contains("not an OSM PBF file: blob 0 at byte"),
        "{stderr}"
    );
    assert!(
        stderr.contains("not-a-map.osm.pbf"),
        "the file is named: {stderr}"
    );
    assert_eq!(
        store.roads().await.unwrap(),
        before,
        "a failed import changes nothing"
    );
    store.shutdown().await;
}

#[tokio::test]
async fn a_bad_plans_file_stops_the_server_naming_the_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let plans = dir.path().join("plans.toml");
    let serve = |text: &str| {
        std::fs::write(&plans, text).unwrap();
        let output = Command::new(env!("CARGO_BIN_EXE_precinct"))
            .args(["serve", "--addr", "127.0.0.1:0", "--plans"])
            .arg(&plans)
            .arg("--database")
            .arg(format!("sqlite://{}", dir.path().join("p.db").display()))
            .env("PRECINCT_LOG", "warn")
            .output()
            .unwrap();
        assert!(!output.status.success(), "the server refuses to start");
        String::from_utf8_lossy(&output.stderr).into_owned()
    };
    let catch_all = "\n[[plan]]\nname = \"rest\"\n[[plan.force]]\nrole = \"police\"\n";
    // A category the station's code table does not have.
    let stderr = serve(&format!(
        "[[plan]]\nname = \"x\"\ncategories = [\"alien_invasion\"]\n[[plan.force]]\nrole = \"police\"\n{catch_all}"
    ));
    assert!(
        stderr.contains("plans.toml")
            && stderr.contains("line 3")
            && stderr.contains("alien_invasion"),
        "{stderr}"
    );
    // A file that is not TOML, and one whose last plan does not cover every code.
    let stderr = serve("[[plan]]\nname = \"x\"\npriority = 1\n[[plan.force]]\nrole = \"police\"\n");
    assert!(
        stderr.contains("plans.toml") && stderr.contains("line 3"),
        "{stderr}"
    );
    let stderr = serve(
        "[[plan]]\nname = \"thefts\"\ncategories = [\"theft\"]\n[[plan.force]]\nrole = \"police\"\n",
    );
    assert!(
        stderr.contains("the last plan must cover every category"),
        "{stderr}"
    );
}
