//! `bvmig review`: raw accesses on the added lines of a patch, a mail or an
//! mbox, from the hunks alone or (`--tree`) on a scratch copy of a tree with
//! the series applied, with the suggested fix-ups as diffs.

use std::io::{self, Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use super::output::{self, Format};
use super::progress::Terminal;
use crate::check::report::Report;
use crate::engine::choice;
use crate::file::IoError;
use crate::review::{self, Reviewed};

pub(super) const EXAMPLES: &str = "Examples:
  git format-patch -3 --stdout | bvmig review -
  bvmig review series.mbox                  # from the hunks alone
  bvmig review --tree ~/linux series.mbox   # applied to a copy of the tree
  bvmig review --format github pr.diff
  bvmig review --format b4 - < series.mbox  # as b4 prep --check runs it

Exit status: 0 when nothing is found, 1 when something is, 2 on errors.";

#[derive(Debug, clap::Args)]
pub(super) struct ReviewArgs {
    /// A patch, a mail or an mbox of patches; `-` (the default) reads stdin.
    #[arg(default_value = "-")]
    input: PathBuf,
    /// Apply the series to a scratch copy of this tree's files (with `git
    /// apply`) and check the results whole, instead of the hunks alone.
    #[arg(long, value_name = "PATH")]
    tree: Option<PathBuf>,
    /// Run this SmPL rule file instead of the built-in rules/bv_page.cocci.
    #[arg(long, value_name = "FILE")]
    rule: Option<PathBuf>,
    /// Define a virtual rule, as spatch's -D (repeatable); without -D,
    /// patch is defined.
    #[arg(short = 'D', value_name = "NAME")]
    defines: Vec<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// No summary on stderr.
    #[arg(short, long)]
    quiet: bool,
}

pub(super) fn run(args: ReviewArgs) -> ExitCode {
    // The rule that fits the tree the patches are for: `--tree`, else the
    // kernel checkout around the current directory, if any; the 2015 rule
    // when there is none to look at.
    let tree = args.tree.clone().unwrap_or_else(|| PathBuf::from("."));
    let (rules, rule_name) =
        match choice::choose_for_patches(&tree, args.rule.as_deref(), &args.defines) {
            Ok(r) => r,
            Err(e) => return output::finish(&[e.to_string()], 0),
        };
    let (name, input) = if args.input.as_os_str() == "-" {
        let mut buf = Vec::new();
        match io::stdin().lock().read_to_end(&mut buf) {
            Ok(_) => ("<stdin>".to_string(), buf),
            Err(e) => return output::finish(&[format!("<stdin>: {e}")], 0),
        }
    } else {
        match std::fs::read(&args.input) {
            Ok(b) => (args.input.display().to_string(), b),
            Err(e) => return output::finish(&[IoError::new(&args.input, e).to_string()], 0),
        }
    };
    // b4 counts every line of stdout and stderr as a finding.
    let quiet = args.quiet || args.format == Format::B4;
    let progress = Terminal::new(quiet);
    let run = match review::run(rules, &name, &input, args.tree.as_deref(), &progress) {
        Ok(r) => r,
        Err(e) => return output::finish(&[e.to_string()], 0),
    };
    let reviewed = &run.reviewed;
    let report = Report {
        command: "review",
        rule: &rule_name,
        since: None,
        findings: &reviewed.findings,
        n_allowed: reviewed.n_allowed,
        n_accepted: 0,
        n_stale: 0,
        files: None,
        errors: &[],
    };
    let mut out = output::render(args.format, &report);
    if args.format == Format::Text {
        suggestions(reviewed, &mut out);
    } else if args.format == Format::Json {
        out = with_suggestions(&out, reviewed);
    }
    let mut errors = Vec::new();
    output::to_stdout(&out, &mut errors);
    if !quiet {
        let n_patches = run.n_patches;
        let mode = match &args.tree {
            Some(t) => format!("on a copy of {} with the series applied", t.display()),
            None => "from the hunks alone".to_string(),
        };
        eprintln!(
            "bvmig: {n_patches} patch{} with {} C file{} reviewed {mode}",
            if n_patches == 1 { "" } else { "es" },
            reviewed.n_files,
            if reviewed.n_files == 1 { "" } else { "s" },
        );
        eprintln!(
            "bvmig: {} on added lines; {} kept raw by the rule",
            output::count_line(&report),
            reviewed.n_allowed
        );
    }
    output::finish(&errors, reviewed.findings.len())
}

/// The fix-ups after the findings, each introduced by a line saying what
/// it applies on.
fn suggestions(r: &Reviewed, out: &mut Vec<u8>) {
    for s in &r.suggestions {
        let on = match &s.patch {
            Some(p) => format!("on top of patch {}: {}", p.index, p.subject),
            None => "on top of the series".to_string(),
        };
        let _ = writeln!(out, "\nsuggested fix-up, {on}");
        out.extend(&s.diff);
    }
}

/// The JSON report with a `suggestions` array (documented in
/// docs/check-json.md).
fn with_suggestions(json: &[u8], r: &Reviewed) -> Vec<u8> {
    let mut doc: serde_json::Value = serde_json::from_slice(json).expect("our own JSON");
    let list: Vec<serde_json::Value> = r
        .suggestions
        .iter()
        .map(|s| {
            serde_json::json!({
                "patch": s.patch.as_ref().map(|p| serde_json::json!({"index": p.index, "subject": p.subject})),
                "diff": String::from_utf8_lossy(&s.diff),
            })
        })
        .collect();
    doc["suggestions"] = serde_json::Value::Array(list);
    let mut out = serde_json::to_vec_pretty(&doc).expect("a value serializes");
    out.push(b'\n');
    out
}
