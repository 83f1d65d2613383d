//! The no-op fast path: a sync that would change nothing is proved from the
//! receipt, without loading the graph or running a stage.
//!
//! A sync is a deterministic function of this binary, the bytes of the
//! files it reads and which files exist where it looks (a target's
//! override folder, `templates_dir`). After a complete sync (every rule,
//! written) [`record`] notes in `.ggen/cache.json` which binary wrote
//! which receipt. [`fresh`] then holds when: the same binary (version,
//! size, modification time and inode of the executable) wrote the receipt
//! on disk; the inputs this manifest names now (its targets expanded, which
//! is where the override folders are looked at, and the `*.tera` files
//! under `templates_dir`) are exactly the receipt's dependencies, each with
//! the bytes the receipt records; every output the receipt names has the
//! bytes it records; and the receipt's signature needs no change. Then a
//! full sync would read the same bytes, make the same receipt and find
//! every output unchanged, so [`fresh`] returns that plan. Anything else
//! (a missing or foreign cache, one differing byte, one input more or
//! less) returns `None` and the sync runs in full. Every byte is hashed:
//! no file time is trusted, so an edit within the clock's resolution is
//! seen.

use std::collections::BTreeMap;
use std::time::Instant;

use serde::{Deserialize, Serialize};

use super::{Action, FilePlan, Options, Plan, Stage, Stats, select_rules};
use crate::dsse;
use crate::error::Result;
use crate::ggen_dir;
use crate::inputs::sha256_hex;
use crate::manifest::{Manifest, Source};
use crate::receipt::{GGEN_VERSION, Statement};

/// What `.ggen/cache.json` holds: which binary wrote which receipt, and
/// the one count a receipt does not record.
#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
struct Cache {
    ggen: String,
    exe: Exe,
    receipt_sha256: String,
    rows: usize,
}

/// The running executable, as the file system knows it.
#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
struct Exe {
    len: u64,
    modified_ns: u128,
    dev: u64,
    ino: u64,
}

impl Exe {
    fn current() -> Option<Exe> {
        let meta = std::fs::metadata(std::env::current_exe().ok()?).ok()?;
        let modified_ns = meta
            .modified()
            .ok()?
            .duration_since(std::time::UNIX_EPOCH)
            .ok()?
            .as_nanos();
        #[cfg(unix)]
        let (dev, ino) = {
            use std::os::unix::fs::MetadataExt;
            (meta.dev(), meta.ino())
        };
        #[cfg(not(unix))]
        let (dev, ino) = (0, 0);
        Some(Exe {
            len: meta.len(),
            modified_ns,
            dev,
            ino,
        })
    }
}

/// After a complete sync that wrote `plan`: notes which binary wrote its
/// receipt. A cache that cannot be written only costs the next sync its
/// fast path, so failures are ignored (and a stale cache removed).
pub fn record(manifest: &Manifest, plan: &Plan) {
    let path = manifest.resolve(ggen_dir::CACHE);
    let cache = Exe::current().map(|exe| Cache {
        ggen: GGEN_VERSION.to_string(),
        exe,
        receipt_sha256: sha256_hex(&plan.receipt),
        rows: plan.stats.rows,
    });
    let written = cache.and_then(|cache| {
        let bytes = serde_json::to_vec(&cache).ok()?;
        let dir = path.parent()?;
        let mut file = tempfile::Builder::new()
            .prefix(ggen_dir::TEMP_PREFIX)
            .tempfile_in(dir)
            .ok()?;
        std::io::Write::write_all(&mut file, &bytes).ok()?;
        file.persist(&path).ok()
    });
    if written.is_none() {
        let _ = std::fs::remove_file(&path);
    }
}

/// The plan of a sync that would change nothing, proved from the receipt;
/// `None` when it cannot be (then the sync runs in full). An unknown
/// `--rule` is the same usage error as in a full sync.
pub fn fresh(manifest: &Manifest, options: &Options) -> Result<Option<Plan>> {
    let started = Instant::now();
    let selected = select_rules(manifest, &options.rules)?;
    Ok(prove(manifest, options, &selected).map(|mut plan| {
        plan.stats.timings.push((Stage::Receipt, started.elapsed()));
        plan
    }))
}

