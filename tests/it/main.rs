//! Integration tests: one binary, running the real `bvmig` executable in a
//! fresh temporary directory per test.

mod b4;
mod check;
mod cli;
mod dist;
mod examples;
mod golden;
mod helpers;
mod in_place;
mod installed;
mod lsp;
mod macro_uses;
mod part_of_tree;
mod review;
mod robust_engine;
mod robust_fifo;
mod robust_input;
mod robust_props;
mod ruletest;
mod series;
mod smpl_rules;
mod smpl_virtual;
mod sparse;
mod stdin;
mod tidy;
mod util;
mod validate;
