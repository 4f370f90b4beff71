//! Baselines: the raw accesses a project accepts (sites that must keep the
//! raw field, or that wait for a human), so that CI fails only on new ones.
//!
//! An entry is keyed by what survives unrelated edits and moves: the file,
//! the enclosing function or macro, the kind of use and the line's text with
//! its whitespace squeezed, plus how many identical keys there are (the
//! first `count` findings with that key, in file order, are accepted). Line
//! numbers are not part of the key. The file is JSON, sorted, one entry per
//! key; its format is versioned like `check`'s JSON output.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::check::Finding;

/// The version of the baseline file format.
pub const VERSION: u32 = 1;

/// A problem with a baseline file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BaselineError {
    /// It could not be read.
    #[error("{path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// It is not a baseline.
    #[error(
        "{path}:{line}:{col}: not a bvmig baseline: {msg}; write a new one with --write-baseline"
    )]
    Format {
        /// The file.
        path: String,
        /// 1-based line of the problem.
        line: usize,
        /// 1-based column.
        col: usize,
        /// What is wrong.
        msg: String,
    },
    /// It has a version this build does not know.
    #[error(
        "{path}: baseline version {found} is not supported (this bvmig writes version {VERSION})"
    )]
    Version {
        /// The file.
        path: String,
        /// The version it declares.
        found: u32,
    },
}

/// What identifies an accepted site, independently of line numbers.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Key {
    /// The file, as `check` names it.
    pub file: String,
    /// The enclosing function or macro; empty outside both.
    #[serde(default)]
    pub function: String,
    /// The kind of use (`read`, `address`, ...).
    pub kind: String,
    /// The line's text, whitespace squeezed to single spaces.
    pub text: String,
}

impl Key {
    /// The key of `finding`.
    pub fn of(finding: &Finding) -> Key {
        Key {
            file: finding.file.clone(),
            function: finding.function.clone().unwrap_or_default(),
            kind: finding.kind.as_str().to_string(),
            text: finding
                .line_text
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" "),
        }
    }
}

#[derive(Debug, Serialize, Deserialize)]
struct Entry {
    #[serde(flatten)]
    key: Key,
    count: usize,
}

#[derive(Debug, Serialize, Deserialize)]
struct File {
    version: u32,
    entries: Vec<Entry>,
}

/// Accepted sites: how many of each key.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Baseline {
    counts: BTreeMap<Key, usize>,
}

/// Findings split by a baseline.
#[derive(Debug, Default)]
pub struct Split {
    /// Findings the baseline does not accept, in their order.
    pub new: Vec<Finding>,
    /// How many it accepts.
    pub n_accepted: usize,
    /// Accepted sites that were not found any more.
    pub n_stale: usize,
}

impl Baseline {
    /// A baseline accepting exactly `findings`.
    pub fn of<'a>(findings: impl IntoIterator<Item = &'a Finding>) -> Baseline {
        let mut counts = BTreeMap::new();
        for f in findings {
            *counts.entry(Key::of(f)).or_default() += 1;
        }
        Baseline { counts }
    }

    /// Reads the baseline file at `path`.
    pub fn read(path: &Path) -> Result<Baseline, BaselineError> {
        let name = path.display().to_string();
        let text = crate::file::read(path).map_err(|source| BaselineError::Read {
            path: name.clone(),
            source,
        })?;
        Baseline::parse(&name, &text)
    }

    /// Parses baseline text, named `name` in errors.
    pub fn parse(name: &str, text: &[u8]) -> Result<Baseline, BaselineError> {
        let format = |e: serde_json::Error| BaselineError::Format {
            path: name.to_string(),
            line: e.line(),
            col: e.column(),
            msg: e
                .to_string()
                .split(" at line ")
                .next()
                .unwrap_or("")
                .to_string(),
        };
        // The version first, so that a future format is named as such
        // rather than reported as malformed.
        #[derive(Deserialize)]
        struct Versioned {
            version: u32,
        }
        let v: Versioned = serde_json::from_slice(text).map_err(format)?;
        if v.version != VERSION {
            return Err(BaselineError::Version {
                path: name.to_string(),
                found: v.version,
            });
        }
        let file: File = serde_json::from_slice(text).map_err(format)?;
        let mut counts = BTreeMap::new();
        for e in file.entries {
            *counts.entry(e.key).or_default() += e.count;
        }
        Ok(Baseline { counts })
    }

    /// The file's text: pretty JSON, entries sorted, a final newline.
    pub fn to_json(&self) -> String {
        let file = File {
            version: VERSION,
            entries: self
                .counts
                .iter()
                .map(|(key, &count)| Entry {
                    key: key.clone(),
                    count,
                })
                .collect(),
        };
        let mut s = serde_json::to_string_pretty(&file).expect("a baseline serializes");
        s.push('\n');
        s
    }

    /// Number of accepted sites.
    pub fn len(&self) -> usize {
        self.counts.values().sum()
    }

    /// Splits `findings` (in file order) into new ones and accepted ones:
    /// for each key, the first `count` findings are accepted.
    pub fn split(&self, findings: Vec<Finding>) -> Split {
        let mut left = self.counts.clone();
        let mut split = Split::default();
        for f in findings {
            match left.get_mut(&Key::of(&f)) {
                Some(n) if *n > 0 => {
                    *n -= 1;
                    split.n_accepted += 1;
                }
                _ => split.new.push(f),
            }
        }
        split.n_stale = left.values().sum();
        split
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::Advice;
    use crate::engine::site::Kind;

    fn finding(file: &str, line: usize, function: &str, text: &str) -> Finding {
        Finding {
            file: file.into(),
            line,
            col: 1,
            end_col: 8,
            kind: Kind::Address,
            advice: Advice::Left("why".into()),
            function: Some(function.into()),
            line_text: text.into(),
            origin: None,
            patch: None,
            kept: false,
        }
    }

    #[test]
    fn keys_ignore_lines_and_whitespace_and_count_duplicates() {
        let old = [
            finding("a.c", 10, "f", "\tp = &bv->bv_page;"),
            finding("a.c", 12, "f", "\tp = &bv->bv_page;"),
        ];
        let b = Baseline::parse("b.json", Baseline::of(&old).to_json().as_bytes()).unwrap();
        assert_eq!(b.len(), 2);
        // Moved down, reindented, and a third identical line added.
        let now = vec![
            finding("a.c", 30, "f", "  p  = &bv->bv_page;"),
            finding("a.c", 31, "f", "p = &bv->bv_page;"),
            finding("a.c", 40, "f", "p = &bv->bv_page;"),
            finding("a.c", 50, "g", "p = &bv->bv_page;"),
        ];
        let split = b.split(now);
        assert_eq!(split.n_accepted, 2);
        assert_eq!(split.n_stale, 0);
        let new: Vec<usize> = split.new.iter().map(|f| f.line).collect();
        assert_eq!(new, [40, 50]);
        assert_eq!(b.split(Vec::new()).n_stale, 2);
    }

    #[test]
    fn bad_files_name_their_place() {
        let e = Baseline::parse("b.json", b"{\"version\": 1,\n \"entries\": [}").unwrap_err();
        assert!(
            e.to_string()
                .starts_with("b.json:2:14: not a bvmig baseline: "),
            "{e}"
        );
        let e = Baseline::parse("b.json", b"{\"version\": 7, \"entries\": []}").unwrap_err();
        assert_eq!(
            e.to_string(),
            "b.json: baseline version 7 is not supported (this bvmig writes version 1)"
        );
    }
}
