//! `verify`: a receipt against the project as it is, without rendering.
//!
//! What holds when it finds nothing: the receipt has the fixed fields ggen
//! writes; its inputs are exactly those the manifest names today (targets
//! expanded, `*.tera` under `templates_dir`), each with the recorded bytes
//! (a built-in file against this ggen's copy); the graph those inputs give
//! (μ₁) has the recorded RDFC-1.0 digest and quad count; each rule has as
//! many recorded outputs as its rows give (μ₂); and every recorded output is
//! a file inside the project, reached through no symbolic link leading out
//! of it, with the recorded bytes. Only the outputs' bytes are not
//! recomputed: that is `sync --check`'s job.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Serialize;

use super::fields;
use crate::error::{Error, ErrorKind, Result, display_path};
use crate::ggen_dir;
use crate::inputs::sha256_hex;
use crate::manifest::Manifest;
use crate::paths::{SymlinkGuard, normalize_relative};
use crate::plan::{self, Input};
use crate::receipt::Statement;

/// One difference `verify` found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Mismatch {
    /// What kind of difference.
    pub kind: MismatchKind,
    /// The file it is about, relative to the manifest folder (an input may
    /// be `ggen:<target>/<path>`); for a rule, the rule's name; for the
    /// receipt itself or the graph, the receipt's path as given.
    pub path: String,
    /// What exactly differs, when the kind does not say it all.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// The kinds of `verify` mismatches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum MismatchKind {
    /// The receipt does not parse, or a fixed field is not what ggen writes.
    #[serde(rename = "receipt invalid")]
    ReceiptInvalid,
    /// An input's bytes differ from the receipt, or it is gone.
    #[serde(rename = "input changed")]
    InputChanged,
    /// The manifest names an input the receipt does not list.
    #[serde(rename = "input unrecorded")]
    InputUnrecorded,
    /// The receipt lists an input the manifest does not name.
    #[serde(rename = "input not in manifest")]
    InputNotInManifest,
    /// The graph the inputs give has another digest or size than recorded.
    #[serde(rename = "graph changed")]
    GraphChanged,
    /// A rule has another number of recorded outputs than its rows give.
    #[serde(rename = "rule outputs")]
    RuleOutputs,
    /// A recorded output lies outside the project, in `.ggen/`, or behind
    /// a symbolic link.
    #[serde(rename = "outside project")]
    OutsideProject,
    /// An output named by the receipt is gone.
    #[serde(rename = "missing")]
    Missing,
    /// An output's bytes differ from the receipt.
    #[serde(rename = "modified")]
    Modified,
}

impl MismatchKind {
    /// The words that open the mismatch's line.
    pub fn label(self) -> &'static str {
        match self {
            MismatchKind::ReceiptInvalid => "receipt invalid",
            MismatchKind::InputChanged => "input changed",
            MismatchKind::InputUnrecorded => "input unrecorded",
            MismatchKind::InputNotInManifest => "input not in manifest",
            MismatchKind::GraphChanged => "graph changed",
            MismatchKind::RuleOutputs => "rule outputs",
            MismatchKind::OutsideProject => "outside project",
            MismatchKind::Missing => "missing",
            MismatchKind::Modified => "modified",
        }
    }
}

impl std::fmt::Display for Mismatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.kind.label(), self.path)?;
        match &self.detail {
            Some(detail) => write!(f, " ({detail})"),
            None => Ok(()),
        }
    }
}

/// What `verify` checked.
#[derive(Debug, Clone, Serialize)]
pub struct Verification {
    /// Outputs named by the receipt.
    pub outputs: usize,
    /// Inputs named by the receipt.
    pub inputs: usize,
    /// Every difference: the receipt's own, then inputs (sorted by name),
    /// the graph, rules and outputs (in the receipt's order).
    pub mismatches: Vec<Mismatch>,
}

