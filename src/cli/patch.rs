//! `bvmig patch`: the rewrite as a diff on stdout, made in place, or
//! written as a series of mails for `git am` (`--series`, see
//! [`crate::mail`]); the sites left plus a summary on stderr.

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use super::output::{self, diagnostic};
use super::progress::Terminal;
use super::EngineArgs;

use crate::buffer;
use crate::engine::site::{Evidence, Kind, Status, FIELD_STRUCT};
use crate::engine::tree::{self, Patched, TreeOptions};
use crate::engine::write;
use crate::mail::{self, write::SeriesOptions};

pub(super) const EXAMPLES: &str = "Examples:
  bvmig patch                      # the tree in the current directory
  bvmig patch drivers/block > x.patch && patch -p1 < x.patch
  bvmig patch --in-place -j 2 fs/
  bvmig patch --rule my.cocci mm/page_io.c
  bvmig patch --series out/ --to axboe@kernel.dk   # then: git am --empty=drop out/*.patch";

#[derive(Debug, clap::Args)]
pub(super) struct PatchArgs {
    #[command(flatten)]
    engine: EngineArgs,
    /// Write the changes to the files instead of printing a diff: every
    /// file or none (temporary files first, then renames; an error or
    /// SIGINT/SIGTERM before the renames changes nothing).
    #[arg(long, conflicts_with = "series")]
    in_place: bool,
    /// Write the conversion as a series of mails in git format-patch form
    /// into DIR: a cover letter, the helpers, then one patch per subsystem
    /// (as the tree's MAINTAINERS groups the files); `git am` applies them.
    #[arg(long, value_name = "DIR")]
    series: Option<PathBuf>,
    /// With --series: a To: address of every mail (repeatable).
    #[arg(long, value_name = "ADDRESS", requires = "series")]
    to: Vec<String>,
    /// With --series: a Cc: address of every mail (repeatable), before the
    /// maintainers, reviewers and lists that MAINTAINERS gives per patch.
    #[arg(long, value_name = "ADDRESS", requires = "series")]
    cc: Vec<String>,
    /// With --series: the word in brackets of the subjects.
    #[arg(
        long,
        value_name = "PREFIX",
        default_value = "PATCH",
        requires = "series"
    )]
    subject_prefix: String,
    /// With --series: RFC before the subject prefix ([RFC PATCH 1/3]), as
    /// git format-patch --rfc.
    #[arg(long, requires = "series")]
    rfc: bool,
    /// With --series: mark the series as version N ([PATCH vN 1/3], files
    /// named vN-0001-...), as git format-patch -v.
    #[arg(short = 'v', long, value_name = "N", requires = "series")]
    reroll_count: Option<String>,
    /// With --series: make every mail a reply to MESSAGE-ID (In-Reply-To:
    /// and References:), as git format-patch --in-reply-to.
    #[arg(long, value_name = "MESSAGE-ID", requires = "series")]
    in_reply_to: Option<String>,
    /// With --series: the commit the series applies to, for the cover
    /// letter's base-commit: line (default: HEAD, when the files are as
    /// HEAD has them), as git format-patch --base.
    #[arg(long, value_name = "COMMIT", requires = "series")]
    base: Option<String>,
    /// Print only the sites left for a human and errors, no summary.
    #[arg(short, long)]
    quiet: bool,
    /// Do not add the helpers the rule calls and the tree lacks to
    /// include/linux/bvec.h (they are added by default, so that the patch
    /// compiles).
    #[arg(long)]
    no_helpers: bool,
}

