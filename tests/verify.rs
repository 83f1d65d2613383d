//! `ggen verify`: re-hashing what the receipt names.

use crate::util::Project;

#[test]
fn verify_names_every_kind_of_mismatch() {
    let p = Project::mini();
    p.ggen(&["sync"]).expect(0);
    p.ggen(&["verify"]).expect(0);
    std::fs::remove_file(p.path().join("out/job_worker_pool.txt")).unwrap();
    p.append("out/pools.txt", "x\n");
    p.append("t/pools.txt.tera", "\n");
    let run = p.ggen(&["verify"]).expect(1);
    insta::assert_snapshot!("verify_mismatches", run.stdout);
    let run = p.ggen(&["verify", "--format", "json"]).expect(1);
    let doc: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(doc["mismatches"][0]["kind"], "input changed");
    assert_eq!(doc["mismatches"].as_array().unwrap().len(), 3);
}

#[test]
fn verify_without_a_receipt_fails() {
    let p = Project::mini();
    let run = p.ggen(&["verify"]);
    assert_ne!(run.code, 0);
    assert!(run.stderr.contains(".ggen/receipt.json"), "{}", run.stderr);
}
