//! Grouping the changed files into patches: by the MAINTAINERS entry that
//! owns them (the most specific), else by their first two directories.

use std::collections::BTreeMap;

use super::SourceFile;
use crate::mail::maintainers::Maintainers;

/// The files of one subsystem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    /// The MAINTAINERS entry's title, or the directory.
    pub title: String,
    /// True when a MAINTAINERS entry owns the files.
    pub from_maintainers: bool,
    /// Indices into [`Input::files`].
    pub files: Vec<usize>,
}

/// Groups `files` by owner: the MAINTAINERS entry, else the first two
/// directories. Groups are in the order of their first file.
pub fn group(files: &[SourceFile], maintainers: Option<&Maintainers>) -> Vec<Group> {
    let mut groups: Vec<Group> = Vec::new();
    let mut key_of: BTreeMap<(bool, String), usize> = BTreeMap::new();
    for (i, f) in files.iter().enumerate() {
        let owner = maintainers.and_then(|m| m.owner(&f.name));
        let (from_maintainers, key, title) = match owner {
            Some(m) => (true, m.index.to_string(), m.entry.title.clone()),
            None => {
                let dir = top_dirs(&f.name);
                (false, dir.clone(), dir)
            }
        };
        let g = *key_of.entry((from_maintainers, key)).or_insert_with(|| {
            groups.push(Group {
                title,
                from_maintainers,
                files: Vec::new(),
            });
            groups.len() - 1
        });
        groups[g].files.push(i);
    }
    groups
}

/// The first two directories of `name` (`drivers/md` for
/// `drivers/md/bcache/btree.c`; `block` for `block/bio.c`; `.` for a file
/// at the top).
pub(super) fn top_dirs(name: &str) -> String {
    let comps: Vec<&str> = name.split('/').collect();
    let dirs = &comps[..comps.len() - 1];
    if dirs.is_empty() {
        ".".to_string()
    } else {
        dirs[..dirs.len().min(2)].join("/")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_by_owner_then_by_two_directories() {
        let m = Maintainers::parse(
            "BLOCK LAYER\nM:\tJ <j@example.org>\nF:\tblock/\nF:\tdrivers/block/\n\nTHE REST\nF:\t*\nF:\t*/\n",
        );
        let f = |name: &str| SourceFile {
            name: name.to_string(),
            before: Vec::new(),
            after: Vec::new(),
            mode: 0o100644,
            sites: &[],
        };
        let files = vec![
            f("block/bio.c"),
            f("drivers/block/brd.c"),
            f("drivers/md/bcache/btree.c"),
            f("drivers/md/dm.c"),
            f("lib/iov_iter.c"),
        ];
        let g = group(&files, Some(&m));
        let got: Vec<(&str, bool, Vec<usize>)> = g
            .iter()
            .map(|g| (g.title.as_str(), g.from_maintainers, g.files.clone()))
            .collect();
        assert_eq!(
            got,
            vec![
                ("BLOCK LAYER", true, vec![0, 1]),
                ("drivers/md", false, vec![2, 3]),
                ("lib", false, vec![4]),
            ]
        );
    }
}
