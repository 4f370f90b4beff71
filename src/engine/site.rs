//! Sites: the occurrences of a tracked field name in code, what kind of use
//! each is, and whether it was rewritten or why not.
//!
//! Occurrences are found by a byte search, not by the matcher, so that the
//! count of sites does not depend on what the rules match: every occurrence
//! in code is a site, and every site ends rewritten or reported.

use std::fmt;

use tree_sitter::Node;

use crate::c::syntax::{self, ErrorRegions, LvalueMacro};
pub use crate::c::types::Evidence;

/// The struct whose members bvmig's rules convert. Where another struct
/// declares a tracked field too, only accesses that types show to be this
/// struct's are rewritten.
pub const FIELD_STRUCT: &str = "struct bio_vec";

/// The structs and unions that the occurrences `occ` (byte ranges in
/// `src`, the text of the tree whose root is `root`) declare as members:
/// `struct <anonymous>` for a type without a tag, and `unknown` where the
/// declaration's struct is not in the tree (a `#define` body that holds
/// only members).
pub fn declared_owners(root: Node, src: &[u8], occ: &[(usize, usize)]) -> Vec<String> {
    let mut owners = Vec::new();
    let regions = ErrorRegions::new(root);
    for &(s, e) in occ {
        let Some(leaf) = root.descendant_for_byte_range(s, e) else {
            continue;
        };
        if leaf.kind() != "field_identifier" || leaf.byte_range() != (s..e) {
            continue;
        }
        if let Occurrence::Code(Kind::Declaration) = classify(root, &regions, src, s, e) {
            owners.push(
                crate::c::types::member_owner(leaf, src)
                    .unwrap_or_else(|| "a struct not in view".to_string()),
            );
        }
    }
    owners
}

/// Kernel macros and the argument positions that must be lvalues: a helper
/// call there does not compile (`READ_ONCE(bvec_page(bv))`).
pub const LVALUE_MACROS: &[LvalueMacro] = &[
    ("READ_ONCE", &[0]),
    ("WRITE_ONCE", &[0]),
    ("__READ_ONCE", &[0]),
    ("__WRITE_ONCE", &[0]),
    ("swap", &[0, 1]),
    ("xchg", &[0]),
    ("xchg_relaxed", &[0]),
    ("cmpxchg", &[0]),
    ("cmpxchg_relaxed", &[0]),
    ("try_cmpxchg", &[0]),
    ("smp_store_release", &[0]),
    ("smp_load_acquire", &[0]),
    ("smp_store_mb", &[0]),
];

/// Macros that name a member rather than access it.
const MEMBER_NAMING_MACROS: &[&str] = &[
    "offsetof",
    "offsetofend",
    "sizeof_field",
    "typeof_member",
    "container_of",
    "container_of_const",
];

/// What kind of use of the field a site is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    /// `E->f` or `E.f` read.
    Read,
    /// `E->f = V`.
    Write,
    /// `&E->f`.
    Address,
    /// `E->f++`, `++E->f`.
    Increment,
    /// `E->f--`, `--E->f`.
    Decrement,
    /// `E->f += V` and the like.
    Compound,
    /// The argument of a macro that needs an lvalue (`READ_ONCE(E->f)`).
    LvalueMacro,
    /// An operand of inline assembly that needs an lvalue (`"+r"(E->f)`,
    /// `"m"(E->f)`).
    AsmOperand,
    /// `.f = V` in a brace initializer or compound literal.
    Initializer,
    /// `offsetof(T, f)`, `sizeof_field(T, f)`.
    Offsetof,
    /// The member's declaration.
    Declaration,
    /// A name that is not a member access (a variable or macro named `f`).
    Identifier,
    /// Inside a preprocessor directive other than `#define`.
    Directive,
    /// Inside code that tree-sitter could not parse.
    Unparsed,
    /// Inside a `#define` body that does not parse as C on its own.
    MacroUnparsed,
    /// The name split across lines by a backslash-newline (`bv_\`, newline,
    /// `page`): C joins the lines, tree-sitter does not.
    Spliced,
    /// A match of a rule that tracks no field (its minus code names none):
    /// the site is the start of the code matched.
    Match,
}

