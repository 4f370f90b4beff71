//! One file through the whole rewrite: find the occurrences, parse (the file
//! with its `#define` bodies blanked, then each body that matters on its
//! own), match every rule, classify every site, apply the edits, and verify
//! the result by parsing it again.
//!
//! **Invariant:** every occurrence of a tracked field in code ends as a site
//! that is rewritten or left with a reason; a file whose rewrite parses with
//! more errors than the original is kept unchanged, its sites reported.

pub mod choice;
pub mod fragment;
pub mod helpers;
pub mod macro_uses;
pub mod matcher;
pub mod placement;
pub mod scope;
pub mod site;
pub mod tree;
pub mod walk;
pub mod write;

use std::ops::Range;
use std::path::{Path, PathBuf};

use crate::c::parsed::{Blanked, ParsedFile};
use crate::c::source::{self, Define, LineIndex};
use crate::c::syntax;
use crate::c::types::TypeIndex;
use crate::engine::matcher::{Edit, Matcher, Outcome, Region};
use crate::engine::site::{Kind, Occurrence, Site, Status};
use crate::smpl::{MetaKind, Rule, RuleFile};

/// A rule file ready to run, with what the engine derives from it.
pub struct Engine {
    rules: RuleFile,
    /// Types of expressions, when a rule has typed metavariables.
    types: Option<TypeIndex>,
    tracked: Option<Vec<String>>,
    /// Words a file must hold one of to be parsed: the tracked fields, or
    /// for rules that track none, a literal name of each fragment.
    prefilter: Option<Vec<String>>,
    /// Per rule: whether pruning (and parsing only the items that hold an
    /// occurrence) is sound for it, that is whether its every fragment names
    /// a tracked field; a fragment without one (context code such as
    /// `bvec_page(X)`) may match anywhere.
    prunable: Vec<bool>,
    /// Search only the subtrees that hold an occurrence (the fast path);
    /// off in tests that compare it with the simple path.
    prune: bool,
}

/// The result of one file.
#[derive(Debug, Default)]
pub struct FileOutcome {
    /// Sites, in file order.
    pub sites: Vec<Site>,
    /// The rewritten text, when anything changed.
    pub new_text: Option<Vec<u8>>,
    /// The edits that made `new_text`, sorted and disjoint; empty when the
    /// file is left unchanged. `check` names each site's replacement and
    /// makes a subset of them.
    pub edits: Vec<Edit>,
    /// File ranges that the rules' contexts exclude (the helpers' own
    /// bodies): the raw field stays there by the rule's design.
    pub excluded: Vec<std::ops::Range<usize>>,
}

impl Engine {
    /// An engine running `rules`.
    pub fn new(rules: RuleFile) -> Engine {
        let tracked = rules.tracked_fields();
        let fields = tracked.as_deref().unwrap_or(&[]);
        // A file must hold a word some change needs, or a tracked field
        // (whose occurrences are sites to report).
        let prefilter = if tracked.is_some() && rules.anchored(fields) {
            tracked.clone()
        } else {
            rules.prefilter_words().map(|mut words| {
                for f in fields {
                    if !words.contains(f) {
                        words.push(f.clone());
                    }
                }
                words
            })
        };
        let prunable = rules.prunable(fields);
        Engine {
            rules,
            types: None,
            tracked,
            prefilter,
            prunable,
            prune: true,
        }
    }

    /// Looks up struct members and typedefs in the headers below `roots`
    /// (the tree's `include/`) for typed metavariables; nothing is read when
    /// no rule has one.
    pub fn with_type_roots(mut self, roots: Vec<PathBuf>) -> Engine {
        let typed = self
            .rules
            .rules
            .iter()
            .any(|r| r.metavars.iter().any(|m| m.kind == MetaKind::Typed));
        if typed {
            self.types = Some(TypeIndex::new(roots));
        }
        self
    }

    /// Field names whose every occurrence is a site; also the prefilter's
    /// literals. `None` when the rules have no such literal.
    pub fn tracked(&self) -> Option<&[String]> {
        self.tracked.as_deref()
    }

