//! Each supported component, on data that passes and data that does not,
//! with its generic message.

use super::{messages, summary, validate};

/// A node shape for `ex:Thing` with one property shape on `ex:p`.
fn property(constraint: &str) -> String {
    format!(
        "ex:ThingShape a sh:NodeShape ; sh:targetClass ex:Thing ; sh:property ex:pShape .
         ex:pShape sh:path ex:p ; {constraint} ."
    )
}

/// Messages for `constraint` on `ex:a a ex:Thing ; ex:p {values}`.
fn run(constraint: &str, values: &str) -> Vec<String> {
    let data = if values.is_empty() {
        "ex:a a ex:Thing .".to_string()
    } else {
        format!("ex:a a ex:Thing ; ex:p {values} .")
    };
    let found = validate(&property(constraint), &data).expect("valid shapes");
    messages(&found).into_iter().map(str::to_string).collect()
}

#[test]
fn datatype() {
    let c = "sh:datatype xsd:integer";
    assert!(run(c, "10").is_empty());
    assert_eq!(
        run(c, "\"ten\""),
        ["http://example.org/a: p must be of type xsd:integer, but it is \"ten\" (xsd:string)"]
    );
    assert_eq!(
        run(c, "ex:b"),
        ["http://example.org/a: p must be of type xsd:integer, but it is \"http://example.org/b\""]
    );
    // An ill-formed literal of the right datatype is not a valid value.
    assert_eq!(run(c, "\"x\"^^xsd:integer").len(), 1);
    assert_eq!(run(c, "\"5\"@en").len(), 1);
    assert!(run("sh:datatype rdf:langString", "\"5\"@en").is_empty());
    assert!(run("sh:datatype xsd:boolean", "false").is_empty());
    assert_eq!(
        run("sh:datatype xsd:boolean", "\"yes\"^^xsd:boolean").len(),
        1
    );
}

#[test]
fn class() {
    let shapes = property("sh:class ex:Pool");
    let ok = validate(
        &shapes,
        "ex:Small rdfs:subClassOf ex:Pool . ex:b a ex:Small . ex:a a ex:Thing ; ex:p ex:b .",
    )
    .unwrap();
    assert!(ok.is_empty(), "an instance of a subclass is an instance");
    let bad = validate(&shapes, "ex:a a ex:Thing ; ex:p ex:c, \"lit\" .").unwrap();
    assert_eq!(
        messages(&bad),
        [
            "http://example.org/a: p must name a Pool, but lit is not one",
            "http://example.org/a: p must name a Pool, but http://example.org/c is not one",
        ]
    );
}

#[test]
fn node_kind() {
    assert!(run("sh:nodeKind sh:IRI", "ex:b").is_empty());
    assert!(run("sh:nodeKind sh:BlankNodeOrLiteral", "[] , 1").is_empty());
    assert_eq!(
        run("sh:nodeKind sh:IRI", "\"x\""),
        ["http://example.org/a: p must be an IRI, but it is \"x\""]
    );
}

#[test]
fn counts() {
    assert!(run("sh:minCount 1", "1").is_empty());
    assert_eq!(
        run("sh:minCount 1", ""),
        ["http://example.org/a: p has no value; give it one"]
    );
    assert_eq!(
        run("sh:minCount 3", "1, 2"),
        ["http://example.org/a: p has 2 values; give it at least 3"]
    );
    assert!(run("sh:maxCount 1", "1").is_empty());
    assert_eq!(
        run("sh:maxCount 1", "\"nats\", \"memory\""),
        ["http://example.org/a: p has several values (memory, nats); give it one"]
    );
    assert_eq!(
        run("sh:maxCount 2", "1, 2, 3"),
        ["http://example.org/a: p has 3 values (1, 2, 3); give it at most 2"]
    );
}

#[test]
fn ranges() {
    assert!(run("sh:minInclusive 1", "1").is_empty());
    assert_eq!(
        run("sh:minInclusive 1", "0"),
        ["http://example.org/a: p must be at least 1, but it is 0"]
    );
    // Numeric comparison across numeric datatypes, as SPARQL does it.
    assert!(run("sh:minInclusive 1", "1.5").is_empty());
    assert!(run("sh:minInclusive 1", "\"2\"^^xsd:int").is_empty());
    // What SPARQL cannot compare with the limit is a violation.
    assert_eq!(run("sh:minInclusive 1", "\"ten\"").len(), 1);
    assert_eq!(run("sh:minInclusive 1", "ex:b").len(), 1);
    assert!(run("sh:maxInclusive 5", "5").is_empty());
    assert_eq!(
        run("sh:maxInclusive 5", "6"),
        ["http://example.org/a: p must be at most 5, but it is 6"]
    );
    assert!(run("sh:minExclusive 0", "1").is_empty());
    assert_eq!(
        run("sh:minExclusive 0", "0"),
        ["http://example.org/a: p must be greater than 0, but it is 0"]
    );
    assert!(run("sh:maxExclusive 10", "9").is_empty());
    assert_eq!(
        run("sh:maxExclusive 10", "10"),
        ["http://example.org/a: p must be less than 10, but it is 10"]
    );
}

