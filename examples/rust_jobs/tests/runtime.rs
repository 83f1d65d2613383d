//! The assembled system: execute, timeouts, panics, the breaker, pool
//! exhaustion and overflow, lane workers under supervision, shutdown.
//!
//! Every test builds its own pools and lanes, so none depends on the
//! generated configuration except `starts_with_the_generated_configuration`.
//!
//! Timing: tests on one thread run on tokio's paused clock, which moves only
//! when every task is idle, so no timeout fires early on a busy machine and
//! a timeout meant to fire fires at once. The multi-threaded tests cannot
//! pause time: they give the runtime a [`ManualClock`] (restart windows,
//! breakers and ack waits stand still), process timeouts no job reaches,
//! and wait for outcomes with generous liveness deadlines.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};

use ggen_jobs::circuit_breaker::BreakerState;
use ggen_jobs::clock::ManualClock;
use ggen_jobs::config::{self, LaneConfig, PoolConfig};
use ggen_jobs::config::{Strategy, SupervisorConfig};
use ggen_jobs::handler::{DefaultHandler, JobError, JobHandler};
use ggen_jobs::pool::{PoolError, PoolState};
use ggen_jobs::queue::{Job, JobId, JobQueue, MAX_DELIVERIES};
use ggen_jobs::queue::{MemoryQueue, QueueError, QueueStats};
use ggen_jobs::supervisor::SupervisorExit;
use ggen_jobs::worker::{ExecuteError, Outcome};
use ggen_jobs::{ConfigError, Runtime, start};

const POOL: &str = "test_pool";
const PRIORITY: &str = "high";
const DOMAIN: &str = "email";

/// How long a test waits for something that must happen before it fails
/// (a liveness deadline, not a speed bound).
const LIVENESS: Duration = Duration::from_secs(60);

fn pool(size: usize, max_overflow: usize) -> PoolConfig {
    PoolConfig {
        name: POOL,
        size,
        max_overflow,
        pull_size: 5,
        // Reached only by the test that sets a shorter one: a job meant to
        // finish must not time out because the machine is busy.
        process_timeout: LIVENESS,
        strategy: Strategy::Fifo,
        checkout_timeout: Duration::from_millis(50),
    }
}

fn lane(threshold: u32) -> LaneConfig {
    LaneConfig {
        name: "test_lane",
        priority: PRIORITY,
        domain: DOMAIN,
        pool: POOL,
        circuit_breaker_open: false,
        failure_threshold: threshold,
        failure_window: Duration::from_secs(10),
    }
}

/// A runtime whose jobs run only through `execute`.
async fn manual(pool: PoolConfig, lane: LaneConfig) -> Runtime<MemoryQueue, DefaultHandler> {
    Runtime::builder(DefaultHandler)
        .pools([pool])
        .lanes([lane])
        .workers_per_lane(0)
        .start()
        .await
        .expect("valid configuration")
}

async fn publish<Q: JobQueue, H: JobHandler>(runtime: &Runtime<Q, H>, payload: Value) -> JobId {
    runtime
        .publish(PRIORITY, DOMAIN, payload)
        .await
        .expect("published")
}

/// Polls `condition` until it holds, failing the test with `what` if it
/// still does not after [`LIVENESS`].
async fn eventually(what: &str, mut condition: impl AsyncFnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + LIVENESS;
    while !condition().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting until {what}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test(start_paused = true)]
async fn execute_processes_one_batch_and_counts_outcomes() {
    let runtime = manual(pool(2, 0), lane(100)).await;
    for action in ["noop", "fail", "noop", "sleep", "fail", "noop", "noop"] {
        publish(&runtime, json!({"action": action, "ms": 1})).await;
    }
    // pull_size is 5: the first batch holds the first five jobs.
    let outcome = runtime.execute(PRIORITY, DOMAIN).await.unwrap();
    assert_eq!(
        outcome,
        Outcome {
            processed: 3,
            failed: 2
        }
    );
    let stats = runtime.queue_stats().await.unwrap();
    assert_eq!(
        stats,
        QueueStats {
            pending: 4,
            in_flight: 0,
            acked: 3,
            dead: 0
        }
    );
    let counts = runtime.lane_status(PRIORITY, DOMAIN).unwrap().counts;
    assert_eq!((counts.pulled, counts.processed, counts.failed), (5, 3, 2));
    assert_eq!((counts.acked, counts.nacked), (3, 2));
    // The worker is back in the pool.
    assert_eq!(runtime.pool_status(POOL).unwrap().available, 2);
}

