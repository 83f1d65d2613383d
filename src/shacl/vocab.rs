//! The SHACL vocabulary terms the engine reads, and the constraint
//! components it reports.

use oxigraph::model::NamedNodeRef;

/// The SHACL namespace.
pub const SH: &str = "http://www.w3.org/ns/shacl#";

macro_rules! sh_terms {
    ($($name:ident = $local:literal),* $(,)?) => {$(
        pub const $name: NamedNodeRef<'static> =
            NamedNodeRef::new_unchecked(concat!("http://www.w3.org/ns/shacl#", $local));
    )*};
}

sh_terms!(
    NODE_SHAPE = "NodeShape",
    PROPERTY_SHAPE = "PropertyShape",
    TARGET_CLASS = "targetClass",
    TARGET_NODE = "targetNode",
    TARGET_SUBJECTS_OF = "targetSubjectsOf",
    TARGET_OBJECTS_OF = "targetObjectsOf",
    PROPERTY = "property",
    PATH = "path",
    DATATYPE = "datatype",
    CLASS = "class",
    NODE_KIND = "nodeKind",
    MIN_COUNT = "minCount",
    MAX_COUNT = "maxCount",
    MIN_INCLUSIVE = "minInclusive",
    MAX_INCLUSIVE = "maxInclusive",
    MIN_EXCLUSIVE = "minExclusive",
    MAX_EXCLUSIVE = "maxExclusive",
    IN = "in",
    PATTERN = "pattern",
    FLAGS = "flags",
    CLOSED = "closed",
    IGNORED_PROPERTIES = "ignoredProperties",
    SPARQL = "sparql",
    SELECT = "select",
    PREFIXES = "prefixes",
    DECLARE = "declare",
    PREFIX = "prefix",
    NAMESPACE = "namespace",
    MESSAGE = "message",
    DEFAULT_VALUE = "defaultValue",
    DEACTIVATED = "deactivated",
    SEVERITY = "severity",
    VIOLATION = "Violation",
    IRI = "IRI",
    BLANK_NODE = "BlankNode",
    LITERAL = "Literal",
    BLANK_NODE_OR_IRI = "BlankNodeOrIRI",
    BLANK_NODE_OR_LITERAL = "BlankNodeOrLiteral",
    IRI_OR_LITERAL = "IRIOrLiteral",
);

/// Predicates a shape may carry that change nothing about validation:
/// accepted and ignored, as SHACL says.
pub const NON_VALIDATING: &[&str] = &["name", "description", "order", "group"];

macro_rules! components {
    ($($variant:ident = $local:literal, $doc:literal;)*) => {
        /// A SHACL constraint component, as named in validation results.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Component {
            $(#[doc = $doc] $variant,)*
        }

        impl Component {
            /// The component's IRI, e.g. `sh:MinInclusiveConstraintComponent`.
            pub fn iri(self) -> NamedNodeRef<'static> {
                match self {
                    $(Component::$variant => NamedNodeRef::new_unchecked(
                        concat!("http://www.w3.org/ns/shacl#", $local)),)*
                }
            }

            /// The IRI's local name, e.g. `MinInclusiveConstraintComponent`.
            pub fn local_name(self) -> &'static str {
                match self {
                    $(Component::$variant => $local,)*
                }
            }
        }
    };
}

components! {
    Datatype = "DatatypeConstraintComponent", "`sh:datatype`";
    Class = "ClassConstraintComponent", "`sh:class`";
    NodeKind = "NodeKindConstraintComponent", "`sh:nodeKind`";
    MinCount = "MinCountConstraintComponent", "`sh:minCount`";
    MaxCount = "MaxCountConstraintComponent", "`sh:maxCount`";
    MinInclusive = "MinInclusiveConstraintComponent", "`sh:minInclusive`";
    MaxInclusive = "MaxInclusiveConstraintComponent", "`sh:maxInclusive`";
    MinExclusive = "MinExclusiveConstraintComponent", "`sh:minExclusive`";
    MaxExclusive = "MaxExclusiveConstraintComponent", "`sh:maxExclusive`";
    In = "InConstraintComponent", "`sh:in`";
    Pattern = "PatternConstraintComponent", "`sh:pattern`";
    Closed = "ClosedConstraintComponent", "`sh:closed`";
    Sparql = "SPARQLConstraintComponent", "`sh:sparql`";
}
