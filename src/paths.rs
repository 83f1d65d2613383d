//! Lexical path rules shared by the manifest, the canonicalizer and the
//! writer: relative, `/`-separated, no `..` that leaves the folder.

use std::path::{Path, PathBuf};

/// Why a path is not an acceptable relative path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathProblem {
    /// Starts at the file-system root (or a drive).
    Absolute,
    /// A `..` climbs above the folder it is relative to.
    Escapes,
    /// Uses `\` as a separator.
    Backslash,
    /// Holds a NUL or other control character.
    ControlCharacter,
}

impl PathProblem {
    /// A phrase that completes "`path` …".
    pub fn describe(self) -> &'static str {
        match self {
            PathProblem::Absolute => "is an absolute path",
            PathProblem::Escapes => "climbs out of its folder with `..`",
            PathProblem::Backslash => "uses `\\`; write paths with `/`",
            PathProblem::ControlCharacter => "contains a control character",
        }
    }
}

/// Normalizes a relative path: drops `.` and empty parts, resolves `..`
/// lexically, joins with `/`. `""` and `"."` give `""`.
pub fn normalize_relative(path: &str) -> Result<String, PathProblem> {
    if path.chars().any(char::is_control) {
        return Err(PathProblem::ControlCharacter);
    }
    if path.contains('\\') {
        return Err(PathProblem::Backslash);
    }
    let bytes = path.as_bytes();
    let has_drive = bytes.len() >= 2 && bytes[1] == b':' && bytes[0].is_ascii_alphabetic();
    if path.starts_with('/') || has_drive {
        return Err(PathProblem::Absolute);
    }
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if parts.pop().is_none() {
                    return Err(PathProblem::Escapes);
                }
            }
            p => parts.push(p),
        }
    }
    Ok(parts.join("/"))
}

/// Joins two normalized relative paths.
pub fn join(dir: &str, rel: &str) -> String {
    match (dir.is_empty(), rel.is_empty()) {
        (true, _) => rel.to_string(),
        (_, true) => dir.to_string(),
        _ => format!("{dir}/{rel}"),
    }
}

/// Finds output paths that reach, through a symbolic link, a place outside
/// the project. Folders already checked are remembered, so ten thousand
/// files in one folder cost one look at it.
pub struct SymlinkGuard {
    root: PathBuf,
    canonical_root: Option<PathBuf>,
    safe_dirs: std::collections::HashSet<String>,
}

impl SymlinkGuard {
    /// A guard for the project at `root`.
    pub fn new(root: &Path) -> Self {
        SymlinkGuard {
            root: root.to_path_buf(),
            canonical_root: root.canonicalize().ok(),
            safe_dirs: std::collections::HashSet::new(),
        }
    }

    /// Whether `rel` (relative to the root) leads outside it through a
    /// symbolic link. Only the parts that exist are looked at.
    pub fn escapes(&mut self, rel: &str) -> bool {
        let Some(canonical_root) = &self.canonical_root else {
            return false;
        };
        let mut current = self.root.clone();
        let mut prefix = String::new();
        for part in rel.split('/') {
            if !prefix.is_empty() {
                prefix.push('/');
            }
            prefix.push_str(part);
            current.push(part);
            let is_last = prefix.len() == rel.len();
            if !is_last && self.safe_dirs.contains(&prefix) {
                continue;
            }
            match std::fs::symlink_metadata(&current) {
                Ok(meta) if meta.file_type().is_symlink() => {
                    let inside = current
                        .canonicalize()
                        .is_ok_and(|target| target.starts_with(canonical_root));
                    // A dangling link counts as leaving: writing through it
                    // would create a file wherever it points.
                    if !inside {
                        return true;
                    }
                    if !is_last {
                        self.safe_dirs.insert(prefix.clone());
                    }
                }
                Ok(_) => {
                    if !is_last {
                        self.safe_dirs.insert(prefix.clone());
                    }
                }
                Err(_) => return false,
            }
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_and_refuses() {
        assert_eq!(normalize_relative("./a//b/./c"), Ok("a/b/c".into()));
        assert_eq!(normalize_relative("a/../b"), Ok("b".into()));
        assert_eq!(normalize_relative("."), Ok(String::new()));
        assert_eq!(normalize_relative("../x"), Err(PathProblem::Escapes));
        assert_eq!(normalize_relative("a/../../x"), Err(PathProblem::Escapes));
        assert_eq!(
            normalize_relative("/etc/passwd"),
            Err(PathProblem::Absolute)
        );
        assert_eq!(normalize_relative("C:/x"), Err(PathProblem::Absolute));
        assert_eq!(normalize_relative("a\\b"), Err(PathProblem::Backslash));
        assert_eq!(
            normalize_relative("a\0b"),
            Err(PathProblem::ControlCharacter)
        );
    }

    #[test]
    #[cfg(unix)]
    fn finds_symlinks_leaving_the_root() {
        let outside = tempfile::tempdir().unwrap();
        let root = tempfile::tempdir().unwrap();
        std::fs::create_dir(root.path().join("inside")).unwrap();
        std::os::unix::fs::symlink(outside.path(), root.path().join("out")).unwrap();
        std::os::unix::fs::symlink(root.path().join("inside"), root.path().join("in")).unwrap();
        let mut guard = SymlinkGuard::new(root.path());
        assert!(guard.escapes("out/file.erl"));
        assert!(!guard.escapes("in/file.erl"));
        assert!(!guard.escapes("in/other.erl"));
        assert!(!guard.escapes("new/dir/file.erl"));
        std::os::unix::fs::symlink(outside.path().join("x"), root.path().join("in/link.erl"))
            .unwrap();
        assert!(guard.escapes("in/link.erl"));
    }
}
