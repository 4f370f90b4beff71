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

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use crate::diff;
use crate::engine::site::{Kind, Site, Status};
use crate::git::{self, GitError};
use crate::mail::format::{Mail, Stamp};
use crate::mail::maintainers::Maintainers;

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

/// The files of one subsystem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    /// The MAINTAINERS entry's title, or the directory.
    pub title: String,
    /// True when a MAINTAINERS entry owns the files.
    pub from_maintainers: bool,
    /// Indices into [`Input::files`].
    pub files: Vec<usize>,
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

/// Groups `files` by owner: the MAINTAINERS entry, else the first two
/// directories. Groups are in the order of their first file.
pub fn group(files: &[SourceFile], maintainers: Option<&Maintainers>) -> Vec<Group> {
    let mut groups: Vec<Group> = Vec::new();
    let mut key_of: BTreeMap<(bool, String), usize> = BTreeMap::new();
    for (i, f) in files.iter().enumerate() {
        let owner = maintainers.and_then(|m| m.owner(&f.name));
        let (from_maintainers, key, title) = match owner {
            Some(m) => (true, m.index.to_string(), m.entry.title.clone()),
            None => {
                let dir = top_dirs(&f.name);
                (false, dir.clone(), dir)
            }
        };
        let g = *key_of.entry((from_maintainers, key)).or_insert_with(|| {
            groups.push(Group {
                title,
                from_maintainers,
                files: Vec::new(),
            });
            groups.len() - 1
        });
        groups[g].files.push(i);
    }
    groups
}

/// The first two directories of `name` (`drivers/md` for
/// `drivers/md/bcache/btree.c`; `block` for `block/bio.c`; `.` for a file
/// at the top).
fn top_dirs(name: &str) -> String {
    let comps: Vec<&str> = name.split('/').collect();
    let dirs = &comps[..comps.len() - 1];
    if dirs.is_empty() {
        ".".to_string()
    } else {
        dirs[..dirs.len().min(2)].join("/")
    }
}

/// The `prefix:` of a subject (`block: fix` gives `block:`), if it has one
/// that names a subsystem: not a merge, a revert or a treewide change.
fn prefix_of(subject: &str) -> Option<&str> {
    let (p, _) = subject.split_once(": ")?;
    let p = p.trim();
    let bad = p.is_empty()
        || p.len() > 40
        || p.contains(['"', '\'', '[', ']', '(', ')'])
        || p.starts_with("Merge ")
        || p.starts_with("Revert ")
        || p.eq_ignore_ascii_case("treewide");
    (!bad).then_some(p)
}

/// The most common prefix of `subjects` (newest first); a tie goes to the
/// newest.
pub fn prefix_from_history(subjects: &[String]) -> Option<String> {
    let mut counts: Vec<(&str, usize)> = Vec::new();
    for s in subjects {
        if let Some(p) = prefix_of(s) {
            match counts.iter_mut().find(|(q, _)| *q == p) {
                Some((_, n)) => *n += 1,
                None => counts.push((p, 1)),
            }
        }
    }
    // max_by_key keeps the last of equals; scan in reverse so that the
    // first seen (the newest) wins ties.
    counts
        .iter()
        .rev()
        .max_by_key(|(_, n)| *n)
        .map(|(p, _)| format!("{p}:"))
}

/// Directories that name no subsystem: a file below one is named by a
/// directory further up, or by itself.
const GENERIC_DIRS: &[&str] = &[
    "include",
    "linux",
    "uapi",
    "asm-generic",
    "drivers",
    "lib",
    "arch",
    "host",
    "client",
    "core",
    "common",
];

