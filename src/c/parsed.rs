//! The parse recipe, written once: a C file's `#define` directives found by
//! the lexer ([`source::scan_defines`]), their bodies blanked with offsets
//! kept ([`source::blank_define_bodies`]), and the rest parsed by
//! tree-sitter. Tree-sitter-c ends a `#define` at its first comment and
//! loses the rest of a continued body, so no caller parses a file without
//! blanking its bodies first. The GNU C tree-sitter-c lacks (`typeof`,
//! `__alignof__` of an expression, variable attributes) is masked in the
//! same pass ([`gnu`]).
//!
//! [`Blanked`] stops before the parse, for callers that parse only part of
//! the text or mask more of it (the engine's loop macros, the type index's
//! attribute macros); [`ParsedFile`] goes to the end; [`LazyParsed`] goes
//! there on first need, once, for callers that share a file and may not
//! need its tree at all.

use std::cell::OnceCell;

use tree_sitter::{Node, Tree};

use crate::c::gnu;
use crate::c::source::{self, Define};
use crate::c::syntax;

/// A file's text with its `#define` bodies blanked, and the directives.
#[derive(Debug, Clone)]
pub struct Blanked {
    /// The `#define` directives, in file order.
    pub defines: Vec<Define>,
    /// The text, each `#define` body blanked (same length, same lines).
    pub text: Vec<u8>,
}

impl Blanked {
    /// Finds the `#define` directives of `text` and blanks their bodies,
    /// and masks the GNU C that tree-sitter cannot read ([`gnu::mask`]).
    pub fn new(text: &[u8]) -> Blanked {
        let defines = source::scan_defines(text);
        let mut text = source::blank_define_bodies(text, &defines);
        gnu::mask(&mut text);
        Blanked { defines, text }
    }
}

/// A whole file parsed as [`Blanked`] text.
#[derive(Debug, Clone)]
pub struct ParsedFile {
    /// The `#define` directives, in file order.
    pub defines: Vec<Define>,
    /// The text the tree was parsed from.
    pub blanked: Vec<u8>,
    /// The syntax tree of `blanked`.
    pub tree: Tree,
}

impl ParsedFile {
    /// Blanks the `#define` bodies of `text` and parses the rest.
    pub fn new(text: &[u8]) -> ParsedFile {
        let Blanked { defines, text } = Blanked::new(text);
        let tree = syntax::parse(&text);
        ParsedFile {
            defines,
            blanked: text,
            tree,
        }
    }

    /// The tree's root.
    pub fn root(&self) -> Node<'_> {
        self.tree.root_node()
    }

    /// ERROR and MISSING nodes in the tree (see [`syntax::error_count`]).
    pub fn error_count(&self) -> usize {
        syntax::error_count(self.root())
    }
}

/// A file's text, parsed as a [`ParsedFile`] the first time a caller asks
/// and never again: callers that each look at the same file share it.
#[derive(Debug)]
pub struct LazyParsed<'a> {
    text: &'a [u8],
    parsed: OnceCell<ParsedFile>,
}

impl<'a> LazyParsed<'a> {
    /// `text`, not parsed yet.
    pub fn new(text: &'a [u8]) -> LazyParsed<'a> {
        LazyParsed {
            text,
            parsed: OnceCell::new(),
        }
    }

    /// The original text.
    pub fn text(&self) -> &'a [u8] {
        self.text
    }

    /// The parse, made now if no caller asked before.
    pub fn get(&self) -> &ParsedFile {
        self.parsed.get_or_init(|| ParsedFile::new(self.text))
    }

    /// Whether a caller asked for the parse.
    #[cfg(test)]
    pub fn is_parsed(&self) -> bool {
        self.parsed.get().is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_define_body_with_a_comment_does_not_swallow_the_next_line() {
        let text = b"#define M(x) /* c */ \\\n\t((x) + 1)\nint f(void) { return 0; }\n";
        let p = ParsedFile::new(text);
        assert_eq!(p.blanked.len(), text.len());
        assert_eq!(p.defines.len(), 1);
        assert_eq!(p.defines[0].name, "M");
        assert_eq!(p.error_count(), 0);
        let mut cursor = p.root().walk();
        let kinds: Vec<&str> = p.root().children(&mut cursor).map(|n| n.kind()).collect();
        assert!(kinds.contains(&"function_definition"), "{kinds:?}");
    }

    #[test]
    fn a_lazy_parse_is_made_once_and_only_when_asked() {
        let text = b"int f(void) { return 0; }\n";
        let lazy = LazyParsed::new(text);
        assert!(!lazy.is_parsed());
        let first: *const ParsedFile = lazy.get();
        assert!(lazy.is_parsed());
        assert!(std::ptr::eq(first, lazy.get()));
        assert_eq!(lazy.get().error_count(), 0);
    }
}
