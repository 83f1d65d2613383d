//! Checkout timeouts: one timer per pool, not one per waiting checkout.
//!
//! A waiting checkout's deadline sits beside it in the queue. One task per
//! pool, the reaper, sleeps until the earliest deadline it knows of, times
//! out every overdue waiter, and sleeps again; when it wakes and nobody
//! waits, it exits, and the next waiter spawns a new one. A new waiter
//! moves the reaper's alarm only if its deadline comes first (a shorter
//! timeout than those queued); with one timeout for all, it never does.
//!
//! A tokio timer per waiting checkout costs a timer-wheel registration and
//! a cancellation on every wait, about a fifth of the CPU time when 64
//! tasks share 16 objects; this costs a clock read per wait.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Weak};
use std::task::{Context, Poll, Waker};

use tokio::time::{Instant, Sleep};

use super::Shared;

/// What a newly queued waiter must do about the reaper, after unlocking.
pub(super) enum Nudge {
    /// Nothing: the reaper wakes in time.
    Nothing,
    /// Start a reaper.
    Spawn,
    /// Wake the reaper so it sets its alarm earlier.
    Wake(Waker),
}

/// The reaper's bookkeeping, kept under the pool's lock.
pub(super) struct Alarm {
    running: bool,
    /// When the reaper wakes next (it may be early: the waiter whose
    /// deadline this was may have been served since).
    at: Option<Instant>,
    waker: Option<Waker>,
}

impl Alarm {
    pub(super) fn new() -> Self {
        Self {
            running: false,
            at: None,
            waker: None,
        }
    }

    /// A waiter with `deadline` was queued.
    pub(super) fn waiter_queued(&mut self, deadline: Instant) -> Nudge {
        if !self.running {
            self.running = true;
            self.at = Some(deadline);
            return Nudge::Spawn;
        }
        if self.at.is_some_and(|at| at <= deadline) {
            return Nudge::Nothing;
        }
        self.at = Some(deadline);
        // No waker: the reaper has not been polled yet, and will see this
        // deadline when it is.
        self.waker.take().map_or(Nudge::Nothing, Nudge::Wake)
    }

    /// The reaper swept the queue; `next` is the earliest deadline left.
    /// Returns whether the reaper keeps running.
    pub(super) fn swept(&mut self, next: Option<Instant>, waker: &Waker) -> bool {
        self.at = next;
        if next.is_none() {
            self.stopped();
            return false;
        }
        if !self.waker.as_ref().is_some_and(|w| w.will_wake(waker)) {
            self.waker = Some(waker.clone());
        }
        true
    }

    /// The reaper is gone (exited, or dropped with its runtime).
    pub(super) fn stopped(&mut self) {
        self.running = false;
        self.at = None;
        self.waker = None;
    }
}

/// Starts the reaper of `shared`. Outside a tokio runtime this panics like
/// `tokio::spawn`, and the reaper, dropped unstarted, marks itself stopped
/// so that a later waiter inside a runtime starts another.
pub(super) fn spawn<T: Send + 'static>(shared: &Arc<Shared<T>>) {
    let reaper = Reaper {
        shared: Arc::downgrade(shared),
        sleep: None,
        finished: false,
    };
    drop(tokio::spawn(reaper));
}

/// The reaper task. It holds the pool weakly, so it never keeps a dropped
/// pool's objects alive.
struct Reaper<T> {
    shared: Weak<Shared<T>>,
    /// Made on the first poll, on the runtime that runs the reaper.
    sleep: Option<Pin<Box<Sleep>>>,
    finished: bool,
}

impl<T> Future for Reaper<T> {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = &mut *self;
        loop {
            let Some(shared) = this.shared.upgrade() else {
                this.finished = true;
                return Poll::Ready(());
            };
            let now = Instant::now();
            let mut expired = Vec::new();
            let next = shared.lock().sweep(now, cx.waker(), &mut expired);
            drop(shared);
            expired.into_iter().for_each(Waker::wake);
            let Some(at) = next else {
                this.finished = true;
                return Poll::Ready(());
            };
            let sleep = this
                .sleep
                .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(at)));
            if sleep.deadline() != at {
                sleep.as_mut().reset(at);
            }
            if sleep.as_mut().poll(cx).is_pending() {
                return Poll::Pending;
            }
        }
    }
}

impl<T> Drop for Reaper<T> {
    fn drop(&mut self) {
        if !self.finished
            && let Some(shared) = self.shared.upgrade()
        {
            shared.lock().reaper_stopped();
        }
    }
}
