//! `ggen diff`: the report of [`crate::diff`], printed; exit 1 when a
//! change breaks callers of the generated code, unless allowed.

use std::io::Write;

use super::ci::{Finding, Level, Outcome};
use super::report::Report;
use super::{DiffOptions, Format, Verbosity};
use crate::diff;
use crate::error::Check;

/// Runs a diff; returns its exit code.
pub fn diff(options: &DiffOptions, out: &mut dyn Write, err: &mut dyn Write) -> u8 {
    let mut report = Report::new(options.format, Verbosity::Normal, out, err)
        .with_workspace(options.workspace.as_deref());
    let found = diff::diff(&diff::Options {
        manifest: options.manifest.clone(),
        against: options.against.clone(),
    });
    let found = match found {
        Ok(found) => found,
        Err(e) => return report.failed("diff", &e),
    };
    let code = u8::from(found.breaking() > 0 && !options.allow_breaking);
    let text = match options.format {
        Format::Text => diff::text::render(&found, options.allow_breaking),
        Format::Json => diff::json::render(&found, options.allow_breaking, code) + "\n",
        Format::Github | Format::Sarif => {
            report.ci(&outcome(&found, options.allow_breaking, code));
            return code;
        }
    };
    let _ = report.out.write_all(text.as_bytes());
    code
}

/// The report for the CI formats: one finding per breaking change (an
/// error, or a warning when allowed), and the text's summary line. The
/// other changes are not problems, so they are only counted.
fn outcome(found: &diff::Report, allow_breaking: bool, exit_code: u8) -> Outcome {
    let level = match allow_breaking {
        true => Level::Warning,
        false => Level::Error,
    };
    let findings = found
        .changes
        .iter()
        .filter(|c| c.breaking)
        .map(|change| Finding {
            check: Check::DiffBreaking,
            level,
            message: format!(
                "{} against {}: {}",
                diff::text::describe(change),
                found.against,
                change
                    .reason
                    .as_deref()
                    .unwrap_or("callers of the generated code must change with it")
            ),
            location: None,
        })
        .collect();
    let plural = |n: usize| if n == 1 { "" } else { "s" };
    let (breaking, outputs) = (found.breaking(), found.outputs.len());
    let others = found.changes.len() - breaking;
    let breaking = match breaking {
        0 => "No breaking change".to_string(),
        n => format!("{n} breaking change{}, allowed,", plural(n)),
    };
    Outcome {
        command: "diff".into(),
        findings,
        summary: Some(format!(
            "{breaking} against {}: {others} other change{} to the specification; {outputs} output{} would change.",
            found.against,
            plural(others),
            plural(outputs),
        )),
        exit_code,
    }
}
