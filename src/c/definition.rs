//! Definitions of the functions a rule emits, looked up in the tree before
//! its output is trusted. A helper that already exists with another number
//! of parameters (Linux 6.3's four-argument `bvec_set_page()`, which stable
//! trees such as 6.1 have too) turns every call the rule writes into a
//! compile error; Coccinelle writes them without a word.
//!
//! Definitions are found in C text: function definitions and prototypes by
//! tree-sitter (the file with its `#define` bodies blanked), function-like
//! macros by the `source` lexer. Only files that contain one of the names
//! are parsed.

use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};

use tree_sitter::Node;

use crate::c::parsed::ParsedFile;
use crate::c::source::LineIndex;
use crate::c::syntax;

/// How many arguments a definition takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Params {
    /// Exactly this many.
    Exactly(usize),
    /// This many or more (`...`).
    AtLeast(usize),
}

impl Params {
    /// True when a call with `n` arguments fits.
    pub fn accepts(self, n: usize) -> bool {
        match self {
            Params::Exactly(k) => n == k,
            Params::AtLeast(k) => n >= k,
        }
    }
}

impl fmt::Display for Params {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (prefix, k) = match *self {
            Params::Exactly(k) => ("", k),
            Params::AtLeast(k) => ("at least ", k),
        };
        let s = if k == 1 { "" } else { "s" };
        write!(f, "{prefix}{k} parameter{s}")
    }
}

/// What kind of definition was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum DefKind {
    /// A function definition (with a body).
    Function,
    /// A prototype.
    Prototype,
    /// A function-like macro.
    Macro,
    /// A declaration of the name in code that does not parse, whose
    /// parameters cannot be told (its `params` mean nothing): a choice
    /// that depends on it is refused.
    Unreadable,
}

impl DefKind {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            DefKind::Function => "defined",
            DefKind::Prototype => "declared",
            DefKind::Macro => "a macro",
            DefKind::Unreadable => "declared in code that does not parse",
        }
    }
}

/// One definition of a name.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Definition {
    /// The function or macro name.
    pub name: String,
    /// Its parameters.
    pub params: Params,
    /// What it is.
    pub kind: DefKind,
    /// The file, as it is named in messages.
    pub file: String,
    /// 1-based line and column of the name.
    pub line: usize,
    /// 1-based byte column.
    pub col: usize,
}

/// Definitions of any of `names` in C `text`, named `file` in the result,
/// in file order.
pub fn in_text(text: &[u8], file: &str, names: &[&str]) -> Vec<Definition> {
    if !names
        .iter()
        .any(|n| memchr::memmem::find(text, n.as_bytes()).is_some())
    {
        return Vec::new();
    }
    let lines = LineIndex::new(text);
    let mut out = Vec::new();
    let mut push = |name: &str, params, kind, off: usize| {
        let (line, col) = lines.line_col(off);
        out.push(Definition {
            name: name.to_string(),
            params,
            kind,
            file: file.to_string(),
            line,
            col,
        });
    };
    let parsed = ParsedFile::new(text);
    for d in &parsed.defines {
        let (Some(params), true) = (&d.params, names.contains(&d.name.as_str())) else {
            continue;
        };
        let variadic = params.last().is_some_and(|p| p.ends_with("..."));
        let n = params.len() - usize::from(variadic);
        let p = if variadic {
            Params::AtLeast(n)
        } else {
            Params::Exactly(n)
        };
        // The name is the last of its spelling before the body.
        let name_off =
            memchr::memmem::rfind(&text[..d.body.start], d.name.as_bytes()).unwrap_or(d.body.start);
        push(&d.name, p, DefKind::Macro, name_off);
    }
    let blanked = &parsed.blanked;
    let mut found = Vec::new();
    declarations(parsed.root(), blanked, names, &mut found);
    let mut seen: Vec<usize> = found.iter().map(|(n, _, _)| n.start_byte()).collect();
    for (name_node, params, kind) in found {
        let name = std::str::from_utf8(&blanked[name_node.byte_range()]).unwrap_or_default();
        push(name, params, kind, name_node.start_byte());
    }
    // A declaration tree-sitter lost in an ERROR region (junk before it,
    // an unbalanced `#if`) is read from its tokens, or marked unreadable.
    let regions = syntax::ErrorRegions::new(parsed.root());
    for name in names {
        for off in crate::c::source::word_occurrences(blanked, name) {
            if seen.contains(&off) || !in_broken_code(parsed.root(), &regions, off, name.len()) {
                continue;
            }
            seen.push(off);
            match declaration_at(blanked, off, name) {
                Recovered::NotDeclaration => {}
                Recovered::Declaration(params, kind) => push(name, params, kind, off),
                Recovered::Unreadable => push(name, Params::AtLeast(0), DefKind::Unreadable, off),
            }
        }
    }
    out.sort_by_key(|d| (d.line, d.col));
    out
}

