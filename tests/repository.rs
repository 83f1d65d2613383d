//! This repository is a ggen project (ggen.toml at its root generates
//! examples/): the committed outputs and receipt are what the templates
//! generate now.

use std::path::Path;

use crate::util::run_in;

#[test]
fn the_committed_examples_are_what_the_templates_generate() {
    let run = run_in(Path::new(env!("CARGO_MANIFEST_DIR")), &["sync", "--check"]);
    assert!(
        run.code == 0,
        "`ggen sync --check` at the repository root exited {}: run `ggen sync` \
         there and commit the result.\n{}{}",
        run.code,
        run.stdout,
        run.stderr
    );
}

/// Every output the receipt lists whose language has comments starts with
/// ggen's header.
#[test]
fn every_generated_file_with_comments_carries_the_header() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let receipt: serde_json::Value = serde_json::from_slice(
        &std::fs::read(root.join(".ggen/receipt.json")).expect("the committed receipt"),
    )
    .expect("the receipt is JSON");
    let subjects = receipt["subject"].as_array().expect("subjects");
    let mut checked = 0;
    for subject in subjects {
        let path = subject["name"].as_str().expect("a subject has a name");
        if ggen::header::comment_syntax(path).is_none() {
            continue;
        }
        let text = std::fs::read_to_string(root.join(path)).expect("a generated file");
        let head: Vec<&str> = text.lines().take(2).collect();
        assert!(
            head.iter().any(|l| l.contains(ggen::header::MARK)),
            "{path} does not start with the generated-file header:\n{}",
            head.join("\n")
        );
        checked += 1;
    }
    assert!(checked > 50, "checked {checked} files");
}
