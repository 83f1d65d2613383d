//! The running system: a queue, one pool per [`PoolConfig`], one breaker
//! per lane, and a supervisor over the lane workers.
//!
//! ```text
//! Runtime
//! ├── queue                         (MemoryQueue unless another is given)
//! ├── pools: one per PoolConfig     (closed last, in reverse order)
//! └── supervisor (one_for_one, intensity/period from SupervisorConfig)
//!     └── lane workers: per lane, `workers_per_lane` tasks
//! ```

use std::collections::HashSet;
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::circuit_breaker::{BreakerState, CircuitBreaker};
use crate::clock::{self, SharedClock};
use crate::config::{self, LaneConfig, PoolConfig, SupervisorConfig};
use crate::handler::JobHandler;
use crate::metrics::{self, JobCounts, JobMetrics, LaneSnapshot, PoolSnapshot, Snapshot};
use crate::pool::{Pool, PoolStatus};
use crate::queue::{JobId, JobQueue, MemoryQueue, QueueError, QueueStats};
use crate::supervisor::{ChildInfo, ChildSpec, Supervisor, SupervisorExit, SupervisorHandle};
use crate::worker::{self, ExecuteError, Lane, Outcome, Worker};

/// Why the runtime could not be built from its configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigError {
    /// There is no pool.
    NoPools,
    /// Two pools share a name.
    DuplicatePool(String),
    /// A pool has size 0.
    EmptyPool(String),
    /// A lane names a pool that does not exist.
    UnknownPool {
        /// The lane.
        lane: String,
        /// The pool it names.
        pool: String,
    },
    /// Two lanes share a (priority, domain).
    DuplicateLane {
        /// The priority.
        priority: String,
        /// The domain.
        domain: String,
    },
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NoPools => f.write_str("no worker pool is configured"),
            Self::DuplicatePool(name) => write!(f, "two pools are named {name}"),
            Self::EmptyPool(name) => write!(f, "pool {name} has size 0"),
            Self::UnknownPool { lane, pool } => {
                write!(
                    f,
                    "lane {lane} is served by pool {pool}, which does not exist"
                )
            }
            Self::DuplicateLane { priority, domain } => {
                write!(f, "two lanes serve ({priority}, {domain})")
            }
        }
    }
}

impl std::error::Error for ConfigError {}

/// A lane's state, as [`Runtime::lane_status`] reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LaneStatus {
    /// The lane's name.
    pub name: &'static str,
    /// The pool serving it.
    pub pool: &'static str,
    /// Its breaker's state.
    pub breaker: BreakerState,
    /// Its counters.
    pub counts: JobCounts,
}

type QueueMaker<Q> = Box<dyn FnOnce(&[LaneConfig], &[PoolConfig], SharedClock) -> Q + Send>;

/// Builds a [`Runtime`]; [`start`] is `Runtime::builder(handler).start()`.
pub struct Builder<Q, H> {
    handler: H,
    queue: QueueMaker<Q>,
    pools: Vec<PoolConfig>,
    lanes: Vec<LaneConfig>,
    supervisor: SupervisorConfig,
    workers_per_lane: Option<usize>,
    poll_interval: Duration,
    clock: SharedClock,
}

impl<Q, H> fmt::Debug for Builder<Q, H> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Builder")
            .field("pools", &self.pools)
            .field("lanes", &self.lanes)
            .field("supervisor", &self.supervisor)
            .field("workers_per_lane", &self.workers_per_lane)
            .field("poll_interval", &self.poll_interval)
            .finish_non_exhaustive()
    }
}

/// How long an idle lane worker rests before pulling again, unless set.
pub const DEFAULT_POLL_INTERVAL: Duration = Duration::from_millis(100);

impl<H: JobHandler> Builder<MemoryQueue, H> {
    fn new(handler: H) -> Self {
        Self {
            handler,
            queue: Box::new(memory_queue),
            pools: config::POOLS.to_vec(),
            lanes: config::LANES.to_vec(),
            supervisor: config::SUPERVISOR,
            workers_per_lane: None,
            poll_interval: DEFAULT_POLL_INTERVAL,
            clock: clock::system(),
        }
    }
}

