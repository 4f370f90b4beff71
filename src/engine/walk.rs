//! Finding and reading the C files of a tree in parallel, filtering them with
//! the engine's literal prefilter, and running the engine on the rest.
//!
//! Each worker thread reuses one read buffer; only files with sites are sent
//! back, and results are sorted by name at the end, so the output is the same
//! whatever the thread count.
//!
//! Names: inside a Linux tree (see [`crate::file::kernel_top`]) every file
//! is named relative to the tree's top, wherever bvmig runs and however the
//! path is spelled (`cd drivers; bvmig patch block ../fs` names
//! `drivers/block/brd.c` and `fs/iomap.c`), so a patch applies with `-p1`
//! at the top. Elsewhere, a relative path that stays below the current
//! directory keeps its spelling, so a patch applies with `-p1` from here;
//! any other directory names its files relative to itself, so a patch
//! applies with `-p1` from inside it. A symlink named on the command line
//! stands for its target, named as if the target had been given. Each file
//! is named once: a path given twice, or two names of one file (a symlinked
//! directory, hard links), give the first name in sorted order.
//!
//! Macro uses across files: after the walk, the function-like macros that
//! headers of the walk define and whose bodies hold sites are looked for
//! in every file walked and in the tree's `include/` (a literal search for
//! their names, then a parse of the files that use them, in parallel);
//! the headers are then rewritten again knowing those uses
//! ([`crate::engine::macro_uses::Elsewhere`]). A walk of part of a kernel
//! tree cannot see every use: the sites whose rewrite some use could
//! break are left, and say so.

use std::fs;
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use ignore::{WalkBuilder, WalkState};

use crate::c::parsed::LazyParsed;
use crate::c::source;
use crate::engine::macro_uses::{Elsewhere, MacroUses};
use crate::engine::{Engine, FileOutcome};
use crate::file::read_regular;
use crate::input;
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
    /// Inputs left out on purpose, each with why (a binary file, an ignore
    /// file that is not a regular file), sorted.
    pub notes: Vec<String>,
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
    /// Look only at these files (canonical paths) in the directories given,
    /// instead of walking them: what git says changed, say. Files are
    /// named as a walk of the directory would name them.
    pub only: Option<Vec<PathBuf>>,
    /// Globs over the names below each directory walked, as ripgrep's
    /// `--glob`: a file must match one (when any is positive) and none
    /// negated with `!`; the later of two matching globs wins.
    pub globs: Vec<String>,
}

impl Default for WalkOptions {
    fn default() -> WalkOptions {
        WalkOptions {
            threads: 0,
            standard_filters: true,
            only: None,
            globs: Vec::new(),
        }
    }
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

/// A path named on the command line: what to walk and how its files are
/// named (`prefix/REL`, or `REL` with no prefix; a file is named `prefix`,
/// or by its own name with no prefix).
struct Root {
    path: PathBuf,
    prefix: String,
}

impl Root {
    fn new(given: &Path) -> Root {
        let is_link = fs::symlink_metadata(given).is_ok_and(|m| m.file_type().is_symlink());
        let path = if is_link {
            fs::canonicalize(given).unwrap_or_else(|_| given.to_path_buf())
        } else {
            given.to_path_buf()
        };
        let below_top = crate::file::kernel_top(&path).and_then(|top| {
            let canon = fs::canonicalize(&path).ok()?;
            canon.strip_prefix(&top).ok().map(clean)
        });
        let prefix = if let Some(rel) = below_top {
            rel
        } else if is_link {
            // The target, as if it had been given: relative to here when
            // it lies below.
            std::env::current_dir()
                .ok()
                .and_then(|cwd| path.strip_prefix(cwd).ok().map(clean))
                .unwrap_or_default()
        } else if stays_below(&path) {
            clean(&path)
        } else {
            String::new()
        };
        Root { path, prefix }
    }

    fn file_name(&self) -> String {
        if self.prefix.is_empty() {
            self.path
                .file_name()
                .map_or_else(|| clean(&self.path), |n| n.to_string_lossy().into_owned())
        } else {
            self.prefix.clone()
        }
    }

