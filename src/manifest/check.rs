//! Checking: the raw manifest turned into a [`Manifest`], each value
//! checked where it is read and refused with its position in the file.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;
use std::path::{Path, PathBuf};

use toml::Spanned;

use super::raw::{
    RawEntity, RawGeneration, RawManifest, RawOntology, RawProject, RawSource, RawTarget,
};
use super::{
    EntityKind, FileRef, Generation, GenerationRule, InferenceRule, Manifest, Ontology, Project,
    Source, TargetRef, ValidationRule, check_identifier, suggest_identifier,
};
use crate::error::{Error, ErrorKind, Location, Result};
use crate::paths::{PathProblem, normalize_relative};

pub(super) struct Checker<'a> {
    shown: &'a str,
    text: &'a str,
}

impl<'a> Checker<'a> {
    pub(super) fn new(shown: &'a str, text: &'a str) -> Self {
        Checker { shown, text }
    }

    fn err(&self, span: &Range<usize>, message: impl Into<String>) -> Error {
        Error::at(
            ErrorKind::Manifest,
            Location::at_offset(self.shown, self.text, span.start)
                .with_width(self.text[span.clone()].chars().count().min(60)),
            message,
        )
    }

    pub(super) fn check(&self, raw: RawManifest, file: &Path, root: PathBuf) -> Result<Manifest> {
        let project = self.project(raw.project)?;
        let ontology = self.ontology(raw.ontology)?;

        let inference = raw.inference.map(|i| i.rules).unwrap_or_default();
        let mut names = BTreeSet::new();
        let mut inference_rules = Vec::new();
        for rule in inference {
            let name = self.rule_name(&rule.name, &mut names, "inference")?;
            inference_rules.push(InferenceRule {
                name,
                construct: self.source(rule.construct)?,
            });
        }

        let validation = raw.validation.map(|v| v.rules).unwrap_or_default();
        let mut names = BTreeSet::new();
        let mut validation_rules = Vec::new();
        for rule in validation {
            let name = self.rule_name(&rule.name, &mut names, "validation")?;
            validation_rules.push(ValidationRule {
                name,
                query: self.source(rule.query)?,
                message: Source::Inline {
                    span: rule.message.span(),
                    text: rule.message.into_inner(),
                },
            });
        }

        let generation = self.generation(raw.generation)?;
        let targets = self.targets(raw.targets)?;
        let sign_key = raw
            .receipt
            .and_then(|r| r.sign_key)
            .map(|key| self.input_path(&key))
            .transpose()?;
        let entities = self.entities(raw.entities)?;
        Ok(Manifest {
            file: file.to_path_buf(),
            root,
            text: self.text.to_string(),
            project,
            ontology,
            inference: inference_rules,
            validation: validation_rules,
            generation,
            targets,
            definitions: Vec::new(),
            sign_key,
            entities,
            limits: raw.limits,
        })
    }

    fn entities(&self, raw: Vec<RawEntity>) -> Result<Vec<EntityKind>> {
        let mut seen = BTreeSet::new();
        let mut kinds = Vec::new();
        for entity in raw {
            let kind = entity.kind.get_ref();
            if kind.trim().is_empty() {
                return Err(self.err(&entity.kind.span(), "an entity kind has an empty name"));
            }
            if !seen.insert(kind.clone()) {
                return Err(self.err(
                    &entity.kind.span(),
                    format!("the entity kind `{kind}` is described twice"),
                ));
            }
            kinds.push(EntityKind {
                kind: kind.clone(),
                query: self.source(entity.query)?,
                key: entity.key,
                removed: entity.removed,
                api: entity.api,
                references: entity.references,
            });
        }
        Ok(kinds)
    }

