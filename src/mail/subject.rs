//! Subject prefixes: the most common `prefix:` in the git history of a
//! patch's files (`block:`), else one taken from their paths
//! (`drivers/md/bcache/btree.c` gives `bcache:`); and the area that tells
//! apart two patches whose prefixes are the same (`block: blk-merge:`).
//!
//! **Imports do not count.** A commit that touched the whole tree (the
//! import of a tarball into git, `Linux 6.12` made a repository, or a
//! treewide change) says nothing about who owns a file, yet it touched
//! every file and would give its prefix to every patch of a young
//! repository. A commit counts as such when it touched at least
//! [`IMPORT_FILES`] files, or at least half of the files HEAD tracks (and
//! more than [`IMPORT_MIN`]); its subject is ignored.

use crate::git::Commit;

/// A commit that touched this many files is an import or a treewide
/// change, whatever the size of the tree (the kernel's own first commit,
/// `Linux-2.6.12-rc2`, touched 17291).
pub(super) const IMPORT_FILES: usize = 1000;

/// Below this many files, a commit that touched half the tree is not
/// called an import (a tree of two files).
pub(super) const IMPORT_MIN: usize = 4;

/// True when `c` touched the whole tree or much of it (see the module's
/// documentation); `n_tracked` is how many files the tree has.
pub(super) fn is_import(c: &Commit, n_tracked: usize) -> bool {
    c.n_files >= IMPORT_FILES || (c.n_files > IMPORT_MIN && 2 * c.n_files >= n_tracked)
}

/// The `prefix:` of a subject (`block: fix` gives `block:`), if it has one
/// that names a subsystem: not a merge, a revert or a treewide change.
pub(super) fn prefix_of(subject: &str) -> Option<&str> {
    let (p, _) = subject.split_once(": ")?;
    let p = p.trim();
    let bad = p.is_empty()
        || p.len() > 40
        || p.contains(['"', '\'', '[', ']', '(', ')'])
        || p.starts_with("Merge ")
        || p.starts_with("Revert ")
        || p.eq_ignore_ascii_case("treewide");
    (!bad).then_some(p)
}

/// The most common prefix of the subjects of `commits` (newest first),
/// imports left out; a tie goes to the newest. `n_tracked` is how many
/// files the tree has.
pub fn prefix_from_history(commits: &[Commit], n_tracked: usize) -> Option<String> {
    let mut counts: Vec<(&str, usize)> = Vec::new();
    for c in commits.iter().filter(|c| !is_import(c, n_tracked)) {
        if let Some(p) = prefix_of(&c.subject) {
            match counts.iter_mut().find(|(q, _)| *q == p) {
                Some((_, n)) => *n += 1,
                None => counts.push((p, 1)),
            }
        }
    }
    // max_by_key keeps the last of equals; scan in reverse so that the
    // first seen (the newest) wins ties.
    counts
        .iter()
        .rev()
        .max_by_key(|(_, n)| *n)
        .map(|(p, _)| format!("{p}:"))
}

/// Directories that name no subsystem: a file below one is named by a
/// directory further up, or by itself.
pub(super) const GENERIC_DIRS: &[&str] = &[
    "include",
    "linux",
    "uapi",
    "asm-generic",
    "drivers",
    "lib",
    "arch",
    "host",
    "client",
    "core",
    "common",
];

/// The prefix for files without history: per file, its innermost
/// directory that names a subsystem (`drivers/md/bcache/btree.c` gives
/// `bcache`, `drivers/nvme/host/pci.c` gives `nvme`; `block` names one only
/// at the top), else the file's own stem (`include/linux/bvec.h` gives
/// `bvec`, `drivers/block/brd.c` gives `brd`); the most common of them.
pub fn prefix_from_paths(names: &[&str]) -> String {
    let mut counts: Vec<(String, usize)> = Vec::new();
    for name in names {
        let comps: Vec<&str> = name.split('/').collect();
        let (file, dirs) = comps.split_last().expect("split gives one part at least");
        let named = dirs
            .iter()
            .enumerate()
            .rev()
            .find(|&(depth, d)| !GENERIC_DIRS.contains(d) && (*d != "block" || depth == 0));
        let p = match named {
            Some((_, d)) => d.to_string(),
            None => file.split('.').next().unwrap_or(file).to_string(),
        };
        match counts.iter_mut().find(|(q, _)| *q == p) {
            Some((_, n)) => *n += 1,
            None => counts.push((p, 1)),
        }
    }
    let best = counts.iter().rev().max_by_key(|(_, n)| *n);
    format!("{}:", best.map_or("bvec", |(p, _)| p.as_str()))
}

