//! The child side: one input through one of ggen's front ends, in process,
//! in a child the driver watches (so an abort or a stack overflow is seen,
//! not suffered). Exit 0 when ggen accepted the input, ggen's own exit code
//! (2–7) with its message on stderr when it refused it; a panic exits 101
//! and an abort dies by a signal, which the driver classifies.

use std::collections::{BTreeMap, HashMap};
use std::num::NonZeroU64;
use std::path::Path;

use ggen::error::{ErrorKind, Result};
use ggen::inputs::{Text, utf8};
use ggen::manifest::Limits;
use ggen::sparql::{Engine, Form};

/// The kinds the driver mutates, in the order it runs them.
pub const KINDS: &[&str] = &["turtle", "manifest", "query", "template"];

/// The stand-in kinds that exist to prove the driver reports what it must
/// (`tests/fuzz.rs`); only accepted when `GGEN_FUZZ_SELFTEST=1`.
pub const SELFTEST_KINDS: &[&str] = &["selftest-panic", "selftest-abort", "selftest-hang"];

/// `[limits] query_seconds` of the query front end.
const QUERY_SECONDS: NonZeroU64 = NonZeroU64::new(3).expect("not zero");

/// A manifest whose only source is `spec.ttl`.
const TURTLE_MANIFEST: &str = "[project]\nname = \"fuzz\"\nversion = \"0.1.0\"\n\n\
[ontology]\nsource = \"spec.ttl\"\n";

/// Runs `input` through `kind`'s front end; returns the exit code.
pub fn run(kind: &str, input: &Path, memory_mb: u64) -> u8 {
    limit_memory(memory_mb);
    let bytes = match std::fs::read(input) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("ggen-fuzz: cannot read {}: {e}", input.display());
            return 2;
        }
    };
    let result = match kind {
        "turtle" => turtle(&bytes),
        "manifest" => manifest(&bytes),
        "query" => query(&bytes),
        "template" => template(&bytes),
        k if SELFTEST_KINDS.contains(&k) && selftest_enabled() => selftest(k),
        _ => {
            eprintln!("ggen-fuzz: unknown kind `{kind}`");
            return 2;
        }
    };
    match result {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("{e}");
            e.kind.exit_code()
        }
    }
}

/// Whether the stand-in kinds are switched on.
pub fn selftest_enabled() -> bool {
    std::env::var("GGEN_FUZZ_SELFTEST").as_deref() == Ok("1")
}

