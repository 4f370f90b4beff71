//! `bvmig`: rewrites every access of `struct bio_vec`'s `bv_page` field in a
//! Linux tree into helper calls (`bvec_page()`, `bvec_set_page()`), driven by
//! rules written in a subset of Coccinelle's SmPL, and reports every site it
//! leaves for a human.
//!
//! The pipeline, one module each: `source` (bytes, positions, `#define`
//! extents) → `syntax` (tree-sitter C, precedence, lvalue and value-use
//! facts) → `rule` (SmPL) → `matcher` (matches to checked edits) → `site`
//! (every occurrence classified) → `rewrite` (one file, verified) → `walk`
//! (a tree, in parallel) → `diff` → `cli`. `types` gives expressions their
//! types for typed metavariables; `definition` and `helper` find the helpers
//! a rule emits in the tree and choose the rule that fits it.
//!
//! Checks build on it: `check` (findings: sites with what to use instead),
//! `baseline` (accepted findings), `git` (added lines, blame, apply),
//! `report` and `sarif` (output formats); `series` (patches and mboxes) and
//! `review` (sites on the lines a series adds). `validate` runs the rewrite
//! on executable fixtures against the reference runtime (`bvmig-runtime`)
//! and compares what the code does before and after. Series for the
//! mailing lists: `maintainers` (who owns a path), `series_out` (patches per
//! subsystem, messages, cover letter) and `mailout` (`git format-patch`
//! mails). `ruletest` runs each rule file's own cases (`bvmig test`).
#![deny(missing_docs)]

pub mod c;
pub mod check;
pub mod cli;
pub mod diff;
pub mod engine;
pub mod file;
pub mod git;
pub mod mail;
pub mod progress;
pub mod review;
pub mod ruletest;
pub mod smpl;
pub mod validate;