#[tokio::test(start_paused = true)]
async fn execute_on_an_empty_lane_does_nothing() {
    let runtime = manual(pool(1, 0), lane(1)).await;
    assert_eq!(
        runtime.execute(PRIORITY, DOMAIN).await.unwrap(),
        Outcome::default()
    );
}

#[tokio::test(start_paused = true)]
async fn unknown_lanes_are_refused() {
    let runtime = manual(pool(1, 0), lane(1)).await;
    let error = runtime.execute("low", "nowhere").await.unwrap_err();
    assert!(matches!(error, ExecuteError::UnknownLane { .. }), "{error}");
    let error = runtime
        .publish("low", "nowhere", json!({}))
        .await
        .unwrap_err();
    assert!(matches!(error, QueueError::UnknownLane { .. }), "{error}");
}

#[tokio::test(start_paused = true)]
async fn lanes_sharing_a_pool_share_its_workers() {
    let other = LaneConfig {
        name: "other_lane",
        domain: "other",
        ..lane(1)
    };
    let runtime = Runtime::builder(DefaultHandler)
        .pools([pool(5, 0)])
        .lanes([lane(1), other])
        .start()
        .await
        .unwrap();
    let ids: Vec<String> = runtime
        .which_children()
        .await
        .into_iter()
        .map(|c| c.id)
        .collect();
    assert_eq!(
        ids,
        ["test_lane/0", "test_lane/1", "other_lane/0", "other_lane/1"]
    );
}

/// Counts deliveries per job and delegates to the default handler.
#[derive(Default)]
struct Counting {
    deliveries: Mutex<HashMap<JobId, u32>>,
    finished_sleeping: AtomicBool,
}

impl JobHandler for Counting {
    async fn handle(&self, job: &Job) -> Result<(), JobError> {
        *self.deliveries.lock().unwrap().entry(job.id).or_default() += 1;
        let result = DefaultHandler.handle(job).await;
        if job.payload["action"] == "sleep" {
            self.finished_sleeping.store(true, Ordering::SeqCst);
        }
        result
    }
}

#[tokio::test(start_paused = true)]
async fn a_job_running_past_the_process_timeout_is_cancelled_and_fails() {
    let handler = Arc::new(Counting::default());
    let runtime = Runtime::builder(Arc::clone(&handler))
        .pools([PoolConfig {
            process_timeout: Duration::from_millis(50),
            ..pool(1, 0)
        }])
        .lanes([lane(100)])
        .workers_per_lane(0)
        .start()
        .await
        .unwrap();
    publish(&runtime, json!({"action": "sleep", "ms": 300})).await;
    let outcome = runtime.execute(PRIORITY, DOMAIN).await.unwrap();
    assert_eq!(
        outcome,
        Outcome {
            processed: 0,
            failed: 1
        }
    );
    assert_eq!(
        runtime
            .lane_status(PRIORITY, DOMAIN)
            .unwrap()
            .counts
            .timed_out,
        1
    );
    // On the paused clock this sleep passes the job's 300 ms: a job left
    // running would have finished by now.
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert!(
        !handler.finished_sleeping.load(Ordering::SeqCst),
        "the timed-out job kept running"
    );
    assert_eq!(
        runtime.queue_stats().await.unwrap().pending,
        1,
        "nacked for redelivery"
    );
}

#[tokio::test(start_paused = true)]
async fn a_panicking_handler_fails_only_its_own_job() {
    let runtime = manual(pool(1, 0), lane(100)).await;
    publish(&runtime, json!({"action": "crash"})).await;
    publish(&runtime, json!({"action": "noop"})).await;
    let outcome = runtime.execute(PRIORITY, DOMAIN).await.unwrap();
    assert_eq!(
        outcome,
        Outcome {
            processed: 1,
            failed: 1
        }
    );
    assert_eq!(
        runtime
            .lane_status(PRIORITY, DOMAIN)
            .unwrap()
            .counts
            .panicked,
        1
    );
    let status = runtime.pool_status(POOL).unwrap();
    assert_eq!((status.available, status.in_use), (1, 0));
}

