//! Output into a pipe whose reader has gone (`ggen … | head -1`): no
//! panic, nothing on stderr, exit 141 (what a shell reports for a tool
//! killed by SIGPIPE) unless the command failed for its own reason.
//! Not folders: a case folder cannot close the reading end of ggen's stdout.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::util::{Project, binary};

/// A mini project, synced.
fn synced() -> Project {
    let p = Project::mini();
    p.ggen(&["sync"]).expect(0);
    p
}

/// A command's arguments, with how to make a project ready for it.
type Case = (fn() -> Project, Vec<&'static str>);

/// The commands under test.
fn commands() -> Vec<Case> {
    vec![
        (Project::empty, vec!["completions", "zsh"]),
        (Project::empty, vec!["completions", "bash"]),
        (Project::empty, vec!["completions", "fish"]),
        (Project::empty, vec!["--help"]),
        (Project::empty, vec!["--version"]),
        (Project::empty, vec!["init", "--help"]),
        (Project::empty, vec!["sync", "--help"]),
        (Project::empty, vec!["init", "--name", "piped", "new"]),
        (Project::mini, vec!["sync"]),
        (Project::mini, vec!["sync", "-v"]),
        (Project::mini, vec!["sync", "--dry-run"]),
        (Project::mini, vec!["sync", "--format", "json"]),
        (Project::mini, vec!["sync", "--validate-only"]),
        (synced, vec!["sync", "--check"]),
        (synced, vec!["verify"]),
        (synced, vec!["eject", "jobs"]),
    ]
}

/// Exit code and stderr of ggen run to its end (killed after a generous
/// deadline, which fails the test).
fn finish(mut child: std::process::Child, args: &[&str]) -> (Option<i32>, String) {
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("ggen {args:?} was still running after its stdout closed");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    (status.code(), stderr)
}

fn ggen(p: &Project, args: &[&str]) -> Command {
    let mut command = Command::new(binary());
    command
        .args(args)
        .current_dir(p.path())
        .env_remove("RUST_BACKTRACE")
        .stderr(Stdio::piped());
    command
}

/// Stdout is a pipe whose reader closed before ggen started: every write
/// fails, deterministically.
#[test]
fn closed_stdout_exits_141_quietly() {
    for (project, args) in commands() {
        let p = project();
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let child = ggen(&p, &args).stdout(writer).spawn().unwrap();
        let (code, stderr) = finish(child, &args);
        assert_eq!(code, Some(141), "ggen {args:?}; stderr:\n{stderr}");
        assert_eq!(stderr, "", "ggen {args:?} printed on stderr");
    }
    // The work is done all the same: a sync whose report nobody reads still
    // writes its outputs and receipt, completely.
    let p = Project::mini();
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let child = ggen(&p, &["sync"]).stdout(writer).spawn().unwrap();
    assert_eq!(finish(child, &["sync"]).0, Some(141));
    p.ggen(&["verify"]).expect(0);
}

/// A failure of the command's own keeps its exit code and its message.
#[test]
fn closed_stdout_keeps_a_failure_code() {
    let p = Project::mini();
    p.write("ggen.toml", "[project]\nname = \"x\"\nbogus = 1\n");
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let child = ggen(&p, &["sync"]).stdout(writer).spawn().unwrap();
    let (code, stderr) = finish(child, &["sync"]);
    assert_eq!(code, Some(3), "stderr:\n{stderr}");
    assert!(stderr.contains("bogus"), "stderr:\n{stderr}");
    // A usage error whose message finds stderr closed too.
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let status = Command::new(binary())
        .args(["sync", "--bogus"])
        .current_dir(p.path())
        .stdout(writer.try_clone().unwrap())
        .stderr(writer)
        .status()
        .unwrap();
    assert_eq!(status.code(), Some(2));
}

/// `ggen … | head -1`: the reader takes one line and goes, at whatever
/// point of ggen's writing that falls. Repeated, so that the closing lands
/// in the middle of the output often.
#[test]
fn reader_closing_after_one_line_exits_quietly() {
    for (project, args) in commands() {
        for _ in 0..15 {
            let p = project();
            let mut child = ggen(&p, &args).stdout(Stdio::piped()).spawn().unwrap();
            let mut line = String::new();
            BufReader::new(child.stdout.take().unwrap())
                .read_line(&mut line)
                .unwrap();
            let (code, stderr) = finish(child, &args);
            assert!(
                matches!(code, Some(0 | 141)),
                "ggen {args:?} exited {code:?}; stderr:\n{stderr}"
            );
            assert_eq!(stderr, "", "ggen {args:?} printed on stderr");
        }
    }
}

/// `ggen sync --watch | head -1`: the watch stops once nobody reads it.
#[test]
fn watch_stops_when_its_reader_has_gone() {
    let p = Project::mini();
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let args = ["sync", "--watch"];
    let child = ggen(&p, &args).stdout(writer).spawn().unwrap();
    let (code, stderr) = finish(child, &args);
    assert_eq!(code, Some(141), "stderr:\n{stderr}");
    assert_eq!(stderr, "");
}
