//! Agreement with pySHACL: on every fixture, after defaults, the engine and
//! `scripts/shacl-report` (pySHACL 0.40.1) must agree on whether the data
//! conforms and on the set of (focus, path, component) results. Without
//! pySHACL the test is skipped, unless CI=true.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use oxigraph::io::{RdfFormat, RdfParser};
use oxigraph::model::GraphNameRef;
use oxigraph::store::Store;

use super::super::Shapes;
use super::jobs::{fixture_store, fixtures, root};

type Results = BTreeSet<(String, Option<String>, String)>;

fn pyshacl_available() -> bool {
    Command::new("python3")
        .args(["-c", "import pyshacl"])
        .output()
        .is_ok_and(|o| o.status.success())
}

#[test]
fn engine_agrees_with_pyshacl() {
    if !pyshacl_available() {
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!("pySHACL is missing: pip install pyshacl==0.40.1");
        }
        eprintln!("SKIPPED engine_agrees_with_pyshacl: pySHACL is not installed");
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let mut disagreements = Vec::new();
    let jobs_shapes = root().join("ontology/jobs.shapes.ttl");
    for fixture in fixtures() {
        let (store, shapes) = fixture_store(&fixture);
        disagreements.extend(compare(dir.path(), &store, &shapes, &jobs_shapes, &fixture));
    }
    // A vocabulary of a project's own (tests/cases/vocabulary_own): its
    // specification, valid and broken.
    let case = root().join("tests/cases/vocabulary_own");
    let own_shapes = case.join("project/vocabulary/library.shapes.ttl");
    for data in [
        case.join("project/spec/books.ttl"),
        case.join("broken/spec/books.ttl"),
    ] {
        let (store, shapes) = own_store(
            &case.join("project/vocabulary/library.ttl"),
            &own_shapes,
            &data,
        );
        disagreements.extend(compare(dir.path(), &store, &shapes, &own_shapes, &data));
    }
    assert!(disagreements.is_empty(), "{}", disagreements.join("\n"));
}

/// The vocabulary, its shapes and one data file in a store, with the
/// shapes' defaults applied.
fn own_store(vocabulary: &Path, shapes_file: &Path, data: &Path) -> (Store, Shapes) {
    let store = Store::new().expect("store");
    for file in [vocabulary, shapes_file, data] {
        let text = std::fs::read(file).expect("readable fixture");
        store
            .load_from_reader(RdfParser::from_format(RdfFormat::Turtle), text.as_slice())
            .unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    }
    let shapes = Shapes::load(&store).expect("the shapes load");
    while shapes
        .apply_defaults(&store, &mut Default::default())
        .expect("defaults")
        > 0
    {}
    (store, shapes)
}

/// ggen's engine and pySHACL on the same data (dumped after defaults) and
/// shapes; a description of their disagreement, if any.
fn compare(
    dir: &Path,
    store: &Store,
    shapes: &Shapes,
    shapes_file: &Path,
    fixture: &Path,
) -> Option<String> {
    let ours: Results = shapes
        .validate(store)
        .expect("validation runs")
        .into_iter()
        .map(|v| {
            (
                super::super::message::text(&v.focus),
                v.path.map(|p| p.as_str().to_string()),
                v.component.local_name().to_string(),
            )
        })
        .collect();

    let data = dir.join("data.nt");
    let mut out = Vec::new();
    store
        .dump_graph_to_writer(GraphNameRef::DefaultGraph, RdfFormat::NTriples, &mut out)
        .expect("dump");
    std::fs::write(&data, out).expect("write data");
    let report = Command::new(root().join("scripts/shacl-report"))
        .arg(&data)
        .arg(shapes_file)
        .output()
        .expect("scripts/shacl-report runs");
    assert!(
        report.status.success(),
        "shacl-report failed on {}: {}",
        fixture.display(),
        String::from_utf8_lossy(&report.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&report.stdout).expect("JSON report");
    let conforms = json["conforms"].as_bool().expect("conforms");
    let theirs: Results = json["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|r| {
            (
                r[0].as_str().expect("focus").to_string(),
                r[1].as_str().map(str::to_string),
                r[2].as_str().expect("component").to_string(),
            )
        })
        .collect();

    let name = fixture
        .strip_prefix(root())
        .unwrap_or(fixture)
        .display()
        .to_string();
    if conforms != ours.is_empty() || ours != theirs {
        return Some(format!(
            "{name}: engine conforms={}, pySHACL conforms={conforms}\n  only engine: {:?}\n  only pySHACL: {:?}",
            ours.is_empty(),
            ours.difference(&theirs).collect::<Vec<_>>(),
            theirs.difference(&ours).collect::<Vec<_>>(),
        ));
    }
    eprintln!(
        "agree {name}: conforms={conforms}, {} result(s)",
        ours.len()
    );
    None
}