#[tokio::test(start_paused = true)]
async fn the_breaker_opens_rejects_probes_and_closes() {
    let clock = ManualClock::new();
    let lane = lane(2);
    let runtime = Runtime::builder(DefaultHandler)
        .pools([pool(1, 0)])
        .lanes([lane])
        .workers_per_lane(0)
        .clock(clock.clone())
        .start()
        .await
        .unwrap();
    publish(&runtime, json!({"action": "fail"})).await;
    publish(&runtime, json!({"action": "fail"})).await;
    assert_eq!(runtime.execute(PRIORITY, DOMAIN).await.unwrap().failed, 2);
    assert_eq!(
        runtime.lane_status(PRIORITY, DOMAIN).unwrap().breaker,
        BreakerState::Open
    );

    let error = runtime.execute(PRIORITY, DOMAIN).await.unwrap_err();
    assert!(matches!(error, ExecuteError::CircuitBreakerOpen), "{error}");
    let counts = runtime.lane_status(PRIORITY, DOMAIN).unwrap().counts;
    assert_eq!(counts.breaker_rejected, 1);
    assert_eq!(counts.pulled, 2, "an open breaker pulls nothing");

    // After the window, one probe: a batch of one job. The two failed jobs
    // were nacked and are first in line; make the probe succeed.
    let probe_job = runtime.queue().pull(PRIORITY, DOMAIN, 2).await.unwrap();
    for job in &probe_job {
        runtime.queue().ack(job.id).await.unwrap();
    }
    for _ in 0..3 {
        publish(&runtime, json!({"action": "noop"})).await;
    }
    clock.advance(lane.failure_window);
    assert_eq!(
        runtime.lane_status(PRIORITY, DOMAIN).unwrap().breaker,
        BreakerState::HalfOpen
    );
    assert_eq!(
        runtime.execute(PRIORITY, DOMAIN).await.unwrap(),
        Outcome {
            processed: 1,
            failed: 0
        }
    );
    assert_eq!(
        runtime.lane_status(PRIORITY, DOMAIN).unwrap().breaker,
        BreakerState::Closed
    );
    assert_eq!(
        runtime.execute(PRIORITY, DOMAIN).await.unwrap(),
        Outcome {
            processed: 2,
            failed: 0
        }
    );
    assert_eq!(runtime.breaker(PRIORITY, DOMAIN).unwrap().times_opened(), 1);
}

#[tokio::test(start_paused = true)]
async fn a_lane_specified_open_starts_with_its_breaker_open() {
    let runtime = manual(
        pool(1, 0),
        LaneConfig {
            circuit_breaker_open: true,
            ..lane(5)
        },
    )
    .await;
    publish(&runtime, json!({"action": "noop"})).await;
    assert!(matches!(
        runtime.execute(PRIORITY, DOMAIN).await,
        Err(ExecuteError::CircuitBreakerOpen)
    ));
    assert_eq!(runtime.queue_stats().await.unwrap().pending, 1);
}

#[tokio::test(start_paused = true)]
async fn execute_reports_pool_exhausted_when_no_worker_frees_up() {
    let runtime = manual(pool(1, 0), lane(5)).await;
    let held = runtime.pool(POOL).unwrap().try_checkout().unwrap();
    let error = runtime.execute(PRIORITY, DOMAIN).await.unwrap_err();
    assert!(matches!(error, ExecuteError::PoolExhausted), "{error}");
    assert_eq!(
        runtime
            .lane_status(PRIORITY, DOMAIN)
            .unwrap()
            .counts
            .pool_exhausted,
        1
    );
    drop(held);
    assert!(runtime.execute(PRIORITY, DOMAIN).await.is_ok());
}

#[tokio::test(start_paused = true)]
async fn overflow_workers_are_created_when_busy_and_dismissed_when_back() {
    let runtime = manual(pool(2, 1), lane(5)).await;
    let pool = runtime.pool(POOL).unwrap();
    assert_eq!(pool.status().state, PoolState::Ready);
    let a = pool.try_checkout().unwrap();
    let b = pool.try_checkout().unwrap();
    assert_eq!(pool.status().state, PoolState::Overflow);
    let c = pool.try_checkout().unwrap();
    let status = pool.status();
    assert_eq!(status.state, PoolState::Full);
    assert_eq!(
        (status.available, status.overflow, status.in_use),
        (0, 1, 3)
    );
    assert!(matches!(pool.try_checkout(), Err(PoolError::Full)));
    assert!(matches!(
        runtime.execute(PRIORITY, DOMAIN).await,
        Err(ExecuteError::PoolExhausted)
    ));
    drop(c);
    let status = pool.status();
    assert_eq!(
        (status.available, status.overflow, status.in_use),
        (0, 0, 2)
    );
    drop((a, b));
    let status = pool.status();
    assert_eq!(
        (status.available, status.overflow, status.in_use),
        (2, 0, 0)
    );
}