/// Checks the receipt at `receipt` against the project of `manifest`.
pub fn verify(manifest: &Manifest, receipt: &Path) -> Result<Verification> {
    let bytes = std::fs::read(receipt).map_err(|e| {
        let err = Error::io(ErrorKind::Write, receipt, "read the receipt", &e);
        if e.kind() == std::io::ErrorKind::NotFound {
            err.with_help("run `ggen sync` to generate the outputs and their receipt")
        } else {
            err
        }
    })?;
    let shown = display_path(receipt);
    let mut mismatches = Vec::new();
    let invalid = |detail: String| Mismatch {
        kind: MismatchKind::ReceiptInvalid,
        path: shown.clone(),
        detail: Some(detail),
    };
    let value: serde_json::Value = match serde_json::from_slice(&bytes) {
        Ok(value) => value,
        Err(e) => return Ok(refused(vec![invalid(format!("not JSON: {e}"))])),
    };
    mismatches.extend(fields::problems(&value).into_iter().map(&invalid));
    let statement = match Statement::parse(&bytes) {
        Ok(statement) => statement,
        Err(e) => {
            if mismatches.is_empty() {
                mismatches.push(invalid(format!("not a ggen receipt: {e}")));
            }
            return Ok(refused(mismatches));
        }
    };
    let build = &statement.predicate.build_definition;
    let rules: Vec<String> = (manifest.generation.rules.iter())
        .map(|r| r.name.clone())
        .collect();
    if build.external_parameters.manifest != manifest.file_name() {
        mismatches.push(invalid(format!(
            "/predicate/buildDefinition/externalParameters/manifest is \"{}\", not \"{}\"",
            build.external_parameters.manifest,
            manifest.file_name()
        )));
    }
    if build.external_parameters.rules != rules {
        mismatches.push(invalid(
            "/predicate/buildDefinition/externalParameters/rules are not the manifest's generation rules"
                .into(),
        ));
    }

    let inputs_agree = check_inputs(manifest, &statement, &mut mismatches)?;
    // The graph and the rows follow from the inputs: recomputed only when
    // the inputs are those recorded (else they already fail, and may not
    // even parse).
    if inputs_agree {
        check_graph(manifest, &statement, &shown, &mut mismatches)?;
    }
    check_outputs(manifest, &statement, &mut mismatches)?;
    Ok(Verification {
        outputs: statement.subject.len(),
        inputs: build.resolved_dependencies.len(),
        mismatches,
    })
}

/// A receipt that cannot be read as one: nothing else is checked.
fn refused(mismatches: Vec<Mismatch>) -> Verification {
    Verification {
        outputs: 0,
        inputs: 0,
        mismatches,
    }
}

/// The recorded inputs against those the manifest names today; whether
/// they agree.
fn check_inputs(
    manifest: &Manifest,
    statement: &Statement,
    mismatches: &mut Vec<Mismatch>,
) -> Result<bool> {
    let before = mismatches.len();
    let mut named = plan::inputs(manifest)?;
    for dep in &statement.predicate.build_definition.resolved_dependencies {
        let mismatch = |kind| Mismatch {
            kind,
            path: dep.name.clone(),
            detail: None,
        };
        let current = match named.remove(&dep.name) {
            None => {
                mismatches.push(mismatch(MismatchKind::InputNotInManifest));
                continue;
            }
            Some(Input::Builtin(text)) => Some(sha256_hex(text.as_bytes())),
            Some(Input::File(rel)) => hash(manifest, &rel)?,
        };
        if current.as_deref() != Some(dep.digest.sha256.as_str()) {
            mismatches.push(mismatch(MismatchKind::InputChanged));
        }
    }
    // A name listed twice was removed the first time: the second is no
    // input the manifest names.
    mismatches.extend(named.into_keys().map(|path| Mismatch {
        kind: MismatchKind::InputUnrecorded,
        path,
        detail: None,
    }));
    mismatches[before..].sort_by(|a, b| a.path.cmp(&b.path));
    Ok(mismatches.len() == before)
}

