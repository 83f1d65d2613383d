//! Successful syncs: what is written, what is left alone, determinism, and
//! the flags that change what a sync does.

use crate::util::{Project, assert_same_tree, run_in};

const NEW_POOL: &str = "\n@prefix ex: <http://example.org/app#> .\nex:emailPool a jobs:WorkerPool ;\n    jobs:poolSize 3 ;\n    jobs:maxOverflow 0 .\n";

#[test]
fn first_sync_generates_then_nothing_changes() {
    let p = Project::mini();
    let run = p.ggen(&["sync", "--audit", "true"]).expect(0);
    insta::assert_snapshot!("first_sync_stdout", run.stdout);
    assert!(run.stderr.is_empty(), "{}", run.stderr);
    assert_eq!(
        p.read("out/pools.txt"),
        "job_worker_pool 10 5 5 30000 fifo 5000\nlane normal/default pool=job_worker_pool cb=false 5 10000\nsup 5 10\n"
    );
    // Input digests change whenever the vocabulary is edited; the shape and
    // the output digests are what this snapshot pins.
    let mut receipt: serde_json::Value =
        serde_json::from_str(&p.read(".ggen/receipt.json")).unwrap();
    for dep in receipt["predicate"]["buildDefinition"]["resolvedDependencies"]
        .as_array_mut()
        .unwrap()
    {
        dep["digest"]["sha256"] = "…".into();
    }
    receipt["predicate"]["buildDefinition"]["internalParameters"]["graph"]["digest"]["sha256"] =
        "…".into();
    insta::assert_json_snapshot!("receipt", receipt);

    let before = p.tree();
    std::thread::sleep(std::time::Duration::from_millis(20));
    let run = p.ggen(&["sync"]).expect(0);
    assert!(run.stdout.ends_with("\n2 unchanged\n"), "{}", run.stdout);
    assert_same_tree(&before, &p.tree());
}

#[test]
fn stage_lines_come_first() {
    let p = Project::mini();
    let run = p.ggen(&["sync"]).expect(0);
    let lines: Vec<&str> = run.stdout.lines().take(5).collect();
    assert_eq!(
        lines,
        [
            "[μ₁] Normalizing RDF ontology... ✓",
            "[μ₂] Extracting entities via SPARQL... ✓",
            "[μ₃] Rendering templates (Tera)... ✓",
            "[μ₄] Canonicalizing outputs... ✓",
            "[μ₅] Generating receipt... ✓",
        ]
    );
}

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

#[test]
fn audit_appends_one_line_per_sync() {
    let p = Project::mini();
    p.ggen(&["sync"]).expect(0);
    assert!(!p.exists(".ggen/audit.jsonl"));
    p.ggen(&["sync", "--audit"]).expect(0);
    p.ggen(&["sync", "--audit=true"]).expect(0);
    p.ggen(&["sync", "--audit", "false"]).expect(0);
    let log = p.read(".ggen/audit.jsonl");
    assert_eq!(log.lines().count(), 2);
    let line: serde_json::Value = serde_json::from_str(log.lines().next().unwrap()).unwrap();
    assert_eq!(line["counts"]["unchanged"], 2);
    assert!(line["timings_ms"]["normalize"].is_number());
    assert!(!p.read(".ggen/receipt.json").contains("timings"));
}

