//! The pool's bookkeeping: every decision, made under the pool's lock.
//!
//! Nothing here runs user code (the factory, an object's `Drop`) or wakes a
//! task: each method returns what the caller must do once the lock is gone.
//! The rules are poolboy's `handle_checkout`, `handle_checkin` and
//! `handle_worker_exit`: a returning object goes to the first waiter, else
//! it is dismissed while overflow objects exist, else it becomes idle. So
//! while anyone waits nothing is idle, and while overflow objects exist
//! nothing is idle either.

use std::collections::VecDeque;
use std::sync::Arc;
use std::task::Waker;
use std::time::Duration;

use tokio::time::Instant;

use super::reaper::{Alarm, Nudge};
use super::status::{PoolState, PoolStatus};
use super::waiters::{Grant, Mailbox, Ticket, Waiters};
use crate::config::Strategy;

/// Outcome of a checkout attempt.
pub(super) enum Take<T> {
    /// An idle object.
    Object(T),
    /// A place was reserved; the caller creates the object with the factory.
    Create,
    /// Queued; `ticket` is the mailbox to watch, `nudge` tells what to do
    /// about the reaper.
    Wait { ticket: Ticket<T>, nudge: Nudge },
    /// Nothing idle, overflow exhausted, and the caller does not wait.
    Full,
    /// The pool is closed.
    Closed,
}

/// What to do with an object that came back.
pub(super) enum Put<T> {
    /// It went to the idle list.
    Kept,
    /// It goes to the waiter whose mailbox this is: deliver it there.
    HandOff(Ticket<T>, T),
    /// It is not wanted (overflow, or the pool is closed): drop it.
    Dismiss(T),
}

/// What to do after a checked-out object was lost (broken, panicked).
pub(super) enum Vacate<T> {
    /// Nothing: the pool shrank back by one overflow object, or is closed.
    Done,
    /// The place goes to the waiter whose mailbox this is: deliver it
    /// [`Grant::Create`].
    HandOff(Ticket<T>),
    /// The place stays reserved: create a replacement and check it in.
    Recreate,
}

pub(super) struct State<T> {
    idle: VecDeque<T>,
    strategy: Strategy,
    max_overflow: usize,
    /// Overflow objects alive (checked out; they never idle).
    overflow: usize,
    /// Places checked out: objects lent, granted to a waiter, or being created.
    in_use: usize,
    /// Base places whose replacement could not be created (the factory
    /// panicked inside a `Drop`); the next checkouts create them.
    missing: usize,
    closed: bool,
    waiters: Waiters<T>,
    alarm: Alarm,
}

/// How a checkout that finds nothing waits.
pub(super) struct Wait<'a, T> {
    /// Woken when the checkout is served, times out or the pool closes.
    pub(super) waker: &'a Waker,
    /// How long it waits; `Duration::ZERO` means it does not.
    pub(super) timeout: Duration,
    /// A mailbox (holding a clone of `waker`) and the time of the call,
    /// made before locking by a caller that expects to wait, so that
    /// neither an allocation, a clock read nor a waker clone lengthens the
    /// critical section. Taken only if the checkout queues; the caller drops
    /// what is left after unlocking.
    pub(super) early: &'a mut Option<(Ticket<T>, Instant)>,
}

impl<T> State<T> {
    pub(super) fn new(objects: VecDeque<T>, strategy: Strategy, max_overflow: usize) -> Self {
        Self {
            idle: objects,
            strategy,
            max_overflow,
            overflow: 0,
            in_use: 0,
            missing: 0,
            closed: false,
            waiters: Waiters::new(),
            alarm: Alarm::new(),
        }
    }

    pub(super) fn is_closed(&self) -> bool {
        self.closed
    }