#[tokio::test(start_paused = true)]
async fn a_worker_dropped_by_a_panicking_holder_is_replaced() {
    let runtime = manual(pool(2, 0), lane(5)).await;
    let pool = runtime.pool(POOL).unwrap().clone();
    let before: Vec<u64> = {
        let a = pool.try_checkout().unwrap();
        let b = pool.try_checkout().unwrap();
        vec![a.id(), b.id()]
    };
    let crashing = pool.clone();
    let result = tokio::spawn(async move {
        let _worker = crashing.checkout(Duration::from_secs(1)).await.unwrap();
        panic!("the holder crashes");
    })
    .await;
    assert!(result.unwrap_err().is_panic());
    let status = pool.status();
    assert_eq!((status.available, status.in_use), (2, 0));
    let a = pool.try_checkout().unwrap();
    let b = pool.try_checkout().unwrap();
    let after = [a.id(), b.id()];
    assert!(
        after.iter().any(|id| !before.contains(id)),
        "one worker was replaced: {before:?} -> {after:?}"
    );
}

/// Lane workers consume on their own; panicking and failing jobs are
/// retried up to the delivery limit and dead-lettered, and none is lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_job_is_lost_when_handlers_panic() {
    let handler = Arc::new(Counting::default());
    let runtime = Runtime::builder(Arc::clone(&handler))
        .pools([pool(3, 1)])
        .lanes([lane(10_000)])
        .workers_per_lane(3)
        .poll_interval(Duration::from_millis(5))
        // No ack wait runs out, however slowly the jobs are processed: every
        // delivery beyond the first is one the test asked for.
        .clock(ManualClock::new())
        .start()
        .await
        .unwrap();
    let mut expected = HashMap::new();
    for n in 0..30 {
        let action = ["crash", "fail", "noop"][n % 3];
        let id = publish(&runtime, json!({"action": action})).await;
        expected.insert(id, action);
    }
    eventually("every job is acked or dead", async || {
        let stats = runtime.queue_stats().await.unwrap();
        stats.acked + stats.dead == 30
    })
    .await;
    let stats = runtime.queue_stats().await.unwrap();
    assert_eq!(
        stats,
        QueueStats {
            pending: 0,
            in_flight: 0,
            acked: 10,
            dead: 20
        }
    );
    let deliveries = handler.deliveries.lock().unwrap().clone();
    for (id, action) in expected {
        let want = if action == "noop" { 1 } else { MAX_DELIVERIES };
        assert_eq!(deliveries[&id], want, "job {id} ({action})");
    }
    let counts = runtime.lane_status(PRIORITY, DOMAIN).unwrap().counts;
    assert_eq!(counts.panicked, 30);
    assert_eq!(counts.processed, 10);
    assert_eq!(runtime.pool_status(POOL).unwrap().state, PoolState::Ready);
    assert!(runtime.is_running());
    assert_eq!(runtime.shutdown().await, SupervisorExit::Shutdown);
}

/// A queue whose first `fail_first` pulls fail.
#[derive(Default)]
struct Flaky {
    inner: MemoryQueue,
    fail_first: usize,
    failed_pulls: AtomicUsize,
}

impl Flaky {
    fn failing(fail_first: usize) -> Arc<Self> {
        Arc::new(Self {
            fail_first,
            ..Self::default()
        })
    }
}

impl JobQueue for Flaky {
    async fn publish(
        &self,
        priority: &str,
        domain: &str,
        payload: Value,
    ) -> Result<JobId, QueueError> {
        self.inner.publish(priority, domain, payload).await
    }

