//! Declarations in scope at a node of a function: the locals of the blocks
//! around it (before it) and the function's parameters.
//!
//! Each question scans the blocks around the node, so a function of N
//! statements asked about at N sites costs N². While a [`ScopeGuard`] is
//! held for a tree (the matcher holds one for each region it runs on), the
//! declarations of all of its blocks, `for` headers and parameter lists are
//! indexed by scope and name on first need, in one walk, and each question
//! looks up only the scopes above the node.

use std::cell::RefCell;
use std::collections::HashMap;

use tree_sitter::Node;

use super::decl::{base_text, declarator_name};
use super::CType;

/// The declared type of identifier `n`: a local declared before it in an
/// enclosing block or `for`, or a parameter of the enclosing function.
/// `above` holds the nodes above `n`, the root first ([`above`]).
pub(super) fn declared_type(n: Node, above: &[Node], src: &[u8]) -> Option<CType> {
    let name = &src[n.byte_range()];
    if let Some(found) = indexed(above, src, |idx| {
        idx.find(&idx.typed, above, name, n.start_byte())
            .map(|e| e.ty.clone())
    }) {
        return found.flatten();
    }
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
    declares(n, above, src, name)
}

/// True when a local or a parameter visible at `n` declares `name`, as
/// anything. `above` as for [`declared_type`].
pub(super) fn declares(n: Node, above: &[Node], src: &[u8], name: &[u8]) -> bool {
    if let Some(found) = indexed(above, src, |idx| {
        idx.find(&idx.any, above, name, n.start_byte()).is_some()
    }) {
        return found;
    }
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
#[cfg(test)]
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
        let Some((decls, in_block)) = scope_declarations(p) else {
            continue;
        };
        let before = |c: &Node| !in_block || c.end_byte() <= n.start_byte();
        out.extend(decls.into_iter().filter(before).rev());
    }
    out
}

/// The declarations scope `p` holds (a block's own, a `for` header's, a
/// function definition's parameters), in order, and whether they are a
/// block's (each visible only after its end); `None` when `p` is no scope
/// (most nodes above a name are expressions: no cursor is made for them).
fn scope_declarations(p: Node) -> Option<(Vec<Node>, bool)> {
    let kind = p.kind();
    if !matches!(
        kind,
        "compound_statement" | "for_statement" | "function_definition"
    ) {
        return None;
    }
    let mut cursor = p.walk();
    let found = match kind {
        "compound_statement" => (
            p.named_children(&mut cursor)
                .filter(|c| c.kind() == "declaration")
                .collect(),
            true,
        ),
        "for_statement" => (
            p.children_by_field_name("initializer", &mut cursor)
                .filter(|c| c.kind() == "declaration")
                .collect(),
            false,
        ),
        "function_definition" => (
            p.child_by_field_name("declarator")
                .and_then(function_parameters)
                .map(|l| {
                    let mut c = l.walk();
                    l.named_children(&mut c)
                        .filter(|x| x.kind() == "parameter_declaration")
                        .collect()
                })
                .unwrap_or_default(),
            false,
        ),
        _ => return None,
    };
    Some(found)
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

/// One declared name in a scope.
#[derive(Debug)]
struct Entry {
    /// Where the declaration ends: visible from there on in a block; 0 in
    /// a `for` header or a parameter list (visible throughout).
    end: usize,
    /// The declared type, for [`declared_type`].
    ty: Option<CType>,
}

/// Per scope (a node's id), per name, its declarations in file order.
type ByScope = HashMap<usize, HashMap<Vec<u8>, Vec<Entry>>>;

/// The declarations of one tree's scopes.
#[derive(Debug, Default)]
struct Index {
    /// Names as [`declared_identifier`] finds them (anything declared).
    any: ByScope,
    /// Names as `declarator_name` finds them, with their types.
    typed: ByScope,
}

impl Index {
    fn build(root: Node, src: &[u8]) -> Index {
        let mut idx = Index::default();
        let mut cursor = root.walk();
        'walk: loop {
            let p = cursor.node();
            if let Some((decls, in_block)) = scope_declarations(p) {
                for decl in decls {
                    idx.add(p.id(), decl, in_block, src);
                }
            }
            if cursor.goto_first_child() {
                continue;
            }
            while !cursor.goto_next_sibling() {
                if !cursor.goto_parent() {
                    break 'walk;
                }
            }
        }
        idx
    }

    fn add(&mut self, scope: usize, decl: Node, in_block: bool, src: &[u8]) {
        let end = if in_block { decl.end_byte() } else { 0 };
        let base = decl.child_by_field_name("type").map(|t| base_text(t, src));
        let mut dc = decl.walk();
        for d in decl.children_by_field_name("declarator", &mut dc) {
            if let Some(i) = declared_identifier(d) {
                let name = src[i.byte_range()].to_vec();
                let at = self.any.entry(scope).or_default();
                at.entry(name).or_default().push(Entry { end, ty: None });
            }
            if let (Some(base), Some((dn, ptr))) = (&base, declarator_name(d, src)) {
                let at = self.typed.entry(scope).or_default();
                at.entry(dn.into_bytes()).or_default().push(Entry {
                    end,
                    ty: Some(CType::new(base, ptr)),
                });
            }
        }
    }

    /// The declaration of `name` that [`declarations_in`] would find first
    /// at a node starting at `at` below `above`: the innermost scope's,
    /// the latest before the node in a block.
    fn find<'i>(
        &self,
        map: &'i ByScope,
        above: &[Node],
        name: &[u8],
        at: usize,
    ) -> Option<&'i Entry> {
        above.iter().rev().find_map(|p| {
            map.get(&p.id())?
                .get(name)?
                .iter()
                .rev()
                .find(|e| e.end <= at)
        })
    }
}

/// An index for the tree whose root has this id, over this text.
struct Indexed {
    root: usize,
    src: (usize, usize),
    index: Option<Index>,
}

thread_local! {
    /// The trees whose scopes may be indexed, innermost guard last.
    static SCOPES: RefCell<Vec<Indexed>> = const { RefCell::new(Vec::new()) };
}

/// While held, questions about the tree whose root is `root` (of `src`)
/// use an index of its scopes. The tree and the text must outlive it:
/// the index is keyed by the root's id and the text's address.
#[must_use]
pub struct ScopeGuard(());

impl Drop for ScopeGuard {
    fn drop(&mut self) {
        SCOPES.with(|s| s.borrow_mut().pop());
    }
}

/// See [`ScopeGuard`].
pub fn index_scopes(root: Node, src: &[u8]) -> ScopeGuard {
    SCOPES.with(|s| {
        s.borrow_mut().push(Indexed {
            root: root.id(),
            src: (src.as_ptr() as usize, src.len()),
            index: None,
        })
    });
    ScopeGuard(())
}

/// `f` of the index of the tree `above[0]` roots, when a guard holds it
/// for `src`; `None` when none does.
fn indexed<T>(above: &[Node], src: &[u8], f: impl FnOnce(&Index) -> T) -> Option<T> {
    let root = *above.first()?;
    SCOPES.with(|s| {
        let mut s = s.borrow_mut();
        let top = s.last_mut()?;
        if top.root != root.id() || top.src != (src.as_ptr() as usize, src.len()) {
            return None;
        }
        let idx = top.index.get_or_insert_with(|| Index::build(root, src));
        Some(f(idx))
    })
}
