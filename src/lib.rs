//! `bvmig`: rewrites every access of `struct bio_vec`'s `bv_page` field in a
//! Linux tree into helper calls (`bvec_page()`, `bvec_set_page()`), driven by
//! rules written in a subset of Coccinelle's SmPL, and reports every site it
//! leaves for a human.
//!
//! The pipeline, one module each: `source` (bytes, positions, `#define`
//! extents) → `syntax` (tree-sitter C, precedence, lvalue and value-use
//! facts) → `rule` (SmPL) → `matcher` (matches to checked edits) → `site`
//! (every occurrence classified) → `rewrite` (one file, verified) → `walk`
//! (a tree, in parallel) → `diff` → `cli`. `validate` runs the rewrite on
//! executable fixtures against the reference runtime (`bvmig-runtime`) and
//! compares what the code does before and after.
#![deny(missing_docs)]

pub mod cli;
pub mod definition;
pub mod diff;
pub mod helper;
pub mod matcher;
pub mod rewrite;
pub mod rule;
pub mod site;
pub mod source;
pub mod syntax;
pub mod validate;
pub mod walk;
