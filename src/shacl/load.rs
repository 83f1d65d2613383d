//! Reading shapes out of the store: which nodes are shapes, and what each
//! states. Anything the engine would not honour is an error naming the
//! shape, never silently skipped.

use std::collections::{BTreeMap, HashMap};

use oxigraph::model::vocab::{rdf, rdfs};
use oxigraph::model::{GraphNameRef, NamedOrBlankNode, Term};
use oxigraph::store::Store;

use super::error::ShapeError;
use super::graph::{self, as_subject};
use super::model::{Bound, Constraint, Shape, Target};
use super::probe::Probe;
use super::sparql;
use super::statements::{Statements, boolean, integer, iri, node_kind, pick_message, short};
use super::vocab as sh;
use std::sync::Arc;

use super::QueryBounds;

/// Every shape of the store, property shapes linked to their node shapes.
pub fn shapes(store: &Store, bounds: Arc<dyn QueryBounds>) -> Result<Vec<Shape>, ShapeError> {
    let ids = shape_nodes(store)?;
    let index: HashMap<NamedOrBlankNode, usize> = ids
        .iter()
        .enumerate()
        .map(|(i, id)| (id.clone(), i))
        .collect();
    let mut probe = Probe::new()?;
    let mut shapes = ids
        .iter()
        .map(|id| read(store, id, &index, &mut probe, &bounds))
        .collect::<Result<Vec<_>, _>>()?;
    link(&mut shapes)?;
    Ok(shapes)
}

/// Shapes: subjects of a target predicate, nodes typed `sh:NodeShape` or
/// `sh:PropertyShape`, and the property shapes these reach by
/// `sh:property`. Sorted, so that loading does not depend on store order.
fn shape_nodes(store: &Store) -> Result<Vec<NamedOrBlankNode>, ShapeError> {
    let mut found: BTreeMap<String, NamedOrBlankNode> = BTreeMap::new();
    for predicate in [
        sh::TARGET_CLASS,
        sh::TARGET_NODE,
        sh::TARGET_SUBJECTS_OF,
        sh::TARGET_OBJECTS_OF,
    ] {
        for quad in store.quads_for_pattern(
            None,
            Some(predicate),
            None,
            Some(GraphNameRef::DefaultGraph),
        ) {
            let subject = quad.map_err(ShapeError::store)?.subject;
            found.insert(subject.to_string(), subject);
        }
    }
    for class in [sh::NODE_SHAPE, sh::PROPERTY_SHAPE] {
        for subject in graph::subjects(store, rdf::TYPE, class.into())? {
            found.insert(subject.to_string(), subject);
        }
    }
    let mut pending: Vec<NamedOrBlankNode> = found.values().cloned().collect();
    while let Some(shape) = pending.pop() {
        for property in graph::objects(store, shape.as_ref(), sh::PROPERTY)? {
            let Some(node) = as_subject(&property) else {
                return Err(ShapeError::malformed(
                    &shape,
                    format!("sh:property {property} is not a shape (an IRI or a blank node)"),
                ));
            };
            let node = node.into_owned();
            if let std::collections::btree_map::Entry::Vacant(entry) = found.entry(node.to_string())
            {
                entry.insert(node.clone());
                pending.push(node);
            }
        }
    }
    Ok(found.into_values().collect())
}

