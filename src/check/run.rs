//! `bvmig check` as a library call: every raw access left in a tree; with
//! `since`, only those on lines added since a revision, each named with the
//! commit that added it; with a baseline, only those it does not accept;
//! with `fix`, the patch converting exactly what was found.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use crate::c::types;
use crate::check::baseline::{Baseline, BaselineError, Split};
use crate::check::{self, Finding, FixError};
use crate::diff;
use crate::engine::choice::{self, ChoiceError};
use crate::engine::walk::{self, WalkError, WalkOptions};
use crate::engine::Engine;
use crate::file::IoError;
use crate::git::{GitError, Origin, Repo};
use crate::progress::Progress;

/// What to check and how.
#[derive(Debug, Clone)]
pub struct CheckOptions {
    /// Kernel trees, directories or C files.
    pub paths: Vec<PathBuf>,
    /// A rule file to run instead of the built-in rule that fits the tree.
    pub rule: Option<PathBuf>,
    /// Virtual rules defined (`-D NAME`); none means `patch`.
    pub defines: Vec<String>,
    /// How to walk.
    pub walk: WalkOptions,
    /// Only sites on lines added since this git revision; only the files
    /// with such lines are read.
    pub since: Option<String>,
    /// Only sites on lines the git index adds to HEAD, in the staged
    /// version of the files (what `git commit` would commit).
    pub cached: bool,
    /// Accept the sites this baseline file lists.
    pub baseline: Option<PathBuf>,
    /// Find each finding's enclosing function (a second parse of the files
    /// with findings; baselines, JSON and SARIF need it).
    pub with_function: bool,
    /// Make the patch that converts exactly the findings.
    pub fix: bool,
    /// Keep the tree's helper definitions in this cache directory between
    /// runs (see `c::defcache`), for runs that check one file at a time.
    pub definitions_cache: Option<PathBuf>,
}

