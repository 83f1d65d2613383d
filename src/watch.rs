//! `ggen sync --watch`: sync, then sync again each time an input changes
//! (debounced), until Ctrl-C. A sync in progress always finishes before the
//! watch stops, so Ctrl-C never leaves a half-applied plan.

use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

use notify::{RecursiveMode, Watcher};

use crate::commands::{self, SyncOptions};
use crate::manifest::{Manifest, Source};

/// How long to wait for more changes after one, before syncing.
pub const DEBOUNCE: Duration = Duration::from_millis(200);

enum Signal {
    Changed(Vec<PathBuf>),
    Stop,
}

/// Runs the watch loop; returns the exit code (0 after Ctrl-C).
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
            if let Ok(event) = event {
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
        commands::sync(args, out, err);
        let inputs = Inputs::of(&args.manifest);
        for dir in watched.drain(..) {
            let _ = watcher.unwatch(&dir);
        }
        for (dir, mode) in inputs.folders() {
            if watcher.watch(&dir, mode).is_ok() {
                watched.push(dir);
            }
        }
        let _ = writeln!(
            out,
            "\nWatching {} inputs for changes (Ctrl-C to stop)...",
            inputs.files.len()
        );
        let _ = out.flush();
        // Wait for a change to an input, then let the burst settle.
        loop {
            match rx.recv() {
                Ok(Signal::Changed(paths)) if paths.iter().any(|p| inputs.contains(p)) => break,
                Ok(Signal::Changed(_)) => {}
                Ok(Signal::Stop) | Err(_) => return 0,
            }
        }
        while let Ok(signal) = rx.recv_timeout(DEBOUNCE) {
            if let Signal::Stop = signal {
                return 0;
            }
        }
        let _ = writeln!(out);
    }
}

/// The files a sync reads, as absolute paths, and the folders that hold them.
struct Inputs {
    files: BTreeSet<PathBuf>,
    /// Folders whose every file is an input (templates_dir), recursively.
    trees: Vec<PathBuf>,
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
            self.trees.push(absolute(
                &m.resolve(&crate::targets::override_dir(&target.name)),
            ));
        }
        if let Some(dir) = &m.generation.templates_dir {
            self.trees.push(absolute(&m.resolve(&dir.path)));
        }
    }

    fn contains(&self, path: &Path) -> bool {
        self.files.contains(path) || self.trees.iter().any(|t| path.starts_with(t))
    }

    /// Folders to watch: each input's folder, and the template trees.
    /// Watching folders rather than files survives editors that save by
    /// writing a new file and renaming it over the old one.
    fn folders(&self) -> Vec<(PathBuf, RecursiveMode)> {
        let mut dirs: BTreeSet<PathBuf> = self
            .files
            .iter()
            .filter_map(|f| f.parent().map(Path::to_path_buf))
            .collect();
        for t in &self.trees {
            dirs.retain(|d| !d.starts_with(t));
        }
        let mut folders: Vec<_> = dirs
            .into_iter()
            .map(|d| (d, RecursiveMode::NonRecursive))
            .collect();
        folders.extend(
            self.trees
                .iter()
                .map(|t| (t.clone(), RecursiveMode::Recursive)),
        );
        folders
    }
}

fn absolute(path: &Path) -> PathBuf {
    let path = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    // Drop `.` components so event paths and input paths compare equal.
    path.components().collect()
}
