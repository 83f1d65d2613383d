//! The one error type of ggen: a kind (which maps to the exit code) and one or
//! more diagnostics, each with the file, position and source line it is about.
//! Every stage builds these; `render_text` and `to_json` are the only places
//! that turn them into what a user reads.

use std::fmt::{self, Write as _};
use std::path::Path;

use serde::Serialize;

mod check;

pub use check::Check;

/// What went wrong, in the terms of the exit codes of `ggen sync`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// Bad command line (exit 2).
    Usage,
    /// `ggen.toml` missing, unreadable or invalid (exit 3).
    Manifest,
    /// An ontology file does not parse, is not UTF-8 or breaks a validation rule (exit 4).
    Ontology,
    /// A SPARQL query does not parse or fails (exit 5).
    Sparql,
    /// A template does not parse or fails to render, or two rows render one path (exit 6).
    Template,
    /// A write was refused (hand edit, path outside the root, lock held) or failed (exit 7).
    Write,
}

impl ErrorKind {
    /// The process exit code for this kind of error.
    pub fn exit_code(self) -> u8 {
        match self {
            ErrorKind::Usage => 2,
            ErrorKind::Manifest => 3,
            ErrorKind::Ontology => 4,
            ErrorKind::Sparql => 5,
            ErrorKind::Template => 6,
            ErrorKind::Write => 7,
        }
    }
}

/// A place in a file. Lines and columns are 1-based.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Location {
    /// The file, relative to the manifest folder where possible, with `/` separators.
    pub file: String,
    /// 1-based line, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    /// 1-based column (in characters), when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<usize>,
    /// The text of the line, for the caret display.
    #[serde(skip)]
    pub source_line: Option<String>,
    /// How many characters the caret underlines.
    #[serde(skip)]
    pub width: usize,
}

impl Location {
    /// A whole file, no position.
    pub fn file(file: impl Into<String>) -> Self {
        Location {
            file: file.into(),
            line: None,
            column: None,
            source_line: None,
            width: 0,
        }
    }

    /// A 1-based line and column in `file`, with the line's text taken from `source`.
    pub fn at(file: impl Into<String>, source: &str, line: usize, column: usize) -> Self {
        let source_line = source
            .lines()
            .nth(line.saturating_sub(1))
            .map(|l| l.trim_end_matches('\r').to_string());
        Location {
            file: file.into(),
            line: Some(line),
            column: Some(column),
            source_line,
            width: 1,
        }
    }

    /// The position of byte `offset` of `source`.
    pub fn at_offset(file: impl Into<String>, source: &str, offset: usize) -> Self {
        let (line, column) = line_col(source, offset);
        Location::at(file, source, line, column)
    }

    /// Underline `width` characters from the column instead of one.
    pub fn with_width(mut self, width: usize) -> Self {
        self.width = width.max(1);
        self
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.file)?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
            if let Some(column) = self.column {
                write!(f, ":{column}")?;
            }
        }
        Ok(())
    }
}

/// The 1-based line and column (in characters) of byte `offset` in `source`.
pub fn line_col(source: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(source.len());
    while !source.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &source[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before[line_start..].chars().count() + 1;
    (line, column)
}

/// One thing to tell the user.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    /// What is wrong, in plain words.
    pub message: String,
    /// Where, when it is about a file.
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub location: Option<Location>,
    /// How to fix it, when we can tell.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub help: Option<String>,
    /// Which check found it, when the error's kind does not say enough.
    #[serde(skip)]
    pub check: Option<Check>,
}

impl Diagnostic {
    /// A diagnostic with a message and nothing else.
    pub fn new(message: impl Into<String>) -> Self {
        Diagnostic {
            message: message.into(),
            location: None,
            help: None,
            check: None,
        }
    }

    /// The check that found it, as named or as the error's kind implies.
    pub fn check_in(&self, kind: ErrorKind) -> Check {
        self.check.unwrap_or(Check::of_kind(kind))
    }
}

/// A failure of a ggen command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error {
    /// Which exit code it maps to.
    pub kind: ErrorKind,
    /// At least one diagnostic.
    pub diagnostics: Vec<Diagnostic>,
}

