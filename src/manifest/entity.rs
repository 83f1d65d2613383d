//! `[[entities]]`: the kinds of entity a project's generated code is built
//! from, as `ggen diff` compares two versions of the specification. A
//! manifest may describe its own; the targets describe theirs (see
//! `crate::targets`).

use std::collections::BTreeMap;

use super::Source;

/// A kind of entity: a SELECT with one row per entity, the column that
/// identifies an entity as the generated code knows it, and which of the
/// other columns (the values) callers of the generated code depend on.
#[derive(Debug, Clone)]
pub struct EntityKind {
    /// Its name (`pool`), unique among the project's kinds.
    pub kind: String,
    /// The SELECT query.
    pub query: Source,
    /// The column that identifies an entity (`name`).
    pub key: String,
    /// Why removing or renaming an entity breaks callers, when known.
    pub removed: Option<String>,
    /// Columns whose change breaks callers, with why.
    pub api: BTreeMap<String, String>,
    /// Columns holding the key of an entity of another kind: column → kind.
    pub references: BTreeMap<String, String>,
}
