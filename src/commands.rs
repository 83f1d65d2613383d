//! The commands: a few lines each on top of the plan, the writer and the
//! checks. They print to the writers they are given and return the exit code.

use std::io::Write;
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::json;

use crate::check;
use crate::cli::{Format, InitArgs, SyncArgs, VerifyArgs};
use crate::error::{Error, ErrorKind, Result};
use crate::ggen_dir;
use crate::init;
use crate::inputs::sha256_hex;
use crate::manifest::{self, Manifest};
use crate::plan::{self, Action, Options, Plan, Stage, Stats};
use crate::write;

/// Prints stage lines as stages finish, and the failing one.
struct Stages<'a> {
    out: &'a mut dyn Write,
    show: bool,
    verbose: bool,
    done: Vec<Stage>,
}

impl Stages<'_> {
    fn done(&mut self, stage: Stage) {
        self.done.push(stage);
        if self.show {
            let _ = writeln!(self.out, "{} ✓", stage.label());
            let _ = self.out.flush();
        }
    }

    /// Marks the stage after the last finished one as failed.
    fn fail(&mut self) {
        let next = Stage::ALL.iter().find(|s| !self.done.contains(s));
        if let (true, Some(stage)) = (self.show, next) {
            let _ = writeln!(self.out, "{} ✗", stage.label());
        }
    }
}

/// `ggen sync`.
pub fn sync(args: &SyncArgs, out: &mut dyn Write, err: &mut dyn Write) -> u8 {
    let text = args.format == Format::Text;
    let mode = if args.validate_only {
        "validate-only"
    } else if args.check {
        "check"
    } else if args.dry_run {
        "dry-run"
    } else {
        "write"
    };
    let manifest = match manifest::load(&args.manifest) {
        Ok(m) => m,
        Err(e) => return failed(args.format, mode, &e, None, out, err),
    };
    let options = Options {
        rules: args.rules.clone(),
        force: args.force,
    };
    let mut stages = Stages {
        out,
        show: text && !args.quiet,
        verbose: args.verbose,
        done: Vec::new(),
    };

    if args.validate_only {
        let result = plan::validate(&manifest, &options, &mut |s| stages.done(s));
        if result.as_ref().is_err_and(|e| e.kind != ErrorKind::Usage) {
            stages.fail();
        }
        let out = stages.out;
        return match result {
            Ok(stats) => {
                if text && !args.quiet {
                    let _ = writeln!(
                        out,
                        "\nValid: {} quads, {} rows, every template parses.",
                        stats.quads, stats.rows
                    );
                } else if !text {
                    let doc = json!({
                        "command": "sync", "mode": mode, "status": "ok", "exit_code": 0,
                        "graph": { "sha256": stats.graph_digest, "quads": stats.quads },
                        "rows": stats.rows, "files": [], "errors": [],
                    });
                    print_json(out, &doc);
                }
                0
            }
            Err(e) => failed(args.format, mode, &e, None, out, err),
        };
    }

    let planned = plan::plan(&manifest, &options, &mut |s| stages.done(s));
    let plan = match planned {
        Ok(plan) => plan,
        Err(e) => {
            if e.kind != ErrorKind::Usage {
                stages.fail();
            }
            return failed(args.format, mode, &e, None, stages.out, err);
        }
    };
    if mode == "write"
        && let Err(e) = write::apply(&manifest, &plan, args.force)
    {
        stages.fail();
        return failed(args.format, mode, &e, Some(&plan), stages.out, err);
    }
    stages.done(Stage::Receipt);
    let verbose = stages.verbose;
    let out = stages.out;

    let drift = mode == "check" && plan.changes_anything();
    if mode == "write"
        && args.audit.unwrap_or(false)
        && let Err(e) = append_audit(&manifest, &plan)
    {
        return failed(args.format, mode, &e, Some(&plan), out, err);
    }
    let code = u8::from(drift);
    match args.format {
        Format::Json => print_json(out, &plan_json(mode, &plan, code, &[])),
        Format::Text if args.quiet => {}
        Format::Text => print_plan(out, mode, &plan, verbose),
    }
    code
}

