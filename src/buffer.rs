//! One text that is not on disk (standard input, an editor's buffer),
//! checked or rewritten as if it were the file at a path: with the rule
//! that `check` and `patch` choose for that path's kernel tree, and named
//! as a walk of the tree names the file. [`Trees`] keeps the engine of each
//! tree met, for a server that sees many texts (choosing a rule reads the
//! tree's definitions).

use std::collections::HashMap;
use std::panic::AssertUnwindSafe;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use crate::c::types;
use crate::check::baseline::{Baseline, Split};
use crate::check::run::{CheckError, CheckOptions, Checked};
use crate::check::{self, Finding};
use crate::diff;
use crate::engine::choice::{self, ChoiceError};
use crate::engine::placement;
use crate::engine::tree::{Patched, TreeError};
use crate::engine::walk::{FileReport, WalkError, Walked};
use crate::engine::{Engine, FileOutcome};
use crate::file;

/// Where the rule for a text at `path` is chosen from, as `bvmig check
/// path` chooses it: the top of the kernel tree around it; else the
/// innermost of `workspace` around it that is a kernel-like tree (holds
/// `include/linux/`); else the path itself (a definition in the file on
/// disk decides). True when it is a tree, whose choice may be kept.
fn root_of(path: &Path, workspace: &[PathBuf]) -> (PathBuf, bool) {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    if let Some(top) = file::kernel_top(dir) {
        return (top, true);
    }
    let folder = workspace
        .iter()
        .filter(|w| path.starts_with(w) && w.join("include/linux").is_dir())
        .max_by_key(|w| w.as_os_str().len());
    match folder {
        Some(w) => (w.clone(), true),
        None => (path.to_path_buf(), false),
    }
}

/// The name reports give a text at `path`: relative to the top of its
/// kernel tree, else the path as given (without `./`).
pub fn name_of(path: &Path) -> String {
    let in_tree = path.parent().and_then(|dir| {
        let dir = if dir.as_os_str().is_empty() {
            Path::new(".")
        } else {
            dir
        };
        let top = file::kernel_top(dir)?;
        let abs = std::fs::canonicalize(dir).ok()?.join(path.file_name()?);
        abs.strip_prefix(top).ok().map(Path::to_path_buf)
    });
    let p = in_tree.as_deref().unwrap_or(path);
    let parts: Vec<String> = p
        .components()
        .filter(|c| !matches!(c, Component::CurDir))
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    parts.join("/")
}

/// The engines of the trees met so far, with their rules' names.
pub struct Trees {
    /// A `--rule` file instead of the built-in rule that fits the tree.
    rule: Option<PathBuf>,
    /// Where the trees' helper definitions are kept between runs.
    cache: Option<PathBuf>,
    /// Folders a client named as its workspace.
    workspace: Vec<PathBuf>,
    engines: HashMap<PathBuf, Result<Arc<Engine>, String>>,
}

impl Trees {
    /// Engines running `rule`, or the built-in rule that fits each tree;
    /// with `cache`, definitions come from that cache directory when the
    /// tree's headers are unchanged.
    pub fn new(rule: Option<PathBuf>, cache: Option<PathBuf>) -> Trees {
        Trees {
            rule,
            cache,
            workspace: Vec::new(),
            engines: HashMap::new(),
        }
    }

    /// Folders that stand for a tree when a file lies in no Linux tree.
    pub fn set_workspace(&mut self, folders: Vec<PathBuf>) {
        self.workspace = folders;
    }

    /// The engine for a text at `path`, or why there is none (the rule file
    /// does not parse, the tree refuses its calls), in one message.
    pub fn engine_for(&mut self, path: &Path) -> Result<Arc<Engine>, String> {
        let (root, is_tree) = root_of(path, &self.workspace);
        if let Some(e) = self.engines.get(&root) {
            return e.clone();
        }
        let paths = [root.clone()];
        let made =
            choice::choose_for_cached(&paths, self.rule.as_deref(), &[], self.cache.as_deref())
                .map(|chosen| {
                    Arc::new(Engine::new(chosen.choice.rules).with_type_roots(types::roots(&paths)))
                })
                .map_err(|e| e.to_string());
        // A lone file's definitions change as it is edited: chosen again
        // each time (it is one file to read).
        if is_tree {
            self.engines.insert(root, made.clone());
        }
        made
    }
}

/// Runs `engine` over `text`, at `path`; a panic of the engine (a bug) is
/// an error naming the file, as the walk reports it.
pub fn run(
    engine: &Engine,
    path: &Path,
    name: &str,
    text: &[u8],
) -> Result<FileOutcome, WalkError> {
    let dir = path.parent();
    std::panic::catch_unwind(AssertUnwindSafe(|| engine.rewrite_in(text, dir))).map_err(|p| {
        let what = p
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| p.downcast_ref::<String>().cloned())
            .unwrap_or_default();
        WalkError::Internal {
            name: name.to_string(),
            what,
        }
    })
}