    fn name_of(&self, p: &Path) -> String {
        let rel = clean(p.strip_prefix(&self.path).unwrap_or(p));
        if self.prefix.is_empty() {
            rel
        } else {
            format!("{}/{rel}", self.prefix)
        }
    }
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
    let seen = Mutex::new(Seen::default());
    let judged = Mutex::new(Vec::new());
    let mut walked = walk_paths(paths, engine, opts, progress, (&seen, &judged));
    progress.end();
    let seen = seen.into_inner().expect("no panics while locked");
    let judged = judged.into_inner().expect("no panics while locked");
    macro_uses_elsewhere(paths, engine, opts, &mut walked, (seen, judged), progress);
    walked
}

fn walk_paths(
    paths: &[PathBuf],
    engine: &Engine,
    opts: &WalkOptions,
    progress: &dyn Progress,
    (seen, judged): (&Mutex<Seen>, &Mutex<Judged>),
) -> Walked {
    let collected = Mutex::new(Vec::new());
    let errors = Mutex::new(Vec::new());
    let notes = Mutex::new(Vec::new());
    let n_walked = AtomicUsize::new(0);
    let n_parsed = AtomicUsize::new(0);
    let ctx = Ctx {
        engine,
        progress,
        collected: &collected,
        errors: &errors,
        notes: &notes,
        n_walked: &n_walked,
        n_parsed: &n_parsed,
        seen,
        judged,
    };
    let mut seen: Vec<PathBuf> = Vec::new();
    for given in paths {
        let root = Root::new(given);
        // A path given twice (or once through a symlink) is walked once.
        if let Ok(canon) = fs::canonicalize(&root.path) {
            if seen.contains(&canon) {
                continue;
            }
            seen.push(canon);
        }
        let path = &root.path;
        let meta = match fs::metadata(path) {
            Ok(m) => m,
            Err(source) => {
                ctx.error(WalkError::Read {
                    name: given.display().to_string(),
                    source,
                });
                continue;
            }
        };
        if meta.is_dir() {
            match &opts.only {
                Some(files) => walk_listed(&root, files, &ctx),
                None => walk_dir(&root, &ctx, opts),
            }
        } else if meta.is_file() {
            let mut buf = Vec::new();
            ctx.file(path, root.file_name(), &mut buf);
        } else {
            ctx.error(WalkError::NotFileOrDir(given.display().to_string()));
        }
    }
    let mut files = collected.into_inner().expect("no panics while locked");
    files.sort_by(|a: &FileReport, b| a.name.cmp(&b.name));
    files.dedup_by(|a, b| a.name == b.name);
    // One file under two names (hard links, a directory reached twice
    // through a symlink): the first name only.
    let mut ids = std::collections::HashSet::new();
    files.retain(|f| {
        use std::os::unix::fs::MetadataExt;
        fs::metadata(&f.path).map_or(true, |m| ids.insert((m.dev(), m.ino())))
    });
    let mut errors = errors.into_inner().expect("no panics while locked");
    errors.sort_by_cached_key(|e| e.to_string());
    let mut notes = notes.into_inner().expect("no panics while locked");
    notes.sort();
    notes.dedup();
    Walked {
        files,
        n_walked: n_walked.into_inner(),
        n_parsed: n_parsed.into_inner(),
        errors,
        notes,
    }
}

struct Ctx<'a> {
    engine: &'a Engine,
    progress: &'a dyn Progress,
    collected: &'a Mutex<Vec<FileReport>>,
    errors: &'a Mutex<Vec<WalkError>>,
    notes: &'a Mutex<Vec<String>>,
    n_walked: &'a AtomicUsize,
    n_parsed: &'a AtomicUsize,
    /// Every C file looked at, with its name: where macro uses are
    /// looked for after the walk.
    seen: &'a Mutex<Seen>,
    /// Per header: the macros whose uses the engine judged there (see
    /// [`crate::engine::macro_uses::take_judged`]).
    judged: &'a Mutex<Judged>,
}

