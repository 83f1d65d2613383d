//! The five stages by name, for progress lines, logs and JSON.

/// The five stages, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Stage {
    /// μ₁.
    Normalize,
    /// μ₂.
    Extract,
    /// μ₃.
    Render,
    /// μ₄.
    Canonicalize,
    /// μ₅.
    Receipt,
}

impl Stage {
    /// All stages in order.
    pub const ALL: [Stage; 5] = [
        Stage::Normalize,
        Stage::Extract,
        Stage::Render,
        Stage::Canonicalize,
        Stage::Receipt,
    ];

    /// The stage's line, without the mark.
    pub fn label(self) -> &'static str {
        match self {
            Stage::Normalize => "[μ₁] Normalizing RDF ontology...",
            Stage::Extract => "[μ₂] Extracting entities via SPARQL...",
            Stage::Render => "[μ₃] Rendering templates (Tera)...",
            Stage::Canonicalize => "[μ₄] Canonicalizing outputs...",
            Stage::Receipt => "[μ₅] Generating receipt...",
        }
    }

    /// A short name for logs and JSON.
    pub fn key(self) -> &'static str {
        match self {
            Stage::Normalize => "normalize",
            Stage::Extract => "extract",
            Stage::Render => "render",
            Stage::Canonicalize => "canonicalize",
            Stage::Receipt => "receipt",
        }
    }
}
