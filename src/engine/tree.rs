//! A rewrite over a tree, as `bvmig patch` makes it: the rule that fits
//! the tree, the parallel walk, the `#include` lines files need for the
//! functions they start calling, and the helpers the tree lacks placed in
//! its `include/linux/bvec.h`. What to do with the result (print a diff,
//! write the files, mail a series) is the caller's.

use std::fs;
use std::path::{Path, PathBuf};

use crate::c::types;
use crate::diff;
use crate::engine::choice::{self, ChoiceError, Chosen};
use crate::engine::helpers::Helper;
use crate::engine::placement::{self, Unplaced, BVEC_HEADER};
use crate::engine::site::{Status, FIELD_STRUCT};
use crate::engine::walk::{self, FileReport, WalkError, WalkOptions, Walked};
use crate::engine::{Engine, FileOutcome};
use crate::file::{self, IoError};
use crate::progress::Progress;
use crate::smpl::EmittedCall;

/// What to rewrite and how.
#[derive(Debug, Clone)]
pub struct TreeOptions {
    /// Kernel trees, directories or C files.
    pub paths: Vec<PathBuf>,
    /// A rule file to run instead of the built-in rule that fits the tree.
    pub rule: Option<PathBuf>,
    /// Virtual rules defined (`-D NAME`); none means `patch`.
    pub defines: Vec<String>,
    /// How to walk.
    pub walk: WalkOptions,
}

