//! The golden case folders of tests/cases/ (the format is in its README):
//! one test runs every case, in parallel, and names every case that fails;
//! `GGEN_BLESS=1` rewrites each case's expected outputs from its actual run;
//! `GGEN_CASES=PREFIX` runs only the cases whose name starts with PREFIX.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde::Deserialize;

use crate::util::{CASES, binary, case_project, copy_dir, tree};

/// A case's `case.toml`.
#[derive(Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
struct Case {
    /// The folder of `_bases/` the project starts from.
    base: Option<String>,
    /// Project paths (files or folders) compared with `expected/` at the end.
    expected: Vec<String>,
    /// Absolute paths that must not exist at the end.
    absent: Vec<PathBuf>,
    step: Vec<Step>,
}

/// One `ggen` run and what is done to the project before it, in this order.
#[derive(Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
struct Step {
    remove: Vec<String>,
    /// A folder of the case whose files are copied over the project.
    put: Option<String>,
    /// Symbolic links to make: path → target (`{outside}` allowed).
    link: BTreeMap<String, String>,
    /// Files to fill with ggen's own copy of a built-in file: path → `target/file`.
    builtin: BTreeMap<String, String>,
    /// A file to fill with this test process's id (a live process).
    pid: Option<String>,
    /// First, commit every file of the project as it is, with this message
    /// (`git init` when the project is not a repository yet).
    commit: Option<String>,
    /// Where ggen runs, relative to the project.
    cwd: String,
    /// Environment variables for ggen (`{tmp}` allowed); `GITHUB_WORKSPACE`
    /// is unset unless named here.
    env: BTreeMap<String, String>,
    args: Vec<String>,
    exit: i32,
    /// Compare stdout and stderr with `NAME.stdout` and `NAME.stderr`.
    output: Option<String>,
    /// Exactly the files the step may add, remove or rewrite; `[]` if it fails.
    changes: Option<Vec<String>>,
}

/// Golden files by their path in a case folder: `NAME.stdout`,
/// `NAME.stderr` (only when not empty) and `expected/PATH`.
type Golden = BTreeMap<String, Vec<u8>>;

#[test]
fn cases() {
    let bless = std::env::var_os("GGEN_BLESS").is_some();
    let only = std::env::var("GGEN_CASES").ok();
    let mut names: Vec<String> = std::fs::read_dir(CASES)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| !n.starts_with('_') && Path::new(CASES).join(n).is_dir())
        .filter(|n| {
            only.as_ref()
                .is_none_or(|prefix| n.starts_with(prefix.as_str()))
        })
        .collect();
    names.sort();
    let (next, failures) = (AtomicUsize::new(0), Mutex::new(Vec::new()));
    std::thread::scope(|scope| {
        for _ in 0..std::thread::available_parallelism().map_or(4, |n| n.get()) {
            scope.spawn(|| {
                while let Some(name) = names.get(next.fetch_add(1, Ordering::Relaxed)) {
                    let dir = Path::new(CASES).join(name);
                    let result = std::panic::catch_unwind(|| run(&dir))
                        .unwrap_or_else(|panic| Err(panic_text(panic)))
                        .and_then(|actual| check(&dir, &actual, bless));
                    if let Err(why) = result {
                        let why = why.replace('\n', "\n   ");
                        failures
                            .lock()
                            .unwrap()
                            .push(format!("── {name}\n   {why}"));
                    }
                }
            });
        }
    });
    let mut failures = failures.into_inner().unwrap();
    failures.sort();
    assert!(
        failures.is_empty(),
        "{} of {} cases failed (GGEN_BLESS=1 rewrites stdout, stderr and expected/):\n\n{}",
        failures.len(),
        names.len(),
        failures.join("\n\n")
    );
}

