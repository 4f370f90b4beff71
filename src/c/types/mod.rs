//! Types of C expressions without a build, for typed metavariables
//! (`struct bio_vec *BV;`).
//!
//! An expression's type comes from declarations: of locals (in the blocks
//! around it, before it), parameters, the members of structs and the
//! return types of functions (found in the file itself or in the kernel
//! tree's `include/`, indexed once per run), typedefs, casts, `&`, `*` and
//! indexing. A name no declaration covers may still be the variable of one
//! of the kernel's bio_vec iterator macros. Each answer carries its
//! evidence: `certain` when every step came from a declaration, `likely`
//! when a step came from an iterator macro, `unknown` when some step is not
//! known (a function-like macro's result, a global, a struct not found).
//!
//! **Invariant:** a typed metavariable matches only with `certain` or
//! `likely` evidence; what is unknown is not rewritten.
//!
//! This module holds the model ([`CType`], [`Evidence`]) and the index that
//! answers queries ([`TypeIndex`]); `headers` finds which headers may
//! define a name, `decl` reads file-scope declarations (members, typedefs),
//! `locals` the declarations in scope inside a function, and `iterators`
//! the kernel's bio_vec iterator macros.

mod decl;
mod headers;
mod iterators;
mod locals;

use std::collections::HashMap;
use std::fmt;
use std::hash::Hash;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use tree_sitter::Node;

use crate::c::syntax;

use decl::{
    anonymous_type, base_text, declarator_name, descriptor_type, struct_members, typedef_in,
    Members,
};
use headers::{function_in, index_headers, Declared, HeaderIndex};
use iterators::iterator_type;
pub use locals::index_scopes;
use locals::{declared_type, declares_locally};

/// A C type as typed metavariables need it: a base (`struct bio_vec`,
/// `skb_frag_t`, `unsigned int`) and a pointer depth (arrays count as one).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CType {
    /// The base type, words separated by one space.
    pub base: String,
    /// How many `*`.
    pub ptr: u8,
}

impl CType {
    /// `base` with `ptr` stars.
    pub fn new(base: &str, ptr: u8) -> CType {
        CType {
            base: base.split_whitespace().collect::<Vec<_>>().join(" "),
            ptr,
        }
    }

    fn deref(&self) -> Option<CType> {
        (self.ptr > 0).then(|| CType::new(&self.base, self.ptr - 1))
    }

    fn addr(&self) -> CType {
        CType::new(&self.base, self.ptr + 1)
    }
}

impl fmt::Display for CType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.base)?;
        if self.ptr > 0 {
            write!(f, " {}", "*".repeat(self.ptr as usize))?;
        }
        Ok(())
    }
}

/// How sure an inferred type is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Evidence {
    /// Some step is not known.
    Unknown,
    /// A step came from a kernel iterator macro's convention.
    Likely,
    /// Every step came from a declaration.
    Certain,
}

impl Evidence {
    /// The word the report uses.
    pub fn as_str(self) -> &'static str {
        match self {
            Evidence::Unknown => "unknown",
            Evidence::Likely => "likely",
            Evidence::Certain => "certain",
        }
    }
}

impl fmt::Display for Evidence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Answers computed once per key and kept for the run. The first thread
/// to ask for a key computes its answer without holding the map's lock, so
/// lookups of other keys go on meanwhile; threads asking for the same key
/// wait for that answer instead of computing it again.
#[derive(Debug)]
struct Memo<K, V> {
    cells: Mutex<HashMap<K, Arc<OnceLock<V>>>>,
}

impl<K, V> Default for Memo<K, V> {
    fn default() -> Self {
        Memo {
            cells: Mutex::new(HashMap::new()),
        }
    }
}

impl<K: Eq + Hash, V: Clone> Memo<K, V> {
    /// The answer for `key`, from `compute` the first time.
    fn get(&self, key: K, compute: impl FnOnce() -> V) -> V {
        let cell = Arc::clone(
            self.cells
                .lock()
                .expect("no panics while locked")
                .entry(key)
                .or_default(),
        );
        cell.get_or_init(compute).clone()
    }
}

/// Where a name's definition is looked for: the tree's `include/` (`None`)
/// or the headers of one directory, since two directories may define
/// different structs of one name.
type Scope = Option<PathBuf>;

/// Which names a lookup is about.
#[derive(Debug, Clone, Copy)]
enum Kind {
    /// Struct, union and typedef names.
    Type,
    /// Function names.
    Function,
}

/// Struct members, typedefs and function return types of a tree, found on
/// demand and kept for the run. Shared by the worker threads.
#[derive(Debug, Default)]
pub struct TypeIndex {
    /// Directories whose headers define the tree's types (`include/`).
    roots: Vec<PathBuf>,
    /// The names the headers of `roots` define: built once, on the first
    /// lookup.
    headers: OnceLock<HeaderIndex>,
    /// The headers beside a file being matched (`drivers/md/raid5.h` for
    /// `raid5.c`), by directory, indexed when a name is not in `roots`.
    local_headers: Memo<PathBuf, Arc<HeaderIndex>>,
    structs: Memo<(String, Scope), Option<Arc<Members>>>,
    typedefs: Memo<(String, Scope), Option<CType>>,
    functions: Memo<(String, Scope), Option<CType>>,
    /// The structs and unions declaring a member of a name, by the
    /// headers they were found in.
    owners: Memo<(String, Scope), Arc<Vec<String>>>,
}

impl TypeIndex {
    /// An index over the headers below `roots`.
    pub fn new(roots: Vec<PathBuf>) -> TypeIndex {
        TypeIndex {
            roots,
            ..TypeIndex::default()
        }
    }

    /// Headers that may define `name` as a `kind`: those of `roots`, else
    /// those in `dir` (the matched file's directory); and the scope they
    /// were found in.
    fn headers_for(&self, kind: Kind, name: &str, dir: Option<&Path>) -> (Vec<PathBuf>, Scope) {
        let lookup = |index: &HeaderIndex| index.files_for(kind, name);
        let tree = self
            .headers
            .get_or_init(|| index_headers(&self.roots, true));
        if let Some(found) = lookup(tree) {
            return (found, None);
        }
        let Some(dir) = dir else {
            return (Vec::new(), None);
        };
        let here = self.local_headers.get(dir.to_path_buf(), || {
            Arc::new(index_headers(&[dir.to_path_buf()], false))
        });
        (lookup(&here).unwrap_or_default(), Some(dir.to_path_buf()))
    }

