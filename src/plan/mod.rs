//! Runs μ₁–μ₅ into a [`Plan`]: every output with what a sync would do to it,
//! and the new receipt. Reads the disk, never writes it: `sync` applies the
//! plan, `--dry-run` prints it, `--check` diffs it.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use crate::canonical::{self, Output};
use crate::error::{Error, ErrorKind, Result};
use crate::extract;
use crate::inputs::Inputs;
use crate::keys::SigningKey;
use crate::manifest::{ForEach, Manifest};
use crate::normalize::{self, Graph};
use crate::render::Templates;
use crate::sparql::Engine;
use crate::watchdog;

mod compare;
mod fresh;
mod stage;

use compare::compare;
pub use fresh::{Input, fresh, inputs, record};

pub use stage::Stage;

/// What a sync does to one file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// Not on disk yet.
    Created,
    /// On disk with other bytes.
    Updated,
    /// On disk with the same bytes: not touched.
    Unchanged,
    /// Owned by the previous receipt, no longer generated: deleted.
    Removed,
    /// No longer generated but edited by hand: left in place (deleted with `--force`).
    Kept,
}

/// One file of the plan.
#[derive(Debug, Clone)]
pub struct FilePlan {
    /// Path relative to the manifest folder.
    pub path: String,
    /// What happens to it.
    pub action: Action,
    /// The rule that generates (or generated) it.
    pub rule: Option<String>,
    /// The new bytes (for created and updated files).
    pub content: Option<Vec<u8>>,
    /// The bytes on disk when the plan was made, if any.
    pub disk: Option<Vec<u8>>,
    /// The file differs from what the previous receipt recorded (or the receipt
    /// never owned it): somebody edited it.
    pub hand_edited: bool,
    /// The previous receipt lists the file.
    pub owned: bool,
}

/// Everything a sync would do.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Every generated, removed or kept file, sorted by path.
    pub files: Vec<FilePlan>,
    /// The new receipt's bytes.
    pub receipt: Vec<u8>,
    /// The receipt on disk, if any.
    pub old_receipt: Option<Vec<u8>>,
    /// The receipt's signature after the sync, if any (see [`crate::dsse::next`]).
    pub envelope: Option<Vec<u8>>,
    /// The signature on disk, if any.
    pub old_envelope: Option<Vec<u8>>,
    /// The id of the key that signs, if one does.
    pub keyid: Option<String>,
    /// Facts for reports and the audit log.
    pub stats: Stats,
    /// Proved from the receipt by the no-op fast path ([`fresh`]): no stage ran.
    pub from_receipt: bool,
}

/// Counts and timings of a run.
#[derive(Debug, Clone, Default)]
pub struct Stats {
    /// Quads in the normalized graph.
    pub quads: usize,
    /// SHA-256 of the canonical graph.
    pub graph_digest: String,
    /// Rows extracted, over all rules.
    pub rows: usize,
    /// Files generated per rule name.
    pub files_per_rule: BTreeMap<String, usize>,
    /// Time spent in each stage.
    pub timings: Vec<(Stage, Duration)>,
}

/// What to run.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Only these generation rules (all when empty).
    pub rules: Vec<String>,
    /// Overwrite and remove files edited by hand.
    pub force: bool,
    /// The key that signs the receipt.
    pub sign: Option<std::sync::Arc<SigningKey>>,
}

impl Plan {
    /// Whether applying the plan would change anything on disk.
    pub fn changes_anything(&self) -> bool {
        self.receipt_changed()
            || self.envelope_changed()
            || self
                .files
                .iter()
                .any(|f| !matches!(f.action, Action::Unchanged | Action::Kept))
    }

    /// Whether the receipt's bytes change.
    pub fn receipt_changed(&self) -> bool {
        self.old_receipt.as_deref() != Some(&self.receipt[..])
    }

    /// Whether the envelope is written or removed.
    pub fn envelope_changed(&self) -> bool {
        self.envelope != self.old_envelope
    }

    /// The files with a given action.
    pub fn with_action(&self, action: Action) -> impl Iterator<Item = &FilePlan> {
        self.files.iter().filter(move |f| f.action == action)
    }
}