/// What tells apart patches that share `prefix` (`block:`): for each
/// patch, given the files it changes, an area (`blk-merge`), or `None`
/// when the prefix alone says it. The candidates, in order: the file's
/// stem for a patch of one file; the name its paths give
/// ([`prefix_from_paths`]); the last directory all its files share. The
/// first candidate that differs from the prefix and from the other
/// patches' areas wins; one patch (the first that has no candidate left)
/// may keep the bare prefix.
pub(super) fn areas(prefix: &str, patches: &[Vec<&str>]) -> Vec<Option<String>> {
    let word = prefix.trim_end_matches(':');
    let candidates: Vec<Vec<String>> = patches
        .iter()
        .map(|names| {
            let mut c: Vec<String> = Vec::new();
            if let [one] = names.as_slice() {
                let file = one.rsplit('/').next().unwrap_or(one);
                c.push(file.split('.').next().unwrap_or(file).to_string());
            }
            c.push(prefix_from_paths(names).trim_end_matches(':').to_string());
            if let Some(d) = common_dir(names) {
                c.push(d.rsplit('/').next().unwrap_or(&d).to_string());
            }
            c.retain(|a| !a.is_empty() && a != word && !word.ends_with(&format!("/{a}")));
            c.dedup();
            c
        })
        .collect();
    let mut out: Vec<Option<String>> = vec![None; patches.len()];
    let mut taken: Vec<String> = Vec::new();
    for (i, c) in candidates.iter().enumerate() {
        // Unique among all the patches' first choices first, then any
        // candidate not taken yet.
        let free = c
            .iter()
            .find(|a| {
                !taken.contains(a)
                    && candidates
                        .iter()
                        .enumerate()
                        .all(|(j, o)| j == i || o.first() != Some(a))
            })
            .or_else(|| c.iter().find(|a| !taken.contains(a)));
        if let Some(a) = free {
            taken.push(a.clone());
            out[i] = Some(a.clone());
        }
    }
    out
}

