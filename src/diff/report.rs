//! The typed result of `ggen diff`, apart from any printing: every change
//! to an entity (kind, key, change, field, before, after, breaking, reason)
//! and every output that would change. The text and JSON printers read it;
//! another format (GitHub annotations, SARIF) is one more reader.

use serde::Serialize;
use serde::ser::SerializeMap;

use crate::sparql::Value;

/// What `ggen diff` found between the other version (before) and the
/// project as it is (after).
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// The other version as the user gave it (`HEAD~1`, `../old`).
    pub against: String,
    /// The commit it resolved to, when it is a git revision.
    pub commit: Option<String>,
    /// The entity kinds compared, in order.
    pub kinds: Vec<String>,
    /// Every entity change, grouped by kind in the order of `kinds`.
    pub changes: Vec<Change>,
    /// Every output that differs, sorted by path.
    pub outputs: Vec<OutputChange>,
    /// Outputs with the same bytes on both sides.
    pub unchanged_outputs: usize,
}

impl Report {
    /// How many changes break callers of the generated code.
    pub fn breaking(&self) -> usize {
        self.changes.iter().filter(|c| c.breaking).count()
    }
}

/// One change to one entity.
#[derive(Debug, Clone, Serialize)]
pub struct Change {
    /// The entity kind (`pool`).
    pub kind: String,
    /// The entity, as the generated code knows it: for `added` its new key,
    /// for `removed` and `renamed` its old one.
    pub key: String,
    /// What happened to it.
    pub change: ChangeKind,
    /// The column: the key column for `renamed`, the value's for `changed`.
    pub field: Option<String>,
    /// The value before: a removed entity's values, the old key, the old value.
    pub before: Option<Shown>,
    /// The value after: an added entity's values, the new key, the new value.
    pub after: Option<Shown>,
    /// Whether callers of the generated code break.
    pub breaking: bool,
    /// Why it breaks them, or why a change is not one.
    pub reason: Option<String>,
}

/// What happened to an entity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ChangeKind {
    /// Only after.
    Added,
    /// Only before.
    Removed,
    /// Removed, and added under another key with the same values.
    Renamed,
    /// A value of an entity on both sides.
    Changed,
}

impl ChangeKind {
    /// Its name in reports.
    pub fn name(self) -> &'static str {
        match self {
            ChangeKind::Added => "added",
            ChangeKind::Removed => "removed",
            ChangeKind::Renamed => "renamed",
            ChangeKind::Changed => "changed",
        }
    }
}

/// A value in a change: one column's, or a whole entity's.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Shown {
    /// One value (a key is a string).
    One(Value),
    /// An entity's values, in its query's column order.
    Entity(Fields),
}

/// Column → value, in the query's column order.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Fields(pub Vec<(String, Value)>);

impl Serialize for Fields {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (column, value) in &self.0 {
            map.serialize_entry(column, value)?;
        }
        map.end()
    }
}

/// One output that differs between the two versions.
#[derive(Debug, Clone, Serialize)]
pub struct OutputChange {
    /// Its path, relative to the manifest folder.
    pub path: String,
    /// `added` (only generated now), `removed` (only before) or `changed`.
    pub change: ChangeKind,
    /// The rule that generates it (before, for a removed one).
    pub rule: String,
}
