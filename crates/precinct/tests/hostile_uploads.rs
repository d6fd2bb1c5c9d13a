//! Hostile spreadsheets do not take the station down (issue 23). A test
//! binary of its own, so the memory it reads (`/proc/self/status`) is this
//! server's alone.
//!
//! Each of these killed the server or took gigabytes before: one cell at
//! `XFD1048576` (calamine allocated the declared range, 550 GB), a gigabyte
//! of shared strings in a few kilobytes, two million rows. Each now gets
//! 422 naming the file, through validation and history import alike, and
//! the server's memory hardly moves.

#[path = "support/memory.rs"]
mod memory;

use memory::{Peak, demo_server, resident_bytes};
use serde_json::{Value, json};
use std::io::{Read, Write};
use std::time::Instant;

const PASSWORD: &str = "hostile-test-password";

/// A real workbook (written by rust_xlsxwriter) with its parts replaced:
/// `replace` gives a part's new content by name, written in pieces (so a
/// gigabyte never sits in this test's memory either).
fn workbook_with(
    header: &[&str],
    stray: Option<(u32, u16)>,
    replace: &dyn Fn(&str, &mut dyn Write) -> Option<()>,
) -> Vec<u8> {
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    for (column, name) in header.iter().enumerate() {
        sheet.write(0, column as u16, *name).unwrap();
    }
    if let Some((row, column)) = stray {
        sheet.write(row, column, "stray").unwrap();
    }
    let original = book.save_to_buffer().unwrap();
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(original)).unwrap();
    let mut out = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .large_file(true);
    for index in 0..archive.len() {
        let mut part = archive.by_index(index).unwrap();
        let name = part.name().unwrap().into_owned();
        out.start_file(name.as_str(), options).unwrap();
        if replace(&name, &mut out).is_none() {
            let mut content = Vec::new();
            part.read_to_end(&mut content).unwrap();
            out.write_all(&content).unwrap();
        }
    }
    out.finish().unwrap().into_inner()
}

/// One cell far away: the sheet declares A1:XFD1048576.
fn sparse_cell(header: &[&str]) -> Vec<u8> {
    workbook_with(header, Some((1_048_575, 16_383)), &|_, _| None)
}

/// 256 MiB of shared strings, deflated to well under a megabyte.
fn shared_strings_bomb(header: &[&str]) -> Vec<u8> {
    workbook_with(header, None, &|name, out| {
        (name == "xl/sharedStrings.xml").then(|| {
            let piece = "<si><t>AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA</t></si>".repeat(1024);
            out.write_all(b"<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?><sst xmlns=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\">").unwrap();
            for _ in 0..(256 * 1024 * 1024 / piece.len()) {
                out.write_all(piece.as_bytes()).unwrap();
            }
            out.write_all(b"</sst>").unwrap();
        })
    })
}

/// Two million rows of one inline string each.
fn two_million_rows(header: &[&str]) -> Vec<u8> {
    workbook_with(header, None, &|name, out| {
        (name == "xl/worksheets/sheet1.xml").then(|| {
            out.write_all(b"<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?><worksheet xmlns=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\"><sheetData>").unwrap();
            let mut rows = String::new();
            for row in 1..=2_000_000u32 {
                rows.push_str(&format!(
                    "<row r=\"{row}\"><c r=\"A{row}\" t=\"inlineStr\"><is><t>x</t></is></c></row>"
                ));
                if rows.len() > 1 << 20 {
                    out.write_all(rows.as_bytes()).unwrap();
                    rows.clear();
                }
            }
            out.write_all(rows.as_bytes()).unwrap();
            out.write_all(b"</sheetData></worksheet>").unwrap();
        })
    })
}

