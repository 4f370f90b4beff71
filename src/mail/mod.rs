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
use grouping::Group;
use text::{
    call_list, kinds_line, left_line, left_lines, new_calls, place, plural, rule_block, why, wrap,
};

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
    /// `--base` outside a git repository.
    #[error("--base {0}: the tree is not a git repository")]
    BaseWithoutRepo(String),
    /// The files the series changes are not as `--base` has them.
    #[error("--base {0}: the files the series changes differ from that commit; the series would not apply to it")]
    BaseDiffers(String),
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
    /// Per line of the text: whether it belongs to a rule that ran (with
    /// the virtual rules defined for the run), or comes before the first
    /// rule.
    pub runs: Vec<bool>,
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
    /// How many files the tree's git repository tracks (0 without one),
    /// to tell imports in the history from commits of a subsystem.
    pub n_tracked: usize,
}

/// How the mails are addressed and signed.
#[derive(Debug, Clone)]
pub struct Options<'a> {
    /// `To:` of every mail.
    pub to: &'a [String],
    /// `Cc:` of every mail, before those from MAINTAINERS.
    pub cc: &'a [String],
    /// The words in brackets before the numbers (`PATCH`, `RFC PATCH`,
    /// `PATCH v2`; see [`subject_prefix`]).
    pub subject_prefix: &'a str,
    /// The reroll count (`2` for `-v 2`), which names the files `v2-...`.
    pub reroll: Option<&'a str>,
    /// The message every mail answers (`<id@host>`), as `--in-reply-to`.
    pub in_reply_to: Option<&'a str>,
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
    /// `block:`, before areas are added to prefixes that repeat.
    prefix: String,
    /// The subject after the prefix (`use bvec_page() helper`).
    rest: String,
    /// The files it changes.
    names: Vec<String>,
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
    history: &mut dyn FnMut(&[&str]) -> Vec<git::Commit>,
) -> Vec<OutFile> {
    let groups = group(&input.files, input.maintainers);
    let mut planned: Vec<Planned> = Vec::new();
    let trailer = opts
        .signoff
        .map(|s| format!("\nSigned-off-by: {s}\n"))
        .unwrap_or_default();

    if let Some(h) = &input.helpers {
        let subjects = history(&[h.name.as_str()]);
        let prefix = prefix_from_history(&subjects, input.n_tracked)
            .unwrap_or_else(|| prefix_from_paths(&[&h.name]));
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
            rest: format!("add {list} {what}"),
            names: vec![h.name.clone()],
            subject: String::new(),
            prefix,
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
        let prefix = prefix_from_history(&subjects, input.n_tracked)
            .unwrap_or_else(|| prefix_from_paths(&names));
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
        let rest = match used.len() {
            0 => format!("convert {} accesses", input.rule.fields.join(", ")),
            1 => format!("use {} helper", call_list(&used)),
            _ => format!("use {} helpers", call_list(&used)),
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
                for piece in left_line(l) {
                    let _ = writeln!(body, "  {piece}");
                }
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
            prefix,
            rest,
            names: names.iter().map(|n| n.to_string()).collect(),
            subject: String::new(),
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
    name_subjects(&mut planned, &groups);
    let n = planned.len();
    let mut out = Vec::with_capacity(n + 1);
    let cover = cover_letter(input, opts, &groups, &planned);
    out.push(cover);
    for (i, p) in planned.iter().enumerate() {
        let subject = format!(
            "[{} {}] {}",
            opts.subject_prefix,
            numbered(i + 1, n),
            p.subject
        );
        let cc = merge_addrs(opts.cc, &p.cc, opts.to);
        let bytes = format::render(&Mail {
            stamp: opts.stamp,
            subject: &subject,
            in_reply_to: opts.in_reply_to,
            to: opts.to,
            cc: &cc,
            message: &p.body,
            diff: &p.diff,
            signature: opts.version,
        });
        out.push(OutFile {
            name: format::file_name(opts.reroll, i + 1, &p.subject),
            subject: p.subject.clone(),
            bytes,
        });
    }
    out
}

/// The words in brackets as `git format-patch` makes them from
/// `--subject-prefix`, `--rfc` and `-v N`: `RFC PATCH v2`.
pub fn subject_prefix(prefix: &str, rfc: bool, reroll: Option<&str>) -> String {
    let mut out = if rfc {
        format!("RFC {prefix}")
    } else {
        prefix.to_string()
    };
    if let Some(r) = reroll {
        out.push_str(&format!(" v{r}"));
    }
    out
}

/// `03/38`: the number padded to the width of the total, as format-patch
/// numbers its subjects.
pub(crate) fn numbered(i: usize, n: usize) -> String {
    let width = n.to_string().len();
    format!("{i:0width$}/{n}")
}

/// Makes each patch's subject, `prefix rest`, so that no two are the
/// same: patches of groups that share a prefix get an area after it
/// (`block: blk-merge: use ...`, see [`subject::areas`]), else the title
/// of their group; a subject that still repeats gets its ordinal.
fn name_subjects(planned: &mut [Planned], groups: &[Group]) {
    let mut prefixes: Vec<&str> = Vec::new();
    for p in planned.iter().filter(|p| p.group.is_some()) {
        if !prefixes.contains(&p.prefix.as_str()) {
            prefixes.push(&p.prefix);
        }
    }
    let mut area: Vec<Option<String>> = vec![None; planned.len()];
    for prefix in prefixes {
        let idx: Vec<usize> = (0..planned.len())
            .filter(|&i| planned[i].group.is_some() && planned[i].prefix == prefix)
            .collect();
        if idx.len() < 2 {
            continue;
        }
        let names: Vec<Vec<&str>> = idx
            .iter()
            .map(|&i| planned[i].names.iter().map(String::as_str).collect())
            .collect();
        let found = subject::areas(prefix, &names);
        let mut bare = false;
        for (k, &i) in idx.iter().enumerate() {
            area[i] = match &found[k] {
                Some(a) => Some(a.clone()),
                // One patch may keep the bare prefix; the others take
                // their group's title.
                None if !bare => {
                    bare = true;
                    None
                }
                None => planned[i].group.map(|g| groups[g].title.to_lowercase()),
            };
        }
    }
    let mut seen: Vec<String> = Vec::new();
    for (i, p) in planned.iter_mut().enumerate() {
        let mut subject = match &area[i] {
            Some(a) => format!("{} {a}: {}", p.prefix, p.rest),
            None => format!("{} {}", p.prefix, p.rest),
        };
        if seen.contains(&subject) {
            subject = format!("{subject} (part {})", i + 1);
        }
        seen.push(subject.clone());
        p.subject = subject;
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_prefixes_as_format_patch_writes_them() {
        // git format-patch pads to the total's width: [PATCH 03/38].
        assert_eq!(numbered(3, 38), "03/38");
        assert_eq!(numbered(0, 38), "00/38");
        assert_eq!(numbered(38, 38), "38/38");
        assert_eq!(numbered(1, 6), "1/6");
        assert_eq!(numbered(7, 100), "007/100");
        assert_eq!(subject_prefix("PATCH", false, None), "PATCH");
        assert_eq!(subject_prefix("PATCH", true, Some("2")), "RFC PATCH v2");
        assert_eq!(
            subject_prefix("PATCH net-next", false, Some("3")),
            "PATCH net-next v3"
        );
    }
}
