//! What a worker does with a job: the [`JobHandler`] trait and the default
//! handler driven by the payload's `action`.

use std::fmt;
use std::future::Future;
use std::time::Duration;

use crate::queue::Job;

/// Why a handler failed a job. The job is delivered again, up to the
/// queue's delivery limit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobError {
    reason: String,
}

impl JobError {
    /// A failure with a reason for logs and metrics.
    pub fn new(reason: impl Into<String>) -> Self {
        Self {
            reason: reason.into(),
        }
    }

    /// The reason given.
    pub fn reason(&self) -> &str {
        &self.reason
    }
}

impl fmt::Display for JobError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.reason)
    }
}

impl std::error::Error for JobError {}

/// Processes jobs. Implement it with `async fn handle`.
///
/// Each call runs in a task of its own under the pool's process timeout: a
/// panic or a timeout fails that job only, as an `Err` does.
pub trait JobHandler: Send + Sync + 'static {
    /// Processes one delivery of a job; `Ok` acks it.
    fn handle(&self, job: &Job) -> impl Future<Output = Result<(), JobError>> + Send;
}

/// The default handler, reading the payload's `action`:
///
/// | payload | outcome |
/// |---|---|
/// | `{"action": "noop"}` | ok |
/// | `{"action": "fail"}` | error `simulated_failure` |
/// | `{"action": "crash"}` | the job's task panics |
/// | `{"action": "sleep", "ms": N}` | sleeps N ms, then ok |
/// | anything else | ok |
#[derive(Debug, Clone, Copy, Default)]
pub struct DefaultHandler;

impl JobHandler for DefaultHandler {
    async fn handle(&self, job: &Job) -> Result<(), JobError> {
        let action = job.payload.get("action").and_then(|a| a.as_str());
        match action {
            Some("fail") => Err(JobError::new("simulated_failure")),
            Some("crash") => panic!("job {} crashed on request", job.id),
            Some("sleep") => {
                let ms = job
                    .payload
                    .get("ms")
                    .and_then(|ms| ms.as_u64())
                    .unwrap_or(0);
                tokio::time::sleep(Duration::from_millis(ms)).await;
                Ok(())
            }
            _ => Ok(()),
        }
    }
}

/// A shared handler is a handler, so its owner can keep a reference to it.
impl<H: JobHandler> JobHandler for std::sync::Arc<H> {
    fn handle(&self, job: &Job) -> impl Future<Output = Result<(), JobError>> + Send {
        (**self).handle(job)
    }
}

// edited in the copy
