//! Index lookups on the store's default graph that shapes and data both
//! need: a node's objects, RDF lists, SHACL instances and focus nodes.
//! Plain index walks rather than SPARQL, because defaults run them every
//! inference round.

use std::collections::HashSet;

use oxigraph::model::vocab::{rdf, rdfs};
use oxigraph::model::{
    GraphNameRef, NamedNodeRef, NamedOrBlankNode, NamedOrBlankNodeRef, Term, TermRef,
};
use oxigraph::store::Store;

use super::error::ShapeError;
use super::model::Target;

/// The objects of `subject predicate ?o`, in store order.
pub fn objects(
    store: &Store,
    subject: NamedOrBlankNodeRef<'_>,
    predicate: NamedNodeRef<'_>,
) -> Result<Vec<Term>, ShapeError> {
    store
        .quads_for_pattern(
            Some(subject),
            Some(predicate),
            None,
            Some(GraphNameRef::DefaultGraph),
        )
        .map(|q| q.map(|q| q.object).map_err(ShapeError::store))
        .collect()
}

/// The subjects of `?s predicate object`, in store order.
pub fn subjects(
    store: &Store,
    predicate: NamedNodeRef<'_>,
    object: TermRef<'_>,
) -> Result<Vec<NamedOrBlankNode>, ShapeError> {
    store
        .quads_for_pattern(
            None,
            Some(predicate),
            Some(object),
            Some(GraphNameRef::DefaultGraph),
        )
        .map(|q| q.map(|q| q.subject).map_err(ShapeError::store))
        .collect()
}

/// Whether `subject predicate ?o` has any object.
pub fn has_object(
    store: &Store,
    subject: NamedOrBlankNodeRef<'_>,
    predicate: NamedNodeRef<'_>,
) -> Result<bool, ShapeError> {
    match store
        .quads_for_pattern(
            Some(subject),
            Some(predicate),
            None,
            Some(GraphNameRef::DefaultGraph),
        )
        .next()
    {
        None => Ok(false),
        Some(q) => q.map(|_| true).map_err(ShapeError::store),
    }
}

/// The members of the well-formed RDF list starting at `head` (each node
/// one `rdf:first` and one `rdf:rest`, ending at `rdf:nil`, no cycle);
/// `Err(reason)` otherwise.
pub fn list(store: &Store, head: &Term) -> Result<Result<Vec<Term>, String>, ShapeError> {
    let mut members = Vec::new();
    let mut seen = HashSet::new();
    let mut node = head.clone();
    loop {
        let cell = match &node {
            Term::NamedNode(n) if n.as_ref() == rdf::NIL => return Ok(Ok(members)),
            Term::NamedNode(n) => NamedOrBlankNode::from(n.clone()),
            Term::BlankNode(b) => NamedOrBlankNode::from(b.clone()),
            _ => return Ok(Err(format!("{node} is not a list node"))),
        };
        if !seen.insert(cell.clone()) {
            return Ok(Err("the list has a cycle".into()));
        }
        let first = objects(store, cell.as_ref(), rdf::FIRST)?;
        let rest = objects(store, cell.as_ref(), rdf::REST)?;
        let ([first], [rest]) = (first.as_slice(), rest.as_slice()) else {
            return Ok(Err(format!(
                "list node {cell} needs exactly one rdf:first and one rdf:rest"
            )));
        };
        members.push(first.clone());
        node = rest.clone();
    }
}

/// `class` and its subclasses (`rdfs:subClassOf*`, walked backwards).
fn subclasses(store: &Store, class: NamedNodeRef<'_>) -> Result<Vec<Term>, ShapeError> {
    let mut found: Vec<Term> = vec![class.into_owned().into()];
    let mut seen: HashSet<Term> = found.iter().cloned().collect();
    let mut next = 0;
    while let Some(current) = found.get(next).cloned() {
        next += 1;
        for sub in subjects(store, rdfs::SUB_CLASS_OF, current.as_ref())? {
            let sub = Term::from(sub);
            if seen.insert(sub.clone()) {
                found.push(sub);
            }
        }
    }
    Ok(found)
}

/// The SHACL instances of `class`: nodes with `rdf:type/rdfs:subClassOf*`
/// reaching it.
pub fn instances(store: &Store, class: NamedNodeRef<'_>) -> Result<Vec<Term>, ShapeError> {
    let mut out = Vec::new();
    for class in subclasses(store, class)? {
        out.extend(
            subjects(store, rdf::TYPE, class.as_ref())?
                .into_iter()
                .map(Term::from),
        );
    }
    Ok(out)
}

/// Whether `node` is a SHACL instance of `class`.
pub fn is_instance(
    store: &Store,
    node: &Term,
    class: NamedNodeRef<'_>,
) -> Result<bool, ShapeError> {
    let Some(subject) = as_subject(node) else {
        return Ok(false);
    };
    let mut pending = objects(store, subject, rdf::TYPE)?;
    let mut seen: HashSet<Term> = pending.iter().cloned().collect();
    while let Some(t) = pending.pop() {
        if t.as_ref() == TermRef::from(class) {
            return Ok(true);
        }
        if let Some(t) = as_subject(&t) {
            for sup in objects(store, t, rdfs::SUB_CLASS_OF)? {
                if seen.insert(sup.clone()) {
                    pending.push(sup);
                }
            }
        }
    }
    Ok(false)
}

/// A term as a subject, when it can be one.
pub fn as_subject(term: &Term) -> Option<NamedOrBlankNodeRef<'_>> {
    match term {
        Term::NamedNode(n) => Some(n.as_ref().into()),
        Term::BlankNode(b) => Some(b.as_ref().into()),
        _ => None,
    }
}

/// The focus nodes of a set of targets, each once, in target order.
pub fn focus_nodes(store: &Store, targets: &[Target]) -> Result<Vec<Term>, ShapeError> {
    let mut out = Vec::new();
    let mut seen = HashSet::new();
    let mut add = |nodes: Vec<Term>| {
        for node in nodes {
            if seen.insert(node.clone()) {
                out.push(node);
            }
        }
    };
    for target in targets {
        match target {
            Target::Class(class) => add(instances(store, class.as_ref())?),
            Target::Node(node) => add(vec![node.clone()]),
            Target::SubjectsOf(p) => add(store
                .quads_for_pattern(
                    None,
                    Some(p.as_ref()),
                    None,
                    Some(GraphNameRef::DefaultGraph),
                )
                .map(|q| q.map(|q| Term::from(q.subject)).map_err(ShapeError::store))
                .collect::<Result<_, _>>()?),
            Target::ObjectsOf(p) => add(store
                .quads_for_pattern(
                    None,
                    Some(p.as_ref()),
                    None,
                    Some(GraphNameRef::DefaultGraph),
                )
                .map(|q| q.map(|q| q.object).map_err(ShapeError::store))
                .collect::<Result<_, _>>()?),
        }
    }
    Ok(out)
}
