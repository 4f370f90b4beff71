//! `bvmig patch --series DIR`: a rewritten tree ([`Patched`]) turned into
//! the series' inputs (files named relative to the tree's top, with their
//! git modes, the helpers' addition, the rule's text, MAINTAINERS, the
//! author from git) and written as mails into a directory.

use std::fs;
use std::path::{Path, PathBuf};

use crate::engine::choice::{IDIOMS_RULE, IDIOMS_RULE_NAME, MODERN_RULE};
use crate::engine::helpers::HELPERS;
use crate::engine::placement;
use crate::engine::site::Site;
use crate::engine::tree::Patched;
use crate::file::IoError;
use crate::git;
use crate::mail::maintainers::Maintainers;
use crate::mail::{self, HelperAddition, Input, RuleText, SeriesOutError, SourceFile};
use crate::progress::Progress;
use crate::smpl::{DEFAULT_RULE, DEFAULT_RULE_NAME};

/// Where the series goes and how its mails are addressed.
#[derive(Debug, Clone)]
pub struct SeriesOptions {
    /// The directory the mails are written to.
    pub dir: PathBuf,
    /// `To:` of every mail.
    pub to: Vec<String>,
    /// `Cc:` of every mail, before those from MAINTAINERS.
    pub cc: Vec<String>,
    /// The word in brackets of the subjects (`--subject-prefix`).
    pub subject_prefix: String,
    /// `--rfc`: `RFC` before the subject prefix.
    pub rfc: bool,
    /// `-v N`: the reroll count, `PATCH vN` and files named `vN-...`.
    pub reroll_count: Option<String>,
    /// `--in-reply-to`: the message id every mail answers.
    pub in_reply_to: Option<String>,
    /// `--base`: the commit the series applies to, for its `base-commit:`
    /// line (by default HEAD, when the files are as HEAD has them).
    pub base: Option<String>,
    /// Leave the helpers the tree lacks out of the series.
    pub no_helpers: bool,
    /// The rule file given with `--rule`, whose text the messages quote.
    pub rule: Option<PathBuf>,
    /// The virtual rules defined (`-D`): which rules of the file ran.
    pub defines: Vec<String>,
}

