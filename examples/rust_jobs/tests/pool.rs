//! Acceptance tests of the pool, following poolboy's own test list.

use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use ggen_jobs::config::{PoolConfig, Strategy};
use ggen_jobs::pool::{Pool, PoolError, PoolState, PoolStatus, Pooled};

/// A checkout timeout that a test expects never to fire. Tests that wait
/// with it run on tokio's paused clock (only the multi-threaded ones cannot,
/// and they tolerate a timeout): the paused clock moves only when every task
/// is idle, so CPU contention cannot make it fire, while a waiter that is
/// never served still times out at once instead of hanging.
const LONG: Duration = Duration::from_secs(5);

/// How long a test waits for something that must happen before it fails
/// (a liveness deadline, not a speed bound).
const LIVENESS: Duration = Duration::from_secs(60);

/// A pooled object that knows its creation number and reports its drop.
#[derive(Debug)]
struct Obj {
    id: usize,
    dropped: Arc<AtomicUsize>,
}

impl Drop for Obj {
    fn drop(&mut self) {
        self.dropped.fetch_add(1, Ordering::SeqCst);
    }
}

/// Counts what the factory made and what was dropped.
#[derive(Clone, Default)]
struct Counts {
    created: Arc<AtomicUsize>,
    dropped: Arc<AtomicUsize>,
    /// While set, the factory panics.
    fail: Arc<AtomicBool>,
}

impl Counts {
    fn created(&self) -> usize {
        self.created.load(Ordering::SeqCst)
    }
    fn dropped(&self) -> usize {
        self.dropped.load(Ordering::SeqCst)
    }
}

fn config(size: usize, max_overflow: usize, strategy: Strategy) -> PoolConfig {
    PoolConfig {
        name: "test_pool",
        size,
        max_overflow,
        strategy,
        ..PoolConfig::default()
    }
}

fn pool(size: usize, max_overflow: usize, strategy: Strategy) -> (Pool<Obj>, Counts) {
    let counts = Counts::default();
    let c = counts.clone();
    let pool = Pool::new(&config(size, max_overflow, strategy), move || {
        assert!(!c.fail.load(Ordering::SeqCst), "factory told to fail");
        Obj {
            id: c.created.fetch_add(1, Ordering::SeqCst),
            dropped: Arc::clone(&c.dropped),
        }
    });
    (pool, counts)
}

fn status(
    state: PoolState,
    available: usize,
    overflow: usize,
    in_use: usize,
    waiting: usize,
) -> PoolStatus {
    PoolStatus {
        state,
        available,
        overflow,
        in_use,
        waiting,
    }
}

/// Lets spawned tasks run until `pool` has `n` waiters (current-thread runtime).
async fn until_waiting(pool: &Pool<Obj>, n: usize) {
    for _ in 0..1000 {
        if pool.status().waiting == n {
            return;
        }
        tokio::task::yield_now().await;
    }
    panic!("expected {n} waiters, status {:?}", pool.status());
}

/// Awaits `future`, failing the test instead of hanging if it never ends.
async fn within<F: Future>(future: F) -> F::Output {
    tokio::time::timeout(LIVENESS, future)
        .await
        .unwrap_or_else(|_| panic!("still pending after {LIVENESS:?}: a waiter was never woken"))
}

/// Polls a future once, without a runtime waking it.
fn poll_once<F: Future>(future: std::pin::Pin<&mut F>) -> Poll<F::Output> {
    future.poll(&mut Context::from_waker(Waker::noop()))
}

#[test]
fn pool_and_guard_are_send_sync_and_clone() {
    fn send_sync<T: Send + Sync + Clone>() {}
    fn send<T: Send>(_: &T) {}
    send_sync::<Pool<Obj>>();
    let (pool, _) = pool(1, 0, Strategy::Fifo);
    let checkout = pool.checkout(LONG);
    send(&checkout);
    send(&pool.try_checkout().unwrap());
}

#[test]
fn startup_creates_size_objects() {
    let (pool, counts) = pool(10, 5, Strategy::Fifo);
    assert_eq!(counts.created(), 10);
    assert_eq!(pool.status(), status(PoolState::Ready, 10, 0, 0, 0));
    assert_eq!(pool.config().name, "test_pool");
}

