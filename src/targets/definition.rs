//! `target.toml`: what a target is made of. Every path in it is relative to
//! the target's folder (for a built-in target, the embedded copy of
//! `templates/<name>/`, with the vocabulary's `ontology/` beside it).

use std::collections::BTreeMap;

use serde::Deserialize;

/// A target's definition.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Definition {
    /// The vocabulary the target's templates and queries are written against.
    #[serde(default)]
    pub vocabulary: Vocabulary,
    /// The queries every template sees, by name; `rows` is the main one.
    #[serde(default)]
    pub queries: BTreeMap<String, String>,
    /// The files the target generates, in order.
    #[serde(default)]
    pub files: Vec<FileEntry>,
    /// The kinds of entity its generated code is built from, as `ggen diff`
    /// compares them.
    #[serde(default)]
    pub entities: Vec<EntityEntry>,
}

/// The vocabulary: imported into the graph, with its inference rules and
/// checks.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Vocabulary {
    /// RDF files loaded as imports.
    #[serde(default)]
    pub imports: Vec<String>,
    /// CONSTRUCT rules, in order.
    #[serde(default)]
    pub inference: Vec<InferenceEntry>,
    /// Checks: every row of the SELECT is a violation.
    #[serde(default)]
    pub checks: Vec<CheckEntry>,
}

/// An inference rule of the vocabulary.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InferenceEntry {
    /// Its name.
    pub name: String,
    /// The CONSTRUCT query's file.
    pub construct: String,
}

/// A check of the vocabulary.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckEntry {
    /// Its name.
    pub name: String,
    /// The SELECT query's file.
    pub query: String,
    /// The message, a template rendered with each violation's row.
    pub message: String,
}

/// A kind of entity (`[[entities]]`); see [`crate::manifest::EntityKind`].
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EntityEntry {
    /// Its name (`pool`).
    pub kind: String,
    /// The SELECT query's file: one row per entity.
    pub query: String,
    /// The column that identifies an entity.
    pub key: String,
    /// Why removing or renaming one breaks callers.
    pub removed: Option<String>,
    /// Columns whose change breaks callers, with why.
    #[serde(default)]
    pub api: BTreeMap<String, String>,
    /// Columns holding the key of an entity of another kind: column → kind.
    #[serde(default)]
    pub references: BTreeMap<String, String>,
}

/// One generated file: a template rendered with the queries, or a file
/// copied as it is.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileEntry {
    /// A Tera template.
    pub template: Option<String>,
    /// A file copied as it is.
    pub copy: Option<String>,
    /// The output path (itself a template: `src/{{ project.name }}.app.src`).
    pub output: String,
}

impl FileEntry {
    /// The file the entry reads, and whether it is copied.
    pub fn source(&self) -> Result<(&str, bool), String> {
        match (&self.template, &self.copy) {
            (Some(t), None) => Ok((t, false)),
            (None, Some(c)) => Ok((c, true)),
            _ => Err(format!(
                "the file entry for `{}` must name either `template` or `copy`",
                self.output
            )),
        }
    }
}