/// Writes the series of `patched` (a rewrite of `paths`) into `opts.dir`;
/// the files written, the cover letter first, or none when there is
/// nothing to convert.
pub fn write_series(
    patched: &Patched,
    paths: &[PathBuf],
    opts: &SeriesOptions,
    progress: &dyn Progress,
) -> Result<Vec<PathBuf>, SeriesOutError> {
    let dir = &opts.dir;
    // Checked first: a mistake here should not cost the work below.
    if dir.is_dir() {
        let stale = fs::read_dir(dir)
            .map_err(IoError::at(dir))?
            .filter_map(Result::ok)
            .any(|e| e.path().extension().is_some_and(|x| x == "patch"));
        if stale {
            return Err(SeriesOutError::StalePatches(dir.clone()));
        }
    } else if let Ok(m) = fs::metadata(dir) {
        // create_dir_all would say only "File exists".
        return Err(IoError::new(
            dir,
            std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!(
                    "not a directory but {}",
                    crate::file::kind_name(m.file_type())
                ),
            ),
        )
        .into());
    }
    let rule = rule_text(patched, opts.rule.as_deref(), &opts.defines)?;
    let header = if opts.no_helpers {
        None
    } else {
        patched.bvec_header.clone()
    };
    let missing = &patched.missing;
    let left_out: Vec<String> = if header.is_none() {
        missing.iter().map(|h| h.name.to_string()).collect()
    } else {
        Vec::new()
    };
    let top = tree_top(paths);
    let header_canon = header.as_deref().and_then(|h| fs::canonicalize(h).ok());
    // The files with sites; on part of a kernel tree, the helpers' header
    // joins them though the walk did not cover it.
    let mut entries: Vec<Entry> = patched
        .walked
        .files
        .iter()
        .map(|f| Entry {
            name: &f.name,
            path: &f.path,
            old: &f.old,
            new: f.outcome.new_text.as_deref(),
            sites: &f.outcome.sites,
        })
        .collect();
    let header_walked = header_canon.as_ref().is_some_and(|h| {
        entries
            .iter()
            .any(|e| fs::canonicalize(e.path).is_ok_and(|c| &c == h))
    });
    if let (Some(h), Some(canon)) = (&header, &header_canon) {
        if !missing.is_empty() && !header_walked && crate::file::kernel_top(canon).is_some() {
            entries.push(Entry {
                name: placement::BVEC_HEADER,
                path: h,
                old: &[],
                new: None,
                sites: &[],
            });
        }
    }
    let mut files: Vec<SourceFile> = Vec::new();
    let mut helpers: Option<HelperAddition> = None;
    let mut header_seen = false;
    for Entry {
        name: f_name,
        path: f_path,
        old: f_old,
        new: f_new,
        sites,
    } in entries
    {
        let canon = fs::canonicalize(f_path).map_err(|e| IoError::new(f_name, e))?;
        let rel = canon
            .strip_prefix(&top)
            .map_err(|_| SeriesOutError::OutsideTop {
                name: f_name.to_string(),
                top: top.clone(),
            })?;
        let name = rel
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect::<Vec<_>>()
            .join("/");
        let mode = git_mode(f_path);
        let is_header = header_canon.as_ref() == Some(&canon);
        let (before, after) = if is_header && !missing.is_empty() {
            header_seen = true;
            let old = if f_old.is_empty() {
                crate::file::read(f_path).map_err(|e| IoError::new(f_name, e))?
            } else {
                f_old.to_vec()
            };
            let new = f_new.map_or_else(|| old.clone(), <[u8]>::to_vec);
            let unplaced = |why| SeriesOutError::Unplaced {
                name: f_name.to_string(),
                why,
            };
            let old_h = placement::insert(&old, missing).map_err(unplaced)?;
            let new_h = placement::insert(&new, missing).map_err(unplaced)?;
            helpers = Some(HelperAddition {
                name: name.clone(),
                before: old,
                after: old_h.clone(),
                mode,
                helpers: missing.iter().map(|h| h.name.to_string()).collect(),
            });
            (old_h, new_h)
        } else {
            match f_new {
                Some(new) => (f_old.to_vec(), new.to_vec()),
                None => (Vec::new(), Vec::new()),
            }
        };
        files.push(SourceFile {
            name,
            before,
            after,
            mode,
            sites,
        });
    }
    if let Some(h) = &header {
        if !missing.is_empty() && !header_seen {
            return Err(SeriesOutError::HeaderNotWalked(h.clone()));
        }
    }
    files.sort_by(|a, b| a.name.cmp(&b.name));
    if files.iter().all(|f| f.before == f.after) && helpers.is_none() {
        return Ok(Vec::new());
    }

    let maintainers_path = top.join("MAINTAINERS");
    // Anything at that name is read: a FIFO or a directory is an error
    // naming it, not a tree without maintainers.
    let maintainers = if maintainers_path.exists() {
        Some(Maintainers::read(&maintainers_path)?)
    } else {
        None
    };
    let (stamp, signoff) = mail::author(&top)?;
    let is_repo = git::top(&top).is_some_and(|t| t == top);
    let changed: Vec<&str> = files
        .iter()
        .filter(|f| f.before != f.after)
        .map(|f| f.name.as_str())
        .chain(helpers.as_ref().map(|h| h.name.as_str()))
        .collect();
    let base = match &opts.base {
        Some(rev) if !is_repo => return Err(SeriesOutError::BaseWithoutRepo(rev.clone())),
        Some(rev) => {
            let id = git::resolve_commit(&top, rev)?;
            if !git::same_as(&top, &id, &changed) {
                return Err(SeriesOutError::BaseDiffers(rev.clone()));
            }
            Some(id)
        }
        None if is_repo => git::head_if_clean(&top, &changed),
        None => None,
    };
    let n_tracked = if is_repo { git::tracked_files(&top) } else { 0 };
    let input = Input {
        files,
        helpers,
        helpers_left_out: left_out,
        rule,
        maintainers: maintainers.as_ref(),
        n_tracked,
    };
    let subject_prefix =
        mail::subject_prefix(&opts.subject_prefix, opts.rfc, opts.reroll_count.as_deref());
    let in_reply_to = opts.in_reply_to.as_deref().map(mail::format::message_id);
    let version = format!("bvmig {}", env!("CARGO_PKG_VERSION"));
    let mail_opts = mail::Options {
        to: &opts.to,
        cc: &opts.cc,
        subject_prefix: &subject_prefix,
        reroll: opts.reroll_count.as_deref(),
        in_reply_to: in_reply_to.as_deref(),
        stamp: &stamp,
        signoff: signoff.as_deref(),
        base: base.as_deref(),
        version: &version,
    };
    let n_groups =
        mail::group(&input.files, input.maintainers).len() + usize::from(input.helpers.is_some());
    progress.begin("reading the history", Some(n_groups));
    let mut history = |names: &[&str]| {
        progress.step();
        if is_repo {
            git::log_commits(&top, names)
        } else {
            Vec::new()
        }
    };
    let mails = mail::make(&input, &mail_opts, &mut history);
    progress.end();

    fs::create_dir_all(dir).map_err(IoError::at(dir))?;
    let mut written = Vec::new();
    for m in &mails {
        let path = dir.join(&m.name);
        fs::write(&path, &m.bytes).map_err(IoError::at(&path))?;
        written.push(path);
    }
    Ok(written)
}