fn prove(manifest: &Manifest, options: &Options, selected: &[usize]) -> Option<Plan> {
    let read = |rel: &str| std::fs::read(manifest.resolve(rel)).ok();
    let cache: Cache = serde_json::from_slice(&read(ggen_dir::CACHE)?).ok()?;
    if cache.ggen != GGEN_VERSION || Some(&cache.exe) != Exe::current().as_ref() {
        return None;
    }
    let receipt = read(ggen_dir::RECEIPT)?;
    if sha256_hex(&receipt) != cache.receipt_sha256 {
        return None;
    }
    let statement = Statement::parse(&receipt).ok()?;

    // The inputs a sync would read now, with the bytes the receipt records.
    let recorded: BTreeMap<&str, &str> = statement
        .predicate
        .build_definition
        .resolved_dependencies
        .iter()
        .map(|d| (d.name.as_str(), d.digest.sha256.as_str()))
        .collect();
    let inputs = inputs(manifest).ok()?;
    if inputs.len() != recorded.len() {
        return None;
    }
    for (name, input) in &inputs {
        let sha = match input {
            Input::File(rel) => sha256_hex(&read(rel)?),
            Input::Builtin(text) => sha256_hex(text.as_bytes()),
        };
        if recorded.get(name.as_str()) != Some(&sha.as_str()) {
            return None;
        }
    }

    // Every output as the receipt records it.
    let outputs = statement.outputs();
    for (path, (sha, _)) in &outputs {
        if sha256_hex(&read(path)?) != *sha {
            return None;
        }
    }
    let old_envelope = read(ggen_dir::ENVELOPE);
    let key = options.sign.as_deref();
    let envelope = dsse::next(&receipt, old_envelope.as_deref(), key);
    if envelope != old_envelope {
        return None;
    }

    let rules = &manifest.generation.rules;
    let chosen = |rule: &Option<String>| {
        selected
            .iter()
            .any(|&i| rule.as_deref() == Some(rules[i].name.as_str()))
    };
    let mut stats = Stats {
        quads: statement
            .predicate
            .build_definition
            .internal_parameters
            .graph
            .quads,
        graph_digest: (statement.predicate.build_definition)
            .internal_parameters
            .graph
            .digest
            .sha256
            .clone(),
        rows: cache.rows,
        ..Stats::default()
    };
    let mut files = Vec::new();
    for (path, (_, rule)) in outputs.into_iter().filter(|(_, (_, r))| chosen(r)) {
        if let Some(rule) = &rule {
            *stats.files_per_rule.entry(rule.clone()).or_default() += 1;
        }
        files.push(FilePlan {
            path,
            action: Action::Unchanged,
            rule,
            content: None,
            disk: None,
            hand_edited: false,
            owned: true,
        });
    }
    Some(Plan {
        files,
        old_receipt: Some(receipt.clone()),
        receipt,
        envelope,
        old_envelope,
        keyid: key.map(|k| k.public().keyid().to_string()),
        stats,
        from_receipt: true,
    })
}

/// An input as a sync would read it.
pub enum Input {
    /// A project file, relative to the manifest folder.
    File(String),
    /// A file built into ggen.
    Builtin(&'static str),
}

/// Every input a complete sync of `manifest` reads, by the name the
/// receipt gives it; an error when `templates_dir` cannot be listed.
pub fn inputs(manifest: &Manifest) -> Result<BTreeMap<String, Input>> {
    let mut inputs = BTreeMap::new();
    inputs.insert(manifest.file_name(), Input::File(manifest.file_name()));
    let ontology = &manifest.ontology;
    for file in &ontology.sources {
        inputs.insert(file.path.clone(), Input::File(file.path.clone()));
    }
    let sources = (manifest.definitions.iter())
        .chain(&ontology.imports)
        .chain(manifest.inference.iter().map(|r| &r.construct))
        .chain(
            manifest
                .validation
                .iter()
                .flat_map(|r| [&r.query, &r.message]),
        )
        .chain(manifest.generation.rules.iter().flat_map(|r| {
            (r.query.iter())
                .chain(r.queries.values())
                .chain(std::iter::once(&r.template))
        }));
    for source in sources {
        match source {
            Source::File(file) => {
                inputs.insert(file.path.clone(), Input::File(file.path.clone()));
            }
            Source::Builtin(builtin) => {
                inputs.insert(builtin.name(), Input::Builtin(builtin.text));
            }
            Source::Inline { .. } | Source::Text { .. } => {}
        }
    }
    if let Some(dir) = &manifest.generation.templates_dir {
        for path in crate::render::template_files(manifest, &dir.path, &dir.span)? {
            inputs.insert(path.clone(), Input::File(path));
        }
    }
    Ok(inputs)
}
