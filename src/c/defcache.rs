//! A cache of the definitions [`definition::scan`] finds under a tree's
//! `include/`, for runs that check one file at a time (`bvmig sparse`
//! under `make C=1`, thousands of times per build): reading every header
//! costs more than checking the file.
//!
//! An entry is keyed by the roots, the names asked and bvmig's version, and
//! holds a fingerprint of the roots: every C file's path, size and
//! modification time. A header that changed, appeared or went away changes
//! the fingerprint, and the roots are scanned again; taking the fingerprint
//! costs a walk with one `stat` per file, no reads.

use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use serde::{Deserialize, Serialize};

use crate::c::definition::{self, Definition};

/// One cached scan.
#[derive(Debug, Serialize, Deserialize)]
struct Entry {
    fingerprint: u64,
    definitions: Vec<Definition>,
}

/// [`definition::scan`] of `roots` for `names`, answered from the cache in
/// `dir` when the roots are as they were; the cache is updated otherwise.
/// A cache that cannot be read or written is only slower: the scan is
/// done, and its answer returned.
pub fn scan(roots: &[PathBuf], names: &[&str], dir: &Path) -> Vec<Definition> {
    let fingerprint = fingerprint(roots);
    let file = dir.join(format!("definitions-{:016x}.json", key(roots, names)));
    if let Some(entry) = std::fs::read(&file)
        .ok()
        .and_then(|b| serde_json::from_slice::<Entry>(&b).ok())
    {
        if entry.fingerprint == fingerprint {
            return entry.definitions;
        }
    }
    let definitions = definition::scan(roots, names);
    let entry = Entry {
        fingerprint,
        definitions,
    };
    // Written whole and renamed, so that parallel runs (make -j) never read
    // half an entry.
    if std::fs::create_dir_all(dir).is_ok() {
        if let Ok(mut tmp) = tempfile::NamedTempFile::new_in(dir) {
            let ok = serde_json::to_writer(&mut tmp, &entry).is_ok();
            if ok {
                let _ = tmp.persist(&file);
            }
        }
    }
    entry.definitions
}

/// The cache directory of the user: `$XDG_CACHE_HOME/bvmig`, else
/// `$HOME/.cache/bvmig`; `None` without either.
pub fn user_dir() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME")
                .filter(|h| !h.is_empty())
                .map(|h| PathBuf::from(h).join(".cache"))
        })?;
    Some(base.join("bvmig"))
}

fn key(roots: &[PathBuf], names: &[&str]) -> u64 {
    let mut h = std::hash::DefaultHasher::new();
    env!("CARGO_PKG_VERSION").hash(&mut h);
    roots.hash(&mut h);
    names.hash(&mut h);
    h.finish()
}

/// A hash of every C file's path, size and modification time under
/// `roots`. Each file's hash is added up, so the walk's order does not
/// matter and the directories need no sorting.
fn fingerprint(roots: &[PathBuf]) -> u64 {
    let mut sum: u64 = 0;
    for root in roots {
        let walk = ignore::WalkBuilder::new(root)
            .standard_filters(false)
            .follow_links(false)
            .build();
        for entry in walk.flatten() {
            let path = entry.path();
            if !matches!(path.extension().and_then(|e| e.to_str()), Some("c" | "h")) {
                continue;
            }
            let Ok(meta) = entry.metadata() else { continue };
            let mut h = std::hash::DefaultHasher::new();
            path.hash(&mut h);
            meta.len().hash(&mut h);
            meta.modified()
                .ok()
                .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
                .map(|d| d.as_nanos())
                .hash(&mut h);
            sum = sum.wrapping_add(h.finish());
        }
    }
    sum
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_changed_header_is_seen_and_an_unchanged_tree_is_not_read() {
        let tree = tempfile::tempdir().unwrap();
        let cache = tempfile::tempdir().unwrap();
        let h = tree.path().join("include/linux/bvec.h");
        std::fs::create_dir_all(h.parent().unwrap()).unwrap();
        std::fs::write(&h, "struct page *bvec_page(const struct bio_vec *bv);\n").unwrap();
        let roots = vec![tree.path().join("include")];
        let first = scan(&roots, &["bvec_page"], cache.path());
        assert_eq!(first.len(), 1);
        // The cached answer is given while nothing changed: replace the
        // entry's definitions and see them come back.
        let file = std::fs::read_dir(cache.path())
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| p.extension().is_some_and(|x| x == "json"))
            .unwrap();
        let mut entry: Entry = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
        entry.definitions[0].line = 42;
        std::fs::write(&file, serde_json::to_vec(&entry).unwrap()).unwrap();
        assert_eq!(scan(&roots, &["bvec_page"], cache.path())[0].line, 42);
        // A header that changes size is scanned again.
        std::fs::write(&h, "\nstatic inline void bvec_page(int a, int b) { }\n").unwrap();
        let again = scan(&roots, &["bvec_page"], cache.path());
        assert_eq!(
            (again[0].line, again[0].params.to_string()),
            (2, "2 parameters".to_string())
        );
        // Other names are another entry.
        assert!(scan(&roots, &["bvec_set_page"], cache.path()).is_empty());
    }
}