#[test]
fn overflow_objects_are_created_on_demand_and_dismissed_on_return() {
    let (pool, counts) = pool(2, 2, Strategy::Fifo);
    let held: Vec<_> = (0..4).map(|_| pool.try_checkout().unwrap()).collect();
    assert_eq!(counts.created(), 4);
    assert_eq!(pool.status(), status(PoolState::Full, 0, 2, 4, 0));

    let mut held = held.into_iter();
    drop(held.next());
    assert_eq!(pool.status(), status(PoolState::Overflow, 0, 1, 3, 0));
    assert_eq!(
        counts.dropped(),
        1,
        "a return while overflow exists dismisses"
    );
    drop(held.next());
    assert_eq!(pool.status(), status(PoolState::Overflow, 0, 0, 2, 0));
    drop(held.next());
    assert_eq!(pool.status(), status(PoolState::Ready, 1, 0, 1, 0));
    drop(held.next());
    assert_eq!(pool.status(), status(PoolState::Ready, 2, 0, 0, 0));
    assert_eq!((counts.created(), counts.dropped()), (4, 2));
}

#[tokio::test(start_paused = true)]
async fn empty_pool_blocks_until_an_object_returns() {
    let (pool, _) = pool(1, 0, Strategy::Fifo);
    let held = pool.checkout(LONG).await.unwrap();
    let held_id = held.id;
    let waiter = tokio::spawn({
        let pool = pool.clone();
        async move { pool.checkout(LONG).await.map(|o| o.id) }
    });
    until_waiting(&pool, 1).await;
    assert!(!waiter.is_finished());
    drop(held);
    assert_eq!(within(waiter).await.unwrap(), Ok(held_id));
    assert_eq!(pool.status(), status(PoolState::Ready, 1, 0, 0, 0));
}

#[tokio::test(start_paused = true)]
async fn checkout_times_out() {
    let (pool, _) = pool(1, 0, Strategy::Fifo);
    let _held = pool.checkout(LONG).await.unwrap();
    let start = tokio::time::Instant::now();
    let err = pool.checkout(Duration::from_millis(100)).await.unwrap_err();
    assert_eq!(err, PoolError::Timeout);
    assert_eq!(start.elapsed(), Duration::from_millis(100));
    assert_eq!(pool.status(), status(PoolState::Full, 0, 0, 1, 0));
    assert_eq!(err.to_string(), "timed out waiting for a pool object");
}

#[test]
fn try_checkout_never_waits_and_reports_full() {
    let (pool, _) = pool(1, 1, Strategy::Fifo);
    let _a = pool.try_checkout().unwrap();
    let _b = pool.try_checkout().unwrap();
    assert_eq!(pool.try_checkout().unwrap_err(), PoolError::Full);
    let (empty, _) = self::pool(0, 0, Strategy::Fifo);
    assert_eq!(empty.try_checkout().unwrap_err(), PoolError::Full);
}

#[tokio::test]
async fn object_dropped_during_a_panic_is_replaced() {
    let (pool, counts) = pool(2, 0, Strategy::Fifo);
    let task = tokio::spawn({
        let pool = pool.clone();
        async move {
            let _held = pool.checkout(LONG).await.unwrap();
            panic!("worker crashed while holding its object");
        }
    });
    assert!(within(task).await.unwrap_err().is_panic());
    assert_eq!((counts.created(), counts.dropped()), (3, 1));
    assert_eq!(pool.status(), status(PoolState::Ready, 2, 0, 0, 0));
    let ids: Vec<_> = (0..2).map(|_| pool.try_checkout().unwrap().id).collect();
    assert!(!ids.contains(&0), "the crashed object is gone: {ids:?}");
}

#[test]
fn object_marked_broken_is_replaced() {
    let (pool, counts) = pool(2, 0, Strategy::Fifo);
    let mut held = pool.try_checkout().unwrap();
    assert!(!Pooled::is_broken(&held));
    Pooled::mark_broken(&mut held);
    assert!(Pooled::is_broken(&held));
    drop(held);
    assert_eq!((counts.created(), counts.dropped()), (3, 1));
    assert_eq!(pool.status(), status(PoolState::Ready, 2, 0, 0, 0));
}

