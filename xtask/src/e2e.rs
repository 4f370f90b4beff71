//! The end-to-end check: run `bvmig patch` over a whole kernel tree and
//! hold its output against facts established without bvmig.
//!
//! a. an independent count of `bv_page` in code, against known figures;
//! b. bvmig's site accounting, against that count, total and per file;
//! c. the diff applies, with `git apply` and with `patch`, to a copy of
//!    the files it names;
//! d. no patched file parses worse than before;
//! e. bvmig on the patched copy has nothing more to do, and what it leaves
//!    is exactly what the count still finds.
//!
//! Every check prints PASS or FAIL, doubts print WARN, and the task fails
//! when any check does. A step whose input is missing is skipped, not
//! failed twice.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Instant;

use anyhow::{Context, Result};

use crate::bvmig::{self, Summary};
use crate::count::{self, Occurrence, TreeCount};
use crate::kernel;
use crate::report::Report;
use crate::syntax::ErrorCounter;

const WORD: &str = "bv_page";

/// The occurrences and files the count should find in each tree, as
/// established apart from both this counter and bvmig.
fn expected(version: &str) -> Option<(usize, usize)> {
    match version {
        "6.12" => Some((197, 73)),
        "6.1" => Some((242, 82)),
        _ => None,
    }
}

/// At most this many files are listed under a failed per-file check.
const MAX_LISTED: usize = 40;

/// Runs the check; `Ok(false)` when a check failed.
pub fn run(version: &str) -> Result<bool> {
    let mut r = Report::default();
    let all = Instant::now();

    println!("== build bvmig, get the {} tree", kernel::name(version));
    let t = Instant::now();
    let bin = bvmig::build()?;
    r.step("build", t);
    let t = Instant::now();
    let tree = kernel::tree(version)?;
    r.step("tree", t);
    r.note(format!("bvmig {}", bin.display()));
    r.note(format!("tree {}", tree.display()));

    println!("== a. independent count of {WORD} in code");
    let t = Instant::now();
    let mine = count::count_tree(&tree, WORD)?;
    step_count(&mut r, version, &mine);
    r.step("a", t);

    println!("== b. bvmig patch {}", tree.display());
    let t = Instant::now();
    let first = run_bvmig(&bin, &tree)?;
    let run_took = t.elapsed();
    r.note(format!("bvmig patch took {:.2} s", run_took.as_secs_f64()));
    let first = step_accounting(&mut r, &first, &mine)?;
    r.step("b", t);

    let Some((summary, diff_text, diff)) = first else {
        return Ok(finish(&r, all));
    };
    let names: Vec<String> = diff.keys().cloned().collect();

    println!("== c. the diff applies");
    let t = Instant::now();
    let cache = kernel::cache_dir()?;
    let scratch = cache.join(format!("e2e-{}", kernel::name(version)));
    let applied = step_apply(&mut r, &tree, &cache, &scratch, &diff_text, &names)?;
    r.step("c", t);
    if !applied {
        println!("SKIP  d and e: the diff did not apply");
        return Ok(finish(&r, all));
    }

    println!("== d. no file parses worse after the rewrite");
    let t = Instant::now();
    step_reparse(&mut r, &tree, &scratch, &names)?;
    r.step("d", t);

    println!("== e. idempotence on the patched copy");
    let t = Instant::now();
    step_idempotence(&mut r, &bin, &scratch, &names, &summary)?;
    r.step("e", t);

    Ok(finish(&r, all))
}

fn finish(r: &Report, all: Instant) -> bool {
    println!("== timings");
    for (name, took) in &r.timings {
        println!("      {name:<16} {:>8.2} s", took.as_secs_f64());
    }
    println!(
        "      {:<16} {:>8.2} s",
        "total",
        all.elapsed().as_secs_f64()
    );
    let verdict = if r.failed.is_empty() { "PASS" } else { "FAIL" };
    println!(
        "e2e: {verdict}: {} checks, {} failed, {} warnings",
        r.n_checks,
        r.failed.len(),
        r.n_warnings
    );
    for f in &r.failed {
        println!("      failed: {f}");
    }
    r.failed.is_empty()
}

fn step_count(r: &mut Report, version: &str, mine: &TreeCount) {
    for note in &mine.filter_notes {
        r.warn(format!(
            "{note}: bvmig's walker honours it and this count does not, so the file sets may differ"
        ));
    }
    let (total, n_files) = (mine.total(), mine.files.len());
    r.note(format!(
        "{total} occurrences in {n_files} files; {} C files read",
        mine.n_files
    ));
    match expected(version) {
        Some((e_total, e_files)) if (e_total, e_files) == (total, n_files) => {
            r.note(format!(
                "agrees with the figures known for {version}: {e_total} in {e_files} files"
            ));
        }
        Some((e_total, e_files)) => r.warn(format!(
            "count {total} in {n_files} files; the figures known for {version} are \
             {e_total} in {e_files} files"
        )),
        None => r.note(format!("no known figures for {version}")),
    }
}

