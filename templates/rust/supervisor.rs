//! A one_for_one supervisor of tokio tasks, with OTP's restart intensity.
//!
//! Children are built by a factory closure, so a child that stops can be
//! started again. They are started in the order given and stopped in the
//! reverse order: each is asked to stop through its [`Shutdown`] signal and
//! aborted if it has not finished within its shutdown timeout.
//!
//! Restart intensity is OTP's: every restart is recorded, and the restart
//! that makes the count within `period` exceed `intensity` is not done;
//! the supervisor stops all children instead and exits with
//! [`SupervisorExit::IntensityExceeded`]. Restart windows are measured on the
//! injected [`Clock`](crate::clock::Clock); shutdown timeouts on tokio's
//! timer.

use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::{AbortHandle, Id, JoinError, JoinHandle, JoinSet};

use crate::clock::{self, SharedClock};
use crate::config::SupervisorConfig;

/// When a child that stopped is started again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Restart {
    /// Always.
    Permanent,
    /// Only after an abnormal exit: an error or a panic.
    Transient,
    /// Never; the child is forgotten once it stops.
    Temporary,
}

/// Why a child stopped abnormally.
pub type ChildError = Box<dyn std::error::Error + Send + Sync>;

/// What a child task returns: `Ok` is a normal exit.
pub type ChildResult = Result<(), ChildError>;

type ChildFuture = Pin<Box<dyn Future<Output = ChildResult> + Send>>;
type StartFn = Box<dyn Fn(Shutdown) -> ChildFuture + Send + Sync>;

/// The default time a child gets to stop before it is aborted, as OTP's
/// default for workers.
pub const DEFAULT_SHUTDOWN: Duration = Duration::from_secs(5);

/// The signal a child receives when it is asked to stop.
#[derive(Debug, Clone)]
pub struct Shutdown {
    receiver: watch::Receiver<bool>,
}

impl Shutdown {
    /// Whether the child has been asked to stop.
    pub fn is_requested(&self) -> bool {
        *self.receiver.borrow() || self.receiver.has_changed().is_err()
    }

    /// Resolves once the child is asked to stop (or its supervisor is gone).
    pub async fn requested(&self) {
        let mut receiver = self.receiver.clone();
        // An error means the supervisor is gone: stop as well.
        let _ = receiver.wait_for(|stop| *stop).await;
    }
}

/// How to start, restart and stop one child.
pub struct ChildSpec {
    id: String,
    restart: Restart,
    shutdown: Duration,
    start: StartFn,
}

impl fmt::Debug for ChildSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChildSpec")
            .field("id", &self.id)
            .field("restart", &self.restart)
            .field("shutdown", &self.shutdown)
            .finish_non_exhaustive()
    }
}

impl ChildSpec {
    /// A permanent child with the default shutdown timeout, whose task is
    /// `start(shutdown)`; `start` is called again for every restart.
    pub fn new<F, Fut>(id: impl Into<String>, start: F) -> Self
    where
        F: Fn(Shutdown) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ChildResult> + Send + 'static,
    {
        Self {
            id: id.into(),
            restart: Restart::Permanent,
            shutdown: DEFAULT_SHUTDOWN,
            start: Box::new(move |shutdown| Box::pin(start(shutdown))),
        }
    }

    /// Sets the restart type. Default: [`Restart::Permanent`].
    pub fn restart(mut self, restart: Restart) -> Self {
        self.restart = restart;
        self
    }

    /// Sets how long the child may take to stop before it is aborted.
    /// Default: [`DEFAULT_SHUTDOWN`].
    pub fn shutdown(mut self, timeout: Duration) -> Self {
        self.shutdown = timeout;
        self
    }

    /// The child's id.
    pub fn id(&self) -> &str {
        &self.id
    }
}

/// A child as [`SupervisorHandle::which_children`] reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChildInfo {
    /// The child's id.
    pub id: String,
    /// Its restart type.
    pub restart: Restart,
    /// Whether its task is running.
    pub running: bool,
    /// How often it has been restarted.
    pub restarts: u32,
    /// How its last run ended abnormally, if it did.
    pub last_error: Option<String>,
}