/// The longest directory all of `names` lie in (`drivers/md` for
/// `drivers/md/a.c` and `drivers/md/b/c.c`), `None` when they share none.
fn common_dir(names: &[&str]) -> Option<String> {
    let dirs: Vec<Vec<&str>> = names
        .iter()
        .map(|n| {
            let mut c: Vec<&str> = n.split('/').collect();
            c.pop();
            c
        })
        .collect();
    let first = dirs.first()?;
    let n = (0..first.len())
        .take_while(|&k| dirs.iter().all(|d| d.get(k) == first.get(k)))
        .count();
    (n > 0).then(|| first[..n].join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_from_history() {
        let s = |v: &[&str]| {
            v.iter()
                .map(|x| Commit {
                    subject: x.to_string(),
                    n_files: 1,
                })
                .collect::<Vec<_>>()
        };
        assert_eq!(
            prefix_from_history(
                &s(&[
                    "block: fix a leak",
                    "Merge branch 'for-next'",
                    "treewide: rename x",
                    "bcache: tidy",
                    "block: add y",
                    "Revert \"block: add z\"",
                ]),
                100
            )
            .as_deref(),
            Some("block:")
        );
        // A tie goes to the newest.
        assert_eq!(
            prefix_from_history(&s(&["md/raid10: a", "md: b"]), 100).as_deref(),
            Some("md/raid10:")
        );
        assert_eq!(
            prefix_from_history(&s(&["Linux 6.1", "Initial import"]), 100),
            None
        );
    }

    #[test]
    fn imports_and_treewide_commits_give_no_prefix() {
        let c = |subject: &str, n_files| Commit {
            subject: subject.to_string(),
            n_files,
        };
        // An import of the whole tree, with a prefix, outnumbers nothing:
        // it is left out however many times it appears.
        let history = vec![
            c("debian: import linux-source-6.12", 80_000),
            c("kernel: import 6.11", 80_000),
            c("block: fix", 2),
        ];
        assert_eq!(
            prefix_from_history(&history, 80_000).as_deref(),
            Some("block:")
        );
        // 1000 files or more, in any tree; half of a small tree.
        assert!(is_import(&c("treewide: x", IMPORT_FILES), 1_000_000));
        assert!(!is_import(&c("net: x", IMPORT_FILES - 1), 1_000_000));
        assert!(is_import(&c("import: x", 300), 300));
        assert!(is_import(&c("import: x", 150), 300));
        assert!(!is_import(&c("block: x", 149), 300));
        // A tree of a few files: every commit touches half of it.
        assert!(!is_import(&c("block: x", 2), 3));
        assert!(!is_import(&c("block: x", IMPORT_MIN), IMPORT_MIN));
        // Only imports: no prefix.
        assert_eq!(prefix_from_history(&[c("import: all", 8)], 8), None);
    }

    #[test]
    fn areas_tell_apart_patches_with_one_prefix() {
        let a = |prefix: &str, p: &[&[&str]]| {
            areas(prefix, &p.iter().map(|v| v.to_vec()).collect::<Vec<_>>())
        };
        // One file gives its stem; the patch whose paths say only the
        // prefix keeps it bare.
        assert_eq!(
            a(
                "block:",
                &[
                    &["block/bio.c", "drivers/block/brd.c"],
                    &["block/blk-merge.c"]
                ]
            ),
            vec![None, Some("blk-merge".to_string())]
        );
        // Several files: the name their paths give, else their directory.
        assert_eq!(
            a(
                "md:",
                &[
                    &["drivers/md/bcache/a.c", "drivers/md/bcache/b.c"],
                    &["drivers/md/dm.c", "drivers/md/dm-io.c"],
                    &["drivers/md/raid1.c"],
                ]
            ),
            vec![Some("bcache".to_string()), None, Some("raid1".to_string())]
        );
        // Two files of one name: their directories tell them apart.
        assert_eq!(
            a("scsi:", &[&["drivers/scsi/a/x.c"], &["drivers/scsi/b/x.c"]]),
            vec![Some("a".to_string()), Some("b".to_string())]
        );
        // Nothing to tell them apart by: the first keeps the bare prefix.
        assert_eq!(
            a(
                "block:",
                &[&["block/a.c", "block/b.c"], &["block/c.c", "block/d.c"]]
            ),
            vec![None, None]
        );
    }

    #[test]
    fn prefixes_from_paths() {
        assert_eq!(prefix_from_paths(&["drivers/md/bcache/btree.c"]), "bcache:");
        assert_eq!(
            prefix_from_paths(&["block/bio.c", "block/blk-merge.c"]),
            "block:"
        );
        assert_eq!(prefix_from_paths(&["include/linux/bvec.h"]), "bvec:");
        assert_eq!(prefix_from_paths(&["lib/iov_iter.c"]), "iov_iter:");
        assert_eq!(prefix_from_paths(&["drivers/block/brd.c"]), "brd:");
        assert_eq!(prefix_from_paths(&["drivers/nvme/host/pci.c"]), "nvme:");
        assert_eq!(prefix_from_paths(&["fs/smb/client/misc.c"]), "smb:");
        assert_eq!(
            prefix_from_paths(&["drivers/s390/block/dasd_fba.c"]),
            "s390:"
        );
        assert_eq!(
            prefix_from_paths(&[
                "block/bio.c",
                "drivers/block/brd.c",
                "include/linux/blkdev.h"
            ]),
            "block:"
        );
    }
}
