//! The harness: a project in a temporary folder and the real `ggen` binary
//! run in it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::SystemTime;

use ggen::init::Lang;

/// What a `ggen` run printed and returned.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// Asserts the exit code, showing the output when it differs.
    #[track_caller]
    pub fn expect(self, code: i32) -> Self {
        assert_eq!(
            self.code, code,
            "unexpected exit code\n--- stdout\n{}\n--- stderr\n{}",
            self.stdout, self.stderr
        );
        self
    }
}

/// A project folder, removed when dropped.
pub struct Project {
    dir: tempfile::TempDir,
}

/// A file's bytes and modification time.
pub type Tree = BTreeMap<String, (Vec<u8>, SystemTime)>;

const SPEC: &str = ".specify/specs/001-job-queue/feature.ttl";

impl Project {
    /// An empty folder.
    pub fn empty() -> Self {
        Project {
            dir: tempfile::Builder::new()
                .prefix("ggen-test-")
                .tempdir()
                .unwrap(),
        }
    }

    /// `ggen init --lang LANG` in a fresh folder.
    pub fn init(lang: Lang, name: &str) -> Self {
        let p = Project::empty();
        ggen::init::init(p.path(), lang, Some(name)).unwrap();
        p
    }

    /// The small project most cases start from (tests/cases/_bases/mini):
    /// what `ggen init --name mini` writes, with the built-in jobs
    /// vocabulary as its only target and two tiny rules of its own.
    pub fn mini() -> Self {
        let p = Project::empty();
        copy_dir(&Path::new(CASES).join("_bases/mini"), p.path());
        p
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn spec(&self) -> &'static str {
        SPEC
    }

    pub fn write(&self, rel: &str, content: &str) {
        self.write_bytes(rel, content.as_bytes());
    }

    pub fn write_bytes(&self, rel: &str, content: &[u8]) {
        let path = self.path().join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, content).unwrap();
    }

    pub fn append(&self, rel: &str, content: &str) {
        let old = self.read(rel);
        self.write(rel, &format!("{old}{content}"));
    }

    pub fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.path().join(rel))
            .unwrap_or_else(|e| panic!("cannot read {rel}: {e}"))
    }

    pub fn exists(&self, rel: &str) -> bool {
        self.path().join(rel).exists()
    }

    /// Runs `ggen ARGS` in the project folder.
    pub fn ggen(&self, args: &[&str]) -> Run {
        run_in(self.path(), args)
    }

    /// Every file below the project, with bytes and mtime.
    pub fn tree(&self) -> Tree {
        tree(self.path())
    }
}

/// The golden case folders (tests/cases/README.md).
pub const CASES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/cases");

/// Lays out case `dir`'s project in `into`: its base from `_bases/` (if
/// any), then the case's own `project/` files over it.
pub fn case_project(base: Option<&str>, dir: &Path, into: &Path) {
    if let Some(base) = base {
        copy_dir(&Path::new(CASES).join("_bases").join(base), into);
    }
    if dir.join("project").is_dir() {
        copy_dir(&dir.join("project"), into);
    }
    std::fs::create_dir_all(into).unwrap();
}

/// Every file below `root` (none if it does not exist), with bytes and
/// mtime; symbolic links are not followed. The fast path's machine-local
/// `.ggen/cache.json` is left out (tests/fast_path.rs reads it itself), and
/// so is `.ggen/lock`, the empty file every command that writes locks
/// (tests/lock.rs tests it).
pub fn tree(root: &Path) -> Tree {
    let mut tree = Tree::new();
    if !root.exists() {
        return tree;
    }
    for entry in walkdir::WalkDir::new(root).sort_by_file_name() {
        let entry = entry.unwrap();
        let rel = entry.path().strip_prefix(root).unwrap();
        let local = rel.ends_with(".ggen/cache.json") || rel.ends_with(".ggen/lock");
        if entry.file_type().is_file() && !local {
            let meta = entry.metadata().unwrap();
            tree.insert(
                rel.to_string_lossy().into_owned(),
                (
                    std::fs::read(entry.path()).unwrap(),
                    meta.modified().unwrap(),
                ),
            );
        }
    }
    tree
}

/// Runs the real binary in `dir`.
pub fn run_in(dir: &Path, args: &[&str]) -> Run {
    let output = Command::new(binary())
        .args(args)
        .current_dir(dir)
        .env_remove("RUST_BACKTRACE")
        .output()
        .expect("ggen runs");
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8(output.stdout).unwrap(),
        stderr: String::from_utf8(output.stderr).unwrap(),
    }
}

pub fn binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_ggen"))
}

pub fn copy_dir(from: &Path, to: &Path) {
    for entry in walkdir::WalkDir::new(from) {
        let entry = entry.unwrap();
        let target = to.join(entry.path().strip_prefix(from).unwrap());
        if entry.file_type().is_dir() {
            std::fs::create_dir_all(&target).unwrap();
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}
