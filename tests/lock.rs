//! The project lock (`.ggen/lock`, an OS lock): held by this test process
//! or by another ggen, it stops a sync at once with exit 7, or makes one
//! with `--wait` wait; readers share it; two syncs started together never
//! interleave, whatever an earlier ggen left in the file. Not folders: a
//! lock held while ggen runs, and processes racing.

use std::fs::File;
use std::io::{BufRead as _, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};

use crate::crash::{outputs, project, set_inputs};
use crate::util::{Project, binary, run_in, tree};

/// The project synced once, its lock file opened by this process.
fn synced() -> (Project, File) {
    let p = project();
    run_in(p.path(), &["sync", "-q"]).expect(0);
    let lock = File::options()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(p.path().join(".ggen/lock"))
        .unwrap();
    (p, lock)
}

/// Items 0–15 with values of round `round`: every file changes each round.
fn write_round(dir: &Path, round: usize) {
    let mut text = String::from("@prefix ex: <http://example.org/crash#> .\n");
    for i in 0..16 {
        text.push_str(&format!(
            "ex:item{i:02} ex:v \"round {round}\" ; ex:group \"g{}\" .\n",
            i / 4
        ));
    }
    std::fs::write(dir.join("spec.ttl"), text).unwrap();
}

#[test]
fn a_held_lock_stops_a_sync_at_once() {
    let (p, lock) = synced();
    set_inputs(p.path(), true);
    lock.try_lock().unwrap();
    let before = tree(p.path());
    let run = run_in(p.path(), &["sync"]).expect(7);
    assert!(
        run.stderr
            .contains("error: the project is locked by another ggen command"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("--wait"), "{}", run.stderr);
    // Locked before planning: no stage ran, nothing was written.
    assert_eq!(run.stdout, "");
    assert!(tree(p.path()) == before, "a locked sync changed files");
    // Readers share the lock with readers only.
    run_in(p.path(), &["verify"]).expect(7);
    run_in(p.path(), &["sync", "--check", "-q"]).expect(7);
    lock.unlock().unwrap();
    lock.lock_shared().unwrap();
    run_in(p.path(), &["sync", "--check", "-q"]).expect(1);
    run_in(p.path(), &["sync", "--dry-run", "-q"]).expect(0);
    run_in(p.path(), &["sync", "-q"]).expect(7);
    lock.unlock().unwrap();
    run_in(p.path(), &["sync", "-q"]).expect(0);
    run_in(p.path(), &["verify"]).expect(0);
}

/// The lock comes before planning: a sync that cannot have it runs no
/// stage (one that planned first would find the winner's new files and
/// call them hand edits). The file holds this process's id as well, which
/// a PID-file lock took for a running sync.
#[test]
fn the_lock_is_taken_before_planning() {
    let (p, mut lock) = synced();
    std::io::Write::write_all(&mut lock, format!("{}\n", std::process::id()).as_bytes()).unwrap();
    lock.try_lock().unwrap();
    set_inputs(p.path(), true);
    let run = run_in(p.path(), &["sync"]).expect(7);
    assert_eq!(run.stdout, "", "stages ran before the lock was taken");
    let run = run_in(p.path(), &["sync", "--format", "json"]).expect(7);
    assert!(run.stdout.contains("locked by"), "{}", run.stdout);
}

#[test]
fn wait_waits_for_the_lock() {
    let (p, lock) = synced();
    set_inputs(p.path(), true);
    lock.try_lock().unwrap();
    let mut child = Command::new(binary())
        .args(["sync", "-q", "--wait"])
        .current_dir(p.path())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    stderr.read_line(&mut line).unwrap();
    assert_eq!(
        line, "Waiting for another ggen command to release .ggen/lock...\n",
        "{line}"
    );
    assert!(child.try_wait().unwrap().is_none(), "the sync did not wait");
    let item = |p: &Project| outputs(p.path()).get("out/g1/item04.txt").cloned();
    assert_eq!(item(&p).as_deref(), Some(&b"item item04 holds old 4\n"[..]));
    lock.unlock().unwrap();
    let status = child.wait().unwrap();
    assert!(status.success(), "{status:?}");
    assert_eq!(item(&p).as_deref(), Some(&b"item item04 holds new 4\n"[..]));
}

/// Two syncs started together, many times over, with a lock file an older
/// ggen left (a dead process's id): one writes, the other reports the lock
/// or, coming after, finds nothing to do; neither mistakes the other's
/// files for hand edits, and the receipt always matches the tree.
#[test]
fn two_syncs_started_together_never_interleave() {
    let (p, lock) = synced();
    drop(lock);
    let dir = p.path();
    for round in 1..=20 {
        write_round(dir, round);
        std::fs::write(dir.join(".ggen/lock"), "4194305\n").unwrap();
        let wait = round % 4 == 0;
        let args: &[&str] = if wait {
            &["sync", "-q", "--wait"]
        } else {
            &["sync", "-q"]
        };
        let spawn = || {
            Command::new(binary())
                .args(args)
                .current_dir(dir)
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        };
        let (a, b) = (spawn(), spawn());
        let (a, b) = (a.wait_with_output().unwrap(), b.wait_with_output().unwrap());
        let mut wrote = 0;
        for run in [&a, &b] {
            let stderr = String::from_utf8_lossy(&run.stderr);
            match run.status.code() {
                Some(0) => wrote += 1,
                Some(7) if !wait && stderr.contains("the project is locked by") => {}
                _ => panic!("round {round}: {:?}\n{stderr}", run.status),
            }
        }
        assert!(wrote >= 1, "round {round}: no sync wrote");
        run_in(dir, &["verify"]).expect(0);
        let expected = format!("item item00 holds round {round}\n");
        assert_eq!(outputs(dir)["out/g0/item00.txt"], expected.as_bytes());
    }
}
