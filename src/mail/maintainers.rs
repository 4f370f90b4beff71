//! The kernel's MAINTAINERS file: its entries, and which entries cover a
//! path, most specific first, as `scripts/get_maintainer.pl` reads them.
//!
//! An entry is a title line followed by `X:\tvalue` lines (one capital
//! letter, a colon, a tab or spaces); a blank line or the next title ends it.
//! Of the tags, `M:` (maintainer), `R:` (reviewer), `L:` (mailing list),
//! `F:` and `X:` (file patterns: covered, excluded) and `N:` (a regular
//! expression over the path) matter here; `K:` (content keywords) does not,
//! since it matches patches, not paths.
//!
//! Patterns have the kernel's semantics: a trailing `/` covers the
//! directory and everything below; a pattern without wildcards that names a
//! directory does too (get_maintainer.pl checks the disk; a path that has
//! more components below the pattern can only be below a directory); `*` and
//! `?` match within one path component, so a pattern with a wildcard and no
//! trailing `/` covers files at its own depth only (`drivers/net/*` is the
//! files in drivers/net, not below). Other characters match themselves.
//!
//! **Specificity** (the rule that picks the entry a file belongs to): a
//! match is ranked by the number of path components its pattern names
//! (`drivers/md/` 2, `drivers/md/bcache` 3, `include/linux/blk*` 3; as
//! get_maintainer.pl's depth), then by its number of literal characters
//! (`drivers/md/dm.c` beats `drivers/md/*`); an `N:` regex ranks below every
//! `F:` pattern; an entry's rank for a file is that of its best matching
//! pattern, and an entry with a matching `X:` pattern does not cover the
//! file. Equal ranks go to the entry that comes first in the file. A
//! pattern without a literal character (THE REST's `*` and `*/`) covers
//! every path and so names no subsystem: it never picks the owner, and its
//! entry contributes its lists but not its people to a Cc list (as
//! get_maintainer.pl leaves out Linus unless asked).

use std::path::Path;

/// A problem reading MAINTAINERS.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MaintainersError {
    /// The file could not be read.
    #[error("{path}: {source}")]
    Read {
        /// Its path.
        path: String,
        /// Why.
        source: std::io::Error,
    },
}

/// One entry: a subsystem, a driver, a file.
#[derive(Debug, Clone)]
pub struct Entry {
    /// The title line (`BLOCK LAYER`).
    pub title: String,
    /// 1-based line of the title in the file.
    #[cfg_attr(
        not(test),
        allow(dead_code, reason = "the tests check where an entry starts")
    )]
    pub line: usize,
    /// Its tag lines, in order: the tag letter and the value.
    pub tags: Vec<(char, String)>,
    patterns: Vec<Pattern>,
    excludes: Vec<Pattern>,
    regexes: Vec<regex::Regex>,
}

impl Entry {
    /// An entry titled `title` at 1-based `line`, with no tags yet.
    fn new(title: &str, line: usize) -> Entry {
        Entry {
            title: title.to_string(),
            line,
            tags: Vec::new(),
            patterns: Vec::new(),
            excludes: Vec::new(),
            regexes: Vec::new(),
        }
    }

    /// The values of `tag` (`'M'`, `'R'`, `'L'`, ...), in order.
    pub fn values(&self, tag: char) -> impl Iterator<Item = &str> {
        self.tags
            .iter()
            .filter(move |(t, _)| *t == tag)
            .map(|(_, v)| v.as_str())
    }

    /// The people of `tag` (`'M'`, `'R'`) as `Name <address>`, without
    /// remarks after the address such as `(DFS, global name space)`.
    pub fn people(&self, tag: char) -> impl Iterator<Item = &str> {
        self.values(tag).map(|v| match v.rfind('>') {
            Some(k) => v[..=k].trim(),
            None => v.trim(),
        })
    }

    /// The mailing lists, without remarks such as `(moderated for
    /// non-subscribers)`.
    pub fn lists(&self) -> impl Iterator<Item = &str> {
        self.values('L').map(|v| match v.find(" (") {
            Some(k) => v[..k].trim(),
            None => v.trim(),
        })
    }
}

/// How specific a match is; greater is more specific.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Specificity {
    /// Path components the pattern names (0 for an `N:` regex).
    pub depth: usize,
    /// Literal characters in the pattern.
    pub literal: usize,
}

impl Specificity {
    /// False for patterns that cover every path (`*`, `*/`).
    pub fn names_subsystem(self) -> bool {
        self.literal > 0
    }
}

