//! What the server knows of a document: its findings, as `bvmig check`
//! makes them of the editor's text (through `buffer`, which keeps one
//! engine per kernel tree), and the quick fixes made of the engine's edits.

use std::path::Path;

use crate::buffer::{self, Trees};
use crate::check::{self, Advice, Finding};

/// A document's text and what was found in it.
pub(super) struct Analysis {
    /// The file's name in findings.
    pub(super) name: String,
    /// Raw accesses, as `bvmig check` reports them.
    pub(super) findings: Vec<Finding>,
    /// Why the document could not be checked.
    pub(super) error: Option<String>,
}

/// Checks `text`, the editor's version of the file at `path`.
pub(super) fn analyse(trees: &mut Trees, path: &Path, text: &str) -> Analysis {
    let name = buffer::name_of(path);
    let outcome = trees.engine_for(path).and_then(|engine| {
        buffer::run(&engine, path, &name, text.as_bytes()).map_err(|e| e.to_string())
    });
    match outcome {
        Ok(outcome) => Analysis {
            findings: check::findings(&name, text.as_bytes(), &outcome, 0, false).findings,
            name,
            error: None,
        },
        Err(error) => Analysis {
            name,
            findings: Vec::new(),
            error: Some(error),
        },
    }
}

/// One replacement a quick fix makes: a byte range of the text and its new
/// code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Fix {
    pub(super) range: std::ops::Range<usize>,
    pub(super) text: String,
}

/// The replacements converting `chosen` (one per edit; a write and the read
/// it assigns share one), or `None` when none has one or, made alone, they
/// would parse worse than `text` (the check of `bvmig check --fix`).
pub(super) fn fixes(name: &str, text: &str, chosen: &[&Finding]) -> Option<Vec<Fix>> {
    let mut out: Vec<Fix> = Vec::new();
    for f in chosen {
        if let Advice::Replace(r) = &f.advice {
            let fix = Fix {
                range: r.range.clone(),
                text: r.text.clone(),
            };
            if !out.contains(&fix) {
                out.push(fix);
            }
        }
    }
    if out.is_empty() {
        return None;
    }
    check::fix(name, text.as_bytes(), chosen).ok().flatten()?;
    out.sort_by_key(|f| f.range.start);
    Some(out)
}
