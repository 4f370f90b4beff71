//! Declarations in scope at a node of a function: the locals of the blocks
//! around it (before it) and the function's parameters.

use tree_sitter::Node;

use super::decl::{base_text, declarator_name};
use super::CType;

/// The declared type of identifier `n`: a local declared before it in an
/// enclosing block or `for`, or a parameter of the enclosing function.
/// `above` holds the nodes above `n`, the root first ([`above`]).
pub(super) fn declared_type(n: Node, above: &[Node], src: &[u8]) -> Option<CType> {
    let name = &src[n.byte_range()];
    for decl in declarations_in(above.iter().rev().copied(), n) {
        let Some(base) = decl.child_by_field_name("type").map(|t| base_text(t, src)) else {
            continue;
        };
        let mut dc = decl.walk();
        for d in decl.children_by_field_name("declarator", &mut dc) {
            if let Some((dn, ptr)) = declarator_name(d, src) {
                if dn.as_bytes() == name {
                    return Some(CType::new(&base, ptr));
                }
            }
        }
    }
    None
}

/// True when a local or a parameter declares identifier `n`'s name, as
/// anything (a function pointer too). `above` as for [`declared_type`].
pub(super) fn declares_locally(n: Node, above: &[Node], src: &[u8]) -> bool {
    let name = &src[n.byte_range()];
    declarations_in(above.iter().rev().copied(), n)
        .into_iter()
        .any(|decl| {
            let mut dc = decl.walk();
            let found = decl
                .children_by_field_name("declarator", &mut dc)
                .any(|d| declared_identifier(d).is_some_and(|i| &src[i.byte_range()] == name));
            found
        })
}

/// The nodes above `n` in the tree whose root is `root`, the root first:
/// found in one descent, since a loop of `Node::parent` calls (each a
/// descent from the root) costs the depth squared.
pub(super) fn above<'t>(root: Node<'t>, n: Node<'t>) -> Vec<Node<'t>> {
    let mut path = crate::c::syntax::path_from(root, n);
    path.pop();
    path
}

/// The identifier a declarator declares, whatever it declares it as.
pub(super) fn declared_identifier(mut d: Node) -> Option<Node> {
    while d.kind() != "identifier" {
        d = d
            .child_by_field_name("declarator")
            .or_else(|| (d.kind() == "parenthesized_declarator").then(|| d.named_child(0))?)?;
    }
    Some(d)
}

/// The declarations visible at `n` (a node of the tree whose root is
/// `root`) from its function: those of the enclosing blocks before it and
/// of enclosing `for` headers, then the parameters; innermost first, and
/// the latest first in a block (shadowing).
pub(super) fn visible_declarations_from<'t>(root: Node<'t>, n: Node<'t>) -> Vec<Node<'t>> {
    declarations_in(above(root, n).into_iter().rev(), n)
}

/// The declarations visible at `n` from the nodes above it, `above`,
/// innermost first.
pub(super) fn declarations_in<'t>(
    above: impl Iterator<Item = Node<'t>>,
    n: Node<'t>,
) -> Vec<Node<'t>> {
    let mut out = Vec::new();
    for p in above {
        let decls: Vec<Node> = match p.kind() {
            "compound_statement" => {
                let mut cursor = p.walk();
                p.named_children(&mut cursor)
                    .filter(|c| c.kind() == "declaration" && c.end_byte() <= n.start_byte())
                    .collect()
            }
            "for_statement" => {
                let mut cursor = p.walk();
                p.children_by_field_name("initializer", &mut cursor)
                    .filter(|c| c.kind() == "declaration")
                    .collect()
            }
            "function_definition" => {
                let params = p
                    .child_by_field_name("declarator")
                    .and_then(function_parameters);
                params
                    .map(|l| {
                        let mut c = l.walk();
                        l.named_children(&mut c)
                            .filter(|x| x.kind() == "parameter_declaration")
                            .collect()
                    })
                    .unwrap_or_default()
            }
            // Most nodes above a name are expressions: no cursor for them.
            _ => continue,
        };
        out.extend(decls.into_iter().rev());
    }
    out
}

pub(super) fn function_parameters(mut d: Node) -> Option<Node> {
    loop {
        match d.kind() {
            "function_declarator" => return d.child_by_field_name("parameters"),
            "pointer_declarator" | "parenthesized_declarator" | "attributed_declarator" => {
                d = d.child_by_field_name("declarator")?;
            }
            _ => return None,
        }
    }
}
