//! SPARQL on the in-memory store: parsing with the standard prefixes
//! predeclared, syntax errors mapped to `file:line:col`, and the `ggen:`
//! functions (`http://ggen.dev/fn#snake_case` …) available in every query.

use std::collections::BTreeMap;
use std::time::Duration;

use oxigraph::model::{Literal, NamedNode, Term};
use oxigraph::sparql::{QueryResults, SparqlEvaluator};
use oxigraph::store::Store;
use spargebra::algebra::GraphPattern;

mod rows;

pub use rows::{Row, Value, rows_with_terms, typed_literal};

use crate::error::{Error, ErrorKind, Result};
use crate::inputs::Text;
use crate::manifest::Limits;
use crate::watchdog::{self, Deadline};
use crate::{names, nesting};

const DEPTH_HELP: &str =
    "split the query, or raise `sparql_depth` under `[limits]` in the manifest";

/// Namespace of the functions ggen adds to SPARQL.
pub const FN_NAMESPACE: &str = "http://ggen.dev/fn#";

/// Prefixes every Turtle file and query may use without declaring them.
pub const STANDARD_PREFIXES: &[(&str, &str)] = &[
    ("rdf", "http://www.w3.org/1999/02/22-rdf-syntax-ns#"),
    ("rdfs", "http://www.w3.org/2000/01/rdf-schema#"),
    ("xsd", "http://www.w3.org/2001/XMLSchema#"),
    ("owl", "http://www.w3.org/2002/07/owl#"),
];

/// The form of a parsed query.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Form {
    /// SELECT.
    Select,
    /// CONSTRUCT.
    Construct,
    /// ASK.
    Ask,
    /// DESCRIBE.
    Describe,
}

impl Form {
    fn name(self) -> &'static str {
        match self {
            Form::Select => "SELECT",
            Form::Construct => "CONSTRUCT",
            Form::Ask => "ASK",
            Form::Describe => "DESCRIBE",
        }
    }
}

/// What every query ggen parses or runs is held to, whoever parses it (the
/// engine, or the SHACL engine for `sh:sparql`): `[limits] sparql_depth`,
/// `query_seconds` and `memory_mb`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueryBounds {
    /// How deeply its text and algebra may nest.
    pub depth: u64,
    seconds: u64,
    memory_mb: u64,
}

impl QueryBounds {
    /// The bounds `limits` set.
    pub fn of(limits: &Limits) -> Self {
        QueryBounds {
            depth: limits.sparql_depth.get(),
            seconds: limits.query_seconds.get(),
            memory_mb: limits.memory_mb.get(),
        }
    }

    /// Watches `what` ("parsing the query of rule `x`"): past
    /// `query_seconds` or `memory_mb`, the watchdog ends the process with
    /// the error (neither spargebra's parser nor oxigraph's optimizer can
    /// be interrupted), exit 5.
    pub fn watch(&self, what: String) -> watchdog::Guard {
        let deadline = Deadline {
            after: Duration::from_secs(self.seconds),
            key: "query_seconds",
            help: "look for patterns repeated many times or calls nested without end",
        };
        watchdog::watch(ErrorKind::Sparql, what, self.memory_mb, Some(deadline))
    }
}

impl crate::shacl::QueryBounds for QueryBounds {
    fn depth(&self) -> u64 {
        self.depth
    }

    fn watch(&self, what: String) -> Box<dyn std::any::Any> {
        Box::new(QueryBounds::watch(self, what))
    }
}

/// A parsed query and where it came from.
#[derive(Clone)]
pub struct Query {
    /// The text, for error locations.
    pub text: Text,
    /// What it was parsed into.
    parsed: spargebra::Query,
    /// `[limits] rows`: how many rows or triples it may give.
    max_rows: u64,
    /// What it is, for errors ("the query of rule `x`").
    role: String,
}

/// Builds queries with the manifest's prefixes and evaluates them.
#[derive(Clone)]
pub struct Engine {
    prefixes: Vec<(String, String)>,
    base_iri: Option<String>,
    evaluator: SparqlEvaluator,
    limits: Limits,
}

impl Engine {
    /// An engine knowing the standard prefixes, `ggen:`, and `extra` prefixes.
    pub fn new(extra: &BTreeMap<String, String>, base_iri: Option<&str>) -> Self {
        let mut prefixes: Vec<(String, String)> = STANDARD_PREFIXES
            .iter()
            .map(|(p, i)| (p.to_string(), i.to_string()))
            .collect();
        prefixes.push(("ggen".into(), FN_NAMESPACE.into()));
        prefixes.extend(extra.iter().map(|(p, i)| (p.clone(), i.clone())));
        let mut evaluator = SparqlEvaluator::new();
        for &(name, convert) in names::CONVERSIONS {
            let iri = NamedNode::new_unchecked(format!("{FN_NAMESPACE}{name}"));
            evaluator = evaluator.with_custom_function(iri, move |args: &[Term]| {
                let [arg] = args else { return None };
                let input = match arg {
                    Term::NamedNode(n) => n.as_str(),
                    Term::Literal(l) => l.value(),
                    _ => return None,
                };
                Some(Literal::new_simple_literal(convert(input)).into())
            });
        }
        Engine {
            prefixes,
            base_iri: base_iri.map(str::to_string),
            evaluator,
            limits: Limits::default(),
        }
    }

    /// The same engine, refusing queries and results beyond `limits`.
    pub fn with_limits(self, limits: Limits) -> Self {
        Engine { limits, ..self }
    }

