//! `ggen init`: a ready-to-sync project from the files embedded in the
//! binary: the manifest, the example specification, the vocabulary with its
//! rules and checks, and editable copies of the chosen targets' templates.

use std::path::Path;

use crate::error::{Diagnostic, Error, ErrorKind, Location, Result, display_path};
use crate::manifest::{check_identifier, suggest_identifier};

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/embedded.rs"));
}

/// The built-in file at `path` (as in this repository), if any.
pub fn builtin(path: &str) -> Option<&'static str> {
    embedded::FILES
        .iter()
        .find(|(p, _)| *p == path)
        .map(|(_, text)| *text)
}

/// The target language(s) of a new project.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    /// An Erlang/OTP application.
    Erlang,
    /// A Rust crate.
    Rust,
    /// Both, in `erlang/` and `rust/`.
    Both,
}

/// A target language and the folder its outputs go to.
#[derive(Debug, Clone, Copy)]
pub struct Target<'a> {
    /// `erlang` or `rust`: the templates folder under `templates/`.
    pub name: &'static str,
    /// Output folder relative to the project (`""` for the project itself).
    pub dir: &'a str,
}

/// The targets of `--lang`, laid out as in a new project.
pub fn targets(lang: Lang) -> Vec<Target<'static>> {
    match lang {
        Lang::Erlang => vec![Target {
            name: "erlang",
            dir: "",
        }],
        Lang::Rust => vec![Target {
            name: "rust",
            dir: "",
        }],
        Lang::Both => vec![
            Target {
                name: "erlang",
                dir: "erlang",
            },
            Target {
                name: "rust",
                dir: "rust",
            },
        ],
    }
}

const HEADER: &str = "\
# A ggen project: `ggen sync` regenerates every output below from the
# specification and the vocabulary. Paths are relative to this file.
";

const ONTOLOGY: &str = r#"
[ontology]
source = ".specify/specs/001-job-queue/feature.ttl"
imports = ["ontology/jobs.ttl"]

# μ₁: instances get the vocabulary's jobs:defaultValue for what they leave
# out; these rules add what a literal default cannot say.
[[inference.rules]]
name = "default_pool"
construct = { file = "ontology/rules/default_pool.rq" }

[[inference.rules]]
name = "default_worker"
construct = { file = "ontology/rules/default_worker.rq" }

[[inference.rules]]
name = "default_supervisor"
construct = { file = "ontology/rules/default_supervisor.rq" }

[[inference.rules]]
name = "default_queue"
construct = { file = "ontology/rules/default_queue.rq" }

[[inference.rules]]
name = "lane_pool"
construct = { file = "ontology/rules/lane_pool.rq" }

# μ₁: every row these queries return is a violation; the sync stops (exit 4).
[[validation.rules]]
name = "unknown_property"
query = { file = "ontology/checks/unknown_property.rq" }
message = "{{ subject }}: {{ property_local_name }} is not a property of the jobs vocabulary (see ontology/jobs.ttl)"

[[validation.rules]]
name = "datatype"
query = { file = "ontology/checks/datatype.rq" }
message = "{{ subject }}: {{ property_local_name }} must be of type xsd:{{ expected_local_name }}, but it is \"{{ value }}\"{% if datatype_local_name is defined %} (xsd:{{ datatype_local_name }}){% endif %}"

[[validation.rules]]
name = "minimum"
query = { file = "ontology/checks/minimum.rq" }
message = "{{ subject }}: {{ property_local_name }} must be at least {{ minimum }}, but it is {{ value }}"

[[validation.rules]]
name = "allowed_value"
query = { file = "ontology/checks/allowed_value.rq" }
message = "{{ subject }}: {{ property_local_name }} must be one of {{ allowed_values }}, but it is \"{{ value }}\""

[[validation.rules]]
name = "pattern"
query = { file = "ontology/checks/pattern.rq" }
message = "{{ subject }}: {{ property_local_name }} must match {{ pattern }}, but it is \"{{ value }}\""

[[validation.rules]]
name = "class_range"
query = { file = "ontology/checks/class_range.rq" }
message = "{{ subject }}: {{ property_local_name }} must name a {{ expected_local_name }}, but {{ value }} is not one"

[[validation.rules]]
name = "single_value"
query = { file = "ontology/checks/single_value.rq" }
message = "{{ subject }}: {{ property_local_name }} has several values ({{ values }}); give it one"

[[validation.rules]]
name = "unique_pool_name"
query = { file = "ontology/checks/unique_pool_name.rq" }
message = "pools {{ pools }} would all be named {{ name }}; rename one"

[[validation.rules]]
name = "reserved_pool_name"
query = { file = "ontology/checks/reserved_pool_name.rq" }
message = "{{ pool }}: a pool named {{ name }} would clash with a process the Erlang application already registers; rename the pool"

[[validation.rules]]
name = "unique_lane"
query = { file = "ontology/checks/unique_lane.rq" }
message = "lane ({{ priority }}, {{ domain }}) is declared by several workers: {{ workers }}"

[[validation.rules]]
name = "single_supervisor"
query = { file = "ontology/checks/single_supervisor.rq" }
message = "there are several jobs:Supervisor instances ({{ supervisors }}); declare one"

[[validation.rules]]
name = "single_queue"
query = { file = "ontology/checks/single_queue.rq" }
message = "there are several jobs:JobQueue instances ({{ queues }}); declare one"

[generation]
output_dir = "."
templates_dir = "templates"
"#;