fn failed(
    format: Format,
    mode: &str,
    e: &Error,
    plan: Option<&Plan>,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> u8 {
    let code = e.exit_code();
    match format {
        Format::Text => {
            let _ = out.flush();
            let _ = write!(err, "{}", e.render_text());
        }
        Format::Json => {
            let doc = match plan {
                Some(plan) if !plan.receipt.is_empty() => plan_json(mode, plan, code, &e.to_json()),
                _ => json!({
                    "command": "sync", "mode": mode, "status": "error", "exit_code": code,
                    "files": [], "errors": e.to_json(),
                }),
            };
            print_json(out, &doc);
        }
    }
    code
}

fn print_json(out: &mut dyn Write, doc: &serde_json::Value) {
    let _ = writeln!(
        out,
        "{}",
        serde_json::to_string_pretty(doc).unwrap_or_default()
    );
}

fn plan_json(mode: &str, plan: &Plan, code: u8, errors: &[serde_json::Value]) -> serde_json::Value {
    let status = match (code, mode) {
        (0, _) => "ok",
        (1, "check") => "drift",
        _ => "error",
    };
    let files: Vec<_> = plan
        .files
        .iter()
        .map(|f| json!({ "path": f.path, "action": f.action, "rule": f.rule }))
        .collect();
    let receipt_action = match (&plan.old_receipt, plan.receipt_changed()) {
        (None, _) => "created",
        (Some(_), true) => "updated",
        (Some(_), false) => "unchanged",
    };
    json!({
        "command": "sync",
        "mode": mode,
        "status": status,
        "exit_code": code,
        "files": files,
        "rules": plan.stats.files_per_rule,
        "graph": { "sha256": plan.stats.graph_digest, "quads": plan.stats.quads },
        "receipt": { "path": ggen_dir::RECEIPT, "sha256": sha256_hex(&plan.receipt), "action": receipt_action },
        "timings_ms": timings_ms(&plan.stats),
        "errors": errors,
    })
}

fn timings_ms(stats: &Stats) -> serde_json::Map<String, serde_json::Value> {
    stats
        .timings
        .iter()
        .map(|(s, d)| {
            (
                s.key().to_string(),
                json!((d.as_secs_f64() * 1e6).round() / 1e3),
            )
        })
        .collect()
}

fn print_plan(out: &mut dyn Write, mode: &str, plan: &Plan, verbose: bool) {
    let count = |a: Action| plan.with_action(a).count();
    let would = mode != "write";
    let groups = [
        (
            Action::Created,
            if would { "Would create" } else { "Generated" },
            if would { "" } else { " new" },
        ),
        (
            Action::Updated,
            if would { "Would update" } else { "Updated" },
            "",
        ),
        (
            Action::Removed,
            if would { "Would remove" } else { "Removed" },
            "",
        ),
    ];
    if verbose {
        let _ = writeln!(
            out,
            "\n{} quads (graph sha256 {}), {} rows",
            plan.stats.quads, plan.stats.graph_digest, plan.stats.rows
        );
        for (stage, d) in &plan.stats.timings {
            let _ = writeln!(
                out,
                "  {:<13} {:>9.3} ms",
                stage.key(),
                d.as_secs_f64() * 1e3
            );
        }
    }
    if mode == "check" {
        let report = check::drift_report(plan);
        if !report.is_empty() {
            let _ = write!(out, "\n{report}");
        }
    }
    for (action, verb, new) in groups {
        let n = count(action);
        if n == 0 {
            continue;
        }
        let _ = writeln!(out, "\n{verb} {n}{new} {}:", plural(n));
        for f in plan.with_action(action) {
            let note = match (f.hand_edited && action == Action::Updated, would) {
                (false, _) => "",
                (true, false) => "  (edited by hand; overwritten because of --force)",
                (true, true) => "  (edited by hand: sync refuses without --force)",
            };
            let _ = writeln!(out, "  {}{note}", f.path);
        }
    }
    let kept = count(Action::Kept);
    if kept > 0 {
        let _ = writeln!(
            out,
            "\nKept {kept} {} edited by hand and no longer generated (--force removes {}):",
            plural(kept),
            if kept == 1 { "it" } else { "them" }
        );
        for f in plan.with_action(Action::Kept) {
            let _ = writeln!(out, "  {}", f.path);
        }
    }
    let unchanged = count(Action::Unchanged);
    if verbose && unchanged > 0 {
        let _ = writeln!(out, "\nUnchanged:");
        for f in plan.with_action(Action::Unchanged) {
            let _ = writeln!(out, "  {}", f.path);
        }
    }
    if unchanged > 0 {
        let _ = writeln!(out, "\n{unchanged} unchanged");
    } else if plan.files.is_empty() {
        let _ = writeln!(out, "\nNo generation rule produced a file.");
    }
    if mode == "check" {
        if plan.changes_anything() {
            let _ = writeln!(out, "Out of date: run `ggen sync` and commit the result.");
        } else {
            let _ = writeln!(out, "Up to date.");
        }
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "file" } else { "files" }
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

/// `ggen verify`.
pub fn verify(args: &VerifyArgs, out: &mut dyn Write, err: &mut dyn Write) -> u8 {
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
            match args.format {
                Format::Json => print_json(
                    out,
                    &json!({
                        "command": "verify",
                        "status": if code == 0 { "ok" } else { "drift" },
                        "exit_code": code,
                        "outputs": v.outputs,
                        "inputs": v.inputs,
                        "mismatches": v.mismatches,
                    }),
                ),
                Format::Text => {
                    for m in &v.mismatches {
                        let _ = writeln!(out, "{m}");
                    }
                    if code == 0 {
                        let _ = writeln!(
                            out,
                            "Verified {} outputs and {} inputs against {}.",
                            v.outputs,
                            v.inputs,
                            crate::error::display_path(&receipt)
                        );
                    } else {
                        let _ = writeln!(
                            out,
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
        Err(e) => match args.format {
            Format::Text => {
                let _ = write!(err, "{}", e.render_text());
                e.exit_code()
            }
            Format::Json => {
                print_json(
                    out,
                    &json!({ "command": "verify", "status": "error", "exit_code": e.exit_code(), "errors": e.to_json() }),
                );
                e.exit_code()
            }
        },
    }
}

/// `ggen init`.
pub fn init(args: &InitArgs, out: &mut dyn Write, err: &mut dyn Write) -> u8 {
    match init::init(&args.dir, args.lang, args.name.as_deref()) {
        Ok(created) => {
            let shown = crate::error::display_path(&args.dir);
            let _ = writeln!(out, "Created ggen project `{}` in {}:", created.name, shown);
            for f in &created.files {
                let _ = writeln!(out, "  {f}");
            }
            let cd = if shown == "." {
                String::new()
            } else {
                format!("cd {shown} && ")
            };
            let _ = writeln!(out, "\nNext: {cd}ggen sync");
            0
        }
        Err(e) => {
            let _ = write!(err, "{}", e.render_text());
            e.exit_code()
        }
    }
}