#[test]
fn broken_overflow_object_is_dismissed_not_replaced() {
    let (pool, counts) = pool(1, 1, Strategy::Fifo);
    let _base = pool.try_checkout().unwrap();
    let mut extra = pool.try_checkout().unwrap();
    Pooled::mark_broken(&mut extra);
    drop(extra);
    assert_eq!((counts.created(), counts.dropped()), (2, 1));
    assert_eq!(pool.status(), status(PoolState::Overflow, 0, 0, 1, 0));
}

#[tokio::test(start_paused = true)]
async fn broken_object_with_a_waiter_gives_the_waiter_a_fresh_one() {
    let (pool, counts) = pool(1, 0, Strategy::Fifo);
    let mut held = pool.checkout(LONG).await.unwrap();
    let waiter = tokio::spawn({
        let pool = pool.clone();
        async move { pool.checkout(LONG).await.map(|o| o.id) }
    });
    until_waiting(&pool, 1).await;
    Pooled::mark_broken(&mut held);
    drop(held);
    assert_eq!(within(waiter).await.unwrap(), Ok(1));
    assert_eq!((counts.created(), counts.dropped()), (2, 1));
    assert_eq!(pool.status(), status(PoolState::Ready, 1, 0, 0, 0));
}

#[test]
fn factory_panic_during_replacement_leaves_the_place_for_the_next_checkout() {
    let (pool, counts) = pool(1, 0, Strategy::Fifo);
    let mut held = pool.try_checkout().unwrap();
    Pooled::mark_broken(&mut held);
    counts.fail.store(true, Ordering::SeqCst);
    drop(held); // must not panic out of Drop
    assert_eq!(pool.status(), status(PoolState::Ready, 0, 0, 0, 0));
    counts.fail.store(false, Ordering::SeqCst);
    assert_eq!(pool.try_checkout().unwrap().id, 1);
    assert_eq!(pool.status(), status(PoolState::Ready, 1, 0, 0, 0));
}

#[test]
fn factory_panic_during_overflow_creation_releases_the_place() {
    let (pool, counts) = pool(0, 1, Strategy::Fifo);
    counts.fail.store(true, Ordering::SeqCst);
    let attempt = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        pool.try_checkout().map(|o| o.id)
    }));
    assert!(attempt.is_err());
    assert_eq!(pool.status(), status(PoolState::Overflow, 0, 0, 0, 0));
    counts.fail.store(false, Ordering::SeqCst);
    assert!(pool.try_checkout().is_ok());
}

#[test]
fn status_follows_poolboy_ready_overflow_full() {
    let (pool, _) = pool(1, 1, Strategy::Fifo);
    assert_eq!(pool.status().state, PoolState::Ready);
    let a = pool.try_checkout().unwrap();
    assert_eq!(pool.status(), status(PoolState::Overflow, 0, 0, 1, 0));
    let b = pool.try_checkout().unwrap();
    assert_eq!(pool.status(), status(PoolState::Full, 0, 1, 2, 0));
    drop((a, b));
    assert_eq!(pool.status(), status(PoolState::Ready, 1, 0, 0, 0));

    let (no_overflow, _) = self::pool(1, 0, Strategy::Fifo);
    let _held = no_overflow.try_checkout().unwrap();
    assert_eq!(no_overflow.status(), status(PoolState::Full, 0, 0, 1, 0));
}

/// Checks out all three objects, returns them in the order of ids 2, 0, 1 and
/// reports the order of the next three checkouts.
fn reuse_order(strategy: Strategy) -> Vec<usize> {
    let (pool, _) = pool(3, 0, strategy);
    let mut held: Vec<_> = (0..3).map(|_| pool.try_checkout().unwrap()).collect();
    held.sort_by_key(|o| o.id);
    let mut held: Vec<_> = held.into_iter().map(Some).collect();
    for i in [2, 0, 1] {
        held[i] = None;
    }
    let again: Vec<_> = (0..3).map(|_| pool.try_checkout().unwrap()).collect();
    again.iter().map(|o| o.id).collect()
}

#[test]
fn fifo_hands_out_the_least_recently_returned_object() {
    assert_eq!(reuse_order(Strategy::Fifo), vec![2, 0, 1]);
}

#[test]
fn lifo_hands_out_the_most_recently_returned_object() {
    assert_eq!(reuse_order(Strategy::Lifo), vec![1, 0, 2]);
}

