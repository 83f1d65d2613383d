//! What the cross-language test and benchmark share: a real `nats-server`
//! on a free loopback port with a store of its own, and the committed
//! Erlang application (`examples/erlang_jobs`) built in a temporary folder
//! and driven one phase per node by `tests/erlang/cross_driver.erl`.
//!
//! A missing `nats-server` or `rebar3` fails under `CI=true` and is
//! skipped, saying so, elsewhere (`crate::tools::have`).

use std::collections::HashMap;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use ggen_jobs::config;
use ggen_jobs::queue::{JobQueue, NatsConfig, NatsQueue, QueueStats};
use serde_json::json;

use crate::tools::run;

/// The name of the generated application (the repository's project name).
pub const APP: &str = "ggen_jobs";

/// How long the harness waits for a server to listen.
const START: Duration = Duration::from_secs(30);

/// A `nats-server` with JetStream, killed (and its store removed) on drop.
pub struct NatsServer {
    child: Child,
    _store: tempfile::TempDir,
    port: u16,
}

impl NatsServer {
    /// Starts a server on a free loopback port and waits until it listens.
    pub fn start() -> Self {
        let store = tempfile::tempdir().expect("a temporary folder");
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let child = Command::new("nats-server")
            .args(["-js", "-sd"])
            .arg(store.path())
            .args(["-a", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("nats-server starts");
        let server = Self {
            child,
            _store: store,
            port,
        };
        let deadline = Instant::now() + START;
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "nats-server does not listen");
            std::thread::sleep(Duration::from_millis(20));
        }
        server
    }

    /// `nats://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The committed Erlang application, compiled in a temporary folder, with
/// the driver module beside it.
pub struct ErlangApp {
    dir: tempfile::TempDir,
}

/// What one phase of the driver printed.
#[derive(Debug)]
pub struct Phase {
    /// `job_queue:stats/0` at the end of the phase.
    pub stats: QueueStats,
    /// The other lines, `key value`.
    pub values: HashMap<String, u64>,
}

impl ErlangApp {
    /// Copies `examples/erlang_jobs`, runs `rebar3 compile` and compiles
    /// the driver.
    pub fn build() -> Self {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let dir = tempfile::tempdir().expect("a temporary folder");
        copy_dir(&root.join("examples/erlang_jobs"), dir.path());
        run(dir.path(), "rebar3", &["compile"]);
        let driver = root.join("tests/erlang/cross_driver.erl");
        run(
            dir.path(),
            "erlc",
            &["-o", ".", driver.to_str().expect("a UTF-8 path")],
        );
        Self { dir }
    }

    /// Runs one phase of the driver on a node of its own.
    pub fn phase(&self, phase: &str, url: &str, n: u64) -> Phase {
        let mut args = vec!["-noshell".to_owned()];
        for ebin in self.ebins() {
            args.push("-pa".to_owned());
            args.push(ebin.to_string_lossy().into_owned());
        }
        args.extend(
            ["-pa", ".", "-run", "cross_driver", "main", APP, phase, url]
                .into_iter()
                .map(str::to_owned),
        );
        args.push(n.to_string());
        let out = run(
            self.dir.path(),
            "erl",
            &args.iter().map(String::as_str).collect::<Vec<_>>(),
        );
        let mut stats = None;
        let mut values = HashMap::new();
        for line in out.lines() {
            let fields: Vec<&str> = line.split_whitespace().collect();
            match fields.as_slice() {
                ["stats", p, f, a, d] => {
                    let n = |s: &str| s.parse::<u64>().expect("a count");
                    stats = Some(QueueStats {
                        pending: n(p),
                        in_flight: n(f),
                        acked: n(a),
                        dead: n(d),
                    });
                }
                [key, value] => {
                    if let Ok(v) = value.parse() {
                        values.insert((*key).to_owned(), v);
                    }
                }
                _ => {}
            }
        }
        Phase {
            stats: stats.unwrap_or_else(|| panic!("the driver printed no stats:\n{out}")),
            values,
        }
    }

    fn ebins(&self) -> Vec<PathBuf> {
        let lib = self.dir.path().join("_build/default/lib");
        let mut dirs: Vec<PathBuf> = std::fs::read_dir(&lib)
            .expect("rebar3 compile made _build")
            .map(|e| e.expect("a readable folder").path().join("ebin"))
            .collect();
        dirs.sort();
        dirs
    }
}

fn copy_dir(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).expect("a readable folder") {
        let entry = entry.expect("a readable entry");
        let name = entry.file_name();
        if name == "_build" {
            continue;
        }
        let target = to.join(&name);
        if entry.file_type().expect("a file type").is_dir() {
            std::fs::create_dir_all(&target).expect("a writable folder");
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("a copied file");
        }
    }
}

/// The Rust crate's queue on the server, with the specification's lanes.
pub async fn rust_queue(url: &str) -> NatsQueue {
    let client = async_nats::connect(url)
        .await
        .expect("connects to nats-server");
    NatsQueue::connect(client, NatsConfig::for_lanes(config::LANES, config::POOLS))
        .await
        .expect("creates the stream and the lanes' consumers")
}

/// Publishes `n` noop jobs, numbered, on the first declared lane.
pub async fn publish_noop(queue: &NatsQueue, n: u64) {
    let lane = &config::LANES[0];
    for i in 0..n {
        queue
            .publish(
                lane.priority,
                lane.domain,
                json!({"action": "noop", "n": i}),
            )
            .await
            .expect("publishes");
    }
}