/// The `ggen.toml` of a project named `name` generating `targets`.
pub fn manifest_text(name: &str, targets: &[Target<'_>]) -> String {
    let mut text = String::from(HEADER);
    text.push_str(&format!(
        "\n[project]\nname = \"{name}\"\nversion = \"0.1.0\"\n"
    ));
    text.push_str(ONTOLOGY);
    for target in targets {
        let rules_file = format!("templates/{}/rules.toml", target.name);
        let rules = builtin(&rules_file).unwrap_or_default();
        text.push('\n');
        for line in rules.lines() {
            match line.strip_prefix("output_file = \"") {
                Some(rest) if !target.dir.is_empty() => {
                    text.push_str(&format!("output_file = \"{}/{rest}", target.dir));
                }
                _ => text.push_str(line),
            }
            text.push('\n');
        }
    }
    text
}

fn gitignore(targets: &[Target<'_>]) -> String {
    let mut text = String::from(crate::ggen_dir::GITIGNORE);
    for target in targets {
        let prefix = if target.dir.is_empty() {
            "/".to_string()
        } else {
            format!("/{}/", target.dir)
        };
        let build = if target.name == "erlang" {
            "_build"
        } else {
            "target"
        };
        text.push_str(&format!("{prefix}{build}/\n"));
        if target.name == "rust" {
            text.push_str(&format!("{prefix}Cargo.lock\n"));
        }
    }
    text
}

/// What `init` created.
#[derive(Debug)]
pub struct Created {
    /// The project name.
    pub name: String,
    /// The files written, relative to the project folder.
    pub files: Vec<String>,
}

/// Creates a project in `dir`.
pub fn init(dir: &Path, lang: Lang, name: Option<&str>) -> Result<Created> {
    let name = match name {
        Some(n) => {
            check_identifier(n).map_err(|why| {
                Error::usage(format!("--name `{n}` {why}")).with_help(format!(
                    "the name is the Erlang application and the Rust crate name; for example `{}`",
                    suggest_identifier(n)
                ))
            })?;
            n.to_string()
        }
        None => suggest_identifier(&folder_name(dir)),
    };
    if dir.join("ggen.toml").exists() {
        return Err(Error::at(
            ErrorKind::Write,
            Location::file(display_path(&dir.join("ggen.toml"))),
            "this folder already holds a ggen project",
        )
        .with_help("run `ggen sync` there, or choose another folder"));
    }
    let targets = targets(lang);
    let mut files: Vec<(String, Vec<u8>)> = vec![
        (
            "ggen.toml".into(),
            manifest_text(&name, &targets).into_bytes(),
        ),
        (".gitignore".into(), gitignore(&targets).into_bytes()),
    ];
    let wanted = |path: &str| {
        path.starts_with("ontology/")
            || path.starts_with(".specify/")
            || targets.iter().any(|t| {
                path.starts_with(&format!("templates/{}/", t.name))
                    && !path.ends_with("/rules.toml")
            })
    };
    for (path, text) in embedded::FILES.iter().filter(|(p, _)| wanted(p)) {
        files.push((path.to_string(), text.as_bytes().to_vec()));
    }
    let existing: Vec<Diagnostic> = files
        .iter()
        .filter(|(p, _)| dir.join(p).exists())
        .map(|(p, _)| Diagnostic {
            message: format!(
                "{} already exists; ggen init does not overwrite files",
                display_path(&dir.join(p))
            ),
            location: None,
            help: None,
        })
        .collect();
    if !existing.is_empty() {
        return Err(Error::many(ErrorKind::Write, existing));
    }
    crate::write::create_files(dir, &files)?;
    Ok(Created {
        name,
        files: files.into_iter().map(|(p, _)| p).collect(),
    })
}

/// The last component of `dir` (of the current folder for `.`).
fn folder_name(dir: &Path) -> String {
    let absolute = if dir.is_absolute() {
        dir.to_path_buf()
    } else {
        std::env::current_dir().unwrap_or_default().join(dir)
    };
    let mut name = String::new();
    for part in absolute.components() {
        match part {
            std::path::Component::Normal(p) => name = p.to_string_lossy().into_owned(),
            std::path::Component::ParentDir => name.clear(),
            _ => {}
        }
    }
    if name.is_empty() {
        absolute
            .canonicalize()
            .ok()
            .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
            .unwrap_or_default()
    } else {
        name
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The repository's own ggen.toml is what `init --lang both` would write,
    /// with the targets in examples/. `GGEN_BLESS=1 cargo test` rewrites it.
    #[test]
    fn the_repository_manifest_is_the_composed_one() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/ggen.toml");
        let targets = [
            Target {
                name: "erlang",
                dir: "examples/erlang_jobs",
            },
            Target {
                name: "rust",
                dir: "examples/rust_jobs",
            },
        ];
        let expected = manifest_text("ggen_jobs", &targets);
        if std::env::var_os("GGEN_BLESS").is_some() {
            std::fs::write(path, &expected).unwrap();
        }
        let root = std::fs::read_to_string(path).unwrap_or_default();
        assert_eq!(
            root, expected,
            "run `GGEN_BLESS=1 cargo test --lib` to rewrite ggen.toml"
        );
    }

    #[test]
    fn folder_names_become_project_names() {
        assert_eq!(
            suggest_identifier(&folder_name(Path::new("/tmp/My Jobs"))),
            "my_jobs"
        );
        assert_eq!(folder_name(Path::new("a/b/../c")), "c");
    }
}
