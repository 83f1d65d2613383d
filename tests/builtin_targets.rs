//! Built-in targets: a manifest that names them, a project file that
//! replaces one of their templates, `ggen eject`, and a manifest written by
//! an earlier `ggen init` (every rule spelled out) that keeps working.

use std::path::Path;

use ggen::init::Lang;

use crate::util::{Project, copy_dir};

/// Every generated file of a synced project, path → bytes.
fn outputs(p: &Project) -> Vec<(String, Vec<u8>)> {
    p.tree()
        .into_iter()
        .filter(|(path, _)| !path.starts_with(".ggen/") && !path.starts_with("targets/"))
        .filter(|(path, _)| path != "ggen.toml" && !path.starts_with(".specify/"))
        .filter(|(path, _)| !path.starts_with("templates/") && path != ".gitignore")
        .map(|(path, (bytes, _))| (path, bytes))
        .collect()
}

#[test]
fn an_override_changes_only_its_output_and_is_in_the_receipt() {
    let p = Project::init(Lang::Erlang, "over");
    p.ggen(&["sync"]).expect(0);
    let before = outputs(&p);
    let original = ggen::targets::builtin_text("erlang", "job_handler.erl").unwrap();
    p.write(
        "templates/erlang/job_handler.erl",
        &original.replace(
            "act(#{<<\"action\">> := <<\"noop\">>}) ->",
            "act(#{<<\"action\">> := <<\"nothing\">>}) ->",
        ),
    );
    let run = p.ggen(&["sync", "-v"]).expect(0);
    assert!(
        run.stdout
            .contains("Updated 1 file:\n  src/job_handler.erl\n"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("templates/erlang/job_handler.erl replaces ggen:erlang/job_handler.erl"),
        "{}",
        run.stdout
    );
    let after = outputs(&p);
    let changed: Vec<&String> = before
        .iter()
        .zip(&after)
        .filter(|(b, a)| b != a)
        .map(|(b, _)| &b.0)
        .collect();
    assert_eq!(changed, ["src/job_handler.erl"]);
    assert!(p.read("src/job_handler.erl").contains("<<\"nothing\">>"));
    let receipt = p.read(".ggen/receipt.json");
    assert!(
        receipt.contains("\"name\": \"templates/erlang/job_handler.erl\""),
        "the override is a project input"
    );
    assert!(!receipt.contains("\"name\": \"ggen:erlang/job_handler.erl\""));
    p.ggen(&["verify"]).expect(0);

    // A copy identical to the built-in file replaces nothing.
    p.write("templates/erlang/job_handler.erl", original);
    let run = p.ggen(&["sync", "-v"]).expect(0);
    assert!(!run.stdout.contains(" replaces "), "{}", run.stdout);
    assert!(
        p.read(".ggen/receipt.json")
            .contains("\"name\": \"ggen:erlang/job_handler.erl\"")
    );
}

#[test]
fn eject_then_sync_gives_the_same_outputs() {
    let p = Project::init(Lang::Both, "ejected");
    p.ggen(&["sync"]).expect(0);
    // An override is part of what the project uses: the copy takes it in.
    let original = ggen::targets::builtin_text("rust", "handler.rs").unwrap();
    p.write(
        "templates/rust/handler.rs",
        &format!("{original}\n// overridden\n"),
    );
    p.ggen(&["sync"]).expect(0);
    let before = outputs(&p);

    let run = p.ggen(&["eject", "rust"]).expect(0);
    assert!(
        run.stdout
            .starts_with("Copied target `rust` into targets/rust ("),
        "{}",
        run.stdout
    );
    assert!(p.exists("targets/rust/target.toml"));
    assert!(p.exists("targets/rust/ontology/jobs.ttl"));
    assert!(
        p.read("targets/rust/handler.rs")
            .ends_with("// overridden\n")
    );
    assert!(
        p.read("ggen.toml")
            .contains("name = \"rust\"\npath = \"targets/rust\"\n")
    );

    let run = p.ggen(&["sync"]).expect(0);
    assert!(!run.stdout.contains("Updated"), "{}", run.stdout);
    assert_eq!(before, outputs(&p));
    let receipt = p.read(".ggen/receipt.json");
    assert!(receipt.contains("\"name\": \"targets/rust/config.rs.tera\""));

    // Every file of the copy is the project's own now.
    p.replace(
        "targets/rust/handler.rs",
        "// overridden",
        "// edited in the copy",
    );
    let run = p.ggen(&["sync"]).expect(0);
    assert!(
        run.stdout
            .contains("Updated 1 file:\n  rust/src/handler.rs\n"),
        "{}",
        run.stdout
    );
    p.ggen(&["eject", "rust"]).expect(2);
    p.ggen(&["eject", "cobol"]).expect(2);
}

#[test]
fn an_unknown_target_names_the_nearest() {
    let p = Project::init(Lang::Erlang, "typo");
    p.replace("ggen.toml", "name = \"erlang\"", "name = \"erlnag\"");
    let run = p.ggen(&["sync"]).expect(3);
    assert!(
        run.stderr.contains("there is no built-in target `erlnag`"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("did you mean `erlang`?"),
        "{}",
        run.stderr
    );
}

#[test]
fn target_rules_can_be_selected_by_name() {
    let p = Project::init(Lang::Erlang, "picky");
    let run = p
        .ggen(&["sync", "--rule", "erlang/job_queue.erl"])
        .expect(0);
    assert!(
        run.stdout
            .contains("Generated 1 new file:\n  src/job_queue.erl\n"),
        "{}",
        run.stdout
    );
}

/// A project made by the `ggen init` of the first release: the manifest
/// names every rule, and the project holds its own copy of the vocabulary,
/// its rules and checks, and every template and query.
#[test]
fn a_manifest_from_an_earlier_init_keeps_working() {
    let p = Project::empty();
    copy_dir(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/legacy-erlang"),
        p.path(),
    );
    let run = p.ggen(&["sync"]).expect(0);
    assert!(
        run.stdout.contains("Generated 25 new files:"),
        "{}",
        run.stdout
    );
    assert!(
        p.read("src/job_worker_pool_sup.erl")
            .contains("{size, 10}, {max_overflow, 5}, {strategy, fifo}"),
        "the vocabulary's jobs:defaultValue defaults still apply"
    );
    p.ggen(&["sync", "--check"]).expect(0);
    p.ggen(&["verify"]).expect(0);
}
