//! `verify` against receipts naming outputs outside the project, which a
//! case folder cannot hold (its `outside/` must end empty, and an absolute
//! path differs from machine to machine): a subject `../outside.txt`, an
//! absolute subject, and outputs read through a folder linked out of the
//! project. Each file is given its true digest, so only the place is wrong.

use std::path::Path;

use serde_json::{Value, json};

use crate::util::{CASES, copy_dir, run_in};

/// A synced copy of the mini base in `<tmp>/project`, with `<tmp>/outside.txt`.
fn synced() -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    let project = tmp.path().join("project");
    copy_dir(&Path::new(CASES).join("_bases/mini"), &project);
    run_in(&project, &["sync"]).expect(0);
    run_in(&project, &["verify"]).expect(0);
    std::fs::write(tmp.path().join("outside.txt"), "not generated\n").unwrap();
    tmp
}

fn sha256(path: &Path) -> String {
    use sha2::Digest as _;
    hex::encode(sha2::Sha256::digest(std::fs::read(path).unwrap()))
}

/// Adds a subject `name` with the digest of the file at `file` to the receipt.
fn add_subject(project: &Path, name: &str, file: &Path) {
    let path = project.join(".ggen/receipt.json");
    let mut receipt: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    let subjects = receipt["subject"].as_array_mut().unwrap();
    subjects.push(json!({
        "name": name,
        "digest": { "sha256": sha256(file) },
        "annotations": { "rule": "pools" },
    }));
    std::fs::write(&path, serde_json::to_vec_pretty(&receipt).unwrap()).unwrap();
}

#[test]
fn a_subject_above_the_project_is_refused() {
    let tmp = synced();
    let project = tmp.path().join("project");
    add_subject(&project, "../outside.txt", &tmp.path().join("outside.txt"));
    let run = run_in(&project, &["verify"]).expect(1);
    assert!(
        run.stdout
            .contains("outside project: ../outside.txt (climbs out of its folder with `..`)\n"),
        "{}",
        run.stdout
    );
}

#[test]
fn an_absolute_subject_is_refused() {
    let tmp = synced();
    let project = tmp.path().join("project");
    let outside = tmp.path().join("outside.txt");
    let name = outside.to_str().unwrap();
    add_subject(&project, name, &outside);
    let run = run_in(&project, &["verify"]).expect(1);
    assert!(
        run.stdout
            .contains(&format!("outside project: {name} (is an absolute path)\n")),
        "{}",
        run.stdout
    );
}

#[test]
#[cfg(unix)]
fn outputs_behind_a_folder_linked_out_of_the_project_are_refused() {
    let tmp = synced();
    let project = tmp.path().join("project");
    // The outputs move out of the project, unchanged, and a link takes
    // their folder's place: every byte read through it is as recorded.
    std::fs::rename(project.join("out"), tmp.path().join("elsewhere")).unwrap();
    std::os::unix::fs::symlink(tmp.path().join("elsewhere"), project.join("out")).unwrap();
    let run = run_in(&project, &["verify"]).expect(1);
    let line = "outside project: out/pools.txt (is reached through a symbolic link leading out of the project)\n";
    assert!(run.stdout.contains(line), "{}", run.stdout);
    assert!(!run.stdout.contains("modified:"), "{}", run.stdout);
}