impl Ctx<'_> {
    fn error(&self, e: WalkError) {
        self.errors.lock().expect("no panics while locked").push(e);
    }

    fn note(&self, note: String) {
        self.notes
            .lock()
            .expect("no panics while locked")
            .push(note);
    }

    fn file(&self, path: &Path, name: String, buf: &mut Vec<u8>) {
        let _reading = input::reading(name.as_str());
        self.n_walked.fetch_add(1, Ordering::Relaxed);
        self.seen
            .lock()
            .expect("no panics while locked")
            .push(path, &name);
        self.progress.step();
        buf.clear();
        if let Err(source) = read_regular(path, buf) {
            self.error(WalkError::Read { name, source });
            return;
        }
        if !self.engine.may_match(buf) {
            return;
        }
        // Binary content is not C, as ripgrep judges it: a NUL byte.
        if let Some(at) = memchr::memchr(0, buf) {
            self.note(format!(
                "{name}: skipped: a binary file (a NUL byte at offset {at}), not C"
            ));
            return;
        }
        self.n_parsed.fetch_add(1, Ordering::Relaxed);
        // A bug in the engine must not take the run down, nor print a
        // backtrace: the file is reported and the run goes on.
        crate::engine::macro_uses::take_judged();
        let outcome = match input::catch(|| {
            input::provoke();
            self.engine.rewrite_in(buf, path.parent())
        }) {
            Ok(o) => {
                let judged = crate::engine::macro_uses::take_judged();
                if !judged.is_empty() && path.extension().is_some_and(|x| x == "h") {
                    self.judged
                        .lock()
                        .expect("no panics while locked")
                        .push((name.clone(), judged));
                }
                o
            }
            Err(what) => {
                self.error(WalkError::Internal { name, what });
                return;
            }
        };
        self.progress.found(outcome.sites.len());
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

/// Per header (by name): the macros whose uses the engine judged there.
type Judged = Vec<(String, Vec<String>)>;

/// Every C file looked at, with its name, packed (a kernel tree has
/// tens of thousands): where macro uses are looked for after the walk.
#[derive(Default)]
struct Seen {
    /// Each file's path bytes, then its name's.
    bytes: Vec<u8>,
    /// Per file: where its path and its name end in `bytes`.
    ends: Vec<(usize, usize)>,
}

impl Seen {
    fn push(&mut self, path: &Path, name: &str) {
        use std::os::unix::ffi::OsStrExt;
        self.bytes.extend_from_slice(path.as_os_str().as_bytes());
        let path_end = self.bytes.len();
        self.bytes.extend_from_slice(name.as_bytes());
        self.ends.push((path_end, self.bytes.len()));
    }

    /// File `k`'s path and name.
    fn get(&self, k: usize) -> (&Path, &str) {
        use std::os::unix::ffi::OsStrExt;
        let start = if k == 0 { 0 } else { self.ends[k - 1].1 };
        let (path_end, end) = self.ends[k];
        let path = Path::new(std::ffi::OsStr::from_bytes(&self.bytes[start..path_end]));
        let name = std::str::from_utf8(&self.bytes[path_end..end]).unwrap_or_default();
        (path, name)
    }

    /// The files' indexes sorted by name, one per name.
    fn by_name(&self) -> Vec<usize> {
        let mut order: Vec<usize> = (0..self.ends.len()).collect();
        order.sort_by(|&a, &b| self.get(a).1.cmp(self.get(b).1));
        order.dedup_by(|a, b| self.get(*a).1 == self.get(*b).1);
        order
    }
}

/// A header of the walk with function-like macros whose bodies hold sites.
struct MacroHeader {
    /// Its index in the walk's files.
    idx: usize,
    /// Its text.
    text: Vec<u8>,
    /// The macros.
    names: Vec<String>,
}

/// Looks for the uses of the macros that the walk's headers define with
/// sites in their bodies, in every file walked (`seen`) and in the tree's
/// `include/` when the walk did not cover it, then rewrites those headers
/// again knowing them. See the module's documentation.
fn macro_uses_elsewhere(
    paths: &[PathBuf],
    engine: &Engine,
    opts: &WalkOptions,
    walked: &mut Walked,
    (mut seen, judged): (Seen, Judged),
    progress: &dyn Progress,
) {
    let headers = macro_headers(walked, &judged);
    if headers.is_empty() {
        return;
    }
    let mut names: Vec<String> = headers.iter().flat_map(|h| h.names.clone()).collect();
    names.sort();
    names.dedup();
    // The headers of the tree's include/ that the walk did not cover.
    let walked_roots: Vec<PathBuf> = paths
        .iter()
        .filter_map(|p| fs::canonicalize(p).ok())
        .collect();
    for root in crate::c::types::roots(paths) {
        let Ok(canon) = fs::canonicalize(&root) else {
            continue;
        };
        if walked_roots.iter().any(|w| canon.starts_with(w)) {
            continue;
        }
        let top = crate::file::kernel_top(&canon);
        for e in ignore::WalkBuilder::new(&canon)
            .standard_filters(false)
            .follow_links(false)
            .build()
            .flatten()
        {
            let p = e.path();
            if e.file_type().is_some_and(|t| t.is_file()) && p.extension().is_some_and(|x| x == "h")
            {
                let name = top
                    .as_deref()
                    .and_then(|t| p.strip_prefix(t).ok())
                    .map_or_else(|| p.display().to_string(), clean);
                seen.push(p, &name);
            }
        }
    }
    let order = seen.by_name();
    let (unknown, whole_program) = completeness(paths, opts);

    progress.begin("looking for macro uses", Some(order.len()));
    let found = find_uses(
        &seen,
        &order,
        (&names, engine.called()),
        opts.threads,
        progress,
    );
    progress.end();
    let elsewhere = Arc::new(Elsewhere::new(
        names,
        found.uses,
        found.unjudged,
        order.len(),
        unknown,
        whole_program,
        found.clashes,
    ));

    // The headers again, knowing the uses.
    let mut defined_in: Vec<(String, String)> = Vec::new();
    for h in headers {
        let header = walked.files[h.idx].name.clone();
        defined_in.extend(h.names.iter().map(|n| (n.clone(), header.clone())));
        let f = &mut walked.files[h.idx];
        let _reading = input::reading(f.name.as_str());
        let dir = f.path.parent().map(Path::to_path_buf);
        match input::catch(|| engine.rewrite_with(&h.text, dir.as_deref(), Some(&elsewhere))) {
            Ok(outcome) => {
                f.old = if outcome.new_text.is_some() {
                    h.text
                } else {
                    Vec::new()
                };
                f.outcome = outcome;
            }
            Err(what) => walked.errors.push(WalkError::Internal {
                name: f.name.clone(),
                what,
            }),
        }
    }
    // What the reruns judged is known already.
    crate::engine::macro_uses::take_judged();
    for (name, at) in elsewhere.relied() {
        for (_, header) in defined_in.iter().filter(|(n, _)| *n == name) {
            walked.notes.push(format!(
                "{header}: {name}() rewritten after checking its uses in the files walked ({}), which are taken as the whole program (not a kernel tree); uses elsewhere would need the same check",
                list_uses(&at)
            ));
        }
    }
    walked.notes.sort();
    walked.errors.sort_by_cached_key(|e| e.to_string());
}

/// The walk's headers with function-like macros whose uses the engine
/// judged (`judged`, by file name): those where a use could break a
/// rewrite in the body.
fn macro_headers(walked: &Walked, judged: &[(String, Vec<String>)]) -> Vec<MacroHeader> {
    let mut out = Vec::new();
    for (idx, f) in walked.files.iter().enumerate() {
        let Some((_, names)) = judged.iter().find(|(n, _)| *n == f.name) else {
            continue;
        };
        if f.outcome.error.is_some() {
            continue;
        }
        let text = if f.old.is_empty() {
            match crate::file::read(&f.path) {
                Ok(t) => t,
                Err(_) => continue,
            }
        } else {
            f.old.clone()
        };
        out.push(MacroHeader {
            idx,
            text,
            names: names.clone(),
        });
    }
    out
}

/// Why uses outside the files walked may exist (`None` when the walk
/// covers a whole kernel tree), and whether the walk is taken as the
/// whole program without a kernel tree to say so.
fn completeness(paths: &[PathBuf], opts: &WalkOptions) -> (Option<String>, bool) {
    if opts.only.is_some() {
        return (Some("only some files were walked".into()), false);
    }
    if !opts.globs.is_empty() {
        return (Some("--glob left files out of the walk".into()), false);
    }
    let given: Vec<PathBuf> = paths
        .iter()
        .filter_map(|p| fs::canonicalize(p).ok())
        .collect();
    let mut in_tree = false;
    for p in paths {
        if let Some(top) = crate::file::kernel_top(p) {
            in_tree = true;
            if !given.contains(&top) {
                return (Some("the walk is part of the kernel tree".into()), false);
            }
        }
    }
    (None, !in_tree)
}

/// `at` (uses as `file:line`), the first few.
fn list_uses(at: &[String]) -> String {
    const SHOWN: usize = 5;
    let mut s = at
        .iter()
        .take(SHOWN)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if at.len() > SHOWN {
        s.push_str(&format!(" and {} more", at.len() - SHOWN));
    }
    s
}

/// What [`find_uses`] found.
#[derive(Default)]
struct Found {
    uses: Vec<(String, Option<Vec<crate::engine::macro_uses::Use>>)>,
    /// (macro, file) where a use could not be judged.
    unjudged: Vec<(String, String)>,
    /// Where the functions the rules call are declared as other than
    /// functions (see [`crate::engine::clash`]).
    clashes: Vec<crate::engine::clash::Clash>,
}

/// The uses of the macros `names` in `files`, and the declarations of the
/// functions `called` as other than functions, read in parallel
/// (`threads`, 0: one per core, at most 12): a literal search for the
/// names, then a parse of the files that hold one.
fn find_uses(
    files: &Seen,
    order: &[usize],
    (names, called): (&[String], &[String]),
    threads: usize,
    progress: &dyn Progress,
) -> Found {
    let pattern = names
        .iter()
        .chain(called)
        .map(|n| regex::escape(n))
        .collect::<Vec<_>>()
        .join("|");
    let Ok(literal) = regex::bytes::Regex::new(&pattern) else {
        // Names are identifiers: the pattern is always valid.
        return Found::default();
    };
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let called: Vec<&str> = called.iter().map(String::as_str).collect();
    let threads = match threads {
        0 => std::thread::available_parallelism().map_or(1, |n| n.get().min(12)),
        n => n,
    };
    let next = AtomicUsize::new(0);
    let found = Mutex::new(Found::default());
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                let mut buf = Vec::with_capacity(1 << 16);
                let mut mine = Found::default();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(&k) = order.get(i) else {
                        break;
                    };
                    let (path, name) = files.get(k);
                    progress.step();
                    buf.clear();
                    if read_regular(path, &mut buf).is_err()
                        || !literal.is_match(&buf)
                        || memchr::memchr(0, &buf).is_some()
                    {
                        continue;
                    }
                    let _reading = input::reading(name);
                    let found = input::catch(|| {
                        // One parse for both questions, and none when the
                        // file names none of the names (a match of the
                        // literal inside a longer word).
                        let file = LazyParsed::new(&buf);
                        (
                            MacroUses::foreign_uses(&file, name, &names),
                            crate::engine::clash::declared_in_file(&file, name, &called),
                        )
                    });
                    match found {
                        Ok((u, c)) => {
                            mine.uses.extend(u);
                            mine.clashes.extend(c);
                        }
                        Err(_) => mine.unjudged.extend(
                            names
                                .iter()
                                .filter(|n| !source::word_occurrences(&buf, n).is_empty())
                                .map(|n| (n.to_string(), name.to_string())),
                        ),
                    }
                }
                let mut all = found.lock().expect("no panics while locked");
                all.uses.append(&mut mine.uses);
                all.unjudged.append(&mut mine.unjudged);
                all.clashes.append(&mut mine.clashes);
            });
        }
    });
    let mut found = found.into_inner().expect("no panics while locked");
    // Scheduling must not show: the first file in name order names an
    // unjudged use.
    found.unjudged.sort();
    found
}

