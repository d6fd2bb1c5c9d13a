//! The web console and field view, embedded: the files Vite built from
//! `web/`, served by `precinct-api` from the binary itself (no CDN, no
//! internet: police intranets are closed).
//!
//! Invariant: every file the pages load is in [`FILES`]; the pages make no
//! request to any other host.

/// A built file: path relative to the site root, contents, and the contents
/// gzipped when that is worth it.
pub type BuiltFile = (&'static str, &'static [u8], Option<&'static [u8]>);

include!(concat!(env!("OUT_DIR"), "/files.rs"));

/// A built file and how to serve it.
#[derive(Debug, Clone, Copy)]
pub struct Asset {
    pub bytes: &'static [u8],
    /// The same bytes gzipped (built ahead), for clients that accept it.
    pub gzip: Option<&'static [u8]>,
    pub content_type: &'static str,
    /// Content-hashed by Vite (under `assets/`): cacheable forever.
    pub immutable: bool,
}

/// The file at `path` (relative to the site root, no leading slash).
pub fn asset(path: &str) -> Option<Asset> {
    let path = path.trim_start_matches('/');
    FILES
        .iter()
        .find(|(name, _, _)| *name == path)
        .map(|(name, bytes, gzip)| Asset {
            bytes,
            gzip: *gzip,
            content_type: content_type(name),
            immutable: name.starts_with("assets/"),
        })
}

/// The single page (console and field view route inside it).
pub fn index() -> Asset {
    asset("index.html").expect("the build checks index.html exists")
}

fn content_type(name: &str) -> &'static str {
    match name.rsplit('.').next().unwrap_or("") {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "json" => "application/json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "woff2" => "font/woff2",
        "pbf" => "application/x-protobuf",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_and_its_scripts_are_embedded() {
        let index = std::str::from_utf8(index().bytes).unwrap();
        assert!(index.contains("<div id=\"app\">"), "{index}");
        let scripts: Vec<_> = FILES
            .iter()
            .filter(|(name, _, _)| name.ends_with(".js"))
            .collect();
        assert!(!scripts.is_empty());
        for (name, bytes, gzip) in scripts {
            let gzip = gzip.expect("scripts are served gzipped");
            assert!(gzip.len() < bytes.len() / 2, "{name}");
            assert_eq!(&gzip[..2], &[0x1f, 0x8b], "a gzip stream");
            assert!(
                index.contains(name) || name.starts_with("assets/"),
                "{name}"
            );
            assert_eq!(
                asset(name).unwrap().content_type,
                "text/javascript; charset=utf-8"
            );
            assert!(asset(name).unwrap().immutable);
        }
        assert!(asset("no/such/file.js").is_none());
    }

    #[test]
    fn nothing_built_loads_from_another_host() {
        // (The browser test checks every request the running pages make.)
        let remote = [
            "url(http",
            "url(\"http",
            "url('http",
            "url(//",
            "src=\"http",
            "src=\"//",
            "href=\"http",
            "href=\"//",
            "@import",
        ];
        for (name, bytes, _) in FILES {
            if name.ends_with(".html") || name.ends_with(".css") {
                let text = std::str::from_utf8(bytes).unwrap();
                for pattern in remote {
                    assert!(!text.contains(pattern), "{name} contains {pattern}");
                }
            }
        }
    }
}
