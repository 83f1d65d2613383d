//! ggen's own folder in a project, `.ggen/`, and every file it keeps there:
//! the receipt and its signature (committed), the audit trail and the lock (both ignored by
//! git), and the prefix of the temporary files a sync writes beside their
//! targets.

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

/// The lock that keeps two syncs of one project from interleaving.
pub const LOCK: &str = ".ggen/lock";

/// The file-name prefix of the temporary files a sync writes before
/// renaming them into place.
pub const TEMP_PREFIX: &str = ".ggen-tmp-";

/// The `.gitignore` lines for the files that stay local.
pub const GITIGNORE: &str = "# ggen's local trail, cache and lock; .ggen/receipt.json is committed\n.ggen/audit.jsonl\n.ggen/cache.json\n.ggen/lock\n";
