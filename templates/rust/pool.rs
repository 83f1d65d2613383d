//! A pool of objects with overflow, on tokio; poolboy 1.5.2's semantics.
//!
//! `size` objects are created up front and kept. When all are out, up to
//! `max_overflow` more are created on demand; a returning object is
//! dismissed while overflow objects exist and nobody waits. Waiting
//! checkouts are served in arrival order by direct hand-off: a returning
//! object goes into the first waiter's mailbox (`waiters.rs`), never back
//! to the shelf where a later caller could grab it.
//!
//! One mutex guards the bookkeeping (`state.rs`). A checkout or a return
//! takes it once; a waiter woken with an object takes only its own
//! mailbox's lock. The factory, objects' destructors, allocations and task
//! wake-ups all run outside the pool lock: with two cores contending, the
//! length of that critical section is what sets throughput. The mutex is
//! parking_lot's: under contention std's futex mutex makes a wake-up system
//! call on nearly every contended unlock, parking_lot's does not (30-50%
//! more checkouts per second with two threads hammering one pool, measured
//! on the 2-core machine this was built on).
//!
//! Timeouts do not put a timer per waiting checkout: each waiter records its
//! deadline, and one small task per pool (`reaper.rs`), started by the first
//! waiter and gone when nobody has waited for a while, wakes at the
//! earliest deadline and fails the overdue waiters with `Timeout`.
//!
//! A checkout that finds an object touches no tokio primitive: one in 16
//! (counted per thread) spends a unit of the task's cooperative budget, so
//! a task looping on get/drop still yields, every 2048 checkouts, instead
//! of holding its worker for ever (`checkout.rs` says why not every time).
//! A checkout that waits yields anyway. Fairness does not rest on those
//! yields: while anyone waits nothing is idle, so the next checkout of a
//! task looping on get/drop queues behind the waiters its returns served.

mod checkout;
mod errors;
mod pooled;
mod reaper;
mod state;
mod status;
mod waiters;

use std::collections::VecDeque;
use std::fmt;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::task::Waker;
use std::time::Duration;

use parking_lot::{Mutex, MutexGuard};

pub use self::errors::PoolError;
pub use self::pooled::Pooled;
pub use self::status::{PoolState, PoolStatus};

use self::checkout::Checkout;
use self::state::{Put, State, Take, Vacate};
use self::waiters::{Grant, Ticket};
use crate::config::PoolConfig;

type Factory<T> = Box<dyn Fn() -> T + Send + Sync>;

/// A pool of `T`s. Cloning it is cheap and every clone is the same pool.
pub struct Pool<T> {
    shared: Arc<Shared<T>>,
}

/// What the pool handles and its checked-out objects share.
pub(crate) struct Shared<T> {
    state: Mutex<State<T>>,
    /// A hint, read without the lock: the last checkout had to queue. A
    /// checkout that sees it clones its waker and reads the clock for its
    /// deadline before taking the lock rather than inside it.
    /// It is rarely written, so it sits on a cache line of its own, away
    /// from the lock that both cores keep taking from each other.
    exhausted: OwnLine<AtomicBool>,
    factory: Factory<T>,
    config: PoolConfig,
}

/// A value alone on its cache line (128 bytes covers adjacent-line
/// prefetching on x86_64).
#[repr(align(128))]
pub(crate) struct OwnLine<T>(pub(crate) T);

impl<T> Clone for Pool<T> {
    fn clone(&self) -> Self {
        Self {
            shared: Arc::clone(&self.shared),
        }
    }
}

