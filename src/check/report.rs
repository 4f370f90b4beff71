//! Writing findings for people and machines: compiler-style text, GitHub
//! workflow annotations, and JSON (format version [`JSON_VERSION`],
//! documented in `docs/check-json.md`). SARIF lives in `sarif`.
//!
//! Every format lists findings in the order given (files sorted, then
//! positions), so the output is the same whatever the thread count.

use std::io::{self, Write};

use serde::Serialize;

use crate::check::{Advice, Finding};
use crate::git::Origin;

/// The version of the JSON output's schema; it changes when a field is
/// removed or changes meaning, not when one is added.
pub const JSON_VERSION: u32 = 1;

/// A run's findings and what frames them.
#[derive(Debug)]
pub struct Report<'a> {
    /// `check` or `review`.
    pub command: &'a str,
    /// The rule file's name.
    pub rule: &'a str,
    /// The revision of `--since`, when given.
    pub since: Option<&'a str>,
    /// The findings reported, in order.
    pub findings: &'a [Finding],
    /// The sites the rule keeps raw on purpose, reported as notes.
    pub notes: &'a [Finding],
    /// Sites the rule keeps raw, in all that was looked at.
    pub n_allowed: usize,
    /// Sites a baseline accepts, not reported.
    pub n_accepted: usize,
    /// Baseline entries matching nothing any more.
    pub n_stale: usize,
    /// Files looked at and parsed, when a tree was walked.
    pub files: Option<(usize, usize)>,
    /// One line per error.
    pub errors: &'a [String],
}

/// `file:line:col: warning: kind: message`, then `note:` lines for the
/// commit or the patch that added the line; then the sites the rule keeps,
/// as `file:line:col: note: kind: message`.
pub fn text(w: &mut impl Write, findings: &[Finding], notes: &[Finding]) -> io::Result<()> {
    let mut all: Vec<&Finding> = findings.iter().chain(notes).collect();
    // Both are in file order: a stable sort interleaves them.
    all.sort_by(|a, b| (&a.file, a.line, a.col).cmp(&(&b.file, b.line, b.col)));
    for f in all {
        let at = format!("{}:{}:{}", f.file, f.line, f.col);
        let level = if f.kept { "note" } else { "warning" };
        writeln!(w, "{at}: {level}: {}: {}", f.kind, f.message())?;
        if let Some(o) = &f.origin {
            writeln!(w, "{at}: note: {}", o.describe())?;
        }
        if let Some(p) = &f.patch {
            writeln!(w, "{at}: note: in patch {}: {}", p.index, p.subject)?;
        }
    }
    Ok(())
}

/// The kernel test robot's lines, as Coccinelle's `coccilib.report`
/// prints them in `make coccicheck MODE=report`: `file:line:col-col:
/// WARNING: message`, the columns 0-based bytes, the end exclusive.
pub fn lkp(w: &mut impl Write, findings: &[Finding]) -> io::Result<()> {
    for f in findings {
        writeln!(
            w,
            "{}:{}:{}-{}: WARNING: {}: {}",
            f.file,
            f.line,
            f.col - 1,
            f.end_col - 1,
            f.kind,
            f.message()
        )?;
    }
    Ok(())
}

/// b4's per-patch check lines: `file:line: WARNING: kind: message`, as
/// checkpatch's `--terse --showfile` writes them. b4 counts every line as
/// a warning (one holding `ERROR:` as a failure).
pub fn b4(w: &mut impl Write, findings: &[Finding]) -> io::Result<()> {
    for f in findings {
        writeln!(
            w,
            "{}:{}: WARNING: {}: {}",
            f.file,
            f.line,
            f.kind,
            f.message()
        )?;
    }
    Ok(())
}

