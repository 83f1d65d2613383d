//! `ggen.toml`: parsed into raw serde structs that reject unknown keys
//! ([`raw`]), then checked and turned into a [`Manifest`] whose paths are
//! normalized and whose every value is known to be usable ([`check`]); TOML
//! errors are rendered with the nearest valid key ([`errors`]).

mod check;
mod entity;
mod errors;
mod limits;
mod raw;

pub use entity::EntityKind;
pub use limits::Limits;

pub(crate) use errors::toml_error;

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::error::{Error, ErrorKind, Location, Result, display_path};

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
    /// `[generation]`, with the rules of every target after the
    /// manifest's own (see [`crate::targets::expand`]).
    pub generation: Generation,
    /// `[[targets]]`, in order.
    pub targets: Vec<TargetRef>,
    /// The definitions of the targets (`target.toml`), inputs of every sync.
    pub definitions: Vec<Source>,
    /// `[receipt] sign_key`: the private key that signs each receipt
    /// (`.ggen/receipt.dsse.json`). Never an input: only its path is in the
    /// manifest.
    pub sign_key: Option<FileRef>,
    /// `[[entities]]`: the manifest's own kinds, then the targets'.
    pub entities: Vec<EntityKind>,
    /// `[limits]`, each one its default unless set.
    pub limits: Limits,
}

/// `[[targets]]`: a target by name, and where its outputs go.
#[derive(Debug, Clone)]
pub struct TargetRef {
    /// The target's name (`erlang`, `rust`).
    pub name: String,
    /// Byte range of the name in the manifest.
    pub span: Range<usize>,
    /// Where its outputs go, relative to the manifest folder (`""` for the folder itself).
    pub output_dir: String,
    /// A target folder in the project (an ejected target), instead of the built-in one.
    pub path: Option<FileRef>,
    /// Its files start with the generated-file header.
    pub header: bool,
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
    /// The specification files (a default they restate wins over the imports').
    pub sources: Vec<FileRef>,
    /// The vocabulary files: the manifest's, then the targets'.
    pub imports: Vec<Source>,
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
    /// A file of a target built into ggen.
    Builtin(Builtin),
    /// Text taken from a file that is itself an input (a check's message
    /// in a `target.toml`), shown as `shown`.
    Text {
        /// The file it comes from, as shown to users.
        shown: String,
        /// The text.
        text: String,
    },
}

/// A file of a built-in target, embedded in the binary.
#[derive(Debug, Clone)]
pub struct Builtin {
    /// The target.
    pub target: String,
    /// The file's path within the target.
    pub path: String,
    /// The content.
    pub text: &'static str,
}

impl Builtin {
    /// The name the file goes by in the receipt and in messages.
    pub fn name(&self) -> String {
        format!("ggen:{}/{}", self.target, self.path)
    }
}

impl Source {
    /// The file's path (or name), for telling its syntax by extension; `None`
    /// for inline text.
    pub fn path(&self) -> Option<String> {
        match self {
            Source::Inline { .. } | Source::Text { .. } => None,
            Source::File(file) => Some(file.path.clone()),
            Source::Builtin(b) => Some(b.path.clone()),
        }
    }
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
    pub message: Source,
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
    /// The main SELECT query (its rows are `rows`); none for a copied file.
    pub query: Option<Source>,
    /// Named SELECT queries, each visible to the template under its name.
    pub queries: BTreeMap<String, Source>,
    /// The Tera template, or the file copied as it is.
    pub template: Source,
    /// The file is copied as it is, not rendered.
    pub copy: bool,
    /// The folder the rule's outputs stay in (the manifest's `output_dir`,
    /// or its target's), relative to the manifest folder.
    pub output_dir: String,
    /// The output path, itself a Tera template.
    pub output_file: String,
    /// Where `output_file` is written in the manifest.
    pub output_file_span: Range<usize>,
    /// One file, or one per row.
    pub for_each: ForEach,
    /// No file when the main query has no rows.
    pub skip_empty: bool,
    /// Its files start with the generated-file header (where their
    /// language has comments; see [`crate::header`]).
    pub header: bool,
}

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
    let raw: raw::RawManifest =
        toml::from_str(text).map_err(|e| errors::toml_error(&shown, text, &e))?;
    check::Checker::new(&shown, text).check(raw, file, root)
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
        assert!(matches!(rule.query, Some(Source::Inline { .. })));
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
