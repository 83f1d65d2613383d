//! `ggen diff`: the specification of two versions of a project compared as
//! the generated code sees it. Each version is built in memory (μ₁–μ₄,
//! [`plan::generate`]); the entity kinds its targets (or its manifest)
//! describe are read from each normalized graph and compared entity by
//! entity ([`compare`]); and the outputs are compared file by file. The
//! result is a typed [`Report`]; [`text`] and [`json`] print it.
//!
//! Nothing here knows a vocabulary: what an entity is, what identifies it
//! and which of its values callers depend on come from `[[entities]]`.

mod against;
mod compare;
mod entities;
pub mod json;
mod report;
pub mod text;

use std::collections::BTreeMap;
use std::path::PathBuf;

pub use report::{Change, ChangeKind, Fields, OutputChange, Report, Shown};

use crate::error::{Error, ErrorKind, Result};
use crate::manifest::{EntityKind, Manifest};
use crate::plan::{self, Generated};
use crate::targets;
use against::Against;
use entities::Table;

/// What to compare.
#[derive(Debug, Clone)]
pub struct Options {
    /// The project as it is: its manifest.
    pub manifest: PathBuf,
    /// The other version: a path, or a git revision.
    pub against: String,
}

/// One version, built.
struct Side {
    manifest: Manifest,
    generated: Generated,
}

impl Side {
    fn load(manifest: &std::path::Path) -> Result<Side> {
        let manifest = targets::load(manifest)?.manifest;
        let generated = plan::generate(&manifest, &mut |_| {})?;
        Ok(Side {
            manifest,
            generated,
        })
    }

    fn kind(&self, name: &str) -> Option<&EntityKind> {
        self.manifest.entities.iter().find(|k| k.kind == name)
    }
}

/// The index of each version in `[Side; 2]`.
const BEFORE: usize = 0;
const AFTER: usize = 1;

/// Builds both versions and compares them: `before` is `against`, `after`
/// the project as it is.
pub fn diff(options: &Options) -> Result<Report> {
    let after = Side::load(&options.manifest)?;
    let against = Against::resolve(&options.against, &options.manifest)?;
    let before = Side::load(&against.manifest).map_err(|e| against.relabel(e))?;
    let mut sides = [before, after];

    // The kinds either version describes, the project's own first.
    let mut kinds: Vec<String> = Vec::new();
    for kind in sides[AFTER]
        .manifest
        .entities
        .iter()
        .chain(&sides[BEFORE].manifest.entities)
    {
        if !kinds.contains(&kind.kind) {
            kinds.push(kind.kind.clone());
        }
    }
    for kind in sides[AFTER].manifest.entities.iter() {
        if let Some(other) = kind.references.values().find(|k| !kinds.contains(k)) {
            return Err(Error::new(
                ErrorKind::Manifest,
                format!(
                    "entity kind `{}` references the kind `{other}`, which nothing describes",
                    kind.kind
                ),
            )
            .with_help(format!("the kinds described: {}", kinds.join(", "))));
        }
    }
    let mut renames = compare::Renames::new();
    let mut changes = Vec::new();
    for name in &kinds {
        let after_table = table(name, &mut sides, AFTER, &against)?;
        let before_table = table(name, &mut sides, BEFORE, &against)?;
        let kind = sides[AFTER].kind(name).or_else(|| sides[BEFORE].kind(name));
        if let Some(kind) = kind.cloned() {
            changes.extend(compare::compare(
                &kind,
                &before_table,
                &after_table,
                &mut renames,
            ));
        }
    }
    let (outputs, unchanged_outputs) = outputs(&sides[BEFORE], &sides[AFTER]);
    Ok(Report {
        against: options.against.clone(),
        commit: against.commit.clone(),
        kinds,
        changes,
        outputs,
        unchanged_outputs,
    })
}

/// The entities of kind `name` in the graph of `sides[at]`, read with that
/// version's description of the kind, or the other's when it has none (an
/// older target copy may describe no entity).
fn table(name: &str, sides: &mut [Side; 2], at: usize, against: &Against) -> Result<Table> {
    let owner = if sides[at].kind(name).is_some() {
        at
    } else {
        1 - at
    };
    let Some(kind) = sides[owner].kind(name).cloned() else {
        return Ok(Table::default());
    };
    let mut read = || -> Result<Table> {
        let side = &mut sides[owner];
        let text = side
            .generated
            .inputs
            .source(&side.manifest, &kind.query, ErrorKind::Sparql)?;
        let engine = side.generated.engine.clone();
        let query = entities::parse(&kind, &text, &engine)?;
        entities::table(&kind, &query, &engine, &sides[at].generated.graph)
    };
    match owner {
        BEFORE => read().map_err(|e| against.relabel(e)),
        _ => read(),
    }
}

/// Every output whose bytes differ, and how many are the same.
fn outputs(before: &Side, after: &Side) -> (Vec<OutputChange>, usize) {
    let listed = |side: &Side| -> BTreeMap<String, (String, String)> {
        let rules = &side.manifest.generation.rules;
        let generated = &side.generated.outputs;
        generated
            .iter()
            .map(|o| {
                (
                    o.path.clone(),
                    (o.sha256.clone(), rules[o.rule].name.clone()),
                )
            })
            .collect()
    };
    let (old, new) = (listed(before), listed(after));
    let mut changes = Vec::new();
    let mut unchanged = 0;
    let paths: std::collections::BTreeSet<&String> = old.keys().chain(new.keys()).collect();
    for path in paths {
        let (change, rule) = match (old.get(path), new.get(path)) {
            (Some(a), Some(b)) if a.0 == b.0 => {
                unchanged += 1;
                continue;
            }
            (Some(_), Some(b)) => (ChangeKind::Changed, &b.1),
            (None, Some(b)) => (ChangeKind::Added, &b.1),
            (Some(a), None) => (ChangeKind::Removed, &a.1),
            (None, None) => continue,
        };
        changes.push(OutputChange {
            path: path.clone(),
            change,
            rule: rule.clone(),
        });
    }
    (changes, unchanged)
}
