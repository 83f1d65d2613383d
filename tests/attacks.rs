//! Issue 11's runaway inputs under the default limits. Their golden cases
//! (tests/cases/limits_*) set a small `[limits]` value so that the golden
//! run is quick; here each runs again with its `[limits]` table removed, as
//! a user who never heard of `[limits]` would meet it, and must end as
//! ggen's error (its exit code and message, nothing written) with a peak
//! resident memory under 2 GiB. Before the limits, each aborted, ran for
//! minutes, or grew past 4 GB.
//!
//! `GGEN_ATTACK_BIN=PATH` runs another build (an older ggen, to see the
//! attacks succeed against it).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::util::{CASES, binary, case_project, tree};

/// Peak resident memory an attack may reach.
const PEAK_MB: u64 = 2048;

/// How long to wait for an attack to end before calling it a hang (the
/// limits end each within about `rdfc_seconds`, `render_seconds` or
/// `query_seconds`, 30 s, plus the work before; generous for a loaded
/// machine).
const HANG: Duration = Duration::from_secs(600);

/// The case, and the exit code its attack must end with.
const ATTACKS: &[(&str, i32)] = &[
    ("limits_rdfc_clique", 4),
    ("limits_rdfc_chain", 4),
    ("limits_template_doubling", 6),
    ("limits_template_loops", 6),
    ("limits_inference_growth", 5),
    ("limits_query_parse", 5),
];

struct Ended {
    code: Option<i32>,
    stderr: String,
    peak_mb: u64,
    took: Duration,
}

/// The case's project (its base, then its own files) without `[limits]`.
fn project(case: &str, into: &Path) {
    let dir = Path::new(CASES).join(case);
    let text = std::fs::read_to_string(dir.join("case.toml")).unwrap();
    let case_toml: toml::Table = toml::from_str(&text).unwrap();
    let base = case_toml.get("base").and_then(|b| b.as_str());
    case_project(base, &dir, into);
    let manifest = into.join("ggen.toml");
    let text = std::fs::read_to_string(&manifest).unwrap();
    let cut = text
        .find("\n[limits]")
        .unwrap_or_else(|| panic!("{case}: its ggen.toml has no [limits] table"));
    let rest = &text[cut + 1..];
    assert!(
        !rest["[limits]".len()..].contains("\n["),
        "{case}: [limits] must be the manifest's last table"
    );
    std::fs::write(&manifest, &text[..cut + 1]).unwrap();
}

/// `VmHWM` (peak resident set) of a live process, in MiB.
fn peak_mb(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024)
}

/// Runs `ggen sync` in `dir`, watching its peak memory every few
/// milliseconds; kills it past [`PEAK_MB`] or [`HANG`].
fn sync(bin: &Path, dir: &Path) -> Ended {
    let stderr_path = dir.join("..").join("stderr");
    let mut child = Command::new(bin)
        .arg("sync")
        .current_dir(dir)
        .env_remove("RUST_BACKTRACE")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&stderr_path).unwrap())
        .spawn()
        .expect("ggen runs");
    let started = Instant::now();
    let mut peak = 0;
    let code = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status.code();
        }
        peak = peak.max(peak_mb(child.id()).unwrap_or(0));
        if peak > PEAK_MB || started.elapsed() > HANG {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let stderr = std::fs::read(&stderr_path).unwrap_or_default();
    Ended {
        code,
        stderr: String::from_utf8_lossy(&stderr[..stderr.len().min(4096)]).into_owned(),
        peak_mb: peak,
        took: started.elapsed(),
    }
}

#[test]
#[cfg(target_os = "linux")]
fn each_attack_ends_as_an_error_under_the_default_limits() {
    let bin = std::env::var_os("GGEN_ATTACK_BIN").map_or_else(binary, PathBuf::from);
    let results: Vec<(&str, i32, Ended, bool)> = std::thread::scope(|scope| {
        let handles: Vec<_> = ATTACKS
            .iter()
            .map(|&(case, code)| {
                let bin = bin.clone();
                scope.spawn(move || {
                    let root = tempfile::tempdir().unwrap();
                    let dir = root.path().join("project");
                    project(case, &dir);
                    let before = tree(&dir);
                    let ended = sync(&bin, &dir);
                    let unchanged = tree(&dir) == before;
                    (case, code, ended, unchanged)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let mut failures = Vec::new();
    for (case, code, ended, unchanged) in &results {
        eprintln!(
            "{case}: exit {:?}, peak {} MiB, {:.1} s",
            ended.code,
            ended.peak_mb,
            ended.took.as_secs_f64()
        );
        let first = ended.stderr.lines().next().unwrap_or("");
        let problem = if ended.peak_mb > PEAK_MB {
            Some(format!("grew past {PEAK_MB} MiB (killed)"))
        } else if ended.code.is_none() && ended.took > HANG {
            Some(format!("still running after {} s (killed)", HANG.as_secs()))
        } else if ended.code != Some(*code) || !first.starts_with("error: ") {
            Some(format!(
                "ended with {:?}, not exit {code} and an error; stderr:\n{}",
                ended.code, ended.stderr
            ))
        } else if !unchanged {
            Some("changed the project".to_string())
        } else {
            None
        };
        if let Some(problem) = problem {
            failures.push(format!("{case}: {problem}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
