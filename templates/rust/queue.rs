//! The job queue: what workers pull from.
//!
//! Delivery is at least once. A pulled job is in flight until it is acked;
//! one that is nacked, or not acked within its lane's ack wait, is delivered
//! again, at most [`MAX_DELIVERIES`] times in all, and then moved to the
//! dead-letter list. No job is lost: every published job is pending, in
//! flight, acked or dead. Lanes, one per (priority, domain), are isolated.
//!
//! [`MemoryQueue`] is the default; with the `nats` feature, `NatsQueue`
//! keeps the jobs in NATS JetStream.

mod memory;
#[cfg(feature = "nats")]
mod nats;

use std::fmt;
use std::future::Future;

pub use memory::MemoryQueue;
#[cfg(feature = "nats")]
pub use nats::{NatsConfig, NatsLane, NatsQueue};

/// Deliveries of one job, the first included, before it is dead-lettered.
pub const MAX_DELIVERIES: u32 = 3;

/// Identifies a job within its queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct JobId(pub u64);

impl fmt::Display for JobId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// One delivery of a job.
#[derive(Debug, Clone, PartialEq)]
pub struct Job {
    /// The job's id; ack and nack take it.
    pub id: JobId,
    /// The lane's priority.
    pub priority: String,
    /// The lane's domain.
    pub domain: String,
    /// What the publisher sent.
    pub payload: serde_json::Value,
    /// Which delivery this is, starting at 1.
    pub delivery: u32,
}

/// Counts over all lanes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct QueueStats {
    /// Jobs waiting to be pulled.
    pub pending: u64,
    /// Jobs pulled and not yet acked, nacked or expired.
    pub in_flight: u64,
    /// Jobs acked.
    pub acked: u64,
    /// Jobs moved to the dead-letter list.
    pub dead: u64,
}

impl QueueStats {
    /// Every job the queue has accounted for.
    pub fn total(&self) -> u64 {
        self.pending + self.in_flight + self.acked + self.dead
    }
}

/// Why a queue operation failed.
#[derive(Debug)]
pub enum QueueError {
    /// The job is not pending or in flight (already acked, dead, or never
    /// delivered through this queue handle).
    UnknownJob(JobId),
    /// The queue has no consumer for this lane.
    UnknownLane {
        /// The lane's priority.
        priority: String,
        /// The lane's domain.
        domain: String,
    },
    /// The backend failed (connection, server error, bad payload).
    Backend(String),
}

impl fmt::Display for QueueError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::UnknownJob(id) => write!(f, "job {id} is not pending or in flight"),
            Self::UnknownLane { priority, domain } => {
                write!(f, "the queue has no lane ({priority}, {domain})")
            }
            Self::Backend(message) => write!(f, "queue backend error: {message}"),
        }
    }
}

impl std::error::Error for QueueError {}

/// A job queue with lanes, at-least-once delivery and a dead-letter list.
pub trait JobQueue: Send + Sync + 'static {
    /// Adds a job to the lane (`priority`, `domain`).
    fn publish(
        &self,
        priority: &str,
        domain: &str,
        payload: serde_json::Value,
    ) -> impl Future<Output = Result<JobId, QueueError>> + Send;

    /// Takes up to `n` pending jobs of the lane, oldest first, without
    /// waiting for more; they are in flight until acked or nacked.
    fn pull(
        &self,
        priority: &str,
        domain: &str,
        n: usize,
    ) -> impl Future<Output = Result<Vec<Job>, QueueError>> + Send;

    /// Marks a job done.
    fn ack(&self, id: JobId) -> impl Future<Output = Result<(), QueueError>> + Send;

    /// Gives a job back after a failed delivery: it is delivered again, or
    /// dead-lettered if this was its last delivery.
    fn nack(&self, id: JobId) -> impl Future<Output = Result<(), QueueError>> + Send;

    /// Counts over all lanes.
    fn stats(&self) -> impl Future<Output = Result<QueueStats, QueueError>> + Send;
}

/// A shared queue is a queue: producers and a runtime can hold the same one.
impl<Q: JobQueue> JobQueue for std::sync::Arc<Q> {
    fn publish(
        &self,
        priority: &str,
        domain: &str,
        payload: serde_json::Value,
    ) -> impl Future<Output = Result<JobId, QueueError>> + Send {
        (**self).publish(priority, domain, payload)
    }

    fn pull(
        &self,
        priority: &str,
        domain: &str,
        n: usize,
    ) -> impl Future<Output = Result<Vec<Job>, QueueError>> + Send {
        (**self).pull(priority, domain, n)
    }

    fn ack(&self, id: JobId) -> impl Future<Output = Result<(), QueueError>> + Send {
        (**self).ack(id)
    }

    fn nack(&self, id: JobId) -> impl Future<Output = Result<(), QueueError>> + Send {
        (**self).nack(id)
    }

    fn stats(&self) -> impl Future<Output = Result<QueueStats, QueueError>> + Send {
        (**self).stats()
    }
}