/// The prefix for files without history: per file, its innermost
/// directory that names a subsystem (`drivers/md/bcache/btree.c` gives
/// `bcache`, `drivers/nvme/host/pci.c` gives `nvme`; `block` names one only
/// at the top), else the file's own stem (`include/linux/bvec.h` gives
/// `bvec`, `drivers/block/brd.c` gives `brd`); the most common of them.
pub fn prefix_from_paths(names: &[&str]) -> String {
    let mut counts: Vec<(String, usize)> = Vec::new();
    for name in names {
        let comps: Vec<&str> = name.split('/').collect();
        let (file, dirs) = comps.split_last().expect("split gives one part at least");
        let named = dirs
            .iter()
            .enumerate()
            .rev()
            .find(|&(depth, d)| !GENERIC_DIRS.contains(d) && (*d != "block" || depth == 0));
        let p = match named {
            Some((_, d)) => d.to_string(),
            None => file.split('.').next().unwrap_or(file).to_string(),
        };
        match counts.iter_mut().find(|(q, _)| *q == p) {
            Some((_, n)) => *n += 1,
            None => counts.push((p, 1)),
        }
    }
    let best = counts.iter().rev().max_by_key(|(_, n)| *n);
    format!("{}:", best.map_or("bvec", |(p, _)| p.as_str()))
}

/// `a()`, `a() and b()`, `a(), b() and c()`.
fn call_list(names: &[String]) -> String {
    let calls: Vec<String> = names.iter().map(|n| format!("{n}()")).collect();
    match calls.len() {
        0 => String::new(),
        1 => calls[0].clone(),
        n => format!("{} and {}", calls[..n - 1].join(", "), calls[n - 1]),
    }
}

/// How many more calls of `name` `after` has than `before`.
fn new_calls(name: &str, before: &[u8], after: &[u8]) -> isize {
    let re = regex::bytes::Regex::new(&format!(r"\b{}\s*\(", regex::escape(name)))
        .expect("an escaped name is a valid regex");
    re.find_iter(after).count() as isize - re.find_iter(before).count() as isize
}

/// Wraps `text` at 72 columns, as commit messages are, never inside a
/// word (a path such as `rules/bv_page-modern.cocci` stays whole).
fn wrap(text: &str) -> String {
    let opts = textwrap::Options::new(72)
        .word_splitter(textwrap::WordSplitter::NoHyphenation)
        .break_words(false);
    let mut out = String::new();
    for line in textwrap::wrap(text, opts) {
        out.push_str(&line);
        out.push('\n');
    }
    out
}

/// Why the series exists, for the tracked fields.
fn why(fields: &[String], calls: &[String]) -> String {
    if fields.iter().any(|f| f == "bv_page") {
        format!(
            "Once every access of the field goes through {}, include/linux/bvec.h alone knows how a bio_vec refers to its memory: a step towards bio_vecs that describe memory without a struct page, such as persistent memory without a memmap. The helpers are static inline functions that read and write the field, so there is no functional change.",
            if calls.is_empty() { "helpers".to_string() } else { call_list(calls) }
        )
    } else {
        "The semantic patch below says what changes.".to_string()
    }
}

