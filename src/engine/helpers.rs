//! The helpers a rule's output calls: which built-in rule fits a tree (the
//! 2015 rule where its helpers are free or already have its arity, the
//! modern rule where Linux 6.3's four-argument `bvec_set_page()` exists),
//! and the kernel-doc'd definitions of the helpers the tree lacks, added to
//! `include/linux/bvec.h` so that the output compiles.
//!
//! **Invariant:** a run never writes a call that a definition in the tree
//! does not accept; such a rule is an error naming the definition's place.

use std::path::{Path, PathBuf};

use crate::c::definition::{self, Conflict, Definition};
use crate::smpl::{EmittedCall, RuleError, RuleFile, DEFAULT_RULE, DEFAULT_RULE_NAME};

/// The rule for trees with Linux 6.3's four-argument `bvec_set_page()`.
pub const MODERN_RULE: &str = include_str!("../../rules/bv_page-modern.cocci");
/// The name under which the modern rule is reported.
pub const MODERN_RULE_NAME: &str = "rules/bv_page-modern.cocci (built in)";

/// A helper bvmig knows how to define.
#[derive(Debug)]
pub struct Helper {
    /// Its name.
    pub name: &'static str,
    /// Its number of parameters.
    pub n_params: usize,
    /// Its definition, kernel-doc comment first.
    pub text: &'static str,
}

/// The helpers the built-in rules emit.
pub static HELPERS: &[Helper] = &[
    Helper {
        name: "bvec_page",
        n_params: 1,
        text: "\
/**
 * bvec_page - the page a bio_vec starts in
 * @bvec: the bio_vec
 *
 * Read a bio_vec's page through this helper rather than through
 * @bvec->bv_page, so that the field can later become a pfn.
 *
 * Return: the first page of @bvec.
 */
static inline struct page *bvec_page(const struct bio_vec *bvec)
{
\treturn bvec->bv_page;
}
",
    },
    Helper {
        name: "bvec_set_page",
        n_params: 2,
        text: "\
/**
 * bvec_set_page - set the page a bio_vec starts in
 * @bvec: the bio_vec
 * @page: its new first page
 *
 * Write a bio_vec's page through this helper rather than through
 * @bvec->bv_page, so that the field can later become a pfn. The length
 * and offset are left as they are.
 */
static inline void bvec_set_page(struct bio_vec *bvec, struct page *page)
{
\tbvec->bv_page = page;
}
",
    },
    Helper {
        name: "__bvec_set_page",
        n_params: 2,
        text: "\
/**
 * __bvec_set_page - set only the page a bio_vec starts in
 * @bvec: the bio_vec
 * @page: its new first page
 *
 * Write a bio_vec's page through this helper rather than through
 * @bvec->bv_page, so that the field can later become a pfn. Unlike
 * bvec_set_page(), the length and offset are left as they are.
 */
static inline void __bvec_set_page(struct bio_vec *bvec, struct page *page)
{
\tbvec->bv_page = page;
}
",
    },
];

/// Why a run cannot use a rule.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HelperError {
    /// The rule calls a helper that the tree defines with another arity.
    #[error("{}", .0.iter().map(|(c, r)| c.message(r)).collect::<Vec<_>>().join("\n"))]
    Conflicts(Vec<(Conflict, String)>),
    /// A built-in rule did not parse (a bug).
    #[error(transparent)]
    Rule(#[from] RuleError),
}

/// The rule a run uses, and why.
pub struct Choice {
    /// The rules.
    pub rules: RuleFile,
    /// One line for the summary: why this rule.
    pub why: String,
    /// Helpers the rule calls that the tree lacks and bvmig can define.
    pub missing: Vec<&'static Helper>,
    /// Helpers the rule calls that the tree lacks and bvmig cannot define.
    pub unknown: Vec<EmittedCall>,
}

/// Chooses the rule for a run over `paths`: `given` (a `--rule` file) when
/// there is one, else the built-in rule whose helpers the tree does not
/// define with another arity, the 2015 rule first. The tree's definitions
/// are looked up in [`definition::search_roots`].
pub fn choose(paths: &[PathBuf], given: Option<RuleFile>) -> Result<Choice, HelperError> {
    let roots = definition::search_roots(paths);
    let candidates = match given {
        Some(rf) => vec![(rf, "given with --rule".to_string())],
        None => vec![
            (
                RuleFile::parse(DEFAULT_RULE_NAME, DEFAULT_RULE)?,
                "the tree defines none of its helpers with other parameters".to_string(),
            ),
            (
                RuleFile::parse(MODERN_RULE_NAME, MODERN_RULE)?,
                String::new(),
            ),
        ],
    };
    let mut names: Vec<String> = candidates
        .iter()
        .flat_map(|(rf, _)| rf.emitted_calls())
        .map(|c| c.name)
        .collect();
    names.sort();
    names.dedup();
    let name_refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let defs = definition::scan(&roots, &name_refs);

    let mut first_conflicts = None;
    for (rules, why) in candidates {
        let calls = rules.emitted_calls();
        let conflicts = definition::conflicts(&calls, &defs);
        if conflicts.is_empty() {
            let why = if why.is_empty() {
                // The modern rule, chosen because the 2015 one conflicts.
                let c: &Conflict = first_conflicts
                    .as_ref()
                    .and_then(|v: &Vec<(Conflict, String)>| v.first().map(|(c, _)| c))
                    .expect("the modern rule is tried only after a conflict");
                format!(
                    "{}:{}:{} has {}() with {} (Linux 6.3 and later, and stable trees)",
                    c.def.file, c.def.line, c.def.col, c.def.name, c.def.params
                )
            } else {
                why
            };
            let (missing, unknown) = missing(&calls, &defs);
            return Ok(Choice {
                rules,
                why,
                missing,
                unknown,
            });
        }
        if first_conflicts.is_none() {
            let path = rules.path.clone();
            first_conflicts = Some(conflicts.into_iter().map(|c| (c, path.clone())).collect());
        }
    }
    Err(HelperError::Conflicts(
        first_conflicts.expect("a rule was tried"),
    ))
}