/// Indices of the rules `names` selects (all when empty), or a usage error.
pub fn select_rules(manifest: &Manifest, names: &[String]) -> Result<Vec<usize>> {
    let rules = &manifest.generation.rules;
    if names.is_empty() {
        return Ok((0..rules.len()).collect());
    }
    let mut selected = BTreeSet::new();
    for name in names {
        match rules.iter().position(|r| &r.name == name) {
            Some(i) => {
                selected.insert(i);
            }
            None => {
                let known: Vec<&str> = rules.iter().map(|r| r.name.as_str()).collect();
                let nearest = known
                    .iter()
                    .min_by_key(|k| strsim::damerau_levenshtein(name, k))
                    .filter(|k| strsim::damerau_levenshtein(name, k) <= 3);
                let help = match nearest {
                    Some(k) => format!("did you mean `{k}`? (rules: {})", known.join(", ")),
                    None => format!("rules in {}: {}", manifest.shown_file(), known.join(", ")),
                };
                return Err(Error::usage(format!(
                    "--rule `{name}`: no generation rule has that name"
                ))
                .with_help(help));
            }
        }
    }
    Ok(selected.into_iter().collect())
}

/// What μ₁ and μ₂ leave for the later stages.
struct Extracted {
    selected: Vec<usize>,
    inputs: Inputs,
    engine: Engine,
    graph: Graph,
    rows: Vec<extract::RuleRows>,
    stats: Stats,
}

/// What μ₁–μ₄ make of a project, in memory, before anything is compared
/// with the disk: `ggen diff` compares two versions' with each other.
pub struct Generated {
    /// The normalized graph.
    pub graph: Graph,
    /// The engine that ran the project's queries (its prefixes and functions).
    pub engine: Engine,
    /// Every input read.
    pub inputs: Inputs,
    /// Every output, sorted by path.
    pub outputs: Vec<Output>,
    /// Counts and timings.
    pub stats: Stats,
}

/// Runs μ₁ and μ₂ for the selected rules, timing each stage.
fn normalize_and_extract(
    manifest: &Manifest,
    options: &Options,
    progress: &mut dyn FnMut(Stage),
) -> Result<Extracted> {
    let selected = select_rules(manifest, &options.rules)?;
    let mut inputs = Inputs::new(manifest);
    for definition in &manifest.definitions {
        inputs.source(manifest, definition, ErrorKind::Manifest)?;
    }
    let engine = Engine::new(
        &manifest.ontology.prefixes,
        manifest.ontology.base_iri.as_deref(),
    )
    .with_limits(manifest.limits);
    let mut stats = Stats::default();

    let started = Instant::now();
    let memory_mb = manifest.limits.memory_mb.get();
    let guard = watchdog::watch(
        ErrorKind::Ontology,
        "normalizing the ontology".into(),
        memory_mb,
        None,
    );
    let graph = normalize::normalize(manifest, &mut inputs, &engine)?;
    drop(guard);
    stats.quads = graph.quads;
    stats.graph_digest = graph.digest.clone();
    stats.timings.push((Stage::Normalize, started.elapsed()));
    progress(Stage::Normalize);

    let started = Instant::now();
    let guard = watchdog::watch(
        ErrorKind::Sparql,
        "running the queries".into(),
        memory_mb,
        None,
    );
    let rows = extract::extract(manifest, &mut inputs, &engine, &graph, &selected)?;
    drop(guard);
    stats.rows = rows.iter().map(|r| r.rows.len()).sum();
    stats.timings.push((Stage::Extract, started.elapsed()));
    progress(Stage::Extract);
    Ok(Extracted {
        selected,
        inputs,
        engine,
        graph,
        rows,
        stats,
    })
}

/// What `verify` recomputes from the inputs, without rendering: the graph
/// (μ₁) and how many files each rule generates from its rows (μ₂).
#[derive(Debug, Clone)]
pub struct Recomputed {
    /// Quads in the normalized graph.
    pub quads: usize,
    /// SHA-256 of the canonical graph.
    pub graph_digest: String,
    /// Files generated per rule name, every rule named (0 included).
    pub files_per_rule: BTreeMap<String, usize>,
}