    /// The members of the struct or union type `base` (`struct bio`,
    /// `union u`, or an anonymous one as [`anonymous_type`] names it).
    fn aggregate_members(
        &self,
        base: &str,
        local: &[u8],
        dir: Option<&Path>,
    ) -> Option<Arc<Members>> {
        let (kw, rest) = base.split_once(' ')?;
        if kw != "struct" && kw != "union" {
            return None;
        }
        let Some(path) = rest.strip_prefix("<anonymous: ") else {
            // `struct <anonymous>`: a local's type, not looked up.
            return (!rest.starts_with('<'))
                .then(|| self.members(kw, rest, local, dir))
                .flatten();
        };
        let mut parts = path.strip_suffix('>')?.split('.');
        let mut m = self.aggregate_members(parts.next()?, local, dir)?;
        for member in parts {
            m = Arc::clone(m.anonymous.get(member)?);
        }
        Some(m)
    }

    /// The members of `kw name` (`struct bio`, `union u`): from `local`
    /// (the file being matched) first, else from the tree's headers.
    fn members(
        &self,
        kw: &str,
        name: &str,
        local: &[u8],
        dir: Option<&Path>,
    ) -> Option<Arc<Members>> {
        let here = local_memo(local, |m| {
            m.members
                .entry(format!("{kw} {name}"))
                .or_insert_with(|| struct_members(local, kw, name).map(Arc::new))
                .clone()
        });
        if let Some(m) = here {
            return Some(m);
        }
        let (headers, scope) = self.headers_for(Kind::Type, name, dir);
        self.structs.get((format!("{kw} {name}"), scope), || {
            headers
                .iter()
                .find_map(|h| {
                    crate::file::read(h)
                        .ok()
                        .and_then(|t| struct_members(&t, kw, name))
                })
                .map(Arc::new)
        })
    }

    /// What the typedef `name` stands for, from `local` or the headers.
    fn typedef(&self, name: &str, local: &[u8], dir: Option<&Path>) -> Option<CType> {
        let here = local_memo(local, |m| {
            m.typedefs
                .entry(name.to_string())
                .or_insert_with(|| typedef_in(local, name))
                .clone()
        });
        if let Some(t) = here {
            return Some(t);
        }
        let (headers, scope) = self.headers_for(Kind::Type, name, dir);
        self.typedefs.get((name.to_string(), scope), || {
            headers
                .iter()
                .find_map(|h| crate::file::read(h).ok().and_then(|t| typedef_in(&t, name)))
        })
    }

    /// The return type of the function `name`: from its definitions and
    /// prototypes in `local` (the file being matched), else in the
    /// headers. `None` when it is not found, when it is a macro (whose
    /// result has no declared type), when a declaration that may be its
    /// own does not parse, or when its declarations disagree.
    fn function_type(&self, name: &str, local: &[u8], dir: Option<&Path>) -> Option<CType> {
        let here = local_memo(local, |m| {
            m.functions
                .entry(name.to_string())
                .or_insert_with(|| function_in(local, name))
                .clone()
        });
        match here {
            Declared::Nowhere => {}
            Declared::Function(t) => return Some(t),
            Declared::Macro | Declared::Unsure => return None,
        }
        let (headers, scope) = self.headers_for(Kind::Function, name, dir);
        self.functions.get((name.to_string(), scope), || {
            let mut found: Option<CType> = None;
            for h in &headers {
                let Ok(text) = crate::file::read(h) else {
                    continue;
                };
                match function_in(&text, name) {
                    Declared::Nowhere => {}
                    Declared::Function(t) if found.as_ref().is_none_or(|f| *f == t) => {
                        found = Some(t)
                    }
                    Declared::Function(_) | Declared::Macro | Declared::Unsure => return None,
                }
            }
            found
        })
    }

    /// `ty` with typedefs of struct types resolved (`skb_frag_t *` →
    /// `struct bio_vec *` where `typedef struct bio_vec skb_frag_t;`).
    pub fn canonical(&self, ty: &CType, local: &[u8], dir: Option<&Path>) -> CType {
        let mut t = ty.clone();
        for _ in 0..4 {
            if t.base.contains(' ') {
                break;
            }
            match self.typedef(&t.base, local, dir) {
                Some(under) => t = CType::new(&under.base, under.ptr + t.ptr),
                None => break,
            }
        }
        t
    }

    /// The structs and unions that declare a member named `field` in the
    /// tree's headers (`include/`) and in the headers of `dir` (the
    /// matched file's directory), sorted, each once. Read once per run and
    /// directory.
    pub fn field_owners(&self, field: &str, dir: Option<&Path>) -> Vec<String> {
        let tree = self.owners.get((field.to_string(), None), || {
            Arc::new(headers::field_owners(&self.roots, true, field))
        });
        let mut all = tree.to_vec();
        if let Some(dir) = dir {
            let here = self
                .owners
                .get((field.to_string(), Some(dir.to_path_buf())), || {
                    Arc::new(headers::field_owners(&[dir.to_path_buf()], false, field))
                });
            all.extend(here.iter().cloned());
            all.sort();
            all.dedup();
        }
        all
    }

