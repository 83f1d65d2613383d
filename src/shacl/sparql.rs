//! SHACL-SPARQL constraints (`sh:sparql [ sh:select "…" ]`): reading one,
//! with its `sh:prefixes`, and running it with `$this` pre-bound to each
//! focus node. Shape queries get plain SPARQL: none of ggen's own
//! functions, so that any SHACL-SPARQL engine reads them alike.

use oxigraph::model::vocab::xsd;
use oxigraph::model::{NamedNode, NamedOrBlankNode, Term};
use oxigraph::sparql::{QueryResults, SparqlEvaluator, Variable};
use oxigraph::store::Store;
use spargebra::algebra::GraphPattern;

use super::error::ShapeError;
use super::graph::{self, as_subject};
use super::model::SparqlConstraint;
use super::statements::{Statements, pick_message};
use super::vocab as sh;
use crate::nesting;
use std::sync::Arc;

use super::QueryBounds;

/// One solution: its bound variables, in projection order.
pub type Row = Vec<(String, Term)>;

/// Reads the `sh:sparql` value `node` of `shape`; `None` when deactivated.
pub fn read(
    store: &Store,
    shape: &NamedOrBlankNode,
    path: Option<&NamedNode>,
    node: &Term,
    bounds: &Arc<dyn QueryBounds>,
) -> Result<Option<SparqlConstraint>, ShapeError> {
    let fail = |message: String| ShapeError::malformed(shape, message);
    let Some(id) = as_subject(node).map(|n| n.into_owned()) else {
        return Err(fail(format!("sh:sparql {node} is not a node")));
    };
    let mut st = Statements::of(store, &id)?;
    st.take(oxigraph::model::vocab::rdf::TYPE);
    let select = match st.take(sh::SELECT).as_slice() {
        [Term::Literal(l)] if l.datatype() == xsd::STRING => l.value().to_string(),
        _ => return Err(fail("its sh:sparql needs one sh:select string".into())),
    };
    let message = pick_message(st.take(sh::MESSAGE));
    let deactivated = st
        .take(sh::DEACTIVATED)
        .iter()
        .any(|t| matches!(t, Term::Literal(l) if l.value() == "true"));
    let mut prefixes: Vec<(String, String)> = Vec::new();
    for holder in st.take(sh::PREFIXES) {
        read_prefixes(store, &holder, &mut prefixes).map_err(fail)?;
    }
    st.finish().map_err(|e| match e {
        ShapeError::Malformed { message, .. } => fail(format!("its sh:sparql: {message}")),
        other => other,
    })?;
    if deactivated {
        return Ok(None);
    }

    let mut text = select;
    match path {
        // $PATH stands for the shape's path, as SPARQL syntax (SHACL 6.3).
        Some(p) => text = text.replace("$PATH", &format!("<{}>", p.as_str())),
        None if text.contains("$PATH") => {
            return Err(fail(
                "its sh:select uses $PATH, but the shape has no sh:path".into(),
            ));
        }
        None => {}
    }
    if text.contains("$shapesGraph") || text.contains("?shapesGraph") {
        return Err(fail(
            "its sh:select uses $shapesGraph, which ggen's SHACL engine does not provide".into(),
        ));
    }
    let current_shape = text.contains("$currentShape") || text.contains("?currentShape");

    let mut parser = spargebra::SparqlParser::new();
    for (prefix, namespace) in &prefixes {
        parser = parser
            .with_prefix(prefix, namespace)
            .map_err(|e| fail(format!("sh:declare of prefix {prefix:?}: {e}")))?;
    }
    let depth = bounds.depth();
    let too_deep = || {
        fail(format!(
            "its sh:select nests deeper than {} levels (`sparql_depth` under `[limits]`)",
            depth
        ))
    };
    if nesting::too_deep(&text, depth).is_some() {
        return Err(too_deep());
    }
    let guard = bounds.watch(format!("parsing the sh:select of shape {shape}"));
    let mut query = parser
        .parse_query(&text)
        .map_err(|e| fail(format!("its sh:select does not parse: {e}")))?;
    drop(guard);
    if nesting::too_deep(&query.to_sse(), depth).is_some() {
        return Err(too_deep());
    }
    let spargebra::Query::Select { pattern, .. } = &mut query else {
        return Err(fail("its sh:select is not a SELECT query".into()));
    };
    // Pre-binding works on projected variables: project $this (and
    // $currentShape) when the query leaves them out.
    project(pattern, "this");
    if current_shape {
        project(pattern, "currentShape");
    }
    Ok(Some(SparqlConstraint {
        query,
        message,
        current_shape,
        bounds: bounds.clone(),
    }))
}

