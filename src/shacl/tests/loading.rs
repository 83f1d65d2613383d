//! Shapes the engine refuses, each error naming the shape.

use super::{ShapeError, Shapes, store};

fn load_error(shapes: &str) -> String {
    let store = store(&[shapes]);
    match Shapes::load(&store) {
        Ok(_) => panic!("shapes should not load:\n{shapes}"),
        Err(e @ ShapeError::Malformed { .. }) => e.to_string(),
        Err(other) => panic!("unexpected error kind: {other}"),
    }
}

#[test]
fn malformed_shapes_are_errors_naming_the_shape() {
    let cases = [
        (
            "ex:S sh:targetClass ex:T ; sh:property ex:P . ex:P sh:path [ sh:inversePath ex:p ] .",
            "shape <http://example.org/P>: sh:path _:",
            "is not an IRI: ggen's SHACL engine supports only predicate paths",
        ),
        (
            "ex:S sh:targetClass ex:T ; sh:property ex:P . ex:P sh:path ex:p ; sh:in ex:notAList .",
            "shape <http://example.org/P>: sh:in is not a well-formed RDF list",
            "needs exactly one rdf:first and one rdf:rest",
        ),
        (
            "ex:S sh:targetClass ex:T ; sh:property ex:P . ex:P sh:path ex:p ; sh:maxCount \"one\" .",
            "shape <http://example.org/P>: sh:maxCount \"one\" is not a non-negative xsd:integer",
            "",
        ),
        (
            "ex:S sh:targetClass ex:T ; sh:property ex:P . ex:P sh:path ex:p ; sh:maxCount 1.5 .",
            "shape <http://example.org/P>: sh:maxCount",
            "is not a non-negative xsd:integer",
        ),
        (
            "ex:S sh:targetClass ex:T ; sh:sparql [ sh:select \"SELECT $this WHERE { \" ] .",
            "shape <http://example.org/S>: its sh:select does not parse",
            "",
        ),
        (
            "ex:S sh:targetClass ex:T ; sh:sparql [ sh:select \"ASK { $this ?p ?o }\" ] .",
            "shape <http://example.org/S>: its sh:select is not a SELECT query",
            "",
        ),
        (
            "ex:S sh:targetClass ex:T ; sh:sparql [ sh:select \"SELECT $this WHERE { $this ex:p ?o }\" ] .",
            "shape <http://example.org/S>: its sh:select does not parse",
            "",
        ),
        (
            "ex:S sh:targetClass ex:T ; sh:or ( ex:A ex:B ) .",
            "shape <http://example.org/S>: sh:or is not supported by ggen's SHACL engine",
            "",
        ),
        (
            "ex:S sh:targetClass ex:T ; sh:property ex:P . ex:P sh:path ex:p ; sh:defaultValue 1, 2 .",
            "shape <http://example.org/P>: sh:defaultValue has several values; SHACL allows one",
            "",
        ),
        (
            "ex:S sh:targetClass ex:T ; sh:property ex:P . ex:P sh:path ex:p ; sh:pattern \"(\" .",
            "shape <http://example.org/P>: sh:pattern \"(\"",
            "is not a regular expression SPARQL REGEX accepts",
        ),
        (
            "ex:P a sh:PropertyShape ; sh:datatype xsd:string .",
            "shape <http://example.org/P>: a sh:PropertyShape needs sh:path",
            "",
        ),
        (
            "ex:S sh:targetClass ex:T ; sh:severity sh:Warning .",
            "shape <http://example.org/S>: sh:severity",
            "reports every result as a sh:Violation",
        ),
    ];
    for (shapes, start, contains) in cases {
        let error = load_error(shapes);
        assert!(
            error.starts_with(start),
            "{error}\ndoes not start with\n{start}"
        );
        assert!(
            error.contains(contains),
            "{error}\ndoes not contain\n{contains}"
        );
    }
}

#[test]
fn a_cyclic_list_is_malformed() {
    let error = load_error(
        "ex:S sh:targetClass ex:T ; sh:property ex:P . ex:P sh:path ex:p ; sh:in ex:l .
         ex:l rdf:first 1 ; rdf:rest ex:l .",
    );
    assert!(error.contains("the list has a cycle"), "{error}");
}

#[test]
fn empty_and_non_empty() {
    assert!(Shapes::load(&store(&["ex:a ex:p 1 ."])).unwrap().is_empty());
    assert!(
        !Shapes::load(&store(&["ex:S sh:targetNode ex:a ."]))
            .unwrap()
            .is_empty()
    );
}

#[test]
fn non_validating_properties_are_accepted() {
    let shapes = "ex:S sh:targetClass ex:T ; sh:name \"S\" ; sh:description \"d\" ;
        sh:property [ sh:path ex:p ; sh:order 1 ; sh:group ex:G ; sh:severity sh:Violation ] .";
    assert!(Shapes::load(&store(&[shapes])).is_ok());
}