pub(super) fn run(args: PatchArgs) -> ExitCode {
    let progress = Terminal::new(args.quiet);
    let paths = args.engine.paths();
    let opts = TreeOptions {
        paths: paths.clone(),
        rule: args.engine.rule.clone(),
        defines: args.engine.defines.clone(),
        walk: args.engine.walk_options(),
    };
    // `-`: one text from stdin, as the file it names.
    let stdin = match args.engine.stdin() {
        Ok(s) => s,
        Err(e) => return output::finish(&[e], 0),
    };
    let rewritten = match stdin {
        Some(_) if args.in_place || args.series.is_some() => {
            let e = "`-` (stdin) prints a diff; --in-place and --series need files";
            return output::finish(&[e.to_string()], 0);
        }
        Some((path, text)) => buffer::rewrite(
            &path,
            text,
            args.engine.rule.as_deref(),
            &args.engine.defines,
        ),
        None => tree::rewrite(&opts, &progress),
    };
    let mut patched = match rewritten {
        Ok(p) => p,
        Err(e) => {
            eprintln!("{}", diagnostic("error", &e.to_string()));
            return ExitCode::from(2);
        }
    };
    let mut errors: Vec<String> = Vec::new();
    if let Some(dir) = &args.series {
        let series = SeriesOptions {
            dir: dir.clone(),
            to: args.to.clone(),
            cc: args.cc.clone(),
            subject_prefix: args.subject_prefix.clone(),
            rfc: args.rfc,
            reroll_count: args.reroll_count.clone(),
            in_reply_to: args.in_reply_to.clone(),
            base: args.base.clone(),
            no_helpers: args.no_helpers,
            rule: args.engine.rule.clone(),
            defines: args.engine.defines.clone(),
        };
        match mail::write::write_series(&patched, &paths, &series, &progress) {
            Ok(written) => {
                // The files written, as format-patch lists them (not with -q).
                if !args.quiet {
                    let mut list = Vec::new();
                    for w in &written {
                        let _ = writeln!(list, "{}", w.display());
                    }
                    output::to_stdout(&list, &mut errors);
                }
                if !written.is_empty() {
                    patched.notes.push(format!(
                        "wrote a cover letter and {} patches to {}; apply them with: git am --empty=drop {}/*.patch",
                        written.len() - 1,
                        dir.display(),
                        dir.display()
                    ));
                } else {
                    patched
                        .notes
                        .push("nothing to convert; no series written".to_string());
                }
            }
            Err(e) => errors.push(e.to_string()),
        }
        return finish(&args, &patched, errors);
    }
    patched.place_helpers(args.no_helpers);
    if !args.in_place {
        output::to_stdout(&patched.diff(), &mut errors);
        return finish(&args, &patched, errors);
    }
    let had_errors = !patched.errors.is_empty();
    let written = write::in_place(&patched);
    if had_errors {
        patched.notes.push(
            "nothing written: --in-place changes the tree only when the run has no errors"
                .to_string(),
        );
    }
    if let Some(first) = written.removed.first() {
        let n = written.removed.len();
        let more = if n > 1 { ", ..." } else { "" };
        patched.notes.push(format!(
            "removed {n} temporary file{} that an interrupted bvmig run left ({}{more})",
            if n == 1 { "" } else { "s" },
            first.display()
        ));
    }
    match written.signal {
        Some(sig) if written.files.is_empty() => errors.push(format!(
            "interrupted by {} before any file was replaced; nothing written",
            write::signal_name(sig)
        )),
        Some(sig) => patched.notes.push(format!(
            "{} came while the files were being replaced; the replacing was finished",
            write::signal_name(sig)
        )),
        None => {}
    }
    patched.errors.extend(written.errors);
    let files = written.files;
    finish_written(&args, &patched, errors, Some(&files))
}

/// The report, notes and errors on stderr; the exit status. `more` are
/// errors of the output, after the run's own.
fn finish(args: &PatchArgs, patched: &Patched, more: Vec<String>) -> ExitCode {
    finish_written(args, patched, more, None)
}

/// [`finish`] for a run that wrote `written` files (`--in-place`): the
/// summary counts only those, and a signal received makes the status 128
/// plus it.
fn finish_written(
    args: &PatchArgs,
    patched: &Patched,
    more: Vec<String>,
    written: Option<&[String]>,
) -> ExitCode {
    let mut report = Vec::new();
    let _ = write_report(&mut report, patched, written, args.quiet);
    if output::color_stderr() {
        report = output::paint(&report);
    }
    let stderr = io::stderr();
    let mut err = stderr.lock();
    let _ = err.write_all(&report);
    if !args.quiet {
        for n in &patched.notes {
            let _ = writeln!(err, "{}", diagnostic("note", n));
        }
    }
    let errors: Vec<String> = patched
        .errors
        .iter()
        .map(ToString::to_string)
        .chain(more)
        .collect();
    for e in &errors {
        let _ = writeln!(err, "{}", diagnostic("error", e));
    }
    if let Some(sig) = written.and(write::signal_received()) {
        ExitCode::from(u8::try_from(128 + sig).unwrap_or(2))
    } else if errors.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(2)
    }
}