/// The result type of every ggen stage.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// An error with one diagnostic and no location.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error {
            kind,
            diagnostics: vec![Diagnostic::new(message)],
        }
    }

    /// An error about a place in a file.
    pub fn at(kind: ErrorKind, location: Location, message: impl Into<String>) -> Self {
        Error::new(kind, message).with_location(location)
    }

    /// Shorthand for a usage error.
    pub fn usage(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::Usage, message)
    }

    /// An I/O failure on `path`.
    pub fn io(kind: ErrorKind, path: &Path, action: &str, err: &std::io::Error) -> Self {
        Error::at(
            kind,
            Location::file(display_path(path)),
            format!("cannot {action}: {}", io_reason(err)),
        )
    }

    /// Several diagnostics of one kind (for example every validation violation).
    pub fn many(kind: ErrorKind, diagnostics: Vec<Diagnostic>) -> Self {
        debug_assert!(!diagnostics.is_empty());
        Error { kind, diagnostics }
    }

    /// Sets the location of the (first) diagnostic.
    pub fn with_location(mut self, location: Location) -> Self {
        self.diagnostics[0].location = Some(location);
        self
    }

    /// Sets the help line of the (first) diagnostic.
    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.diagnostics[0].help = Some(help.into());
        self
    }

    /// Names the check of every diagnostic.
    pub fn with_check(mut self, check: Check) -> Self {
        for d in &mut self.diagnostics {
            d.check = Some(check);
        }
        self
    }

    /// The process exit code.
    pub fn exit_code(&self) -> u8 {
        self.kind.exit_code()
    }

    /// The error as the text the user reads on stderr.
    pub fn render_text(&self) -> String {
        let mut out = String::new();
        for (i, d) in self.diagnostics.iter().enumerate() {
            if i > 0 {
                out.push('\n');
            }
            render_diagnostic(&mut out, d);
        }
        out
    }

    /// The error as JSON entries for `--format json`.
    pub fn to_json(&self) -> Vec<serde_json::Value> {
        self.diagnostics
            .iter()
            .map(|d| {
                let mut v = serde_json::to_value(d).unwrap_or(serde_json::Value::Null);
                if let Some(map) = v.as_object_mut() {
                    map.insert("code".into(), self.exit_code().into());
                    map.insert(
                        "kind".into(),
                        serde_json::to_value(self.kind).unwrap_or(serde_json::Value::Null),
                    );
                }
                v
            })
            .collect()
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.render_text())
    }
}

impl std::error::Error for Error {}

fn render_diagnostic(out: &mut String, d: &Diagnostic) {
    let _ = writeln!(out, "error: {}", d.message);
    if let Some(loc) = &d.location {
        let number = loc.line.map(|l| l.to_string()).unwrap_or_default();
        let pad = " ".repeat(number.len().max(1));
        let _ = writeln!(out, "{pad}--> {loc}");
        if let (Some(text), Some(column)) = (&loc.source_line, loc.column) {
            let (text, caret_pad, width) = snippet(text, column, loc.width);
            let _ = writeln!(out, "{pad} |");
            let _ = writeln!(out, "{number} | {text}");
            let _ = writeln!(out, "{pad} | {caret_pad}{}", "^".repeat(width));
        }
    }
    if let Some(help) = &d.help {
        let _ = writeln!(out, "  = help: {help}");
    }
}

/// The most characters of a source line an error shows: a longer line (a
/// minified file, a 5 MB literal) is cut around the column, each cut marked
/// with `…`, so an error is never larger than a screenful.
const SNIPPET_CHARS: usize = 240;
/// How much of a cut line is shown before the column.
const SNIPPET_BEFORE: usize = 80;

