//! Validation: every focus node of every shape against its constraints,
//! each failing value a [`Violation`] with its message.

use oxigraph::model::{GraphNameRef, NamedNode, Term};
use oxigraph::store::Store;

use super::Violation;
use super::error::ShapeError;
use super::graph::{self, as_subject};
use super::message::{self, subject, text};
use super::model::{Constraint, Shape, SparqlConstraint, Target};
use super::probe::{Probe, datatype_name};
use super::sparql::{self, Row};
use super::vocab::Component;
use crate::names::local_name;

/// Focus nodes below which validation stays on one thread.
const PARALLEL_FROM: usize = 4096;

/// All violations, sorted by focus, path, component and value. The focus
/// nodes are split between threads (one per core, when there are many);
/// the sorted result and the first error in focus order do not depend on
/// the split.
pub fn validate(shapes: &[Shape], store: &Store) -> Result<Vec<Violation>, ShapeError> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get().min(8));
    validate_on(shapes, store, cores, PARALLEL_FROM)
}

/// [`validate`] on up to `threads` threads once there are `from` focus nodes.
pub(super) fn validate_on(
    shapes: &[Shape],
    store: &Store,
    threads: usize,
    from: usize,
) -> Result<Vec<Violation>, ShapeError> {
    let mut work: Vec<(&Shape, Term)> = Vec::new();
    for shape in shapes {
        if shape.deactivated || shape.targets.is_empty() {
            continue;
        }
        for focus in graph::focus_nodes(store, &shape.targets)? {
            work.push((shape, focus));
        }
    }
    let threads = match work.len() < from {
        true => 1,
        false => threads.max(1),
    };
    let check = |part: &[(&Shape, Term)]| -> Result<Vec<Violation>, ShapeError> {
        let mut run = Run {
            shapes,
            store,
            probe: Probe::new()?,
            out: Vec::new(),
        };
        for (shape, focus) in part {
            run.shape(shape, focus)?;
        }
        Ok(run.out)
    };
    let size = work.len().div_ceil(threads).max(1);
    let parts: Vec<Result<Vec<Violation>, ShapeError>> = match threads {
        1 => vec![check(&work)],
        _ => std::thread::scope(|scope| {
            let handles: Vec<_> = work
                .chunks(size)
                .map(|part| scope.spawn(move || check(part)))
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
                .collect()
        }),
    };
    let mut out = Vec::new();
    for part in parts {
        out.extend(part?);
    }
    // A shape reached twice (by its own target and by sh:property) reports
    // the same result twice: keep one.
    out.sort_by_cached_key(|v| {
        (
            v.focus.to_string(),
            v.path.as_ref().map(NamedNode::to_string),
            v.component,
            v.value.as_ref().map(Term::to_string),
            v.shape.to_string(),
            v.message.clone(),
        )
    });
    out.dedup_by(|a, b| {
        a.focus == b.focus
            && a.path == b.path
            && a.component == b.component
            && a.value == b.value
            && a.shape == b.shape
            && a.message == b.message
    });
    Ok(out)
}

struct Run<'a> {
    shapes: &'a [Shape],
    store: &'a Store,
    probe: Probe,
    out: Vec<Violation>,
}

/// One failure before it becomes a [`Violation`].
struct Finding<'a> {
    component: Component,
    path: Option<&'a NamedNode>,
    value: Option<Term>,
    generic: String,
    template: Option<&'a str>,
    row: Row,
}

impl<'a> Run<'a> {
    fn shape(&mut self, shape: &'a Shape, focus: &Term) -> Result<(), ShapeError> {
        let values = match (&shape.path, as_subject(focus)) {
            (Some(path), Some(s)) => graph::objects(self.store, s, path.as_ref())?,
            (Some(_), None) => Vec::new(),
            (None, _) => vec![focus.clone()],
        };
        for constraint in &shape.constraints {
            self.constraint(shape, constraint, focus, &values)?;
        }
        let shapes = self.shapes;
        for &p in &shape.properties {
            if !shapes[p].deactivated {
                self.shape(&shapes[p], focus)?;
            }
        }
        Ok(())
    }