    fn project(&self, raw: RawProject) -> Result<Project> {
        let name = raw.name.get_ref();
        if let Err(why) = check_identifier(name) {
            return Err(self
                .err(&raw.name.span(), format!("project name `{name}` {why}"))
                .with_help(format!(
                    "the name is the Erlang application and the Rust crate name: use lowercase letters, digits and `_`, starting with a letter (for example `{}`)",
                    suggest_identifier(name)
                )));
        }
        Ok(Project {
            name: name.clone(),
            version: raw.version.unwrap_or_else(|| "0.1.0".to_string()),
        })
    }

    fn ontology(&self, raw: RawOntology) -> Result<Ontology> {
        let span = raw.source.span();
        let sources: Vec<Spanned<String>> = raw
            .source
            .into_inner()
            .0
            .into_iter()
            .map(|p| Spanned::new(span.clone(), p))
            .collect();
        if sources.is_empty() {
            return Err(self
                .err(&span, "`source` names no file")
                .with_help("name the specification, for example `source = \".specify/specs/001-job-queue/feature.ttl\"`"));
        }
        let sources = sources
            .iter()
            .map(|s| self.input_path(s))
            .collect::<Result<Vec<_>>>()?;
        let imports = raw
            .imports
            .iter()
            .map(|s| self.input_path(s).map(Source::File))
            .collect::<Result<Vec<_>>>()?;
        let base_iri = match raw.base_iri {
            Some(iri) => {
                oxigraph::model::NamedNode::new(iri.get_ref()).map_err(|e| {
                    self.err(&iri.span(), format!("`base_iri` is not a valid IRI: {e}"))
                })?;
                Some(iri.into_inner())
            }
            None => None,
        };
        let mut prefixes = BTreeMap::new();
        for (name, iri) in raw.prefixes {
            if !name
                .chars()
                .all(|c| c.is_alphanumeric() || c == '_' || c == '-' || c == '.')
                || name.starts_with(['-', '.'])
            {
                return Err(self.err(&iri.span(), format!("`{name}` is not a valid prefix name")));
            }
            oxigraph::model::NamedNode::new(iri.get_ref()).map_err(|e| {
                self.err(
                    &iri.span(),
                    format!("prefix `{name}` is not a valid IRI: {e}"),
                )
            })?;
            prefixes.insert(name, iri.into_inner());
        }
        Ok(Ontology {
            sources,
            imports,
            base_iri,
            prefixes,
        })
    }

    fn generation(&self, raw: Option<RawGeneration>) -> Result<Generation> {
        let raw = raw.unwrap_or(RawGeneration {
            output_dir: None,
            templates_dir: None,
            rules: Vec::new(),
        });
        let output_dir = self.output_dir(raw.output_dir.as_ref())?;
        let templates_dir = raw
            .templates_dir
            .as_ref()
            .map(|d| self.input_path(d))
            .transpose()?;
        let mut names = BTreeSet::new();
        let mut rules = Vec::new();
        for rule in raw.rules {
            let name = self.rule_name(&rule.name, &mut names, "generation")?;
            let mut queries = BTreeMap::new();
            for (qname, source) in rule.queries {
                if let Err(why) = check_identifier(&qname) {
                    return Err(self.err(&source.span(), format!("query name `{qname}` {why}")));
                }
                if ["project", "rows", "row"].contains(&qname.as_str()) {
                    return Err(self
                        .err(&source.span(), format!("query name `{qname}` is reserved"))
                        .with_help("`project`, `rows` and `row` are already in the template context: pick another name"));
                }
                queries.insert(qname, self.source(source)?);
            }
            let output_file_span = rule.output_file.span();
            if rule.output_file.get_ref().trim().is_empty() {
                return Err(self.err(&output_file_span, "`output_file` is empty"));
            }
            rules.push(GenerationRule {
                name,
                query: Some(self.source(rule.query)?),
                queries,
                template: self.source(rule.template)?,
                copy: false,
                output_dir: output_dir.clone(),
                output_file: rule.output_file.into_inner(),
                output_file_span,
                for_each: rule.for_each,
                skip_empty: rule.skip_empty,
                header: rule.header,
            });
        }
        Ok(Generation {
            output_dir,
            templates_dir,
            rules,
        })
    }