/// True when the name at `off` is code inside an ERROR node or a statement
/// or declaration that does not parse (not a comment or string); `regions`
/// are the tree's.
fn in_broken_code(root: Node, regions: &syntax::ErrorRegions, off: usize, len: usize) -> bool {
    let Some(n) = root.descendant_for_byte_range(off, off + len) else {
        return false;
    };
    if matches!(
        n.kind(),
        "comment" | "string_literal" | "string_content" | "char_literal" | "system_lib_string"
    ) {
        return false;
    }
    for x in syntax::path_from(root, n).iter().rev() {
        if x.is_error() || x.is_missing() {
            return true;
        }
        if matches!(x.kind(), "comment" | "string_literal" | "char_literal") {
            return false;
        }
    }
    regions.contains(n)
}

/// What the tokens around a name in broken code say.
enum Recovered {
    /// A call or a mention, not a declaration.
    NotDeclaration,
    /// A definition (`{` follows the parameters) or a prototype (`;`).
    Declaration(Params, DefKind),
    /// Neither can be told.
    Unreadable,
}

/// Reads the declaration of `name` at `off` in `text` from its tokens: a
/// type or `*` before the name (else it is a call), a balanced parameter
/// list after it, parsed alone, and `{` or `;` after that.
fn declaration_at(text: &[u8], off: usize, name: &str) -> Recovered {
    let after = off + name.len();
    let skip_ws = |mut i: usize| {
        while i < text.len() && text[i].is_ascii_whitespace() {
            i += 1;
        }
        i
    };
    let open = skip_ws(after);
    if text.get(open) != Some(&b'(') {
        return Recovered::NotDeclaration;
    }
    // The token before the name: a type name, a qualifier or `*` starts a
    // declarator; anything else (`;`, `=`, `(`, `return`) a call.
    // Directive lines in between are not tokens of the code
    // (`f(1,\n#ifdef X\n bvec_page(b),` is a call).
    let mut b = off;
    loop {
        while b > 0 && text[b - 1].is_ascii_whitespace() {
            b -= 1;
        }
        let line_start = text[..b]
            .iter()
            .rposition(|&c| c == b'\n')
            .map_or(0, |i| i + 1);
        let first = text[line_start..b]
            .iter()
            .position(|c| !matches!(c, b' ' | b'\t'));
        if b == 0 || first.is_none_or(|k| text[line_start + k] != b'#') {
            break;
        }
        b = line_start;
    }
    let before_ok = match b.checked_sub(1).map(|i| text[i]) {
        Some(b'*') => true,
        Some(c) if crate::c::source::is_ident_byte(c) => {
            let mut s = b;
            while s > 0 && crate::c::source::is_ident_byte(text[s - 1]) {
                s -= 1;
            }
            !matches!(
                &text[s..b],
                b"return" | b"else" | b"do" | b"case" | b"goto" | b"sizeof" | b"typeof"
            )
        }
        _ => false,
    };
    if !before_ok {
        return Recovered::NotDeclaration;
    }
    // The parameter list, balanced, without a statement inside.
    let mut depth = 0usize;
    let mut close = None;
    for (i, &c) in text.iter().enumerate().skip(open) {
        match c {
            b'(' => depth += 1,
            b')' => {
                depth -= 1;
                if depth == 0 {
                    close = Some(i);
                    break;
                }
            }
            b';' | b'{' | b'}' => break,
            _ => {}
        }
    }
    let Some(close) = close else {
        return Recovered::Unreadable;
    };
    let kind = match text.get(skip_ws(close + 1)) {
        Some(b'{') => DefKind::Function,
        Some(b';') => DefKind::Prototype,
        _ => return Recovered::Unreadable,
    };
    let mut decl = b"void ".to_vec();
    decl.extend_from_slice(&text[off..=close]);
    decl.extend_from_slice(b";\n");
    let tree = syntax::parse(&decl);
    let root = tree.root_node();
    let mut found = Vec::new();
    declarations(root, &decl, &[name], &mut found);
    match (found.as_slice(), kind) {
        ([(n, params, _)], _)
            if !(root.has_error() || kind == DefKind::Prototype && call_like(*n)) =>
        {
            Recovered::Declaration(*params, kind)
        }
        // Ending in `;`, a list that is not parameters, or whose every
        // parameter is a bare name (`(bv, p)`), is a call's.
        (_, DefKind::Prototype) => Recovered::NotDeclaration,
        _ => Recovered::Unreadable,
    }
}

