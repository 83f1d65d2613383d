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
