//! Parsing C with tree-sitter, and the facts about C syntax that the matcher
//! and the editor share: operator precedence, which positions need an lvalue,
//! where a value is discarded, and how parse errors are counted.
//!
//! **Invariant:** nothing here knows about rules or `bv_page`; this module is
//! the C layer only.

use std::cell::RefCell;
use std::ops::Range;

use tree_sitter::{Node, Parser, Tree};

use crate::c::source::LineIndex;

/// Parses `text` as C. Tree-sitter only fails without a language or when
/// cancelled, neither of which can happen here.
pub fn parse(text: &[u8]) -> Tree {
    parse_with(text, None)
}

/// Parses `text` reusing `old`, a tree of an earlier version already told of
/// the edits (`Tree::edit`): tree-sitter reparses only what changed.
pub fn parse_with(text: &[u8], old: Option<&Tree>) -> Tree {
    with_parser(|p| p.parse(text, old).expect("parser has a language"))
}

/// Parses only the byte `ranges` of `text` (sorted, disjoint), as if they
/// were one text; nodes keep their offsets in `text`. `lines` indexes
/// `text`. The engine uses it for the top-level items that hold a site:
/// parsing them costs a fraction of parsing the file.
pub fn parse_ranges(text: &[u8], lines: &LineIndex, ranges: &[Range<usize>]) -> Tree {
    let point = |off: usize| {
        let (line, col) = lines.line_col(off);
        tree_sitter::Point {
            row: line - 1,
            column: col - 1,
        }
    };
    let ranges: Vec<tree_sitter::Range> = ranges
        .iter()
        .map(|r| tree_sitter::Range {
            start_byte: r.start,
            end_byte: r.end,
            start_point: point(r.start),
            end_point: point(r.end),
        })
        .collect();
    with_parser(|p| {
        p.set_included_ranges(&ranges)
            .expect("ranges are sorted and disjoint");
        let tree = p.parse(text, None);
        // The parser is shared by the thread: back to the whole text.
        p.set_included_ranges(&[]).expect("empty ranges are valid");
        tree.expect("parser has a language")
    })
}

fn with_parser<R>(f: impl FnOnce(&mut Parser) -> R) -> R {
    thread_local! {
        static PARSER: RefCell<Parser> = RefCell::new({
            let mut p = Parser::new();
            p.set_language(&tree_sitter_c::LANGUAGE.into())
                .expect("tree-sitter-c matches the tree-sitter ABI");
            p
        });
    }
    PARSER.with(|p| f(&mut p.borrow_mut()))
}

/// Number of ERROR and MISSING nodes in the tree below `node`.
pub fn error_count(node: Node) -> usize {
    if !node.has_error() {
        return 0;
    }
    let mut n = usize::from(node.is_error() || node.is_missing());
    let mut cursor = node.walk();
    for child in node.children(&mut cursor) {
        n += error_count(child);
    }
    n
}

/// The nodes of one tree that lie in code that does not parse: inside an
/// ERROR node, or in a statement or declaration that holds an ERROR or
/// MISSING node outside its nested blocks. Tree-sitter often wraps only a
/// stray token in ERROR (`int x = ) bv->bv_page;`), so the statement is the
/// unit that is trusted or not; a broken statement does not taint the
/// blocks it contains or the other statements of its block.
///
/// Whether a node is in one depends only on the node and on its parent's
/// answer, so one pass over the tree answers for every node, and a query
/// costs a binary search: walking up from each node asked about
/// (`Node::parent` walks down from the root) was cubic in the nesting
/// depth over a file's sites. A tree without errors costs nothing.
#[derive(Debug, Default)]
pub struct ErrorRegions {
    /// Sorted ids (`Node::id`) of the nodes in an error region.
    ids: Vec<usize>,
}

impl ErrorRegions {
    /// The error regions of the tree whose root is `root`.
    pub fn new(root: Node) -> ErrorRegions {
        let mut ids = Vec::new();
        if !root.has_error() {
            return ErrorRegions { ids };
        }
        let mut cursor = root.walk();
        // The answers of the nodes above the cursor's.
        let mut above: Vec<bool> = Vec::new();
        loop {
            let n = cursor.node();
            let here = in_error_region_given(n, above.last().copied().unwrap_or(false));
            if here {
                ids.push(n.id());
            }
            // Below a node that is not in a region and holds no error,
            // nothing is.
            if (here || n.has_error()) && cursor.goto_first_child() {
                above.push(here);
                continue;
            }
            while !cursor.goto_next_sibling() {
                if !cursor.goto_parent() {
                    ids.sort_unstable();
                    return ErrorRegions { ids };
                }
                above.pop();
            }
        }
    }

