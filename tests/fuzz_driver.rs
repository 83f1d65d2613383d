//! The fuzz driver reports what it must: stand-in front ends that panic,
//! abort or never return (switched on by `GGEN_FUZZ_SELFTEST=1`) are
//! classified as crash, crash and hang, saved with a reproduction command,
//! and fail the run; a clean slice passes. A harness that cannot report a
//! crash would pass every time.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn fuzz(findings: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ggen-fuzz"))
        .env("GGEN_FUZZ_SELFTEST", "1")
        .arg("--findings")
        .arg(findings)
        .args(args)
        .output()
        .expect("run ggen-fuzz")
}

fn saved(findings: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(findings)
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    files.sort();
    files
}

fn assert_reported(kind: &str, outcome: &str, extra: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    let findings = dir.path().join("findings");
    let mut args = vec!["--kind", kind, "--inputs", "2", "--seed", "5"];
    args.extend_from_slice(extra);
    let out = fuzz(&findings, &args);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{kind} must fail the run:\n{stdout}"
    );
    assert!(
        stdout
            .lines()
            .any(|l| l.trim_start().starts_with(kind) && l.contains(" 2 inputs")),
        "{stdout}"
    );
    assert!(stdout.contains(&format!("{outcome} 2")), "{kind}: {stdout}");
    let files = saved(&findings);
    let names: Vec<String> = files
        .iter()
        .map(|f| f.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    let prefix = format!("{outcome}-{kind}-seed5-");
    assert_eq!(
        names,
        [0, 1]
            .iter()
            .flat_map(|i| [format!("{prefix}{i}.input"), format!("{prefix}{i}.txt")])
            .collect::<Vec<_>>()
    );
    let note = std::fs::read_to_string(&files[1]).unwrap();
    assert!(
        note.contains(&format!(
            "reproduce: cargo run --quiet --bin ggen-fuzz -- --run {kind} "
        )),
        "{note}"
    );
}

#[test]
fn a_panicking_front_end_is_a_crash() {
    assert_reported("selftest-panic", "crash", &[]);
}

#[test]
fn an_aborting_front_end_is_a_crash() {
    assert_reported("selftest-abort", "crash", &[]);
}

#[test]
fn a_front_end_that_never_returns_is_a_hang() {
    assert_reported("selftest-hang", "hang", &["--deadline", "1"]);
}

#[test]
fn the_stand_ins_need_the_switch() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_ggen-fuzz"))
        .env_remove("GGEN_FUZZ_SELFTEST")
        .args(["--kind", "selftest-panic", "--inputs", "1"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown kind `selftest-panic`"));
}

#[test]
fn a_short_slice_of_every_kind_runs_clean() {
    let dir = tempfile::tempdir().unwrap();
    let findings = dir.path().join("findings");
    let out = fuzz(&findings, &["--inputs", "10", "--seed", "3"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    for kind in ["turtle", "manifest", "query", "template"] {
        assert!(
            stdout
                .lines()
                .any(|l| l.trim_start().starts_with(kind) && l.contains(" 10 inputs")),
            "{kind} not tried 10 times:\n{stdout}"
        );
    }
}

/// How long a reproducer may run before the test calls it a hang.
const HANG_SECONDS: u64 = 300;

/// Every saved finding of tests/fuzz/known/ (stack overflows the fuzzer
/// found before the depth limits of `[limits]`, queries that hung before
/// `query_seconds`) now ends as a clean error.
#[test]
fn known_reproducers_end_cleanly() {
    let known = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz/known");
    let files: Vec<PathBuf> = saved(&known)
        .into_iter()
        .filter(|f| f.extension().is_some_and(|e| e == "rq" || e == "ttl"))
        .collect();
    assert!(
        !files.is_empty(),
        "no reproducers under {}",
        known.display()
    );
    for file in files {
        let kind = match file.extension().unwrap().to_str() {
            Some("rq") => "query",
            _ => "turtle",
        };
        // A reproducer that hangs again must fail the test, not hang it.
        let scratch = tempfile::tempdir().unwrap();
        let stderr_path = scratch.path().join("stderr");
        let mut child = Command::new(env!("CARGO_BIN_EXE_ggen-fuzz"))
            .args(["--run", kind])
            .arg(&file)
            .stdout(std::process::Stdio::null())
            .stderr(std::fs::File::create(&stderr_path).unwrap())
            .spawn()
            .unwrap();
        let started = std::time::Instant::now();
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status;
            }
            if started.elapsed() > std::time::Duration::from_secs(HANG_SECONDS) {
                let _ = child.kill();
                panic!("{}: still running after {HANG_SECONDS} s", file.display());
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        };
        let stderr = std::fs::read_to_string(&stderr_path).unwrap_or_default();
        let clean = matches!(status.code(), Some(2..=7)) && !stderr.trim().is_empty();
        assert!(clean, "{}: {status:?}\n{stderr}", file.display());
    }
}
