//! Defaults and inference: the inference rules and the vocabulary's default
//! values, round after round, until a round adds nothing.

use oxigraph::model::vocab::{rdf, rdfs};
use oxigraph::model::{
    GraphName, GraphNameRef, NamedNodeRef, NamedOrBlankNode, NamedOrBlankNodeRef, Quad, TermRef,
};
use oxigraph::sparql::QueryResults;
use oxigraph::store::Store;

use super::{DEFAULT_VALUE, store_error};
use crate::error::{Error, ErrorKind, Result};
use crate::inputs::Inputs;
use crate::manifest::Manifest;
use crate::sparql::{Engine, Form};

/// How many rounds of defaults and inference may run before ggen gives up
/// looking for a fixpoint.
pub const MAX_INFERENCE_ROUNDS: usize = 32;

/// Applies the inference rules and the vocabulary defaults, round after
/// round, until a round derives nothing new.
pub fn infer(
    manifest: &Manifest,
    inputs: &mut Inputs,
    engine: &Engine,
    store: &Store,
) -> Result<()> {
    let mut rules = Vec::new();
    for rule in &manifest.inference {
        let text = inputs.source(manifest, &rule.construct, ErrorKind::Sparql)?;
        let role = format!("inference rule `{}`", rule.name);
        rules.push(engine.parse(&text, &[Form::Construct], &role)?);
    }
    // Defaults depend only on types, domains and defaults (values only ever
    // get added): they need another pass only when the rules added
    // something, or the last pass added triples of those kinds.
    let mut defaults_needed = true;
    for round in 1.. {
        let mut added = 0;
        for rule in &rules {
            let QueryResults::Graph(triples) = engine.run(rule, store)? else {
                unreachable!("CONSTRUCT queries give triples")
            };
            let mut new = Vec::new();
            for triple in triples {
                let triple = triple.map_err(|e| crate::sparql::evaluation_error(rule, &e))?;
                let quad = triple.in_graph(GraphNameRef::DefaultGraph);
                if !store.contains(&quad).map_err(store_error)? {
                    new.push(quad);
                }
            }
            added += new.len();
            store.extend(new).map_err(store_error)?;
        }
        // Defaults last in each round, so the rules' new instances get
        // their values in the same round.
        if added > 0 || defaults_needed {
            let (defaults, enabling) = apply_defaults(store)?;
            added += defaults;
            defaults_needed = enabling;
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

/// For every property `p` with `jobs:defaultValue d` and `rdfs:domain C`,
/// every instance of `C` that has no `p` gets `p d`. Returns how many
/// triples were added, and whether any of them could enable more defaults
/// (an `rdf:type`, `rdfs:domain` or `jobs:defaultValue`). The same as a
/// SPARQL CONSTRUCT with FILTER NOT EXISTS, done with index lookups: ten
/// times faster on 10,000 instances.
fn apply_defaults(store: &Store) -> Result<(usize, bool)> {
    let default_value = NamedNodeRef::new_unchecked(DEFAULT_VALUE);
    let mut new = Vec::new();
    let quads =
        |s: Option<NamedOrBlankNodeRef<'_>>, p: NamedNodeRef<'_>, o: Option<TermRef<'_>>| {
            store.quads_for_pattern(s, Some(p), o, Some(GraphNameRef::DefaultGraph))
        };
    for default in quads(None, default_value, None) {
        let default = default.map_err(store_error)?;
        let NamedOrBlankNode::NamedNode(property) = &default.subject else {
            continue;
        };
        for domain in quads(Some(property.into()), rdfs::DOMAIN, None) {
            let domain = domain.map_err(store_error)?;
            for instance in quads(None, rdf::TYPE, Some(domain.object.as_ref())) {
                let instance = instance.map_err(store_error)?;
                let has_value = quads(Some(instance.subject.as_ref()), property.as_ref(), None)
                    .next()
                    .is_some();
                if !has_value {
                    new.push(Quad::new(
                        instance.subject.clone(),
                        property.clone(),
                        default.object.clone(),
                        GraphName::DefaultGraph,
                    ));
                }
            }
        }
    }
    let added = new.len();
    let enabling = new.iter().any(|q| {
        let p = q.predicate.as_ref();
        p == rdf::TYPE || p == rdfs::DOMAIN || p == default_value
    });
    store.extend(new).map_err(store_error)?;
    Ok((added, enabling))
}
