//! μ₂ Extract: each generation rule's SELECT queries run on the normalized
//! graph; solutions become typed rows in a fixed order.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use oxigraph::sparql::QueryResults;

use crate::error::{ErrorKind, Result};
use crate::inputs::Inputs;
use crate::manifest::{Manifest, Source};
use crate::normalize::Graph;
use crate::sparql::{Engine, Form, Row, rows_with_terms};

/// The rows of every query of one generation rule.
#[derive(Debug, Clone)]
pub struct RuleRows {
    /// The main query's rows (`rows` in templates).
    pub rows: Arc<Vec<Row>>,
    /// Each named query's rows, by name.
    pub named: BTreeMap<String, Arc<Vec<Row>>>,
}

/// Runs μ₂ for the rules selected by `selected` (indices into the manifest's rules).
pub fn extract(
    manifest: &Manifest,
    inputs: &mut Inputs,
    engine: &Engine,
    graph: &Graph,
    selected: &[usize],
) -> Result<Vec<RuleRows>> {
    // Rules often share query files: run each distinct query once.
    let mut cache: HashMap<String, Arc<Vec<Row>>> = HashMap::new();
    let mut run = |source: &Source, role: String, inputs: &mut Inputs| -> Result<Arc<Vec<Row>>> {
        let text = inputs.source(manifest, source, ErrorKind::Sparql)?;
        if let Some(rows) = cache.get(&text.body) {
            return Ok(rows.clone());
        }
        let query = engine.parse(&text, &[Form::Select], &role)?;
        let (rows, _) = engine.run(&query, &graph.store, |results| {
            let QueryResults::Solutions(solutions) = results else {
                unreachable!("checked to be SELECT")
            };
            rows_with_terms(&query, solutions)
        })?;
        let rows = Arc::new(rows);
        cache.insert(text.body, rows.clone());
        Ok(rows)
    };
    let mut out = Vec::with_capacity(selected.len());
    for &i in selected {
        let rule = &manifest.generation.rules[i];
        let rows = match &rule.query {
            Some(query) => run(query, format!("the query of rule `{}`", rule.name), inputs)?,
            None => Arc::new(Vec::new()),
        };
        let mut named = BTreeMap::new();
        for (name, source) in &rule.queries {
            let role = format!("query `{name}` of rule `{}`", rule.name);
            named.insert(name.clone(), run(source, role, inputs)?);
        }
        out.push(RuleRows { rows, named });
    }
    Ok(out)
}
