//! Finding and reading the C files of a tree in parallel, filtering them with
//! the engine's literal prefilter, and running the engine on the rest.
//!
//! Each worker thread reuses one read buffer; only files with sites are sent
//! back, and results are sorted by name at the end, so the output is the same
//! whatever the thread count.
//!
//! Names: a relative path that stays below the current directory keeps its
//! spelling (`drivers/block` names `drivers/block/brd.c`), so a patch applies
//! with `-p1` from here; any other directory names its files relative to
//! itself, so a patch applies with `-p1` from inside it.

use std::fs::{self, File};
use std::io::Read;
use std::panic::AssertUnwindSafe;
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use ignore::{WalkBuilder, WalkState};

use crate::engine::{Engine, FileOutcome};
use crate::progress::Progress;

/// One file with sites.
#[derive(Debug)]
pub struct FileReport {
    /// The name used in diffs and reports.
    pub name: String,
    /// Where it is on disk.
    pub path: PathBuf,
    /// The original bytes, kept when the file changes.
    pub old: Vec<u8>,
    /// What the engine did.
    pub outcome: FileOutcome,
}

/// Everything a walk found.
#[derive(Debug, Default)]
pub struct Walked {
    /// Files with sites, sorted by name.
    pub files: Vec<FileReport>,
    /// C files looked at.
    pub n_walked: usize,
    /// Files that passed the prefilter and were parsed.
    pub n_parsed: usize,
    /// The inputs that could not be read or rewritten, sorted by message.
    pub errors: Vec<WalkError>,
}

/// An input the walk could not read or rewrite; the run goes on without it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WalkError {
    /// A path named on the command line or met in the walk could not be
    /// read or listed.
    #[error("{name}: {source}")]
    Read {
        /// The path, as it is named in reports.
        name: String,
        /// Why.
        source: std::io::Error,
    },
    /// The directory walker failed (its message names the path).
    #[error("{0}")]
    Walk(String),
    /// A path named on the command line is neither.
    #[error("{0}: not a regular file or directory")]
    NotFileOrDir(String),
    /// The engine panicked on a file: a bug, reported, and the file left.
    #[error("{name}: internal error, file left unchanged (please report): {what}")]
    Internal {
        /// The file.
        name: String,
        /// The panic's message.
        what: String,
    },
}

/// How to walk.
#[derive(Debug, Clone)]
pub struct WalkOptions {
    /// Worker threads; 0 lets the walker choose.
    pub threads: usize,
    /// Honour `.gitignore` and friends, and skip hidden files.
    pub standard_filters: bool,
}

fn is_c_file(path: &Path) -> bool {
    matches!(path.extension().and_then(|e| e.to_str()), Some("c" | "h"))
}

fn stays_below(path: &Path) -> bool {
    path.is_relative()
        && path
            .components()
            .all(|c| matches!(c, Component::Normal(_) | Component::CurDir))
}

fn clean(path: &Path) -> String {
    let parts: Vec<String> = path
        .components()
        .filter(|c| !matches!(c, Component::CurDir))
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    parts.join("/")
}

/// Walks `paths` and runs `engine` on every C file found, reporting each
/// file to `progress` as one step of the phase "walking the tree".
pub fn walk(
    paths: &[PathBuf],
    engine: &Engine,
    opts: &WalkOptions,
    progress: &dyn Progress,
) -> Walked {
    progress.begin("walking the tree", None);
    let walked = walk_paths(paths, engine, opts, progress);
    progress.end();
    walked
}

fn walk_paths(
    paths: &[PathBuf],
    engine: &Engine,
    opts: &WalkOptions,
    progress: &dyn Progress,
) -> Walked {
    let collected = Mutex::new(Vec::new());
    let errors = Mutex::new(Vec::new());
    let n_walked = AtomicUsize::new(0);
    let n_parsed = AtomicUsize::new(0);
    let ctx = Ctx {
        engine,
        progress,
        collected: &collected,
        errors: &errors,
        n_walked: &n_walked,
        n_parsed: &n_parsed,
    };
    for path in paths {
        let meta = match fs::metadata(path) {
            Ok(m) => m,
            Err(source) => {
                ctx.error(WalkError::Read {
                    name: path.display().to_string(),
                    source,
                });
                continue;
            }
        };
        if meta.is_dir() {
            walk_dir(path, &ctx, opts);
        } else if meta.is_file() {
            let name = if stays_below(path) {
                clean(path)
            } else {
                path.file_name()
                    .map_or_else(|| clean(path), |n| n.to_string_lossy().into_owned())
            };
            let mut buf = Vec::new();
            ctx.file(path, name, &mut buf);
        } else {
            ctx.error(WalkError::NotFileOrDir(path.display().to_string()));
        }
    }
    let mut files = collected.into_inner().expect("no panics while locked");
    files.sort_by(|a: &FileReport, b| a.name.cmp(&b.name));
    files.dedup_by(|a, b| a.name == b.name);
    let mut errors = errors.into_inner().expect("no panics while locked");
    errors.sort_by_cached_key(|e| e.to_string());
    Walked {
        files,
        n_walked: n_walked.into_inner(),
        n_parsed: n_parsed.into_inner(),
        errors,
    }
}

