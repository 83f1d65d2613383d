//! Loading: each ontology file parsed by its extension (Turtle, N-Triples,
//! RDF/XML) into the store, syntax errors at their file, line and column,
//! and, when a check fails, each triple with the line it was read on.

use oxigraph::io::{RdfFormat, RdfParser};
use oxigraph::model::{GraphNameRef, Triple};
use oxigraph::store::Store;
use oxttl::{NTriplesParser, TurtleParser, TurtleSyntaxError};

use super::{first_release, store_error};
use crate::error::{Check, Error, ErrorKind, Result};
use crate::inputs::{Inputs, Text};
use crate::manifest::{Manifest, Source};
use crate::sparql::STANDARD_PREFIXES;

/// An ontology file as read.
pub struct Loaded {
    pub text: Text,
    pub path: String,
    pub is_source: bool,
}

/// Reads the sources and imports into a store. A default the specification
/// restates replaces the vocabulary's (see [`first_release::restate`]):
/// only the triples that decide it are held back; every other triple goes
/// into the store as it is parsed.
pub fn load(manifest: &Manifest, inputs: &mut Inputs) -> Result<(Store, Vec<Loaded>)> {
    let store = Store::new().map_err(store_error)?;
    let mut loaded = Vec::new();
    let mut imports = Vec::new();
    let mut sources = Vec::new();
    let source_files: Vec<Source> = manifest
        .ontology
        .sources
        .iter()
        .cloned()
        .map(Source::File)
        .collect();
    for (files, is_source) in [(&manifest.ontology.imports, false), (&source_files, true)] {
        for file in files {
            let text = inputs.source(manifest, file, ErrorKind::Ontology)?;
            let path = file.path().unwrap_or_default();
            let held = if is_source {
                &mut sources
            } else {
                &mut imports
            };
            let mut failed = None;
            let triples = each_triple(manifest, &path, &text)?
                .map_while(|t| t.map_err(|e| failed = Some(e)).ok());
            let rest = triples.filter_map(|t| match first_release::decides_defaults(&t) {
                true => {
                    held.push(t);
                    None
                }
                false => Some(t.in_graph(GraphNameRef::DefaultGraph)),
            });
            store.extend(rest).map_err(store_error)?;
            if let Some(e) = failed {
                return Err(e);
            }
            loaded.push(Loaded {
                text,
                path,
                is_source,
            });
        }
    }

    let triples = first_release::restate(imports, sources);
    store
        .extend(
            triples
                .into_iter()
                .map(|t| t.in_graph(GraphNameRef::DefaultGraph)),
        )
        .map_err(store_error)?;
    Ok((store, loaded))
}

/// A file's triples, as [`parse_file`] read them.
pub struct Parsed {
    /// Each triple, with the line it ends on when lines were asked for.
    pub triples: Vec<(Triple, Option<usize>)>,
    /// With lines, for Turtle and N-Triples: a parser for snippets of the
    /// file's lines (a property and a value), knowing the prefixes and base
    /// IRI the file declares.
    pub snippets: Option<TurtleParser>,
}

/// Refuses a Turtle-family file nesting `[ … ]` or `( … )` deeper than
/// `[limits] turtle_depth`: each level is a blank node the canonicalization
/// and the queries then walk.
fn check_depth(manifest: &Manifest, extension: Option<&str>, text: &Text) -> Result<()> {
    if !matches!(extension, Some("ttl" | "turtle" | "trig" | "n3")) {
        return Ok(());
    }
    let depth = manifest.limits.turtle_depth.get();
    match crate::nesting::too_deep(&text.body, depth) {
        None => Ok(()),
        Some(offset) => {
            let (line, column) = crate::error::line_col(&text.body, offset);
            Err(text
                .error_at(
                    ErrorKind::Ontology,
                    line,
                    column,
                    format!("brackets nest deeper than {depth} levels"),
                )
                .with_help(
                    "give the nested nodes IRIs, or raise `turtle_depth` under `[limits]` in the manifest",
                ))
        }
    }
}