#[tokio::test(start_paused = true)]
async fn waiters_are_served_in_arrival_order_without_barging() {
    let (pool, _) = pool(1, 0, Strategy::Fifo);
    let held = pool.checkout(LONG).await.unwrap();
    let served = Arc::new(std::sync::Mutex::new(Vec::new()));
    let mut tasks = Vec::new();
    for n in 0..4 {
        let (task_pool, served) = (pool.clone(), Arc::clone(&served));
        tasks.push(tokio::spawn(async move {
            let object = task_pool.checkout(LONG).await.unwrap();
            served.lock().unwrap().push(n);
            tokio::task::yield_now().await;
            drop(object);
        }));
        until_waiting(&pool, n + 1).await;
    }
    drop(held);
    // The object now belongs to waiter 0, though it has not run yet.
    assert_eq!(pool.try_checkout().unwrap_err(), PoolError::Full);
    assert_eq!(pool.status(), status(PoolState::Full, 0, 0, 1, 3));
    for task in tasks {
        within(task).await.unwrap();
    }
    assert_eq!(*served.lock().unwrap(), vec![0, 1, 2, 3]);
    assert_eq!(pool.status(), status(PoolState::Ready, 1, 0, 0, 0));
}

#[tokio::test]
async fn cancelled_waiter_leaks_nothing() {
    let (pool, counts) = pool(1, 0, Strategy::Fifo);
    let held = pool.checkout(LONG).await.unwrap();

    // Cancelled while queued: it leaves the queue.
    {
        let mut checkout = pin!(pool.checkout(LONG));
        assert!(poll_once(checkout.as_mut()).is_pending());
        assert_eq!(pool.status().waiting, 1);
    }
    assert_eq!(pool.status(), status(PoolState::Full, 0, 0, 1, 0));

    // Cancelled after the object was handed to it, before it resumed:
    // the object comes back to the pool.
    {
        let mut checkout = pin!(pool.checkout(LONG));
        assert!(poll_once(checkout.as_mut()).is_pending());
        drop(held);
        assert_eq!(pool.status(), status(PoolState::Full, 0, 0, 1, 0));
    }
    assert_eq!(pool.status(), status(PoolState::Ready, 1, 0, 0, 0));
    assert_eq!((counts.created(), counts.dropped()), (1, 0));
}

#[tokio::test]
async fn cancelled_waiter_in_the_middle_passes_its_turn_on() {
    let (pool, _) = pool(1, 0, Strategy::Fifo);
    let held = pool.checkout(LONG).await.unwrap();
    let mut first = pin!(pool.checkout(LONG));
    let mut middle = Box::pin(pool.checkout(LONG));
    let mut last = pin!(pool.checkout(LONG));
    assert!(poll_once(first.as_mut()).is_pending());
    assert!(poll_once(middle.as_mut()).is_pending());
    assert!(poll_once(last.as_mut()).is_pending());
    assert_eq!(pool.status().waiting, 3);
    drop(middle);
    assert_eq!(pool.status().waiting, 2);
    drop(held);
    let Poll::Ready(Ok(object)) = poll_once(first.as_mut()) else {
        panic!("first waiter not served");
    };
    drop(object);
    assert!(matches!(poll_once(last.as_mut()), Poll::Ready(Ok(_))));
}

#[tokio::test(start_paused = true)]
async fn timed_out_waiters_do_not_pile_up() {
    let (pool, _) = pool(1, 0, Strategy::Fifo);
    let held = pool.checkout(LONG).await.unwrap();
    for _ in 0..100 {
        let err = pool.checkout(Duration::from_millis(1)).await.unwrap_err();
        assert_eq!(err, PoolError::Timeout);
    }
    assert_eq!(pool.status().waiting, 0);
    drop(held);
    assert_eq!(pool.status(), status(PoolState::Ready, 1, 0, 0, 0));
}

#[tokio::test(start_paused = true)]
async fn close_wakes_waiters_and_refuses_later_checkouts() {
    let (pool, counts) = pool(1, 0, Strategy::Fifo);
    let held = pool.checkout(LONG).await.unwrap();
    let waiters: Vec<_> = (0..3)
        .map(|_| {
            let pool = pool.clone();
            tokio::spawn(async move { pool.checkout(LONG).await.map(|o| o.id) })
        })
        .collect();
    until_waiting(&pool, 3).await;
    pool.close();
    assert!(pool.is_closed());
    for waiter in waiters {
        assert_eq!(within(waiter).await.unwrap(), Err(PoolError::Closed));
    }
    assert_eq!(pool.checkout(LONG).await.unwrap_err(), PoolError::Closed);
    assert_eq!(pool.try_checkout().unwrap_err(), PoolError::Closed);
    drop(held);
    assert_eq!(
        counts.dropped(),
        1,
        "objects returned after close are dropped"
    );
    assert_eq!(pool.status(), status(PoolState::Full, 0, 0, 0, 0));
    pool.close();
}