/// `9 read, 3 write`.
fn kinds_line(sites: &[&Site]) -> String {
    let mut by_kind: BTreeMap<Kind, usize> = BTreeMap::new();
    for s in sites {
        *by_kind.entry(s.kind).or_default() += 1;
    }
    by_kind
        .iter()
        .map(|(k, n)| format!("{n} {k}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// `file:line:col: kind: reason` lines for the sites left in `files`.
fn left_lines(files: &[&SourceFile]) -> Vec<String> {
    let mut out = Vec::new();
    for f in files {
        for s in f.sites {
            if let Status::Left(why) = &s.status {
                out.push(format!(
                    "{}:{}:{}: {}: {why}",
                    f.name, s.line, s.col, s.kind
                ));
            }
        }
    }
    out
}

/// The rule's text, indented, after the line that introduces it.
fn rule_block(rule: &RuleText, version: &str) -> String {
    let mut out = wrap(&format!(
        "Generated with {version} and the following semantic patch, {}:",
        rule.name
    ));
    out.push('\n');
    for line in rule.text.lines() {
        let line = line.trim_end();
        if line.is_empty() {
            out.push('\n');
        } else {
            let _ = writeln!(out, "    {line}");
        }
    }
    out
}

/// Where the files are, for a sentence: one file's path, or their
/// directories (up to four), or a count.
fn place(names: &[&str]) -> String {
    if names.len() == 1 {
        return names[0].to_string();
    }
    let mut dirs: Vec<String> = Vec::new();
    for n in names {
        let d = match n.rsplit_once('/') {
            Some((d, _)) => format!("{d}/"),
            None => "the top directory".to_string(),
        };
        if !dirs.contains(&d) {
            dirs.push(d);
        }
    }
    match dirs.len() {
        1 => dirs.remove(0),
        2..=4 => {
            let last = dirs.pop().expect("two or more");
            format!("{} and {last}", dirs.join(", "))
        }
        _ => format!("{} files", names.len()),
    }
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

/// The widest subsystem title in the cover letter's table.
const TITLE_MAX: usize = 36;

fn cover_letter(input: &Input, opts: &Options, groups: &[Group], planned: &[Planned]) -> OutFile {
    let n = planned.len();
    let calls: Vec<String> = input
        .rule
        .calls
        .iter()
        .filter(|c| planned.iter().any(|p| p.calls.contains(c)))
        .cloned()
        .collect();
    let fields = input.rule.fields.join(", ");
    let subject = if calls.is_empty() {
        format!("Convert the accesses of {fields}")
    } else {
        format!("Use {} for struct bio_vec's page", call_list(&calls))
    };
    let mut body = wrap(&if calls.is_empty() {
        format!("This series converts the accesses of {fields} with the semantic patch each patch quotes.")
    } else {
        format!(
            "This series routes the accesses of struct bio_vec's {fields} field through {}.",
            call_list(&calls)
        )
    });
    body.push('\n');
    body.push_str(&wrap(&why(&input.rule.fields, &calls)));
    body.push('\n');
    let n_groups = planned.iter().filter(|p| p.group.is_some()).count();
    let grouped_by = if input.maintainers.is_some() {
        "MAINTAINERS groups"
    } else {
        "their directories group"
    };
    if input.helpers.is_some() {
        body.push_str(&wrap(&format!(
            "Patch 1 adds the helpers to {}; each of the other {} converts one subsystem, as {} the files, and builds on top of patch 1 alone, so they can go through different trees.",
            input.helpers.as_ref().map_or("", |h| h.name.as_str()),
            plural(n_groups, "patch", "patches"),
            grouped_by,
        )));
    } else {
        body.push_str(&wrap(&format!(
            "Each patch converts one subsystem, as {} the files; they do not depend on each other.",
            grouped_by
        )));
    }
    if !input.helpers_left_out.is_empty() {
        body.push('\n');
        body.push_str(&wrap(&format!(
            "The tree lacks {}, which this series does not add: it does not build as it is.",
            call_list(&input.helpers_left_out)
        )));
    }

    // Sites per subsystem.
    body.push('\n');
    body.push_str("Sites per subsystem:\n\n");
    struct Row {
        order: Option<usize>,
        patch: String,
        title: String,
        files: usize,
        rewritten: usize,
        left: usize,
    }
    let mut rows: Vec<Row> = Vec::new();
    for (gi, g) in groups.iter().enumerate() {
        let files: Vec<&SourceFile> = g.files.iter().map(|&i| &input.files[i]).collect();
        let sites = files.iter().flat_map(|f| f.sites.iter());
        let rewritten = sites
            .clone()
            .filter(|s| s.status == Status::Rewritten)
            .count();
        let left = sites.filter(|s| s.status != Status::Rewritten).count();
        let order = planned.iter().position(|p| p.group == Some(gi));
        let patch = order.map_or("-".to_string(), |i| format!("{}/{n}", i + 1));
        let title = if g.from_maintainers {
            g.title.clone()
        } else {
            format!("{} (no MAINTAINERS entry)", g.title)
        };
        // Long MAINTAINERS titles are cut so that rows fit a mail.
        let title = if title.chars().count() > TITLE_MAX {
            let cut: String = title.chars().take(TITLE_MAX - 3).collect();
            format!("{}...", cut.trim_end())
        } else {
            title
        };
        rows.push(Row {
            order,
            patch,
            title,
            files: files.len(),
            rewritten,
            left,
        });
    }
    // Patches in order, then the subsystems without one.
    rows.sort_by_key(|r| (r.order.is_none(), r.order));
    let total = Row {
        order: None,
        patch: String::new(),
        title: "total".to_string(),
        files: rows.iter().map(|r| r.files).sum(),
        rewritten: rows.iter().map(|r| r.rewritten).sum(),
        left: rows.iter().map(|r| r.left).sum(),
    };
    let title_w = rows
        .iter()
        .map(|r| r.title.chars().count())
        .chain([9])
        .max()
        .unwrap_or(9);
    let _ = writeln!(
        body,
        "  {:<6} {:<title_w$}  {:>5}  {:>9}  {:>4}",
        "patch", "subsystem", "files", "rewritten", "left"
    );
    for r in rows.iter().chain([&total]) {
        let _ = writeln!(
            body,
            "  {:<6} {:<title_w$}  {:>5}  {:>9}  {:>4}",
            r.patch, r.title, r.files, r.rewritten, r.left
        );
    }

    let all: Vec<&SourceFile> = input.files.iter().collect();
    let left = left_lines(&all);
    body.push('\n');
    if left.is_empty() {
        body.push_str("No access is left for a human.\n");
    } else {
        body.push_str(&wrap(&format!(
            "Left for a human ({}), with the reason (lines as in the tree before the series):",
            left.len()
        )));
        body.push('\n');
        for l in &left {
            let _ = writeln!(body, "  {l}");
        }
    }
    body.push('\n');
    body.push_str(&wrap(&format!(
        "Generated with {} and the semantic patch {}, which each patch quotes.",
        opts.version, input.rule.name
    )));

    // The shortlog and the diffstat of the whole series.
    let name = opts
        .stamp
        .who
        .rsplit_once('<')
        .map_or(opts.stamp.who.as_str(), |(n, _)| n.trim())
        .trim_matches('"');
    let _ = writeln!(body, "\n{name} ({n}):");
    for p in planned {
        let _ = writeln!(body, "  {}", p.subject);
    }
    let mut whole = Vec::new();
    let header_name = input.helpers.as_ref().map(|h| h.name.as_str());
    for f in &input.files {
        let original = match &input.helpers {
            Some(h) if Some(f.name.as_str()) == header_name => &h.before,
            _ => &f.before,
        };
        diff::unified(&f.name, original, &f.after, &mut whole);
    }
    if let Some(h) = &input.helpers {
        if !input.files.iter().any(|f| f.name == h.name) {
            diff::unified(&h.name, &h.before, &h.after, &mut whole);
        }
    }
    let mut stats = format::stat(&whole);
    stats.sort_by(|a, b| a.name.cmp(&b.name));
    body.push('\n');
    body.push_str(&format::diffstat(&stats));
    if let Some(base) = opts.base {
        let _ = writeln!(body, "\nbase-commit: {base}");
    }

    let mut cc: Vec<String> = Vec::new();
    for p in planned {
        cc = merge_addrs(&cc, &p.cc, &[]);
    }
    let cc = merge_addrs(opts.cc, &cc, opts.to);
    let full = format!("[{} 0/{n}] {subject}", opts.subject_prefix);
    let bytes = format::render(&Mail {
        stamp: opts.stamp,
        subject: &full,
        to: opts.to,
        cc: &cc,
        message: &body,
        diff: &[],
        signature: opts.version,
    });
    OutFile {
        name: "0000-cover-letter.patch".to_string(),
        subject,
        bytes,
    }
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
    fn prefixes_from_history() {
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert_eq!(
            prefix_from_history(&s(&[
                "block: fix a leak",
                "Merge branch 'for-next'",
                "treewide: rename x",
                "bcache: tidy",
                "block: add y",
                "Revert \"block: add z\"",
            ]))
            .as_deref(),
            Some("block:")
        );
        // A tie goes to the newest.
        assert_eq!(
            prefix_from_history(&s(&["md/raid10: a", "md: b"])).as_deref(),
            Some("md/raid10:")
        );
        assert_eq!(
            prefix_from_history(&s(&["Linux 6.1", "Initial import"])),
            None
        );
    }

    #[test]
    fn prefixes_from_paths() {
        assert_eq!(prefix_from_paths(&["drivers/md/bcache/btree.c"]), "bcache:");
        assert_eq!(
            prefix_from_paths(&["block/bio.c", "block/blk-merge.c"]),
            "block:"
        );
        assert_eq!(prefix_from_paths(&["include/linux/bvec.h"]), "bvec:");
        assert_eq!(prefix_from_paths(&["lib/iov_iter.c"]), "iov_iter:");
        assert_eq!(prefix_from_paths(&["drivers/block/brd.c"]), "brd:");
        assert_eq!(prefix_from_paths(&["drivers/nvme/host/pci.c"]), "nvme:");
        assert_eq!(prefix_from_paths(&["fs/smb/client/misc.c"]), "smb:");
        assert_eq!(
            prefix_from_paths(&["drivers/s390/block/dasd_fba.c"]),
            "s390:"
        );
        assert_eq!(
            prefix_from_paths(&[
                "block/bio.c",
                "drivers/block/brd.c",
                "include/linux/blkdev.h"
            ]),
            "block:"
        );
    }

    #[test]
    fn groups_by_owner_then_by_two_directories() {
        let m = Maintainers::parse(
            "BLOCK LAYER\nM:\tJ <j@example.org>\nF:\tblock/\nF:\tdrivers/block/\n\nTHE REST\nF:\t*\nF:\t*/\n",
        );
        let f = |name: &str| SourceFile {
            name: name.to_string(),
            before: Vec::new(),
            after: Vec::new(),
            mode: 0o100644,
            sites: &[],
        };
        let files = vec![
            f("block/bio.c"),
            f("drivers/block/brd.c"),
            f("drivers/md/bcache/btree.c"),
            f("drivers/md/dm.c"),
            f("lib/iov_iter.c"),
        ];
        let g = group(&files, Some(&m));
        let got: Vec<(&str, bool, Vec<usize>)> = g
            .iter()
            .map(|g| (g.title.as_str(), g.from_maintainers, g.files.clone()))
            .collect();
        assert_eq!(
            got,
            vec![
                ("BLOCK LAYER", true, vec![0, 1]),
                ("drivers/md", false, vec![2, 3]),
                ("lib", false, vec![4]),
            ]
        );
    }

    #[test]
    fn places_and_lists() {
        assert_eq!(place(&["block/bio.c"]), "block/bio.c");
        assert_eq!(place(&["block/bio.c", "block/blk.c"]), "block/");
        assert_eq!(
            place(&["block/bio.c", "drivers/block/brd.c", "include/linux/bvec.h"]),
            "block/, drivers/block/ and include/linux/"
        );
        assert_eq!(
            place(&["a/x.c", "b/x.c", "c/x.c", "d/x.c", "e/x.c"]),
            "5 files"
        );
        assert_eq!(
            call_list(&["a".into(), "b".into(), "c".into()]),
            "a(), b() and c()"
        );
        assert_eq!(
            new_calls(
                "bvec_set_page",
                b"__bvec_set_page(x)",
                b"bvec_set_page (x); __bvec_set_page(y)"
            ),
            1
        );
    }
}
