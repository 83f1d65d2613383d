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
    let files = [
        "ggen.toml",
        ".gitignore",
        ".specify/specs/001-job-queue/feature.ttl",
    ];
    for file in files {
        assert!(dir.join(file).is_file(), "{file} missing");
    }
    let written: Vec<_> = walkdir::WalkDir::new(&dir)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .collect();
    assert_eq!(written.len(), files.len(), "init writes nothing else");
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
    p.write(".gitignore", "# mine\n");
    let run = p.ggen(&["init", "--name", "demo"]).expect(7);
    assert!(
        run.stderr.contains(".gitignore already exists"),
        "{}",
        run.stderr
    );
    assert_eq!(p.read(".gitignore"), "# mine\n");
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
    assert!(manifest.lines().count() <= 20, "{manifest}");
    assert!(
        manifest.contains("name = \"erlang\"\noutput_dir = \"erlang\"\n"),
        "{manifest}"
    );
    assert!(
        manifest.contains("name = \"rust\"\noutput_dir = \"rust\"\n"),
        "{manifest}"
    );
    assert_eq!(p.tree().len(), 3, "init --lang both writes three files");
    p.ggen(&["sync"]).expect(0);
    assert!(p.exists("erlang/src/job_queue.erl") && p.exists("rust/src/pool.rs"));
}
