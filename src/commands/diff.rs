//! `ggen diff`: the report of [`crate::diff`], printed; exit 1 when a
//! change breaks callers of the generated code, unless allowed.

use std::io::Write;

use super::report::Report;
use super::{DiffOptions, Format, Verbosity};
use crate::diff;

/// Runs a diff; returns its exit code.
pub fn diff(options: &DiffOptions, out: &mut dyn Write, err: &mut dyn Write) -> u8 {
    let mut report = Report::new(options.format, Verbosity::Normal, out, err);
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
    };
    let _ = report.out.write_all(text.as_bytes());
    code
}
