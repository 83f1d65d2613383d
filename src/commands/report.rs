//! What a command prints: stage lines as stages finish, then the plan (or
//! the error) as text for people, as one JSON document, or in a CI format
//! (GitHub annotations, SARIF; see [`ci`]).

use std::io::Write;

use serde_json::json;

use super::ci::{self, Outcome, Paths};
use super::{Format, Mode, Verbosity};
use crate::check;
use crate::error::Error;
use crate::ggen_dir;
use crate::inputs::sha256_hex;
use crate::manifest::Manifest;
use crate::plan::{Action, Plan, Stage, Stats};

/// Where and how a command reports.
pub struct Report<'a> {
    /// Text or JSON.
    pub format: Format,
    /// How much text.
    pub verbosity: Verbosity,
    /// Stage lines, summaries and JSON.
    pub out: &'a mut dyn Write,
    /// Errors, in text format.
    pub err: &'a mut dyn Write,
    done: Vec<Stage>,
    paths: Paths,
}

impl<'a> Report<'a> {
    /// A report to `out` and `err`.
    pub fn new(
        format: Format,
        verbosity: Verbosity,
        out: &'a mut dyn Write,
        err: &'a mut dyn Write,
    ) -> Self {
        Report {
            format,
            verbosity,
            out,
            err,
            done: Vec::new(),
            paths: Paths::default(),
        }
    }

    /// GitHub and SARIF paths relative to `workspace` instead of the current folder.
    pub fn with_workspace(mut self, workspace: Option<&std::path::Path>) -> Self {
        self.paths = Paths::new(workspace);
        self
    }

    /// A command's outcome in the CI format of this report.
    pub fn ci(&mut self, outcome: &Outcome) {
        ci::print(self.out, self.format, outcome, &self.paths);
    }

    fn text(&self) -> bool {
        self.format == Format::Text && self.verbosity != Verbosity::Quiet
    }

    /// A stage has finished: its line, with a check mark.
    pub fn stage_done(&mut self, stage: Stage) {
        self.stage_line(stage, "");
    }

    /// A stage has finished: its line, with a check mark and a note.
    pub fn stage_done_with(&mut self, stage: Stage, note: &str) {
        self.stage_line(stage, &format!(" {note}"));
    }

    fn stage_line(&mut self, stage: Stage, note: &str) {
        self.done.push(stage);
        if self.text() {
            let _ = writeln!(self.out, "{} ✓{note}", stage.label());
            let _ = self.out.flush();
        }
    }

    /// The stage after the last finished one failed: its line, with a cross.
    pub fn stage_failed(&mut self) {
        let next = Stage::ALL.iter().find(|s| !self.done.contains(s));
        if let (true, Some(stage)) = (self.text(), next) {
            let _ = writeln!(self.out, "{} ✗", stage.label());
        }
    }

    /// A failed sync: the error, and the exit code.
    pub fn sync_failed(&mut self, mode: Mode, e: &Error, plan: Option<&Plan>) -> u8 {
        let code = e.exit_code();
        match self.format {
            Format::Text => {
                let _ = self.out.flush();
                let _ = write!(self.err, "{}", e.render_text());
            }
            Format::Json => {
                let doc = match plan {
                    Some(plan) if !plan.receipt.is_empty() => {
                        plan_json(mode, plan, code, &e.to_json())
                    }
                    _ => json!({
                        "command": "sync", "mode": mode.name(), "status": "error", "exit_code": code,
                        "files": [], "errors": e.to_json(),
                    }),
                };
                self.json(&doc);
            }
            Format::Github | Format::Sarif => self.ci(&Outcome::failed(mode.command(), e)),
        }
        code
    }

