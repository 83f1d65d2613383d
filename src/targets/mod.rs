//! Targets: named, versioned sets of templates, queries and vocabulary. A
//! manifest names them (`[[targets]]`); the built-in ones are embedded in
//! ggen ([`builtin`]), an ejected one lives in a folder of the project.
//! [`load`] reads a manifest and expands each target into the rules every
//! stage already knows: imports, inference rules, checks and generation
//! rules, after the manifest's own.
//!
//! A project replaces one file of a built-in target by putting a file at the
//! same relative path under `templates/<target>/`; a file there that is
//! byte-identical to the built-in one replaces nothing.

mod builtin;
mod definition;
mod eject;
mod entities;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

pub use builtin::VERSION;
pub use eject::{Ejected, eject, eject_files};

use crate::error::{Error, ErrorKind, Result};
use crate::manifest::{
    self, Builtin, FileRef, ForEach, GenerationRule, InferenceRule, Manifest, Source, TargetRef,
    ValidationRule,
};
use definition::Definition;

/// A manifest with its targets expanded.
#[derive(Debug, Clone)]
pub struct Project {
    /// The manifest, its rule lists extended with the targets'.
    pub manifest: Manifest,
    /// The project files that replace files of built-in targets.
    pub overrides: Vec<Override>,
}

/// A project file that replaces a file of a built-in target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Override {
    /// The project file, relative to the manifest folder.
    pub path: String,
    /// The built-in file it replaces (`ggen:<target>/<path>`).
    pub replaces: String,
}

/// Reads the manifest at `file` and expands its targets.
pub fn load(file: &Path) -> Result<Project> {
    let mut manifest = manifest::load(file)?;
    let overrides = expand(&mut manifest)?;
    Ok(Project {
        manifest,
        overrides,
    })
}

/// The folder whose files replace those of built-in target `name`.
pub fn override_dir(name: &str) -> String {
    format!("templates/{name}")
}

/// The names of the built-in targets.
pub fn builtin_names() -> Vec<&'static str> {
    builtin::names()
}

/// File `rel` of built-in target `target`, as this ggen carries it.
pub fn builtin_text(target: &str, rel: &str) -> Option<&'static str> {
    builtin::files(target)
        .into_iter()
        .find(|(path, _)| path == rel)
        .map(|(_, text)| text)
}

/// An embedded file of this repository (the example specification, a
/// template), by its path there.
pub fn embedded_file(path: &str) -> Option<&'static str> {
    builtin::file(path)
}

