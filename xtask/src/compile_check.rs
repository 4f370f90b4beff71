//! `cargo xtask compile-check`: proof that `bvmig patch` gives a kernel that
//! compiles. On a copy of a Debian kernel tree configured with `make
//! defconfig` and `make prepare`, every `.c` file the patch (helpers
//! included, as by default) touches is compiled (`make path/file.o`) before
//! and after the patch is applied: a file that built before must build
//! after, with no more warnings. Kbuild compiles a single object whatever
//! the configuration, so files defconfig does not select are tried too;
//! those that fail before the patch (another architecture's headers,
//! options defconfig leaves off) are counted and listed.
//!
//! Then the second step, `rules/bv_pfn.cocci` (struct bio_vec carries a
//! pfn_t; the helpers convert), on the patched tree's files that name
//! `bv_page` or `bio_vec`. `bvmig check` lists
//! the raw accesses left after both steps; each of them in a built file
//! must be a compile error, and every compile error must be at one of
//! them: the files the first patch touched, those that hold a site it
//! left, and those the second patch touches are compiled again, and each
//! error, followed through the macro expansions GCC notes, must name the
//! line of a site left. Anything else fails. bvmig adds `#include
//! <linux/pfn_t.h>` to a file that starts calling the pfn_t functions;
//! should `include/linux/bvec.h` still lack it, the line is added as a
//! stand-in to compile the rest, said so, and the run fails for it.
//!
//! The kernel's build needs flex, bison, bc, libelf-dev and libssl-dev;
//! missing ones are installed from Debian's packages.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{bail, Context, Result};

use crate::bvmig;
use crate::count;
use crate::kernel;

const MARKER: &str = ".bvmig-prepared";
/// The patches applied to the tree, recorded so that an interrupted run
/// is undone by the next one, last applied first.
const APPLIED: &str = ".bvmig-applied.patch";
const APPLIED_PFN: &str = ".bvmig-applied-bv_pfn.patch";
const APPLIED_STAND_IN: &str = ".bvmig-applied-stand-in.patch";
/// The phys path's three patches, in the order they are applied.
const APPLIED_PHYS: [&str; 3] = [
    ".bvmig-applied-phys-1-helpers.patch",
    ".bvmig-applied-phys-2-bv_offset.patch",
    ".bvmig-applied-phys-3-bv_phys.patch",
];
const BVEC_H: &str = "include/linux/bvec.h";
const BUILD_DEPS: &[(&str, &str)] = &[
    ("flex", "flex"),
    ("bison", "bison"),
    ("bc", "bc"),
    ("/usr/include/libelf.h", "libelf-dev"),
    ("/usr/include/openssl/ssl.h", "libssl-dev"),
];

/// How one file fared in one build.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Build {
    /// Compiled; its warnings (`file:line:col: warning: ...`, positions cut).
    Built(Vec<String>),
    /// defconfig does not build it (make has no rule for it).
    NotConfigured,
    /// It did not compile: its errors.
    Failed(Vec<CompileError>),
}

/// A compiler error with the places it names: its own, and those of the
/// macro definitions and expansions GCC notes after it (an error inside
/// `offsetof()` is reported in `include/linux/stddef.h`, and the notes lead
/// to the line that used it).
#[derive(Debug, Clone, PartialEq, Eq)]
struct CompileError {
    /// The error line as the compiler printed it.
    text: String,
    /// `(file, line)` of the error and of its notes.
    at: Vec<(String, usize)>,
}

/// The configured copy of the tree compile-check (and `xtask sparse`)
/// builds in.
pub fn work_dir(version: &str) -> Result<PathBuf> {
    Ok(kernel::cache_dir()?.join(format!("compile-check-{}", kernel::name(version))))
}

/// Which conversion path to check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Both: the pfn path, then the phys path.
    All,
    /// bvmig's default patch, then `rules/bv_pfn.cocci`.
    Pfn,
    /// The idioms and helpers, `rules/bv_offset.cocci`, then
    /// `rules/bv_phys.cocci`.
    Phys,
}

/// `only`: path prefixes; when not empty, only the touched files under
/// them are compiled (the conversion still runs on the whole tree).
pub fn run(version: &str, phase: Phase, only: &[String]) -> Result<bool> {
    install_build_deps()?;
    let bin = bvmig::build()?;
    let tree = kernel::tree(version)?;
    let work = work_dir(version)?;
    prepare(&tree, &work)?;
    let pfn_ok = if phase == Phase::Phys {
        true
    } else {
        pfn_path(&bin, &work)?
    };
    let phys_ok = if phase == Phase::Pfn {
        true
    } else {
        let res = phys_path(&bin, &work, only);
        // Whatever happened, the tree goes back to what it was.
        undo_applied(&work, &APPLIED_PHYS)?;
        res?
    };
    Ok(pfn_ok && phys_ok)
}

