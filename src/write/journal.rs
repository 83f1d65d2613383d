//! `.ggen/journal`: what a sync is about to do, written (atomically) after
//! its new files are staged under `.ggen/staging/new/` and before any of
//! them is renamed into place. Each step names a target, the staged file
//! that replaces it (with its digest) and where the file it replaces is kept
//! (`.ggen/staging/old/`). Every step can be done again or undone from any
//! state a kill leaves, so the command that finds a journal either finishes
//! it (every staged file is there and whole) or undoes it, and the tree is
//! wholly old or wholly new.

use std::fs;
use std::io::Write as _;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::crash;
use crate::error::{Error, ErrorKind, Location, Result, display_path};
use crate::ggen_dir;
use crate::inputs::sha256_hex;

/// Which way an interrupted sync is taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// To the new tree: the renames are done or still to do.
    Forward,
    /// Back to the old tree: a step failed, the originals are restored.
    Back,
}

/// The command whose writes a journal holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Writer {
    /// `ggen sync` (journals of older builds name none).
    #[default]
    Sync,
    /// `ggen eject`.
    Eject,
}

impl Writer {
    /// The command, in messages.
    pub fn name(self) -> &'static str {
        match self {
            Writer::Sync => "a sync",
            Writer::Eject => "an eject",
        }
    }
}

/// The journal of one sync (or eject).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Journal {
    /// Which command wrote it.
    #[serde(default)]
    pub writer: Writer,
    /// Forward until a step fails.
    pub direction: Direction,
    /// Folders the new files need that did not exist, parents first.
    pub created_dirs: Vec<String>,
    /// In order: new and changed files, removals, the signature, the receipt.
    pub steps: Vec<Step>,
}

/// One file the sync replaces, creates or removes (paths relative to the
/// project folder, `/`-separated).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Step {
    /// The file.
    pub path: String,
    /// Its new bytes, staged; none for a removal.
    pub new: Option<Staged>,
    /// Where the file on disk is kept until the sync is over; none for a
    /// file that did not exist.
    pub kept: Option<String>,
}

/// A staged new file.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Staged {
    /// Where it waits.
    pub path: String,
    /// Its length and SHA-256: a staged file is complete when both match.
    pub len: u64,
    /// See `len`.
    pub sha256: String,
}

/// What a command found and did before its own work.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recovery {
    /// No journal and nothing staged.
    Nothing,
    /// Staged files without a journal (a sync killed before it changed
    /// anything) were removed.
    Cleaned,
    /// An interrupted sync (or eject) was finished: this many files.
    Finished(Writer, usize),
    /// An interrupted sync (or eject) was undone: this many files.
    Undone(Writer, usize),
}

impl Journal {
    /// Writes the journal atomically (a synced temporary file renamed over
    /// `.ggen/journal`, then the folder synced).
    pub fn write(&self, root: &Path) -> Result<()> {
        let path = root.join(ggen_dir::JOURNAL);
        let temp = root.join(ggen_dir::DIR).join(ggen_dir::JOURNAL_TEMP);
        let failed = |e: std::io::Error| Error::io(ErrorKind::Write, &path, "write it", &e);
        let bytes = serde_json::to_vec_pretty(self).map_err(|e| failed(e.into()))?;
        crash::point().map_err(failed)?;
        let mut file = fs::File::create(&temp).map_err(failed)?;
        file.write_all(&bytes).map_err(failed)?;
        file.sync_all().map_err(failed)?;
        drop(file);
        crash::point().map_err(failed)?;
        fs::rename(&temp, &path).map_err(failed)?;
        sync_dir(&root.join(ggen_dir::DIR)).map_err(failed)
    }

