//! The commands, a few lines each on top of the plan, the writer and the
//! checks. They take the library's own option types (the binary turns its
//! command line into them), print through a [`report::Report`] and return
//! the exit code.

pub mod ci;
mod diff;
mod eject;
mod guard;
mod init;
mod output;
mod report;
mod sync;
mod verify;

use std::path::PathBuf;

pub use eject::eject;
pub use guard::{diff, verify};
pub use init::init;
pub use output::{EXIT_BROKEN_PIPE, Output, is_broken_pipe};
pub use sync::sync;

/// How results are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Stage lines, lists and errors for people.
    Text,
    /// One JSON document on stdout.
    Json,
    /// GitHub Actions workflow commands: an annotation per finding.
    Github,
    /// One SARIF 2.1.0 log on stdout.
    Sarif,
}

impl Format {
    /// GitHub or SARIF: what [`ci`] prints.
    pub fn is_ci(self) -> bool {
        matches!(self, Format::Github | Format::Sarif)
    }
}

/// How much text a sync prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verbosity {
    /// Only errors.
    Quiet,
    /// Stage lines and the summary.
    Normal,
    /// Also stage timings, counts and unchanged files.
    Verbose,
}

/// What a sync does with its plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Write the outputs and the receipt.
    Write,
    /// List what would change; write nothing.
    DryRun,
    /// Like a dry run, and exit 1 with a diff if anything would change.
    Check,
    /// μ₁–μ₄ in memory: every template rendered with the real rows; no
    /// plan, nothing written.
    ValidateOnly,
}

impl Mode {
    /// The mode's name in JSON reports.
    pub fn name(self) -> &'static str {
        match self {
            Mode::Write => "write",
            Mode::DryRun => "dry-run",
            Mode::Check => "check",
            Mode::ValidateOnly => "validate-only",
        }
    }

    /// The command as typed after `ggen`, for CI reports.
    pub fn command(self) -> String {
        match self {
            Mode::Write => "sync".into(),
            mode => format!("sync --{}", mode.name()),
        }
    }

    /// Whether the mode writes to the disk.
    pub fn writes(self) -> bool {
        self == Mode::Write
    }
}

/// `ggen sync`.
#[derive(Debug, Clone)]
pub struct SyncOptions {
    /// The manifest.
    pub manifest: PathBuf,
    /// What to do with the plan.
    pub mode: Mode,
    /// Append a line to the audit trail after writing.
    pub audit: bool,
    /// Overwrite and remove files edited by hand.
    pub force: bool,
    /// Only these generation rules (all when empty).
    pub rules: Vec<String>,
    /// The private key that signs the receipt (`--sign`), over the
    /// manifest's `[receipt] sign_key`.
    pub sign: Option<PathBuf>,
    /// Wait for the project's lock instead of stopping when another ggen
    /// command holds it.
    pub wait: bool,
    /// Text, JSON, GitHub or SARIF.
    pub format: Format,
    /// How much text.
    pub verbosity: Verbosity,
    /// The folder GitHub and SARIF paths are relative to (the binary
    /// passes `GITHUB_WORKSPACE`); the current folder when `None`.
    pub workspace: Option<PathBuf>,
}

/// `ggen verify`.
#[derive(Debug, Clone)]
pub struct VerifyOptions {
    /// The manifest (its folder is the project's).
    pub manifest: PathBuf,
    /// The receipt, when not the project's own.
    pub receipt: Option<PathBuf>,
    /// The public key whose signature of the receipt must be beside it.
    pub key: Option<PathBuf>,
    /// Wait for the project's lock instead of stopping when another ggen
    /// command holds it.
    pub wait: bool,
    /// Text, JSON, GitHub or SARIF.
    pub format: Format,
    /// The folder GitHub and SARIF paths are relative to (the binary
    /// passes `GITHUB_WORKSPACE`); the current folder when `None`.
    pub workspace: Option<PathBuf>,
}

/// `ggen diff`.
#[derive(Debug, Clone)]
pub struct DiffOptions {
    /// The manifest of the project as it is.
    pub manifest: PathBuf,
    /// The version to compare with: a path, or a git revision.
    pub against: String,
    /// Exit 0 even when a change breaks callers of the generated code.
    pub allow_breaking: bool,
    /// Wait for the project's lock instead of stopping when another ggen
    /// command holds it.
    pub wait: bool,
    /// Text, JSON, GitHub or SARIF.
    pub format: Format,
    /// The folder GitHub and SARIF paths are relative to (the binary
    /// passes `GITHUB_WORKSPACE`); the current folder when `None`.
    pub workspace: Option<PathBuf>,
}

/// `ggen eject`.
#[derive(Debug, Clone)]
pub struct EjectOptions {
    /// The manifest.
    pub manifest: PathBuf,
    /// The built-in target to copy into the project.
    pub target: String,
    /// Only these files of it, to its override folder.
    pub files: Vec<String>,
}

/// `ggen init`.
#[derive(Debug, Clone)]
pub struct InitOptions {
    /// Where the project goes.
    pub dir: PathBuf,
    /// Which targets.
    pub lang: crate::init::Lang,
    /// The project name, else the folder's.
    pub name: Option<String>,
}
