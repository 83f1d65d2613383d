//! Supervisor: start order, reverse shutdown, shutdown timeout, restart
//! types, restart intensity.
//!
//! Every test runs on tokio's paused clock: it moves only when all tasks are
//! idle, so a busy machine cannot make a shutdown timeout or a deadline fire
//! early, and a test that would hang fails at once. Tests whose outcome
//! depends on the restart window measure it on a [`ManualClock`] that only
//! the test moves. Whether a child was restarted is checked once the
//! supervisor has handled its exit, never after a sleep.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::mpsc;

use ggen_jobs::clock::ManualClock;
use ggen_jobs::config::SupervisorConfig;
use ggen_jobs::supervisor::{ChildSpec, Restart};
use ggen_jobs::supervisor::{Supervisor, SupervisorExit};

type Log = Arc<Mutex<Vec<String>>>;

/// How long a test waits for something that must happen before it fails.
/// On the paused clock it only passes when nothing else can happen.
const LIVENESS: Duration = Duration::from_secs(60);

/// Polls `condition` until it holds, failing the test with `what` if it
/// still does not after [`LIVENESS`].
async fn eventually(what: &str, mut condition: impl AsyncFnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + LIVENESS;
    while !condition().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting until {what}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

fn entries(log: &Log) -> Vec<String> {
    log.lock().unwrap().clone()
}

/// What a controlled child does next.
#[derive(Debug)]
enum Cmd {
    Exit,
    Fail,
    Panic,
}

/// A child that reports each start on `starts` and then obeys commands.
struct Controlled {
    commands: mpsc::UnboundedSender<Cmd>,
    starts: mpsc::UnboundedReceiver<()>,
}

impl Controlled {
    fn spec(id: &str, log: &Log) -> (ChildSpec, Self) {
        let (commands, receiver) = mpsc::unbounded_channel();
        let receiver = Arc::new(tokio::sync::Mutex::new(receiver));
        let (started, starts) = mpsc::unbounded_channel();
        let log = Arc::clone(log);
        let name = id.to_owned();
        let spec = ChildSpec::new(id, move |stop| {
            log.lock().unwrap().push(format!("start {name}"));
            let _ = started.send(());
            let receiver = Arc::clone(&receiver);
            let log = Arc::clone(&log);
            let name = name.clone();
            async move {
                let mut receiver = receiver.lock().await;
                tokio::select! {
                    command = receiver.recv() => match command {
                        Some(Cmd::Exit) | None => Ok(()),
                        Some(Cmd::Fail) => Err("told to fail".into()),
                        Some(Cmd::Panic) => panic!("told to panic"),
                    },
                    () = stop.requested() => {
                        log.lock().unwrap().push(format!("stop {name}"));
                        Ok(())
                    }
                }
            }
        });
        (spec, Self { commands, starts })
    }

    async fn started(&mut self) {
        tokio::time::timeout(LIVENESS, self.starts.recv())
            .await
            .expect("child started in time")
            .expect("supervisor alive");
    }

    fn send(&self, command: Cmd) {
        self.commands.send(command).expect("child listening");
    }

    /// No start beyond those already seen. Call it once the supervisor has
    /// handled the child's exit: a restart happens within that same step,
    /// and the restarted child reports its start before the step ends.
    fn assert_not_restarted(&mut self) {
        assert!(self.starts.try_recv().is_err(), "child was restarted");
    }
}

fn config(intensity: u32, period: Duration) -> SupervisorConfig {
    SupervisorConfig { intensity, period }
}

#[tokio::test(start_paused = true)]
async fn starts_children_in_order_and_stops_them_in_reverse_order() {
    let log = Log::default();
    let (a, mut ca) = Controlled::spec("a", &log);
    let (b, mut cb) = Controlled::spec("b", &log);
    let (c, mut cc) = Controlled::spec("c", &log);
    let handle = Supervisor::new(config(1, Duration::from_secs(5)))
        .child(a)
        .child(b)
        .child(c)
        .start();
    ca.started().await;
    cb.started().await;
    cc.started().await;
    let ids: Vec<_> = handle
        .which_children()
        .await
        .into_iter()
        .map(|c| c.id)
        .collect();
    assert_eq!(ids, ["a", "b", "c"]);
    assert_eq!(handle.shutdown().await, SupervisorExit::Shutdown);
    assert_eq!(
        entries(&log),
        [
            "start a", "start b", "start c", "stop c", "stop b", "stop a"
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn a_child_that_ignores_shutdown_is_aborted_after_its_timeout() {
    struct Dropped(Log);
    impl Drop for Dropped {
        fn drop(&mut self) {
            self.0.lock().unwrap().push("stubborn dropped".to_owned());
        }
    }
    let log = Log::default();
    let (first, mut first_control) = Controlled::spec("first", &log);
    let stubborn_log = Arc::clone(&log);
    let stubborn = ChildSpec::new("stubborn", move |_stop| {
        let guard = Dropped(Arc::clone(&stubborn_log));
        async move {
            let _guard = guard;
            loop {
                tokio::time::sleep(Duration::from_secs(3600)).await;
            }
        }
    })
    .shutdown(Duration::from_secs(2));
    let handle = Supervisor::new(config(1, Duration::from_secs(5)))
        .child(first)
        .child(stubborn)
        .start();
    first_control.started().await;
    let begun = tokio::time::Instant::now();
    assert_eq!(handle.shutdown().await, SupervisorExit::Shutdown);
    assert!(begun.elapsed() >= Duration::from_secs(2));
    assert!(begun.elapsed() < Duration::from_secs(3));
    assert_eq!(
        entries(&log),
        ["start first", "stubborn dropped", "stop first"]
    );
}

#[tokio::test(start_paused = true)]
async fn a_permanent_child_is_restarted_after_any_exit() {
    let log = Log::default();
    let (spec, mut child) = Controlled::spec("p", &log);
    let handle = Supervisor::new(config(10, Duration::from_secs(5)))
        .child(spec.restart(Restart::Permanent))
        .start();
    child.started().await;
    child.send(Cmd::Exit);
    child.started().await;
    child.send(Cmd::Fail);
    child.started().await;
    child.send(Cmd::Panic);
    child.started().await;
    let info = handle.which_children().await;
    assert_eq!(info[0].restarts, 3);
    assert!(info[0].running);
    assert_eq!(info[0].last_error.as_deref(), Some("panicked"));
    handle.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn a_transient_child_is_restarted_only_after_an_abnormal_exit() {
    let log = Log::default();
    let (spec, mut child) = Controlled::spec("t", &log);
    let handle = Supervisor::new(config(10, Duration::from_secs(5)))
        .child(spec.restart(Restart::Transient))
        .start();
    child.started().await;
    child.send(Cmd::Fail);
    child.started().await;
    child.send(Cmd::Panic);
    child.started().await;
    child.send(Cmd::Exit);
    // A restarted child would be running again: wait for the supervisor to
    // see it stopped, then make sure no start slipped in meanwhile.
    eventually("the supervisor saw the child stop", async || {
        !handle.which_children().await[0].running
    })
    .await;
    child.assert_not_restarted();
    let info = handle.which_children().await;
    assert_eq!(info.len(), 1, "a stopped transient child keeps its spec");
    assert!(!info[0].running);
    assert_eq!(info[0].restarts, 2);
    assert!(handle.is_running());
    handle.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn a_temporary_child_is_never_restarted_and_is_forgotten() {
    let log = Log::default();
    let (temporary, mut child) = Controlled::spec("tmp", &log);
    let (other, mut other_child) = Controlled::spec("other", &log);
    let handle = Supervisor::new(config(10, Duration::from_secs(5)))
        .child(temporary.restart(Restart::Temporary))
        .child(other)
        .start();
    child.started().await;
    other_child.started().await;
    child.send(Cmd::Fail);
    eventually("the supervisor forgot the temporary child", async || {
        handle.which_children().await.len() == 1
    })
    .await;
    child.assert_not_restarted();
    let ids: Vec<_> = handle
        .which_children()
        .await
        .into_iter()
        .map(|c| c.id)
        .collect();
    assert_eq!(ids, ["other"]);
    handle.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn the_restart_that_exceeds_the_intensity_stops_the_supervisor() {
    let log = Log::default();
    let (sibling, mut sibling_child) = Controlled::spec("sibling", &log);
    let (crashy, mut child) = Controlled::spec("crashy", &log);
    let mut handle = Supervisor::new(config(2, Duration::from_secs(60)))
        // A clock that stands still: every restart falls within the period.
        .with_clock(ManualClock::new())
        .child(sibling)
        .child(crashy)
        .start();
    sibling_child.started().await;
    child.started().await;
    // Two restarts are within the intensity.
    child.send(Cmd::Fail);
    child.started().await;
    child.send(Cmd::Fail);
    child.started().await;
    assert!(handle.is_running());
    // The third would exceed it.
    child.send(Cmd::Fail);
    let exit = tokio::time::timeout(LIVENESS, handle.wait())
        .await
        .expect("supervisor stopped");
    assert_eq!(
        exit,
        SupervisorExit::IntensityExceeded {
            child: "crashy".to_owned()
        }
    );
    // The supervisor has finished: a restart would already have reported.
    child.assert_not_restarted();
    assert!(!handle.is_running());
    assert!(entries(&log).contains(&"stop sibling".to_owned()));
    assert!(handle.which_children().await.is_empty());
}

#[tokio::test(start_paused = true)]
async fn intensity_zero_stops_at_the_first_restart() {
    let log = Log::default();
    let (spec, mut child) = Controlled::spec("once", &log);
    let mut handle = Supervisor::new(config(0, Duration::from_secs(60)))
        // A clock that stands still: every restart falls within the period.
        .with_clock(ManualClock::new())
        .child(spec)
        .start();
    child.started().await;
    child.send(Cmd::Panic);
    let exit = tokio::time::timeout(LIVENESS, handle.wait())
        .await
        .expect("supervisor stopped");
    assert_eq!(
        exit,
        SupervisorExit::IntensityExceeded {
            child: "once".to_owned()
        }
    );
    child.assert_not_restarted();
}

#[tokio::test(start_paused = true)]
async fn restarts_older_than_the_period_are_forgotten() {
    let clock = ManualClock::new();
    let period = Duration::from_secs(10);
    let log = Log::default();
    let (spec, mut child) = Controlled::spec("slow", &log);
    let mut handle = Supervisor::new(config(1, period))
        .with_clock(clock.clone())
        .child(spec)
        .start();
    child.started().await;
    for _ in 0..4 {
        child.send(Cmd::Fail);
        child.started().await;
        clock.advance(period);
    }
    assert!(handle.is_running());
    assert_eq!(handle.which_children().await[0].restarts, 4);
    // Two restarts within one period exceed an intensity of 1.
    child.send(Cmd::Fail);
    child.started().await;
    clock.advance(period - Duration::from_millis(1));
    child.send(Cmd::Fail);
    let exit = tokio::time::timeout(LIVENESS, handle.wait())
        .await
        .expect("supervisor stopped");
    assert!(matches!(exit, SupervisorExit::IntensityExceeded { .. }));
}

#[tokio::test(start_paused = true)]
async fn dropping_the_handle_stops_the_children() {
    let log = Log::default();
    let (spec, mut child) = Controlled::spec("orphan", &log);
    let handle = Supervisor::new(config(1, Duration::from_secs(5)))
        .child(spec)
        .start();
    child.started().await;
    drop(handle);
    eventually("the orphan was stopped", async || {
        entries(&log).contains(&"stop orphan".to_owned())
    })
    .await;
}