/// An entry that covers a path.
#[derive(Debug, Clone, Copy)]
pub struct Match<'a> {
    /// The entry.
    pub entry: &'a Entry,
    /// Its position in the file (0-based), which breaks ties.
    pub index: usize,
    /// Its best pattern's rank for the path.
    pub specificity: Specificity,
}

/// A parsed MAINTAINERS file.
#[derive(Debug, Clone, Default)]
pub struct Maintainers {
    /// Entries in file order (the text before the first entry included,
    /// as entries without patterns).
    pub entries: Vec<Entry>,
}

/// One `F:` or `X:` pattern split at `/`.
#[derive(Debug, Clone)]
struct Pattern {
    components: Vec<String>,
    /// A trailing `/`: the directory and everything below.
    dir: bool,
    has_wildcard: bool,
    literal: usize,
}

impl Pattern {
    fn parse(text: &str) -> Option<Pattern> {
        let text = text.trim();
        let dir = text.ends_with('/');
        let components: Vec<String> = text
            .split('/')
            .filter(|c| !c.is_empty())
            .map(str::to_string)
            .collect();
        if components.is_empty() {
            return None;
        }
        let has_wildcard = text.contains(['*', '?']);
        let literal = components
            .iter()
            .map(|c| c.chars().filter(|&ch| ch != '*' && ch != '?').count())
            .sum();
        Some(Pattern {
            components,
            dir,
            has_wildcard,
            literal,
        })
    }

    fn specificity(&self) -> Specificity {
        Specificity {
            depth: self.components.len(),
            literal: self.literal,
        }
    }

    /// True when the pattern covers `path` (components separated by `/`).
    fn covers(&self, path: &[&str]) -> bool {
        let n = self.components.len();
        let below_allowed = self.dir || !self.has_wildcard;
        let depth_ok = if below_allowed {
            path.len() > n || (!self.dir && path.len() == n)
        } else {
            path.len() == n
        };
        depth_ok
            && self
                .components
                .iter()
                .zip(path)
                .all(|(p, c)| wildcard(p.as_bytes(), c.as_bytes()))
    }
}

/// `*` (any run, possibly empty) and `?` (one character) within a component.
fn wildcard(pattern: &[u8], text: &[u8]) -> bool {
    let (mut p, mut t) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        if p < pattern.len() && (pattern[p] == b'?' || pattern[p] == text[t]) {
            p += 1;
            t += 1;
        } else if p < pattern.len() && pattern[p] == b'*' {
            star = Some((p, t));
            p += 1;
        } else if let Some((sp, st)) = star {
            p = sp + 1;
            t = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    pattern[p..].iter().all(|&c| c == b'*')
}

/// `X:\tvalue` with X a capital letter, at the start of a line.
fn tag_line(line: &str) -> Option<(char, &str)> {
    let mut chars = line.chars();
    let tag = chars.next().filter(char::is_ascii_uppercase)?;
    let rest = chars.as_str().strip_prefix(':')?;
    if !rest.is_empty() && !rest.starts_with([' ', '\t']) {
        return None;
    }
    Some((tag, rest.trim()))
}

impl Maintainers {
    /// Reads and parses `path`.
    pub fn read(path: &Path) -> Result<Maintainers, MaintainersError> {
        let bytes = crate::file::read(path).map_err(|source| MaintainersError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Ok(Maintainers::parse(&String::from_utf8_lossy(&bytes)))
    }

    /// Parses the text of a MAINTAINERS file. Parsing does not fail: a line
    /// that is neither a tag nor blank starts an entry; an `N:` pattern that
    /// is not a valid regular expression is ignored.
    pub fn parse(text: &str) -> Maintainers {
        let mut entries: Vec<Entry> = Vec::new();
        let mut open = false;
        for (i, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                open = false;
                continue;
            }
            let Some((tag, value)) = tag_line(line) else {
                entries.push(Entry::new(line.trim(), i + 1));
                open = true;
                continue;
            };
            if !open {
                // Tags without a title: an entry of their own.
                entries.push(Entry::new("", i + 1));
                open = true;
            }
            let e = entries.last_mut().expect("an entry is open");
            e.tags.push((tag, value.to_string()));
            match tag {
                'F' => e.patterns.extend(Pattern::parse(value)),
                'X' => e.excludes.extend(Pattern::parse(value)),
                'N' => {
                    // get_maintainer.pl matches N: with Perl's /x flag.
                    if let Ok(re) = regex::Regex::new(&format!("(?x){value}")) {
                        e.regexes.push(re);
                    }
                }
                _ => {}
            }
        }
        Maintainers { entries }
    }

    /// Every entry that covers `path` (relative to the tree's top, `/`
    /// separators), most specific first.
    pub fn matches(&self, path: &str) -> Vec<Match<'_>> {
        let comps: Vec<&str> = path.split('/').filter(|c| !c.is_empty()).collect();
        let mut out = Vec::new();
        for (index, e) in self.entries.iter().enumerate() {
            if e.excludes.iter().any(|x| x.covers(&comps)) {
                continue;
            }
            let best = e
                .patterns
                .iter()
                .filter(|p| p.covers(&comps))
                .map(Pattern::specificity)
                .max();
            let best = best.or_else(|| {
                e.regexes
                    .iter()
                    .any(|re| re.is_match(path))
                    .then_some(Specificity {
                        depth: 0,
                        literal: 1,
                    })
            });
            if let Some(specificity) = best {
                out.push(Match {
                    entry: e,
                    index,
                    specificity,
                });
            }
        }
        out.sort_by(|a, b| {
            b.specificity
                .cmp(&a.specificity)
                .then(a.index.cmp(&b.index))
        });
        out
    }

    /// The entry `path` belongs to: the most specific that names a
    /// subsystem; `None` when only catch-all patterns cover it.
    pub fn owner(&self, path: &str) -> Option<Match<'_>> {
        self.matches(path)
            .into_iter()
            .find(|m| m.specificity.names_subsystem())
    }

    /// The addresses to Cc for changes to `paths`: `M:`, `R:` and `L:` of
    /// every entry that covers one of them (only `L:` of catch-all
    /// entries), the most specific entries first, each address once.
    pub fn cc(&self, paths: &[&str]) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        let mut seen: Vec<String> = Vec::new();
        let mut push = |addr: &str| {
            let key = address_key(addr);
            if !key.is_empty() && !seen.contains(&key) {
                seen.push(key);
                out.push(addr.to_string());
            }
        };
        for path in paths {
            for m in self.matches(path) {
                if m.specificity.names_subsystem() {
                    m.entry.people('M').for_each(&mut push);
                    m.entry.people('R').for_each(&mut push);
                }
                m.entry.lists().for_each(&mut push);
            }
        }
        out
    }
}

