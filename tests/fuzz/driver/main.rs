//! `ggen-fuzz`: a stable-Rust fuzz driver for ggen's front ends (Turtle,
//! the manifest, SPARQL queries, Tera templates). It mutates the committed
//! corpus under `tests/fuzz/corpus/<kind>/`, runs each input in a child
//! process (`--run`) under a deadline and a memory cap, and saves each
//! crash, hang or runaway with its reproduction command. `scripts/fuzz`
//! builds and runs it; README "Fuzzing" gives the figures.

mod drive;
mod fronts;
mod mutate;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::Parser;

use drive::{Limits, Outcome};

/// Command line.
#[derive(Parser, Debug)]
#[command(name = "ggen-fuzz", about = "Mutation fuzzing of ggen's front ends")]
struct Args {
    /// Child mode: run one input file through KIND's front end and exit
    /// with ggen's code.
    #[arg(long, num_args = 2, value_names = ["KIND", "FILE"])]
    run: Option<Vec<String>>,
    /// Stop after this many seconds in all (checked between inputs).
    #[arg(long)]
    seconds: Option<u64>,
    /// Stop after this many inputs per kind (deterministic with --seed).
    #[arg(long)]
    inputs: Option<u64>,
    /// The seed: the same seed gives the same inputs.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// turtle, manifest, query, template or all.
    #[arg(long, default_value = "all")]
    kind: String,
    /// Run only input number N of the kind (to regenerate a finding).
    #[arg(long)]
    only: Option<u64>,
    /// The corpus: one folder per kind.
    #[arg(long, default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fuzz/corpus"))]
    corpus: PathBuf,
    /// Where findings are saved.
    #[arg(long, default_value = "fuzz-findings")]
    findings: PathBuf,
    /// Seconds an input may run before it counts as a hang.
    #[arg(long, default_value_t = 20)]
    deadline: u64,
    /// Address-space cap of each child, in MiB.
    #[arg(long, default_value_t = 2048)]
    memory_mb: u64,
}

fn main() -> ExitCode {
    let args = Args::parse();
    if let Some(run) = &args.run {
        // As the ggen binary does, on a thread with a large stack (the
        // depth limits keep parsers well inside it).
        let (kind, file, memory_mb) = (run[0].clone(), run[1].clone(), args.memory_mb);
        let worker = std::thread::Builder::new()
            .stack_size(256 << 20)
            .spawn(move || fronts::run(&kind, Path::new(&file), memory_mb));
        return match worker.map(std::thread::JoinHandle::join) {
            Ok(Ok(code)) => ExitCode::from(code),
            Ok(Err(_)) => ExitCode::from(101),
            Err(_) => ExitCode::from(fronts::run(&run[0], Path::new(&run[1]), args.memory_mb)),
        };
    }
    let kinds: Vec<&str> = match args.kind.as_str() {
        "all" => fronts::KINDS.to_vec(),
        k if fronts::KINDS.contains(&k) => vec![k],
        k if fronts::SELFTEST_KINDS.contains(&k) && fronts::selftest_enabled() => vec![k],
        k => {
            eprintln!("ggen-fuzz: unknown kind `{k}` (turtle, manifest, query, template or all)");
            return ExitCode::from(2);
        }
    };
    if args.seconds.is_none() && args.inputs.is_none() && args.only.is_none() {
        eprintln!("ggen-fuzz: give --seconds, --inputs or --only");
        return ExitCode::from(2);
    }
    let mut corpora = BTreeMap::new();
    for &kind in &kinds {
        let files = match corpus(&args.corpus, kind) {
            Ok(files) if !files.is_empty() => files,
            Ok(_) => {
                eprintln!(
                    "ggen-fuzz: no corpus files for `{kind}` under {}",
                    args.corpus.display()
                );
                return ExitCode::from(2);
            }
            Err(e) => {
                eprintln!("ggen-fuzz: corpus for `{kind}`: {e}");
                return ExitCode::from(2);
            }
        };
        corpora.insert(kind, files);
    }
    let scratch = tempfile::tempdir().expect("a scratch folder");
    let exe = match drive::copy_self(scratch.path()) {
        Ok(exe) => exe,
        Err(e) => {
            eprintln!("ggen-fuzz: cannot copy the driver for its children: {e}");
            return ExitCode::from(2);
        }
    };
    let limits = Limits {
        deadline: Duration::from_secs(args.deadline),
        memory_mb: args.memory_mb,
        exe,
    };
    let started = Instant::now();
    let budget = args.seconds.map(Duration::from_secs);
    let mut tally: BTreeMap<&str, BTreeMap<Outcome, u64>> = BTreeMap::new();
    let mut saved = Vec::new();
    let mut index = args.only.unwrap_or(0);
    loop {
        if budget.is_some_and(|b| started.elapsed() >= b)
            || args.inputs.is_some_and(|n| index >= n)
            || args.only.is_some_and(|o| index > o)
        {
            break;
        }
        for &kind in &kinds {
            let files = &corpora[kind];
            let mut rng = mutate::Rng::for_input(args.seed, kind, index);
            let base = &files[rng.below(files.len())];
            let input = mutate::mutate(&mut rng, kind, base, files);
            let path = scratch.path().join("input");
            std::fs::write(&path, &input).expect("write the input");
            let (outcome, stderr) = drive::run_child(kind, &path, scratch.path(), &limits);
            *tally.entry(kind).or_default().entry(outcome).or_default() += 1;
            if outcome.is_finding() {
                let at = drive::save_finding(
                    &args.findings,
                    kind,
                    args.seed,
                    index,
                    outcome,
                    &input,
                    &stderr,
                );
                println!("{outcome}: {kind} input {index} saved to {}", at.display());
                saved.push(outcome);
            }
        }
        index += 1;
    }
    let elapsed = started.elapsed().as_secs_f64();
    println!("ggen-fuzz: seed {}, {elapsed:.1} s", args.seed);
    for (kind, outcomes) in &tally {
        let tried: u64 = outcomes.values().sum();
        let parts: Vec<String> = outcomes.iter().map(|(o, n)| format!("{o} {n}")).collect();
        let rate = tried as f64 * 60.0 / elapsed.max(0.001);
        println!(
            "  {kind:<9} {tried:>6} inputs ({rate:.0}/min): {}",
            parts.join(", ")
        );
    }
    let findings = saved.iter().filter(|o| o.is_finding()).count();
    println!("  findings: {findings} (crash, hang or memory)");
    if findings > 0 {
        println!("  saved under {}", args.findings.display());
        return ExitCode::from(1);
    }
    ExitCode::SUCCESS
}

/// The corpus files of `kind`, sorted by name so a seed means the same
/// inputs on every machine.
fn corpus(root: &Path, kind: &str) -> std::io::Result<Vec<Vec<u8>>> {
    if kind.starts_with("selftest-") {
        return Ok(vec![b"stand-in".to_vec()]);
    }
    let mut paths: Vec<PathBuf> = std::fs::read_dir(root.join(kind))?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<_, _>>()?;
    paths.sort();
    paths.iter().map(std::fs::read).collect()
}