/// An ignore file that is not a regular file.
struct Unreadable {
    path: PathBuf,
    /// Its name in its directory (`.gitignore`).
    rel: &'static str,
    /// What it is (`a FIFO`).
    what: &'static str,
    /// The ignore files still read once its kind is not.
    off: IgnoreFiles,
}

/// The ignore files the walker reads for a directory.
#[derive(Debug, Clone, Copy)]
struct IgnoreFiles {
    ignore: bool,
    git_ignore: bool,
    git_exclude: bool,
    /// git's global excludes (`core.excludesFile`).
    git_global: bool,
}

impl IgnoreFiles {
    /// Those of `dir` (and of its `.git`) that exist but are not regular
    /// files, among those still read: the walker would open them itself
    /// and block on a FIFO. Each with its path and what it is.
    fn unreadable(self, dir: &Path) -> Vec<Unreadable> {
        let mut out = Vec::new();
        let mut check = |on: bool, rel: &'static str, off: IgnoreFiles| {
            let path = dir.join(rel);
            if let Ok(m) = fs::metadata(&path) {
                if on && !m.is_file() {
                    out.push(Unreadable {
                        path,
                        rel,
                        what: crate::file::kind_name(m.file_type()),
                        off,
                    });
                }
            }
        };
        check(self.ignore, ".ignore", self.without(".ignore"));
        check(self.git_ignore, ".gitignore", self.without(".gitignore"));
        if fs::metadata(dir.join(".git")).is_ok_and(|m| m.is_dir()) {
            check(
                self.git_exclude,
                ".git/info/exclude",
                self.without(".git/info/exclude"),
            );
        }
        out
    }

    fn without(mut self, rel: &str) -> IgnoreFiles {
        match rel {
            ".ignore" => self.ignore = false,
            ".gitignore" => self.git_ignore = false,
            _ => self.git_exclude = false,
        }
        self
    }

    fn and(self, other: IgnoreFiles) -> IgnoreFiles {
        IgnoreFiles {
            ignore: self.ignore && other.ignore,
            git_ignore: self.git_ignore && other.git_ignore,
            git_exclude: self.git_exclude && other.git_exclude,
            git_global: self.git_global && other.git_global,
        }
    }
}

