//! `ggen.toml`: parsed into raw serde structs that reject unknown keys, then
//! checked and turned into a [`Manifest`] whose paths are normalized and whose
//! every value is known to be usable.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde::de::{self, MapAccess, Visitor};
use toml::Spanned;

use crate::error::{Error, ErrorKind, Location, Result, display_path};
use crate::paths::{PathProblem, normalize_relative};

/// A checked manifest.
#[derive(Debug, Clone)]
pub struct Manifest {
    /// The manifest file as the user named it.
    pub file: PathBuf,
    /// The folder every relative path in the manifest is resolved against.
    pub root: PathBuf,
    /// The manifest's text, for locating errors in it.
    pub text: String,
    /// `[project]`.
    pub project: Project,
    /// `[ontology]`.
    pub ontology: Ontology,
    /// `[[inference.rules]]`, in order.
    pub inference: Vec<InferenceRule>,
    /// `[[validation.rules]]`, in order.
    pub validation: Vec<ValidationRule>,
    /// `[generation]`.
    pub generation: Generation,
}

/// `[project]`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Project {
    /// The Erlang application and Rust crate name.
    pub name: String,
    /// The version, `0.1.0` when not given.
    pub version: String,
}

/// `[ontology]`.
#[derive(Debug, Clone)]
pub struct Ontology {
    /// The specification files (their `jobs:defaultValue` facts win over the imports').
    pub sources: Vec<FileRef>,
    /// The vocabulary files.
    pub imports: Vec<FileRef>,
    /// Base IRI for relative IRIs.
    pub base_iri: Option<String>,
    /// Prefixes usable without declaration, besides rdf, rdfs, xsd and owl.
    pub prefixes: BTreeMap<String, String>,
}

/// A file named by the manifest: its path relative to the manifest folder and
/// where the manifest names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileRef {
    /// Path relative to the manifest folder, `/` separators.
    pub path: String,
    /// Byte range of the value in the manifest.
    pub span: Range<usize>,
}

/// A query or template: written in the manifest, or in a file.
#[derive(Debug, Clone)]
pub enum Source {
    /// Text written in the manifest itself.
    Inline {
        /// The text.
        text: String,
        /// Byte range of the value in the manifest.
        span: Range<usize>,
    },
    /// A file relative to the manifest folder.
    File(FileRef),
}

/// `[[inference.rules]]`.
#[derive(Debug, Clone)]
pub struct InferenceRule {
    /// Rule name, unique among inference rules.
    pub name: String,
    /// A SPARQL CONSTRUCT query.
    pub construct: Source,
}

/// `[[validation.rules]]`.
#[derive(Debug, Clone)]
pub struct ValidationRule {
    /// Rule name, unique among validation rules.
    pub name: String,
    /// A SPARQL SELECT (each row is a violation) or ASK (true is a violation).
    pub query: Source,
    /// A Tera template rendered with each violation's row.
    pub message: String,
    /// Where the message is written in the manifest.
    pub message_span: Range<usize>,
}

/// `[generation]`.
#[derive(Debug, Clone)]
pub struct Generation {
    /// Where outputs go, relative to the manifest folder (`""` for the folder itself).
    pub output_dir: String,
    /// Folder whose `*.tera` files are loaded for `include` and `extends`.
    pub templates_dir: Option<FileRef>,
    /// The rules, in manifest order.
    pub rules: Vec<GenerationRule>,
}

/// Whether a rule renders one file for all rows or one per row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ForEach {
    /// One file; the template sees all rows.
    Query,
    /// One file per row; the template sees `row` and its columns.
    Row,
}

/// `[[generation.rules]]`.
#[derive(Debug, Clone)]
pub struct GenerationRule {
    /// Rule name, unique among generation rules.
    pub name: String,
    /// The main SELECT query (its rows are `rows`).
    pub query: Source,
    /// Named SELECT queries, each visible to the template under its name.
    pub queries: BTreeMap<String, Source>,
    /// The Tera template.
    pub template: Source,
    /// The output path, itself a Tera template.
    pub output_file: String,
    /// Where `output_file` is written in the manifest.
    pub output_file_span: Range<usize>,
    /// One file, or one per row.
    pub for_each: ForEach,
    /// No file when the main query has no rows.
    pub skip_empty: bool,
}