/// Why something of a rewrite over a tree could not be done; the rest of
/// the run is still good.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TreeError {
    /// An input could not be read or rewritten.
    #[error(transparent)]
    Walk(#[from] WalkError),
    /// A file could not be read or written.
    #[error(transparent)]
    Io(#[from] IoError),
    /// The engine could not search a file (it nests too deep); its sites
    /// are left and reported.
    #[error("{name}: {why}")]
    Unsearched {
        /// The file, as reports name it.
        name: String,
        /// Why.
        why: String,
    },
    /// The helpers go into a header that the walk did not cover.
    #[error("{}: the helpers go here, but it is not among the files walked; run on the whole tree or pass --no-helpers", .0.display())]
    HeaderNotWalked(PathBuf),
    /// The helpers' header has no `struct bio_vec` to put them after
    /// where they would be compiled.
    #[error("{name}: {why}")]
    Unplaced {
        /// The header, as reports name it.
        name: String,
        /// Why.
        why: Unplaced,
    },
    /// A file's new text could not be written beside it: nothing was
    /// written.
    #[error("{name}: {source}; nothing written")]
    Stage {
        /// The file, as reports name it.
        name: String,
        /// Why.
        source: std::io::Error,
    },
    /// A file that other names share (hard links): nothing was written.
    #[error("{name}: {links} names share this file (hard links){}, and replacing it would leave the others with the old text; nothing written (`bvmig patch | patch -p1` gives each file a copy of its own)", others_too(*.others))]
    HardLinks {
        /// The file, as reports name it (the first in sorted order).
        name: String,
        /// How many names it has.
        links: u64,
        /// How many other files to write have hard links too.
        others: usize,
    },
    /// A file could not be replaced while the others were; it is left as
    /// it was.
    #[error("{name}: {source}; file left unchanged")]
    Write {
        /// The file, as reports name it.
        name: String,
        /// Why.
        source: std::io::Error,
    },
}

/// ", as do N other files", for [`TreeError::HardLinks`].
fn others_too(n: usize) -> String {
    match n {
        0 => String::new(),
        1 => ", as does 1 other file to write".to_string(),
        n => format!(", as do {n} other files to write"),
    }
}

/// A tree rewritten in memory.
#[derive(Debug)]
pub struct Patched {
    /// The paths rewritten, as given.
    pub paths: Vec<PathBuf>,
    /// The rule's name in reports.
    pub rule_name: String,
    /// Why bvmig chose the rule; `None` for a rule given.
    pub why: Option<String>,
    /// The rule file's own name (the built-in rule's, or the path given).
    pub rule_path: String,
    /// The calls the rule writes.
    pub emitted: Vec<EmittedCall>,
    /// Helpers the rule calls that the tree lacks and bvmig can define.
    pub missing: Vec<&'static Helper>,
    /// The fields whose every occurrence is a site, if the rule has some.
    pub tracked: Option<Vec<String>>,
    /// The files with sites, and the walk's counts.
    pub walked: Walked,
    /// The tree's `include/linux/bvec.h`, where helpers go, if there is a
    /// kernel tree around the paths.
    pub bvec_header: Option<PathBuf>,
    /// True when the walk covered that header, and so the whole tree
    /// (`bvmig patch ~/linux`, not `~/linux/fs`).
    pub whole_tree: bool,
    /// Notes for the user (helpers added or lacking).
    pub notes: Vec<String>,
    /// What could not be done.
    pub errors: Vec<TreeError>,
}

/// Chooses the rule for the tree, walks it and rewrites every file in
/// memory, adding the `#include` lines the new calls need; the helpers are
/// not placed yet (see [`Patched::place_helpers`]).
pub fn rewrite(opts: &TreeOptions, progress: &dyn Progress) -> Result<Patched, ChoiceError> {
    let paths = opts.paths.clone();
    let Chosen { name, why, choice } =
        choice::choose_for(&paths, opts.rule.as_deref(), &opts.defines)?;
    let rule_path = choice.rules.path.clone();
    let emitted = choice.rules.emitted_calls();
    let missing = choice.missing;
    let engine = Engine::new(choice.rules).with_type_roots(types::roots(&paths));
    let mut walked = walk::walk(&paths, &engine, &opts.walk, progress);
    let mut errors: Vec<TreeError> = walked.errors.drain(..).map(TreeError::Walk).collect();
    let engine = recheck_shared_field(engine, &mut walked, &mut errors);
    errors.extend(walked.files.iter().filter_map(|f| {
        let why = f.outcome.error.clone()?;
        Some(TreeError::Unsearched {
            name: f.name.clone(),
            why,
        })
    }));
    let notes = std::mem::take(&mut walked.notes);
    // A file that starts calling a pfn_t function gets its header.
    for f in walked.files.iter_mut() {
        if let Some(new) = &f.outcome.new_text {
            if let Some(with) = placement::add_includes(&f.old, new) {
                f.outcome.new_text = Some(with);
            }
        }
    }
    let bvec_header = placement::bvec_header(&paths);
    let whole_tree = bvec_header
        .as_deref()
        .and_then(|h| fs::canonicalize(h).ok())
        .is_some_and(|h| {
            walked
                .files
                .iter()
                .any(|f| fs::canonicalize(&f.path).is_ok_and(|p| p == h))
        });
    Ok(Patched {
        paths,
        rule_name: name,
        why,
        rule_path,
        emitted,
        missing,
        tracked: engine.tracked().map(<[String]>::to_vec),
        walked,
        bvec_header,
        whole_tree,
        notes,
        errors,
    })
}

impl Patched {
    /// Adds the definitions of the missing helpers to the tree's
    /// `include/linux/bvec.h`, or, with `leave_out`, notes that the patch
    /// needs them. Outside a kernel tree, where the helpers go is not
    /// known, and nothing is said.
    pub fn place_helpers(&mut self, leave_out: bool) {
        if self.missing.is_empty() {
            return;
        }
        let names: Vec<String> = self
            .missing
            .iter()
            .map(|h| format!("{}()", h.name))
            .collect();
        match self.bvec_header.clone() {
            Some(header) if !leave_out => {
                if let Err(e) = add_helpers(&mut self.walked, &header, &self.missing) {
                    self.errors.push(e);
                } else {
                    self.notes.push(format!(
                        "adds {} to {} (--no-helpers leaves them out)",
                        names.join(", "),
                        BVEC_HEADER
                    ));
                }
            }
            Some(_) => self.notes.push(format!(
                "the tree lacks {}; the patch does not compile without them",
                names.join(", ")
            )),
            None => {}
        }
    }

    /// The files that change.
    pub fn changed(&self) -> impl Iterator<Item = (&FileReport, &[u8])> {
        self.walked
            .files
            .iter()
            .filter_map(|f| f.outcome.new_text.as_deref().map(|new| (f, new)))
    }

    /// The rewrite as one unified diff, files in order.
    pub fn diff(&self) -> Vec<u8> {
        let mut out = Vec::new();
        for (f, new) in self.changed() {
            diff::unified(&f.name, &f.old, new, &mut out);
        }
        out
    }
}

/// Adds the definitions of `helpers` to `header` (include/linux/bvec.h):
/// into its rewrite when the walk changed it, else as a new change. On
/// part of a kernel tree (`bvmig patch drivers/block fs/`), the header
/// joins the patch though the walk did not cover it, named relative to
/// the tree's top as the walk names files there.
fn add_helpers(walked: &mut Walked, header: &Path, helpers: &[&Helper]) -> Result<(), TreeError> {
    let canon = fs::canonicalize(header).map_err(IoError::at(header))?;
    let same = |p: &Path| fs::canonicalize(p).is_ok_and(|c| c == canon);
    let idx = match walked.files.iter().position(|f| same(&f.path)) {
        Some(idx) => idx,
        None => {
            let name = file::kernel_top(&canon)
                .and_then(|top| canon.strip_prefix(top).ok().map(Path::to_path_buf))
                .ok_or_else(|| TreeError::HeaderNotWalked(header.to_path_buf()))?;
            let name = name.to_string_lossy().into_owned();
            let idx = walked.files.partition_point(|f| f.name < name);
            walked.files.insert(
                idx,
                FileReport {
                    name,
                    path: canon.clone(),
                    old: Vec::new(),
                    outcome: FileOutcome::default(),
                },
            );
            idx
        }
    };
    let f: &mut FileReport = &mut walked.files[idx];
    if f.old.is_empty() {
        f.old = crate::file::read(&f.path).map_err(|e| IoError::new(&f.name, e))?;
    }
    let base = f.outcome.new_text.as_deref().unwrap_or(&f.old);
    let new = placement::insert(base, helpers).map_err(|why| TreeError::Unplaced {
        name: f.name.clone(),
        why,
    })?;
    f.outcome.new_text = Some(new);
    Ok(())
}

/// A struct other than `struct bio_vec` that one file of the run declares
/// a tracked field in may reach another file through an include the
/// engine does not follow: when the walk found one, the files it rewrote
/// are rewritten again knowing it (a second pass, so that the result does
/// not depend on which file a thread read first).
fn recheck_shared_field(
    engine: Engine,
    walked: &mut Walked,
    errors: &mut Vec<TreeError>,
) -> Engine {
    let mut owners: Vec<String> = walked
        .files
        .iter()
        .flat_map(|f| f.outcome.sites.iter().filter_map(|s| s.owner.clone()))
        .collect();
    owners.sort();
    owners.dedup();
    if owners.iter().all(|o| o == FIELD_STRUCT) {
        return engine;
    }
    let engine = engine.with_owners_elsewhere(owners);
    for f in walked.files.iter_mut() {
        if f.outcome.new_text.is_none() {
            continue;
        }
        let _reading = crate::input::reading(f.name.as_str());
        match crate::input::catch(|| engine.rewrite_in(&f.old, f.path.parent())) {
            Ok(o) => f.outcome = o,
            Err(what) => {
                f.outcome.new_text = None;
                f.outcome.edits.clear();
                for s in &mut f.outcome.sites {
                    s.status = Status::Left("internal error; the file is left unchanged".into());
                }
                errors.push(TreeError::Walk(WalkError::Internal {
                    name: f.name.clone(),
                    what,
                }));
            }
        }
    }
    engine
}