impl<T: Send + 'static> Pool<T> {
    /// Creates the pool and its `config.size` objects, calling `factory`
    /// once for each; the factory is called again for overflow objects and
    /// for replacements of lost ones.
    ///
    /// The pool reads `size`, `max_overflow` and `strategy` from `config`.
    /// A panic in `factory` here propagates to the caller.
    pub fn new<F>(config: &PoolConfig, factory: F) -> Self
    where
        F: Fn() -> T + Send + Sync + 'static,
    {
        let objects: VecDeque<T> = (0..config.size).map(|_| factory()).collect();
        let state = State::new(objects, config.strategy, config.max_overflow);
        Self {
            shared: Arc::new(Shared {
                state: Mutex::new(state),
                exhausted: OwnLine(AtomicBool::new(false)),
                factory: Box::new(factory),
                config: *config,
            }),
        }
    }

    /// Checks out an object, waiting up to `timeout` for one.
    ///
    /// An idle object is taken at once; failing that, an overflow object is
    /// created while fewer than `max_overflow` exist; failing that, the call
    /// queues behind earlier waiters and gets the next returned object.
    /// Dropping the returned future while it waits gives up its place, and
    /// an object already handed to it goes to the next waiter.
    ///
    /// `Duration::ZERO` never waits; a timeout too large to be a deadline
    /// waits for ever. Waiting with a timeout relies on the pool's timeout
    /// task (see the module docs), so it must run inside a tokio runtime
    /// with its time driver enabled.
    ///
    /// # Errors
    ///
    /// [`PoolError::Timeout`] when nothing arrives within `timeout`,
    /// [`PoolError::Closed`] when the pool is or gets closed.
    pub async fn checkout(&self, timeout: Duration) -> Result<Pooled<T>, PoolError> {
        Checkout::new(&self.shared, timeout).await
    }

    /// Checks out an object if one is idle or an overflow object may be
    /// created; never waits.
    ///
    /// # Errors
    ///
    /// [`PoolError::Full`] when nothing is idle and the overflow is
    /// exhausted, [`PoolError::Closed`] when the pool is closed.
    pub fn try_checkout(&self) -> Result<Pooled<T>, PoolError> {
        let took = self.shared.lock().take(None);
        match took {
            Take::Object(object) => Ok(Pooled::new(object, Arc::clone(&self.shared))),
            Take::Create => Ok(self.shared.create()),
            Take::Full => Err(PoolError::Full),
            Take::Closed => Err(PoolError::Closed),
            Take::Wait { .. } => unreachable!("take(None) never queues"),
        }
    }

    /// The pool's counters right now.
    #[must_use]
    pub fn status(&self) -> PoolStatus {
        self.shared.lock().status()
    }

    /// The configuration the pool was built with.
    #[must_use]
    pub fn config(&self) -> &PoolConfig {
        &self.shared.config
    }

    /// Closes the pool: queued checkouts fail with [`PoolError::Closed`],
    /// later checkouts too, idle objects are dropped, and objects still out
    /// are dropped when they come back. Closing twice is harmless.
    pub fn close(&self) {
        let (wakers, idle) = self.shared.lock().close();
        drop(idle);
        wakers.into_iter().for_each(Waker::wake);
    }

    /// Whether [`Pool::close`] was called.
    #[must_use]
    pub fn is_closed(&self) -> bool {
        self.shared.lock().is_closed()
    }
}

impl<T> fmt::Debug for Pool<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pool")
            .field("name", &self.shared.config.name)
            .field("status", &self.shared.lock().status())
            .finish()
    }
}