    /// `--validate-only` succeeded.
    pub fn validated(&mut self, stats: &Stats) {
        match self.format {
            Format::Text if self.verbosity != Verbosity::Quiet => {
                let files: usize = stats.files_per_rule.values().sum();
                let _ = writeln!(
                    self.out,
                    "\nValid: {} quads, {} rows, {files} {} rendered; nothing written.",
                    stats.quads,
                    stats.rows,
                    plural(files)
                );
            }
            Format::Text => {}
            Format::Json => {
                let doc = json!({
                    "command": "sync", "mode": Mode::ValidateOnly.name(), "status": "ok", "exit_code": 0,
                    "graph": { "sha256": stats.graph_digest, "quads": stats.quads },
                    "rows": stats.rows, "rules": stats.files_per_rule, "files": [], "errors": [],
                });
                self.json(&doc);
            }
            Format::Github | Format::Sarif => self.ci(&Outcome {
                command: Mode::ValidateOnly.command(),
                findings: Vec::new(),
                summary: (self.verbosity != Verbosity::Quiet).then(|| {
                    format!(
                        "Valid: {} quads, {} rows, every template parses.",
                        stats.quads, stats.rows
                    )
                }),
                exit_code: 0,
            }),
        }
    }

    /// A sync's plan, applied or not, with its exit code.
    pub fn plan(&mut self, manifest: &Manifest, mode: Mode, plan: &Plan, code: u8) {
        match self.format {
            Format::Github | Format::Sarif => {
                let shown = |p: &str| manifest.shown(p);
                let quiet = self.verbosity == Verbosity::Quiet;
                self.ci(&Outcome {
                    command: mode.command(),
                    findings: ci::plan_findings(plan, mode == Mode::Check, &shown),
                    summary: (!quiet).then(|| plan_summary(mode, plan)),
                    exit_code: code,
                });
            }
            Format::Json => {
                let doc = plan_json(mode, plan, code, &[]);
                self.json(&doc);
            }
            Format::Text if self.verbosity == Verbosity::Quiet => {}
            Format::Text => print_plan(self.out, mode, plan, self.verbosity == Verbosity::Verbose),
        }
    }

    /// In verbose text, which built-in files the project replaces.
    pub fn overrides(&mut self, overrides: &[crate::targets::Override]) {
        if self.format != Format::Text
            || self.verbosity != Verbosity::Verbose
            || overrides.is_empty()
        {
            return;
        }
        let _ = writeln!(self.out, "\nProject files replacing built-in ones:");
        for o in overrides {
            let _ = writeln!(self.out, "  {} replaces {}", o.path, o.replaces);
        }
    }

    /// Something that went wrong without failing the command: one line on
    /// stderr, in every format (stdout keeps its one document).
    pub fn warning(&mut self, message: &str) {
        let _ = self.out.flush();
        let _ = writeln!(self.err, "warning: {message}");
    }

    /// A command's error in text or JSON; returns its exit code.
    pub fn failed(&mut self, command: &str, e: &Error) -> u8 {
        let code = e.exit_code();
        match self.format {
            Format::Text => {
                let _ = write!(self.err, "{}", e.render_text());
            }
            Format::Json => self.json(&json!({
                "command": command, "status": "error", "exit_code": code, "errors": e.to_json(),
            })),
            Format::Github | Format::Sarif => self.ci(&Outcome::failed(command, e)),
        }
        code
    }

    /// One JSON document on stdout.
    pub fn json(&mut self, doc: &serde_json::Value) {
        let _ = writeln!(
            self.out,
            "{}",
            serde_json::to_string_pretty(doc).unwrap_or_default()
        );
    }
}

