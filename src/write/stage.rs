//! A sync's first half: every new file written to `.ggen/staging/new/` and
//! flushed to disk, and the [`Journal`] of the renames that put them in
//! place. Nothing outside `.ggen/` changes here.

use std::collections::BTreeSet;
use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use super::crash;
use super::journal::{self, Direction, Journal, Staged, Step, Writer};
use crate::error::{Error, ErrorKind, Location, Result, display_path};
use crate::ggen_dir;
use crate::inputs::sha256_hex;
use crate::plan::{Action, Plan};

/// One file to change, relative to the project folder: its new bytes (none
/// to remove it), and whether it exists.
pub type Change<'a> = (&'a str, Option<&'a [u8]>, bool);

/// Stages `plan`'s new files under `root` (an absolute path) and returns
/// the journal that applies them. On failure the staging folder is removed.
pub fn stage(root: &Path, plan: &Plan) -> Result<Journal> {
    stage_changes(root, Writer::Sync, plan_changes(plan))
}

/// Stages `changes`, in their order, and returns the journal that applies
/// them. On failure the staging folder is removed.
pub fn stage_changes(root: &Path, writer: Writer, changes: Vec<Change<'_>>) -> Result<Journal> {
    let staged = stage_all(root, writer, changes);
    if staged.is_err() {
        let _ = fs::remove_dir_all(root.join(ggen_dir::STAGING));
    }
    staged
}

/// New and changed files, removals, then the signature and the receipt
/// last: a new receipt on disk means everything else is new.
fn plan_changes(plan: &Plan) -> Vec<Change<'_>> {
    let mut changes: Vec<Change<'_>> = plan
        .files
        .iter()
        .filter(|f| matches!(f.action, Action::Created | Action::Updated))
        .map(|f| {
            let content = f.content.as_deref().unwrap_or_default();
            (f.path.as_str(), Some(content), f.action == Action::Updated)
        })
        .collect();
    changes.extend(
        plan.with_action(Action::Removed)
            .map(|f| (f.path.as_str(), None, true)),
    );
    if plan.envelope_changed() {
        let old = plan.old_envelope.is_some();
        changes.push((ggen_dir::ENVELOPE, plan.envelope.as_deref(), old));
    }
    if plan.receipt_changed() {
        let old = plan.old_receipt.is_some();
        changes.push((ggen_dir::RECEIPT, Some(&plan.receipt), old));
    }
    changes
}

fn stage_all(root: &Path, writer: Writer, changes: Vec<Change<'_>>) -> Result<Journal> {
    let staging = root.join(ggen_dir::STAGING);
    for sub in ["new", "old"] {
        let dir = staging.join(sub);
        fs::create_dir_all(&dir)
            .map_err(|e| Error::io(ErrorKind::Write, &dir, "create the folder", &e))?;
    }
    let mut folders = Folders::new(root)?;
    let mut steps = Vec::with_capacity(changes.len());
    for (i, (path, content, replaces)) in changes.into_iter().enumerate() {
        let target = root.join(path);
        let (new_path, kept_path) = journal::staging_paths(i);
        let new = match content {
            Some(bytes) => {
                folders.need(path, &target)?;
                let mode = if replaces {
                    existing_mode(&target)
                } else {
                    None
                };
                write_staged(&root.join(&new_path), bytes, mode, &target)?;
                Some(Staged {
                    path: new_path,
                    len: bytes.len() as u64,
                    sha256: sha256_hex(bytes),
                })
            }
            None => None,
        };
        steps.push(Step {
            path: path.to_string(),
            new,
            kept: replaces.then_some(kept_path),
        });
    }
    let flush = |e: std::io::Error| Error::io(ErrorKind::Write, &staging, "flush it to disk", &e);
    crash::point().map_err(flush)?;
    journal::sync_fs(&staging).map_err(flush)?;
    Ok(Journal {
        writer,
        direction: Direction::Forward,
        created_dirs: folders.created,
        steps,
    })
}

/// Writes one staged file (mode `mode`, else 0644 less the umask).
fn write_staged(path: &Path, bytes: &[u8], mode: Option<u32>, target: &Path) -> Result<()> {
    let failed = |e: std::io::Error| Error::io(ErrorKind::Write, target, "write it", &e);
    crash::point().map_err(failed)?;
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, mode.unwrap_or(0o644));
    #[cfg(not(unix))]
    let _ = mode;
    let mut file = options.open(path).map_err(failed)?;
    file.write_all(bytes).map_err(failed)?;
    #[cfg(not(target_os = "linux"))]
    file.sync_all().map_err(failed)?;
    Ok(())
}

/// The folders the new files need: which are missing (created by the
/// journal, parents first), and that each is on the file system of
/// `.ggen/`, where the files are staged (a rename cannot cross file
/// systems).
struct Folders<'a> {
    root: &'a Path,
    device: Option<u64>,
    known: BTreeSet<PathBuf>,
    created: Vec<String>,
}

impl<'a> Folders<'a> {
    fn new(root: &'a Path) -> Result<Self> {
        let dir = root.join(ggen_dir::DIR);
        Ok(Folders {
            root,
            device: device(&dir).map_err(|e| Error::io(ErrorKind::Write, &dir, "read it", &e))?,
            known: BTreeSet::new(),
            created: Vec::new(),
        })
    }

    /// Notes the folders `target` (`rel` in the project) needs.
    fn need(&mut self, rel: &str, target: &Path) -> Result<()> {
        let Some(dir) = target.parent() else {
            return Ok(());
        };
        if self.known.contains(dir) {
            return Ok(());
        }
        let mut missing = Vec::new();
        let mut current = dir;
        let existing = loop {
            if self.known.contains(current) {
                break None;
            }
            match fs::symlink_metadata(current) {
                Ok(_) => break Some(current),
                Err(_) => missing.push(current.to_path_buf()),
            }
            match current.parent() {
                Some(parent) if current != self.root => current = parent,
                _ => break None,
            }
        };
        if let Some(existing) = existing {
            let here = device(existing).ok().flatten();
            if here.is_some() && here != self.device {
                return Err(Error::at(
                    ErrorKind::Write,
                    Location::file(rel),
                    format!(
                        "{rel} is on another file system than {}/, where ggen stages new files",
                        ggen_dir::DIR
                    ),
                )
                .with_help("a sync renames its files into place, and a rename cannot cross file systems: keep the outputs on the project's file system"));
            }
        }
        for d in missing.into_iter().rev() {
            let rel_dir = d.strip_prefix(self.root).unwrap_or(&d);
            self.created.push(display_path(rel_dir));
            self.known.insert(d);
        }
        self.known.insert(dir.to_path_buf());
        Ok(())
    }
}

#[cfg(unix)]
fn device(path: &Path) -> std::io::Result<Option<u64>> {
    use std::os::unix::fs::MetadataExt;
    Ok(Some(fs::metadata(path)?.dev()))
}

#[cfg(not(unix))]
fn device(_: &Path) -> std::io::Result<Option<u64>> {
    Ok(None)
}

/// The permission bits of the file at `path`, kept when it is replaced;
/// `None` when it does not exist (or off Unix).
#[cfg(unix)]
fn existing_mode(path: &std::path::Path) -> Option<u32> {
    use std::os::unix::fs::PermissionsExt;
    fs::metadata(path)
        .ok()
        .map(|m| m.permissions().mode() & 0o7777)
}

#[cfg(not(unix))]
fn existing_mode(_: &std::path::Path) -> Option<u32> {
    None
}