/// The graph and the outputs per rule, recomputed from the inputs.
fn check_graph(
    manifest: &Manifest,
    statement: &Statement,
    shown: &str,
    mismatches: &mut Vec<Mismatch>,
) -> Result<()> {
    let now = plan::recompute(manifest)?;
    let graph = &statement
        .predicate
        .build_definition
        .internal_parameters
        .graph;
    if graph.digest.sha256 != now.graph_digest || graph.quads != now.quads {
        mismatches.push(Mismatch {
            kind: MismatchKind::GraphChanged,
            path: shown.to_string(),
            detail: Some(format!(
                "the receipt records {} quads with digest {}; its inputs give {} quads with digest {}",
                graph.quads, graph.digest.sha256, now.quads, now.graph_digest
            )),
        });
    }
    let mut recorded: BTreeMap<String, usize> = BTreeMap::new();
    for subject in &statement.subject {
        let rule = subject.annotations.as_ref().map(|a| a.rule.clone());
        *recorded.entry(rule.unwrap_or_default()).or_default() += 1;
    }
    let mut names: Vec<&String> = recorded.keys().chain(now.files_per_rule.keys()).collect();
    names.sort();
    names.dedup();
    for name in names {
        let has = recorded.get(name).copied().unwrap_or_default();
        let gives = now.files_per_rule.get(name).copied().unwrap_or_default();
        if has != gives {
            let (path, rows) = match now.files_per_rule.contains_key(name) {
                true => (name.clone(), format!("its rows give {gives}")),
                false if name.is_empty() => {
                    ("(no rule)".into(), "every output names its rule".into())
                }
                false => (name.clone(), "the manifest has no such rule".into()),
            };
            mismatches.push(Mismatch {
                kind: MismatchKind::RuleOutputs,
                path,
                detail: Some(format!("the receipt records {has} outputs; {rows}")),
            });
        }
    }
    Ok(())
}

/// Every recorded output: inside the project, then its bytes.
fn check_outputs(
    manifest: &Manifest,
    statement: &Statement,
    mismatches: &mut Vec<Mismatch>,
) -> Result<()> {
    let mut links = SymlinkGuard::new(&manifest.root);
    for subject in &statement.subject {
        let mismatch = |kind, detail: Option<&str>| Mismatch {
            kind,
            path: subject.name.clone(),
            detail: detail.map(str::to_string),
        };
        if let Some(why) = outside(manifest, &subject.name, &mut links) {
            mismatches.push(mismatch(MismatchKind::OutsideProject, Some(why)));
            continue;
        }
        match hash(manifest, &subject.name)? {
            None => mismatches.push(mismatch(MismatchKind::Missing, None)),
            Some(h) if h != subject.digest.sha256 => {
                mismatches.push(mismatch(MismatchKind::Modified, None));
            }
            Some(_) => {}
        }
    }
    Ok(())
}

/// Why an output named `rel` is not one a sync could have written, if it
/// is not: the rules of μ₄, and a sync never writes a symbolic link.
fn outside(manifest: &Manifest, rel: &str, links: &mut SymlinkGuard) -> Option<&'static str> {
    match normalize_relative(rel) {
        Err(problem) => return Some(problem.describe()),
        Ok(normal) if normal != rel || normal.is_empty() => {
            return Some("is not a plain relative path");
        }
        Ok(_) => {}
    }
    if rel == ggen_dir::DIR || rel.starts_with(&format!("{}/", ggen_dir::DIR)) {
        return Some("is in ggen's own folder");
    }
    if links.escapes(rel) {
        return Some("is reached through a symbolic link leading out of the project");
    }
    let is_link =
        std::fs::symlink_metadata(manifest.resolve(rel)).is_ok_and(|m| m.file_type().is_symlink());
    is_link.then_some("is a symbolic link, which ggen never writes")
}

/// The SHA-256 of project file `rel`, `None` when it does not exist.
fn hash(manifest: &Manifest, rel: &str) -> Result<Option<String>> {
    let path = manifest.resolve(rel);
    match std::fs::read(&path) {
        Ok(bytes) => Ok(Some(sha256_hex(&bytes))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::io(ErrorKind::Write, &path, "read it", &e)),
    }
}
