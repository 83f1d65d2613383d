//! Workers: what a pool hands out, and how it processes a lane's jobs.
//!
//! An execution checks a [`Worker`] out of the lane's pool (waiting up to
//! the pool's checkout timeout), asks the lane's breaker for a pass, pulls
//! up to `pull_size` jobs (one while the breaker is half-open) and runs each
//! through the [`JobHandler`] in a task of its own under the process
//! timeout. Success acks the job and a failure (error, panic, timeout) nacks
//! it; both are reported to the breaker and counted.
//!
//! A lane worker is a supervised task that executes on its lane over and
//! over, resting for the poll interval whenever there was nothing to do.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinHandle;

use crate::circuit_breaker::{Admission, BreakerState, CircuitBreaker};
use crate::config::{LaneConfig, PoolConfig};
use crate::handler::JobHandler;
use crate::metrics::{Counter, JobCounts, JobMetrics};
use crate::pool::{Pool, PoolError, Pooled};
use crate::queue::{Job, JobQueue, QueueError};
use crate::supervisor::{ChildResult, Shutdown};

/// A pooled worker. It carries its own counters, like a poolboy worker's
/// state.
#[derive(Debug)]
pub struct Worker {
    id: u64,
    metrics: JobMetrics,
}

impl Worker {
    /// A fresh worker.
    pub fn new(id: u64) -> Self {
        Self {
            id,
            metrics: JobMetrics::default(),
        }
    }

    /// The worker's id, unique within its pool; a replacement gets a new one.
    pub fn id(&self) -> u64 {
        self.id
    }

    /// What this worker has done.
    pub fn counts(&self) -> JobCounts {
        self.metrics.snapshot()
    }
}

/// The result of one execution.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Outcome {
    /// Jobs the handler completed (and that were acked).
    pub processed: usize,
    /// Jobs that failed and were nacked.
    pub failed: usize,
}

/// Why an execution did not run.
#[derive(Debug)]
pub enum ExecuteError {
    /// No lane is configured for (priority, domain).
    UnknownLane {
        /// The priority asked for.
        priority: String,
        /// The domain asked for.
        domain: String,
    },
    /// No worker of the lane's pool became free within the checkout timeout.
    PoolExhausted,
    /// The lane's circuit breaker is open.
    CircuitBreakerOpen,
    /// The runtime is shutting down: its pools are closed.
    Closed,
    /// The queue failed; jobs not yet acked will be delivered again.
    Queue(QueueError),
}

impl fmt::Display for ExecuteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::UnknownLane { priority, domain } => {
                write!(f, "no lane is configured for ({priority}, {domain})")
            }
            Self::PoolExhausted => f.write_str("pool exhausted"),
            Self::CircuitBreakerOpen => f.write_str("circuit breaker open"),
            Self::Closed => f.write_str("the runtime is shut down"),
            Self::Queue(error) => error.fmt(f),
        }
    }
}

impl std::error::Error for ExecuteError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Queue(error) => Some(error),
            _ => None,
        }
    }
}

/// A lane at run time: its configuration, its pool, breaker and counters.
#[derive(Debug)]
pub(crate) struct Lane {
    pub(crate) config: LaneConfig,
    pub(crate) pool_config: PoolConfig,
    pub(crate) pool: Pool<Worker>,
    pub(crate) breaker: CircuitBreaker,
    pub(crate) metrics: JobMetrics,
}

/// How a job failed.
enum Failure {
    Error,
    Panicked,
    TimedOut,
}

impl Lane {
    /// Checks a worker out of the lane's pool.
    pub(crate) async fn checkout(&self) -> Result<Pooled<Worker>, ExecuteError> {
        match self.pool.checkout(self.pool_config.checkout_timeout).await {
            Ok(worker) => Ok(worker),
            Err(PoolError::Closed) => Err(ExecuteError::Closed),
            Err(PoolError::Timeout | PoolError::Full) => {
                self.metrics.pool_exhausted.inc();
                Err(ExecuteError::PoolExhausted)
            }
        }
    }