/// The C files of `files` that lie in `root`'s directory, one after the
/// other: a few files need no thread pool.
fn walk_listed(root: &Root, files: &[PathBuf], ctx: &Ctx) {
    let Ok(canon) = fs::canonicalize(&root.path) else {
        return;
    };
    let mut buf = Vec::new();
    for f in files {
        let Ok(rel) = f.strip_prefix(&canon) else {
            continue;
        };
        let path = root.path.join(rel);
        if is_c_file(&path) && fs::metadata(&path).is_ok_and(|m| m.is_file()) {
            ctx.file(&path, root.name_of(&path), &mut buf);
        }
    }
}

fn walk_dir(root: &Root, ctx: &Ctx, opts: &WalkOptions) {
    let all = IgnoreFiles {
        ignore: true,
        git_ignore: true,
        git_exclude: true,
        git_global: true,
    };
    if !opts.standard_filters {
        return walk_below(root, &root.path, ctx, opts, all);
    }
    // The walker reads the ignore files of the directory's parents too.
    let mut read = all;
    for (path, what) in crate::file::global_excludes_unreadable() {
        ctx.note(format!(
            "{}: {what}, not a regular file: not read, and git's global excludes do not apply in this run",
            path.display()
        ));
        read.git_global = false;
    }
    let abs = fs::canonicalize(&root.path).unwrap_or_else(|_| root.path.clone());
    for dir in abs.ancestors() {
        for u in read.unreadable(dir) {
            ctx.note(format!(
                "{}: {}, not a regular file: not read, and no {} file applies in this run",
                u.path.display(),
                u.what,
                u.rel
            ));
            read = read.and(u.off);
        }
    }
    walk_below(root, &root.path, ctx, opts, read);
}

