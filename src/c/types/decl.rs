//! Declarations at file scope, read from a header's or a file's text:
//! struct and union members (anonymous ones included), typedefs, and the
//! types declarators give, with the kernel's attribute macros blanked.

use std::collections::HashMap;
use std::sync::Arc;

use tree_sitter::Node;

use super::CType;
use crate::c::gnu;
use crate::c::parsed::Blanked;
use crate::c::source::{self, Span};
use crate::c::syntax;

/// The kernel's attribute macros that tree-sitter cannot read where
/// declarations put them (`struct bio_vec bvec[] __counted_by(nr_bvecs);`
/// loses the member, `struct bio_vec * __must_check f(void)` the
/// function), and whether they take arguments. None changes a type as
/// bvmig sees it: address spaces, layout, checker hints.
pub(super) const ATTRIBUTE_MACROS: &[(&str, bool)] = &[
    ("__counted_by", true),
    ("__counted_by_le", true),
    ("__counted_by_be", true),
    ("__aligned", true),
    ("__alloc_size", true),
    ("__printf", true),
    ("__packed", false),
    ("__rcu", false),
    ("__user", false),
    ("__iomem", false),
    ("__percpu", false),
    ("__force", false),
    ("__private", false),
    ("__nonstring", false),
    ("__randomize_layout", false),
    ("__no_randomize_layout", false),
    ("____cacheline_aligned", false),
    ("____cacheline_aligned_in_smp", false),
    ("__cacheline_aligned", false),
    ("__cacheline_aligned_in_smp", false),
    ("__must_check", false),
    ("__always_inline", false),
    ("__maybe_unused", false),
];

/// The members of one struct or union.
#[derive(Debug, Default, Clone, PartialEq)]
pub(super) struct Members {
    /// Each member's type by its name; an anonymous struct or union is
    /// `struct <anonymous>` or `union <anonymous>` here.
    pub(super) types: HashMap<String, CType>,
    /// The members of the members whose type is an anonymous struct or
    /// union (`union { struct iovec *iovec; struct bio_vec *bvec; } iov;`).
    pub(super) anonymous: HashMap<String, Arc<Members>>,
}

/// How [`TypeIndex::type_of`] names the anonymous struct or union type of
/// member `member` of the type `outer`: `union <anonymous: struct
/// iotlb_vec.iov>`, a path from a named type that finds its members again.
pub(super) fn anonymous_type(kw: &str, outer: &str, member: &str) -> String {
    let path = outer
        .split_once(" <anonymous: ")
        .and_then(|(_, p)| p.strip_suffix('>'))
        .unwrap_or(outer);
    format!("{kw} <anonymous: {path}.{member}>")
}

/// `text` as declarations are parsed from it: `#define` bodies blanked
/// (see [`source::blank_define_bodies`]) and the [`ATTRIBUTE_MACROS`]
/// with their arguments overwritten by spaces (newlines kept), outside
/// directives, so that offsets and lines stay.
pub(super) fn declarations_text(text: &[u8]) -> Vec<u8> {
    let mut out = Blanked::new(text).text;
    for &(name, args) in ATTRIBUTE_MACROS {
        for at in source::word_occurrences(text, name) {
            let line = memchr::memrchr(b'\n', &out[..at]).map_or(0, |k| k + 1);
            if out[line..at].trim_ascii_start().starts_with(b"#") {
                continue;
            }
            let mut end = at + name.len();
            if args {
                let open = end
                    + out[end..]
                        .iter()
                        .take_while(|b| b.is_ascii_whitespace())
                        .count();
                if out.get(open) == Some(&b'(') {
                    let mut depth = 0usize;
                    for (k, &b) in out[open..].iter().enumerate() {
                        match b {
                            b'(' => depth += 1,
                            b')' => depth -= 1,
                            _ => {}
                        }
                        if depth == 0 {
                            end = open + k + 1;
                            break;
                        }
                    }
                }
            }
            for b in &mut out[at..end] {
                if *b != b'\n' {
                    *b = b' ';
                }
            }
        }
    }
    out
}

