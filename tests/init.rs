//! `ggen init`: a project that syncs with no other step.

use ggen::init::Lang;

use crate::util::{Project, run_in};

#[test]
fn init_writes_inputs_only_and_the_project_syncs() {
    let parent = Project::empty();
    let run = run_in(parent.path(), &["init", "--lang", "erlang", "My Jobs"]).expect(0);
    assert!(
        run.stdout
            .starts_with("Created ggen project `my_jobs` in My Jobs:"),
        "{}",
        run.stdout
    );
    let dir = parent.path().join("My Jobs");
    for file in [
        "ggen.toml",
        ".gitignore",
        ".specify/specs/001-job-queue/feature.ttl",
        "ontology/jobs.ttl",
        "ontology/rules/default_pool.rq",
        "ontology/checks/datatype.rq",
        "templates/erlang/pools.rq",
    ] {
        assert!(dir.join(file).is_file(), "{file} missing");
    }
    assert!(!dir.join("templates/rust").exists());
    assert!(!dir.join(".ggen").exists(), "init does not sync");
    let gitignore = std::fs::read_to_string(dir.join(".gitignore")).unwrap();
    assert!(gitignore.contains(".ggen/audit.jsonl\n.ggen/lock\n"));
    let manifest = std::fs::read_to_string(dir.join("ggen.toml")).unwrap();
    assert!(manifest.contains("name = \"my_jobs\""));
    run_in(&dir, &["sync"]).expect(0);
    run_in(&dir, &["verify"]).expect(0);
    run_in(&dir, &["sync", "--check"]).expect(0);
}

#[test]
fn init_refuses_an_existing_project() {
    let p = Project::init(Lang::Erlang, "first");
    let before = p.tree();
    let run = p.ggen(&["init"]).expect(7);
    assert!(
        run.stderr.contains("already holds a ggen project"),
        "{}",
        run.stderr
    );
    crate::util::assert_same_tree(&before, &p.tree());
}

#[test]
fn init_refuses_to_overwrite_files() {
    let p = Project::empty();
    p.write("ontology/jobs.ttl", "# mine\n");
    let run = p.ggen(&["init", "--name", "demo"]).expect(7);
    assert!(
        run.stderr.contains("ontology/jobs.ttl already exists"),
        "{}",
        run.stderr
    );
    assert_eq!(p.read("ontology/jobs.ttl"), "# mine\n");
    assert!(!p.exists("ggen.toml"));
}

#[test]
fn init_rejects_a_bad_name() {
    let p = Project::empty();
    let run = p.ggen(&["init", "--name", "My-App"]).expect(2);
    assert!(run.stderr.contains("`my_app`"), "{}", run.stderr);
    assert!(p.tree().is_empty());
}

#[test]
fn init_both_puts_each_target_in_its_folder() {
    let p = Project::init(Lang::Both, "both_demo");
    let manifest = p.read("ggen.toml");
    assert!(p.exists("templates/erlang") && p.exists("templates/rust"));
    for line in manifest.lines().filter(|l| l.starts_with("output_file")) {
        assert!(
            line.starts_with("output_file = \"erlang/")
                || line.starts_with("output_file = \"rust/"),
            "{line}"
        );
    }
}