    /// The limits queries run under.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Parses `text`, which must be of one of the `allowed` forms; `role`
    /// names it in errors ("inference rule `x`").
    pub fn parse(&self, text: &Text, allowed: &[Form], role: &str) -> Result<Query> {
        let mut parser = spargebra::SparqlParser::new();
        for (p, iri) in &self.prefixes {
            parser = parser
                .with_prefix(p, iri)
                .map_err(|e| Error::new(ErrorKind::Manifest, format!("prefix `{p}`: {e}")))?;
        }
        if let Some(base) = &self.base_iri {
            parser = parser
                .with_base_iri(base)
                .map_err(|e| Error::new(ErrorKind::Manifest, format!("base_iri: {e}")))?;
        }
        let depth = self.limits.sparql_depth.get();
        if let Some(offset) = nesting::too_deep(&text.body, depth) {
            let (line, column) = crate::error::line_col(&text.body, offset);
            return Err(text
                .error_at(
                    ErrorKind::Sparql,
                    line,
                    column,
                    format!("{role} nests deeper than {depth} levels"),
                )
                .with_help(DEPTH_HELP));
        }
        // The grammar backtracks: some invalid texts take exponential time.
        let guard = self.watch(format!("parsing {role} ({})", text.shown));
        let parsed = parser
            .parse_query(&text.body)
            .map_err(|e| syntax_error(text, &e.to_string()))?;
        drop(guard);
        // A chain of `UNION`s nests in the algebra, not in the text: its
        // S-expression shows every level as parentheses.
        if nesting::too_deep(&parsed.to_sse(), depth).is_some() {
            return Err(Error::at(
                ErrorKind::Sparql,
                text.whole(),
                format!("{role} nests deeper than {depth} levels once parsed (a long chain of UNIONs, or deeply nested groups)"),
            )
            .with_help(DEPTH_HELP));
        }
        let form = form_of(&parsed);
        if !allowed.contains(&form) {
            let wanted: Vec<&str> = allowed.iter().map(|f| f.name()).collect();
            return Err(Error::at(
                ErrorKind::Sparql,
                text.whole(),
                format!(
                    "{role} is {} {} query; it must be {}",
                    if form == Form::Ask { "an" } else { "a" },
                    form.name(),
                    wanted.join(" or ")
                ),
            ));
        }
        Ok(Query {
            text: text.clone(),
            parsed,
            max_rows: self.limits.rows.get(),
            role: role.to_string(),
        })
    }

    /// Runs a query on the store and gives its results to `read`, all
    /// within `[limits] query_seconds` (oxigraph's optimizer cannot be
    /// interrupted, so past it the watchdog ends the process).
    pub fn run<'a, T>(
        &self,
        query: &Query,
        store: &'a Store,
        read: impl FnOnce(QueryResults<'a>) -> Result<T>,
    ) -> Result<T> {
        let _guard = self.watch(format!("running {} ({})", query.role, query.text.shown));
        let results = self
            .evaluator
            .clone()
            .for_query(query.parsed.clone())
            .on_store(store)
            .execute()
            .map_err(|e| evaluation_error(query, &e))?;
        read(results)
    }

    /// The bounds its queries are held to.
    pub fn bounds(&self) -> QueryBounds {
        QueryBounds::of(&self.limits)
    }

    /// Watches `what`, a query's parsing or run.
    fn watch(&self, what: String) -> watchdog::Guard {
        self.bounds().watch(what)
    }
}

impl Query {
    /// Fails once the query has given more than `[limits] rows` rows
    /// (`count` so far).
    pub fn check_rows(&self, count: usize) -> Result<()> {
        if count as u64 <= self.max_rows {
            return Ok(());
        }
        Err(Error::at(
            ErrorKind::Sparql,
            self.text.whole(),
            format!("the query gives more than {} rows", self.max_rows),
        )
        .with_help("a join without a shared variable multiplies its sides; if the rows are meant, raise `rows` under `[limits]` in the manifest"))
    }

    /// Whether the query fixes its row order with ORDER BY.
    pub fn is_ordered(&self) -> bool {
        let spargebra::Query::Select { pattern, .. } = &self.parsed else {
            return true;
        };
        let mut p = pattern;
        loop {
            match p {
                GraphPattern::OrderBy { .. } => return true,
                GraphPattern::Project { inner, .. }
                | GraphPattern::Distinct { inner }
                | GraphPattern::Reduced { inner }
                | GraphPattern::Slice { inner, .. } => p = inner,
                _ => return false,
            }
        }
    }
}

/// An error raised while a query runs (not a syntax error).
pub fn evaluation_error(query: &Query, e: &dyn std::fmt::Display) -> Error {
    Error::at(
        ErrorKind::Sparql,
        query.text.whole(),
        format!("the query failed: {e}"),
    )
}

fn form_of(q: &spargebra::Query) -> Form {
    match q {
        spargebra::Query::Select { .. } => Form::Select,
        spargebra::Query::Construct { .. } => Form::Construct,
        spargebra::Query::Ask { .. } => Form::Ask,
        spargebra::Query::Describe { .. } => Form::Describe,
    }
}

/// `error at 3:15: expected …` → an error at line 3, column 15 of the text.
fn syntax_error(text: &Text, message: &str) -> Error {
    let parsed = message.strip_prefix("error at ").and_then(|rest| {
        let (pos, expected) = rest.split_once(": ")?;
        let (line, column) = pos.split_once(':')?;
        Some((line.parse().ok()?, column.parse().ok()?, expected))
    });
    match parsed {
        Some((line, column, expected)) => text.error_at(
            ErrorKind::Sparql,
            line,
            column,
            format!("SPARQL syntax error: {expected}"),
        ),
        None => Error::at(
            ErrorKind::Sparql,
            text.whole(),
            format!("SPARQL syntax error: {message}"),
        ),
    }
}
