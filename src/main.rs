//! The `ggen` binary: parse the command line, run the command, exit with its code.

use std::io::Write as _;
use std::process::ExitCode;

use clap::Parser as _;
use cli::{Cli, Command};
use ggen::commands;

mod cli;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let stdout = std::io::stdout();
    let stderr = std::io::stderr();
    let (mut out, mut err) = (stdout.lock(), stderr.lock());
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
            clap_complete::generate(args.shell, &mut Cli::command(), "ggen", &mut out);
            0
        }
    };
    let _ = out.flush();
    ExitCode::from(code)
}
