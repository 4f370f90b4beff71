//! Kernel trees to test on: Debian's `linux-source-<v>` package, unpacked
//! once into a cache folder and reused by every task.
//!
//! Unpacking is atomic: the tarball goes into a temporary folder next to the
//! final one, a marker file is written last, and the folder is renamed into
//! place. A run that dies half-way leaves only a temporary folder, never a
//! tree that looks complete but is not.

use std::env;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};

/// The versions the tasks know; Debian 13 ships 6.12, Debian 12 ships 6.1.
pub const VERSIONS: [&str; 2] = ["6.12", "6.1"];

/// Written into a tree after a complete unpack, before the rename.
const MARKER: &str = ".bvmig-unpacked";

/// The cache folder: `$BVMIG_CACHE`, or `$HOME/.cache/bvmig/kernels`.
pub fn cache_dir() -> Result<PathBuf> {
    if let Some(dir) = env::var_os("BVMIG_CACHE").filter(|d| !d.is_empty()) {
        return Ok(PathBuf::from(dir));
    }
    let home = env::var_os("HOME").filter(|h| !h.is_empty()).context(
        "neither BVMIG_CACHE nor HOME is set; set BVMIG_CACHE to a folder for kernel trees",
    )?;
    Ok(Path::new(&home).join(".cache/bvmig/kernels"))
}

/// The name of the Debian package, of the tarball's top folder, and of the
/// unpacked tree in the cache.
pub fn name(version: &str) -> String {
    format!("linux-source-{version}")
}

/// Returns the unpacked tree for `version`, installing the package and
/// unpacking it first when needed.
pub fn tree(version: &str) -> Result<PathBuf> {
    let cache = cache_dir()?;
    let name = name(version);
    let dest = cache.join(&name);
    if is_complete(&dest) {
        return Ok(dest);
    }
    if dest.exists() {
        bail!(
            "{}: exists but is not a complete tree (no {MARKER}, Makefile or \
             include/linux/bvec.h); remove it and run again",
            dest.display()
        );
    }
    let tarball = PathBuf::from(format!("/usr/src/{name}.tar.xz"));
    if !tarball.exists() {
        install(&name)?;
        if !tarball.exists() {
            bail!(
                "{}: still missing after installing {name}",
                tarball.display()
            );
        }
    }
    fs::create_dir_all(&cache).with_context(|| format!("{}: cannot create", cache.display()))?;
    unpack(&tarball, &cache, &name)?;
    Ok(dest)
}

/// A tree is complete when we unpacked it (the marker), or when it has the
/// files a finished unpack ends with: trees unpacked by hand with plain tar
/// have no marker, and are accepted when they look whole.
fn is_complete(tree: &Path) -> bool {
    tree.join(MARKER).is_file()
        || (tree.join("Makefile").is_file() && tree.join("include/linux/bvec.h").is_file())
}

fn install(package: &str) -> Result<()> {
    eprintln!("xtask: installing {package} with apt-get");
    run_checked(Command::new("apt-get").arg("update"))?;
    run_checked(Command::new("apt-get").args(["install", "-y", package]))
}

/// Runs `cmd` with inherited output, failing unless it exits with 0.
pub fn run_checked(cmd: &mut Command) -> Result<()> {
    let what = format!("{cmd:?}");
    let status = cmd.status().with_context(|| format!("cannot run {what}"))?;
    if !status.success() {
        bail!("{what} failed: {status}");
    }
    Ok(())
}

fn unpack(tarball: &Path, cache: &Path, name: &str) -> Result<()> {
    eprintln!(
        "xtask: unpacking {} into {}",
        tarball.display(),
        cache.display()
    );
    // The temporary folder is removed when dropped, so an error below
    // leaves nothing behind; it lives in the cache so that the final rename
    // stays on one file system.
    let tmp = tempfile::Builder::new()
        .prefix(&format!(".tmp-{name}-"))
        .tempdir_in(cache)
        .with_context(|| format!("{}: cannot create a temporary folder", cache.display()))?;
    run_checked(
        Command::new("tar")
            .arg("-xJf")
            .arg(tarball)
            .arg("-C")
            .arg(tmp.path()),
    )?;
    let unpacked = tmp.path().join(name);
    if !unpacked.join("Makefile").is_file() {
        bail!(
            "{}: has no {name}/Makefile; is it a Debian linux-source tarball?",
            tarball.display()
        );
    }
    fs::write(unpacked.join(MARKER), b"")
        .with_context(|| format!("{}: cannot write the marker", unpacked.display()))?;
    let dest = cache.join(name);
    if let Err(e) = fs::rename(&unpacked, &dest) {
        // Another run may have won the race; its tree is as good as ours.
        if is_complete(&dest) {
            return Ok(());
        }
        return Err(e).with_context(|| format!("{}: cannot rename into place", dest.display()));
    }
    Ok(())
}
