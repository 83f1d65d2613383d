//! Configuration: the types every other module reads, and the constants
//! generated from the ontology (`POOLS`, `LANES`, `SUPERVISOR`, `QUEUE`).
//!
//! This is the only module whose contents depend on the specification; the
//! rest of the crate reads the configuration through these types.

use std::time::Duration;

/// The order in which idle workers are handed out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Strategy {
    /// The worker idle the longest goes out first (poolboy's `fifo`).
    Fifo,
    /// The worker checked in last goes out first (poolboy's `lifo`). Default.
    #[default]
    Lifo,
}

/// One worker pool (`jobs:WorkerPool`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolConfig {
    /// The pool's name, the snake_case local name of its IRI.
    /// Default: the first pool's, `"job_worker_pool"`.
    pub name: &'static str,
    /// Workers kept alive at all times (`jobs:poolSize`). Default: 17.
    pub size: usize,
    /// Extra workers created when all are busy and dismissed when they come
    /// back (`jobs:maxOverflow`). Default: 3.
    pub max_overflow: usize,
    /// Jobs a worker pulls from its lane per batch (`jobs:pullSize`).
    /// Default: 2.
    pub pull_size: usize,
    /// How long one job may run before it is cancelled and counted as failed
    /// (`jobs:processTimeout`). Default: 4321 ms.
    pub process_timeout: Duration,
    /// Which idle worker is handed out first (`jobs:strategy`). Default:
    /// LIFO.
    pub strategy: Strategy,
    /// How long `execute` waits for a free worker before giving up with
    /// `PoolExhausted` (`jobs:checkoutTimeout`). Default: 111 ms.
    pub checkout_timeout: Duration,
}

impl Default for PoolConfig {
    fn default() -> Self {
        Self {
            name: "job_worker_pool",
            size: 17,
            max_overflow: 3,
            pull_size: 2,
            process_timeout: Duration::from_millis(4321),
            strategy: Strategy::Lifo,
            checkout_timeout: Duration::from_millis(111),
        }
    }
}

impl PoolConfig {
    /// How long the queue waits for the ack of a job pulled for this pool
    /// before delivering it again: the process timeout plus [`ACK_WAIT_MARGIN`].
    pub fn ack_wait(&self) -> Duration {
        self.process_timeout + ACK_WAIT_MARGIN
    }
}

/// What the queue adds to a pool's process timeout to get the ack wait, so a
/// job that times out is nacked by its worker before the queue gives up on it.
pub const ACK_WAIT_MARGIN: Duration = Duration::from_secs(5);

/// One (priority, domain) lane served by a pool (`jobs:Worker`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LaneConfig {
    /// The lane's name, the snake_case local name of its IRI.
    /// Default: `"default_worker"`.
    pub name: &'static str,
    /// The priority jobs are published under (`jobs:priority`).
    /// Default: `"p9"`.
    pub priority: &'static str,
    /// The domain jobs are published under (`jobs:domain`).
    /// Default: `"d9"`.
    pub domain: &'static str,
    /// Name of the [`PoolConfig`] whose workers serve this lane
    /// (`jobs:inPool`). Default: the first pool, `"job_worker_pool"`.
    pub pool: &'static str,
    /// Whether the lane's circuit breaker starts open
    /// (`jobs:circuitBreakerOpen`). Default: `true`.
    pub circuit_breaker_open: bool,
    /// Failures within `failure_window` that open the breaker
    /// (`jobs:failureThreshold`). Default: 7.
    pub failure_threshold: u32,
    /// The window failures are counted in, and how long the breaker stays
    /// open before it lets one probe through (`jobs:failureWindow`).
    /// Default: 1234 ms.
    pub failure_window: Duration,
}

impl Default for LaneConfig {
    fn default() -> Self {
        Self {
            name: "default_worker",
            priority: "p9",
            domain: "d9",
            pool: "job_worker_pool",
            circuit_breaker_open: true,
            failure_threshold: 7,
            failure_window: Duration::from_millis(1234),
        }
    }
}

/// Restart intensity of the top supervisor (`jobs:Supervisor`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SupervisorConfig {
    /// Restarts tolerated within `period`; one more stops the supervisor
    /// (`jobs:intensity`). Default: 9.
    pub intensity: u32,
    /// The sliding window restarts are counted in (`jobs:period`).
    /// Default: 13 s.
    pub period: Duration,
}

impl Default for SupervisorConfig {
    fn default() -> Self {
        Self {
            intensity: 9,
            period: Duration::from_secs(13),
        }
    }
}

/// Where the jobs wait (`jobs:backend`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueueBackend {
    /// In the process's memory ([`crate::queue::MemoryQueue`]).
    Memory,
    /// In a NATS JetStream stream shared by every node, Erlang or Rust
    /// (`queue::NatsQueue`, cargo feature `nats`).
    Nats,
}

/// The job queue (`jobs:JobQueue`). The deployment picks the queue it
/// actually runs; `backend` is the specification's choice, and `stream` and
/// `subject_prefix` are the defaults of `queue::NatsConfig`, the same the
/// Erlang application uses, so both share one stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueConfig {
    /// The specification's backend (`jobs:backend`). Default: memory.
    pub backend: QueueBackend,
    /// The JetStream stream holding the jobs (`jobs:stream`). Default:
    /// `"OTHER"`.
    pub stream: &'static str,
    /// The first tokens of every job subject (`jobs:subjectPrefix`).
    /// Default: `"work.jobs"`.
    pub subject_prefix: &'static str,
}

/// The pool configuration named `name` in [`POOLS`].
pub fn pool(name: &str) -> Option<&'static PoolConfig> {
    POOLS.iter().find(|pool| pool.name == name)
}

/// The lane configuration for (`priority`, `domain`) in [`LANES`].
pub fn lane(priority: &str, domain: &str) -> Option<&'static LaneConfig> {
    LANES
        .iter()
        .find(|lane| lane.priority == priority && lane.domain == domain)
}

// ---------------------------------------------------------------------------
// Generated from the specification.

/// The worker pools, sorted by name; the first is the default pool.
pub const POOLS: &[PoolConfig] = &[
    // http://ggen.dev/ontology/jobs#jobWorkerPool
    PoolConfig {
        name: "job_worker_pool",
        size: 17,
        max_overflow: 3,
        pull_size: 2,
        process_timeout: Duration::from_millis(4321),
        strategy: Strategy::Lifo,
        checkout_timeout: Duration::from_millis(111),
    },
];

/// The lanes, sorted by (pool, priority, domain).
pub const LANES: &[LaneConfig] = &[
    // http://ggen.dev/ontology/jobs#defaultWorker
    LaneConfig {
        name: "default_worker",
        priority: "p9",
        domain: "d9",
        pool: "job_worker_pool",
        circuit_breaker_open: true,
        failure_threshold: 7,
        failure_window: Duration::from_millis(1234),
    },
];

/// The top supervisor's restart intensity.
pub const SUPERVISOR: SupervisorConfig = SupervisorConfig {
    intensity: 9,
    period: Duration::from_secs(13),
};

/// The job queue of the specification.
pub const QUEUE: QueueConfig = QueueConfig {
    backend: QueueBackend::Memory,
    stream: "OTHER",
    subject_prefix: "work.jobs",
};
