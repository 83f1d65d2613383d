//! `ggen sync --watch`: sync, then sync again each time an input's content
//! changes (debounced), until Ctrl-C. A sync in progress always finishes
//! before the watch stops, so Ctrl-C never leaves a half-applied plan.
//!
//! Only events that can change a file's bytes count (create, modify,
//! remove, rename): opening and reading a file is no change, so neither a
//! `cat` nor the sync's own reads start another sync. Before syncing again
//! the watch compares the inputs' digests with those it synced from, and
//! stays put when no byte changed (a `touch`, an editor saving the same
//! text).

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

use notify::event::{EventKind, ModifyKind};
use notify::{RecursiveMode, Watcher};
use sha2::{Digest, Sha256};

use crate::commands::{self, SyncOptions};
use crate::manifest::{Manifest, Source};

/// How long to wait for more changes after one, before syncing.
pub const DEBOUNCE: Duration = Duration::from_millis(200);

enum Signal {
    Changed(Vec<PathBuf>),
    Stop,
}

/// Runs the watch loop; returns the exit code (0 after Ctrl-C, 141 once
/// `out`'s reader has gone).
pub fn watch(args: &SyncOptions, out: &mut dyn Write, err: &mut dyn Write) -> u8 {
    let (tx, rx) = mpsc::channel();
    let stop = tx.clone();
    if let Err(e) = ctrlc::set_handler(move || {
        let _ = stop.send(Signal::Stop);
    }) {
        let _ = writeln!(err, "error: cannot catch Ctrl-C: {e}");
        return 7;
    }
    let mut watcher =
        match notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
            if let Ok(event) = event
                && changes_content(&event.kind)
            {
                let _ = tx.send(Signal::Changed(event.paths));
            }
        }) {
            Ok(w) => w,
            Err(e) => {
                let _ = writeln!(err, "error: cannot watch files: {e}");
                return 7;
            }
        };
    let mut watched: Vec<PathBuf> = Vec::new();
    loop {
        // Watch first, then take the digests, then sync: an edit at any
        // point of the sync is seen, and compared with what the sync read.
        let inputs = Inputs::of(&args.manifest);
        for dir in watched.drain(..) {
            let _ = watcher.unwatch(&dir);
        }
        for (dir, mode) in inputs.folders() {
            if watcher.watch(&dir, mode).is_ok() {
                watched.push(dir);
            }
        }
        let synced = inputs.digests();
        commands::sync(args, out, err);
        let told = writeln!(
            out,
            "\nWatching {} inputs for changes (Ctrl-C to stop)...",
            synced.len()
        )
        .and_then(|()| out.flush());
        // Nobody reads the watch any more (`ggen sync --watch | head`).
        if commands::is_broken_pipe(&told) {
            return commands::EXIT_BROKEN_PIPE;
        }
        // Wait for a burst of changes to the inputs that leaves their bytes
        // other than those synced.
        loop {
            match rx.recv() {
                Ok(Signal::Changed(paths)) if paths.iter().any(|p| inputs.contains(p)) => {}
                Ok(Signal::Changed(_)) => continue,
                Ok(Signal::Stop) | Err(_) => return 0,
            }
            while let Ok(signal) = rx.recv_timeout(DEBOUNCE) {
                if let Signal::Stop = signal {
                    return 0;
                }
            }
            if inputs.digests() != synced {
                break;
            }
        }
        let _ = writeln!(out);
    }
}

/// Whether an event may have changed a file's bytes or name. Opening,
/// reading and closing (`Access`) never do, nor do permission or time
/// changes; an event notify cannot classify counts, and the digests decide.
fn changes_content(kind: &EventKind) -> bool {
    match kind {
        EventKind::Access(_) | EventKind::Modify(ModifyKind::Metadata(_)) => false,
        EventKind::Create(_)
        | EventKind::Modify(_)
        | EventKind::Remove(_)
        | EventKind::Any
        | EventKind::Other => true,
    }
}

/// A file's SHA-256, or `None` when it cannot be read (missing, a folder).
type Digests = BTreeMap<PathBuf, Option<[u8; 32]>>;

/// The files a sync reads, as absolute paths, and the folders that hold them.
struct Inputs {
    files: BTreeSet<PathBuf>,
    /// Folders some of whose files are inputs, recursively.
    trees: Vec<Tree>,
}