/// Adds the `sh:declare` entries of `holder` to `prefixes`.
fn read_prefixes(
    store: &Store,
    holder: &Term,
    prefixes: &mut Vec<(String, String)>,
) -> Result<(), String> {
    let Some(holder) = as_subject(holder) else {
        return Err(format!("sh:prefixes {holder} is not a node"));
    };
    for declaration in graph::objects(store, holder, sh::DECLARE).map_err(|e| e.to_string())? {
        let Some(d) = as_subject(&declaration) else {
            return Err(format!("sh:declare {declaration} is not a node"));
        };
        let one = |p| -> Result<String, String> {
            match graph::objects(store, d, p)
                .map_err(|e| e.to_string())?
                .as_slice()
            {
                [Term::Literal(l)] => Ok(l.value().to_string()),
                _ => Err(format!(
                    "sh:declare {declaration} needs one sh:prefix and one sh:namespace literal"
                )),
            }
        };
        let (prefix, namespace) = (one(sh::PREFIX)?, one(sh::NAMESPACE)?);
        match prefixes.iter().find(|(p, _)| *p == prefix) {
            Some((_, ns)) if *ns != namespace => {
                return Err(format!(
                    "prefix {prefix:?} is declared as both {ns} and {namespace}"
                ));
            }
            Some(_) => {}
            None => prefixes.push((prefix, namespace)),
        }
    }
    Ok(())
}

/// Makes the SELECT project `name`.
fn project(pattern: &mut GraphPattern, name: &str) {
    let mut p = pattern;
    loop {
        match p {
            GraphPattern::Project { variables, .. } => {
                if !variables.iter().any(|v| v.as_str() == name) {
                    variables.push(Variable::new_unchecked(name));
                }
                return;
            }
            GraphPattern::Distinct { inner }
            | GraphPattern::Reduced { inner }
            | GraphPattern::Slice { inner, .. }
            | GraphPattern::OrderBy { inner, .. } => p = inner,
            _ => return,
        }
    }
}

/// The solutions of `constraint` for one focus node.
pub fn run(
    constraint: &SparqlConstraint,
    shape: &NamedOrBlankNode,
    focus: &Term,
    store: &Store,
) -> Result<Vec<Row>, ShapeError> {
    let failed = |e: &dyn std::fmt::Display| ShapeError::Query {
        shape: shape.clone(),
        message: e.to_string(),
    };
    let _guard = constraint
        .bounds
        .watch(format!("running the sh:select of shape {shape} on {focus}"));
    let mut prepared = SparqlEvaluator::new()
        .for_query(constraint.query.clone())
        .substitute_variable(Variable::new_unchecked("this"), focus.clone());
    if constraint.current_shape {
        prepared = prepared.substitute_variable(
            Variable::new_unchecked("currentShape"),
            Term::from(shape.clone()),
        );
    }
    let QueryResults::Solutions(solutions) =
        prepared.on_store(store).execute().map_err(|e| failed(&e))?
    else {
        return Err(failed(&"the query is not a SELECT"));
    };
    let mut rows = Vec::new();
    for solution in solutions {
        let solution = solution.map_err(|e| failed(&e))?;
        let row: Row = solution
            .iter()
            .map(|(v, t)| (v.as_str().to_string(), t.clone()))
            .collect();
        if row
            .iter()
            .any(|(v, t)| v == "failure" && matches!(t, Term::Literal(l) if l.value() == "true"))
        {
            return Err(failed(&"the query reported a failure (?failure is true)"));
        }
        rows.push(row);
    }
    Ok(rows)
}
