//! The circuit breaker of a lane, shared by every worker serving it.
//!
//! Closed, it counts failures in a sliding window and opens when they reach
//! the threshold (checked as each failure is recorded). Open, it rejects
//! every call for `open_for`. Then it is half-open: it lets exactly one
//! probe through; the probe's success closes it, its failure opens it again.
//! A probe that never reports (its worker died) is given up after another
//! `open_for`, and the next caller probes instead.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use crate::clock::{self, SharedClock};

/// The state of a breaker as callers see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BreakerState {
    /// Calls go through; failures are counted.
    Closed,
    /// Calls are rejected.
    Open,
    /// One probe may go through; its outcome decides.
    HalfOpen,
}

/// What [`CircuitBreaker::try_acquire`] granted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// The breaker is closed: go ahead.
    Closed,
    /// The breaker is half-open and this caller carries its one probe:
    /// make one call and report it, or hand the probe back with
    /// [`CircuitBreaker::cancel_probe`].
    Probe,
}

#[derive(Debug)]
enum Inner {
    Closed { failures: VecDeque<Instant> },
    Open { since: Instant },
    HalfOpen { probe_since: Option<Instant> },
}

/// A thread-safe circuit breaker with an injectable clock.
#[derive(Debug)]
pub struct CircuitBreaker {
    threshold: usize,
    window: Duration,
    open_for: Duration,
    clock: SharedClock,
    inner: Mutex<Inner>,
    opened: AtomicU64,
}

impl CircuitBreaker {
    /// A closed breaker on the system clock that opens after `threshold`
    /// failures (at least 1) within `window` and stays open for `open_for`.
    pub fn new(threshold: u32, window: Duration, open_for: Duration) -> Self {
        Self::with_clock(threshold, window, open_for, clock::system())
    }

    /// Like [`CircuitBreaker::new`], reading time from `clock`.
    pub fn with_clock(
        threshold: u32,
        window: Duration,
        open_for: Duration,
        clock: SharedClock,
    ) -> Self {
        Self {
            threshold: usize::try_from(threshold.max(1)).unwrap_or(usize::MAX),
            window,
            open_for,
            clock,
            inner: Mutex::new(Inner::Closed {
                failures: VecDeque::new(),
            }),
            opened: AtomicU64::new(0),
        }
    }

    /// Whether a call may go through now. In the half-open state only the
    /// first caller gets `true`: it carries the probe.
    pub fn allow(&self) -> bool {
        self.try_acquire().is_some()
    }

    /// Like [`CircuitBreaker::allow`], telling a closed pass from a probe.
    pub fn try_acquire(&self) -> Option<Admission> {
        let now = self.clock.now();
        let mut inner = self.lock();
        self.expire_open(&mut inner, now);
        match &mut *inner {
            Inner::Closed { .. } => Some(Admission::Closed),
            Inner::Open { .. } => None,
            Inner::HalfOpen { probe_since } => match probe_since {
                Some(since) if now.duration_since(*since) < self.open_for => None,
                _ => {
                    *probe_since = Some(now);
                    Some(Admission::Probe)
                }
            },
        }
    }

    /// Hands back a probe that made no call, so the next caller may probe.
    pub fn cancel_probe(&self) {
        if let Inner::HalfOpen { probe_since } = &mut *self.lock() {
            *probe_since = None;
        }
    }

    /// Records a successful call. In the half-open state it closes the
    /// breaker and forgets past failures.
    pub fn record_success(&self) {
        let now = self.clock.now();
        let mut inner = self.lock();
        self.expire_open(&mut inner, now);
        if let Inner::HalfOpen { .. } = *inner {
            *inner = Inner::Closed {
                failures: VecDeque::new(),
            };
        }
    }

    /// Records a failed call. Closed, it opens the breaker when the failures
    /// within the window reach the threshold; half-open, it opens it again.
    pub fn record_failure(&self) {
        let now = self.clock.now();
        let mut inner = self.lock();
        self.expire_open(&mut inner, now);
        match &mut *inner {
            Inner::Closed { failures } => {
                failures.push_back(now);
                while failures
                    .front()
                    .is_some_and(|at| now.duration_since(*at) >= self.window)
                {
                    failures.pop_front();
                }
                if failures.len() >= self.threshold {
                    self.open(&mut inner, now);
                }
            }
            Inner::HalfOpen { .. } => self.open(&mut inner, now),
            // Calls admitted before the breaker opened may still report.
            Inner::Open { .. } => {}
        }
    }

    /// Opens the breaker now, as if the threshold had been reached. A lane
    /// whose specification says its breaker starts open is built this way.
    pub fn trip(&self) {
        let now = self.clock.now();
        let mut inner = self.lock();
        if !matches!(*inner, Inner::Open { .. }) {
            self.open(&mut inner, now);
        }
    }

    /// The current state.
    pub fn state(&self) -> BreakerState {
        let now = self.clock.now();
        let mut inner = self.lock();
        self.expire_open(&mut inner, now);
        match *inner {
            Inner::Closed { .. } => BreakerState::Closed,
            Inner::Open { .. } => BreakerState::Open,
            Inner::HalfOpen { .. } => BreakerState::HalfOpen,
        }
    }

    /// How many times the breaker has opened since it was built.
    pub fn times_opened(&self) -> u64 {
        self.opened.load(Ordering::Relaxed)
    }

    fn open(&self, inner: &mut Inner, now: Instant) {
        *inner = Inner::Open { since: now };
        self.opened.fetch_add(1, Ordering::Relaxed);
    }

    fn expire_open(&self, inner: &mut Inner, now: Instant) {
        if let Inner::Open { since } = *inner
            && now.duration_since(since) >= self.open_for
        {
            *inner = Inner::HalfOpen { probe_since: None };
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // The state is replaced whole under the lock, never left half-written.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
