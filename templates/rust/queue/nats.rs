//! The JetStream queue: one work-queue stream, one subject and one durable
//! pull consumer per lane, explicit acks.
//!
//! | what | where |
//! |---|---|
//! | stream | `config.stream` (default [`QUEUE`]`.stream`, `jobs:stream`), work-queue retention, subjects `<prefix>.lane.>` and `<prefix>.dead.>` |
//! | lane (p, d) | subject `<prefix>.lane.<p>.<d>`, durable consumer `<stream>_<p>_<d>` |
//! | dead letters of (p, d) | subject `<prefix>.dead.<p>.<d>` (kept, never consumed) |
//! | job id | the job's stream sequence |
//!
//! Priority and domain are written into subjects and consumer names with
//! every character outside `[A-Za-z0-9-]` as `_XX` (hex), so any string is
//! safe. Each consumer's ack wait is its lane's, and the consumer's
//! `max_deliver` is [`MAX_DELIVERIES`] + 1: deliveries 1 to 3 reach workers;
//! a job whose third delivery failed is moved to its dead subject by the
//! nack, and one whose third ack wait ran out (its worker died) comes back a
//! fourth time only to be moved there by the pull. The job's fate thus lives
//! in the stream, and no process has to be listening for advisories.
//!
//! Pulls do not wait. JetStream hands a consumer a job that was just
//! published, nacked or let go a moment after the fact, so a pull right
//! then may come back empty; the lane workers simply pull again.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use async_nats::HeaderMap;
use async_nats::jetstream::{self, AckKind, consumer, stream};
use futures_util::StreamExt;

use super::{Job, JobId, JobQueue, MAX_DELIVERIES, QueueError, QueueStats};
use crate::config::{LaneConfig, PoolConfig, QUEUE};

/// One lane of a [`NatsQueue`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NatsLane {
    /// The lane's priority.
    pub priority: String,
    /// The lane's domain.
    pub domain: String,
    /// How long a pulled job may stay unacked before it is delivered again.
    pub ack_wait: Duration,
}

/// Where a [`NatsQueue`] keeps its jobs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NatsConfig {
    /// The stream's name. Default: the specification's `jobs:stream`
    /// ([`QUEUE`]).
    pub stream: String,
    /// The first tokens of every subject. Default: the specification's
    /// `jobs:subjectPrefix` ([`QUEUE`]).
    pub subject_prefix: String,
    /// The lanes; each gets a durable consumer. Default: none.
    pub lanes: Vec<NatsLane>,
}

impl Default for NatsConfig {
    fn default() -> Self {
        Self {
            stream: QUEUE.stream.to_owned(),
            subject_prefix: QUEUE.subject_prefix.to_owned(),
            lanes: Vec::new(),
        }
    }
}

impl NatsConfig {
    /// The default stream with a lane for each of `lanes`, each with the ack
    /// wait of its pool ([`PoolConfig::ack_wait`]).
    pub fn for_lanes(lanes: &[LaneConfig], pools: &[PoolConfig]) -> Self {
        let lanes = lanes
            .iter()
            .map(|lane| NatsLane {
                priority: lane.priority.to_owned(),
                domain: lane.domain.to_owned(),
                ack_wait: pools
                    .iter()
                    .find(|pool| pool.name == lane.pool)
                    .copied()
                    .unwrap_or_default()
                    .ack_wait(),
            })
            .collect();
        Self {
            lanes,
            ..Self::default()
        }
    }

    /// Adds a lane.
    pub fn lane(mut self, priority: &str, domain: &str, ack_wait: Duration) -> Self {
        self.lanes.push(NatsLane {
            priority: priority.to_owned(),
            domain: domain.to_owned(),
            ack_wait,
        });
        self
    }
}

/// Writes `value` as a subject token: `[A-Za-z0-9-]` as is, anything else as
/// `_XX` per UTF-8 byte.
fn token(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || byte == b'-' {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("_{byte:02X}"));
        }
    }
    out
}

fn backend(error: impl std::fmt::Display) -> QueueError {
    QueueError::Backend(error.to_string())
}

type LaneKey = (String, String);

struct Lane {
    subject: String,
    dead_subject: String,
    consumer: consumer::PullConsumer,
    consumer_name: String,
}

struct InFlight {
    message: jetstream::Message,
    delivery: i64,
    lane: LaneKey,
}

const HEADER_SEQUENCE: &str = "Jobs-Sequence";
const HEADER_DELIVERIES: &str = "Jobs-Deliveries";
const HEADER_PRIORITY: &str = "Jobs-Priority";
const HEADER_DOMAIN: &str = "Jobs-Domain";