    /// The literal prefilter: false only when `text` cannot hold a site
    /// and no rule can change it.
    pub fn may_match(&self, text: &[u8]) -> bool {
        match &self.prefilter {
            Some(words) => words.iter().any(|w| {
                memchr::memmem::find(text, w.as_bytes()).is_some()
                    || !source::spliced_word_occurrences(text, w).is_empty()
            }),
            None => true,
        }
    }

    /// Runs the rules over one file's text.
    pub fn rewrite(&self, text: &[u8]) -> FileOutcome {
        self.rewrite_in(text, None)
    }

    /// Runs the rules over the text of a file in directory `dir`, whose
    /// headers typed metavariables may need.
    pub fn rewrite_in(&self, text: &[u8], dir: Option<&Path>) -> FileOutcome {
        if !self.may_match(text) {
            return FileOutcome::default();
        }
        let occ = self.occurrences(text);
        let offsets: Vec<usize> = occ.iter().map(|o| o.0).collect();
        // Every match lies in code that holds a tracked field: code without
        // one need not be parsed or searched.
        let anchored = self.tracked.is_some() && self.prunable.iter().all(|p| *p);
        let fast = self.prune && anchored;

        let lines = LineIndex::new(text);
        let Blanked {
            defines,
            text: blanked,
        } = masked(text, &offsets);
        let (tree, islands) = parse_file(&blanked, &lines, &offsets, &defines, fast);
        let root = tree.root_node();

        // Each #define body holding an occurrence is parsed alone.
        let mut macro_trees = Vec::new();
        for d in &defines {
            let has_occ = offsets.iter().any(|o| d.body.contains(o));
            if !has_occ && anchored {
                continue;
            }
            macro_trees.push((d, syntax::parse_macro_body(&text[d.body.clone()])));
        }

        // What a rewrite in a #define body must be right for: the macro's
        // uses, found in the whole file (the fast path's tree lacks the
        // items without a site); and the arguments macros stringify.
        let in_bodies = defines
            .iter()
            .any(|d| offsets.iter().any(|o| d.body.contains(o)));
        let full;
        let macro_uses = if in_bodies {
            let use_root = if islands.is_some() {
                full = syntax::parse(&blanked);
                full.root_node()
            } else {
                root
            };
            macro_uses::MacroUses::collect(
                use_root,
                &blanked,
                text,
                &lines,
                &defines,
                &macro_trees,
                site::LVALUE_MACROS,
            )
        } else {
            macro_uses::MacroUses::stringified_only(&defines, text)
        };

        // The rules in order, each over the file and the macro bodies; a
        // rule whose `depends on` does not hold for this file is skipped.
        let mut outcomes: Vec<Outcome> = Vec::new();
        let mut matched: Vec<&str> = Vec::new();
        for (rule, &prunable) in self.rules.rules.iter().zip(&self.prunable) {
            let prune = self.prune && self.tracked.is_some() && prunable;
            if let Some(dep) = &rule.depends {
                if !dep.holds(&|r| matched.contains(&r)) {
                    outcomes.push(Outcome::default());
                    continue;
                }
            }
            let mut m = self
                .matcher(rule, &offsets, prune, dir)
                .with_macro_uses(&macro_uses);
            m.run(Region {
                text: &blanked,
                root,
                base: 0,
                macro_def: None,
            });
            let mut outcome = m.finish();
            for (d, parsed) in &macro_trees {
                let Some(mt) = parsed else { continue };
                let base = d.body.start as isize - mt.prefix_len as isize;
                let params = d.params.as_deref().unwrap_or(&[]);
                let mut m = self
                    .matcher(rule, &offsets, prune, dir)
                    .with_macro_uses(&macro_uses);
                m.run(Region {
                    text: &mt.text,
                    root: mt.tree.root_node(),
                    base,
                    macro_def: Some((&d.name, params)),
                });
                merge(&mut outcome, m.finish());
            }
            if outcome.n_matched > 0 {
                if let Some(name) = &rule.name {
                    matched.push(name);
                }
            }
            outcomes.push(outcome);
        }

        let mut sites = Vec::new();
        for &(s, e) in &occ {
            let kind = match macro_trees.iter().find(|(d, _)| d.body.contains(&s)) {
                Some((d, Some(mt))) => {
                    let off = s - d.body.start + mt.prefix_len;
                    classify(mt.tree.root_node(), &mt.text, off, off + (e - s))
                }
                Some((d, None)) => {
                    // Classify comments and strings with a best-effort parse.
                    let t = syntax::parse(&text[d.body.clone()]);
                    let off = s - d.body.start;
                    classify(t.root_node(), &text[d.body.clone()], off, off + (e - s))
                        .map(|_| Kind::MacroUnparsed)
                }
                None => classify(root, &blanked, s, e),
            };
            let Some(kind) = kind else { continue };
            let (line, col) = lines.line_col(s);
            let status = status_of(s, kind, &outcomes, self.has_context());
            let evidence = (status == Status::Rewritten)
                .then(|| {
                    outcomes
                        .iter()
                        .flat_map(|o| &o.evidence)
                        .find(|(o, _)| *o == s)
                        .map(|(_, ev)| *ev)
                })
                .flatten();
            let owner = (kind == Kind::Declaration)
                .then(
                    || match macro_trees.iter().find(|(d, _)| d.body.contains(&s)) {
                        Some(_) => None,
                        None => site::member_owner(root, &blanked, s, e),
                    },
                )
                .flatten();
            sites.push(Site {
                offset: s,
                line,
                col,
                kind,
                status,
                evidence,
                owner,
            });
        }

        let mut edits: Vec<Edit> = outcomes
            .iter()
            .flat_map(|o| o.edits.iter().cloned())
            .collect();
        edits.sort_by_key(|e| (e.range.start, e.range.end));
        edits.dedup();
        let new_text = if edits.is_empty() {
            None
        } else if edits.windows(2).any(|w| w[0].range.end > w[1].range.start) {
            // Two rules edited overlapping code: keep the file unchanged.
            leave_all(
                &mut sites,
                "rules made overlapping edits here; the file is left unchanged",
            );
            None
        } else if edits.iter().any(|e| {
            blanked[e.range.clone()] != text[e.range.clone()]
                && !defines.iter().any(|d| d.body.contains(&e.range.start))
        }) {
            // The replacement was rendered from the masked text, which
            // differs from the file inside this edit (a #define or a loop
            // macro within a GNU statement expression, say).
            leave_all(
                &mut sites,
                "an edit spans code the engine masked before parsing (a #define or a loop macro); the file is left unchanged",
            );
            None
        } else {
            let new = apply(text, &edits);
            let old = Parsed {
                text,
                lines: &lines,
                tree: &tree,
                islands: islands.as_deref(),
            };
            let new_offsets: Vec<usize> = self.occurrences(&new).iter().map(|o| o.0).collect();
            let new_masked = masked(&new, &new_offsets).text;
            if parses_as_well(&old, &new, &new_masked, &edits, &macro_trees) {
                Some(new)
            } else {
                leave_all(
                    &mut sites,
                    "the rewritten file parses with more errors than the original; the file is left unchanged",
                );
                None
            }
        };
        let edits = if new_text.is_some() {
            edits
        } else {
            Vec::new()
        };
        let excluded = outcomes
            .iter()
            .flat_map(|o| o.excluded.iter().map(|(r, _)| r.clone()))
            .collect();
        FileOutcome {
            sites,
            new_text,
            edits,
            excluded,
        }
    }

