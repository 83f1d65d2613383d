//! Every kind of bad input: the exit code, the message (snapshot), and a
//! project left exactly as it was.

use crate::util::{Project, assert_same_tree};

/// Syncs once so the project has outputs and a receipt, breaks it with
/// `mutate`, and checks that a sync fails with `code` and touches nothing
/// but what `mutate` changed.
#[track_caller]
fn fails(name: &str, code: i32, mutate: impl FnOnce(&Project)) {
    fails_with(name, code, &["sync"], mutate);
}

#[track_caller]
fn fails_with(name: &str, code: i32, args: &[&str], mutate: impl FnOnce(&Project)) {
    let p = Project::mini();
    p.ggen(&["sync"]).expect(0);
    mutate(&p);
    let before = p.tree();
    let run = p.ggen(args).expect(code);
    assert_same_tree(&before, &p.tree());
    let report = format!(
        "exit {}\n--- stdout\n{}--- stderr\n{}",
        run.code, run.stdout, run.stderr
    );
    // The lock test writes the test's own process id into the lock.
    let report = report.replace(
        &format!("process {}", std::process::id()),
        "process <test pid>",
    );
    insta::assert_snapshot!(name, report);
}

#[test]
fn turtle_syntax_error() {
    fails("turtle_syntax_error", 4, |p| {
        p.append(
            p.spec(),
            "\njobs:x a jobs:WorkerPool\njobs:y a jobs:Worker .\n",
        );
    });
}

#[test]
fn wrong_datatype() {
    fails("wrong_datatype", 4, |p| {
        p.append(
            p.spec(),
            "\n@prefix ex: <http://example.org/app#> .\nex:emailPool a jobs:WorkerPool ;\n    jobs:poolSize \"ten\" .\n",
        );
    });
}

#[test]
fn out_of_range_value() {
    fails("out_of_range_value", 4, |p| {
        p.append(
            p.spec(),
            "\n@prefix ex: <http://example.org/app#> .\nex:emailPool a jobs:WorkerPool ;\n    jobs:poolSize 0 ;\n    jobs:strategy \"random\" .\n",
        );
    });
}

#[test]
fn bad_job_queue() {
    fails("bad_job_queue", 4, |p| {
        p.append(
            p.spec(),
            "\n@prefix ex: <http://example.org/app#> .\nex:queue a jobs:JobQueue ;\n    jobs:backend \"kafka\" ;\n    jobs:stream \"JOBS.v2\" ;\n    jobs:subjectPrefix \"jobs.>\" .\nex:other a jobs:JobQueue .\n",
        );
    });
}

#[test]
fn bad_default_in_the_specification() {
    fails("bad_default", 4, |p| {
        p.replace(p.spec(), "jobs:defaultValue 10", "jobs:defaultValue -1");
    });
}

#[test]
fn unknown_manifest_key() {
    fails("unknown_manifest_key", 3, |p| {
        p.replace("ggen.toml", "\nsource = ", "\nsourc = ");
    });
}

#[test]
fn unknown_key_in_a_rule() {
    fails("unknown_rule_key", 3, |p| {
        p.replace(
            "ggen.toml",
            "for_each = \"row\"",
            "for_each = \"row\"\nskip_emtpy = true",
        );
    });
}

#[test]
fn missing_manifest() {
    let p = Project::empty();
    let run = p.ggen(&["sync"]).expect(3);
    assert!(p.tree().is_empty());
    insta::assert_snapshot!("missing_manifest", run.stderr);
}

#[test]
fn missing_ontology_file() {
    fails("missing_ontology_file", 3, |p| {
        p.replace(
            "ggen.toml",
            "source = \".specify/specs/001-job-queue/feature.ttl\"",
            "source = \".specify/specs/001-job-queue/featur.ttl\"",
        );
    });
}

#[test]
fn sparql_syntax_error() {
    fails("sparql_syntax_error", 5, |p| {
        p.replace("t/pools.rq", "WHERE {", "WHERE {{");
    });
}

#[test]
fn inline_query_that_is_not_a_select() {
    fails("query_not_select", 5, |p| {
        p.replace(
            "ggen.toml",
            "query = { file = \"t/pools.rq\" }\ntemplate = { inline",
            "query = \"ASK {}\"\ntemplate = { inline",
        );
    });
}

#[test]
fn undefined_template_variable() {
    fails("undefined_template_variable", 6, |p| {
        p.append("t/pools.txt.tera", "{{ pool_count }}\n");
    });
}

#[test]
fn template_syntax_error() {
    fails("template_syntax_error", 6, |p| {
        p.append("t/pools.txt.tera", "{% for x in rows %}\n");
    });
}

#[test]
fn output_path_escaping_the_root() {
    fails("output_path_relative_escape", 7, |p| {
        p.replace(
            "ggen.toml",
            "output_file = \"out/pools.txt\"",
            "output_file = \"out/../../pools.txt\"",
        );
    });
}

#[test]
fn absolute_output_path() {
    fails("output_path_absolute", 7, |p| {
        p.replace(
            "ggen.toml",
            "output_file = \"out/pools.txt\"",
            "output_file = \"/tmp/ggen-escape.txt\"",
        );
    });
    assert!(!std::path::Path::new("/tmp/ggen-escape.txt").exists());
}

