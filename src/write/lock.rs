//! The project lock: an advisory OS lock (`flock` on Unix) on `.ggen/lock`,
//! taken before a command reads the project and held until it ends. A sync
//! that writes holds it exclusively; commands that only read (`--check`,
//! `--dry-run`, `--validate-only`, `verify`, `diff`) share it, so they run
//! side by side but never see a sync half-way. The OS drops the lock when
//! its process dies, however it dies: a lock cannot go stale, and the
//! file's content (nothing) means nothing.
//!
//! Taking the lock also checks that `.ggen` is a real folder and recovers
//! what an interrupted sync left ([`super::journal`]) before the command
//! does anything else.

use std::fs::{File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};

use super::journal::{self, Recovery};
use crate::error::{Error, ErrorKind, Location, Result, display_path};
use crate::ggen_dir;

/// How a command uses the project.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// It writes: the lock alone.
    Exclusive,
    /// It only reads: the lock shared with other readers.
    Shared,
}

/// The lock, held until dropped, and what was recovered when it was taken.
#[derive(Debug)]
pub struct Guard {
    /// None when there is nothing to lock yet (see [`lock`]).
    _file: Option<File>,
    /// What an interrupted sync left, and what became of it.
    pub recovery: Recovery,
}

/// Locks the project whose manifest is `manifest`, checks its `.ggen`
/// folder and recovers an interrupted sync. With `wait`, waits for the
/// lock (calling `waiting` once first); without, a lock held elsewhere is
/// an error (exit 7).
///
/// Nothing is locked, and nothing created, when the manifest does not
/// exist and no journal holds it (the command fails on it) or, for a
/// reader, when there is no
/// `.ggen/lock` yet: no sync of this version has run there, and a reader
/// must not write.
pub fn lock(
    manifest: &Path,
    access: Access,
    wait: bool,
    waiting: &mut dyn FnMut(),
) -> Result<Guard> {
    let nothing = Guard {
        _file: None,
        recovery: Recovery::Nothing,
    };
    let root = match manifest.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    // An eject killed while it replaced the manifest leaves it in the
    // journal's keeping: recover it before the command looks for it.
    if !manifest.is_file() && !journal::needs_recovery(&root) {
        return Ok(nothing);
    }
    let dir = root.join(ggen_dir::DIR);
    if !real_folder(&dir)? {
        if access == Access::Shared {
            return Ok(nothing);
        }
        match std::fs::create_dir(&dir) {
            Err(e) if e.kind() != std::io::ErrorKind::AlreadyExists => {
                return Err(Error::io(ErrorKind::Write, &dir, "create the folder", &e));
            }
            _ => {
                real_folder(&dir)?;
            }
        }
    }
    let path = root.join(ggen_dir::LOCK);
    let file = match access {
        Access::Exclusive => open(&path, true)?,
        Access::Shared => match open(&path, false) {
            Ok(file) => file,
            Err(_) if !journal::needs_recovery(&root) => return Ok(nothing),
            // Something to recover: it needs the lock, so the file.
            Err(_) => open(&path, true)?,
        },
    };
    let mut waiting = Some(waiting);
    let mut take = |file: &File, access: Access| -> Result<()> {
        let tried = match access {
            Access::Exclusive => file.try_lock(),
            Access::Shared => file.try_lock_shared(),
        };
        match tried {
            Ok(()) => Ok(()),
            Err(TryLockError::WouldBlock) if wait => {
                if let Some(waiting) = waiting.take() {
                    waiting();
                }
                let locked = match access {
                    Access::Exclusive => file.lock(),
                    Access::Shared => file.lock_shared(),
                };
                locked.map_err(|e| Error::io(ErrorKind::Write, &path, "lock it", &e))
            }
            Err(TryLockError::WouldBlock) => Err(Error::at(
                ErrorKind::Write,
                Location::file(display_path(&path)),
                "the project is locked by another ggen command",
            )
            .with_help("wait for it to finish, or run again with --wait to wait for it")),
            Err(TryLockError::Error(e)) => Err(Error::io(ErrorKind::Write, &path, "lock it", &e)),
        }
    };
    take(&file, access)?;
    if access == Access::Exclusive {
        let recovery = journal::recover(&root)?;
        return Ok(Guard {
            _file: Some(file),
            recovery,
        });
    }
    // A reader that finds something to recover takes the lock alone for
    // it, then shares it again (a writer may come between: it recovers).
    let mut recovery = Recovery::Nothing;
    while journal::needs_recovery(&root) {
        let unlocked = file.unlock();
        unlocked.map_err(|e| Error::io(ErrorKind::Write, &path, "unlock it", &e))?;
        take(&file, Access::Exclusive)?;
        if journal::needs_recovery(&root) {
            recovery = journal::recover(&root)?;
        }
        let unlocked = file.unlock();
        unlocked.map_err(|e| Error::io(ErrorKind::Write, &path, "unlock it", &e))?;
        take(&file, Access::Shared)?;
    }
    Ok(Guard {
        _file: Some(file),
        recovery,
    })
}

/// Whether `.ggen` exists: a folder (true), nothing (false), or anything
/// else, which is an error: ggen keeps its receipt, lock and journal only
/// in a real folder inside the project.
fn real_folder(dir: &Path) -> Result<bool> {
    let shown = display_path(dir);
    let refuse = |what: &str| {
        Err(Error::at(
            ErrorKind::Write,
            Location::file(&shown),
            format!("{shown} is {what}, not a folder of the project"),
        )
        .with_help(format!(
            "ggen keeps its receipt, lock and journal in {shown}/: make it a real folder (move what it holds into one)"
        )))
    };
    match std::fs::symlink_metadata(dir) {
        Ok(meta) if meta.file_type().is_symlink() => refuse("a symbolic link"),
        Ok(meta) if meta.is_dir() => Ok(true),
        Ok(_) => refuse("a file"),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(Error::io(ErrorKind::Write, dir, "read it", &e)),
    }
}

/// Opens the lock file, creating it when `create` (never truncated: its
/// content is not used).
fn open(path: &Path, create: bool) -> Result<File> {
    OpenOptions::new()
        .read(true)
        .write(create)
        .create(create)
        .truncate(false)
        .open(path)
        .map_err(|e| Error::io(ErrorKind::Write, path, "open the lock", &e))
}
