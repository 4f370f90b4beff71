//! `bvmig check`: every raw access left in a tree, in the chosen format;
//! with `--since`, only those on lines added since a revision, each named
//! with the commit that added it; with a baseline, only those it does not
//! accept; with `--fix`, the patch converting exactly what was found.

use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::io::{self, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use super::output::{self, Format};
use super::EngineArgs;
use crate::check::baseline::Baseline;
use crate::check::report::Report;
use crate::check::{self, Finding};
use crate::diff;
use crate::engine::walk;
use crate::engine::Engine;
use crate::git::Repo;

pub(super) const EXAMPLES: &str = "Examples:
  bvmig check                              # the tree in the current directory
  bvmig check --since v6.12-rc1            # what the merge window brought in
  bvmig check --since v6.12-rc1 --fix > fixups.patch
  bvmig check --format sarif > bvmig.sarif # for code scanning
  bvmig check --write-baseline .bvmig-baseline.json
  bvmig check --baseline .bvmig-baseline.json --format github

Exit status: 0 when nothing is found, 1 when something is, 2 on errors.";

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
    /// No summary on stderr.
    #[arg(short, long)]
    quiet: bool,
}

/// What a file needs for reporting and fixing.
struct Checked {
    text: Vec<u8>,
    findings: Vec<Finding>,
}

pub(super) fn run(args: CheckArgs) -> ExitCode {
    let mut errors = Vec::new();
    let (rule_name, rules) = match args.engine.choose_rules() {
        Ok(c) => (c.name, c.choice.rules),
        Err(e) => return output::finish(&[e], 0),
    };
    let baseline = match &args.baseline {
        Some(p) => match Baseline::read(p) {
            Ok(b) => Some(b),
            Err(e) => return output::finish(&[e.to_string()], 0),
        },
        None => None,
    };
    let paths = args.engine.paths();
    // The repository and the added lines first: a bad revision is an error
    // before any work.
    let since = match &args.since {
        Some(rev) => match Repo::discover(&paths[0]).and_then(|repo| {
            let added = repo.added_since(rev)?;
            Ok((repo, added))
        }) {
            Ok(x) => Some(x),
            Err(e) => return output::finish(&[e.to_string()], 0),
        },
        None => None,
    };

    let engine = Engine::new(rules).with_type_roots(crate::c::types::roots(&paths));
    let walked = super::progress::spin(
        super::progress::wanted(args.quiet),
        "walking the tree",
        || walk::walk(&paths, &engine, &args.engine.walk_options()),
    );
    errors.extend(walked.errors.iter().cloned());

    // Baselines key on the enclosing function; JSON and SARIF show it.
    let with_function = baseline.is_some()
        || args.write_baseline.is_some()
        || matches!(args.format, Format::Json | Format::Sarif);
    let mut n_allowed = 0;
    let mut n_before_since = 0;
    let mut files: BTreeMap<String, Checked> = BTreeMap::new();
    let mut repo_names: HashMap<String, String> = HashMap::new();
    for f in &walked.files {
        let text = if f.outcome.new_text.is_some() {
            f.old.clone()
        } else {
            match fs::read(&f.path) {
                Ok(t) => t,
                Err(e) => {
                    errors.push(format!("{}: {e}", f.name));
                    continue;
                }
            }
        };
        let mut found = check::findings(&f.name, &text, &f.outcome, 0, with_function);
        n_allowed += found.allowed_lines.len();
        n_before_since += found.findings.len();
        if let Some((repo, added)) = &since {
            let Some(rel) = repo.relative(&f.path) else {
                errors.push(format!(
                    "{}: outside the repository at {}",
                    f.name,
                    repo.top.display()
                ));
                continue;
            };
            found
                .findings
                .retain(|x| added.get(&rel).is_some_and(|a| a.contains(x.line)));
            repo_names.insert(f.name.clone(), rel);
        }
        if !found.findings.is_empty() {
            files.insert(
                f.name.clone(),
                Checked {
                    text,
                    findings: found.findings,
                },
            );
        }
    }

    // Blame only the stragglers, one git call per file.
    if let Some((repo, _)) = &since {
        for (name, c) in files.iter_mut() {
            let mut lines: Vec<usize> = c.findings.iter().map(|f| f.line).collect();
            lines.dedup();
            match repo.blame(&repo_names[name], &lines) {
                Ok(origins) => {
                    for f in &mut c.findings {
                        f.origin = origins.get(&f.line).cloned();
                    }
                }
                Err(e) => errors.push(e.to_string()),
            }
        }
    }

    let all: Vec<Finding> = files.values().flat_map(|c| c.findings.clone()).collect();
    if let Some(path) = &args.write_baseline {
        let b = Baseline::of(&all);
        if let Err(e) = fs::write(path, b.to_json()) {
            errors.push(format!("{}: {e}", path.display()));
        } else if !args.quiet {
            eprintln!(
                "bvmig: wrote {} sites to the baseline {}",
                b.len(),
                path.display()
            );
        }
        return output::finish(&errors, 0);
    }
    let split = match &baseline {
        Some(b) => b.split(all),
        None => crate::check::baseline::Split {
            new: all,
            ..Default::default()
        },
    };
    let findings = split.new;

    let mut fix_patch = Vec::new();
    if args.fix {
        for (name, c) in &files {
            let chosen: Vec<&Finding> = findings.iter().filter(|f| &f.file == name).collect();
            match check::fix(name, &c.text, &chosen) {
                Ok(Some(new)) => diff::unified(name, &c.text, &new, &mut fix_patch),
                Ok(None) => {}
                Err(e) => errors.push(e.to_string()),
            }
        }
    }

    let report = Report {
        command: "check",
        rule: &rule_name,
        since: args.since.as_deref(),
        findings: &findings,
        n_allowed,
        n_accepted: split.n_accepted,
        n_stale: split.n_stale,
        files: Some((walked.n_walked, walked.n_parsed)),
        errors: &errors,
    };
    let rendered = output::render(args.format, &report);
    let mut out_errors = Vec::new();
    if args.fix {
        output::to_stdout(&fix_patch, &mut out_errors);
        let _ = io::stderr().lock().write_all(&rendered);
    } else {
        output::to_stdout(&rendered, &mut out_errors);
    }
    if !args.quiet {
        let stderr = io::stderr();
        let mut w = stderr.lock();
        let fields = engine
            .tracked()
            .map_or("none (no sites are counted)".to_string(), |t| t.join(", "));
        let _ = writeln!(w, "bvmig: rule {rule_name}; field {fields}");
        let _ = writeln!(
            w,
            "bvmig: {} files walked, {} parsed",
            walked.n_walked, walked.n_parsed
        );
        if let Some(rev) = &args.since {
            let n_since = findings.len() + split.n_accepted;
            let _ = writeln!(
                w,
                "bvmig: {n_since} of {n_before_since} sites are on lines added since {rev}"
            );
        }
        if let Some(p) = &args.baseline {
            let _ = writeln!(
                w,
                "bvmig: baseline {}: {} accepted, {} entries match nothing now",
                p.display(),
                split.n_accepted,
                split.n_stale
            );
        }
        let _ = writeln!(
            w,
            "bvmig: {}; {n_allowed} kept raw by the rule (declaration, excluded functions)",
            output::count_line(&report)
        );
    }
    errors.extend(out_errors);
    output::finish(&errors, findings.len())
}