/// A file of the series before it is named relative to the top.
struct Entry<'a> {
    name: &'a str,
    path: &'a Path,
    old: &'a [u8],
    new: Option<&'a [u8]>,
    sites: &'a [Site],
}

/// The rule's text and calls, as the series' messages quote them.
fn rule_text(
    patched: &Patched,
    given: Option<&Path>,
    defines: &[String],
) -> Result<RuleText, SeriesOutError> {
    let text = match given {
        Some(p) => crate::file::read_to_string(p).map_err(IoError::at(p))?,
        None if patched.rule_path == DEFAULT_RULE_NAME => DEFAULT_RULE.to_string(),
        None if patched.rule_path == IDIOMS_RULE_NAME => IDIOMS_RULE.to_string(),
        None => MODERN_RULE.to_string(),
    };
    let mut calls: Vec<String> = Vec::new();
    for c in &patched.emitted {
        if !calls.contains(&c.name) {
            calls.push(c.name.clone());
        }
    }
    // The helpers bvmig knows in their own order (the read first), then
    // the others in the rule's.
    let rank = |c: &String| {
        HELPERS
            .iter()
            .position(|h| h.name == c)
            .unwrap_or(HELPERS.len())
    };
    calls.sort_by_key(rank);
    Ok(RuleText {
        name: patched.rule_name.clone(),
        runs: mail::text::lines_that_run(&text, defines),
        text,
        calls,
        fields: patched.tracked.clone().unwrap_or_default(),
    })
}

/// The directory the series' paths are relative to: the git work tree's
/// top, else the Linux tree's top, else the kernel-like tree's (where
/// include/linux/bvec.h is), else the first path's directory.
fn tree_top(paths: &[PathBuf]) -> PathBuf {
    let first = &paths[0];
    let dir = if first.is_dir() {
        first.clone()
    } else {
        first
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
    };
    if let Some(top) = git::top(&dir) {
        return top;
    }
    if let Some(top) = crate::file::kernel_top(&dir) {
        return top;
    }
    if let Some(root) = placement::bvec_header(paths)
        .as_deref()
        .and_then(|h| h.ancestors().nth(3))
        .and_then(|r| fs::canonicalize(r).ok())
    {
        return root;
    }
    fs::canonicalize(&dir).unwrap_or(dir)
}

/// git's mode of the file at `path`.
fn git_mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    match fs::metadata(path) {
        Ok(m) if m.permissions().mode() & 0o111 != 0 => 0o100755,
        _ => 0o100644,
    }
}
