//! Syncs killed (SIGKILL) or failing at every crash point of their write
//! (debug builds: `GGEN_CRASH_AT`, `GGEN_FAIL_AT`, src/write/crash.rs): the
//! next command leaves the tree wholly old or wholly new, its receipt
//! matching it, nothing staged; syncing the old or the new inputs then
//! succeeds. Not folders: each case is a kill and several runs after it.

use std::collections::BTreeMap;
use std::os::unix::process::ExitStatusExt as _;
use std::path::Path;
use std::process::{Command, Output};

use crate::util::{Project, binary, copy_dir};

const MANIFEST: &str = r#"[project]
name = "crash"
version = "1.0.0"

[ontology]
source = "spec.ttl"

[generation]
output_dir = "out"

[[generation.rules]]
name = "items"
query = { file = "items.rq" }
template = { inline = "item {{ name }} holds {{ v }}" }
output_file = "{{ group }}/{{ name }}.txt"
for_each = "row"
"#;

const QUERY: &str = r##"PREFIX ex: <http://example.org/crash#>
SELECT ?name ?group ?v WHERE {
  ?s ex:v ?v ; ex:group ?group .
  BIND(STRAFTER(STR(?s), "#") AS ?name)
}
ORDER BY ?name
"##;

/// The old and the new specification: items 0–15 and 4–23 in folders of
/// four, so the new sync updates 12 files, creates 8 (two folders new),
/// removes 4 (a folder emptied) and replaces the receipt.
fn spec(new: bool) -> String {
    let (items, word) = if new { (4..24, "new") } else { (0..16, "old") };
    let mut text = String::from("@prefix ex: <http://example.org/crash#> .\n");
    for i in items {
        text.push_str(&format!(
            "ex:item{i:02} ex:v \"{word} {i}\" ; ex:group \"g{}\" .\n",
            i / 4
        ));
    }
    text
}

pub fn set_inputs(dir: &Path, new: bool) {
    std::fs::write(dir.join("spec.ttl"), spec(new)).unwrap();
}

fn ggen(dir: &Path, args: &[&str], env: &[(&str, String)]) -> Output {
    Command::new(binary())
        .args(args)
        .current_dir(dir)
        .env_remove("GGEN_CRASH_AT")
        .env_remove("GGEN_FAIL_AT")
        .envs(env.iter().map(|(k, v)| (k, v)))
        .output()
        .expect("ggen runs")
}