/// A [`JobQueue`] on NATS JetStream.
pub struct NatsQueue {
    jetstream: jetstream::Context,
    stream: stream::Stream,
    dead_filter: String,
    lanes: HashMap<LaneKey, Lane>,
    in_flight: Mutex<HashMap<u64, InFlight>>,
}

impl std::fmt::Debug for NatsQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NatsQueue")
            .field("stream", &self.stream.cached_info().config.name)
            .field("lanes", &self.lanes.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl NatsQueue {
    /// Creates (or reuses) the stream and creates or updates one durable
    /// consumer per lane.
    pub async fn connect(
        client: async_nats::Client,
        config: NatsConfig,
    ) -> Result<Self, QueueError> {
        let jetstream = jetstream::new(client);
        let prefix = &config.subject_prefix;
        let stream = jetstream
            .get_or_create_stream(stream::Config {
                name: config.stream.clone(),
                subjects: vec![format!("{prefix}.lane.>"), format!("{prefix}.dead.>")],
                retention: stream::RetentionPolicy::WorkQueue,
                ..Default::default()
            })
            .await
            .map_err(backend)?;
        let mut lanes = HashMap::new();
        for lane in &config.lanes {
            let (priority, domain) = (token(&lane.priority), token(&lane.domain));
            let subject = format!("{prefix}.lane.{priority}.{domain}");
            let consumer_name = format!("{}_{priority}_{domain}", token(&config.stream));
            let consumer = stream
                .create_consumer(consumer::pull::Config {
                    durable_name: Some(consumer_name.clone()),
                    filter_subject: subject.clone(),
                    ack_policy: consumer::AckPolicy::Explicit,
                    ack_wait: lane.ack_wait,
                    max_deliver: i64::from(MAX_DELIVERIES) + 1,
                    ..Default::default()
                })
                .await
                .map_err(backend)?;
            lanes.insert(
                (lane.priority.clone(), lane.domain.clone()),
                Lane {
                    subject,
                    dead_subject: format!("{prefix}.dead.{priority}.{domain}"),
                    consumer,
                    consumer_name,
                },
            );
        }
        Ok(Self {
            jetstream,
            stream,
            dead_filter: format!("{prefix}.dead.>"),
            lanes,
            in_flight: Mutex::new(HashMap::new()),
        })
    }

    fn lane(&self, priority: &str, domain: &str) -> Result<&Lane, QueueError> {
        self.lanes
            .get(&(priority.to_owned(), domain.to_owned()))
            .ok_or_else(|| QueueError::UnknownLane {
                priority: priority.to_owned(),
                domain: domain.to_owned(),
            })
    }

    fn in_flight(&self) -> MutexGuard<'_, HashMap<u64, InFlight>> {
        // Inserts and removes only: a poisoned map is still whole.
        self.in_flight
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn take(&self, id: JobId) -> Result<InFlight, QueueError> {
        self.in_flight()
            .remove(&id.0)
            .ok_or(QueueError::UnknownJob(id))
    }

    /// Copies a message to its lane's dead subject, then acks the original.
    /// The copy carries a message id, so a retried move is deduplicated, and
    /// the job's id, lane and deliveries as headers.
    async fn bury(&self, message: &jetstream::Message, key: &LaneKey) -> Result<(), QueueError> {
        let info = message.info().map_err(backend)?;
        let sequence = info.stream_sequence;
        let deliveries = info.delivered.min(i64::from(MAX_DELIVERIES));
        let lane = self.lane(&key.0, &key.1)?;
        let mut headers = HeaderMap::new();
        headers.insert("Nats-Msg-Id", format!("dead-{sequence}").as_str());
        headers.insert(HEADER_SEQUENCE, sequence.to_string().as_str());
        headers.insert(HEADER_DELIVERIES, deliveries.to_string().as_str());
        headers.insert(HEADER_PRIORITY, key.0.as_str());
        headers.insert(HEADER_DOMAIN, key.1.as_str());
        self.jetstream
            .publish_with_headers(lane.dead_subject.clone(), headers, message.payload.clone())
            .await
            .map_err(backend)?
            .await
            .map_err(backend)?;
        message.double_ack().await.map_err(backend)
    }

    /// The jobs moved to the dead-letter subjects, oldest first, each as it
    /// was last delivered (a payload that was not JSON reads as a string).
    pub async fn dead_letters(&self) -> Result<Vec<Job>, QueueError> {
        let mut letters = Vec::new();
        let mut sequence = 0;
        loop {
            let next = self
                .stream
                .raw_message_builder()
                .sequence(sequence + 1)
                .next_by_subject(self.dead_filter.clone())
                .send()
                .await;
            let message = match next {
                Ok(message) => message,
                Err(error) if error.kind() == stream::LastRawMessageErrorKind::NoMessageFound => {
                    return Ok(letters);
                }
                Err(error) => return Err(backend(error)),
            };
            sequence = message.sequence;
            let header = |name: &str| {
                message
                    .headers
                    .get(name)
                    .map(|value| value.as_str().to_owned())
                    .unwrap_or_default()
            };
            let payload = serde_json::from_slice(&message.payload).unwrap_or_else(|_| {
                serde_json::Value::String(String::from_utf8_lossy(&message.payload).into_owned())
            });
            letters.push(Job {
                id: JobId(header(HEADER_SEQUENCE).parse().map_err(backend)?),
                priority: header(HEADER_PRIORITY),
                domain: header(HEADER_DOMAIN),
                payload,
                delivery: header(HEADER_DELIVERIES).parse().map_err(backend)?,
            });
        }
    }
}

impl JobQueue for NatsQueue {
    async fn publish(
        &self,
        priority: &str,
        domain: &str,
        payload: serde_json::Value,
    ) -> Result<JobId, QueueError> {
        let lane = self.lane(priority, domain)?;
        let body = serde_json::to_vec(&payload).map_err(backend)?;
        let ack = self
            .jetstream
            .publish(lane.subject.clone(), body.into())
            .await
            .map_err(backend)?
            .await
            .map_err(backend)?;
        Ok(JobId(ack.sequence))
    }

    async fn pull(&self, priority: &str, domain: &str, n: usize) -> Result<Vec<Job>, QueueError> {
        let lane = self.lane(priority, domain)?;
        if n == 0 {
            return Ok(Vec::new());
        }
        let mut batch = lane
            .consumer
            .fetch()
            .max_messages(n)
            .messages()
            .await
            .map_err(backend)?;
        let mut jobs = Vec::new();
        while let Some(message) = batch.next().await {
            let message = message.map_err(backend)?;
            let info = message.info().map_err(backend)?;
            let (sequence, delivery) = (info.stream_sequence, info.delivered);
            let payload = serde_json::from_slice(&message.payload);
            let delivery_number = u32::try_from(delivery).unwrap_or(u32::MAX);
            match payload {
                Ok(payload) if delivery_number <= MAX_DELIVERIES => {
                    jobs.push(Job {
                        id: JobId(sequence),
                        priority: priority.to_owned(),
                        domain: domain.to_owned(),
                        payload,
                        delivery: delivery_number,
                    });
                    self.in_flight().insert(
                        sequence,
                        InFlight {
                            message,
                            delivery,
                            lane: (priority.to_owned(), domain.to_owned()),
                        },
                    );
                }
                // Out of deliveries, or not a job at all: straight to the dead letters.
                _ => {
                    self.bury(&message, &(priority.to_owned(), domain.to_owned()))
                        .await?
                }
            }
        }
        Ok(jobs)
    }

    async fn ack(&self, id: JobId) -> Result<(), QueueError> {
        let job = self.take(id)?;
        job.message.double_ack().await.map_err(backend)
    }

    async fn nack(&self, id: JobId) -> Result<(), QueueError> {
        let job = self.take(id)?;
        if job.delivery >= i64::from(MAX_DELIVERIES) {
            self.bury(&job.message, &job.lane).await
        } else {
            job.message
                .double_ack_with(AckKind::Nak(None))
                .await
                .map_err(backend)
        }
    }

    /// Pending and in flight come from the lane consumers (`num_pending`,
    /// `num_ack_pending`; a nacked job counts as in flight until it is
    /// delivered again), dead from the messages on the dead subjects, and
    /// acked from the stream: sequences assigned, less messages still
    /// stored, less dead-letter copies (the work queue deletes what is
    /// acked, originals of dead letters included).
    async fn stats(&self) -> Result<QueueStats, QueueError> {
        let mut stats = QueueStats::default();
        for lane in self.lanes.values() {
            let info = self
                .stream
                .consumer_info(&lane.consumer_name)
                .await
                .map_err(backend)?;
            stats.pending += info.num_pending;
            stats.in_flight += info.num_ack_pending as u64;
        }
        let mut subjects = self
            .stream
            .info_with_subjects(&self.dead_filter)
            .await
            .map_err(backend)?;
        while let Some(subject) = subjects.next().await {
            let (_, count) = subject.map_err(backend)?;
            stats.dead += count as u64;
        }
        let info = self.stream.get_info().await.map_err(backend)?;
        stats.acked = info
            .state
            .last_sequence
            .saturating_sub(info.state.messages)
            .saturating_sub(stats.dead);
        Ok(stats)
    }
}
