//! `cargo xtask checkpatch [VERSION]`: the series `bvmig patch --series`
//! writes for a Debian kernel tree, each patch run through that tree's own
//! `scripts/checkpatch.pl`.
//!
//! The tree is made a git repository first, limited (as `merge-window`
//! does) to the C files that hold `bv_page` in code, `include/linux/bvec.h`
//! and `MAINTAINERS`, and committed in one import commit whose subject has
//! a prefix (`linux: import ...`): no patch may take that prefix, since an
//! import touched the whole tree and names no subsystem.
//!
//! Every mail, the cover letter included (checkpatch checks no line of a
//! mail without a diff, but it still reads its headers), must pass with
//! no error or warning that bvmig's own text causes. What checkpatch says
//! is sorted into:
//!
//! - **ours**: anything about the mail or its commit message (lines before
//!   the diff, or no line at all), and a complaint about the changed code
//!   of a type that the same file's original lines do not also get as
//!   often: checkpatch is run a second time on the patch reversed (`-` and
//!   `+` swapped), which checks the original lines, so that a long line or
//!   a missing space the file had before is not blamed on the rewrite;
//! - **not ours**: the rest, kept apart and counted by type.
//!
//! The task fails when a patch gets one of ours, or when the series
//! repeats a subject or takes the import's prefix.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{bail, Context, Result};

use crate::bvmig;
use crate::count;
use crate::kernel;

/// The import commit's subject: a prefix no patch may take.
const IMPORT_PREFIX: &str = "linux:";

/// One thing checkpatch said.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Finding {
    /// `ERROR` or `WARNING` (CHECK only with --strict, which we do not use).
    level: String,
    /// `COMMIT_LOG_LONG_LINE`, `LONG_LINE`, ...
    kind: String,
    message: String,
    /// The file of a code line, `None` for the mail and its message.
    file: Option<String>,
}

