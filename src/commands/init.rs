//! `ggen init`: a new project, and what to do next.

use std::io::Write;

use super::InitOptions;
use crate::init;

/// `ggen init`.
pub fn init(args: &InitOptions, out: &mut dyn Write, err: &mut dyn Write) -> u8 {
    match init::init(&args.dir, args.lang, args.name.as_deref()) {
        Ok(created) => {
            let shown = crate::error::display_path(&args.dir);
            let _ = writeln!(out, "Created ggen project `{}` in {}:", created.name, shown);
            for f in &created.files {
                let _ = writeln!(out, "  {f}");
            }
            let cd = if shown == "." {
                String::new()
            } else {
                format!("cd {shown} && ")
            };
            let _ = writeln!(out, "\nNext: {cd}ggen sync");
            0
        }
        Err(e) => {
            let _ = write!(err, "{}", e.render_text());
            e.exit_code()
        }
    }
}