    /// A checkout: an idle object, else a new object, else a place in the
    /// queue (or `Full` when it does not wait).
    pub(super) fn take(&mut self, wait: Option<Wait<'_, T>>) -> Take<T> {
        if self.closed {
            return Take::Closed;
        }
        let idle = match self.strategy {
            Strategy::Fifo => self.idle.pop_front(),
            Strategy::Lifo => self.idle.pop_back(),
        };
        if let Some(object) = idle {
            self.in_use += 1;
            return Take::Object(object);
        }
        debug_assert!(self.missing == 0 || self.waiters.is_empty());
        if self.missing > 0 {
            self.missing -= 1;
            self.in_use += 1;
            return Take::Create;
        }
        if self.overflow < self.max_overflow {
            debug_assert!(self.waiters.is_empty());
            self.overflow += 1;
            self.in_use += 1;
            return Take::Create;
        }
        match wait {
            Some(Wait {
                waker,
                timeout,
                early,
            }) if !timeout.is_zero() => {
                let (ticket, now) = early
                    .take()
                    .unwrap_or_else(|| (Mailbox::waiting(waker.clone()), Instant::now()));
                let deadline = now.checked_add(timeout);
                self.waiters.push(Arc::clone(&ticket), deadline);
                let nudge = deadline.map_or(Nudge::Nothing, |at| self.alarm.waiter_queued(at));
                Take::Wait { ticket, nudge }
            }
            _ => Take::Full,
        }
    }

    /// A queued checkout goes away; see [`Waiters::cancel`].
    pub(super) fn cancel_waiter(&mut self, ticket: &Ticket<T>) -> Option<Grant<T>> {
        self.waiters.cancel(ticket)
    }

    /// The reaper's round: times out overdue waiters (their wakers go to
    /// `expired`) and returns when the reaper must wake next, or `None` when
    /// it should exit.
    pub(super) fn sweep(
        &mut self,
        now: Instant,
        reaper: &Waker,
        expired: &mut Vec<Waker>,
    ) -> Option<Instant> {
        let next = self.waiters.expire(now, expired);
        self.alarm.swept(next, reaper);
        next
    }

    pub(super) fn reaper_stopped(&mut self) {
        self.alarm.stopped();
    }

    /// A checked-out object comes back.
    pub(super) fn put(&mut self, object: T) -> Put<T> {
        if self.closed {
            self.in_use -= 1;
            self.overflow = self.overflow.saturating_sub(1);
            return Put::Dismiss(object);
        }
        if let Some(ticket) = self.waiters.pop() {
            // The place passes to the waiter: `in_use` does not change.
            return Put::HandOff(ticket, object);
        }
        self.in_use -= 1;
        if self.overflow > 0 {
            self.overflow -= 1;
            return Put::Dismiss(object);
        }
        // Fifo takes from the front, so both strategies append at the back.
        self.idle.push_back(object);
        Put::Kept
    }

    /// A checked-out place lost its object. With `recreate`, a base place
    /// stays reserved for a replacement the caller creates at once; without
    /// it (the factory just failed), it is recorded as missing.
    pub(super) fn vacate(&mut self, recreate: bool) -> Vacate<T> {
        if !self.closed {
            if let Some(ticket) = self.waiters.pop() {
                return Vacate::HandOff(ticket);
            }
            if self.overflow == 0 {
                if recreate {
                    return Vacate::Recreate;
                }
                self.missing += 1;
            }
        }
        self.in_use -= 1;
        self.overflow = self.overflow.saturating_sub(1);
        Vacate::Done
    }

    /// Closes the pool: returns the waiters' wakers and the idle objects,
    /// which the caller drops after releasing the lock.
    pub(super) fn close(&mut self) -> (Vec<Waker>, VecDeque<T>) {
        self.closed = true;
        self.missing = 0;
        (self.waiters.drain(), std::mem::take(&mut self.idle))
    }

    pub(super) fn status(&self) -> PoolStatus {
        let state = if !self.idle.is_empty() || self.missing > 0 {
            PoolState::Ready
        } else if self.overflow < self.max_overflow {
            PoolState::Overflow
        } else {
            PoolState::Full
        };
        PoolStatus {
            state,
            available: self.idle.len(),
            overflow: self.overflow,
            in_use: self.in_use,
            waiting: self.waiters.len(),
        }
    }
}