    fn matcher<'m>(
        &'m self,
        rule: &'m Rule,
        offsets: &'m [usize],
        prune: bool,
        dir: Option<&'m Path>,
    ) -> Matcher<'m> {
        let m = Matcher::new(rule, offsets, prune, site::LVALUE_MACROS);
        match &self.types {
            Some(t) => m.with_types(t, dir),
            None => m,
        }
    }

    /// Byte ranges of the tracked words' occurrences, in order.
    fn occurrences(&self, text: &[u8]) -> Vec<(usize, usize)> {
        let mut occ = Vec::new();
        for w in self.tracked.iter().flatten() {
            occ.extend(
                source::word_occurrences(text, w)
                    .into_iter()
                    .chain(source::spliced_word_occurrences(text, w))
                    .map(|o| (o, o + w.len())),
            );
        }
        occ.sort_unstable();
        occ
    }

    fn has_context(&self) -> bool {
        self.rules
            .rules
            .iter()
            .all(|r| matches!(r.body, crate::smpl::Pat::Function { .. }))
    }
}

fn classify(root: tree_sitter::Node, src: &[u8], s: usize, e: usize) -> Option<Kind> {
    match site::classify(root, src, s, e) {
        Occurrence::NotCode => None,
        Occurrence::Code(k) => Some(k),
    }
}

