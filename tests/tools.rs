//! External tools the tests drive (rebar3, erl, nats-server): whether one
//! is there, and running one in a folder. Shared by the test binary and the
//! `nats_consume` benchmark.

use std::path::Path;
use std::process::{Command, Stdio};

/// Whether `tool` runs (`tool probe…` exits 0); under `CI=true` its absence
/// is a failure, elsewhere the caller skips, and this says so.
pub fn have(tool: &str, probe: &[&str]) -> bool {
    let found = Command::new(tool)
        .args(probe)
        .stdin(Stdio::null())
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "{tool} is not installed, and CI=true: install it (see .ci/run)"
        );
        eprintln!("SKIPPED: {tool} is not installed; this test did not run");
    }
    found
}

/// Runs `program args…` in `dir`; returns its stdout and stderr, and fails
/// with them when it does not exit 0.
#[track_caller]
pub fn run(dir: &Path, program: &str, args: &[&str]) -> String {
    let output = Command::new(program)
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("{program} does not run: {e}"));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        output.status.success(),
        "{program} {args:?} failed in {}:\n{text}",
        dir.display()
    );
    text
}