// ---------------------------------------------------------------------------
// Raw form: exactly the TOML, unknown keys rejected.

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawManifest {
    project: RawProject,
    ontology: RawOntology,
    #[serde(default)]
    inference: Option<RawInference>,
    #[serde(default)]
    validation: Option<RawValidation>,
    #[serde(default)]
    generation: Option<RawGeneration>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProject {
    name: Spanned<String>,
    version: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawOntology {
    source: Spanned<OneOrMany>,
    #[serde(default)]
    imports: Vec<Spanned<String>>,
    base_iri: Option<Spanned<String>>,
    #[serde(default)]
    prefixes: BTreeMap<String, Spanned<String>>,
}

/// `source = "a.ttl"` or `source = ["a.ttl", "b.ttl"]`.
struct OneOrMany(Vec<String>);

impl<'de> Deserialize<'de> for OneOrMany {
    fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ListVisitor;
        impl<'de> Visitor<'de> for ListVisitor {
            type Value = OneOrMany;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a path or a list of paths")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<OneOrMany, E> {
                Ok(OneOrMany(vec![v.to_string()]))
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<OneOrMany, A::Error> {
                let mut paths = Vec::new();
                while let Some(p) = seq.next_element::<String>()? {
                    paths.push(p);
                }
                Ok(OneOrMany(paths))
            }
        }
        deserializer.deserialize_any(ListVisitor)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawInference {
    #[serde(default)]
    rules: Vec<RawInferenceRule>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawInferenceRule {
    name: Spanned<String>,
    construct: Spanned<RawSource>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawValidation {
    #[serde(default)]
    rules: Vec<RawValidationRule>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawValidationRule {
    name: Spanned<String>,
    query: Spanned<RawSource>,
    message: Spanned<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawGeneration {
    output_dir: Option<Spanned<String>>,
    templates_dir: Option<Spanned<String>>,
    #[serde(default)]
    rules: Vec<RawGenerationRule>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawGenerationRule {
    name: Spanned<String>,
    query: Spanned<RawSource>,
    #[serde(default)]
    queries: BTreeMap<String, Spanned<RawSource>>,
    template: Spanned<RawSource>,
    output_file: Spanned<String>,
    #[serde(default = "default_for_each")]
    for_each: ForEach,
    #[serde(default)]
    skip_empty: bool,
}

fn default_for_each() -> ForEach {
    ForEach::Query
}

/// A string (inline text), `{ file = "…" }` or `{ inline = "…" }`.
enum RawSource {
    Inline(String),
    File(Spanned<String>),
}

impl<'de> Deserialize<'de> for RawSource {
    fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct SourceVisitor;
        impl<'de> Visitor<'de> for SourceVisitor {
            type Value = RawSource;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a string, { file = \"…\" } or { inline = \"…\" }")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<RawSource, E> {
                Ok(RawSource::Inline(v.to_string()))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawSource, A::Error> {
                const KEYS: &[&str] = &["file", "inline"];
                let mut found = None;
                while let Some(key) = map.next_key::<String>()? {
                    let value = match key.as_str() {
                        "file" => RawSource::File(map.next_value()?),
                        "inline" => RawSource::Inline(map.next_value()?),
                        other => return Err(de::Error::unknown_field(other, KEYS)),
                    };
                    if found.replace(value).is_some() {
                        return Err(de::Error::custom(
                            "give either `file` or `inline`, not both",
                        ));
                    }
                }
                found
                    .ok_or_else(|| de::Error::custom("expected `file = \"…\"` or `inline = \"…\"`"))
            }
        }
        deserializer.deserialize_any(SourceVisitor)
    }
}

// ---------------------------------------------------------------------------
// Loading and checking.

/// Reads and checks the manifest at `file`.
pub fn load(file: &Path) -> Result<Manifest> {
    let shown = display_path(file);
    let bytes = std::fs::read(file).map_err(|e| {
        let err = Error::io(ErrorKind::Manifest, file, "read the manifest", &e);
        if e.kind() == std::io::ErrorKind::NotFound {
            err.with_help("run `ggen init` to create a project here, or pass --manifest PATH")
        } else {
            err
        }
    })?;
    let text = String::from_utf8(bytes).map_err(|e| {
        let offset = e.utf8_error().valid_up_to();
        let source = String::from_utf8_lossy(e.as_bytes()).into_owned();
        Error::at(
            ErrorKind::Manifest,
            Location::at_offset(&shown, &source, offset),
            "the manifest is not valid UTF-8",
        )
    })?;
    let root = match file.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    parse(&text, file, root)
}

/// Parses manifest `text` found at `file`, resolving paths against `root`.
pub fn parse(text: &str, file: &Path, root: PathBuf) -> Result<Manifest> {
    let shown = display_path(file);
    let raw: RawManifest = toml::from_str(text).map_err(|e| toml_error(&shown, text, &e))?;
    Checker {
        shown: &shown,
        text,
    }
    .check(raw, file, root)
}

struct Checker<'a> {
    shown: &'a str,
    text: &'a str,
}

impl Checker<'_> {
    fn err(&self, span: &Range<usize>, message: impl Into<String>) -> Error {
        Error::at(
            ErrorKind::Manifest,
            Location::at_offset(self.shown, self.text, span.start)
                .with_width(self.text[span.clone()].chars().count().min(60)),
            message,
        )
    }

    fn check(&self, raw: RawManifest, file: &Path, root: PathBuf) -> Result<Manifest> {
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
                message_span: rule.message.span(),
                message: rule.message.into_inner(),
            });
        }

        let generation = self.generation(raw.generation)?;
        Ok(Manifest {
            file: file.to_path_buf(),
            root,
            text: self.text.to_string(),
            project,
            ontology,
            inference: inference_rules,
            validation: validation_rules,
            generation,
        })
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
            .map(|s| self.input_path(s))
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
        let output_dir = match &raw.output_dir {
            Some(dir) => match normalize_relative(dir.get_ref()) {
                Ok(p) => p,
                Err(problem) => {
                    return Err(Error::at(
                        ErrorKind::Write,
                        Location::at_offset(self.shown, self.text, dir.span().start),
                        format!("output_dir `{}` {}", dir.get_ref(), problem.describe()),
                    )
                    .with_help("outputs must stay inside the manifest's folder: use a relative path such as \"generated\""));
                }
            },
            None => String::new(),
        };
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
                query: self.source(rule.query)?,
                queries,
                template: self.source(rule.template)?,
                output_file: rule.output_file.into_inner(),
                output_file_span,
                for_each: rule.for_each,
                skip_empty: rule.skip_empty,
            });
        }
        Ok(Generation {
            output_dir,
            templates_dir,
            rules,
        })
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

impl Manifest {
    /// The manifest's name as shown to users and recorded in the receipt.
    pub fn file_name(&self) -> String {
        self.file
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "ggen.toml".into())
    }

    /// `rel` (relative to the manifest folder) as a path to open.
    pub fn resolve(&self, rel: &str) -> PathBuf {
        self.root.join(rel)
    }

    /// `rel` as shown to users: relative to where they ran ggen.
    pub fn shown(&self, rel: &str) -> String {
        display_path(&self.resolve(rel))
    }

    /// The manifest as shown to users.
    pub fn shown_file(&self) -> String {
        display_path(&self.file)
    }

    /// A location in the manifest from a byte span.
    pub fn location(&self, span: &Range<usize>) -> Location {
        Location::at_offset(self.shown_file(), &self.text, span.start)
            .with_width(self.text[span.clone()].chars().count().min(60))
    }
}

/// Why `name` cannot be an Erlang application and Rust crate name, if it can't.
pub fn check_identifier(name: &str) -> std::result::Result<(), &'static str> {
    let mut chars = name.chars();
    match chars.next() {
        None => return Err("is empty"),
        Some(c) if !c.is_ascii_lowercase() => return Err("must start with a lowercase letter"),
        _ => {}
    }
    if !chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_') {
        return Err("may hold only lowercase letters, digits and `_`");
    }
    if crate::names::is_reserved(name) {
        return Err("is a reserved word in Erlang or Rust");
    }
    Ok(())
}