    /// An `output_dir`: relative, inside the manifest's folder, and free of
    /// Tera syntax (it is put before each output path template).
    fn output_dir(&self, raw: Option<&Spanned<String>>) -> Result<String> {
        let Some(dir) = raw else {
            return Ok(String::new());
        };
        let help = "outputs must stay inside the manifest's folder: use a relative path such as \"generated\"";
        match normalize_relative(dir.get_ref()) {
            Ok(p) if ["{{", "{%", "{#"].iter().any(|t| p.contains(t)) => Err(self
                .err(
                    &dir.span(),
                    format!("output_dir `{p}` holds template syntax"),
                )
                .with_help(help)),
            Ok(p) => Ok(p),
            Err(problem) => Err(self
                .err(
                    &dir.span(),
                    format!("output_dir `{}` {}", dir.get_ref(), problem.describe()),
                )
                .with_help(help)),
        }
    }

    fn targets(&self, raw: Vec<RawTarget>) -> Result<Vec<TargetRef>> {
        let mut seen = BTreeSet::new();
        let mut targets = Vec::new();
        for target in raw {
            let name = target.name.get_ref();
            if name.is_empty()
                || !name
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
            {
                return Err(self.err(
                    &target.name.span(),
                    format!(
                        "target name `{name}` may hold only lowercase letters, digits, `_` and `-`"
                    ),
                ));
            }
            if !seen.insert(name.clone()) {
                return Err(self
                    .err(
                        &target.name.span(),
                        format!("the target `{name}` is named twice"),
                    )
                    .with_help("a project builds each target once; remove one of the entries"));
            }
            targets.push(TargetRef {
                name: name.clone(),
                span: target.name.span(),
                output_dir: self.output_dir(target.output_dir.as_ref())?,
                path: target
                    .path
                    .as_ref()
                    .map(|p| self.input_path(p))
                    .transpose()?,
                header: target.header,
            });
        }
        Ok(targets)
    }

    fn rule_name(
        &self,
        name: &Spanned<String>,
        seen: &mut BTreeSet<String>,
        section: &str,
    ) -> Result<String> {
        let n = name.get_ref();
        if n.trim().is_empty() {
            return Err(self.err(&name.span(), format!("a {section} rule has an empty name")));
        }
        if !seen.insert(n.clone()) {
            return Err(self.err(
                &name.span(),
                format!("two {section} rules are named `{n}`: rule names must be unique"),
            ));
        }
        Ok(n.clone())
    }

    fn source(&self, raw: Spanned<RawSource>) -> Result<Source> {
        let span = raw.span();
        Ok(match raw.into_inner() {
            RawSource::Inline(text) => Source::Inline { text, span },
            RawSource::File(path) => Source::File(self.input_path(&path)?),
        })
    }

    fn input_path(&self, raw: &Spanned<String>) -> Result<FileRef> {
        let value = raw.get_ref();
        let path = if Path::new(value).is_absolute() {
            Ok(value.replace('\\', "/"))
        } else {
            normalize_relative(value).or_else(|problem| match problem {
                // Inputs may live above the manifest folder (a shared vocabulary).
                PathProblem::Escapes => Ok(lexical_clean(value)),
                other => Err(other),
            })
        };
        match path {
            Ok(path) if !path.is_empty() => Ok(FileRef {
                path,
                span: raw.span(),
            }),
            Ok(_) => Err(self.err(&raw.span(), "the path is empty")),
            Err(problem) => Err(self.err(&raw.span(), format!("`{value}` {}", problem.describe()))),
        }
    }
}

/// `a/./b/../c` → `a/c`, keeping leading `..`.
fn lexical_clean(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split(['/', '\\']) {
        match part {
            "" | "." => {}
            ".." if parts.last().is_some_and(|p| *p != "..") => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    parts.join("/")
}
