//! Counters kept by the workers, and their Prometheus text exposition
//! (format 0.0.4): each family once, `# HELP` and `# TYPE` before its
//! samples, label values escaped.
//!
//! | family | type | labels |
//! |---|---|---|
//! | `jobs_pulled_total` | counter | pool, priority, domain |
//! | `jobs_processed_total` | counter | pool, priority, domain |
//! | `jobs_failed_total` | counter | pool, priority, domain |
//! | `jobs_timed_out_total` | counter | pool, priority, domain |
//! | `jobs_panicked_total` | counter | pool, priority, domain |
//! | `jobs_acked_total` | counter | pool, priority, domain |
//! | `jobs_nacked_total` | counter | pool, priority, domain |
//! | `jobs_breaker_rejected_total` | counter | pool, priority, domain |
//! | `jobs_pool_exhausted_total` | counter | pool, priority, domain |
//! | `jobs_circuit_breaker_opened_total` | counter | pool, priority, domain |
//! | `jobs_circuit_breaker_state` | gauge | pool, priority, domain |
//! | `jobs_pool_size`, `jobs_pool_max_overflow` | gauge | pool |
//! | `jobs_pool_available`, `jobs_pool_in_use`, `jobs_pool_overflow`, `jobs_pool_waiting` | gauge | pool |
//! | `jobs_queue_pending`, `jobs_queue_in_flight`, `jobs_queue_dead` | gauge | |
//! | `jobs_queue_acked_total` | counter | |

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::circuit_breaker::BreakerState;
use crate::pool::PoolStatus;
use crate::queue::QueueStats;

/// A monotonically increasing count.
#[derive(Debug, Default)]
pub struct Counter(AtomicU64);

impl Counter {
    /// Adds one.
    pub fn inc(&self) {
        self.add(1);
    }

    /// Adds `n`.
    pub fn add(&self, n: u64) {
        self.0.fetch_add(n, Ordering::Relaxed);
    }

    /// The current count.
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// Job counters, kept per lane and per pooled worker.
#[derive(Debug, Default)]
pub struct JobMetrics {
    /// Jobs pulled from the queue.
    pub pulled: Counter,
    /// Jobs the handler finished with `Ok`.
    pub processed: Counter,
    /// Jobs that failed: an error, a panic or a timeout.
    pub failed: Counter,
    /// Failed jobs that ran past the process timeout.
    pub timed_out: Counter,
    /// Failed jobs whose handler panicked.
    pub panicked: Counter,
    /// Jobs acked.
    pub acked: Counter,
    /// Jobs nacked for redelivery (or dead-lettering).
    pub nacked: Counter,
    /// Executions turned away because the breaker was open.
    pub breaker_rejected: Counter,
    /// Executions that found no free worker in time.
    pub pool_exhausted: Counter,
}

impl JobMetrics {
    /// The counters' current values.
    pub fn snapshot(&self) -> JobCounts {
        JobCounts {
            pulled: self.pulled.get(),
            processed: self.processed.get(),
            failed: self.failed.get(),
            timed_out: self.timed_out.get(),
            panicked: self.panicked.get(),
            acked: self.acked.get(),
            nacked: self.nacked.get(),
            breaker_rejected: self.breaker_rejected.get(),
            pool_exhausted: self.pool_exhausted.get(),
        }
    }
}

/// The values of a lane's counters at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct JobCounts {
    /// See [`JobMetrics::pulled`].
    pub pulled: u64,
    /// See [`JobMetrics::processed`].
    pub processed: u64,
    /// See [`JobMetrics::failed`].
    pub failed: u64,
    /// See [`JobMetrics::timed_out`].
    pub timed_out: u64,
    /// See [`JobMetrics::panicked`].
    pub panicked: u64,
    /// See [`JobMetrics::acked`].
    pub acked: u64,
    /// See [`JobMetrics::nacked`].
    pub nacked: u64,
    /// See [`JobMetrics::breaker_rejected`].
    pub breaker_rejected: u64,
    /// See [`JobMetrics::pool_exhausted`].
    pub pool_exhausted: u64,
}

/// One lane in a [`Snapshot`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LaneSnapshot {
    /// The pool serving the lane.
    pub pool: String,
    /// The lane's priority.
    pub priority: String,
    /// The lane's domain.
    pub domain: String,
    /// The lane's counters.
    pub counts: JobCounts,
    /// The lane's breaker state.
    pub breaker: BreakerState,
    /// How often the lane's breaker has opened.
    pub breaker_opened: u64,
}

/// One pool in a [`Snapshot`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolSnapshot {
    /// The pool's name.
    pub name: String,
    /// Configured size.
    pub size: usize,
    /// Configured overflow.
    pub max_overflow: usize,
    /// The pool's status.
    pub status: PoolStatus,
}

/// Everything rendered in one scrape.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Snapshot {
    /// Every lane.
    pub lanes: Vec<LaneSnapshot>,
    /// Every pool.
    pub pools: Vec<PoolSnapshot>,
    /// The queue's counts, when the queue could report them.
    pub queue: Option<QueueStats>,
}

