//! Findings: the sites a check reports, each with what to use instead (the
//! engine's replacement when it made one, else the reason it did not), the
//! enclosing function and the line's text (which key a baseline entry), and
//! the fix that converts exactly a chosen set of them.
//!
//! A finding is a site of the engine: every occurrence of a tracked field in
//! code. The ones the rule itself keeps raw on purpose (the member's
//! declaration, `offsetof` and `sizeof_field` of the member, code in the
//! functions the rule's context excludes, such as the helpers' own bodies)
//! are notes: listed, and never a failure unless the caller is strict.

pub mod baseline;
pub mod report;
pub mod run;
pub mod sarif;

use std::ops::Range;

use crate::c::source::{self, LineIndex};
use crate::engine::matcher::Edit;
use crate::engine::scope::Scope;
use crate::engine::site::{Kind, Status};
use crate::engine::{self, FileOutcome};
use crate::git::Origin;

/// One raw access left, at a place in a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// The file's name, as in diffs.
    pub file: String,
    /// 1-based line.
    pub line: usize,
    /// 1-based byte column of the field name.
    pub col: usize,
    /// 1-based byte column just past the field name.
    pub end_col: usize,
    /// What kind of use it is.
    pub kind: Kind,
    /// What to use instead.
    pub advice: Advice,
    /// The enclosing function or macro, when there is one.
    pub function: Option<String>,
    /// The line's text, without its line ending (invalid UTF-8 replaced).
    pub line_text: String,
    /// The commit that added the line, when asked for (`--since`).
    pub origin: Option<Origin>,
    /// The patch that adds the line (`review`).
    pub patch: Option<PatchRef>,
    /// True for a site the rule keeps raw on purpose: a note, not a
    /// failure (see [`Finding::level`]).
    pub kept: bool,
}

/// How much a finding weighs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// Kept raw by the rule on purpose.
    Note,
    /// Left, with a reason, and no replacement.
    Warning,
    /// The engine has a replacement.
    Error,
}

/// A patch of a series, as `review` names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatchRef {
    /// 1-based position in the input.
    pub index: usize,
    /// Its subject (`[PATCH 2/3] block: ...`), or the input's name for a
    /// bare diff.
    pub subject: String,
    /// The mail's `Message-Id` without its angle brackets, when it has one:
    /// what patchwork and lore know the patch by.
    pub message_id: Option<String>,
}

/// What to use instead of a raw access.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Advice {
    /// The engine rewrites it: this replacement.
    Replace(Replacement),
    /// The engine leaves it: why, for a human.
    Left(String),
}

/// An expression to replace, and its replacement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Replacement {
    /// The byte range replaced in the text the finding came from.
    pub range: Range<usize>,
    /// 1-based line and byte column where the replaced code starts.
    pub start: (usize, usize),
    /// 1-based line and byte column just past its end.
    pub end: (usize, usize),
    /// The code replaced, as written.
    pub original: String,
    /// The code that replaces it, as the engine writes it.
    pub text: String,
}

impl Finding {
    /// What to use instead, on one line: `use bvec_page(bv)`, or the reason
    /// no rewrite is made.
    pub fn message(&self) -> String {
        match &self.advice {
            Advice::Replace(r) => format!("use {}", one_line(&r.text)),
            Advice::Left(why) => why.clone(),
        }
    }

    /// True when the engine has a replacement for it.
    pub fn fixable(&self) -> bool {
        matches!(self.advice, Advice::Replace(_))
    }

    /// A note when the rule keeps it, an error when it has a replacement,
    /// a warning otherwise.
    pub fn level(&self) -> Level {
        if self.kept {
            Level::Note
        } else if self.fixable() {
            Level::Error
        } else {
            Level::Warning
        }
    }
}