/// True when the parameters of the declaration whose name is `name` are
/// each one bare name, as a call's arguments are (`f(bv, p)`); a prototype
/// names types (`f(struct bio_vec *, unsigned int)`).
fn call_like(name: Node) -> bool {
    let Some(list) = name
        .parent()
        .and_then(|d| d.child_by_field_name("parameters"))
    else {
        return false;
    };
    let mut cursor = list.walk();
    let params: Vec<Node> = list.named_children(&mut cursor).collect();
    !params.is_empty()
        && params.iter().all(|p| {
            p.kind() == "parameter_declaration"
                && p.child_by_field_name("declarator").is_none()
                && p.child_by_field_name("type")
                    .is_some_and(|t| t.kind() == "type_identifier")
        })
}

/// Function definitions and prototypes of `names` at file scope (inside
/// preprocessor conditionals too, however deep: iterative).
fn declarations<'t>(
    root: Node<'t>,
    src: &[u8],
    names: &[&str],
    out: &mut Vec<(Node<'t>, Params, DefKind)>,
) {
    let mut todo = vec![root];
    while let Some(n) = todo.pop() {
        let mut cursor = n.walk();
        let mut nested = Vec::new();
        for c in n.named_children(&mut cursor) {
            match c.kind() {
                "function_definition" | "declaration" => {
                    let kind = if c.kind() == "function_definition" {
                        DefKind::Function
                    } else {
                        DefKind::Prototype
                    };
                    let mut dc = c.walk();
                    for d in c.children_by_field_name("declarator", &mut dc) {
                        if let Some((name, params)) = function_declarator(d, src) {
                            let text = std::str::from_utf8(&src[name.byte_range()]).unwrap_or("");
                            if names.contains(&text) {
                                // A parameter list with an ERROR or MISSING
                                // node does not say how many there are.
                                let kind = if d.has_error() {
                                    DefKind::Unreadable
                                } else {
                                    kind
                                };
                                out.push((name, params, kind));
                            }
                        }
                    }
                }
                // Tree-sitter keeps whole items inside an ERROR node too.
                k if k.starts_with("preproc_") || k == "ERROR" => nested.push(c),
                _ => {}
            }
        }
        // Children in file order: the last pushed is taken first.
        todo.extend(nested.into_iter().rev());
    }
}