/// Runs `bvmig patch --no-helpers`: the helpers bvmig adds to
/// include/linux/bvec.h by default hold raw accesses of their own, which
/// would blur the accounting; `cargo xtask compile-check` covers them.
fn run_bvmig(bin: &Path, dir: &Path) -> Result<Output> {
    Command::new(bin)
        .args(["patch", "--no-helpers"])
        .arg(dir)
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("cannot run {}", bin.display()))
}

type FirstRun = (Summary, String, BTreeMap<String, bvmig::FileDiff>);

/// Checks the first run's accounting. Returns what later steps need, or
/// `None` when the output could not be read.
fn step_accounting(r: &mut Report, out: &Output, mine: &TreeCount) -> Result<Option<FirstRun>> {
    let stderr = String::from_utf8_lossy(&out.stderr);
    r.check(
        out.status.success(),
        format!("bvmig exits with 0 (got {})", out.status),
    );
    let summary = match bvmig::parse_stderr(&stderr) {
        Ok(s) => s,
        Err(e) => {
            r.check(false, format!("bvmig's stderr reads as documented: {e:#}"));
            return Ok(None);
        }
    };
    for line in stderr.lines().filter(|l| l.starts_with("bvmig: ")) {
        r.note(line);
    }
    r.check(
        summary.errors.is_empty(),
        format!("no bvmig errors ({} reported)", summary.errors.len()),
    );
    let Ok(diff_text) = String::from_utf8(out.stdout.clone()) else {
        r.check(false, "the diff is valid UTF-8");
        return Ok(None);
    };
    let diff = match bvmig::parse_diff(&diff_text, WORD) {
        Ok(d) => d,
        Err(e) => {
            r.check(false, format!("the diff reads as a unified diff: {e:#}"));
            return Ok(None);
        }
    };

    r.check(
        summary.n_walked == mine.n_files,
        format!(
            "files walked: bvmig {}, count {} (same walk filters)",
            summary.n_walked, mine.n_files
        ),
    );
    r.check(
        summary.n_sites == mine.total(),
        format!("sites: bvmig {}, count {}", summary.n_sites, mine.total()),
    );
    r.check(
        summary.n_rewritten + summary.n_left == summary.n_sites,
        format!(
            "rewritten + left = sites: {} + {} = {} (sites {})",
            summary.n_rewritten,
            summary.n_left,
            summary.n_rewritten + summary.n_left,
            summary.n_sites
        ),
    );
    r.check(
        summary.left.len() == summary.n_left,
        format!(
            "one stderr line per site left: {} lines, {} left",
            summary.left.len(),
            summary.n_left
        ),
    );
    r.check(
        diff.len() == summary.n_changed_files,
        format!(
            "files in the diff: {}, summary says {}",
            diff.len(),
            summary.n_changed_files
        ),
    );
    let n_rewritten_in_diff: i64 = diff
        .values()
        .map(|f| f.n_word_removed as i64 - f.n_word_added as i64)
        .sum();
    r.check(
        n_rewritten_in_diff == summary.n_rewritten as i64,
        format!(
            "the diff rewrites {n_rewritten_in_diff} (removed minus added), summary says {}",
            summary.n_rewritten
        ),
    );

    // bvmig prints no per-file site counts; they are what its diff
    // rewrites in a file plus what it leaves there.
    let left = summary.left_per_file();
    let mut theirs: BTreeMap<String, i64> = BTreeMap::new();
    for (name, f) in &diff {
        *theirs.entry(name.clone()).or_default() += f.n_word_removed as i64 - f.n_word_added as i64;
    }
    for (name, at) in &left {
        *theirs.entry(name.clone()).or_default() += at.len() as i64;
    }
    let names: BTreeSet<&String> = theirs.keys().chain(mine.files.keys()).collect();
    let differing: Vec<&String> = names
        .iter()
        .copied()
        .filter(|n| theirs.get(*n).copied().unwrap_or(0) != occurrences_in(mine, n).len() as i64)
        .collect();
    let n_theirs = theirs.values().filter(|&&n| n != 0).count();
    r.check(
        differing.is_empty(),
        format!(
            "sites per file agree ({} files with sites for bvmig, {} for the count, {} differ)",
            n_theirs,
            mine.files.len(),
            differing.len()
        ),
    );
    for name in differing.iter().take(MAX_LISTED) {
        let ours = occurrences_in(mine, name);
        r.note(format!(
            "{name}: bvmig {}, count {}",
            theirs.get(*name).copied().unwrap_or(0),
            ours.len()
        ));
        if !ours.is_empty() {
            r.note(format!("  counted at {}", positions(ours)));
        }
        if let Some(at) = left.get(*name) {
            r.note(format!("  bvmig left {}", positions(at)));
        }
    }
    if differing.len() > MAX_LISTED {
        r.note(format!("... and {} more", differing.len() - MAX_LISTED));
    }

    // Equal counts can hide two differences that cancel out, so compare
    // positions where bvmig gives them: a site left for a human must be an
    // occurrence the count finds, and in a file the diff leaves alone every
    // site is left, so the two lists must be the same.
    let mut misplaced = Vec::new();
    for name in &names {
        let ours = occurrences_in(mine, name);
        let at = left.get(*name).map_or(&[][..], |v| &v[..]);
        let only_bvmig = minus(at, ours);
        let only_count = if diff.contains_key(*name) {
            Vec::new()
        } else {
            minus(ours, at)
        };
        for o in only_bvmig {
            misplaced.push(format!(
                "{name}:{}:{}: left by bvmig, not an occurrence in code for the count",
                o.line, o.col
            ));
        }
        for o in only_count {
            misplaced.push(format!(
                "{name}:{}:{}: counted, but bvmig has no site there",
                o.line, o.col
            ));
        }
    }
    r.check(
        misplaced.is_empty(),
        format!(
            "sites left for a human are where the count finds occurrences ({} positions differ)",
            misplaced.len()
        ),
    );
    for m in misplaced.iter().take(MAX_LISTED) {
        r.note(m);
    }
    Ok(Some((summary, diff_text, diff)))
}

