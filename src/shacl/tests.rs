//! Tests of the SHACL engine: each component on passing and failing data
//! (`components`), loading errors (`loading`), defaults (`defaults`), the
//! jobs shapes and their messages (`jobs`), and agreement with pySHACL on
//! the fixtures of tests/fixtures/shacl (`agreement`).

mod agreement;
mod components;
mod defaults;
mod jobs;
mod loading;

use oxigraph::io::{RdfFormat, RdfParser};
use oxigraph::store::Store;

use super::{ShapeError, Shapes, Violation};

const PREFIXES: &str = "\
@prefix sh: <http://www.w3.org/ns/shacl#> .
@prefix rdf: <http://www.w3.org/1999/02/22-rdf-syntax-ns#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
@prefix ex: <http://example.org/> .
";

/// A store holding the Turtle texts (with the common prefixes).
fn store(texts: &[&str]) -> Store {
    let store = Store::new().expect("store");
    for text in texts {
        let body = format!("{PREFIXES}{text}");
        store
            .load_from_reader(RdfParser::from_format(RdfFormat::Turtle), body.as_bytes())
            .expect("test Turtle parses");
    }
    store
}

/// Loads the shapes and validates the data.
fn validate(shapes: &str, data: &str) -> Result<Vec<Violation>, ShapeError> {
    let store = store(&[shapes, data]);
    Shapes::load(&store)?.validate(&store)
}

/// Violations as (focus, path local name, component local name).
fn summary(violations: &[Violation]) -> Vec<(String, String, &'static str)> {
    violations
        .iter()
        .map(|v| {
            (
                super::message::text(&v.focus),
                v.path
                    .as_ref()
                    .map_or(String::new(), |p| crate::names::local_name(p.as_str())),
                v.component.local_name(),
            )
        })
        .collect()
}

fn messages(violations: &[Violation]) -> Vec<&str> {
    violations.iter().map(|v| v.message.as_str()).collect()
}

#[test]
fn shapes_can_be_shared_between_threads() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<Shapes>();
    send_sync::<Violation>();
}

#[test]
fn components_name_their_iris() {
    use super::Component;
    assert_eq!(
        Component::MinInclusive.iri().as_str(),
        "http://www.w3.org/ns/shacl#MinInclusiveConstraintComponent"
    );
    assert_eq!(Component::Sparql.local_name(), "SPARQLConstraintComponent");
}

#[test]
fn validation_split_between_threads_finds_what_one_thread_finds() {
    // Enough focus nodes, some invalid in each of several ways, and a
    // SPARQL constraint: the split must not change a result or its order.
    let shapes = r#"
        ex:S a sh:NodeShape ; sh:targetClass ex:Pool ;
            sh:property [ sh:path ex:size ; sh:datatype xsd:integer ; sh:minInclusive 1 ; sh:maxCount 1 ] ;
            sh:property [ sh:path ex:name ; sh:minCount 1 ] ;
            sh:sparql [ sh:message "odd pool {$this}" ;
                        sh:select """SELECT $this WHERE { $this <http://example.org/odd> true }""" ] .
    "#;
    let mut data = String::new();
    for i in 0..600 {
        let size = match i % 7 {
            0 => "0".to_string(),
            1 => "\"x\"".to_string(),
            2 => "1, 2".to_string(),
            _ => (i % 5 + 1).to_string(),
        };
        let name = if i % 11 == 0 { "" } else { "ex:name \"n\" ;" };
        let odd = if i % 13 == 0 { "ex:odd true ;" } else { "" };
        data.push_str(&format!(
            "ex:p{i} a ex:Pool ; {name} {odd} ex:size {size} .\n"
        ));
    }
    let store = store(&[shapes, &data]);
    let shapes = Shapes::load(&store).unwrap();
    let one = shapes.validate_on(&store, 1).unwrap();
    assert!(one.len() > 300, "{} violations", one.len());
    for threads in [2, 3, 8] {
        assert_eq!(
            shapes.validate_on(&store, threads).unwrap(),
            one,
            "{threads} threads"
        );
    }
}
