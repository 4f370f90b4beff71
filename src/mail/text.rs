//! The words of the messages: lists of calls and places, the reason for
//! the conversion, the counts of what changed and was left, the rule
//! quoted, wrapped as commit messages are.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::{RuleText, SourceFile};
use crate::engine::site::{Kind, Site, Status};
use crate::smpl::{RuleFile, Virtuals};

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

/// The widest line of a commit message that `scripts/checkpatch.pl`
/// accepts (COMMIT_LOG_LONG_LINE warns above it).
pub(super) const LOG_WIDTH: usize = 75;

/// The rule quoted after the line that introduces it: its code, indented
/// by four columns, without its comment lines (the rule file's
/// documentation, which the commit does not need and whose prose runs to
/// 79 columns), without its `virtual` lines and the rules that did not
/// run (`rule.runs`: by default `make coccicheck`'s context, org and report
/// rules, which made nothing of this patch), and with any code line too long for a
/// commit message wrapped at a space, its continuation indented further.
pub(super) fn rule_block(rule: &RuleText, version: &str) -> String {
    let mut out = wrap(&format!(
        "Generated with {version} and the semantic patch {}, quoted without its comments:",
        rule.name
    ));
    out.push('\n');
    let mut blank = true;
    for (k, line) in rule.text.lines().enumerate() {
        let line = line.trim_end();
        if line.trim_start().starts_with("//") || line.starts_with("virtual ") {
            continue;
        }
        if !rule.runs.get(k).copied().unwrap_or(true) {
            continue;
        }
        if line.is_empty() {
            // One blank line between parts, none at the start.
            if !blank {
                out.push('\n');
            }
            blank = true;
            continue;
        }
        blank = false;
        for piece in fit(line, LOG_WIDTH - 4, 4) {
            let _ = writeln!(out, "    {piece}");
        }
    }
    while out.ends_with("\n\n") {
        out.pop();
    }
    out
}

/// Per line of rule file `text`: whether it belongs to a rule that runs
/// with the virtual rules `defines` (by default `patch`, what bvmig and
/// `make coccicheck MODE=patch` run), as the rule parser decides it. All
/// lines when the text does not parse (the run read it, so it does).
pub(crate) fn lines_that_run(text: &str, defines: &[String]) -> Vec<bool> {
    let n = text.lines().count();
    match RuleFile::parse_with("rule", text, &Virtuals::from_defines(defines)) {
        Ok(rf) => (1..=n).map(|l| rf.line_runs(l)).collect(),
        Err(_) => vec![true; n],
    }
}

/// `line` cut at spaces into pieces of at most `width` columns (a piece
/// without a space stays whole), the pieces after the first indented by
/// `more` spaces beyond the line's own indentation.
pub(super) fn fit(line: &str, width: usize, more: usize) -> Vec<String> {
    if line.chars().count() <= width {
        return vec![line.to_string()];
    }
    let indent: String = line.chars().take_while(|c| c.is_whitespace()).collect();
    let cont = format!("{indent}{}", " ".repeat(more));
    let opts = textwrap::Options::new(width)
        .initial_indent(&indent)
        .subsequent_indent(&cont)
        .word_splitter(textwrap::WordSplitter::NoHyphenation)
        .break_words(false);
    textwrap::wrap(line.trim_start(), opts)
        .into_iter()
        .map(|l| l.into_owned())
        .collect()
}

