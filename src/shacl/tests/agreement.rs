//! Agreement with pySHACL: on every fixture, after defaults, the engine and
//! `scripts/shacl-report` (pySHACL 0.40.1) must agree on whether the data
//! conforms and on the set of (focus, path, component) results. Without
//! pySHACL the test is skipped, unless CI=true.

use std::collections::BTreeSet;
use std::process::Command;

use oxigraph::io::RdfFormat;
use oxigraph::model::GraphNameRef;

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
    for fixture in fixtures() {
        let (store, shapes) = fixture_store(&fixture);
        let ours: Results = shapes
            .validate(&store)
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

        let data = dir.path().join("data.nt");
        let mut out = Vec::new();
        store
            .dump_graph_to_writer(GraphNameRef::DefaultGraph, RdfFormat::NTriples, &mut out)
            .expect("dump");
        std::fs::write(&data, out).expect("write data");
        let report = Command::new(root().join("scripts/shacl-report"))
            .arg(&data)
            .arg(root().join("ontology/jobs.shapes.ttl"))
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
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if conforms != ours.is_empty() || ours != theirs {
            disagreements.push(format!(
                "{name}: engine conforms={}, pySHACL conforms={conforms}\n  only engine: {:?}\n  only pySHACL: {:?}",
                ours.is_empty(),
                ours.difference(&theirs).collect::<Vec<_>>(),
                theirs.difference(&ours).collect::<Vec<_>>(),
            ));
        } else {
            eprintln!(
                "agree {name}: conforms={conforms}, {} result(s)",
                ours.len()
            );
        }
    }
    assert!(disagreements.is_empty(), "{}", disagreements.join("\n"));
}
