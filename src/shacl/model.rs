//! Shapes as the engine holds them once read: targets, constraints,
//! property shapes, message and default.

use oxigraph::model::{Literal, NamedNode, NamedOrBlankNode, Term};

use super::vocab::Component;
use std::sync::Arc;

use super::QueryBounds;

/// Where a shape's focus nodes come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// `sh:targetClass` (and a shape that is itself a class): SHACL instances.
    Class(NamedNode),
    /// `sh:targetNode`: the node itself.
    Node(Term),
    /// `sh:targetSubjectsOf`.
    SubjectsOf(NamedNode),
    /// `sh:targetObjectsOf`.
    ObjectsOf(NamedNode),
}

/// The four range components, with the SPARQL operator each stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Bound {
    /// `limit <= value`.
    MinInclusive,
    /// `value <= limit`.
    MaxInclusive,
    /// `limit < value`.
    MinExclusive,
    /// `value < limit`.
    MaxExclusive,
}

impl Bound {
    pub fn component(self) -> Component {
        match self {
            Bound::MinInclusive => Component::MinInclusive,
            Bound::MaxInclusive => Component::MaxInclusive,
            Bound::MinExclusive => Component::MinExclusive,
            Bound::MaxExclusive => Component::MaxExclusive,
        }
    }

    /// The SPARQL expression that must be true, over `?limit` and `?value`.
    pub fn expression(self) -> &'static str {
        match self {
            Bound::MinInclusive => "?limit <= ?value",
            Bound::MaxInclusive => "?value <= ?limit",
            Bound::MinExclusive => "?limit < ?value",
            Bound::MaxExclusive => "?value < ?limit",
        }
    }

    /// How the generic message words it: "must be {wording} {limit}".
    pub fn wording(self) -> &'static str {
        match self {
            Bound::MinInclusive => "at least",
            Bound::MaxInclusive => "at most",
            Bound::MinExclusive => "greater than",
            Bound::MaxExclusive => "less than",
        }
    }
}

/// The values of `sh:nodeKind`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeKind {
    Iri,
    BlankNode,
    Literal,
    BlankNodeOrIri,
    BlankNodeOrLiteral,
    IriOrLiteral,
}

impl NodeKind {
    pub fn admits(self, term: &Term) -> bool {
        let (iri, blank, literal) = (
            term.is_named_node(),
            term.is_blank_node(),
            term.is_literal(),
        );
        match self {
            NodeKind::Iri => iri,
            NodeKind::BlankNode => blank,
            NodeKind::Literal => literal,
            NodeKind::BlankNodeOrIri => blank || iri,
            NodeKind::BlankNodeOrLiteral => blank || literal,
            NodeKind::IriOrLiteral => iri || literal,
        }
    }

    pub fn wording(self) -> &'static str {
        match self {
            NodeKind::Iri => "an IRI",
            NodeKind::BlankNode => "a blank node",
            NodeKind::Literal => "a literal",
            NodeKind::BlankNodeOrIri => "a blank node or an IRI",
            NodeKind::BlankNodeOrLiteral => "a blank node or a literal",
            NodeKind::IriOrLiteral => "an IRI or a literal",
        }
    }
}

/// One constraint of a shape.
#[derive(Debug, Clone)]
pub enum Constraint {
    Datatype(NamedNode),
    Class(NamedNode),
    NodeKind(NodeKind),
    MinCount(u64),
    MaxCount(u64),
    Range(Bound, Literal),
    In(Vec<Term>),
    Pattern {
        pattern: String,
        flags: String,
    },
    /// `sh:closed true`: the predicates a focus node may have.
    Closed {
        allowed: Vec<NamedNode>,
    },
    Sparql(Box<SparqlConstraint>),
}

impl Constraint {
    pub fn component(&self) -> Component {
        match self {
            Constraint::Datatype(_) => Component::Datatype,
            Constraint::Class(_) => Component::Class,
            Constraint::NodeKind(_) => Component::NodeKind,
            Constraint::MinCount(_) => Component::MinCount,
            Constraint::MaxCount(_) => Component::MaxCount,
            Constraint::Range(bound, _) => bound.component(),
            Constraint::In(_) => Component::In,
            Constraint::Pattern { .. } => Component::Pattern,
            Constraint::Closed { .. } => Component::Closed,
            Constraint::Sparql(_) => Component::Sparql,
        }
    }
}

/// A SHACL-SPARQL constraint, parsed once.
#[derive(Debug, Clone)]
pub struct SparqlConstraint {
    /// The SELECT query; it projects `?this` (added if the text did not)
    /// so that the focus node can be pre-bound.
    pub query: spargebra::Query,
    pub message: Option<String>,
    /// Whether the query reads `$currentShape`.
    pub current_shape: bool,
    /// How long each run may take.
    pub bounds: Arc<dyn QueryBounds>,
}

/// A node shape (no path) or a property shape (a predicate path).
#[derive(Debug, Clone)]
pub struct Shape {
    pub id: NamedOrBlankNode,
    pub targets: Vec<Target>,
    pub path: Option<NamedNode>,
    pub constraints: Vec<Constraint>,
    /// Indices of the property shapes named by `sh:property`.
    pub properties: Vec<usize>,
    pub message: Option<String>,
    pub default_value: Option<Term>,
    pub deactivated: bool,
    /// Set on a node shape with `sh:closed true`: `sh:ignoredProperties`.
    /// The property shapes' paths are added when the shapes are linked.
    pub ignored: Option<Vec<NamedNode>>,
}
