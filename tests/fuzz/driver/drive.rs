//! The driver side: each mutated input run by a child process (this binary
//! with `--run`) under a deadline and a memory cap, its end classified, and
//! each crash, hang or runaway saved with the command that reproduces it.

use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// How a child ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Outcome {
    /// ggen accepted the input.
    Ok,
    /// ggen refused it with its own exit code (2–7) and a message.
    CleanError,
    /// A panic, an abort, a signal or another exit code.
    Crash,
    /// Still running at the deadline.
    Hang,
    /// An allocation failed under the memory cap.
    Memory,
}

impl Outcome {
    /// Whether the run fails because of it.
    pub fn is_finding(self) -> bool {
        matches!(self, Outcome::Crash | Outcome::Hang | Outcome::Memory)
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Outcome::Ok => "ok",
            Outcome::CleanError => "clean-error",
            Outcome::Crash => "crash",
            Outcome::Hang => "hang",
            Outcome::Memory => "memory",
        })
    }
}

/// Classifies a child's end from its status (None: killed at the
/// deadline) and the start of its stderr.
pub fn classify(status: Option<ExitStatus>, stderr: &str) -> Outcome {
    let Some(status) = status else {
        return Outcome::Hang;
    };
    match status.code() {
        Some(0) => Outcome::Ok,
        Some(2..=7) if !stderr.trim().is_empty() => Outcome::CleanError,
        Some(_) => Outcome::Crash,
        None if stderr.contains("memory allocation of") => Outcome::Memory,
        None => Outcome::Crash,
    }
}

/// How each child runs.
pub struct Limits {
    pub deadline: Duration,
    pub memory_mb: u64,
    /// The executable children run: a copy of this driver in the scratch
    /// folder, so a rebuild during a long run cannot pull it away.
    pub exe: PathBuf,
}

/// Copies the running driver into `scratch` for the children to run.
pub fn copy_self(scratch: &Path) -> std::io::Result<PathBuf> {
    let exe = scratch.join("ggen-fuzz-child");
    fs::copy(std::env::current_exe()?, &exe)?;
    Ok(exe)
}

/// Runs `input` (already written to a file) in a child; returns the
/// outcome and the start of the child's stderr.
pub fn run_child(kind: &str, input: &Path, scratch: &Path, limits: &Limits) -> (Outcome, String) {
    let stderr_path = scratch.join("stderr");
    let stderr_file = fs::File::create(&stderr_path).expect("scratch stderr file");
    let mut child = Command::new(&limits.exe)
        .args(["--run", kind])
        .arg(input)
        .args(["--memory-mb", &limits.memory_mb.to_string()])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(stderr_file)
        .spawn()
        .expect("spawn the fuzz child");
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for the fuzz child") {
            break Some(status);
        }
        if started.elapsed() > limits.deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(2));
    };
    let stderr = read_head(&stderr_path, 16 * 1024);
    (classify(status, &stderr), stderr)
}

/// The first `max` bytes of a file, lossily as text.
fn read_head(path: &Path, max: u64) -> String {
    use std::io::Read;
    let mut head = Vec::new();
    if let Ok(file) = fs::File::open(path) {
        let _ = file.take(max).read_to_end(&mut head);
    }
    String::from_utf8_lossy(&head).into_owned()
}

/// Saves a finding: the input, and beside it a note with the outcome, the
/// stderr head and the command that reproduces it. Returns the input's path.
pub fn save_finding(
    findings: &Path,
    kind: &str,
    seed: u64,
    index: u64,
    outcome: Outcome,
    input: &[u8],
    stderr: &str,
) -> PathBuf {
    let folder = findings.to_path_buf();
    fs::create_dir_all(&folder).expect("create the findings folder");
    let name = format!("{outcome}-{kind}-seed{seed}-{index}");
    let path = folder.join(format!("{name}.input"));
    fs::write(&path, input).expect("save the finding");
    let shown = path.display();
    let note = format!(
        "{outcome} on a {kind} input (seed {seed}, input {index})\n\
         reproduce: cargo run --quiet --bin ggen-fuzz -- --run {kind} {shown}\n\
         regenerate: scripts/fuzz --seed {seed} --kind {kind} --only {index}\n\
         stderr (head):\n{stderr}\n"
    );
    fs::write(folder.join(format!("{name}.txt")), note).expect("save the finding's note");
    path
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::process::ExitStatusExt;

    const OVERFLOW: &str =
        "thread 'main' has overflowed its stack\nfatal runtime error: stack overflow, aborting\n";
    const SIGABRT: i32 = 6;

    #[test]
    fn exit_codes_and_signals_are_classified() {
        let code = |c: i32| Some(ExitStatus::from_raw(c << 8));
        let signal = Some(ExitStatus::from_raw(SIGABRT));
        assert_eq!(classify(code(0), ""), Outcome::Ok);
        assert_eq!(classify(code(4), "error: x"), Outcome::CleanError);
        assert_eq!(classify(code(4), ""), Outcome::Crash);
        assert_eq!(classify(code(101), "panicked"), Outcome::Crash);
        assert_eq!(classify(code(1), "error"), Outcome::Crash);
        assert_eq!(classify(None, ""), Outcome::Hang);
        assert_eq!(classify(signal, "boom"), Outcome::Crash);
        // A stack overflow is a crash like any other (the depth limits of
        // `[limits]` keep every front end inside its stack).
        assert_eq!(classify(signal, OVERFLOW), Outcome::Crash);
        let oom = "memory allocation of 4294967296 bytes failed\n";
        assert_eq!(classify(signal, oom), Outcome::Memory);
    }
}