/// Runs the task; `Ok(false)` when a check failed.
pub fn run(version: &str) -> Result<bool> {
    let bin = bvmig::build()?;
    let tree = kernel::tree(version)?;
    let checkpatch = tree.join("scripts/checkpatch.pl");
    if !checkpatch.is_file() {
        bail!("{}: missing", checkpatch.display());
    }

    println!("== a git repository of {version}'s files with bv_page, one import commit");
    let counted = count::count_tree(&tree, "bv_page")?;
    let mut names: BTreeSet<String> = counted.files.keys().cloned().collect();
    names.insert("include/linux/bvec.h".to_string());
    names.insert("MAINTAINERS".to_string());
    let work = kernel::cache_dir()?.join(format!("checkpatch-{version}"));
    if work.exists() {
        fs::remove_dir_all(&work).with_context(|| format!("{}: cannot remove", work.display()))?;
    }
    let repo = work.join("repo");
    let series = work.join("series");
    fs::create_dir_all(&repo)?;
    for name in &names {
        let src = tree.join(name);
        if src.is_file() {
            let dst = repo.join(name);
            fs::create_dir_all(dst.parent().expect("a file has a parent"))?;
            fs::copy(&src, &dst).with_context(|| format!("{}: cannot copy", src.display()))?;
        }
    }
    git(&repo, &["init", "-q", "-b", "master"])?;
    git(&repo, &["config", "user.name", "Check Patch"])?;
    git(&repo, &["config", "user.email", "cp@example.org"])?;
    git(&repo, &["add", "-A"])?;
    let import = format!("{IMPORT_PREFIX} import Debian's linux-source-{version}");
    git(&repo, &["commit", "-qm", &import])?;
    println!("      {} files, committed as {import:?}", names.len());

    println!("== bvmig patch --series");
    let out = isolated(Command::new(&bin).current_dir(&repo).args([
        "patch",
        "--series",
        series.to_str().context("a UTF-8 path")?,
        "-q",
    ]))
    .output()
    .context("cannot run bvmig")?;
    if !out.status.success() {
        bail!(
            "bvmig patch --series failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let mut mails: Vec<PathBuf> = fs::read_dir(&series)?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<_, _>>()?;
    mails.sort();
    println!("      {} mails in {}", mails.len(), series.display());

    let mut ok = true;
    let mut subjects: Vec<String> = Vec::new();
    for m in &mails {
        let text = fs::read_to_string(m)?;
        let subject = text
            .lines()
            .find_map(|l| l.strip_prefix("Subject: "))
            .unwrap_or_default();
        let subject = subject.split_once("] ").map_or(subject, |(_, s)| s);
        subjects.push(subject.to_string());
    }
    let unique: BTreeSet<&String> = subjects.iter().collect();
    if unique.len() != subjects.len() {
        println!("FAIL  subjects repeat");
        ok = false;
    }
    if let Some(s) = subjects.iter().find(|s| s.starts_with(IMPORT_PREFIX)) {
        println!("FAIL  a subject takes the import's prefix: {s}");
        ok = false;
    }

    println!("== scripts/checkpatch.pl on every mail");
    let (mut clean, mut with_ours) = (0, 0);
    let mut not_ours: BTreeMap<String, usize> = BTreeMap::new();
    let mut ours_by_kind: BTreeMap<String, usize> = BTreeMap::new();
    for m in &mails {
        let name = m
            .file_name()
            .expect("a file")
            .to_string_lossy()
            .into_owned();
        let text = fs::read_to_string(m)?;
        // checkpatch knows a cover letter by its file name, so it reads
        // files, the reversed ones beside the series under the same names.
        let found = run_checkpatch(&tree, &checkpatch, m)?;
        let back = work.join("reversed").join(&name);
        fs::create_dir_all(work.join("reversed"))?;
        fs::write(&back, reversed(&text))?;
        let before = run_checkpatch(&tree, &checkpatch, &back)?;
        let (ours, theirs) = sort_out(&found, &before);
        for f in &theirs {
            *not_ours
                .entry(format!("{}:{}", f.level, f.kind))
                .or_default() += 1;
        }
        for f in &ours {
            *ours_by_kind
                .entry(format!("{}:{}", f.level, f.kind))
                .or_default() += 1;
        }
        if ours.is_empty() {
            clean += 1;
            let more = if theirs.is_empty() {
                String::new()
            } else {
                format!(" ({} not ours)", theirs.len())
            };
            println!("PASS  {name}{more}");
        } else {
            with_ours += 1;
            println!("FAIL  {name}");
            for f in &ours {
                println!(
                    "        {}:{}: {}{}",
                    f.level,
                    f.kind,
                    f.message,
                    f.file
                        .as_deref()
                        .map(|x| format!(" [{x}]"))
                        .unwrap_or_default()
                );
            }
        }
    }
    println!("== totals");
    println!(
        "      {} mails (the cover letter and {} patches): {clean} with nothing of ours, {with_ours} with something of ours",
        mails.len(),
        mails.len().saturating_sub(1)
    );
    for (kind, k) in &ours_by_kind {
        println!("      ours:     {k:4} {kind}");
    }
    for (kind, k) in &not_ours {
        println!("      not ours: {k:4} {kind} (the original lines get it too)");
    }
    Ok(ok && with_ours == 0)
}

/// Runs `git` in `dir` away from the user's configuration; fails unless it
/// exits with 0.
fn git(dir: &Path, args: &[&str]) -> Result<()> {
    let out = isolated(Command::new("git").args(args).current_dir(dir))
        .output()
        .with_context(|| format!("cannot run git {}", args.join(" ")))?;
    if !out.status.success() {
        bail!(
            "git {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(())
}

/// No user or system configuration, a fixed author and date.
fn isolated(cmd: &mut Command) -> &mut Command {
    cmd.stdin(Stdio::null())
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_AUTHOR_DATE", "2024-11-17T12:00:00Z")
        .env("GIT_COMMITTER_DATE", "2024-11-17T12:00:00Z")
        .env("LC_ALL", "C")
}

/// checkpatch's findings on the mail at `path`, run at the top of `tree`.
fn run_checkpatch(tree: &Path, script: &Path, path: &Path) -> Result<Vec<Finding>> {
    let out = Command::new("perl")
        .arg(script)
        .args(["--show-types", "--color=never"])
        .arg(path)
        .current_dir(tree)
        .stdin(Stdio::null())
        .output()
        .context("cannot run perl; is it installed?")?;
    Ok(parse(&String::from_utf8_lossy(&out.stdout)))
}

/// checkpatch's report: `LEVEL:TYPE: message` then, for a line, `#N:
/// FILE: path:line:` (a code line) or `#N: ` (a line of the message).
fn parse(report: &str) -> Vec<Finding> {
    let mut out: Vec<Finding> = Vec::new();
    let mut open = false;
    for line in report.lines() {
        let head = ["ERROR:", "WARNING:"]
            .iter()
            .find_map(|p| line.strip_prefix(p).map(|rest| (&p[..p.len() - 1], rest)));
        if let Some((level, rest)) = head {
            let (kind, message) = rest.split_once(": ").unwrap_or((rest, ""));
            out.push(Finding {
                level: level.to_string(),
                kind: kind.to_string(),
                message: message.to_string(),
                file: None,
            });
            open = true;
        } else if open && line.starts_with('#') {
            if let Some((_, at)) = line.split_once("FILE: ") {
                let file = at.split(':').next().unwrap_or(at);
                out.last_mut().expect("open").file = Some(file.to_string());
            }
            open = false;
        } else if line.is_empty() {
            open = false;
        }
    }
    out
}

/// Ours and not ours: a finding on a code line is not ours when the
/// original lines of its file get at least as many of its type.
fn sort_out(found: &[Finding], before: &[Finding]) -> (Vec<Finding>, Vec<Finding>) {
    let mut budget: BTreeMap<(&str, &str), usize> = BTreeMap::new();
    for f in before {
        if let Some(file) = &f.file {
            *budget.entry((file, &f.kind)).or_default() += 1;
        }
    }
    let (mut ours, mut theirs) = (Vec::new(), Vec::new());
    for f in found {
        let pre = f
            .file
            .as_deref()
            .and_then(|file| budget.get_mut(&(file, &f.kind)));
        match pre {
            Some(n) if *n > 0 => {
                *n -= 1;
                theirs.push(f.clone());
            }
            _ => ours.push(f.clone()),
        }
    }
    (ours, theirs)
}

/// The mail with its diff reversed: `-` and `+` lines swapped, hunk
/// headers' ranges swapped, so that checkpatch checks the lines before.
fn reversed(mail: &str) -> String {
    let mut out = String::new();
    let mut in_diff = false;
    for line in mail.split_inclusive('\n') {
        if line.starts_with("diff --git ") {
            in_diff = true;
        }
        if !in_diff || line.starts_with("--- a/") || line.starts_with("+++ b/") {
            out.push_str(line);
        } else if let Some(rest) = line.strip_prefix("@@ -") {
            // `@@ -a,b +c,d @@ ctx`
            let (ranges, ctx) = rest.split_once(" @@").unwrap_or((rest, ""));
            let (old, new) = ranges.split_once(" +").unwrap_or((ranges, ""));
            out.push_str(&format!("@@ -{new} +{old} @@{ctx}"));
        } else if let Some(rest) = line.strip_prefix('+') {
            out.push('-');
            out.push_str(rest);
        } else if let Some(rest) = line.strip_prefix('-').filter(|_| line != "-- \n") {
            out.push('+');
            out.push_str(rest);
        } else {
            out.push_str(line);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_are_read_and_sorted_out() {
        let report = "\
WARNING:COMMIT_LOG_LONG_LINE: Prefer a maximum 75 chars per line (possible unwrapped commit description?)
#12: 
    // a long line

WARNING:LONG_LINE: line length of 104 exceeds 100 columns
#40: FILE: block/bio.c:120:
+\tx

WARNING:LONG_LINE: line length of 101 exceeds 100 columns
#48: FILE: block/bio.c:130:
+\ty

total: 0 errors, 3 warnings, 20 lines checked
";
        let found = parse(report);
        assert_eq!(found.len(), 3);
        assert_eq!(found[0].file, None);
        assert_eq!(found[1].file.as_deref(), Some("block/bio.c"));
        let before = parse(
            "WARNING:LONG_LINE: line length of 103 exceeds 100 columns\n#40: FILE: block/bio.c:120:\n+\tx\n",
        );
        let (ours, theirs) = sort_out(&found, &before);
        // The message's line and one of two long lines are ours.
        assert_eq!(ours.len(), 2);
        assert_eq!(theirs.len(), 1);
        assert_eq!(ours[0].kind, "COMMIT_LOG_LONG_LINE");
    }

    #[test]
    fn a_patch_reversed() {
        let mail = "Subject: x\n\n- a list item\n---\ndiff --git a/x.c b/x.c\n--- a/x.c\n+++ b/x.c\n@@ -1,2 +1,3 @@ f\n a\n-b\n+c\n+d\n-- \nbvmig\n";
        assert_eq!(
            reversed(mail),
            "Subject: x\n\n- a list item\n---\ndiff --git a/x.c b/x.c\n--- a/x.c\n+++ b/x.c\n@@ -1,3 +1,2 @@ f\n a\n+b\n-c\n-d\n-- \nbvmig\n"
        );
    }
}