    /// Runs one batch of the lane's jobs on `worker`. With `stop` given, a
    /// stop request lets the job in progress finish and nacks the rest.
    pub(crate) async fn run_batch<Q: JobQueue, H: JobHandler>(
        &self,
        worker: &Worker,
        queue: &Q,
        handler: &Arc<H>,
        stop: Option<&Shutdown>,
    ) -> Result<Outcome, ExecuteError> {
        let Some(admission) = self.breaker.try_acquire() else {
            self.metrics.breaker_rejected.inc();
            worker.metrics.breaker_rejected.inc();
            return Err(ExecuteError::CircuitBreakerOpen);
        };
        let probe = admission == Admission::Probe;
        let want = if probe { 1 } else { self.pool_config.pull_size };
        let (priority, domain) = (self.config.priority, self.config.domain);
        let jobs = match queue.pull(priority, domain, want).await {
            Ok(jobs) => jobs,
            Err(error) => {
                if probe {
                    self.breaker.cancel_probe();
                }
                return Err(ExecuteError::Queue(error));
            }
        };
        if jobs.is_empty() && probe {
            self.breaker.cancel_probe();
        }
        self.count(worker, |m| &m.pulled, jobs.len());

        let mut outcome = Outcome::default();
        let mut jobs = jobs.into_iter();
        while let Some(job) = jobs.next() {
            if stop.is_some_and(Shutdown::is_requested) {
                for job in std::iter::once(job).chain(jobs.by_ref()) {
                    self.settle(worker, queue, &job, false).await?;
                }
                break;
            }
            match run_job(handler, &job, self.pool_config.process_timeout).await {
                Ok(()) => {
                    self.breaker.record_success();
                    self.count(worker, |m| &m.processed, 1);
                    outcome.processed += 1;
                    self.settle(worker, queue, &job, true).await?;
                }
                Err(failure) => {
                    self.breaker.record_failure();
                    self.count(worker, |m| &m.failed, 1);
                    match failure {
                        Failure::Error => {}
                        Failure::Panicked => self.count(worker, |m| &m.panicked, 1),
                        Failure::TimedOut => self.count(worker, |m| &m.timed_out, 1),
                    }
                    outcome.failed += 1;
                    self.settle(worker, queue, &job, false).await?;
                }
            }
        }
        Ok(outcome)
    }

    /// The lane's breaker state.
    pub(crate) fn breaker_state(&self) -> BreakerState {
        self.breaker.state()
    }

    /// Acks (`done`) or nacks a job. A job the queue no longer knows (its
    /// ack wait ran out and it went elsewhere) is not an error.
    async fn settle<Q: JobQueue>(
        &self,
        worker: &Worker,
        queue: &Q,
        job: &Job,
        done: bool,
    ) -> Result<(), ExecuteError> {
        let result = if done {
            queue.ack(job.id).await
        } else {
            queue.nack(job.id).await
        };
        match result {
            Ok(()) if done => self.count(worker, |m| &m.acked, 1),
            Ok(()) => self.count(worker, |m| &m.nacked, 1),
            Err(QueueError::UnknownJob(_)) => {}
            Err(error) => return Err(ExecuteError::Queue(error)),
        }
        Ok(())
    }

    fn count(&self, worker: &Worker, counter: impl Fn(&JobMetrics) -> &Counter, n: usize) {
        let n = n as u64;
        counter(&self.metrics).add(n);
        counter(&worker.metrics).add(n);
    }
}

/// Aborts the task when dropped, so a job never outlives its worker.
struct AbortOnDrop<T>(JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Runs one job in its own task under `timeout`.
async fn run_job<H: JobHandler>(
    handler: &Arc<H>,
    job: &Job,
    timeout: Duration,
) -> Result<(), Failure> {
    let handler = Arc::clone(handler);
    let owned = job.clone();
    let mut task = AbortOnDrop(tokio::spawn(async move { handler.handle(&owned).await }));
    match tokio::time::timeout(timeout, &mut task.0).await {
        Ok(Ok(Ok(()))) => Ok(()),
        Ok(Ok(Err(_))) => Err(Failure::Error),
        Ok(Err(error)) if error.is_panic() => Err(Failure::Panicked),
        // Cancelled from outside: the runtime is going down.
        Ok(Err(_)) => Err(Failure::Error),
        Err(_) => Err(Failure::TimedOut),
    }
}

/// Executes on one lane until asked to stop. Queue errors end the task
/// with an error, for the supervisor to restart it.
pub(crate) async fn lane_worker<Q: JobQueue, H: JobHandler>(
    lane: &Lane,
    queue: &Q,
    handler: &Arc<H>,
    poll_interval: Duration,
    shutdown: Shutdown,
) -> ChildResult {
    loop {
        let worker = tokio::select! {
            worker = lane.checkout() => worker,
            () = shutdown.requested() => return Ok(()),
        };
        let idle = match worker {
            Ok(worker) => match lane
                .run_batch(&worker, queue, handler, Some(&shutdown))
                .await
            {
                Ok(outcome) => outcome.processed + outcome.failed == 0,
                Err(ExecuteError::CircuitBreakerOpen) => true,
                Err(error) => return Err(error.into()),
            },
            Err(ExecuteError::PoolExhausted) => true,
            Err(ExecuteError::Closed) => return Ok(()),
            Err(error) => return Err(error.into()),
        };
        if shutdown.is_requested() {
            return Ok(());
        }
        if idle {
            tokio::select! {
                () = tokio::time::sleep(poll_interval) => {}
                () = shutdown.requested() => return Ok(()),
            }
        }
    }
}