/// The closest valid identifier to `raw`: lowercase, `_` for anything else,
/// a letter first, and not a reserved word.
pub fn suggest_identifier(raw: &str) -> String {
    let mut s: String = heck::ToSnakeCase::to_snake_case(raw)
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    while s.contains("__") {
        s = s.replace("__", "_");
    }
    let s = s.trim_matches('_').to_string();
    let s = if s.is_empty() {
        "app".to_string()
    } else if !s.starts_with(|c: char| c.is_ascii_lowercase()) {
        format!("app_{s}")
    } else {
        s
    };
    if crate::names::is_reserved(&s) {
        format!("{s}_app")
    } else {
        s
    }
}

/// Turns a TOML/serde error into a manifest error with position and, for an
/// unknown key, the nearest valid one.
fn toml_error(shown: &str, text: &str, e: &toml::de::Error) -> Error {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_str(text: &str) -> Result<Manifest> {
        parse(text, Path::new("ggen.toml"), PathBuf::from("."))
    }

    const MINIMAL: &str = "[project]\nname = \"demo\"\n[ontology]\nsource = \"spec.ttl\"\n";

    #[test]
    fn minimal_manifest_gets_defaults() {
        let m = parse_str(MINIMAL).unwrap();
        assert_eq!(m.project.version, "0.1.0");
        assert_eq!(m.ontology.sources[0].path, "spec.ttl");
        assert_eq!(m.generation.output_dir, "");
        assert!(m.generation.rules.is_empty());
    }

    #[test]
    fn unknown_key_names_the_nearest_one() {
        let text = "[project]\nname = \"demo\"\n[ontology]\nsourc = \"spec.ttl\"\n";
        let e = parse_str(text).unwrap_err();
        assert_eq!(e.kind, ErrorKind::Manifest);
        let d = &e.diagnostics[0];
        assert_eq!(d.message, "unknown key `sourc` in [ontology]");
        assert!(
            d.help
                .as_deref()
                .unwrap()
                .starts_with("did you mean `source`?")
        );
        assert_eq!(d.location.as_ref().unwrap().line, Some(4));
    }

    #[test]
    fn sources_accept_every_form() {
        let text = format!(
            "{MINIMAL}[[generation.rules]]\nname = \"a\"\nquery = \"SELECT * {{}}\"\n\
             queries = {{ w = {{ file = \"w.rq\" }} }}\ntemplate = {{ inline = \"x\" }}\n\
             output_file = \"out/{{{{ project.name }}}}.txt\"\nfor_each = \"row\"\n"
        );
        let m = parse_str(&text).unwrap();
        let rule = &m.generation.rules[0];
        assert!(matches!(rule.query, Source::Inline { .. }));
        assert!(matches!(&rule.queries["w"], Source::File(f) if f.path == "w.rq"));
        assert_eq!(rule.for_each, ForEach::Row);
    }

    #[test]
    fn bad_project_name_is_refused_with_a_suggestion() {
        let e = parse_str("[project]\nname = \"My Jobs\"\n[ontology]\nsource = \"s.ttl\"\n")
            .unwrap_err();
        assert!(
            e.diagnostics[0]
                .help
                .as_deref()
                .unwrap()
                .contains("`my_jobs`")
        );
    }

    #[test]
    fn suggest_identifier_makes_valid_names() {
        assert_eq!(suggest_identifier("My Jobs-2"), "my_jobs_2");
        assert_eq!(suggest_identifier("123"), "app_123");
        assert_eq!(suggest_identifier("end"), "end_app");
        for s in ["My Jobs-2", "123", "end", "", "--", "ÉtéJobs"] {
            assert_eq!(check_identifier(&suggest_identifier(s)), Ok(()), "{s}");
        }
    }
}