/// The members of `kw name` (`struct bio`, `union u`) if `text` defines
/// it.
pub(super) fn struct_members(text: &[u8], kw: &str, name: &str) -> Option<Members> {
    // Parse only where it may be defined: `struct NAME {` (most files that
    // name a struct only use it).
    let needle = format!("{kw} {name}");
    let at: Vec<usize> = memchr::memmem::find_iter(text, needle.as_bytes())
        .filter(|&i| {
            let e = i + needle.len();
            !text.get(e).is_some_and(|b| source::is_ident_byte(*b))
                && text[e..].iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{')
        })
        .collect();
    find_in_items(text, &at, |root, src| {
        let body = find_struct(root, src, kw, name)?;
        let mut members = Members::default();
        collect_members(body, src, &mut members);
        Some(members)
    })
}

/// What `find` finds in the tree of `text`, parsing only the top-level
/// items (as [`source::top_level`] guesses them) that hold one of the
/// offsets `at` (sorted), in order: a struct's definition in a header of
/// thousands of lines is one item. The whole text is parsed instead when
/// the guess fails or an item does not parse cleanly (the guess may have
/// cut it wrongly), so that parsing less never changes the answer of a
/// file that parses; an offset in a comment or a directive between items
/// holds no definition.
pub(super) fn find_in_items<T>(
    text: &[u8],
    at: &[usize],
    find: impl Fn(Node, &[u8]) -> Option<T>,
) -> Option<T> {
    if at.is_empty() {
        return None;
    }
    let parsed = |t: &[u8]| {
        let blanked = declarations_text(t);
        let tree = syntax::parse(&blanked);
        (tree, blanked)
    };
    let whole = || {
        let (tree, src) = parsed(text);
        find(tree.root_node(), &src)
    };
    let Some(spans) = source::top_level(text) else {
        return whole();
    };
    let mut last = None;
    for &o in at {
        let k = spans.partition_point(|(_, r)| r.end <= o);
        let Some((Span::Item, r)) = spans.get(k).filter(|(_, r)| r.start <= o) else {
            continue;
        };
        if last.replace(k) == Some(k) {
            continue;
        }
        let (tree, src) = parsed(&text[r.clone()]);
        if syntax::error_count(tree.root_node()) > 0 {
            return whole();
        }
        if let Some(found) = find(tree.root_node(), &src) {
            return Some(found);
        }
    }
    None
}

/// The members of a struct or union body, with those of anonymous inner
/// structs and unions (`union { const struct bio_vec *bvec; ... };`) as
/// the struct's own, as C has them, and those of the anonymous types of
/// members (`union { ... } iov;`).
pub(super) fn collect_members(body: Node, src: &[u8], members: &mut Members) {
    let mut cursor = body.walk();
    for field in body.named_children(&mut cursor) {
        // Members inside `#ifdef CONFIG_...` blocks are members too.
        if field.kind().starts_with("preproc_") {
            collect_members(field, src, members);
            continue;
        }
        if field.kind() != "field_declaration" {
            continue;
        }
        let Some(ty) = field.child_by_field_name("type") else {
            continue;
        };
        let mut dc = field.walk();
        let declarators: Vec<Node> = field
            .children_by_field_name("declarator", &mut dc)
            .collect();
        if declarators.is_empty() {
            if let Some(inner) = ty.child_by_field_name("body") {
                collect_members(inner, src, members);
            }
            continue;
        }
        let base = base_text(ty, src);
        let anonymous = ty
            .child_by_field_name("body")
            .filter(|_| ty.child_by_field_name("name").is_none())
            .map(|inner| {
                let mut m = Members::default();
                collect_members(inner, src, &mut m);
                Arc::new(m)
            });
        for d in declarators {
            if let Some((n, ptr)) = declarator_name(d, src) {
                match &anonymous {
                    Some(m) => members.anonymous.insert(n.clone(), Arc::clone(m)),
                    None => members.anonymous.remove(&n),
                };
                members.types.insert(n, CType::new(&base, ptr));
            }
        }
    }
}

/// The body of the first definition of `kw name` below `n`.
pub(super) fn find_struct<'t>(n: Node<'t>, src: &[u8], kw: &str, name: &str) -> Option<Node<'t>> {
    if n.kind().strip_suffix("_specifier") == Some(kw) {
        let named = n
            .child_by_field_name("name")
            .is_some_and(|x| &src[x.byte_range()] == name.as_bytes());
        if named {
            if let Some(body) = n.child_by_field_name("body") {
                return Some(body);
            }
        }
    }
    let mut cursor = n.walk();
    let found = n
        .named_children(&mut cursor)
        .find_map(|c| find_struct(c, src, kw, name));
    found
}