    /// True when `node`, a node of this tree, lies in an error region.
    pub fn contains(&self, node: Node) -> bool {
        !self.ids.is_empty() && self.ids.binary_search(&node.id()).is_ok()
    }
}

/// Whether `n` is in an error region, given whether its parent is (`false`
/// for the root).
fn in_error_region_given(n: Node, parent: bool) -> bool {
    if n.is_error() || n.is_missing() {
        return true;
    }
    match n.kind() {
        "compound_statement" | "translation_unit" => false,
        k if k.ends_with("_statement") || k.ends_with("declaration") || k == "preproc_def" => {
            n.has_error() && error_outside_blocks(n)
        }
        _ => parent,
    }
}

/// The nodes from `root` down to `node` (both included), as
/// `Node::parent` would find them, in one descent: a loop of `parent()`
/// calls costs the depth squared, since each walks down from the root.
/// When `root` is not above `node`, the path starts at the tree's root.
pub fn path_from<'t>(root: Node<'t>, node: Node<'t>) -> Vec<Node<'t>> {
    let mut path = vec![root];
    let mut n = root;
    while n.id() != node.id() {
        match n.child_with_descendant(node) {
            Some(c) => {
                path.push(c);
                n = c;
            }
            None => {
                let mut up = vec![node];
                while let Some(p) = up[up.len() - 1].parent() {
                    up.push(p);
                }
                up.reverse();
                return up;
            }
        }
    }
    path
}

/// True when every ERROR and MISSING node below `root` is inside the body
/// of a function definition at the top level: the top-level structure
/// parsed, and what did not parse is confined to statements, which
/// [`ErrorRegions`] then distrusts one by one.
pub fn errors_only_in_function_bodies(root: Node) -> bool {
    let mut cursor = root.walk();
    let ok = root.children(&mut cursor).all(|item| {
        !item.has_error() || (item.kind() == "function_definition" && !error_outside_blocks(item))
    });
    ok && !root.is_error() && !root.is_missing()
}

fn error_outside_blocks(n: Node) -> bool {
    if n.is_error() || n.is_missing() {
        return true;
    }
    let mut cursor = n.walk();
    let found = n.children(&mut cursor).any(|c| {
        c.kind() != "compound_statement"
            && (c.has_error() || c.is_missing())
            && error_outside_blocks(c)
    });
    found
}

/// How a macro body was wrapped to parse as C.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyShape {
    /// Statements or an expression, inside a function.
    Statement,
    /// Declarations at file scope.
    Declaration,
    /// Members of a brace initializer.
    Initializer,
    /// Arguments of a call.
    Arguments,
}

const WRAPPERS: [(BodyShape, &str, &str); 4] = [
    (
        BodyShape::Statement,
        "void __bvmig_macro(void) {\n",
        "\n;}\n",
    ),
    (BodyShape::Declaration, "", "\n"),
    (
        BodyShape::Initializer,
        "static struct __bvmig_s __bvmig_v = {\n",
        "\n};\n",
    ),
    (
        BodyShape::Arguments,
        "void __bvmig_macro(void) { __bvmig_call(\n",
        "\n); }\n",
    ),
];

/// A `#define` body parsed on its own, inside the wrapper that made it parse.
pub struct MacroTree {
    /// The wrapper's text, the body, and the wrapper's tail.
    pub text: Vec<u8>,
    /// Offset of the body's first byte in `text`.
    pub prefix_len: usize,
    /// The tree of `text`.
    pub tree: Tree,
    /// The wrapper that worked.
    #[cfg_attr(
        not(test),
        allow(dead_code, reason = "the tests check which wrapper parsed a body")
    )]
    pub shape: BodyShape,
}

/// Parses a macro body in each wrapper in turn and returns the first tree
/// without errors, or `None` when the body is not C on its own (token
/// pasting, unbalanced braces, a fragment of a declaration).
pub fn parse_macro_body(body: &[u8]) -> Option<MacroTree> {
    WRAPPERS.iter().find_map(|&(shape, head, tail)| {
        let mut text = Vec::with_capacity(head.len() + body.len() + tail.len());
        text.extend_from_slice(head.as_bytes());
        text.extend_from_slice(body);
        text.extend_from_slice(tail.as_bytes());
        crate::c::source::join_split_comment_ends(&mut text[head.len()..head.len() + body.len()]);
        let tree = parse(&text);
        (!tree.root_node().has_error()).then_some(MacroTree {
            text,
            prefix_len: head.len(),
            tree,
            shape,
        })
    })
}

