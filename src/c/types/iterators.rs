//! The kernel's bio_vec iterator macros, whose first argument is a bio_vec
//! the macro fills in: a name no declaration covers may be one.

use tree_sitter::Node;

use super::CType;
use crate::c::source::{self};

/// The kernel's iterators whose first argument is a bio_vec the macro
/// fills in, with that argument's type.
pub(super) const ITERATORS: &[(&str, u8)] = &[
    ("bio_for_each_segment", 0),
    ("bio_for_each_bvec", 0),
    ("__bio_for_each_segment", 0),
    ("__bio_for_each_bvec", 0),
    ("for_each_bvec", 0),
    ("rq_for_each_segment", 0),
    ("rq_for_each_bvec", 0),
    ("bio_for_each_segment_all", 1),
    ("bio_for_each_folio_all", 255),
];

/// The type of `n` as the first argument of a bio_vec iterator macro used
/// in the same function: `bio_for_each_segment(bv, bio, iter)` fills in a
/// `struct bio_vec bv`. Found in the function's text, since tree-sitter
/// reads such a loop header in several ways (a call, a declaration).
/// `above` holds the nodes above `n`, the root first.
pub(super) fn iterator_type(n: Node, above: &[Node], src: &[u8]) -> Option<CType> {
    let name = &src[n.byte_range()];
    // The outermost function around `n` (a loop header with a block can
    // look like a nested function definition).
    let scope = outermost_function(above);
    let text = &src[scope?.byte_range()];
    for (mac, ptr) in ITERATORS.iter().filter(|(_, p)| *p != 255) {
        for at in memchr::memmem::find_iter(text, mac.as_bytes()) {
            if at > 0 && source::is_ident_byte(text[at - 1]) {
                continue;
            }
            let rest = &text[at + mac.len()..];
            let rest = &rest[rest.iter().take_while(|b| b.is_ascii_whitespace()).count()..];
            let Some(args) = rest.strip_prefix(b"(") else {
                continue;
            };
            let args = &args[args.iter().take_while(|b| b.is_ascii_whitespace()).count()..];
            let first = &args[..args
                .iter()
                .take_while(|b| source::is_ident_byte(**b))
                .count()];
            if first == name {
                return Some(CType::new("struct bio_vec", *ptr));
            }
        }
    }
    None
}

/// The outermost function definition among `above` (the nodes above a
/// node, the root first).
fn outermost_function<'t>(above: &[Node<'t>]) -> Option<Node<'t>> {
    above
        .iter()
        .find(|p| p.kind() == "function_definition")
        .copied()
}
