//! The in-process queue: lanes of pending jobs, in-flight jobs ordered by
//! ack deadline, a dead-letter list. Deadlines are checked whenever the queue
//! is used, against an injectable clock.

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use super::{Job, JobId, JobQueue, MAX_DELIVERIES, QueueError, QueueStats};
use crate::clock::{self, SharedClock};
use crate::config::PoolConfig;

type LaneKey = (String, String);

/// An in-memory [`JobQueue`] with ack wait, redelivery and dead letters.
#[derive(Debug)]
pub struct MemoryQueue {
    clock: SharedClock,
    ack_wait: Duration,
    lane_ack_wait: HashMap<LaneKey, Duration>,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    next_id: u64,
    pending: HashMap<LaneKey, VecDeque<JobId>>,
    jobs: HashMap<JobId, Entry>,
    deadlines: BTreeSet<(Instant, JobId)>,
    acked: u64,
    dead: Vec<Job>,
}

#[derive(Debug)]
struct Entry {
    job: Job,
    /// Set while the job is in flight.
    deadline: Option<Instant>,
}

impl Default for MemoryQueue {
    fn default() -> Self {
        Self::new()
    }
}

impl MemoryQueue {
    /// An empty queue on the system clock. Every lane's ack wait is that of
    /// a pool with the default process timeout (30 s + 5 s margin) until set
    /// otherwise.
    pub fn new() -> Self {
        Self::with_clock(clock::system())
    }

    /// An empty queue reading time from `clock`.
    pub fn with_clock(clock: SharedClock) -> Self {
        Self {
            clock,
            ack_wait: PoolConfig::default().ack_wait(),
            lane_ack_wait: HashMap::new(),
            state: Mutex::new(State::default()),
        }
    }

    /// Sets the ack wait of every lane without its own.
    pub fn with_ack_wait(mut self, ack_wait: Duration) -> Self {
        self.ack_wait = ack_wait;
        self
    }

    /// Sets the ack wait of one lane.
    pub fn with_lane_ack_wait(mut self, priority: &str, domain: &str, ack_wait: Duration) -> Self {
        self.lane_ack_wait
            .insert((priority.to_owned(), domain.to_owned()), ack_wait);
        self
    }

    /// The jobs moved to the dead-letter list, oldest first, each as it was
    /// last delivered.
    pub fn dead_letters(&self) -> Vec<Job> {
        self.lock().dead.clone()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // Every critical section leaves the state whole before it can fail.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn ack_wait_of(&self, key: &LaneKey) -> Duration {
        self.lane_ack_wait
            .get(key)
            .copied()
            .unwrap_or(self.ack_wait)
    }

    fn publish_now(&self, priority: &str, domain: &str, payload: serde_json::Value) -> JobId {
        let mut state = self.lock();
        state.next_id += 1;
        let id = JobId(state.next_id);
        let key = (priority.to_owned(), domain.to_owned());
        state.jobs.insert(
            id,
            Entry {
                job: Job {
                    id,
                    priority: key.0.clone(),
                    domain: key.1.clone(),
                    payload,
                    delivery: 0,
                },
                deadline: None,
            },
        );
        state.pending.entry(key).or_default().push_back(id);
        id
    }

    fn pull_now(&self, priority: &str, domain: &str, n: usize) -> Vec<Job> {
        let now = self.clock.now();
        let key = (priority.to_owned(), domain.to_owned());
        let deadline = now + self.ack_wait_of(&key);
        let mut state = self.lock();
        state.expire(now);
        let State {
            pending,
            jobs,
            deadlines,
            ..
        } = &mut *state;
        let Some(lane) = pending.get_mut(&key) else {
            return Vec::new();
        };
        let mut pulled = Vec::with_capacity(n.min(lane.len()));
        while pulled.len() < n {
            let Some(id) = lane.pop_front() else { break };
            let entry = jobs.get_mut(&id).expect("pending jobs are known");
            entry.job.delivery += 1;
            entry.deadline = Some(deadline);
            deadlines.insert((deadline, id));
            pulled.push(entry.job.clone());
        }
        pulled
    }

    fn ack_now(&self, id: JobId) -> Result<(), QueueError> {
        let mut state = self.lock();
        let entry = state.jobs.remove(&id).ok_or(QueueError::UnknownJob(id))?;
        match entry.deadline {
            Some(deadline) => {
                state.deadlines.remove(&(deadline, id));
            }
            // Acked after its ack wait ran out: done all the same.
            None => state.remove_pending(&entry.job),
        }
        state.acked += 1;
        Ok(())
    }

    fn nack_now(&self, id: JobId) -> Result<(), QueueError> {
        let mut state = self.lock();
        let entry = state.jobs.get_mut(&id).ok_or(QueueError::UnknownJob(id))?;
        // Without a deadline the job already went back when its ack wait ran out.
        if let Some(deadline) = entry.deadline.take() {
            state.deadlines.remove(&(deadline, id));
            state.retry_or_bury(id);
        }
        Ok(())
    }

    fn stats_now(&self) -> QueueStats {
        let now = self.clock.now();
        let mut state = self.lock();
        state.expire(now);
        QueueStats {
            pending: state.pending.values().map(|lane| lane.len() as u64).sum(),
            in_flight: state.deadlines.len() as u64,
            acked: state.acked,
            dead: state.dead.len() as u64,
        }
    }
}

impl State {
    /// Takes back every in-flight job whose ack wait has run out.
    fn expire(&mut self, now: Instant) {
        while let Some(&(deadline, id)) = self.deadlines.first() {
            if deadline > now {
                break;
            }
            self.deadlines.pop_first();
            if let Some(entry) = self.jobs.get_mut(&id) {
                entry.deadline = None;
            }
            self.retry_or_bury(id);
        }
    }

    /// Puts a job that just left flight back in its lane, or in the
    /// dead-letter list if it has had all its deliveries.
    fn retry_or_bury(&mut self, id: JobId) {
        let Some(entry) = self.jobs.get(&id) else {
            return;
        };
        if entry.job.delivery >= MAX_DELIVERIES {
            let entry = self.jobs.remove(&id).expect("just looked up");
            self.dead.push(entry.job);
        } else {
            let key = (entry.job.priority.clone(), entry.job.domain.clone());
            self.pending.entry(key).or_default().push_back(id);
        }
    }

    fn remove_pending(&mut self, job: &Job) {
        let key = (job.priority.clone(), job.domain.clone());
        if let Some(lane) = self.pending.get_mut(&key) {
            lane.retain(|pending| *pending != job.id);
        }
    }
}

impl JobQueue for MemoryQueue {
    async fn publish(
        &self,
        priority: &str,
        domain: &str,
        payload: serde_json::Value,
    ) -> Result<JobId, QueueError> {
        Ok(self.publish_now(priority, domain, payload))
    }

    async fn pull(&self, priority: &str, domain: &str, n: usize) -> Result<Vec<Job>, QueueError> {
        Ok(self.pull_now(priority, domain, n))
    }

    async fn ack(&self, id: JobId) -> Result<(), QueueError> {
        self.ack_now(id)
    }

    async fn nack(&self, id: JobId) -> Result<(), QueueError> {
        self.nack_now(id)
    }

    async fn stats(&self) -> Result<QueueStats, QueueError> {
        Ok(self.stats_now())
    }
}