/// How a checker under kbuild writes its lines (`bvmig sparse`).
#[derive(Debug, Clone)]
pub struct SparseStyle {
    /// `-fdiagnostic-prefix[=NAME]`: a word before the level.
    pub prefix: Option<String>,
    /// `-ftabstop=N`: how far a tab moves the column.
    pub tabstop: usize,
    /// `-Wsparse-error`: `error:` instead of `warning:`.
    pub as_errors: bool,
}

/// sparse's lines: `file:line:col: [prefix: ]warning: kind: message`, the
/// column 1-based with tabs expanded, as gcc and sparse count it.
pub fn sparse(w: &mut impl Write, findings: &[Finding], style: &SparseStyle) -> io::Result<()> {
    let prefix = style
        .prefix
        .as_ref()
        .map_or(String::new(), |p| format!("{p}: "));
    let level = if style.as_errors { "error" } else { "warning" };
    for f in findings {
        writeln!(
            w,
            "{}:{}:{}: {prefix}{level}: {}: {}",
            f.file,
            f.line,
            display_column(&f.line_text, f.col, style.tabstop),
            f.kind,
            f.message()
        )?;
    }
    Ok(())
}

/// The 1-based display column of 1-based byte column `col` of `line`:
/// a tab moves to the next multiple of `tabstop`, any other character
/// takes one column.
fn display_column(line: &str, col: usize, tabstop: usize) -> usize {
    let mut at = 0;
    for (i, ch) in line.char_indices() {
        if i + 1 >= col {
            break;
        }
        at = if ch == '\t' {
            (at / tabstop + 1) * tabstop
        } else {
            at + 1
        };
    }
    at + 1
}

/// GitHub workflow commands: `::warning file=…,line=…,col=…::message`
/// (`::notice` for the sites the rule keeps).
pub fn github(w: &mut impl Write, findings: &[Finding], notes: &[Finding]) -> io::Result<()> {
    for f in findings.iter().chain(notes) {
        let mut msg = f.message();
        if let Some(o) = &f.origin {
            msg.push_str(&format!(" ({})", o.describe()));
        }
        if let Some(p) = &f.patch {
            msg.push_str(&format!(" (in patch {}: {})", p.index, p.subject));
        }
        writeln!(
            w,
            "::{} file={},line={},col={},endColumn={},title={}::{}",
            if f.kept { "notice" } else { "warning" },
            gh_property(&f.file),
            f.line,
            f.col,
            f.end_col,
            gh_property(&format!("bvmig {}", f.kind)),
            gh_data(&msg)
        )?;
    }
    Ok(())
}

/// Escapes a workflow command's message.
fn gh_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escapes a workflow command's property value.
fn gh_property(s: &str) -> String {
    gh_data(s).replace(':', "%3A").replace(',', "%2C")
}

#[derive(Serialize)]
struct JsonReport<'a> {
    version: u32,
    tool: JsonTool,
    command: &'a str,
    rule: &'a str,
    since: Option<&'a str>,
    findings: Vec<JsonFinding<'a>>,
    notes: Vec<JsonFinding<'a>>,
    summary: JsonSummary,
    errors: &'a [String],
}

#[derive(Serialize)]
struct JsonTool {
    name: &'static str,
    version: &'static str,
}

#[derive(Serialize)]
struct JsonFinding<'a> {
    file: &'a str,
    line: usize,
    column: usize,
    end_column: usize,
    kind: &'static str,
    message: String,
    fixable: bool,
    replacement: Option<JsonReplacement<'a>>,
    reason: Option<&'a str>,
    function: Option<&'a str>,
    line_text: &'a str,
    origin: Option<JsonOrigin<'a>>,
    patch: Option<JsonPatch<'a>>,
}

#[derive(Serialize)]
struct JsonPos {
    line: usize,
    column: usize,
}

#[derive(Serialize)]
struct JsonReplacement<'a> {
    start: JsonPos,
    end: JsonPos,
    original: &'a str,
    text: &'a str,
}

#[derive(Serialize)]
struct JsonOrigin<'a> {
    committed: bool,
    commit: Option<&'a str>,
    author: Option<&'a str>,
    email: Option<&'a str>,
    subject: Option<&'a str>,
}

