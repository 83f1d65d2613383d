//! The no-op fast path (`.ggen/cache.json`): a sync that would change
//! nothing is proved from the receipt, and any change falls back to a full
//! sync. The last test drives a project through random edits and compares,
//! after each, the plan the fast path allows with the plan of a full sync
//! of the same tree: they must agree on every file and on the receipt.

use ggen::init::Lang;
use serde_json::Value;

use crate::util::{Project, binary, copy_dir, run_in};

const CACHE: &str = ".ggen/cache.json";

/// `ggen ARGS --format json` in `project`, parsed.
fn json(project: &Project, args: &[&str]) -> Value {
    let mut args = args.to_vec();
    args.extend(["--format", "json"]);
    let run = project.ggen(&args);
    serde_json::from_str(&run.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}):\n{}\n{}", run.stdout, run.stderr))
}

fn from_receipt(doc: &Value) -> bool {
    doc["from_receipt"]
        .as_bool()
        .expect("from_receipt in the JSON")
}

/// What a sync decides, without what differs between the two paths
/// (timings, and whether the fast path ran).
fn decision(doc: &Value) -> Value {
    let mut doc = doc.clone();
    let object = doc.as_object_mut().unwrap();
    object.remove("timings_ms");
    object.remove("from_receipt");
    doc
}

#[test]
fn a_second_sync_is_proved_from_the_receipt_for_every_init_language() {
    for lang in [Lang::Erlang, Lang::Rust, Lang::Both] {
        let p = Project::init(lang, "fast");
        let first = json(&p, &["sync"]);
        assert_eq!(first["exit_code"], 0, "{first}");
        assert!(!from_receipt(&first));
        assert!(p.exists(CACHE), "a complete sync writes the cache");
        let receipt = p.read(".ggen/receipt.json");
        let tree = p.tree();

        let second = json(&p, &["sync"]);
        assert!(from_receipt(&second), "{lang:?}: {second}");
        assert_eq!(p.read(".ggen/receipt.json"), receipt);
        assert_eq!(p.tree(), tree, "nothing written, no time changed");

        // The same answer as a full sync of the same tree.
        std::fs::remove_file(p.path().join(CACHE)).unwrap();
        let full = json(&p, &["sync", "--dry-run"]);
        assert!(!from_receipt(&full));
        let fast_dry = {
            json(&p, &["sync"]);
            json(&p, &["sync", "--dry-run"])
        };
        assert!(from_receipt(&fast_dry));
        assert_eq!(decision(&fast_dry), decision(&full), "{lang:?}");
        assert_eq!(
            second["graph"], full["graph"],
            "quads and graph digest come from the receipt"
        );
        assert_eq!(second["rules"], full["rules"]);
    }
}

