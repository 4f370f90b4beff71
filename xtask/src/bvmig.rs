//! Building the bvmig binary and reading what `bvmig patch` prints: the
//! summary and the sites left for a human on stderr, the diff on stdout.
//!
//! The parsers here accept only the documented formats and fail loudly on
//! anything else, so that a change in bvmig's output breaks the check
//! instead of being read as zero.

use std::collections::BTreeMap;
use std::env;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};

use crate::count::Occurrence;
use crate::kernel::run_checked;

/// The workspace root, which holds the bvmig package.
pub fn workspace_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives in the workspace")
}

/// Builds bvmig in release mode and returns the binary's path.
pub fn build() -> Result<PathBuf> {
    // `cargo run` sets CARGO to the cargo that runs us, which keeps the
    // toolchain the same.
    let cargo = env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    run_checked(Command::new(cargo).current_dir(workspace_root()).args([
        "build",
        "--release",
        "--package",
        "bvmig",
        "--bin",
        "bvmig",
    ]))?;
    let target = match env::var_os("CARGO_TARGET_DIR").filter(|d| !d.is_empty()) {
        // Cargo reads a relative CARGO_TARGET_DIR from the directory it
        // runs in, and we ran it from the workspace root.
        Some(dir) => workspace_root().join(dir),
        None => workspace_root().join("target"),
    };
    let bin = target.join("release/bvmig");
    if !bin.is_file() {
        bail!("{}: not found after the build", bin.display());
    }
    Ok(bin)
}

/// The summary lines at the end of `bvmig patch`'s stderr.
#[derive(Debug, Default, Clone)]
pub struct Summary {
    pub n_walked: usize,
    pub n_parsed: usize,
    pub n_sites: usize,
    /// The `150 read, 30 write, ...` breakdown, as printed.
    pub kinds: String,
    pub n_rewritten: usize,
    pub n_changed_files: usize,
    pub n_left: usize,
    /// One per site left for a human: the file and the position.
    pub left: Vec<(String, Occurrence)>,
    /// The `bvmig: error: ...` lines, without the prefix.
    pub errors: Vec<String>,
    /// The `bvmig: note: ...` lines, without the prefix.
    pub notes: Vec<String>,
}

impl Summary {
    /// Sites left for a human, per file, sorted by position.
    pub fn left_per_file(&self) -> BTreeMap<String, Vec<Occurrence>> {
        let mut res: BTreeMap<String, Vec<Occurrence>> = BTreeMap::new();
        for (name, at) in &self.left {
            res.entry(name.clone()).or_default().push(*at);
        }
        for v in res.values_mut() {
            v.sort_unstable();
        }
        res
    }
}

/// Reads `bvmig patch`'s stderr.
pub fn parse_stderr(stderr: &str) -> Result<Summary> {
    let mut s = Summary::default();
    let (mut seen_walked, mut seen_sites, mut seen_rewritten) = (false, false, false);
    for line in stderr.lines() {
        if let Some(rest) = line.strip_prefix("bvmig: ") {
            if let Some(e) = rest.strip_prefix("error: ") {
                s.errors.push(e.to_string());
            } else if rest.starts_with("rule ")
                || rest.starts_with("types of the rewritten sites: ")
                || rest.contains(" is declared only by ")
            {
                // Informational lines: the rule and why, types, declarers.
            } else if let Some(n) = rest.strip_prefix("note: ") {
                s.notes.push(n.to_string());
            } else if let Some(r) = rest.strip_suffix(" parsed") {
                let (walked, parsed) = r
                    .split_once(" files walked, ")
                    .with_context(|| format!("unexpected summary line {line:?}"))?;
                s.n_walked = number(walked, line)?;
                s.n_parsed = number(parsed, line)?;
                seen_walked = true;
            } else if let Some(r) = rest.strip_suffix(" left for a human") {
                let (rewritten, r) = r
                    .split_once(" rewritten in ")
                    .with_context(|| format!("unexpected summary line {line:?}"))?;
                let (files, left) = r
                    .split_once(" files, ")
                    .with_context(|| format!("unexpected summary line {line:?}"))?;
                s.n_rewritten = number(rewritten, line)?;
                s.n_changed_files = number(files, line)?;
                s.n_left = number(left, line)?;
                seen_rewritten = true;
            } else if let Some((n, kinds)) = rest
                .split_once(" sites: ")
                .or_else(|| rest.strip_suffix(" sites").map(|n| (n, "")))
            {
                s.n_sites = number(n, line)?;
                s.kinds = kinds.to_string();
                seen_sites = true;
            } else {
                bail!("unexpected summary line {line:?}");
            }
        } else if let Some(site) = left_site(line) {
            s.left.push(site);
        } else {
            bail!("unexpected stderr line {line:?}");
        }
    }
    if !(seen_walked && seen_sites && seen_rewritten) {
        bail!("stderr lacks the summary lines:\n{stderr}");
    }
    Ok(s)
}

fn number(s: &str, line: &str) -> Result<usize> {
    s.trim()
        .parse()
        .with_context(|| format!("{s:?} is not a number in {line:?}"))
}

/// `file:line:col: kind: reason`, as the file and the position.
fn left_site(line: &str) -> Option<(String, Occurrence)> {
    // The file name comes first and may itself hold colons; the first
    // `:<digits>:<digits>: ` ends it.
    let mut from = 0;
    while let Some(p) = line[from..].find(':') {
        let at = from + p;
        let mut fields = line[at + 1..].splitn(3, ':');
        let (l, c, rest) = (fields.next()?, fields.next(), fields.next());
        if let (Ok(l), Some(Ok(c)), Some(rest)) =
            (l.parse::<usize>(), c.map(str::parse::<usize>), rest)
        {
            if rest.starts_with(' ') {
                return Some((line[..at].to_string(), Occurrence { line: l, col: c }));
            }
        }
        from = at + 1;
    }
    None
}

