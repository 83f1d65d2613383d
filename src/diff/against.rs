//! The version `ggen diff` compares with: another folder (or manifest) of
//! the project, or a git revision of it. A revision's files (the manifest
//! and every file or folder it names, and the override folders of its
//! targets, as they are at that commit) are read with `git ls-tree` and
//! `git cat-file` into a temporary folder laid out like the repository, and
//! the project is built from there; its errors name files as `REV:path`.

use std::collections::BTreeSet;
use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::error::{Error, ErrorKind, Result, display_path};

/// The other version's manifest, and what holds its files.
pub struct Against {
    /// The manifest to load.
    pub manifest: PathBuf,
    /// The commit, for a git revision.
    pub commit: Option<String>,
    /// For a revision: the temporary folder (deleted on drop) and how its
    /// files are named to users (`HEAD~1:`).
    checkout: Option<(tempfile::TempDir, String)>,
}

impl Against {
    /// `against` as a path when one exists there, else as a git revision of
    /// the repository holding the manifest `manifest`.
    pub fn resolve(against: &str, manifest: &Path) -> Result<Against> {
        let path = Path::new(against);
        if path.exists() {
            let manifest = match path.is_dir() {
                true => path.join("ggen.toml"),
                false => path.to_path_buf(),
            };
            if !manifest.is_file() {
                return Err(Error::new(
                    ErrorKind::Manifest,
                    format!("`{against}` is not a ggen project: it holds no ggen.toml"),
                )
                .with_help("give the folder of another version of the project, its manifest, or a git revision"));
            }
            return Ok(Against {
                manifest,
                commit: None,
                checkout: None,
            });
        }
        let folder = match manifest.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let file = manifest
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "ggen.toml".into());
        checkout(against, &folder, &file)
    }

    /// An error of the other version, its files named as the user knows
    /// them (`HEAD~1:spec.ttl` rather than a temporary folder).
    pub fn relabel(&self, mut e: Error) -> Error {
        let Some((dir, shown)) = &self.checkout else {
            return e;
        };
        let root = format!("{}/", display_path(dir.path()));
        let fix = |text: &mut String| *text = text.replace(&root, shown);
        for d in &mut e.diagnostics {
            fix(&mut d.message);
            if let Some(location) = &mut d.location {
                fix(&mut location.file);
            }
            if let Some(help) = &mut d.help {
                fix(help);
            }
        }
        e
    }
}

/// The files of revision `rev` that the project at `folder`/`file` needs,
/// in a temporary folder.
fn checkout(rev: &str, folder: &Path, file: &str) -> Result<Against> {
    let top = git(folder, &["rev-parse", "--show-toplevel"]).map_err(|why| {
        Error::usage(format!("`{rev}` is neither a path nor a git revision: {why}"))
            .with_help("give the folder (or manifest) of another version of the project, or run ggen inside its git repository")
    })?;
    let prefix = git(folder, &["rev-parse", "--show-prefix"]).map_err(Error::usage)?;
    let spec = format!("{rev}^{{commit}}");
    let commit = git(folder, &["rev-parse", "--verify", "--quiet", "--end-of-options", &spec])
        .map_err(|_| {
            Error::usage(format!(
                "`{rev}` is neither a path nor a revision of the git repository at {}",
                top.trim()
            ))
            .with_help("give a commit, branch or tag (`git log --oneline` lists commits), or the path of another version of the project")
        })?;
    let (top, prefix, commit) = (
        PathBuf::from(top.trim()),
        prefix.trim().to_string(),
        commit.trim().to_string(),
    );
    let shown = format!("{rev}:");
    let manifest_path = format!("{prefix}{file}");

    let listing =
        git(&top, &["ls-tree", "-r", "-z", "--full-tree", &commit]).map_err(Error::usage)?;
    let entries: Vec<Entry> = listing.split('\0').filter_map(Entry::parse).collect();
    let Some(manifest_entry) = entries.iter().find(|e| e.path == manifest_path) else {
        return Err(Error::new(
            ErrorKind::Manifest,
            format!("{rev} has no {manifest_path}: the project is not in that revision"),
        )
        .with_help("give a revision that holds the project, or its path"));
    };
    let manifest_text = blobs(&top, std::slice::from_ref(&manifest_entry.object))?
        .pop()
        .unwrap_or_default();
    let named = named_paths(&String::from_utf8_lossy(&manifest_text), &prefix);
    let wanted: Vec<&Entry> = entries
        .iter()
        .filter(|e| e.path == manifest_path || named.iter().any(|n| within(&e.path, n)))
        .collect();

    let dir = tempfile::Builder::new()
        .prefix("ggen-diff-")
        .tempdir()
        .map_err(|e| {
            Error::io(
                ErrorKind::Write,
                &std::env::temp_dir(),
                "create a temporary folder",
                &e,
            )
        })?;
    let objects: Vec<String> = wanted.iter().map(|e| e.object.clone()).collect();
    for (entry, bytes) in wanted.iter().zip(blobs(&top, &objects)?) {
        let path = dir.path().join(&entry.path);
        let written =
            std::fs::create_dir_all(path.parent().unwrap_or(dir.path())).and_then(|()| match entry
                .link
            {
                true => symlink(&String::from_utf8_lossy(&bytes), &path),
                false => std::fs::write(&path, &bytes),
            });
        written.map_err(|e| Error::io(ErrorKind::Write, &path, "write it", &e))?;
    }
    Ok(Against {
        manifest: dir.path().join(&manifest_path),
        commit: Some(commit),
        checkout: Some((dir, shown)),
    })
}