impl Maintainers {
    /// The mailing lists (`L:`) of every entry that covers one of
    /// `paths`, catch-alls included, the most specific first, each once.
    pub fn lists(&self, paths: &[&str]) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for path in paths {
            for m in self.matches(path) {
                for l in m.entry.lists() {
                    if !out.iter().any(|o| address_key(o) == address_key(l)) {
                        out.push(l.to_string());
                    }
                }
            }
        }
        out
    }

    /// The maintainers (`M:`) of the entries that name a subsystem and
    /// cover every one of `paths`: those who own the whole of a change
    /// (none when the paths belong to different subsystems).
    pub fn maintainers_of_all(&self, paths: &[&str]) -> Vec<String> {
        let Some((first, rest)) = paths.split_first() else {
            return Vec::new();
        };
        let mut out: Vec<String> = Vec::new();
        for m in self.matches(first) {
            if !m.specificity.names_subsystem() {
                continue;
            }
            let everywhere = rest
                .iter()
                .all(|p| self.matches(p).iter().any(|o| o.index == m.index));
            if everywhere {
                for a in m.entry.people('M') {
                    if !out.iter().any(|o| address_key(o) == address_key(a)) {
                        out.push(a.to_string());
                    }
                }
            }
        }
        out
    }
}

/// The e-mail address of `Name <addr>` (or a bare address), lowercased.
fn address_key(addr: &str) -> String {
    let inner = match (addr.rfind('<'), addr.rfind('>')) {
        (Some(a), Some(b)) if a < b => &addr[a + 1..b],
        _ => addr,
    };
    inner.trim().to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "\
List of maintainers
===================

Descriptions of section entries and preferred order
\tM: *Mail* patches to: FullName <address@domain>

BCACHE (BLOCK LAYER CACHE)
M:\tColy Li <colyli@suse.de>
L:\tlinux-bcache@vger.kernel.org
S:\tMaintained
F:\tdrivers/md/bcache

BLOCK LAYER
M:\tJens Axboe <axboe@kernel.dk>
L:\tlinux-block@vger.kernel.org
F:\tblock/
F:\tdrivers/block/
F:\tinclude/linux/blk*
X:\tblock/partitions/

BLOCK BIO
R:\tA Reviewer <rev@example.org> (bios only)
L:\tlinux-block@vger.kernel.org (moderated for non-subscribers)
F:\tblock/bio.c

DEVICE-MAPPER
F:\tdrivers/md/*
F:\tdrivers/md/dm.c

TEGRA
N:\t[^a-z]tegra

THE REST
M:\tLinus Torvalds <torvalds@linux-foundation.org>
L:\tlinux-kernel@vger.kernel.org
F:\t*
F:\t*/
";

    fn owner(path: &str) -> Option<String> {
        Maintainers::parse(TEXT)
            .owner(path)
            .map(|m| m.entry.title.clone())
    }

    #[test]
    fn most_specific_entry_wins() {
        assert_eq!(owner("block/bio.c").as_deref(), Some("BLOCK BIO"));
        assert_eq!(owner("block/blk-merge.c").as_deref(), Some("BLOCK LAYER"));
        assert_eq!(owner("block/x/y.c").as_deref(), Some("BLOCK LAYER"));
        // A directory named without a trailing slash covers what is below.
        assert_eq!(
            owner("drivers/md/bcache/btree.c").as_deref(),
            Some("BCACHE (BLOCK LAYER CACHE)")
        );
        // A wildcard stays in its component and its depth.
        assert_eq!(
            owner("drivers/md/raid1.c").as_deref(),
            Some("DEVICE-MAPPER")
        );
        assert_eq!(owner("drivers/md/persistent-data/x.c"), None);
        assert_eq!(
            owner("include/linux/blkdev.h").as_deref(),
            Some("BLOCK LAYER")
        );
        assert_eq!(owner("include/linux/bvec.h"), None);
        // X: excludes.
        assert_eq!(owner("block/partitions/efi.c"), None);
        // N: regexes rank below F: patterns but name a subsystem.
        assert_eq!(
            owner("drivers/gpu/host1x/tegra.c").as_deref(),
            Some("TEGRA")
        );
        // Only the catch-all: no owner, but THE REST still matches.
        let m = Maintainers::parse(TEXT);
        let all = m.matches("mm/page_io.c");
        assert_eq!(all.len(), 1);
        assert_eq!(all[0].entry.title, "THE REST");
    }

    #[test]
    fn literal_characters_break_equal_depths() {
        let m = Maintainers::parse(TEXT);
        let titles: Vec<&str> = m
            .matches("drivers/md/dm.c")
            .iter()
            .map(|x| x.entry.title.as_str())
            .collect();
        assert_eq!(titles, vec!["DEVICE-MAPPER", "THE REST"]);
        let dm = &m.matches("drivers/md/dm.c")[0];
        assert_eq!(
            dm.specificity,
            Specificity {
                depth: 3,
                literal: 13
            }
        );
    }

    #[test]
    fn cc_lists_people_then_lists_and_only_lists_of_catch_alls() {
        let m = Maintainers::parse(TEXT);
        assert_eq!(
            m.cc(&["block/bio.c", "block/blk-merge.c"]),
            vec![
                "A Reviewer <rev@example.org>",
                "linux-block@vger.kernel.org",
                "Jens Axboe <axboe@kernel.dk>",
                "linux-kernel@vger.kernel.org",
            ]
        );
    }

    #[test]
    fn lists_of_any_and_maintainers_of_all() {
        let m = Maintainers::parse(TEXT);
        assert_eq!(
            m.lists(&["drivers/md/bcache/btree.c", "block/bio.c", "block/x.c"]),
            vec![
                "linux-bcache@vger.kernel.org",
                "linux-kernel@vger.kernel.org",
                "linux-block@vger.kernel.org",
            ]
        );
        // BLOCK LAYER covers both; BLOCK BIO only one; THE REST names no
        // subsystem.
        assert_eq!(
            m.maintainers_of_all(&["block/bio.c", "drivers/block/brd.c"]),
            vec!["Jens Axboe <axboe@kernel.dk>"]
        );
        assert!(m
            .maintainers_of_all(&["block/bio.c", "drivers/md/bcache/btree.c"])
            .is_empty());
        assert!(m.maintainers_of_all(&[]).is_empty());
    }

    #[test]
    fn wildcards() {
        assert!(wildcard(b"blk*", b"blkdev.h"));
        assert!(wildcard(b"*", b""));
        assert!(wildcard(b"a?c*.h", b"abcdef.h"));
        assert!(!wildcard(b"a?c", b"ac"));
        assert!(wildcard(b"*.c", b"x.y.c"));
        assert!(!wildcard(b"*.c", b"x.h"));
    }

    #[test]
    fn the_preamble_is_not_an_entry_with_tags() {
        let m = Maintainers::parse(TEXT);
        assert!(m.entries[0].tags.is_empty());
        assert_eq!(m.entries[0].title, "List of maintainers");
        let bio = m.entries.iter().find(|e| e.title == "BLOCK BIO").unwrap();
        assert_eq!(
            bio.lists().collect::<Vec<_>>(),
            vec!["linux-block@vger.kernel.org"]
        );
        assert_eq!(bio.line, 21);
    }
}