/// Whitespace runs (newlines included) squeezed to one space.
fn one_line(code: &str) -> String {
    code.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The findings of one file.
#[derive(Debug, Default)]
pub struct FileFindings {
    /// Raw accesses to report, in file order.
    pub findings: Vec<Finding>,
    /// The sites the rule keeps raw (declaration, `offsetof`, excluded
    /// contexts), in file order, as notes.
    pub notes: Vec<Finding>,
    /// The lines of `notes`.
    pub allowed_lines: Vec<usize>,
}

/// Turns the engine's outcome for file `name` (whose bytes are `text`) into
/// findings. `line_shift` is added to every line number: a text that is a
/// fragment of a file (a hunk) reports the file's lines. The enclosing
/// function costs a second parse of the file (measured: twice the time of
/// a whole-kernel check), so it is found only when `with_function` asks.
pub fn findings(
    name: &str,
    text: &[u8],
    outcome: &FileOutcome,
    line_shift: isize,
    with_function: bool,
) -> FileFindings {
    let mut out = FileFindings::default();
    if outcome.sites.is_empty() {
        return out;
    }
    let lines = LineIndex::new(text);
    let shift = |line: usize| (line as isize + line_shift) as usize;
    let mut scope = None;
    for site in &outcome.sites {
        // What the rule rewrites is never kept, whatever its kind (the
        // layout rules rewrite the member's declaration).
        let left = matches!(site.status, Status::Left(_));
        let kept = if !left {
            None
        } else if site.kind == Kind::Declaration {
            Some("the member's declaration, which the rule keeps".to_string())
        } else if site.kind == Kind::Offsetof {
            Some(format!(
                "kept on purpose: {}; it goes with the layout step",
                Kind::Offsetof.default_reason()
            ))
        } else if outcome.excluded.iter().any(|r| r.contains(&site.offset)) {
            Some(
                "kept on purpose: in code the rule's context excludes (a helper's own body)"
                    .to_string(),
            )
        } else {
            None
        };
        let advice = match (&kept, &site.status) {
            (Some(why), _) => Advice::Left(why.clone()),
            (None, Status::Rewritten) => match outcome
                .edits
                .iter()
                .find(|e| e.range.contains(&site.offset))
            {
                Some(e) => Advice::Replace(replacement(text, &lines, e, line_shift)),
                // Every rewritten site lies in an edit; should that ever
                // not hold, the finding still stands, without a suggestion.
                None => Advice::Left("rewritable, but the engine gave no edit".into()),
            },
            (None, Status::Left(why)) => Advice::Left(why.clone()),
        };
        let len = text[site.offset..]
            .iter()
            .take_while(|&&b| source::is_ident_byte(b))
            .count();
        let finding = Finding {
            file: name.to_string(),
            line: shift(site.line),
            col: site.col,
            end_col: site.col + len,
            kind: site.kind,
            advice,
            function: if with_function {
                scope
                    .get_or_insert_with(|| Scope::new(text))
                    .function_at(site.offset)
            } else {
                None
            },
            line_text: line_text(text, &lines, site.line),
            origin: None,
            patch: None,
            kept: kept.is_some(),
        };
        if finding.kept {
            out.allowed_lines.push(finding.line);
            out.notes.push(finding);
        } else {
            out.findings.push(finding);
        }
    }
    out
}

fn replacement(text: &[u8], lines: &LineIndex, e: &Edit, line_shift: isize) -> Replacement {
    let at = |off: usize| {
        let (l, c) = lines.line_col(off);
        ((l as isize + line_shift) as usize, c)
    };
    Replacement {
        range: e.range.clone(),
        start: at(e.range.start),
        end: at(e.range.end),
        original: String::from_utf8_lossy(&text[e.range.clone()]).into_owned(),
        text: String::from_utf8_lossy(&e.text).into_owned(),
    }
}

/// The text of 1-based line `line`, without its line ending.
fn line_text(text: &[u8], lines: &LineIndex, line: usize) -> String {
    let start = lines.line_start(line - 1);
    let rest = &text[start..];
    let end = memchr::memchr(b'\n', rest).unwrap_or(rest.len());
    let l = &rest[..end];
    let l = l.strip_suffix(b"\r").unwrap_or(l);
    String::from_utf8_lossy(l).into_owned()
}

/// Why a fix could not be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FixError {
    /// The chosen edits, made alone, parse worse than the file.
    #[error("{file}: converting only these sites parses with more errors than the original; convert the file with `bvmig patch`")]
    ParsesWorse {
        /// The file's name.
        file: String,
    },
}

