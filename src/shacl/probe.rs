//! The SPARQL operators core components are defined by (`<=`, `<`,
//! `REGEX`, datatype casts), evaluated by oxigraph itself so that behaviour
//! matches SPARQL exactly. Each distinct question is asked once per run:
//! most values repeat (every pool has the default pool size).

use std::collections::HashMap;

use oxigraph::model::{Literal, NamedNodeRef, Term};
use oxigraph::sparql::{QueryResults, SparqlEvaluator, Variable};
use oxigraph::store::Store;

use super::error::ShapeError;
use super::model::Bound;

const XSD: &str = "http://www.w3.org/2001/XMLSchema#";

/// XSD datatypes oxigraph can cast to: a literal of one of them is well
/// formed when casting it to its own datatype succeeds. Literals of other
/// datatypes are taken as well formed (their lexical space is not checked).
const CASTABLE: &[&str] = &[
    "string",
    "boolean",
    "integer",
    "decimal",
    "float",
    "double",
    "dateTime",
    "date",
    "time",
    "duration",
    "yearMonthDuration",
    "dayTimeDuration",
    "gYear",
    "gYearMonth",
    "gMonth",
    "gMonthDay",
    "gDay",
];

#[derive(PartialEq, Eq, Hash)]
enum Question {
    Range(Bound, Literal, Term),
    Regex(String, String, String),
    ValidRegex(String, String),
    WellFormed(Literal),
}

/// Asks oxigraph; remembers the answers.
pub struct Probe {
    empty: Store,
    answers: HashMap<Question, bool>,
}

impl Probe {
    pub fn new() -> Result<Self, ShapeError> {
        Ok(Probe {
            empty: Store::new().map_err(ShapeError::store)?,
            answers: HashMap::new(),
        })
    }

    /// Whether `value` satisfies the bound; values SPARQL cannot compare
    /// with the limit (a string against a number) do not.
    pub fn in_range(
        &mut self,
        bound: Bound,
        limit: &Literal,
        value: &Term,
    ) -> Result<bool, ShapeError> {
        let question = Question::Range(bound, limit.clone(), value.clone());
        let query = format!(
            "SELECT ?limit ?value ?ok WHERE {{ BIND(({}) AS ?ok) }}",
            bound.expression()
        );
        self.ask(
            question,
            &query,
            &[("limit", limit.clone().into()), ("value", value.clone())],
        )
    }

    /// `REGEX(text, pattern, flags)`; false when the pattern is invalid.
    pub fn matches(&mut self, text: &str, pattern: &str, flags: &str) -> Result<bool, ShapeError> {
        let question = Question::Regex(text.into(), pattern.into(), flags.into());
        let query = "SELECT ?text ?pattern ?flags ?ok WHERE { BIND(REGEX(?text, ?pattern, ?flags) AS ?ok) }";
        self.ask(
            question,
            query,
            &[
                ("text", Literal::new_simple_literal(text).into()),
                ("pattern", Literal::new_simple_literal(pattern).into()),
                ("flags", Literal::new_simple_literal(flags).into()),
            ],
        )
    }

    /// Whether oxigraph's REGEX accepts the pattern and flags at all.
    pub fn is_valid_regex(&mut self, pattern: &str, flags: &str) -> Result<bool, ShapeError> {
        let query = "SELECT ?pattern ?flags ?ok WHERE { BIND(REGEX(\"\", ?pattern, ?flags) AS ?r) BIND(BOUND(?r) AS ?ok) }";
        self.ask(
            Question::ValidRegex(pattern.into(), flags.into()),
            query,
            &[
                ("pattern", Literal::new_simple_literal(pattern).into()),
                ("flags", Literal::new_simple_literal(flags).into()),
            ],
        )
    }

    /// Whether a literal's lexical form is in its datatype's lexical space
    /// (checked for the datatypes in [`CASTABLE`] only).
    pub fn well_formed(&mut self, literal: &Literal) -> Result<bool, ShapeError> {
        let datatype = literal.datatype();
        let castable = datatype
            .as_str()
            .strip_prefix(XSD)
            .is_some_and(|local| CASTABLE.contains(&local));
        if !castable || literal.language().is_some() {
            return Ok(true);
        }
        let query = format!(
            "SELECT ?value ?ok WHERE {{ BIND(<{}>(?value) AS ?cast) BIND(BOUND(?cast) AS ?ok) }}",
            datatype.as_str()
        );
        self.ask(
            Question::WellFormed(literal.clone()),
            &query,
            &[("value", literal.clone().into())],
        )
    }

    /// Runs `query` with the variables pre-bound; true when `?ok` is bound
    /// to true.
    fn ask(
        &mut self,
        question: Question,
        query: &str,
        bindings: &[(&str, Term)],
    ) -> Result<bool, ShapeError> {
        if let Some(&answer) = self.answers.get(&question) {
            return Ok(answer);
        }
        let mut prepared = SparqlEvaluator::new()
            .parse_query(query)
            .map_err(|e| ShapeError::Store(format!("internal query does not parse: {e}")))?;
        for (name, term) in bindings {
            prepared = prepared.substitute_variable(Variable::new_unchecked(*name), term.clone());
        }
        let results = prepared
            .on_store(&self.empty)
            .execute()
            .map_err(|e| ShapeError::Store(e.to_string()))?;
        let QueryResults::Solutions(mut solutions) = results else {
            return Err(ShapeError::Store("internal query is not a SELECT".into()));
        };
        let answer = match solutions.next() {
            Some(solution) => {
                let solution = solution.map_err(|e| ShapeError::Store(e.to_string()))?;
                matches!(solution.get("ok"), Some(Term::Literal(l)) if l.value() == "true")
            }
            None => false,
        };
        self.answers.insert(question, answer);
        Ok(answer)
    }
}

/// `xsd:integer` → `xsd:integer`; other IRIs in full (for messages).
pub fn datatype_name(datatype: NamedNodeRef<'_>) -> String {
    let iri = datatype.as_str();
    if let Some(local) = iri.strip_prefix(XSD) {
        format!("xsd:{local}")
    } else if let Some(local) = iri.strip_prefix("http://www.w3.org/1999/02/22-rdf-syntax-ns#") {
        format!("rdf:{local}")
    } else {
        iri.to_string()
    }
}