#[test]
fn close_drops_idle_objects() {
    let (pool, counts) = pool(3, 0, Strategy::Fifo);
    pool.close();
    assert_eq!(counts.dropped(), 3);
}

/// Many tasks on two threads: the pool never lends more than
/// `size + max_overflow` objects, and ends exactly at `size`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_checkouts_keep_the_books_straight() {
    let (pool, counts) = pool(4, 2, Strategy::Lifo);
    let out = Arc::new(AtomicUsize::new(0));
    let peak = Arc::new(AtomicUsize::new(0));
    let tasks: Vec<_> = (0..32)
        .map(|n| {
            let (pool, out, peak) = (pool.clone(), Arc::clone(&out), Arc::clone(&peak));
            tokio::spawn(async move {
                for i in 0..500 {
                    let timeout = if (n + i) % 7 == 0 {
                        Duration::ZERO
                    } else {
                        LONG
                    };
                    let Ok(mut object) = pool.checkout(timeout).await else {
                        continue;
                    };
                    peak.fetch_max(out.fetch_add(1, Ordering::SeqCst) + 1, Ordering::SeqCst);
                    tokio::task::yield_now().await;
                    if (n * 31 + i) % 97 == 0 {
                        Pooled::mark_broken(&mut object);
                    }
                    out.fetch_sub(1, Ordering::SeqCst);
                }
            })
        })
        .collect();
    for task in tasks {
        within(task).await.unwrap();
    }
    assert!(
        peak.load(Ordering::SeqCst) <= 6,
        "peak {}",
        peak.load(Ordering::SeqCst)
    );
    assert_eq!(pool.status(), status(PoolState::Ready, 4, 0, 0, 0));
    assert_eq!(counts.created() - counts.dropped(), 4);
}

#[tokio::test]
async fn a_checkout_loop_that_never_waits_still_yields_to_other_tasks() {
    let (pool, _) = pool(1, 0, Strategy::Fifo);
    let ran = Arc::new(AtomicBool::new(false));
    tokio::spawn({
        let ran = Arc::clone(&ran);
        async move { ran.store(true, Ordering::SeqCst) }
    });
    for _ in 0..10_000 {
        drop(pool.checkout(LONG).await.unwrap());
        if ran.load(Ordering::SeqCst) {
            return;
        }
    }
    panic!("the spawned task never ran: checkout never yielded");
}

#[tokio::test(start_paused = true)]
async fn a_shorter_timeout_behind_a_longer_one_still_fires_on_time() {
    let (pool, _) = pool(1, 0, Strategy::Fifo);
    let held = pool.checkout(LONG).await.unwrap();
    let patient = tokio::spawn({
        let pool = pool.clone();
        async move { pool.checkout(Duration::from_secs(60)).await.map(|o| o.id) }
    });
    until_waiting(&pool, 1).await;
    let start = tokio::time::Instant::now();
    let hasty = pool.checkout(Duration::from_millis(50)).await;
    assert_eq!(hasty.unwrap_err(), PoolError::Timeout);
    assert_eq!(start.elapsed(), Duration::from_millis(50));
    assert_eq!(
        pool.status().waiting,
        1,
        "the patient waiter is still queued"
    );
    drop(held);
    assert_eq!(within(patient).await.unwrap(), Ok(0));
}

#[tokio::test(start_paused = true)]
async fn zero_timeout_never_waits_and_huge_timeout_never_fires() {
    let (pool, _) = pool(1, 0, Strategy::Fifo);
    let held = pool.checkout(Duration::ZERO).await.unwrap();
    assert_eq!(
        pool.checkout(Duration::ZERO).await.unwrap_err(),
        PoolError::Timeout
    );
    assert_eq!(pool.status().waiting, 0);
    let forever = tokio::spawn({
        let pool = pool.clone();
        async move { pool.checkout(Duration::MAX).await.map(|o| o.id) }
    });
    until_waiting(&pool, 1).await;
    tokio::time::sleep(Duration::from_secs(365 * 24 * 3600)).await;
    assert!(!forever.is_finished());
    drop(held);
    assert_eq!(within(forever).await.unwrap(), Ok(0));
}