/// Each triple of one file, parsed by its extension as it is read.
fn each_triple<'a>(
    manifest: &Manifest,
    path: &str,
    text: &'a Text,
) -> Result<Box<dyn Iterator<Item = Result<Triple>> + 'a>> {
    let extension = path.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase());
    check_depth(manifest, extension.as_deref(), text)?;
    let bytes = text.body.as_bytes();
    Ok(match extension.as_deref() {
        Some("ttl" | "turtle") => Box::new(
            turtle_parser(manifest)?
                .for_slice(bytes)
                .map(move |t| t.map_err(|e| turtle_error(text, &e))),
        ),
        Some("nt") => Box::new(
            NTriplesParser::new()
                .for_slice(bytes)
                .map(move |t| t.map_err(|e| turtle_error(text, &e))),
        ),
        _ => Box::new(
            parse_file(manifest, path, text, false)?
                .triples
                .into_iter()
                .map(|(t, _)| Ok(t)),
        ),
    })
}

/// Parses one file by its extension; `with_lines` also gives each triple
/// the line it ends on (when the syntax is line-based enough to say), which
/// costs a parse fed line by line.
pub fn parse_file(
    manifest: &Manifest,
    path: &str,
    text: &Text,
    with_lines: bool,
) -> Result<Parsed> {
    let extension = path.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase());
    check_depth(manifest, extension.as_deref(), text)?;
    let without = |triples: Vec<(Triple, Option<usize>)>| Parsed {
        triples,
        snippets: None,
    };
    match extension.as_deref() {
        Some("ttl" | "turtle") => {
            let parser = turtle_parser(manifest)?;
            if !with_lines {
                return without_lines(parser.for_slice(text.body.as_bytes()), text).map(without);
            }
            let mut fed = parser.clone().low_level();
            let triples = parse_by_line(&mut fed, text)?;
            let prefixes: Vec<(String, String)> = fed
                .prefixes()
                .map(|(p, iri)| (p.to_owned(), iri.to_owned()))
                .collect();
            let snippets = declared(parser, &prefixes, fed.base_iri());
            Ok(Parsed { triples, snippets })
        }
        Some("nt") => {
            let parser = NTriplesParser::new();
            if !with_lines {
                return without_lines(parser.for_slice(text.body.as_bytes()), text).map(without);
            }
            let triples = parse_by_line(&mut parser.low_level(), text)?;
            let snippets = turtle_parser(manifest).ok();
            Ok(Parsed { triples, snippets })
        }
        Some("rdf" | "owl" | "xml") => {
            let mut parser = RdfParser::from_format(RdfFormat::RdfXml);
            if let Some(base) = &manifest.ontology.base_iri {
                parser = parser
                    .with_base_iri(base)
                    .map_err(|e| prefix_error("base", &e))?;
            }
            parser
                .for_slice(text.body.as_bytes())
                .map(|q| {
                    q.map(|q| (Triple::from(q), None)).map_err(|e| {
                        Error::at(
                            ErrorKind::Ontology,
                            text.whole(),
                            format!("RDF/XML syntax error: {e}"),
                        )
                        .with_check(Check::RdfSyntax)
                    })
                })
                .collect::<Result<_>>()
                .map(without)
        }
        _ => Err(Error::at(
            ErrorKind::Ontology,
            text.whole(),
            "ggen cannot tell the RDF syntax of this file from its extension",
        )
        .with_help("name Turtle files *.ttl, N-Triples *.nt, RDF/XML *.rdf or *.owl")),
    }
}