/// A line of [`left_lines`] as a commit message has it, after two
/// columns of indentation: whole when it starts with a path that has a
/// directory (checkpatch lets `dir/file:` lines run long, and a line that
/// grep and editors read as a position is worth keeping whole), else cut
/// to [`LOG_WIDTH`].
pub(super) fn left_line(line: &str) -> Vec<String> {
    let name = line.split(':').next().unwrap_or_default();
    if name.contains('/') && !name.contains(char::is_whitespace) {
        vec![line.to_string()]
    } else {
        fit(line, LOG_WIDTH - 2, 4)
    }
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
    fn the_rules_quoted_fit_a_commit_message() {
        for text in [
            crate::smpl::DEFAULT_RULE,
            crate::engine::choice::MODERN_RULE,
            "// a comment\n\n@ r @\nexpression E;\n@@\n\n\n- f(E, a_long_argument_name, another_long_argument_name, yet_another_one)\n+ g(E)\n\n",
        ] {
            let rule = RuleText {
                name: "rules/x.cocci".to_string(),
                text: text.to_string(),
                runs: lines_that_run(text, &[]),
                calls: Vec::new(),
                fields: Vec::new(),
            };
            let block = rule_block(&rule, "bvmig 0.1.0");
            // The bundled rules' coccicheck modes are left out.
            let code: Vec<&str> = text
                .lines()
                .zip(&rule.runs)
                .filter(|(_, runs)| **runs)
                .map(|(l, _)| l)
                .filter(|l| {
                    !l.trim().is_empty()
                        && !l.trim_start().starts_with("//")
                        && !l.starts_with("virtual ")
                })
                .collect();
            assert!(!block.contains("virtual ") && !block.contains("script:"), "{block}");
            assert!(!code.is_empty());
            for line in block.lines() {
                assert!(line.chars().count() <= LOG_WIDTH, "{line:?}");
                assert!(!line.contains("//"), "{line:?}");
                assert_eq!(line.trim_end(), line);
            }
            assert!(!block.contains("\n\n\n"), "{block}");
            assert!(block.ends_with('\n') && !block.ends_with("\n\n"), "{block}");
            // Every word of the code is quoted, in order.
            let words = |s: &str| s.split_whitespace().map(str::to_string).collect::<Vec<_>>();
            let quoted: Vec<String> = block
                .lines()
                .skip_while(|l| !l.starts_with("    "))
                .flat_map(words)
                .collect();
            assert_eq!(quoted, code.iter().flat_map(|l| words(l)).collect::<Vec<_>>());
        }
    }

    /// Which lines are quoted is the rule parser's decision, for the
    /// virtual rules of the run: named and anonymous rules after a skipped
    /// one, `!patch`, a mode and patch together, script rules.
    #[test]
    fn only_the_rules_that_ran_are_quoted() {
        let text = "virtual patch\nvirtual context\nvirtual report\n\
@ p depends on patch @\nexpression E;\n@@\n- E->p1\n+ f1(E)\n\
@ c depends on context && !patch @\nexpression E;\n@@\n- E->c1\n+ g1(E)\n\
@@\nexpression E;\n@@\n- E->a1\n+ f2(E)\n\
@ both depends on context && patch @\nexpression E;\n@@\n- E->b1\n+ g2(E)\n\
@ r depends on report @\nexpression E;\n@@\n- E->r1\n+ g3(E)\n\
@script:python depends on report@\n@@\nprint(1)\n\
@ s depends on p @\nexpression E;\n@@\n- E->s1\n+ f3(E)\n";
        let quoted = |defines: &[&str]| {
            let d: Vec<String> = defines.iter().map(|s| s.to_string()).collect();
            let rule = RuleText {
                name: "rules/x.cocci".to_string(),
                text: text.to_string(),
                runs: lines_that_run(text, &d),
                calls: Vec::new(),
                fields: Vec::new(),
            };
            let block = rule_block(&rule, "bvmig 0.1.0");
            ["p1", "c1", "a1", "b1", "r1", "print", "s1"]
                .into_iter()
                .filter(|w| block.contains(w))
                .collect::<Vec<_>>()
        };
        // By default `patch` is defined: the anonymous rule after the
        // skipped `c` is quoted; `both` needs context too.
        assert_eq!(quoted(&[]), vec!["p1", "a1", "s1"]);
        assert_eq!(quoted(&["patch", "context"]), vec!["p1", "a1", "b1", "s1"]);
    }

    #[test]
    fn left_lines_keep_positions_whole_and_fit_the_rest() {
        let long = format!("lib/iov_iter.c:12:14: address: {}", "word ".repeat(20));
        assert_eq!(left_line(&long), vec![long.clone()]);
        let top = format!("top.c:1:2: read: {}", "word ".repeat(20).trim_end());
        let cut = left_line(&top);
        assert!(cut.len() > 1);
        assert!(cut.iter().all(|l| l.chars().count() <= LOG_WIDTH - 2));
        assert!(cut[1].starts_with("    word"));
    }

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
