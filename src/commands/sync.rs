//! `ggen sync`: plan, then write, check or list, and report.

use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::json;

use super::guard;
use super::report::{Report, timings_ms};
use super::{Mode, SyncOptions};
use crate::error::{Error, ErrorKind, Location, Result, display_path};
use crate::ggen_dir;
use crate::inputs::sha256_hex;
use crate::keys::SigningKey;
use crate::manifest::Manifest;
use crate::plan::{self, Action, Options, Plan, Stage};
use crate::targets;
use crate::write::{self, Access};

/// Runs a sync; returns its exit code.
pub fn sync(options: &SyncOptions, out: &mut dyn Write, err: &mut dyn Write) -> u8 {
    let mut report = Report::new(options.format, options.verbosity, out, err)
        .with_workspace(options.workspace.as_deref());
    let mode = options.mode;
    if options.format != super::Format::Text {
        // A limit past which the watchdog ends the process: in this format.
        let (format, verbosity) = (options.format, options.verbosity);
        let workspace = options.workspace.clone();
        crate::watchdog::report_with(Box::new(move |e, out, err| {
            Report::new(format, verbosity, out, err)
                .with_workspace(workspace.as_deref())
                .sync_failed(mode, e, None);
        }));
    }
    // Held until the sync returns, planning included.
    let access = match mode.writes() {
        true => Access::Exclusive,
        false => Access::Shared,
    };
    let _guard = match guard::lock(&options.manifest, access, options.wait, report.err) {
        Ok(guard) => guard,
        Err(e) => return report.sync_failed(mode, &e, None),
    };
    let (manifest, overrides) = match targets::load(&options.manifest) {
        Ok(project) => (project.manifest, project.overrides),
        Err(e) => return report.sync_failed(mode, &e, None),
    };
    let sign = match signing_key(options.sign.as_deref(), &manifest) {
        Ok(key) => key.map(Arc::new),
        Err(e) => return report.sync_failed(mode, &e, None),
    };
    let plan_options = Options {
        rules: options.rules.clone(),
        force: options.force,
        sign,
    };

    if mode == Mode::ValidateOnly {
        let result = plan::validate(&manifest, &plan_options, &mut |s| report.stage_done(s));
        return match result {
            Ok(stats) => {
                report.validated(&stats);
                0
            }
            Err(e) => {
                if e.kind != ErrorKind::Usage {
                    report.stage_failed();
                }
                report.sync_failed(mode, &e, None)
            }
        };
    }

    // A sync that would change nothing is proved from the receipt.
    let plan = match plan::fresh(&manifest, &plan_options) {
        Ok(Some(plan)) => {
            for stage in &Stage::ALL[..4] {
                report.stage_done_with(*stage, "(unchanged)");
            }
            plan
        }
        Ok(None) => match plan::plan(&manifest, &plan_options, &mut |s| report.stage_done(s)) {
            Ok(plan) => plan,
            Err(e) => {
                if e.kind != ErrorKind::Usage {
                    report.stage_failed();
                }
                return report.sync_failed(mode, &e, None);
            }
        },
        Err(e) => return report.sync_failed(mode, &e, None),
    };
    if mode.writes()
        && let Err(e) = write::apply(&manifest, &plan, options.force)
    {
        report.stage_failed();
        return report.sync_failed(mode, &e, Some(&plan));
    }
    // Only a sync of every rule makes a receipt whose outputs all follow
    // from its inputs.
    if mode.writes() && !plan.from_receipt && options.rules.is_empty() {
        plan::record(&manifest, &plan);
    }
    if mode.writes() {
        report.stage_done(Stage::Receipt);
    } else {
        // The receipt is made (--check compares it) but, like every
        // output, not written.
        report.stage_done_with(Stage::Receipt, &format!("(not written: --{})", mode.name()));
    }

    let drift = mode == Mode::Check && plan.changes_anything();
    // The outputs and the receipt are written: a trail that cannot take
    // its line does not undo the sync, it is only said.
    if mode.writes()
        && options.audit
        && let Err(e) = append_audit(&manifest, &plan)
    {
        let why: Vec<&str> = e.diagnostics.iter().map(|d| d.message.as_str()).collect();
        report.warning(&format!(
            "the sync is complete, but {} has no line for it: {}",
            manifest.shown(ggen_dir::AUDIT),
            why.join("; ")
        ));
    }
    let code = u8::from(drift);
    report.plan(&manifest, mode, &plan, code);
    report.overrides(&overrides);
    code
}

/// The key that signs the receipt: `--sign`'s (unusable: a usage error),
/// else the manifest's `[receipt] sign_key` (unusable: a manifest error,
/// located at the setting).
fn signing_key(flag: Option<&Path>, manifest: &Manifest) -> Result<Option<SigningKey>> {
    if let Some(path) = flag {
        let shown = display_path(path);
        return SigningKey::read(path).map(Some).map_err(|e| {
            Error::at(
                ErrorKind::Usage,
                Location::file(&shown),
                format!("signing key {shown}: {}", e.message),
            )
            .with_help(e.help)
        });
    }
    let Some(file) = &manifest.sign_key else {
        return Ok(None);
    };
    SigningKey::read(&manifest.resolve(&file.path))
        .map(Some)
        .map_err(|e| {
            Error::at(
                ErrorKind::Manifest,
                manifest.location(&file.span),
                format!("signing key {}: {}", manifest.shown(&file.path), e.message),
            )
            .with_help(e.help)
        })
}

/// Appends one line to `.ggen/audit.jsonl`.
fn append_audit(manifest: &Manifest, plan: &Plan) -> Result<()> {
    let count = |a: Action| plan.with_action(a).count();
    let unix_time = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default();
    let line = json!({
        "unix_time": unix_time,
        "ggen": crate::receipt::GGEN_VERSION,
        "manifest": manifest.file_name(),
        "timings_ms": timings_ms(&plan.stats),
        "counts": {
            "quads": plan.stats.quads,
            "rows": plan.stats.rows,
            "created": count(Action::Created),
            "updated": count(Action::Updated),
            "unchanged": count(Action::Unchanged),
            "removed": count(Action::Removed),
            "kept": count(Action::Kept),
        },
        "graph_sha256": plan.stats.graph_digest,
        "from_receipt": plan.from_receipt,
        "receipt_sha256": sha256_hex(&plan.receipt),
    });
    let path = manifest.resolve(ggen_dir::AUDIT);
    let dir = manifest.resolve(ggen_dir::DIR);
    std::fs::create_dir_all(&dir)
        .map_err(|e| Error::io(ErrorKind::Write, &dir, "create the folder", &e))?;
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .map_err(|e| Error::io(ErrorKind::Write, &path, "open the audit log", &e))?;
    file.write_all(format!("{line}\n").as_bytes())
        .map_err(|e| Error::io(ErrorKind::Write, &path, "append to the audit log", &e))
}