impl<T> Shared<T> {
    /// Locks the bookkeeping. No user code runs under this lock.
    fn lock(&self) -> MutexGuard<'_, State<T>> {
        self.state.lock()
    }

    /// Takes a returned object back; see [`State::put`].
    fn put(&self, object: T) {
        let put = self.lock().put(object);
        match put {
            Put::Kept => {}
            Put::HandOff(ticket, object) => self.deliver(&ticket, Grant::Object(object)),
            Put::Dismiss(object) => drop(object),
        }
    }

    /// Fills the mailbox of a waiter popped from the queue and wakes it; if
    /// the waiter went away meanwhile, passes the grant on.
    fn deliver(&self, ticket: &Ticket<T>, grant: Grant<T>) {
        match ticket.deliver(grant) {
            Ok(waker) => waker.into_iter().for_each(Waker::wake),
            Err(grant) => self.pass_on(grant),
        }
    }

    /// A checked-out object was dropped broken, or during a panic: hand its
    /// place to a waiter, let it go if it was overflow, or refill it with a
    /// fresh object now. Runs inside `Drop`, so a panicking factory is
    /// caught (a second panic during unwinding would abort the process) and
    /// the place is left for the next checkout to create.
    fn replace_lost(&self) {
        let vacate = self.lock().vacate(true);
        match vacate {
            Vacate::Done => {}
            Vacate::HandOff(ticket) => self.deliver(&ticket, Grant::Create),
            Vacate::Recreate => match catch_unwind(AssertUnwindSafe(|| (self.factory)())) {
                Ok(object) => self.put(object),
                Err(_) => self.give_up_place(),
            },
        }
    }

    /// Releases a checked-out place that has no object and gets none now.
    fn give_up_place(&self) {
        let vacate = self.lock().vacate(false);
        if let Vacate::HandOff(ticket) = vacate {
            self.deliver(&ticket, Grant::Create);
        }
    }

    /// Fills a reserved place with a new object from the factory. If the
    /// factory panics, the place is released and the panic goes on to the
    /// caller.
    fn create(self: &Arc<Self>) -> Pooled<T> {
        let reservation = Reservation {
            shared: self.as_ref(),
            armed: true,
        };
        let object = (self.factory)();
        reservation.disarm();
        Pooled::new(object, Arc::clone(self))
    }

    /// Turns what a waiter was granted into a checked-out object.
    fn claim(self: &Arc<Self>, grant: Grant<T>) -> Pooled<T> {
        match grant {
            Grant::Object(object) => Pooled::new(object, Arc::clone(self)),
            Grant::Create => self.create(),
        }
    }

    /// Passes on a grant whose waiter went away.
    fn pass_on(&self, grant: Grant<T>) {
        match grant {
            Grant::Object(object) => self.put(object),
            Grant::Create => self.replace_lost(),
        }
    }
}

/// A reserved place being filled by the factory; released if it panics.
struct Reservation<'a, T> {
    shared: &'a Shared<T>,
    armed: bool,
}

impl<T> Reservation<'_, T> {
    fn disarm(mut self) {
        self.armed = false;
    }
}

impl<T> Drop for Reservation<'_, T> {
    fn drop(&mut self) {
        if self.armed {
            self.shared.give_up_place();
        }
    }
}

#[cfg(test)]
mod tests {
    use std::pin::pin;
    use std::task::{Context, Poll, Waker};

    use super::*;

    /// The race a black-box test cannot time: a returner has popped a
    /// waiter's mailbox but not filled it yet when the waiter goes away.
    #[tokio::test]
    async fn a_hand_off_to_a_waiter_that_just_left_goes_to_the_next_one() {
        let config = PoolConfig {
            size: 1,
            max_overflow: 0,
            ..PoolConfig::default()
        };
        let pool = Pool::new(&config, || 7_u32);
        let mut held = pool.try_checkout().unwrap();
        let object = held.object.take().expect("held");
        drop(held); // an empty guard returns nothing; the place stays out

        let mut cx = Context::from_waker(Waker::noop());
        let mut leaving = Box::pin(pool.checkout(Duration::from_secs(5)));
        assert!(leaving.as_mut().poll(&mut cx).is_pending());
        let mut staying = pin!(pool.checkout(Duration::from_secs(5)));
        assert!(staying.as_mut().poll(&mut cx).is_pending());

        // The returner's first half, under the lock: pop the first waiter.
        let Put::HandOff(ticket, object) = pool.shared.lock().put(object) else {
            panic!("a waiter is queued");
        };
        drop(leaving); // the first waiter leaves before delivery
        pool.shared.deliver(&ticket, Grant::Object(object)); // the second half

        let Poll::Ready(Ok(served)) = staying.as_mut().poll(&mut cx) else {
            panic!("the object went to the next waiter");
        };
        assert_eq!(*served, 7);
        drop(served);
        assert_eq!(pool.status().available, 1);
        assert_eq!(pool.status().in_use, 0);
    }
}
