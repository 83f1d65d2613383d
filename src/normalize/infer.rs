//! Defaults and inference: the inference rules and the shapes' default
//! values, round after round, until a round adds nothing.

use oxigraph::model::GraphNameRef;
use oxigraph::sparql::QueryResults;
use oxigraph::store::Store;

use super::load::Loaded;
use super::origins::shape_error;
use super::{first_release, store_error};
use crate::error::{Error, ErrorKind, Result};
use crate::inputs::Inputs;
use crate::manifest::Manifest;
use crate::shacl::Shapes;
use crate::sparql::{Engine, Form, Query};

/// How many rounds of defaults and inference may run before ggen gives up
/// looking for a fixpoint.
pub const MAX_INFERENCE_ROUNDS: usize = 32;

/// Applies the inference rules and the shapes' defaults, round after
/// round, until a round derives nothing new.
pub fn infer(
    manifest: &Manifest,
    inputs: &mut Inputs,
    engine: &Engine,
    store: &Store,
    shapes: &Shapes,
    loaded: &[Loaded],
) -> Result<()> {
    let mut rules = Vec::new();
    for rule in &manifest.inference {
        let text = inputs.source(manifest, &rule.construct, ErrorKind::Sparql)?;
        let role = format!("inference rule `{}`", rule.name);
        rules.push(engine.parse(&text, &[Form::Construct], &role)?);
    }
    // Defaults need another pass only when the rules added something, or
    // the last pass did (a default can make a node a focus of a shape).
    let mut defaults_needed = true;
    let mut done = crate::shacl::DefaultsDone::default();
    let mut total = store.len().map_err(store_error)?;
    check_quads(manifest, total, None)?;
    for round in 1.. {
        let mut added = 0;
        for rule in &rules {
            let new = engine.run(rule, store, |results| {
                let QueryResults::Graph(triples) = results else {
                    unreachable!("CONSTRUCT queries give triples")
                };
                let mut new = Vec::new();
                for (k, triple) in triples.enumerate() {
                    rule.check_rows(k + 1)?;
                    let triple = triple.map_err(|e| crate::sparql::evaluation_error(rule, &e))?;
                    let quad = triple.in_graph(GraphNameRef::DefaultGraph);
                    if !store.contains(&quad).map_err(store_error)? {
                        new.push(quad);
                        check_quads(manifest, total + new.len(), Some(rule))?;
                    }
                }
                Ok(new)
            })?;
            added += new.len();
            total += new.len();
            store.extend(new).map_err(store_error)?;
        }
        // Defaults last in each round, so the rules' new instances get
        // their values in the same round.
        if added > 0 || defaults_needed {
            let defaults = shapes
                .apply_defaults(store, &mut done)
                .map_err(|e| shape_error(manifest, loaded, store, e))?
                + first_release::apply_defaults(store)?;
            added += defaults;
            total += defaults;
            check_quads(manifest, total, None)?;
            defaults_needed = defaults > 0;
        }
        if added == 0 {
            break;
        }
        if round == MAX_INFERENCE_ROUNDS {
            return Err(Error::new(
                ErrorKind::Ontology,
                format!(
                    "the inference rules still derive new triples after {MAX_INFERENCE_ROUNDS} rounds"
                ),
            )
            .with_help("a rule probably creates fresh nodes each round: make it add nothing once its conclusion holds"));
        }
    }
    Ok(())
}

/// Fails once the graph holds more than `[limits] quads` triples; `rule`
/// is the inference rule that was adding them.
fn check_quads(manifest: &Manifest, quads: usize, rule: Option<&Query>) -> Result<()> {
    let limit = manifest.limits.quads.get();
    if quads as u64 <= limit {
        return Ok(());
    }
    let message = format!("the graph grows past {limit} triples (`quads` under `[limits]`)");
    let error = match rule {
        Some(rule) => Error::at(ErrorKind::Ontology, rule.text.whole(), message),
        None => Error::new(ErrorKind::Ontology, message),
    };
    Err(error
    .with_help("an inference rule probably joins unrelated nodes; if the graph is meant to be this large, raise `quads` under `[limits]` in the manifest"))
}
