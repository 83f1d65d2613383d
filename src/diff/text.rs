//! A [`Report`] as text for people: the entity changes grouped by kind,
//! breaking ones marked with why, then the outputs that would change and a
//! summary line.

use std::fmt::Write as _;

use super::entities::plain;
use super::report::{Change, ChangeKind, Report, Shown};
use crate::sparql::Value;

/// The report as text; `allow_breaking` words the summary.
pub fn render(report: &Report, allow_breaking: bool) -> String {
    let mut out = String::new();
    if report.kinds.is_empty() {
        out.push_str(
            "No entity kinds are described (`[[entities]]`): only the outputs are compared.\n",
        );
    }
    for kind in &report.kinds {
        let changes: Vec<&Change> = report.changes.iter().filter(|c| &c.kind == kind).collect();
        if changes.is_empty() {
            continue;
        }
        let _ = writeln!(out, "{kind}");
        for change in changes {
            line(&mut out, change);
        }
    }
    let same: Vec<&str> = report
        .kinds
        .iter()
        .filter(|k| !report.changes.iter().any(|c| &c.kind == *k))
        .map(String::as_str)
        .collect();
    if !same.is_empty() {
        if !report.changes.is_empty() {
            out.push('\n');
        }
        let _ = writeln!(out, "Unchanged: {}.", same.join(", "));
    }

    let total = report.outputs.len() + report.unchanged_outputs;
    out.push('\n');
    if report.outputs.is_empty() {
        let _ = writeln!(out, "No output would change ({total} the same).");
    } else {
        let _ = writeln!(
            out,
            "Outputs that would change ({} of {total}):",
            report.outputs.len()
        );
        for output in &report.outputs {
            let _ = writeln!(out, "  {:<8} {}", output.change.name(), output.path);
        }
    }

    out.push('\n');
    let breaking = report.breaking();
    let _ = match (breaking, allow_breaking) {
        (0, _) => writeln!(out, "No breaking change."),
        (n, false) => writeln!(
            out,
            "{n} breaking change{}: callers of the generated code must change with {}. --allow-breaking accepts {}.",
            plural(n),
            if n == 1 { "it" } else { "them" },
            if n == 1 { "it" } else { "them" },
        ),
        (n, true) => writeln!(out, "{n} breaking change{}, allowed.", plural(n)),
    };
    out
}

/// One change in a line of its own: `pool email_pool renamed → mail_pool`.
pub fn describe(change: &Change) -> String {
    format!("{} {} {}", change.kind, change.change.name(), what(change))
}

/// One change: `  renamed  email_pool → mail_pool`, then why, indented.
fn line(out: &mut String, change: &Change) {
    let _ = writeln!(out, "  {:<8} {}", change.change.name(), what(change));
    match (&change.reason, change.breaking) {
        (Some(why), true) => {
            let _ = writeln!(out, "           breaking: {why}");
        }
        (Some(why), false) => {
            let _ = writeln!(out, "           not breaking: {why}");
        }
        (None, true) => {
            let _ = writeln!(out, "           breaking");
        }
        (None, false) => {}
    }
}

/// The change after its name: `email_pool → mail_pool`, `email_pool  size: 5 → 8`.
fn what(change: &Change) -> String {
    match change.change {
        ChangeKind::Renamed => format!("{} → {}", change.key, shown(change.after.as_ref(), true)),
        ChangeKind::Added => format!("{}  {}", change.key, shown(change.after.as_ref(), false)),
        ChangeKind::Removed => format!("{}  {}", change.key, shown(change.before.as_ref(), false)),
        ChangeKind::Changed => format!(
            "{}  {}: {} → {}",
            change.key,
            change.field.as_deref().unwrap_or_default(),
            shown(change.before.as_ref(), false),
            shown(change.after.as_ref(), false)
        ),
    }
}

/// A value as text: strings quoted (`bare`: not), an entity as
/// `(column value, …)`, nothing as `(none)`.
fn shown(value: Option<&Shown>, bare: bool) -> String {
    match value {
        None => "(none)".into(),
        Some(Shown::One(Value::Str(s))) if !bare => format!("{s:?}"),
        Some(Shown::One(v)) => plain(v),
        Some(Shown::Entity(fields)) => {
            let parts: Vec<String> = fields
                .0
                .iter()
                .map(|(c, v)| format!("{c} {}", shown(Some(&Shown::One(v.clone())), false)))
                .collect();
            format!("({})", parts.join(", "))
        }
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}