/// A folder whose matching files are inputs.
enum Tree {
    /// `templates_dir`: its `*.tera` files.
    Templates(PathBuf),
    /// A built-in target's override folder: files named like one of the
    /// target's (they replace it).
    Overrides { dir: PathBuf, target: String },
}

impl Tree {
    fn dir(&self) -> &Path {
        match self {
            Tree::Templates(dir) | Tree::Overrides { dir, .. } => dir,
        }
    }

    fn holds(&self, path: &Path) -> bool {
        match self {
            Tree::Templates(dir) => {
                path.starts_with(dir) && path.extension().is_some_and(|e| e == "tera")
            }
            Tree::Overrides { dir, target } => path.strip_prefix(dir).is_ok_and(|rel| {
                let rel = rel.to_string_lossy().replace('\\', "/");
                crate::targets::builtin_text(target, &rel).is_some()
            }),
        }
    }
}

impl Inputs {
    fn of(manifest_path: &Path) -> Inputs {
        let mut inputs = Inputs {
            files: BTreeSet::from([absolute(manifest_path)]),
            trees: Vec::new(),
        };
        // A manifest that does not load is still watched, so fixing it syncs.
        if let Ok(project) = crate::targets::load(manifest_path) {
            inputs.add_manifest(&project.manifest);
        }
        inputs
    }

    fn add_manifest(&mut self, m: &Manifest) {
        let mut add = |rel: &str| {
            self.files.insert(absolute(&m.resolve(rel)));
        };
        let ontology = &m.ontology;
        for file in &ontology.sources {
            add(&file.path);
        }
        let sources = ontology
            .imports
            .iter()
            .chain(m.inference.iter().map(|r| &r.construct))
            .chain(m.validation.iter().map(|r| &r.query))
            .chain(m.generation.rules.iter().flat_map(|r| {
                r.query
                    .iter()
                    .chain(r.queries.values())
                    .chain(std::iter::once(&r.template))
            }));
        for source in sources.chain(&m.definitions) {
            if let Source::File(file) = source {
                add(&file.path);
            }
        }
        // A file put in a built-in target's override folder replaces one of
        // its templates: watch those folders too.
        for target in m.targets.iter().filter(|t| t.path.is_none()) {
            self.trees.push(Tree::Overrides {
                dir: absolute(&m.resolve(&crate::targets::override_dir(&target.name))),
                target: target.name.clone(),
            });
        }
        if let Some(dir) = &m.generation.templates_dir {
            self.trees
                .push(Tree::Templates(absolute(&m.resolve(&dir.path))));
        }
    }

    fn contains(&self, path: &Path) -> bool {
        self.files.contains(path) || self.trees.iter().any(|t| t.holds(path))
    }

    /// Every input file (those named, and those the trees hold now) with
    /// its digest.
    fn digests(&self) -> Digests {
        let mut files = self.files.clone();
        for tree in &self.trees {
            let found = walkdir::WalkDir::new(tree.dir())
                .into_iter()
                .filter_map(std::result::Result::ok)
                .filter(|e| e.file_type().is_file())
                .map(|e| e.into_path());
            files.extend(found.filter(|p| tree.holds(p)));
        }
        files
            .into_iter()
            .map(|f| {
                let digest = std::fs::read(&f).ok().map(|b| Sha256::digest(b).into());
                (f, digest)
            })
            .collect()
    }

    /// Folders to watch: each input's folder, and the trees.
    /// Watching folders rather than files survives editors that save by
    /// writing a new file and renaming it over the old one.
    fn folders(&self) -> Vec<(PathBuf, RecursiveMode)> {
        let mut dirs: BTreeSet<PathBuf> = self
            .files
            .iter()
            .filter_map(|f| f.parent().map(Path::to_path_buf))
            .collect();
        for t in &self.trees {
            dirs.retain(|d| !d.starts_with(t.dir()));
        }
        let mut folders: Vec<_> = dirs
            .into_iter()
            .map(|d| (d, RecursiveMode::NonRecursive))
            .collect();
        folders.extend(
            self.trees
                .iter()
                .map(|t| (t.dir().to_path_buf(), RecursiveMode::Recursive)),
        );
        folders
    }
}

fn absolute(path: &Path) -> PathBuf {
    let path = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    // Drop `.` components so event paths and input paths compare equal.
    path.components().collect()
}
