//! `bvmig patch`: the rewrite as a diff on stdout, made in place, or
//! written as a series of mails for `git am` (`--series`, see
//! [`crate::mail`]); the sites left plus a summary on stderr.

use std::collections::BTreeMap;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use super::output::{self, diagnostic};
use super::progress;
use super::{Chosen, EngineArgs};
use crate::diff;
use crate::engine::helpers::{self, Helper};
use crate::engine::site::{Kind, Status};
use crate::engine::walk::{self, FileReport, Walked};
use crate::engine::Engine;
use crate::mail::maintainers::Maintainers;
use crate::mail::{self, HelperAddition, RuleText, SourceFile};
use crate::smpl::{DEFAULT_RULE, DEFAULT_RULE_NAME};

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
    /// Write the changes to the files instead of printing a diff.
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
    let chosen = match args.engine.choose_rules() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{}", diagnostic("error", &e));
            return ExitCode::from(2);
        }
    };
    let Chosen {
        name: rule_name,
        why,
        choice,
    } = chosen;
    let missing = choice.missing.clone();
    let rule = match rule_text(&args, &rule_name, &choice) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("{}", diagnostic("error", &e));
            return ExitCode::from(2);
        }
    };
    let paths = args.engine.paths();
    let engine = Engine::new(choice.rules).with_type_roots(crate::c::types::roots(&paths));
    let show_progress = progress::wanted(args.quiet);
    let mut walked = progress::spin(show_progress, "walking the tree", || {
        walk::walk(&paths, &engine, &args.engine.walk_options())
    });
    let mut errors = walked.errors.clone();
    let mut notes = Vec::new();
    // A file that starts calling a pfn_t function gets its header.
    for f in walked.files.iter_mut() {
        if let Some(new) = &f.outcome.new_text {
            if let Some(with) = crate::engine::placement::add_includes(&f.old, new) {
                f.outcome.new_text = Some(with);
            }
        }
    }
    // The kernel tree's include/linux/bvec.h, where helpers go. The walk
    // covered the tree when that file was among the files walked (bvmig
    // patch ~/linux, not ~/linux/fs).
    let bvec_header = crate::engine::placement::bvec_header(&paths);
    let whole_tree = bvec_header
        .as_deref()
        .and_then(|h| fs::canonicalize(h).ok())
        .is_some_and(|h| {
            walked
                .files
                .iter()
                .any(|f| fs::canonicalize(&f.path).is_ok_and(|p| p == h))
        });
    if let Some(dir) = &args.series {
        let header = if args.no_helpers {
            None
        } else {
            bvec_header.clone()
        };
        let left_out: Vec<String> = if header.is_none() {
            missing.iter().map(|h| h.name.to_string()).collect()
        } else {
            Vec::new()
        };
        let mut rule = rule;
        rule.fields = engine.tracked().map(<[String]>::to_vec).unwrap_or_default();
        let res = write_series(
            &args,
            dir,
            &walked,
            (header.as_deref(), &missing, left_out),
            rule,
            show_progress,
        );
        match res {
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
                    notes.push(format!(
                        "wrote a cover letter and {} patches to {}; apply them with: git am --empty=drop {}/*.patch",
                        written.len() - 1,
                        dir.display(),
                        dir.display()
                    ));
                } else {
                    notes.push("nothing to convert; no series written".to_string());
                }
            }
            Err(e) => errors.push(e),
        }
        return finish(
            &args,
            &walked,
            (&rule_name, why.as_deref()),
            whole_tree,
            &engine,
            notes,
            errors,
        );
    }
    if !missing.is_empty() {
        let names: Vec<String> = missing.iter().map(|h| format!("{}()", h.name)).collect();
        match bvec_header {
            Some(header) if !args.no_helpers => {
                if let Err(e) = add_helpers(&mut walked, &header, &missing) {
                    errors.push(e);
                } else {
                    notes.push(format!(
                        "adds {} to {} (--no-helpers leaves them out)",
                        names.join(", "),
                        crate::engine::placement::BVEC_HEADER
                    ));
                }
            }
            Some(_) => notes.push(format!(
                "the tree lacks {}; the patch does not compile without them",
                names.join(", ")
            )),
            // No kernel tree around the paths: where the helpers are is
            // not known.
            None => {}
        }
    }

    let mut stdout_buf = Vec::new();
    for f in &walked.files {
        let Some(new) = &f.outcome.new_text else {
            continue;
        };
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

    finish(
        &args,
        &walked,
        (&rule_name, why.as_deref()),
        whole_tree,
        &engine,
        notes,
        errors,
    )
}

