//! The command line: argument parsing, the `patch` command's output (a diff
//! on stdout or in-place writes), and the summary on stderr. Tests call
//! [`run`] through the real binary.

use std::collections::BTreeMap;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::diff;
use crate::rewrite::Engine;
use crate::rule::{RuleFile, DEFAULT_RULE_NAME};
use crate::site::{Kind, Status};
use crate::walk::{self, WalkOptions, Walked};

/// Rewrite struct bio_vec's bv_page accesses into helper calls, driven by
/// SmPL rules, over a Linux tree.
#[derive(Debug, Parser)]
#[command(name = "bvmig", version, about)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Print the rewrite as a unified diff (or make it with --in-place).
    ///
    /// Example: bvmig patch ~/linux > bv_page.patch
    #[command(
        after_help = "Examples:\n  bvmig patch                      # the tree in the current directory\n  bvmig patch drivers/block > x.patch && patch -p1 < x.patch\n  bvmig patch --in-place -j 2 fs/\n  bvmig patch --rule my.cocci mm/page_io.c"
    )]
    Patch(PatchArgs),
}

#[derive(Debug, clap::Args)]
struct PatchArgs {
    /// Kernel trees, directories or C files (default: the current directory).
    paths: Vec<PathBuf>,
    /// Run this SmPL rule file instead of the built-in rules/bv_page.cocci.
    #[arg(long, value_name = "FILE")]
    rule: Option<PathBuf>,
    /// Write the changes to the files instead of printing a diff.
    #[arg(long)]
    in_place: bool,
    /// Worker threads (default: one per core).
    #[arg(short = 'j', long = "threads", value_name = "N")]
    threads: Option<usize>,
    /// Also look at files that .gitignore and .ignore files exclude, and hidden ones.
    #[arg(long)]
    no_ignore: bool,
    /// Print only the sites left for a human and errors, no summary.
    #[arg(short, long)]
    quiet: bool,
}

/// Runs the command line in `args` and returns the exit status: 0 when the
/// run completed, 2 on errors.
pub fn run<I, T>(args: I) -> ExitCode
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    match cli.command {
        Command::Patch(args) => patch(args),
    }
}

/// `main` of the binary.
pub fn main() -> ExitCode {
    // Panics are caught per file and reported in one line; the default
    // hook's message and backtrace would only repeat it.
    std::panic::set_hook(Box::new(|_| {}));
    run(std::env::args_os())
}

fn load_rules(path: Option<&Path>) -> Result<RuleFile, String> {
    let Some(path) = path else {
        return Ok(RuleFile::default_rule());
    };
    let name = path.display().to_string();
    let bytes = fs::read(path).map_err(|e| format!("{name}: {e}"))?;
    let text = String::from_utf8(bytes).map_err(|e| {
        let good = &e.as_bytes()[..e.utf8_error().valid_up_to()];
        let line = good.iter().filter(|&&b| b == b'\n').count() + 1;
        let col = good.len() - good.iter().rposition(|&b| b == b'\n').map_or(0, |p| p + 1) + 1;
        format!("{name}:{line}:{col}: rule file is not valid UTF-8")
    })?;
    RuleFile::parse(&name, &text).map_err(|e| e.to_string())
}

fn patch(args: PatchArgs) -> ExitCode {
    let rules = match load_rules(args.rule.as_deref()) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("bvmig: error: {e}");
            return ExitCode::from(2);
        }
    };
    let rule_name = args
        .rule
        .as_ref()
        .map_or(DEFAULT_RULE_NAME.to_string(), |p| p.display().to_string());
    let engine = Engine::new(rules);
    let paths = if args.paths.is_empty() {
        vec![PathBuf::from(".")]
    } else {
        args.paths.clone()
    };
    let opts = WalkOptions {
        threads: args.threads.unwrap_or(0),
        standard_filters: !args.no_ignore,
    };
    let walked = walk::walk(&paths, &engine, &opts);
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
