//! A SHACL Core subset, with SHACL-SPARQL constraints, over the store's
//! default graph: ggen's defaults (`sh:defaultValue`) and validation for
//! any vocabulary that comes with shapes.
//!
//! Supported: targets `sh:targetClass` (and implicit class targets),
//! `sh:targetNode`, `sh:targetSubjectsOf`, `sh:targetObjectsOf`; node shapes
//! with `sh:property` property shapes whose `sh:path` is a predicate;
//! `sh:datatype`, `sh:class`, `sh:nodeKind`, `sh:minCount`, `sh:maxCount`,
//! `sh:minInclusive`, `sh:maxInclusive`, `sh:minExclusive`,
//! `sh:maxExclusive`, `sh:in`, `sh:pattern` with `sh:flags`, `sh:closed`
//! with `sh:ignoredProperties`, `sh:sparql` (with `sh:prefixes`), and
//! `sh:message`, `sh:deactivated`, `sh:defaultValue`. Any other `sh:`
//! statement on a shape is an error, not silently ignored.

mod defaults;
mod error;
mod graph;
mod load;
mod message;
mod model;
mod probe;
mod sparql;
mod statements;
mod validate;
mod vocab;

#[cfg(test)]
mod tests;

use oxigraph::model::{NamedNode, NamedOrBlankNode, Term};
use oxigraph::store::Store;

pub use error::ShapeError;
pub use vocab::Component;

pub use defaults::Done as DefaultsDone;

/// How the SHACL engine bounds the `sh:sparql` queries it parses and runs,
/// given by its user (ggen gives the manifest's `[limits]`; the engine sits
/// below ggen's error and limit types).
pub trait QueryBounds: std::fmt::Debug + Send + Sync {
    /// How deeply a query's text and its algebra may nest.
    fn depth(&self) -> u64;
    /// Starts watching `what` ("parsing the sh:select of shape …"); the
    /// watch ends when the returned value is dropped.
    fn watch(&self, what: String) -> Box<dyn std::any::Any>;
}

/// No bounds beyond the machine's.
#[derive(Debug)]
struct Unbounded;

impl QueryBounds for Unbounded {
    fn depth(&self) -> u64 {
        u64::MAX
    }

    fn watch(&self, _: String) -> Box<dyn std::any::Any> {
        Box::new(())
    }
}

/// The shapes found in a store, read once.
#[derive(Debug, Clone)]
pub struct Shapes {
    shapes: Vec<model::Shape>,
    defaults: Vec<defaults::DefaultRule>,
}

/// One validation result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// The focus node.
    pub focus: Term,
    /// The property at fault: the shape's path, the unexpected predicate
    /// (`sh:closed`), or a SPARQL row's `?path`.
    pub path: Option<NamedNode>,
    /// The offending value, when there is one.
    pub value: Option<Term>,
    /// The constraint component that failed.
    pub component: Component,
    /// The shape whose constraint failed.
    pub shape: NamedOrBlankNode,
    /// The shape's `sh:message` filled in, or the component's generic text.
    pub message: String,
    /// Terms that locate the offending triple in the sources: focus, path,
    /// value, and the IRIs and literals of a SPARQL row.
    pub terms: Vec<Term>,
}

impl Shapes {
    /// Reads every shape of the store's default graph. A shape the engine
    /// cannot honour (a complex path, a broken `sh:in` list, a query that
    /// does not parse, an unsupported component…) is an error naming it.
    pub fn load(store: &Store) -> Result<Shapes, ShapeError> {
        Shapes::load_bounded(store, std::sync::Arc::new(Unbounded))
    }

    /// [`Shapes::load`], parsing and running the `sh:sparql` queries within
    /// `bounds`.
    pub fn load_bounded(
        store: &Store,
        bounds: std::sync::Arc<dyn QueryBounds>,
    ) -> Result<Shapes, ShapeError> {
        let shapes = load::shapes(store, bounds)?;
        let defaults = defaults::rules(&shapes);
        Ok(Shapes { shapes, defaults })
    }

    /// Whether the store held no shape at all.
    pub fn is_empty(&self) -> bool {
        self.shapes.is_empty()
    }

    /// Gives each focus node of a property shape with `sh:defaultValue`
    /// that default when it has no value for the path; returns how many
    /// triples were added (0 once nothing is missing).
    /// `done` carries, from one round to the next, the nodes already given
    /// their defaults.
    pub fn apply_defaults(
        &self,
        store: &Store,
        done: &mut DefaultsDone,
    ) -> Result<usize, ShapeError> {
        defaults::apply(&self.defaults, store, done)
    }

    /// Every violation, sorted by focus, path, component and value.
    pub fn validate(&self, store: &Store) -> Result<Vec<Violation>, ShapeError> {
        validate::validate(&self.shapes, store)
    }

    /// [`Shapes::validate`] split between `threads` threads whatever the
    /// number of focus nodes (tests compare it with one thread).
    #[cfg(test)]
    pub(crate) fn validate_on(
        &self,
        store: &Store,
        threads: usize,
    ) -> Result<Vec<Violation>, ShapeError> {
        validate::validate_on(&self.shapes, store, threads, 0)
    }
}
