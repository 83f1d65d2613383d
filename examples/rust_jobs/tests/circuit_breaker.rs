//! Breaker transitions, driven by a manual clock: no test sleeps.

use std::sync::Arc;
use std::time::Duration;

use ggen_jobs::circuit_breaker::{Admission, BreakerState, CircuitBreaker};
use ggen_jobs::clock::ManualClock;

const WINDOW: Duration = Duration::from_secs(10);
const OPEN_FOR: Duration = Duration::from_secs(30);

fn breaker(threshold: u32) -> (CircuitBreaker, Arc<ManualClock>) {
    let clock = ManualClock::new();
    let breaker = CircuitBreaker::with_clock(threshold, WINDOW, OPEN_FOR, clock.clone());
    (breaker, clock)
}

#[test]
fn opens_when_failures_within_the_window_reach_the_threshold() {
    let (breaker, _clock) = breaker(3);
    breaker.record_failure();
    breaker.record_failure();
    assert_eq!(breaker.state(), BreakerState::Closed);
    assert!(breaker.allow());
    breaker.record_failure();
    assert_eq!(breaker.state(), BreakerState::Open);
    assert!(!breaker.allow());
    assert_eq!(breaker.times_opened(), 1);
}

#[test]
fn failures_older_than_the_window_do_not_count() {
    let (breaker, clock) = breaker(3);
    breaker.record_failure();
    breaker.record_failure();
    clock.advance(WINDOW);
    breaker.record_failure();
    assert_eq!(breaker.state(), BreakerState::Closed);
    clock.advance(WINDOW / 2);
    breaker.record_failure();
    assert_eq!(breaker.state(), BreakerState::Closed);
    breaker.record_failure();
    assert_eq!(breaker.state(), BreakerState::Open);
}

#[test]
fn successes_do_not_reset_the_failure_count_while_closed() {
    let (breaker, _clock) = breaker(2);
    breaker.record_failure();
    breaker.record_success();
    breaker.record_failure();
    assert_eq!(breaker.state(), BreakerState::Open);
}

#[test]
fn stays_open_until_open_for_has_passed() {
    let (breaker, clock) = breaker(1);
    breaker.record_failure();
    clock.advance(OPEN_FOR - Duration::from_millis(1));
    assert_eq!(breaker.state(), BreakerState::Open);
    assert!(!breaker.allow());
    clock.advance(Duration::from_millis(1));
    assert_eq!(breaker.state(), BreakerState::HalfOpen);
}

#[test]
fn half_open_lets_exactly_one_probe_through() {
    let (breaker, clock) = breaker(1);
    breaker.record_failure();
    clock.advance(OPEN_FOR);
    assert_eq!(breaker.try_acquire(), Some(Admission::Probe));
    assert!(!breaker.allow());
    assert!(!breaker.allow());
    assert_eq!(breaker.state(), BreakerState::HalfOpen);
}

#[test]
fn a_successful_probe_closes_the_breaker() {
    let (breaker, clock) = breaker(2);
    breaker.record_failure();
    breaker.record_failure();
    clock.advance(OPEN_FOR);
    assert!(breaker.allow());
    breaker.record_success();
    assert_eq!(breaker.state(), BreakerState::Closed);
    assert_eq!(breaker.try_acquire(), Some(Admission::Closed));
    // Old failures were forgotten: one new failure does not reopen it.
    breaker.record_failure();
    assert_eq!(breaker.state(), BreakerState::Closed);
}

#[test]
fn a_failed_probe_reopens_the_breaker_for_another_period() {
    let (breaker, clock) = breaker(1);
    breaker.record_failure();
    clock.advance(OPEN_FOR);
    assert!(breaker.allow());
    breaker.record_failure();
    assert_eq!(breaker.state(), BreakerState::Open);
    assert_eq!(breaker.times_opened(), 2);
    clock.advance(OPEN_FOR - Duration::from_millis(1));
    assert!(!breaker.allow());
    clock.advance(Duration::from_millis(1));
    assert!(breaker.allow());
}

#[test]
fn a_cancelled_probe_can_be_taken_again() {
    let (breaker, clock) = breaker(1);
    breaker.record_failure();
    clock.advance(OPEN_FOR);
    assert!(breaker.allow());
    breaker.cancel_probe();
    assert!(breaker.allow());
    assert!(!breaker.allow());
}

#[test]
fn a_probe_that_never_reports_is_given_up_after_open_for() {
    let (breaker, clock) = breaker(1);
    breaker.record_failure();
    clock.advance(OPEN_FOR);
    assert!(breaker.allow());
    clock.advance(OPEN_FOR - Duration::from_millis(1));
    assert!(!breaker.allow());
    clock.advance(Duration::from_millis(1));
    assert!(breaker.allow());
}

#[test]
fn trip_opens_a_closed_breaker() {
    let (breaker, clock) = breaker(5);
    breaker.trip();
    assert_eq!(breaker.state(), BreakerState::Open);
    assert!(!breaker.allow());
    clock.advance(OPEN_FOR);
    assert!(breaker.allow());
}

#[test]
fn a_zero_threshold_acts_as_one() {
    let (breaker, _clock) = breaker(0);
    assert!(breaker.allow());
    breaker.record_failure();
    assert_eq!(breaker.state(), BreakerState::Open);
}

#[test]
fn is_shared_safely_between_threads() {
    let (breaker, _clock) = breaker(1000);
    let breaker = Arc::new(breaker);
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let breaker = Arc::clone(&breaker);
            std::thread::spawn(move || {
                for _ in 0..250 {
                    breaker.record_failure();
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().expect("no panic");
    }
    assert_eq!(breaker.state(), BreakerState::Open);
    assert_eq!(breaker.times_opened(), 1);
}