    fn constraint(
        &mut self,
        shape: &'a Shape,
        constraint: &'a Constraint,
        focus: &Term,
        values: &[Term],
    ) -> Result<(), ShapeError> {
        let path = shape.path.as_ref();
        // Only a failure needs the text: build it then.
        let at = || subject(focus, path);
        let component = constraint.component();
        let each = |value: &Term, generic: String| Finding {
            component,
            path,
            value: Some(value.clone()),
            generic,
            template: shape.message.as_deref(),
            row: Vec::new(),
        };
        let mut found = Vec::new();
        match constraint {
            Constraint::Datatype(datatype) => {
                for value in values {
                    let ok = match value {
                        Term::Literal(l) => {
                            l.datatype() == datatype.as_ref() && self.probe.well_formed(l)?
                        }
                        _ => false,
                    };
                    if !ok {
                        let actual = match value {
                            Term::Literal(l) => {
                                format!(" ({})", datatype_name(l.datatype()))
                            }
                            _ => String::new(),
                        };
                        let generic = format!(
                            "{} must be of type {}, but it is \"{}\"{actual}",
                            at(),
                            datatype_name(datatype.as_ref()),
                            text(value)
                        );
                        found.push(each(value, generic));
                    }
                }
            }
            Constraint::Class(class) => {
                for value in values {
                    if !graph::is_instance(self.store, value, class.as_ref())? {
                        let generic = format!(
                            "{} must name a {}, but {} is not one",
                            at(),
                            local_name(class.as_str()),
                            text(value)
                        );
                        found.push(each(value, generic));
                    }
                }
            }
            Constraint::NodeKind(kind) => {
                for value in values.iter().filter(|v| !kind.admits(v)) {
                    found.push(each(
                        value,
                        format!("{} must be {}, but it is {value}", at(), kind.wording()),
                    ));
                }
            }
            Constraint::MinCount(min) => {
                let n = values.len() as u64;
                if n < *min {
                    let generic = if n == 0 && *min == 1 {
                        format!("{} has no value; give it one", at())
                    } else {
                        format!("{} has {n} values; give it at least {min}", at())
                    };
                    found.push(Finding {
                        value: None,
                        ..each(focus, generic)
                    });
                }
            }
            Constraint::MaxCount(max) => {
                let n = values.len() as u64;
                if n > *max {
                    let mut listed: Vec<String> = values.iter().map(text).collect();
                    listed.sort();
                    let listed = listed.join(", ");
                    let generic = if *max == 1 {
                        format!("{} has several values ({listed}); give it one", at())
                    } else {
                        format!("{} has {n} values ({listed}); give it at most {max}", at())
                    };
                    found.push(Finding {
                        value: None,
                        ..each(focus, generic)
                    });
                }
            }
            Constraint::Range(bound, limit) => {
                for value in values {
                    if !self.probe.in_range(*bound, limit, value)? {
                        let generic = format!(
                            "{} must be {} {}, but it is {}",
                            at(),
                            bound.wording(),
                            limit.value(),
                            text(value)
                        );
                        found.push(each(value, generic));
                    }
                }
            }
            Constraint::In(members) => {
                for value in values.iter().filter(|v| !members.contains(v)) {
                    let allowed: Vec<String> = members.iter().map(text).collect();
                    let generic = format!(
                        "{} must be one of {}, but it is \"{}\"",
                        at(),
                        allowed.join(", "),
                        text(value)
                    );
                    found.push(each(value, generic));
                }
            }
            Constraint::Pattern { pattern, flags } => {
                for value in values {
                    // SHACL: blank nodes never match; other terms by STR().
                    let ok = !value.is_blank_node()
                        && self.probe.matches(&text(value), pattern, flags)?;
                    if !ok {
                        let flags = if flags.is_empty() {
                            String::new()
                        } else {
                            format!(" (flags {flags})")
                        };
                        let generic = format!(
                            "{} must match {pattern}{flags}, but it is \"{}\"",
                            at(),
                            text(value)
                        );
                        found.push(each(value, generic));
                    }
                }
            }
            Constraint::Closed { allowed } => self.closed(shape, allowed, focus)?,
            Constraint::Sparql(sparql) => self.sparql(shape, sparql, focus)?,
        }
        for finding in found {
            self.push(shape, focus, finding, None);
        }
        Ok(())
    }

