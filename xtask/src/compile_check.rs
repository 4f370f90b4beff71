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
//! The kernel's build needs flex, bison, bc, libelf-dev and libssl-dev;
//! missing ones are installed from Debian's packages.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;
use std::process::Command;
use std::time::Instant;

use anyhow::{bail, Context, Result};

use crate::bvmig;
use crate::kernel;

const MARKER: &str = ".bvmig-prepared";
const APPLIED: &str = ".bvmig-applied.patch";
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
    /// It did not compile: the first error lines.
    Failed(Vec<String>),
}

pub fn run(version: &str) -> Result<bool> {
    install_build_deps()?;
    let bin = bvmig::build()?;
    let tree = kernel::tree(version)?;
    let work = kernel::cache_dir()?.join(format!("compile-check-{}", kernel::name(version)));
    prepare(&tree, &work)?;

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
    let diff = out.stdout;
    let files: Vec<String> = String::from_utf8_lossy(&diff)
        .lines()
        .filter_map(|l| l.strip_prefix("diff --git a/"))
        .filter_map(|l| l.split(" b/").next())
        .map(str::to_string)
        .collect();
    let c_files: Vec<&String> = files.iter().filter(|f| f.ends_with(".c")).collect();
    println!(
        "compile-check: {} files in the patch, {} of them .c files",
        files.len(),
        c_files.len()
    );

    let t = Instant::now();
    let before: BTreeMap<&String, Build> = c_files.iter().map(|f| (*f, build(&work, f))).collect();
    println!("      before: {:.0} s", t.elapsed().as_secs_f64());
    fs::write(work.join(APPLIED), &diff)?;
    patch(&work, &diff, false)?;
    let t = Instant::now();
    let after: BTreeMap<&String, Build> = c_files.iter().map(|f| (*f, build(&work, f))).collect();
    println!("      after:  {:.0} s", t.elapsed().as_secs_f64());
    patch(&work, &diff, true)?;
    fs::remove_file(work.join(APPLIED))?;

    let mut ok = true;
    let (mut n_built, mut not_configured) = (0, Vec::new());
    for f in &c_files {
        match (&before[f], &after[f]) {
            (Build::NotConfigured, _) => not_configured.push(f.as_str()),
            (Build::Failed(e), _) => {
                not_configured.push(f.as_str());
                println!(
                    "WARN  {f}: does not build with defconfig, before the patch: {}",
                    e.first().map_or("", String::as_str)
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
    Ok(ok)
}

fn install_build_deps() -> Result<()> {
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
/// prepare` run once; a patch left applied by an interrupted run is undone.
fn prepare(tree: &Path, work: &Path) -> Result<()> {
    if work.join(APPLIED).exists() {
        let diff = fs::read(work.join(APPLIED))?;
        patch(work, &diff, true)?;
        fs::remove_file(work.join(APPLIED))?;
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
        Err(e) => return Build::Failed(vec![format!("make: {e}")]),
    };
    let text =
        String::from_utf8_lossy(&out.stderr).into_owned() + &String::from_utf8_lossy(&out.stdout);
    if text.contains("No rule to make target")
        || (out.status.success() && !work.join(&obj).exists())
    {
        return Build::NotConfigured;
    }
    if !out.status.success() || !work.join(&obj).exists() {
        let errors: Vec<String> = text
            .lines()
            .filter(|l| l.contains(" error: ") || l.contains("Error "))
            .take(3)
            .map(str::to_string)
            .collect();
        return Build::Failed(errors);
    }
    let warnings = text
        .lines()
        .filter(|l| l.contains(": warning: "))
        .map(|l| {
            // `path:line:col: warning: msg` without the position, which the
            // patch may move.
            let mut parts = l.splitn(4, ':');
            let path = parts.next().unwrap_or("");
            let _line = parts.next();
            let _col = parts.next();
            format!("{path}:{}", parts.next().unwrap_or(""))
        })
        .collect();
    Build::Built(warnings)
}
