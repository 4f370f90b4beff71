//! The conversion as a patch series for the mailing lists (`bvmig patch
//! --series DIR`): a cover letter, the patch that adds the helpers to
//! `include/linux/bvec.h` when the run adds them, then one patch per
//! subsystem, each a mail in `git format-patch` form ([`crate::mail::format`]).
//!
//! Files are grouped by the MAINTAINERS entry that owns them (the most
//! specific, see [`crate::mail::maintainers`]); files that no entry owns go by
//! their first two directories (`drivers/md`). Every patch after the first
//! touches only its own files, so the series applies in order, builds after
//! the first patch, and its subsystem patches can be taken by different
//! trees. Rewrites inside `include/linux/bvec.h` go with that file's
//! subsystem, on top of the helpers' patch.
//!
//! A patch's subject prefix is the most common `prefix:` in the git
//! history of its files (`block:`), else it is taken from their path
//! (`drivers/md/bcache/btree.c` gives `bcache:`).
//!
//! **Invariant:** the series applied in order gives exactly the files that
//! `bvmig patch --in-place` writes.

pub mod format;
pub mod maintainers;
pub mod write;

mod cover;
mod grouping;
mod subject;
mod text;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use crate::diff;
use crate::engine::site::{Site, Status};
use crate::file::IoError;
use crate::git::{self, GitError};
use crate::mail::format::{Mail, Stamp};
use crate::mail::maintainers::Maintainers;

use cover::cover_letter;
use text::{call_list, kinds_line, left_lines, new_calls, place, plural, rule_block, why, wrap};

pub use grouping::group;
pub use subject::{prefix_from_history, prefix_from_paths};

/// A problem making the series.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SeriesOutError {
    /// git failed or does not know who the author is.
    #[error(transparent)]
    Git(#[from] GitError),
    /// git's identity did not parse.
    #[error(transparent)]
    Mail(#[from] format::MailError),
    /// The tree's MAINTAINERS could not be read.
    #[error(transparent)]
    Maintainers(#[from] maintainers::MaintainersError),
    /// A file or directory could not be read or written.
    #[error(transparent)]
    Io(#[from] IoError),
    /// The output directory holds patches already.
    #[error("{}: holds .patch files already, which `git am {}/*.patch` would apply too; remove them or choose another directory", .0.display(), .0.display())]
    StalePatches(PathBuf),
    /// A file lies outside the tree the series' paths are relative to.
    #[error("{name}: outside the tree at {}, which the series' paths are relative to", top.display())]
    OutsideTop {
        /// The file, as reports name it.
        name: String,
        /// The tree's top.
        top: PathBuf,
    },
    /// The helpers' header has no `struct bio_vec` to put them after
    /// where they would be compiled.
    #[error("{name}: {why}")]
    Unplaced {
        /// The header, as reports name it.
        name: String,
        /// Why.
        why: crate::engine::placement::Unplaced,
    },
    /// The helpers go into a header that the walk did not cover.
    #[error("{}: the helpers go here, but it is not among the files walked; run on the whole tree or pass --no-helpers", .0.display())]
    HeaderNotWalked(PathBuf),
}

/// One file with sites, named relative to the tree's top.
#[derive(Debug, Clone)]
pub struct SourceFile<'a> {
    /// The path relative to the top, `/` separators.
    pub name: String,
    /// Its text before this file's subsystem patch (for
    /// `include/linux/bvec.h`, with the helpers already added).
    pub before: Vec<u8>,
    /// Its text after it (equal to `before` when nothing changes).
    pub after: Vec<u8>,
    /// Its git mode (0o100644, 0o100755).
    pub mode: u32,
    /// Its sites, with lines as in the tree before the series.
    pub sites: &'a [Site],
}

/// The helpers added to a header, the series' first patch.
#[derive(Debug, Clone)]
pub struct HelperAddition {
    /// The header's path relative to the top.
    pub name: String,
    /// Its text in the tree.
    pub before: Vec<u8>,
    /// Its text with the helpers.
    pub after: Vec<u8>,
    /// Its git mode.
    pub mode: u32,
    /// The helpers' names.
    pub helpers: Vec<String>,
}

/// The rule a run used, as the messages quote it.
#[derive(Debug, Clone)]
pub struct RuleText {
    /// Its name (`rules/bv_page.cocci (built in)`).
    pub name: String,
    /// Its text.
    pub text: String,
    /// The functions its `+` code calls, in order.
    pub calls: Vec<String>,
    /// The fields it tracks (`bv_page`).
    pub fields: Vec<String>,
}

/// Everything a series is made of.
#[derive(Debug, Clone)]
pub struct Input<'a> {
    /// Every file with sites, sorted by name.
    pub files: Vec<SourceFile<'a>>,
    /// The helpers' patch, when the run adds helpers.
    pub helpers: Option<HelperAddition>,
    /// Helpers the tree lacks that the series does not add (`--no-helpers`).
    pub helpers_left_out: Vec<String>,
    /// The rule.
    pub rule: RuleText,
    /// The tree's MAINTAINERS, when it has one.
    pub maintainers: Option<&'a Maintainers>,
}

/// How the mails are addressed and signed.
#[derive(Debug, Clone)]
pub struct Options<'a> {
    /// `To:` of every mail.
    pub to: &'a [String],
    /// `Cc:` of every mail, before those from MAINTAINERS.
    pub cc: &'a [String],
    /// The word in brackets (`PATCH`, `RFC PATCH`, `PATCH v2`).
    pub subject_prefix: &'a str,
    /// Author and date.
    pub stamp: &'a Stamp,
    /// `Signed-off-by:` value, when git has a user name and address.
    pub signoff: Option<&'a str>,
    /// The commit the series applies to, when known.
    pub base: Option<&'a str>,
    /// bvmig's name and version, for the signature.
    pub version: &'a str,
}

