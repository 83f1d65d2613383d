//! A target's `[[entities]]` added to the project's: the kinds of entity
//! its generated code is built from, for `ggen diff`. Targets that share a
//! vocabulary describe the same kinds with the same queries (the built-in
//! `erlang` and `rust` do): one kind is then compared once, and a change
//! breaks callers when it breaks either target's. The manifest's own
//! description of a kind replaces the targets'.

use std::collections::{BTreeMap, BTreeSet};

use super::Folder;
use super::definition::Definition;
use crate::error::Result;
use crate::manifest::{EntityKind, Manifest, TargetRef};

/// What the kinds added so far are made of: kind → the identity of its query.
#[derive(Default)]
pub(super) struct Described {
    own: Option<BTreeSet<String>>,
    queries: BTreeMap<String, (String, String)>,
}

/// Adds the kinds `definition` describes to `manifest.entities`.
pub(super) fn add(
    manifest: &mut Manifest,
    folder: &Folder,
    target: &TargetRef,
    definition: &Definition,
    described: &mut Described,
) -> Result<()> {
    let own = described
        .own
        .get_or_insert_with(|| manifest.entities.iter().map(|k| k.kind.clone()).collect());
    for entry in &definition.entities {
        if own.contains(&entry.kind) {
            continue;
        }
        let identity = folder.identity(manifest, &entry.query);
        let Some(at) = manifest.entities.iter().position(|k| k.kind == entry.kind) else {
            let query = folder.source(manifest, &entry.query, &mut Vec::new(), false)?;
            manifest.entities.push(EntityKind {
                kind: entry.kind.clone(),
                query,
                key: entry.key.clone(),
                removed: entry.removed.clone(),
                api: entry.api.clone(),
                references: entry.references.clone(),
            });
            described.queries.insert(entry.kind.clone(), identity);
            continue;
        };
        let kind = &manifest.entities[at];
        if described.queries.get(&entry.kind) != Some(&identity)
            || kind.key != entry.key
            || kind.references != entry.references
        {
            return Err(folder.error(
                manifest,
                target,
                format!(
                    "entity kind `{}` is described by an earlier target with another query, key or references",
                    entry.kind
                ),
            ));
        }
        let kind = &mut manifest.entities[at];
        for (column, why) in &entry.api {
            join(kind.api.entry(column.clone()).or_default(), why);
        }
        if let Some(why) = &entry.removed {
            join(kind.removed.get_or_insert_with(String::new), why);
        }
    }
    Ok(())
}

/// `text`, then `; more` unless it already says it.
fn join(text: &mut String, more: &str) {
    if text.is_empty() {
        text.push_str(more);
    } else if !text.split("; ").any(|part| part == more) {
        text.push_str("; ");
        text.push_str(more);
    }
}