fn merge(into: &mut Outcome, from: Outcome) {
    into.edits.extend(from.edits);
    into.rewritten.extend(from.rewritten);
    into.rejected.extend(from.rejected);
    into.excluded.extend(from.excluded);
    into.contexts.extend(from.contexts);
    into.n_matched += from.n_matched;
}

/// Why site `s` of `kind` ends as it does.
fn status_of(s: usize, kind: Kind, outcomes: &[Outcome], has_context: bool) -> Status {
    if outcomes.iter().any(|o| o.rewritten.contains(&s)) {
        return Status::Rewritten;
    }
    let structural = matches!(kind, Kind::Unparsed | Kind::MacroUnparsed | Kind::Directive);
    if !structural {
        if let Some((_, why)) = outcomes
            .iter()
            .flat_map(|o| &o.rejected)
            .find(|(o, _)| *o == s)
        {
            return Status::Left(why.clone());
        }
        // The innermost exclusion applies.
        let excluded = outcomes
            .iter()
            .flat_map(|o| &o.excluded)
            .filter(|(r, _)| r.contains(&s))
            .min_by_key(|(r, _)| r.len());
        if let Some((_, why)) = excluded {
            return Status::Left(why.clone());
        }
        let in_context = outcomes
            .iter()
            .flat_map(|o| &o.contexts)
            .any(|r| r.contains(&s));
        let rewritable = matches!(
            kind,
            Kind::Read | Kind::Write | Kind::Increment | Kind::Decrement | Kind::Compound
        );
        if has_context && !in_context && rewritable {
            return Status::Left(
                "outside every function and macro that the rule's context matches".into(),
            );
        }
    }
    Status::Left(kind.default_reason().to_string())
}

fn leave_all(sites: &mut [Site], why: &str) {
    for site in sites.iter_mut().filter(|s| s.status == Status::Rewritten) {
        site.status = Status::Left(why.to_string());
    }
}

/// `text` with `edits` (sorted, disjoint) made.
pub fn apply(text: &[u8], edits: &[Edit]) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len() + edits.len() * 16);
    let mut at = 0;
    for e in edits {
        out.extend_from_slice(&text[at..e.range.start]);
        out.extend_from_slice(&e.text);
        at = e.range.end;
    }
    out.extend_from_slice(&text[at..]);
    out
}

/// `text` with `edits` (sorted, disjoint) made, when the result parses with
/// no more ERROR and MISSING nodes than `text` (both with their `#define`
/// bodies blanked); `None` otherwise. For edits that are a subset of a set
/// the engine verified, chosen by a check (`--fix`, a review's fix-up).
pub fn apply_checked(text: &[u8], edits: &[Edit]) -> Option<Vec<u8>> {
    let new = apply(text, edits);
    let errors = |t: &[u8]| ParsedFile::new(t).error_count();
    (errors(&new) <= errors(text)).then_some(new)
}

/// The text the main parse sees: `#define` bodies blanked, and the names of
/// loop macros used without braces overwritten with `while`, unless their
/// arguments hold an occurrence (those stay as they are, distrusted: the
/// macro may assign to them).
fn masked(text: &[u8], offsets: &[usize]) -> Blanked {
    let mut out = Blanked::new(text);
    let names: Vec<Range<usize>> = source::loop_macros(&out.text)
        .into_iter()
        .filter(|(_, args)| !offsets.iter().any(|o| args.contains(o)))
        .map(|(name, _)| name)
        .collect();
    source::mask_loop_macros(&mut out.text, &names);
    out
}