/// One file of the series, ready to write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutFile {
    /// `0001-block-use-bvec_page-helper.patch`.
    pub name: String,
    /// The subject without `[PATCH n/m]`.
    pub subject: String,
    /// The mail.
    pub bytes: Vec<u8>,
}

/// A planned patch before numbering.
struct Planned {
    subject: String,
    body: String,
    diff: Vec<u8>,
    cc: Vec<String>,
    /// The helpers it adds or starts to use.
    calls: Vec<String>,
    /// The group it converts (`None` for the helpers).
    group: Option<usize>,
}

/// Makes the series: the cover letter first, then the helpers' patch, then
/// one patch per group with changes. `history` gives the subjects of the
/// commits that touched some files, newest first (empty without history).
pub fn make(
    input: &Input,
    opts: &Options,
    history: &mut dyn FnMut(&[&str]) -> Vec<String>,
) -> Vec<OutFile> {
    let groups = group(&input.files, input.maintainers);
    let mut planned: Vec<Planned> = Vec::new();
    let trailer = opts
        .signoff
        .map(|s| format!("\nSigned-off-by: {s}\n"))
        .unwrap_or_default();

    if let Some(h) = &input.helpers {
        let subjects = history(&[h.name.as_str()]);
        let prefix =
            prefix_from_history(&subjects).unwrap_or_else(|| prefix_from_paths(&[&h.name]));
        let list = call_list(&h.helpers);
        let what = if h.helpers.len() == 1 {
            "helper"
        } else {
            "helpers"
        };
        let mut body = wrap(&format!(
            "Add {list} to {}, to read and write the page of a struct bio_vec. The patches that follow convert the accesses of the {} field to {}, one subsystem at a time.",
            h.name,
            input.rule.fields.join(", "),
            if h.helpers.len() == 1 { "it" } else { "them" },
        ));
        body.push('\n');
        body.push_str(&wrap(&why(&input.rule.fields, &h.helpers)));
        body.push_str(&trailer);
        let mut diff = Vec::new();
        diff::unified(&h.name, &h.before, &h.after, &mut diff);
        planned.push(Planned {
            subject: format!("{prefix} add {list} {what}"),
            body,
            diff: format::with_index(&diff, &h.before, &h.after, h.mode),
            cc: input
                .maintainers
                .map(|m| m.cc(&[h.name.as_str()]))
                .unwrap_or_default(),
            calls: h.helpers.clone(),
            group: None,
        });
    }

    // Groups with changes, in the order of their first changed file.
    let mut order: Vec<(String, usize)> = groups
        .iter()
        .enumerate()
        .filter_map(|(gi, g)| {
            g.files
                .iter()
                .map(|&i| &input.files[i])
                .find(|f| f.before != f.after)
                .map(|f| (f.name.clone(), gi))
        })
        .collect();
    order.sort();
    for (_, gi) in order {
        let g = &groups[gi];
        let files: Vec<&SourceFile> = g.files.iter().map(|&i| &input.files[i]).collect();
        let changed: Vec<&SourceFile> = files
            .iter()
            .copied()
            .filter(|f| f.before != f.after)
            .collect();
        let names: Vec<&str> = changed.iter().map(|f| f.name.as_str()).collect();
        let subjects = history(&names);
        let prefix = prefix_from_history(&subjects).unwrap_or_else(|| prefix_from_paths(&names));
        let used: Vec<String> = input
            .rule
            .calls
            .iter()
            .filter(|c| {
                changed
                    .iter()
                    .map(|f| new_calls(c, &f.before, &f.after))
                    .sum::<isize>()
                    > 0
            })
            .cloned()
            .collect();
        let subject = match used.len() {
            0 => format!("{prefix} convert {} accesses", input.rule.fields.join(", ")),
            1 => format!("{prefix} use {} helper", call_list(&used)),
            _ => format!("{prefix} use {} helpers", call_list(&used)),
        };
        let rewritten: Vec<&Site> = files
            .iter()
            .flat_map(|f| f.sites.iter())
            .filter(|s| s.status == Status::Rewritten)
            .collect();
        let fields = input.rule.fields.join(", ");
        let mut body = if used.is_empty() {
            wrap(&format!(
                "Convert the accesses of {fields} in {}.",
                place(&names)
            ))
        } else {
            wrap(&format!(
                "Access {} through {} instead of the field itself, in {}.",
                if fields == "bv_page" {
                    "the page of a struct bio_vec".to_string()
                } else {
                    fields.clone()
                },
                call_list(&used),
                place(&names)
            ))
        };
        body.push('\n');
        body.push_str(&wrap(&why(&input.rule.fields, &used)));
        body.push('\n');
        body.push_str(&wrap(&format!(
            "This rewrites {} ({}) in {}.",
            plural(rewritten.len(), "access", "accesses"),
            kinds_line(&rewritten),
            plural(changed.len(), "file", "files"),
        )));
        let left = left_lines(&files);
        if !left.is_empty() {
            body.push_str(&wrap(&format!(
                "{} left as {} for a human, with the reason (lines as in the tree before the series):",
                if left.len() == 1 { "One access is" } else { "These accesses are" },
                if left.len() == 1 { "it is," } else { "they are," },
            )));
            body.push('\n');
            for l in &left {
                let _ = writeln!(body, "  {l}");
            }
        }
        body.push('\n');
        body.push_str(&rule_block(&input.rule, opts.version));
        body.push_str(&trailer);
        let mut diff = Vec::new();
        for f in &changed {
            let mut one = Vec::new();
            diff::unified(&f.name, &f.before, &f.after, &mut one);
            diff.extend(format::with_index(&one, &f.before, &f.after, f.mode));
        }
        let cc = input.maintainers.map(|m| m.cc(&names)).unwrap_or_default();
        planned.push(Planned {
            subject,
            body,
            diff,
            cc,
            calls: used,
            group: Some(gi),
        });
    }

    if planned.is_empty() {
        return Vec::new();
    }
    let n = planned.len();
    let mut out = Vec::with_capacity(n + 1);
    let cover = cover_letter(input, opts, &groups, &planned);
    out.push(cover);
    for (i, p) in planned.iter().enumerate() {
        let subject = format!("[{} {}/{n}] {}", opts.subject_prefix, i + 1, p.subject);
        let cc = merge_addrs(opts.cc, &p.cc, opts.to);
        let bytes = format::render(&Mail {
            stamp: opts.stamp,
            subject: &subject,
            to: opts.to,
            cc: &cc,
            message: &p.body,
            diff: &p.diff,
            signature: opts.version,
        });
        out.push(OutFile {
            name: format::file_name(i + 1, &p.subject),
            subject: p.subject.clone(),
            bytes,
        });
    }
    out
}

/// `first` then `more`, each address once, leaving out those in `to`.
fn merge_addrs(first: &[String], more: &[String], to: &[String]) -> Vec<String> {
    let key = |a: &str| {
        let inner = match (a.rfind('<'), a.rfind('>')) {
            (Some(x), Some(y)) if x < y => &a[x + 1..y],
            _ => a,
        };
        inner.trim().to_lowercase()
    };
    let mut seen: Vec<String> = to.iter().map(|a| key(a)).collect();
    let mut out = Vec::new();
    for a in first.iter().chain(more) {
        let k = key(a);
        if !seen.contains(&k) {
            seen.push(k);
            out.push(a.clone());
        }
    }
    out
}

/// The author and date git would give a commit made now in `dir`, and the
/// `Signed-off-by:` value when `user.name` and `user.email` are both set.
pub fn author(dir: &Path) -> Result<(Stamp, Option<String>), SeriesOutError> {
    let (ident, signoff) = git::author_ident(dir)?;
    Ok((Stamp::from_git_ident(&ident)?, signoff))
}