    async fn pull(&self, priority: &str, domain: &str, n: usize) -> Result<Vec<Job>, QueueError> {
        let fail = self
            .failed_pulls
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| {
                (n < self.fail_first).then_some(n + 1)
            })
            .is_ok();
        if fail {
            return Err(QueueError::Backend("connection refused".to_owned()));
        }
        self.inner.pull(priority, domain, n).await
    }

    async fn ack(&self, id: JobId) -> Result<(), QueueError> {
        self.inner.ack(id).await
    }

    async fn nack(&self, id: JobId) -> Result<(), QueueError> {
        self.inner.nack(id).await
    }

    async fn stats(&self) -> Result<QueueStats, QueueError> {
        self.inner.stats().await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crashed_lane_worker_is_restarted() {
    let queue = Flaky::failing(2);
    let runtime = Runtime::builder(DefaultHandler)
        .queue(Arc::clone(&queue))
        .pools([pool(1, 0)])
        .lanes([lane(5)])
        .workers_per_lane(1)
        .poll_interval(Duration::from_millis(5))
        .supervisor(SupervisorConfig {
            intensity: 2,
            period: Duration::from_secs(60),
        })
        // Both restarts fall within the period however slowly they come.
        .clock(ManualClock::new())
        .start()
        .await
        .unwrap();
    publish(&runtime, json!({"action": "noop"})).await;
    eventually("the restarted worker processed the job", async || {
        runtime.queue_stats().await.unwrap().acked == 1
    })
    .await;
    let children = runtime.which_children().await;
    assert_eq!(children.len(), 1);
    assert_eq!(children[0].restarts, 2, "{children:?}");
    assert!(children[0].running);
    assert!(
        children[0]
            .last_error
            .as_deref()
            .unwrap()
            .contains("connection refused")
    );
    assert!(runtime.is_running());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lane_worker_crashing_too_often_stops_the_supervisor() {
    let queue = Flaky::failing(usize::MAX);
    let mut runtime = Runtime::builder(DefaultHandler)
        .queue(Arc::clone(&queue))
        .pools([pool(1, 0)])
        .lanes([lane(5)])
        .workers_per_lane(1)
        .supervisor(SupervisorConfig {
            intensity: 3,
            period: Duration::from_secs(60),
        })
        // Every crash falls within the period however slowly they come.
        .clock(ManualClock::new())
        .start()
        .await
        .unwrap();
    let exit = tokio::time::timeout(LIVENESS, runtime.wait())
        .await
        .expect("supervisor gave up");
    assert!(
        matches!(exit, SupervisorExit::IntensityExceeded { .. }),
        "{exit:?}"
    );
    // The first run and three restarts: four crashes in all.
    assert_eq!(queue.failed_pulls.load(Ordering::SeqCst), 4);
    assert!(!runtime.is_running());
}

/// On the paused clock the long job cannot end before the shutdown request
/// reaches its worker, however busy the machine: time moves only once the
/// worker, the supervisor and the test are all waiting.
#[tokio::test(start_paused = true)]
async fn shutdown_finishes_the_job_in_progress_and_gives_back_the_rest() {
    let queue = Arc::new(MemoryQueue::new());
    // Published before any worker runs, so the first pull takes all three.
    for payload in [
        json!({"action": "sleep", "ms": 1000}),
        json!({"action": "noop"}),
        json!({"action": "noop"}),
    ] {
        queue.publish(PRIORITY, DOMAIN, payload).await.unwrap();
    }
    let runtime = Runtime::builder(DefaultHandler)
        .queue(Arc::clone(&queue))
        .pools([pool(1, 0)])
        .lanes([lane(5)])
        .workers_per_lane(1)
        .poll_interval(Duration::from_millis(5))
        .start()
        .await
        .unwrap();
    eventually("the batch is pulled", async || {
        queue.stats().await.unwrap().in_flight == 3
    })
    .await;
    assert_eq!(runtime.shutdown().await, SupervisorExit::Shutdown);
    let stats = queue.stats().await.unwrap();
    assert_eq!(
        stats,
        QueueStats {
            pending: 2,
            in_flight: 0,
            acked: 1,
            dead: 0
        }
    );
}

#[tokio::test(start_paused = true)]
async fn shutdown_closes_the_pools() {
    let runtime = manual(pool(1, 0), lane(5)).await;
    let pool = runtime.pool(POOL).unwrap().clone();
    runtime.shutdown().await;
    assert!(matches!(pool.try_checkout(), Err(PoolError::Closed)));
}

/// One exposition line: `name{labels} value`.
fn series(name: &str, labels: &str, value: u64) -> String {
    [name, "{", labels, "} ", &value.to_string()].concat()
}

#[tokio::test(start_paused = true)]
async fn the_metrics_exposition_reflects_the_counters() {
    let runtime = manual(pool(2, 1), lane(100)).await;
    publish(&runtime, json!({"action": "noop"})).await;
    publish(&runtime, json!({"action": "fail"})).await;
    runtime.execute(PRIORITY, DOMAIN).await.unwrap();
    let text = runtime.render_prometheus().await;
    let labels = format!(r#"pool="{POOL}",priority="{PRIORITY}",domain="{DOMAIN}""#);
    for (family, value) in [
        ("jobs_pulled_total", 2),
        ("jobs_processed_total", 1),
        ("jobs_failed_total", 1),
        ("jobs_acked_total", 1),
        ("jobs_nacked_total", 1),
        ("jobs_circuit_breaker_state", 0),
    ] {
        let line = series(family, &labels, value);
        assert!(
            text.lines().any(|l| l == line),
            "missing {line:?} in\n{text}"
        );
    }
    for line in [
        series("jobs_pool_size", &format!(r#"pool="{POOL}""#), 2),
        series("jobs_pool_available", &format!(r#"pool="{POOL}""#), 2),
        "jobs_queue_pending 1".to_owned(),
        "jobs_queue_acked_total 1".to_owned(),
    ] {
        assert!(
            text.lines().any(|l| l == line),
            "missing {line:?} in\n{text}"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn invalid_configurations_are_refused() {
    let unknown_pool = Runtime::builder(DefaultHandler)
        .pools([pool(1, 0)])
        .lanes([LaneConfig {
            pool: "nope",
            ..lane(1)
        }])
        .start()
        .await;
    assert!(matches!(unknown_pool, Err(ConfigError::UnknownPool { .. })));
    let duplicate = Runtime::builder(DefaultHandler)
        .pools([pool(1, 0)])
        .lanes([
            lane(1),
            LaneConfig {
                name: "twin",
                ..lane(1)
            },
        ])
        .start()
        .await;
    assert!(matches!(duplicate, Err(ConfigError::DuplicateLane { .. })));
    let empty = Runtime::builder(DefaultHandler)
        .pools([pool(0, 0)])
        .lanes([lane(1)])
        .start()
        .await;
    assert!(matches!(empty, Err(ConfigError::EmptyPool(_))));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn starts_with_the_generated_configuration() {
    let runtime = start(DefaultHandler).await.unwrap();
    assert_eq!(
        runtime.pools(),
        config::POOLS.iter().map(|p| p.name).collect::<Vec<_>>()
    );
    for pool in config::POOLS {
        let status = runtime.pool_status(pool.name).unwrap();
        assert_eq!(
            status.available + status.in_use - status.overflow,
            pool.size
        );
    }
    // Each pool's size is shared among its lanes' workers.
    let children = runtime.which_children().await;
    for pool in config::POOLS {
        let lanes = config::LANES.iter().filter(|l| l.pool == pool.name);
        let workers = lanes
            .map(|lane| {
                let prefix = format!("{}/", lane.name);
                children
                    .iter()
                    .filter(|c| c.id.starts_with(&prefix))
                    .count()
            })
            .collect::<Vec<_>>();
        if !workers.is_empty() {
            assert!(workers.iter().sum::<usize>() <= pool.size.max(workers.len()));
            assert!(workers.iter().all(|&n| n >= 1), "{workers:?}");
        }
    }
    // A lane specified to start with its breaker open takes no job until
    // its window has passed; the others process theirs at once.
    let mut closed = 0;
    for lane in config::LANES {
        let status = runtime.lane_status(lane.priority, lane.domain).unwrap();
        if lane.circuit_breaker_open {
            assert_ne!(status.breaker, BreakerState::Closed, "{}", lane.name);
            continue;
        }
        assert_eq!(status.breaker, BreakerState::Closed, "{}", lane.name);
        let payload = json!({"action": "noop"});
        runtime
            .publish(lane.priority, lane.domain, payload)
            .await
            .unwrap();
        closed += 1;
    }
    eventually("every closed lane processed its job", async || {
        runtime.queue_stats().await.unwrap().acked == closed
    })
    .await;
    assert_eq!(runtime.shutdown().await, SupervisorExit::Shutdown);
}