/// The report, notes and errors on stderr; the exit status.
fn finish(
    args: &PatchArgs,
    walked: &Walked,
    rule: (&str, Option<&str>),
    whole_tree: bool,
    engine: &Engine,
    notes: Vec<String>,
    errors: Vec<String>,
) -> ExitCode {
    let n_changed = walked
        .files
        .iter()
        .filter(|f| f.outcome.new_text.is_some())
        .count();
    let mut report = Vec::new();
    let _ = write_report(
        &mut report,
        walked,
        rule,
        whole_tree,
        n_changed,
        engine.tracked(),
        args.quiet,
    );
    if output::color_stderr() {
        report = output::paint(&report);
    }
    let stderr = io::stderr();
    let mut err = stderr.lock();
    let _ = err.write_all(&report);
    if !args.quiet {
        for n in &notes {
            let _ = writeln!(err, "{}", diagnostic("note", n));
        }
    }
    for e in &errors {
        let _ = writeln!(err, "{}", diagnostic("error", e));
    }
    if errors.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(2)
    }
}

/// The rule's text and calls, as the series' messages quote them.
fn rule_text(
    args: &PatchArgs,
    name: &str,
    choice: &crate::engine::choice::Choice,
) -> Result<RuleText, String> {
    let text = match &args.engine.rule {
        Some(p) => fs::read_to_string(p).map_err(|e| format!("{}: {e}", p.display()))?,
        None if choice.rules.path == DEFAULT_RULE_NAME => DEFAULT_RULE.to_string(),
        None => crate::engine::choice::MODERN_RULE.to_string(),
    };
    let mut calls: Vec<String> = Vec::new();
    for c in choice.rules.emitted_calls() {
        if !calls.contains(&c.name) {
            calls.push(c.name);
        }
    }
    // The helpers bvmig knows in their own order (the read first), then
    // the others in the rule's.
    let rank = |c: &String| {
        helpers::HELPERS
            .iter()
            .position(|h| h.name == c)
            .unwrap_or(helpers::HELPERS.len())
    };
    calls.sort_by_key(rank);
    Ok(RuleText {
        name: name.to_string(),
        text,
        calls,
        fields: Vec::new(),
    })
}

/// The directory the series' paths are relative to: the git work tree's
/// top, else the kernel tree's (where include/linux/bvec.h is), else the
/// first path's directory.
fn tree_top(paths: &[PathBuf]) -> PathBuf {
    let first = &paths[0];
    let dir = if first.is_dir() {
        first.clone()
    } else {
        first
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
    };
    if let Some(top) = crate::git::top(&dir) {
        return top;
    }
    if let Some(root) = crate::engine::placement::bvec_header(paths)
        .as_deref()
        .and_then(|h| h.ancestors().nth(3))
        .and_then(|r| fs::canonicalize(r).ok())
    {
        return root;
    }
    fs::canonicalize(&dir).unwrap_or(dir)
}

/// git's mode of the file at `path`.
fn git_mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    match fs::metadata(path) {
        Ok(m) if m.permissions().mode() & 0o111 != 0 => 0o100755,
        _ => 0o100644,
    }
}

