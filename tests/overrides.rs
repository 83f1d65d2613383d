//! `ggen eject <target> <file>`: one built-in file copied to the override
//! folder, as the start of a change.

use ggen::init::Lang;

use crate::util::Project;

#[test]
fn eject_one_file_starts_an_override() {
    let p = Project::init(Lang::Erlang, "one_file");
    let run = p.ggen(&["eject", "erlang", "job_handler.erl"]).expect(0);
    assert_eq!(
        run.stdout,
        "Copied ggen:erlang/job_handler.erl to templates/erlang/job_handler.erl\n\n\
         Edit it there: it replaces the built-in file at the next sync.\n"
    );
    assert_eq!(
        p.read("templates/erlang/job_handler.erl"),
        ggen::targets::builtin_text("erlang", "job_handler.erl").unwrap()
    );
    assert!(
        !p.read("ggen.toml").contains("path ="),
        "the manifest is left alone"
    );
    // Unchanged, the copy replaces nothing yet.
    let run = p.ggen(&["sync", "-v"]).expect(0);
    assert!(!run.stdout.contains(" replaces "), "{}", run.stdout);
    p.ggen(&["eject", "erlang", "job_handler.erl"]).expect(7);
    let run = p.ggen(&["eject", "erlang", "nope.erl"]).expect(2);
    assert!(
        run.stderr
            .contains("target `erlang` has no file `nope.erl`"),
        "{}",
        run.stderr
    );
}