/// What `typedef ... name;` in `text` stands for.
pub(super) fn typedef_in(text: &[u8], name: &str) -> Option<CType> {
    let pat = format!("{name};");
    let at = memchr::memmem::find_iter(text, pat.as_bytes()).find(|&i| {
        i > 0
            && !source::is_ident_byte(text[i - 1])
            && text[..i]
                .iter()
                .rposition(|b| *b == b';' || *b == b'}' || *b == b'{')
                .map_or(0, |k| k + 1)
                <= i
    })?;
    let start = memchr::memmem::rfind(&text[..at], b"typedef")?;
    if text[start..at].contains(&b';') {
        return None;
    }
    let decl = &text[start..at + pat.len()];
    let tree = syntax::parse(decl);
    let td = tree.root_node().named_child(0)?;
    if td.kind() != "type_definition" {
        return None;
    }
    let base = base_text(td.child_by_field_name("type")?, decl);
    let (n, ptr) = declarator_name(td.child_by_field_name("declarator")?, decl)?;
    (n == name).then(|| CType::new(&base, ptr))
}

/// The text of a type specifier, without a struct's body.
pub(super) fn base_text(t: Node, src: &[u8]) -> String {
    match t.kind() {
        "struct_specifier" | "union_specifier" | "enum_specifier" => {
            let kw = t.kind().trim_end_matches("_specifier");
            match t.child_by_field_name("name") {
                Some(n) => format!("{kw} {}", String::from_utf8_lossy(&src[n.byte_range()])),
                // `typeof(E)` as `c::gnu` masks it: a type bvmig does not
                // know, not an enum.
                None if gnu::is_masked_typeof(&src[t.byte_range()]) => "typeof(...)".to_string(),
                None => format!("{kw} <anonymous>"),
            }
        }
        _ => String::from_utf8_lossy(&src[t.byte_range()]).into_owned(),
    }
}

/// The name a declarator declares and how many `*` (or `[]`) it adds.
pub(super) fn declarator_name(mut d: Node, src: &[u8]) -> Option<(String, u8)> {
    let mut ptr = 0u8;
    loop {
        match d.kind() {
            "identifier" | "field_identifier" | "type_identifier" => {
                return Some((
                    String::from_utf8_lossy(&src[d.byte_range()]).into_owned(),
                    ptr,
                ))
            }
            "pointer_declarator" | "array_declarator" => {
                ptr += 1;
                d = d.child_by_field_name("declarator")?;
            }
            "init_declarator" | "parenthesized_declarator" | "attributed_declarator" => {
                d = d
                    .child_by_field_name("declarator")
                    .or_else(|| d.named_child(0))?;
            }
            // A function pointer is not a bio_vec.
            _ => return None,
        }
    }
}

/// The type a type descriptor (`struct bio_vec *`) names.
pub(super) fn descriptor_type(t: Node, src: &[u8]) -> Option<CType> {
    let base = base_text(t.child_by_field_name("type")?, src);
    let mut ptr = 0u8;
    let mut d = t.child_by_field_name("declarator");
    while let Some(x) = d {
        match x.kind() {
            "abstract_pointer_declarator" | "abstract_array_declarator" => {
                ptr += 1;
                d = x.child_by_field_name("declarator");
            }
            _ => return None,
        }
    }
    Some(CType::new(&base, ptr))
}

/// The structs and unions of `text` that declare a member named `field`
/// (`struct bio_vec`, `struct <anonymous>` for a type without a tag), in
/// order, each once; `#define` bodies are not read.
pub(super) fn member_owners(text: &[u8], field: &str) -> Vec<String> {
    let at = source::word_occurrences(text, field);
    if at.is_empty() {
        return Vec::new();
    }
    let blanked = declarations_text(text);
    let tree = syntax::parse(&blanked);
    let mut owners = Vec::new();
    for o in at {
        let Some(leaf) = tree
            .root_node()
            .descendant_for_byte_range(o, o + field.len())
        else {
            continue;
        };
        if leaf.kind() != "field_identifier" || leaf.start_byte() != o {
            continue;
        }
        if let Some(owner) = member_owner(leaf, &blanked) {
            if !owners.contains(&owner) {
                owners.push(owner);
            }
        }
    }
    owners
}

/// The struct or union whose member `name` (a field identifier) declares,
/// when it is a member's declarator (not an access or a designator).
pub(super) fn member_owner(name: Node, src: &[u8]) -> Option<String> {
    let mut n = name.parent()?;
    while matches!(
        n.kind(),
        "pointer_declarator"
            | "array_declarator"
            | "function_declarator"
            | "parenthesized_declarator"
            | "attributed_declarator"
            | "bitfield_clause"
    ) {
        n = n.parent()?;
    }
    if n.kind() != "field_declaration" {
        return None;
    }
    while let Some(p) = n.parent() {
        if matches!(p.kind(), "struct_specifier" | "union_specifier") {
            return Some(base_text(p, src));
        }
        n = p;
    }
    None
}
