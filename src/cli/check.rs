//! `bvmig check`: every raw access left in a tree, in the chosen format;
//! with `--since`, only those on lines added since a revision, each named
//! with the commit that added it; with a baseline, only those it does not
//! accept; with `--fix`, the patch converting exactly what was found.

use std::fs;
use std::io::{self, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use super::output::{self, Format};
use super::progress::Terminal;
use super::EngineArgs;
use crate::buffer;
use crate::check;
use crate::check::baseline::Baseline;
use crate::check::report::Report;
use crate::check::run::CheckOptions;

pub(super) const EXAMPLES: &str = "Examples:
  bvmig check                              # the tree in the current directory
  bvmig check --since v6.12-rc1            # what the merge window brought in
  bvmig check --since v6.12-rc1 --fix > fixups.patch
  bvmig check --cached                     # what git commit would commit
  bvmig check --format sarif > bvmig.sarif # for code scanning
  bvmig check --write-baseline .bvmig-baseline.json
  bvmig check --baseline .bvmig-baseline.json --format github

Sites the rule keeps raw on purpose (the member's declaration, offsetof and
sizeof_field of it, the helpers' own bodies) are listed as notes.

Exit status: 1 when a site has a replacement, when any site is new against
--since, --cached or --baseline, or, with --strict, when anything is listed
(notes included); 2 on errors; 0 otherwise.";

#[derive(Debug, clap::Args)]
pub(super) struct CheckArgs {
    #[command(flatten)]
    engine: EngineArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// Only sites on lines added since this git revision (committed, staged
    /// or not, and untracked files), each with the commit that added it.
    #[arg(long, value_name = "REV")]
    since: Option<String>,
    /// Only sites on lines the git index adds (what `git commit` would
    /// commit), in the staged version of the files: a pre-commit check.
    #[arg(long, conflicts_with = "since")]
    cached: bool,
    /// Print the patch that converts exactly the sites found on stdout (the
    /// findings go to stderr).
    #[arg(long)]
    fix: bool,
    /// Accept the sites listed in this baseline file; report only new ones.
    #[arg(long, value_name = "FILE")]
    baseline: Option<PathBuf>,
    /// Write every site found to this baseline file, and exit 0.
    #[arg(long, value_name = "FILE", conflicts_with = "fix")]
    write_baseline: Option<PathBuf>,
    /// Fail (exit 1) on every site listed, notes and sites without a
    /// replacement included.
    #[arg(long)]
    strict: bool,
    /// No summary on stderr.
    #[arg(short, long)]
    quiet: bool,
}

pub(super) fn run(args: CheckArgs) -> ExitCode {
    // Baselines key on the enclosing function; JSON and SARIF show it.
    let with_function = args.baseline.is_some()
        || args.write_baseline.is_some()
        || matches!(args.format, Format::Json | Format::Sarif);
    let opts = CheckOptions {
        paths: args.engine.paths(),
        rule: args.engine.rule.clone(),
        defines: args.engine.defines.clone(),
        walk: args.engine.walk_options(),
        since: args.since.clone(),
        cached: args.cached,
        baseline: args.baseline.clone(),
        with_function,
        fix: args.fix,
        definitions_cache: None,
    };
    // b4 counts every line of stdout and stderr as a finding.
    let quiet = args.quiet || args.format == Format::B4;
    // `-`: one text from stdin, as the file it names.
    let stdin = match args.engine.stdin() {
        Ok(s) => s,
        Err(e) => return output::finish(&[e], 0),
    };
    let run = match &stdin {
        Some(_) if args.since.is_some() || args.cached => {
            let e = "`-` (stdin) is not in git: --since and --cached need files";
            return output::finish(&[e.to_string()], 0);
        }
        Some((path, text)) => buffer::check(path, text, &opts),
        None => check::run::run(&opts, &Terminal::new(quiet)),
    };
    let checked = match run {
        Ok(c) => c,
        Err(e) => return output::finish(&[e.to_string()], 0),
    };
    let mut errors: Vec<String> = checked.errors.iter().map(ToString::to_string).collect();

    if let Some(path) = &args.write_baseline {
        let b = Baseline::of(&checked.all);
        if let Err(e) = fs::write(path, b.to_json()) {
            errors.push(format!("{}: {e}", path.display()));
        } else if !quiet {
            eprintln!(
                "bvmig: wrote {} sites to the baseline {}",
                b.len(),
                path.display()
            );
        }
        return output::finish(&errors, 0);
    }

    let report = Report {
        command: "check",
        rule: &checked.rule_name,
        since: args.since.as_deref(),
        findings: &checked.findings,
        notes: &checked.notes,
        n_allowed: checked.n_allowed,
        n_accepted: checked.split.n_accepted,
        n_stale: checked.split.n_stale,
        files: Some((checked.n_walked, checked.n_parsed)),
        errors: &errors,
    };
    let rendered = output::render(args.format, &report);
    let mut out_errors = Vec::new();
    if args.fix {
        output::to_stdout(&checked.fix_patch, &mut out_errors);
        let _ = io::stderr().lock().write_all(&rendered);
    } else {
        output::to_stdout(&rendered, &mut out_errors);
    }
    if !quiet {
        let stderr = io::stderr();
        let mut w = stderr.lock();
        let fields = checked
            .tracked
            .as_ref()
            .map_or("none (each match is a site)".to_string(), |t| t.join(", "));
        let _ = writeln!(w, "bvmig: rule {}; field {fields}", checked.rule_name);
        for n in &checked.walk_notes {
            let _ = writeln!(w, "{}", output::diagnostic("note", n));
        }
        let _ = writeln!(
            w,
            "bvmig: {} files walked, {} parsed",
            checked.n_walked, checked.n_parsed
        );
        if let Some(rev) = &args.since {
            let n_since = checked.findings.len() + checked.split.n_accepted;
            let _ = writeln!(
                w,
                "bvmig: {n_since} of {} sites are on lines added since {rev}",
                checked.n_before_since
            );
        }
        if let Some(p) = &args.baseline {
            let _ = writeln!(
                w,
                "bvmig: baseline {}: {} accepted, {} entries match nothing now",
                p.display(),
                checked.split.n_accepted,
                checked.split.n_stale
            );
        }
        let _ = writeln!(
            w,
            "bvmig: {}; {} kept raw by the rule on purpose (notes: declaration, offsetof, helpers)",
            output::count_line(&report),
            checked.notes.len()
        );
    }
    errors.extend(out_errors);
    let new_against = args.since.is_some() || args.cached || args.baseline.is_some();
    let failing = if args.strict {
        checked.findings.len() + checked.notes.len()
    } else if new_against {
        checked.findings.len()
    } else {
        checked.findings.iter().filter(|f| f.fixable()).count()
    };
    output::finish(&errors, failing)
}