/// Adds every target's vocabulary and rules to `manifest`; returns the
/// overrides in force.
pub fn expand(manifest: &mut Manifest) -> Result<Vec<Override>> {
    let mut overrides = Vec::new();
    let mut vocabulary = BTreeSet::new();
    let mut described = entities::Described::default();
    for target in manifest.targets.clone() {
        let folder = Folder::open(manifest, &target)?;
        let definition = folder.definition(manifest, &target)?;
        let definition_file = folder.source(manifest, "target.toml", &mut overrides, false)?;
        manifest.definitions.push(definition_file);

        // The vocabulary: targets that share one (the built-in ones do)
        // bring it once.
        for rel in &definition.vocabulary.imports {
            if vocabulary.insert(folder.identity(manifest, rel)) {
                let source = folder.source(manifest, rel, &mut overrides, false)?;
                manifest.ontology.imports.push(source);
            }
        }
        for rule in &definition.vocabulary.inference {
            if vocabulary.insert(folder.identity(manifest, &rule.construct)) {
                let construct = folder.source(manifest, &rule.construct, &mut overrides, false)?;
                manifest.inference.push(InferenceRule {
                    name: unique_name(
                        manifest.inference.iter().map(|r| &r.name),
                        &rule.name,
                        &target,
                    )?,
                    construct,
                });
            }
        }
        for check in &definition.vocabulary.checks {
            if vocabulary.insert(folder.identity(manifest, &check.query)) {
                let query = folder.source(manifest, &check.query, &mut overrides, false)?;
                manifest.validation.push(ValidationRule {
                    name: unique_name(
                        manifest.validation.iter().map(|r| &r.name),
                        &check.name,
                        &target,
                    )?,
                    query,
                    message: Source::Text {
                        shown: folder.shown("target.toml"),
                        text: check.message.clone(),
                    },
                });
            }
        }

        entities::add(manifest, &folder, &target, &definition, &mut described)?;

        let mut queries = BTreeMap::new();
        for (name, rel) in &definition.queries {
            queries.insert(
                name.clone(),
                folder.source(manifest, rel, &mut overrides, true)?,
            );
        }
        let rows = queries.remove("rows");
        for file in &definition.files {
            let (rel, copy) = file
                .source()
                .map_err(|why| folder.error(manifest, &target, why))?;
            if !copy && rows.is_none() {
                return Err(folder.error(
                    manifest,
                    &target,
                    format!("`{rel}` is a template, but the target names no `rows` query"),
                ));
            }
            // Named after its file: `erlang/job_queue.erl`, `rust/pool/checkout.rs`.
            let name = format!(
                "{}/{}",
                target.name,
                rel.strip_suffix(".tera").unwrap_or(rel)
            );
            if manifest.generation.rules.iter().any(|r| r.name == name) {
                return Err(folder.error(
                    manifest,
                    &target,
                    format!("two rules are named `{name}`"),
                ));
            }
            manifest.generation.rules.push(GenerationRule {
                name,
                query: if copy { None } else { rows.clone() },
                queries: if copy {
                    BTreeMap::new()
                } else {
                    queries.clone()
                },
                template: folder.source(manifest, rel, &mut overrides, true)?,
                copy,
                output_dir: target.output_dir.clone(),
                output_file: file.output.clone(),
                output_file_span: target.span.clone(),
                for_each: ForEach::Query,
                skip_empty: false,
                header: target.header,
            });
        }
    }
    Ok(overrides)
}

/// `name`, unless a rule already has it.
fn unique_name<'a>(
    mut existing: impl Iterator<Item = &'a String>,
    name: &str,
    target: &TargetRef,
) -> Result<String> {
    if existing.any(|n| n == name) {
        return Err(Error::new(
            ErrorKind::Manifest,
            format!(
                "target `{}` brings a rule named `{name}`, and another rule has that name",
                target.name
            ),
        )
        .with_help("rename one of the rules"));
    }
    Ok(name.to_string())
}

/// Where a target's files are.
enum Folder {
    /// Embedded in ggen: path within the target → content.
    Builtin {
        name: String,
        files: BTreeMap<String, &'static str>,
    },
    /// A folder of the project, relative to the manifest folder.
    Project { path: FileRef },
}

impl Folder {
    fn open(manifest: &Manifest, target: &TargetRef) -> Result<Folder> {
        if let Some(path) = &target.path {
            return Ok(Folder::Project { path: path.clone() });
        }
        let files: BTreeMap<String, &'static str> =
            builtin::files(&target.name).into_iter().collect();
        if !files.contains_key("target.toml") {
            let names = builtin::names();
            let nearest = names
                .iter()
                .min_by_key(|n| strsim::damerau_levenshtein(&target.name, n))
                .filter(|n| strsim::damerau_levenshtein(&target.name, n) <= 3);
            let listed = names.join(", ");
            let help = match nearest {
                Some(n) => format!("did you mean `{n}`? (built-in targets: {listed})"),
                None => format!("built-in targets: {listed}; or give `path` to a target folder"),
            };
            return Err(Error::at(
                ErrorKind::Manifest,
                manifest.location(&target.span),
                format!("there is no built-in target `{}`", target.name),
            )
            .with_help(help));
        }
        Ok(Folder::Builtin {
            name: target.name.clone(),
            files,
        })
    }

    fn shown(&self, rel: &str) -> String {
        match self {
            Folder::Builtin { name, .. } => format!("ggen:{name}/{rel}"),
            Folder::Project { path } => crate::paths::join(&path.path, rel),
        }
    }

    fn error(&self, manifest: &Manifest, target: &TargetRef, why: impl Into<String>) -> Error {
        Error::at(
            ErrorKind::Manifest,
            manifest.location(&target.span),
            format!(
                "target `{}` ({}): {}",
                target.name,
                self.shown("target.toml"),
                why.into()
            ),
        )
    }

