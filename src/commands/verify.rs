//! `ggen verify`: the receipt against the disk, without rendering.

use std::io::Write;

use serde_json::json;

use super::ci::{self, Outcome};
use super::report::Report;
use super::{Format, Verbosity, VerifyOptions};
use crate::check;
use crate::ggen_dir;

/// `ggen verify`.
pub fn verify(args: &VerifyOptions, out: &mut dyn Write, err: &mut dyn Write) -> u8 {
    let mut report = Report::new(args.format, Verbosity::Normal, out, err)
        .with_workspace(args.workspace.as_deref());
    let root = match args.manifest.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => std::path::PathBuf::from("."),
    };
    let receipt = args
        .receipt
        .clone()
        .unwrap_or_else(|| root.join(ggen_dir::RECEIPT));
    match check::verify(&root, &receipt) {
        Ok(v) => {
            let code = u8::from(!v.mismatches.is_empty());
            let shown_receipt = crate::error::display_path(&receipt);
            match args.format {
                Format::Github | Format::Sarif => {
                    let shown = |p: &str| crate::error::display_path(&root.join(p));
                    report.ci(&Outcome {
                        command: "verify".into(),
                        findings: ci::mismatch_findings(&v.mismatches, &shown_receipt, &shown),
                        summary: Some(format!(
                            "Verified {} outputs and {} inputs against {shown_receipt}.",
                            v.outputs, v.inputs
                        )),
                        exit_code: code,
                    });
                }
                Format::Json => report.json(&json!({
                    "command": "verify",
                    "status": if code == 0 { "ok" } else { "drift" },
                    "exit_code": code,
                    "outputs": v.outputs,
                    "inputs": v.inputs,
                    "mismatches": v.mismatches,
                })),
                Format::Text => {
                    for m in &v.mismatches {
                        let _ = writeln!(report.out, "{m}");
                    }
                    if code == 0 {
                        let _ = writeln!(
                            report.out,
                            "Verified {} outputs and {} inputs against {}.",
                            v.outputs,
                            v.inputs,
                            crate::error::display_path(&receipt)
                        );
                    } else {
                        let _ = writeln!(
                            report.out,
                            "{} of {} files differ from {}.",
                            v.mismatches.len(),
                            v.outputs + v.inputs,
                            crate::error::display_path(&receipt)
                        );
                    }
                }
            }
            code
        }
        Err(e) => report.failed("verify", &e),
    }
}