/// The pfn path: bvmig's default patch, compiled before and after, then
/// the bv_pfn step.
fn pfn_path(bin: &Path, work: &Path) -> Result<bool> {
    let (bin, work) = (bin.to_path_buf(), work.to_path_buf());

    let out = Command::new(&bin)
        .args(["patch", "."])
        .current_dir(&work)
        .output()
        .context("run bvmig")?;
    if out.status.code() != Some(0) {
        bail!(
            "bvmig patch failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    for line in stderr.lines().filter(|l| l.starts_with("bvmig: rule")) {
        println!("      {line}");
    }
    let summary = bvmig::parse_stderr(&stderr)?;
    let diff = out.stdout;
    let files = diff_files(&diff);
    let c_files: Vec<&String> = files.iter().filter(|f| f.ends_with(".c")).collect();
    // Files that hold a site the patch leaves but that it does not touch:
    // unchanged by the first step, compiled for the second.
    let mut extra: Vec<String> = summary
        .left
        .iter()
        .map(|(f, _)| f.clone())
        .filter(|f| f.ends_with(".c") && !files.contains(f))
        .collect();
    extra.dedup();
    println!(
        "compile-check: {} files in the patch, {} of them .c files; {} more .c files hold sites it leaves",
        files.len(),
        c_files.len(),
        extra.len()
    );

    let t = Instant::now();
    let before: BTreeMap<&str, Build> = c_files
        .iter()
        .map(|f| f.as_str())
        .chain(extra.iter().map(String::as_str))
        .map(|f| (f, build(&work, f)))
        .collect();
    println!("      before: {:.0} s", t.elapsed().as_secs_f64());
    fs::write(work.join(APPLIED), &diff)?;
    patch(&work, &diff, false)?;
    let t = Instant::now();
    let after: BTreeMap<&str, Build> = c_files
        .iter()
        .map(|f| (f.as_str(), build(&work, f)))
        .collect();
    println!("      after:  {:.0} s", t.elapsed().as_secs_f64());

    let mut ok = true;
    let (mut n_built, mut not_configured) = (0, Vec::new());
    for f in &c_files {
        let f = f.as_str();
        match (&before[f], &after[f]) {
            (Build::NotConfigured, _) => not_configured.push(f),
            (Build::Failed(e), _) => {
                not_configured.push(f);
                println!(
                    "WARN  {f}: does not build with defconfig, before the patch: {}",
                    e.first().map_or("", |e| e.text.as_str())
                );
            }
            (Build::Built(wb), Build::Built(wa)) => {
                n_built += 1;
                let new: Vec<&String> = wa.iter().filter(|w| !wb.contains(w)).collect();
                if !new.is_empty() {
                    ok = false;
                    println!("FAIL  {f}: new warnings after the patch:");
                    for w in new {
                        println!("        {w}");
                    }
                }
            }
            (Build::Built(_), other) => {
                ok = false;
                println!("FAIL  {f}: built before the patch, not after: {other:?}");
            }
        }
    }
    println!(
        "{}  {n_built} touched .c files compiled before and after the patch",
        if ok { "PASS" } else { "FAIL" }
    );
    println!(
        "      {} touched .c files do not build with defconfig (another architecture, \
         or options it leaves off), before the patch as after: {}",
        not_configured.len(),
        not_configured.join(" ")
    );

    let res = bv_pfn_step(&bin, &work, &before);
    // Whatever happened, the tree goes back to what it was.
    for marker in [APPLIED_STAND_IN, APPLIED_PFN] {
        if work.join(marker).exists() {
            patch(&work, &fs::read(work.join(marker))?, true)?;
            fs::remove_file(work.join(marker))?;
        }
    }
    patch(&work, &diff, true)?;
    fs::remove_file(work.join(APPLIED))?;
    Ok(res? && ok)
}

/// The files a `diff --git` patch names.
fn diff_files(diff: &[u8]) -> Vec<String> {
    String::from_utf8_lossy(diff)
        .lines()
        .filter_map(|l| l.strip_prefix("diff --git a/"))
        .filter_map(|l| l.split(" b/").next())
        .map(str::to_string)
        .collect()
}

/// The second phase, on `work` with the first patch applied; `before`
/// holds the builds of the original tree. Leaves the patches it applies
/// recorded in [`APPLIED_PFN`] and [`APPLIED_STAND_IN`].
fn bv_pfn_step(bin: &Path, work: &Path, before: &BTreeMap<&str, Build>) -> Result<bool> {
    let rule = bvmig::workspace_root().join("rules/bv_pfn.cocci");
    // The rule has no prefilter yet (rules/README.md, "The bv_pfn step"),
    // and parsing the whole tree takes minutes; every fragment of it names
    // bv_page or struct bio_vec, so a file without either word cannot
    // change.
    let mut holders: Vec<String> = Vec::new();
    for word in ["bv_page", "bio_vec"] {
        holders.extend(count::count_tree(work, word)?.files.into_keys());
    }
    holders.sort_unstable();
    holders.dedup();
    println!(
        "compile-check: bvmig patch --rule rules/bv_pfn.cocci on the {} files that name bv_page or bio_vec",
        holders.len()
    );
    let out = Command::new(bin)
        .args(["patch", "--rule"])
        .arg(&rule)
        .args(&holders)
        .current_dir(work)
        .output()
        .context("run bvmig")?;
    if out.status.code() != Some(0) {
        bail!(
            "bvmig patch --rule rules/bv_pfn.cocci failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let summary = bvmig::parse_stderr(&String::from_utf8_lossy(&out.stderr))?;
    let pfn_diff = out.stdout;
    let pfn_files = diff_files(&pfn_diff);
    println!(
        "      {} files changed: {}; {} sites reported",
        pfn_files.len(),
        pfn_files.join(" "),
        summary.n_sites
    );
    fs::write(work.join(APPLIED_PFN), &pfn_diff)?;
    patch(work, &pfn_diff, false)?;

    let bvec_h = fs::read_to_string(work.join(BVEC_H)).with_context(|| BVEC_H.to_string())?;
    let stand_in = pfn_t_include(&bvec_h);
    if let Some(stand_in) = &stand_in {
        println!(
            "FAIL  {BVEC_H}: calls pfn_t_to_page() and page_to_pfn_t() without including \
             <linux/pfn_t.h>, which bvmig should have added; the line is added here as a \
             stand-in, to compile the rest"
        );
        fs::write(work.join(APPLIED_STAND_IN), stand_in)?;
        patch(work, stand_in.as_bytes(), false)?;
    }

    // The raw accesses left after both steps, as bvmig check lists them.
    let out = Command::new(bin)
        .args(["check", "."])
        .current_dir(work)
        .output()
        .context("run bvmig check")?;
    if !matches!(out.status.code(), Some(0 | 1)) {
        bail!(
            "bvmig check failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let left: Vec<(String, usize, String)> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| diag(l).map(|(f, n, _)| (f, n, l.to_string())))
        .collect();
    println!(
        "      bvmig check: {} raw accesses left after both steps",
        left.len()
    );
    for (_, _, l) in &left {
        println!("        {l}");
    }
    // Every file compiled before the first step that either step touches
    // or that holds a site left.
    let mut files: Vec<&str> = before
        .iter()
        .filter(|(_, b)| matches!(b, Build::Built(_)))
        .map(|(f, _)| *f)
        .collect();
    for f in pfn_files.iter().filter(|f| f.ends_with(".c")) {
        if !before.contains_key(f.as_str()) {
            println!("WARN  {f}: touched by the bv_pfn step only, not compiled before; left out");
        }
    }
    files.sort_unstable();
    let t = Instant::now();
    let after: Vec<(&str, &Build, Build)> = files
        .iter()
        .map(|f| (*f, &before[f], build(work, f)))
        .collect();
    println!("      after both steps: {:.0} s", t.elapsed().as_secs_f64());
    let left: Vec<(String, usize)> = left.into_iter().map(|(f, n, _)| (f, n)).collect();
    let v = judge_layout(&after, &left, false);
    for l in &v.lines {
        println!("{l}");
    }
    // The stand-in's failure is reported where it is made; this verdict is
    // about where the errors are.
    println!(
        "{}  bv_pfn step{}: {} files compiled: {} build, {} fail only at sites left \
         ({} of the {} sites left are compile errors)",
        if v.ok { "PASS" } else { "FAIL" },
        if stand_in.is_some() {
            ", with the stand-in #include"
        } else {
            ""
        },
        after.len(),
        v.n_build,
        v.n_expected,
        v.n_hit,
        left.len()
    );
    if !v.unreached.is_empty() {
        println!(
            "      sites left in no file compiled here (files defconfig does not build, or \
             code it leaves out): {}",
            v.unreached.join(" ")
        );
    }
    Ok(v.ok && stand_in.is_none())
}

/// What the files compiled after a layout step show, against the sites
/// bvmig left: the lines to print and the counts.
#[derive(Debug, Default)]
struct LayoutVerdict {
    ok: bool,
    /// Files that build after the step.
    n_build: usize,
    /// Files that fail only at sites left.
    n_expected: usize,
    /// Sites left that are a compile error.
    n_hit: usize,
    /// Files that build after the step with warnings they did not have.
    n_new_warnings: usize,
    /// Sites left at no error (`file:line`).
    unreached: Vec<String>,
    lines: Vec<String>,
}

/// Judges `after` (each file, its build before the conversion, its build
/// after the layout step) against `left`, the sites bvmig left (`file`,
/// `line`, in the converted tree): a file that built before must build
/// after (with no new warning when `warnings` is set), or fail with every
/// error at a site left, its own line or a macro expansion GCC notes on
/// the way to it. An error anywhere else is a wrong rewrite or a raw
/// access bvmig did not report, and fails the step.
fn judge_layout(
    after: &[(&str, &Build, Build)],
    left: &[(String, usize)],
    warnings: bool,
) -> LayoutVerdict {
    let is_left = |at: &(String, usize)| left.iter().any(|(f, n)| *f == at.0 && *n == at.1);
    let mut v = LayoutVerdict {
        ok: true,
        ..LayoutVerdict::default()
    };
    let mut hit: Vec<(String, usize)> = Vec::new();
    for (f, before, b) in after {
        match b {
            Build::Built(wa) => {
                v.n_build += 1;
                let here: Vec<usize> = left.iter().filter(|(lf, _)| lf == f).map(|l| l.1).collect();
                if !here.is_empty() {
                    v.lines.push(format!(
                        "NOTE  {f}: builds, with sites left on lines {here:?}: code this \
                         configuration leaves out, or not a member of struct bio_vec"
                    ));
                }
                let wb: &[String] = match before {
                    Build::Built(wb) => wb,
                    _ => &[],
                };
                let new: Vec<&String> = wa.iter().filter(|w| !wb.contains(w)).collect();
                if warnings && !new.is_empty() {
                    v.ok = false;
                    v.n_new_warnings += 1;
                    v.lines
                        .push(format!("FAIL  {f}: new warnings after the conversion:"));
                    v.lines.extend(new.iter().map(|w| format!("        {w}")));
                }
            }
            Build::NotConfigured => {
                v.ok = false;
                v.lines.push(format!(
                    "FAIL  {f}: built before, and make has no rule for it after the conversion"
                ));
            }
            Build::Failed(errors) => {
                let (at_sites, other): (Vec<&CompileError>, Vec<&CompileError>) =
                    errors.iter().partition(|e| e.at.iter().any(is_left));
                for e in &at_sites {
                    for at in e.at.iter().filter(|a| is_left(a)) {
                        if !hit.contains(at) {
                            hit.push(at.clone());
                        }
                    }
                }
                if other.is_empty() && !at_sites.is_empty() {
                    v.n_expected += 1;
                    let mut lines: Vec<String> = at_sites
                        .iter()
                        .flat_map(|e| e.at.iter().filter(|a| is_left(a)))
                        .map(|(f, n)| format!("{f}:{n}"))
                        .collect();
                    lines.dedup();
                    v.lines.push(format!(
                        "ok    {f}: no longer compiles, as expected: {} errors, all at sites left ({})",
                        at_sites.len(),
                        lines.join(", ")
                    ));
                } else {
                    v.ok = false;
                    v.lines.push(format!(
                        "FAIL  {f}: {} errors at no site left ({} at sites left):",
                        other.len().max(1),
                        at_sites.len()
                    ));
                    v.lines
                        .extend(other.iter().take(5).map(|e| format!("        {}", e.text)));
                }
            }
        }
    }
    v.n_hit = hit.len();
    v.unreached = left
        .iter()
        .filter(|at| !hit.contains(at))
        .map(|(f, n)| format!("{f}:{n}"))
        .collect();
    v
}

/// The phys path: bvmig's default patch (the idioms rule and its helpers
/// where the tree has Linux 6.3's helpers), `rules/bv_offset.cocci`, then
/// `rules/bv_phys.cocci`, each run on the tree the previous one left. The
/// `.c` files any of them touches, and those that hold a site left, are
/// compiled on the original tree and after all three: a file that built
/// must build with no new warning, or fail only at the sites bvmig left
/// (after bv_phys.cocci, `struct bio_vec` has neither `bv_page` nor
/// `bv_offset`, so every raw use left is an error, and every error must be
/// one). Leaves its patches recorded in [`APPLIED_PHYS`].
fn phys_path(bin: &Path, work: &Path, only: &[String]) -> Result<bool> {
    let rules = bvmig::workspace_root().join("rules");
    let steps: [(&str, Option<PathBuf>); 3] = [
        ("helpers (bvmig's choice)", None),
        ("bv_offset.cocci", Some(rules.join("bv_offset.cocci"))),
        ("bv_phys.cocci", Some(rules.join("bv_phys.cocci"))),
    ];
    println!("compile-check: the phys path");
    let mut touched: Vec<String> = Vec::new();
    for (i, (name, rule)) in steps.iter().enumerate() {
        let mut cmd = Command::new(bin);
        cmd.arg("patch").current_dir(work);
        if let Some(r) = rule {
            cmd.arg("--rule").arg(r);
        }
        // bv_phys.cocci's fragments all name bv_page, bv_offset or struct
        // bio_vec: a file without one of these words cannot change, and
        // the rule has no literal prefilter of its own yet.
        if i == 2 {
            let mut holders: Vec<String> = Vec::new();
            for word in ["bv_page", "bv_offset", "bio_vec"] {
                holders.extend(count::count_tree(work, word)?.files.into_keys());
            }
            holders.sort_unstable();
            holders.dedup();
            cmd.args(&holders);
        } else {
            cmd.arg(".");
        }
        let t = Instant::now();
        let out = cmd.output().context("run bvmig")?;
        if out.status.code() != Some(0) {
            bail!(
                "bvmig patch ({name}) failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let stderr = String::from_utf8_lossy(&out.stderr);
        let summary = bvmig::parse_stderr(&stderr)?;
        let files = diff_files(&out.stdout);
        println!(
            "      {name}: {} files changed ({} .c), {} sites rewritten, {} left, in {:.0} s",
            files.len(),
            files.iter().filter(|f| f.ends_with(".c")).count(),
            summary.n_rewritten,
            summary.n_left,
            t.elapsed().as_secs_f64()
        );
        fs::write(work.join(APPLIED_PHYS[i]), &out.stdout)?;
        patch(work, &out.stdout, false)?;
        touched.extend(files);
    }

    // The raw accesses left, as bvmig check lists them: bv_page with the
    // default rule, bv_offset with its rule.
    let mut left: Vec<(String, usize)> = Vec::new();
    for (word, rule) in [
        ("bv_page", None),
        ("bv_offset", Some(rules.join("bv_offset.cocci"))),
    ] {
        let mut cmd = Command::new(bin);
        cmd.arg("check").current_dir(work);
        if let Some(r) = &rule {
            cmd.arg("--rule").arg(r);
        }
        let out = cmd.arg(".").output().context("run bvmig check")?;
        if !matches!(out.status.code(), Some(0 | 1)) {
            bail!(
                "bvmig check ({word}) failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let found: Vec<(String, usize, String)> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| diag(l).map(|(f, n, _)| (f, n, l.to_string())))
            .collect();
        println!(
            "      bvmig check: {} raw {word} accesses left",
            found.len()
        );
        for (_, _, l) in &found {
            println!("        {l}");
        }
        left.extend(found.into_iter().map(|(f, n, _)| (f, n)));
    }
    left.sort_unstable();
    left.dedup();

    let mut files: Vec<String> = touched
        .iter()
        .chain(left.iter().map(|(f, _)| f))
        .filter(|f| f.ends_with(".c"))
        .filter(|f| only.is_empty() || only.iter().any(|o| f.starts_with(o.as_str())))
        .cloned()
        .collect();
    files.sort_unstable();
    files.dedup();
    touched.sort_unstable();
    touched.dedup();
    println!(
        "      {} files touched, {} .c files to compile{}",
        touched.len(),
        files.len(),
        if only.is_empty() {
            String::new()
        } else {
            format!(" (under {})", only.join(" "))
        }
    );

    // Before: the original tree.
    let converted: Vec<Vec<u8>> = APPLIED_PHYS
        .iter()
        .map(|m| fs::read(work.join(m)))
        .collect::<std::io::Result<_>>()?;
    undo_applied(work, &APPLIED_PHYS)?;
    let t = Instant::now();
    let before = build_batch(work, &files, "before")?;
    println!("      before: {:.0} s", t.elapsed().as_secs_f64());
    for (m, diff) in APPLIED_PHYS.iter().zip(&converted) {
        fs::write(work.join(m), diff)?;
        patch(work, diff, false)?;
    }
    let t = Instant::now();
    let after_all = build_batch(work, &files, "after")?;
    println!("      after:  {:.0} s", t.elapsed().as_secs_f64());

    let mut not_built = Vec::new();
    let mut after: Vec<(&str, &Build, Build)> = Vec::new();
    for f in &files {
        match &before[f] {
            Build::Built(_) => after.push((f.as_str(), &before[f], after_all[f].clone())),
            _ => not_built.push(f.as_str()),
        }
    }
    let v = judge_layout(&after, &left, true);
    for l in &v.lines {
        println!("{l}");
    }
    let n_warnings: usize = after
        .iter()
        .map(|(_, _, b)| match b {
            Build::Built(w) => w.len(),
            _ => 0,
        })
        .sum();
    println!(
        "{}  phys path: {} touched files; {} .c files compiled before and after: {} build \
         ({} warnings, {} files with new ones), {} fail only at sites left; {} of the {} \
         sites left are compile errors",
        if v.ok { "PASS" } else { "FAIL" },
        touched.len(),
        after.len(),
        v.n_build,
        n_warnings,
        v.n_new_warnings,
        v.n_expected,
        v.n_hit,
        left.len()
    );
    println!(
        "      {} .c files do not build with defconfig before the conversion: {}",
        not_built.len(),
        not_built.join(" ")
    );
    if !v.unreached.is_empty() {
        println!(
            "      sites left in no file compiled here (files defconfig does not build, or \
             code it leaves out): {}",
            v.unreached.join(" ")
        );
    }
    Ok(v.ok)
}

/// Undoes the patches recorded in `markers` (applied in that order), last
/// first, and removes the records.
fn undo_applied(work: &Path, markers: &[&str]) -> Result<()> {
    for m in markers.iter().rev() {
        if work.join(m).exists() {
            patch(work, &fs::read(work.join(m))?, true)?;
            fs::remove_file(work.join(m))?;
        }
    }
    Ok(())
}

/// Compiles `files` (`.c` paths relative to `work`) in one make run
/// (`make -k -O`: each object's output comes as one block after its `CC`
/// line), under nice.
fn build_batch(work: &Path, files: &[String], label: &str) -> Result<BTreeMap<String, Build>> {
    let objs: Vec<String> = files
        .iter()
        .map(|f| format!("{}.o", f.trim_end_matches(".c")))
        .collect();
    for o in &objs {
        let _ = fs::remove_file(work.join(o));
    }
    let mut res = BTreeMap::new();
    if files.is_empty() {
        return Ok(res);
    }
    let out = Command::new("nice")
        .args(["-n", "19", "make", "-k", "-j2", "--output-sync=target"])
        .args(&objs)
        .current_dir(work)
        .output()
        .context("run make")?;
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    // make's whole output stays beside the tree, named in every failure.
    let mut log = work.as_os_str().to_owned();
    log.push(format!(".make-{label}.log"));
    let log = PathBuf::from(log);
    fs::write(&log, &text).with_context(|| format!("{}: cannot write", log.display()))?;
    let sections = batch_sections(&text, files);
    for (f, o) in files.iter().zip(&objs) {
        let no_rule = text
            .lines()
            .any(|l| l.contains("No rule to make target") && l.contains(&format!("'{o}'")));
        // Without a block of its own (make stopped before its CC line),
        // the file's errors are looked for in the whole output.
        let section = match sections.get(o) {
            Some(s) => s.clone(),
            None => text
                .lines()
                .filter(|l| l.contains(f.as_str()) || l.contains(o.as_str()))
                .map(|l| format!("{l}\n"))
                .collect(),
        };
        let mut build = classify(&section, no_rule, work.join(o).exists());
        if let Build::Failed(errors) = &mut build {
            for e in errors.iter_mut().filter(|e| e.at.is_empty()) {
                e.text = format!("{} (make's output: {})", e.text, log.display());
            }
        }
        res.insert(f.clone(), build);
    }
    Ok(res)
}

/// The output of a `make -O` run, per object of `files`: the lines gcc
/// wrote while compiling it. kbuild's `CC` lines do not tell (make prints
/// a run of them before the compilers' output); gcc's own context does:
/// an `In file included from` chain ends at the file compiled, `f.c: In
/// function` and `f.c:L:C:` name it, and make's `*** [...: f.o] Error`
/// line names its object.
fn batch_sections(text: &str, files: &[String]) -> BTreeMap<String, String> {
    let obj = |c: &str| format!("{}.o", c.trim_end_matches(".c"));
    let unit_of = |path: &str| {
        let path = path.trim_start_matches("./");
        files.iter().find(|f| f.as_str() == path).map(|f| obj(f))
    };
    let mut res: BTreeMap<String, String> = BTreeMap::new();
    let mut cur: Option<String> = None;
    let mut chain: Option<String> = None;
    for l in text.lines() {
        let t = l.trim_start();
        if let Some(rest) = t
            .strip_prefix("In file included from ")
            .or_else(|| t.strip_prefix("from "))
        {
            // `from a.c:37:` or `from a.h:5,`: the last one is the unit.
            let path = rest.split(':').next().unwrap_or_default();
            chain = unit_of(path).or(chain);
            if rest.ends_with(':') {
                cur = chain.take().or(cur);
            }
        } else if let Some(o) = t
            .strip_prefix("make")
            .and_then(|r| r.split_once("*** ["))
            .and_then(|(_, r)| r.split(": ").nth(1))
            .and_then(|r| r.split(']').next())
        {
            if res.contains_key(o) || files.iter().any(|f| obj(f) == o) {
                res.entry(o.to_string()).or_default().push_str(l);
                res.entry(o.to_string()).or_default().push('\n');
            }
            continue;
        } else if let Some(u) = l.split(':').next().and_then(unit_of) {
            cur = Some(u);
        }
        if let Some(o) = &cur {
            let e = res.entry(o.clone()).or_default();
            e.push_str(l);
            e.push('\n');
        }
    }
    res
}

/// One object's build from its make output, whether make had no rule for
/// it, and whether the object exists after the run.
fn classify(text: &str, no_rule: bool, exists: bool) -> Build {
    if no_rule {
        return Build::NotConfigured;
    }
    if !exists {
        let mut errors = compile_errors(text);
        if errors.is_empty() {
            errors.extend(
                text.lines()
                    .filter(|l| l.contains("Error ") || l.contains("error"))
                    .take(1)
                    .map(|l| CompileError {
                        text: l.to_string(),
                        at: Vec::new(),
                    }),
            );
        }
        if errors.is_empty() {
            errors.push(CompileError {
                text: "no object, and no error in make's output".into(),
                at: Vec::new(),
            });
        }
        return Build::Failed(errors);
    }
    Build::Built(warnings(text))
}

/// `path:line:col: warning: msg` as `path: warning: msg`: the position cut,
/// which a conversion may move.
pub fn warnings(text: &str) -> Vec<String> {
    text.lines()
        .filter(|l| l.contains(": warning: "))
        .map(|l| {
            let mut parts = l.splitn(4, ':');
            let path = parts.next().unwrap_or("");
            let _line = parts.next();
            let _col = parts.next();
            format!("{path}:{}", parts.next().unwrap_or(""))
        })
        .collect()
}

/// A patch adding `#include <linux/pfn_t.h>` after the last `#include` that
/// precedes `struct bio_vec` in `bvec_h` (the text of [`BVEC_H`]), when it
/// calls the pfn_t helpers without it.
fn pfn_t_include(bvec_h: &str) -> Option<String> {
    let calls = bvec_h.contains("pfn_t_to_page(") || bvec_h.contains("page_to_pfn_t(");
    if !calls || bvec_h.contains("#include <linux/pfn_t.h>") {
        return None;
    }
    let last = bvec_h
        .lines()
        .take_while(|l| !l.starts_with("struct bio_vec {"))
        .enumerate()
        .filter(|(_, l)| l.starts_with("#include <"))
        .map(|(i, _)| i + 1)
        .last()?;
    Some(format!(
        "--- a/{BVEC_H}\n+++ b/{BVEC_H}\n@@ -{last},0 +{} @@\n+#include <linux/pfn_t.h>\n",
        last + 1
    ))
}

/// `path:line:col: kind: ...` as the path (without a leading `./`), the
/// line and the kind (`error`, `fatal error`, `warning` or `note`).
fn diag(l: &str) -> Option<(String, usize, &'static str)> {
    let mut parts = l.splitn(4, ':');
    let path = parts.next()?;
    let line = parts.next()?.parse().ok()?;
    let _col: usize = parts.next()?.parse().ok()?;
    let rest = parts.next()?.trim_start();
    let kind = ["fatal error", "error", "warning", "note"]
        .into_iter()
        .find(|k| rest.strip_prefix(k).is_some_and(|r| r.starts_with(':')))?;
    Some((path.trim_start_matches("./").to_string(), line, kind))
}

/// The errors in a compiler's output, each with the notes that follow it.
fn compile_errors(text: &str) -> Vec<CompileError> {
    let mut out: Vec<CompileError> = Vec::new();
    let mut in_error = false;
    for l in text.lines() {
        let Some((path, line, kind)) = diag(l) else {
            continue;
        };
        match kind {
            "error" | "fatal error" => {
                out.push(CompileError {
                    text: l.to_string(),
                    at: vec![(path, line)],
                });
                in_error = true;
            }
            "note" if in_error => {
                if let Some(e) = out.last_mut() {
                    e.at.push((path, line));
                }
            }
            _ => in_error = false,
        }
    }
    out
}

pub fn install_build_deps() -> Result<()> {
    let missing: Vec<&str> = BUILD_DEPS
        .iter()
        .filter(|(probe, _)| {
            if probe.starts_with('/') {
                !Path::new(probe).exists()
            } else {
                Command::new("sh")
                    .args(["-c", &format!("command -v {probe}")])
                    .output()
                    .map_or(true, |o| !o.status.success())
            }
        })
        .map(|(_, pkg)| *pkg)
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    println!("compile-check: installing {}", missing.join(" "));
    kernel::run_checked(
        Command::new("apt-get")
            .args(["install", "-y", "-qq"])
            .args(&missing)
            .env("DEBIAN_FRONTEND", "noninteractive"),
    )
}

/// A configured copy of `tree` at `work`: `make defconfig` and `make
/// prepare` run once; patches left applied by an interrupted run are undone.
pub fn prepare(tree: &Path, work: &Path) -> Result<()> {
    undo_applied(work, &APPLIED_PHYS)?;
    for marker in [APPLIED_STAND_IN, APPLIED_PFN, APPLIED] {
        if work.join(marker).exists() {
            let diff = fs::read(work.join(marker))?;
            patch(work, &diff, true)?;
            fs::remove_file(work.join(marker))?;
        }
    }
    if work.join(MARKER).exists() {
        return Ok(());
    }
    if !work.exists() {
        println!(
            "compile-check: copying {} to {}",
            tree.display(),
            work.display()
        );
        kernel::run_checked(Command::new("cp").arg("-a").arg(tree).arg(work))?;
    }
    println!("compile-check: make defconfig && make prepare (once)");
    kernel::run_checked(
        Command::new("make")
            .args(["-s", "defconfig"])
            .current_dir(work),
    )?;
    kernel::run_checked(
        Command::new("make")
            .args(["-s", "-j2", "prepare"])
            .current_dir(work),
    )?;
    fs::write(work.join(MARKER), "")?;
    Ok(())
}

fn patch(work: &Path, diff: &[u8], reverse: bool) -> Result<()> {
    use std::io::Write;
    let mut cmd = Command::new("patch");
    cmd.args(["-p1", "--quiet", "--forward"]);
    if reverse {
        cmd.arg("--reverse");
    }
    let mut child = cmd
        .current_dir(work)
        .stdin(std::process::Stdio::piped())
        .spawn()
        .context("run patch")?;
    child.stdin.take().expect("piped stdin").write_all(diff)?;
    let st = child.wait()?;
    if !st.success() {
        bail!(
            "patch -p1{} failed in {}",
            if reverse { " -R" } else { "" },
            work.display()
        );
    }
    Ok(())
}

/// Compiles `file` (a `.c` path relative to `work`) on its own.
fn build(work: &Path, file: &str) -> Build {
    let obj = format!("{}.o", file.trim_end_matches(".c"));
    let _ = fs::remove_file(work.join(&obj));
    let out = match Command::new("make")
        .args(["-s", "-k", &obj])
        .current_dir(work)
        .output()
    {
        Ok(o) => o,
        Err(e) => {
            return Build::Failed(vec![CompileError {
                text: format!("make: {e}"),
                at: Vec::new(),
            }])
        }
    };
    let text =
        String::from_utf8_lossy(&out.stderr).into_owned() + &String::from_utf8_lossy(&out.stdout);
    if text.contains("No rule to make target")
        || (out.status.success() && !work.join(&obj).exists())
    {
        return Build::NotConfigured;
    }
    if !out.status.success() || !work.join(&obj).exists() {
        let mut errors = compile_errors(&text);
        if errors.is_empty() {
            // No compiler error: what make said.
            errors.extend(
                text.lines()
                    .filter(|l| l.contains("Error "))
                    .take(1)
                    .map(|l| CompileError {
                        text: l.to_string(),
                        at: Vec::new(),
                    }),
            );
        }
        return Build::Failed(errors);
    }
    Build::Built(warnings(&text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_carry_the_places_of_their_macro_expansions() {
        let text = "\
In file included from ./include/linux/container_of.h:5,
                 from net/core/skbuff.c:37:
./include/linux/stddef.h:16:33: error: 'struct bio_vec' has no member named 'bv_page'
   16 | #define offsetof(TYPE, MEMBER)  __builtin_offsetof(TYPE, MEMBER)
./include/linux/build_bug.h:78:56: note: in definition of macro '__static_assert'
net/core/skbuff.c:120:15: note: in expansion of macro 'offsetof'
net/core/skbuff.c:130:5: warning: unused variable 'x' [-Wunused-variable]
./include/linux/bvec.h:48:16: error: implicit declaration of function 'pfn_t_to_page'
make[4]: *** [scripts/Makefile.build:234: net/core/skbuff.o] Error 1
";
        let errors = compile_errors(text);
        assert_eq!(errors.len(), 2);
        assert_eq!(
            errors[0].at,
            vec![
                ("include/linux/stddef.h".to_string(), 16),
                ("include/linux/build_bug.h".to_string(), 78),
                ("net/core/skbuff.c".to_string(), 120),
            ]
        );
        assert_eq!(errors[1].at, vec![("include/linux/bvec.h".to_string(), 48)]);
    }

    #[test]
    fn the_stand_in_include_goes_after_the_last_include() {
        let h = "#ifndef X\n#include <linux/highmem.h>\n#include <linux/types.h>\n\nstruct bio_vec {\n\tpfn_t bv_pfn;\n};\n#include <linux/late.h>\nstatic inline struct page *bvec_page(const struct bio_vec *bvec)\n{\n\treturn pfn_t_to_page(bvec->bv_pfn);\n}\n";
        assert_eq!(
            pfn_t_include(h).unwrap(),
            "--- a/include/linux/bvec.h\n+++ b/include/linux/bvec.h\n@@ -3,0 +4 @@\n+#include <linux/pfn_t.h>\n"
        );
        let with = h.replace("types.h>", "types.h>\n#include <linux/pfn_t.h>");
        assert_eq!(pfn_t_include(&with), None);
        assert_eq!(
            pfn_t_include("#include <linux/types.h>\nstruct bio_vec {};\n"),
            None
        );
    }

    /// `make -k -O` output of three objects: one with a warning, one (a
    /// module) that fails in a header included from it, one make has no
    /// rule for. make prints the `CC` lines before the compilers' output.
    const BATCH: &str = "\
  CALL    scripts/checksyscalls.sh
  CC      block/bio.o
  CC [M]  drivers/md/raid1.o
block/bio.c: In function 'f':
block/bio.c:12:5: warning: unused variable 'x' [-Wunused-variable]
In file included from ./include/linux/kernel.h:3,
                 from drivers/md/raid1.c:30:
./include/linux/bvec.h:40:16: error: 'struct bio_vec' has no member named 'bv_page'
drivers/md/raid1.c:1200:9: note: in expansion of macro 'X'
make[4]: *** [scripts/Makefile.build:229: drivers/md/raid1.o] Error 1
make: *** No rule to make target 'arch/arm/x.o'.
";

    #[test]
    fn a_batch_is_cut_into_objects_and_each_classified() {
        let files = ["block/bio.c", "drivers/md/raid1.c", "arch/arm/x.c"].map(String::from);
        let s = batch_sections(BATCH, &files);
        assert_eq!(
            s.keys().map(String::as_str).collect::<Vec<_>>(),
            vec!["block/bio.o", "drivers/md/raid1.o"]
        );
        assert!(!s["block/bio.o"].contains("raid1"), "{}", s["block/bio.o"]);
        assert_eq!(
            classify(&s["block/bio.o"], false, true),
            Build::Built(vec![
                "block/bio.c: warning: unused variable 'x' [-Wunused-variable]".to_string()
            ])
        );
        let Build::Failed(e) = classify(&s["drivers/md/raid1.o"], false, false) else {
            panic!("raid1 built");
        };
        assert_eq!(e.len(), 1);
        assert_eq!(
            e[0].at,
            vec![
                ("include/linux/bvec.h".to_string(), 40),
                ("drivers/md/raid1.c".to_string(), 1200)
            ]
        );
        assert_eq!(classify("", true, false), Build::NotConfigured);
        // No object and nothing said: still a failure, never a pass.
        assert!(matches!(classify("", false, false), Build::Failed(e) if e.len() == 1));
    }

    fn err(at: &[(&str, usize)]) -> CompileError {
        CompileError {
            text: format!("{}:{}:1: error: x", at[0].0, at[0].1),
            at: at.iter().map(|(f, n)| (f.to_string(), *n)).collect(),
        }
    }

    #[test]
    fn the_layout_verdict_passes_only_errors_at_sites_left() {
        let built = Build::Built(vec!["a.c: warning: w".into()]);
        let left = vec![("b.c".to_string(), 7), ("c.c".to_string(), 9)];
        // Builds with its old warning; fails only at a site left, also
        // through a macro expansion note.
        let good = [
            ("a.c", &built, built.clone()),
            ("b.c", &built, Build::Failed(vec![err(&[("b.c", 7)])])),
            (
                "c.c",
                &built,
                Build::Failed(vec![err(&[("include/linux/stddef.h", 16), ("c.c", 9)])]),
            ),
        ];
        let v = judge_layout(&good, &left, true);
        assert!(v.ok, "{:?}", v.lines);
        assert_eq!((v.n_build, v.n_expected, v.n_hit), (1, 2, 2));
        assert!(v.unreached.is_empty());

        // A raw use bvmig did not report (or a wrong rewrite): an error
        // at no site left.
        let unreported = [("b.c", &built, Build::Failed(vec![err(&[("b.c", 8)])]))];
        let v = judge_layout(&unreported, &left, true);
        assert!(!v.ok);
        assert_eq!(v.unreached, vec!["b.c:7", "c.c:9"]);
        // One error at a site and one elsewhere in the same file.
        let mixed = [(
            "b.c",
            &built,
            Build::Failed(vec![
                err(&[("b.c", 7)]),
                err(&[("include/linux/bvec.h", 3)]),
            ]),
        )];
        assert!(!judge_layout(&mixed, &left, true).ok);
        // A new warning fails when warnings are compared, only then.
        let warned = [(
            "a.c",
            &built,
            Build::Built(vec!["a.c: warning: w".into(), "a.c: warning: new".into()]),
        )];
        assert!(!judge_layout(&warned, &left, true).ok);
        assert!(judge_layout(&warned, &left, false).ok);
        // Built before, no rule after.
        let gone = [("a.c", &built, Build::NotConfigured)];
        assert!(!judge_layout(&gone, &left, true).ok);
    }

    /// The phys layout makes every raw use a compile error at its line:
    /// GCC on struct bio_vec as bv_phys.cocci leaves it, with raw uses of
    /// both old members (one through a macro), and the verdict on them,
    /// reported and not.
    #[test]
    fn a_raw_use_in_the_phys_layout_fails_at_its_line() {
        let dir = tempfile::tempdir().unwrap();
        let c = "\
typedef unsigned long long phys_addr_t;
struct bio_vec { phys_addr_t bv_phys; unsigned int bv_len; unsigned int __bv_unused; };
#define OFF(bv) ((bv)->bv_offset)
static inline unsigned long bvec_phys(const struct bio_vec *bv) { return bv->bv_phys; }
void *f(struct bio_vec *bv)
{
\treturn (char *)bv->bv_page + bvec_phys(bv);
}
unsigned int g(struct bio_vec *bv)
{
\treturn OFF(bv);
}
";
        let file = dir.path().join("raw.c");
        fs::write(&file, c).unwrap();
        let out = Command::new("cc")
            .arg("-c")
            .arg("raw.c")
            .arg("-o")
            .arg("/dev/null")
            .current_dir(dir.path())
            .output()
            .expect("cc");
        assert!(!out.status.success());
        let Build::Failed(errors) = classify(&String::from_utf8_lossy(&out.stderr), false, false)
        else {
            panic!("compiled");
        };
        let built = Build::Built(vec![]);
        let after = [("raw.c", &built, Build::Failed(errors))];
        let both = vec![("raw.c".to_string(), 7), ("raw.c".to_string(), 11)];
        let v = judge_layout(&after, &both, true);
        assert!(v.ok, "{:?}", v.lines);
        assert_eq!(v.n_hit, 2);
        // The same file when bvmig reported only the first use.
        let v = judge_layout(&after, &both[..1], true);
        assert!(!v.ok, "{:?}", v.lines);
    }
}
