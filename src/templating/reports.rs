//! Tera errors that carry no report ggen can read directly: include and
//! extend cycles, a missing parent, and the reports tera renders to text
//! itself (an include of a template it does not have), read back into
//! diagnostics.

use std::collections::HashMap;

use crate::error::{Diagnostic, Error, ErrorKind, Location};
use crate::inputs::Text;

/// How a template names another, for errors about a name that is none.
pub(super) const NAMED_BY_PATH: &str = "name a template by its path from the manifest's folder, like `{% include \"t/partials/header.tera\" %}` for a *.tera file under templates_dir";

/// The location of template `name` as a whole.
pub(super) fn whole(texts: &HashMap<String, Text>, name: &str) -> Location {
    texts
        .get(name)
        .map_or_else(|| Location::file(name), Text::whole)
}

/// A template that includes or extends itself, through `chain`.
pub(super) fn cycle(
    texts: &HashMap<String, Text>,
    prefix: &str,
    tpl: &str,
    chain: &[String],
    verb: &str,
) -> Error {
    let through = if chain.len() > 2 {
        format!(" through {}", chain.join(" → "))
    } else {
        String::new()
    };
    Error::at(
        ErrorKind::Template,
        whole(texts, tpl),
        format!("{prefix}: `{tpl}` {verb} itself{through}"),
    )
    .with_help(format!(
        "a template cannot {} a template that {verb} it: move what they share into a third one",
        verb.trim_end_matches('s')
    ))
}

/// Tera reports some errors (an include of a template it does not have)
/// only as text it rendered itself, `error: MESSAGE` then ` --> NAME:LINE:COL`
/// and the line with carets, several joined by blank lines: each is read
/// back into a diagnostic at the same place, rendered like every other.
pub(super) fn read_reports(texts: &HashMap<String, Text>, prefix: &str, rendered: &str) -> Error {
    struct Report<'r> {
        message: &'r str,
        at: Option<(&'r str, usize, usize)>,
        width: usize,
    }
    let mut reports: Vec<Report<'_>> = Vec::new();
    for line in rendered.lines() {
        if let Some(message) = line.strip_prefix("error: ") {
            reports.push(Report {
                message,
                at: None,
                width: 1,
            });
            continue;
        }
        let Some(report) = reports.last_mut() else {
            continue;
        };
        let trimmed = line.trim_start();
        if let Some(place) = trimmed.strip_prefix("--> ") {
            let mut parts = place.rsplitn(3, ':');
            let (column, line, name) = (parts.next(), parts.next(), parts.next());
            if let (Some(Ok(column)), Some(Ok(line)), Some(name)) =
                (column.map(str::parse), line.map(str::parse), name)
            {
                report.at = Some((name, line, column));
            }
        } else if trimmed.starts_with('|') && trimmed.contains('^') {
            report.width = trimmed.matches('^').count().max(1);
        }
    }
    let diagnostics = reports
        .into_iter()
        .map(|report| {
            let message = match report.message.strip_prefix("Unknown template ") {
                Some(name) => format!("{prefix}: no template is named {name}"),
                None => format!("{prefix}: {}", report.message),
            };
            let mut diagnostic = match report.at {
                Some((name, line, column)) => match texts.get(name) {
                    Some(text) => {
                        let mut e = text.error_at(ErrorKind::Template, line, column, message);
                        let mut d = e.diagnostics.remove(0);
                        if !text.is_inline() {
                            d.location = d.location.map(|l| l.with_width(report.width.min(60)));
                        }
                        d
                    }
                    None => Error::at(ErrorKind::Template, Location::file(name), message)
                        .diagnostics
                        .remove(0),
                },
                None => Diagnostic::new(message),
            };
            if report.message.starts_with("Unknown template") {
                diagnostic.help = Some(NAMED_BY_PATH.into());
            }
            diagnostic
        })
        .collect::<Vec<_>>();
    if diagnostics.is_empty() {
        return Error::new(ErrorKind::Template, format!("{prefix}: {rendered}"));
    }
    Error::many(ErrorKind::Template, diagnostics)
}