    /// The type of the object whose member the field designator `des`
    /// names (`.bv_page` in `struct bio_vec bv = { .bv_page = p };`), and
    /// how sure it is: the type the brace initializer around it
    /// initializes, through the designators before it in its pair. `root`
    /// is the root of `des`'s tree: the nodes above `des` are found in one
    /// descent from it.
    pub fn designated_type<'t>(
        &self,
        root: Node<'t>,
        des: Node<'t>,
        src: &[u8],
        dir: Option<&Path>,
    ) -> (Option<CType>, Evidence) {
        let path = syntax::path_from(root, des);
        let up = |n: Node<'t>| match path.iter().rposition(|a| a.id() == n.id()) {
            Some(i) => i.checked_sub(1).map(|i| path[i]),
            None => n.parent(),
        };
        self.designated_type_with(root, des, &up, src, dir)
    }

    /// [`TypeIndex::designated_type`] with `up` giving the parent of a
    /// node above `des`.
    fn designated_type_with<'t>(
        &self,
        root: Node<'t>,
        des: Node<'t>,
        up: &dyn Fn(Node<'t>) -> Option<Node<'t>>,
        src: &[u8],
        dir: Option<&Path>,
    ) -> (Option<CType>, Evidence) {
        let unknown = (None, Evidence::Unknown);
        let Some(pair) = up(des).filter(|p| p.kind() == "initializer_pair") else {
            return unknown;
        };
        let Some(list) = up(pair) else {
            return unknown;
        };
        let (mut t, ev) = self.initialized_type(root, list, up, src, dir);
        let mut cursor = pair.walk();
        for d in pair.children_by_field_name("designator", &mut cursor) {
            if d.id() == des.id() {
                return (t, ev);
            }
            t = t.and_then(|t| self.designated(&t, d, src, dir));
        }
        unknown
    }

    /// The type of the object the brace initializer `list` initializes: a
    /// declared variable, a compound literal, an element of an array or a
    /// designated member of one of those. `up` gives the parent of `list`
    /// and of the nodes above it.
    fn initialized_type<'t>(
        &self,
        root: Node<'t>,
        list: Node<'t>,
        up: &dyn Fn(Node<'t>) -> Option<Node<'t>>,
        src: &[u8],
        dir: Option<&Path>,
    ) -> (Option<CType>, Evidence) {
        let unknown = (None, Evidence::Unknown);
        let Some(p) = up(list) else {
            return unknown;
        };
        match p.kind() {
            "compound_literal_expression" => self.type_of(root, p, src, dir),
            "init_declarator" => {
                let ty = up(p).and_then(|d| d.child_by_field_name("type"));
                let name = p
                    .child_by_field_name("declarator")
                    .and_then(|d| declarator_name(d, src));
                match (ty, name) {
                    (Some(ty), Some((_, ptr))) => (
                        Some(CType::new(&base_text(ty, src), ptr)),
                        Evidence::Certain,
                    ),
                    _ => unknown,
                }
            }
            // An element without a designator: only an array's is known.
            "initializer_list" => {
                let (t, ev) = self.initialized_type(root, p, up, src, dir);
                match t.and_then(|t| self.canonical(&t, src, dir).deref()) {
                    Some(t) => (Some(t), ev),
                    None => unknown,
                }
            }
            "initializer_pair" => {
                let Some(outer) = up(p) else {
                    return unknown;
                };
                let (mut t, ev) = self.initialized_type(root, outer, up, src, dir);
                let mut cursor = p.walk();
                for d in p.children_by_field_name("designator", &mut cursor) {
                    t = t.and_then(|t| self.designated(&t, d, src, dir));
                }
                match t {
                    Some(t) => (Some(t), ev),
                    None => unknown,
                }
            }
            _ => unknown,
        }
    }

    /// The type designator `d` (`.member`, `[i]`) selects in an object of
    /// type `t`.
    fn designated(&self, t: &CType, d: Node, src: &[u8], dir: Option<&Path>) -> Option<CType> {
        let t = self.canonical(t, src, dir);
        match d.kind() {
            "subscript_designator" | "subscript_range_designator" => t.deref(),
            "field_designator" | "field_identifier" => {
                let name = if d.kind() == "field_identifier" {
                    d
                } else {
                    d.named_child(0)?
                };
                if t.ptr != 0 {
                    return None;
                }
                let field = std::str::from_utf8(&src[name.byte_range()]).ok()?;
                let m = self.aggregate_members(&t.base, src, dir)?;
                let ft = m.types.get(field)?;
                if m.anonymous.contains_key(field) {
                    let kw = ft.base.split(' ').next().unwrap_or("struct");
                    return Some(CType::new(&anonymous_type(kw, &t.base, field), ft.ptr));
                }
                Some(ft.clone())
            }
            _ => None,
        }
    }

    /// The type of expression `n` in `src` (the file or region it belongs
    /// to, in directory `dir`), and how sure it is. `root` is the root of
    /// `n`'s tree: a name's scope is found in one descent from it.
    pub fn type_of<'t>(
        &self,
        root: Node<'t>,
        n: Node<'t>,
        src: &[u8],
        dir: Option<&Path>,
    ) -> (Option<CType>, Evidence) {
        let n = syntax::strip_parens(n);
        let text = |x: Node| std::str::from_utf8(&src[x.byte_range()]).unwrap_or("");
        match n.kind() {
            "identifier" => {
                let above = locals::above(root, n);
                match declared_type(n, &above, src) {
                    Some(t) => (Some(t), Evidence::Certain),
                    None => match iterator_type(n, &above, src) {
                        Some(t) => (Some(t), Evidence::Likely),
                        None => (None, Evidence::Unknown),
                    },
                }
            }
            "field_expression" => {
                let (Some(base), Some(field)) = (
                    n.child_by_field_name("argument"),
                    n.child_by_field_name("field"),
                ) else {
                    return (None, Evidence::Unknown);
                };
                let arrow = n
                    .child_by_field_name("operator")
                    .is_some_and(|o| text(o) == "->");
                let (bt, ev) = self.type_of(root, base, src, dir);
                let Some(bt) = bt.map(|t| self.canonical(&t, src, dir)) else {
                    return (None, Evidence::Unknown);
                };
                if bt.ptr != u8::from(arrow) {
                    return (None, Evidence::Unknown);
                }
                let Some(m) = self.aggregate_members(&bt.base, src, dir) else {
                    return (None, Evidence::Unknown);
                };
                let field = text(field);
                match m.types.get(field) {
                    Some(t) if m.anonymous.contains_key(field) => {
                        let kw = t.base.split(' ').next().unwrap_or("struct");
                        let named = anonymous_type(kw, &bt.base, field);
                        (Some(CType::new(&named, t.ptr)), ev)
                    }
                    Some(t) => (Some(t.clone()), ev),
                    None => (None, Evidence::Unknown),
                }
            }
            "subscript_expression" => {
                let Some(a) = n.child_by_field_name("argument") else {
                    return (None, Evidence::Unknown);
                };
                let (t, ev) = self.type_of(root, a, src, dir);
                match t
                    .map(|t| self.canonical(&t, src, dir))
                    .and_then(|t| t.deref())
                {
                    Some(t) => (Some(t), ev),
                    None => (None, Evidence::Unknown),
                }
            }
            "pointer_expression" => {
                let Some(a) = n.child_by_field_name("argument") else {
                    return (None, Evidence::Unknown);
                };
                let op = n.child_by_field_name("operator").map(text).unwrap_or("");
                let (t, ev) = self.type_of(root, a, src, dir);
                let t = t.map(|t| self.canonical(&t, src, dir));
                let t = match op {
                    "&" => t.map(|t| t.addr()),
                    "*" => t.and_then(|t| t.deref()),
                    _ => None,
                };
                match t {
                    Some(t) => (Some(t), ev),
                    None => (None, Evidence::Unknown),
                }
            }
            "call_expression" => {
                let Some(f) = n.child_by_field_name("function").map(syntax::strip_parens) else {
                    return (None, Evidence::Unknown);
                };
                // A local or parameter of that name (a function pointer)
                // hides the function.
                if f.kind() != "identifier" || declares_locally(f, &locals::above(root, f), src) {
                    return (None, Evidence::Unknown);
                }
                match self.function_type(text(f), src, dir) {
                    Some(t) => (Some(t), Evidence::Certain),
                    None => (None, Evidence::Unknown),
                }
            }
            "cast_expression" | "compound_literal_expression" => {
                match n
                    .child_by_field_name("type")
                    .and_then(|t| descriptor_type(t, src))
                {
                    Some(t) => (Some(t), Evidence::Certain),
                    None => (None, Evidence::Unknown),
                }
            }
            _ => (None, Evidence::Unknown),
        }
    }
}

