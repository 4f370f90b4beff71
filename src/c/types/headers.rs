//! The header index: which headers of a tree may define a name, found by
//! a literal scan of every header once per run (a superset; definitions
//! are confirmed by parsing), and what one header declares of a function.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::path::PathBuf;
use std::sync::Mutex;

use tree_sitter::Node;

use super::decl::{base_text, declarations_text};
use super::{CType, Kind};
use crate::c::source::{self, Span};
use crate::c::syntax;

/// Words a declaration may put before a function's name that a statement
/// puts before a call (`return f(x)`), and words that look like calls
/// (`if (x)`): neither declares a function.
pub(super) const NOT_DECLARATORS: &[&[u8]] = &[
    b"return",
    b"else",
    b"case",
    b"do",
    b"goto",
    b"sizeof",
    b"typeof",
    b"__typeof__",
    b"if",
    b"while",
    b"for",
    b"switch",
];

/// The headers of some directories and the names each may define, found
/// by a literal scan (a superset: definitions are confirmed by parsing).
#[derive(Debug, Default)]
pub(super) struct HeaderIndex {
    /// The headers, sorted: an id is an index here.
    files: Vec<PathBuf>,
    /// Names of `struct NAME {`, `union NAME {` and typedefs.
    types: HashMap<String, Vec<u32>>,
    /// Names that look declared as functions (`TYPE NAME(`), function-like
    /// macros included: ([`name_hash`], header) pairs, sorted. Linux's
    /// `include/` has a hundred thousand such names; pairs cost a sixth of
    /// the memory a map of names would, and a collision only adds a
    /// header to parse.
    functions: Vec<(u64, u32)>,
}

impl HeaderIndex {
    /// The headers that may define `name` as a `kind`, in path order;
    /// `None` when none may.
    pub(super) fn files_for(&self, kind: Kind, name: &str) -> Option<Vec<PathBuf>> {
        let path = |&i: &u32| self.files[i as usize].clone();
        match kind {
            Kind::Type => self
                .types
                .get(name)
                .map(|ids| ids.iter().map(path).collect()),
            Kind::Function => {
                let h = name_hash(name.as_bytes());
                let from = self.functions.partition_point(|p| p.0 < h);
                let to = from + self.functions[from..].partition_point(|p| p.0 == h);
                (to > from).then(|| {
                    self.functions[from..to]
                        .iter()
                        .map(|p| path(&p.1))
                        .collect()
                })
            }
        }
    }
}

/// A name's hash, the same in every run.
pub(super) fn name_hash(name: &[u8]) -> u64 {
    let mut h = std::hash::DefaultHasher::new();
    name.hash(&mut h);
    h.finish()
}

/// The names the headers below `roots` define (see [`defined_names`] and
/// [`function_names`]), read in parallel; only the top level of each root
/// unless `deep`.
pub(super) fn index_headers(roots: &[PathBuf], deep: bool) -> HeaderIndex {
    type Names = (Vec<String>, Vec<u64>);
    let found: Mutex<Vec<(PathBuf, Names)>> = Mutex::new(Vec::new());
    for root in roots {
        ignore::WalkBuilder::new(root)
            .standard_filters(false)
            .follow_links(false)
            .max_depth((!deep).then_some(1))
            .build_parallel()
            .run(|| {
                let found = &found;
                Box::new(move |e| {
                    if let Ok(e) = e {
                        let p = e.path();
                        if p.extension().is_some_and(|x| x == "h") {
                            if let Ok(text) = crate::file::read(p) {
                                let names = (defined_names(&text), function_hashes(&text));
                                if !names.0.is_empty() || !names.1.is_empty() {
                                    let mut f = found.lock().expect("no panics while locked");
                                    f.push((p.to_path_buf(), names));
                                }
                            }
                        }
                    }
                    ignore::WalkState::Continue
                })
            });
    }
    let mut found = found.into_inner().expect("no panics while locked");
    // The walk's order is not fixed; the lookups' must be.
    found.sort_by(|a, b| a.0.cmp(&b.0));
    let mut index = HeaderIndex::default();
    for (id, (path, (types, functions))) in found.into_iter().enumerate() {
        let id = u32::try_from(id).expect("fewer than 2^32 headers");
        index.files.push(path);
        for n in types {
            let ids = index.types.entry(n).or_default();
            if ids.last() != Some(&id) {
                ids.push(id);
            }
        }
        index
            .functions
            .extend(functions.into_iter().map(|h| (h, id)));
    }
    index.functions.sort_unstable();
    index
}

