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
}

impl DefKind {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            DefKind::Function => "defined",
            DefKind::Prototype => "declared",
            DefKind::Macro => "a macro",
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
    for (name_node, params, kind) in found {
        let name = std::str::from_utf8(&blanked[name_node.byte_range()]).unwrap_or_default();
        push(name, params, kind, name_node.start_byte());
    }
    out.sort_by_key(|d| (d.line, d.col));
    out
}

/// Function definitions and prototypes of `names` at file scope (inside
/// preprocessor conditionals too).
fn declarations<'t>(
    n: Node<'t>,
    src: &[u8],
    names: &[&str],
    out: &mut Vec<(Node<'t>, Params, DefKind)>,
) {
    let mut cursor = n.walk();
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
                            out.push((name, params, kind));
                        }
                    }
                }
            }
            k if k.starts_with("preproc_") => declarations(c, src, names, out),
            _ => {}
        }
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
            let Ok(text) = fs::read(path) else { continue };
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