/// Why a supervisor stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SupervisorExit {
    /// It was asked to shut down (or its handle was dropped).
    Shutdown,
    /// Restarting `child` would have exceeded the restart intensity.
    IntensityExceeded {
        /// The child whose exit was one too many.
        child: String,
    },
}

/// A supervisor, before it is started.
#[derive(Debug)]
pub struct Supervisor {
    config: SupervisorConfig,
    clock: SharedClock,
    children: Vec<ChildSpec>,
}

impl Supervisor {
    /// A supervisor with the given restart intensity and no children.
    pub fn new(config: SupervisorConfig) -> Self {
        Self {
            config,
            clock: clock::system(),
            children: Vec::new(),
        }
    }

    /// Measures restart windows on `clock` instead of the system clock.
    pub fn with_clock(mut self, clock: SharedClock) -> Self {
        self.clock = clock;
        self
    }

    /// Adds a child; children start in the order they are added.
    pub fn child(mut self, spec: ChildSpec) -> Self {
        self.children.push(spec);
        self
    }

    /// Starts the children in order and supervises them in a task of its
    /// own. Must be called within a tokio runtime.
    pub fn start(self) -> SupervisorHandle {
        let (commands, receiver) = mpsc::unbounded_channel();
        let task = tokio::spawn(self.run(receiver));
        SupervisorHandle {
            commands,
            task: Some(task),
            exit: None,
        }
    }

    async fn run(self, mut commands: mpsc::UnboundedReceiver<Command>) -> SupervisorExit {
        let mut tree = Tree {
            intensity: self.config.intensity,
            period: self.config.period,
            clock: self.clock,
            tasks: JoinSet::new(),
            children: self
                .children
                .into_iter()
                .map(|spec| Child {
                    spec,
                    running: None,
                    restarts: 0,
                    last_error: None,
                })
                .collect(),
            restarts: VecDeque::new(),
        };
        for index in 0..tree.children.len() {
            tree.start(index);
        }
        loop {
            tokio::select! {
                command = commands.recv() => match command {
                    Some(Command::WhichChildren(reply)) => {
                        let _ = reply.send(tree.which_children());
                    }
                    Some(Command::Shutdown) | None => {
                        tree.stop_all().await;
                        return SupervisorExit::Shutdown;
                    }
                },
                Some(joined) = tree.tasks.join_next_with_id(), if !tree.tasks.is_empty() => {
                    if let Some(child) = tree.on_exit(joined) {
                        tree.stop_all().await;
                        return SupervisorExit::IntensityExceeded { child };
                    }
                }
            }
        }
    }
}

enum Command {
    WhichChildren(oneshot::Sender<Vec<ChildInfo>>),
    Shutdown,
}

struct Running {
    task: Id,
    abort: AbortHandle,
    stop: watch::Sender<bool>,
}

struct Child {
    spec: ChildSpec,
    running: Option<Running>,
    restarts: u32,
    last_error: Option<String>,
}

struct Tree {
    intensity: u32,
    period: Duration,
    clock: SharedClock,
    tasks: JoinSet<ChildResult>,
    children: Vec<Child>,
    restarts: VecDeque<Instant>,
}

impl Tree {
    fn start(&mut self, index: usize) {
        let child = &mut self.children[index];
        let (stop, receiver) = watch::channel(false);
        let future = (child.spec.start)(Shutdown { receiver });
        let abort = self.tasks.spawn(future);
        child.running = Some(Running {
            task: abort.id(),
            abort,
            stop,
        });
    }

    fn position(&self, task: Id) -> Option<usize> {
        self.children
            .iter()
            .position(|child| child.running.as_ref().is_some_and(|r| r.task == task))
    }

