//! The generated targets, built and tested with their own tools: projects
//! from `ggen init`, synced, then `rebar3 ct` / `cargo test` run on them.
//! A missing tool fails the test under CI=true and skips it (loudly)
//! elsewhere.

use std::path::Path;
use std::process::Command;

use ggen::init::Lang;

use crate::tools::{have, run};
use crate::util::Project;

/// Two pools (one lifo without overflow), two lanes, custom supervisor flags.
pub const TWO_POOLS: &str = r#"@prefix jobs: <http://ggen.dev/ontology/jobs#> .
@prefix ex: <http://example.org/app#> .

ex:emailPool a jobs:WorkerPool ;
    jobs:poolSize 3 ;
    jobs:maxOverflow 0 ;
    jobs:strategy "lifo" ;
    jobs:pullSize 2 ;
    jobs:processTimeout 2000 .

ex:reportPool a jobs:WorkerPool ;
    jobs:poolSize 4 ;
    jobs:maxOverflow 2 .

ex:emailLane a jobs:Worker ;
    jobs:priority "high" ;
    jobs:domain "email" ;
    jobs:inPool ex:emailPool ;
    jobs:failureThreshold 3 ;
    jobs:failureWindow 1000 .

ex:reportLane a jobs:Worker ;
    jobs:priority "low" ;
    jobs:domain "reports" ;
    jobs:inPool ex:reportPool .

ex:topSupervisor a jobs:Supervisor ;
    jobs:intensity 3 ;
    jobs:period 5 .
"#;

#[test]
fn the_seed_snippet_generates_the_walkthrough_files() {
    let p = Project::init(Lang::Erlang, "my_erlang_jobs");
    let seed = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join(".specify/specs/001-job-queue/feature.ttl"),
    )
    .unwrap();
    p.write(p.spec(), &seed);
    let out = p.ggen(&["sync", "--audit", "true"]).expect(0);
    for file in [
        "src/job_worker_pool.erl",
        "src/job_worker_pool_sup.erl",
        "src/job_worker.erl",
        "src/job_worker_sup.erl",
        "rebar.config",
        "src/my_erlang_jobs.app.src",
        "src/my_erlang_jobs_app.erl",
        "src/my_erlang_jobs_sup.erl",
        "src/job_queue.erl",
        "src/job_handler.erl",
        "test/job_worker_SUITE.erl",
        "test/job_queue_SUITE.erl",
        "test/job_proper_SUITE.erl",
    ] {
        assert!(p.exists(file), "{file} not generated");
        assert!(
            out.stdout.contains(&format!("  {file}\n")),
            "{file} not listed:\n{}",
            out.stdout
        );
    }
    let pool_sup = p.read("src/job_worker_pool_sup.erl");
    assert!(
        pool_sup.contains("{size, 10}, {max_overflow, 5}, {strategy, fifo}"),
        "{pool_sup}"
    );
    let pool = p.read("src/job_worker_pool.erl");
    assert!(
        pool.contains("#{checkout_timeout => 5000, process_timeout => 30000, pull_size => 5}"),
        "{pool}"
    );
    let sup = p.read("src/my_erlang_jobs_sup.erl");
    assert!(sup.contains("intensity => 5, period => 10"), "{sup}");
    insta::assert_snapshot!("seed_job_worker_pool_sup", pool_sup);
    insta::assert_snapshot!("seed_app_sup", sup);
    insta::assert_snapshot!("seed_app_src", p.read("src/my_erlang_jobs.app.src"));
}

#[test]
fn a_two_pool_erlang_app_passes_its_own_suites() {
    let p = Project::init(Lang::Erlang, "two_pools");
    p.write(p.spec(), TWO_POOLS);
    p.ggen(&["sync"]).expect(0);
    let pool_sup = p.read("src/job_worker_pool_sup.erl");
    assert!(pool_sup.contains("pool_args(email_pool) ->"), "{pool_sup}");
    assert!(
        pool_sup.contains("{size, 3}, {max_overflow, 0}, {strategy, lifo}"),
        "{pool_sup}"
    );
    assert!(
        pool_sup.contains("{size, 4}, {max_overflow, 2}, {strategy, fifo}"),
        "{pool_sup}"
    );
    assert!(
        p.read("src/two_pools_sup.erl")
            .contains("intensity => 3, period => 5")
    );
    if !have("rebar3", &["version"]) {
        return;
    }
    let compiled = run(p.path(), "rebar3", &["compile"]);
    assert!(!compiled.to_lowercase().contains("warning"), "{compiled}");
    run(p.path(), "rebar3", &["dialyzer"]);
    let ct = run(p.path(), "rebar3", &["ct"]);
    assert!(ct.contains("All ") && ct.contains(" tests passed."), "{ct}");
}

/// Tests a generated crate outside the workspace, with the workspace's
/// Cargo.lock (same dependency versions) and a target folder shared by these
/// tests. (Clippy runs on the committed example crate, a workspace member.)
fn cargo_test_generated_crate(dir: &Path) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    std::fs::copy(root.join("Cargo.lock"), dir.join("Cargo.lock")).unwrap();
    let target = root.join("target").join("generated-crates");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let output = Command::new(&cargo)
        .arg("test")
        .current_dir(dir)
        .env("CARGO_TARGET_DIR", &target)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "cargo test failed:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn a_two_pool_rust_crate_builds_and_passes_its_tests() {
    let p = Project::init(Lang::Rust, "two_pools");
    p.write(p.spec(), TWO_POOLS);
    p.ggen(&["sync"]).expect(0);
    let config = p.read("src/config.rs");
    for expected in [
        "name: \"email_pool\",\n        size: 3,\n        max_overflow: 0,\n        pull_size: 2,\n        process_timeout: Duration::from_millis(2000),\n        strategy: Strategy::Lifo,",
        "name: \"report_pool\",\n        size: 4,\n        max_overflow: 2,\n        pull_size: 5,\n        process_timeout: Duration::from_millis(30000),\n        strategy: Strategy::Fifo,",
        "priority: \"high\",\n        domain: \"email\",\n        pool: \"email_pool\",\n        circuit_breaker_open: false,\n        failure_threshold: 3,\n        failure_window: Duration::from_millis(1000),",
        "intensity: 3,\n    period: Duration::from_secs(5),",
    ] {
        assert!(
            config.contains(expected),
            "config.rs lacks:\n{expected}\n---\n{config}"
        );
    }
    assert!(p.read("Cargo.toml").contains("name = \"two_pools\""));
    cargo_test_generated_crate(p.path());
}