/// The tree the rules run on, and the byte ranges it covers (`None`: the
/// whole file). On the fast path only the top-level items that hold an
/// occurrence outside `#define` bodies are parsed, which is most of the
/// engine's speed on a kernel tree: a function is parsed, not the file around
/// it. The lexer's layout is trusted only when those items parse as items,
/// with ERROR and MISSING nodes (a loop macro without a `;`, say) only inside
/// function bodies, where the matcher distrusts their statements as it
/// does in a whole file; otherwise the whole file is parsed, as on the
/// simple path.
fn parse_file(
    blanked: &[u8],
    lines: &LineIndex,
    offsets: &[usize],
    defines: &[Define],
    fast: bool,
) -> (tree_sitter::Tree, Option<Vec<Range<usize>>>) {
    if fast {
        let outside: Vec<usize> = offsets
            .iter()
            .copied()
            .filter(|o| !defines.iter().any(|d| d.body.contains(o)))
            .collect();
        if outside.is_empty() {
            return (syntax::parse(b""), Some(Vec::new()));
        }
        if let Some(islands) = source::islands(blanked, &outside) {
            let tree = syntax::parse_ranges(blanked, lines, &islands);
            if syntax::errors_only_in_function_bodies(tree.root_node()) {
                return (tree, Some(islands));
            }
        }
    }
    (syntax::parse(blanked), None)
}

/// A file before the rewrite, as the engine parsed it.
struct Parsed<'a> {
    text: &'a [u8],
    lines: &'a LineIndex,
    tree: &'a tree_sitter::Tree,
    islands: Option<&'a [Range<usize>]>,
}

/// True when `new` (`old` with `edits` made) parses no worse than `old`:
/// no more ERROR and MISSING nodes in the file with its `#define` bodies
/// blanked (the same items again when only items were parsed, else the whole
/// file reparsed incrementally), and every edited `#define` body still
/// parsing on its own.
fn parses_as_well(
    old: &Parsed,
    new: &[u8],
    new_blanked: &[u8],
    edits: &[Edit],
    macro_trees: &[(&Define, Option<syntax::MacroTree>)],
) -> bool {
    let new_lines = LineIndex::new(new);
    let new_tree = match old.islands {
        // No item was parsed: every edit is in a #define body.
        Some([]) => None,
        Some(islands) => {
            let moved = shift_ranges(islands, edits);
            Some(syntax::parse_ranges(new_blanked, &new_lines, &moved))
        }
        None => {
            let (first, last) = (&edits[0], &edits[edits.len() - 1]);
            let new_end =
                (last.range.end as isize + new.len() as isize - old.text.len() as isize) as usize;
            let point = |lines: &LineIndex, off: usize| {
                let (line, col) = lines.line_col(off);
                tree_sitter::Point {
                    row: line - 1,
                    column: col - 1,
                }
            };
            let mut tree = old.tree.clone();
            tree.edit(&tree_sitter::InputEdit {
                start_byte: first.range.start,
                old_end_byte: last.range.end,
                new_end_byte: new_end,
                start_position: point(old.lines, first.range.start),
                old_end_position: point(old.lines, last.range.end),
                new_end_position: point(&new_lines, new_end),
            });
            Some(syntax::parse_with(new_blanked, Some(&tree)))
        }
    };
    if let Some(new_tree) = new_tree {
        if syntax::error_count(new_tree.root_node()) > syntax::error_count(old.tree.root_node()) {
            return false;
        }
    }
    macro_trees.iter().all(|(d, parsed)| {
        let inside: Vec<Edit> = edits
            .iter()
            .filter(|e| d.body.contains(&e.range.start))
            .map(|e| Edit {
                range: e.range.start - d.body.start..e.range.end - d.body.start,
                ..e.clone()
            })
            .collect();
        inside.is_empty()
            || parsed.is_none()
            || syntax::parse_macro_body(&apply(&old.text[d.body.clone()], &inside)).is_some()
    })
}

