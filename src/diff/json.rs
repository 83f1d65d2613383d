//! A [`Report`] as one JSON document, with the command's status and exit
//! code. Its keys are stable and documented in the README ("ggen diff").

use serde::Serialize;

use super::report::{Change, OutputChange, Report};

/// The document `ggen diff --format json` prints.
#[derive(Serialize)]
struct Document<'a> {
    command: &'static str,
    status: &'static str,
    exit_code: u8,
    against: &'a str,
    commit: Option<&'a str>,
    allow_breaking: bool,
    breaking: usize,
    kinds: &'a [String],
    changes: &'a [Change],
    outputs: &'a [OutputChange],
    unchanged_outputs: usize,
    errors: [(); 0],
}

/// The report as pretty-printed JSON, without the final newline.
pub fn render(report: &Report, allow_breaking: bool, exit_code: u8) -> String {
    let document = Document {
        command: "diff",
        status: if exit_code == 0 { "ok" } else { "breaking" },
        exit_code,
        against: &report.against,
        commit: report.commit.as_deref(),
        allow_breaking,
        breaking: report.breaking(),
        kinds: &report.kinds,
        changes: &report.changes,
        outputs: &report.outputs,
        unchanged_outputs: report.unchanged_outputs,
        errors: [],
    };
    serde_json::to_string_pretty(&document).unwrap_or_default()
}
