//! Where each loaded triple was read, to point a violation or a shape the
//! engine cannot read at the file and line that state it, and on a line
//! holding several statements at the property and value in question.
//! Parsing again with lines costs time, so only failing syncs pay it.

use std::collections::{HashMap, HashSet};
use std::ops::Range;

use oxigraph::model::{NamedNode, NamedNodeRef, Term, TermRef, Triple};
use oxigraph::store::Store;
use oxttl::TurtleParser;

use super::first_release::{self, SH_DEFAULT_VALUE, SH_PATH};
use super::load::{Loaded, parse_file};
use super::written::written;
use crate::error::{Diagnostic, Error, ErrorKind, Location, Result};
use crate::inputs::Text;
use crate::manifest::Manifest;
use crate::shacl::ShapeError;

/// Where each loaded triple was read, to point validation errors at it.
pub struct Origins {
    files: Vec<Text>,
    /// Per file: is it a specification source (rather than an import)?
    is_source: Vec<bool>,
    lines: HashMap<Triple, (usize, Option<usize>)>,
    /// Per file: a parser for a property and a value taken from one of its
    /// lines (it knows the file's prefixes), if the file is Turtle.
    snippets: Vec<Option<TurtleParser>>,
}

/// The subject of the snippets parsed to tell which property and value of
/// a line a triple's are.
const SNIPPET_SUBJECT: &str = "urn:ggen:snippet";

impl Origins {
    pub fn new(manifest: &Manifest, loaded: &[Loaded]) -> Result<Self> {
        let mut origins = Origins {
            files: Vec::new(),
            is_source: Vec::new(),
            lines: HashMap::new(),
            snippets: Vec::new(),
        };
        for (index, file) in loaded.iter().enumerate() {
            let parsed = parse_file(manifest, &file.path, &file.text, true)?;
            for (triple, line) in parsed.triples {
                origins.lines.entry(triple).or_insert((index, line));
            }
            origins.files.push(file.text.clone());
            origins.is_source.push(file.is_source);
            origins.snippets.push(parsed.snippets);
        }
        Ok(origins)
    }

    /// The loaded triple that best matches a violation's terms: one whose
    /// subject, predicate and object all appear in the row, else two of
    /// them, else its subject; specification files before imports, then
    /// the earliest. On its line, the property and value when the terms name
    /// the property and the line holds more than it; else the whole line.
    pub fn locate(&self, terms: &[Term]) -> Option<Location> {
        let set: HashSet<TermRef<'_>> = terms.iter().map(Term::as_ref).collect();
        // (score, (is an import, file, line), triple): the highest score,
        // then the smallest key, then (on one line) the smallest triple.
        type Candidate<'a> = (usize, (bool, usize, Option<usize>), &'a Triple);
        let mut best: Option<Candidate<'_>> = None;
        for (triple, &(file, line)) in &self.lines {
            let subject: Term = triple.subject.clone().into();
            if !set.contains(&subject.as_ref()) {
                continue;
            }
            let predicate: Term = triple.predicate.clone().into();
            let score = 1
                + usize::from(set.contains(&predicate.as_ref()))
                + usize::from(set.contains(&triple.object.as_ref()));
            let key = (!self.is_source[file], file, line);
            let better = match &best {
                None => true,
                Some((s, k, t)) => {
                    score > *s
                        || (score == *s
                            && (key < *k || (key == *k && triple.to_string() < t.to_string())))
                }
            };
            if better {
                best = Some((score, key, triple));
            }
        }
        let (_, (_, file, line), triple) = best?;
        let text = &self.files[file];
        let Some(line) = line else {
            return Some(text.whole());
        };
        let source_line = text.body.lines().nth(line - 1).unwrap_or_default();
        let predicate: Term = triple.predicate.clone().into();
        let span = if set.contains(&predicate.as_ref()) {
            self.span_on_line(
                file,
                source_line,
                triple,
                set.contains(&triple.object.as_ref()),
            )
        } else {
            None
        };
        let written = span.and_then(|span| {
            Some((
                source_line.get(..span.start)?.chars().count() + 1,
                source_line.get(span)?.chars().count(),
            ))
        });
        let (column, width) = match written {
            Some(at) => at,
            None => (
                source_line.len() - source_line.trim_start().len() + 1,
                source_line.trim().chars().count(),
            ),
        };
        Some(text.locate(line, column).0.with_width(width))
    }

    /// Where on `line` of `file` the triple's property and value (its
    /// values, unless `with_object`) are written, when the line holds more
    /// than them. The parser says which written property and value are the
    /// triple's: `<urn:ggen:snippet> PROPERTY VALUE .` must give its
    /// predicate and object.
    fn span_on_line(
        &self,
        file: usize,
        line: &str,
        triple: &Triple,
        with_object: bool,
    ) -> Option<Range<usize>> {
        let parser = self.snippets[file].as_ref()?;
        let subject = NamedNode::new_unchecked(SNIPPET_SUBJECT);
        for w in written(line) {
            for value in &w.values {
                let (Some(property_text), Some(value_text)) =
                    (line.get(w.property.clone()), line.get(value.clone()))
                else {
                    break;
                };
                let snippet = format!("<{SNIPPET_SUBJECT}> {property_text} {value_text} .");
                let parsed = parser
                    .clone()
                    .for_slice(snippet.as_bytes())
                    .filter_map(std::result::Result::ok)
                    .find(|t| t.subject == subject.clone().into());
                let Some(parsed) = parsed else { break };
                if parsed.predicate != triple.predicate {
                    break;
                }
                let last = w.values.last().map_or(value.end, |v| v.end);
                if !with_object {
                    return (!w.alone).then_some(w.property.start..last);
                }
                if parsed.object == triple.object {
                    return (!w.alone).then_some(w.property.start..value.end);
                }
            }
        }
        None
    }
}

/// A shape the engine cannot read or run, at the file and line that
/// state it: of the triples about the shape or the property it constrains,
/// the one that states a default if any (the usual fault: two of them),
/// specification files first.
pub fn shape_error(manifest: &Manifest, loaded: &[Loaded], store: &Store, e: ShapeError) -> Error {
    let (kind, shape) = match &e {
        ShapeError::Malformed { shape, .. } => (ErrorKind::Ontology, Some(shape)),
        ShapeError::Query { shape, .. } => (ErrorKind::Sparql, Some(shape)),
        ShapeError::Store(_) => (ErrorKind::Ontology, None),
    };
    let location = shape.and_then(|shape| {
        let mut terms = vec![
            Term::from(shape.clone()),
            NamedNode::new_unchecked(SH_DEFAULT_VALUE).into(),
            NamedNode::new_unchecked(first_release::DEFAULT_VALUE).into(),
        ];
        let path = NamedNodeRef::new_unchecked(SH_PATH);
        terms.extend(
            store
                .quads_for_pattern(Some(shape.as_ref()), Some(path), None, None)
                .filter_map(|q| q.ok().map(|q| q.object)),
        );
        Origins::new(manifest, loaded).ok()?.locate(&terms)
    });
    Error::many(
        kind,
        vec![Diagnostic {
            location,
            message: e.to_string(),
            help: None,
            check: None,
        }],
    )
}