/// The name and parameters of the function that declarator `d` declares.
fn function_declarator<'t>(d: Node<'t>, src: &[u8]) -> Option<(Node<'t>, Params)> {
    let (d, name, _) = syntax::function_declarator(d)?;
    let list = d.child_by_field_name("parameters")?;
    let mut cursor = list.walk();
    let mut n = 0;
    let mut variadic = false;
    for p in list.named_children(&mut cursor) {
        match p.kind() {
            "parameter_declaration" => {
                // `(void)` declares none.
                let only_void = p.child_by_field_name("declarator").is_none()
                    && p.child_by_field_name("type")
                        .is_some_and(|t| &src[t.byte_range()] == b"void");
                if !only_void {
                    n += 1;
                }
            }
            "variadic_parameter" => variadic = true,
            _ => {}
        }
    }
    Some((
        name,
        if variadic {
            Params::AtLeast(n)
        } else {
            Params::Exactly(n)
        },
    ))
}

/// Where to look for the definitions of helpers for a run over `paths`:
/// the `include` directory of each kernel tree they lie in, else the path
/// itself. A kernel tree is the nearest directory, the path or an
/// ancestor, that is a Linux tree's top ([`crate::file::is_kernel_top`]:
/// `Makefile`, `Kconfig` and `include/linux/`) or that is itself one of
/// `paths` and holds `include/linux/` (a kernel-like tree walked whole,
/// such as `fixtures/tree`). A bare `include/linux/` above the paths (a
/// stray one in `/tmp`) does not make a kernel tree.
pub fn search_roots(paths: &[PathBuf]) -> Vec<PathBuf> {
    let given: Vec<PathBuf> = paths
        .iter()
        .filter_map(|p| fs::canonicalize(p).ok())
        .filter(|p| p.is_dir())
        .collect();
    let mut roots: Vec<PathBuf> = Vec::new();
    for p in paths {
        let Ok(abs) = fs::canonicalize(p) else {
            continue;
        };
        let start = if abs.is_dir() {
            abs.clone()
        } else {
            abs.parent().map_or_else(|| abs.clone(), Path::to_path_buf)
        };
        let root = start
            .ancestors()
            .find(|a| {
                crate::file::is_kernel_top(a)
                    || (given.iter().any(|g| g == a) && a.join("include/linux").is_dir())
            })
            .map_or(abs, |a| a.join("include"));
        if !roots.iter().any(|r| root.starts_with(r)) {
            roots.retain(|r| !r.starts_with(&root));
            roots.push(root);
        }
    }
    roots.sort();
    roots
}

