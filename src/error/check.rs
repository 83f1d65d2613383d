//! Which check a finding comes from: the stable id that CI formats show
//! (GitHub's annotation title, SARIF's `ruleId`), with the words that
//! describe it. A diagnostic names its check where it is made when the kind
//! of error does not say enough (a syntax error, a SHACL component, a hand
//! edit); otherwise the check follows from its [`ErrorKind`].

use heck::ToKebabCase;

use super::ErrorKind;
use crate::shacl::Component;

/// A kind of finding, with a stable id.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Check {
    /// A bad command line.
    Usage,
    /// The manifest is missing, unreadable or invalid.
    Manifest,
    /// An ontology file does not parse (Turtle, N-Triples, RDF/XML).
    RdfSyntax,
    /// An ontology error that is not a syntax error or a violation: an
    /// unreadable file, a shape the engine cannot apply, inference that
    /// does not settle.
    Ontology,
    /// A value breaks a SHACL constraint of this component.
    Shacl(Component),
    /// A `[[validation.rules]]` query of the manifest found a violation.
    ValidationRule,
    /// A SPARQL query does not parse or fails.
    Sparql,
    /// A template does not parse or fails to render.
    Template,
    /// A generated file was edited by hand.
    HandEdit,
    /// A write was refused or failed (other than a hand edit).
    Write,
    /// `sync --check`: regenerating would change the file.
    Drift,
    /// `verify`: an output's bytes differ from the receipt.
    VerifyModified,
    /// `verify`: an output named by the receipt is gone.
    VerifyMissing,
    /// `verify`: an input's bytes differ from the receipt.
    VerifyInputChanged,
    /// `verify --key`: the receipt's signature is missing or does not hold.
    VerifySignature,
    /// `verify`: the receipt does not parse, or a fixed field differs.
    VerifyReceipt,
    /// `verify`: the manifest names an input the receipt does not list.
    VerifyInputUnrecorded,
    /// `verify`: the receipt lists an input the manifest does not name.
    VerifyInputNotInManifest,
    /// `verify`: the inputs give another graph than the receipt records.
    VerifyGraph,
    /// `verify`: a rule has another number of recorded outputs than its
    /// rows give.
    VerifyRuleOutputs,
    /// `verify`: a recorded output lies outside the project or behind a
    /// symbolic link.
    VerifyOutsideProject,
    /// `diff`: a change to the specification breaks callers of the
    /// generated code.
    DiffBreaking,
}

impl Check {
    /// The check a diagnostic of `kind` has when it names none.
    pub fn of_kind(kind: ErrorKind) -> Check {
        match kind {
            ErrorKind::Usage => Check::Usage,
            ErrorKind::Manifest => Check::Manifest,
            ErrorKind::Ontology => Check::Ontology,
            ErrorKind::Sparql => Check::Sparql,
            ErrorKind::Template => Check::Template,
            ErrorKind::Write => Check::Write,
        }
    }

    /// The stable id: `rdf-syntax`, `shacl-min-inclusive`, `drift`…
    pub fn id(self) -> String {
        match self {
            Check::Shacl(component) => {
                let name = component.local_name();
                let name = name.strip_suffix("ConstraintComponent").unwrap_or(name);
                format!("shacl-{}", name.to_kebab_case())
            }
            Check::Usage => "usage".into(),
            Check::Manifest => "manifest".into(),
            Check::RdfSyntax => "rdf-syntax".into(),
            Check::Ontology => "ontology".into(),
            Check::ValidationRule => "validation-rule".into(),
            Check::Sparql => "sparql".into(),
            Check::Template => "template".into(),
            Check::HandEdit => "hand-edit".into(),
            Check::Write => "write".into(),
            Check::Drift => "drift".into(),
            Check::VerifyModified => "verify-modified".into(),
            Check::VerifyMissing => "verify-missing".into(),
            Check::VerifyInputChanged => "verify-input-changed".into(),
            Check::VerifySignature => "verify-signature".into(),
            Check::VerifyReceipt => "verify-receipt".into(),
            Check::VerifyInputUnrecorded => "verify-input-unrecorded".into(),
            Check::VerifyInputNotInManifest => "verify-input-not-in-manifest".into(),
            Check::VerifyGraph => "verify-graph".into(),
            Check::VerifyRuleOutputs => "verify-rule-outputs".into(),
            Check::VerifyOutsideProject => "verify-outside-project".into(),
            Check::DiffBreaking => "diff-breaking".into(),
        }
    }

