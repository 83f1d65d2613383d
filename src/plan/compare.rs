//! μ₅ without writing: each output's action against the disk and the
//! previous receipt, the new receipt, and the signature beside it.

use std::collections::{BTreeMap, BTreeSet};

use super::{Action, FilePlan, Options, Plan, Stats};
use crate::canonical::Output;
use crate::dsse;
use crate::error::{Error, ErrorKind, Result};
use crate::ggen_dir;
use crate::inputs::{Inputs, sha256_hex};
use crate::manifest::Manifest;
use crate::receipt::Statement;

/// μ₅ without writing: the new receipt, and each file's action against the
/// disk and the previous receipt.
pub(super) fn compare(
    manifest: &Manifest,
    selected: &[usize],
    outputs: Vec<Output>,
    inputs: &Inputs,
    stats: Stats,
    options: &Options,
) -> Result<Plan> {
    let receipt_path = manifest.resolve(ggen_dir::RECEIPT);
    let old_receipt = read_if_exists(manifest, ggen_dir::RECEIPT)?;
    // Without a readable previous receipt ggen cannot tell its own files
    // from hand edits: only --force may go on (treating every file as unowned).
    let previous = match old_receipt.as_deref().map(Statement::parse) {
        Some(Ok(statement)) => Some(statement.outputs()),
        Some(Err(_)) if options.force => None,
        Some(Err(e)) => {
            return Err(Error::at(
                ErrorKind::Write,
                crate::error::Location::file(crate::error::display_path(&receipt_path)),
                format!("the previous receipt cannot be read: {e}"),
            )
            .with_help("without it ggen cannot tell generated files from hand edits; run `ggen sync --force` to regenerate everything"));
        }
        None => None,
    };
    let previous = previous.unwrap_or_default();
    let selected_names: BTreeSet<&str> = selected
        .iter()
        .map(|&i| manifest.generation.rules[i].name.as_str())
        .collect();
    let all_names: BTreeSet<&str> = manifest
        .generation
        .rules
        .iter()
        .map(|r| r.name.as_str())
        .collect();

    let mut files = Vec::new();
    let mut subjects: BTreeMap<String, (String, String)> = BTreeMap::new();
    let generated: BTreeSet<String> = outputs.iter().map(|o| o.path.clone()).collect();

    for output in outputs {
        let rule = manifest.generation.rules[output.rule].name.clone();
        let disk = read_if_exists(manifest, &output.path)?;
        let recorded = previous.get(&output.path).map(|(sha, _)| sha.as_str());
        let (action, hand_edited) = match &disk {
            None => (Action::Created, false),
            Some(bytes) if *bytes == output.bytes => (Action::Unchanged, false),
            Some(bytes) => (
                Action::Updated,
                recorded != Some(sha256_hex(bytes).as_str()),
            ),
        };
        subjects.insert(output.path.clone(), (output.sha256.clone(), rule.clone()));
        files.push(FilePlan {
            path: output.path,
            action,
            rule: Some(rule),
            content: matches!(action, Action::Created | Action::Updated).then_some(output.bytes),
            disk,
            hand_edited,
            owned: recorded.is_some(),
        });
    }

    for (path, (sha, rule)) in &previous {
        if generated.contains(path) {
            continue;
        }
        // With --rule, outputs of the other rules stay as they are.
        let other_rule = rule
            .as_deref()
            .is_some_and(|r| all_names.contains(r) && !selected_names.contains(r));
        if other_rule {
            subjects.insert(
                path.clone(),
                (sha.clone(), rule.clone().unwrap_or_default()),
            );
            continue;
        }
        let Some(disk) = read_if_exists(manifest, path)? else {
            continue;
        };
        let edited = sha256_hex(&disk) != *sha;
        files.push(FilePlan {
            path: path.clone(),
            action: if edited && !options.force {
                Action::Kept
            } else {
                Action::Removed
            },
            rule: rule.clone(),
            content: None,
            disk: Some(disk),
            hand_edited: edited,
            owned: true,
        });
    }
    files.sort_by(|a, b| a.path.cmp(&b.path));

    let rules = manifest
        .generation
        .rules
        .iter()
        .map(|r| r.name.clone())
        .collect();
    let statement = Statement::new(
        manifest.file_name(),
        rules,
        stats.graph_digest.clone(),
        stats.quads,
        &subjects,
        inputs.digests(),
    );
    let receipt = statement.to_bytes();
    let old_envelope = read_if_exists(manifest, ggen_dir::ENVELOPE)?;
    let key = options.sign.as_deref();
    Ok(Plan {
        files,
        envelope: dsse::next(&receipt, old_envelope.as_deref(), key),
        old_envelope,
        keyid: key.map(|k| k.public().keyid().to_string()),
        receipt,
        old_receipt,
        stats,
        from_receipt: false,
    })
}

/// The bytes of `rel` if it exists; a directory or an unreadable file is an error.
fn read_if_exists(manifest: &Manifest, rel: &str) -> Result<Option<Vec<u8>>> {
    let path = manifest.resolve(rel);
    match std::fs::read(&path) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::io(ErrorKind::Write, &path, "read it", &e)),
    }
}