/// Writes the series into `dir`; the files written, the cover letter
/// first (none when there is nothing to convert).
fn write_series(
    args: &PatchArgs,
    dir: &Path,
    walked: &Walked,
    (header, missing, left_out): (Option<&Path>, &[&Helper], Vec<String>),
    rule: RuleText,
    show_progress: bool,
) -> Result<Vec<PathBuf>, String> {
    // Checked first: a mistake here should not cost the work below.
    if dir.is_dir() {
        let stale = fs::read_dir(dir)
            .map_err(|e| format!("{}: {e}", dir.display()))?
            .filter_map(Result::ok)
            .any(|e| e.path().extension().is_some_and(|x| x == "patch"));
        if stale {
            return Err(format!(
                "{}: holds .patch files already, which `git am {}/*.patch` would apply too; remove them or choose another directory",
                dir.display(),
                dir.display()
            ));
        }
    }
    let paths = args.engine.paths();
    let top = tree_top(&paths);
    let header_canon = header.and_then(|h| fs::canonicalize(h).ok());
    let mut files: Vec<SourceFile> = Vec::new();
    let mut helpers: Option<HelperAddition> = None;
    let mut header_seen = false;
    for f in &walked.files {
        let canon = fs::canonicalize(&f.path).map_err(|e| format!("{}: {e}", f.name))?;
        let rel = canon.strip_prefix(&top).map_err(|_| {
            format!(
                "{}: outside the tree at {}, which the series' paths are relative to",
                f.name,
                top.display()
            )
        })?;
        let name = rel
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect::<Vec<_>>()
            .join("/");
        let mode = git_mode(&f.path);
        let is_header = header_canon.as_ref() == Some(&canon);
        let (before, after) = if is_header && !missing.is_empty() {
            header_seen = true;
            let old = if f.old.is_empty() {
                fs::read(&f.path).map_err(|e| format!("{}: {e}", f.name))?
            } else {
                f.old.clone()
            };
            let new = f.outcome.new_text.clone().unwrap_or_else(|| old.clone());
            let no_struct = || {
                format!(
                    "{}: no definition of struct bio_vec to add the helpers after",
                    f.name
                )
            };
            let old_h = crate::engine::placement::insert(&old, missing).ok_or_else(no_struct)?;
            let new_h = crate::engine::placement::insert(&new, missing).ok_or_else(no_struct)?;
            helpers = Some(HelperAddition {
                name: name.clone(),
                before: old,
                after: old_h.clone(),
                mode,
                helpers: missing.iter().map(|h| h.name.to_string()).collect(),
            });
            (old_h, new_h)
        } else {
            match &f.outcome.new_text {
                Some(new) => (f.old.clone(), new.clone()),
                None => (Vec::new(), Vec::new()),
            }
        };
        files.push(SourceFile {
            name,
            before,
            after,
            mode,
            sites: &f.outcome.sites,
        });
    }
    if let Some(h) = header {
        if !missing.is_empty() && !header_seen {
            return Err(format!(
                "{}: the helpers go here, but it is not among the files walked; run on the whole tree or pass --no-helpers",
                h.display()
            ));
        }
    }
    files.sort_by(|a, b| a.name.cmp(&b.name));
    if files.iter().all(|f| f.before == f.after) && helpers.is_none() {
        return Ok(Vec::new());
    }

    let maintainers_path = top.join("MAINTAINERS");
    let maintainers = if maintainers_path.is_file() {
        Some(Maintainers::read(&maintainers_path).map_err(|e| e.to_string())?)
    } else {
        None
    };
    let (stamp, signoff) = mail::author(&top).map_err(|e| e.to_string())?;
    let is_repo = crate::git::top(&top).is_some_and(|t| t == top);
    let changed: Vec<&str> = files
        .iter()
        .filter(|f| f.before != f.after)
        .map(|f| f.name.as_str())
        .chain(helpers.as_ref().map(|h| h.name.as_str()))
        .collect();
    let base = if is_repo {
        crate::git::head_if_clean(&top, &changed)
    } else {
        None
    };
    let input = mail::Input {
        files,
        helpers,
        helpers_left_out: left_out,
        rule,
        maintainers: maintainers.as_ref(),
    };
    let version = format!("bvmig {}", env!("CARGO_PKG_VERSION"));
    let opts = mail::Options {
        to: &args.to,
        cc: &args.cc,
        subject_prefix: &args.subject_prefix,
        stamp: &stamp,
        signoff: signoff.as_deref(),
        base: base.as_deref(),
        version: &version,
    };
    let n_groups =
        mail::group(&input.files, input.maintainers).len() + usize::from(input.helpers.is_some());
    let mut steps = progress::Steps::new(show_progress, n_groups, "reading the history");
    let mut history = |names: &[&str]| {
        steps.inc();
        if is_repo {
            crate::git::log_subjects(&top, names)
        } else {
            Vec::new()
        }
    };
    let mails = mail::make(&input, &opts, &mut history);
    steps.finish();

    fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut written = Vec::new();
    for m in &mails {
        let path = dir.join(&m.name);
        fs::write(&path, &m.bytes).map_err(|e| format!("{}: {e}", path.display()))?;
        written.push(path);
    }
    Ok(written)
}

fn write_report(
    w: &mut impl Write,
    walked: &Walked,
    (rule_name, why): (&str, Option<&str>),
    whole_tree: bool,
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
    let fields = tracked.map_or("none (no sites are counted)".to_string(), |t| t.join(", "));
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
    // Who declares the field: when only one struct does, a rule without
    // types cannot touch another struct's member. Said only of a walk that
    // covered a whole kernel tree, where every declaration was seen.
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
        if owners.len() == 1 {
            writeln!(
                w,
                "bvmig: {} is declared only by {}: a rule without types is safe",
                fields.join(", "),
                list[0]
            )?;
        } else {
            writeln!(
                w,
                "bvmig: note: {} is declared by {}: a rule without types rewrites each one's accesses; a typed rule (rules/bv_page-typed.cocci) tells them apart",
                fields.join(", "),
                list.join(", ")
            )?;
        }
    }
    // A typed rule says how sure the types of what it rewrote were.
    let mut by_evidence: BTreeMap<crate::c::types::Evidence, usize> = BTreeMap::new();
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

/// Adds the definitions of `helpers` to `header` (include/linux/bvec.h):
/// into its rewrite when the walk changed it, else as a new change.
fn add_helpers(walked: &mut Walked, header: &Path, helpers: &[&Helper]) -> Result<(), String> {
    let canon = fs::canonicalize(header).map_err(|e| format!("{}: {e}", header.display()))?;
    let same = |p: &Path| fs::canonicalize(p).is_ok_and(|c| c == canon);
    let Some(idx) = walked.files.iter().position(|f| same(&f.path)) else {
        return Err(format!(
            "{}: the helpers go here, but it is not among the files walked; run on the whole tree or pass --no-helpers",
            header.display()
        ));
    };
    let f: &mut FileReport = &mut walked.files[idx];
    if f.old.is_empty() {
        f.old = fs::read(&f.path).map_err(|e| format!("{}: {e}", f.name))?;
    }
    let base = f.outcome.new_text.as_deref().unwrap_or(&f.old);
    let new = crate::engine::placement::insert(base, helpers).ok_or_else(|| {
        format!(
            "{}: no definition of struct bio_vec to add the helpers after",
            f.name
        )
    })?;
    f.outcome.new_text = Some(new);
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
