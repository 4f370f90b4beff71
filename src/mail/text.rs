//! The words of the messages: lists of calls and places, the reason for
//! the conversion, the counts of what changed and was left, the rule
//! quoted, wrapped as commit messages are.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::{RuleText, SourceFile};
use crate::engine::site::{Kind, Site, Status};

/// `a()`, `a() and b()`, `a(), b() and c()`.
pub(super) fn call_list(names: &[String]) -> String {
    let calls: Vec<String> = names.iter().map(|n| format!("{n}()")).collect();
    match calls.len() {
        0 => String::new(),
        1 => calls[0].clone(),
        n => format!("{} and {}", calls[..n - 1].join(", "), calls[n - 1]),
    }
}

/// How many more calls of `name` `after` has than `before`.
pub(super) fn new_calls(name: &str, before: &[u8], after: &[u8]) -> isize {
    let re = regex::bytes::Regex::new(&format!(r"\b{}\s*\(", regex::escape(name)))
        .expect("an escaped name is a valid regex");
    re.find_iter(after).count() as isize - re.find_iter(before).count() as isize
}

/// Wraps `text` at 72 columns, as commit messages are, never inside a
/// word (a path such as `rules/bv_page-modern.cocci` stays whole).
pub(super) fn wrap(text: &str) -> String {
    let opts = textwrap::Options::new(72)
        .word_splitter(textwrap::WordSplitter::NoHyphenation)
        .break_words(false);
    let mut out = String::new();
    for line in textwrap::wrap(text, opts) {
        out.push_str(&line);
        out.push('\n');
    }
    out
}

/// Why the series exists, for the tracked fields.
pub(super) fn why(fields: &[String], calls: &[String]) -> String {
    if fields.iter().any(|f| f == "bv_page") {
        format!(
            "Once every access of the field goes through {}, include/linux/bvec.h alone knows how a bio_vec refers to its memory: a step towards bio_vecs that describe memory without a struct page, such as persistent memory without a memmap. The helpers are static inline functions that read and write the field, so there is no functional change.",
            if calls.is_empty() { "helpers".to_string() } else { call_list(calls) }
        )
    } else {
        "The semantic patch below says what changes.".to_string()
    }
}

/// `9 read, 3 write`.
pub(super) fn kinds_line(sites: &[&Site]) -> String {
    let mut by_kind: BTreeMap<Kind, usize> = BTreeMap::new();
    for s in sites {
        *by_kind.entry(s.kind).or_default() += 1;
    }
    by_kind
        .iter()
        .map(|(k, n)| format!("{n} {k}"))
        .collect::<Vec<_>>()
        .join(", ")
}

pub(super) fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// `file:line:col: kind: reason` lines for the sites left in `files`.
pub(super) fn left_lines(files: &[&SourceFile]) -> Vec<String> {
    let mut out = Vec::new();
    for f in files {
        for s in f.sites {
            if let Status::Left(why) = &s.status {
                out.push(format!(
                    "{}:{}:{}: {}: {why}",
                    f.name, s.line, s.col, s.kind
                ));
            }
        }
    }
    out
}

/// The rule's text, indented, after the line that introduces it.
pub(super) fn rule_block(rule: &RuleText, version: &str) -> String {
    let mut out = wrap(&format!(
        "Generated with {version} and the following semantic patch, {}:",
        rule.name
    ));
    out.push('\n');
    for line in rule.text.lines() {
        let line = line.trim_end();
        if line.is_empty() {
            out.push('\n');
        } else {
            let _ = writeln!(out, "    {line}");
        }
    }
    out
}

/// Where the files are, for a sentence: one file's path, or their
/// directories (up to four), or a count.
pub(super) fn place(names: &[&str]) -> String {
    if names.len() == 1 {
        return names[0].to_string();
    }
    let mut dirs: Vec<String> = Vec::new();
    for n in names {
        let d = match n.rsplit_once('/') {
            Some((d, _)) => format!("{d}/"),
            None => "the top directory".to_string(),
        };
        if !dirs.contains(&d) {
            dirs.push(d);
        }
    }
    match dirs.len() {
        1 => dirs.remove(0),
        2..=4 => {
            let last = dirs.pop().expect("two or more");
            format!("{} and {last}", dirs.join(", "))
        }
        _ => format!("{} files", names.len()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn places_and_lists() {
        assert_eq!(place(&["block/bio.c"]), "block/bio.c");
        assert_eq!(place(&["block/bio.c", "block/blk.c"]), "block/");
        assert_eq!(
            place(&["block/bio.c", "drivers/block/brd.c", "include/linux/bvec.h"]),
            "block/, drivers/block/ and include/linux/"
        );
        assert_eq!(
            place(&["a/x.c", "b/x.c", "c/x.c", "d/x.c", "e/x.c"]),
            "5 files"
        );
        assert_eq!(
            call_list(&["a".into(), "b".into(), "c".into()]),
            "a(), b() and c()"
        );
        assert_eq!(
            new_calls(
                "bvec_set_page",
                b"__bvec_set_page(x)",
                b"bvec_set_page (x); __bvec_set_page(y)"
            ),
            1
        );
    }
}
