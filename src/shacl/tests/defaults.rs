//! `sh:defaultValue`: added where missing, never over a stated value,
//! idempotent.

use oxigraph::model::{GraphNameRef, Literal, NamedNode, NamedNodeRef, Term};

use super::{Shapes, store};

fn value(store: &oxigraph::store::Store, s: &str, p: &str) -> Vec<Term> {
    store
        .quads_for_pattern(
            Some(NamedNodeRef::new_unchecked(s).into()),
            Some(NamedNodeRef::new_unchecked(p)),
            None,
            Some(GraphNameRef::DefaultGraph),
        )
        .map(|q| q.unwrap().object)
        .collect()
}

#[test]
fn defaults_fill_only_what_is_missing() {
    let store = store(&[
        "ex:ThingShape sh:targetClass ex:Thing ; sh:property ex:sizeShape , ex:nameShape .
         ex:sizeShape sh:path ex:size ; sh:defaultValue 10 .
         ex:nameShape sh:path ex:name .
         ex:Small rdfs:subClassOf ex:Thing .",
        "ex:a a ex:Thing . ex:b a ex:Small . ex:c a ex:Thing ; ex:size 3 .",
    ]);
    let shapes = Shapes::load(&store).unwrap();
    assert_eq!(
        shapes
            .apply_defaults(&store, &mut Default::default())
            .unwrap(),
        2
    );
    assert_eq!(
        shapes
            .apply_defaults(&store, &mut Default::default())
            .unwrap(),
        0,
        "idempotent"
    );
    let ten = Term::from(Literal::from(10));
    assert_eq!(
        value(&store, "http://example.org/a", "http://example.org/size"),
        std::slice::from_ref(&ten)
    );
    assert_eq!(
        value(&store, "http://example.org/b", "http://example.org/size"),
        [ten]
    );
    assert_eq!(
        value(&store, "http://example.org/c", "http://example.org/size"),
        [Term::from(Literal::from(3))]
    );
}

#[test]
fn new_instances_get_defaults_in_the_next_round() {
    let store = store(&[
        "ex:S sh:targetClass ex:Thing ; sh:property [ sh:path ex:p ; sh:defaultValue \"d\" ] .",
    ]);
    let shapes = Shapes::load(&store).unwrap();
    // One round's record of what got its defaults, carried to the next.
    let mut done = Default::default();
    assert_eq!(shapes.apply_defaults(&store, &mut done).unwrap(), 0);
    store
        .insert(oxigraph::model::QuadRef::new(
            NamedNodeRef::new_unchecked("http://example.org/new"),
            oxigraph::model::vocab::rdf::TYPE,
            &NamedNode::new_unchecked("http://example.org/Thing"),
            GraphNameRef::DefaultGraph,
        ))
        .unwrap();
    assert_eq!(shapes.apply_defaults(&store, &mut done).unwrap(), 1);
    assert_eq!(shapes.apply_defaults(&store, &mut done).unwrap(), 0);
}

#[test]
fn deactivated_shapes_give_no_default() {
    let store = store(&[
        "ex:S sh:targetClass ex:Thing ; sh:property [ sh:path ex:p ; sh:defaultValue 1 ; sh:deactivated true ] .",
        "ex:a a ex:Thing .",
    ]);
    assert_eq!(
        Shapes::load(&store)
            .unwrap()
            .apply_defaults(&store, &mut Default::default())
            .unwrap(),
        0
    );
}