#[test]
fn in_list() {
    let c = "sh:in ( \"fifo\" \"lifo\" )";
    assert!(run(c, "\"lifo\"").is_empty());
    assert_eq!(
        run(c, "\"random\""),
        ["http://example.org/a: p must be one of fifo, lifo, but it is \"random\""]
    );
    // Term equality: a language-tagged "fifo" is another term.
    assert_eq!(run(c, "\"fifo\"@en").len(), 1);
}

#[test]
fn pattern() {
    let c = "sh:pattern \"^[A-Za-z0-9_-]+$\"";
    assert!(run(c, "\"JOBS\"").is_empty());
    assert_eq!(
        run(c, "\"A.B\""),
        ["http://example.org/a: p must match ^[A-Za-z0-9_-]+$, but it is \"A.B\""]
    );
    assert_eq!(run(c, "[]").len(), 1, "a blank node never matches");
    let flagged = "sh:pattern \"^jobs$\" ; sh:flags \"i\"";
    assert!(run(flagged, "\"JOBS\"").is_empty());
    assert_eq!(
        run(flagged, "\"x\""),
        ["http://example.org/a: p must match ^jobs$ (flags i), but it is \"x\""]
    );
    // IRIs are matched by their string.
    assert!(run("sh:pattern \"^http:\"", "ex:b").is_empty());
}

#[test]
fn closed() {
    let shapes = "ex:ThingShape a sh:NodeShape ; sh:targetClass ex:Thing ;
        sh:closed true ; sh:ignoredProperties ( rdf:type ) ;
        sh:property [ sh:path ex:p ] .";
    assert!(
        validate(shapes, "ex:a a ex:Thing ; ex:p 1 .")
            .unwrap()
            .is_empty()
    );
    let found = validate(shapes, "ex:a a ex:Thing ; ex:p 1 ; ex:q 2 .").unwrap();
    assert_eq!(
        summary(&found),
        [(
            "http://example.org/a".into(),
            "q".into(),
            "ClosedConstraintComponent"
        )]
    );
    assert_eq!(
        messages(&found),
        ["http://example.org/a: q is not a property of Thing"]
    );
    let with_message = shapes.replace(
        "sh:closed true ;",
        "sh:closed true ; sh:message \"{$this}: {$path} ({$value}) is unknown\" ;",
    );
    let found = validate(&with_message, "ex:a a ex:Thing ; ex:q 2 .").unwrap();
    assert_eq!(messages(&found), ["http://example.org/a: q (2) is unknown"]);
}

#[test]
fn property_shape_message_replaces_the_generic_one() {
    let shapes = property("sh:minInclusive 1 ; sh:message \"{$this} {$path} {$value}: too small\"");
    let found = validate(&shapes, "ex:a a ex:Thing ; ex:p 0 .").unwrap();
    assert_eq!(messages(&found), ["http://example.org/a p 0: too small"]);
}

#[test]
fn sparql() {
    let shapes = r#"ex:ThingShape a sh:NodeShape ; sh:targetClass ex:Thing ;
        sh:sparql [
            sh:prefixes ex:decl ;
            sh:message "{$this} and {?other} share {?name}" ;
            sh:select """
                SELECT $this ?other ?name WHERE {
                  $this ex:name ?name . ?other ex:name ?name .
                  FILTER(?other != $this)
                }"""
        ] .
        ex:decl sh:declare [ sh:prefix "ex" ; sh:namespace "http://example.org/"^^xsd:anyURI ] ."#;
    assert!(
        validate(
            shapes,
            "ex:a a ex:Thing ; ex:name \"x\" . ex:b a ex:Thing ; ex:name \"y\" ."
        )
        .unwrap()
        .is_empty()
    );
    let found = validate(
        shapes,
        "ex:a a ex:Thing ; ex:name \"x\" . ex:b a ex:Thing ; ex:name \"x\" .",
    )
    .unwrap();
    assert_eq!(
        messages(&found),
        [
            "http://example.org/a and http://example.org/b share x",
            "http://example.org/b and http://example.org/a share x",
        ]
    );
    assert_eq!(
        found[0].component.iri().as_str(),
        "http://www.w3.org/ns/shacl#SPARQLConstraintComponent"
    );
    // A node shape's result has the focus node as its value (SHACL 5.3.2),
    // and the row's IRIs and literals locate it.
    assert_eq!(found[0].value, Some(found[0].focus.clone()));
    assert_eq!(found[0].terms.len(), 3);
}