/// Offsets of the names in `text` that may be declared as functions there:
/// `NAME(` (blanks allowed before `(`) after an identifier or `*`
/// (`struct bio_vec *NAME(`, `int\nNAME(`, `#define NAME(`), not after
/// `return` or `else`. A call that is a statement follows `;`, `{` or `}`,
/// and one in an expression an operator or `(`, so few calls pass; the
/// declarations are confirmed by parsing.
pub(super) fn function_name_offsets(text: &[u8]) -> impl Iterator<Item = (usize, usize)> + '_ {
    let is_blank = |b: u8| b == b' ' || b == b'\t';
    memchr::memchr_iter(b'(', text).filter_map(move |paren| {
        let mut e = paren;
        while e > 0 && is_blank(text[e - 1]) {
            e -= 1;
        }
        let mut s = e;
        while s > 0 && source::is_ident_byte(text[s - 1]) {
            s -= 1;
        }
        if s == e || text[s].is_ascii_digit() || NOT_DECLARATORS.contains(&&text[s..e]) {
            return None;
        }
        let mut k = s;
        while k > 0 && text[k - 1].is_ascii_whitespace() {
            k -= 1;
        }
        let before = *text[..k].last()?;
        if before == b'*' {
            return Some((s, e));
        }
        if !source::is_ident_byte(before) {
            return None;
        }
        let mut w = k;
        while w > 0 && source::is_ident_byte(text[w - 1]) {
            w -= 1;
        }
        (!NOT_DECLARATORS.contains(&&text[w..k])).then_some((s, e))
    })
}

/// The hashes of the names [`function_name_offsets`] finds, each once.
pub(super) fn function_hashes(text: &[u8]) -> Vec<u64> {
    let mut hashes: Vec<u64> = function_name_offsets(text)
        .map(|(s, e)| name_hash(&text[s..e]))
        .collect();
    hashes.sort_unstable();
    hashes.dedup();
    hashes
}

/// What a text says of a function name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Declared {
    /// Nothing.
    Nowhere,
    /// Definitions or prototypes, all with this return type.
    Function(CType),
    /// A `#define` of that name: a call expands to something else.
    Macro,
    /// A declaration that may be its own does not parse, or two disagree.
    Unsure,
}

/// What `text` declares of the function `name`, parsing only the
/// top-level items where it looks declared.
pub(super) fn function_in(text: &[u8], name: &str) -> Declared {
    if memchr::memmem::find(text, name.as_bytes()).is_none() {
        return Declared::Nowhere;
    }
    if source::scan_defines(text).iter().any(|d| d.name == name) {
        return Declared::Macro;
    }
    let at: Vec<usize> = function_name_offsets(text)
        .filter(|&(s, e)| &text[s..e] == name.as_bytes())
        .map(|(s, _)| s)
        .collect();
    if at.is_empty() {
        return Declared::Nowhere;
    }
    let Some(spans) = source::top_level(text) else {
        return Declared::Unsure;
    };
    let mut found: Option<CType> = None;
    let mut last = None;
    for o in at {
        let k = spans.partition_point(|(_, r)| r.end <= o);
        let Some((Span::Item, r)) = spans.get(k).filter(|(_, r)| r.start <= o) else {
            continue;
        };
        if last.replace(k) == Some(k) {
            continue;
        }
        let blanked = declarations_text(&text[r.clone()]);
        let tree = syntax::parse(&blanked);
        let root = tree.root_node();
        // Errors in a function's body leave its declarator readable.
        if !syntax::errors_only_in_function_bodies(root) {
            return Declared::Unsure;
        }
        let mut cursor = root.walk();
        for decl in root.named_children(&mut cursor) {
            if !matches!(decl.kind(), "function_definition" | "declaration") {
                continue;
            }
            let Some(base) = decl
                .child_by_field_name("type")
                .map(|t| base_text(t, &blanked))
            else {
                continue;
            };
            let mut dc = decl.walk();
            for d in decl.children_by_field_name("declarator", &mut dc) {
                if let Some(ptr) = returned_pointers(d, &blanked, name) {
                    let t = CType::new(&base, ptr);
                    if found.get_or_insert_with(|| t.clone()) != &t {
                        return Declared::Unsure;
                    }
                }
            }
        }
    }
    found.map_or(Declared::Nowhere, Declared::Function)
}