/// One file of `git ls-tree -r -z`.
struct Entry {
    path: String,
    object: String,
    link: bool,
}

impl Entry {
    /// `<mode> <type> <object>\t<path>`; submodules are left out.
    fn parse(line: &str) -> Option<Entry> {
        let (meta, path) = line.split_once('\t')?;
        let mut meta = meta.split(' ');
        let (mode, kind, object) = (meta.next()?, meta.next()?, meta.next()?);
        (kind == "blob").then(|| Entry {
            path: path.to_string(),
            object: object.to_string(),
            link: mode == "120000",
        })
    }
}

/// Whether repository path `path` is `named` or inside it.
fn within(path: &str, named: &str) -> bool {
    path == named
        || path
            .strip_prefix(named)
            .is_some_and(|rest| rest.starts_with('/'))
}

/// Every repository path the manifest text may name (relative to the
/// manifest folder `prefix`): each string value but those of the keys known
/// to hold no input (names, where outputs go, inline text), and each
/// target's override folder `templates/<name>`. A file taken too many costs
/// little; a file left out would be missing, so unknown keys count.
fn named_paths(manifest: &str, prefix: &str) -> BTreeSet<String> {
    let mut strings = Vec::new();
    if let Ok(table) = manifest.parse::<toml::Table>() {
        collect_strings(&toml::Value::Table(table.clone()), &mut strings);
        let targets = table.get("targets").and_then(|t| t.as_array());
        for target in targets.into_iter().flatten() {
            if let Some(name) = target.get("name").and_then(|n| n.as_str()) {
                strings.push(format!("{}/{name}", "templates"));
            }
        }
    }
    strings
        .iter()
        .filter_map(|s| repository_path(prefix, s))
        .collect()
}

/// Manifest keys whose strings never name an input file.
const NOT_INPUTS: &[&str] = &[
    "name",
    "version",
    "output_dir",
    "output_file",
    "base_iri",
    "prefixes",
    "inline",
    "message",
    "for_each",
    "kind",
    "key",
    "removed",
    "api",
    "references",
];

fn collect_strings(value: &toml::Value, out: &mut Vec<String>) {
    match value {
        toml::Value::String(s) => out.push(s.clone()),
        toml::Value::Array(items) => items.iter().for_each(|v| collect_strings(v, out)),
        toml::Value::Table(table) => table
            .iter()
            .filter(|(key, _)| !NOT_INPUTS.contains(&key.as_str()))
            .for_each(|(_, v)| collect_strings(v, out)),
        _ => {}
    }
}

/// `rel`, relative to the folder `prefix` of the repository, as a path from
/// the repository's top; `None` when it is not a path in it.
fn repository_path(prefix: &str, rel: &str) -> Option<String> {
    if rel.is_empty() || rel.contains('\n') || Path::new(rel).is_absolute() {
        return None;
    }
    let mut parts: Vec<&str> = prefix.split('/').filter(|p| !p.is_empty()).collect();
    for part in rel.split(['/', '\\']) {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            p => parts.push(p),
        }
    }
    (!parts.is_empty()).then(|| parts.join("/"))
}