/// Precedence levels of C expressions; a higher level binds tighter.
pub mod prec {
    /// `a, b`
    pub const COMMA: u8 = 1;
    /// `a = b`
    pub const ASSIGN: u8 = 2;
    /// `a ? b : c`
    pub const COND: u8 = 3;
    /// `a || b`
    pub const LOR: u8 = 4;
    /// Unary operators and casts.
    pub const UNARY: u8 = 14;
    /// Calls, subscripts, member access, postfix `++`.
    pub const POSTFIX: u8 = 15;
    /// Identifiers, literals, parenthesized expressions.
    pub const PRIMARY: u8 = 16;
}

fn binary_prec(op: &str) -> u8 {
    match op {
        "||" => 4,
        "&&" => 5,
        "|" => 6,
        "^" => 7,
        "&" => 8,
        "==" | "!=" => 9,
        "<" | ">" | "<=" | ">=" => 10,
        "<<" | ">>" => 11,
        "+" | "-" => 12,
        _ => 13,
    }
}

fn operator_text<'a>(node: Node, src: &'a [u8]) -> &'a str {
    node.child_by_field_name("operator")
        .and_then(|op| std::str::from_utf8(&src[op.byte_range()]).ok())
        .unwrap_or("")
}

/// True when an `update_expression` is written prefix (`++x`).
fn is_prefix_update(node: Node) -> bool {
    node.child(0).is_some_and(|c| !c.is_named())
}

/// Precedence of the expression `node` (of `src`).
pub fn expr_prec(node: Node, src: &[u8]) -> u8 {
    match node.kind() {
        "comma_expression" => prec::COMMA,
        "assignment_expression" => prec::ASSIGN,
        "conditional_expression" => prec::COND,
        "binary_expression" => binary_prec(operator_text(node, src)),
        "cast_expression" | "pointer_expression" | "unary_expression" | "sizeof_expression"
        | "alignof_expression" => prec::UNARY,
        "update_expression" if is_prefix_update(node) => prec::UNARY,
        "update_expression"
        | "call_expression"
        | "subscript_expression"
        | "field_expression"
        | "compound_literal_expression" => prec::POSTFIX,
        _ => prec::PRIMARY,
    }
}

/// Lowest precedence an expression may have to stand as `child` of `parent`
/// without parentheses.
pub fn required_prec(parent: Node, child: Node, src: &[u8]) -> u8 {
    let is = |field: &str| {
        parent
            .child_by_field_name(field)
            .is_some_and(|c| c.id() == child.id())
    };
    match parent.kind() {
        "binary_expression" => {
            let p = binary_prec(operator_text(parent, src));
            if is("left") {
                p
            } else {
                p + 1
            }
        }
        "assignment_expression" if is("left") => prec::UNARY,
        "assignment_expression" => prec::ASSIGN,
        "conditional_expression" if is("condition") => prec::LOR,
        "conditional_expression" if is("consequence") => prec::COMMA,
        "conditional_expression" => prec::COND,
        "comma_expression" if is("left") => prec::COMMA,
        "cast_expression" | "pointer_expression" | "unary_expression" | "sizeof_expression"
        | "alignof_expression" => prec::UNARY,
        "update_expression" if is_prefix_update(parent) => prec::UNARY,
        "update_expression" => prec::POSTFIX,
        "field_expression" | "call_expression" if is("argument") || is("function") => prec::POSTFIX,
        "subscript_expression" if is("argument") => prec::POSTFIX,
        "subscript_expression"
        | "parenthesized_expression"
        | "expression_statement"
        | "return_statement" => prec::COMMA,
        _ => prec::ASSIGN,
    }
}