/// Runs a case's steps, checking exit codes and changes; returns what it produced.
fn run(dir: &Path) -> Result<Golden, String> {
    let text = std::fs::read_to_string(dir.join("case.toml")).map_err(|e| e.to_string())?;
    let case: Case = toml::from_str(&text).map_err(|e| format!("case.toml: {e}"))?;
    if case.step.is_empty() || case.step.iter().any(|s| s.args.is_empty()) {
        return Err("case.toml: a case needs steps, a step needs args".into());
    }
    let root = tempfile::Builder::new()
        .prefix("ggen-case-")
        .tempdir()
        .unwrap();
    let (project, outside) = (root.path().join("project"), root.path().join("outside"));
    std::fs::create_dir_all(&outside).unwrap();
    case_project(case.base.as_deref(), dir, &project);
    let tmp = vec![root.path().canonicalize().unwrap(), root.path().into()];
    let mut redact = Redact { tmp, pid: None };
    let mut actual = Golden::new();
    for (i, step) in case.step.iter().enumerate() {
        let at = format!("step {} (ggen {})", i + 1, step.args.join(" "));
        prepare(step, dir, &project, &outside);
        redact.pid = redact.pid.or(step.pid.as_ref().map(|_| std::process::id()));
        let changes = (step.changes.clone()).or_else(|| (step.exit != 0).then(Vec::new));
        let before = changes.as_ref().map(|_| {
            // File times come from a coarse clock: let it tick past the last write.
            std::thread::sleep(std::time::Duration::from_millis(20));
            tree(&project)
        });
        let tmp = root.path().to_string_lossy();
        let run = Command::new(binary())
            .args(&step.args)
            .current_dir(project.join(&step.cwd))
            .env_remove("RUST_BACKTRACE")
            .env_remove("GITHUB_WORKSPACE")
            .envs(step.env.iter().map(|(k, v)| (k, v.replace("{tmp}", &tmp))))
            .env_remove("GIT_DIR")
            .env_remove("GIT_WORK_TREE")
            .output()
            .unwrap();
        let text = |bytes| String::from_utf8(bytes).map_err(|_| format!("{at}: not UTF-8"));
        let (stdout, stderr) = (text(run.stdout)?, text(run.stderr)?);
        let (stdout, stderr) = (redact.output(&stdout), redact.output(&stderr));
        let code = run.status.code().unwrap_or(-1);
        if code != step.exit {
            let shown = format!("--- stdout\n{stdout}--- stderr\n{stderr}");
            return Err(format!(
                "{at}: exit {code}, expected {}\n{shown}",
                step.exit
            ));
        }
        if let (Some(expected), Some(before)) = (changes, before) {
            let after = tree(&project);
            let paths = before.keys().chain(after.keys());
            let changed: BTreeSet<&String> =
                paths.filter(|p| before.get(*p) != after.get(*p)).collect();
            if changed != expected.iter().collect() {
                return Err(format!("{at}: changed {changed:?}, expected {expected:?}"));
            }
        }
        for (stream, text) in [("stdout", stdout), ("stderr", stderr)] {
            if let Some(name) = step.output.as_ref().filter(|_| !text.is_empty()) {
                actual.insert(format!("{name}.{stream}"), text.into_bytes());
            }
        }
    }
    if let Some(file) = tree(&outside).keys().next() {
        return Err(format!("ggen wrote outside the project: {file}"));
    }
    if let Some(path) = case.absent.iter().find(|p| p.exists()) {
        return Err(format!("{} exists", path.display()));
    }
    let under = |file: &str| {
        case.expected
            .iter()
            .any(|p| file == p || file.starts_with(&format!("{p}/")))
    };
    for (path, (bytes, _)) in tree(&project).into_iter().filter(|(p, _)| under(p)) {
        let bytes =
            String::from_utf8(bytes).map_or_else(|e| e.into_bytes(), |t| redact.file(&t).into());
        actual.insert(format!("expected/{path}"), bytes);
    }
    Ok(actual)
}