/// The breaker state as the `jobs_circuit_breaker_state` gauge encodes it.
pub fn breaker_state_value(state: BreakerState) -> u64 {
    match state {
        BreakerState::Closed => 0,
        BreakerState::Open => 1,
        BreakerState::HalfOpen => 2,
    }
}

type LaneValue = fn(&LaneSnapshot) -> u64;
type PoolValue = fn(&PoolSnapshot) -> u64;

const LANE_FAMILIES: &[(&str, &str, &str, LaneValue)] = &[
    (
        "jobs_pulled_total",
        "counter",
        "Jobs pulled from the queue.",
        |l| l.counts.pulled,
    ),
    (
        "jobs_processed_total",
        "counter",
        "Jobs the handler completed.",
        |l| l.counts.processed,
    ),
    (
        "jobs_failed_total",
        "counter",
        "Jobs that failed: error, panic or timeout.",
        |l| l.counts.failed,
    ),
    (
        "jobs_timed_out_total",
        "counter",
        "Jobs cancelled at the process timeout.",
        |l| l.counts.timed_out,
    ),
    (
        "jobs_panicked_total",
        "counter",
        "Jobs whose handler panicked.",
        |l| l.counts.panicked,
    ),
    (
        "jobs_acked_total",
        "counter",
        "Jobs acked to the queue.",
        |l| l.counts.acked,
    ),
    (
        "jobs_nacked_total",
        "counter",
        "Jobs nacked to the queue for redelivery.",
        |l| l.counts.nacked,
    ),
    (
        "jobs_breaker_rejected_total",
        "counter",
        "Executions rejected by an open circuit breaker.",
        |l| l.counts.breaker_rejected,
    ),
    (
        "jobs_pool_exhausted_total",
        "counter",
        "Executions that found no free pool worker in time.",
        |l| l.counts.pool_exhausted,
    ),
    (
        "jobs_circuit_breaker_opened_total",
        "counter",
        "Times the lane's circuit breaker opened.",
        |l| l.breaker_opened,
    ),
    (
        "jobs_circuit_breaker_state",
        "gauge",
        "Circuit breaker state: 0 closed, 1 open, 2 half-open.",
        |l| breaker_state_value(l.breaker),
    ),
];

const POOL_FAMILIES: &[(&str, &str, PoolValue)] = &[
    ("jobs_pool_size", "Configured pool size.", |p| p.size as u64),
    (
        "jobs_pool_max_overflow",
        "Configured maximum overflow.",
        |p| p.max_overflow as u64,
    ),
    ("jobs_pool_available", "Idle pool workers.", |p| {
        p.status.available as u64
    }),
    (
        "jobs_pool_in_use",
        "Checked-out pool workers, overflow included.",
        |p| p.status.in_use as u64,
    ),
    ("jobs_pool_overflow", "Overflow workers alive.", |p| {
        p.status.overflow as u64
    }),
    (
        "jobs_pool_waiting",
        "Callers waiting for a pool worker.",
        |p| p.status.waiting as u64,
    ),
];

/// Renders `snapshot` in the Prometheus text format.
pub fn render_prometheus(snapshot: &Snapshot) -> String {
    let mut out = String::new();
    for (name, kind, help, value) in LANE_FAMILIES {
        header(&mut out, name, kind, help);
        for lane in &snapshot.lanes {
            let labels = [
                ("pool", lane.pool.as_str()),
                ("priority", lane.priority.as_str()),
                ("domain", lane.domain.as_str()),
            ];
            sample(&mut out, name, &labels, value(lane));
        }
    }
    for (name, help, value) in POOL_FAMILIES {
        header(&mut out, name, "gauge", help);
        for pool in &snapshot.pools {
            sample(&mut out, name, &[("pool", pool.name.as_str())], value(pool));
        }
    }
    if let Some(queue) = snapshot.queue {
        let families = [
            (
                "jobs_queue_pending",
                "gauge",
                "Jobs waiting in the queue.",
                queue.pending,
            ),
            (
                "jobs_queue_in_flight",
                "gauge",
                "Jobs pulled and not yet acked.",
                queue.in_flight,
            ),
            (
                "jobs_queue_dead",
                "gauge",
                "Jobs in the dead-letter list.",
                queue.dead,
            ),
            (
                "jobs_queue_acked_total",
                "counter",
                "Jobs acked to the queue.",
                queue.acked,
            ),
        ];
        for (name, kind, help, value) in families {
            header(&mut out, name, kind, help);
            sample(&mut out, name, &[], value);
        }
    }
    out
}

fn header(out: &mut String, name: &str, kind: &str, help: &str) {
    let help = help.replace('\\', "\\\\").replace('\n', "\\n");
    // Writing to a String cannot fail.
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
}

fn sample(out: &mut String, name: &str, labels: &[(&str, &str)], value: u64) {
    out.push_str(name);
    if !labels.is_empty() {
        out.push('{');
        for (i, (key, value)) in labels.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            let value = value
                .replace('\\', "\\\\")
                .replace('"', "\\\"")
                .replace('\n', "\\n");
            let _ = write!(out, "{key}=\"{value}\"");
        }
        out.push('}');
    }
    let _ = writeln!(out, " {value}");
}