/// Kinds of tree-sitter-c nodes that are expressions.
pub fn is_expression(kind: &str) -> bool {
    matches!(
        kind,
        "identifier"
            | "number_literal"
            | "string_literal"
            | "concatenated_string"
            | "char_literal"
            | "true"
            | "false"
            | "null"
            | "field_expression"
            | "subscript_expression"
            | "call_expression"
            | "pointer_expression"
            | "unary_expression"
            | "binary_expression"
            | "update_expression"
            | "cast_expression"
            | "sizeof_expression"
            | "alignof_expression"
            | "offsetof_expression"
            | "generic_expression"
            | "assignment_expression"
            | "conditional_expression"
            | "comma_expression"
            | "parenthesized_expression"
            | "compound_literal_expression"
            | "gnu_asm_expression"
            | "extension_expression"
    )
}

/// Strips parentheses: `((x))` gives `x`.
pub fn strip_parens(mut node: Node) -> Node {
    while node.kind() == "parenthesized_expression" {
        match node.named_child(0) {
            Some(inner) if node.named_child_count() == 1 && is_expression(inner.kind()) => {
                node = inner
            }
            _ => break,
        }
    }
    node
}

/// True when `node` designates an object (C's lvalue), judged by its form.
pub fn is_lvalue_form(node: Node, src: &[u8]) -> bool {
    let node = strip_parens(node);
    match node.kind() {
        "identifier"
        | "field_expression"
        | "subscript_expression"
        | "compound_literal_expression" => true,
        "pointer_expression" => operator_text(node, src) == "*",
        _ => false,
    }
}

/// The parent of `node`, skipping parentheses around it, and the node that
/// is the parent's child (`node` or the outermost parentheses).
pub fn parent_through_parens(node: Node) -> Option<(Node, Node)> {
    let mut child = node;
    let mut parent = node.parent()?;
    while parent.kind() == "parenthesized_expression" {
        child = parent;
        parent = parent.parent()?;
    }
    Some((parent, child))
}

/// Name of the function called by the call whose `argument_list` is `args`.
pub fn callee_of_args<'a>(args: Node, src: &'a [u8]) -> Option<&'a str> {
    if args.kind() != "argument_list" {
        return None;
    }
    let call = args.parent()?;
    let func = call.child_by_field_name("function")?;
    (func.kind() == "identifier")
        .then(|| std::str::from_utf8(&src[func.byte_range()]).ok())
        .flatten()
}

/// A macro whose arguments at some positions must be lvalues.
pub type LvalueMacro = (&'static str, &'static [usize]);

/// The position of `child` among the arguments of the call whose argument
/// list is `args`, when that call is to one of `macros` and needs an lvalue
/// there; gives the macro's name.
pub fn lvalue_macro_arg<'m>(
    args: Node,
    child: Node,
    src: &[u8],
    macros: &'m [LvalueMacro],
) -> Option<&'m str> {
    let name = callee_of_args(args, src)?;
    let (name, positions) = macros.iter().find(|(m, _)| *m == name)?;
    let mut cursor = args.walk();
    let idx = args
        .named_children(&mut cursor)
        .filter(|c| !c.is_extra())
        .position(|c| c.id() == child.id())?;
    positions.contains(&idx).then_some(*name)
}

/// Why the context of expression `node` needs an lvalue there, if it does.
/// `lvalue_macros` are macros whose arguments must be lvalues.
pub fn lvalue_context(node: Node, src: &[u8], lvalue_macros: &[LvalueMacro]) -> Option<String> {
    let (parent, child) = parent_through_parens(node)?;
    match parent.kind() {
        "assignment_expression"
            if parent
                .child_by_field_name("left")
                .is_some_and(|l| l.id() == child.id()) =>
        {
            Some("the left side of an assignment must be an lvalue".into())
        }
        "update_expression" => Some("an increment or decrement needs an lvalue".into()),
        "pointer_expression" if operator_text(parent, src) == "&" => {
            Some("its address is taken; a helper call has no address".into())
        }
        "argument_list" => lvalue_macro_arg(parent, child, src, lvalue_macros)
            .map(|name| format!("{name}() needs an lvalue argument here")),
        "gnu_asm_output_operand" | "gnu_asm_input_operand" if asm_needs_lvalue(parent, src) => {
            Some("an operand of inline assembly that needs an lvalue (an output or a memory operand); a helper call is not one".into())
        }
        _ => None,
    }
}