/// Copies the files the diff names into `scratch` and applies the diff
/// there. Returns whether it applied.
fn step_apply(
    r: &mut Report,
    tree: &Path,
    cache: &Path,
    scratch: &Path,
    diff_text: &str,
    names: &[String],
) -> Result<bool> {
    if !r.check(
        !names.is_empty(),
        format!("the diff names {} files", names.len()),
    ) {
        return Ok(false);
    }
    if scratch.exists() {
        fs::remove_dir_all(scratch)
            .with_context(|| format!("{}: cannot remove", scratch.display()))?;
    }
    for name in names {
        let dest = scratch.join(name);
        fs::create_dir_all(dest.parent().expect("a file in a folder"))
            .with_context(|| format!("{}: cannot create", dest.display()))?;
        fs::copy(tree.join(name), &dest)
            .with_context(|| format!("{name}: cannot copy into {}", scratch.display()))?;
    }
    // The patch lives next to the copy, not in it, so the idempotence run
    // sees only the patched sources.
    let mut patch_name = scratch.file_name().expect("a named folder").to_owned();
    patch_name.push(".patch");
    let patch = scratch.with_file_name(patch_name);
    fs::write(&patch, diff_text).with_context(|| format!("{}: cannot write", patch.display()))?;
    r.note(format!(
        "scratch copy {}, diff {}",
        scratch.display(),
        patch.display()
    ));

    // The cache could sit inside some repository; git must not go looking
    // for it, or it would read the diff's paths relative to that repo.
    let git = Command::new("git")
        .args(["apply", "--check", "-p1"])
        .arg(&patch)
        .current_dir(scratch)
        .env("GIT_CEILING_DIRECTORIES", cache)
        .stdin(Stdio::null())
        .output()
        .context("cannot run git")?;
    let git_ok = r.check(git.status.success(), "git apply --check -p1");
    show_output(r, &git, !git_ok);

    let dry = patch_cmd(scratch, &patch, true)?;
    let dry_ok = r.check(dry.status.success(), "patch -p1 --dry-run");
    show_output(r, &dry, !dry_ok);
    warn_on_inexact(r, &dry);

    let real = patch_cmd(scratch, &patch, false)?;
    let ok = r.check(real.status.success(), "patch -p1");
    show_output(r, &real, !ok);
    Ok(ok)
}

fn patch_cmd(dir: &Path, patch: &Path, dry_run: bool) -> Result<Output> {
    let mut cmd = Command::new("patch");
    // GNU patch asks its questions on the terminal, whatever stdin is, so
    // it must be told not to ask. --force rather than --batch: --batch
    // applies a patch that looks reversed in reverse, which would pass a
    // wrong diff; --force applies it as written and lets its hunks fail.
    cmd.args(["-p1", "--force", "-i"]).arg(patch);
    if dry_run {
        cmd.arg("--dry-run");
    }
    cmd.current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .context("cannot run patch")
}

fn show_output(r: &Report, out: &Output, always: bool) {
    if !always {
        return;
    }
    for line in String::from_utf8_lossy(&out.stdout)
        .lines()
        .chain(String::from_utf8_lossy(&out.stderr).lines())
        .take(MAX_LISTED)
    {
        r.note(line);
    }
}

