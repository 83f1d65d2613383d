//! The future of [`Pool::checkout`](super::Pool::checkout).

use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use tokio::time::Instant;

use super::reaper::{self, Nudge};
use super::state::{Take, Wait};
use super::waiters::{Mailbox, Ticket, Turn};
use super::{PoolError, Pooled, Shared};

/// A checkout in progress. The first poll takes an idle object, creates an
/// overflow object, or queues with the task's waker; later polls collect
/// what was handed over. Dropping it unfinished leaves the queue and passes
/// on anything it was handed meanwhile, so a cancelled checkout leaks
/// neither a place nor an object.
pub(super) struct Checkout<'a, T> {
    shared: &'a Arc<Shared<T>>,
    timeout: Duration,
    state: Phase<T>,
}

enum Phase<T> {
    Start,
    Queued(Ticket<T>),
    Done,
}

impl<'a, T> Checkout<'a, T> {
    pub(super) fn new(shared: &'a Arc<Shared<T>>, timeout: Duration) -> Self {
        Self {
            shared,
            timeout,
            state: Phase::Start,
        }
    }
}

impl<T: Send + 'static> Future for Checkout<'_, T> {
    type Output = Result<Pooled<T>, PoolError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        match &this.state {
            Phase::Start => {
                // One unit of the task's tokio budget per `FAST_PER_UNIT`
                // checkouts on this thread (see `charge_budget`): a loop of
                // checkouts that never wait still yields now and then, and
                // the other checkouts touch no tokio primitive at all.
                if charge_budget() {
                    ready!(tokio::task::coop::poll_proceed(cx)).made_progress();
                }
                // If the last checkout had to queue, this one likely will too:
                // make its mailbox and read the clock now, outside the lock.
                let exhausted = this.shared.exhausted.0.load(Ordering::Relaxed);
                let mut early =
                    exhausted.then(|| (Mailbox::waiting(cx.waker().clone()), Instant::now()));
                let wait = Wait {
                    waker: cx.waker(),
                    timeout: this.timeout,
                    early: &mut early,
                };
                // Bind first, so the lock is released before any branch runs.
                let took = this.shared.lock().take(Some(wait));
                drop(early);
                this.state = Phase::Done;
                if exhausted != matches!(took, Take::Wait { .. }) {
                    this.shared.exhausted.0.store(!exhausted, Ordering::Relaxed);
                }
                Poll::Ready(match took {
                    Take::Object(object) => Ok(Pooled::new(object, Arc::clone(this.shared))),
                    Take::Create => Ok(this.shared.create()),
                    // Only with a zero timeout, which never queues.
                    Take::Full => Err(PoolError::Timeout),
                    Take::Closed => Err(PoolError::Closed),
                    Take::Wait { ticket, nudge } => {
                        // The waker is already in the mailbox: no need to
                        // look again before something wakes us.
                        this.state = Phase::Queued(ticket);
                        match nudge {
                            Nudge::Nothing => {}
                            Nudge::Spawn => reaper::spawn(this.shared),
                            Nudge::Wake(waker) => waker.wake(),
                        }
                        return Poll::Pending;
                    }
                })
            }
            Phase::Queued(ticket) => {
                // Only this checkout's mailbox is locked, not the pool.
                let turn = ticket.poll(cx.waker());
                if let Turn::Waiting = turn {
                    return Poll::Pending;
                }
                this.state = Phase::Done;
                Poll::Ready(match turn {
                    Turn::Served(grant) => Ok(this.shared.claim(grant)),
                    Turn::TimedOut => Err(PoolError::Timeout),
                    Turn::Closed | Turn::Waiting => Err(PoolError::Closed),
                })
            }
            Phase::Done => panic!("pool checkout polled after completion"),
        }
    }
}

/// Checkouts per unit of tokio's cooperative budget.
///
/// tokio gives a task 128 units per poll and makes it yield when they run
/// out, so that a task looping on ready resources cannot starve the other
/// tasks, timers and I/O of its worker. Its resources spend one unit per
/// operation, sized for operations of about a microsecond. A checkout that
/// finds an idle object takes some 50 ns, while the yield costs a trip
/// through the scheduler (several microseconds when the worker polls its
/// drivers): at one unit per checkout, a task looping on get/drop spent
/// about as long yielding as checking out, and every 128th checkout paid
/// the whole yield in its latency. At one unit per 16 checkouts such a
/// loop still yields, after 2048 checkouts (about a tenth of a millisecond
/// of pool work). A checkout that waits returns `Pending` anyway, which
/// is a yield, and spends nothing.
const FAST_PER_UNIT: u32 = 16;

thread_local! {
    /// Checkouts started on this thread since it last charged a unit.
    static SINCE_CHARGE: Cell<u32> = const { Cell::new(0) };
}

/// Counts a checkout started on this thread; true every `FAST_PER_UNIT`th
/// time, when it must spend a unit of the running task's budget. The count
/// is per thread, not per task: a task that loops on checkouts is charged
/// at that rate whatever else runs between its polls (other tasks' checkouts
/// only bring its next charge closer).
fn charge_budget() -> bool {
    SINCE_CHARGE.with(|since| {
        let n = since.get() + 1;
        let charge = n >= FAST_PER_UNIT;
        since.set(if charge { 0 } else { n });
        charge
    })
}

impl<T> Drop for Checkout<'_, T> {
    fn drop(&mut self) {
        if let Phase::Queued(ticket) = &self.state {
            let unclaimed = self.shared.lock().cancel_waiter(ticket);
            if let Some(grant) = unclaimed {
                self.shared.pass_on(grant);
            }
        }
    }
}