/// Definitions of `names` in the C files under `roots` (files or
/// directories), named relative to each root's parent for a directory.
/// Unreadable files are skipped: the walk reports them.
pub fn scan(roots: &[PathBuf], names: &[&str]) -> Vec<Definition> {
    let mut out = Vec::new();
    for root in roots {
        let base = if root.is_dir() {
            root.parent().unwrap_or(root)
        } else {
            root.parent().unwrap_or(Path::new(""))
        };
        let walk = ignore::WalkBuilder::new(root)
            .standard_filters(false)
            .follow_links(false)
            .sort_by_file_path(Path::cmp)
            .build();
        for entry in walk.flatten() {
            let path = entry.path();
            let is_c = matches!(path.extension().and_then(|e| e.to_str()), Some("c" | "h"));
            if !is_c || !entry.file_type().is_some_and(|t| t.is_file()) {
                continue;
            }
            let Ok(text) = crate::file::read(path) else {
                continue;
            };
            let name = path
                .strip_prefix(base)
                .unwrap_or(path)
                .display()
                .to_string();
            out.extend(in_text(&text, &name, names));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(text: &str) -> Vec<(String, Params, DefKind, usize)> {
        in_text(
            text.as_bytes(),
            "x.h",
            &["bvec_set_page", "bvec_page", "bvec_pfn"],
        )
        .into_iter()
        .map(|d| (d.name, d.params, d.kind, d.line))
        .collect()
    }

    #[test]
    fn finds_functions_prototypes_and_macros_with_their_arity() {
        let text = "\
/* bvec_set_page(bv, page) in a comment is not a definition */
static inline void bvec_set_page(struct bio_vec *bv, struct page *page,
\t\tunsigned int len, unsigned int offset)
{
\tbv->bv_page = page;
}
#ifdef CONFIG_X
struct page *bvec_page(const struct bio_vec *bv);
#endif
#define bvec_pfn(bv, ...) ((bv)->bv_pfn)
static inline void other(void) { bvec_page(0); }
";
        assert_eq!(
            found(text),
            vec![
                (
                    "bvec_set_page".into(),
                    Params::Exactly(4),
                    DefKind::Function,
                    2
                ),
                (
                    "bvec_page".into(),
                    Params::Exactly(1),
                    DefKind::Prototype,
                    8
                ),
                ("bvec_pfn".into(), Params::AtLeast(1), DefKind::Macro, 10),
            ]
        );
        assert_eq!(
            found("int bvec_page(void);\nint (*bvec_set_page)(int);\n"),
            vec![(
                "bvec_page".into(),
                Params::Exactly(0),
                DefKind::Prototype,
                1
            )]
        );
    }

    #[test]
    fn definitions_in_code_that_does_not_parse_are_read_or_marked_unreadable() {
        let def = "static inline void bvec_set_page(struct bio_vec *bv, struct page *page,\n\t\tunsigned int len, unsigned int offset)\n{\n\tbv->bv_page = page;\n}\n";
        for junk in [
            "int x = = ;\n@@ garbage ( [\n",
            "#if 0\nstatic void z(void) {\n#endif\n",
            "struct s {\n\tint a\n",
            "}}}\n",
        ] {
            let found = found(&format!("{junk}{def}int y = ) 1;\n"));
            let set: Vec<_> = found.iter().filter(|d| d.0 == "bvec_set_page").collect();
            assert!(!set.is_empty(), "{junk:?}: {found:?}");
            assert!(
                set.iter()
                    .all(|d| d.1 == Params::Exactly(4) || d.2 == DefKind::Unreadable),
                "{junk:?}: {found:?}"
            );
        }
        // Calls in broken code are not definitions.
        let calls = "void f(void) { x = = 1; bvec_set_page(bv, p); return bvec_page(bv); }\n";
        assert_eq!(found(calls), vec![]);
        let after_a_name = "void f(void) {\n#if 0\n\tx = y\n\tbvec_set_page(bv, p);\n}\n";
        assert_eq!(found(after_a_name), vec![]);
        // A directive line between an argument list's comma and the call:
        // the token before the name is the comma, not the directive's.
        let after_a_directive = "void f(void) {\n\tx = = 1;\n\tn += g(1,\n#ifdef CONFIG_X\n\t\tbvec_page(b),\n#endif\n\t\t2);\n}\n";
        assert_eq!(found(after_a_directive), vec![]);
        // A declaration whose parameter list never closes cannot be read.
        let open = found("int x = = ;\nvoid bvec_set_page(struct bio_vec *bv,\n");
        assert_eq!(open.len(), 1);
        assert_eq!(open[0].2, DefKind::Unreadable);
    }

    #[test]
    fn search_roots_are_the_kernel_include_dirs() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().canonicalize().unwrap();
        fs::create_dir_all(root.join("include/linux")).unwrap();
        fs::create_dir_all(root.join("drivers/block")).unwrap();
        fs::write(root.join("drivers/block/a.c"), "").unwrap();
        // A directory with include/linux, walked whole, is a kernel tree.
        assert_eq!(
            search_roots(std::slice::from_ref(&root)),
            vec![root.join("include")]
        );
        // Below it, without Makefile and Kconfig, it is not: a stray
        // include/linux must not make every directory below a kernel tree.
        let part = [root.join("drivers/block"), root.join("drivers/block/a.c")];
        assert_eq!(search_roots(&part), vec![root.join("drivers/block")]);
        fs::write(root.join("Makefile"), "").unwrap();
        fs::write(root.join("Kconfig"), "").unwrap();
        assert_eq!(search_roots(&part), vec![root.join("include")]);
        let other = tempfile::tempdir().unwrap();
        let other = other.path().canonicalize().unwrap();
        assert_eq!(search_roots(std::slice::from_ref(&other)), vec![other]);
    }
}
