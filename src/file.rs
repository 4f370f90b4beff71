//! Files on disk: the one I/O error, which names the path it is about.

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