#[test]
fn the_text_report_says_the_stages_were_not_run() {
    let p = Project::init(Lang::Erlang, "fast");
    p.ggen(&["sync"]).expect(0);
    let run = p.ggen(&["sync", "-v"]).expect(0);
    assert!(
        run.stdout
            .starts_with("[μ₁] Normalizing RDF ontology... ✓ (unchanged)\n"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("[μ₅] Generating receipt... ✓\n"));
    assert!(run.stdout.contains("proved from the receipt"));
    assert!(run.stdout.ends_with("26 unchanged\n"), "{}", run.stdout);
}

#[test]
fn touching_editing_and_reverting_an_input() {
    let p = Project::init(Lang::Erlang, "fast");
    p.ggen(&["sync"]).expect(0);
    let spec = p.spec();
    let original = p.read(spec);

    // Touched: same bytes, so the same result; the fast path holds.
    std::fs::File::options()
        .append(true)
        .open(p.path().join(spec))
        .unwrap()
        .set_modified(std::time::SystemTime::now() + std::time::Duration::from_secs(5))
        .unwrap();
    assert!(from_receipt(&json(&p, &["sync"])));

    // Edited: a full sync that updates the pool modules.
    p.append(
        spec,
        "\n@prefix ex: <http://example.org/app#> .\nex:bulk a jobs:WorkerPool ; jobs:poolSize 2 .\n",
    );
    let edited = json(&p, &["sync"]);
    assert!(!from_receipt(&edited));
    let updated = |doc: &Value| {
        doc["files"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["action"] == "updated")
            .count()
    };
    assert!(updated(&edited) > 0, "{edited}");
    assert!(from_receipt(&json(&p, &["sync"])));

    // Reverted: a full sync back to the first outputs.
    p.write(spec, &original);
    let reverted = json(&p, &["sync"]);
    assert!(!from_receipt(&reverted));
    assert_eq!(updated(&reverted), updated(&edited));
    assert!(from_receipt(&json(&p, &["sync"])));
}

#[test]
fn an_edited_or_missing_output_runs_in_full() {
    let p = Project::init(Lang::Erlang, "fast");
    p.ggen(&["sync"]).expect(0);
    let module = "src/job_worker_pool.erl";
    let original = p.read(module);

    p.append(module, "% mine\n");
    let refused = json(&p, &["sync"]);
    assert_eq!(refused["exit_code"], 7, "a hand edit is refused as before");
    let checked = json(&p, &["sync", "--check"]);
    assert_eq!(checked["exit_code"], 1);
    assert!(!from_receipt(&checked));

    std::fs::remove_file(p.path().join(module)).unwrap();
    let recreated = json(&p, &["sync"]);
    assert!(!from_receipt(&recreated));
    assert_eq!(p.read(module), original);
    assert!(from_receipt(&json(&p, &["sync"])));
}

#[test]
fn a_new_override_or_template_file_runs_in_full() {
    // A file put in the target's override folder replaces a built-in one.
    let p = Project::init(Lang::Erlang, "fast");
    p.ggen(&["sync"]).expect(0);
    let handler = ggen::targets::builtin_text("erlang", "job_handler.erl").unwrap();
    p.write(
        "templates/erlang/job_handler.erl",
        &format!("{handler}%% replaced\n"),
    );
    let doc = json(&p, &["sync"]);
    assert!(!from_receipt(&doc));
    assert!(p.read("src/job_handler.erl").ends_with("%% replaced\n"));
    assert!(from_receipt(&json(&p, &["sync"])));

    // A `*.tera` file appearing under templates_dir is an input too.
    let p = Project::mini();
    p.ggen(&["sync"]).expect(0);
    assert!(from_receipt(&json(&p, &["sync"])));
    p.write("t/extra.tera", "{# included by nobody #}\n");
    let doc = json(&p, &["sync"]);
    assert!(!from_receipt(&doc), "{doc}");
    assert!(from_receipt(&json(&p, &["sync"])));
}

#[test]
fn a_different_binary_runs_in_full() {
    let p = Project::init(Lang::Erlang, "fast");
    p.ggen(&["sync"]).expect(0);
    assert!(from_receipt(&json(&p, &["sync"])));
    let other = tempfile::tempdir().unwrap();
    let copy = other.path().join("ggen");
    std::fs::copy(binary(), &copy).unwrap();
    let run = |exe: &std::path::Path| -> Value {
        let out = std::process::Command::new(exe)
            .args(["sync", "--format", "json"])
            .current_dir(p.path())
            .output()
            .unwrap();
        serde_json::from_slice(&out.stdout).unwrap()
    };
    assert!(!from_receipt(&run(&copy)), "another executable file");
    assert!(from_receipt(&run(&copy)));
    assert!(!from_receipt(&run(&binary())), "and back");
}

#[test]
fn a_sync_of_some_rules_leaves_the_next_sync_in_full() {
    // --rule records today's inputs in the receipt but leaves the other
    // rules' outputs as they were: the next complete sync must render them.
    // Rule `pools` reads every input of rule `per_pool` (the query they
    // share, and the manifest, where per_pool's template is written).
    let p = Project::mini();
    p.ggen(&["sync"]).expect(0);
    // Nothing changed: a sync of some rules is proved from the receipt too.
    assert!(from_receipt(&json(&p, &["sync", "--rule", "pools"])));
    let manifest = p.read("ggen.toml");
    p.write(
        "ggen.toml",
        &manifest.replace("pool {{ name }} size", "pool {{ name }} of size"),
    );
    p.ggen(&["sync", "--rule", "pools"]).expect(0);
    let doc = json(&p, &["sync"]);
    assert!(!from_receipt(&doc), "{doc}");
    assert!(p.read("out/job_worker_pool.txt").contains("of size"));
    let unknown = p.ggen(&["sync", "--rule", "nope"]);
    assert_eq!(
        unknown.code, 2,
        "an unknown rule is a usage error either way"
    );
}

#[test]
fn a_receipt_or_cache_not_written_by_this_sync_runs_in_full() {
    let p = Project::init(Lang::Erlang, "fast");
    p.ggen(&["sync"]).expect(0);
    p.write(CACHE, "{ not json");
    assert!(!from_receipt(&json(&p, &["sync"])));
    assert!(
        from_receipt(&json(&p, &["sync"])),
        "the full sync rewrote it"
    );

    // A receipt edited by hand (here: reformatted) is not the one cached.
    let receipt = p.read(".ggen/receipt.json");
    p.write(".ggen/receipt.json", &format!("{receipt}\n"));
    let doc = json(&p, &["sync"]);
    assert!(!from_receipt(&doc));
    assert_eq!(p.read(".ggen/receipt.json"), receipt);
}

/// A small deterministic generator (xorshift64*), so a failure replays.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 33) as usize % n
    }
}

