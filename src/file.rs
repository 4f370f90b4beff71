//! Files on disk: the one I/O error, which names the path it is about, and
//! the top of the Linux tree a path lies in.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

/// A file or directory that could not be read or written.
#[derive(Debug, thiserror::Error)]
#[error("{}: {source}", path.display())]
pub struct IoError {
    /// The file or directory, as messages name it (a path on disk, or a
    /// walked file's name in reports).
    pub path: PathBuf,
    /// What went wrong.
    #[source]
    pub source: io::Error,
}

impl IoError {
    /// The error for `path`.
    pub fn new(path: impl Into<PathBuf>, source: io::Error) -> IoError {
        IoError {
            path: path.into(),
            source,
        }
    }

    /// A function that turns an `io::Error` into one about `path`, for
    /// `map_err`.
    pub fn at(path: &Path) -> impl FnOnce(io::Error) -> IoError + '_ {
        move |source| IoError::new(path, source)
    }
}

/// True when `dir` is the top of a Linux tree: it holds `Makefile`,
/// `Kconfig` and `include/linux/`. A directory that merely holds an
/// `include/linux/` (a stray one in `/tmp`, `tools/` of a kernel tree) is
/// not.
pub fn is_kernel_top(dir: &Path) -> bool {
    dir.join("Makefile").is_file()
        && dir.join("Kconfig").is_file()
        && dir.join("include/linux").is_dir()
}

/// The top of the Linux tree that `path` (a file or a directory) lies in:
/// the nearest of `path` and its ancestors that [`is_kernel_top`],
/// canonical. `None` outside a kernel tree or when `path` does not exist.
pub fn kernel_top(path: &Path) -> Option<PathBuf> {
    let abs = fs::canonicalize(path).ok()?;
    abs.ancestors()
        .find(|a| is_kernel_top(a))
        .map(Path::to_path_buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_kernel_top_needs_makefile_kconfig_and_include_linux() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().canonicalize().unwrap();
        let top = root.join("linux");
        fs::create_dir_all(top.join("include/linux")).unwrap();
        fs::create_dir_all(top.join("drivers/block")).unwrap();
        fs::write(top.join("drivers/block/brd.c"), "").unwrap();
        // A stray include/linux above: not a tree.
        fs::create_dir_all(root.join("include/linux")).unwrap();
        assert_eq!(kernel_top(&top.join("drivers/block")), None);
        fs::write(top.join("Makefile"), "").unwrap();
        assert_eq!(kernel_top(&top.join("drivers/block")), None);
        fs::write(top.join("Kconfig"), "").unwrap();
        assert_eq!(kernel_top(&top.join("drivers/block")), Some(top.clone()));
        assert_eq!(
            kernel_top(&top.join("drivers/block/brd.c")),
            Some(top.clone())
        );
        assert_eq!(kernel_top(&top), Some(top.clone()));
        assert_eq!(kernel_top(&top.join("no/such")), None);
    }
}