/// One file of a unified diff.
#[derive(Debug, Default, Clone)]
pub struct FileDiff {
    /// Whole-word occurrences of the word on removed lines.
    pub n_word_removed: usize,
    /// Whole-word occurrences of the word on added lines.
    pub n_word_added: usize,
}

/// Reads a `diff --git` style diff: the files it names, with how often
/// `word` appears on their removed and added lines.
///
/// Removed minus added is the number of occurrences the diff rewrites.
/// Occurrences in comments or in sites left alone are on both sides of a
/// changed line, so they cancel out without any C parsing here.
pub fn parse_diff(diff: &str, word: &str) -> Result<BTreeMap<String, FileDiff>> {
    let mut files: BTreeMap<String, FileDiff> = BTreeMap::new();
    let mut current: Option<String> = None;
    let mut in_header = false;
    for line in diff.lines() {
        if let Some(names) = line.strip_prefix("diff --git a/") {
            let (a, b) = names
                .split_once(" b/")
                .with_context(|| format!("unexpected diff header {line:?}"))?;
            if a != b {
                bail!("diff renames {a} to {b}");
            }
            if files.insert(a.to_string(), FileDiff::default()).is_some() {
                bail!("diff names {a} twice");
            }
            current = Some(a.to_string());
            in_header = true;
            continue;
        }
        let Some(name) = &current else {
            bail!("diff text before the first file header: {line:?}");
        };
        if line.starts_with("@@ ") {
            in_header = false;
            continue;
        }
        if in_header {
            let expected = [format!("--- a/{name}"), format!("+++ b/{name}")];
            if !expected.iter().any(|e| e == line) {
                bail!("unexpected line in the header of {name}: {line:?}");
            }
            continue;
        }
        let entry = files.get_mut(name).expect("inserted at its header");
        match line.as_bytes().first() {
            Some(b'-') => entry.n_word_removed += word_count(&line[1..], word),
            Some(b'+') => entry.n_word_added += word_count(&line[1..], word),
            Some(b' ' | b'\\') | None => {}
            Some(_) => bail!("unexpected line in a hunk of {name}: {line:?}"),
        }
    }
    Ok(files)
}

fn word_count(line: &str, word: &str) -> usize {
    let is_ident = |b: u8| b.is_ascii_alphanumeric() || b == b'_' || b == b'$';
    let bytes = line.as_bytes();
    line.match_indices(word)
        .filter(|&(at, _)| {
            let end = at + word.len();
            (at == 0 || !is_ident(bytes[at - 1])) && (end == bytes.len() || !is_ident(bytes[end]))
        })
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_summary() {
        let s = parse_stderr(
            "\
fs/a.c:10:5: lvalue-macro: READ_ONCE needs an lvalue
drivers/b:c.c:3:1: address: no helper for &E->bv_page
bvmig: rule rules/bv_page.cocci (built in); field bv_page
bvmig: 61234 files walked, 74 parsed
bvmig: 197 sites: 150 read, 30 write, 3 address
bvmig: 185 rewritten in 70 files, 12 left for a human
bvmig: error: x.c: permission denied
",
        )
        .unwrap();
        assert_eq!((s.n_walked, s.n_parsed, s.n_sites), (61234, 74, 197));
        assert_eq!((s.n_rewritten, s.n_changed_files, s.n_left), (185, 70, 12));
        assert_eq!(s.kinds, "150 read, 30 write, 3 address");
        assert_eq!(
            s.left,
            vec![
                ("fs/a.c".to_string(), Occurrence { line: 10, col: 5 }),
                ("drivers/b:c.c".to_string(), Occurrence { line: 3, col: 1 })
            ]
        );
        assert_eq!(s.errors, vec!["x.c: permission denied".to_string()]);
        let s = parse_stderr(
            "\
bvmig: 1 files walked, 0 parsed
bvmig: 0 sites
bvmig: 0 rewritten in 0 files, 0 left for a human
",
        )
        .unwrap();
        assert_eq!(s.n_sites, 0);
        assert!(parse_stderr("bvmig: 1 files walked, 0 parsed\n").is_err());
        assert!(parse_stderr("something else\n").is_err());
    }

    #[test]
    fn reads_the_diff() {
        let d = parse_diff(
            "\
diff --git a/fs/a.c b/fs/a.c
--- a/fs/a.c
+++ b/fs/a.c
@@ -1,3 +1,3 @@
 x
-\tp = bv->bv_page; /* bv_page */
+\tp = bvec_page(bv); /* bv_page */
--- y
+++ z
diff --git a/fs/b.c b/fs/b.c
--- a/fs/b.c
+++ b/fs/b.c
@@ -1 +1 @@
-a.bv_page = b.bv_pages;
+bvec_set_page(&a, b.bv_pages);
\\ No newline at end of file
",
            "bv_page",
        )
        .unwrap();
        let got: Vec<_> = d
            .iter()
            .map(|(n, f)| (n.as_str(), f.n_word_removed, f.n_word_added))
            .collect();
        assert_eq!(got, vec![("fs/a.c", 2, 1), ("fs/b.c", 1, 0)]);
        assert!(parse_diff("junk\n", "bv_page").is_err());
    }
}