#[tokio::test(start_paused = true)]
async fn an_object_returned_after_a_timeout_goes_to_the_next_waiter() {
    let (pool, _) = pool(1, 0, Strategy::Fifo);
    let held = pool.checkout(LONG).await.unwrap();
    let early = tokio::spawn({
        let pool = pool.clone();
        async move { pool.checkout(Duration::from_millis(10)).await.map(|o| o.id) }
    });
    until_waiting(&pool, 1).await;
    let late = tokio::spawn({
        let pool = pool.clone();
        async move { pool.checkout(LONG).await.map(|o| o.id) }
    });
    until_waiting(&pool, 2).await;
    assert_eq!(within(early).await.unwrap(), Err(PoolError::Timeout));
    assert_eq!(pool.status().waiting, 1);
    drop(held);
    assert_eq!(within(late).await.unwrap(), Ok(0));
    assert_eq!(pool.status(), status(PoolState::Ready, 1, 0, 0, 0));
}

#[tokio::test(start_paused = true)]
async fn dropping_the_pool_while_its_timeout_task_sleeps_is_harmless() {
    let (pool, counts) = pool(1, 0, Strategy::Fifo);
    let held = pool.checkout(LONG).await.unwrap();
    let mut waiting = Box::pin(pool.checkout(LONG));
    assert!(poll_once(waiting.as_mut()).is_pending());
    drop(waiting);
    drop(pool);
    drop(held);
    assert_eq!(
        counts.dropped(),
        1,
        "the last handle gone, the object is dropped"
    );
    tokio::time::sleep(LONG * 2).await;
}

/// Waiters that time out or are cancelled while objects are being handed
/// to them, on two threads: nothing leaks, nothing is lent twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancellations_racing_hand_offs_leak_nothing() {
    let (pool, counts) = pool(2, 1, Strategy::Fifo);
    let out = Arc::new(AtomicUsize::new(0));
    let peak = Arc::new(AtomicUsize::new(0));
    let tasks: Vec<_> = (0..24)
        .map(|n| {
            let (pool, out, peak) = (pool.clone(), Arc::clone(&out), Arc::clone(&peak));
            tokio::spawn(async move {
                for i in 0..2000 {
                    let object = match (n + i) % 3 {
                        // Gives up after one yield: cancelled mid-wait.
                        0 => tokio::select! {
                            biased;
                            object = pool.checkout(LONG) => object.ok(),
                            () = tokio::task::yield_now() => None,
                        },
                        1 => pool.checkout(Duration::from_micros(50)).await.ok(),
                        _ => pool.checkout(LONG).await.ok(),
                    };
                    let Some(mut object) = object else { continue };
                    peak.fetch_max(out.fetch_add(1, Ordering::SeqCst) + 1, Ordering::SeqCst);
                    tokio::task::yield_now().await;
                    if i % 101 == 0 {
                        Pooled::mark_broken(&mut object);
                    }
                    out.fetch_sub(1, Ordering::SeqCst);
                }
            })
        })
        .collect();
    for task in tasks {
        within(task).await.unwrap();
    }
    assert!(
        peak.load(Ordering::SeqCst) <= 3,
        "peak {}",
        peak.load(Ordering::SeqCst)
    );
    assert_eq!(pool.status(), status(PoolState::Ready, 2, 0, 0, 0));
    assert_eq!(counts.created() - counts.dropped(), 2);
}

#[test]
fn waiting_outside_a_runtime_panics_without_breaking_later_timeouts() {
    let (pool, _) = pool(1, 0, Strategy::Fifo);
    let held = pool.try_checkout().unwrap();
    let outside = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let mut checkout = pin!(pool.checkout(LONG));
        let _ = poll_once(checkout.as_mut());
    }));
    assert!(outside.is_err(), "waiting needs a tokio runtime");
    assert_eq!(pool.status().waiting, 0);

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
        .unwrap();
    let result = runtime.block_on(within(pool.checkout(Duration::from_millis(10))));
    assert_eq!(result.unwrap_err(), PoolError::Timeout);
    drop(held);
}
