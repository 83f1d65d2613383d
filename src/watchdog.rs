//! A watchdog for the work no library lets ggen interrupt: a Tera render
//! that loops or doubles a string, an evaluator sorting a huge join,
//! RDFC-1.0 on a symmetric graph. While a [`Guard`] is alive, a thread
//! polls the process's resident memory (`/proc/self/status`) and the
//! guard's deadline every few milliseconds; past either, it prints the
//! guard's error and ends the process with its exit code.
//!
//! Guards are only taken while planning, before anything is written, so
//! ending the process there leaves every file as it was (the OS lock dies
//! with the process).

use std::io::Write;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use crate::error::{Error, ErrorKind};

const POLL: Duration = Duration::from_millis(10);

struct Watch {
    id: u64,
    kind: ErrorKind,
    what: String,
    memory_mb: u64,
    deadline: Option<(Instant, Deadline)>,
}

/// A time limit of `[limits]`: how long the work may take, the key that
/// sets it and the advice its error gives.
#[derive(Debug, Clone, Copy)]
pub struct Deadline {
    /// How long.
    pub after: Duration,
    /// The `[limits]` key (`render_seconds`).
    pub key: &'static str,
    /// What to look for, in the error's help.
    pub help: &'static str,
}

#[derive(Default)]
struct Watches {
    next: u64,
    active: Vec<Watch>,
}

/// Writes a limit's error in the command's format (`--format json`), given
/// the error and writers to duplicates of stdout and stderr.
pub type Reporter = Box<dyn Fn(&Error, &mut dyn Write, &mut dyn Write) + Send>;

fn reporter() -> &'static Mutex<Option<Reporter>> {
    static REPORTER: OnceLock<Mutex<Option<Reporter>>> = OnceLock::new();
    REPORTER.get_or_init(|| Mutex::new(None))
}

/// From now on, a limit's error is written by `report` rather than as text
/// on stderr.
pub fn report_with(report: Reporter) {
    *reporter().lock().unwrap_or_else(|e| e.into_inner()) = Some(report);
}

fn watches() -> &'static Mutex<Watches> {
    static WATCHES: OnceLock<Mutex<Watches>> = OnceLock::new();
    WATCHES.get_or_init(|| {
        let _ = std::thread::Builder::new()
            .name("ggen-watchdog".into())
            .spawn(poll);
        Mutex::new(Watches::default())
    })
}

/// Watches the work until the guard is dropped: `what` says what it is
/// ("rendering rule `x`"), `kind` gives the exit code.
pub fn watch(kind: ErrorKind, what: String, memory_mb: u64, limit: Option<Deadline>) -> Guard {
    let mut watches = watches().lock().unwrap_or_else(|e| e.into_inner());
    watches.next += 1;
    let id = watches.next;
    watches.active.push(Watch {
        id,
        kind,
        what,
        memory_mb,
        deadline: limit.map(|l| (Instant::now() + l.after, l)),
    });
    Guard { id }
}

/// Ends a watch when dropped.
pub struct Guard {
    id: u64,
}

impl Drop for Guard {
    fn drop(&mut self) {
        let mut watches = watches().lock().unwrap_or_else(|e| e.into_inner());
        watches.active.retain(|w| w.id != self.id);
    }
}

fn poll() {
    loop {
        std::thread::sleep(POLL);
        let watches = watches().lock().unwrap_or_else(|e| e.into_inner());
        let Some(innermost) = watches.active.last() else {
            continue;
        };
        let memory_mb = watches.active.iter().map(|w| w.memory_mb).min();
        let rss = resident_mb();
        let error = if let (Some(rss), Some(limit)) = (rss, memory_mb)
            && rss > limit
        {
            Some(
                Error::new(
                    innermost.kind,
                    format!(
                        "{} needs more than {limit} MB of memory (`memory_mb` under `[limits]`)",
                        innermost.what
                    ),
                )
                .with_help(
                    "look for a loop or a join that grows without end; if the work is meant, raise `memory_mb` under `[limits]` in the manifest",
                ),
            )
        } else {
            watches.active.iter().find_map(|w| {
                let (deadline, limit) = w.deadline?;
                (Instant::now() > deadline).then(|| {
                    Error::new(
                        w.kind,
                        format!(
                            "{} takes longer than {} s (`{}` under `[limits]`)",
                            w.what,
                            limit.after.as_secs(),
                            limit.key
                        ),
                    )
                    .with_help(format!(
                        "{}; if the work is meant, raise `{}` under `[limits]` in the manifest",
                        limit.help, limit.key
                    ))
                })
            })
        };
        if let Some(error) = error {
            report(&error);
            std::process::exit(i32::from(error.exit_code()));
        }
    }
}

/// The process's resident set in megabytes, where the system says it.
fn resident_mb() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024)
}

/// Reports the error through the command's reporter, or as text on
/// stderr. The command's thread holds the locks of stdout and stderr for
/// the whole command: both are written through duplicates of their file
/// descriptors.
fn report(error: &Error) {
    use std::os::fd::AsFd as _;
    let duplicate = |fd: std::os::fd::BorrowedFd<'_>| -> Box<dyn Write> {
        match fd.try_clone_to_owned() {
            Ok(fd) => Box::new(std::fs::File::from(fd)),
            Err(_) => Box::new(std::io::sink()),
        }
    };
    let mut err = duplicate(std::io::stderr().as_fd());
    let reporter = reporter().lock().unwrap_or_else(|e| e.into_inner());
    match &*reporter {
        Some(report) => report(error, &mut duplicate(std::io::stdout().as_fd()), &mut err),
        None => {
            let _ = write!(err, "{}", error.render_text());
        }
    }
}