fn plan_json(mode: Mode, plan: &Plan, code: u8, errors: &[serde_json::Value]) -> serde_json::Value {
    let status = match (code, mode) {
        (0, _) => "ok",
        (1, Mode::Check) => "drift",
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
    let mut doc = json!({
        "command": "sync",
        "mode": mode.name(),
        "status": status,
        "exit_code": code,
        "files": files,
        "rules": plan.stats.files_per_rule,
        "graph": { "sha256": plan.stats.graph_digest, "quads": plan.stats.quads },
        "receipt": { "path": ggen_dir::RECEIPT, "sha256": sha256_hex(&plan.receipt), "action": receipt_action },
        "timings_ms": timings_ms(&plan.stats),
        "from_receipt": plan.from_receipt,
        "errors": errors,
    });
    if let Some(action) = envelope_action(plan) {
        doc["envelope"] =
            json!({ "path": ggen_dir::ENVELOPE, "action": action, "keyid": plan.keyid });
    }
    doc
}

/// What the sync does to the receipt's signature; `None` when there is
/// none before or after.
fn envelope_action(plan: &Plan) -> Option<Action> {
    match (&plan.old_envelope, &plan.envelope) {
        (None, None) => None,
        (None, Some(_)) => Some(Action::Created),
        (Some(_), None) => Some(Action::Removed),
        (Some(_), Some(_)) if plan.envelope_changed() => Some(Action::Updated),
        (Some(_), Some(_)) => Some(Action::Unchanged),
    }
}

/// The lines about the receipt's signature.
fn print_envelope(out: &mut dyn Write, mode: Mode, plan: &Plan, verbose: bool) {
    let would = !mode.writes();
    let keyid = plan.keyid.as_deref().unwrap_or_default();
    let (receipt, envelope) = (ggen_dir::RECEIPT, ggen_dir::ENVELOPE);
    let _ = match envelope_action(plan) {
        Some(Action::Created | Action::Updated) => writeln!(
            out,
            "\n{} {receipt} with key {keyid}: {envelope}",
            if would { "Would sign" } else { "Signed" }
        ),
        Some(Action::Removed) => writeln!(
            out,
            "\n{} {envelope}: it does not sign this receipt (`--sign KEY` signs it)",
            if would { "Would remove" } else { "Removed" }
        ),
        Some(_) if verbose => match &plan.keyid {
            Some(_) => writeln!(out, "\nSigned by key {keyid}, unchanged: {envelope}"),
            None => writeln!(out, "\nSignature unchanged: {envelope}"),
        },
        _ => Ok(()),
    };
}

pub(super) fn timings_ms(stats: &Stats) -> serde_json::Map<String, serde_json::Value> {
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

fn print_plan(out: &mut dyn Write, mode: Mode, plan: &Plan, verbose: bool) {
    let count = |a: Action| plan.with_action(a).count();
    let would = !mode.writes();
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
        if plan.from_receipt {
            let _ = writeln!(
                out,
                "Up to date, proved from the receipt: no input, target or ggen binary changed and every output matches it; no stage ran"
            );
        }
        for (stage, d) in &plan.stats.timings {
            let _ = writeln!(
                out,
                "  {:<13} {:>9.3} ms",
                stage.key(),
                d.as_secs_f64() * 1e3
            );
        }
    }
    if mode == Mode::Check {
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
    print_envelope(out, mode, plan, verbose);
    if mode == Mode::Check {
        if plan.changes_anything() {
            let _ = writeln!(out, "Out of date: run `ggen sync` and commit the result.");
        } else {
            let _ = writeln!(out, "Up to date.");
        }
    }
}

/// A plan in one line, for the CI formats.
fn plan_summary(mode: Mode, plan: &Plan) -> String {
    let count = |a: Action| plan.with_action(a).count();
    let (created, updated, removed) = (
        count(Action::Created),
        count(Action::Updated),
        count(Action::Removed),
    );
    let (unchanged, kept) = (count(Action::Unchanged), count(Action::Kept));
    let kept = match kept {
        0 => String::new(),
        n => format!(", {n} kept (edited by hand)"),
    };
    match mode {
        Mode::Check => format!("Up to date: {unchanged} unchanged{kept}."),
        Mode::DryRun => format!(
            "Would create {created}, update {updated}, remove {removed}; {unchanged} unchanged{kept}."
        ),
        _ => format!(
            "{created} created, {updated} updated, {removed} removed, {unchanged} unchanged{kept}."
        ),
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "file" } else { "files" }
}
