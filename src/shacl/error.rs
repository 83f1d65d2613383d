//! The one error type of the SHACL engine: a shape it cannot read, a SPARQL
//! constraint that fails while it runs, or the store failing.

use std::fmt;

use oxigraph::model::NamedOrBlankNode;

/// Why shapes could not be loaded, applied or run. Violations are not
/// errors: they are what [`super::Shapes::validate`] returns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ShapeError {
    /// A shape states something the engine cannot read or does not
    /// support (the message says which).
    Malformed {
        /// The shape (or SPARQL constraint node) at fault.
        shape: NamedOrBlankNode,
        /// What is wrong with it.
        message: String,
    },
    /// A SPARQL constraint failed while it ran, or bound `?failure`.
    Query {
        /// The shape whose constraint failed.
        shape: NamedOrBlankNode,
        /// What the SPARQL engine said.
        message: String,
    },
    /// The store failed.
    Store(String),
}

impl ShapeError {
    pub(crate) fn malformed(shape: &NamedOrBlankNode, message: impl Into<String>) -> Self {
        ShapeError::Malformed {
            shape: shape.clone(),
            message: message.into(),
        }
    }

    pub(crate) fn store(e: impl fmt::Display) -> Self {
        ShapeError::Store(e.to_string())
    }
}

impl fmt::Display for ShapeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ShapeError::Malformed { shape, message } => write!(f, "shape {shape}: {message}"),
            ShapeError::Query { shape, message } => {
                write!(
                    f,
                    "the SPARQL constraint of shape {shape} failed: {message}"
                )
            }
            ShapeError::Store(message) => write!(f, "the in-memory store failed: {message}"),
        }
    }
}

impl std::error::Error for ShapeError {}