/// The struct or union whose member the field identifier `name`
/// declares (`struct bio_vec` for its `bv_page`), when it is a member's
/// declarator: not an access, not a designator.
pub fn member_owner(name: Node, src: &[u8]) -> Option<String> {
    decl::member_owner(name, src)
}

/// The directories to index for a run over `paths`: the `include` of the
/// kernel tree around them, else the directories given.
pub fn roots(paths: &[PathBuf]) -> Vec<PathBuf> {
    crate::c::definition::search_roots(paths)
        .into_iter()
        .filter(|r| r.is_dir())
        .collect()
}

/// True when a local or a parameter visible at `n` (a node of the tree
/// whose root is `root`) declares `name` (as anything): a call of a
/// function of that name written there would call the local instead, and
/// not compile.
pub fn declared_in_scope(root: Node, n: Node, src: &[u8], name: &[u8]) -> bool {
    locals::declares(n, &locals::above(root, n), src, name)
}

thread_local! {
    /// What the file being matched says of names, for the file last asked
    /// about on this thread (see [`local_memo`]).
    static LOCAL: std::cell::RefCell<LocalMemo> = std::cell::RefCell::new(LocalMemo::default());
}

/// The answers of one file's own declarations, per name.
#[derive(Default)]
struct LocalMemo {
    /// The file's address, length and hash of its bytes.
    key: (usize, usize, u64),
    members: HashMap<String, Option<Arc<Members>>>,
    typedefs: HashMap<String, Option<CType>>,
    functions: HashMap<String, Declared>,
}

/// Runs `f` on the answers already found in `local` (the file being
/// matched). A type query per site would otherwise read the whole file,
/// and parse it whole where its items do not parse, each time: quadratic
/// in a broken file with many sites (found by fuzz/, a 73 KB input took
/// 19 s).
fn local_memo<T>(local: &[u8], f: impl FnOnce(&mut LocalMemo) -> T) -> T {
    use std::hash::Hasher;
    let mut h = std::collections::hash_map::DefaultHasher::new();
    h.write(local);
    let key = (local.as_ptr() as usize, local.len(), h.finish());
    LOCAL.with(|m| {
        let mut m = m.borrow_mut();
        if m.key != key {
            *m = LocalMemo {
                key,
                ..LocalMemo::default()
            };
        }
        f(&mut m)
    })
}

/// The first place where `src` (tree `root`) declares `name` as something
/// other than a function: a variable (`"a local variable"` inside a
/// function, `"a variable"` outside), a parameter of a function
/// definition, a typedef or an enumerator. Where such a declaration is
/// visible, a call `name(...)` does not reach a function of that name:
/// returns its offset and what it declares. Members are another name
/// space, and functions (prototypes, definitions) are the helpers' own
/// business: neither is returned.
pub fn non_function_declaration(
    root: Node,
    src: &[u8],
    name: &str,
) -> Option<(usize, &'static str)> {
    crate::c::source::word_occurrences(src, name)
        .into_iter()
        .find_map(|o| {
            let id = root.descendant_for_byte_range(o, o + name.len())?;
            let named = matches!(id.kind(), "identifier" | "type_identifier")
                && id.byte_range() == (o..o + name.len());
            named
                .then(|| declaration_role(root, id))
                .flatten()
                .map(|what| (o, what))
        })
}

