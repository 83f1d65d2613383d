//! The two CI gates: `sync --check` compares a fresh [`Plan`] with the disk
//! and prints a unified diff per changed file; `verify` ([`verify()`])
//! checks a receipt against the project without rendering anything, and with
//! a key checks the receipt's signature.

mod fields;
mod verify;

use std::fmt::Write as _;
use std::path::Path;

use similar::TextDiff;

use crate::dsse::{Envelope, Failure};
use crate::error::{Error, ErrorKind, Result};
use crate::ggen_dir;
use crate::keys::PublicKey;
use crate::plan::{Action, Plan};

pub use verify::{Mismatch, MismatchKind, Verification, verify};

/// What `--check` prints: one entry per file that would change, then the
/// receipt if it would. Empty when everything is in sync.
pub fn drift_report(plan: &Plan) -> String {
    let mut out = String::new();
    for file in &plan.files {
        match file.action {
            Action::Created => {
                let _ = writeln!(out, "would create: {}", file.path);
            }
            Action::Removed => {
                let _ = writeln!(out, "would remove: {}", file.path);
            }
            Action::Updated => {
                let old = file.disk.as_deref().unwrap_or_default();
                let new = file.content.as_deref().unwrap_or_default();
                out.push_str(&unified_diff(&file.path, old, new));
            }
            Action::Unchanged | Action::Kept => {}
        }
    }
    if plan.receipt_changed() {
        let verb = if plan.old_receipt.is_some() {
            "update"
        } else {
            "create"
        };
        let _ = writeln!(out, "would {verb}: {}", ggen_dir::RECEIPT);
    }
    if plan.envelope_changed() {
        let verb = match (&plan.old_envelope, &plan.envelope) {
            (None, _) => "create",
            (Some(_), Some(_)) => "update",
            (Some(_), None) => "remove",
        };
        let _ = writeln!(out, "would {verb}: {}", ggen_dir::ENVELOPE);
    }
    out
}

/// A unified diff of two versions of `path` (or a note when either is not text).
pub fn unified_diff(path: &str, old: &[u8], new: &[u8]) -> String {
    match (std::str::from_utf8(old), std::str::from_utf8(new)) {
        (Ok(old), Ok(new)) => TextDiff::from_lines(old, new)
            .unified_diff()
            .context_radius(3)
            .header(&format!("a/{path}"), &format!("b/{path}"))
            .to_string(),
        _ => format!("Binary files a/{path} and b/{path} differ\n"),
    }
}

/// The signature file of the receipt at `receipt`: `NAME.json` →
/// `NAME.dsse.json` (`.ggen/receipt.dsse.json` for the project's own).
pub fn envelope_path(receipt: &Path) -> std::path::PathBuf {
    let name = receipt
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let stem = name.strip_suffix(".json").unwrap_or(&name);
    receipt.with_file_name(format!("{stem}.dsse.json"))
}

/// Why the envelope at `envelope` is not `key`'s signature of the receipt
/// at `receipt` (empty when it is).
pub fn verify_signature(receipt: &Path, envelope: &Path, key: &PublicKey) -> Result<Vec<Failure>> {
    let read = |path: &Path| match std::fs::read(path) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::io(ErrorKind::Write, path, "read it", &e)),
    };
    let Some(bytes) = read(envelope)? else {
        return Ok(vec![Failure::NoEnvelope]);
    };
    let receipt = read(receipt)?.unwrap_or_default();
    Ok(match Envelope::parse(&bytes) {
        Ok(parsed) => parsed.failures(key, &receipt),
        Err(why) => vec![Failure::Malformed(why)],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_receipt_s_envelope_is_beside_it() {
        let of = |p: &str| envelope_path(Path::new(p)).to_string_lossy().into_owned();
        assert_eq!(of(".ggen/receipt.json"), ".ggen/receipt.dsse.json");
        assert_eq!(of("/tmp/a/build.json"), "/tmp/a/build.dsse.json");
        assert_eq!(of("receipt"), "receipt.dsse.json");
    }
}
