//! Writing a rewrite into the tree (`patch --in-place`): each file replaced
//! through a temporary file in its directory and a rename, its mode kept,
//! so that a crash leaves the old file or the new one, never a mix.

use std::fs;
use std::io::{self, Write};
use std::path::Path;

use crate::engine::tree::{Patched, TreeError};

/// Writes every changed file of `patched`; what could not be written is
/// left unchanged and returned.
pub fn in_place(patched: &Patched) -> Vec<TreeError> {
    let mut errors = Vec::new();
    for (f, new) in patched.changed() {
        if let Err(source) = write_atomically(&f.path, new) {
            errors.push(TreeError::Write {
                name: f.name.clone(),
                source,
            });
        }
    }
    errors
}

/// Replaces `path`'s contents with `data` through a temporary file in the
/// same directory and a rename, keeping the file's mode.
fn write_atomically(path: &Path, data: &[u8]) -> io::Result<()> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let perms = fs::metadata(path)?.permissions();
    let mut tmp = tempfile::Builder::new()
        .prefix(".bvmig-")
        .tempfile_in(dir)?;
    tmp.write_all(data)?;
    tmp.as_file().sync_all()?;
    fs::set_permissions(tmp.path(), perms)?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}
