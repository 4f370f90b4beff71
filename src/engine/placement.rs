//! Where the output's additions go: the `#include` a file needs for the
//! kernel functions it starts calling, and the definitions of the missing
//! helpers, right after `struct bio_vec` in the tree's
//! `include/linux/bvec.h`.

use std::path::{Path, PathBuf};

use crate::c::definition;
use crate::c::parsed::ParsedFile;
use crate::engine::helpers::Helper;

/// Kernel functions a rule's plus code may call, with the header that
/// declares them: a file that starts calling one gets the `#include`.
pub static INCLUDES: &[(&str, &str)] = &[
    ("page_to_pfn_t", "linux/pfn_t.h"),
    ("pfn_t_to_page", "linux/pfn_t.h"),
    ("pfn_t_to_pfn", "linux/pfn_t.h"),
    ("pfn_t_to_phys", "linux/pfn_t.h"),
    ("pfn_to_pfn_t", "linux/pfn_t.h"),
    ("phys_to_pfn_t", "linux/pfn_t.h"),
];

/// `new` (a rewrite of `old`) with the `#include` lines of [`INCLUDES`]
/// that its new calls need and it lacks, after its last `#include <...>`
/// line; `None` when nothing is needed or the file has no such line to
/// follow (a file with no includes is left to a human).
pub fn add_includes(old: &[u8], new: &[u8]) -> Option<Vec<u8>> {
    let count = |t: &[u8], w: &str| crate::c::source::word_occurrences(t, w).len();
    let mut needed: Vec<&str> = Vec::new();
    for (func, header) in INCLUDES {
        let line = format!("#include <{header}>");
        let has = memchr::memmem::find(new, line.as_bytes()).is_some();
        if count(new, func) > count(old, func) && !has && !needed.contains(header) {
            needed.push(header);
        }
    }
    if needed.is_empty() {
        return None;
    }
    // After the last `#include <...>` at the start of a line.
    let mut at = None;
    let mut pos = 0;
    for line in new.split_inclusive(|b| *b == b'\n') {
        if line.starts_with(b"#include <") {
            at = Some(pos + line.len());
        }
        pos += line.len();
    }
    let at = at?;
    let mut out = Vec::with_capacity(new.len() + 32 * needed.len());
    out.extend_from_slice(&new[..at]);
    if !out.ends_with(b"\n") {
        out.push(b'\n');
    }
    for h in needed {
        out.extend_from_slice(format!("#include <{h}>\n").as_bytes());
    }
    out.extend_from_slice(&new[at..]);
    Some(out)
}

/// The header the helpers go into, relative to a kernel tree.
pub const BVEC_HEADER: &str = "include/linux/bvec.h";

/// The kernel tree root above `paths` whose `include/linux/bvec.h` gets the
/// missing helpers, if there is one.
pub fn bvec_header(paths: &[PathBuf]) -> Option<PathBuf> {
    definition::search_roots(paths)
        .into_iter()
        .filter(|r| r.ends_with("include"))
        .filter_map(|r| r.parent().map(Path::to_path_buf))
        .map(|root| root.join(BVEC_HEADER))
        // Anything at that name, a FIFO too: reading it then is an error
        // naming it (a helper-less patch would not compile).
        .find(|h| h.exists())
}

/// Why the helpers could not be placed in a header.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Unplaced {
    /// The header does not define `struct bio_vec`.
    #[error("no definition of struct bio_vec to add the helpers after")]
    NoStruct,
    /// Every definition is in a branch that is never compiled (`#if 0`).
    #[error("struct bio_vec is defined only under #if 0 (line {0}), where helpers would not be compiled; add them by hand or pass --no-helpers")]
    OnlyDead(usize),
    /// Several definitions are compiled, in different configurations.
    #[error("struct bio_vec is defined on lines {}, and helpers after one would not be compiled with the others; add them by hand or pass --no-helpers", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join(" and "))]
    Several(Vec<usize>),
}