/// A fresh diff of the files it was made from applies exactly; an offset
/// or fuzz means the hunks or their line numbers are wrong.
fn warn_on_inexact(r: &mut Report, out: &Output) {
    let text = String::from_utf8_lossy(&out.stdout);
    let inexact: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("offset") || l.contains("fuzz"))
        .collect();
    if !inexact.is_empty() {
        r.warn(format!("patch applied {} hunks inexactly", inexact.len()));
        for l in inexact.iter().take(MAX_LISTED) {
            r.note(l);
        }
    }
}

fn step_reparse(r: &mut Report, tree: &Path, scratch: &Path, names: &[String]) -> Result<()> {
    let mut counter = ErrorCounter::new()?;
    let (mut n_before, mut n_after) = (0, 0);
    let mut worse = Vec::new();
    let mut better = Vec::new();
    for name in names {
        let before = fs::read(tree.join(name)).with_context(|| format!("{name}: cannot read"))?;
        let after = fs::read(scratch.join(name))
            .with_context(|| format!("{name}: cannot read the patched copy"))?;
        let (b, a) = (counter.count(&before)?, counter.count(&after)?);
        n_before += b;
        n_after += a;
        if a > b {
            worse.push(format!("{name}: {b} -> {a}"));
        } else if a < b {
            better.push(format!("{name}: {b} -> {a}"));
        }
    }
    r.note(format!(
        "ERROR and MISSING nodes over {} files: {n_before} before, {n_after} after",
        names.len()
    ));
    r.check(
        worse.is_empty(),
        format!("no file has more parse errors after ({} have)", worse.len()),
    );
    for w in worse.iter().take(MAX_LISTED) {
        r.note(w);
    }
    if !better.is_empty() {
        r.note(format!(
            "{} files have fewer: {}",
            better.len(),
            better.join(", ")
        ));
    }
    Ok(())
}

fn step_idempotence(
    r: &mut Report,
    bin: &Path,
    scratch: &Path,
    names: &[String],
    first: &Summary,
) -> Result<()> {
    let out = run_bvmig(bin, scratch)?;
    r.check(
        out.status.success(),
        format!("bvmig exits with 0 (got {})", out.status),
    );
    let stdout_empty = r.check(
        out.stdout.is_empty(),
        format!(
            "bvmig patch on the patched copy prints no diff ({} bytes)",
            out.stdout.len()
        ),
    );
    if !stdout_empty {
        for l in String::from_utf8_lossy(&out.stdout)
            .lines()
            .take(MAX_LISTED)
        {
            r.note(l);
        }
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    let second = match bvmig::parse_stderr(&stderr) {
        Ok(s) => s,
        Err(e) => {
            r.check(false, format!("bvmig's stderr reads as documented: {e:#}"));
            return Ok(());
        }
    };
    for line in stderr.lines().filter(|l| l.starts_with("bvmig: ")) {
        r.note(line);
    }
    r.check(
        second.n_rewritten == 0,
        format!(
            "nothing rewritten on the second run ({})",
            second.n_rewritten
        ),
    );

    // After the rewrite, the only occurrences left in a patched file are
    // the sites bvmig left there: as many as the first run left, and at the
    // very positions the second run reports.
    let left_first = first.left_per_file();
    let left_second = second.left_per_file();
    let mut differing = Vec::new();
    for name in names {
        let ours = count::count_file(&scratch.join(name), WORD)?;
        let n_first = left_first.get(name).map_or(0, Vec::len);
        let at_second = left_second.get(name).map_or(&[][..], |v| &v[..]);
        if ours.len() != n_first || ours != at_second {
            differing.push(format!(
                "{name}: count {} [{}], left by the first run {n_first}, by the second {} [{}]",
                ours.len(),
                positions(&ours),
                at_second.len(),
                positions(at_second)
            ));
        }
    }
    r.check(
        differing.is_empty(),
        format!(
            "in each patched file, the count finds just the sites bvmig left ({} of {} differ)",
            differing.len(),
            names.len()
        ),
    );
    for d in differing.iter().take(MAX_LISTED) {
        r.note(d);
    }
    Ok(())
}

fn occurrences_in<'a>(mine: &'a TreeCount, name: &str) -> &'a [Occurrence] {
    mine.files.get(name).map_or(&[][..], |o| &o[..])
}

/// The elements of sorted `a` that sorted `b` lacks, counting repeats.
fn minus(a: &[Occurrence], b: &[Occurrence]) -> Vec<Occurrence> {
    let mut res = Vec::new();
    let mut j = 0;
    for x in a {
        while j < b.len() && b[j] < *x {
            j += 1;
        }
        if j < b.len() && b[j] == *x {
            j += 1;
        } else {
            res.push(*x);
        }
    }
    res
}

fn positions(at: &[Occurrence]) -> String {
    let v: Vec<String> = at.iter().map(|o| format!("{}:{}", o.line, o.col)).collect();
    v.join(" ")
}
