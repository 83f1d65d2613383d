//! `ggen sync --watch`: re-syncs on input changes, stops cleanly on Ctrl-C.
//! Not folders: ggen keeps running while a test edits files, then gets SIGINT.

use std::io::{BufRead, BufReader, Write as _};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant};

use crate::util::{Project, binary};

/// Longer than the watch's debounce (200 ms) several times over: a sync that
/// an event would cause has started well within it.
const QUIET: Duration = Duration::from_millis(1500);

/// A running `ggen sync --watch` and the lines it has printed so far.
struct Watch {
    child: Child,
    lines: Receiver<String>,
    seen: Vec<String>,
}

impl Watch {
    fn start(p: &Project) -> Watch {
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
        Watch {
            child,
            lines: rx,
            seen: Vec::new(),
        }
    }

    /// Waits until ggen has printed `n` "Watching" lines in all.
    fn wait_watching(&mut self, n: usize) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while self.count("Watching") < n {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => self.seen.push(line),
                Err(_) => panic!(
                    "no `Watching` line #{n}; printed:\n{}",
                    self.seen.join("\n")
                ),
            }
        }
    }

    fn count(&self, needle: &str) -> usize {
        self.seen.iter().filter(|l| l.contains(needle)).count()
    }

    /// Interrupts ggen, checks it stopped with 0, and returns every line
    /// it printed.
    fn interrupt(mut self) -> Vec<String> {
        let status = Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let deadline = Instant::now() + Duration::from_secs(10);
        let code = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status.code();
            }
            assert!(Instant::now() < deadline, "ggen did not stop on SIGINT");
            std::thread::sleep(Duration::from_millis(20));
        };
        self.seen.extend(self.lines.iter());
        assert_eq!(code, Some(0), "printed:\n{}", self.seen.join("\n"));
        self.seen
    }
}

#[test]
fn watch_resyncs_on_change_and_stops_on_interrupt() {
    let p = Project::mini();
    let mut watch = Watch::start(&p);
    watch.wait_watching(1);
    assert!(p.exists("out/job_worker_pool.txt"));
    p.append(
        p.spec(),
        "\n@prefix ex: <http://example.org/app#> .\nex:emailPool a jobs:WorkerPool .\n",
    );
    watch.wait_watching(2);
    assert!(p.exists("out/email_pool.txt"));
    assert!(!p.exists("out/job_worker_pool.txt"));
    // A change to a file that is not an input does not sync.
    p.write("notes.txt", "hello\n");
    watch.interrupt();
    // The sync in progress finished: no journal or staged file is left.
    assert!(!p.exists(".ggen/journal") && !p.exists(".ggen/staging"));
    p.ggen(&["verify"]).expect(0);
}

/// Reading the inputs (a `cat`, an editor opening them, the sync's own
/// reads) is no change; one edit is one sync, and that sync's reads of the
/// inputs start no other.
#[test]
fn watch_ignores_reads_and_syncs_once_per_edit() {
    let p = Project::mini();
    let inputs = [
        "ggen.toml",
        p.spec(),
        "t/pools.rq",
        "t/workers.rq",
        "t/supervisor.rq",
        "t/pools.txt.tera",
    ];
    let mut watch = Watch::start(&p);
    watch.wait_watching(1);
    for input in inputs {
        std::fs::read(p.path().join(input)).unwrap();
    }
    std::thread::sleep(QUIET);
    // One edit: open, append a comment, close.
    let mut spec = std::fs::OpenOptions::new()
        .append(true)
        .open(p.path().join(p.spec()))
        .unwrap();
    spec.write_all(b"# a comment\n").unwrap();
    drop(spec);
    watch.wait_watching(2);
    std::thread::sleep(QUIET);
    let lines = watch.interrupt();
    let syncs = lines.iter().filter(|l| l.starts_with("[μ₁]")).count();
    assert_eq!(
        syncs,
        2,
        "expected the first sync and one for the edit; printed:\n{}",
        lines.join("\n")
    );
}

/// Touching an input (its modification time) or writing its same bytes
/// again changes nothing: no sync. An editor that saves by writing a new
/// file and renaming it over the input makes several events at once: one
/// sync.
#[test]
fn watch_syncs_once_for_a_save_by_rename_and_not_for_same_bytes() {
    let p = Project::mini();
    let mut watch = Watch::start(&p);
    watch.wait_watching(1);
    let template = p.path().join("t/pools.txt.tera");
    let file = std::fs::File::options()
        .write(true)
        .open(&template)
        .unwrap();
    file.set_modified(std::time::SystemTime::now() + Duration::from_secs(60))
        .unwrap();
    drop(file);
    std::fs::write(&template, p.read("t/pools.txt.tera")).unwrap();
    std::thread::sleep(QUIET);
    let saved = format!("{}# saved\n", p.read("t/pools.txt.tera"));
    let temp = p.path().join("t/.pools.txt.tera.swp");
    std::fs::write(&temp, saved).unwrap();
    std::fs::rename(&temp, &template).unwrap();
    watch.wait_watching(2);
    std::thread::sleep(QUIET);
    let lines = watch.interrupt();
    let syncs = lines.iter().filter(|l| l.starts_with("[μ₁]")).count();
    assert_eq!(syncs, 2, "printed:\n{}", lines.join("\n"));
    assert!(p.read("out/pools.txt").ends_with("# saved\n"));
}
