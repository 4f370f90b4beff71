//! Names a replacement must not call from a `#define` body: those that a
//! variable, a parameter, a typedef or an enumerator declares, in the
//! file or in another file of the walk ([`Clash`], found by
//! `engine::walk` after the walk). A macro may be expanded in the scope of
//! such a declaration, where a call of that name reaches the variable and
//! does not compile (btrfs's `u32 bvec_offset;` beside
//! `bio_for_each_segment()`, which expands `mp_bvec_iter_offset()`). Which
//! scopes a macro reaches is not followed: one declaration anywhere is
//! enough to leave the site, with its place. A site outside a macro body
//! is checked against the scope it stands in (`matcher::shadowed_call`).

use tree_sitter::Node;

use crate::c::parsed::LazyParsed;
use crate::c::source::LineIndex;

/// A name that a file of the walk declares as other than a function.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Clash {
    /// The name declared.
    pub name: String,
    /// Where: `file:line`.
    pub at: String,
    /// What it declares ("a local variable", "a typedef", ...).
    pub what: &'static str,
}

/// The declarations of `names` other than functions in the file whose
/// tree is `root` (of `text`, `#define` bodies blanked, lines `lines`), the
/// first per name, placed as `line N`.
pub fn declared_here(root: Node, text: &[u8], lines: &LineIndex, names: &[String]) -> Vec<Clash> {
    names
        .iter()
        .filter_map(|name| {
            let (o, what) = crate::c::types::non_function_declaration(root, text, name)?;
            Some(Clash {
                name: name.clone(),
                at: format!("line {}", lines.line_col(o).0),
                what,
            })
        })
        .collect()
}

/// Why a call of `name` must not be written into a macro body, given the
/// `clash` that declares it.
pub fn reason(clash: &Clash) -> String {
    let Clash { name, at, what } = clash;
    format!(
        "the replacement calls {name}(), and '{name}' is {what} at {at}: where the macro is expanded in its scope, the call would not compile"
    )
}

/// The declarations of `names` other than functions in one file of a walk
/// (`file`, named `name`), the first per name. A file that mentions none
/// of `names` is not parsed.
pub fn declared_in_file(file: &LazyParsed, name: &str, names: &[&str]) -> Vec<Clash> {
    let orig = file.text();
    let present: Vec<&str> = names
        .iter()
        .copied()
        .filter(|n| !crate::c::source::word_occurrences(orig, n).is_empty())
        .collect();
    if present.is_empty() {
        return Vec::new();
    }
    let parsed = file.get();
    if crate::engine::deeper_than(parsed.root(), crate::engine::MAX_DEPTH) {
        return Vec::new();
    }
    let lines = LineIndex::new(orig);
    present
        .into_iter()
        .filter_map(|n| {
            let (o, what) =
                crate::c::types::non_function_declaration(parsed.root(), &parsed.blanked, n)?;
            Some(Clash {
                name: n.to_string(),
                at: format!("{name}:{}", lines.line_col(o).0),
                what,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_declaration_in_the_file_is_named_with_its_line() {
        let text = b"#define M(b) ((b)->bv_offset)\nvoid f(void)\n{\n\tu32 bvec_offset;\n}\n";
        let parsed = crate::c::parsed::ParsedFile::new(text);
        let lines = LineIndex::new(text);
        let names = ["bvec_offset".to_string(), "bvec_page".to_string()];
        let found = declared_here(parsed.root(), &parsed.blanked, &lines, &names);
        assert_eq!(found.len(), 1);
        let why = reason(&found[0]);
        assert!(
            why.contains("'bvec_offset' is a local variable at line 4"),
            "{why}"
        );
    }

    #[test]
    fn declarations_in_a_file_of_the_walk_are_found_and_functions_are_not() {
        let text = b"static inline int bvec_page_offset(const struct bio_vec *b) { return 0; }\n\
            int g(int bvec_page) { return bvec_page; }\n";
        let found = declared_in_file(
            &LazyParsed::new(text),
            "a.c",
            &["bvec_page_offset", "bvec_page", "bvec_virt"],
        );
        assert_eq!(
            found,
            vec![Clash {
                name: "bvec_page".into(),
                at: "a.c:2".into(),
                what: "a parameter",
            }]
        );
    }

    #[test]
    fn a_file_that_names_none_of_the_names_is_not_parsed() {
        // The walk's literal matches inside longer words too.
        let text = b"int bvec_pages(int bvec_virtual) { return bvec_virtual; }\n";
        let file = LazyParsed::new(text);
        assert!(declared_in_file(&file, "a.c", &["bvec_page", "bvec_virt"]).is_empty());
        assert!(
            crate::engine::macro_uses::MacroUses::foreign_uses(&file, "a.c", &["bvec_page"])
                .is_empty()
        );
        assert!(!file.is_parsed());
        // Both questions share one parse.
        let text = b"int g(int bvec_page) { return bvec_page; }\n";
        let file = LazyParsed::new(text);
        assert_eq!(declared_in_file(&file, "a.c", &["bvec_page"]).len(), 1);
        let tree: *const crate::c::parsed::ParsedFile = file.get();
        crate::engine::macro_uses::MacroUses::foreign_uses(&file, "a.c", &["bvec_page"]);
        assert!(std::ptr::eq(tree, file.get()));
    }
}
