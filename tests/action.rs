//! The GitHub Action (action.yml) and its steps, scripts/ggen-ci, run here
//! as the action runs them: in a project folder (`working-directory`)
//! below the workspace, with `GITHUB_WORKSPACE` set, so every annotation
//! names its file from the repository's root. A project in sync passes; one
//! with drift or a tampered receipt fails with annotations on stdout.

use std::path::Path;
use std::process::{Command, Stdio};

use crate::tools::have;
use crate::util::{CASES, Project, binary, copy_dir, run_in};

const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/ggen-ci");

/// A repository whose `app/` is the mini project, synced.
fn repository() -> Project {
    let repo = Project::empty();
    copy_dir(
        &Path::new(CASES).join("_bases/mini"),
        &repo.path().join("app"),
    );
    run_in(&repo.path().join("app"), &["sync"]).expect(0);
    repo
}

/// `scripts/ggen-ci check ARGS…` in `repo/app`: exit code and stdout.
fn check(repo: &Project, args: &[&str]) -> (i32, String) {
    let output = Command::new("bash")
        .arg(SCRIPT)
        .args(["check", "--ggen", &binary().to_string_lossy()])
        .args(args)
        .current_dir(repo.path().join("app"))
        .env("GITHUB_WORKSPACE", repo.path())
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.is_empty(), "the script wrote to stderr:\n{stderr}");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8(output.stdout).unwrap(),
    )
}

#[test]
fn a_project_in_sync_passes_with_two_notices_and_writes_sarif() {
    let repo = repository();
    let (code, stdout) = check(&repo, &["--sarif-dir", "../sarif"]);
    assert_eq!(
        stdout,
        "::group::ggen sync --check\n\
         ::notice title=ggen sync --check::Up to date: 2 unchanged.\n\
         ::endgroup::\n\
         ::group::ggen verify\n\
         ::notice title=ggen verify::Verified 2 outputs and 14 inputs against .ggen/receipt.json.\n\
         ::endgroup::\n"
    );
    assert_eq!(code, 0);
    for name in ["ggen-sync-check.sarif", "ggen-verify.sarif"] {
        let log: serde_json::Value =
            serde_json::from_str(&repo.read(&format!("sarif/{name}"))).unwrap();
        assert_eq!(log["version"], "2.1.0", "{name}");
        assert_eq!(log["runs"][0]["results"], serde_json::json!([]), "{name}");
    }
}

#[test]
fn drift_fails_with_an_annotation_on_each_file() {
    // A declared pool replaces the default one: its file is created, the
    // default pool's removed, the pools' list and the receipt updated.
    let repo = repository();
    repo.write(
        "app/.specify/specs/001-job-queue/feature.ttl",
        &format!(
            "{}\n<http://example.org/app#mailPool> a jobs:WorkerPool ; jobs:poolSize 2 .\n",
            repo.read("app/.specify/specs/001-job-queue/feature.ttl")
        ),
    );
    let (code, stdout) = check(&repo, &[]);
    assert_eq!(
        stdout,
        "::group::ggen sync --check\n\
         ::error file=app/out/job_worker_pool.txt,title=ggen drift::out/job_worker_pool.txt is no longer generated: `ggen sync` would remove it; run `ggen sync` and commit the result\n\
         ::error file=app/out/mail_pool.txt,title=ggen drift::out/mail_pool.txt is missing: `ggen sync` would create it (rule `per_pool`); run `ggen sync` and commit the result\n\
         ::error file=app/out/pools.txt,line=1,title=ggen drift::out/pools.txt is out of date: `ggen sync` would update it (rule `pools`); run `ggen sync` and commit the result\n\
         ::error file=app/.ggen/receipt.json,title=ggen drift::.ggen/receipt.json is out of date: `ggen sync` would update it; run `ggen sync` and commit the result\n\
         ::endgroup::\n\
         ::group::ggen verify\n\
         ::error file=app/.specify/specs/001-job-queue/feature.ttl,title=ggen verify-input-changed::.specify/specs/001-job-queue/feature.ttl (an input) differs from what .ggen/receipt.json records: run `ggen sync` and commit the result\n\
         ::endgroup::\n"
    );
    assert_eq!(code, 1);
}