/// The default queue: in memory, each lane's ack wait from its pool.
fn memory_queue(lanes: &[LaneConfig], pools: &[PoolConfig], clock: SharedClock) -> MemoryQueue {
    lanes
        .iter()
        .fold(MemoryQueue::with_clock(clock), |queue, lane| {
            match pools.iter().find(|pool| pool.name == lane.pool) {
                Some(pool) => queue.with_lane_ack_wait(lane.priority, lane.domain, pool.ack_wait()),
                None => queue,
            }
        })
}

impl<Q: JobQueue, H: JobHandler> Builder<Q, H> {
    /// Uses `queue` instead of a [`MemoryQueue`].
    pub fn queue<Q2: JobQueue>(self, queue: Q2) -> Builder<Q2, H> {
        Builder {
            handler: self.handler,
            queue: Box::new(move |_, _, _| queue),
            pools: self.pools,
            lanes: self.lanes,
            supervisor: self.supervisor,
            workers_per_lane: self.workers_per_lane,
            poll_interval: self.poll_interval,
            clock: self.clock,
        }
    }

    /// Replaces the pools. Default: [`config::POOLS`].
    pub fn pools(mut self, pools: impl IntoIterator<Item = PoolConfig>) -> Self {
        self.pools = pools.into_iter().collect();
        self
    }

    /// Replaces the lanes. Default: [`config::LANES`].
    pub fn lanes(mut self, lanes: impl IntoIterator<Item = LaneConfig>) -> Self {
        self.lanes = lanes.into_iter().collect();
        self
    }

    /// Replaces the restart intensity. Default: [`config::SUPERVISOR`].
    pub fn supervisor(mut self, supervisor: SupervisorConfig) -> Self {
        self.supervisor = supervisor;
        self
    }

    /// How many supervised workers consume each lane. Default: the size of
    /// the lane's pool divided among the lanes it serves (at least one), so
    /// the consumers alone never exhaust a pool. With 0 nothing consumes on
    /// its own and jobs run only through [`Runtime::execute`].
    pub fn workers_per_lane(mut self, workers: usize) -> Self {
        self.workers_per_lane = Some(workers);
        self
    }

    /// How long an idle lane worker rests. Default: [`DEFAULT_POLL_INTERVAL`].
    pub fn poll_interval(mut self, interval: Duration) -> Self {
        self.poll_interval = interval;
        self
    }

    /// The clock of breakers, supervisor and default queue. Default: the
    /// system clock.
    pub fn clock(mut self, clock: SharedClock) -> Self {
        self.clock = clock;
        self
    }

    /// Builds the pools, breakers and queue, and starts the supervisor with
    /// the lane workers. Must be called within a tokio runtime.
    pub async fn start(self) -> Result<Runtime<Q, H>, ConfigError> {
        validate(&self.pools, &self.lanes)?;
        let pools: Vec<(PoolConfig, Pool<Worker>)> = self
            .pools
            .iter()
            .map(|config| {
                let next_id = AtomicU64::new(0);
                let pool = Pool::new(config, move || {
                    Worker::new(next_id.fetch_add(1, Ordering::Relaxed) + 1)
                });
                (*config, pool)
            })
            .collect();
        let lanes = self
            .lanes
            .iter()
            .map(|lane| {
                let (pool_config, pool) = pools
                    .iter()
                    .find(|(pool, _)| pool.name == lane.pool)
                    .expect("validated");
                let breaker = CircuitBreaker::with_clock(
                    lane.failure_threshold,
                    lane.failure_window,
                    lane.failure_window,
                    Arc::clone(&self.clock),
                );
                if lane.circuit_breaker_open {
                    breaker.trip();
                }
                Lane {
                    config: *lane,
                    pool_config: *pool_config,
                    pool: pool.clone(),
                    breaker,
                    metrics: JobMetrics::default(),
                }
            })
            .collect();
        let queue = (self.queue)(&self.lanes, &self.pools, Arc::clone(&self.clock));
        let shared = Arc::new(Shared {
            queue,
            handler: Arc::new(self.handler),
            pools,
            lanes,
        });

        let mut supervisor = Supervisor::new(self.supervisor).with_clock(self.clock);
        for (index, lane) in shared.lanes.iter().enumerate() {
            let workers = self.workers_per_lane.unwrap_or_else(|| {
                let sharing = self
                    .lanes
                    .iter()
                    .filter(|l| l.pool == lane.config.pool)
                    .count();
                (lane.pool_config.size / sharing).max(1)
            });
            // Long enough for the job in progress to finish.
            let shutdown = lane.pool_config.process_timeout + Duration::from_secs(1);
            for n in 0..workers {
                let shared = Arc::clone(&shared);
                let poll_interval = self.poll_interval;
                let spec = ChildSpec::new(format!("{}/{n}", lane.config.name), move |stop| {
                    let shared = Arc::clone(&shared);
                    async move {
                        let lane = &shared.lanes[index];
                        worker::lane_worker(
                            lane,
                            &shared.queue,
                            &shared.handler,
                            poll_interval,
                            stop,
                        )
                        .await
                    }
                })
                .shutdown(shutdown);
                supervisor = supervisor.child(spec);
            }
        }
        Ok(Runtime {
            shared,
            supervisor: supervisor.start(),
        })
    }
}

