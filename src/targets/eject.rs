//! `ggen eject <target>`: a built-in target copied into the project, so the
//! project owns every file of it (templates, queries, the vocabulary with
//! its shapes and rules, the definition), and the manifest pointed at the
//! copy. The copy holds what the target is in the project today, overrides
//! included, so a sync right after gives the same outputs.
//!
//! `ggen eject <target> <file>…` copies just those files to the target's
//! override folder, `templates/<target>/`, where they replace the built-in
//! ones: a starting point for changing one template.

use std::path::Path;

use super::{Folder, builtin, load, override_dir};
use crate::error::{Error, ErrorKind, Location, Result, display_path};
use crate::write::journal::Writer;

/// What `eject` did.
#[derive(Debug, Clone)]
pub struct Ejected {
    /// The target's new folder, relative to the manifest folder.
    pub folder: String,
    /// The files written there, relative to the manifest folder.
    pub files: Vec<String>,
    /// The overrides the copy took in.
    pub overrides: Vec<String>,
}

/// Copies files `files` (paths within built-in target `name`) to the
/// target's override folder; returns their paths there.
pub fn eject_files(manifest_path: &Path, name: &str, files: &[String]) -> Result<Vec<String>> {
    let project = load(manifest_path)?;
    let manifest = &project.manifest;
    if !manifest
        .targets
        .iter()
        .any(|t| t.name == name && t.path.is_none())
    {
        return Err(Error::usage(format!(
            "{} names no built-in target `{name}`",
            manifest.shown_file()
        )));
    }
    let builtin = builtin::files(name);
    let mut out = Vec::new();
    for rel in files {
        let Some((_, text)) = builtin.iter().find(|(r, _)| r == rel) else {
            let known: Vec<&str> = builtin
                .iter()
                .map(|(r, _)| r.as_str())
                .filter(|r| !r.starts_with("ontology/"))
                .collect();
            return Err(Error::usage(format!("target `{name}` has no file `{rel}`"))
                .with_help(format!("its files: {}", known.join(", "))));
        };
        let local = crate::paths::join(&override_dir(name), rel);
        if manifest.resolve(&local).exists() {
            return Err(Error::at(
                ErrorKind::Write,
                Location::file(manifest.shown(&local)),
                "this file already exists; ggen eject does not overwrite files",
            ));
        }
        out.push((local, text.as_bytes().to_vec(), false));
    }
    crate::write::apply_files(&manifest.root, Writer::Eject, &out)?;
    Ok(out.into_iter().map(|(p, _, _)| p).collect())
}

/// Copies built-in target `name` of the project at `manifest_path` into
/// `targets/<name>/` and adds `path = "targets/<name>"` to its entry.
pub fn eject(manifest_path: &Path, name: &str) -> Result<Ejected> {
    let project = load(manifest_path)?;
    let manifest = &project.manifest;
    let Some(target) = manifest.targets.iter().find(|t| t.name == name) else {
        let names: Vec<&str> = manifest.targets.iter().map(|t| t.name.as_str()).collect();
        return Err(
            Error::usage(format!("{} has no target `{name}`", manifest.shown_file()))
                .with_help(format!("its targets: {}", names.join(", "))),
        );
    };
    if let Some(path) = &target.path {
        return Err(Error::usage(format!(
            "target `{name}` is already in the project, in {}",
            manifest.shown(&path.path)
        )));
    }
    let folder = format!("targets/{name}");
    if manifest.resolve(&folder).exists() {
        return Err(Error::at(
            ErrorKind::Write,
            Location::file(manifest.shown(&folder)),
            "this folder already exists; ggen eject does not overwrite files",
        )
        .with_help("move it away, then eject again"));
    }

    // Every file as the project uses it now: an override where there is one.
    let source = Folder::open(manifest, target)?;
    let mut files = Vec::new();
    let mut taken = Vec::new();
    for (rel, builtin_text) in builtin::files(name) {
        let mut overrides = Vec::new();
        let text = match source.source(manifest, &rel, &mut overrides, true)? {
            crate::manifest::Source::File(file) => {
                taken.push(file.path.clone());
                std::fs::read(manifest.resolve(&file.path)).map_err(|e| {
                    Error::io(
                        ErrorKind::Write,
                        &manifest.resolve(&file.path),
                        "read it",
                        &e,
                    )
                })?
            }
            _ => builtin_text.as_bytes().to_vec(),
        };
        files.push((crate::paths::join(&folder, &rel), text, false));
    }
    let new_manifest = with_path(&manifest.text, target.span.end, &folder).ok_or_else(|| {
        Error::at(
            ErrorKind::Manifest,
            manifest.location(&target.span),
            "ggen cannot tell where this target's entry ends, to add its `path`",
        )
        .with_help(format!("add `path = \"{folder}\"` to the entry yourself"))
    })?;
    // The new files, then the manifest that points at them: one journal.
    let manifest_name = manifest.file.file_name().map_or_else(
        || "ggen.toml".to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    let copied: Vec<String> = files.iter().map(|(p, _, _)| p.clone()).collect();
    files.push((manifest_name, new_manifest.into_bytes(), true));
    crate::write::apply_files(&manifest.root, Writer::Eject, &files)?;
    Ok(Ejected {
        folder: display_path(&manifest.resolve(&folder)),
        files: copied,
        overrides: taken,
    })
}

/// The manifest's text with `path = "<folder>"` on the line after the one
/// where the target's name (ending at byte `name_end`) is written; `None`
/// when that line holds more than the name (an inline table).
fn with_path(text: &str, name_end: usize, folder: &str) -> Option<String> {
    let line_end = text[name_end..]
        .find('\n')
        .map_or(text.len(), |i| name_end + i);
    let rest_of_line = text[name_end..line_end].trim();
    if !(rest_of_line.is_empty() || rest_of_line.starts_with('#')) {
        return None;
    }
    let mut out = String::with_capacity(text.len() + folder.len() + 12);
    out.push_str(&text[..line_end]);
    out.push_str(&format!("\npath = \"{folder}\""));
    out.push_str(&text[line_end..]);
    if !out.ends_with('\n') {
        out.push('\n');
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_goes_after_the_name_line() {
        let text = "[[targets]]\nname = \"erlang\"  # the app\noutput_dir = \"x\"\n";
        let end = text.find("erlang\"").unwrap() + "erlang\"".len();
        assert_eq!(
            with_path(text, end, "targets/erlang").unwrap(),
            "[[targets]]\nname = \"erlang\"  # the app\npath = \"targets/erlang\"\noutput_dir = \"x\"\n"
        );
        let inline = "targets = [{ name = \"erlang\", output_dir = \"x\" }]\n";
        let end = inline.find("erlang\"").unwrap() + "erlang\"".len();
        assert_eq!(with_path(inline, end, "targets/erlang"), None);
    }
}