/// Uploads `bytes` as the file `name` in the form field `field`; the status
/// and body of the answer, and how long it took (printed).
async fn send(
    client: &reqwest::Client,
    base: &str,
    token: &str,
    path: &str,
    field: &'static str,
    name: &'static str,
    bytes: &[u8],
) -> (reqwest::StatusCode, Value) {
    let started = Instant::now();
    let form = reqwest::multipart::Form::new().part(
        field,
        reqwest::multipart::Part::bytes(bytes.to_vec()).file_name(name),
    );
    let response = client
        .post(format!("{base}{path}"))
        .bearer_auth(token)
        .multipart(form)
        .send()
        .await
        .unwrap();
    let status = response.status();
    let body: Value = response.json().await.unwrap();
    eprintln!("{path} answered in {:?}", started.elapsed());
    (status, body)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_spreadsheets_get_422_and_memory_stays_bounded() {
    let Some(start) = resident_bytes() else {
        eprintln!("skipped: no /proc/self/status on this system");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (store, base) = demo_server(dir.path(), PASSWORD).await;
    let client = reqwest::Client::new();
    let login: Value = client
        .post(format!("{base}/api/auth/login"))
        .json(&json!({ "username": "admin", "password": PASSWORD }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = login["token"].as_str().unwrap().to_owned();
    let units = || async {
        client
            .get(format!("{base}/api/units"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .json::<Value>()
            .await
            .unwrap()
    };
    let units_before = units().await;

    // The hostile files, made before memory is measured.
    let people_header = ["username", "name", "role"];
    let history_header = ["external_id", "reported_at", "category", "lat", "lon"];
    let cases: Vec<(&str, Vec<u8>, Vec<u8>)> = vec![
        (
            "a cell at XFD1048576",
            sparse_cell(&people_header),
            sparse_cell(&history_header),
        ),
        (
            "256 MiB of shared strings",
            shared_strings_bomb(&people_header),
            shared_strings_bomb(&history_header),
        ),
        (
            "two million rows",
            two_million_rows(&people_header),
            two_million_rows(&history_header),
        ),
    ];
    let template = precinct_station::template().unwrap();
    let before = resident_bytes().unwrap().max(start);
    let peak = Peak::start(before);

    for (what, people, history) in &cases {
        let mut files = template.clone();
        files.insert("people.xlsx", people.clone());
        let zip = files.to_zip().unwrap();
        for path in ["/api/station/validate", "/api/station/import"] {
            let (status, body) =
                send(&client, &base, &token, path, "package", "station.zip", &zip).await;
            eprintln!("{what} in a package, {path}: {status}");
            assert_eq!(
                status,
                reqwest::StatusCode::UNPROCESSABLE_ENTITY,
                "{what}: {body}"
            );
            assert_eq!(body["code"], "invalid_station_package", "{what}: {body}");
            assert_eq!(body["problems"][0]["file"], "people.xlsx", "{what}: {body}");
            assert!(!body["message_zh"].as_str().unwrap().is_empty());
        }
        let (status, body) = send(
            &client,
            &base,
            &token,
            "/api/history/import",
            "file",
            "history.xlsx",
            history,
        )
        .await;
        eprintln!("{what} as history: {status}");
        assert_eq!(
            status,
            reqwest::StatusCode::UNPROCESSABLE_ENTITY,
            "{what}: {body}"
        );
        assert_eq!(body["code"], "invalid_history", "{what}: {body}");
        assert_eq!(
            body["problems"][0]["file"], "history.xlsx",
            "{what}: {body}"
        );
    }
    let peak = peak.stop();

    // Nothing changed, and the server still answers.
    assert_eq!(units_before, units().await, "nothing was applied");
    let grown = peak.saturating_sub(before);
    eprintln!(
        "hostile spreadsheets: memory grew by {} MB at its peak",
        grown / (1024 * 1024)
    );
    assert!(
        grown < 200 * 1024 * 1024,
        "the hostile sheets grew memory by {} MB (at most 200)",
        grown / (1024 * 1024)
    );
    store.shutdown().await;
}