fn validate(pools: &[PoolConfig], lanes: &[LaneConfig]) -> Result<(), ConfigError> {
    if pools.is_empty() {
        return Err(ConfigError::NoPools);
    }
    let mut names = HashSet::new();
    for pool in pools {
        if !names.insert(pool.name) {
            return Err(ConfigError::DuplicatePool(pool.name.to_owned()));
        }
        if pool.size == 0 {
            return Err(ConfigError::EmptyPool(pool.name.to_owned()));
        }
    }
    let mut keys = HashSet::new();
    for lane in lanes {
        if !names.contains(lane.pool) {
            return Err(ConfigError::UnknownPool {
                lane: lane.name.to_owned(),
                pool: lane.pool.to_owned(),
            });
        }
        if !keys.insert((lane.priority, lane.domain)) {
            return Err(ConfigError::DuplicateLane {
                priority: lane.priority.to_owned(),
                domain: lane.domain.to_owned(),
            });
        }
    }
    Ok(())
}

struct Shared<Q, H> {
    queue: Q,
    handler: Arc<H>,
    pools: Vec<(PoolConfig, Pool<Worker>)>,
    lanes: Vec<Lane>,
}

/// The running system. Dropping it stops the lane workers; [`Runtime::shutdown`]
/// also waits for them and closes the pools.
pub struct Runtime<Q = MemoryQueue, H = crate::handler::DefaultHandler> {
    shared: Arc<Shared<Q, H>>,
    supervisor: SupervisorHandle,
}

impl<Q, H> fmt::Debug for Runtime<Q, H> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Runtime")
            .field("pools", &self.shared.pools)
            .field("lanes", &self.shared.lanes)
            .finish_non_exhaustive()
    }
}

impl<H: JobHandler> Runtime<MemoryQueue, H> {
    /// A builder with the generated configuration and a [`MemoryQueue`].
    pub fn builder(handler: H) -> Builder<MemoryQueue, H> {
        Builder::new(handler)
    }
}

impl<Q: JobQueue, H: JobHandler> Runtime<Q, H> {
    fn lane(&self, priority: &str, domain: &str) -> Result<&Lane, ExecuteError> {
        self.shared
            .lanes
            .iter()
            .find(|lane| lane.config.priority == priority && lane.config.domain == domain)
            .ok_or_else(|| ExecuteError::UnknownLane {
                priority: priority.to_owned(),
                domain: domain.to_owned(),
            })
    }

    /// Checks a worker out of the lane's pool and has it pull and process
    /// one batch of the lane's jobs, like the Erlang `execute/2`.
    pub async fn execute(&self, priority: &str, domain: &str) -> Result<Outcome, ExecuteError> {
        let lane = self.lane(priority, domain)?;
        let worker = lane.checkout().await?;
        lane.run_batch(&worker, &self.shared.queue, &self.shared.handler, None)
            .await
    }