/// `ranges` (sorted, disjoint) moved to where they are once `edits` (sorted,
/// disjoint, each inside one range or outside all) are made.
fn shift_ranges(ranges: &[Range<usize>], edits: &[Edit]) -> Vec<Range<usize>> {
    let delta = |e: &Edit| e.text.len() as isize - e.range.len() as isize;
    ranges
        .iter()
        .map(|r| {
            let before: isize = edits
                .iter()
                .filter(|e| e.range.end <= r.start)
                .map(delta)
                .sum();
            let within: isize = edits
                .iter()
                .filter(|e| e.range.start >= r.start && e.range.start < r.end)
                .map(delta)
                .sum();
            (r.start as isize + before) as usize..(r.end as isize + before + within) as usize
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layout(text: &[u8]) -> Option<Vec<Range<usize>>> {
        let occ = source::word_occurrences(text, "bv_page");
        let Blanked {
            defines,
            text: blanked,
        } = Blanked::new(text);
        parse_file(&blanked, &LineIndex::new(text), &occ, &defines, true).1
    }

    #[test]
    fn fast_path_parses_only_the_items_that_hold_a_site() {
        let text = b"\
int broken = = 1 +;
static void f(struct bio_vec *bv, struct page *p)
{
\tlist_for_each_entry(x, y, z)
\t\tfoo(x);
\tbv->bv_page = p;
}
int tail;
";
        let isl = layout(text).expect("the fast path is taken");
        assert_eq!(isl.len(), 1);
        assert!(text[isl[0].clone()].starts_with(b"static void f("));
        // The loop macro without a `;` is an error inside the body, which the
        // fast path tolerates as the whole-file path does.
        assert!(syntax::parse(&text[isl[0].clone()]).root_node().has_error());
        let out = Engine::new(RuleFile::default_rule()).rewrite(text);
        let new = String::from_utf8(out.new_text.unwrap()).unwrap();
        assert!(new.contains("\tbvec_set_page(bv, p);\n"), "{new}");
    }

    #[test]
    fn a_layout_that_does_not_parse_as_items_falls_back_to_the_file() {
        // The lexer ends an item at the `}` of a struct whose declarator is
        // on the next line: the piece does not parse as an item.
        let text = b"struct s {\n\tstruct page *bv_page;\n}\ns_var;\n";
        assert_eq!(layout(text), None);
        // A read in a directive between items: no item holds it.
        let text = b"#if X(bv_page)\n#endif\nvoid f(struct bio_vec *b) { g(b->bv_page); }\n";
        assert_eq!(layout(text), None);
        // Only #define bodies hold sites: nothing to parse but the bodies.
        let text = b"#define P(b) ((b)->bv_page)\nint x;\n";
        assert_eq!(layout(text), Some(vec![]));
    }

    #[test]
    fn initializer_members_and_struct_members_are_fragments_too() {
        let rule = "\
@ members @
expression X;
@@
(
- struct page *bv_page;
+ pfn_t bv_pfn;
|
- .bv_page = X
+ .bv_pfn = page_to_pfn_t(X)
)
";
        let engine = Engine::new(RuleFile::parse("t.cocci", rule).unwrap());
        let text = b"\
struct bio_vec {
\tstruct page\t*bv_page;
\tunsigned int\tbv_len;
};
#define BV(p) ((struct bio_vec) { .bv_page = (p), .bv_len = 1 })
static struct bio_vec zero = { .bv_page = NULL, .bv_len = 0 };
";
        let out = engine.rewrite(text);
        assert_eq!(
            String::from_utf8(out.new_text.unwrap()).unwrap(),
            "\
struct bio_vec {
\tpfn_t bv_pfn;
\tunsigned int\tbv_len;
};
#define BV(p) ((struct bio_vec) { .bv_pfn = page_to_pfn_t(p), .bv_len = 1 })
static struct bio_vec zero = { .bv_pfn = page_to_pfn_t(NULL), .bv_len = 0 };
"
        );
        assert!(out.sites.iter().all(|s| s.status == Status::Rewritten));
    }

    fn run_rule(rule: &str, text: &str) -> String {
        let engine = Engine::new(RuleFile::parse("t.cocci", rule).unwrap());
        let out = engine.rewrite(text.as_bytes());
        String::from_utf8(out.new_text.unwrap_or_else(|| text.as_bytes().to_vec())).unwrap()
    }

    #[test]
    fn depends_on_runs_a_rule_only_where_the_other_matched() {
        let rule = "\
@ has_helper @
expression X;
@@
bvec_page(X)

@ convert depends on has_helper @
expression E;
@@
- E->bv_page
+ bvec_page(E)

@ mark depends on !has_helper && !convert @
expression E;
@@
- E->bv_page
+ RAW_PAGE(E)
";
        let with = "int f(struct bio_vec *b) { return g(bvec_page(b)) + h(b->bv_page); }\n";
        assert_eq!(
            run_rule(rule, with),
            "int f(struct bio_vec *b) { return g(bvec_page(b)) + h(bvec_page(b)); }\n"
        );
        let without = "int f(struct bio_vec *b) { return h(b->bv_page); }\n";
        assert_eq!(
            run_rule(rule, without),
            "int f(struct bio_vec *b) { return h(RAW_PAGE(b)); }\n"
        );
    }

    #[test]
    fn regex_constant_and_type_metavariables() {
        let rule = "\
@@
identifier fn =~ \"^bio_\";
identifier other !~ \"^bio_\";
constant C;
type T;
expression E;
@@
(
- fn(E->bv_page, C)
+ fn(bvec_page(E), C)
|
- (T *)E->bv_page
+ (T *)bvec_page(E)
)
";
        let text = "\
void f(struct bio_vec *b)
{
\tbio_add(b->bv_page, PAGE_SIZE);
\tbio_add(b->bv_page, 4096);
\tbio_add(b->bv_page, len);
\tother_add(b->bv_page, 1);
\tp = (struct page *)b->bv_page;
}
";
        assert_eq!(
            run_rule(rule, text),
            "\
void f(struct bio_vec *b)
{
\tbio_add(bvec_page(b), PAGE_SIZE);
\tbio_add(bvec_page(b), 4096);
\tbio_add(b->bv_page, len);
\tother_add(b->bv_page, 1);
\tp = (struct page *)bvec_page(b);
}
"
        );
        let e = RuleFile::parse("t.cocci", "@@\nidentifier f =~ \"(\";\n@@\n- f\n+ g\n")
            .unwrap_err()
            .to_string();
        assert_eq!(e, "t.cocci:2:17: bad regular expression: unclosed group");
    }

    /// The prefilter only skips files no rule changes: on every fixture,
    /// with each rule file, a file it rejects has nothing to rewrite and no
    /// site when run without it.
    #[test]
    fn prefilter_never_holds_back_a_change() {
        let root = env!("CARGO_MANIFEST_DIR");
        let mut n_skipped = 0;
        for rule in [
            "bv_page.cocci",
            "bv_page-modern.cocci",
            "bv_page-typed.cocci",
            "bv_pfn.cocci",
            "bv_pfn-api.cocci",
        ] {
            let path = format!("{root}/rules/{rule}");
            let text = std::fs::read_to_string(&path).unwrap();
            let filtered = Engine::new(RuleFile::parse(&path, &text).unwrap());
            let mut open = Engine::new(RuleFile::parse(&path, &text).unwrap());
            open.prefilter = None;
            for dir in ["fixtures/rewrite", "fixtures/semantic"] {
                for entry in std::fs::read_dir(format!("{root}/{dir}")).unwrap() {
                    let case = entry.unwrap().path();
                    for name in ["input.c", "input.h", "fixture.c"] {
                        let Ok(input) = std::fs::read(case.join(name)) else {
                            continue;
                        };
                        if filtered.may_match(&input) {
                            continue;
                        }
                        n_skipped += 1;
                        let out = open.rewrite(&input);
                        assert!(
                            out.new_text.is_none() && out.sites.is_empty(),
                            "{rule} on {}",
                            case.display()
                        );
                    }
                }
            }
        }
        // Every fixture holds the field; the rules without one (bv_pfn-api) skip
        // the files without their words.
        assert!(n_skipped >= 4, "the prefilter was exercised ({n_skipped})");
    }

    /// The fast path (searching only subtrees that hold an occurrence) finds
    /// what the simple path (searching everything) finds, on every fixture.
    #[test]
    fn pruned_search_equals_full_search() {
        let fast = Engine::new(RuleFile::default_rule());
        let mut slow = Engine::new(RuleFile::default_rule());
        slow.prune = false;
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/rewrite");
        let mut n = 0;
        for entry in std::fs::read_dir(dir).unwrap() {
            let case = entry.unwrap().path();
            for name in ["input.c", "input.h"] {
                let Ok(text) = std::fs::read(case.join(name)) else {
                    continue;
                };
                let (a, b) = (fast.rewrite(&text), slow.rewrite(&text));
                assert_eq!(a.new_text, b.new_text, "{}", case.display());
                assert_eq!(a.sites, b.sites, "{}", case.display());
                n += 1;
            }
        }
        assert!(n >= 30);
    }
}