#[test]
fn output_dir_outside_the_project() {
    fails("output_dir_escape", 3, |p| {
        p.replace("ggen.toml", "output_dir = \".\"", "output_dir = \"..\"");
    });
}

#[test]
fn output_through_a_symlink_leaving_the_project() {
    let outside = tempfile::tempdir().unwrap();
    fails("output_symlink_escape", 7, |p| {
        std::fs::remove_dir_all(p.path().join("out")).unwrap();
        std::os::unix::fs::symlink(outside.path(), p.path().join("out")).unwrap();
        std::fs::remove_file(p.path().join(".ggen/receipt.json")).unwrap();
    });
    assert_eq!(std::fs::read_dir(outside.path()).unwrap().count(), 0);
}

#[test]
fn output_overwriting_an_input() {
    fails("output_overwrites_input", 7, |p| {
        p.replace(
            "ggen.toml",
            "output_file = \"out/pools.txt\"",
            "output_file = \".specify/specs/001-job-queue/feature.ttl\"",
        );
    });
}

#[test]
fn two_rows_rendering_one_path() {
    fails("duplicate_output_path", 6, |p| {
        p.replace(
            "ggen.toml",
            "output_file = \"out/{{ name }}.txt\"",
            "output_file = \"out/all.txt\"",
        );
        p.append(
            p.spec(),
            "\n@prefix ex: <http://example.org/app#> .\nex:emailPool a jobs:WorkerPool .\nex:reportPool a jobs:WorkerPool .\n",
        );
    });
}

#[test]
fn non_utf8_ontology() {
    fails("non_utf8_ontology", 4, |p| {
        let mut bytes = p.read(p.spec()).into_bytes();
        bytes.extend_from_slice(b"# caf\xe9\n");
        p.write_bytes(p.spec(), &bytes);
    });
}

#[test]
fn non_utf8_template() {
    fails("non_utf8_template", 6, |p| {
        let mut bytes = p.read("t/pools.txt.tera").into_bytes();
        bytes.extend_from_slice(b"\xff\n");
        p.write_bytes("t/pools.txt.tera", &bytes);
    });
}

#[test]
fn non_utf8_manifest() {
    fails("non_utf8_manifest", 3, |p| {
        let mut bytes = p.read("ggen.toml").into_bytes();
        bytes.extend_from_slice(b"# \xc3\n");
        p.write_bytes("ggen.toml", &bytes);
    });
}

#[test]
fn lock_held_by_a_running_process() {
    fails("lock_held", 7, |p| {
        p.append(
            p.spec(),
            "\n@prefix ex: <http://example.org/app#> .\nex:newPool a jobs:WorkerPool .\n",
        );
        p.write(".ggen/lock", &format!("{}\n", std::process::id()));
    });
}

#[test]
fn unknown_rule_name() {
    fails_with(
        "unknown_rule_name",
        2,
        &["sync", "--rule", "per-pool"],
        |_| {},
    );
}

#[test]
fn usage_errors_exit_2() {
    let p = Project::mini();
    let run = p.ggen(&["sync", "--format", "yaml"]).expect(2);
    assert!(run.stderr.contains("yaml"), "{}", run.stderr);
    p.ggen(&["sync", "--check", "--dry-run"]).expect(2);
    p.ggen(&["frobnicate"]).expect(2);
}

#[test]
fn json_errors_carry_code_and_location() {
    let p = Project::mini();
    p.append(
        p.spec(),
        "\njobs:x a jobs:WorkerPool\njobs:y a jobs:Worker .\n",
    );
    let run = p.ggen(&["sync", "--format", "json"]).expect(4);
    let doc: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(doc["status"], "error");
    assert_eq!(doc["exit_code"], 4);
    let e = &doc["errors"][0];
    assert_eq!(e["code"], 4);
    assert_eq!(e["kind"], "ontology");
    assert_eq!(e["file"], ".specify/specs/001-job-queue/feature.ttl");
    assert!(e["line"].as_u64().unwrap() > 40);
    assert!(e["column"].is_u64());
    assert!(run.stderr.is_empty());
}

#[test]
fn misspelt_vocabulary_property() {
    fails("unknown_property", 4, |p| {
        p.append(
            p.spec(),
            "\n@prefix ex: <http://example.org/app#> .\nex:emailPool a jobs:WorkerPool ;\n    jobs:poolsize 3 .\n",
        );
    });
}

#[test]
fn output_into_ggen_folder() {
    fails("output_into_ggen_dir", 7, |p| {
        p.replace(
            "ggen.toml",
            "output_file = \"out/pools.txt\"",
            "output_file = \".ggen/receipt.json\"",
        );
    });
}

#[test]
fn inference_without_a_fixpoint() {
    fails("inference_without_fixpoint", 4, |p| {
        p.append(
            "ggen.toml",
            "\n[[inference.rules]]\nname = \"grows_forever\"\nconstruct = \"CONSTRUCT { ?pool <http://example.org/app#tag> [] } WHERE { ?pool a <http://ggen.dev/ontology/jobs#WorkerPool> }\"\n",
        );
    });
}