/// The calls in `calls` that no definition in `defs` provides: those bvmig
/// can define, and the others.
fn missing(calls: &[EmittedCall], defs: &[Definition]) -> (Vec<&'static Helper>, Vec<EmittedCall>) {
    let mut known = Vec::new();
    let mut unknown = Vec::new();
    for c in calls {
        if defs.iter().any(|d| d.name == c.name) {
            continue;
        }
        match HELPERS
            .iter()
            .find(|h| h.name == c.name && h.n_params == c.n_args)
        {
            Some(h) => known.push(h),
            None => unknown.push(c.clone()),
        }
    }
    // In the table's order, which reads best in the header.
    known.sort_by_key(|h: &&Helper| HELPERS.iter().position(|x| std::ptr::eq(x, *h)));
    known.dedup_by(|a, b| std::ptr::eq(*a, *b));
    (known, unknown)
}

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
    let defines = crate::c::source::scan_defines(text);
    let blanked = crate::c::source::blank_define_bodies(text, &defines);
    let tree = crate::c::syntax::parse(&blanked);
    let end = struct_end(tree.root_node(), &blanked)?;
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
    use std::fs;

    fn tree(bvec_h: &str) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir_all(dir.path().join("include/linux")).unwrap();
        fs::create_dir_all(dir.path().join("block")).unwrap();
        fs::write(dir.path().join(BVEC_HEADER), bvec_h).unwrap();
        fs::write(
            dir.path().join("block/bio.c"),
            "void f(struct bio_vec *bv) { bv->bv_page = 0; }\n",
        )
        .unwrap();
        dir
    }

    const STRUCT: &str =
        "struct page;\n\nstruct bio_vec {\n\tstruct page *bv_page;\n\tunsigned int bv_len;\n\tunsigned int bv_offset;\n};\n";

    #[test]
    fn a_tree_without_helpers_gets_the_2015_rule_and_its_helpers() {
        let t = tree(STRUCT);
        let c = choose(&[t.path().join("block")], None)
            .map_err(|e| e.to_string())
            .unwrap();
        assert_eq!(c.rules.path, DEFAULT_RULE_NAME);
        let names: Vec<&str> = c.missing.iter().map(|h| h.name).collect();
        assert_eq!(names, vec!["bvec_page", "bvec_set_page"]);
        assert!(c.unknown.is_empty());
    }

    #[test]
    fn a_tree_with_the_four_argument_helper_gets_the_modern_rule() {
        let text = format!(
            "{STRUCT}\nstatic inline void bvec_set_page(struct bio_vec *bv, struct page *page,\n\t\tunsigned int len, unsigned int offset)\n{{\n}}\n"
        );
        let t = tree(&text);
        let c = choose(&[t.path().to_path_buf()], None)
            .map_err(|e| e.to_string())
            .unwrap();
        assert_eq!(c.rules.path, MODERN_RULE_NAME);
        assert_eq!(
            c.why,
            "include/linux/bvec.h:9:20 has bvec_set_page() with 4 parameters (Linux 6.3 and later, and stable trees)"
        );
        let names: Vec<&str> = c.missing.iter().map(|h| h.name).collect();
        assert_eq!(names, vec!["bvec_page", "__bvec_set_page"]);
        let out = crate::engine::Engine::new(c.rules)
            .rewrite(b"void f(struct bio_vec *bv) { bv->bv_page = bv[1].bv_page; }\n");
        assert_eq!(
            out.new_text.as_deref(),
            Some(&b"void f(struct bio_vec *bv) { __bvec_set_page(bv, bvec_page(&bv[1])); }\n"[..])
        );
        // A given rule that conflicts is an error naming the definition.
        let err = choose(&[t.path().to_path_buf()], Some(RuleFile::default_rule()))
            .err()
            .unwrap()
            .to_string();
        assert!(
            err.starts_with("include/linux/bvec.h:9:20: bvec_set_page() is defined with 4 parameters, but rules/bv_page.cocci (built in):20:3 calls it with 2 arguments"),
            "{err}"
        );
    }

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