/// `text` (an `include/linux/bvec.h`) with `helpers` defined right after
/// the definition of `struct bio_vec` that is compiled: one in a branch
/// that never is (`#if 0`, `#else` of `#if 1`) does not count.
pub fn insert(text: &[u8], helpers: &[&Helper]) -> Result<Vec<u8>, Unplaced> {
    let parsed = ParsedFile::new(text);
    let mut defs = Vec::new();
    definitions(parsed.root(), &parsed.blanked, false, &mut defs);
    let line = |at: usize| text[..at].iter().filter(|b| **b == b'\n').count() + 1;
    let live: Vec<(usize, usize)> = defs.iter().filter(|d| !d.2).map(|d| (d.0, d.1)).collect();
    let end = match live.as_slice() {
        [] => {
            return Err(defs
                .first()
                .map_or(Unplaced::NoStruct, |d| Unplaced::OnlyDead(line(d.0))))
        }
        [(_, end)] => *end,
        several => {
            return Err(Unplaced::Several(
                several.iter().map(|d| line(d.0)).collect(),
            ))
        }
    };
    // After the line that closes the definition, or after the header's own
    // functions that a helper calls (bvec_set_folio() calls the
    // bvec_set_page() that follows the struct in Linux 6.3 and later).
    let mut end = end;
    let mut called = Vec::new();
    functions(parsed.root(), &parsed.blanked, &mut called);
    for (name, fn_end) in called {
        let calls = |h: &&Helper| {
            crate::c::source::word_occurrences(h.text.as_bytes(), &name)
                .iter()
                .any(|&i| h.text.as_bytes()[i + name.len()..].starts_with(b"("))
        };
        if fn_end > end && helpers.iter().any(calls) {
            end = fn_end;
        }
    }
    let at = memchr::memchr(b'\n', &text[end..]).map_or(text.len(), |k| end + k + 1);
    let mut out = Vec::with_capacity(text.len() + 1024);
    out.extend_from_slice(&text[..at]);
    for h in helpers {
        out.push(b'\n');
        out.extend_from_slice(h.text.as_bytes());
    }
    out.extend_from_slice(&text[at..]);
    Ok(out)
}

/// The value of a preprocessor condition that is a literal (`0`, `1`,
/// `(0)`), if it is one.
fn literal_condition(n: tree_sitter::Node, src: &[u8]) -> Option<bool> {
    match n.kind() {
        "number_literal" => {
            let t = std::str::from_utf8(&src[n.byte_range()]).ok()?;
            t.trim_end_matches(['u', 'U', 'l', 'L'])
                .parse::<u64>()
                .ok()
                .map(|v| v != 0)
        }
        "parenthesized_expression" => n.named_child(0).and_then(|c| literal_condition(c, src)),
        _ => None,
    }
}

/// The names and ends of the function definitions below `n`, in
/// preprocessor branches too.
fn functions(n: tree_sitter::Node, src: &[u8], out: &mut Vec<(String, usize)>) {
    let mut cursor = n.walk();
    for c in n.named_children(&mut cursor) {
        if c.kind().starts_with("preproc_") {
            functions(c, src, out);
            continue;
        }
        if c.kind() != "function_definition" {
            continue;
        }
        let mut d = c.child_by_field_name("declarator");
        while let Some(x) = d.filter(|x| x.kind() != "identifier") {
            d = x.child_by_field_name("declarator");
        }
        if let Some(name) = d {
            out.push((
                String::from_utf8_lossy(&src[name.byte_range()]).into_owned(),
                c.end_byte(),
            ));
        }
    }
}

