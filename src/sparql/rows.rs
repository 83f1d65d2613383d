//! Typed rows: SPARQL solutions as the values templates and messages see
//! (integers, booleans and numbers typed; IRIs with their local name), in
//! an order that never depends on the store.

use std::collections::BTreeMap;

use oxigraph::model::Term;
use oxigraph::sparql::QuerySolutionIter;
use serde::Serialize;

use super::{Query, evaluation_error};
use crate::error::Result;

/// A value as templates see it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Value {
    /// `xsd:boolean`.
    Bool(bool),
    /// `xsd:integer` and the types derived from it.
    Int(i64),
    /// `xsd:decimal`, `xsd:double`, `xsd:float`.
    Float(f64),
    /// IRIs, blank nodes and every other literal.
    Str(String),
}

/// One solution: column name → value. Unbound variables are absent; an IRI
/// column `x` comes with `x_local_name`.
pub type Row = BTreeMap<String, Value>;

/// Typed rows of a SELECT, with the terms of each row (for locating
/// validation errors). Without ORDER BY, rows are sorted by their terms so
/// the order never depends on the store.
pub fn rows_with_terms(
    query: &Query,
    solutions: QuerySolutionIter<'_>,
) -> Result<(Vec<Row>, Vec<Vec<Term>>)> {
    let variables: Vec<String> = solutions
        .variables()
        .iter()
        .map(|v| v.as_str().to_string())
        .collect();
    let mut rows = Vec::new();
    for solution in solutions {
        let solution = solution.map_err(|e| evaluation_error(query, &e))?;
        query.check_rows(rows.len() + 1)?;
        let terms: Vec<Option<Term>> = variables
            .iter()
            .map(|v| solution.get(v.as_str()).cloned())
            .collect();
        rows.push(terms);
    }
    if !query.is_ordered() {
        rows.sort_by_cached_key(|terms| {
            terms
                .iter()
                .map(|t| t.as_ref().map(Term::to_string))
                .collect::<Vec<_>>()
        });
    }
    let typed = rows
        .iter()
        .map(|terms| {
            let mut row = Row::new();
            for (name, term) in variables.iter().zip(terms) {
                if let Some(term) = term {
                    add_column(&mut row, name, term);
                }
            }
            row
        })
        .collect();
    let terms = rows
        .into_iter()
        .map(|terms| terms.into_iter().flatten().collect())
        .collect();
    Ok((typed, terms))
}

fn add_column(row: &mut Row, name: &str, term: &Term) {
    match term {
        Term::NamedNode(n) => {
            row.insert(name.to_string(), Value::Str(n.as_str().to_string()));
            let local = format!("{name}_local_name");
            row.entry(local)
                .or_insert_with(|| Value::Str(crate::names::local_name(n.as_str())));
        }
        Term::BlankNode(b) => {
            row.insert(name.to_string(), Value::Str(format!("_:{}", b.as_str())));
        }
        Term::Literal(l) => {
            row.insert(
                name.to_string(),
                typed_literal(l.value(), l.datatype().as_str()),
            );
        }
        #[allow(unreachable_patterns)]
        other => {
            row.insert(name.to_string(), Value::Str(other.to_string()));
        }
    }
}

const XSD: &str = "http://www.w3.org/2001/XMLSchema#";

const INTEGER_TYPES: &[&str] = &[
    "integer",
    "int",
    "long",
    "short",
    "byte",
    "nonNegativeInteger",
    "positiveInteger",
    "nonPositiveInteger",
    "negativeInteger",
    "unsignedLong",
    "unsignedInt",
    "unsignedShort",
    "unsignedByte",
];

/// A literal as its template value: integers, booleans and numbers typed,
/// everything else its lexical form. A value that does not fit stays a string.
pub fn typed_literal(value: &str, datatype: &str) -> Value {
    let Some(local) = datatype.strip_prefix(XSD) else {
        return Value::Str(value.to_string());
    };
    let parsed = if INTEGER_TYPES.contains(&local) {
        value
            .trim()
            .trim_start_matches('+')
            .parse()
            .ok()
            .map(Value::Int)
    } else if local == "boolean" {
        match value.trim() {
            "true" | "1" => Some(Value::Bool(true)),
            "false" | "0" => Some(Value::Bool(false)),
            _ => None,
        }
    } else if ["decimal", "double", "float"].contains(&local) {
        value.trim().parse().ok().map(Value::Float)
    } else {
        None
    };
    parsed.unwrap_or_else(|| Value::Str(value.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_are_typed() {
        assert_eq!(
            typed_literal("10", &format!("{XSD}integer")),
            Value::Int(10)
        );
        assert_eq!(typed_literal("+7", &format!("{XSD}int")), Value::Int(7));
        assert_eq!(
            typed_literal("true", &format!("{XSD}boolean")),
            Value::Bool(true)
        );
        assert_eq!(
            typed_literal("0", &format!("{XSD}boolean")),
            Value::Bool(false)
        );
        assert_eq!(
            typed_literal("1.5", &format!("{XSD}decimal")),
            Value::Float(1.5)
        );
        assert_eq!(
            typed_literal("fifo", &format!("{XSD}string")),
            Value::Str("fifo".into())
        );
        assert_eq!(
            typed_literal("99999999999999999999", &format!("{XSD}integer")),
            Value::Str("99999999999999999999".into())
        );
    }
}
