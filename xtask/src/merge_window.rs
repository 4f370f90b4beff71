//! `cargo xtask merge-window`: bvmig's kernel workflows on real history.
//!
//! A git repository is built from Debian's 6.1 and 6.12 trees, limited to
//! the C files that hold `bv_page` in code in either tree, plus
//! `include/linux/bvec.h` and `MAINTAINERS`:
//!
//! 1. `Linux 6.1`: 6.1's versions (tag `v6.1`);
//! 2. the conversion made by `bvmig patch --in-place` (tag `converted`);
//!    before it, `bvmig patch --series` writes the series for step f;
//! 3. 6.12 lands, two ways: `on-top` commits 6.12's versions of the files
//!    on top of the conversion (as the issue says; the conversion's lines
//!    are replaced too), and `merged` merges a branch `v6.12` (6.1 → 6.12)
//!    into the conversion with `git merge -X theirs`, as a merge window
//!    does (lines upstream did not touch stay converted).
//!
//! For each way, `bvmig check --since converted` must find exactly the raw
//! accesses on the lines added since the conversion, counted here apart
//! from bvmig: occurrences of the word in code (the counter of `cargo xtask
//! e2e`) on the `+` lines of `git diff -U0 converted` (the same definition
//! of "added" as `check`: git's), less those bvmig keeps raw by design and
//! `check` never reports: the member's declaration in `struct bio_vec`,
//! and accesses inside the bodies of the helpers the rule excludes
//! (`bvec_page()`, `bvec_set_page()`, `__bvec_set_page()`). `check --fix`
//! applied with `git apply` must then leave only the findings that have no
//! replacement (an address taken, a designated initializer, `offsetof`).
//!
//! Then `review`: over the series (nothing to report), which `git am` also
//! applies to a clone of `v6.1` to give the conversion's tree, and over the
//! `v6.1` commit as a patch (every line added: every site but those kept
//! raw by design must be reported).

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Instant;

use anyhow::{bail, Context, Result};

use crate::bvmig;
use crate::count::{self, Occurrence};
use crate::kernel;
use crate::report::Report;

const WORD: &str = "bv_page";

/// Functions whose bodies the rule excludes (`fn != {...}` in
/// rules/bv_page-modern.cocci, which both Debian trees get).
const EXCLUDED_FUNCTIONS: &[&str] = &["bvec_page", "bvec_set_page", "__bvec_set_page"];

/// A site: file, line, column.
type Site = (String, usize, usize);

