//! `ggen init`: a ready-to-sync project: a manifest naming the chosen
//! built-in targets, the example specification and a `.gitignore`. Nothing
//! else: the targets' templates, queries and vocabulary stay in ggen.

use std::path::Path;

use crate::error::{Diagnostic, Error, ErrorKind, Location, Result, display_path};
use crate::manifest::{check_identifier, suggest_identifier};

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

/// A target and the folder its outputs go to.
#[derive(Debug, Clone, Copy)]
pub struct Target<'a> {
    /// The built-in target's name.
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

/// Where the example specification goes, and where it is in this repository.
pub const SPECIFICATION: &str = ".specify/specs/001-job-queue/feature.ttl";

/// The `ggen.toml` of a project named `name` generating `targets`.
pub fn manifest_text(name: &str, targets: &[Target<'_>]) -> String {
    let mut text = format!(
        "# A ggen project: `ggen sync` generates each target below from the\n\
         # specification. Paths are relative to this file.\n\
         \n\
         [project]\n\
         name = \"{name}\"\n\
         version = \"0.1.0\"\n\
         \n\
         [ontology]\n\
         source = \"{SPECIFICATION}\"\n"
    );
    if !targets.is_empty() {
        text.push_str("\n# Built-in targets (`ggen eject <name>` copies one into the project).\n");
    }
    for (i, target) in targets.iter().enumerate() {
        if i > 0 {
            text.push('\n');
        }
        text.push_str(&format!("[[targets]]\nname = \"{}\"\n", target.name));
        if !target.dir.is_empty() {
            text.push_str(&format!("output_dir = \"{}\"\n", target.dir));
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
    let specification = crate::targets::embedded_file(SPECIFICATION).unwrap_or_default();
    files.push((SPECIFICATION.to_string(), specification.as_bytes().to_vec()));
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
            check: None,
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
