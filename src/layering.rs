//! The crate's shape, checked: which module may name which, and how long a
//! source file may grow. A module that names a later stage, or any import
//! circle, fails here before it sets into the code.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// The longest source file we keep before cutting it along its concerns.
const MAX_LINES: usize = 450;

/// The top-level modules as named by `crate::<module>` in each file under
/// `src/<module>.rs` or `src/<module>/`, comments left out.
fn imports() -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for entry in walkdir::WalkDir::new(&src).sort_by_file_name() {
        let entry = entry.expect("src/ is readable");
        let path = entry.path();
        if path.extension().is_none_or(|e| e != "rs") {
            continue;
        }
        let relative = path.strip_prefix(&src).expect("under src/");
        let first = relative.components().next().expect("a file name");
        let module = first
            .as_os_str()
            .to_string_lossy()
            .trim_end_matches(".rs")
            .to_owned();
        let text = std::fs::read_to_string(path).expect("a source file is UTF-8");
        let named = graph.entry(module.clone()).or_default();
        for line in text.lines() {
            let code = line.split("//").next().unwrap_or_default();
            for (at, _) in code.match_indices("crate::") {
                let rest = &code[at + "crate::".len()..];
                // `crate::{a, b::c}` names each module in the braces.
                let group = rest
                    .strip_prefix('{')
                    .map(|g| g.split('}').next().unwrap_or(g));
                let heads: Vec<&str> = match group {
                    Some(group) => group.split(',').map(str::trim).collect(),
                    None => vec![rest],
                };
                for head in heads {
                    let name: String = head
                        .chars()
                        .take_while(|c| c.is_ascii_lowercase() || *c == '_')
                        .collect();
                    if !name.is_empty() && name != module {
                        named.insert(name);
                    }
                }
            }
        }
    }
    graph
}

/// A path through `graph` from `from` back to itself, if there is one.
fn circle_through(graph: &BTreeMap<String, BTreeSet<String>>, from: &str) -> Option<Vec<String>> {
    let mut stack = vec![vec![from.to_owned()]];
    let mut seen = BTreeSet::new();
    while let Some(path) = stack.pop() {
        let last = path.last().expect("paths are never empty");
        for next in graph.get(last).into_iter().flatten() {
            if next == from {
                let mut circle = path.clone();
                circle.push(next.clone());
                return Some(circle);
            }
            if seen.insert(next.clone()) {
                let mut longer = path.clone();
                longer.push(next.clone());
                stack.push(longer);
            }
        }
    }
    None
}

#[test]
fn no_module_imports_in_a_circle() {
    let graph = imports();
    assert!(graph.len() > 10, "found the modules: {graph:?}");
    let circles: Vec<String> = graph
        .keys()
        .filter_map(|m| circle_through(&graph, m))
        .map(|c| c.join(" → "))
        .collect();
    assert!(
        circles.is_empty(),
        "import circles:\n{}",
        circles.join("\n")
    );
}

#[test]
fn no_stage_names_a_later_one() {
    // μ₁ … μ₅ in order, with the engines they share before them, and the
    // comparison of two versions' plans after them.
    let stages = [
        "sparql",
        "templating",
        "normalize",
        "extract",
        "render",
        "canonical",
        "receipt",
        "plan",
        "diff",
    ];
    let graph = imports();
    for (at, stage) in stages.iter().enumerate() {
        for later in &stages[at + 1..] {
            assert!(
                !graph[*stage].contains(*later),
                "{stage} names {later}, a later stage"
            );
        }
    }
}

#[test]
fn no_source_file_outgrows_its_concerns() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let long: Vec<String> = walkdir::WalkDir::new(&src)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.path().extension().is_some_and(|x| x == "rs"))
        .filter_map(|e| {
            let lines = std::fs::read_to_string(e.path()).ok()?.lines().count();
            (lines > MAX_LINES).then(|| format!("{} ({lines} lines)", e.path().display()))
        })
        .collect();
    assert!(long.is_empty(), "over {MAX_LINES} lines: {long:?}");
}