/// Walks `dir` (`root`'s directory or one below it) reading the ignore
/// files `read` says. A directory below whose ignore file is not a
/// regular file is left to a walk of its own that does not read that kind
/// (there, nor below, nor from the parents: the walker reads them all or
/// none), with a note.
fn walk_below(root: &Root, dir: &Path, ctx: &Ctx, opts: &WalkOptions, read: IgnoreFiles) {
    let name_of = |p: &Path| root.name_of(p);
    // Globs are relative to the root the user named, whichever directory
    // below it this walk starts from.
    let mut globs = ignore::overrides::OverrideBuilder::new(&root.path);
    for g in &opts.globs {
        if let Err(e) = globs.add(g) {
            ctx.error(WalkError::Walk(format!("--glob {g}: {e}")));
            return;
        }
    }
    let globs = match globs.build() {
        Ok(o) => o,
        Err(e) => {
            ctx.error(WalkError::Walk(format!("--glob: {e}")));
            return;
        }
    };
    let deferred = std::sync::Arc::new(Mutex::new(Vec::new()));
    let mut builder = WalkBuilder::new(dir);
    builder
        .threads(opts.threads)
        .standard_filters(opts.standard_filters)
        .overrides(globs)
        .follow_links(false);
    if opts.standard_filters {
        builder
            .ignore(read.ignore)
            .git_ignore(read.git_ignore)
            .git_exclude(read.git_exclude)
            .git_global(read.git_global);
        let deferred = deferred.clone();
        builder.filter_entry(move |entry| {
            if !entry.file_type().is_some_and(|t| t.is_dir()) {
                return true;
            }
            let bad = read.unreadable(entry.path());
            if bad.is_empty() {
                return true;
            }
            deferred
                .lock()
                .expect("no panics while locked")
                .push((entry.path().to_path_buf(), bad));
            false
        });
    }
    builder.build_parallel().run(|| {
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
                    let name = dir.display().to_string();
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
    let deferred = std::mem::take(&mut *deferred.lock().expect("no panics while locked"));
    for (sub, bad) in deferred {
        let mut read = read;
        for u in bad {
            ctx.note(format!(
                "{}: {}, not a regular file: not read, and no {} file applies to {}",
                name_of(&u.path),
                u.what,
                u.rel,
                name_of(&sub),
            ));
            read = read.and(u.off);
        }
        walk_below(root, &sub, ctx, opts, read);
    }
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