/// μ₁ and μ₂ for every rule. A rule makes its files as μ₃ does: one per
/// row, or one from all rows (none when `skip_empty` and no row).
pub fn recompute(manifest: &Manifest) -> Result<Recomputed> {
    let Extracted {
        selected,
        rows,
        stats,
        ..
    } = normalize_and_extract(manifest, &Options::default(), &mut |_| {})?;
    let rules = &manifest.generation.rules;
    let files_per_rule = selected
        .iter()
        .zip(&rows)
        .map(|(&i, data)| {
            let rule = &rules[i];
            let files = match rule.for_each {
                ForEach::Row => data.rows.len(),
                ForEach::Query => usize::from(!(rule.skip_empty && data.rows.is_empty())),
            };
            (rule.name.clone(), files)
        })
        .collect();
    Ok(Recomputed {
        quads: stats.quads,
        graph_digest: stats.graph_digest,
        files_per_rule,
    })
}

/// μ₁–μ₄ in memory, the outputs' paths checked: `--validate-only`. Every
/// selected rule is rendered against its real rows, so an error a sync
/// would meet while rendering is met here; nothing is compared or written.
pub fn validate(
    manifest: &Manifest,
    options: &Options,
    progress: &mut dyn FnMut(Stage),
) -> Result<Stats> {
    let (_, _, _, stats) = outputs(manifest, options, progress)?;
    Ok(stats)
}

/// Runs the five stages and compares the result with the disk.
pub fn plan(
    manifest: &Manifest,
    options: &Options,
    progress: &mut dyn FnMut(Stage),
) -> Result<Plan> {
    let (selected, inputs, outputs, stats) = outputs(manifest, options, progress)?;
    let started = Instant::now();
    let mut plan = compare(manifest, &selected, outputs, &inputs, stats, options)?;
    plan.stats.timings.push((Stage::Receipt, started.elapsed()));
    Ok(plan)
}

/// μ₁–μ₄ for the selected rules, the graph freed once the rows are out
/// (the later stages need the rows only): the rules, the inputs read, the
/// outputs and the counts.
fn outputs(
    manifest: &Manifest,
    options: &Options,
    progress: &mut dyn FnMut(Stage),
) -> Result<(Vec<usize>, Inputs, Vec<Output>, Stats)> {
    let Extracted {
        selected,
        mut inputs,
        graph,
        rows,
        mut stats,
        ..
    } = normalize_and_extract(manifest, options, progress)?;
    free_in_background(graph);
    let outputs =
        render_and_canonicalize(manifest, &selected, &mut inputs, rows, &mut stats, progress)?;
    Ok((selected, inputs, outputs, stats))
}

/// μ₁–μ₄ for every rule, in memory: the graph and the outputs.
pub fn generate(manifest: &Manifest, progress: &mut dyn FnMut(Stage)) -> Result<Generated> {
    let Extracted {
        selected,
        mut inputs,
        engine,
        graph,
        rows,
        mut stats,
    } = normalize_and_extract(manifest, &Options::default(), progress)?;
    let outputs =
        render_and_canonicalize(manifest, &selected, &mut inputs, rows, &mut stats, progress)?;
    Ok(Generated {
        graph,
        engine,
        inputs,
        outputs,
        stats,
    })
}

/// μ₃ and μ₄: the selected rules' outputs, in memory.
fn render_and_canonicalize(
    manifest: &Manifest,
    selected: &[usize],
    inputs: &mut Inputs,
    rows: Vec<extract::RuleRows>,
    stats: &mut Stats,
    progress: &mut dyn FnMut(Stage),
) -> Result<Vec<Output>> {
    let started = Instant::now();
    let templates = Templates::load(manifest, inputs, selected)?;
    let rendered = templates.render(manifest, selected, &rows)?;
    free_in_background(rows);
    stats.timings.push((Stage::Render, started.elapsed()));
    progress(Stage::Render);

    let started = Instant::now();
    let input_paths: BTreeSet<String> = inputs.digests().keys().cloned().collect();
    let outputs = canonical::canonicalize(manifest, rendered, &input_paths)?;
    for output in &outputs {
        let rule = &manifest.generation.rules[output.rule].name;
        *stats.files_per_rule.entry(rule.clone()).or_default() += 1;
    }
    stats.timings.push((Stage::Canonicalize, started.elapsed()));
    progress(Stage::Canonicalize);
    Ok(outputs)
}

/// Drops `value` on a thread of its own: freeing a large graph or many rows
/// takes a while, and the stages after it need none of it. Without a thread
/// it is dropped here.
fn free_in_background<T: Send + 'static>(value: T) {
    let _ = std::thread::Builder::new()
        .name("ggen-free".into())
        .spawn(move || drop(value));
}
