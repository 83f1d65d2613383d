//! `ggen eject <target>`: a built-in target copied into the project.

use std::io::Write;

use super::EjectOptions;
use crate::targets;
use crate::write::Access;

/// Runs an eject; returns its exit code.
pub fn eject(options: &EjectOptions, out: &mut dyn Write, err: &mut dyn Write) -> u8 {
    // It writes into the project: alone, after any interrupted sync.
    let _guard = match super::guard::lock(&options.manifest, Access::Exclusive, false, err) {
        Ok(guard) => guard,
        Err(e) => {
            let _ = write!(err, "{}", e.render_text());
            return e.exit_code();
        }
    };
    if !options.files.is_empty() {
        return match targets::eject_files(&options.manifest, &options.target, &options.files) {
            Ok(copied) => {
                for (file, path) in options.files.iter().zip(&copied) {
                    let _ = writeln!(out, "Copied ggen:{}/{file} to {path}", options.target);
                }
                let _ = writeln!(
                    out,
                    "\nEdit {} there: {} the built-in {} at the next sync.",
                    if copied.len() == 1 { "it" } else { "them" },
                    if copied.len() == 1 {
                        "it replaces"
                    } else {
                        "they replace"
                    },
                    if copied.len() == 1 { "file" } else { "files" }
                );
                0
            }
            Err(e) => {
                let _ = write!(err, "{}", e.render_text());
                e.exit_code()
            }
        };
    }
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