impl Kind {
    /// The kind's name in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Read => "read",
            Kind::Write => "write",
            Kind::Address => "address",
            Kind::Increment => "increment",
            Kind::Decrement => "decrement",
            Kind::Compound => "compound-assign",
            Kind::LvalueMacro => "lvalue-macro",
            Kind::AsmOperand => "asm-operand",
            Kind::Initializer => "initializer",
            Kind::Offsetof => "offsetof",
            Kind::Declaration => "declaration",
            Kind::Identifier => "identifier",
            Kind::Directive => "directive",
            Kind::Unparsed => "unparsed",
            Kind::MacroUnparsed => "macro-unparsed",
            Kind::Spliced => "spliced",
            Kind::Match => "match",
        }
    }

    /// Why a site of this kind is left when nothing more specific is known.
    pub fn default_reason(self) -> &'static str {
        match self {
            Kind::Read | Kind::Write | Kind::Increment | Kind::Decrement | Kind::Compound => {
                "no branch of the rule matches this form"
            }
            Kind::Address => "its address is taken; a helper call has no address",
            Kind::LvalueMacro => "the macro needs an lvalue argument; a helper call is not one",
            Kind::AsmOperand => {
                "an operand of inline assembly that needs an lvalue (an output or a memory operand); a helper call is not one"
            }
            Kind::Initializer => {
                "a designated initializer names the member; no helper can stand there"
            }
            Kind::Offsetof => "names the member (offsetof or sizeof_field), it does not access it",
            Kind::Declaration => "the member's own declaration",
            Kind::Identifier => {
                "a name that is not a member access (a variable, parameter or macro)"
            }
            Kind::Directive => "inside a preprocessor directive",
            Kind::Unparsed => "inside code that tree-sitter could not parse",
            Kind::MacroUnparsed => "the #define body does not parse as C on its own",
            Kind::Spliced => {
                "the name is split across lines by a backslash-newline; join the lines and run again"
            }
            Kind::Match => "the rule matched here and did not change it",
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What happened to a site.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    /// An edit rewrote it.
    Rewritten,
    /// It stays as it is, for this reason.
    Left(String),
}

/// One occurrence of a tracked field in code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Site {
    /// File offset of the name.
    pub offset: usize,
    /// 1-based line.
    pub line: usize,
    /// 1-based byte column.
    pub col: usize,
    /// Its kind.
    pub kind: Kind,
    /// Rewritten, or left and why.
    pub status: Status,
    /// For a site a typed rule rewrote: how sure the types were.
    pub evidence: Option<Evidence>,
    /// For a member's declaration: the struct or union that declares it
    /// (`struct bio_vec`).
    pub owner: Option<String>,
}

/// The struct or union whose member declaration holds `src[start..end]`.
pub fn member_owner(root: Node, src: &[u8], start: usize, end: usize) -> Option<String> {
    let mut n = root.descendant_for_byte_range(start, end)?;
    while let Some(p) = n.parent() {
        if matches!(p.kind(), "struct_specifier" | "union_specifier") {
            let kw = p.kind().trim_end_matches("_specifier");
            return Some(match p.child_by_field_name("name") {
                Some(name) => format!("{kw} {}", String::from_utf8_lossy(&src[name.byte_range()])),
                None => format!("{kw} <anonymous>"),
            });
        }
        n = p;
    }
    None
}

/// How an occurrence's token relates to code.
pub enum Occurrence {
    /// In a comment or a string: not code, not a site.
    NotCode,
    /// A site of this kind.
    Code(Kind),
}

/// Classifies the occurrence at `start..end` (offsets in `src`, the text of
/// the tree whose root is `root` and whose error regions are `regions`).
pub fn classify(
    root: Node,
    regions: &ErrorRegions,
    src: &[u8],
    start: usize,
    end: usize,
) -> Occurrence {
    let Some(leaf) = root.descendant_for_byte_range(start, end) else {
        return Occurrence::Code(Kind::Unparsed);
    };
    match leaf.kind() {
        "comment"
        | "string_literal"
        | "string_content"
        | "char_literal"
        | "system_lib_string"
        | "raw_string_literal"
        | "escape_sequence"
        | "concatenated_string" => return Occurrence::NotCode,
        _ => {}
    }
    if is_spliced(&src[start..end.min(src.len())]) {
        return Occurrence::Code(Kind::Spliced);
    }
    if leaf.start_byte() != start || leaf.end_byte() != end {
        let kind = if leaf.kind() == "preproc_arg" {
            Kind::Directive
        } else {
            Kind::Unparsed
        };
        return Occurrence::Code(kind);
    }
    let mut kind = kind_of(leaf, src);
    // Where tree-sitter misreads the call (at file scope, `static_assert(
    // sizeof_field(struct bio_vec, bv_page) == ...)` becomes a declarator),
    // the tokens around the name still say what it is.
    if kind == Kind::Identifier && named_by_member_macro(src, start, end) {
        kind = Kind::Offsetof;
    }
    // `sizeof_field(struct bio_vec, bv_page)` has a type where tree-sitter
    // wants an expression, an ERROR in the statement; the member it names is
    // still plain to see.
    if kind != Kind::Offsetof && regions.contains(leaf) {
        return Occurrence::Code(Kind::Unparsed);
    }
    Occurrence::Code(kind)
}

/// True when `name` holds a backslash-newline: C's phase 2 joins it.
fn is_spliced(name: &[u8]) -> bool {
    name.windows(2)
        .any(|w| w[0] == b'\\' && matches!(w[1], b'\n' | b'\r'))
}