/// What the identifier `id` declares, when it is the name a declaration
/// introduces and not a function's (see [`non_function_declaration`]).
/// `root` is the root of `id`'s tree: the nodes above `id` are found in one
/// descent from it.
fn declaration_role(root: Node, id: Node) -> Option<&'static str> {
    let is_field = |p: Node, field: &str, cur: Node| {
        let mut c = p.walk();
        let found = p
            .children_by_field_name(field, &mut c)
            .any(|d| d.id() == cur.id());
        found
    };
    let above = locals::above(root, id);
    // `above[i]` is the parent of `cur`.
    let mut i = above.len();
    let mut cur = id;
    let mut pointer = false;
    loop {
        i = i.checked_sub(1)?;
        let p = above[i];
        match p.kind() {
            "parenthesized_declarator" => {}
            "pointer_declarator"
            | "array_declarator"
            | "init_declarator"
            | "attributed_declarator" => {
                if !is_field(p, "declarator", cur) {
                    return None;
                }
                pointer |= p.kind() != "init_declarator" && p.kind() != "attributed_declarator";
            }
            "function_declarator" => {
                // A function's own name (not a pointer to one).
                if !is_field(p, "declarator", cur) || !pointer {
                    return None;
                }
            }
            "declaration" => {
                if !is_field(p, "declarator", cur) {
                    return None;
                }
                if above[..i].iter().any(|n| n.kind() == "function_definition") {
                    return Some("a local variable");
                }
                return Some("a variable");
            }
            "parameter_declaration" => {
                // Only a definition's parameters are in a scope of code:
                // the parameter list's declarator's parent.
                let def = i
                    .checked_sub(3)
                    .is_some_and(|d| above[d].kind() == "function_definition");
                return (is_field(p, "declarator", cur) && def).then_some("a parameter");
            }
            "type_definition" => {
                return is_field(p, "declarator", cur).then_some("a typedef");
            }
            "enumerator" => return is_field(p, "name", cur).then_some("an enumerator"),
            _ => return None,
        }
        cur = p;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use decl::{collect_members, declarations_text, find_struct};
    use headers::{defined_names, function_name_offsets};
    use std::fs;

    /// The type of the expression `expr`, written as `x(expr);` or
    /// `= expr;` in `code` (a file), as an index without headers sees it.
    fn ty(code: &str, expr: &str) -> (Option<String>, Evidence) {
        ty_in(&TypeIndex::default(), code, expr)
    }

    /// The type of `expr` in `code`, as `idx` sees it.
    fn ty_in(idx: &TypeIndex, code: &str, expr: &str) -> (Option<String>, Evidence) {
        let tree = syntax::parse(code.as_bytes());
        // As the argument of `x(...)`, or alone on the right of `=`.
        let at = code
            .find(&format!("x({expr});"))
            .map(|k| k + 2)
            .or_else(|| code.find(&format!("= {expr};")).map(|k| k + 2))
            .expect("the expression is in the code");
        let n = tree
            .root_node()
            .descendant_for_byte_range(at, at + expr.len())
            .unwrap();
        let mut n = n;
        while n.byte_range() != (at..at + expr.len()) {
            n = n.parent().unwrap();
        }
        let (t, ev) = idx.type_of(tree.root_node(), n, code.as_bytes(), None);
        (t.map(|t| t.to_string()), ev)
    }

    /// The fixtures' and rule tests' C files, whole and cut at two thirds
    /// (broken code).
    fn texts_to_check() -> Vec<Vec<u8>> {
        let root = env!("CARGO_MANIFEST_DIR");
        let mut dirs = vec![
            Path::new(root).join("fixtures"),
            Path::new(root).join("rules/tests"),
        ];
        let mut texts = Vec::new();
        while let Some(d) = dirs.pop() {
            for e in fs::read_dir(&d).unwrap() {
                let p = e.unwrap().path();
                if p.is_dir() {
                    dirs.push(p);
                } else if p.extension().is_some_and(|x| x == "c" || x == "h") {
                    let t = fs::read(&p).unwrap();
                    texts.push(t[..t.len() * 2 / 3].to_vec());
                    texts.push(t);
                }
            }
        }
        texts
    }

    /// The nodes above `n`, the root first, by a loop of `Node::parent`:
    /// how the scope of a name was found before it took one descent.
    fn above_by_parents(n: Node) -> Vec<Node> {
        let mut up = Vec::new();
        let mut cur = n;
        while let Some(p) = cur.parent() {
            up.push(p);
            cur = p;
        }
        up.reverse();
        up
    }

    /// The outermost function around `n`, as `iterator_type` found it by
    /// walking up with `Node::parent`.
    fn outermost_function_by_parents(n: Node) -> Option<Node> {
        let mut scope = None;
        let mut cur = n;
        while let Some(p) = cur.parent() {
            if p.kind() == "function_definition" {
                scope = Some(p);
            }
            cur = p;
        }
        scope
    }

    #[test]
    fn scopes_found_in_one_descent_agree_with_the_walk_up_by_parents() {
        let idx = TypeIndex::default();
        let ids = |v: &[Node]| v.iter().map(|n| n.id()).collect::<Vec<_>>();
        let (mut names, mut declared, mut iterated, mut designators, mut typed) = (0, 0, 0, 0, 0);
        for text in texts_to_check() {
            let tree = syntax::parse(&text);
            let root = tree.root_node();
            let mut stack = vec![root];
            while let Some(n) = stack.pop() {
                let mut c = n.walk();
                stack.extend(n.children(&mut c));
                match n.kind() {
                    "identifier" => {
                        let above = locals::above(root, n);
                        let by_parents = above_by_parents(n);
                        assert_eq!(ids(&above), ids(&by_parents));
                        let old = by_parents.into_iter().rev();
                        let old = locals::declarations_in(old, n);
                        let new = locals::visible_declarations_from(root, n);
                        assert_eq!(ids(&new), ids(&old));
                        let t = declared_type(n, &above, &text);
                        declared += usize::from(t.is_some());
                        let scope: Vec<Node> =
                            outermost_function_by_parents(n).into_iter().collect();
                        let it = iterator_type(n, &above, &text);
                        assert_eq!(it, iterator_type(n, &scope, &text));
                        iterated += usize::from(it.is_some());
                        names += 1;
                    }
                    "field_designator" => {
                        let new = idx.designated_type(root, n, &text, None);
                        let old = idx.designated_type_with(root, n, &|x| x.parent(), &text, None);
                        assert_eq!(new, old);
                        designators += 1;
                        typed += usize::from(new.0.is_some());
                    }
                    _ => {}
                }
            }
        }
        // The property was checked where the answers are not empty.
        assert!(
            names > 5000 && declared > 500 && iterated > 20 && designators > 20 && typed > 10,
            "{names} names, {declared} declared, {iterated} iterated, {designators} designators, {typed} typed"
        );
    }

    #[test]
    fn the_scope_index_answers_as_the_scan_of_the_blocks_does() {
        let (mut names, mut typed, mut declared) = (0, 0, 0);
        for text in texts_to_check() {
            let tree = syntax::parse(&text);
            let root = tree.root_node();
            let mut ids = Vec::new();
            let mut stack = vec![root];
            while let Some(n) = stack.pop() {
                let mut c = n.walk();
                stack.extend(n.children(&mut c));
                if n.kind() == "identifier" {
                    ids.push(n);
                }
            }
            // Each identifier's own name, and names a replacement calls.
            let ask = |n: Node| {
                let above = locals::above(root, n);
                let others = [&b"bvec_page"[..], b"page", b"len", b"i"];
                (
                    declared_type(n, &above, &text),
                    declares_locally(n, &above, &text),
                    others.map(|o| declared_in_scope(root, n, &text, o)),
                )
            };
            let scanned: Vec<_> = ids.iter().map(|&n| ask(n)).collect();
            let guard = index_scopes(root, &text);
            let indexed: Vec<_> = ids.iter().map(|&n| ask(n)).collect();
            drop(guard);
            for ((n, s), i) in ids.iter().zip(&scanned).zip(&indexed) {
                assert_eq!(s, i, "{:?} at {}", n.utf8_text(&text), n.start_byte());
                names += 1;
                typed += usize::from(s.0.is_some());
                declared += usize::from(s.1);
            }
        }
        assert!(
            names > 5000 && typed > 500 && declared > 500,
            "{names} names, {typed} typed, {declared} declared"
        );
    }

    /// [`declaration_role`] as it was, walking up by `Node::parent`: the
    /// oracle the one-descent version must agree with.
    fn declaration_role_by_parents(id: Node) -> Option<&'static str> {
        let is_field = |p: Node, field: &str, cur: Node| {
            let mut c = p.walk();
            let found = p
                .children_by_field_name(field, &mut c)
                .any(|d| d.id() == cur.id());
            found
        };
        let mut cur = id;
        let mut pointer = false;
        loop {
            let p = cur.parent()?;
            match p.kind() {
                "parenthesized_declarator" => {}
                "pointer_declarator"
                | "array_declarator"
                | "init_declarator"
                | "attributed_declarator" => {
                    if !is_field(p, "declarator", cur) {
                        return None;
                    }
                    pointer |= p.kind() != "init_declarator" && p.kind() != "attributed_declarator";
                }
                "function_declarator" => {
                    // A function's own name (not a pointer to one).
                    if !is_field(p, "declarator", cur) || !pointer {
                        return None;
                    }
                }
                "declaration" => {
                    if !is_field(p, "declarator", cur) {
                        return None;
                    }
                    let mut a = p.parent();
                    while let Some(n) = a {
                        if n.kind() == "function_definition" {
                            return Some("a local variable");
                        }
                        a = n.parent();
                    }
                    return Some("a variable");
                }
                "parameter_declaration" => {
                    // Only a definition's parameters are in a scope of code.
                    let def = p
                        .parent()
                        .and_then(|l| l.parent())
                        .and_then(|f| f.parent())
                        .is_some_and(|d| d.kind() == "function_definition");
                    return (is_field(p, "declarator", cur) && def).then_some("a parameter");
                }
                "type_definition" => {
                    return is_field(p, "declarator", cur).then_some("a typedef");
                }
                "enumerator" => return is_field(p, "name", cur).then_some("an enumerator"),
                _ => return None,
            }
            cur = p;
        }
    }

    #[test]
    fn declaration_roles_found_in_one_descent_agree_with_the_walk_up_by_parents() {
        let mut roles = std::collections::BTreeMap::new();
        for text in texts_to_check() {
            let tree = syntax::parse(&text);
            let root = tree.root_node();
            let mut stack = vec![root];
            while let Some(n) = stack.pop() {
                let mut c = n.walk();
                stack.extend(n.children(&mut c));
                if matches!(n.kind(), "identifier" | "type_identifier") {
                    let role = declaration_role(root, n);
                    assert_eq!(role, declaration_role_by_parents(n), "{:?}", n.byte_range());
                    *roles.entry(role).or_insert(0) += 1;
                }
            }
        }
        // Every role was met, and names that declare nothing.
        assert_eq!(roles.len(), 6, "{roles:?}");
    }

    #[test]
    fn non_function_declarations_are_variables_parameters_typedefs_enumerators() {
        let decl = |code: &str, name: &str| {
            let tree = syntax::parse(code.as_bytes());
            non_function_declaration(tree.root_node(), code.as_bytes(), name).map(|(_, w)| w)
        };
        let f = "static inline unsigned int h(const struct bio_vec *b) { return 0; }\n";
        assert_eq!(
            decl(&format!("{f}void g(void) {{ u32 h; h = 1; }}"), "h"),
            Some("a local variable")
        );
        assert_eq!(
            decl("void g(void) { for (int h = 0; h < 2; h++) ; }", "h"),
            Some("a local variable")
        );
        assert_eq!(
            decl("void g(void) { int *h[3] = { 0 }; }", "h"),
            Some("a local variable")
        );
        assert_eq!(decl("void g(int (*h)(int)) { }", "h"), Some("a parameter"));
        assert_eq!(decl("void g(int h) { }", "h"), Some("a parameter"));
        assert_eq!(decl("static int h;", "h"), Some("a variable"));
        assert_eq!(decl("static int (*h)(void);", "h"), Some("a variable"));
        assert_eq!(decl("typedef int h;", "h"), Some("a typedef"));
        assert_eq!(decl("enum e { h = 1 };", "h"), Some("an enumerator"));
        // Functions, members, uses, prototypes' parameters: not variables.
        assert_eq!(decl(f, "h"), None);
        assert_eq!(decl("int h(int);", "h"), None);
        assert_eq!(decl("void g(int h);", "h"), None);
        assert_eq!(decl("struct s { int h; };", "h"), None);
        assert_eq!(decl("void g(int x) { x = h(1); int y = h; }", "h"), None);
        assert_eq!(decl("void g(void) { int a[h]; }", "h"), None);
    }

    const HEADER: &str = "\
struct page;
struct bio_vec { struct page *bv_page; unsigned int bv_len; };
typedef struct bio_vec skb_frag_t;
struct bvec_iter { unsigned int bi_idx; };
struct bio { struct bio_vec *bi_io_vec; struct bio_vec bi_inline_vecs[4]; };
struct request { struct bio_vec special_vec; struct bio *bio; };
";

    #[test]
    fn types_from_declarations_members_and_operators() {
        let code = format!(
            "{HEADER}\
void f(struct bio *bio, struct request *req, skb_frag_t *frag, int i)
{{
\tstruct bio_vec bv, *p = &bv;
\tstruct bvec_iter iter;
\tx(bio->bi_io_vec);
\tx(&bio->bi_io_vec[i]);
\tx(bio->bi_inline_vecs[i]);
\tx(req->special_vec);
\tx(req->bio->bi_io_vec->bv_len);
\tx((struct bio_vec *)q);
\tx(*p);
\tx(frag);
\tx(g(i)->bi_io_vec);
\tx(nowhere);
}}
"
        );
        let t = |e: &str| ty(&code, e);
        let certain = |s: &str| (Some(s.to_string()), Evidence::Certain);
        assert_eq!(t("bio->bi_io_vec"), certain("struct bio_vec *"));
        assert_eq!(t("&bio->bi_io_vec[i]"), certain("struct bio_vec *"));
        assert_eq!(t("bio->bi_inline_vecs[i]"), certain("struct bio_vec"));
        assert_eq!(t("req->special_vec"), certain("struct bio_vec"));
        assert_eq!(t("req->bio->bi_io_vec->bv_len"), certain("unsigned int"));
        assert_eq!(t("(struct bio_vec *)q"), certain("struct bio_vec *"));
        assert_eq!(t("*p"), certain("struct bio_vec"));
        assert_eq!(t("frag"), certain("skb_frag_t *"));
        assert_eq!(t("g(i)->bi_io_vec"), (None, Evidence::Unknown));
        assert_eq!(t("nowhere"), (None, Evidence::Unknown));
        let idx = TypeIndex::default();
        assert_eq!(
            idx.canonical(&CType::new("skb_frag_t", 1), code.as_bytes(), None),
            CType::new("struct bio_vec", 1)
        );
    }

    #[test]
    fn iterator_macros_make_a_variable_likely_a_bio_vec() {
        let code = "\
void f(struct bio *bio)
{
\tbio_for_each_segment(bv, bio, iter) {
\t\ty = bv;
\t}
\tbio_for_each_segment_all(pv, bio, it) {
\t\tz = pv;
\t}
}
";
        let (t, ev) = ty(code, "bv");
        assert_eq!(
            (t.as_deref(), ev),
            (Some("struct bio_vec"), Evidence::Likely)
        );
        let (t, ev) = ty(code, "pv");
        assert_eq!(
            (t.as_deref(), ev),
            (Some("struct bio_vec *"), Evidence::Likely)
        );
    }

    #[test]
    fn headers_are_indexed_for_struct_members() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir_all(dir.path().join("linux")).unwrap();
        fs::write(dir.path().join("linux/blk.h"), HEADER).unwrap();
        let idx = TypeIndex::new(vec![dir.path().to_path_buf()]);
        let code = "void f(struct request *rq) { x(rq->special_vec); }\n";
        let tree = syntax::parse(code.as_bytes());
        let at = code.find("rq->special_vec").unwrap();
        let mut n = tree
            .root_node()
            .descendant_for_byte_range(at, at + 15)
            .unwrap();
        while n.kind() != "field_expression" {
            n = n.parent().unwrap();
        }
        let (t, ev) = idx.type_of(tree.root_node(), n, code.as_bytes(), None);
        assert_eq!(t, Some(CType::new("struct bio_vec", 0)));
        assert_eq!(ev, Evidence::Certain);
    }

    /// The members of `struct name` as the whole of `text` parsed at once
    /// gives them: the simple path the sliced lookup must agree with.
    fn whole_file_members(text: &[u8], name: &str) -> Option<Members> {
        let blanked = declarations_text(text);
        let tree = syntax::parse(&blanked);
        let body = find_struct(tree.root_node(), &blanked, "struct", name)?;
        let mut members = Members::default();
        collect_members(body, &blanked, &mut members);
        Some(members)
    }

    #[test]
    fn parsing_only_the_definition_agrees_with_parsing_the_file() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/include/linux");
        let mut texts: Vec<Vec<u8>> = fs::read_dir(&dir)
            .unwrap()
            .map(|e| fs::read(e.unwrap().path()).unwrap())
            .collect();
        let cases = [
            // Named in a comment and in a macro body before it is defined.
            "/* struct bv { int no; } */\n#define BV struct bv { int no; }\nstruct bv { int yes; };\n",
            // Braces that balance only per branch: the guess fails, the
            // file is parsed.
            "#ifdef A\nstruct bv { int a;\n#else\nstruct bv { long b;\n#endif\n};\n",
            // Inside a typedef, and nested in another struct.
            "typedef struct bv { struct inner { int i; } in; } bv_t;\n",
            // Only in a comment or a directive: no definition.
            "/* struct bv { int no; }; */\n#define X struct bv { int no; }\n",
        ];
        texts.extend(cases.map(|t| t.as_bytes().to_vec()));
        let mut n_checked = 0;
        for text in &texts {
            let mut names = defined_names(text);
            names.extend(["bv", "inner"].map(String::from));
            for name in names {
                assert_eq!(
                    struct_members(text, "struct", &name),
                    whole_file_members(text, &name),
                    "struct {name} in:\n{}",
                    String::from_utf8_lossy(text)
                );
                n_checked += 1;
            }
        }
        assert!(n_checked > 40, "only {n_checked} lookups compared");
        // And the cases find what they should.
        let found =
            |case: usize, name: &str| struct_members(cases[case].as_bytes(), "struct", name);
        let yes = found(0, "bv").unwrap();
        assert_eq!(yes.types.keys().collect::<Vec<_>>(), ["yes"]);
        // Tree-sitter reads the `#else` branch's opening as the struct.
        assert!(found(1, "bv").unwrap().types.contains_key("b"));
        let inner = found(2, "inner").unwrap();
        assert_eq!(inner.types.get("i"), Some(&CType::new("int", 0)));
        assert_eq!(found(3, "bv"), None);
    }

    #[test]
    fn a_memo_computes_each_key_once_across_threads() {
        let memo: Memo<u32, u32> = Memo::default();
        let calls = std::sync::atomic::AtomicUsize::new(0);
        std::thread::scope(|s| {
            for _ in 0..8 {
                s.spawn(|| {
                    for k in 0..50 {
                        let v = memo.get(k, || {
                            calls.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                            k * 2
                        });
                        assert_eq!(v, k * 2);
                    }
                });
            }
        });
        assert_eq!(calls.into_inner(), 50);
    }

    #[test]
    fn structs_beside_the_file_are_looked_up_per_directory() {
        let tree = tempfile::tempdir().unwrap();
        let (a, b) = (tree.path().join("a"), tree.path().join("b"));
        fs::create_dir_all(&a).unwrap();
        fs::create_dir_all(&b).unwrap();
        fs::write(a.join("ctx.h"), "struct ctx { struct bio_vec bv; };\n").unwrap();
        fs::write(b.join("ctx.h"), "struct ctx { struct page *bv; };\n").unwrap();
        let idx = TypeIndex::new(vec![tree.path().join("include")]);
        let bv = |dir: &Path| {
            idx.members("struct", "ctx", b"", Some(dir))
                .and_then(|m| m.types.get("bv").cloned())
        };
        assert_eq!(bv(&a), Some(CType::new("struct bio_vec", 0)));
        assert_eq!(bv(&b), Some(CType::new("struct page", 1)));
        assert_eq!(bv(tree.path()), None);
    }

    #[test]
    fn calls_have_the_return_type_their_declaration_gives() {
        let code = format!(
            "{HEADER}\
struct bio_vec *lookup(int i);
static inline struct bio_vec *
first(struct bio *bio)
{{
\treturn bio->bi_io_vec;
}}
struct bio_vec *twice(int i);
struct page *twice(int i);
struct bio_vec *via_macro(int i);
#define via_macro(i) lookup(i)
struct bio_vec *(*getter(int i))(void);
struct bio_vec *hook(int i);
void f(struct bio *bio, int i, struct page *(*hook)(int))
{{
\tx(lookup(i));
\tx(first(bio)->bv_len);
\tx((first)(bio));
\tx(via_macro(i));
\tx(hook(i));
\tx(twice(i));
\tx(getter(i));
\tx(undeclared(i));
\tx(bio->ops->get(i));
}}
"
        );
        let t = |e: &str| ty(&code, e);
        let certain = |s: &str| (Some(s.to_string()), Evidence::Certain);
        let unknown = (None, Evidence::Unknown);
        assert_eq!(t("lookup(i)"), certain("struct bio_vec *"));
        assert_eq!(t("first(bio)->bv_len"), certain("unsigned int"));
        assert_eq!(t("(first)(bio)"), certain("struct bio_vec *"));
        // A macro's result has no declared type; it hides the function.
        assert_eq!(t("via_macro(i)"), unknown);
        // So does a parameter.
        assert_eq!(t("hook(i)"), unknown);
        // Declarations that disagree tell nothing.
        assert_eq!(t("twice(i)"), unknown);
        // A function that returns a function pointer.
        assert_eq!(t("getter(i)"), unknown);
        assert_eq!(t("undeclared(i)"), unknown);
        assert_eq!(t("bio->ops->get(i)"), unknown);
    }

    #[test]
    fn return_types_come_from_the_headers_unless_a_macro_hides_them() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir_all(dir.path().join("linux")).unwrap();
        let bio_h = format!(
            "{HEADER}\
#ifdef CONFIG_BLK
static inline struct bio_vec *bio_first_bvec_all(struct bio *bio)
{{
\tWARN_ON_ONCE(bio_flagged(bio, BIO_CLONED));
\treturn bio->bi_io_vec;
}}
#else
static inline struct bio_vec *bio_first_bvec_all(struct bio *bio) {{ return NULL; }}
#endif
struct bio_vec *bvec_at(struct bio *bio, int i);
struct bio_vec *odd(int i);
"
        );
        fs::write(dir.path().join("linux/bio.h"), bio_h).unwrap();
        fs::write(
            dir.path().join("linux/bvec.h"),
            "/* bvec_at() is in bio.h */\n#define odd(i) (&table[i])\n",
        )
        .unwrap();
        let idx = TypeIndex::new(vec![dir.path().to_path_buf()]);
        let code = "\
void f(struct bio *bio, int i)
{
\tx(bio_first_bvec_all(bio));
\tx(bvec_at(bio, i));
\tx(odd(i));
\tx(nowhere(i));
}
";
        let t = |e: &str| ty_in(&idx, code, e);
        let certain = |s: &str| (Some(s.to_string()), Evidence::Certain);
        assert_eq!(t("bio_first_bvec_all(bio)"), certain("struct bio_vec *"));
        assert_eq!(t("bvec_at(bio, i)"), certain("struct bio_vec *"));
        // bio.h declares it, bvec.h makes it a macro.
        assert_eq!(t("odd(i)"), (None, Evidence::Unknown));
        assert_eq!(t("nowhere(i)"), (None, Evidence::Unknown));
    }

    #[test]
    fn names_that_look_declared_as_functions() {
        let text = b"\
static inline struct bio_vec *first(struct bio *bio)
{
\tif (x)
\t\treturn second(bio);
\tthird(bio);
\ty = fourth(bio) + fifth (bio);
\tint z = sixth(bio);
}
struct page *
seventh (int a);
#define eighth(x) ninth(x)
__printf(1, 2) void tenth(const char *fmt, ...);
";
        let names: Vec<&str> = function_name_offsets(text)
            .map(|(s, e)| std::str::from_utf8(&text[s..e]).unwrap())
            .collect();
        assert_eq!(names, ["first", "seventh", "eighth", "tenth"]);
    }

    #[test]
    fn members_of_anonymous_struct_and_union_types_are_known() {
        let code = format!(
            "{HEADER}\
struct iovec;
union vecs {{ struct iovec *iovec; struct bio_vec *bvec; }};
struct iotlb_vec {{
\tunion {{
\t\tstruct iovec *iovec;
\t\tstruct bio_vec *bvec;
\t}} iov;
\tstruct {{
\t\tunion {{ struct bio_vec one; int none; }} inner;
\t\tstruct {{ struct bio_vec many[2]; }} *more;
\t}} deep[4];
\tunion {{ struct bio_vec flat; }};
\tint count;
}};
void f(struct iotlb_vec ivec, struct iotlb_vec *p, union vecs *u, int i)
{{
\tunion {{ struct bio_vec bvec[2]; }} local;
\tx(ivec.iov);
\tx(ivec.iov.bvec[0]);
\tx(p->iov.iovec);
\tx(p->deep[i].inner.one);
\tx(p->deep[i].more->many[1]);
\tx(p->deep[i].more.many);
\tx(p->flat);
\tx(u->bvec);
\tx(local.bvec);
}}
"
        );
        let t = |e: &str| ty(&code, e);
        let certain = |s: &str| (Some(s.to_string()), Evidence::Certain);
        let unknown = (None, Evidence::Unknown);
        assert_eq!(
            t("ivec.iov"),
            certain("union <anonymous: struct iotlb_vec.iov>")
        );
        assert_eq!(t("ivec.iov.bvec[0]"), certain("struct bio_vec"));
        assert_eq!(t("p->iov.iovec"), certain("struct iovec *"));
        assert_eq!(t("p->deep[i].inner.one"), certain("struct bio_vec"));
        assert_eq!(t("p->deep[i].more->many[1]"), certain("struct bio_vec"));
        // `more` is a pointer: `.` does not apply.
        assert_eq!(t("p->deep[i].more.many"), unknown);
        assert_eq!(t("p->flat"), certain("struct bio_vec"));
        assert_eq!(t("u->bvec"), certain("struct bio_vec *"));
        // FIXME: a local of an anonymous type could be looked up in its
        // declaration; it is not yet.
        assert_eq!(t("local.bvec"), unknown);
    }

    #[test]
    fn kernel_attribute_macros_do_not_hide_members_or_functions() {
        let code = format!(
            "{HEADER}\
struct io_mapped_ubuf {{
\tunsigned int nr_bvecs;
\tstruct bio_vec __rcu *cur;
\tstruct bio_vec last __aligned(sizeof(long));
\tstruct bio_vec bvec[] __counted_by(nr_bvecs);
}} __packed;
static inline struct bio_vec * __must_check
pick(struct io_mapped_ubuf *imu);
static __always_inline struct bio_vec *other(int i) {{ return 0; }}
void f(struct io_mapped_ubuf *imu, int i)
{{
\tx(imu->bvec[i]);
\tx(imu->cur);
\tx(imu->last);
\tx(pick(imu));
\tx(other(i));
}}
"
        );
        let t = |e: &str| ty(&code, e);
        let certain = |s: &str| (Some(s.to_string()), Evidence::Certain);
        assert_eq!(t("imu->bvec[i]"), certain("struct bio_vec"));
        assert_eq!(t("imu->cur"), certain("struct bio_vec *"));
        assert_eq!(t("imu->last"), certain("struct bio_vec"));
        assert_eq!(t("pick(imu)"), certain("struct bio_vec *"));
        assert_eq!(t("other(i)"), certain("struct bio_vec *"));
    }

    #[test]
    fn attribute_macros_are_blanked_in_place() {
        let text = "\
#define __aligned(x) __attribute__((aligned(x)))
struct s {
\tu64 a __aligned(sizeof(struct { int x; }));
\tchar __user *p; /* __user */
\tint __counted_by_not;
} __packed;
";
        let out = String::from_utf8(declarations_text(text.as_bytes())).unwrap();
        // Offsets and lines stay.
        assert_eq!(out.len(), text.len());
        let newlines = |t: &str| t.match_indices('\n').map(|(i, _)| i).collect::<Vec<_>>();
        assert_eq!(newlines(&out), newlines(text));
        let trimmed: Vec<&str> = out.lines().map(str::trim_end).collect();
        assert_eq!(
            trimmed,
            [
                "#define __aligned(x) 0",
                "struct s {",
                "\tu64 a                                     ;",
                "\tchar        *p; /*        */",
                "\tint __counted_by_not;",
                "}         ;",
            ]
        );
    }
}
