//! `--format sarif`: one SARIF 2.1.0 log with one run: the tool (ggen, its
//! version, one rule per check that found something), one result per
//! finding, and the invocation's exit code. Locations are relative to the
//! workspace, under the base id `%SRCROOT%` (GitHub code scanning's
//! convention); columns count Unicode code points, as ggen's do.
//!
//! Written with `serde_json` rather than a SARIF crate: the log is a dozen
//! fields, and a test checks every log the golden cases print with
//! Microsoft's SARIF validator.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use super::{Finding, Level, Outcome, Paths};
use crate::error::Check;

/// The SARIF version and the schema of its OASIS standard.
const VERSION: &str = "2.1.0";
const SCHEMA: &str =
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json";

/// Where to learn about ggen: the identity its receipts give their builder.
const INFORMATION_URI: &str = "https://ggen.dev";

/// The base id of every location's URI.
const SRCROOT: &str = "%SRCROOT%";

/// The log for `outcome`, pretty-printed, with a final newline.
pub fn render(outcome: &Outcome, paths: &Paths) -> String {
    let checks: Vec<Check> = outcome
        .findings
        .iter()
        .map(|f| f.check)
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let rules: Vec<Value> = checks.iter().map(|c| rule(*c)).collect();
    let results: Vec<Value> = outcome
        .findings
        .iter()
        .map(|f| {
            let index = checks.iter().position(|c| *c == f.check).unwrap_or(0);
            result(f, index, paths)
        })
        .collect();
    let log = json!({
        "$schema": SCHEMA,
        "version": VERSION,
        "runs": [{
            "tool": { "driver": {
                "name": "ggen",
                "version": crate::receipt::GGEN_VERSION,
                "semanticVersion": crate::receipt::GGEN_VERSION,
                "informationUri": INFORMATION_URI,
                "rules": rules,
            }},
            "automationDetails": { "id": format!("ggen/{}/", outcome.command.replace(" --", "-")) },
            "invocations": [{
                // ggen did its job when it exits 0 or 1 (drift found); any other
                // code means it stopped at an error, which is also a result.
                "executionSuccessful": outcome.exit_code <= 1,
                "exitCode": outcome.exit_code,
            }],
            "columnKind": "unicodeCodePoints",
            "results": results,
        }],
    });
    let mut text = serde_json::to_string_pretty(&log).unwrap_or_default();
    text.push('\n');
    text
}

fn rule(check: Check) -> Value {
    let mut rule = json!({
        "id": check.id(),
        "name": check.name(),
        "shortDescription": { "text": check.description() },
        "fullDescription": { "text": check.description() },
        "defaultConfiguration": { "level": "error" },
    });
    if let (Some(uri), Some(map)) = (check.help_uri(), rule.as_object_mut()) {
        map.insert("helpUri".into(), uri.into());
    }
    rule
}

fn result(finding: &Finding, index: usize, paths: &Paths) -> Value {
    let mut text = finding.message.clone();
    let mut locations = Vec::new();
    if let Some(loc) = &finding.location {
        match paths.relative(&loc.file) {
            Some(file) => {
                let mut physical = json!({
                    "artifactLocation": { "uri": uri(&file), "uriBaseId": SRCROOT },
                });
                if let Some(line) = loc.line {
                    let mut region = json!({ "startLine": line });
                    if let Some(column) = loc.column {
                        region["startColumn"] = column.into();
                        region["endColumn"] = (column + loc.width.max(1)).into();
                    }
                    physical["region"] = region;
                }
                locations.push(json!({ "physicalLocation": physical }));
            }
            None => text.push_str(&format!("\n  --> {loc}")),
        }
    }
    // SARIF asks for messages that end as sentences do.
    if !text.ends_with(['.', '!', '?']) {
        text.push('.');
    }
    json!({
        "ruleId": finding.check.id(),
        "ruleIndex": index,
        "level": match finding.level {
            Level::Error => "error",
            Level::Warning => "warning",
        },
        "message": { "text": text },
        "locations": locations,
    })
}

/// A relative path as a URI reference: each byte outside RFC 3986's
/// unreserved characters and `/` percent-encoded.
fn uri(path: &str) -> String {
    const KEEP: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'.')
        .remove(b'_')
        .remove(b'~')
        .remove(b'/');
    percent_encoding::utf8_percent_encode(path, KEEP).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris_encode_what_a_path_segment_cannot_hold() {
        assert_eq!(uri("spec/a b%#?.ttl"), "spec/a%20b%25%23%3F.ttl");
        assert_eq!(uri("é/x.ttl"), "%C3%A9/x.ttl");
    }
}