/// Does what a step asks before ggen runs: commit, remove, put, link,
/// builtin, pid.
fn prepare(step: &Step, dir: &Path, project: &Path, outside: &Path) {
    if let Some(message) = &step.commit {
        if !project.join(".git").exists() {
            git(project, &["init", "--quiet", "--initial-branch=main"]);
        }
        git(project, &["add", "--all"]);
        git(
            project,
            &["commit", "--quiet", "--no-verify", "-m", message],
        );
    }
    for path in step.remove.iter().map(|p| project.join(p)) {
        match path.is_dir() {
            true => std::fs::remove_dir_all(&path).unwrap(),
            false => std::fs::remove_file(&path).unwrap(),
        }
    }
    if let Some(folder) = &step.put {
        copy_dir(&dir.join(folder), project);
    }
    for (path, target) in &step.link {
        let target = target.replace("{outside}", &outside.to_string_lossy());
        std::os::unix::fs::symlink(target, project.join(path)).unwrap();
    }
    for (path, builtin) in &step.builtin {
        let (target, file) = builtin.split_once('/').unwrap();
        let text = ggen::targets::builtin_text(target, file).expect("a built-in file");
        std::fs::create_dir_all(project.join(path).parent().unwrap()).unwrap();
        std::fs::write(project.join(path), text).unwrap();
    }
    if let Some(path) = &step.pid {
        std::fs::write(project.join(path), format!("{}\n", std::process::id())).unwrap();
    }
}

/// Runs git in `dir` with a fixed author and clock and no user or system
/// configuration, so a commit's id depends on the case's files only.
fn git(dir: &Path, args: &[&str]) {
    let status = Command::new("git")
        .args(["-c", "commit.gpgsign=false"])
        .args(args)
        .current_dir(dir)
        .env_remove("GIT_DIR")
        .env_remove("GIT_WORK_TREE")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .envs([("GIT_AUTHOR_NAME", "ggen"), ("GIT_COMMITTER_NAME", "ggen")])
        .envs([
            ("GIT_AUTHOR_EMAIL", "ggen@example.org"),
            ("GIT_COMMITTER_EMAIL", "ggen@example.org"),
        ])
        .envs([
            ("GIT_AUTHOR_DATE", "2026-01-01T00:00:00Z"),
            ("GIT_COMMITTER_DATE", "2026-01-01T00:00:00Z"),
        ])
        .status()
        .unwrap_or_else(|e| panic!("a step commits with git, which cannot run here: {e}"));
    assert!(status.success(), "git {} failed: {status}", args.join(" "));
}

/// Compares what a run produced with the case folder's golden files, or
/// (blessing) replaces those files with it.
fn check(dir: &Path, actual: &Golden, bless: bool) -> Result<(), String> {
    let golden =
        |p: &str| p.starts_with("expected/") || p.ends_with(".stdout") || p.ends_with(".stderr");
    let stored: Golden = tree(dir)
        .into_iter()
        .filter(|(p, _)| golden(p))
        .map(|(p, (bytes, _))| (p, bytes))
        .collect();
    if bless {
        stored
            .keys()
            .for_each(|p| std::fs::remove_file(dir.join(p)).unwrap());
        for (path, bytes) in actual {
            std::fs::create_dir_all(dir.join(path).parent().unwrap()).unwrap();
            std::fs::write(dir.join(path), bytes).unwrap();
        }
        return Ok(());
    }
    let mut problems = Vec::new();
    for path in stored.keys().chain(actual.keys()).collect::<BTreeSet<_>>() {
        let (want, got) = (stored.get(path), actual.get(path));
        let what = match (want, got) {
            (Some(a), Some(b)) if a == b => continue,
            (None, _) => "is not in the case folder",
            (_, None) if path.starts_with("expected/") => "was not generated",
            (_, None) => "was empty, or no step has this output name",
            _ => "differs",
        };
        let text = |b: Option<&Vec<u8>>| String::from_utf8_lossy(b.map_or(&[], |b| b)).into_owned();
        let diff = similar::TextDiff::from_lines(text(want), text(got))
            .unified_diff()
            .header("expected", "actual")
            .to_string();
        problems.push(format!("{path} {what}:\n{diff}"));
    }
    match problems.is_empty() {
        true => Ok(()),
        false => Err(problems.join("\n")),
    }
}

