//! Embeds the built-in templates, queries, vocabulary and example
//! specification in the binary, for `ggen init`.

use std::path::Path;

const EMBEDDED: &[&str] = &[
    "templates",
    "ontology",
    ".specify/specs/001-job-queue/feature.ttl",
];

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    for entry in EMBEDDED {
        println!("cargo:rerun-if-changed={entry}");
        collect(root, &root.join(entry), &mut files);
    }
    files.sort();
    let mut code = String::from(
        "/// Built-in files: (path relative to the project, contents).\npub static FILES: &[(&str, &str)] = &[\n",
    );
    for rel in &files {
        code.push_str(&format!(
            "    ({rel:?}, include_str!(concat!(env!(\"CARGO_MANIFEST_DIR\"), \"/\", {rel:?}))),\n"
        ));
    }
    code.push_str("];\n");
    let out = Path::new(&std::env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("embedded.rs");
    std::fs::write(out, code).expect("OUT_DIR is writable");
}

fn collect(root: &Path, path: &Path, files: &mut Vec<String>) {
    if path.is_dir() {
        let mut entries: Vec<_> = std::fs::read_dir(path)
            .expect("embedded folders are readable")
            .map(|e| e.expect("embedded folders are readable").path())
            .collect();
        entries.sort();
        for p in entries {
            collect(root, &p, files);
        }
    } else if path.is_file() {
        let rel = path.strip_prefix(root).expect("under the crate root");
        files.push(rel.to_string_lossy().replace('\\', "/"));
    }
}
