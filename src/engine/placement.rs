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

/// `text` (an `include/linux/bvec.h`) with `helpers` defined right after
/// the definition of `struct bio_vec`; `None` when it has no such
/// definition.
pub fn insert(text: &[u8], helpers: &[&Helper]) -> Option<Vec<u8>> {
    let parsed = ParsedFile::new(text);
    let end = struct_end(parsed.root(), &parsed.blanked)?;
    // After the line that closes the definition.
    let at = memchr::memchr(b'\n', &text[end..]).map_or(text.len(), |k| end + k + 1);
    let mut out = Vec::with_capacity(text.len() + 1024);
    out.extend_from_slice(&text[..at]);
    for h in helpers {
        out.push(b'\n');
        out.extend_from_slice(h.text.as_bytes());
    }
    out.extend_from_slice(&text[at..]);
    Some(out)
}

/// End of the file-scope declaration that defines `struct bio_vec`.
fn struct_end(n: tree_sitter::Node, src: &[u8]) -> Option<usize> {
    let mut cursor = n.walk();
    for c in n.named_children(&mut cursor) {
        if c.kind() == "struct_specifier"
            || c.kind() == "declaration"
            || c.kind().starts_with("preproc_")
        {
            if c.kind().starts_with("preproc_") {
                if let Some(e) = struct_end(c, src) {
                    return Some(e);
                }
                continue;
            }
            let spec = if c.kind() == "declaration" {
                c.child_by_field_name("type")
            } else {
                Some(c)
            };
            let is_it = spec.is_some_and(|s| {
                s.kind() == "struct_specifier"
                    && s.child_by_field_name("body").is_some()
                    && s.child_by_field_name("name")
                        .is_some_and(|nm| &src[nm.byte_range()] == b"bio_vec")
            });
            if is_it {
                return Some(c.end_byte());
            }
        }
    }
    None
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
        assert_eq!(insert(b"struct page;\n", &helpers), None);
    }
}
