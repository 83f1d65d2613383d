//! Reading the statements of one shape node: each predicate's values,
//! the SHACL parameter forms (IRI, boolean, count, node kind, message),
//! and which `sh:` predicates were left unread.

use std::collections::BTreeMap;

use oxigraph::model::vocab::xsd;
use oxigraph::model::{GraphNameRef, Literal, NamedNode, NamedNodeRef, NamedOrBlankNode, Term};
use oxigraph::store::Store;

use super::error::ShapeError;
use super::model::NodeKind;
use super::vocab::{self as sh, SH};

/// The values of each predicate of a shape, and which of them were read.
pub(super) struct Statements {
    pub(super) shape: NamedOrBlankNode,
    values: BTreeMap<String, Vec<Term>>,
}

impl Statements {
    pub(super) fn of(store: &Store, shape: &NamedOrBlankNode) -> Result<Self, ShapeError> {
        let mut values: BTreeMap<String, Vec<Term>> = BTreeMap::new();
        for quad in store.quads_for_pattern(
            Some(shape.as_ref()),
            None,
            None,
            Some(GraphNameRef::DefaultGraph),
        ) {
            let quad = quad.map_err(ShapeError::store)?;
            values
                .entry(quad.predicate.as_str().to_string())
                .or_default()
                .push(quad.object);
        }
        Ok(Statements {
            shape: shape.clone(),
            values,
        })
    }

    /// Every value of `predicate`, which counts as read.
    pub(super) fn take(&mut self, predicate: NamedNodeRef<'_>) -> Vec<Term> {
        self.values.remove(predicate.as_str()).unwrap_or_default()
    }

    /// The value of a predicate SHACL allows once.
    pub(super) fn take_one(
        &mut self,
        predicate: NamedNodeRef<'_>,
    ) -> Result<Option<Term>, ShapeError> {
        let mut values = self.take(predicate);
        if values.len() > 1 {
            return Err(self.error(format!(
                "{} has several values; SHACL allows one",
                short(predicate.as_str())
            )));
        }
        Ok(values.pop())
    }

    pub(super) fn error(&self, message: impl Into<String>) -> ShapeError {
        ShapeError::malformed(&self.shape, message)
    }

    /// After everything was read: an `sh:` predicate left over is one the
    /// engine does not implement.
    pub(super) fn finish(self) -> Result<(), ShapeError> {
        for predicate in self.values.keys() {
            if let Some(local) = predicate.strip_prefix(SH)
                && !sh::NON_VALIDATING.contains(&local)
            {
                return Err(self.error(format!(
                    "sh:{local} is not supported by ggen's SHACL engine"
                )));
            }
        }
        Ok(())
    }
}

/// `http://www.w3.org/ns/shacl#path` → `sh:path`.
pub(super) fn short(iri: &str) -> String {
    iri.strip_prefix(SH)
        .map_or_else(|| iri.to_string(), |l| format!("sh:{l}"))
}

/// One `sh:message` among several (language variants): the untagged or
/// English one, else the first by text.
pub(super) fn pick_message(values: Vec<Term>) -> Option<String> {
    let mut literals: Vec<&Literal> = values
        .iter()
        .filter_map(|t| match t {
            Term::Literal(l) => Some(l),
            _ => None,
        })
        .collect();
    literals.sort_by_key(|l| {
        let preferred = matches!(l.language(), None | Some("en"));
        (!preferred, l.value().to_string())
    });
    literals.first().map(|l| l.value().to_string())
}

pub(super) fn iri(st: &Statements, what: &str, value: &Term) -> Result<NamedNode, ShapeError> {
    match value {
        Term::NamedNode(n) => Ok(n.clone()),
        other => Err(st.error(format!("{what} {other} is not an IRI"))),
    }
}

pub(super) fn boolean(st: &Statements, what: &str, value: &Term) -> Result<bool, ShapeError> {
    match value {
        Term::Literal(l) if l.datatype() == xsd::BOOLEAN && matches!(l.value(), "true" | "1") => {
            Ok(true)
        }
        Term::Literal(l) if l.datatype() == xsd::BOOLEAN && matches!(l.value(), "false" | "0") => {
            Ok(false)
        }
        other => Err(st.error(format!("{what} {other} is not an xsd:boolean"))),
    }
}

/// A non-negative integer literal (xsd:integer or a type derived from it).
pub(super) fn integer(value: &Term) -> Option<u64> {
    const INTEGER_TYPES: &[&str] = &[
        "integer",
        "nonNegativeInteger",
        "positiveInteger",
        "long",
        "int",
        "short",
        "byte",
        "unsignedLong",
        "unsignedInt",
        "unsignedShort",
        "unsignedByte",
    ];
    let Term::Literal(l) = value else { return None };
    let local = l
        .datatype()
        .as_str()
        .strip_prefix("http://www.w3.org/2001/XMLSchema#")?;
    if !INTEGER_TYPES.contains(&local) {
        return None;
    }
    l.value().trim().trim_start_matches('+').parse().ok()
}

pub(super) fn node_kind(st: &Statements, value: &Term) -> Result<NodeKind, ShapeError> {
    let kinds = [
        (sh::IRI, NodeKind::Iri),
        (sh::BLANK_NODE, NodeKind::BlankNode),
        (sh::LITERAL, NodeKind::Literal),
        (sh::BLANK_NODE_OR_IRI, NodeKind::BlankNodeOrIri),
        (sh::BLANK_NODE_OR_LITERAL, NodeKind::BlankNodeOrLiteral),
        (sh::IRI_OR_LITERAL, NodeKind::IriOrLiteral),
    ];
    kinds
        .iter()
        .find(|(iri, _)| value.as_ref() == (*iri).into())
        .map(|(_, kind)| *kind)
        .ok_or_else(|| {
            st.error(format!(
                "sh:nodeKind {value} is not one of SHACL's six node kinds"
            ))
        })
}