    /// A name for people, in PascalCase (SARIF's `reportingDescriptor.name`,
    /// which must differ from the id).
    pub fn name(self) -> String {
        match self {
            Check::Shacl(component) => {
                let name = component.local_name();
                let name = name.strip_suffix("ConstraintComponent").unwrap_or(name);
                format!("Shacl{name}Violation")
            }
            Check::Usage => "InvalidCommandLine".into(),
            Check::Manifest => "InvalidManifest".into(),
            Check::RdfSyntax => "RdfSyntaxError".into(),
            Check::Ontology => "OntologyNotLoaded".into(),
            Check::ValidationRule => "ValidationRuleViolation".into(),
            Check::Sparql => "SparqlError".into(),
            Check::Template => "TemplateError".into(),
            Check::HandEdit => "EditedByHand".into(),
            Check::Write => "WriteFailed".into(),
            Check::Drift => "OutOfDate".into(),
            Check::VerifyModified => "OutputModified".into(),
            Check::VerifyMissing => "OutputMissing".into(),
            Check::VerifyInputChanged => "InputChanged".into(),
            Check::VerifySignature => "ReceiptSignature".into(),
            Check::VerifyReceipt => "ReceiptInvalid".into(),
            Check::VerifyInputUnrecorded => "InputUnrecorded".into(),
            Check::VerifyInputNotInManifest => "InputNotInManifest".into(),
            Check::VerifyGraph => "GraphChanged".into(),
            Check::VerifyRuleOutputs => "RuleOutputsMiscounted".into(),
            Check::VerifyOutsideProject => "OutputOutsideProject".into(),
            Check::DiffBreaking => "BreakingChange".into(),
        }
    }

    /// One sentence saying what the check finds.
    pub fn description(self) -> String {
        match self {
            Check::Shacl(component) => format!(
                "A value breaks a SHACL {} constraint of the shapes.",
                component_term(component)
            ),
            Check::Usage => "The command line is not valid.".into(),
            Check::Manifest => "The manifest (ggen.toml) is missing, unreadable or invalid.".into(),
            Check::RdfSyntax => "An ontology file is not valid Turtle, N-Triples or RDF/XML.".into(),
            Check::Ontology => {
                "The ontology cannot be loaded, its shapes cannot be applied, or inference does not settle.".into()
            }
            Check::ValidationRule => "A validation rule of the manifest found a violation.".into(),
            Check::Sparql => "A SPARQL query does not parse or fails.".into(),
            Check::Template => "A template does not parse or fails to render.".into(),
            Check::HandEdit => {
                "A generated file was edited by hand; ggen will not overwrite it without --force.".into()
            }
            Check::Write => "ggen could not write, lock or read a file of the project.".into(),
            Check::Drift => {
                "The committed file differs from what ggen sync generates: run ggen sync and commit the result.".into()
            }
            Check::VerifyModified => "A generated file's bytes differ from the receipt.".into(),
            Check::VerifyMissing => "A file the receipt names as generated is missing.".into(),
            Check::VerifyInputChanged => {
                "An input (manifest, ontology, query or template) differs from the receipt.".into()
            }
            Check::VerifySignature => {
                "The receipt's DSSE envelope is missing, or is not a signature of the receipt by the given key.".into()
            }
            Check::VerifyReceipt => {
                "The receipt does not parse, or a field ggen always writes the same way differs.".into()
            }
            Check::VerifyInputUnrecorded => {
                "The manifest names an input the receipt does not list.".into()
            }
            Check::VerifyInputNotInManifest => {
                "The receipt lists an input the manifest does not name.".into()
            }
            Check::VerifyGraph => {
                "The graph the inputs give differs from the receipt's digest or quad count.".into()
            }
            Check::VerifyRuleOutputs => {
                "A rule's rows give another number of outputs than the receipt records for it.".into()
            }
            Check::VerifyOutsideProject => {
                "The receipt records an output outside the project, in .ggen/, or behind a symbolic link.".into()
            }
            Check::DiffBreaking => {
                "A change to the specification breaks callers of the generated code: an entity its API names was removed or renamed, or a value the API depends on changed.".into()
            }
        }
    }

    /// Where the check is specified, when it is a standard's.
    pub fn help_uri(self) -> Option<String> {
        match self {
            Check::Shacl(component) => Some(format!(
                "https://www.w3.org/TR/shacl/#{}",
                component.local_name()
            )),
            _ => None,
        }
    }
}

/// `sh:minInclusive` for `MinInclusiveConstraintComponent`.
fn component_term(component: Component) -> String {
    let name = component.local_name();
    let name = name.strip_suffix("ConstraintComponent").unwrap_or(name);
    match name {
        "SPARQL" => "sh:sparql".into(),
        _ => {
            let mut chars = name.chars();
            let first = chars.next().map(|c| c.to_ascii_lowercase());
            format!(
                "sh:{}{}",
                first.into_iter().collect::<String>(),
                chars.as_str()
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shacl_ids_and_terms_follow_the_component() {
        let check = Check::Shacl(Component::MinInclusive);
        assert_eq!(check.id(), "shacl-min-inclusive");
        assert_eq!(check.name(), "ShaclMinInclusiveViolation");
        assert!(check.description().contains("sh:minInclusive"));
        assert_eq!(
            check.help_uri().as_deref(),
            Some("https://www.w3.org/TR/shacl/#MinInclusiveConstraintComponent")
        );
        assert_eq!(Check::Shacl(Component::Sparql).id(), "shacl-sparql");
        assert!(
            Check::Shacl(Component::Sparql)
                .description()
                .contains("sh:sparql")
        );
        assert_eq!(Check::Shacl(Component::NodeKind).id(), "shacl-node-kind");
    }
}
