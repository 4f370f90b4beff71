//! `bvmig review`: raw accesses on the added lines of a patch, a mail or an
//! mbox, from the hunks alone or (`--tree`) on a scratch copy of a tree with
//! the series applied, with the suggested fix-ups as diffs.

use std::io::{self, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use super::output::{self, Format};
use super::progress::Terminal;
use crate::check::report::Report;
use crate::check::PatchRef;
use crate::engine::choice;
use crate::file::IoError;
use crate::review::{self, ReviewRun, Reviewed};

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
        let name = "<stdin>".to_string();
        match review::read_series(&name, io::stdin().lock()) {
            Ok(b) => (name, b),
            Err(e) => return output::finish(&[e.to_string()], 0),
        }
    } else {
        let read = std::fs::File::open(&args.input)
            .map_err(|e| IoError::new(&args.input, e).to_string())
            .and_then(|f| {
                review::read_series(&args.input.display().to_string(), f).map_err(|e| e.to_string())
            });
        match read {
            Ok(b) => (args.input.display().to_string(), b),
            Err(e) => return output::finish(&[e], 0),
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
        notes: &[],
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
        out = with_review_fields(&out, &run);
    } else if args.format == Format::Sarif {
        out = sarif_with_patches(&out, &run);
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

/// A patch as the JSON report names it.
fn patch_json(p: &PatchRef) -> serde_json::Value {
    serde_json::json!({"index": p.index, "subject": p.subject, "message_id": p.message_id})
}

/// Each patch that changes files with its counts, clean ones included, so
/// that a bot posts one check per patch.
fn patches_json(run: &ReviewRun) -> serde_json::Value {
    let list = run.patches.iter().map(|p| {
        let mine = || {
            run.reviewed
                .findings
                .iter()
                .filter(move |f| f.patch.as_ref().is_some_and(|q| q.index == p.index))
        };
        let mut v = patch_json(p);
        v["findings"] = mine().count().into();
        v["fixable"] = mine()
            .filter(|f| matches!(f.advice, crate::check::Advice::Replace(_)))
            .count()
            .into();
        v
    });
    serde_json::Value::Array(list.collect())
}

fn pretty(doc: &serde_json::Value) -> Vec<u8> {
    let mut out = serde_json::to_vec_pretty(doc).expect("a value serializes");
    out.push(b'\n');
    out
}

/// The JSON report with the `patches` and `suggestions` arrays of a review
/// (documented in docs/check-json.md).
fn with_review_fields(json: &[u8], run: &ReviewRun) -> Vec<u8> {
    let mut doc: serde_json::Value = serde_json::from_slice(json).expect("our own JSON");
    let list: Vec<serde_json::Value> = run
        .reviewed
        .suggestions
        .iter()
        .map(|s| {
            serde_json::json!({
                "patch": s.patch.as_ref().map(patch_json),
                "diff": String::from_utf8_lossy(&s.diff),
            })
        })
        .collect();
    doc["patches"] = patches_json(run);
    doc["suggestions"] = serde_json::Value::Array(list);
    pretty(&doc)
}

/// The SARIF log with the patches in its run's property bag (`patches`,
/// as in the JSON report).
fn sarif_with_patches(sarif: &[u8], run: &ReviewRun) -> Vec<u8> {
    let mut doc: serde_json::Value = serde_json::from_slice(sarif).expect("our own SARIF");
    if let Some(r) = doc["runs"].get_mut(0).and_then(|r| r.as_object_mut()) {
        let props = r
            .entry("properties")
            .or_insert_with(|| serde_json::json!({}));
        props["patches"] = patches_json(run);
    }
    pretty(&doc)
}
