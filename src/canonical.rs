//! μ₄ Canonicalize: the generated-file header, LF line endings, no trailing
//! whitespace, exactly one final newline; output paths normalized, kept inside the output folder, and
//! unique.

use std::collections::{BTreeMap, BTreeSet};

use crate::error::{Error, ErrorKind, Result};
use crate::ggen_dir;
use crate::header;
use crate::inputs::sha256_hex;
use crate::manifest::Manifest;
use crate::paths::{self, PathProblem};
use crate::render::Rendered;

/// A generated file, ready to compare or write.
#[derive(Debug, Clone)]
pub struct Output {
    /// Path relative to the manifest folder, `/` separators.
    pub path: String,
    /// Canonical content.
    pub bytes: Vec<u8>,
    /// SHA-256 of `bytes`.
    pub sha256: String,
    /// Index of the rule that produced it.
    pub rule: usize,
}

/// Canonical form of a rendered text.
pub fn canonical_text(text: &str) -> String {
    let text = text.replace("\r\n", "\n").replace('\r', "\n");
    let mut out = String::with_capacity(text.len() + 1);
    for line in text.split('\n') {
        out.push_str(line.trim_end());
        out.push('\n');
    }
    let trimmed = out.trim_end_matches('\n').len();
    out.truncate(trimmed);
    out.push('\n');
    out
}

/// Runs μ₄: canonical texts (each with its generated-file header), checked paths, sorted by path. `inputs` are
/// the manifest-relative paths of every input, which no output may replace.
pub fn canonicalize(
    manifest: &Manifest,
    rendered: Vec<Rendered>,
    inputs: &BTreeSet<String>,
) -> Result<Vec<Output>> {
    let mut outputs: BTreeMap<String, (Output, Option<usize>)> = BTreeMap::new();
    let mut symlinks = paths::SymlinkGuard::new(&manifest.root);
    let root = std::path::absolute(&manifest.root).unwrap_or_else(|_| manifest.root.clone());
    for r in rendered {
        let rule = &manifest.generation.rules[r.rule];
        let origin = match r.row {
            Some(k) => format!("rule `{}` (row {})", rule.name, k + 1),
            None => format!("rule `{}`", rule.name),
        };
        let at = manifest.location(&rule.output_file_span);
        let relative = match paths::normalize_relative(&r.path) {
            Ok(p) if p.is_empty() => {
                return Err(Error::at(
                    ErrorKind::Template,
                    at,
                    format!("{origin} renders an empty output path"),
                ));
            }
            Ok(p) => p,
            Err(problem @ (PathProblem::Absolute | PathProblem::Escapes)) => {
                return Err(Error::at(
                    ErrorKind::Write,
                    at,
                    format!(
                        "{origin} would write `{}`, which {} and so lies outside the output folder",
                        r.path,
                        problem.describe()
                    ),
                )
                .with_help(
                    "output paths are relative to [generation] output_dir and must stay inside it",
                ));
            }
            Err(problem) => {
                return Err(Error::at(
                    ErrorKind::Template,
                    at,
                    format!(
                        "{origin} renders the output path `{}`, which {}",
                        r.path.escape_debug(),
                        problem.describe()
                    ),
                ));
            }
        };
        let path = paths::join(&rule.output_dir, &relative);
        if path == ggen_dir::DIR || path.starts_with(&format!("{}/", ggen_dir::DIR)) {
            return Err(Error::at(
                ErrorKind::Write,
                at,
                format!(
                    "{origin} would write `{path}`, inside ggen's own folder {}/",
                    ggen_dir::DIR
                ),
            ));
        }
        if let Some(problem) = too_long(&root, &path) {
            return Err(Error::at(
                ErrorKind::Write,
                at,
                format!("{origin} would write `{path}`, {problem}"),
            )
            .with_help("shorten the output path: the file system cannot hold it"));
        }
        if inputs.contains(&path) {
            return Err(Error::at(
                ErrorKind::Write,
                at,
                format!("{origin} would overwrite `{path}`, which is one of the sync's inputs"),
            ));
        }
        if symlinks.escapes(&path) {
            return Err(Error::at(
                ErrorKind::Write,
                at,
                format!(
                    "{origin} would write `{path}` through a symbolic link that leads outside the project"
                ),
            ));
        }
        if let Some((first, first_row)) = outputs.get(&path) {
            let first_rule = &manifest.generation.rules[first.rule].name;
            let first_origin = match first_row {
                Some(k) => format!("rule `{first_rule}` (row {})", k + 1),
                None => format!("rule `{first_rule}`"),
            };
            return Err(Error::at(
                ErrorKind::Template,
                at,
                format!("{origin} and {first_origin} both render the path `{path}`"),
            )
            .with_help("make output_file depend on the row (for example `src/{{ name }}.erl`) so each file has its own path"));
        }
        let text = match header::comment_syntax(&path) {
            Some(comment) if rule.header => canonical_text(&header::prepend(
                &r.text,
                comment,
                &header::lines(manifest, &rule.name),
            )),
            _ => canonical_text(&r.text),
        };
        let bytes = text.into_bytes();
        let output = Output {
            sha256: sha256_hex(&bytes),
            path: path.clone(),
            bytes,
            rule: r.rule,
        };
        outputs.insert(path, (output, r.row));
    }
    let outputs: Vec<Output> = outputs.into_values().map(|(o, _)| o).collect();
    for pair in outputs.windows(2) {
        if pair[1].path.starts_with(&format!("{}/", pair[0].path)) {
            return Err(Error::at(
                ErrorKind::Template,
                manifest.location(&manifest.generation.rules[pair[1].rule].output_file_span),
                format!(
                    "`{}` is generated as a file, so `{}` cannot be generated inside it",
                    pair[0].path, pair[1].path
                ),
            ));
        }
    }
    Ok(outputs)
}

/// The longest file name (bytes) and the longest path (bytes, with its
/// final NUL) that Linux and the BSDs accept; macOS allows 1,024-byte paths.
const NAME_MAX: usize = 255;
const PATH_MAX: usize = if cfg!(target_os = "macos") {
    1024
} else {
    4096
};

/// Why the file system cannot hold `path` under `root` (an absolute path):
/// a name or the whole path too long. Caught here, so a sync never fails
/// half-way on it.
fn too_long(root: &std::path::Path, path: &str) -> Option<String> {
    if let Some(name) = path.split('/').find(|name| name.len() > NAME_MAX) {
        let shown: String = name.chars().take(24).collect();
        return Some(format!(
            "whose name `{shown}…` is {} bytes long (the file system allows {NAME_MAX})",
            name.len()
        ));
    }
    let full = root.join(path).as_os_str().len();
    (full >= PATH_MAX).then(|| {
        format!(
            "whose full path is {full} bytes long (the file system allows {})",
            PATH_MAX - 1
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_are_canonical() {
        assert_eq!(canonical_text("a  \r\nb\t\r\n\n\n"), "a\nb\n");
        assert_eq!(canonical_text("a"), "a\n");
        assert_eq!(canonical_text(""), "\n");
        assert_eq!(canonical_text("x\n\n  y \n"), "x\n\n  y\n");
    }

    #[test]
    fn names_the_file_system_cannot_hold_are_found() {
        let root = std::path::Path::new("/p");
        assert_eq!(too_long(root, &"a".repeat(255)), None);
        let long = too_long(root, &format!("out/{}.txt", "a".repeat(252))).unwrap();
        assert!(long.contains("256 bytes long"), "{long}");
        let deep = vec!["d".repeat(200); 21].join("/");
        assert!(too_long(root, &deep).unwrap().contains("full path"));
    }
}
