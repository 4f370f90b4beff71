//! Parse-error counts of C files with tree-sitter, for the e2e check that a
//! rewrite never makes a file parse worse than it did.
//!
//! The whole text is parsed as is, macro bodies included. That is noisier
//! than bvmig's own parse (which blanks `#define` bodies first), but the
//! check compares a file before and after the rewrite the same way, so the
//! noise cancels out.

use anyhow::{anyhow, Result};
use tree_sitter::Parser;

/// Parses C and counts ERROR and MISSING nodes.
pub struct ErrorCounter {
    parser: Parser,
}

impl ErrorCounter {
    pub fn new() -> Result<Self> {
        let mut parser = Parser::new();
        parser
            .set_language(&tree_sitter_c::LANGUAGE.into())
            .map_err(|e| anyhow!("tree-sitter-c does not match the tree-sitter ABI: {e}"))?;
        Ok(ErrorCounter { parser })
    }

    /// The number of ERROR and MISSING nodes in the parse of `text`.
    pub fn count(&mut self, text: &[u8]) -> Result<usize> {
        let tree = self
            .parser
            .parse(text, None)
            .ok_or_else(|| anyhow!("tree-sitter gave no tree"))?;
        let mut cursor = tree.walk();
        let mut n = 0;
        loop {
            let node = cursor.node();
            n += usize::from(node.is_error() || node.is_missing());
            // has_error() covers the whole subtree, so error-free subtrees,
            // most of any file, are not visited at all.
            if node.has_error() && cursor.goto_first_child() {
                continue;
            }
            while !cursor.goto_next_sibling() {
                if !cursor.goto_parent() {
                    return Ok(n);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_errors() {
        let mut c = ErrorCounter::new().unwrap();
        assert_eq!(c.count(b"int f(void) { return 1; }\n").unwrap(), 0);
        assert!(c.count(b"int f(void) { return 1 }\n").unwrap() > 0);
        assert!(c.count(b"int f(void) { return ) ; }\n").unwrap() > 0);
    }
}
