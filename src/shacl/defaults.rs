//! `sh:defaultValue`: a focus node of a property shape that has no value
//! for the shape's path gets the default. SHACL leaves the property
//! non-validating; ggen gives it this meaning. Index lookups only, since
//! the caller runs it every inference round.

use std::collections::HashSet;

use oxigraph::model::{GraphName, NamedNode, Quad, Term};
use oxigraph::store::Store;

use super::error::ShapeError;
use super::graph::{self, as_subject};
use super::model::{Shape, Target};

/// A property shape with a default, and every target its focus nodes come
/// from (its own and its node shapes').
#[derive(Debug, Clone)]
pub struct DefaultRule {
    path: NamedNode,
    value: Term,
    targets: Vec<Target>,
}

/// The default rules of the shapes, in shape order.
pub fn rules(shapes: &[Shape]) -> Vec<DefaultRule> {
    let mut rules = Vec::new();
    for (i, shape) in shapes.iter().enumerate() {
        let (Some(path), Some(value), false) =
            (&shape.path, &shape.default_value, shape.deactivated)
        else {
            continue;
        };
        let mut targets = shape.targets.clone();
        for parent in shapes
            .iter()
            .filter(|s| !s.deactivated && s.properties.contains(&i))
        {
            targets.extend(parent.targets.iter().cloned());
        }
        rules.push(DefaultRule {
            path: path.clone(),
            value: value.clone(),
            targets,
        });
    }
    rules
}

/// Adds the missing defaults; returns how many triples were added. When
/// two shapes give one (node, path) a default, the first shape's wins.
pub fn apply(rules: &[DefaultRule], store: &Store) -> Result<usize, ShapeError> {
    let mut new = Vec::new();
    let mut planned = HashSet::new();
    for rule in rules {
        for focus in graph::focus_nodes(store, &rule.targets)? {
            let Some(subject) = as_subject(&focus) else {
                continue;
            };
            if graph::has_object(store, subject, rule.path.as_ref())? {
                continue;
            }
            let subject = subject.into_owned();
            if planned.insert((subject.clone(), rule.path.clone())) {
                new.push(Quad::new(
                    subject,
                    rule.path.clone(),
                    rule.value.clone(),
                    GraphName::DefaultGraph,
                ));
            }
        }
    }
    let added = new.len();
    store.extend(new).map_err(ShapeError::store)?;
    Ok(added)
}