    fn definition(&self, manifest: &Manifest, target: &TargetRef) -> Result<Definition> {
        let shown = self.shown("target.toml");
        let text = match self {
            Folder::Builtin { files, .. } => files["target.toml"].to_string(),
            Folder::Project { path } => {
                let file = manifest.resolve(&crate::paths::join(&path.path, "target.toml"));
                std::fs::read_to_string(&file).map_err(|e| {
                    Error::at(
                        ErrorKind::Manifest,
                        manifest.location(&path.span),
                        format!(
                            "cannot read {}: {e}",
                            manifest.shown(&crate::paths::join(&path.path, "target.toml"))
                        ),
                    )
                    .with_help(
                        "`path` names a target folder holding a target.toml (see `ggen eject`)",
                    )
                })?
            }
        };
        let _ = target;
        toml::from_str(&text).map_err(|e| manifest::toml_error(&shown, &text, &e))
    }

    /// What makes two targets' vocabulary files the same file: its path
    /// within the target and its content.
    fn identity(&self, manifest: &Manifest, rel: &str) -> (String, String) {
        let content = match self {
            Folder::Builtin { files, .. } => files.get(rel).map(|t| t.to_string()),
            Folder::Project { path } => {
                std::fs::read_to_string(manifest.resolve(&crate::paths::join(&path.path, rel))).ok()
            }
        };
        (rel.to_string(), content.unwrap_or_default())
    }

    /// The source of file `rel` of the target; for a built-in target, the
    /// project's replacement when `overridable` and there is one that
    /// differs.
    fn source(
        &self,
        manifest: &Manifest,
        rel: &str,
        overrides: &mut Vec<Override>,
        overridable: bool,
    ) -> Result<Source> {
        match self {
            Folder::Project { path } => Ok(Source::File(FileRef {
                path: crate::paths::join(&path.path, rel),
                span: path.span.clone(),
            })),
            Folder::Builtin { name, files } => {
                let Some(&text) = files.get(rel) else {
                    return Err(Error::new(
                        ErrorKind::Manifest,
                        format!(
                            "the built-in target `{name}` names `{rel}`, which it does not hold"
                        ),
                    ));
                };
                let builtin = Builtin {
                    target: name.clone(),
                    path: rel.to_string(),
                    text,
                };
                if overridable {
                    let local = crate::paths::join(&override_dir(name), rel);
                    if let Ok(bytes) = std::fs::read(manifest.resolve(&local))
                        && bytes != text.as_bytes()
                    {
                        overrides.push(Override {
                            path: local.clone(),
                            replaces: builtin.name(),
                        });
                        let span = manifest
                            .targets
                            .iter()
                            .find(|t| &t.name == name)
                            .map(|t| t.span.clone())
                            .unwrap_or_default();
                        return Ok(Source::File(FileRef { path: local, span }));
                    }
                }
                Ok(Source::Builtin(builtin))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A file of a built-in target is a template only if it uses the
    /// ontology: a `.tera` file holds a tag outside raw blocks, and every
    /// other file is copied as it is.
    #[test]
    fn templates_are_templates_and_static_files_are_static() {
        for name in builtin::names() {
            for (rel, text) in builtin::files(name) {
                let mut outside = text.to_string();
                while let (Some(start), Some(end)) =
                    (outside.find("{% raw %}"), outside.find("endraw %}"))
                {
                    if end < start {
                        break;
                    }
                    outside.replace_range(start..end + "endraw %}".len(), "");
                }
                let tagged = ["{{", "{%", "{#"].iter().any(|t| outside.contains(t));
                if rel.ends_with(".tera") {
                    assert!(tagged, "{name}/{rel} is a template without a tag");
                }
            }
            let definition: Definition = toml::from_str(
                builtin::files(name)
                    .iter()
                    .find(|(r, _)| r == "target.toml")
                    .unwrap()
                    .1,
            )
            .unwrap();
            for file in &definition.files {
                let (rel, copy) = file.source().unwrap();
                assert_eq!(copy, !rel.ends_with(".tera"), "{name}: {rel}");
            }
        }
    }
}
