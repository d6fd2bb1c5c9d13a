//! Starting the real `precinct` binary for a test, as a user would.

use std::ffi::OsStr;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

/// A running `precinct` process.
pub struct Spawned {
    pub child: Child,
    /// e.g. http://127.0.0.1:41234
    pub base: String,
    /// What it printed before its address.
    pub printed: Vec<String>,
}

impl Drop for Spawned {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs `precinct ARGS` (with `--addr 127.0.0.1:0` among them) and waits
/// for the line that says where it listens. Its logs are kept quiet.
pub fn precinct<I, S>(args: I) -> Spawned
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let mut child = Command::new(env!("CARGO_BIN_EXE_precinct"))
        .args(args)
        .env("PRECINCT_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the precinct binary starts");
    let mut lines = BufReader::new(child.stdout.take().expect("piped")).lines();
    let mut printed = Vec::new();
    let base = loop {
        let line = lines
            .next()
            .expect("precinct prints where it listens")
            .expect("readable output");
        if let Some(address) = line.strip_prefix("listening on ") {
            break address.to_owned();
        }
        printed.push(line);
    };
    Spawned {
        child,
        base,
        printed,
    }
}