/// `bvmig check -`: the findings of `text` as if it were the file at
/// `path`, less those `opts.baseline` accepts; with `opts.fix`, the patch
/// converting them. Of `opts`, `rule`, `baseline`, `with_function` and
/// `fix` are read (the others are about files).
pub fn check(path: &Path, text: &[u8], opts: &CheckOptions) -> Result<Checked, CheckError> {
    let baseline = opts.baseline.as_deref().map(Baseline::read).transpose()?;
    let (root, _) = root_of(path, &[]);
    let paths = [root];
    let chosen = choice::choose_for(&paths, opts.rule.as_deref(), &opts.defines)?;
    let engine = Engine::new(chosen.choice.rules).with_type_roots(types::roots(&paths));
    let name = name_of(path);
    let mut out = Checked {
        rule_name: chosen.name,
        tracked: engine.tracked().map(<[String]>::to_vec),
        n_walked: 1,
        n_parsed: usize::from(engine.may_match(text)),
        ..Checked::default()
    };
    let outcome = match run(&engine, path, &name, text) {
        Ok(o) => o,
        Err(e) => {
            out.errors.push(e.into());
            return Ok(out);
        }
    };
    let found = check::findings(&name, text, &outcome, 0, opts.with_function);
    out.n_allowed = found.allowed_lines.len();
    out.n_before_since = found.findings.len();
    out.all = found.findings;
    out.split = match &baseline {
        Some(b) => b.split(out.all.clone()),
        None => Split {
            new: out.all.clone(),
            ..Split::default()
        },
    };
    out.findings = std::mem::take(&mut out.split.new);
    if opts.fix {
        let chosen: Vec<&Finding> = out.findings.iter().collect();
        match check::fix(&name, text, &chosen) {
            Ok(Some(new)) => diff::unified(&name, text, &new, &mut out.fix_patch),
            Ok(None) => {}
            Err(e) => out.errors.push(e.into()),
        }
    }
    Ok(out)
}

/// `bvmig patch -`: the rewrite of `text` as if it were the file at `path`,
/// with the `#include`s its new calls need. Helpers the tree lacks are not
/// added (the tree is not part of the output): a note says so.
pub fn rewrite(
    path: &Path,
    text: Vec<u8>,
    rule: Option<&Path>,
    defines: &[String],
) -> Result<Patched, ChoiceError> {
    let (root, _) = root_of(path, &[]);
    let paths = [root];
    let chosen = choice::choose_for(&paths, rule, defines)?;
    let rule_path = chosen.choice.rules.path.clone();
    let emitted = chosen.choice.rules.emitted_calls();
    let engine = Engine::new(chosen.choice.rules).with_type_roots(types::roots(&paths));
    let name = name_of(path);
    let mut walked = Walked {
        n_walked: 1,
        n_parsed: usize::from(engine.may_match(&text)),
        ..Walked::default()
    };
    match run(&engine, path, &name, &text) {
        Ok(mut outcome) => {
            if let Some(new) = &outcome.new_text {
                if let Some(with) = placement::add_includes(&text, new) {
                    outcome.new_text = Some(with);
                }
            }
            if !outcome.sites.is_empty() || outcome.new_text.is_some() {
                walked.files.push(FileReport {
                    name,
                    path: path.to_path_buf(),
                    old: text,
                    outcome,
                });
            }
        }
        Err(e) => walked.errors.push(e),
    }
    let mut notes = Vec::new();
    let changed = walked.files.iter().any(|f| f.outcome.new_text.is_some());
    if changed && !chosen.choice.missing.is_empty() {
        let names: Vec<String> = chosen
            .choice
            .missing
            .iter()
            .map(|h| format!("{}()", h.name))
            .collect();
        notes.push(format!(
            "the tree lacks {}; `bvmig patch` on the tree adds them to {}",
            names.join(", "),
            placement::BVEC_HEADER
        ));
    }
    let errors = walked.errors.drain(..).map(TreeError::Walk).collect();
    Ok(Patched {
        paths: vec![path.to_path_buf()],
        rule_name: chosen.name,
        why: chosen.why,
        rule_path,
        emitted,
        missing: Vec::new(),
        tracked: engine.tracked().map(<[String]>::to_vec),
        walked,
        bvec_header: None,
        whole_tree: false,
        notes,
        errors,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_text_is_named_as_the_walk_names_its_file() {
        let dir = tempfile::tempdir().unwrap();
        let top = dir.path().join("linux");
        std::fs::create_dir_all(top.join("include/linux")).unwrap();
        std::fs::create_dir_all(top.join("fs")).unwrap();
        std::fs::write(top.join("Makefile"), "").unwrap();
        std::fs::write(top.join("Kconfig"), "").unwrap();
        // In a tree, from its top, whether or not the file exists.
        assert_eq!(name_of(&top.join("fs/new.c")), "fs/new.c");
        assert_eq!(name_of(&top.join("fs/../fs/x.c")), "fs/x.c");
        // Elsewhere, as given.
        assert_eq!(name_of(Path::new("./a/b.c")), "a/b.c");
        assert_eq!(name_of(Path::new("b.c")), "b.c");
        let (root, tree) = root_of(&top.join("fs/new.c"), &[]);
        assert_eq!((root, tree), (top.canonicalize().unwrap(), true));
        // A workspace folder holding include/linux stands for a tree.
        let (root, tree) = root_of(&top.join("../elsewhere/x.c"), &[]);
        assert!(!tree, "{}", root.display());
    }
}
