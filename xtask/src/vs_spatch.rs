//! `cargo xtask vs-spatch`: bvmig against Coccinelle's `spatch` with the same
//! rule file, site by site, on the files of a kernel tree that contain the
//! field.
//!
//! Each tool rewrites its own copy of those files in place. A site (an
//! occurrence of the field in code, found by the independent count) is
//! changed by a tool when a line diff of the original against that tool's
//! result replaces or deletes its line; two tools agree on a changed site
//! when the text that replaces the same original lines (the smallest
//! stretch both diffs change as wholes) is the same, white space aside, so
//! that re-wrapped lines are not counted as a difference. Every site is
//! then: agreed (both changed it alike), differ (both changed it, not
//! alike), only bvmig, only spatch, or neither. The differences are listed
//! so that each can be explained in rules/README.md.

use std::collections::BTreeMap;
use std::fs;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use similar::{DiffOp, TextDiff};

use crate::bvmig;
use crate::count;
use crate::kernel;

const WORD: &str = "bv_page";

/// What happened to one site.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Verdict {
    Agreed,
    Differ,
    OnlyBvmig,
    OnlySpatch,
    Neither,
}

impl Verdict {
    fn label(self) -> &'static str {
        match self {
            Verdict::Agreed => "agreed",
            Verdict::Differ => "both changed, differently",
            Verdict::OnlyBvmig => "only bvmig",
            Verdict::OnlySpatch => "only spatch",
            Verdict::Neither => "neither",
        }
    }
}

