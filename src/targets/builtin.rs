//! The targets built into ggen: every `templates/<name>/target.toml` of this
//! repository, with the files of its folder and the vocabulary in
//! `ontology/`, embedded in the binary and versioned with it.

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/embedded.rs"));
}

/// The version of every built-in target: the version of ggen.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// An embedded file of the repository, by its path there.
pub fn file(path: &str) -> Option<&'static str> {
    embedded::FILES
        .iter()
        .find(|(p, _)| *p == path)
        .map(|(_, text)| *text)
}

/// The names of the built-in targets, sorted.
pub fn names() -> Vec<&'static str> {
    embedded::FILES
        .iter()
        .filter_map(|(p, _)| p.strip_prefix("templates/")?.strip_suffix("/target.toml"))
        .filter(|name| !name.contains('/'))
        .collect()
}

/// The files of target `name`, by their path within the target's folder:
/// its own (`templates/<name>/…`) and the vocabulary (`ontology/…`).
pub fn files(name: &str) -> Vec<(String, &'static str)> {
    let own = format!("templates/{name}/");
    embedded::FILES
        .iter()
        .filter_map(|(path, text)| {
            let rel = path
                .strip_prefix(own.as_str())
                .map(str::to_string)
                .or_else(|| path.starts_with("ontology/").then(|| path.to_string()))?;
            Some((rel, *text))
        })
        .collect()
}