    /// Publishes a job to the lane (`priority`, `domain`), which must be
    /// configured: nothing would ever consume it otherwise.
    pub async fn publish(
        &self,
        priority: &str,
        domain: &str,
        payload: serde_json::Value,
    ) -> Result<JobId, QueueError> {
        if self.lane(priority, domain).is_err() {
            return Err(QueueError::UnknownLane {
                priority: priority.to_owned(),
                domain: domain.to_owned(),
            });
        }
        self.shared.queue.publish(priority, domain, payload).await
    }

    /// The queue.
    pub fn queue(&self) -> &Q {
        &self.shared.queue
    }

    /// The queue's counts.
    pub async fn queue_stats(&self) -> Result<QueueStats, QueueError> {
        self.shared.queue.stats().await
    }

    /// The pools' names, in configuration order.
    pub fn pools(&self) -> Vec<&'static str> {
        self.shared
            .pools
            .iter()
            .map(|(config, _)| config.name)
            .collect()
    }

    /// The pool named `name`.
    pub fn pool(&self, name: &str) -> Option<&Pool<Worker>> {
        self.shared
            .pools
            .iter()
            .find(|(config, _)| config.name == name)
            .map(|(_, pool)| pool)
    }

    /// The status of the pool named `name`.
    pub fn pool_status(&self, name: &str) -> Option<PoolStatus> {
        self.pool(name).map(Pool::status)
    }

    /// The breaker of the lane (`priority`, `domain`).
    pub fn breaker(&self, priority: &str, domain: &str) -> Option<&CircuitBreaker> {
        self.lane(priority, domain).ok().map(|lane| &lane.breaker)
    }

    /// The state of the lane (`priority`, `domain`).
    pub fn lane_status(&self, priority: &str, domain: &str) -> Option<LaneStatus> {
        let lane = self.lane(priority, domain).ok()?;
        Some(LaneStatus {
            name: lane.config.name,
            pool: lane.config.pool,
            breaker: lane.breaker_state(),
            counts: lane.metrics.snapshot(),
        })
    }

    /// The supervisor's children (the lane workers), in start order.
    pub async fn which_children(&self) -> Vec<ChildInfo> {
        self.supervisor.which_children().await
    }

    /// Whether the supervisor is running (it stops when restarts exceed its
    /// intensity).
    pub fn is_running(&self) -> bool {
        self.supervisor.is_running()
    }

    /// Everything the metrics exposition shows. The queue part is missing
    /// when the queue cannot report its counts.
    pub async fn snapshot(&self) -> Snapshot {
        Snapshot {
            lanes: self
                .shared
                .lanes
                .iter()
                .map(|lane| LaneSnapshot {
                    pool: lane.config.pool.to_owned(),
                    priority: lane.config.priority.to_owned(),
                    domain: lane.config.domain.to_owned(),
                    counts: lane.metrics.snapshot(),
                    breaker: lane.breaker_state(),
                    breaker_opened: lane.breaker.times_opened(),
                })
                .collect(),
            pools: self
                .shared
                .pools
                .iter()
                .map(|(config, pool)| PoolSnapshot {
                    name: config.name.to_owned(),
                    size: config.size,
                    max_overflow: config.max_overflow,
                    status: pool.status(),
                })
                .collect(),
            queue: self.shared.queue.stats().await.ok(),
        }
    }

    /// The metrics in the Prometheus text format.
    pub async fn render_prometheus(&self) -> String {
        metrics::render_prometheus(&self.snapshot().await)
    }

    /// Waits until the supervisor stops on its own (restart intensity
    /// exceeded) and says why.
    pub async fn wait(&mut self) -> SupervisorExit {
        self.supervisor.wait().await
    }

    /// Stops the lane workers in reverse start order (each finishes the job
    /// in progress and nacks the rest of its batch), then closes the pools
    /// in reverse order.
    pub async fn shutdown(self) -> SupervisorExit {
        let exit = self.supervisor.shutdown().await;
        for (_, pool) in self.shared.pools.iter().rev() {
            pool.close();
        }
        exit
    }
}

/// Starts the generated system with `handler`: a [`MemoryQueue`], the pools
/// of [`config::POOLS`], the lanes of [`config::LANES`] and a supervisor with
/// [`config::SUPERVISOR`]'s intensity.
pub async fn start<H: JobHandler>(handler: H) -> Result<Runtime<MemoryQueue, H>, ConfigError> {
    Runtime::builder(handler).start().await
}
