//! Builds the web console (`web/`) with npm and Vite into `OUT_DIR`, then
//! writes the list of files for `lib.rs` to embed. Cargo reruns this only
//! when the web sources change, so a newcomer never thinks about it:
//! `cargo build` is the whole set-up (it runs `npm ci` the first time).
//!
//! `PRECINCT_WEB_DIST=DIR` embeds an already built `dist` folder instead
//! (for packagers who build the web part separately).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

const WATCHED: &[&str] = &[
    "src",
    "openapi.json",
    "tools/openapi-types/package.json",
    "tools/openapi-types/package-lock.json",
    "public",
    "index.html",
    "package.json",
    "package-lock.json",
    "tsconfig.json",
    "vite.config.ts",
];

fn main() {
    let manifest = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets it"));
    let web = manifest.join("../../web");
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets it"));
    println!("cargo:rerun-if-env-changed=PRECINCT_WEB_DIST");
    for name in WATCHED {
        println!("cargo:rerun-if-changed={}", web.join(name).display());
    }
    let dist = match std::env::var_os("PRECINCT_WEB_DIST") {
        Some(dir) => PathBuf::from(dir),
        None => {
            let dist = out.join("dist");
            build(&web, &dist);
            dist
        }
    };
    let mut files = Vec::new();
    collect(&dist, &dist, &mut files);
    files.sort();
    assert!(
        files.iter().any(|(name, _)| name == "index.html"),
        "the web build produced no index.html in {}",
        dist.display()
    );
    let compressed = out.join("gzip");
    std::fs::create_dir_all(&compressed).expect("creating the gzip folder");
    let mut code = String::from(
        "/// Every built file: (path relative to the site root, contents, gzip of them when worth it).\n",
    );
    code.push_str("pub static FILES: &[BuiltFile] = &[\n");
    for (k, (name, path)) in files.iter().enumerate() {
        let gzip = match gzip(path) {
            Some(bytes) => {
                let file = compressed.join(format!("{k}.gz"));
                std::fs::write(&file, bytes).expect("writing a gzip file");
                format!("Some(include_bytes!({:?}))", file.display().to_string())
            }
            None => "None".to_owned(),
        };
        writeln!(
            code,
            "    ({name:?}, include_bytes!({:?}), {gzip}),",
            path.display().to_string()
        )
        .expect("writing to a string");
    }
    code.push_str("];\n");
    std::fs::write(out.join("files.rs"), code).expect("writing files.rs");
}

fn build(web: &Path, dist: &Path) {
    let installed = web.join("node_modules/.package-lock.json");
    let lock = web.join("package-lock.json");
    if modified(&installed) < modified(&lock) {
        run(
            web,
            "npm",
            &["ci", "--no-audit", "--no-fund", "--loglevel=error"],
        );
    }
    // The API's types are generated from the OpenAPI document
    // (openapi-typescript, which needs TypeScript 5's compiler API: its own
    // install). The build fails when the committed file is not what the
    // document gives (`npm run types` in web/ regenerates it).
    let tools = web.join("tools/openapi-types");
    if modified(&tools.join("node_modules/.package-lock.json"))
        < modified(&tools.join("package-lock.json"))
    {
        run(
            &tools,
            "npm",
            &["ci", "--no-audit", "--no-fund", "--loglevel=error"],
        );
    }
    run(
        web,
        "node",
        &[
            "tools/openapi-types/node_modules/openapi-typescript/bin/cli.js",
            "openapi.json",
            "--output",
            "src/generated/api.ts",
            "--check",
        ],
    );
    let bin = web.join("node_modules/.bin");
    run(
        web,
        bin.join("tsc").to_str().expect("utf-8 path"),
        &["--noEmit", "-p", "."],
    );
    run(
        web,
        bin.join("vite").to_str().expect("utf-8 path"),
        &[
            "build",
            "--logLevel",
            "warn",
            "--emptyOutDir",
            "--outDir",
            dist.to_str().expect("utf-8 path"),
        ],
    );
}

/// The file gzipped at the best level, if it is text and that saves a tenth.
fn gzip(path: &Path) -> Option<Vec<u8>> {
    use std::io::Write as _;
    let text = ["html", "js", "mjs", "css", "svg", "json"];
    let extension = path.extension()?.to_str()?;
    if !text.contains(&extension) {
        return None;
    }
    let bytes = std::fs::read(path).expect("reading a built file");
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    encoder.write_all(&bytes).expect("gzip in memory");
    let gz = encoder.finish().expect("gzip in memory");
    (gz.len() * 10 < bytes.len() * 9).then_some(gz)
}

fn modified(path: &Path) -> Option<std::time::SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

fn run(dir: &Path, program: &str, args: &[&str]) {
    let status = Command::new(program)
        .args(args)
        .current_dir(dir)
        .status()
        .unwrap_or_else(|error| {
            panic!(
                "could not run {program} in {}: {error}. The console needs Node.js 20+ and npm \
                 on PATH (or PRECINCT_WEB_DIST pointing at a built web/dist).",
                dir.display()
            )
        });
    assert!(
        status.success(),
        "{program} {args:?} failed in {}",
        dir.display()
    );
}

fn collect(root: &Path, dir: &Path, files: &mut Vec<(String, PathBuf)>) {
    let entries =
        std::fs::read_dir(dir).unwrap_or_else(|error| panic!("reading {}: {error}", dir.display()));
    for entry in entries {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            collect(root, &path, files);
        } else {
            let name = path
                .strip_prefix(root)
                .expect("under the root")
                .to_str()
                .expect("utf-8 file names")
                .replace('\\', "/");
            files.push((name, path));
        }
    }
}
