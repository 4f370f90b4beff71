//! `bvmig`: rewrites every access of `struct bio_vec`'s `bv_page` field in a
//! Linux tree into helper calls (`bvec_page()`, `bvec_set_page()`), driven by
//! rules written in a subset of Coccinelle's SmPL, and reports every site it
//! leaves for a human.
//!
//! The layers, each a folder, with dependencies pointing one way
//! (ARCHITECTURE.md draws them):
//! - `c`: C without a build (source bytes, tree-sitter parsing, types,
//!   definitions); knows nothing of rules.
//! - `smpl`: the rule language.
//! - `engine`: rules run over a file and over a tree (matching, sites,
//!   verification, the walk, rule choice, helper placement, writes).
//! - the workflows on top of the engine: `check` (findings, baselines,
//!   report formats), `review` (patches and mboxes), `mail` (series for the
//!   lists), `validate` (fixtures against the reference runtime) and
//!   `ruletest` (each rule file's own cases), and `lsp` (the language
//!   server for editors);
//! - leaves any layer may use: `diff` (writing and reading hunks), `git`
//!   (the only place that runs git), `file`, `progress`, `input` (what
//!   a thread reads, for the one line a panic prints) and `bundled` (the
//!   rules' cases and the semantic fixtures built into the binary);
//! - `cli`: arguments, dispatch and printing.
//!
//! **API Boundary:** the crate exposes each command's work as one call
//! ([`rewrite`] with [`in_place`] or [`write_series`], [`check`],
//! [`review`], [`validate::run`], [`ruletest::run`], [`lsp::serve`]), the
//! engine for one text ([`Engine`]), and the command line ([`cli::run`]). Everything else
//! is private to the crate and may change.
#![deny(missing_docs)]

pub mod cli;
pub mod lsp;
pub mod ruletest;
pub mod validate;

mod buffer;
mod bundled;
mod c;
mod check;
mod diff;
mod engine;
mod file;
mod git;
mod input;
mod mail;
mod progress;
mod review;
mod smpl;

pub use check::run::{run as check, CheckError, CheckOptions, Checked};
pub use check::{Advice, Finding, PatchRef, Replacement};
pub use engine::choice::ChoiceError;
pub use engine::site::{Kind, Site, Status};
pub use engine::tree::{rewrite, Patched, TreeError, TreeOptions};
pub use engine::walk::{FileReport, WalkError, WalkOptions, Walked};
pub use engine::write::{in_place, Written};
pub use engine::{Engine, FileOutcome};
pub use file::IoError;
pub use input::hook_line;
pub use mail::write::{write_series, SeriesOptions};
pub use mail::SeriesOutError;
pub use progress::{Progress, Silent};
#[doc(hidden)]
pub use review::count_messages as read_series_for_fuzzing;
pub use review::{run as review, ReviewError, ReviewRun, Reviewed};
pub use smpl::{RuleError, RuleFile};
