//! One side's entities of one kind: the kind's SELECT run on that side's
//! normalized graph, each row keyed by the kind's key column.

use std::collections::BTreeMap;

use oxigraph::sparql::QueryResults;

use super::report::Fields;
use crate::error::{Error, ErrorKind, Result};
use crate::inputs::Text;
use crate::manifest::EntityKind;
use crate::normalize::Graph;
use crate::sparql::{Engine, Form, Query, Value, rows_with_terms};

/// The entities of one kind on one side.
#[derive(Debug, Clone, Default)]
pub struct Table {
    /// The query's columns but the key, in its order.
    pub columns: Vec<String>,
    /// Key → the entity's bound values, in column order.
    pub rows: BTreeMap<String, Fields>,
}

/// Parses the query of `kind` (whose text is `text`) with `engine`.
pub fn parse(kind: &EntityKind, text: &Text, engine: &Engine) -> Result<Query> {
    let role = format!("the query of entity kind `{}`", kind.kind);
    engine.parse(text, &[Form::Select], &role)
}

/// Runs `query`, the query of `kind`, on `graph`.
pub fn table(kind: &EntityKind, query: &Query, engine: &Engine, graph: &Graph) -> Result<Table> {
    let problem = |message: String| Error::at(ErrorKind::Sparql, query.text.whole(), message);
    let (variables, rows) = engine.run(query, &graph.store, |results| {
        let QueryResults::Solutions(solutions) = results else {
            return Err(problem(format!(
                "the query of entity kind `{}` must be a SELECT",
                kind.kind
            )));
        };
        let variables: Vec<String> = solutions
            .variables()
            .iter()
            .map(|v| v.as_str().to_string())
            .collect();
        let (rows, _) = rows_with_terms(query, solutions)?;
        Ok((variables, rows))
    })?;
    let named = std::iter::once((&kind.key, "its key"))
        .chain(kind.api.keys().map(|c| (c, "under `api`")))
        .chain(kind.references.keys().map(|c| (c, "under `references`")));
    for (column, role) in named {
        if !variables.contains(column) {
            return Err(problem(format!(
                "the query of entity kind `{}` has no column `{column}` ({role}); its columns: {}",
                kind.kind,
                variables.join(", ")
            )));
        }
    }
    let columns: Vec<String> = variables.into_iter().filter(|v| *v != kind.key).collect();
    let mut table = Table {
        columns,
        rows: BTreeMap::new(),
    };
    for row in rows {
        let Some(key) = row.get(&kind.key).map(plain) else {
            return Err(problem(format!(
                "the query of entity kind `{}` gives a row without `{}`, its key",
                kind.kind, kind.key
            )));
        };
        let fields = table
            .columns
            .iter()
            .filter_map(|c| Some((c.clone(), row.get(c)?.clone())))
            .collect();
        if table.rows.insert(key.clone(), Fields(fields)).is_some() {
            return Err(problem(format!(
                "the query of entity kind `{}` gives two rows with the key `{key}`: the key must identify one entity",
                kind.kind
            )));
        }
    }
    Ok(table)
}

/// A value as plain text: a string as it is, a number or boolean as written.
pub fn plain(value: &Value) -> String {
    match value {
        Value::Str(s) => s.clone(),
        Value::Int(i) => i.to_string(),
        Value::Float(f) => f.to_string(),
        Value::Bool(b) => b.to_string(),
    }
}
