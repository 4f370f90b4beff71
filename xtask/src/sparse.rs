//! `cargo xtask sparse [6.12|6.1] [DIR]`: bvmig as the kernel's checker,
//! on a defconfig tree (the one compile-check prepares): `make -j2 C=2
//! CHECK="bvmig sparse" block/` must exit 0, check every file the build
//! compiles, and print exactly the raw accesses `bvmig check` finds in
//! those files, line for line; then the cost of one checker run, with the
//! definitions cache and without, side by side.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

use crate::{bvmig, compile_check, kernel};

pub fn run(version: &str, dir: &str) -> Result<bool> {
    compile_check::install_build_deps()?;
    let bin = bvmig::build()?;
    let tree = kernel::tree(version)?;
    let work = compile_check::work_dir(version)?;
    compile_check::prepare(&tree, &work)?;
    let cache = tempfile::tempdir()?;

    let dir = dir.trim_end_matches('/');
    println!("sparse: make -j2 C=2 CHECK=\"bvmig sparse\" {dir}/");
    let start = Instant::now();
    let out = Command::new("make")
        .args(["-s", "-j2", "C=2"])
        .arg(format!("CHECK={} sparse", bin.display()))
        .arg(format!("{dir}/"))
        .env("XDG_CACHE_HOME", cache.path())
        .current_dir(&work)
        .output()
        .context("run make")?;
    let took = start.elapsed();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let mut ok = true;
    if !out.status.success() {
        println!("FAIL  make exited with {}:\n{stderr}", out.status);
        ok = false;
    }
    // `-s` silences the CHECK lines: the files checked are the objects
    // built, which kbuild records in .o.cmd files.
    let checked = built_files(&work.join(dir))?;
    let mut warned: BTreeMap<String, BTreeSet<usize>> = BTreeMap::new();
    for l in stdout.lines().chain(stderr.lines()) {
        if let Some((file, line)) = warning_at(l) {
            warned.entry(file).or_default().insert(line);
        } else if l.contains(": error:") || l.starts_with("bvmig: ") {
            println!("FAIL  {l}");
            ok = false;
        }
    }

    // What `bvmig check` finds in the same files.
    let files: Vec<&str> = checked.iter().map(String::as_str).collect();
    if files.is_empty() {
        println!("FAIL  no object under {dir}/ was built; nothing was checked");
        return Ok(false);
    }
    let check = Command::new(&bin)
        .args(["check", "--quiet"])
        .args(&files)
        .current_dir(&work)
        .output()
        .context("run bvmig check")?;
    let mut found: BTreeMap<String, BTreeSet<usize>> = BTreeMap::new();
    for l in String::from_utf8_lossy(&check.stdout).lines() {
        if let Some((file, line)) = warning_at(l) {
            found.entry(file).or_default().insert(line);
        }
    }
    let n_warned: usize = warned.values().map(BTreeSet::len).sum();
    let n_found: usize = found.values().map(BTreeSet::len).sum();
    if warned == found {
        println!(
            "PASS  {} files checked in {:.0} s (built as well); {n_warned} lines warned, as bvmig check finds",
            checked.len(),
            took.as_secs_f64()
        );
    } else {
        println!("FAIL  make C=2 warned on {n_warned} lines, bvmig check finds {n_found}");
        for f in warned.keys().chain(found.keys()).collect::<BTreeSet<_>>() {
            if warned.get(f) != found.get(f) {
                println!(
                    "      {f}: warned {:?}, found {:?}",
                    warned.get(f),
                    found.get(f)
                );
            }
        }
        ok = false;
    }

    // One checker run's cost: the file with the most sites, and a file
    // without any, with the cache (filled by the build) and without.
    let busiest = found
        .iter()
        .max_by_key(|(_, l)| l.len())
        .map_or("block/bio.c".to_string(), |(f, _)| f.clone());
    for file in [busiest.as_str(), "scripts/mod/empty.c"] {
        let cached = median(&bin, &work, cache.path(), &["sparse", file])?;
        let uncached = median(&bin, &work, cache.path(), &["sparse", "--no-cache", file])?;
        println!(
            "      one run on {file}: {:.0} ms with the definitions cache, {:.0} ms without (medians of 11)",
            cached.as_secs_f64() * 1e3,
            uncached.as_secs_f64() * 1e3
        );
    }
    Ok(ok)
}

/// `file:line:col: warning: ...` → (file, line).
fn warning_at(l: &str) -> Option<(String, usize)> {
    let (at, _) = l.split_once(": warning: ")?;
    let mut parts = at.rsplitn(3, ':');
    let _col = parts.next()?;
    let line = parts.next()?.parse().ok()?;
    Some((parts.next()?.to_string(), line))
}

/// The `.c` files whose objects under `dir` kbuild built: one
/// `.NAME.o.cmd` file each, holding `source_NAME.o := FILE.c`.
fn built_files(dir: &Path) -> Result<BTreeSet<String>> {
    let mut out = BTreeSet::new();
    let top = dir
        .ancestors()
        .find(|a| a.join("Kconfig").is_file() && a.join("MAINTAINERS").is_file())
        .unwrap_or(dir);
    for entry in walkdir::WalkDir::new(dir).sort_by_file_name() {
        let entry = entry.with_context(|| format!("{}: cannot walk", dir.display()))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if !(name.starts_with('.') && name.ends_with(".o.cmd")) {
            continue;
        }
        let text = std::fs::read_to_string(entry.path()).unwrap_or_default();
        let Some(rest) = source_of(&text) else {
            continue;
        };
        if rest.ends_with(".c") {
            let path = Path::new(&rest);
            let rel = path.strip_prefix(top).unwrap_or(path);
            out.insert(rel.to_string_lossy().trim_start_matches("./").to_string());
        }
    }
    Ok(out)
}

/// The source of a kbuild `.o.cmd` file: `source_block/bio.o :=
/// block/bio.c` gives `block/bio.c`.
fn source_of(cmd: &str) -> Option<String> {
    cmd.lines().find_map(|l| {
        l.strip_prefix("source_")
            .and_then(|r| r.split_once(".o := "))
            .map(|(_, file)| file.trim().to_string())
    })
}

/// The median wall time of 11 runs of bvmig with `args` in `work`.
fn median(bin: &Path, work: &Path, cache: &Path, args: &[&str]) -> Result<Duration> {
    let mut times = Vec::new();
    for _ in 0..11 {
        let start = Instant::now();
        Command::new(bin)
            .args(args)
            .env("XDG_CACHE_HOME", cache)
            .current_dir(work)
            .output()
            .context("run bvmig sparse")?;
        times.push(start.elapsed());
    }
    times.sort();
    Ok(times[times.len() / 2])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warnings_name_their_file_and_line() {
        assert_eq!(
            warning_at("block/bio.c:661:38: warning: read: use bvec_page(&bv)"),
            Some(("block/bio.c".to_string(), 661))
        );
        assert_eq!(warning_at("  CC      block/bio.o"), None);
        assert_eq!(warning_at("bvmig: error: x"), None);
    }

    #[test]
    fn a_cmd_file_names_its_source() {
        let cmd = "savedcmd_block/bio.o := gcc -Wp,-MMD,block/.bio.o.d ...\n\nsource_block/bio.o := block/bio.c\n\ndeps_block/bio.o := \\\n";
        assert_eq!(source_of(cmd).as_deref(), Some("block/bio.c"));
        assert_eq!(source_of("deps_x.o := y\n"), None);
    }
}