pub fn run(version: &str, rule: &Path) -> Result<bool> {
    if Command::new("spatch").arg("--version").output().is_err() {
        bail!("spatch not found: install Debian's coccinelle package (apt-get install coccinelle)");
    }
    let rule = fs::canonicalize(rule).with_context(|| format!("{}", rule.display()))?;
    let bin = bvmig::build()?;
    let tree = kernel::tree(version)?;
    let counted = count::count_tree(&tree, WORD)?;
    println!(
        "vs-spatch: {} files of {} hold {} sites; rule {}",
        counted.files.len(),
        tree.display(),
        counted.total(),
        rule.display()
    );

    let work = kernel::cache_dir()?.join(format!("vs-spatch-{}", kernel::name(version)));
    let _ = fs::remove_dir_all(&work);
    for side in ["spatch", "bvmig"] {
        for name in counted.files.keys() {
            let dest = work.join(side).join(name);
            fs::create_dir_all(dest.parent().expect("a file has a folder"))?;
            fs::copy(tree.join(name), &dest).with_context(|| format!("copy {name}"))?;
        }
    }

    let t = Instant::now();
    let out = Command::new("spatch")
        .arg("--sp-file")
        .arg(&rule)
        .args([
            "--in-place",
            "--include-headers",
            "--no-includes",
            "--very-quiet",
            "-j",
            "2",
            "--timeout",
            "120",
            "--dir",
        ])
        .arg(work.join("spatch"))
        .output()
        .context("run spatch")?;
    let spatch_time = t.elapsed();
    if !out.status.success() {
        println!(
            "WARN  spatch exited with {}: {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
                .lines()
                .last()
                .unwrap_or("")
        );
    }

    // bvmig's time: the median of three runs without writing, as spatch's
    // one run is long enough to need no repeat.
    let mut times = Vec::new();
    for _ in 0..3 {
        let t = Instant::now();
        let out = Command::new(&bin)
            .args(["patch", "--quiet", "--rule"])
            .arg(&rule)
            .arg(work.join("bvmig"))
            .output()
            .context("run bvmig")?;
        times.push(t.elapsed());
        if out.status.code() != Some(0) {
            bail!(
                "bvmig exited with {}: {}",
                out.status,
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
    times.sort();
    let bvmig_time = times[1];
    let out = Command::new(&bin)
        .args(["patch", "--in-place", "--quiet", "--rule"])
        .arg(&rule)
        .arg(work.join("bvmig"))
        .output()
        .context("run bvmig --in-place")?;
    if out.status.code() != Some(0) {
        bail!(
            "bvmig --in-place exited with {}: {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    println!(
        "time: spatch -j 2 {:.2} s, bvmig {:.3} s (median of 3; these {} files only)",
        spatch_time.as_secs_f64(),
        bvmig_time.as_secs_f64(),
        counted.files.len()
    );

    let mut tally: BTreeMap<Verdict, usize> = BTreeMap::new();
    let mut listed: Vec<(Verdict, String)> = Vec::new();
    for (name, sites) in &counted.files {
        let orig = fs::read_to_string(tree.join(name)).unwrap_or_default();
        let spatch = fs::read_to_string(work.join("spatch").join(name)).unwrap_or_default();
        let ours = fs::read_to_string(work.join("bvmig").join(name)).unwrap_or_default();
        let by_spatch = Changes::new(&orig, &spatch);
        let by_bvmig = Changes::new(&orig, &ours);
        for site in sites {
            let line = site.line - 1;
            let (s, b) = match (by_spatch.changed(line), by_bvmig.changed(line)) {
                (true, true) => {
                    // Compare what replaces the same original lines: one
                    // tool may have joined lines the other left apart.
                    let span = union_span(line, &by_spatch, &by_bvmig);
                    (Some(by_spatch.text(&span)), Some(by_bvmig.text(&span)))
                }
                (s, b) => (
                    s.then(|| by_spatch.text(&(line..line + 1))),
                    b.then(|| by_bvmig.text(&(line..line + 1))),
                ),
            };
            let v = match (&s, &b) {
                (Some(s), Some(b)) if squeeze(s) == squeeze(b) => Verdict::Agreed,
                (Some(_), Some(_)) => Verdict::Differ,
                (None, Some(_)) => Verdict::OnlyBvmig,
                (Some(_), None) => Verdict::OnlySpatch,
                (None, None) => Verdict::Neither,
            };
            *tally.entry(v).or_default() += 1;
            if v != Verdict::Agreed {
                let src = orig.lines().nth(line).unwrap_or("").trim();
                let mut text = format!(
                    "{name}:{}:{}: {}\n      was:    {src}",
                    site.line,
                    site.col,
                    v.label()
                );
                if let Some(s) = &s {
                    text.push_str(&format!("\n      spatch: {}", one_line(s)));
                }
                if let Some(b) = &b {
                    text.push_str(&format!("\n      bvmig:  {}", one_line(b)));
                }
                listed.push((v, text));
            }
        }
    }
    listed.sort();
    for (_, text) in &listed {
        println!("{text}");
    }
    println!("sites: {}", counted.total());
    for (v, n) in &tally {
        println!("  {:<26} {n}", v.label());
    }
    Ok(true)
}

/// A line diff of an original file against one tool's result: for each
/// stretch of original lines, the text that stands for it and whether it
/// changed.
struct Changes {
    ops: Vec<(Range<usize>, String, bool)>,
}

impl Changes {
    fn new(old: &str, new: &str) -> Changes {
        let diff = TextDiff::from_lines(old, new);
        let new_lines: Vec<&str> = new.split_inclusive('\n').collect();
        let text = |r: Range<usize>| new_lines.get(r).map(|l| l.concat()).unwrap_or_default();
        let mut ops = Vec::new();
        for op in diff.ops() {
            match *op {
                DiffOp::Equal {
                    old_index,
                    new_index,
                    len,
                } => {
                    // One entry per line, so that an unchanged neighbour can
                    // be taken alone.
                    for k in 0..len {
                        ops.push((
                            old_index + k..old_index + k + 1,
                            text(new_index + k..new_index + k + 1),
                            false,
                        ));
                    }
                }
                // An insertion replaces nothing; it is kept with the line
                // before it (or after it, at the start), as changed.
                DiffOp::Insert {
                    old_index,
                    new_index,
                    new_len,
                } => {
                    let added = text(new_index..new_index + new_len);
                    match ops.last_mut() {
                        Some((_, t, changed)) => {
                            t.push_str(&added);
                            *changed = true;
                        }
                        None => ops.push((old_index..old_index, added, true)),
                    }
                }
                DiffOp::Delete {
                    old_index, old_len, ..
                } => ops.push((old_index..old_index + old_len, String::new(), true)),
                DiffOp::Replace {
                    old_index,
                    old_len,
                    new_index,
                    new_len,
                } => ops.push((
                    old_index..old_index + old_len,
                    text(new_index..new_index + new_len),
                    true,
                )),
            }
        }
        Changes { ops }
    }

    fn op_at(&self, line: usize) -> Option<&(Range<usize>, String, bool)> {
        self.ops.iter().find(|(r, _, _)| r.contains(&line))
    }

    fn changed(&self, line: usize) -> bool {
        self.op_at(line).is_some_and(|(_, _, c)| *c)
    }

    /// The smallest stretch of whole ops covering `span`.
    fn cover(&self, span: &Range<usize>) -> Range<usize> {
        let mut out = span.clone();
        for (r, _, _) in &self.ops {
            if r.start < span.end && span.start < r.end {
                out.start = out.start.min(r.start);
                out.end = out.end.max(r.end);
            }
        }
        out
    }

    /// The text standing for the original lines `span` (whole ops).
    fn text(&self, span: &Range<usize>) -> String {
        self.ops
            .iter()
            .filter(|(r, _, _)| r.start < span.end && span.start < r.end)
            .map(|(_, t, _)| t.as_str())
            .collect()
    }
}

/// The original lines around `line` that both diffs change or replace as
/// wholes.
fn union_span(line: usize, a: &Changes, b: &Changes) -> Range<usize> {
    let mut span = line..line + 1;
    loop {
        let next = b.cover(&a.cover(&span));
        if next == span {
            return span;
        }
        span = next;
    }
}

/// `s` without any white space: layout aside.
fn squeeze(s: &str) -> String {
    s.split_whitespace().collect()
}

fn normalize(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn one_line(s: &str) -> String {
    let n = normalize(s);
    if n.len() > 160 {
        let cut: String = n.chars().take(157).collect();
        format!("{cut}...")
    } else {
        n
    }
}

/// The rule `vs-spatch` runs when none is given: the one bvmig picks for
/// Debian's trees (both have the four-argument helper).
pub fn default_rule() -> PathBuf {
    bvmig::workspace_root().join("rules/bv_page-modern.cocci")
}
