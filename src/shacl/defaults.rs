//! `sh:defaultValue`: a focus node of a property shape that has no value
//! for the shape's path gets the default. SHACL leaves the property
//! non-validating; ggen gives it this meaning. Index lookups only, since
//! the caller runs it every inference round.

use std::collections::{HashMap, HashSet};

use oxigraph::model::{GraphName, NamedNode, Quad, Term};
use oxigraph::store::Store;

use super::error::ShapeError;
use super::graph::{self, as_subject};
use super::model::{Shape, Target};

/// The defaults of the property shapes that share one set of targets
/// (their own and their node shapes'), so that focus nodes are found once
/// for all of them.
#[derive(Debug, Clone)]
pub struct DefaultRule {
    targets: Vec<Target>,
    /// (path, default), in shape order.
    values: Vec<(NamedNode, Term)>,
}

/// The default rules of the shapes, in shape order.
pub fn rules(shapes: &[Shape]) -> Vec<DefaultRule> {
    let mut rules: Vec<DefaultRule> = Vec::new();
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
        let value = (path.clone(), value.clone());
        match rules.iter_mut().find(|r| r.targets == targets) {
            Some(rule) => rule.values.push(value),
            None => rules.push(DefaultRule {
                targets,
                values: vec![value],
            }),
        }
    }
    rules
}

/// The focus nodes each rule has given its defaults, by rule index. Triples
/// are only ever added, so a node that has a value for every path of a rule
/// keeps it: a later round looks at new focus nodes only.
#[derive(Debug, Default)]
pub struct Done(HashSet<(usize, Term)>);

/// Adds the missing defaults; returns how many triples were added. When
/// two shapes give one (node, path) a default, the first shape's wins.
pub fn apply(rules: &[DefaultRule], store: &Store, done: &mut Done) -> Result<usize, ShapeError> {
    let mut new = Vec::new();
    // Only a path that several rules give defaults for needs to remember
    // which nodes got one this round (each rule sees a node once).
    let mut count: HashMap<&NamedNode, usize> = HashMap::new();
    for (path, _) in rules.iter().flat_map(|r| &r.values) {
        *count.entry(path).or_default() += 1;
    }
    let mut planned = HashSet::new();
    for (i, rule) in rules.iter().enumerate() {
        for focus in graph::focus_nodes(store, &rule.targets)? {
            let Some(subject) = as_subject(&focus) else {
                continue;
            };
            if !done.0.insert((i, focus.clone())) {
                continue;
            }
            for (path, value) in &rule.values {
                if graph::has_object(store, subject, path.as_ref())? {
                    continue;
                }
                let subject = subject.into_owned();
                if count[path] == 1 || planned.insert((subject.clone(), path.clone())) {
                    new.push(Quad::new(
                        subject,
                        path.clone(),
                        value.clone(),
                        GraphName::DefaultGraph,
                    ));
                }
            }
        }
    }
    let added = new.len();
    store.extend(new).map_err(ShapeError::store)?;
    Ok(added)
}
