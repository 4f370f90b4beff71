//! Subject prefixes: the most common `prefix:` in the git history of a
//! patch's files (`block:`), else one taken from their paths
//! (`drivers/md/bcache/btree.c` gives `bcache:`).

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

/// The most common prefix of `subjects` (newest first); a tie goes to the
/// newest.
pub fn prefix_from_history(subjects: &[String]) -> Option<String> {
    let mut counts: Vec<(&str, usize)> = Vec::new();
    for s in subjects {
        if let Some(p) = prefix_of(s) {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_from_history() {
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert_eq!(
            prefix_from_history(&s(&[
                "block: fix a leak",
                "Merge branch 'for-next'",
                "treewide: rename x",
                "bcache: tidy",
                "block: add y",
                "Revert \"block: add z\"",
            ]))
            .as_deref(),
            Some("block:")
        );
        // A tie goes to the newest.
        assert_eq!(
            prefix_from_history(&s(&["md/raid10: a", "md: b"])).as_deref(),
            Some("md/raid10:")
        );
        assert_eq!(
            prefix_from_history(&s(&["Linux 6.1", "Initial import"])),
            None
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