/// The line to show for a caret at 1-based `column` underlining `width`
/// characters: the text, the padding before the caret, and the caret's
/// width.
fn snippet(text: &str, column: usize, width: usize) -> (String, String, usize) {
    let pad_of = |s: &str| -> String {
        s.chars()
            .map(|c| if c == '\t' { '\t' } else { ' ' })
            .collect()
    };
    let count = text.chars().count();
    let at = column.saturating_sub(1).min(count);
    if count <= SNIPPET_CHARS {
        let before: String = text.chars().take(at).collect();
        return (text.to_string(), pad_of(&before), width.max(1));
    }
    let start = at.saturating_sub(SNIPPET_BEFORE);
    let end = (start + SNIPPET_CHARS).min(count);
    let start = start.min(end.saturating_sub(SNIPPET_CHARS));
    let byte = |chars: usize| {
        text.char_indices()
            .nth(chars)
            .map_or(text.len(), |(i, _)| i)
    };
    let (from, to) = (byte(start), byte(end));
    let kept = &text[from..to];
    let cut_before = if start > 0 { "…" } else { "" };
    let cut_after = if end < count { "…" } else { "" };
    let caret_pad = format!(
        "{}{}",
        if start > 0 { " " } else { "" },
        pad_of(&text[from..byte(at)])
    );
    let width = width.max(1).min((end - at).max(1));
    (format!("{cut_before}{kept}{cut_after}"), caret_pad, width)
}

/// A path as shown to users: `/` separators, no leading `./`.
pub fn display_path(path: &Path) -> String {
    let s = path.to_string_lossy().replace('\\', "/");
    s.strip_prefix("./").map(str::to_string).unwrap_or(s)
}

/// The reason of an I/O error without the "(os error N)" noise.
pub fn io_reason(err: &std::io::Error) -> String {
    use std::io::ErrorKind as K;
    match err.kind() {
        K::NotFound => "no such file or directory".into(),
        K::PermissionDenied => "permission denied".into(),
        K::AlreadyExists => "it already exists".into(),
        K::IsADirectory => "it is a folder".into(),
        _ => {
            let s = err.to_string();
            match s.find(" (os error") {
                Some(i) => s[..i].to_string(),
                None => s,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_col_counts_characters_not_bytes() {
        let src = "ab\néé x\n";
        assert_eq!(line_col(src, 0), (1, 1));
        assert_eq!(line_col(src, 3), (2, 1));
        // 'x' is after two 2-byte characters and a space.
        assert_eq!(line_col(src, 3 + 5), (2, 4));
    }

    #[test]
    fn a_long_line_is_cut_around_the_column() {
        let long = format!("x = \"{}\" oops", "a".repeat(5_000_000));
        let column = long.len() - 3;
        let e = Error::at(
            ErrorKind::Ontology,
            Location::at("a.ttl", &long, 1, column).with_width(4),
            "bad",
        );
        let text = e.render_text();
        assert!(text.len() < 700, "{} bytes", text.len());
        let lines: Vec<&str> = text.lines().collect();
        let shown = format!("…{}\" oops", "a".repeat(SNIPPET_CHARS - 6));
        assert_eq!(lines[3], format!("1 | {shown}"));
        // The caret stays under `oops`.
        let caret = lines[4].find('^').unwrap() - "  | ".len();
        assert_eq!(lines[3]["1 | ".len()..].chars().nth(caret), Some('o'));
        assert_eq!(lines[4].matches('^').count(), 4);

        // Cut on both sides when the column is in the middle.
        let middle = format!("{}X{}", "b".repeat(1000), "c".repeat(1000));
        let e = Error::at(
            ErrorKind::Ontology,
            Location::at("a.ttl", &middle, 1, 1001),
            "bad",
        );
        let lines: Vec<String> = e.render_text().lines().map(str::to_string).collect();
        assert!(
            lines[3].starts_with("1 | …b") && lines[3].ends_with("c…"),
            "{}",
            lines[3]
        );
        let caret = lines[4].find('^').unwrap() - "  | ".len();
        assert_eq!(lines[3]["1 | ".len()..].chars().nth(caret), Some('X'));
    }

    #[test]
    fn renders_caret_under_the_column() {
        let src = "first\nsecond line\n";
        let e = Error::at(ErrorKind::Ontology, Location::at("a.ttl", src, 2, 8), "bad")
            .with_help("fix it");
        assert_eq!(
            e.render_text(),
            "error: bad\n --> a.ttl:2:8\n  |\n2 | second line\n  |        ^\n  = help: fix it\n"
        );
    }
}
