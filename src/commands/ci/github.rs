//! `--format github`: one workflow command per finding on stdout
//! (`::error file=…,line=…,col=…,endColumn=…,title=…::message`), which a
//! GitHub Actions runner turns into an annotation on the file; a run that
//! found no error prints one `::notice` with its summary (none with `-q`).
//!
//! Escaping is the runner's (`ActionCommand` in actions/runner, and
//! `escapeData`/`escapeProperty` in actions/toolkit): `%`, CR and LF in the
//! message; also `:` and `,` in property values. `%` goes first, so the
//! runner's unescaping, which does `%25` last, gives the text back.

use std::fmt::Write as _;

use super::{Finding, Level, Outcome, Paths};

/// The workflow commands for `outcome`, one per line.
pub fn render(outcome: &Outcome, paths: &Paths) -> String {
    let mut out = String::new();
    for finding in &outcome.findings {
        command(&mut out, finding, paths);
    }
    let failed = outcome.findings.iter().any(|f| f.level == Level::Error);
    if !failed && let Some(summary) = &outcome.summary {
        let title = format!("ggen {}", outcome.command);
        let _ = writeln!(
            out,
            "::notice title={}::{}",
            property(&title),
            data(summary)
        );
    }
    out
}

fn command(out: &mut String, finding: &Finding, paths: &Paths) {
    let name = match finding.level {
        Level::Error => "error",
        Level::Warning => "warning",
    };
    let mut properties = Vec::new();
    let mut message = finding.message.clone();
    if let Some(loc) = &finding.location {
        match paths.relative(&loc.file) {
            Some(file) => {
                properties.push(format!("file={}", property(&file)));
                if let Some(line) = loc.line {
                    properties.push(format!("line={line}"));
                    if let Some(column) = loc.column {
                        properties.push(format!("col={column}"));
                        // The column after the last one underlined, as in SARIF.
                        properties.push(format!("endColumn={}", column + loc.width.max(1)));
                    }
                }
            }
            // A built-in file of ggen is no file of the repository: say where in the text.
            None => {
                let _ = write!(message, "\n  --> {loc}");
            }
        }
    }
    properties.push(format!(
        "title={}",
        property(&format!("ggen {}", finding.check.id()))
    ));
    let _ = writeln!(out, "::{name} {}::{}", properties.join(","), data(&message));
}

/// A message: `%`, CR and LF escaped.
fn data(text: &str) -> String {
    text.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// A property value: as a message, and `:` and `,` escaped.
fn property(text: &str) -> String {
    data(text).replace(':', "%3A").replace(',', "%2C")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The runner's unescaping (actions/runner `ActionCommand`), `%25` last.
    fn unescape(text: &str, property: bool) -> String {
        let mut text = text.replace("%0D", "\r").replace("%0A", "\n");
        if property {
            text = text.replace("%3A", ":").replace("%2C", ",");
        }
        text.replace("%25", "%")
    }

    #[test]
    fn escapes_what_the_runner_unescapes() {
        let nasty = "50% done,\r\n a: b %0A %3A";
        assert_eq!(data(nasty), "50%25 done,%0D%0A a: b %250A %253A");
        assert_eq!(property(nasty), "50%25 done%2C%0D%0A a%3A b %250A %253A");
        assert_eq!(unescape(&data(nasty), false), nasty);
        assert_eq!(unescape(&property(nasty), true), nasty);
        assert!(!property(nasty).contains([',', ':', '\n', '\r']));
    }
}
