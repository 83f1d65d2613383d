//! Validation: every check runs (on every core), all violations are
//! reported together, each at the file and line of the triple that states
//! the offending value.

use std::collections::{HashMap, HashSet};

use oxigraph::model::{Term, TermRef, Triple};
use oxigraph::sparql::QueryResults;
use oxigraph::store::Store;

use super::load::{Loaded, parse_file};
use crate::error::{Diagnostic, Error, ErrorKind, Location, Result};
use crate::inputs::{Inputs, Text};
use crate::manifest::Manifest;
use crate::sparql::{Engine, Form, Row, rows_with_terms};
use crate::templating::MessageTemplate;

/// Where each loaded triple was read, to point validation errors at it.
struct Origins {
    files: Vec<Text>,
    /// Per file: is it a specification source (rather than an import)?
    is_source: Vec<bool>,
    lines: HashMap<Triple, (usize, Option<usize>)>,
}

/// Runs every validation rule; all violations are reported together.
pub fn validate(
    manifest: &Manifest,
    inputs: &mut Inputs,
    engine: &Engine,
    store: &Store,
    loaded: &[Loaded],
) -> Result<()> {
    let mut checks = Vec::new();
    for rule in &manifest.validation {
        let text = inputs.source(manifest, &rule.query, ErrorKind::Sparql)?;
        let role = format!("validation rule `{}`", rule.name);
        let query = engine.parse(&text, &[Form::Select, Form::Ask], &role)?;
        let message = inputs.source(manifest, &rule.message, ErrorKind::Template)?;
        checks.push((query, MessageTemplate::new(&rule.name, message)?));
    }
    // The checks are independent read-only queries: run them on every core.
    let run_check = |(query, message): &(crate::sparql::Query, MessageTemplate)| {
        let mut found = Vec::new();
        match engine.run(query, store)? {
            QueryResults::Boolean(true) => {
                found.push((message.render(&Row::default())?, Vec::new()))
            }
            QueryResults::Boolean(false) => {}
            QueryResults::Solutions(solutions) => {
                let (rows, terms) = rows_with_terms(query, solutions)?;
                for (row, terms) in rows.iter().zip(terms) {
                    found.push((message.render(row)?, terms));
                }
            }
            QueryResults::Graph(_) => unreachable!("validation queries are SELECT or ASK"),
        }
        Ok(found)
    };
    let results = parallel_map(&checks, run_check);
    let mut violations: Vec<(String, Vec<Term>)> = Vec::new();
    for result in results {
        violations.extend(result?);
    }
    if violations.is_empty() {
        return Ok(());
    }
    // The failing path: parse again, noting each triple's line.
    let origins = Origins::new(manifest, loaded)?;
    let diagnostics = violations
        .into_iter()
        .map(|(message, terms)| Diagnostic {
            location: origins.locate(&terms),
            message,
            help: None,
        })
        .collect();
    Err(Error::many(ErrorKind::Ontology, diagnostics))
}

/// `f` over `items` on up to as many threads as there are cores, results
/// in the order of `items`.
fn parallel_map<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(items.len());
    if threads <= 1 {
        return items.iter().map(f).collect();
    }
    let next = std::sync::atomic::AtomicUsize::new(0);
    let mut results: Vec<(usize, R)> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    let mut done = Vec::new();
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some(item) = items.get(i) else { break done };
                        done.push((i, f(item)));
                    }
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| {
                w.join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            })
            .collect()
    });
    results.sort_by_key(|(i, _)| *i);
    results.into_iter().map(|(_, r)| r).collect()
}

impl Origins {
    fn new(manifest: &Manifest, loaded: &[Loaded]) -> Result<Self> {
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
    fn locate(&self, terms: &[Term]) -> Option<Location> {
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