    /// Handles a child's exit; returns the child's id when restarting it
    /// would exceed the restart intensity.
    fn on_exit(&mut self, joined: Result<(Id, ChildResult), JoinError>) -> Option<String> {
        let (task, error) = match joined {
            Ok((task, Ok(()))) => (task, None),
            Ok((task, Err(error))) => (task, Some(error.to_string())),
            Err(error) if error.is_panic() => (error.id(), Some("panicked".to_owned())),
            Err(error) => (error.id(), Some("aborted".to_owned())),
        };
        let index = self.position(task)?;
        let child = &mut self.children[index];
        child.running = None;
        let abnormal = error.is_some();
        if abnormal {
            child.last_error = error;
        }
        let restart = match child.spec.restart {
            Restart::Permanent => true,
            Restart::Transient => abnormal,
            Restart::Temporary => {
                self.children.remove(index);
                return None;
            }
        };
        if !restart {
            return None;
        }
        let now = self.clock.now();
        self.restarts.push_back(now);
        while self
            .restarts
            .front()
            .is_some_and(|at| now.duration_since(*at) >= self.period)
        {
            self.restarts.pop_front();
        }
        if self.restarts.len() > self.intensity as usize {
            return Some(self.children[index].spec.id.clone());
        }
        self.children[index].restarts += 1;
        self.start(index);
        None
    }

    /// Stops the running children in reverse start order, each within its
    /// shutdown timeout or by abort.
    async fn stop_all(&mut self) {
        for index in (0..self.children.len()).rev() {
            let Some(running) = self.children[index].running.take() else {
                continue;
            };
            let _ = running.stop.send(true);
            let deadline = tokio::time::Instant::now() + self.children[index].spec.shutdown;
            let mut aborted = false;
            loop {
                let joined = if aborted {
                    self.tasks.join_next_with_id().await
                } else {
                    match tokio::time::timeout_at(deadline, self.tasks.join_next_with_id()).await {
                        Ok(joined) => joined,
                        Err(_) => {
                            running.abort.abort();
                            aborted = true;
                            continue;
                        }
                    }
                };
                let Some(joined) = joined else { break };
                let task = match &joined {
                    Ok((task, _)) => *task,
                    Err(error) => error.id(),
                };
                if task == running.task {
                    break;
                }
                // Another child ended on its own meanwhile: it stays stopped.
                if let Some(other) = self.position(task) {
                    self.children[other].running = None;
                }
            }
        }
    }

    fn which_children(&self) -> Vec<ChildInfo> {
        self.children
            .iter()
            .map(|child| ChildInfo {
                id: child.spec.id.clone(),
                restart: child.spec.restart,
                running: child.running.is_some(),
                restarts: child.restarts,
                last_error: child.last_error.clone(),
            })
            .collect()
    }
}

/// A running supervisor. Dropping the handle shuts the supervisor down.
#[derive(Debug)]
pub struct SupervisorHandle {
    commands: mpsc::UnboundedSender<Command>,
    task: Option<JoinHandle<SupervisorExit>>,
    exit: Option<SupervisorExit>,
}

impl fmt::Debug for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::WhichChildren(_) => "WhichChildren",
            Self::Shutdown => "Shutdown",
        })
    }
}

impl SupervisorHandle {
    /// The children in start order; empty once the supervisor has stopped.
    pub async fn which_children(&self) -> Vec<ChildInfo> {
        let (reply, receiver) = oneshot::channel();
        if self.commands.send(Command::WhichChildren(reply)).is_err() {
            return Vec::new();
        }
        receiver.await.unwrap_or_default()
    }

    /// Whether the supervisor is still running.
    pub fn is_running(&self) -> bool {
        self.task.as_ref().is_some_and(|task| !task.is_finished())
    }

    /// Waits until the supervisor stops on its own, and says why.
    pub async fn wait(&mut self) -> SupervisorExit {
        if let Some(task) = self.task.as_mut() {
            let exit = match task.await {
                Ok(exit) => exit,
                Err(error) if error.is_panic() => std::panic::resume_unwind(error.into_panic()),
                // The runtime is shutting down and took the supervisor with it.
                Err(_) => SupervisorExit::Shutdown,
            };
            self.task = None;
            self.exit = Some(exit);
        }
        self.exit.clone().unwrap_or(SupervisorExit::Shutdown)
    }

    /// Stops the children in reverse start order and then the supervisor.
    pub async fn shutdown(mut self) -> SupervisorExit {
        let _ = self.commands.send(Command::Shutdown);
        self.wait().await
    }
}
