//! `ggen verify`: the receipt against the disk, without rendering; with
//! `--key`, the receipt's signature too.

use std::io::Write;

use serde_json::json;

use super::ci::{self, Finding, Level, Outcome};
use super::report::Report;
use super::{Format, Verbosity, VerifyOptions};
use crate::check;
use crate::dsse::Failure;
use crate::error::{Check, Error, ErrorKind, Location, display_path};
use crate::ggen_dir;
use crate::keys::PublicKey;
use crate::targets;

/// `ggen verify`.
pub fn verify(args: &VerifyOptions, out: &mut dyn Write, err: &mut dyn Write) -> u8 {
    let mut report = Report::new(args.format, Verbosity::Normal, out, err)
        .with_workspace(args.workspace.as_deref());
    let manifest = match targets::load(&args.manifest) {
        Ok(project) => project.manifest,
        Err(e) => return report.failed("verify", &e),
    };
    let root = manifest.root.clone();
    let receipt = args
        .receipt
        .clone()
        .unwrap_or_else(|| root.join(ggen_dir::RECEIPT));
    let envelope = check::envelope_path(&receipt);
    let key = match args.key.as_deref().map(|path| {
        PublicKey::read(path).map_err(|e| {
            let shown = display_path(path);
            Error::at(
                ErrorKind::Usage,
                Location::file(&shown),
                format!("public key {shown}: {}", e.message),
            )
            .with_help(e.help)
        })
    }) {
        None => None,
        Some(Ok(key)) => Some(key),
        Some(Err(e)) => return report.failed("verify", &e),
    };
    let checked = check::verify(&manifest, &receipt).and_then(|v| {
        let failures = key
            .as_ref()
            .map(|key| check::verify_signature(&receipt, &envelope, key))
            .transpose()?;
        Ok((v, failures))
    });
    let (v, failures) = match checked {
        Ok(checked) => checked,
        Err(e) => return report.failed("verify", &e),
    };
    let signed = failures.as_ref().is_none_or(Vec::is_empty);
    let code = u8::from(!v.mismatches.is_empty() || !signed);
    let (receipt, envelope) = (display_path(&receipt), display_path(&envelope));
    match args.format {
        Format::Github | Format::Sarif => {
            let shown = |p: &str| display_path(&root.join(p));
            let mut findings =
                ci::mismatch_findings(&v.mismatches, &receipt, &manifest.shown_file(), &shown);
            if let Some(key) = &key {
                findings.extend(failures.iter().flatten().map(|f| {
                    let detail = f.detail(key).map(|d| format!(" ({d})")).unwrap_or_default();
                    Finding {
                        check: Check::VerifySignature,
                        level: Level::Error,
                        message: format!(
                            "{envelope}: {}{detail}: it is not a signature of {receipt} by key {}",
                            f.kind(),
                            key.keyid()
                        ),
                        location: Some(Location::file(&envelope)),
                    }
                }));
            }
            let signature = key
                .as_ref()
                .filter(|_| signed)
                .map(|key| format!(" Verified its signature by key {}.", key.keyid()))
                .unwrap_or_default();
            report.ci(&Outcome {
                command: "verify".into(),
                findings,
                summary: Some(format!(
                    "Verified {} outputs and {} inputs against {receipt}.{signature}",
                    v.outputs, v.inputs
                )),
                exit_code: code,
            });
        }
        Format::Json => {
            let mut doc = json!({
                "command": "verify",
                "status": if code == 0 { "ok" } else { "drift" },
                "exit_code": code,
                "outputs": v.outputs,
                "inputs": v.inputs,
                "mismatches": v.mismatches,
            });
            if let (Some(key), Some(failures)) = (&key, &failures) {
                let failures: Vec<_> = failures
                    .iter()
                    .map(|f| json!({ "kind": f.kind(), "detail": f.detail(key) }))
                    .collect();
                doc["signature"] = json!({
                    "envelope": envelope,
                    "keyid": key.keyid(),
                    "algorithm": key.algorithm().name(),
                    "verified": signed,
                    "failures": failures,
                });
            }
            report.json(&doc);
        }
        Format::Text => {
            let out = &mut report.out;
            for m in &v.mismatches {
                let _ = writeln!(out, "{m}");
            }
            for f in failures.iter().flatten() {
                let detail = key.as_ref().and_then(|k| f.detail(k));
                let detail = detail.map(|d| format!(" ({d})")).unwrap_or_default();
                let _ = writeln!(out, "{}: {envelope}{detail}", f.kind());
            }
            let _ = match v.mismatches.len() {
                0 => writeln!(
                    out,
                    "Verified {} outputs and {} inputs against {receipt}.",
                    v.outputs, v.inputs
                ),
                1 => writeln!(out, "1 problem: {receipt} does not verify."),
                n => writeln!(out, "{n} problems: {receipt} does not verify."),
            };
            if let Some(key) = &key {
                let _ = match failures.as_deref() {
                    Some([]) => writeln!(
                        out,
                        "Verified its signature by key {} ({}) in {envelope}.",
                        key.keyid(),
                        key.algorithm().name()
                    ),
                    Some([Failure::NoEnvelope]) => {
                        writeln!(out, "It is not signed: run `ggen sync --sign KEY`.")
                    }
                    _ => writeln!(
                        out,
                        "{envelope} is not a signature of {receipt} by key {}.",
                        key.keyid()
                    ),
                };
            }
        }
    }
    code
}