/// The file-scope definitions of `struct bio_vec` below `n`: start, end,
/// and whether they lie in a branch that is never compiled.
fn definitions(n: tree_sitter::Node, src: &[u8], dead: bool, out: &mut Vec<(usize, usize, bool)>) {
    let (cond, alt) = (
        n.child_by_field_name("condition"),
        n.child_by_field_name("alternative"),
    );
    let value = cond.and_then(|c| literal_condition(c, src));
    let mut cursor = n.walk();
    for c in n.named_children(&mut cursor) {
        if Some(c) == cond {
            continue;
        }
        if Some(c) == alt {
            definitions(c, src, dead || value == Some(true), out);
            continue;
        }
        if c.kind().starts_with("preproc_") {
            definitions(c, src, dead || value == Some(false), out);
            continue;
        }
        let spec = match c.kind() {
            "declaration" => c.child_by_field_name("type"),
            "struct_specifier" => Some(c),
            _ => None,
        };
        let is_it = spec.is_some_and(|s| {
            s.kind() == "struct_specifier"
                && s.child_by_field_name("body").is_some()
                && s.child_by_field_name("name")
                    .is_some_and(|nm| &src[nm.byte_range()] == b"bio_vec")
        });
        if is_it {
            out.push((c.start_byte(), c.end_byte(), dead || value == Some(false)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::helpers::HELPERS;
    use std::fs;

    const STRUCT: &str =
        "struct page;\n\nstruct bio_vec {\n\tstruct page *bv_page;\n\tunsigned int bv_len;\n\tunsigned int bv_offset;\n};\n";

    #[test]
    fn a_file_that_starts_calling_a_pfn_t_function_gets_its_include() {
        let old = b"#include <linux/mm.h>\n#include <linux/types.h>\n\nstruct bio_vec { struct page *bv_page; };\nstatic inline struct page *bvec_page(struct bio_vec *b)\n{\n\treturn b->bv_page;\n}\n";
        let new = b"#include <linux/mm.h>\n#include <linux/types.h>\n\nstruct bio_vec { pfn_t bv_pfn; };\nstatic inline struct page *bvec_page(struct bio_vec *b)\n{\n\treturn pfn_t_to_page(b->bv_pfn);\n}\n";
        let out = String::from_utf8(add_includes(old, new).unwrap()).unwrap();
        assert!(
            out.starts_with(
                "#include <linux/mm.h>\n#include <linux/types.h>\n#include <linux/pfn_t.h>\n\n"
            ),
            "{out}"
        );
        // Already there, or no new call: nothing to add.
        assert_eq!(add_includes(old, out.as_bytes()), None);
        assert_eq!(add_includes(new, new), None);
        // No include line to follow: left to a human.
        assert_eq!(
            add_includes(b"int x;\n", b"int x = pfn_t_to_pfn(p);\n"),
            None
        );
    }

    #[test]
    fn helpers_go_after_struct_bio_vec_and_compile() {
        // The 2015 rule's helpers, which need nothing else.
        let helpers: Vec<&Helper> = HELPERS.iter().take(3).collect();
        let text = format!("#ifndef X\n#define X\n{STRUCT}\nint later;\n#endif\n");
        let out = String::from_utf8(insert(text.as_bytes(), &helpers).unwrap()).unwrap();
        let at = out
            .find("};\n\n/**\n * bvec_page")
            .expect("right after the struct");
        assert!(out[at..].contains("int later;"));
        // The result is C that gcc accepts.
        let dir = tempfile::tempdir().unwrap();
        let h = dir.path().join("bvec.h");
        fs::write(&h, &out).unwrap();
        let st = std::process::Command::new("gcc")
            .args(["-fsyntax-only", "-Wall", "-Werror", "-x", "c"])
            .arg(&h)
            .status()
            .expect("gcc runs");
        assert!(st.success());
        assert_eq!(insert(b"struct page;\n", &helpers), Err(Unplaced::NoStruct));
    }

    /// What the idioms' helpers call, declared as the kernel does.
    const KERNEL_DECLS: &str = "\
#include <stddef.h>
typedef unsigned long long phys_addr_t;
struct page { unsigned long flags; };
struct folio { struct page page; };
#define PAGE_SIZE 4096ul
#define UINT_MAX (~0u)
#define WARN_ON_ONCE(c) ((void)(c))
#define PFN_PHYS(x) ((phys_addr_t)(x) << 12)
#define folio_page(f, n) (&(f)->page + (n))
#define offset_in_page(p) ((unsigned long)(p) & (PAGE_SIZE - 1))
struct page *virt_to_page(const void *addr);
unsigned long page_to_pfn(const struct page *page);
struct folio *page_folio(const struct page *page);
int PageHighMem(const struct page *page);
void *page_address(const struct page *page);
void *kmap_local_page(struct page *page);
void memcpy_from_page(char *to, struct page *page, size_t offset, size_t len);
void memcpy_to_page(struct page *page, size_t offset, const char *from, size_t len);
void memzero_page(struct page *page, size_t offset, size_t len);
";

    #[test]
    fn helpers_that_call_the_headers_functions_go_after_them_and_compile() {
        // Debian's 6.1: the four-argument bvec_set_page() right after the
        // struct, inside the include guard; bvec_set_folio() calls it.
        let four = "static inline void bvec_set_page(struct bio_vec *bv, struct page *page,\n\t\tunsigned int len, unsigned int offset)\n{\n\tbv->bv_page = page;\n\tbv->bv_len = len;\n\tbv->bv_offset = offset;\n}\n";
        let text = format!("#ifndef X\n#define X\n{STRUCT}\n{four}\nint later;\n#endif\n");
        let helpers: Vec<&Helper> = HELPERS
            .iter()
            .filter(|h| !(h.name == "bvec_set_page" || h.name == "__bvec_set_page"))
            .collect();
        assert!(helpers.len() >= 10, "the idioms' and bv_offset's helpers");
        let out = String::from_utf8(insert(text.as_bytes(), &helpers).unwrap()).unwrap();
        let set = out.find("bv->bv_offset = offset;\n}\n").expect("kept");
        let first = out.find("/**\n * bvec_page").expect("added");
        assert!(set < first, "{out}");
        assert!(out[first..].contains("int later;"));
        let dir = tempfile::tempdir().unwrap();
        let h = dir.path().join("bvec.h");
        fs::write(&h, format!("{KERNEL_DECLS}{out}")).unwrap();
        let res = std::process::Command::new("gcc")
            .args(["-fsyntax-only", "-Wall", "-Werror", "-x", "c"])
            .arg(&h)
            .output()
            .expect("gcc runs");
        assert!(
            res.status.success(),
            "{}",
            String::from_utf8_lossy(&res.stderr)
        );
        // Without the four-argument helper, they stay after the struct.
        let bare = format!("#ifndef X\n#define X\n{STRUCT}\nint later;\n#endif\n");
        let out = String::from_utf8(insert(bare.as_bytes(), &helpers).unwrap()).unwrap();
        assert!(out.contains("};\n\n/**\n * bvec_page"), "{out}");
    }

    #[test]
    fn helpers_go_after_the_definition_that_is_compiled() {
        let helpers: Vec<&Helper> = HELPERS.iter().collect();
        let def =
            |tag: &str| format!("struct bio_vec {{\n\tstruct page *bv_page; /* {tag} */\n}};\n");
        let after = |text: &str, tag: &str| {
            let out = String::from_utf8(insert(text.as_bytes(), &helpers).unwrap()).unwrap();
            let at = out.find("/**\n * bvec_page").expect("helpers added");
            assert!(
                out[..at].ends_with(&format!("/* {tag} */\n}};\n\n")),
                "{out}"
            );
        };
        // The idiom of repro 18: the old layout kept under #if 0.
        after(
            &format!("#if 0\n{}#else\n{}#endif\n", def("dead"), def("live")),
            "live",
        );
        after(
            &format!("#if (0)\n{}#elif 1\n{}#endif\n", def("dead"), def("live")),
            "live",
        );
        after(
            &format!("#if 1\n{}#else\n{}#endif\n", def("live"), def("dead")),
            "live",
        );
        after(
            &format!(
                "#if 0\n#ifdef X\n{}#endif\n#endif\n{}",
                def("dead"),
                def("live")
            ),
            "live",
        );
        // Under a configuration's #ifdef: the helpers live as long as it.
        after(&format!("#ifdef CONFIG_X\n{}#endif\n", def("live")), "live");
        assert_eq!(
            insert(
                format!("int a;\n#if 0\n{}#endif\n", def("dead")).as_bytes(),
                &helpers
            ),
            Err(Unplaced::OnlyDead(3))
        );
        assert_eq!(
            insert(
                format!("#ifdef A\n{}#else\n{}#endif\n", def("a"), def("b")).as_bytes(),
                &helpers
            ),
            Err(Unplaced::Several(vec![2, 6]))
        );
    }
}
