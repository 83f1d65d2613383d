//! Files written beside their targets: `ggen init` creates a project's
//! first files (all staged first, so a failure leaves nothing behind).
//! Each is a synced temporary file renamed into place; a sync and `ggen
//! eject`, in a project with its lock and `.ggen/`, use the journal
//! instead ([`super::journal`]).

use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use crate::error::{Error, ErrorKind, Result};
use crate::ggen_dir;

/// Temporary files written and synced beside their targets, and the folders
/// created for them. Dropping it without committing removes both.
#[derive(Default)]
struct Staging {
    /// Closed temporary files (no descriptor held: thousands of files must
    /// not run into the open-file limit) and their targets.
    files: Vec<(tempfile::TempPath, PathBuf)>,
    created_dirs: Vec<PathBuf>,
    /// Folders known to exist, so a thousand files in one folder check it once.
    known_dirs: std::collections::HashSet<PathBuf>,
}

impl Staging {
    /// Writes `content` to a new temporary file beside `target` (mode 0644
    /// less the umask).
    fn stage(&mut self, target: &Path, content: &[u8]) -> Result<()> {
        let dir = target.parent().unwrap_or(Path::new("."));
        self.create_dirs(dir)?;
        let mut builder = tempfile::Builder::new();
        builder.prefix(ggen_dir::TEMP_PREFIX);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            builder.permissions(fs::Permissions::from_mode(0o644));
        }
        let mut temp = builder
            .tempfile_in(dir)
            .map_err(|e| Error::io(ErrorKind::Write, target, "write it", &e))?;
        temp.write_all(content)
            .map_err(|e| Error::io(ErrorKind::Write, target, "write it", &e))?;
        temp.as_file()
            .sync_all()
            .map_err(|e| Error::io(ErrorKind::Write, target, "flush it to disk", &e))?;
        self.files
            .push((temp.into_temp_path(), target.to_path_buf()));
        Ok(())
    }

    fn create_dirs(&mut self, dir: &Path) -> Result<()> {
        if self.known_dirs.contains(dir) {
            return Ok(());
        }
        let mut missing = Vec::new();
        let mut current = Some(dir);
        while let Some(d) = current {
            if d.as_os_str().is_empty() || self.known_dirs.contains(d) || d.exists() {
                break;
            }
            missing.push(d.to_path_buf());
            current = d.parent();
        }
        for d in missing.into_iter().rev() {
            fs::create_dir(&d)
                .map_err(|e| Error::io(ErrorKind::Write, &d, "create the folder", &e))?;
            self.created_dirs.push(d);
        }
        self.known_dirs.insert(dir.to_path_buf());
        Ok(())
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        // Temporary files delete themselves when dropped; drop them first.
        self.files.clear();
        for d in self.created_dirs.iter().rev() {
            let _ = fs::remove_dir(d);
        }
    }
}

fn persist(temp: tempfile::TempPath, target: &Path) -> Result<()> {
    temp.persist(target)
        .map_err(|e| Error::io(ErrorKind::Write, target, "replace it", &e.error))
}

/// Writes new files under `root` (`ggen init`, before there is a project
/// to lock or a `.ggen/` to stage in): all are staged first, so a failure
/// leaves nothing behind.
pub fn create_files(root: &Path, files: &[(String, Vec<u8>)]) -> Result<()> {
    let mut staged = Staging::default();
    for (rel, bytes) in files {
        staged.stage(&root.join(rel), bytes)?;
    }
    staged.created_dirs.clear();
    for (temp, target) in std::mem::take(&mut staged.files) {
        persist(temp, &target)?;
    }
    Ok(())
}
