//! `ggen sync --watch`: re-syncs on input changes, stops cleanly on Ctrl-C.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::util::{Project, binary};

// Not a folder: ggen keeps running while the test edits files, then gets SIGINT.
#[test]
fn watch_resyncs_on_change_and_stops_on_interrupt() {
    let p = Project::mini();
    let mut child = Command::new(binary())
        .args(["sync", "--watch"])
        .current_dir(p.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let _ = tx.send(line.unwrap());
        }
    });
    let wait_for = |needle: &str| {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let line = rx
                .recv_timeout(deadline.saturating_duration_since(Instant::now()))
                .unwrap_or_else(|_| panic!("no `{needle}` line"));
            if line.contains(needle) {
                return;
            }
        }
    };
    wait_for("Watching");
    assert!(p.exists("out/job_worker_pool.txt"));
    p.append(
        p.spec(),
        "\n@prefix ex: <http://example.org/app#> .\nex:emailPool a jobs:WorkerPool .\n",
    );
    wait_for("Watching");
    assert!(p.exists("out/email_pool.txt"));
    assert!(!p.exists("out/job_worker_pool.txt"));
    // A change to a file that is not an input does not sync.
    p.write("notes.txt", "hello\n");
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(10);
    let code = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status.code();
        }
        assert!(Instant::now() < deadline, "ggen did not stop on SIGINT");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(code, Some(0));
    assert!(!p.exists(".ggen/lock"));
    p.ggen(&["verify"]).expect(0);
}