#[track_caller]
fn expect(output: &Output, code: i32, what: &str) {
    assert_eq!(
        output.status.code(),
        Some(code),
        "{what}: {:?}\n--- stdout\n{}--- stderr\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Every file of the project but its inputs, the lock and the cache.
pub fn outputs(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    walkdir::WalkDir::new(dir)
        .into_iter()
        .map(Result::unwrap)
        .filter(|e| !e.file_type().is_dir())
        .map(|e| {
            let rel = e.path().strip_prefix(dir).unwrap().to_string_lossy();
            (
                rel.into_owned(),
                std::fs::read(e.path()).unwrap_or_default(),
            )
        })
        .filter(|(rel, _)| {
            !matches!(
                rel.as_str(),
                "ggen.toml" | "items.rq" | "spec.ttl" | ".ggen/lock" | ".ggen/cache.json"
            )
        })
        .collect()
}

/// The folders under `dir`, to see that none is left empty or missing.
fn folders(dir: &Path) -> Vec<String> {
    walkdir::WalkDir::new(dir)
        .sort_by_file_name()
        .into_iter()
        .map(Result::unwrap)
        .filter(|e| e.file_type().is_dir())
        .map(|e| e.path().strip_prefix(dir).unwrap().display().to_string())
        .collect()
}

/// A project synced from the old inputs, then given the new ones; and the
/// old and new trees (files and folders).
struct Setup {
    start: Project,
    old: (BTreeMap<String, Vec<u8>>, Vec<String>),
    new: (BTreeMap<String, Vec<u8>>, Vec<String>),
}

/// The project with the old inputs, not synced.
pub fn project() -> Project {
    let p = Project::empty();
    std::fs::write(p.path().join("ggen.toml"), MANIFEST).unwrap();
    std::fs::write(p.path().join("items.rq"), QUERY).unwrap();
    set_inputs(p.path(), false);
    p
}

fn setup() -> Setup {
    if !cfg!(debug_assertions) {
        panic!("crash points exist in debug builds only: run these tests without --release");
    }
    let start = project();
    let dir = start.path();
    expect(&ggen(dir, &["sync", "-q"], &[]), 0, "old sync");
    let old = (outputs(dir), folders(dir));

    let probe = Project::empty();
    copy_dir(dir, probe.path());
    set_inputs(probe.path(), true);
    expect(&ggen(probe.path(), &["sync", "-q"], &[]), 0, "new sync");
    let new = (outputs(probe.path()), folders(probe.path()));
    assert_ne!(old.0, new.0);

    set_inputs(dir, true);
    Setup { start, old, new }
}

/// What a killed or failed sync may leave, but no command after it.
fn leftovers(dir: &Path) -> Vec<String> {
    walkdir::WalkDir::new(dir)
        .into_iter()
        .map(Result::unwrap)
        .map(|e| e.path().strip_prefix(dir).unwrap().display().to_string())
        .filter(|rel| {
            rel == ".ggen/journal"
                || rel.starts_with(".ggen/staging")
                || rel.rsplit('/').next().unwrap().starts_with(".ggen-tmp-")
        })
        .collect()
}

/// After the command that recovered: wholly old or wholly new (true for
/// new), nothing staged, the receipt matching the tree, and a sync of
/// either inputs succeeding from there.
#[track_caller]
fn check_after(setup: &Setup, dir: &Path, at: &str, then_new: bool) -> bool {
    assert_eq!(leftovers(dir), Vec::<String>::new(), "{at}: left behind");
    let now = (outputs(dir), folders(dir));
    let is_new = if now == setup.new {
        true
    } else if now == setup.old {
        false
    } else {
        let mixed: Vec<&String> = now
            .0
            .keys()
            .filter(|k| {
                setup.old.0.get(*k) != now.0.get(*k) && setup.new.0.get(*k) != now.0.get(*k)
            })
            .collect();
        panic!(
            "{at}: the tree is neither old nor new: {mixed:?}; folders {:?}",
            now.1
        );
    };
    set_inputs(dir, is_new);
    expect(&ggen(dir, &["verify"], &[]), 0, &format!("{at}: verify"));
    set_inputs(dir, then_new);
    expect(
        &ggen(dir, &["sync", "-q"], &[]),
        0,
        &format!("{at}: sync after"),
    );
    let want = if then_new { &setup.new } else { &setup.old };
    assert!(
        &(outputs(dir), folders(dir)) == want,
        "{at}: the sync after made another tree"
    );
    is_new
}

/// The commands that meet a killed sync's journal first, in turn: every
/// kind must finish it.
const RECOVERERS: [&[&str]; 4] = [
    &["verify"],
    &["sync", "--dry-run", "-q"],
    &["sync", "--check", "-q"],
    &["sync", "-q"],
];

#[test]
fn a_sync_killed_at_any_point_leaves_the_old_or_the_new_tree() {
    let setup = setup();
    let (mut olds, mut news) = (0, 0);
    let mut point = 1;
    loop {
        let run = Project::empty();
        let dir = run.path();
        copy_dir(setup.start.path(), dir);
        let at = format!("killed at point {point}");
        let killed = ggen(
            dir,
            &["sync", "-q"],
            &[("GGEN_CRASH_AT", point.to_string())],
        );
        if killed.status.success() {
            // Past the last point: the sync ran to its end.
            break;
        }
        assert_eq!(killed.status.signal(), Some(9), "{at}: {killed:?}");
        // Every third time, the first command after is killed too, while
        // it recovers (its first few points), before another finishes.
        if point % 3 == 0 {
            let again = ggen(
                dir,
                &["verify"],
                &[("GGEN_CRASH_AT", (1 + point % 5).to_string())],
            );
            assert!(
                again.status.code().is_some_and(|c| c <= 1) || again.status.signal() == Some(9)
            );
        }
        let recoverer = RECOVERERS[point % RECOVERERS.len()];
        let recovered = ggen(dir, recoverer, &[]);
        assert!(
            recovered.status.code().is_some_and(|c| c <= 1),
            "{at}: ggen {recoverer:?}: {recovered:?}"
        );
        match check_after(&setup, dir, &at, point % 2 == 0) {
            true => news += 1,
            false => olds += 1,
        }
        point += 1;
    }
    let points = point - 1;
    assert!(
        points >= 50,
        "only {points} crash points in a sync of 25 changes"
    );
    // Kills before the journal leave the old tree, after it the new one.
    assert!(olds > 0 && news > 0, "old {olds}, new {news}");
    println!("{points} kills: {olds} left the old tree, {news} the new one");
}

#[test]
fn a_sync_failing_at_any_point_undoes_what_it_did() {
    let setup = setup();
    let mut point = 1;
    let mut undone = 0;
    loop {
        let run = Project::empty();
        let dir = run.path();
        copy_dir(setup.start.path(), dir);
        let at = format!("failed at point {point}");
        let mut env = vec![("GGEN_FAIL_AT", point.to_string())];
        // Every other time, the undoing is killed half-way too.
        if point % 2 == 0 {
            env.push(("GGEN_CRASH_AT", (point + 1 + point % 7).to_string()));
        }
        let failed = ggen(dir, &["sync", "-q"], &env);
        if failed.status.success() {
            break;
        }
        let stderr = String::from_utf8_lossy(&failed.stderr);
        if failed.status.code() == Some(7) {
            assert!(stderr.contains("injected failure"), "{at}: {stderr}");
            // Failing before its last rename, a sync undoes itself at once.
            if outputs(dir) == setup.old.0 && leftovers(dir).is_empty() {
                undone += 1;
            }
        } else {
            assert_eq!(failed.status.signal(), Some(9), "{at}: {failed:?}");
        }
        let recovered = ggen(dir, &["sync", "--dry-run", "-q"], &[]);
        expect(&recovered, 0, &format!("{at}: the next command"));
        check_after(&setup, dir, &at, point % 3 == 0);
        point += 1;
    }
    assert!(point > 50, "only {} failure points", point - 1);
    assert!(undone > 0, "no failure was undone at once");
}

/// Every file and folder of the project but the lock and the cache.
fn everything(dir: &Path) -> (BTreeMap<String, Vec<u8>>, Vec<String>) {
    let files = walkdir::WalkDir::new(dir)
        .into_iter()
        .map(Result::unwrap)
        .filter(|e| !e.file_type().is_dir())
        .map(|e| {
            let rel = e.path().strip_prefix(dir).unwrap().to_string_lossy();
            (rel.into_owned(), std::fs::read(e.path()).unwrap())
        })
        .filter(|(rel, _)| rel != ".ggen/lock" && rel != ".ggen/cache.json")
        .collect();
    (files, folders(dir))
}

/// `ggen eject` writes through the journal as a sync does: killed at any
/// point, the next command leaves the project as it was or wholly ejected
/// (the target's copy and the manifest pointing at it), nothing staged.
#[test]
fn an_eject_killed_at_any_point_leaves_the_project_as_it_was_or_ejected() {
    let start = Project::mini();
    expect(&ggen(start.path(), &["sync", "-q"], &[]), 0, "first sync");
    let old = everything(start.path());
    let probe = Project::empty();
    copy_dir(start.path(), probe.path());
    expect(&ggen(probe.path(), &["eject", "jobs"], &[]), 0, "eject");
    let new = everything(probe.path());
    assert!(
        new.0.len() > old.0.len() + 10,
        "the eject copies the target"
    );
    let (mut olds, mut news, mut point) = (0, 0, 1);
    loop {
        let run = Project::empty();
        let dir = run.path();
        copy_dir(start.path(), dir);
        let at = format!("eject killed at point {point}");
        let killed = ggen(
            dir,
            &["eject", "jobs"],
            &[("GGEN_CRASH_AT", point.to_string())],
        );
        if killed.status.success() {
            break;
        }
        assert_eq!(killed.status.signal(), Some(9), "{at}: {killed:?}");
        // After an eject, the receipt names the built-in files the copy
        // replaces: --check reports that drift (exit 1).
        let recovered = ggen(dir, &["sync", "--check", "-q"], &[]);
        assert!(
            recovered.status.code().is_some_and(|c| c <= 1),
            "{at}: {recovered:?}"
        );
        assert_eq!(leftovers(dir), Vec::<String>::new(), "{at}: left behind");
        let now = everything(dir);
        if now == new {
            news += 1;
        } else {
            assert!(now == old, "{at}: neither as it was nor ejected");
            olds += 1;
        }
        point += 1;
    }
    assert!(olds > 0 && news > 0, "old {olds}, new {news}");
    println!(
        "{} eject kills: {olds} as it was, {news} ejected",
        point - 1
    );
}