struct Ctx<'a> {
    engine: &'a Engine,
    progress: &'a dyn Progress,
    collected: &'a Mutex<Vec<FileReport>>,
    errors: &'a Mutex<Vec<WalkError>>,
    n_walked: &'a AtomicUsize,
    n_parsed: &'a AtomicUsize,
}

impl Ctx<'_> {
    fn error(&self, e: WalkError) {
        self.errors.lock().expect("no panics while locked").push(e);
    }

    fn file(&self, path: &Path, name: String, buf: &mut Vec<u8>) {
        self.n_walked.fetch_add(1, Ordering::Relaxed);
        self.progress.step();
        buf.clear();
        if let Err(source) = File::open(path).and_then(|mut f| f.read_to_end(buf)) {
            self.error(WalkError::Read { name, source });
            return;
        }
        if !self.engine.may_match(buf) {
            return;
        }
        self.n_parsed.fetch_add(1, Ordering::Relaxed);
        // A bug in the engine must not take the run down, nor print a
        // backtrace: the file is reported and the run goes on.
        let outcome = match std::panic::catch_unwind(AssertUnwindSafe(|| {
            self.engine.rewrite_in(buf, path.parent())
        })) {
            Ok(o) => o,
            Err(p) => {
                let what = p
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| p.downcast_ref::<String>().cloned())
                    .unwrap_or_default();
                self.error(WalkError::Internal { name, what });
                return;
            }
        };
        if outcome.sites.is_empty() && outcome.new_text.is_none() {
            return;
        }
        let old = if outcome.new_text.is_some() {
            buf.clone()
        } else {
            Vec::new()
        };
        let report = FileReport {
            name,
            path: path.to_path_buf(),
            old,
            outcome,
        };
        self.collected
            .lock()
            .expect("no panics while locked")
            .push(report);
    }
}

fn walk_dir(root: &Path, ctx: &Ctx, opts: &WalkOptions) {
    let keep_prefix = stays_below(root);
    let prefix = clean(root);
    let name_of = |p: &Path| {
        let rel = p.strip_prefix(root).unwrap_or(p);
        if keep_prefix && !prefix.is_empty() {
            format!("{prefix}/{}", clean(rel))
        } else {
            clean(rel)
        }
    };
    WalkBuilder::new(root)
        .threads(opts.threads)
        .standard_filters(opts.standard_filters)
        .follow_links(false)
        .build_parallel()
        .run(|| {
            let mut buf = Vec::with_capacity(1 << 16);
            Box::new(move |entry| {
                match entry {
                    Ok(entry) => {
                        let is_file = entry.file_type().is_some_and(|t| t.is_file());
                        if is_file && is_c_file(entry.path()) {
                            ctx.file(entry.path(), name_of(entry.path()), &mut buf);
                        }
                    }
                    Err(e) => {
                        // ignore's error text names the path it is about.
                        let name = root.display().to_string();
                        let msg = e.to_string();
                        ctx.error(WalkError::Walk(if msg.contains(&name) {
                            msg
                        } else {
                            format!("{name}: {msg}")
                        }));
                    }
                }
                WalkState::Continue
            })
        });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_argument() {
        assert!(stays_below(Path::new("drivers/block")));
        assert!(stays_below(Path::new("./x.c")));
        assert!(!stays_below(Path::new("../linux")));
        assert!(!stays_below(Path::new("/usr/src/linux")));
        assert_eq!(
            clean(Path::new("./drivers/./block/brd.c")),
            "drivers/block/brd.c"
        );
    }
}
