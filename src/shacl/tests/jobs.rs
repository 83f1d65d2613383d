//! The jobs shapes (ontology/jobs.shapes.ttl) on the specification
//! fixtures of tests/fixtures/shacl: each fixture lists the messages it
//! must give (`# message: …` lines; none for a valid one), in today's
//! words. Also: the shapes' SPARQL snake_case agrees with heck's.

use std::path::{Path, PathBuf};

use oxigraph::model::{GraphNameRef, Literal, NamedNode, Quad};
use oxigraph::sparql::{QueryResults, SparqlEvaluator};
use oxigraph::store::Store;
use oxttl::TurtleParser;

use super::super::Shapes;

const STANDARD_PREFIXES: &[(&str, &str)] = &[
    ("rdf", "http://www.w3.org/1999/02/22-rdf-syntax-ns#"),
    ("rdfs", "http://www.w3.org/2000/01/rdf-schema#"),
    ("xsd", "http://www.w3.org/2001/XMLSchema#"),
    ("owl", "http://www.w3.org/2002/07/owl#"),
];

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The seed specification and every fixture file.
pub fn fixtures() -> Vec<PathBuf> {
    let mut files = vec![root().join(".specify/specs/001-job-queue/feature.ttl")];
    let mut more: Vec<PathBuf> = std::fs::read_dir(root().join("tests/fixtures/shacl"))
        .expect("fixture folder")
        .map(|e| e.expect("fixture entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "ttl"))
        .collect();
    more.sort();
    files.extend(more);
    files
}

fn read_turtle(store: &Store, path: &Path) {
    let mut parser = TurtleParser::new();
    for (prefix, iri) in STANDARD_PREFIXES {
        parser = parser.with_prefix(*prefix, *iri).expect("prefix");
    }
    let text = std::fs::read_to_string(path).expect("readable fixture");
    let quads: Vec<Quad> = parser
        .for_slice(text.as_bytes())
        .map(|t| {
            t.unwrap_or_else(|e| panic!("{}: {e}", path.display()))
                .in_graph(GraphNameRef::DefaultGraph)
        })
        .collect();
    store.extend(quads).expect("insert");
}

/// The vocabulary, its shapes and the fixture, with the defaults applied
/// as ggen does: the shapes' sh:defaultValue and the inference rules of
/// ontology/rules that are plain SPARQL (the default instances), round
/// after round until nothing is added.
pub fn fixture_store(fixture: &Path) -> (Store, Shapes) {
    let store = Store::new().expect("store");
    read_turtle(&store, &root().join("ontology/jobs.ttl"));
    read_turtle(&store, &root().join("ontology/jobs.shapes.ttl"));
    read_turtle(&store, fixture);
    let shapes = Shapes::load(&store).expect("the jobs shapes load");
    let mut rules = Vec::new();
    for entry in std::fs::read_dir(root().join("ontology/rules")).expect("rules") {
        let text = std::fs::read_to_string(entry.expect("rule").path()).expect("rule text");
        if !text.contains("fn:") {
            rules.push(text);
        }
    }
    for _ in 0..16 {
        let mut added = shapes
            .apply_defaults(&store, &mut Default::default())
            .expect("defaults");
        for rule in &rules {
            let results = SparqlEvaluator::new()
                .parse_query(rule)
                .expect("rule parses")
                .on_store(&store)
                .execute()
                .expect("rule runs");
            let QueryResults::Graph(triples) = results else {
                panic!("rules are CONSTRUCT queries")
            };
            for triple in triples {
                let quad = triple.expect("triple").in_graph(GraphNameRef::DefaultGraph);
                if !store.contains(&quad).expect("lookup") {
                    store.insert(&quad).expect("insert");
                    added += 1;
                }
            }
        }
        if added == 0 {
            return (store, shapes);
        }
    }
    panic!("defaults and rules did not settle")
}

/// The `# message:` lines of a fixture.
fn expected_messages(fixture: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(fixture).expect("fixture");
    let mut lines: Vec<String> = text
        .lines()
        .filter_map(|l| l.strip_prefix("# message: "))
        .map(str::to_string)
        .collect();
    lines.sort();
    lines
}

#[test]
fn fixtures_give_todays_messages() {
    let mut failures = Vec::new();
    for fixture in fixtures() {
        let (store, shapes) = fixture_store(&fixture);
        let mut got: Vec<String> = shapes
            .validate(&store)
            .expect("validation runs")
            .into_iter()
            .map(|v| v.message)
            .collect();
        got.sort();
        let want = expected_messages(&fixture);
        if got != want {
            failures.push(format!(
                "{}\n  want: {want:#?}\n  got:  {got:#?}",
                fixture.display()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn seed_specification_gets_every_default() {
    let (store, _) = fixture_store(&root().join(".specify/specs/001-job-queue/feature.ttl"));
    let pool = NamedNode::new_unchecked("http://ggen.dev/ontology/jobs#jobWorkerPool");
    let size = NamedNode::new_unchecked("http://ggen.dev/ontology/jobs#poolSize");
    let sizes: Vec<_> = store
        .quads_for_pattern(Some(pool.as_ref().into()), Some(size.as_ref()), None, None)
        .map(|q| q.expect("quad").object)
        .collect();
    assert_eq!(sizes, [Literal::from(10).into()]);
}

/// The snake_case expression of the shapes, for `?x`.
const SNAKE: &str = r#"LCASE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(STR(?x),
        "^(.*#|[^#]*/|[^#/]*:)", ""),
        "([a-z][0-9]*)([A-Z])", "$1 $2"),
        "([A-Z][0-9]*)([A-Z][a-z])", "$1 $2"),
        "[^A-Za-z0-9]+", "_"),
        "^_|_$", ""))"#;

#[test]
fn shapes_snake_case_is_hecks_on_ascii_names() {
    let shapes = std::fs::read_to_string(root().join("ontology/jobs.shapes.ttl")).expect("shapes");
    for var in ["?value", "?pool"] {
        let used = SNAKE.replace("?x", var);
        assert!(
            shapes.contains(&used),
            "jobs.shapes.ttl no longer uses the tested expression for {var}"
        );
    }
    // Every local name up to 4 characters over letters of both cases,
    // digits and separators, plus names that matter.
    let alphabet = ['a', 'b', 'A', 'B', '1', '-', '.', '_'];
    let mut names = vec![String::new()];
    let mut last = vec![String::new()];
    for _ in 0..4 {
        last = last
            .iter()
            .flat_map(|n| alphabet.iter().map(move |c| format!("{n}{c}")))
            .collect();
        names.extend(last.iter().cloned());
    }
    let mut iris: Vec<String> = names
        .iter()
        .map(|n| format!("http://example.org/app#{n}"))
        .collect();
    iris.extend(
        [
            "http://example.org/app#emailPool",
            "http://example.org/app#HTTPPool",
            "http://example.org/app#pool2Fast",
            "http://example.org/app#my-pool.v2",
            "http://example.org/app#ABCDef",
            "http://example.org/app#aBCd",
            "http://example.org/app#A2Bc",
            "http://example.org/pools/reportPool",
            "http://example.org/a#b/cD",
            "urn:x:fooBar",
        ]
        .map(str::to_string),
    );
    let store = Store::new().expect("store");
    let p = NamedNode::new_unchecked("http://example.org/p");
    for iri in &iris {
        store
            .insert(&Quad::new(
                NamedNode::new_unchecked(iri),
                p.clone(),
                Literal::from(1),
                GraphNameRef::DefaultGraph,
            ))
            .expect("insert");
    }
    let query =
        format!("SELECT ?x ?name WHERE {{ ?x <http://example.org/p> 1 . BIND({SNAKE} AS ?name) }}");
    let QueryResults::Solutions(rows) = SparqlEvaluator::new()
        .parse_query(&query)
        .expect("parses")
        .on_store(&store)
        .execute()
        .expect("runs")
    else {
        panic!("a SELECT")
    };
    let mut checked = 0;
    let mut differ = Vec::new();
    for row in rows {
        let row = row.expect("row");
        let Some(oxigraph::model::Term::NamedNode(iri)) = row.get("x") else {
            panic!("?x")
        };
        let Some(oxigraph::model::Term::Literal(name)) = row.get("name") else {
            panic!("?name")
        };
        let heck = crate::names::snake_case(&crate::names::local_name(iri.as_str()));
        if name.value() != heck {
            differ.push(format!("{iri}: SPARQL {:?}, heck {heck:?}", name.value()));
        }
        checked += 1;
    }
    assert_eq!(checked, iris.len());
    assert!(differ.is_empty(), "{}", differ.join("\n"));
}

/// How long defaults and validation take on many pools (run with
/// `--release -- --ignored --nocapture`).
#[test]
#[ignore]
fn many_pools_timing() {
    let n: usize = std::env::var("POOLS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let dir = tempfile::tempdir().expect("temp dir");
    let spec = dir.path().join("many.ttl");
    let mut text = String::from(
        "@prefix jobs: <http://ggen.dev/ontology/jobs#> .\n@prefix ex: <http://example.org/app#> .\n",
    );
    for i in 0..n {
        text.push_str(&format!(
            "ex:pool{i} a jobs:WorkerPool ; jobs:poolSize {} .\n",
            i % 50 + 1
        ));
    }
    std::fs::write(&spec, text).expect("write");
    let start = std::time::Instant::now();
    let (store, shapes) = fixture_store(&spec);
    let loaded = start.elapsed();
    let start = std::time::Instant::now();
    let shapes_again = Shapes::load(&store).expect("load");
    let load = start.elapsed();
    let start = std::time::Instant::now();
    assert_eq!(
        shapes_again
            .apply_defaults(&store, &mut Default::default())
            .expect("defaults"),
        0
    );
    let round = start.elapsed();
    let start = std::time::Instant::now();
    let violations = shapes.validate(&store).expect("validate");
    eprintln!(
        "{n} pools: fixture with rules and defaults {loaded:?}, Shapes::load {load:?}, \
         a defaults round adding nothing {round:?}, validate {:?}, {} violation(s), {} quads",
        start.elapsed(),
        violations.len(),
        store.len().unwrap_or(0)
    );
}