#[test]
fn a_tampered_receipt_fails_with_annotations() {
    let repo = repository();
    let receipt = repo.read("app/.ggen/receipt.json");
    let digest = sha256_hex(repo.read("app/out/pools.txt").as_bytes());
    assert!(receipt.contains(&digest));
    repo.write(
        "app/.ggen/receipt.json",
        &receipt.replace(&digest, &"0".repeat(64)),
    );
    let (code, stdout) = check(&repo, &[]);
    assert_eq!(
        stdout,
        "::group::ggen sync --check\n\
         ::error file=app/.ggen/receipt.json,title=ggen drift::.ggen/receipt.json is out of date: `ggen sync` would update it; run `ggen sync` and commit the result\n\
         ::endgroup::\n\
         ::group::ggen verify\n\
         ::error file=app/out/pools.txt,title=ggen verify-modified::out/pools.txt differs from what .ggen/receipt.json records: it changed after the last `ggen sync`\n\
         ::endgroup::\n"
    );
    assert_eq!(code, 1);
}

#[test]
fn an_error_stops_with_its_exit_code_and_verify_still_runs() {
    let repo = repository();
    repo.write(
        "app/ggen.toml",
        &repo.read("app/ggen.toml").replace("[project]", "[projet]"),
    );
    let (code, stdout) = check(&repo, &[]);
    let lines: Vec<&str> = stdout.lines().collect();
    assert!(
        lines[1].starts_with("::error file=app/ggen.toml,line=")
            && lines[1].contains("title=ggen manifest::"),
        "{stdout}"
    );
    // verify reads the manifest too (the inputs it names are checked
    // against the receipt): it reports the same error.
    assert_eq!(lines[3], "::group::ggen verify", "{stdout}");
    assert!(
        lines[4].starts_with("::error file=app/ggen.toml,line=")
            && lines[4].contains("title=ggen manifest::"),
        "{stdout}"
    );
    assert_eq!(code, 3);
}

#[test]
fn action_yml_is_a_valid_action_whose_steps_are_the_script() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(root.join("action.yml")).unwrap();
    // Every input the steps read is declared, and every declared one is read.
    let declared: Vec<&str> = text
        .lines()
        .skip_while(|l| *l != "inputs:")
        .skip(1)
        .take_while(|l| l.is_empty() || l.starts_with(' '))
        .filter_map(|l| l.strip_prefix("  ")?.strip_suffix(':'))
        .filter(|l| !l.starts_with(' '))
        .collect();
    assert_eq!(
        declared,
        [
            "manifest",
            "working-directory",
            "ggen",
            "sarif-dir",
            "upload-sarif"
        ]
    );
    let used: std::collections::BTreeSet<&str> = text
        .match_indices("inputs.")
        .map(|(i, _)| {
            let rest = &text[i + "inputs.".len()..];
            &rest[..rest
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
                .unwrap_or(rest.len())]
        })
        .collect();
    assert_eq!(used, declared.iter().copied().collect());
    assert!(text.contains("\"$GITHUB_ACTION_PATH/scripts/ggen-ci\" install"));
    assert!(text.contains("\"$GITHUB_ACTION_PATH/scripts/ggen-ci\" check"));
    // And GitHub's schema of action metadata accepts it (SchemaStore's, as
    // vendored by check-jsonschema).
    if have("check-jsonschema", &["--version"]) {
        crate::tools::run(
            root,
            "check-jsonschema",
            &["--builtin-schema", "vendor.github-actions", "action.yml"],
        );
    }
}

fn sha256_hex(bytes: &[u8]) -> String {
    ggen::inputs::sha256_hex(bytes)
}