/// How many `*` the declarator `d` of the function `name` adds to its
/// return type (`*name(...)` adds one); `None` when `d` declares
/// something else, or a function that returns a function pointer.
pub(super) fn returned_pointers(d: Node, src: &[u8], name: &str) -> Option<u8> {
    let (_, f, ptr) = syntax::function_declarator(d)?;
    (&src[f.byte_range()] == name.as_bytes()).then_some(ptr)
}

/// The names `text` defines as `struct NAME {`, `union NAME {` or with
/// `typedef ... NAME;`, found by a literal scan (a superset is fine: the
/// definition is confirmed by parsing).
pub(super) fn defined_names(text: &[u8]) -> Vec<String> {
    let mut out = Vec::new();
    for kw in [&b"struct "[..], b"union "] {
        for i in memchr::memmem::find_iter(text, kw) {
            let s = i + kw.len();
            let e = s + text[s..]
                .iter()
                .take_while(|b| source::is_ident_byte(**b))
                .count();
            let rest = text[e..].iter().find(|b| !b.is_ascii_whitespace());
            if e > s && rest == Some(&b'{') {
                out.push(String::from_utf8_lossy(&text[s..e]).into_owned());
            }
        }
    }
    for i in memchr::memmem::find_iter(text, b"typedef ") {
        let end = memchr::memchr(b';', &text[i..]).map_or(text.len(), |k| i + k);
        let before = text[..end]
            .iter()
            .rposition(|b| !source::is_ident_byte(*b))
            .map_or(0, |k| k + 1);
        if before < end {
            out.push(String::from_utf8_lossy(&text[before..end]).into_owned());
        }
    }
    out
}

/// The structs and unions that the headers below `roots` (only their top
/// level unless `deep`) declare a member `field` in, sorted, each once.
pub(super) fn field_owners(roots: &[PathBuf], deep: bool, field: &str) -> Vec<String> {
    let found: Mutex<Vec<String>> = Mutex::new(Vec::new());
    let finder = memchr::memmem::Finder::new(field.as_bytes());
    for root in roots {
        ignore::WalkBuilder::new(root)
            .standard_filters(false)
            .follow_links(false)
            .max_depth((!deep).then_some(1))
            .build_parallel()
            .run(|| {
                let (found, finder) = (&found, &finder);
                Box::new(move |e| {
                    if let Ok(e) = e {
                        let p = e.path();
                        if p.extension().is_some_and(|x| x == "h") {
                            if let Ok(text) = crate::file::read(p) {
                                if finder.find(&text).is_some() {
                                    let owners = super::decl::member_owners(&text, field);
                                    found.lock().expect("no panics while locked").extend(owners);
                                }
                            }
                        }
                    }
                    ignore::WalkState::Continue
                })
            });
    }
    let mut found = found.into_inner().expect("no panics while locked");
    found.sort();
    found.dedup();
    found
}
