//! `ggen eject <target>`: a built-in target copied into the project.

use std::io::Write;

use super::EjectOptions;
use crate::targets;

/// Runs an eject; returns its exit code.
pub fn eject(options: &EjectOptions, out: &mut dyn Write, err: &mut dyn Write) -> u8 {
    match targets::eject(&options.manifest, &options.target) {
        Ok(ejected) => {
            let _ = writeln!(
                out,
                "Copied target `{}` into {} ({} files):",
                options.target,
                ejected.folder,
                ejected.files.len()
            );
            for file in &ejected.files {
                let _ = writeln!(out, "  {file}");
            }
            for path in &ejected.overrides {
                let _ = writeln!(
                    out,
                    "(with the project's {path} in place of the built-in file)"
                );
            }
            let _ = writeln!(
                out,
                "\n{} now names it with `path`: every file of the target is yours to edit.",
                crate::error::display_path(&options.manifest)
            );
            0
        }
        Err(e) => {
            let _ = write!(err, "{}", e.render_text());
            e.exit_code()
        }
    }
}
