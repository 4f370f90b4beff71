//! `bvmig patch`: the rewrite as a diff on stdout (or made in place), and
//! the sites left plus a summary on stderr.

use std::collections::BTreeMap;
use std::fs;
use std::io::{self, Write};
use std::path::Path;
use std::process::ExitCode;

use super::{load_rules, EngineArgs};
use crate::diff;
use crate::rewrite::Engine;
use crate::site::{Kind, Status};
use crate::walk::{self, Walked};

#[derive(Debug, clap::Args)]
pub(super) struct PatchArgs {
    #[command(flatten)]
    engine: EngineArgs,
    /// Write the changes to the files instead of printing a diff.
    #[arg(long)]
    in_place: bool,
    /// Print only the sites left for a human and errors, no summary.
    #[arg(short, long)]
    quiet: bool,
}

pub(super) fn run(args: PatchArgs) -> ExitCode {
    let rules = match load_rules(args.engine.rule.as_deref()) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("bvmig: error: {e}");
            return ExitCode::from(2);
        }
    };
    let rule_name = args.engine.rule_name();
    let engine = Engine::new(rules);
    let walked = walk::walk(&args.engine.paths(), &engine, &args.engine.walk_options());
    let mut errors = walked.errors.clone();

    let mut stdout_buf = Vec::new();
    let mut n_changed = 0;
    for f in &walked.files {
        let Some(new) = &f.outcome.new_text else {
            continue;
        };
        n_changed += 1;
        if args.in_place {
            if let Err(e) = write_atomically(&f.path, new) {
                errors.push(format!("{}: {e}; file left unchanged", f.name));
            }
        } else {
            diff::unified(&f.name, &f.old, new, &mut stdout_buf);
        }
    }
    if let Err(e) = io::stdout()
        .lock()
        .write_all(&stdout_buf)
        .and_then(|()| io::stdout().flush())
    {
        if e.kind() != io::ErrorKind::BrokenPipe {
            errors.push(format!("<stdout>: {e}"));
        }
    }

    let stderr = io::stderr();
    let mut err = stderr.lock();
    let _ = write_report(
        &mut err,
        &walked,
        &rule_name,
        n_changed,
        engine.tracked(),
        args.quiet,
    );
    for e in &errors {
        let _ = writeln!(err, "bvmig: error: {e}");
    }
    if errors.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(2)
    }
}

fn write_report(
    w: &mut impl Write,
    walked: &Walked,
    rule_name: &str,
    n_changed: usize,
    tracked: Option<&[String]>,
    quiet: bool,
) -> io::Result<()> {
    let mut by_kind: BTreeMap<Kind, usize> = BTreeMap::new();
    let (mut n_rewritten, mut n_left) = (0, 0);
    for f in &walked.files {
        for s in &f.outcome.sites {
            *by_kind.entry(s.kind).or_default() += 1;
            match &s.status {
                Status::Rewritten => n_rewritten += 1,
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
    let fields = tracked.map_or("(no prefilter)".to_string(), |t| t.join(", "));
    writeln!(w, "bvmig: rule {rule_name}; field {fields}")?;
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
    Ok(())
}

/// Replaces `path`'s contents with `data` through a temporary file in the
/// same directory and a rename, keeping the file's mode: a crash leaves the
/// old file or the new one, never a mix.
fn write_atomically(path: &Path, data: &[u8]) -> io::Result<()> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let perms = fs::metadata(path)?.permissions();
    let mut tmp = tempfile::Builder::new()
        .prefix(".bvmig-")
        .tempfile_in(dir)?;
    tmp.write_all(data)?;
    tmp.as_file().sync_all()?;
    fs::set_permissions(tmp.path(), perms)?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}