    /// `sh:closed`: each triple of the focus node whose predicate is not
    /// allowed, with the predicate as the result's path.
    fn closed(
        &mut self,
        shape: &Shape,
        allowed: &[NamedNode],
        focus: &Term,
    ) -> Result<(), ShapeError> {
        let Some(s) = as_subject(focus) else {
            return Ok(());
        };
        let owner = owner_name(shape);
        for quad in
            self.store
                .quads_for_pattern(Some(s), None, None, Some(GraphNameRef::DefaultGraph))
        {
            let quad = quad.map_err(ShapeError::store)?;
            if allowed.contains(&quad.predicate) {
                continue;
            }
            let generic = format!(
                "{}: {} is not a property of {owner}",
                text(focus),
                local_name(quad.predicate.as_str())
            );
            let finding = Finding {
                component: Component::Closed,
                path: None,
                value: Some(quad.object),
                generic,
                template: shape.message.as_deref(),
                row: Vec::new(),
            };
            self.push(shape, focus, finding, Some(quad.predicate));
        }
        Ok(())
    }

    /// `sh:sparql`: each solution is a result; its `?path` and `?value`
    /// become the result's.
    fn sparql(
        &mut self,
        shape: &Shape,
        sparql: &SparqlConstraint,
        focus: &Term,
    ) -> Result<(), ShapeError> {
        let path = shape.path.as_ref();
        for row in sparql::run(sparql, &shape.id, focus, self.store)? {
            let bound = |name: &str| row.iter().find(|(v, _)| v == name).map(|(_, t)| t.clone());
            let row_path = match bound("path") {
                Some(Term::NamedNode(p)) => Some(p),
                _ => None,
            };
            // SHACL: without ?value, a node shape's result has the focus
            // node as its value.
            let value = bound("value").or_else(|| path.is_none().then(|| focus.clone()));
            let generic = format!(
                "{}: fails the SPARQL constraint of {}",
                subject(focus, row_path.as_ref().or(path)),
                shape.id
            );
            let template = sparql.message.as_deref().or(shape.message.as_deref());
            let finding = Finding {
                component: Component::Sparql,
                path,
                value,
                generic,
                template,
                row: row.clone(),
            };
            self.push(shape, focus, finding, row_path);
        }
        Ok(())
    }

    /// Turns a finding into a violation; `path` overrides the shape's.
    fn push(&mut self, shape: &Shape, focus: &Term, finding: Finding<'_>, path: Option<NamedNode>) {
        let path = path.or_else(|| finding.path.cloned());
        let message = match finding.template {
            Some(t) => message::render(
                t,
                focus,
                path.as_ref(),
                finding.value.as_ref(),
                &finding.row,
            ),
            None => finding.generic,
        };
        let mut terms = vec![focus.clone()];
        terms.extend(path.iter().map(|p| Term::from(p.clone())));
        terms.extend(finding.value.iter().cloned());
        terms.extend(
            finding
                .row
                .iter()
                .map(|(_, t)| t.clone())
                .filter(|t| !t.is_blank_node()),
        );
        let mut seen = std::collections::HashSet::new();
        terms.retain(|t| seen.insert(t.clone()));
        self.out.push(Violation {
            focus: focus.clone(),
            path,
            value: finding.value,
            component: finding.component,
            shape: shape.id.clone(),
            message,
            terms,
        });
    }
}

/// How the generic `sh:closed` message names what the focus node is: the
/// shape's target class, else the shape.
fn owner_name(shape: &Shape) -> String {
    let class = shape.targets.iter().find_map(|t| match t {
        Target::Class(c) => Some(local_name(c.as_str())),
        _ => None,
    });
    class.unwrap_or_else(|| match &shape.id {
        oxigraph::model::NamedOrBlankNode::NamedNode(n) => local_name(n.as_str()),
        other => other.to_string(),
    })
}