    /// The journal of the project at `root`, if there is one.
    pub fn read(root: &Path) -> Result<Option<Journal>> {
        let path = root.join(ggen_dir::JOURNAL);
        let bytes = match fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(Error::io(ErrorKind::Write, &path, "read it", &e)),
        };
        serde_json::from_slice(&bytes).map(Some).map_err(|e| {
            Error::at(
                ErrorKind::Write,
                Location::file(display_path(&path)),
                format!("the journal of an interrupted sync cannot be read: {e}"),
            )
            .with_help(format!(
                "ggen writes it atomically, so it was changed by hand; the replaced files are in {}/",
                display_path(&root.join(ggen_dir::STAGING))
            ))
        })
    }

    /// Whether every new file is available: staged and whole, or already
    /// in place.
    pub fn complete(&self, root: &Path) -> bool {
        self.steps.iter().all(|step| {
            let Some(new) = &step.new else { return true };
            let whole = |p: &Path| {
                fs::read(p).is_ok_and(|b| b.len() as u64 == new.len && sha256_hex(&b) == new.sha256)
            };
            match fs::symlink_metadata(root.join(&new.path)) {
                Ok(_) => whole(&root.join(&new.path)),
                Err(_) => whole(&root.join(&step.path)),
            }
        })
    }

    /// Does every step not done yet: creates the folders, keeps each file
    /// that is replaced or removed, renames each staged file into place.
    pub fn forward(&self, root: &Path) -> Result<()> {
        for dir in &self.created_dirs {
            let path = root.join(dir);
            let made = crash::point().and_then(|()| fs::create_dir(&path));
            match made {
                Err(e) if e.kind() != std::io::ErrorKind::AlreadyExists => {
                    return Err(Error::io(ErrorKind::Write, &path, "create the folder", &e));
                }
                _ => {}
            }
        }
        for step in &self.steps {
            let target = root.join(&step.path);
            if let Some(kept) = &step.kept {
                let kept = root.join(kept);
                // Not kept yet (or the target is gone already).
                if !exists(&kept) && exists(&target) {
                    rename(&target, &kept, &target, "move it aside")?;
                }
            }
            if let Some(new) = &step.new {
                let staged = root.join(&new.path);
                if exists(&staged) {
                    rename(&staged, &target, &target, "replace it")?;
                }
            }
        }
        Ok(())
    }

    /// Undoes every step done: puts each kept file back, removes each new
    /// file that had no original, then the folders made for them.
    pub fn back(&self, root: &Path) -> Result<()> {
        for step in self.steps.iter().rev() {
            let target = root.join(&step.path);
            match (&step.kept, &step.new) {
                (Some(kept), _) if exists(&root.join(kept)) => {
                    if let Some(dir) = target.parent() {
                        fs::create_dir_all(dir).map_err(|e| {
                            Error::io(ErrorKind::Write, dir, "create the folder", &e)
                        })?;
                    }
                    rename(&root.join(kept), &target, &target, "restore it")?;
                }
                // A new file already renamed into place: it goes.
                (None, Some(new)) if !exists(&root.join(&new.path)) && exists(&target) => {
                    crash::point()
                        .and_then(|()| fs::remove_file(&target))
                        .map_err(|e| Error::io(ErrorKind::Write, &target, "remove it", &e))?;
                }
                _ => {}
            }
        }
        for dir in self.created_dirs.iter().rev() {
            let _ = crash::point().and_then(|()| fs::remove_dir(root.join(dir)));
        }
        Ok(())
    }

    /// After the last step: folders left empty by removals go, the renames
    /// are flushed to disk, then the journal and the staging folder go.
    pub fn finish(&self, root: &Path) -> Result<()> {
        if self.direction == Direction::Forward {
            for step in self.steps.iter().filter(|s| s.new.is_none()) {
                remove_empty_parents(root, &root.join(&step.path));
            }
        }
        let dir = root.join(ggen_dir::DIR);
        let flush = |e: std::io::Error| Error::io(ErrorKind::Write, &dir, "flush it to disk", &e);
        crash::point().map_err(flush)?;
        sync_fs(&dir).map_err(flush)?;
        let journal = root.join(ggen_dir::JOURNAL);
        crash::point()
            .and_then(|()| fs::remove_file(&journal))
            .map_err(|e| Error::io(ErrorKind::Write, &journal, "remove it", &e))?;
        clean_leftovers(root)
    }

    /// How many files the journal changes.
    pub fn len(&self) -> usize {
        self.steps.len()
    }

    /// Whether it changes none.
    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }
}

