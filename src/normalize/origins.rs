//! Where each loaded triple was read, to point a violation or a shape the
//! engine cannot read at the file and line that state it. Parsing again
//! with lines costs time, so only failing syncs pay it.

use std::collections::{HashMap, HashSet};

use oxigraph::model::{NamedNode, NamedNodeRef, Term, TermRef, Triple};
use oxigraph::store::Store;

use super::first_release::{self, SH_DEFAULT_VALUE, SH_PATH};
use super::load::{Loaded, parse_file};
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
}

impl Origins {
    pub fn new(manifest: &Manifest, loaded: &[Loaded]) -> Result<Self> {
        let mut origins = Origins {
            files: Vec::new(),
            is_source: Vec::new(),
            lines: HashMap::new(),
        };
        for (index, file) in loaded.iter().enumerate() {
            for (triple, line) in parse_file(manifest, &file.path, &file.text, true)? {
                origins.lines.entry(triple).or_insert((index, line));
            }
            origins.files.push(file.text.clone());
            origins.is_source.push(file.is_source);
        }
        Ok(origins)
    }

    /// The loaded triple that best matches a violation's terms: one whose
    /// subject, predicate and object all appear in the row, else two of
    /// them, else its subject; specification files before imports, then
    /// the earliest.
    pub fn locate(&self, terms: &[Term]) -> Option<Location> {
        let set: HashSet<TermRef<'_>> = terms.iter().map(Term::as_ref).collect();
        // (score, (is an import, file, line)): the highest score, then the smallest key.
        type Candidate = (usize, (bool, usize, Option<usize>));
        let mut best: Option<Candidate> = None;
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
                Some((s, k)) => score > *s || (score == *s && key < *k),
            };
            if better {
                best = Some((score, key));
            }
        }
        let (_, (_, file, line)) = best?;
        let text = &self.files[file];
        Some(match line {
            Some(line) => {
                let column = text
                    .body
                    .lines()
                    .nth(line - 1)
                    .map_or(1, |l| l.len() - l.trim_start().len() + 1);
                let width = text
                    .body
                    .lines()
                    .nth(line - 1)
                    .map_or(1, |l| l.trim().chars().count());
                text.locate(line, column).0.with_width(width)
            }
            None => text.whole(),
        })
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
