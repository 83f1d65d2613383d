//! ggen's own folder in a project, `.ggen/`, and every file it keeps there:
//! the receipt and its signature (committed), the audit trail, the cache and
//! the lock (ignored by git), and, while a sync writes, its journal and its
//! staged files.

/// The folder, relative to the manifest's.
pub const DIR: &str = ".ggen";

/// The receipt: an in-toto Statement, committed with the outputs.
pub const RECEIPT: &str = ".ggen/receipt.json";

/// The receipt's signature: a DSSE envelope, committed with the receipt.
pub const ENVELOPE: &str = ".ggen/receipt.dsse.json";

/// The audit trail: one JSON line per audited sync.
pub const AUDIT: &str = ".ggen/audit.jsonl";

/// Which binary wrote which receipt, for the no-op fast path
/// ([`crate::plan::fresh`]); local, ignored by git.
pub const CACHE: &str = ".ggen/cache.json";

/// The file every command locks (an advisory OS lock, never removed): a
/// sync exclusively, a command that only reads shared.
pub const LOCK: &str = ".ggen/lock";

/// The journal of the sync in progress ([`crate::write`]): present only
/// while a sync renames, or after one was killed.
pub const JOURNAL: &str = ".ggen/journal";

/// [`JOURNAL`]'s name in [`DIR`].
pub const JOURNAL_NAME: &str = "journal";

/// The temporary file the journal is written to before it is renamed.
pub const JOURNAL_TEMP: &str = ".ggen-tmp-journal";

/// Where a sync stages its new files (`new/`) and keeps the files they
/// replace (`old/`) until it is over.
pub const STAGING: &str = ".ggen/staging";

/// [`STAGING`]'s name in [`DIR`].
pub const STAGING_NAME: &str = "staging";

/// The file-name prefix of ggen's temporary files: `ggen init` and `ggen
/// eject` write them beside their targets, a sync in `.ggen/` (the cache,
/// the journal before it is renamed). Any left in `.ggen/` are removed by
/// the next command.
pub const TEMP_PREFIX: &str = ".ggen-tmp-";

/// The `.gitignore` lines for the files that stay local.
pub const GITIGNORE: &str = "# ggen's local trail, cache and lock, and what a killed command leaves for the\n# next one to finish; .ggen/receipt.json is committed\n.ggen/audit.jsonl\n.ggen/cache.json\n.ggen/lock\n.ggen/journal\n.ggen/staging/\n";