/// True when the inline assembly operand `op` (a `gnu_asm_output_operand`
/// or `gnu_asm_input_operand`) needs an lvalue: every output does, and an
/// input whose constraint allows memory (`"m"`, `"o"`, `"V"`, `"Q"`, ...;
/// `"g"` and `"X"` allow it too) does, since GCC takes its address.
pub fn asm_needs_lvalue(op: Node, src: &[u8]) -> bool {
    if op.kind() == "gnu_asm_output_operand" {
        return true;
    }
    op.kind() == "gnu_asm_input_operand"
        && op.child_by_field_name("constraint").is_some_and(|c| {
            src[c.byte_range()]
                .iter()
                .any(|b| matches!(b, b'm' | b'o' | b'V' | b'Q' | b'g' | b'X' | b'<' | b'>'))
        })
}

/// True when the value of expression `node` is discarded by its context
/// (an expression statement, the left of a comma, a `for` update, `(void)`).
pub fn value_discarded(node: Node, src: &[u8]) -> bool {
    let Some((parent, child)) = parent_through_parens(node) else {
        return false;
    };
    match parent.kind() {
        // The last statement of a GNU statement expression gives the value
        // of the whole expression: discarded only when that value is.
        "expression_statement" => match statement_expression_of_last(parent) {
            Some(outer) => value_discarded(outer, src),
            None => true,
        },
        "comma_expression" => {
            let is_left = parent
                .child_by_field_name("left")
                .is_some_and(|l| l.id() == child.id());
            is_left || value_discarded(parent, src)
        }
        "for_statement" => ["initializer", "update"].iter().any(|f| {
            parent
                .child_by_field_name(f)
                .is_some_and(|u| u.id() == child.id())
        }),
        "cast_expression" => parent
            .child_by_field_name("type")
            .is_some_and(|t| &src[t.byte_range()] == b"void"),
        _ => false,
    }
}

/// The GNU statement expression `({ ...; stmt; })` whose value statement
/// `stmt` gives, when it is the last statement of one.
pub fn statement_expression_of_last(stmt: Node) -> Option<Node> {
    let block = stmt.parent()?;
    let outer = block.parent()?;
    if block.kind() != "compound_statement" || outer.kind() != "parenthesized_expression" {
        return None;
    }
    let mut cursor = block.walk();
    let last = block
        .named_children(&mut cursor)
        .filter(|c| !c.is_extra())
        .last()?;
    (last.id() == stmt.id()).then_some(outer)
}

/// The function declarator inside declarator `d` (through `*f(...)`,
/// `(f)(...)` and attributes), the identifier it declares, and how many `*`
/// stand before it (what it adds to the return type). `None` when `d`
/// declares no function by name (a function pointer, or a function that
/// returns one).
pub fn function_declarator(mut d: Node) -> Option<(Node, Node, u8)> {
    let mut ptr = 0u8;
    while d.kind() != "function_declarator" {
        if d.kind() == "pointer_declarator" {
            ptr += 1;
        } else if !matches!(
            d.kind(),
            "parenthesized_declarator" | "attributed_declarator"
        ) {
            return None;
        }
        d = d
            .child_by_field_name("declarator")
            .or_else(|| d.named_child(0))?;
    }
    let mut name = d.child_by_field_name("declarator")?;
    while name.kind() == "parenthesized_declarator" {
        name = name.named_child(0)?;
    }
    (name.kind() == "identifier").then_some((d, name, ptr))
}

/// Kernel functions and macros without side effects that compute their
/// value from their arguments, or read it from what they point to: address
/// arithmetic, `min()`/`max()`, sizes. A call of one with pure arguments is
/// pure. (`page_address()` is not: for a highmem page it takes a lock.)
pub const PURE_CALLS: &[&str] = &[
    "virt_to_page",
    "offset_in_page",
    "offset_in_folio",
    "nth_page",
    "folio_page",
    "pfn_to_page",
    "page_to_pfn",
    "ZERO_PAGE",
    "min",
    "max",
    "min_t",
    "max_t",
    "round_up",
    "round_down",
    "ALIGN",
    "PAGE_ALIGN",
    "DIV_ROUND_UP",
    "sg_page",
    "folio_size",
    "thp_size",
    "page_size",
    "iov_iter_count",
];

/// True when evaluating `node` twice, or at another time among stores to
/// other objects, is the same as once: no assignments, increments, or calls
/// (a macro such as `READ_ONCE` may hide an access) other than of
/// [`PURE_CALLS`].
pub fn is_pure(node: Node, src: &[u8]) -> bool {
    match node.kind() {
        "assignment_expression" | "update_expression" | "gnu_asm_expression" => return false,
        "call_expression" => {
            let known = node
                .child_by_field_name("function")
                .filter(|f| f.kind() == "identifier")
                .is_some_and(|f| {
                    PURE_CALLS
                        .iter()
                        .any(|p| p.as_bytes() == &src[f.byte_range()])
                });
            if !known {
                return false;
            }
        }
        _ => {}
    }
    let mut cursor = node.walk();
    let pure = node.children(&mut cursor).all(|c| is_pure(c, src));
    pure
}

