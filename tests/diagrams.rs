//! The README each target writes holds the system as a Mermaid diagram:
//! every pool and lane of the specification is in it, and Mermaid itself
//! parses it (tools/mermaid-check.mjs, Mermaid 11 in jsdom), even with
//! lane names that need escaping.

use std::path::Path;

use ggen::init::Lang;

use crate::util::Project;

const SPEC: &str = r#"
@prefix ex: <http://example.org/app#> .

ex:emailPool a jobs:WorkerPool ;
    jobs:poolSize 3 ; jobs:maxOverflow 0 ; jobs:strategy "lifo" .
ex:end a jobs:WorkerPool ;
    jobs:poolSize 4 ; jobs:maxOverflow 2 .

ex:emailLane a jobs:Worker ;
    jobs:priority "high \"now\"" ; jobs:domain "<email>" ; jobs:inPool ex:emailPool ;
    jobs:failureThreshold 3 ; jobs:failureWindow 1000 .
ex:reportLane a jobs:Worker ;
    jobs:priority "low" ; jobs:domain "reports; end" ; jobs:inPool ex:end .

ex:top a jobs:Supervisor ; jobs:intensity 3 ; jobs:period 5 .
"#;

#[test]
fn each_target_draws_the_system_and_mermaid_parses_it() {
    let p = Project::init(Lang::Both, "drawn");
    p.append(p.spec(), SPEC);
    p.ggen(&["sync"]).expect(0);
    for (readme, pool_line) in [
        (
            "erlang/README.md",
            "pools --> pool_email_pool[\"email_pool (poolboy)<br/>size 3, overflow 0, lifo",
        ),
        (
            "rust/README.md",
            "pools --> pool_email_pool[\"email_pool<br/>size 3, overflow 0, lifo",
        ),
    ] {
        let text = p.read(readme);
        for expected in [
            pool_line,
            "pool_end[\"end",
            "at most 3 restarts in 5 s",
            "high #quot;now#quot; / #lt;email>",
            "lane2 -. ",
            ".-> pool_end",
        ] {
            assert!(
                text.contains(expected),
                "{readme} lacks {expected}:\n{text}"
            );
        }
    }

    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    if !root.join("tools/node_modules/mermaid").is_dir() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "Mermaid is not installed in tools/, and CI=true: npm ci --prefix tools (see .ci/run)"
        );
        eprintln!("SKIPPED: Mermaid is not installed in tools/; the diagrams were not parsed");
        return;
    }
    let checked = crate::tools::run(
        root,
        "node",
        &[
            "tools/mermaid-check.mjs",
            &p.path().join("erlang/README.md").to_string_lossy(),
            &p.path().join("rust/README.md").to_string_lossy(),
        ],
    );
    assert_eq!(
        checked.matches("flowchart-v2 parses").count(),
        2,
        "{checked}"
    );
}
