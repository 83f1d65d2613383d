//! μ₁ Normalize: read the ontology sources and imports into an in-memory
//! store ([`load`]), read the SHACL shapes found there, give instances the
//! shapes' default values and apply the inference rules to a fixpoint
//! ([`infer`]), validate against the shapes and the manifest's validation
//! rules ([`validate`]), and compute the RDFC-1.0 digest of the resulting
//! graph ([`digest`]).

mod digest;
mod first_release;
mod infer;
mod load;
mod origins;
mod validate;
mod written;

use oxigraph::store::Store;

use crate::error::{Error, ErrorKind, Result};
use crate::inputs::Inputs;
use crate::manifest::Manifest;
use crate::shacl::Shapes;
use crate::sparql::Engine;

pub use digest::canonical_nquad;
pub use infer::MAX_INFERENCE_ROUNDS;

/// The normalized graph.
pub struct Graph {
    /// The triples, blank nodes labelled canonically.
    pub store: Store,
    /// SHA-256 of the RDFC-1.0 canonical N-Quads.
    pub digest: String,
    /// Number of quads.
    pub quads: usize,
}

/// Runs μ₁.
pub fn normalize(manifest: &Manifest, inputs: &mut Inputs, engine: &Engine) -> Result<Graph> {
    let (store, loaded) = load::load(manifest, inputs)?;
    let shapes = Shapes::load_bounded(&store, std::sync::Arc::new(engine.bounds()))
        .map_err(|e| origins::shape_error(manifest, &loaded, &store, e))?;
    infer::infer(manifest, inputs, engine, &store, &shapes, &loaded)?;
    validate::validate(manifest, inputs, engine, &store, &loaded, &shapes)?;
    digest::canonicalize(store, &manifest.limits)
}

pub(crate) fn store_error(e: impl std::fmt::Display) -> Error {
    Error::new(
        ErrorKind::Ontology,
        format!("the in-memory store failed: {e}"),
    )
}
