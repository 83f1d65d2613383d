//! The command line, as clap derive types (doc comments are the help
//! text), and how each command's arguments become the library's options.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use ggen::commands::{
    self, DiffOptions, EjectOptions, InitOptions, Mode, SyncOptions, Verbosity, VerifyOptions,
};

/// Generate working Erlang/OTP and Rust job-worker systems from an RDF
/// ontology, with a receipt that proves the code matches its specification.
#[derive(Debug, Parser)]
#[command(name = "ggen", version, propagate_version = true)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the five stages and bring the outputs in line with the ontology.
    Sync(SyncArgs),
    /// Re-hash every input and output named in the receipt.
    Verify(VerifyArgs),
    /// Compare the specification and outputs with another version; exit 1
    /// if a change breaks callers of the generated code.
    Diff(DiffArgs),
    /// Create a ready-to-sync project.
    Init(InitArgs),
    /// Copy a built-in target into the project, to own and edit every file of it.
    Eject(EjectArgs),
    /// Print a shell completion script.
    Completions(CompletionsArgs),
}

/// `ggen completions`.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

/// Output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Human-readable lines.
    Text,
    /// One JSON document on stdout.
    Json,
    /// GitHub Actions workflow commands: an annotation per problem, paths
    /// relative to $GITHUB_WORKSPACE (else the current folder).
    Github,
    /// One SARIF 2.1.0 log on stdout, paths as for github.
    Sarif,
}

/// `ggen sync`.
#[derive(Debug, Args)]
pub struct SyncArgs {
    /// The manifest; paths in it are relative to its folder.
    #[arg(long, value_name = "PATH", default_value = "ggen.toml")]
    pub manifest: PathBuf,

    /// Append a line with stage timings and counts to .ggen/audit.jsonl.
    #[arg(long, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    pub audit: Option<bool>,

    /// Run every stage and print what would change; write nothing.
    #[arg(long, alias = "dry_run")]
    pub dry_run: bool,

    /// Like --dry-run, then exit 1 with a diff if anything would change.
    #[arg(long, conflicts_with = "dry_run")]
    pub check: bool,

    /// Overwrite (and remove) generated files that were edited by hand.
    #[arg(long)]
    pub force: bool,

    /// Only this generation rule (repeatable); other rules' outputs stay as they are.
    #[arg(long = "rule", value_name = "NAME")]
    pub rules: Vec<String>,

    /// Sign the receipt with this private key (PKCS#8 PEM, Ed25519 or ECDSA
    /// P-256): writes .ggen/receipt.dsse.json. Overrides [receipt] sign_key.
    #[arg(long, value_name = "KEY")]
    pub sign: Option<PathBuf>,

    /// Render every template with the real rows, in memory, and write nothing.
    #[arg(long, alias = "validate_only", conflicts_with_all = ["dry_run", "check", "force"])]
    pub validate_only: bool,

    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,

    /// Sync, then sync again whenever an input changes; Ctrl-C stops.
    #[arg(long, conflicts_with_all = ["check", "validate_only"])]
    pub watch: bool,

    /// When another ggen command holds the project's lock, wait for it
    /// instead of stopping with exit 7.
    #[arg(long)]
    pub wait: bool,

    /// Print only errors.
    #[arg(short, long, conflicts_with = "verbose")]
    pub quiet: bool,

    /// Print stage timings, counts and unchanged files too.
    #[arg(short, long)]
    pub verbose: bool,
}

/// `ggen verify`.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The manifest; the receipt and every path in it are relative to its folder.
    #[arg(long, value_name = "PATH", default_value = "ggen.toml")]
    pub manifest: PathBuf,

    /// The receipt to check [default: .ggen/receipt.json beside the manifest].
    #[arg(long, value_name = "PATH")]
    pub receipt: Option<PathBuf>,

    /// Also check the receipt's signature (its .dsse.json beside it) with
    /// this public key (PEM).
    #[arg(long, value_name = "PUB")]
    pub key: Option<PathBuf>,

    /// When another ggen command holds the project's lock, wait for it
    /// instead of stopping with exit 7.
    #[arg(long)]
    pub wait: bool,

    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

/// `ggen diff`.
#[derive(Debug, Args)]
pub struct DiffArgs {
    /// The version to compare with: a git revision (HEAD~1, main, a tag) of
    /// the repository holding the manifest, or the folder or manifest of
    /// another copy of the project (an existing path is taken as a path).
    #[arg(long, value_name = "REV|PATH")]
    pub against: String,