/// Caps the address space, so runaway memory fails an allocation (an abort
/// the driver names "memory") instead of taking the machine.
fn limit_memory(memory_mb: u64) {
    #[cfg(target_os = "linux")]
    {
        use rustix::process::{Resource, Rlimit, setrlimit};
        let bytes = memory_mb.saturating_mul(1 << 20);
        let limit = Rlimit {
            current: Some(bytes),
            maximum: Some(bytes),
        };
        if let Err(e) = setrlimit(Resource::As, limit) {
            eprintln!("ggen-fuzz: cannot limit memory: {e}");
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = memory_mb;
}

/// A temporary project holding `files`.
fn project(files: &[(&str, &[u8])]) -> std::io::Result<tempfile::TempDir> {
    let dir = tempfile::tempdir()?;
    for (name, body) in files {
        let path = dir.path().join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(path, body)?;
    }
    Ok(dir)
}

fn io_error(e: std::io::Error) -> ggen::error::Error {
    ggen::error::Error::new(
        ErrorKind::Write,
        format!("ggen-fuzz: temporary project: {e}"),
    )
}

/// Turtle: a project's only source, through all of μ₁ (parse, load into
/// the store, SHACL shapes it declares, validation, the RDFC-1.0 digest);
/// `normalize::load` alone is private.
fn turtle(bytes: &[u8]) -> Result<()> {
    let dir = project(&[
        ("ggen.toml", TURTLE_MANIFEST.as_bytes()),
        ("spec.ttl", bytes),
    ])
    .map_err(io_error)?;
    let manifest = ggen::manifest::load(&dir.path().join("ggen.toml"))?;
    let mut inputs = ggen::inputs::Inputs::new(&manifest);
    let engine = Engine::new(&BTreeMap::new(), None);
    ggen::normalize::normalize(&manifest, &mut inputs, &engine)?;
    Ok(())
}

/// A manifest: read and its targets expanded, in a copy of the `mini` case
/// base (so the files it names can exist).
fn manifest(bytes: &[u8]) -> Result<()> {
    let base = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cases/_bases/mini");
    let mut files: Vec<(String, Vec<u8>)> = Vec::new();
    for entry in walkdir::WalkDir::new(&base).into_iter().flatten() {
        if entry.file_type().is_file() {
            let rel = entry.path().strip_prefix(&base).unwrap_or(entry.path());
            let body = std::fs::read(entry.path()).map_err(io_error)?;
            files.push((rel.to_string_lossy().into_owned(), body));
        }
    }
    files.retain(|(name, _)| name != "ggen.toml");
    files.push(("ggen.toml".into(), bytes.to_vec()));
    let borrowed: Vec<(&str, &[u8])> = files
        .iter()
        .map(|(n, b)| (n.as_str(), b.as_slice()))
        .collect();
    let dir = project(&borrowed).map_err(io_error)?;
    ggen::targets::load(&dir.path().join("ggen.toml"))?;
    Ok(())
}

/// A query: parsed by ggen's engine (every form allowed), then run on an
/// empty store, its rows read; with `query_seconds` well inside the
/// driver's deadline, so that a slow query is ggen's error (exit 5), and a
/// hang is one the limit did not stop.
fn query(bytes: &[u8]) -> Result<()> {
    let body = utf8(bytes.to_vec(), "query.rq", ErrorKind::Sparql)?;
    let limits = Limits {
        query_seconds: QUERY_SECONDS,
        ..Limits::default()
    };
    let engine = Engine::new(&BTreeMap::new(), None).with_limits(limits);
    let all = [Form::Select, Form::Construct, Form::Ask, Form::Describe];
    let parsed = engine.parse(&Text::new("query.rq", body), &all, "fuzzed query")?;
    let store = oxigraph::store::Store::new()
        .map_err(|e| ggen::error::Error::new(ErrorKind::Write, e.to_string()))?;
    engine.run(&parsed, &store, |results| {
        if let oxigraph::sparql::QueryResults::Solutions(rows) = results {
            for row in rows {
                row.map_err(|e| ggen::error::Error::new(ErrorKind::Sparql, e.to_string()))?;
            }
        }
        Ok(())
    })
}

/// A template: added to ggen's Tera (its filters registered) and rendered
/// with a small context shaped like a pool row.
fn template(bytes: &[u8]) -> Result<()> {
    let body = utf8(bytes.to_vec(), "fuzz.tera", ErrorKind::Template)?;
    let mut tera = ggen::templating::new_tera();
    let texts: HashMap<String, Text> = HashMap::from([(
        "fuzz.tera".to_string(),
        Text::new("fuzz.tera", body.clone()),
    )]);
    let fail = |e: &tera::Error| ggen::templating::tera_error(&texts, e, None);
    tera.add_raw_template("fuzz.tera", &body)
        .map_err(|e| fail(&e))?;
    let mut context = tera::Context::new();
    context.insert("name", "billing");
    context.insert("size", &4);
    context.insert(
        "project",
        &BTreeMap::from([("name", "fuzz"), ("version", "0.1.0")]),
    );
    let rows = vec![BTreeMap::from([("name", "a"), ("size", "1")]); 2];
    context.insert("rows", &rows);
    context.insert("pools", &rows);
    tera.render("fuzz.tera", &context).map_err(|e| fail(&e))?;
    Ok(())
}

/// The stand-ins: a panic, an abort (as a stack overflow or a failed
/// allocation would), a loop that never ends.
fn selftest(kind: &str) -> Result<()> {
    match kind {
        "selftest-panic" => panic!("ggen-fuzz self-test: a panicking front end"),
        "selftest-abort" => std::process::abort(),
        _ => loop {
            std::thread::sleep(std::time::Duration::from_millis(50));
        },
    }
}