/// Why a check could not run, or what of it failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CheckError {
    /// No rule can run on the tree.
    #[error(transparent)]
    Choice(#[from] ChoiceError),
    /// The baseline could not be read.
    #[error(transparent)]
    Baseline(#[from] BaselineError),
    /// git failed (a bad revision, no work tree, blame).
    #[error(transparent)]
    Git(#[from] GitError),
    /// An input could not be read or rewritten.
    #[error(transparent)]
    Walk(#[from] WalkError),
    /// A file with sites could not be read again.
    #[error(transparent)]
    Io(#[from] IoError),
    /// A file with sites is outside the repository `since` is about.
    #[error("{name}: outside the repository at {}", top.display())]
    OutsideRepo {
        /// The file, as reports name it.
        name: String,
        /// The repository's top.
        top: PathBuf,
    },
    /// The fix of a file could not be made.
    #[error(transparent)]
    Fix(#[from] FixError),
}

/// What a check found.
#[derive(Debug, Default)]
pub struct Checked {
    /// The rule's name in reports.
    pub rule_name: String,
    /// The fields whose every occurrence is a site, if the rule has some.
    pub tracked: Option<Vec<String>>,
    /// Every finding (on added lines, with `since`), before the baseline.
    pub all: Vec<Finding>,
    /// The findings the baseline does not accept: what to report.
    pub findings: Vec<Finding>,
    /// What the baseline accepted, and its entries that match nothing.
    pub split: Split,
    /// The sites the rule keeps raw on purpose (the member's declaration,
    /// `offsetof`, excluded functions), as notes (on added lines, with
    /// `since`; none with a baseline, which accepts them).
    pub notes: Vec<Finding>,
    /// Sites the rule keeps raw, in the whole of what was walked.
    pub n_allowed: usize,
    /// Findings before `since` kept only those on added lines.
    pub n_before_since: usize,
    /// C files looked at.
    pub n_walked: usize,
    /// Files that passed the prefilter and were parsed.
    pub n_parsed: usize,
    /// With `fix`: the patch that converts the findings.
    pub fix_patch: Vec<u8>,
    /// What could not be done; the rest stands.
    pub errors: Vec<CheckError>,
    /// What the walk skipped on purpose, and why (binary files, ignore
    /// files that are not regular files).
    pub walk_notes: Vec<String>,
}

/// A file with findings: its text, for fixing.
struct FileChecked {
    text: Vec<u8>,
    findings: Vec<Finding>,
    notes: Vec<Finding>,
}

/// Runs the check. An error is returned when it cannot run at all (no
/// rule fits, a bad baseline or revision); what fails for some files is
/// in [`Checked::errors`].
pub fn run(opts: &CheckOptions, progress: &dyn Progress) -> Result<Checked, CheckError> {
    let chosen = choice::choose_for_cached(
        &opts.paths,
        opts.rule.as_deref(),
        &opts.defines,
        opts.definitions_cache.as_deref(),
    )?;
    let baseline = opts.baseline.as_deref().map(Baseline::read).transpose()?;
    // The repository and the added lines first: a bad revision is an error
    // before any work.
    let window = if let Some(rev) = &opts.since {
        let repo = Repo::discover(&opts.paths[0])?;
        let added = repo.added_since(rev)?;
        Some((repo, added, None))
    } else if opts.cached {
        let repo = Repo::discover(&opts.paths[0])?;
        let added = repo.added_cached()?;
        // The staged files, written out as the index has them.
        let staged = tempfile::Builder::new()
            .prefix("bvmig-staged-")
            .tempdir()
            .map_err(IoError::at(Path::new("temporary directory")))?;
        let files: Vec<&str> = added.keys().map(String::as_str).collect();
        repo.checkout_staged(&files, staged.path())?;
        Some((repo, added, Some(staged)))
    } else {
        None
    };
    // Only the files with added lines are read; staged ones from their
    // copies.
    let mut walk_opts = opts.walk.clone();
    let mut paths = opts.paths.clone();
    if let Some((repo, added, staged)) = &window {
        let top = staged.as_ref().map_or(repo.top.as_path(), |d| d.path());
        walk_opts.only = Some(added.keys().map(|rel| top.join(rel)).collect());
        if let Some(d) = staged {
            paths = opts
                .paths
                .iter()
                .map(|p| d.path().join(repo.relative(p).unwrap_or_default()))
                .collect();
        }
    }

    let engine = Engine::new(chosen.choice.rules).with_type_roots(types::roots(&opts.paths));
    let mut walked = walk::walk(&paths, &engine, &walk_opts, progress);
    let mut out = Checked {
        rule_name: chosen.name,
        tracked: engine.tracked().map(<[String]>::to_vec),
        n_walked: walked.n_walked,
        n_parsed: walked.n_parsed,
        errors: walked.errors.drain(..).map(CheckError::Walk).collect(),
        walk_notes: std::mem::take(&mut walked.notes),
        ..Checked::default()
    };

    let mut files: BTreeMap<String, FileChecked> = BTreeMap::new();
    let mut repo_names: HashMap<String, String> = HashMap::new();
    for f in &walked.files {
        let text = if f.outcome.new_text.is_some() {
            f.old.clone()
        } else {
            match crate::file::read(&f.path) {
                Ok(t) => t,
                Err(e) => {
                    out.errors.push(IoError::new(&f.name, e).into());
                    continue;
                }
            }
        };
        let mut found = check::findings(&f.name, &text, &f.outcome, 0, opts.with_function);
        out.n_allowed += found.allowed_lines.len();
        out.n_before_since += found.findings.len();
        if let Some((repo, added, staged)) = &window {
            let rel = match staged {
                Some(d) => f
                    .path
                    .strip_prefix(d.path())
                    .ok()
                    .map(|r| r.to_string_lossy().into_owned()),
                None => repo.relative(&f.path),
            };
            let Some(rel) = rel else {
                out.errors.push(CheckError::OutsideRepo {
                    name: f.name.clone(),
                    top: repo.top.clone(),
                });
                continue;
            };
            let is_added = |x: &Finding| added.get(&rel).is_some_and(|a| a.contains(x.line));
            found.findings.retain(is_added);
            found.notes.retain(is_added);
            repo_names.insert(f.name.clone(), rel);
        }
        if !found.findings.is_empty() || !found.notes.is_empty() {
            files.insert(
                f.name.clone(),
                FileChecked {
                    text,
                    findings: found.findings,
                    notes: found.notes,
                },
            );
        }
    }

    // Blame only the stragglers, one git call per file; staged lines are
    // not committed yet.
    if let Some((repo, _, staged)) = &window {
        // Files as HEAD has them are blamed at HEAD, which is cheap; when
        // git cannot say which those are, every file as the work tree has it.
        let dirty = if staged.is_none() && !files.is_empty() {
            repo.dirty().ok()
        } else {
            None
        };
        for (name, c) in files.iter_mut() {
            if staged.is_some() {
                for f in &mut c.findings {
                    f.origin = Some(Origin::Uncommitted);
                }
                continue;
            }
            let mut lines: Vec<usize> = c.findings.iter().map(|f| f.line).collect();
            lines.dedup();
            if lines.is_empty() {
                continue;
            }
            let rel = &repo_names[name];
            let at_head = dirty.as_ref().is_some_and(|d| !d.contains(rel));
            match repo.blame(rel, &lines, at_head) {
                Ok(origins) => {
                    for f in &mut c.findings {
                        f.origin = origins.get(&f.line).cloned();
                    }
                }
                Err(e) => out.errors.push(e.into()),
            }
        }
    }

    out.all = files.values().flat_map(|c| c.findings.clone()).collect();
    // A baseline accepts what the rule keeps: its notes would be the same
    // lines on every run.
    if baseline.is_none() {
        out.notes = files.values().flat_map(|c| c.notes.clone()).collect();
    }
    out.split = match &baseline {
        Some(b) => b.split(out.all.clone()),
        None => Split {
            new: out.all.clone(),
            ..Default::default()
        },
    };
    out.findings = std::mem::take(&mut out.split.new);

    if opts.fix {
        for (name, c) in &files {
            let chosen: Vec<&Finding> = out.findings.iter().filter(|f| &f.file == name).collect();
            match check::fix(name, &c.text, &chosen) {
                Ok(Some(new)) => diff::unified(name, &c.text, &new, &mut out.fix_patch),
                Ok(None) => {}
                Err(e) => out.errors.push(e.into()),
            }
        }
    }
    Ok(out)
}