#[test]
fn editing_the_ontology_regenerates_what_changed() {
    let p = Project::mini();
    p.ggen(&["sync"]).expect(0);
    let before = p.tree();
    p.append(p.spec(), NEW_POOL);
    let run = p.ggen(&["sync"]).expect(0);
    assert!(
        run.stdout
            .contains("Generated 1 new file:\n  out/email_pool.txt\n"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("Updated 1 file:\n  out/pools.txt\n"),
        "{}",
        run.stdout
    );
    // With a pool declared, the default pool is no longer generated.
    assert!(
        run.stdout
            .contains("Removed 1 file:\n  out/job_worker_pool.txt\n"),
        "{}",
        run.stdout
    );
    assert!(!p.exists("out/job_worker_pool.txt"));
    assert_eq!(
        p.read("out/email_pool.txt"),
        "pool email_pool size 3 of mini\n"
    );
    let after = p.tree();
    assert_ne!(
        before[".ggen/receipt.json"].0,
        after[".ggen/receipt.json"].0
    );
}

#[test]
fn the_specification_overrides_vocabulary_defaults() {
    let p = Project::mini();
    p.replace(p.spec(), "jobs:defaultValue 10", "jobs:defaultValue 20");
    p.ggen(&["sync"]).expect(0);
    assert!(
        p.read("out/pools.txt")
            .starts_with("job_worker_pool 20 5 5")
    );
}

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

#[test]
fn dry_run_writes_nothing() {
    let p = Project::mini();
    let before = p.tree();
    let run = p.ggen(&["sync", "--dry-run"]).expect(0);
    assert!(
        run.stdout.contains("Would create 2 files:"),
        "{}",
        run.stdout
    );
    assert_same_tree(&before, &p.tree());
    p.ggen(&["sync", "--dry_run"]).expect(0);
    p.ggen(&["sync", "--validate_only"]).expect(0);
    assert_same_tree(&before, &p.tree());
}

#[test]
fn check_fails_with_a_diff_when_out_of_date() {
    let p = Project::mini();
    let run = p.ggen(&["sync", "--check"]).expect(1);
    assert!(
        run.stdout.contains("would create: out/pools.txt"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("would create: .ggen/receipt.json"),
        "{}",
        run.stdout
    );
    p.ggen(&["sync"]).expect(0);
    p.ggen(&["sync", "--check"]).expect(0);
    p.replace(
        p.spec(),
        "jobs:defaultValue 30000",
        "jobs:defaultValue 45000",
    );
    let before = p.tree();
    let run = p.ggen(&["sync", "--check"]).expect(1);
    assert_same_tree(&before, &p.tree());
    let diff = run.stdout.split("\n--- a/").nth(1).unwrap();
    insta::assert_snapshot!("check_diff", format!("--- a/{}", diff));
}

#[test]
fn hand_edits_are_refused_until_forced() {
    let p = Project::mini();
    p.ggen(&["sync"]).expect(0);
    p.append("out/pools.txt", "my note\n");
    let verify = p.ggen(&["verify"]).expect(1);
    assert!(
        verify.stdout.contains("modified: out/pools.txt"),
        "{}",
        verify.stdout
    );
    let run = p.ggen(&["sync"]).expect(7);
    assert!(
        run.stdout.contains("[μ₅] Generating receipt... ✗"),
        "{}",
        run.stdout
    );
    insta::assert_snapshot!("hand_edit_refused", run.stderr);
    assert!(p.read("out/pools.txt").ends_with("my note\n"));
    p.ggen(&["sync", "--force"]).expect(0);
    assert!(!p.read("out/pools.txt").contains("my note"));
    p.ggen(&["verify"]).expect(0);
}

#[test]
fn an_existing_file_ggen_did_not_write_is_not_overwritten() {
    let p = Project::mini();
    p.write("out/pools.txt", "mine\n");
    p.ggen(&["sync"]).expect(7);
    assert_eq!(p.read("out/pools.txt"), "mine\n");
    assert!(
        !p.exists("out/job_worker_pool.txt"),
        "nothing is written when one file is refused"
    );
}

#[test]
fn edited_orphans_are_kept_unless_forced() {
    let p = Project::mini();
    p.ggen(&["sync"]).expect(0);
    p.append("out/job_worker_pool.txt", "edited\n");
    p.append(p.spec(), NEW_POOL);
    let run = p.ggen(&["sync"]).expect(0);
    assert!(
        run.stdout.contains("Kept 1 file edited by hand"),
        "{}",
        run.stdout
    );
    assert!(p.exists("out/job_worker_pool.txt"));
    p.ggen(&["verify"]).expect(0);
}

#[test]
fn rule_selection_leaves_other_outputs_alone() {
    let p = Project::mini();
    p.ggen(&["sync"]).expect(0);
    p.append(p.spec(), NEW_POOL);
    let run = p.ggen(&["sync", "--rule", "pools"]).expect(0);
    assert!(
        run.stdout.contains("Updated 1 file:\n  out/pools.txt"),
        "{}",
        run.stdout
    );
    assert!(!run.stdout.contains("Removed"), "{}", run.stdout);
    assert!(p.exists("out/job_worker_pool.txt"));
    assert!(!p.exists("out/email_pool.txt"));
    p.ggen(&["verify"]).expect(0);
    p.ggen(&["sync", "--rule", "per_pool"]).expect(0);
    assert!(p.exists("out/email_pool.txt"));
    assert!(!p.exists("out/job_worker_pool.txt"));
}

#[test]
fn json_lists_every_file_with_its_action() {
    let p = Project::mini();
    let run = p.ggen(&["sync", "--format", "json"]).expect(0);
    let doc: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(doc["status"], "ok");
    assert_eq!(doc["files"][0]["path"], "out/job_worker_pool.txt");
    assert_eq!(doc["files"][0]["action"], "created");
    assert_eq!(doc["files"][0]["rule"], "per_pool");
    assert_eq!(doc["rules"]["pools"], 1);
    assert_eq!(doc["receipt"]["action"], "created");
    let receipt = std::fs::read(p.path().join(".ggen/receipt.json")).unwrap();
    assert_eq!(doc["receipt"]["sha256"], ggen::inputs::sha256_hex(&receipt));
    let run = p.ggen(&["sync", "--check", "--format", "json"]).expect(0);
    let doc: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(doc["files"][1]["action"], "unchanged");
}

#[test]
fn quiet_prints_nothing_and_verbose_more() {
    let p = Project::mini();
    let run = p.ggen(&["sync", "-q"]).expect(0);
    assert!(run.stdout.is_empty(), "{}", run.stdout);
    let run = p.ggen(&["sync", "-v"]).expect(0);
    assert!(
        run.stdout.contains("Unchanged:\n  out/job_worker_pool.txt"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("normalize"), "{}", run.stdout);
}

#[test]
fn a_manifest_elsewhere_resolves_paths_against_its_folder() {
    let p = Project::mini();
    let parent = p.path().parent().unwrap();
    let name = p.path().file_name().unwrap().to_str().unwrap();
    let manifest = format!("{name}/ggen.toml");
    run_in(parent, &["sync", "--manifest", &manifest]).expect(0);
    assert!(p.exists("out/pools.txt"));
    assert!(p.exists(".ggen/receipt.json"));
    run_in(parent, &["verify", "--manifest", &manifest]).expect(0);
}

#[test]
fn stale_lock_of_a_dead_process_is_taken_over() {
    let p = Project::mini();
    // Process ids are below 2^22 on Linux.
    p.write(".ggen/lock", "4194305\n");
    p.ggen(&["sync"]).expect(0);
    assert!(!p.exists(".ggen/lock"));
}

#[test]
fn ntriples_sources_are_read() {
    let p = Project::mini();
    p.write(
        "extra.nt",
        "<http://example.org/app#bulkPool> <http://www.w3.org/1999/02/22-rdf-syntax-ns#type> <http://ggen.dev/ontology/jobs#WorkerPool> .\n",
    );
    p.replace(
        "ggen.toml",
        "source = \".specify/specs/001-job-queue/feature.ttl\"",
        "source = \".specify/specs/001-job-queue/feature.ttl\"\nimports = [\"extra.nt\"]",
    );
    p.ggen(&["sync"]).expect(0);
    assert_eq!(
        p.read("out/bulk_pool.txt"),
        "pool bulk_pool size 10 of mini\n"
    );
}

#[test]
fn rdf_xml_sources_are_read() {
    let p = Project::mini();
    p.write(
        "extra.rdf",
        r#"<?xml version="1.0"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"
         xmlns:jobs="http://ggen.dev/ontology/jobs#">
  <jobs:WorkerPool rdf:about="http://example.org/app#xmlPool">
    <jobs:poolSize rdf:datatype="http://www.w3.org/2001/XMLSchema#integer">7</jobs:poolSize>
  </jobs:WorkerPool>
</rdf:RDF>
"#,
    );
    p.replace(
        "ggen.toml",
        "source = \".specify/specs/001-job-queue/feature.ttl\"",
        "source = \".specify/specs/001-job-queue/feature.ttl\"\nimports = [\"extra.rdf\"]",
    );
    p.ggen(&["sync"]).expect(0);
    assert_eq!(p.read("out/xml_pool.txt"), "pool xml_pool size 7 of mini\n");
}

#[test]
fn templates_include_others_from_templates_dir() {
    let p = Project::mini();
    p.write(
        "t/partials/header.tera",
        "# {{ project.name }} — generated by ggen\n",
    );
    p.replace(
        "t/pools.txt.tera",
        "{% for p in rows %}",
        "{% include \"t/partials/header.tera\" %}{% for p in rows %}",
    );
    p.ggen(&["sync"]).expect(0);
    assert!(
        p.read("out/pools.txt")
            .starts_with("# mini — generated by ggen\njob_worker_pool 10")
    );
    let receipt = p.read(".ggen/receipt.json");
    assert!(
        receipt.contains("\"name\": \"t/partials/header.tera\""),
        "{receipt}"
    );
}

#[test]
fn completions_are_printed() {
    let p = Project::empty();
    for shell in ["bash", "zsh", "fish"] {
        let run = p.ggen(&["completions", shell]).expect(0);
        assert!(
            run.stdout.contains("ggen") && run.stdout.contains("sync"),
            "{shell}"
        );
    }
}

#[test]
fn a_corrupt_receipt_stops_the_sync_until_forced() {
    let p = Project::mini();
    p.ggen(&["sync"]).expect(0);
    p.write(".ggen/receipt.json", "{ not json");
    let before = p.tree();
    let run = p.ggen(&["sync"]).expect(7);
    assert!(
        run.stderr.contains("the previous receipt cannot be read"),
        "{}",
        run.stderr
    );
    assert_same_tree(&before, &p.tree());
    p.ggen(&["sync", "--force"]).expect(0);
    p.ggen(&["verify"]).expect(0);
}

#[test]
fn force_removes_edited_orphans() {
    let p = Project::mini();
    p.ggen(&["sync"]).expect(0);
    p.append("out/job_worker_pool.txt", "edited\n");
    p.append(p.spec(), NEW_POOL);
    let run = p.ggen(&["sync", "--force"]).expect(0);
    assert!(
        run.stdout
            .contains("Removed 1 file:\n  out/job_worker_pool.txt"),
        "{}",
        run.stdout
    );
    assert!(!p.exists("out/job_worker_pool.txt"));
}