/// `text` (file `file`) with the replacements of `chosen` made, and nothing
/// else; `None` when none of them has a replacement. The edits are a subset
/// of a set the engine verified; the result is parsed again all the same,
/// and refused if it has more errors than `text`.
pub fn fix(file: &str, text: &[u8], chosen: &[&Finding]) -> Result<Option<Vec<u8>>, FixError> {
    let mut edits: Vec<Edit> = chosen
        .iter()
        .filter_map(|f| match &f.advice {
            Advice::Replace(r) => Some(Edit {
                range: r.range.clone(),
                text: r.text.clone().into_bytes(),
                prec: 0,
            }),
            Advice::Left(_) => None,
        })
        .collect();
    if edits.is_empty() {
        return Ok(None);
    }
    edits.sort_by_key(|e| e.range.start);
    edits.dedup();
    match engine::apply_checked(text, &edits) {
        Some(new) => Ok(Some(new)),
        None => Err(FixError::ParsesWorse {
            file: file.to_string(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::Engine;
    use crate::smpl::RuleFile;

    fn check(code: &str, expected: &[&str]) {
        let engine = Engine::new(RuleFile::default_rule());
        let outcome = engine.rewrite(code.as_bytes());
        let got: Vec<String> = findings("x.c", code.as_bytes(), &outcome, 0, true)
            .findings
            .iter()
            .map(|f| {
                format!(
                    "{}:{}-{} {} in {}: {}",
                    f.line,
                    f.col,
                    f.end_col,
                    f.kind,
                    f.function.as_deref().unwrap_or("-"),
                    f.message()
                )
            })
            .collect();
        assert_eq!(got, expected);
    }

    #[test]
    fn replacements_reasons_and_allowed_sites() {
        check(
            "struct bio_vec { struct page *bv_page; };
static inline struct page *bvec_page(const struct bio_vec *bv)
{
	return bv->bv_page;
}
#define BV_PAGE(bv) ((bv)->bv_page)
static void f(struct bio_vec *bv, struct bio_vec *src, struct page **pp)
{
	bv->bv_page = src->bv_page;
	*pp = &bv->bv_page;
	bv->bv_page =
		src[1].bv_page;
	(void)BV_PAGE(src);
}
",
            &[
                "6:28-35 read in BV_PAGE: use bvec_page(bv)",
                "9:6-13 write in f: use bvec_set_page(bv, bvec_page(src))",
                "9:21-28 read in f: use bvec_set_page(bv, bvec_page(src))",
                "10:13-20 address in f: its address is taken; a helper call has no address",
                "11:6-13 write in f: use bvec_set_page(bv, bvec_page(&src[1]))",
                "12:10-17 read in f: use bvec_set_page(bv, bvec_page(&src[1]))",
            ],
        );
    }

    #[test]
    fn fix_makes_only_the_chosen_edits() {
        let code = "void f(struct bio_vec *a, struct bio_vec *b)\n{\n\tx(a->bv_page);\n\ty(b->bv_page);\n}\n";
        let engine = Engine::new(RuleFile::default_rule());
        let outcome = engine.rewrite(code.as_bytes());
        let found = findings("x.c", code.as_bytes(), &outcome, 0, false).findings;
        let new = fix("x.c", code.as_bytes(), &[&found[1]]).unwrap().unwrap();
        assert_eq!(
            String::from_utf8(new).unwrap(),
            "void f(struct bio_vec *a, struct bio_vec *b)\n{\n\tx(a->bv_page);\n\ty(bvec_page(b));\n}\n"
        );
        assert_eq!(fix("x.c", code.as_bytes(), &[]), Ok(None));
    }
}
