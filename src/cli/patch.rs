//! `bvmig patch`: the rewrite as a diff on stdout (or made in place), and
//! the sites left plus a summary on stderr.

use std::collections::BTreeMap;
use std::fs;
use std::io::{self, Write};
use std::path::Path;
use std::process::ExitCode;

use super::{Chosen, EngineArgs};
use crate::diff;
use crate::helper::{self, Helper};
use crate::rewrite::Engine;
use crate::site::{Kind, Status};
use crate::walk::{self, FileReport, Walked};

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
            eprintln!("bvmig: error: {e}");
            return ExitCode::from(2);
        }
    };
    let Chosen {
        name: rule_name,
        why,
        choice,
    } = chosen;
    let missing = choice.missing.clone();
    let paths = args.engine.paths();
    let engine = Engine::new(choice.rules).with_type_roots(crate::types::roots(&paths));
    let mut walked = walk::walk(&paths, &engine, &args.engine.walk_options());
    let mut errors = walked.errors.clone();
    let mut notes = Vec::new();
    // The walk covered a kernel tree when its include/linux/bvec.h was
    // among the files walked (bvmig patch ~/linux, not ~/linux/fs).
    let whole_tree = helper::bvec_header(&paths)
        .and_then(|h| fs::canonicalize(h).ok())
        .is_some_and(|h| {
            walked
                .files
                .iter()
                .any(|f| fs::canonicalize(&f.path).is_ok_and(|p| p == h))
        });
    if !missing.is_empty() {
        let names: Vec<String> = missing.iter().map(|h| format!("{}()", h.name)).collect();
        match helper::bvec_header(&paths) {
            Some(header) if !args.no_helpers => {
                if let Err(e) = add_helpers(&mut walked, &header, &missing) {
                    errors.push(e);
                } else {
                    notes.push(format!(
                        "adds {} to {} (--no-helpers leaves them out)",
                        names.join(", "),
                        helper::BVEC_HEADER
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
        (&rule_name, why.as_deref()),
        whole_tree,
        n_changed,
        engine.tracked(),
        args.quiet,
    );
    if !args.quiet {
        for n in &notes {
            let _ = writeln!(err, "bvmig: note: {n}");
        }
    }
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
    let mut by_evidence: BTreeMap<crate::types::Evidence, usize> = BTreeMap::new();
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
    let new = helper::insert(base, helpers).ok_or_else(|| {
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
