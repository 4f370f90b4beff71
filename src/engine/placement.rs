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
        .find(|h| h.is_file())
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
    // After the line that closes the definition.
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
        let helpers: Vec<&Helper> = HELPERS.iter().collect();
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