/// A Turtle parser that knows the standard prefixes and the manifest's
/// prefixes and base IRI.
fn turtle_parser(manifest: &Manifest) -> Result<TurtleParser> {
    let mut parser = TurtleParser::new();
    for (p, iri) in STANDARD_PREFIXES {
        parser = parser
            .with_prefix(*p, *iri)
            .map_err(|e| prefix_error(p, &e))?;
    }
    for (p, iri) in &manifest.ontology.prefixes {
        parser = parser
            .with_prefix(p, iri)
            .map_err(|e| prefix_error(p, &e))?;
    }
    if let Some(base) = &manifest.ontology.base_iri {
        parser = parser
            .with_base_iri(base)
            .map_err(|e| prefix_error("base", &e))?;
    }
    Ok(parser)
}

/// `parser` with the prefixes and base IRI a file declared.
fn declared(
    mut parser: TurtleParser,
    prefixes: &[(String, String)],
    base: Option<&str>,
) -> Option<TurtleParser> {
    for (name, iri) in prefixes {
        parser = parser.with_prefix(name, iri).ok()?;
    }
    if let Some(base) = base {
        parser = parser.with_base_iri(base).ok()?;
    }
    Some(parser)
}

fn without_lines(
    triples: impl Iterator<Item = std::result::Result<Triple, TurtleSyntaxError>>,
    text: &Text,
) -> Result<Vec<(Triple, Option<usize>)>> {
    triples
        .map(|t| t.map(|t| (t, None)).map_err(|e| turtle_error(text, &e)))
        .collect()
}

fn prefix_error(prefix: &str, e: &dyn std::fmt::Display) -> Error {
    Error::new(
        ErrorKind::Manifest,
        format!("prefix `{prefix}` is not usable: {e}"),
    )
}

/// The two line-based parsers of oxttl, fed one line at a time so that each
/// triple is known with the line it was completed on.
trait LineFed {
    fn feed(&mut self, bytes: &[u8]);
    fn finish(&mut self);
    fn next_triple(&mut self) -> Option<std::result::Result<Triple, TurtleSyntaxError>>;
}

macro_rules! line_fed {
    ($($parser:ty),*) => {$(
        impl LineFed for $parser {
            fn feed(&mut self, bytes: &[u8]) {
                self.extend_from_slice(bytes);
            }
            fn finish(&mut self) {
                self.end();
            }
            fn next_triple(&mut self) -> Option<std::result::Result<Triple, TurtleSyntaxError>> {
                self.parse_next()
            }
        }
    )*};
}

line_fed!(
    oxttl::turtle::LowLevelTurtleParser,
    oxttl::ntriples::LowLevelNTriplesParser
);

fn parse_by_line(parser: &mut impl LineFed, text: &Text) -> Result<Vec<(Triple, Option<usize>)>> {
    let mut triples = Vec::new();
    let mut line = 0;
    let mut drain = |parser: &mut dyn LineFed, line: usize| -> Result<()> {
        while let Some(result) = parser.next_triple() {
            let triple = result.map_err(|e| turtle_error(text, &e))?;
            triples.push((triple, Some(line.max(1))));
        }
        Ok(())
    };
    for chunk in text.body.split_inclusive('\n') {
        line += 1;
        parser.feed(chunk.as_bytes());
        drain(parser, line)?;
    }
    parser.finish();
    drain(parser, line)?;
    Ok(triples)
}

fn turtle_error(text: &Text, e: &TurtleSyntaxError) -> Error {
    let range = e.location();
    let start = range.start;
    let width = if range.end.line == start.line {
        (range.end.column.saturating_sub(start.column)).max(1) as usize
    } else {
        1
    };
    let mut message = e.message().to_string();
    if let Some(first) = message.get(..1) {
        let lower = first.to_lowercase();
        message.replace_range(..1, &lower);
    }
    let err = text.error_at(
        ErrorKind::Ontology,
        start.line as usize + 1,
        start.column as usize + 1,
        format!("Turtle syntax error: {message}"),
    );
    let Error {
        kind,
        mut diagnostics,
    } = err;
    if let Some(loc) = diagnostics[0].location.take() {
        diagnostics[0].location = Some(loc.with_width(width.min(60)));
    }
    Error { kind, diagnostics }.with_check(Check::RdfSyntax)
}