#[test]
fn sparql_path_and_value_come_from_the_row() {
    let shapes = r#"ex:ThingShape sh:targetNode ex:a ;
        sh:sparql [ sh:select """
            SELECT $this ?path ?value WHERE {
              $this ?path ?value . FILTER(isLiteral(?value) && ?value > 5)
            }""" ] ."#;
    let found = validate(shapes, "ex:a ex:p 1 ; ex:q 9 .").unwrap();
    assert_eq!(
        summary(&found),
        [(
            "http://example.org/a".into(),
            "q".into(),
            "SPARQLConstraintComponent"
        )]
    );
    assert_eq!(
        messages(&found),
        ["http://example.org/a: q: fails the SPARQL constraint of <http://example.org/ThingShape>"]
    );
}

#[test]
fn sparql_without_this_in_the_projection_still_binds_it() {
    let shapes = r#"ex:S sh:targetNode ex:a , ex:b ;
        sh:sparql [ sh:select "SELECT ?v WHERE { $this <http://example.org/p> ?v }" ] ."#;
    let found = validate(shapes, "ex:a ex:p 1 .").unwrap();
    assert_eq!(
        summary(&found),
        [(
            "http://example.org/a".into(),
            String::new(),
            "SPARQLConstraintComponent"
        )]
    );
}

#[test]
fn sparql_path_variable_on_a_property_shape() {
    let shapes = r#"ex:S sh:targetNode ex:a ; sh:property [ sh:path ex:p ;
        sh:sparql [ sh:select "SELECT $this ?value WHERE { $this $PATH ?value FILTER(?value > 1) }" ] ] ."#;
    let found = validate(shapes, "ex:a ex:p 1, 2 .").unwrap();
    assert_eq!(
        summary(&found),
        [(
            "http://example.org/a".into(),
            "p".into(),
            "SPARQLConstraintComponent"
        )]
    );
    assert_eq!(
        found[0]
            .value
            .as_ref()
            .map(super::super::message::text)
            .as_deref(),
        Some("2")
    );
}

#[test]
fn targets() {
    let shapes = "ex:S sh:targetNode ex:x ; sh:targetSubjectsOf ex:p ; sh:targetObjectsOf ex:q ;
        sh:property [ sh:path ex:r ; sh:minCount 1 ] .
        ex:Thing a rdfs:Class , sh:NodeShape ; sh:property [ sh:path ex:r ; sh:minCount 1 ] .";
    let found = validate(
        shapes,
        "ex:a ex:p 1 . ex:b ex:q ex:c . ex:d a ex:Thing . ex:x ex:r 1 .",
    )
    .unwrap();
    let foci: Vec<String> = summary(&found).into_iter().map(|(f, _, _)| f).collect();
    assert_eq!(
        foci,
        [
            "http://example.org/a",
            "http://example.org/c",
            "http://example.org/d"
        ]
    );
}

#[test]
fn deactivated_shapes_report_nothing() {
    let shapes = property("sh:minCount 1 ; sh:deactivated true");
    assert!(validate(&shapes, "ex:a a ex:Thing .").unwrap().is_empty());
}

#[test]
fn violations_are_sorted() {
    let shapes = property("sh:minInclusive 5 ; sh:datatype xsd:integer");
    let found = validate(
        &shapes,
        "ex:b a ex:Thing ; ex:p 1 . ex:a a ex:Thing ; ex:p \"x\", 2 .",
    )
    .unwrap();
    assert_eq!(
        summary(&found),
        [
            (
                "http://example.org/a".into(),
                "p".into(),
                "DatatypeConstraintComponent"
            ),
            (
                "http://example.org/a".into(),
                "p".into(),
                "MinInclusiveConstraintComponent"
            ),
            (
                "http://example.org/a".into(),
                "p".into(),
                "MinInclusiveConstraintComponent"
            ),
            (
                "http://example.org/b".into(),
                "p".into(),
                "MinInclusiveConstraintComponent"
            ),
        ]
    );
}

#[test]
fn sparql_aggregates_see_the_pre_bound_focus() {
    // $this is neither projected nor grouped: the engine projects it so
    // that pre-binding reaches the pattern under the aggregate.
    let shapes = r#"ex:S sh:targetNode ex:a , ex:b ;
        sh:sparql [ sh:select """
            SELECT (COUNT(?x) AS ?n) WHERE { $this <http://example.org/p> ?x }
            HAVING (COUNT(?x) > 1)""" ] ."#;
    let found = validate(shapes, "ex:a ex:p 1, 2 . ex:b ex:p 1 .").unwrap();
    assert_eq!(
        summary(&found),
        [(
            "http://example.org/a".into(),
            String::new(),
            "SPARQLConstraintComponent"
        )]
    );
}
