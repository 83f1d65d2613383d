//! The project's lock around each command that reads or writes a project
//! ([`crate::write::lock`]): taken before the command reads anything, held
//! until it returns, with a line on stderr when it waits or recovers an
//! interrupted sync.

use std::io::Write;
use std::path::Path;

use super::report::Report;
use super::{DiffOptions, Verbosity, VerifyOptions};
use crate::error::Result;
use crate::ggen_dir;
use crate::write::journal::Recovery;
use crate::write::{self, Access, Guard};

/// Locks the project of `manifest`; says on `err` what it waited for and
/// what it recovered.
pub fn lock(manifest: &Path, access: Access, wait: bool, err: &mut dyn Write) -> Result<Guard> {
    let guard = write::lock(manifest, access, wait, &mut || {
        let _ = writeln!(
            err,
            "Waiting for another ggen command to release {}...",
            ggen_dir::LOCK
        );
    })?;
    let note = match guard.recovery {
        Recovery::Nothing => None,
        Recovery::Cleaned => Some(
            "removed the files staged by a ggen command that was interrupted before it changed anything"
                .to_string(),
        ),
        Recovery::Finished(writer, n) => Some(format!(
            "finished {} that was interrupted ({n} files, from {})",
            writer.name(),
            ggen_dir::JOURNAL
        )),
        Recovery::Undone(writer, n) => Some(format!(
            "undid {} that was interrupted ({n} files, from {}): the files are as they were before it",
            writer.name(),
            ggen_dir::JOURNAL
        )),
    };
    if let Some(note) = note {
        let _ = writeln!(err, "note: {note}");
    }
    Ok(guard)
}

/// `ggen verify`, under the shared lock.
pub fn verify(options: &VerifyOptions, out: &mut dyn Write, err: &mut dyn Write) -> u8 {
    let _guard = match lock(&options.manifest, Access::Shared, options.wait, err) {
        Ok(guard) => guard,
        Err(e) => {
            return Report::new(options.format, Verbosity::Normal, out, err)
                .with_workspace(options.workspace.as_deref())
                .failed("verify", &e);
        }
    };
    super::verify::verify(options, out, err)
}

/// `ggen diff`, under the shared lock of the project as it is.
pub fn diff(options: &DiffOptions, out: &mut dyn Write, err: &mut dyn Write) -> u8 {
    let _guard = match lock(&options.manifest, Access::Shared, options.wait, err) {
        Ok(guard) => guard,
        Err(e) => {
            return Report::new(options.format, Verbosity::Normal, out, err)
                .with_workspace(options.workspace.as_deref())
                .failed("diff", &e);
        }
    };
    super::diff::diff(options, out, err)
}
