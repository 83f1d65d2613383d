//! First-release defaults. Before shapes, the jobs vocabulary gave each
//! property its default as `jobs:defaultValue` (with `rdfs:domain` naming
//! the class), and a specification changed one by restating it
//! (`jobs:poolSize jobs:defaultValue 20 .`). Both still work:
//!
//! - a restatement in a specification source becomes the `sh:defaultValue`
//!   of every shape on that property (its value replaces the vocabulary's);
//! - a property with `jobs:defaultValue` that no shape gives a default (a
//!   first-release vocabulary copied into a project) gives it to every
//!   instance of its domain, as the first release did.
//!
//! This is the one place the engine names the jobs vocabulary; everything
//! else about defaults is SHACL.

use std::collections::{HashMap, HashSet};

use oxigraph::model::vocab::{rdf, rdfs};
use oxigraph::model::{
    GraphName, GraphNameRef, NamedNode, NamedNodeRef, NamedOrBlankNode, NamedOrBlankNodeRef, Quad,
    Term, TermRef, Triple,
};
use oxigraph::store::Store;

use super::store_error;
use crate::error::Result;

/// The first release's default-value property.
pub const DEFAULT_VALUE: &str = "http://ggen.dev/ontology/jobs#defaultValue";

pub const SH_PATH: &str = "http://www.w3.org/ns/shacl#path";
pub const SH_DEFAULT_VALUE: &str = "http://www.w3.org/ns/shacl#defaultValue";

/// Whether [`restate`] needs to see `triple`: a default or a shape's path.
pub fn decides_defaults(triple: &Triple) -> bool {
    matches!(
        triple.predicate.as_str(),
        SH_PATH | SH_DEFAULT_VALUE | DEFAULT_VALUE
    )
}

/// The triples to load, imports then sources, with each default the
/// sources restate (`sh:defaultValue` on a shape, `jobs:defaultValue` on a
/// property) replacing the imports' for the same shape or property.
pub fn restate(imports: Vec<Triple>, sources: Vec<Triple>) -> Vec<Triple> {
    let stated = |predicate: &str| -> HashMap<NamedOrBlankNode, Vec<Term>> {
        let mut by_subject: HashMap<NamedOrBlankNode, Vec<Term>> = HashMap::new();
        for t in sources.iter().filter(|t| t.predicate.as_str() == predicate) {
            by_subject
                .entry(t.subject.clone())
                .or_default()
                .push(t.object.clone());
        }
        by_subject
    };
    let shape_defaults = stated(SH_DEFAULT_VALUE);
    let property_defaults = stated(DEFAULT_VALUE);
    // The shapes (of any file) on a property the sources restate, unless a
    // source states the shape's default itself.
    let mut restated: HashMap<NamedOrBlankNode, Vec<Term>> = HashMap::new();
    for t in imports.iter().chain(&sources) {
        if t.predicate.as_str() != SH_PATH || shape_defaults.contains_key(&t.subject) {
            continue;
        }
        let Term::NamedNode(property) = &t.object else {
            continue;
        };
        if let Some(values) = property_defaults.get(&NamedOrBlankNode::from(property.clone())) {
            restated.insert(t.subject.clone(), values.clone());
        }
    }
    let replaced = |t: &Triple| match t.predicate.as_str() {
        SH_DEFAULT_VALUE => {
            shape_defaults.contains_key(&t.subject) || restated.contains_key(&t.subject)
        }
        DEFAULT_VALUE => property_defaults.contains_key(&t.subject),
        _ => false,
    };
    let mut kept: Vec<Triple> = imports.into_iter().filter(|t| !replaced(t)).collect();
    kept.extend(sources);
    // A source never states the default of a restated shape (that would
    // have put the shape in `shape_defaults`): add the restatement.
    let sh_default_value = NamedNode::new_unchecked(SH_DEFAULT_VALUE);
    let mut restated: Vec<_> = restated.into_iter().collect();
    restated.sort_by_key(|(shape, _)| shape.to_string());
    for (shape, values) in restated {
        for value in values {
            kept.push(Triple::new(shape.clone(), sh_default_value.clone(), value));
        }
    }
    kept
}

/// For every property `p` with `jobs:defaultValue d` and `rdfs:domain C`
/// that no shape gives a default, every instance of `C` that has no `p`
/// gets `p d`. Returns how many triples were added.
pub fn apply_defaults(store: &Store) -> Result<usize> {
    let default_value = NamedNodeRef::new_unchecked(DEFAULT_VALUE);
    let sh_path = NamedNodeRef::new_unchecked(SH_PATH);
    let sh_default_value = NamedNodeRef::new_unchecked(SH_DEFAULT_VALUE);
    let quads =
        |s: Option<NamedOrBlankNodeRef<'_>>, p: NamedNodeRef<'_>, o: Option<TermRef<'_>>| {
            store.quads_for_pattern(s, Some(p), o, Some(GraphNameRef::DefaultGraph))
        };
    let mut shaped = HashSet::new();
    for path in quads(None, sh_path, None) {
        let path = path.map_err(store_error)?;
        if quads(Some(path.subject.as_ref()), sh_default_value, None)
            .next()
            .is_some()
        {
            shaped.insert(path.object);
        }
    }
    let mut new = Vec::new();
    for default in quads(None, default_value, None) {
        let default = default.map_err(store_error)?;
        let NamedOrBlankNode::NamedNode(property) = &default.subject else {
            continue;
        };
        if shaped.contains(&Term::from(property.clone())) {
            continue;
        }
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
    store.extend(new).map_err(store_error)?;
    Ok(added)
}
