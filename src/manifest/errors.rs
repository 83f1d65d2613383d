//! TOML errors as manifest errors: position, the table they are in, and
//! for an unknown key the nearest valid one.

use crate::error::{Error, ErrorKind, Location};

/// Turns a TOML/serde error into a manifest error with position and, for an
/// unknown key, the nearest valid one.
pub(crate) fn toml_error(shown: &str, text: &str, e: &toml::de::Error) -> Error {
    let message = e.message().trim().to_string();
    let location = e.span().map(|span| {
        let width = text
            .get(span.clone())
            .map_or(1, |s| s.chars().count().clamp(1, 60));
        Location::at_offset(shown, text, span.start).with_width(width)
    });
    let table = e.span().and_then(|span| enclosing_table(text, span.start));
    let in_table = table.map(|t| format!(" in [{t}]")).unwrap_or_default();

    let (message, help) = if let Some((unknown, expected)) = parse_unknown_field(&message) {
        let nearest = expected
            .iter()
            .map(|k| (strsim::damerau_levenshtein(&unknown, k), k))
            .filter(|(d, k)| *d <= 3.max(k.len() / 3))
            .min_by_key(|(d, _)| *d)
            .map(|(_, k)| k.clone());
        let valid = expected.join(", ");
        let help = match nearest {
            Some(k) => format!("did you mean `{k}`? (valid keys here: {valid})"),
            None => format!("valid keys here: {valid}"),
        };
        (format!("unknown key `{unknown}`{in_table}"), Some(help))
    } else if let Some(field) = message
        .strip_prefix("missing field `")
        .and_then(|s| s.split('`').next())
    {
        (format!("missing key `{field}`{in_table}"), None)
    } else {
        (message, None)
    };
    let mut err = Error::new(ErrorKind::Manifest, message);
    if let Some(loc) = location {
        err = err.with_location(loc);
    } else {
        err = err.with_location(Location::file(shown));
    }
    if let Some(help) = help {
        err = err.with_help(help);
    }
    err
}

/// `unknown field `x`, expected one of `a`, `b`` → ("x", ["a", "b"]).
fn parse_unknown_field(message: &str) -> Option<(String, Vec<String>)> {
    let rest = message.strip_prefix("unknown field `")?;
    let (unknown, rest) = rest.split_once('`')?;
    let expected = rest
        .split('`')
        .enumerate()
        .filter(|(i, _)| i % 2 == 1)
        .map(|(_, s)| s.to_string())
        .collect();
    Some((unknown.to_string(), expected))
}

/// The `[table]` or `[[array]]` header above byte `offset`, if any.
fn enclosing_table(text: &str, offset: usize) -> Option<String> {
    let before = text.get(..offset)?;
    before.lines().rev().find_map(|line| {
        let line = line.trim();
        let inner = line
            .strip_prefix("[[")
            .and_then(|l| l.split("]]").next())
            .or_else(|| line.strip_prefix('[').and_then(|l| l.split(']').next()))?;
        Some(inner.trim().to_string())
    })
}