fn read(
    store: &Store,
    id: &NamedOrBlankNode,
    index: &HashMap<NamedOrBlankNode, usize>,
    probe: &mut Probe,
    bounds: &Arc<dyn QueryBounds>,
) -> Result<Shape, ShapeError> {
    let mut st = Statements::of(store, id)?;
    let types = st.take(rdf::TYPE);
    let mut targets = Vec::new();
    // A shape that is also a class targets its own instances (SHACL 2.1.3.3).
    if let NamedOrBlankNode::NamedNode(class) = id
        && types.iter().any(|t| t.as_ref() == rdfs::CLASS.into())
    {
        targets.push(Target::Class(class.clone()));
    }
    for value in st.take(sh::TARGET_CLASS) {
        targets.push(Target::Class(iri(&st, "sh:targetClass", &value)?));
    }
    for value in st.take(sh::TARGET_NODE) {
        targets.push(Target::Node(value));
    }
    for value in st.take(sh::TARGET_SUBJECTS_OF) {
        targets.push(Target::SubjectsOf(iri(&st, "sh:targetSubjectsOf", &value)?));
    }
    for value in st.take(sh::TARGET_OBJECTS_OF) {
        targets.push(Target::ObjectsOf(iri(&st, "sh:targetObjectsOf", &value)?));
    }

    let path = match st.take_one(sh::PATH)? {
        None if types
            .iter()
            .any(|t| t.as_ref() == sh::PROPERTY_SHAPE.into()) =>
        {
            return Err(st.error("a sh:PropertyShape needs sh:path"));
        }
        None => None,
        Some(Term::NamedNode(p)) => Some(p),
        Some(other) => {
            return Err(st.error(format!(
                "sh:path {other} is not an IRI: ggen's SHACL engine supports only predicate paths"
            )));
        }
    };

    let mut constraints = Vec::new();
    if let Some(value) = st.take_one(sh::DATATYPE)? {
        constraints.push(Constraint::Datatype(iri(&st, "sh:datatype", &value)?));
    }
    for value in st.take(sh::CLASS) {
        constraints.push(Constraint::Class(iri(&st, "sh:class", &value)?));
    }
    if let Some(value) = st.take_one(sh::NODE_KIND)? {
        constraints.push(Constraint::NodeKind(node_kind(&st, &value)?));
    }
    for (predicate, count) in [(sh::MIN_COUNT, true), (sh::MAX_COUNT, false)] {
        if let Some(value) = st.take_one(predicate)? {
            let n = integer(&value).ok_or_else(|| {
                st.error(format!(
                    "{} {value} is not a non-negative xsd:integer",
                    short(predicate.as_str())
                ))
            })?;
            if path.is_none() {
                return Err(st.error(format!(
                    "{} needs sh:path: it counts the values of a property",
                    short(predicate.as_str())
                )));
            }
            constraints.push(if count {
                Constraint::MinCount(n)
            } else {
                Constraint::MaxCount(n)
            });
        }
    }
    for (predicate, bound) in [
        (sh::MIN_INCLUSIVE, Bound::MinInclusive),
        (sh::MAX_INCLUSIVE, Bound::MaxInclusive),
        (sh::MIN_EXCLUSIVE, Bound::MinExclusive),
        (sh::MAX_EXCLUSIVE, Bound::MaxExclusive),
    ] {
        if let Some(value) = st.take_one(predicate)? {
            let Term::Literal(limit) = value else {
                return Err(st.error(format!(
                    "{} {value} is not a literal",
                    short(predicate.as_str())
                )));
            };
            constraints.push(Constraint::Range(bound, limit));
        }
    }
    if let Some(value) = st.take_one(sh::IN)? {
        let members = graph::list(store, &value)?
            .map_err(|why| st.error(format!("sh:in is not a well-formed RDF list: {why}")))?;
        constraints.push(Constraint::In(members));
    }
    let flags = match st.take_one(sh::FLAGS)? {
        None => String::new(),
        Some(Term::Literal(l)) => l.value().to_string(),
        Some(other) => return Err(st.error(format!("sh:flags {other} is not a literal"))),
    };
    for value in st.take(sh::PATTERN) {
        let Term::Literal(pattern) = value else {
            return Err(st.error(format!("sh:pattern {value} is not a literal")));
        };
        let pattern = pattern.value().to_string();
        if !probe.is_valid_regex(&pattern, &flags)? {
            return Err(st.error(format!(
                "sh:pattern {pattern:?} (flags {flags:?}) is not a regular expression SPARQL REGEX accepts"
            )));
        }
        constraints.push(Constraint::Pattern {
            pattern,
            flags: flags.clone(),
        });
    }

    let closed = match st.take_one(sh::CLOSED)? {
        None => false,
        Some(value) => boolean(&st, "sh:closed", &value)?,
    };
    let ignored = match st.take_one(sh::IGNORED_PROPERTIES)? {
        None => Vec::new(),
        Some(value) => graph::list(store, &value)?
            .map_err(|why| {
                st.error(format!(
                    "sh:ignoredProperties is not a well-formed RDF list: {why}"
                ))
            })?
            .iter()
            .map(|t| iri(&st, "a member of sh:ignoredProperties", t))
            .collect::<Result<_, _>>()?,
    };
    if closed && path.is_some() {
        return Err(st.error("sh:closed is supported on node shapes only"));
    }

    let mut properties = Vec::new();
    for value in st.take(sh::PROPERTY) {
        if path.is_some() {
            return Err(st.error("sh:property on a property shape is not supported"));
        }
        let target = as_subject(&value).and_then(|n| index.get(&n.into_owned()));
        match target {
            Some(&i) => properties.push(i),
            None => return Err(st.error(format!("sh:property {value} is not a shape"))),
        }
    }

    for value in st.take(sh::SPARQL) {
        if let Some(constraint) = sparql::read(store, &st.shape, path.as_ref(), &value, bounds)? {
            constraints.push(Constraint::Sparql(Box::new(constraint)));
        }
    }

    let message = pick_message(st.take(sh::MESSAGE));
    let default_value = st.take_one(sh::DEFAULT_VALUE)?;
    if default_value.is_some() && path.is_none() {
        return Err(st.error("sh:defaultValue needs sh:path: it is the value a property gets"));
    }
    let deactivated = match st.take_one(sh::DEACTIVATED)? {
        None => false,
        Some(value) => boolean(&st, "sh:deactivated", &value)?,
    };
    if let Some(severity) = st.take_one(sh::SEVERITY)?
        && severity.as_ref() != sh::VIOLATION.into()
    {
        return Err(st.error(format!(
            "sh:severity {severity}: ggen's SHACL engine reports every result as a sh:Violation"
        )));
    }
    let id = st.shape.clone();
    st.finish()?;
    Ok(Shape {
        id,
        targets,
        path,
        constraints,
        properties,
        message,
        default_value,
        deactivated,
        ignored: closed.then_some(ignored),
    })
}

/// Checks that `sh:property` names property shapes, and gives each closed
/// node shape its allowed predicates: the ignored ones and the paths of
/// its property shapes.
fn link(shapes: &mut [Shape]) -> Result<(), ShapeError> {
    for shape in shapes.iter() {
        if let Some(&p) = shape.properties.iter().find(|&&p| shapes[p].path.is_none()) {
            return Err(ShapeError::malformed(
                &shape.id,
                format!("sh:property {} has no sh:path", shapes[p].id),
            ));
        }
    }
    for i in 0..shapes.len() {
        let Some(mut allowed) = shapes[i].ignored.clone() else {
            continue;
        };
        allowed.extend(
            shapes[i]
                .properties
                .iter()
                .filter_map(|&p| shapes[p].path.clone()),
        );
        shapes[i].constraints.push(Constraint::Closed { allowed });
    }
    Ok(())
}
