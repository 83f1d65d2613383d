//! Validation: the shapes, then every validation rule of the manifest (on
//! every core); all violations are reported together, each at the file and
//! line of the triple that states the offending value.

use oxigraph::model::Term;
use oxigraph::sparql::QueryResults;
use oxigraph::store::Store;

use super::load::Loaded;
use super::origins::{Origins, shape_error};
use crate::error::{Check, Diagnostic, Error, ErrorKind, Result};
use crate::inputs::Inputs;
use crate::manifest::Manifest;
use crate::shacl::Shapes;
use crate::sparql::{Engine, Form, Row, rows_with_terms};
use crate::templating::MessageTemplate;

/// Validates against the shapes and runs every validation rule; all
/// violations are reported together.
pub fn validate(
    manifest: &Manifest,
    inputs: &mut Inputs,
    engine: &Engine,
    store: &Store,
    loaded: &[Loaded],
    shapes: &Shapes,
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
        engine.run(query, store, |results| {
            let mut found = Vec::new();
            match results {
                QueryResults::Boolean(true) => found.push((
                    Check::ValidationRule,
                    message.render(&Row::default())?,
                    Vec::new(),
                )),
                QueryResults::Boolean(false) => {}
                QueryResults::Solutions(solutions) => {
                    let (rows, terms) = rows_with_terms(query, solutions)?;
                    for (row, terms) in rows.iter().zip(terms) {
                        found.push((Check::ValidationRule, message.render(row)?, terms));
                    }
                }
                QueryResults::Graph(_) => unreachable!("validation queries are SELECT or ASK"),
            }
            Ok(found)
        })
    };
    let results = parallel_map(&checks, run_check);
    let mut violations: Vec<(Check, String, Vec<Term>)> = shapes
        .validate(store)
        .map_err(|e| shape_error(manifest, loaded, store, e))?
        .into_iter()
        .map(|v| (Check::Shacl(v.component), v.message, v.terms))
        .collect();
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
        .map(|(check, message, terms)| Diagnostic {
            location: origins.locate(&terms),
            message,
            help: None,
            check: Some(check),
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