    /// The manifest of the project as it is; paths in it are relative to its folder.
    #[arg(long, value_name = "PATH", default_value = "ggen.toml")]
    pub manifest: PathBuf,

    /// Exit 0 even when a change breaks callers of the generated code.
    #[arg(long)]
    pub allow_breaking: bool,

    /// When another ggen command holds the project's lock, wait for it
    /// instead of stopping with exit 7.
    #[arg(long)]
    pub wait: bool,

    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

impl DiffArgs {
    /// The library's options for this diff.
    pub fn options(&self) -> DiffOptions {
        DiffOptions {
            manifest: self.manifest.clone(),
            against: self.against.clone(),
            allow_breaking: self.allow_breaking,
            wait: self.wait,
            format: self.format.into(),
            workspace: workspace(),
        }
    }
}

/// `ggen eject`.
#[derive(Debug, Args)]
pub struct EjectArgs {
    /// The target (its `name` under [[targets]] in the manifest).
    pub target: String,

    /// Only these files of the target (e.g. job_handler.erl): copied to
    /// templates/<target>/, where they replace the built-in ones.
    pub files: Vec<String>,

    /// The manifest; the copy goes to targets/<target>/ beside it.
    #[arg(long, value_name = "PATH", default_value = "ggen.toml")]
    pub manifest: PathBuf,
}

impl EjectArgs {
    /// The library's options for this eject.
    pub fn options(&self) -> EjectOptions {
        EjectOptions {
            manifest: self.manifest.clone(),
            target: self.target.clone(),
            files: self.files.clone(),
        }
    }
}

/// Target language(s) of a new project.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Lang {
    /// An Erlang/OTP application (rebar3, poolboy).
    Erlang,
    /// A Rust crate (tokio).
    Rust,
    /// Both, in erlang/ and rust/.
    Both,
}

/// `ggen init`.
#[derive(Debug, Args)]
pub struct InitArgs {
    /// Which target(s) to generate.
    #[arg(long, value_enum, default_value_t = Lang::Erlang)]
    pub lang: Lang,

    /// The project name [default: the folder's name, made a valid Erlang atom and crate name].
    #[arg(long)]
    pub name: Option<String>,

    /// Where to create the project (created if missing).
    #[arg(default_value = ".")]
    pub dir: PathBuf,
}

impl From<Format> for commands::Format {
    fn from(format: Format) -> Self {
        match format {
            Format::Text => commands::Format::Text,
            Format::Json => commands::Format::Json,
            Format::Github => commands::Format::Github,
            Format::Sarif => commands::Format::Sarif,
        }
    }
}

impl SyncArgs {
    /// The library's options for this sync.
    pub fn options(&self) -> SyncOptions {
        let mode = if self.validate_only {
            Mode::ValidateOnly
        } else if self.check {
            Mode::Check
        } else if self.dry_run {
            Mode::DryRun
        } else {
            Mode::Write
        };
        let verbosity = if self.quiet {
            Verbosity::Quiet
        } else if self.verbose {
            Verbosity::Verbose
        } else {
            Verbosity::Normal
        };
        SyncOptions {
            manifest: self.manifest.clone(),
            mode,
            audit: self.audit.unwrap_or(false),
            force: self.force,
            rules: self.rules.clone(),
            sign: self.sign.clone(),
            wait: self.wait,
            format: self.format.into(),
            verbosity,
            workspace: workspace(),
        }
    }
}

impl VerifyArgs {
    /// The library's options for this verify.
    pub fn options(&self) -> VerifyOptions {
        VerifyOptions {
            manifest: self.manifest.clone(),
            receipt: self.receipt.clone(),
            key: self.key.clone(),
            wait: self.wait,
            format: self.format.into(),
            workspace: workspace(),
        }
    }
}

/// Where GitHub resolves annotation paths: `GITHUB_WORKSPACE`, when set.
fn workspace() -> Option<PathBuf> {
    std::env::var_os("GITHUB_WORKSPACE")
        .filter(|w| !w.is_empty())
        .map(PathBuf::from)
}

impl InitArgs {
    /// The library's options for this init.
    pub fn options(&self) -> InitOptions {
        InitOptions {
            dir: self.dir.clone(),
            lang: match self.lang {
                Lang::Erlang => ggen::init::Lang::Erlang,
                Lang::Rust => ggen::init::Lang::Rust,
                Lang::Both => ggen::init::Lang::Both,
            },
            name: self.name.clone(),
        }
    }
}