#[cfg(test)]
mod tests {
    use super::*;

    fn first_expr(tree: &Tree) -> Node<'_> {
        // translation_unit > function_definition > compound_statement > expression_statement > expr
        let f = tree.root_node().named_child(0).unwrap();
        let body = f.child_by_field_name("body").unwrap();
        body.named_child(0).unwrap().named_child(0).unwrap()
    }

    #[test]
    fn known_address_arithmetic_is_pure_other_calls_are_not() {
        let pure = |e: &str| {
            let src = format!("void f(void) {{ {e}; }}");
            let tree = parse(src.as_bytes());
            is_pure(first_expr(&tree), src.as_bytes())
        };
        assert!(pure("bv->bv_len - 512"));
        assert!(pure("virt_to_page(p + off)"));
        assert!(pure("min(len, PAGE_SIZE - offset_in_page(p))"));
        assert!(!pure("virt_to_page(next(p))"));
        assert!(!pure("page_address(page)"));
        assert!(!pure("alloc_page(GFP_NOIO)"));
        assert!(!pure("virt_to_page(p++)"));
        assert!(!pure("(*fp)(p)"));
    }

    #[test]
    fn precedence_of_binary_operators() {
        let src = b"void f(void) { a + b * c; }";
        let tree = parse(src);
        let e = first_expr(&tree);
        assert_eq!(expr_prec(e, src), 12);
        let right = e.child_by_field_name("right").unwrap();
        assert_eq!(expr_prec(right, src), 13);
        assert_eq!(required_prec(e, right, src), 13);
    }

    #[test]
    fn lvalue_contexts() {
        let src = b"void f(void) { (x) = 1; }";
        let tree = parse(src);
        let assign = first_expr(&tree);
        let left = strip_parens(assign.child_by_field_name("left").unwrap());
        assert!(lvalue_context(left, src, &[]).is_some());
        let src = b"void f(void) { READ_ONCE(x); }";
        let tree = parse(src);
        let x = first_expr(&tree)
            .child_by_field_name("arguments")
            .unwrap()
            .named_child(0)
            .unwrap();
        assert!(lvalue_context(x, src, &[("READ_ONCE", &[0])]).is_some());
        assert!(lvalue_context(x, src, &[]).is_none());
    }

    #[test]
    fn error_regions_are_statements() {
        let src = b"void f(void) { int x = ) a->b; y = a->b; if (z) { w = a->b; } }";
        let tree = parse(src);
        let at = |needle: &str, nth: usize| {
            let off = src
                .windows(needle.len())
                .enumerate()
                .filter(|(_, w)| *w == needle.as_bytes())
                .nth(nth)
                .unwrap()
                .0;
            tree.root_node()
                .descendant_for_byte_range(off, off + needle.len())
                .unwrap()
        };
        let regions = ErrorRegions::new(tree.root_node());
        assert!(regions.contains(at("a->b", 0)));
        assert!(!regions.contains(at("a->b", 1)));
        assert!(!regions.contains(at("a->b", 2)));
    }

    /// The definition [`ErrorRegions`] answers, by walking up from the
    /// node: the oracle it is tested against.
    fn in_error_region(node: Node) -> bool {
        let mut n = node;
        loop {
            if n.is_error() || n.is_missing() {
                return true;
            }
            match n.kind() {
                "compound_statement" | "translation_unit" => return false,
                k if k.ends_with("_statement")
                    || k.ends_with("declaration")
                    || k == "preproc_def" =>
                {
                    return n.has_error() && error_outside_blocks(n);
                }
                _ => {}
            }
            match n.parent() {
                Some(p) => n = p,
                None => return false,
            }
        }
    }

    fn every_node(root: Node<'_>) -> Vec<Node<'_>> {
        let mut out = Vec::new();
        let mut stack = vec![root];
        while let Some(n) = stack.pop() {
            out.push(n);
            let mut c = n.walk();
            stack.extend(n.children(&mut c));
        }
        out
    }

    /// Texts with parse errors of many shapes, and every C file of the
    /// fixtures and rule tests, each also cut short (a cut leaves MISSING
    /// nodes and open blocks).
    fn texts_to_check() -> Vec<Vec<u8>> {
        let mut texts: Vec<Vec<u8>> = [
            "void f(void) { int x = ) a->b; y = a->b; if (z) { w = a->b; } }",
            "int x = ) ; void g(void) { if (a) if (b) c = ; else { d->e = 1; } }",
            "#define M(x) ((x)->bv_page\nvoid f(void) { for (;;) { a = b ? : ; } }",
            "struct s { int a b; }; void h(void) { switch (x) { case : y; } }",
            "void k(void) { ({ int q = ; q; }); do { x } while (0) }",
            "} } void m(void) { return a ? b : ; }",
        ]
        .iter()
        .map(|t| t.as_bytes().to_vec())
        .collect();
        let root = env!("CARGO_MANIFEST_DIR");
        let mut dirs = vec![
            std::path::PathBuf::from(format!("{root}/fixtures")),
            std::path::PathBuf::from(format!("{root}/rules/tests")),
        ];
        while let Some(d) = dirs.pop() {
            for e in std::fs::read_dir(&d).unwrap() {
                let p = e.unwrap().path();
                if p.is_dir() {
                    dirs.push(p);
                } else if p.extension().is_some_and(|x| x == "c" || x == "h") {
                    let t = std::fs::read(&p).unwrap();
                    texts.push(t[..t.len() * 2 / 3].to_vec());
                    texts.push(t);
                }
            }
        }
        texts
    }

    #[test]
    fn error_regions_answer_as_the_walk_up_from_each_node() {
        let (mut nodes, mut tainted) = (0, 0);
        for text in texts_to_check() {
            let tree = parse(&text);
            let regions = ErrorRegions::new(tree.root_node());
            for n in every_node(tree.root_node()) {
                let want = in_error_region(n);
                assert_eq!(
                    regions.contains(n),
                    want,
                    "{} at {:?} of:\n{}",
                    n.kind(),
                    n.byte_range(),
                    String::from_utf8_lossy(&text)
                );
                nodes += 1;
                tainted += usize::from(want);
            }
        }
        // The property was checked on broken code, not only on clean code.
        assert!(
            tainted > 100 && nodes > 10 * tainted,
            "{tainted} of {nodes}"
        );
    }

    #[test]
    fn the_path_from_the_root_is_the_chain_of_parents() {
        for text in texts_to_check().iter().take(40) {
            let tree = parse(text);
            for n in every_node(tree.root_node()) {
                let mut up = vec![n];
                while let Some(p) = up[up.len() - 1].parent() {
                    up.push(p);
                }
                up.reverse();
                let ids = |v: &[Node]| v.iter().map(|n| n.id()).collect::<Vec<_>>();
                assert_eq!(ids(&path_from(tree.root_node(), n)), ids(&up));
            }
        }
    }

    #[test]
    fn discarded_values() {
        let src = b"void f(void) { a = b, c; }";
        let tree = parse(src);
        let comma = first_expr(&tree);
        let a = comma.child_by_field_name("left").unwrap();
        assert!(value_discarded(a, src));
        let src = b"void f(void) { x = (a = b); }";
        let tree = parse(src);
        let inner = strip_parens(first_expr(&tree).child_by_field_name("right").unwrap());
        assert!(!value_discarded(inner, src));
    }

    #[test]
    fn macro_bodies_parse_in_the_wrapper_that_fits() {
        let shape = |b: &str| parse_macro_body(b.as_bytes()).map(|m| m.shape);
        assert_eq!(shape("((bv)->bv_page)"), Some(BodyShape::Statement));
        assert_eq!(
            shape("do { \\\n x = 1; \\\n} while (0)"),
            Some(BodyShape::Statement)
        );
        assert_eq!(shape("struct foo { int a; };"), Some(BodyShape::Statement));
        assert_eq!(
            shape(".bv_page = p, .bv_len = 0"),
            Some(BodyShape::Initializer)
        );
        assert_eq!(shape("a ## b->bv_page"), None);
    }

    #[test]
    fn error_nodes_are_counted() {
        let tree = parse(b"void f(void) { x = ; }");
        assert!(error_count(tree.root_node()) >= 1);
        let tree = parse(b"void f(void) { x = 1; }");
        assert_eq!(error_count(tree.root_node()), 0);
    }
}
