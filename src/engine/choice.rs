//! Which rule a run uses: the built-in rule that fits a tree (the 2015 rule
//! where its helpers are free or already have its arity, the modern rule
//! where Linux 6.3's four-argument `bvec_set_page()` exists), or a given
//! rule checked against the tree's definitions of the calls it writes.
//!
//! **Invariant:** a run never writes a call that a definition in the tree
//! does not accept; such a rule is an error naming the definition's place.

use std::path::{Path, PathBuf};

use crate::c::defcache;
use crate::c::definition::{self, DefKind, Definition};
use crate::engine::helpers::{Helper, HELPERS};
use crate::file::IoError;
use crate::smpl::{EmittedCall, RuleError, RuleFile, Virtuals, DEFAULT_RULE, DEFAULT_RULE_NAME};

/// The rule for trees with Linux 6.3's four-argument `bvec_set_page()`.
pub const MODERN_RULE: &str = include_str!("../../rules/bv_page-modern.cocci");
/// The name under which the modern rule is reported.
pub const MODERN_RULE_NAME: &str = "rules/bv_page-modern.cocci (built in)";
/// The modern rule with the open-coded forms of Linux's helpers turned into
/// calls of them first; tried before the modern rule.
pub const IDIOMS_RULE: &str = include_str!("../../rules/bv_page-idioms.cocci");
/// The name under which the idioms rule is reported.
pub const IDIOMS_RULE_NAME: &str = "rules/bv_page-idioms.cocci (built in)";

/// Why a run cannot use a rule.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ChoiceError {
    /// The rule calls a helper that the tree defines with another arity.
    #[error("{}", .0.iter().map(|(c, r)| c.message(r)).collect::<Vec<_>>().join("\n"))]
    Conflicts(Vec<(Conflict, String)>),
    /// A helper's declaration lies in code that does not parse: which rule
    /// fits cannot be told.
    #[error("{}:{}:{}: {}() is declared in code that does not parse, so bvmig cannot tell its parameters nor which rule fits the tree; fix the code around it", .0.file, .0.line, .0.col, .0.name)]
    Unreadable(Definition),
    /// The rule file could not be read.
    #[error(transparent)]
    Read(#[from] IoError),
    /// The rule file does not parse (or a built-in rule, which is a bug).
    #[error(transparent)]
    Rule(#[from] RuleError),
}

/// A rule chosen for a run, with the name reports give it and, when bvmig
/// chose it, why.
pub struct Chosen {
    /// The rule file's name: the path given, or the built-in rule's name.
    pub name: String,
    /// Why bvmig chose it; `None` for a rule given with `--rule`.
    pub why: Option<String>,
    /// The rule and the helpers it needs.
    pub choice: Choice,
}

/// Where runs that check one file at a time keep the tree's helper
/// definitions between runs (see [`defcache::user_dir`]).
pub fn definitions_cache_dir() -> Option<PathBuf> {
    defcache::user_dir()
}

/// The name reports give the rule file at `path`, or the default rule's.
pub fn rule_name(path: Option<&Path>) -> String {
    path.map_or(DEFAULT_RULE_NAME.to_string(), |p| p.display().to_string())
}

/// Reads and parses the rule file at `path`, the default rule for `None`,
/// with the virtual rules of `-D NAME` options `defines` (see [`Virtuals`]).
pub fn load(path: Option<&Path>, defines: &[String]) -> Result<RuleFile, ChoiceError> {
    let virtuals = Virtuals::from_defines(defines);
    let Some(path) = path else {
        return Ok(RuleFile::parse_with(
            DEFAULT_RULE_NAME,
            DEFAULT_RULE,
            &virtuals,
        )?);
    };
    let bytes = crate::file::read(path).map_err(IoError::at(path))?;
    Ok(RuleFile::from_bytes(
        &path.display().to_string(),
        bytes,
        &virtuals,
    )?)
}

/// The rule for a run over `paths`: the file at `rule`, checked against the
/// tree's definitions, or the built-in rule that fits the tree (see
/// [`choose`]), read with the virtual rules of `defines` (`-D NAME`).
pub fn choose_for(
    paths: &[PathBuf],
    rule: Option<&Path>,
    defines: &[String],
) -> Result<Chosen, ChoiceError> {
    choose_for_cached(paths, rule, defines, None)
}

/// [`choose_for`], with the cache of [`choose`].
pub fn choose_for_cached(
    paths: &[PathBuf],
    rule: Option<&Path>,
    defines: &[String],
    cache: Option<&Path>,
) -> Result<Chosen, ChoiceError> {
    let given = rule.map(|p| load(Some(p), defines)).transpose()?;
    let choice = choose(paths, given, defines, cache)?;
    let name = match rule {
        Some(p) => p.display().to_string(),
        None => choice.rules.path.clone(),
    };
    let why = rule.is_none().then(|| choice.why.clone());
    Ok(Chosen { name, why, choice })
}

/// The rule for reviewing patches meant for the tree at `tree`: as
/// [`choose_for`] when `tree` is in a kernel tree, else the file at `rule`
/// or the 2015 rule, as there is nothing to look at. Returns the rule and
/// the name reports give it.
pub fn choose_for_patches(
    tree: &Path,
    rule: Option<&Path>,
    defines: &[String],
) -> Result<(RuleFile, String), ChoiceError> {
    let in_kernel = definition::search_roots(&[tree.to_path_buf()])
        .iter()
        .any(|r| r.ends_with("include"));
    if in_kernel {
        let c = choose_for(&[tree.to_path_buf()], rule, defines)?;
        Ok((c.choice.rules, c.name))
    } else {
        Ok((load(rule, defines)?, rule_name(rule)))
    }
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
    // FIXME: a run should say which calls of the rule nothing defines;
    // today only the tests read this.
    #[cfg_attr(
        not(test),
        allow(dead_code, reason = "read by the tests only, see the FIXME")
    )]
    pub unknown: Vec<EmittedCall>,
}

