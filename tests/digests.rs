//! Digests compared across runs or with the files they name: properties a
//! golden folder cannot state, since blessing would record whatever came out.

use crate::util::Project;

// Two runs in two folders: a folder holds one run.
#[test]
fn same_inputs_in_two_folders_give_the_same_bytes() {
    let a = Project::mini();
    let b = Project::mini();
    a.ggen(&["sync"]).expect(0);
    b.ggen(&["sync"]).expect(0);
    let strip = |t: crate::util::Tree| {
        t.into_iter()
            .map(|(k, (bytes, _))| (k, bytes))
            .collect::<Vec<_>>()
    };
    assert_eq!(strip(a.tree()), strip(b.tree()));
}

// Compares the graph digest of two runs over differently formatted Turtle.
#[test]
fn reformatting_turtle_keeps_the_graph_digest() {
    let p = Project::mini();
    p.append(p.spec(), "\n[] a jobs:Note ; rdfs:label \"anonymous\" .\n");
    p.ggen(&["sync"]).expect(0);
    let receipt = p.read(".ggen/receipt.json");
    let spec = p
        .read(p.spec())
        .replace("    ", "\t")
        .replace("\n\n", "\n\n\n");
    p.write(p.spec(), &spec);
    let run = p.ggen(&["sync", "--format", "json"]).expect(0);
    let doc: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let old: serde_json::Value = serde_json::from_str(&receipt).unwrap();
    assert_eq!(
        doc["graph"]["sha256"],
        old["predicate"]["buildDefinition"]["internalParameters"]["graph"]["digest"]["sha256"]
    );
    // The outputs are unchanged; only the spec's own digest moved.
    assert!(
        doc["files"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["action"] == "unchanged")
    );
    assert_eq!(doc["receipt"]["action"], "updated");
}

// The printed digest must be the receipt file's own (the rest of this
// report is the golden case sync_json).
#[test]
fn the_json_report_gives_the_receipt_digest() {
    let p = Project::mini();
    let run = p.ggen(&["sync", "--format", "json"]).expect(0);
    let doc: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let receipt = std::fs::read(p.path().join(".ggen/receipt.json")).unwrap();
    assert_eq!(doc["receipt"]["sha256"], ggen::inputs::sha256_hex(&receipt));
}