fn kind_of(leaf: Node, src: &[u8]) -> Kind {
    let Some(parent) = leaf.parent() else {
        return Kind::Identifier;
    };
    match (leaf.kind(), parent.kind()) {
        ("field_identifier", "field_expression") => access_kind(parent, src),
        ("field_identifier", "field_designator") => Kind::Initializer,
        ("field_identifier", "offsetof_expression") => Kind::Offsetof,
        ("field_identifier", _) if in_field_declaration(parent) => Kind::Declaration,
        ("identifier", "argument_list")
            if syntax::callee_of_args(parent, src)
                .is_some_and(|c| MEMBER_NAMING_MACROS.contains(&c)) =>
        {
            Kind::Offsetof
        }
        _ => Kind::Identifier,
    }
}

/// True when `src[start..end]` is the last argument of a call of one of
/// [`MEMBER_NAMING_MACROS`], judged from the tokens: `NAME(..., word)`.
fn named_by_member_macro(src: &[u8], start: usize, end: usize) -> bool {
    let blank = |b: &u8| b.is_ascii_whitespace();
    let after = src[end..].iter().find(|b| !blank(b));
    if after != Some(&b')') {
        return false;
    }
    let Some(comma) = src[..start].iter().rposition(|b| !blank(b)) else {
        return false;
    };
    if src[comma] != b',' {
        return false;
    }
    let mut depth = 0usize;
    let mut i = comma;
    let open = loop {
        if i == 0 {
            return false;
        }
        i -= 1;
        match src[i] {
            b')' => depth += 1,
            b'(' if depth == 0 => break i,
            b'(' => depth -= 1,
            b';' | b'{' | b'}' => return false,
            _ => {}
        }
    };
    let name_end = src[..open]
        .iter()
        .rposition(|b| !blank(b))
        .map_or(0, |k| k + 1);
    let name_start = src[..name_end]
        .iter()
        .rposition(|&b| !crate::c::source::is_ident_byte(b))
        .map_or(0, |k| k + 1);
    std::str::from_utf8(&src[name_start..name_end])
        .is_ok_and(|name| MEMBER_NAMING_MACROS.contains(&name))
}

fn in_field_declaration(mut n: Node) -> bool {
    loop {
        match n.kind() {
            "field_declaration" => return true,
            "pointer_declarator"
            | "array_declarator"
            | "function_declarator"
            | "parenthesized_declarator"
            | "attributed_declarator"
            | "bitfield_clause" => {}
            _ => return false,
        }
        match n.parent() {
            Some(p) => n = p,
            None => return false,
        }
    }
}

fn access_kind(access: Node, src: &[u8]) -> Kind {
    let Some((parent, child)) = syntax::parent_through_parens(access) else {
        return Kind::Read;
    };
    let op = |n: Node| {
        n.child_by_field_name("operator")
            .map(|o| src[o.byte_range()].to_vec())
            .unwrap_or_default()
    };
    match parent.kind() {
        "assignment_expression"
            if parent
                .child_by_field_name("left")
                .is_some_and(|l| l.id() == child.id()) =>
        {
            if op(parent) == b"=" {
                Kind::Write
            } else {
                Kind::Compound
            }
        }
        "update_expression" => {
            if op(parent) == b"++" {
                Kind::Increment
            } else {
                Kind::Decrement
            }
        }
        "pointer_expression" if op(parent) == b"&" => Kind::Address,
        "argument_list"
            if syntax::lvalue_macro_arg(parent, child, src, LVALUE_MACROS).is_some() =>
        {
            Kind::LvalueMacro
        }
        "gnu_asm_output_operand" | "gnu_asm_input_operand"
            if syntax::asm_needs_lvalue(parent, src) =>
        {
            Kind::AsmOperand
        }
        _ => Kind::Read,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(code: &str) -> Vec<&'static str> {
        let src = code.as_bytes();
        let tree = syntax::parse(src);
        let root = tree.root_node();
        let regions = ErrorRegions::new(root);
        crate::c::source::word_occurrences(src, "bv_page")
            .into_iter()
            .filter_map(|o| match classify(root, &regions, src, o, o + 7) {
                Occurrence::NotCode => None,
                Occurrence::Code(k) => Some(k.as_str()),
            })
            .collect()
    }

    #[test]
    fn kinds_of_uses() {
        let code = "struct bio_vec { struct page *bv_page; };\n\
            void f(void) {\n\
            a = b->bv_page; /* bv_page */ c.bv_page = d; e->bv_page += 1; (f->bv_page)++;\n\
            --g.bv_page; p = &h->bv_page; READ_ONCE(i->bv_page); s = \"bv_page\";\n\
            struct bio_vec v = { .bv_page = p }; n = offsetof(struct bio_vec, bv_page);\n\
            m = sizeof_field(struct bio_vec, bv_page); int bv_page; WRITE_ONCE(x, j->bv_page);\n}\n\
            static_assert(sizeof_field(struct bio_vec, bv_page) ==\n sizeof_field(skb_frag_t, netmem));\n\
            int g(int bv_page);\n";
        assert_eq!(
            kinds(code),
            vec![
                "declaration",
                "read",
                "write",
                "compound-assign",
                "increment",
                "decrement",
                "address",
                "lvalue-macro",
                "initializer",
                "offsetof",
                "offsetof",
                "identifier",
                "read",
                "offsetof",
                "identifier",
            ]
        );
    }
}