/// The contents of `objects`, in order, from one `git cat-file --batch`.
fn blobs(top: &Path, objects: &[String]) -> Result<Vec<Vec<u8>>> {
    let failed = |why: String| Error::usage(format!("git cat-file failed: {why}"));
    let mut child = Command::new("git")
        .arg("-C")
        .arg(top)
        .args(["cat-file", "--batch"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| failed(e.to_string()))?;
    let mut stdin = child
        .stdin
        .take()
        .ok_or_else(|| failed("no stdin".into()))?;
    let request: String = objects.iter().map(|o| format!("{o}\n")).collect();
    // Written from a thread: git answers while it reads, and a full pipe
    // either way would stop both.
    let writer = std::thread::spawn(move || stdin.write_all(request.as_bytes()));
    let mut output = Vec::new();
    let read = match child.stdout.take() {
        Some(mut out) => out.read_to_end(&mut output).map(|_| ()),
        None => Ok(()),
    };
    let written = writer
        .join()
        .map_err(|_| failed("the writer stopped".into()))?;
    let status = child.wait().map_err(|e| failed(e.to_string()))?;
    read.and(written).map_err(|e| failed(e.to_string()))?;
    if !status.success() {
        return Err(failed(status.to_string()));
    }
    let mut rest = &output[..];
    let mut contents = Vec::with_capacity(objects.len());
    for _ in objects {
        let end = rest
            .iter()
            .position(|b| *b == b'\n')
            .ok_or_else(|| failed("short answer".into()))?;
        let header = String::from_utf8_lossy(&rest[..end]).into_owned();
        let size: usize = header
            .rsplit(' ')
            .next()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| failed(format!("unexpected answer `{header}`")))?;
        let body = rest
            .get(end + 1..end + 1 + size)
            .ok_or_else(|| failed("short answer".into()))?;
        contents.push(body.to_vec());
        rest = rest.get(end + 2 + size..).unwrap_or_default();
    }
    Ok(contents)
}

/// `git -C dir args…`: its stdout, or why it failed.
fn git(dir: &Path, args: &[&str]) -> std::result::Result<String, String> {
    let output = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => "git is not installed".to_string(),
            _ => format!("git could not run: {e}"),
        })?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let first = stderr.lines().next().unwrap_or("git failed").trim();
        return Err(first.trim_start_matches("fatal: ").to_string());
    }
    String::from_utf8(output.stdout).map_err(|_| "git printed a path that is not UTF-8".into())
}

#[cfg(unix)]
fn symlink(target: &str, path: &Path) -> std::io::Result<()> {
    std::os::unix::fs::symlink(target, path)
}

#[cfg(not(unix))]
fn symlink(target: &str, path: &Path) -> std::io::Result<()> {
    std::fs::write(path, target)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_taken_from_the_repository_top() {
        assert_eq!(repository_path("", "spec.ttl").as_deref(), Some("spec.ttl"));
        assert_eq!(
            repository_path("app/", "./t/x.rq").as_deref(),
            Some("app/t/x.rq")
        );
        assert_eq!(
            repository_path("app/", "../shared/v.ttl").as_deref(),
            Some("shared/v.ttl")
        );
        assert_eq!(repository_path("", "../outside.ttl"), None);
        assert_eq!(repository_path("app/", "/abs/v.ttl"), None);
        assert_eq!(repository_path("", "."), None);
    }

    #[test]
    fn named_paths_are_every_string_but_where_outputs_go() {
        let manifest = r#"
[project]
name = "shop"
[ontology]
source = ["spec.ttl"]
imports = ["../vocab/v.ttl"]
[generation]
output_dir = "."
templates_dir = "t"
[[generation.rules]]
name = "r"
query = { file = "q.rq" }
template = { inline = "{{ x }}" }
output_file = "out/x.txt"
[[targets]]
name = "erlang"
output_dir = "erlang"
"#;
        let named = named_paths(manifest, "app/");
        for path in [
            "app/spec.ttl",
            "vocab/v.ttl",
            "app/t",
            "app/q.rq",
            "app/templates/erlang",
        ] {
            assert!(named.contains(path), "{path} in {named:?}");
        }
        assert!(
            !named
                .iter()
                .any(|p| p == "app" || p == "app/erlang" || p.contains("out"))
        );
        assert!(within("app/t/a.tera", "app/t") && within("app/t", "app/t"));
        assert!(!within("app/tt", "app/t"));
    }
}