#[derive(Serialize)]
struct JsonPatch<'a> {
    index: usize,
    subject: &'a str,
    message_id: Option<&'a str>,
}

#[derive(Serialize)]
struct JsonSummary {
    findings: usize,
    fixable: usize,
    notes: usize,
    allowed: usize,
    baselined: usize,
    stale_baseline: usize,
    files_walked: Option<usize>,
    files_parsed: Option<usize>,
}

fn json_finding(f: &Finding) -> JsonFinding<'_> {
    JsonFinding {
        file: &f.file,
        line: f.line,
        column: f.col,
        end_column: f.end_col,
        kind: f.kind.as_str(),
        message: f.message(),
        fixable: f.fixable(),
        replacement: match &f.advice {
            Advice::Replace(rep) => Some(JsonReplacement {
                start: JsonPos {
                    line: rep.start.0,
                    column: rep.start.1,
                },
                end: JsonPos {
                    line: rep.end.0,
                    column: rep.end.1,
                },
                original: &rep.original,
                text: &rep.text,
            }),
            Advice::Left(_) => None,
        },
        reason: match &f.advice {
            Advice::Left(why) => Some(why),
            Advice::Replace(_) => None,
        },
        function: f.function.as_deref(),
        line_text: &f.line_text,
        origin: f.origin.as_ref().map(|o| match o {
            Origin::Commit {
                id,
                author,
                email,
                subject,
            } => JsonOrigin {
                committed: true,
                commit: Some(id),
                author: Some(author),
                email: Some(email),
                subject: Some(subject),
            },
            Origin::Uncommitted => JsonOrigin {
                committed: false,
                commit: None,
                author: None,
                email: None,
                subject: None,
            },
        }),
        patch: f.patch.as_ref().map(|p| JsonPatch {
            index: p.index,
            subject: &p.subject,
            message_id: p.message_id.as_deref(),
        }),
    }
}

/// The whole report as one JSON document, with a final newline.
pub fn json(w: &mut impl Write, r: &Report) -> io::Result<()> {
    let findings = r.findings.iter().map(json_finding).collect();
    let notes = r.notes.iter().map(json_finding).collect();
    let doc = JsonReport {
        version: JSON_VERSION,
        tool: JsonTool {
            name: env!("CARGO_PKG_NAME"),
            version: env!("CARGO_PKG_VERSION"),
        },
        command: r.command,
        rule: r.rule,
        since: r.since,
        findings,
        notes,
        summary: JsonSummary {
            findings: r.findings.len(),
            fixable: r.findings.iter().filter(|f| f.fixable()).count(),
            notes: r.notes.len(),
            allowed: r.n_allowed,
            baselined: r.n_accepted,
            stale_baseline: r.n_stale,
            files_walked: r.files.map(|f| f.0),
            files_parsed: r.files.map(|f| f.1),
        },
        errors: r.errors,
    };
    serde_json::to_writer_pretty(&mut *w, &doc)?;
    writeln!(w)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sparse_columns_count_tabs_as_gcc_and_sparse_do() {
        // `\t\t\tzero_user(bv.bv_page`: byte 17 is column 38 with tabs of 8.
        let l = "\t\t\tzero_user(bv.bv_page, bv.bv_offset, bv.bv_len);";
        assert_eq!(display_column(l, 17, 8), 38);
        assert_eq!(display_column(l, 17, 4), 26);
        assert_eq!(display_column("x = bv->bv_page;", 9, 8), 9);
        // A multibyte character is one column.
        assert_eq!(display_column("é = bv->bv_page;", 10, 8), 9);
    }

    #[test]
    fn github_escapes_what_workflow_commands_reserve() {
        assert_eq!(gh_data("50% a\nb"), "50%25 a%0Ab");
        assert_eq!(gh_property("a,b:c"), "a%2Cb%3Ac");
    }
}