/// Runs `git` in `dir` isolated from the user's configuration; its stdout.
fn git(dir: &Path, args: &[&str]) -> Result<String> {
    let out = git_output(dir, args)?;
    if !out.status.success() {
        bail!(
            "{}: git {} failed: {}",
            dir.display(),
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn git_output(dir: &Path, args: &[&str]) -> Result<Output> {
    isolated(Command::new("git").args(args).current_dir(dir))
        .output()
        .with_context(|| format!("cannot run git {}", args.join(" ")))
}

/// The environment every git and bvmig run gets: no user or system
/// configuration, a fixed author and date.
fn isolated(cmd: &mut Command) -> &mut Command {
    cmd.stdin(Stdio::null())
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_AUTHOR_NAME", "Merge Window")
        .env("GIT_AUTHOR_EMAIL", "mw@example.org")
        .env("GIT_COMMITTER_NAME", "Merge Window")
        .env("GIT_COMMITTER_EMAIL", "mw@example.org")
        .env("GIT_AUTHOR_DATE", "2024-11-17T12:00:00Z")
        .env("GIT_COMMITTER_DATE", "2024-11-17T12:00:00Z")
        .env("LC_ALL", "C")
        .env_remove("NO_COLOR")
        .env_remove("CLICOLOR_FORCE")
}

fn run_bvmig(bin: &Path, dir: &Path, args: &[&str], stdin: Option<&[u8]>) -> Result<Output> {
    use std::io::Write;
    let mut cmd = Command::new(bin);
    isolated(cmd.args(args).current_dir(dir));
    let out = match stdin {
        None => cmd.output(),
        Some(input) => {
            let mut child = cmd
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .with_context(|| format!("cannot run {}", bin.display()))?;
            child.stdin.take().expect("piped").write_all(input)?;
            child.wait_with_output()
        }
    };
    out.with_context(|| format!("cannot run bvmig {}", args.join(" ")))
}

/// Copies the `names` that exist below `from` into `to`, creating folders.
fn copy_files(from: &Path, to: &Path, names: &BTreeSet<String>) -> Result<usize> {
    let mut n = 0;
    for name in names {
        let src = from.join(name);
        if !src.is_file() {
            continue;
        }
        let dst = to.join(name);
        fs::create_dir_all(dst.parent().expect("a file has a parent"))?;
        fs::copy(&src, &dst).with_context(|| format!("{}: cannot copy", src.display()))?;
        n += 1;
    }
    Ok(n)
}

/// Runs the task; `Ok(false)` when a check failed.
pub fn run() -> Result<bool> {
    let all = Instant::now();
    let mut r = Report::default();
    println!("== build bvmig, get the 6.1 and 6.12 trees");
    let bin = bvmig::build()?;
    let old = kernel::tree("6.1")?;
    let new = kernel::tree("6.12")?;

    println!("== the files: C files with {WORD} in code in either tree, include/linux/bvec.h, MAINTAINERS");
    let t = Instant::now();
    let c_old = count::count_tree(&old, WORD)?;
    let c_new = count::count_tree(&new, WORD)?;
    let mut names: BTreeSet<String> = c_old.files.keys().cloned().collect();
    names.extend(c_new.files.keys().cloned());
    names.insert("include/linux/bvec.h".to_string());
    names.insert("MAINTAINERS".to_string());
    r.note(format!(
        "6.1: {} occurrences in {} files; 6.12: {} in {} files; {} files in all ({:.1} s)",
        c_old.total(),
        c_old.files.len(),
        c_new.total(),
        c_new.files.len(),
        names.len(),
        t.elapsed().as_secs_f64()
    ));

    println!("== a repository: Linux 6.1, the conversion, then 6.12 on top and merged");
    let work = kernel::cache_dir()?.join("merge-window");
    if work.exists() {
        fs::remove_dir_all(&work).with_context(|| format!("{}: cannot remove", work.display()))?;
    }
    let repo = work.join("repo");
    let series = work.join("series");
    fs::create_dir_all(&repo)?;
    git(&repo, &["init", "-q", "-b", "master"])?;
    git(&repo, &["config", "user.name", "Merge Window"])?;
    git(&repo, &["config", "user.email", "mw@example.org"])?;
    let n = copy_files(&old, &repo, &names)?;
    git(&repo, &["add", "-A"])?;
    git(&repo, &["commit", "-qm", "Linux 6.1"])?;
    git(&repo, &["tag", "v6.1"])?;
    r.note(format!("v6.1: {n} files"));

    let out = run_bvmig(
        &bin,
        &repo,
        &[
            "patch",
            "--series",
            series.to_str().expect("UTF-8 path"),
            "-q",
        ],
        None,
    )?;
    r.check(
        out.status.success(),
        format!(
            "bvmig patch --series {} on v6.1{}",
            series.display(),
            stderr_if_failed(&out)
        ),
    );
    let out = run_bvmig(&bin, &repo, &["patch", "--in-place"], None)?;
    if !r.check(
        out.status.success(),
        format!("bvmig patch --in-place on v6.1{}", stderr_if_failed(&out)),
    ) {
        return Ok(finish(&r, all));
    }
    let summary = String::from_utf8_lossy(&out.stderr);
    for line in summary.lines().filter(|l| l.starts_with("bvmig: ")) {
        r.note(line);
    }
    git(&repo, &["add", "-A"])?;
    git(
        &repo,
        &[
            "commit",
            "-qm",
            "treewide: use bvec_page() and the bvec_set_page() helpers",
        ],
    )?;
    git(&repo, &["tag", "converted"])?;

    // Upstream: 6.1 → 6.12, on a branch from v6.1.
    git(&repo, &["checkout", "-q", "-b", "v6.12", "v6.1"])?;
    git(&repo, &["rm", "-rq", "."])?;
    let n = copy_files(&new, &repo, &names)?;
    git(&repo, &["add", "-A"])?;
    git(&repo, &["commit", "-qm", "Linux 6.12"])?;
    r.note(format!("v6.12: {n} files"));

    // As the issue says: 6.12's versions committed on top of the conversion.
    git(&repo, &["checkout", "-q", "-b", "on-top", "converted"])?;
    git(&repo, &["read-tree", "-u", "--reset", "v6.12"])?;
    git(&repo, &["commit", "-qm", "Linux 6.12, its versions on top"])?;
    // As a merge window lands: 6.12 merged into the conversion.
    git(&repo, &["checkout", "-q", "-b", "merged", "converted"])?;
    let merge = git_output(
        &repo,
        &["merge", "-q", "--no-edit", "-X", "theirs", "v6.12"],
    )?;
    if !merge.status.success() {
        // -X theirs settles conflicting hunks, not a file that one side
        // deleted: upstream's side wins there too.
        let unmerged = git(&repo, &["diff", "--name-only", "--diff-filter=U"])?;
        let mut n = 0;
        for path in unmerged.lines() {
            let upstream = git_output(&repo, &["cat-file", "-e", &format!("v6.12:{path}")])?;
            if upstream.status.success() {
                git(&repo, &["checkout", "--theirs", "--", path])?;
                git(&repo, &["add", "--", path])?;
            } else {
                git(&repo, &["rm", "-q", "--", path])?;
            }
            n += 1;
        }
        r.note(format!(
            "the merge left {n} files unmerged (deleted on one side); took v6.12's side"
        ));
        let commit = git_output(&repo, &["commit", "-q", "--no-edit"])?;
        if !r.check(
            commit.status.success(),
            format!(
                "git merge -X theirs v6.12 into the conversion{}",
                stderr_if_failed(&commit)
            ),
        ) {
            return Ok(finish(&r, all));
        }
    }

    for branch in ["on-top", "merged"] {
        println!("== {branch}: check --since converted, then --fix");
        git(&repo, &["checkout", "-q", branch])?;
        since_and_fix(&mut r, &bin, &repo, branch)?;
        git(&repo, &["reset", "-q", "--hard"])?;
    }

    println!("== review");
    git(&repo, &["checkout", "-q", "v6.1"])?;
    review(&mut r, &bin, &repo, &work, &series)?;

    Ok(finish(&r, all))
}

fn stderr_if_failed(out: &Output) -> String {
    if out.status.success() {
        String::new()
    } else {
        format!(
            " (exit {}: {})",
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stderr).trim()
        )
    }
}

/// `check --since converted` against the independent count, then `--fix`.
fn since_and_fix(r: &mut Report, bin: &Path, repo: &Path, branch: &str) -> Result<()> {
    let expected = expected_stragglers(repo, "converted")?;
    r.note(format!(
        "independently: {} occurrences of {WORD} in code on lines added since the conversion, {} of them kept raw by design",
        expected.on_added,
        expected.by_design.len()
    ));
    for (site, why) in &expected.by_design {
        r.note(format!(
            "  kept raw: {}:{}:{}: {why}",
            site.0, site.1, site.2
        ));
    }
    let t = Instant::now();
    let out = run_bvmig(bin, repo, &["check", "--since", "converted"], None)?;
    let took = t.elapsed();
    let found = read_findings(&String::from_utf8_lossy(&out.stdout))?;
    let found_sites: BTreeSet<Site> = found.iter().map(|f| f.site.clone()).collect();
    r.note(format!(
        "check found {} ({} with a replacement) in {:.2} s; {}",
        found.len(),
        found.iter().filter(|f| f.fixable).count(),
        took.as_secs_f64(),
        String::from_utf8_lossy(&out.stderr)
            .lines()
            .find(|l| l.contains("added since"))
            .unwrap_or("")
    ));
    let want: BTreeSet<Site> = expected.stragglers.iter().cloned().collect();
    list_difference(r, "found by check only", &found_sites, &want);
    list_difference(r, "counted only", &want, &found_sites);
    r.check(
        out.status.code() == Some(if want.is_empty() { 0 } else { 1 })
            && found_sites == want
            && found.len() == found_sites.len(),
        format!(
            "{branch}: check --since converted finds exactly the {} raw accesses on added lines",
            want.len()
        ),
    );
    let blamed = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.contains(": note: added in "))
        .count();
    r.check(
        blamed == found.len(),
        format!("{branch}: each of them names the commit that added it ({blamed})"),
    );

    let out = run_bvmig(
        bin,
        repo,
        &["check", "--since", "converted", "--fix", "-q"],
        None,
    )?;
    let apply = {
        use std::io::Write;
        let mut child = isolated(
            Command::new("git")
                .args(["apply", "--whitespace=nowarn", "-"])
                .current_dir(repo),
        )
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
        child.stdin.take().expect("piped").write_all(&out.stdout)?;
        child.wait_with_output()?
    };
    if !r.check(
        apply.status.success(),
        format!(
            "{branch}: git apply takes the fix ({} bytes){}",
            out.stdout.len(),
            stderr_if_failed(&apply)
        ),
    ) {
        return Ok(());
    }
    let after = run_bvmig(bin, repo, &["check", "--since", "converted"], None)?;
    let left = read_findings(&String::from_utf8_lossy(&after.stdout))?;
    let n_unfixable = found.iter().filter(|f| !f.fixable).count();
    let mut kinds_before: Vec<&str> = found
        .iter()
        .filter(|f| !f.fixable)
        .map(|f| f.kind.as_str())
        .collect();
    let mut kinds_after: Vec<&str> = left.iter().map(|f| f.kind.as_str()).collect();
    kinds_before.sort_unstable();
    kinds_after.sort_unstable();
    r.check(
        left.iter().all(|f| !f.fixable) && kinds_after == kinds_before,
        format!(
            "{branch}: after check --fix, only the {n_unfixable} without a replacement are left ({})",
            kinds_after.join(", ")
        ),
    );
    Ok(())
}

fn list_difference(r: &Report, what: &str, a: &BTreeSet<Site>, b: &BTreeSet<Site>) {
    let only: Vec<&Site> = a.difference(b).collect();
    for s in only.iter().take(20) {
        r.note(format!("  {what}: {}:{}:{}", s.0, s.1, s.2));
    }
    if only.len() > 20 {
        r.note(format!("  ... and {} more {what}", only.len() - 20));
    }
}

/// One `file:line:col: warning: kind: message` line of `check`.
struct Found {
    site: Site,
    kind: String,
    fixable: bool,
}

fn read_findings(text: &str) -> Result<Vec<Found>> {
    let mut out = Vec::new();
    for line in text.lines() {
        let Some((at, rest)) = line.split_once(": warning: ") else {
            continue;
        };
        let mut it = at.rsplitn(3, ':');
        let (Some(col), Some(l), Some(file)) = (it.next(), it.next(), it.next()) else {
            bail!("unexpected finding line {line:?}");
        };
        let (kind, msg) = rest
            .split_once(": ")
            .with_context(|| format!("unexpected finding line {line:?}"))?;
        out.push(Found {
            site: (file.to_string(), l.parse()?, col.parse()?),
            kind: kind.to_string(),
            fixable: msg.starts_with("use "),
        });
    }
    Ok(out)
}

/// What the independent count expects from `check --since REV`.
struct Expected {
    /// Occurrences in code on added lines.
    on_added: usize,
    /// Of those, the ones the rule keeps raw, with why.
    by_design: Vec<(Site, String)>,
    /// The others: what `check` must report.
    stragglers: Vec<Site>,
}

/// Counts, in the work tree of `repo`, the occurrences on lines added since
/// `rev` (git diff -U0, as check reads it).
fn expected_stragglers(repo: &Path, rev: &str) -> Result<Expected> {
    let diff = git(
        repo,
        &["diff", "-U0", "--no-color", "--no-ext-diff", rev, "--"],
    )?;
    let added = added_lines(&diff);
    let mut res = Expected {
        on_added: 0,
        by_design: Vec::new(),
        stragglers: Vec::new(),
    };
    for (file, lines) in &added {
        if !file.ends_with(".c") && !file.ends_with(".h") {
            continue;
        }
        let text = fs::read(repo.join(file)).with_context(|| format!("{file}: cannot read"))?;
        let kept = kept_raw(&text);
        for Occurrence { line, col } in count::occurrences(&text, WORD.as_bytes(), &mut Vec::new())
        {
            if !lines.contains(&line) {
                continue;
            }
            res.on_added += 1;
            let site = (file.clone(), line, col);
            match kept.iter().find(|(l, _)| *l == line) {
                Some((_, why)) => res.by_design.push((site, why.clone())),
                None => res.stragglers.push(site),
            }
        }
    }
    Ok(res)
}

/// Added line numbers per file in a `git diff -U0` (the `+` side of each
/// hunk header).
fn added_lines(diff: &str) -> BTreeMap<String, BTreeSet<usize>> {
    let mut out: BTreeMap<String, BTreeSet<usize>> = BTreeMap::new();
    let mut file: Option<String> = None;
    for line in diff.lines() {
        if line.starts_with("diff --git ") {
            file = None;
        } else if let Some(p) = line.strip_prefix("+++ ") {
            file = p.strip_prefix("b/").map(str::to_string);
        } else if let (Some(f), Some(rest)) = (&file, line.strip_prefix("@@ -")) {
            let Some(plus) = rest.split(' ').nth(1).and_then(|p| p.strip_prefix('+')) else {
                continue;
            };
            let (start, n) = match plus.split_once(',') {
                Some((s, n)) => (s.parse().unwrap_or(0), n.parse().unwrap_or(0)),
                None => (plus.parse().unwrap_or(0), 1),
            };
            out.entry(f.clone()).or_default().extend(start..start + n);
        }
    }
    out
}

/// Lines where the rule keeps the field raw by design: the member's
/// declaration in `struct bio_vec`, and the bodies of the excluded
/// helpers (a line starting `static inline` or `static __always_inline`
/// that names one followed by `(`, to the `}` that closes its body).
fn kept_raw(text: &[u8]) -> Vec<(usize, String)> {
    let text = String::from_utf8_lossy(text);
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    let mut in_bio_vec = false;
    let mut i = 0;
    while i < lines.len() {
        let l = lines[i];
        let squeezed: String = l.chars().filter(|c| !c.is_whitespace()).collect();
        if squeezed.starts_with("structbio_vec{") {
            in_bio_vec = true;
        } else if in_bio_vec && squeezed.starts_with('}') {
            in_bio_vec = false;
        } else if in_bio_vec && squeezed == format!("structpage*{WORD};") {
            out.push((i + 1, "the member's declaration".to_string()));
        }
        let is_def = l.starts_with("static inline") || l.starts_with("static __always_inline");
        let name = EXCLUDED_FUNCTIONS
            .iter()
            .find(|n| is_def && names_call(l, n));
        if let Some(name) = name {
            // From the line with the opening brace to the matching close.
            let mut depth = 0usize;
            let mut opened = false;
            let mut j = i;
            while j < lines.len() {
                for c in lines[j].chars() {
                    match c {
                        '{' => {
                            depth += 1;
                            opened = true;
                        }
                        '}' => depth = depth.saturating_sub(1),
                        ';' if !opened => break,
                        _ => {}
                    }
                }
                if opened {
                    out.push((j + 1, format!("in the body of {name}()")));
                }
                if (opened && depth == 0) || (!opened && lines[j].trim_end().ends_with(';')) {
                    break;
                }
                j += 1;
            }
            i = j;
        }
        i += 1;
    }
    out
}

/// True when `line` has `name(` with `name` a whole word.
fn names_call(line: &str, name: &str) -> bool {
    line.match_indices(&format!("{name}(")).any(|(at, _)| {
        at == 0 || {
            let b = line.as_bytes()[at - 1];
            !(b.is_ascii_alphanumeric() || b == b'_')
        }
    })
}

/// `review` over the series and over `v6.1` as a patch.
fn review(r: &mut Report, bin: &Path, repo: &Path, work: &Path, series: &Path) -> Result<()> {
    let mut files: Vec<PathBuf> = fs::read_dir(series)
        .with_context(|| format!("{}: cannot list", series.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    files.sort();
    let mut mbox = Vec::new();
    for f in &files {
        mbox.extend(fs::read(f)?);
    }
    r.note(format!(
        "the series: {} mails, {} bytes",
        files.len(),
        mbox.len()
    ));
    // review does not choose the rule by the tree: give it the one the
    // series was made with.
    let rule = modern_rule();
    let rule = rule.to_str().expect("UTF-8 path");
    let out = run_bvmig(bin, repo, &["review", "--rule", rule, "-"], Some(&mbox))?;
    r.check(
        out.status.code() == Some(0) && out.stdout.is_empty(),
        format!(
            "review of the series from the hunks alone reports nothing{}",
            stderr_if_failed(&out)
        ),
    );
    let out = run_bvmig(
        bin,
        repo,
        &["review", "--rule", rule, "--tree", ".", "-"],
        Some(&mbox),
    )?;
    r.check(
        out.status.code() == Some(0) && out.stdout.is_empty(),
        format!(
            "review --tree v6.1 of the series reports nothing{}",
            stderr_if_failed(&out)
        ),
    );

    // git am takes the series on a clone of v6.1 and gives the conversion.
    let clone = work.join("am");
    git(work, &["clone", "-q", "--branch", "v6.1", "repo", "am"])?;
    let mut args = vec!["am", "-q", "--empty=drop"];
    let paths: Vec<String> = files.iter().map(|f| f.display().to_string()).collect();
    args.extend(paths.iter().map(String::as_str));
    let am = git_output(&clone, &args)?;
    let same = am.status.success()
        && git(&clone, &["rev-parse", "HEAD^{tree}"])?
            == git(repo, &["rev-parse", "converted^{tree}"])?;
    r.check(
        same,
        format!(
            "git am of the series on v6.1 gives the tree of patch --in-place{}",
            stderr_if_failed(&am)
        ),
    );
    if same {
        // Each diffstat as git writes it for the commit git am made.
        let mut differ = Vec::new();
        for (k, f) in files[1..].iter().rev().enumerate() {
            let mail = fs::read_to_string(f)?;
            let stat = mail
                .split("\n---\n")
                .nth(1)
                .and_then(|s| s.split("\n\ndiff --git").next())
                .unwrap_or("");
            let want = git(
                &clone,
                &["show", "--stat=72", "--format=", &format!("HEAD~{k}")],
            )?;
            if format!("{stat}\n") != want {
                differ.push(f.display().to_string());
            }
        }
        let whole = git(&clone, &["diff", "--stat=72", "v6.1", "HEAD"])?;
        let cover = fs::read_to_string(&files[0])?;
        if !cover.contains(&format!("\n\n{whole}\n")) {
            differ.push(files[0].display().to_string());
        }
        for d in &differ {
            r.note(format!("  diffstat differs from git's: {d}"));
        }
        r.check(
            differ.is_empty(),
            format!("the {} diffstats are git's", files.len()),
        );
    }

    // v6.1 as one patch: every line is added, every site must be reported.
    let mbox = git(repo, &["format-patch", "--root", "-1", "v6.1", "--stdout"])?;
    let t = Instant::now();
    let out = run_bvmig(
        bin,
        repo,
        &["review", "--rule", rule, "-"],
        Some(mbox.as_bytes()),
    )?;
    let took = t.elapsed();
    let found = read_findings(&String::from_utf8_lossy(&out.stdout))?;
    let found_sites: BTreeSet<Site> = found.iter().map(|f| f.site.clone()).collect();
    let mut want = BTreeSet::new();
    let mut n_total = 0;
    let mut n_kept = 0;
    for name in git(repo, &["ls-files", "*.c", "*.h"])?.lines() {
        let text = fs::read(repo.join(name))?;
        let kept = kept_raw(&text);
        for o in count::occurrences(&text, WORD.as_bytes(), &mut Vec::new()) {
            n_total += 1;
            if kept.iter().any(|(l, _)| *l == o.line) {
                n_kept += 1;
            } else {
                want.insert((name.to_string(), o.line, o.col));
            }
        }
    }
    r.note(format!(
        "v6.1 as a patch ({} bytes): {n_total} occurrences in code, {n_kept} kept raw by design; review found {} in {:.2} s",
        mbox.len(),
        found.len(),
        took.as_secs_f64()
    ));
    list_difference(r, "found by review only", &found_sites, &want);
    list_difference(r, "counted only", &want, &found_sites);
    r.check(
        out.status.code() == Some(1) && found_sites == want,
        format!(
            "review of v6.1 as a patch reports every site ({} of {n_total}; the other {n_kept} kept raw by design)",
            want.len()
        ),
    );
    Ok(())
}

/// The rule `patch` chooses for both Debian trees.
fn modern_rule() -> PathBuf {
    bvmig::workspace_root().join("rules/bv_page-modern.cocci")
}

fn finish(r: &Report, all: Instant) -> bool {
    let verdict = if r.failed.is_empty() { "PASS" } else { "FAIL" };
    println!(
        "merge-window: {verdict}: {} checks, {} failed ({:.1} s)",
        r.n_checks,
        r.failed.len(),
        all.elapsed().as_secs_f64()
    );
    for f in &r.failed {
        println!("      failed: {f}");
    }
    r.failed.is_empty()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn added_lines_from_the_plus_side() {
        let diff = "diff --git a/x.c b/x.c\n--- a/x.c\n+++ b/x.c\n@@ -3,0 +4,2 @@ f\n+a\n+b\n@@ -9 +11 @@\n-c\n+d\n@@ -20,2 +21,0 @@\n-e\n-f\ndiff --git a/gone.c b/gone.c\n--- a/gone.c\n+++ /dev/null\n@@ -1 +0,0 @@\n-x\n";
        let got = added_lines(diff);
        assert_eq!(got.len(), 1);
        assert_eq!(
            got["x.c"].iter().copied().collect::<Vec<_>>(),
            vec![4, 5, 11]
        );
    }

    #[test]
    fn kept_raw_finds_the_declaration_and_the_excluded_bodies() {
        let text = b"struct bio_vec {\n\tstruct page\t*bv_page;\n\tunsigned int bv_len;\n};\n\nstatic inline void bvec_set_page(struct bio_vec *bv, struct page *page,\n\t\tunsigned int len, unsigned int offset)\n{\n\tbv->bv_page = page;\n}\n\nstatic inline struct page *bvec_page(const struct bio_vec *bv);\nstatic inline void other(struct bio_vec *bv)\n{\n\tbv->bv_page = 0;\n}\n";
        let kept: Vec<usize> = kept_raw(text).iter().map(|(l, _)| *l).collect();
        assert_eq!(kept, vec![2, 8, 9, 10]);
    }

    #[test]
    fn findings_are_read_from_check_text() {
        let f = read_findings("a/b.c:3:9: warning: read: use bvec_page(bv)\na/b.c:3:9: note: added in 1 (\"x\") by A <a@b>\nc.c:1:2: warning: address: its address is taken\n").unwrap();
        assert_eq!(f.len(), 2);
        assert_eq!(f[0].site, ("a/b.c".to_string(), 3, 9));
        assert!(f[0].fixable && !f[1].fixable);
        assert_eq!(f[1].kind, "address");
    }
}