#[test]
fn the_fast_path_never_skips_a_sync_that_would_change_something() {
    let p = Project::mini();
    p.ggen(&["sync"]).expect(0);
    let spec = p.spec();
    let files = [
        spec,
        "ggen.toml",
        "t/pools.txt.tera",
        "t/pools.rq",
        "out/pools.txt",
        "out/job_worker_pool.txt",
    ];
    let originals: Vec<Option<Vec<u8>>> = files
        .iter()
        .map(|f| std::fs::read(p.path().join(f)).ok())
        .collect();
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut fast_seen = 0;
    for step in 0..60 {
        let i = rng.below(files.len());
        let path = p.path().join(files[i]);
        let what = match rng.below(6) {
            0 => {
                if let Some(bytes) = &originals[i] {
                    std::fs::write(&path, bytes).unwrap();
                }
                "restored"
            }
            1 => {
                let _ = std::fs::remove_file(&path);
                "removed"
            }
            2 => {
                if path.exists() {
                    let f = std::fs::File::options().append(true).open(&path).unwrap();
                    f.set_modified(std::time::SystemTime::now()).unwrap();
                }
                "touched"
            }
            3 => {
                let _ = std::fs::remove_file(p.path().join(".ggen/receipt.json"));
                "receipt removed"
            }
            4 => {
                // A comment, in each file's own syntax; the rule files differ in
                // content only.
                let line = match files[i] {
                    "ggen.toml" => "# c\n",
                    f if f.ends_with(".tera") => "{# c #}\n",
                    f if f.starts_with("out/") => "edited\n",
                    _ => "# c\n",
                };
                if path.exists() {
                    let mut bytes = std::fs::read(&path).unwrap();
                    bytes.extend_from_slice(line.as_bytes());
                    std::fs::write(&path, bytes).unwrap();
                }
                "appended"
            }
            _ => {
                // Sometimes bring everything back and sync, so the fast path
                // has a cache to use.
                for (f, bytes) in files.iter().zip(&originals) {
                    if let Some(bytes) = bytes {
                        p.write_bytes(f, bytes);
                    }
                }
                p.ggen(&["sync", "--force", "-q"]);
                "all restored and synced"
            }
        };

        // What the fast path (if it applies) says, against a full sync of a
        // copy of the same tree without the cache.
        let fast = json(&p, &["sync", "--dry-run"]);
        let copy = Project::empty();
        copy_dir(p.path(), copy.path());
        let _ = std::fs::remove_file(copy.path().join(CACHE));
        let full = serde_json::from_str::<Value>(
            &run_in(copy.path(), &["sync", "--dry-run", "--format", "json"]).stdout,
        )
        .unwrap();
        // A failed sync's document has no `from_receipt`: it ran in full.
        assert_ne!(full["from_receipt"], true);
        fast_seen += usize::from(fast["from_receipt"] == true);
        assert_eq!(
            decision(&fast),
            decision(&full),
            "step {step}: {} {what}",
            files[i]
        );
        // And sometimes really sync, as a user would.
        if rng.below(3) == 0 {
            p.ggen(&["sync", "-q"]);
        }
    }
    assert!(fast_seen >= 5, "the fast path ran {fast_seen} times");
}

#[test]
fn a_signed_receipt_is_proved_while_its_signature_holds() {
    let p = Project::mini();
    let keys = tempfile::tempdir().unwrap();
    let (one, two) = (
        crate::signing::key(keys.path(), "one", false),
        crate::signing::key(keys.path(), "two", false),
    );
    assert!(!from_receipt(&json(&p, &["sync", "--sign", &one.private])));
    let envelope = p.read(".ggen/receipt.dsse.json");
    assert!(from_receipt(&json(&p, &["sync", "--sign", &one.private])));
    // Without a key the envelope still signs the receipt: kept.
    assert!(from_receipt(&json(&p, &["sync"])));
    assert_eq!(p.read(".ggen/receipt.dsse.json"), envelope);
    // Another key: the envelope must be signed again, in full.
    let other = json(&p, &["sync", "--sign", &two.private]);
    assert!(!from_receipt(&other));
    assert_eq!(other["envelope"]["action"], "updated", "{other}");
    assert!(from_receipt(&json(&p, &["sync", "--sign", &two.private])));
}