/// The sites left, one line each, and the summary; with `written`
/// (`--in-place`), the summary counts the rewrites of those files only.
fn write_report(
    w: &mut impl Write,
    patched: &Patched,
    written: Option<&[String]>,
    quiet: bool,
) -> io::Result<()> {
    let counts = |name: &str| written.is_none_or(|ws| ws.iter().any(|w| w == name));
    let n_changed = patched.changed().filter(|(f, _)| counts(&f.name)).count();
    let walked = &patched.walked;
    let (rule_name, why) = (&patched.rule_name, patched.why.as_deref());
    let whole_tree = patched.whole_tree;
    let tracked = patched.tracked.as_deref();
    let mut by_kind: BTreeMap<Kind, usize> = BTreeMap::new();
    let (mut n_rewritten, mut n_left) = (0, 0);
    for f in &walked.files {
        for s in &f.outcome.sites {
            *by_kind.entry(s.kind).or_default() += 1;
            match &s.status {
                Status::Rewritten if counts(&f.name) => n_rewritten += 1,
                Status::Rewritten => {}
                Status::Left(why) => {
                    n_left += 1;
                    writeln!(w, "{}:{}:{}: {}: {}", f.name, s.line, s.col, s.kind, why)?;
                }
            }
        }
    }
    if quiet {
        return Ok(());
    }
    let n_sites: usize = by_kind.values().sum();
    let kinds: Vec<String> = by_kind.iter().map(|(k, n)| format!("{n} {k}")).collect();
    let fields = tracked.map_or("none (each match is a site)".to_string(), |t| t.join(", "));
    writeln!(w, "bvmig: rule {rule_name}; field {fields}")?;
    if let Some(why) = why {
        writeln!(w, "bvmig: rule chosen because {why}")?;
    }
    writeln!(
        w,
        "bvmig: {} files walked, {} parsed",
        walked.n_walked, walked.n_parsed
    )?;
    if kinds.is_empty() {
        writeln!(w, "bvmig: {n_sites} sites")?;
    } else {
        writeln!(w, "bvmig: {n_sites} sites: {}", kinds.join(", "))?;
    }
    writeln!(
        w,
        "bvmig: {n_rewritten} rewritten in {n_changed} files, {n_left} left for a human"
    )?;
    // Who declares the field: when only struct bio_vec does, a rule
    // without types cannot touch another struct's member. Said only of a
    // walk that covered a whole kernel tree, where every declaration was
    // seen; never "safe" when the walk found another one.
    let mut owners: BTreeMap<&str, (&str, usize, usize)> = BTreeMap::new();
    for f in &walked.files {
        for s in &f.outcome.sites {
            if let Some(o) = &s.owner {
                owners.entry(o).or_insert((&f.name, s.line, s.col));
            }
        }
    }
    if let Some(fields) = tracked.filter(|_| !owners.is_empty() && whole_tree) {
        let list: Vec<String> = owners
            .iter()
            .map(|(o, (file, line, col))| format!("{o} ({file}:{line}:{col})"))
            .collect();
        if owners.keys().eq([&FIELD_STRUCT]) {
            writeln!(
                w,
                "bvmig: {} is declared only by {}: a rule without types is safe",
                fields.join(", "),
                list[0]
            )?;
        } else {
            writeln!(
                w,
                "bvmig: note: {} is declared by {}: only accesses whose types show a {FIELD_STRUCT} are rewritten, the others are left (unknown type, other struct)",
                fields.join(", "),
                list.join(", ")
            )?;
        }
    }
    // A typed rule says how sure the types of what it rewrote were.
    let mut by_evidence: BTreeMap<Evidence, usize> = BTreeMap::new();
    for s in walked.files.iter().flat_map(|f| &f.outcome.sites) {
        if let Some(ev) = s.evidence {
            *by_evidence.entry(ev).or_default() += 1;
        }
    }
    if !by_evidence.is_empty() {
        let parts: Vec<String> = by_evidence
            .iter()
            .rev()
            .map(|(ev, n)| format!("{n} {ev}"))
            .collect();
        writeln!(
            w,
            "bvmig: types of the rewritten sites: {}",
            parts.join(", ")
        )?;
    }
    Ok(())
}