/// Chooses the rule for a run over `paths`: `given` (a `--rule` file) when
/// there is one, else the built-in rule whose helpers the tree does not
/// define with another arity, the 2015 rule first. The tree's definitions
/// are looked up in [`definition::search_roots`]; the built-in rules are
/// read with the virtual rules of `defines`.
///
/// With `cache`, the tree's definitions are answered from the cache in
/// that directory when its headers are unchanged (see [`defcache`]).
pub fn choose(
    paths: &[PathBuf],
    given: Option<RuleFile>,
    defines: &[String],
    cache: Option<&Path>,
) -> Result<Choice, ChoiceError> {
    let roots = definition::search_roots(paths);
    let virtuals = Virtuals::from_defines(defines);
    let candidates = match given {
        Some(rf) => vec![(rf, "given with --rule".to_string())],
        None => vec![
            (
                RuleFile::parse_with(DEFAULT_RULE_NAME, DEFAULT_RULE, &virtuals)?,
                "the tree defines none of its helpers with other parameters".to_string(),
            ),
            // On trees with the four-argument helper, the idioms first; the
            // plain modern rule where the tree defines one of the idioms'
            // helpers with other parameters.
            (
                RuleFile::parse(IDIOMS_RULE_NAME, IDIOMS_RULE)?,
                String::new(),
            ),
            (
                RuleFile::parse_with(MODERN_RULE_NAME, MODERN_RULE, &virtuals)?,
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
    let defs = match cache {
        Some(dir) => defcache::scan(&roots, &name_refs, dir),
        None => definition::scan(&roots, &name_refs),
    };
    if let Some(d) = defs.iter().find(|d| d.kind == DefKind::Unreadable) {
        return Err(ChoiceError::Unreadable(d.clone()));
    }

    let mut first_conflicts = None;
    for (rules, why) in candidates {
        // The idioms are for trees that have Linux's helpers (bvec_virt()
        // and its siblings, 5.15 and later); the missing ones would be
        // added whether the patch calls them or not.
        if rules.path == IDIOMS_RULE_NAME && !defs.iter().any(|d| d.name == "bvec_virt") {
            continue;
        }
        let calls = rules.emitted_calls();
        let conflicts = conflicts(&calls, &defs);
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
    Err(ChoiceError::Conflicts(
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

/// A call the rule writes that a definition in the tree does not accept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conflict {
    /// What the rule writes.
    pub call: EmittedCall,
    /// What the tree has.
    pub def: Definition,
}

impl Conflict {
    /// The one-line error, naming the definition's place, what the rule
    /// writes (`rule` is the rule file's name) and what to do.
    pub fn message(&self, rule: &str) -> String {
        let d = &self.def;
        let kind = match d.kind {
            DefKind::Macro => "is a macro".to_string(),
            k => format!("is {}", k.as_str()),
        };
        let n = self.call.n_args;
        format!(
            "{}:{}:{}: {}() {kind} with {}, but {rule}:{}:{} calls it with {n} argument{}: \
             run a rule written for this tree (--rule FILE), or make the rule emit a helper \
             of another name",
            d.file,
            d.line,
            d.col,
            d.name,
            d.params,
            self.call.pos.line,
            self.call.pos.col,
            if n == 1 { "" } else { "s" },
        )
    }
}

/// Each call in `calls` that some definition of its name in `defs` does
/// not accept. A name defined several times (one per configuration) is in
/// conflict when any of its definitions refuses the call.
pub fn conflicts(calls: &[EmittedCall], defs: &[Definition]) -> Vec<Conflict> {
    let mut out = Vec::new();
    for call in calls {
        for def in defs.iter().filter(|d| d.name == call.name) {
            if !def.params.accepts(call.n_args) {
                out.push(Conflict {
                    call: call.clone(),
                    def: def.clone(),
                });
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::c::definition::in_text;
    use crate::engine::placement::BVEC_HEADER;
    use crate::smpl::Pos;
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
        let c = choose(&[t.path().join("block")], None, &[], None)
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
        let c = choose(&[t.path().to_path_buf()], None, &[], None)
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
        let err = choose(
            &[t.path().to_path_buf()],
            Some(RuleFile::default_rule()),
            &[],
            None,
        )
        .err()
        .unwrap()
        .to_string();
        assert!(
            err.starts_with("include/linux/bvec.h:9:20: bvec_set_page() is defined with 4 parameters, but rules/bv_page.cocci (built in):20:3 calls it with 2 arguments"),
            "{err}"
        );
    }

    #[test]
    fn a_tree_with_linux_helpers_gets_the_idioms_rule_and_the_missing_ones() {
        let four = "static inline void bvec_set_page(struct bio_vec *bv, struct page *page,\n\t\tunsigned int len, unsigned int offset)\n{\n}\n";
        let virt = "static inline void *bvec_virt(struct bio_vec *bvec)\n{\n\treturn 0;\n}\n";
        let t = tree(&format!("{STRUCT}\n{four}\n{virt}"));
        let c = choose(&[t.path().to_path_buf()], None, &[], None)
            .map_err(|e| e.to_string())
            .unwrap();
        assert_eq!(c.rules.path, IDIOMS_RULE_NAME);
        let names: Vec<&str> = c.missing.iter().map(|h| h.name).collect();
        assert!(names.contains(&"bvec_set_folio") && names.contains(&"bvec_folio"));
        assert!(!names.contains(&"bvec_virt") && !names.contains(&"bvec_page_offset"));
        // bvec_virt() with other parameters: the plain modern rule.
        let other =
            "static inline void *bvec_virt(struct bio_vec *bvec, int x)\n{\n\treturn 0;\n}\n";
        let t = tree(&format!("{STRUCT}\n{four}\n{other}"));
        let c = choose(&[t.path().to_path_buf()], None, &[], None)
            .map_err(|e| e.to_string())
            .unwrap();
        assert_eq!(c.rules.path, MODERN_RULE_NAME);
    }

    #[test]
    fn the_idioms_rule_repeats_the_modern_rules_branches() {
        let modern = MODERN_RULE;
        let body = |t: &'static str| {
            let start = t.find("<...\n(\n").expect("a nest") + 6;
            &t[start..t[start..].find("\n)\n...>").expect("its end") + start]
        };
        assert!(body(IDIOMS_RULE).ends_with(body(modern)));
    }

    #[test]
    fn the_2015_rule_conflicts_with_the_four_argument_helper() {
        let calls = RuleFile::default_rule().emitted_calls();
        let defs = in_text(
            b"#include <linux/mm.h>\n\nstatic inline void bvec_set_page(struct bio_vec *bv, struct page *page,\n\t\tunsigned int len, unsigned int offset)\n{\n}\n\nstatic inline struct page *bvec_page(const struct bio_vec *bv) { return 0; }\n",
            "include/linux/bvec.h",
            &["bvec_set_page", "bvec_page"],
        );
        let c = conflicts(&calls, &defs);
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].call.name, "bvec_set_page");
        assert_eq!(c[0].call.pos, Pos { line: 20, col: 3 });
        assert_eq!(
            c[0].message("rules/bv_page.cocci"),
            "include/linux/bvec.h:3:20: bvec_set_page() is defined with 4 parameters, but \
             rules/bv_page.cocci:20:3 calls it with 2 arguments: run a rule written for this \
             tree (--rule FILE), or make the rule emit a helper of another name"
        );
    }
}