/// Finishes or undoes the journal an interrupted sync left at `root`, and
/// removes what it staged. The caller holds the lock, exclusively.
pub fn recover(root: &Path) -> Result<Recovery> {
    let Some(mut journal) = Journal::read(root)? else {
        let found = needs_recovery(root);
        clean_leftovers(root)?;
        return Ok(if found {
            Recovery::Cleaned
        } else {
            Recovery::Nothing
        });
    };
    if journal.direction == Direction::Forward && journal.complete(root) {
        match journal.forward(root) {
            Ok(()) => {
                journal.finish(root)?;
                return Ok(Recovery::Finished(journal.writer, journal.len()));
            }
            Err(e) => {
                undo(root, &mut journal).map_err(|_| e)?;
                return Ok(Recovery::Undone(journal.writer, journal.len()));
            }
        }
    }
    undo(root, &mut journal)?;
    Ok(Recovery::Undone(journal.writer, journal.len()))
}

/// Turns the journal back (on disk first, so a kill while undoing goes on
/// undoing), undoes it and cleans up.
pub fn undo(root: &Path, journal: &mut Journal) -> Result<()> {
    if journal.direction != Direction::Back {
        journal.direction = Direction::Back;
        journal.write(root)?;
    }
    journal.back(root)?;
    journal.finish(root)
}

/// Whether a journal, staged files or a temporary file of ggen's is in
/// `.ggen/`: a command must recover before it goes on.
pub fn needs_recovery(root: &Path) -> bool {
    let dir = root.join(ggen_dir::DIR);
    let Ok(entries) = fs::read_dir(&dir) else {
        return false;
    };
    entries.filter_map(|e| e.ok()).any(|e| {
        let name = e.file_name();
        let name = name.to_string_lossy();
        name == ggen_dir::JOURNAL_NAME
            || name == ggen_dir::STAGING_NAME
            || name.starts_with(ggen_dir::TEMP_PREFIX)
    })
}

/// Removes the staging folder and ggen's temporary files in `.ggen/`.
fn clean_leftovers(root: &Path) -> Result<()> {
    let staging = root.join(ggen_dir::STAGING);
    if exists(&staging) {
        crash::point()
            .and_then(|()| fs::remove_dir_all(&staging))
            .map_err(|e| Error::io(ErrorKind::Write, &staging, "remove it", &e))?;
    }
    let dir = root.join(ggen_dir::DIR);
    for entry in fs::read_dir(&dir)
        .into_iter()
        .flatten()
        .filter_map(|e| e.ok())
    {
        if entry
            .file_name()
            .to_string_lossy()
            .starts_with(ggen_dir::TEMP_PREFIX)
        {
            let path = entry.path();
            fs::remove_file(&path)
                .map_err(|e| Error::io(ErrorKind::Write, &path, "remove it", &e))?;
        }
    }
    Ok(())
}

fn exists(path: &Path) -> bool {
    fs::symlink_metadata(path).is_ok()
}

/// One rename, after a crash point; an error names `shown`.
fn rename(from: &Path, to: &Path, shown: &Path, action: &str) -> Result<()> {
    crash::point()
        .and_then(|()| fs::rename(from, to))
        .map_err(|e| Error::io(ErrorKind::Write, shown, action, &e))
}

/// Removes folders left empty by a removal, up to (not including) the root.
fn remove_empty_parents(root: &Path, file: &Path) {
    let mut dir = file.parent();
    while let Some(d) = dir {
        if d == root || d.as_os_str().is_empty() || fs::remove_dir(d).is_err() {
            break;
        }
        dir = d.parent();
    }
}

/// Flushes a folder's entries (a rename in it) to disk.
fn sync_dir(dir: &Path) -> std::io::Result<()> {
    if cfg!(unix) {
        fs::File::open(dir)?.sync_all()
    } else {
        Ok(())
    }
}

/// Flushes the file system holding `dir` (Linux: one `syncfs`; elsewhere
/// the folder).
pub fn sync_fs(dir: &Path) -> std::io::Result<()> {
    #[cfg(target_os = "linux")]
    {
        let handle = fs::File::open(dir)?;
        rustix::fs::syncfs(&handle).map_err(std::io::Error::from)
    }
    #[cfg(not(target_os = "linux"))]
    sync_dir(dir)
}

/// The staged file of step `i`, and where its original is kept.
pub fn staging_paths(i: usize) -> (String, String) {
    (
        format!("{}/new/{i}", ggen_dir::STAGING),
        format!("{}/old/{i}", ggen_dir::STAGING),
    )
}