fn panic_text(panic: Box<dyn std::any::Any + Send>) -> String {
    let text = panic.downcast::<String>().map(|s| *s);
    let text = text.or_else(|p| p.downcast::<&str>().map(|s| s.to_string()));
    format!("panicked: {}", text.unwrap_or_default())
}

/// What differs from run to run, replaced by a placeholder: the case's
/// temporary folder (`{tmp}`), the test's process id (`{pid}`, only in a
/// case that wrote it), clock readings (`{ms}`, `{time}`).
struct Redact {
    tmp: Vec<PathBuf>,
    pid: Option<u32>,
}

impl Redact {
    /// A generated file: paths, the pid and JSON clock readings.
    fn file(&self, text: &str) -> String {
        let mut text = text.to_string();
        for path in &self.tmp {
            text = text.replace(&*path.to_string_lossy(), "{tmp}");
        }
        if let Some(pid) = self.pid {
            text = replace_number(&text, &pid.to_string(), "{pid}");
        }
        let text = json_numbers(&text, "timings_ms", "{ms}");
        json_numbers(&text, "unix_time", "{time}")
    }

    /// What ggen printed: as a file, and `… 12.345 ms` at a line's end.
    fn output(&self, text: &str) -> String {
        let line = |line: &str| {
            let (body, end) = line.strip_suffix('\n').map_or((line, ""), |b| (b, "\n"));
            let Some(head) = body.strip_suffix(" ms") else {
                return line.to_string();
            };
            let label = head.trim_end_matches(|c: char| c.is_ascii_digit() || c == '.');
            match label.len() < head.len() && label.ends_with(' ') {
                true => format!("{} {{ms}} ms{end}", label.trim_end()),
                false => line.to_string(),
            }
        };
        self.file(text).split_inclusive('\n').map(line).collect()
    }
}

/// `number` where it stands alone (not part of a longer run of digits).
fn replace_number(text: &str, number: &str, with: &str) -> String {
    let digit = |c: Option<char>| c.is_some_and(|c| c.is_ascii_digit());
    let (mut out, mut rest) = (String::new(), text);
    while let Some(i) = rest.find(number) {
        out.push_str(&rest[..i]);
        rest = &rest[i + number.len()..];
        let alone = !digit(out.chars().last()) && !digit(rest.chars().next());
        out.push_str(if alone { with } else { number });
    }
    out + rest
}

/// Each number of the JSON value after `"key":` (a number, or an object of them).
fn json_numbers(text: &str, key: &str, with: &str) -> String {
    let pattern = format!("\"{key}\":");
    let mut parts = text.split(pattern.as_str());
    let mut out = parts.next().unwrap_or_default().to_string();
    for part in parts {
        let end = match part.trim_start().starts_with('{') {
            true => part.find('}'),
            false => part.find([',', '}', '\n']),
        };
        let (value, rest) = part.split_at(end.unwrap_or(part.len()));
        // Split at the colons, each piece after one starts with its value.
        let number = |piece: &str| {
            let value = piece.trim_start();
            let len = value
                .find(|c: char| !(c.is_ascii_digit() || ".eE+-".contains(c)))
                .unwrap_or(value.len());
            match len {
                0 => piece.to_string(),
                _ => format!(
                    "{}{with}{}",
                    &piece[..piece.len() - value.len()],
                    &value[len..]
                ),
            }
        };
        let value: Vec<String> = value.split(':').map(number).collect();
        out.push_str(&format!("{pattern}{}{rest}", value.join(":")));
    }
    out
}
