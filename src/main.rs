//! The `ggen` binary: parse the command line, run the command, exit with its code.

use std::io::Write as _;
use std::process::ExitCode;

use clap::Parser as _;
use cli::{Cli, Command};
use ggen::commands::{self, EXIT_BROKEN_PIPE, Output, is_broken_pipe};

mod cli;

/// The stack of the thread that runs the command: parsers, the query
/// evaluator and RDFC-1.0 recurse on nested input, and the depth limits
/// (see `[limits]`) are checked against what fits here. Only touched pages
/// are ever backed by memory; the rest is an address-space reservation.
const STACK_SIZE: usize = 1 << 30;

fn main() -> ExitCode {
    let worker = std::thread::Builder::new()
        .name("ggen".into())
        .stack_size(STACK_SIZE)
        .spawn(run);
    match worker.map(std::thread::JoinHandle::join) {
        Ok(Ok(code)) => code,
        // The panic message is already on stderr.
        Ok(Err(_)) => ExitCode::from(101),
        // No thread could be started: run on the main thread's stack.
        Err(_) => run(),
    }
}

fn run() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        // --help and --version (exit 0), usage errors (2), printed by clap.
        Err(e) => {
            let printed = e.print();
            let code = u8::try_from(e.exit_code()).unwrap_or(2);
            if code == 0 && is_broken_pipe(&printed) {
                return ExitCode::from(EXIT_BROKEN_PIPE);
            }
            return ExitCode::from(code);
        }
    };
    let mut out = Output::new(std::io::stdout().lock());
    let mut err = Output::new(std::io::stderr().lock());
    let code = match &cli.command {
        Command::Sync(args) if args.watch => {
            ggen::watch::watch(&args.options(), &mut out, &mut err)
        }
        Command::Sync(args) => commands::sync(&args.options(), &mut out, &mut err),
        Command::Verify(args) => commands::verify(&args.options(), &mut out, &mut err),
        Command::Diff(args) => commands::diff(&args.options(), &mut out, &mut err),
        Command::Init(args) => commands::init(&args.options(), &mut out, &mut err),
        Command::Eject(args) => commands::eject(&args.options(), &mut out, &mut err),
        Command::Completions(args) => {
            use clap::CommandFactory as _;
            // clap_complete panics when a write fails: write the script
            // to memory, then to stdout.
            let mut script = Vec::new();
            clap_complete::generate(args.shell, &mut Cli::command(), "ggen", &mut script);
            let _ = out.write_all(&script);
            0
        }
    };
    let _ = out.flush();
    // A reader that went away costs a command that succeeded its exit
    // status; a failure keeps its own, whose message went to stderr.
    if code == 0 && (out.broken() || err.broken()) {
        return ExitCode::from(EXIT_BROKEN_PIPE);
    }
    ExitCode::from(code)
}
