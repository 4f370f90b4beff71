//! One file through the whole rewrite: find the occurrences, parse (the file
//! with its `#define` bodies blanked, then each body that matters on its
//! own), match every rule, classify every site, apply the edits, and verify
//! the result by parsing it again.
//!
//! **Invariant:** every occurrence of a tracked field in code ends as a site
//! that is rewritten or left with a reason; a file whose rewrite parses with
//! more errors than the original is kept unchanged, its sites reported.

pub mod branches;
pub mod choice;
pub mod clash;
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
use crate::c::syntax::{self, ErrorRegions};
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
    /// The literal prefilter: a file is parsed only when it holds every
    /// word of one clause (indices into `words`). `None`: every file is.
    prefilter: Option<Prefilter>,
    /// Per rule: whether pruning (and parsing only the items that hold an
    /// anchor) is sound for it, that is whether its every fragment names a
    /// tracked field or another literal name (see `RuleFile::anchors`).
    prunable: Vec<bool>,
    /// The words whose occurrences anchor the prunable rules' matches: the
    /// tracked fields first, then the other fragments' names.
    anchors: Vec<String>,
    /// Search only the subtrees that hold an occurrence (the fast path);
    /// off in tests that compare it with the simple path.
    prune: bool,
    /// The structs and unions that the run's other files declare a
    /// tracked field in (see [`Engine::with_owners_elsewhere`]).
    owners_elsewhere: Vec<String>,
    /// The functions the rules' replacements call, sorted: a macro body
    /// must not call one that a variable in scope may hide
    /// ([`clash`]).
    called: Vec<String>,
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
    /// Why the file could not be searched at all (it nests deeper than
    /// `MAX_DEPTH`): its sites are left with this reason, and a run over
    /// a tree reports the file as an error.
    pub error: Option<String>,
}

/// The deepest syntax tree the engine searches. The matcher, the checks
/// and the C layer recurse over trees; a file nesting deeper (tens of
/// thousands of parentheses, generated or hostile) would overflow the
/// stack of a walker thread and abort the whole run, so it is refused as
/// one file. Kernel code nests a few dozen levels.
pub const MAX_DEPTH: usize = 1_500;

/// True when the tree below `root` is more than `limit` levels deep;
/// iterative, so any depth can be measured.
pub(crate) fn deeper_than(root: tree_sitter::Node, limit: usize) -> bool {
    let mut cursor = root.walk();
    let mut depth = 0usize;
    loop {
        if depth > limit {
            return true;
        }
        if cursor.goto_first_child() {
            depth += 1;
            continue;
        }
        loop {
            if cursor.goto_next_sibling() {
                break;
            }
            if !cursor.goto_parent() {
                return false;
            }
            depth -= 1;
        }
    }
}

/// The outcome of a file nesting deeper than [`MAX_DEPTH`]: every
/// occurrence left, unclassified, and the error.
fn too_deep(occ: &[(usize, usize)], lines: &LineIndex) -> FileOutcome {
    let why = format!("nests deeper than {MAX_DEPTH} levels; the file is left unchanged");
    let sites = occ
        .iter()
        .map(|&(s, _)| {
            let (line, col) = lines.line_col(s);
            Site {
                offset: s,
                line,
                col,
                kind: Kind::Unparsed,
                status: Status::Left(why.clone()),
                evidence: None,
                owner: None,
            }
        })
        .collect();
    FileOutcome {
        sites,
        error: Some(why),
        ..FileOutcome::default()
    }
}

impl Engine {
    /// An engine running `rules`.
    pub fn new(rules: RuleFile) -> Engine {
        let tracked = rules.tracked_fields();
        let fields = tracked.as_deref().unwrap_or(&[]);
        // A file must hold the words some change needs, or a tracked field
        // (whose occurrences are sites to report).
        let prefilter = rules.prefilter_clauses().map(|mut clauses| {
            clauses.extend(fields.iter().map(|f| vec![f.clone()]));
            Prefilter::new(crate::smpl::absorbed(clauses))
        });
        let mut called: Vec<String> = rules.emitted_calls().into_iter().map(|c| c.name).collect();
        called.sort();
        called.dedup();
        let per_rule = rules.anchors(fields);
        let prunable = per_rule.iter().map(Option::is_some).collect();
        let mut anchors: Vec<String> = fields.to_vec();
        for w in per_rule.into_iter().flatten().flatten() {
            if !anchors.contains(&w) {
                anchors.push(w);
            }
        }
        Engine {
            rules,
            // Untyped rules need types too where another struct declares
            // a tracked field.
            types: tracked.is_some().then(TypeIndex::default),
            tracked,
            prefilter,
            prunable,
            anchors,
            prune: true,
            owners_elsewhere: Vec::new(),
            called,
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
        if typed || self.tracked.is_some() {
            self.types = Some(TypeIndex::new(roots));
        }
        self
    }

    /// The structs and unions that files of the run other than the one
    /// rewritten declare a tracked field in: where one is not `struct
    /// bio_vec`, every file is rewritten as if it declared it (a file may
    /// see another's declaration through an include the engine does not
    /// follow).
    pub fn with_owners_elsewhere(mut self, owners: Vec<String>) -> Engine {
        self.owners_elsewhere = owners;
        self
    }

    /// The functions the rules' replacements call, sorted.
    pub fn called(&self) -> &[String] {
        &self.called
    }

    /// Field names whose every occurrence is a site; also the prefilter's
    /// literals. `None` when the rules have no such literal.
    pub fn tracked(&self) -> Option<&[String]> {
        self.tracked.as_deref()
    }

    /// The literal prefilter: false only when `text` cannot hold a site
    /// and no rule can change it.
    pub fn may_match(&self, text: &[u8]) -> bool {
        self.prefilter.as_ref().is_none_or(|p| p.passes(text))
    }

    /// Runs the rules over one file's text.
    pub fn rewrite(&self, text: &[u8]) -> FileOutcome {
        self.rewrite_in(text, None)
    }

    /// Runs the rules over the text of a file in directory `dir`, whose
    /// headers typed metavariables may need.
    pub fn rewrite_in(&self, text: &[u8], dir: Option<&Path>) -> FileOutcome {
        self.rewrite_with(text, dir, None)
    }

    /// [`Engine::rewrite_in`] for a header of a walk, whose macros' uses
    /// in the walk's other files are `elsewhere`. Sites left in code that
    /// conditional directives split get each configuration of them
    /// (`branches`).
    pub fn rewrite_with(
        &self,
        text: &[u8],
        dir: Option<&Path>,
        elsewhere: Option<&std::sync::Arc<macro_uses::Elsewhere>>,
    ) -> FileOutcome {
        let whole = self.rewrite_once(text, dir, elsewhere);
        branches::refine(self, text, dir, elsewhere, whole)
    }

    /// [`Engine::rewrite_with`] over `text` as one text, its conditional
    /// directives as tree-sitter reads them.
    fn rewrite_once(
        &self,
        text: &[u8],
        dir: Option<&Path>,
        elsewhere: Option<&std::sync::Arc<macro_uses::Elsewhere>>,
    ) -> FileOutcome {
        if !self.may_match(text) {
            return FileOutcome::default();
        }
        let occ = self.occurrences(text);
        let offsets: Vec<usize> = occ.iter().map(|o| o.0).collect();
        // Every match lies in code that holds an anchor (a tracked field,
        // or a name a fragment needs): code without one need not be parsed
        // or searched.
        let anchored = self.prunable.iter().all(|p| *p);
        let fast = self.prune && anchored;
        let anchor_offsets = self.anchor_offsets(text, &offsets);

        let lines = LineIndex::new(text);
        let Blanked {
            defines,
            text: blanked,
        } = masked(text, &offsets);
        let Some((tree, islands)) = parse_file(&blanked, &lines, &anchor_offsets, &defines, fast)
        else {
            return too_deep(&occ, &lines);
        };
        let root = tree.root_node();

        // Each #define body holding an occurrence is parsed alone, its
        // stringified and pasted operands masked.
        let mut macro_trees = Vec::new();
        let mut masked_ops: Vec<Range<usize>> = Vec::new();
        for d in &defines {
            let holds = |offs: &[usize]| {
                let i = offs.partition_point(|&o| o < d.body.start);
                offs.get(i).is_some_and(|&o| o < d.body.end)
            };
            let has_occ = holds(&offsets);
            if anchored && !holds(&anchor_offsets) {
                continue;
            }
            let body = &text[d.body.clone()];
            // A body that does not parse is classified from a parse of its
            // own (below), which must not be too deep either.
            let parsed = macro_uses::parse_masked_body(body, d.params.as_deref()).map(|(mt, m)| {
                masked_ops.extend(
                    m.iter()
                        .map(|r| d.body.start + r.start..d.body.start + r.end),
                );
                mt
            });
            let deep = match &parsed {
                Some(mt) => deeper_than(mt.tree.root_node(), MAX_DEPTH),
                None => has_occ && deeper_than(syntax::parse(body).root_node(), MAX_DEPTH),
            };
            if deep {
                return too_deep(&occ, &lines);
            }
            macro_trees.push((d, parsed));
        }

        // Who declares the tracked fields: this file, the headers, the
        // run's other files. Where a struct other than bio_vec does, a
        // rewrite needs types that show a bio_vec.
        let owners = self.shared_owners(&occ, root, &blanked, &macro_trees, dir);

        // The main tree sees directives only as tree-sitter read them; in
        // an ERROR region a blanked `#define` is tokens like any other.
        let directives = directive_lines(text, &defines);
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
                elsewhere.cloned(),
                &self.called,
            )
        } else {
            macro_uses::MacroUses::stringified_only(&defines, text)
        };

        // The rules in order, each over the file and the macro bodies; a
        // rule whose `depends on` does not hold for this file is skipped.
        let mut outcomes: Vec<Outcome> = Vec::new();
        let mut matched: Vec<&str> = Vec::new();
        for (rule, &prunable) in self.rules.rules.iter().zip(&self.prunable) {
            let prune = self.prune && prunable;
            if let Some(dep) = &rule.depends {
                if !dep.holds(&|r| matched.contains(&r)) {
                    outcomes.push(Outcome::default());
                    continue;
                }
            }
            let mut m = self
                .matcher(
                    rule,
                    (&offsets, &anchor_offsets),
                    prune,
                    dir,
                    owners.as_deref(),
                )
                .with_macro_uses(&macro_uses);
            m.run(Region {
                text: &blanked,
                root,
                base: 0,
                macro_def: None,
            });
            let mut outcome = m.finish();
            refuse_across_directives(&mut outcome, &directives);
            for (d, parsed) in &macro_trees {
                let Some(mt) = parsed else { continue };
                let base = d.body.start as isize - mt.prefix_len as isize;
                let params = d.params.as_deref().unwrap_or(&[]);
                let mut m = self
                    .matcher(
                        rule,
                        (&offsets, &anchor_offsets),
                        prune,
                        dir,
                        owners.as_deref(),
                    )
                    .with_macro_uses(&macro_uses);
                m.run(Region {
                    text: &mt.text,
                    root: mt.tree.root_node(),
                    base,
                    macro_def: Some((&d.name, params)),
                });
                let mut found = m.finish();
                confine(&mut found, &d.body);
                merge(&mut outcome, found);
            }
            macro_uses::refuse_masked(&mut outcome, &masked_ops);
            if outcome.n_matched > 0 {
                if let Some(name) = &rule.name {
                    matched.push(name);
                }
            }
            outcomes.push(outcome);
        }

        // A site is kept by design only where no rule searched: a range
        // one rule's context excludes (the helpers' bodies) may be searched
        // by another (one that applies only there, or everywhere else).
        let excluded = kept_by_design(&outcomes);
        let verdicts = Verdicts::new(&outcomes, &excluded);
        let mut sites = Vec::new();
        let regions = ErrorRegions::new(root);
        for &(s, e) in &occ {
            let in_macro = macro_at(&macro_trees, s);
            let in_masked = masked_ops.iter().any(|r| r.contains(&s));
            let kind = match in_macro {
                Some(_) if in_masked => Some(Kind::MacroUnparsed),
                Some((d, Some(mt))) => {
                    let off = s - d.body.start + mt.prefix_len;
                    let root = mt.tree.root_node();
                    classify(root, &ErrorRegions::new(root), &mt.text, off, off + (e - s))
                }
                Some((d, None)) => {
                    // Classify comments and strings with a best-effort parse.
                    let t = syntax::parse(&text[d.body.clone()]);
                    let off = s - d.body.start;
                    let root = t.root_node();
                    let regions = ErrorRegions::new(root);
                    classify(root, &regions, &text[d.body.clone()], off, off + (e - s))
                        .map(|_| Kind::MacroUnparsed)
                }
                None => classify(root, &regions, &blanked, s, e),
            };
            let Some(kind) = kind else { continue };
            let (line, col) = lines.line_col(s);
            let mut status = verdicts.status_of(s, kind, self.has_context());
            if in_masked {
                status = Status::Left(macro_uses::MASKED_REASON.to_string());
            }
            let evidence = (status == Status::Rewritten)
                .then(|| verdicts.evidence.get(&s).copied())
                .flatten();
            let owner = (kind == Kind::Declaration)
                .then(|| match in_macro {
                    Some((d, Some(mt))) => {
                        let off = s - d.body.start + mt.prefix_len;
                        site::member_owner(mt.tree.root_node(), &mt.text, off, off + (e - s))
                            .or_else(|| Some(format!("a member in #define {}", d.name)))
                    }
                    Some((_, None)) => None,
                    None => site::member_owner(root, &blanked, s, e),
                })
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

        // A rule that tracks no field: its matches are the sites.
        if self.tracked.is_none() {
            let mut at: Vec<usize> = verdicts
                .rewritten
                .iter()
                .chain(verdicts.rejected.keys())
                .copied()
                .collect();
            at.sort_unstable();
            at.dedup();
            for s in at {
                let (line, col) = lines.line_col(s);
                let status = verdicts.status_of(s, Kind::Match, false);
                sites.push(Site {
                    offset: s,
                    line,
                    col,
                    kind: Kind::Match,
                    evidence: (status == Status::Rewritten)
                        .then(|| verdicts.evidence.get(&s).copied())
                        .flatten(),
                    status,
                    owner: None,
                });
            }
        }

        let mut edits: Vec<Edit> = outcomes
            .iter()
            .flat_map(|o| o.edits.iter().cloned())
            .collect();
        edits.sort_by_key(|e| (e.range.start, e.range.end));
        edits.dedup();
        for e in &mut edits {
            if !in_define_body(&defines, e) {
                unmask(e, text, &blanked);
            }
        }
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
                && !in_define_body(&defines, e)
                && !unmasked(e, text, &blanked)
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
        FileOutcome {
            sites,
            new_text,
            edits,
            excluded,
            error: None,
        }
    }

    /// A matcher for `rule` over a file whose tracked fields and anchors
    /// are at `offsets`.
    fn matcher<'m>(
        &'m self,
        rule: &'m Rule,
        (occurrences, anchors): (&'m [usize], &'m [usize]),
        prune: bool,
        dir: Option<&'m Path>,
        owners: Option<&'m [String]>,
    ) -> Matcher<'m> {
        let m = Matcher::new(rule, occurrences, prune, site::LVALUE_MACROS).with_anchors(anchors);
        let m = match &self.types {
            Some(t) => m.with_types(t, dir),
            None => m,
        };
        let m = m.with_match_sites(self.tracked.is_none());
        match owners {
            Some(o) => m.with_owners(o),
            None => m,
        }
    }

    /// All the structs and unions that declare a tracked field, when one
    /// of them is not [`site::FIELD_STRUCT`]: in the file (`occ`, in its
    /// tree and its `#define` bodies), in the headers of the tree and of
    /// `dir`, and in the run's other files.
    fn shared_owners(
        &self,
        occ: &[(usize, usize)],
        root: tree_sitter::Node,
        blanked: &[u8],
        macro_trees: &[(&Define, Option<syntax::MacroTree>)],
        dir: Option<&Path>,
    ) -> Option<Vec<String>> {
        if occ.is_empty() {
            return None;
        }
        let mut owners = self.owners_elsewhere.clone();
        let (in_bodies, outside): (Vec<_>, Vec<_>) = occ
            .iter()
            .partition(|(s, _)| macro_at(macro_trees, *s).is_some());
        owners.extend(site::declared_owners(root, blanked, &outside));
        for (d, parsed) in macro_trees {
            let Some(mt) = parsed else { continue };
            let at = |o: usize| o - d.body.start + mt.prefix_len;
            let here: Vec<(usize, usize)> = in_bodies
                .iter()
                .filter(|(s, _)| d.body.contains(s))
                .map(|&(s, e)| (at(s), at(e)))
                .collect();
            owners.extend(site::declared_owners(mt.tree.root_node(), &mt.text, &here));
        }
        if let Some(types) = &self.types {
            for f in self.tracked.iter().flatten() {
                owners.extend(types.field_owners(f, dir));
            }
        }
        owners.sort();
        owners.dedup();
        owners
            .iter()
            .any(|o| o != site::FIELD_STRUCT)
            .then_some(owners)
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

    /// Sorted offsets of the anchors' occurrences: the tracked fields'
    /// (`offsets`) and the other anchor words'.
    fn anchor_offsets(&self, text: &[u8], offsets: &[usize]) -> Vec<usize> {
        let fields = self.tracked.as_deref().unwrap_or(&[]);
        let mut out = offsets.to_vec();
        for w in self.anchors.iter().filter(|w| !fields.contains(w)) {
            out.extend(source::word_occurrences(text, w));
        }
        out.sort_unstable();
        out.dedup();
        out
    }

    fn has_context(&self) -> bool {
        self.rules
            .rules
            .iter()
            .all(|r| matches!(r.body, crate::smpl::Pat::Function { .. }))
    }
}

fn classify(
    root: tree_sitter::Node,
    regions: &ErrorRegions,
    src: &[u8],
    s: usize,
    e: usize,
) -> Option<Kind> {
    match site::classify(root, regions, src, s, e) {
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

/// The `#define` body (and its tree) that holds offset `s`; the defines
/// are in file order and disjoint.
fn macro_at<'d, 't>(
    macro_trees: &'t [(&'d Define, Option<syntax::MacroTree>)],
    s: usize,
) -> Option<&'t (&'d Define, Option<syntax::MacroTree>)> {
    let i = macro_trees.partition_point(|(d, _)| d.body.end <= s);
    macro_trees.get(i).filter(|(d, _)| d.body.contains(&s))
}

/// The ranges that a rule's context excludes and no rule's context takes
/// in (no rule searched them), sorted and disjoint.
fn kept_by_design(outcomes: &[Outcome]) -> Vec<Range<usize>> {
    let excluded = merged(
        outcomes
            .iter()
            .flat_map(|o| o.excluded.iter().map(|(r, _)| r.clone()))
            .collect(),
    );
    let searched = merged(
        outcomes
            .iter()
            .flat_map(|o| o.contexts.iter().cloned())
            .collect(),
    );
    subtracted(&excluded, &searched)
}

/// `ranges` sorted, with overlapping ones joined.
fn merged(mut ranges: Vec<Range<usize>>) -> Vec<Range<usize>> {
    ranges.sort_unstable_by_key(|r| (r.start, r.end));
    let mut out: Vec<Range<usize>> = Vec::new();
    for r in ranges.into_iter().filter(|r| !r.is_empty()) {
        match out.last_mut() {
            Some(last) if r.start <= last.end => last.end = last.end.max(r.end),
            _ => out.push(r),
        }
    }
    out
}

/// `a` without `b`; both sorted and disjoint.
fn subtracted(a: &[Range<usize>], b: &[Range<usize>]) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    let mut j = 0;
    for r in a {
        let mut start = r.start;
        while j < b.len() && b[j].end <= start {
            j += 1;
        }
        let mut k = j;
        while k < b.len() && b[k].start < r.end {
            if b[k].start > start {
                out.push(start..b[k].start);
            }
            start = start.max(b[k].end);
            k += 1;
        }
        if start < r.end {
            out.push(start..r.end);
        }
    }
    out
}

/// Clauses of words, one of which a file must hold whole to be parsed.
struct Prefilter {
    /// The distinct words, each searched at most once per file.
    words: Vec<String>,
    /// Indices into `words`, shortest clause first.
    clauses: Vec<Vec<usize>>,
}

impl Prefilter {
    fn new(clauses: Vec<Vec<String>>) -> Prefilter {
        let mut words: Vec<String> = Vec::new();
        let clauses = clauses
            .into_iter()
            .map(|c| {
                c.into_iter()
                    .map(|w| match words.iter().position(|x| *x == w) {
                        Some(i) => i,
                        None => {
                            words.push(w);
                            words.len() - 1
                        }
                    })
                    .collect()
            })
            .collect();
        Prefilter { words, clauses }
    }

    /// Whether `text` holds every word of some clause (as a substring, or
    /// split by a backslash-newline).
    fn passes(&self, text: &[u8]) -> bool {
        // Per word: not looked up yet, absent, present.
        let mut seen: Vec<Option<bool>> = vec![None; self.words.len()];
        self.clauses.iter().any(|clause| {
            clause.iter().all(|&i| {
                *seen[i].get_or_insert_with(|| {
                    let w = &self.words[i];
                    memchr::memmem::find(text, w.as_bytes()).is_some()
                        || !source::spliced_word_occurrences(text, w).is_empty()
                })
            })
        })
    }
}

/// Ranges sorted by start, with the largest end so far, to find the ones
/// holding an offset without looking at every range (one per function in
/// a file with thousands).
struct Ranges<'a, T> {
    items: Vec<(&'a Range<usize>, T)>,
    max_end: Vec<usize>,
}

impl<'a, T: Copy> Ranges<'a, T> {
    fn new(mut items: Vec<(&'a Range<usize>, T)>) -> Self {
        items.sort_by_key(|(r, _)| r.start);
        let mut end = 0;
        let max_end = items
            .iter()
            .map(|(r, _)| {
                end = end.max(r.end);
                end
            })
            .collect();
        Ranges { items, max_end }
    }

    /// The ranges holding `s`.
    fn holding(&self, s: usize) -> impl Iterator<Item = (&'a Range<usize>, T)> + '_ {
        let i = self.items.partition_point(|(r, _)| r.start <= s);
        (0..i)
            .rev()
            .take_while(move |&k| self.max_end[k] > s)
            .map(|k| self.items[k])
            .filter(move |(r, _)| r.contains(&s))
    }
}

/// What the rules' outcomes say of each site, indexed by offset.
struct Verdicts<'a> {
    rewritten: std::collections::HashSet<usize>,
    /// The first reason recorded for an offset wins.
    rejected: std::collections::HashMap<usize, &'a str>,
    excluded: Ranges<'a, &'a str>,
    /// Where a rule's context excludes the code and no rule's context
    /// takes it in (sorted, disjoint).
    kept: &'a [Range<usize>],
    contexts: Ranges<'a, ()>,
    evidence: std::collections::HashMap<usize, crate::c::types::Evidence>,
}

impl<'a> Verdicts<'a> {
    fn new(outcomes: &'a [Outcome], kept: &'a [Range<usize>]) -> Self {
        let mut rejected = std::collections::HashMap::new();
        let mut evidence = std::collections::HashMap::new();
        for o in outcomes {
            for (s, why) in &o.rejected {
                rejected.entry(*s).or_insert(why.as_str());
            }
            for (s, ev) in &o.evidence {
                evidence.entry(*s).or_insert(*ev);
            }
        }
        Verdicts {
            rewritten: outcomes
                .iter()
                .flat_map(|o| o.rewritten.iter().copied())
                .collect(),
            rejected,
            kept,
            excluded: Ranges::new(
                outcomes
                    .iter()
                    .flat_map(|o| o.excluded.iter().map(|(r, why)| (r, why.as_str())))
                    .collect(),
            ),
            contexts: Ranges::new(
                outcomes
                    .iter()
                    .flat_map(|o| o.contexts.iter().map(|r| (r, ())))
                    .collect(),
            ),
            evidence,
        }
    }

    /// Why site `s` of `kind` ends as it does.
    fn status_of(&self, s: usize, kind: Kind, has_context: bool) -> Status {
        if self.rewritten.contains(&s) {
            return Status::Rewritten;
        }
        let structural = matches!(kind, Kind::Unparsed | Kind::MacroUnparsed | Kind::Directive);
        if !structural {
            if let Some(why) = self.rejected.get(&s) {
                return Status::Left(why.to_string());
            }
            // The innermost exclusion applies (the first recorded among
            // equals), where no rule searched.
            let i = self.kept.partition_point(|r| r.end <= s);
            let kept = self.kept.get(i).is_some_and(|r| r.contains(&s));
            let mut excluded: Vec<_> = if kept {
                self.excluded.holding(s).collect()
            } else {
                Vec::new()
            };
            excluded.reverse();
            if let Some((_, why)) = excluded.into_iter().min_by_key(|(r, _)| r.len()) {
                return Status::Left(why.to_string());
            }
            let in_context = self.contexts.holding(s).next().is_some();
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
}

/// The extents of the preprocessor directives of `text`, sorted and
/// disjoint: each line whose first non-blank byte is `#`, with its
/// backslash continuations, and each `#define` whole (whose body the lexer
/// followed through comments).
fn directive_lines(text: &[u8], defines: &[Define]) -> Vec<Range<usize>> {
    let mut out: Vec<Range<usize>> = Vec::new();
    let mut at = 0;
    while at < text.len() {
        let mut end = memchr::memchr(b'\n', &text[at..]).map_or(text.len(), |p| at + p);
        let first = text[at..end]
            .iter()
            .position(|b| !matches!(b, b' ' | b'\t'));
        if first.is_some_and(|k| text[at + k] == b'#') {
            let start = at;
            // Continuations: a backslash (and maybe a CR) before the newline.
            while end < text.len() {
                let line = &text[..end];
                let line = line.strip_suffix(b"\r").unwrap_or(line);
                if !line.ends_with(b"\\") {
                    break;
                }
                end = memchr::memchr(b'\n', &text[end + 1..]).map_or(text.len(), |p| end + 1 + p);
            }
            out.push(start..end);
        }
        at = end + 1;
    }
    for d in defines {
        let start = text[..d.body.start]
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |p| p + 1);
        out.push(start..d.body.end);
    }
    out.sort_by_key(|r| r.start);
    // Merge overlaps, so that a binary search finds the one holding a byte.
    let mut merged: Vec<Range<usize>> = Vec::with_capacity(out.len());
    for r in out {
        match merged.last_mut() {
            Some(last) if r.start <= last.end => last.end = last.end.max(r.end),
            _ => merged.push(r),
        }
    }
    merged
}

/// Refuses the edits of the main tree that touch a directive (`directives`
/// sorted and disjoint): the rule matched tokens that tree-sitter read
/// across a preprocessor line (in an ERROR region, a blanked `#define`'s
/// `0`), never the directive as such. Their sites are left with a reason.
fn refuse_across_directives(outcome: &mut Outcome, directives: &[Range<usize>]) {
    let touches = |r: &Range<usize>| {
        let i = directives.partition_point(|d| d.end <= r.start);
        directives
            .get(i)
            .is_some_and(|d| d.start < r.end.max(r.start + 1))
    };
    let (refused, kept): (Vec<Edit>, Vec<Edit>) =
        outcome.edits.drain(..).partition(|e| touches(&e.range));
    outcome.edits = kept;
    if refused.is_empty() {
        return;
    }
    let why = "the match spans a preprocessor line; left unchanged";
    let mut left = Vec::new();
    outcome.rewritten.retain(|&o| {
        let inside = refused.iter().any(|e| e.range.contains(&o));
        if inside {
            left.push((o, why.to_string()));
        }
        !inside
    });
    // This reason comes first: it is why the site stays.
    left.append(&mut outcome.rejected);
    outcome.rejected = left;
}

/// True when edit `e` starts inside the body of one of `defines` (in file
/// order, disjoint).
fn in_define_body(defines: &[Define], e: &Edit) -> bool {
    let i = defines.partition_point(|d| d.body.end <= e.range.start);
    defines
        .get(i)
        .is_some_and(|d| d.body.contains(&e.range.start))
}

fn leave_all(sites: &mut [Site], why: &str) {
    for site in sites.iter_mut().filter(|s| s.status == Status::Rewritten) {
        site.status = Status::Left(why.to_string());
    }
}

/// Drops the edits of a macro body's matches that reach into the wrapper
/// the body was parsed in (`- (E);` matching `(a)` and the wrapper's `;`
/// in `#define X(a) (a)`): that code is not the file's. The fields they
/// would have rewritten are left, with why.
fn confine(found: &mut matcher::Outcome, body: &Range<usize>) {
    let outside: Vec<Range<usize>> = found
        .edits
        .iter()
        .filter(|e| e.range.start < body.start || e.range.end > body.end)
        .map(|e| e.range.clone())
        .collect();
    if outside.is_empty() {
        return;
    }
    found.edits.retain(|e| !outside.contains(&e.range));
    let why = "the match takes in code around the macro's body, not only the body";
    let (gone, kept): (Vec<usize>, Vec<usize>) = std::mem::take(&mut found.rewritten)
        .into_iter()
        .partition(|o| outside.iter().any(|r| r.contains(o)) || !body.contains(o));
    found.rewritten = kept;
    found
        .rejected
        .extend(gone.into_iter().map(|o| (o, why.to_string())));
    found.rejected.sort_by_key(|r| r.0);
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

/// Writes back, in the text of edit `e`, the file's own bytes where the
/// replacement copied a masked type name verbatim (`min_t(____________,
/// ...)` for `min_t(unsigned int, ...)`, bound by a metavariable and
/// copied), each found exactly once as a whole name. Other masks (a
/// blanked `#define`, `typeof` read as `enum{...}`, a loop macro) and names
/// copied twice stay masked, and the edit is then refused as one that
/// spans masked code.
fn unmask(e: &mut Edit, text: &[u8], blanked: &[u8]) {
    let range = e.range.clone();
    if blanked[range.clone()] == text[range.clone()] {
        return;
    }
    let mut at = range.start;
    let mut out = e.text.clone();
    while at < range.end {
        if blanked[at] == text[at] {
            at += 1;
            continue;
        }
        let start = at;
        while at < range.end && blanked[at] != text[at] {
            at += 1;
        }
        let masked = &blanked[start..at];
        if !one_name_mask(blanked, start, at) {
            return;
        }
        // Whole names only: `__` is also in `__bvec_set_page`.
        let ident = |k: Option<&u8>| k.is_some_and(|b| source::is_ident_byte(*b));
        let found: Vec<usize> = memchr::memmem::find_iter(&out, masked)
            .filter(|&k| {
                !ident(k.checked_sub(1).and_then(|p| out.get(p)))
                    && !ident(out.get(k + masked.len()))
            })
            .collect();
        if let [k] = found[..] {
            out[k..k + masked.len()].copy_from_slice(&text[start..at]);
        } else if !found.is_empty() {
            return;
        }
    }
    e.text = out;
}

/// True when `blanked[start..end]`, which differs from the file at every
/// byte, is one of `c::gnu`'s type names: a whole name of underscores.
fn one_name_mask(blanked: &[u8], start: usize, end: usize) -> bool {
    end - start >= 2
        && blanked[start..end].iter().all(|b| *b == b'_')
        && !blanked.get(end).is_some_and(|b| source::is_ident_byte(*b))
        && !start
            .checked_sub(1)
            .is_some_and(|p| source::is_ident_byte(blanked[p]))
}

/// True when no masked span of edit `e`'s range is left in its text: each
/// was written back ([`unmask`]) or dropped by the replacement.
fn unmasked(e: &Edit, text: &[u8], blanked: &[u8]) -> bool {
    let mut at = e.range.start;
    while at < e.range.end {
        if blanked[at] == text[at] {
            at += 1;
            continue;
        }
        let start = at;
        while at < e.range.end && blanked[at] != text[at] {
            at += 1;
        }
        let masked = &blanked[start..at];
        if !one_name_mask(blanked, start, at) || memchr::memmem::find(&e.text, masked).is_some() {
            return false;
        }
    }
    true
}

/// `text` with `edits` (sorted, disjoint) made, when the result parses with
/// no more ERROR and MISSING nodes than `text` (both with their `#define`
/// bodies blanked); `None` otherwise. For edits that are a subset of a set
/// the engine verified, chosen by a check (`--fix`, a review's fix-up).
pub fn apply_checked(text: &[u8], edits: &[Edit]) -> Option<Vec<u8>> {
    let new = apply(text, edits);
    let errors = |t: &[u8]| {
        let parsed = ParsedFile::new(t);
        (!deeper_than(parsed.root(), MAX_DEPTH)).then(|| parsed.error_count())
    };
    match (errors(&new), errors(text)) {
        (Some(new_errors), Some(old_errors)) if new_errors <= old_errors => Some(new),
        _ => None,
    }
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

/// The most items the fast path parses as separate ranges; above, the
/// whole file is parsed.
const MAX_ISLANDS: usize = 200;

/// The tree the rules run on, and the byte ranges it covers (`None`: the
/// whole file). On the fast path only the top-level items that hold an
/// occurrence outside `#define` bodies are parsed, which is most of the
/// engine's speed on a kernel tree: a function is parsed, not the file around
/// it. The lexer's layout is trusted only when those items parse as items,
/// with ERROR and MISSING nodes (a loop macro without a `;`, say) only inside
/// function bodies, where the matcher distrusts their statements as it
/// does in a whole file; otherwise the whole file is parsed, as on the
/// simple path. `None` when the tree nests deeper than [`MAX_DEPTH`].
fn parse_file(
    blanked: &[u8],
    lines: &LineIndex,
    offsets: &[usize],
    defines: &[Define],
    fast: bool,
) -> Option<(tree_sitter::Tree, Option<Vec<Range<usize>>>)> {
    if fast {
        let outside: Vec<usize> = offsets
            .iter()
            .copied()
            .filter(|o| !defines.iter().any(|d| d.body.contains(o)))
            .collect();
        if outside.is_empty() {
            return Some((syntax::parse(b""), Some(Vec::new())));
        }
        // Tree-sitter looks an included range up from the first at each
        // lexer jump: thousands of islands (a file of thousands of small
        // functions) cost the square of their number. The whole file is
        // linear.
        let few = |islands: &Vec<Range<usize>>| islands.len() <= MAX_ISLANDS;
        if let Some(islands) = source::islands(blanked, &outside).filter(few) {
            let tree = syntax::parse_ranges(blanked, lines, &islands);
            if deeper_than(tree.root_node(), MAX_DEPTH) {
                return None;
            }
            if syntax::errors_only_in_function_bodies(tree.root_node()) {
                return Some((tree, Some(islands)));
            }
        }
    }
    let tree = syntax::parse(blanked);
    (!deeper_than(tree.root_node(), MAX_DEPTH)).then_some((tree, None))
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
        let first = edits.partition_point(|e| e.range.start < d.body.start);
        let last = edits.partition_point(|e| e.range.start < d.body.end);
        let inside: Vec<Edit> = edits[first..last.max(first)]
            .iter()
            .map(|e| Edit {
                range: e.range.start - d.body.start..e.range.end - d.body.start,
                ..e.clone()
            })
            .collect();
        inside.is_empty()
            || parsed.is_none()
            || macro_uses::parse_masked_body(
                &apply(&old.text[d.body.clone()], &inside),
                d.params.as_deref(),
            )
            .is_some()
    })
}

/// `ranges` (sorted, disjoint) moved to where they are once `edits` (sorted,
/// disjoint, each inside one range or outside all) are made.
fn shift_ranges(ranges: &[Range<usize>], edits: &[Edit]) -> Vec<Range<usize>> {
    let delta = |e: &Edit| e.text.len() as isize - e.range.len() as isize;
    // Sums of the deltas of the first k edits, to answer each range with
    // two binary searches.
    let mut sums = vec![0isize];
    for e in edits {
        sums.push(sums[sums.len() - 1] + delta(e));
    }
    ranges
        .iter()
        .map(|r| {
            let n_before = edits.partition_point(|e| e.range.end <= r.start);
            let n_upto_end = edits.partition_point(|e| e.range.start < r.end);
            let before = sums[n_before];
            let within = sums[n_upto_end.max(n_before)] - before;
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
        parse_file(&blanked, &LineIndex::new(text), &occ, &defines, true)
            .unwrap()
            .1
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
        for rule in BUNDLED_RULES {
            let path = format!("{root}/rules/{rule}");
            let text = std::fs::read_to_string(&path).unwrap();
            let filtered = Engine::new(RuleFile::parse(&path, &text).unwrap());
            let mut open = Engine::new(RuleFile::parse(&path, &text).unwrap());
            open.prefilter = None;
            for input in inputs() {
                let text = std::fs::read(&input).unwrap();
                if filtered.may_match(&text) {
                    continue;
                }
                n_skipped += 1;
                let out = open.rewrite(&text);
                assert!(
                    out.new_text.is_none() && out.sites.is_empty(),
                    "{rule} on {}",
                    input.display()
                );
            }
        }
        // Every fixture holds the field; the rules without one (bv_pfn-api) skip
        // the files without their words.
        assert!(n_skipped >= 4, "the prefilter was exercised ({n_skipped})");
    }

    /// A site is "kept by the rule's design" only where no rule searched:
    /// one rule leaves the helpers' bodies, another searches only them, and
    /// a site neither rewrites keeps the reason of its own kind, wherever
    /// it is.
    #[test]
    fn a_site_is_excluded_only_where_no_rule_searched() {
        let rules = "@ outside @\nidentifier fn != {bvec_page};\nexpression E;\n@@\n\
fn(...) {\n<...\n- E->bv_page\n+ bvec_page(E)\n...>\n}\n\
@ inside @\nidentifier fn = {bvec_page};\nexpression E;\n@@\n\
fn(...) {\n<...\n- E->bv_page\n+ E->raw\n...>\n}\n\
@ skipped depends on nothing_matched @\nexpression E;\n@@\n- E->bv_page\n+ other(E)\n";
        let rules = rules.replace(
            "depends on nothing_matched",
            "depends on outside && !outside",
        );
        let engine = Engine::new(RuleFile::parse("t.cocci", &rules).unwrap());
        let text = b"struct page *bvec_page(struct bio_vec *bv)\n{\n\treturn bv->bv_page;\n}\n\
void f(struct bio_vec *bv, struct page *p)\n{\n\tstruct bio_vec b = { .bv_page = p };\n\tg(&b, bv->bv_page);\n}\n\
struct page *bvec_page2(struct bio_vec *bv)\n{\n\tstruct bio_vec c = { .bv_page = 0 };\n\treturn c.bv_len ? 0 : 0;\n}\n";
        let out = engine.rewrite(text);
        let reasons: Vec<String> = out
            .sites
            .iter()
            .map(|s| match &s.status {
                Status::Rewritten => "rewritten".to_string(),
                Status::Left(why) => why.clone(),
            })
            .collect();
        assert_eq!(reasons.len(), 4, "{reasons:?}");
        assert_eq!(reasons[0], "rewritten", "the helper's read, by `inside`");
        assert_eq!(reasons[2], "rewritten");
        // The initializers: neither rule rewrites them, and a rule searched
        // both places.
        for k in [1, 3] {
            assert!(!reasons[k].contains("context"), "{k}: {}", reasons[k]);
            assert!(!reasons[k].contains("applies only"), "{k}: {}", reasons[k]);
            assert_eq!(reasons[k], reasons[1]);
        }
        assert!(out.excluded.is_empty(), "{:?}", out.excluded);

        // With the `inside` rule alone, f() is excluded by design.
        let alone =
            rules[rules.find("@ inside @").unwrap()..rules.find("@ skipped").unwrap()].to_string();
        let engine = Engine::new(RuleFile::parse("t.cocci", &alone).unwrap());
        let out = engine.rewrite(text);
        let f = out.sites[1].offset;
        assert!(out.excluded.iter().any(|r| r.contains(&f)));
        match &out.sites[1].status {
            Status::Left(why) => {
                assert!(why.contains("which the rule's context excludes"), "{why}")
            }
            Status::Rewritten => panic!("not rewritten"),
        }
    }

    #[test]
    fn difference_of_range_lists() {
        let a = merged(vec![10..20, 0..5, 15..30, 40..50, 7..7]);
        assert_eq!(a, vec![0..5, 10..30, 40..50]);
        let b = vec![3..12, 14..16, 25..45, 49..60];
        assert_eq!(subtracted(&a, &b), vec![0..3, 12..14, 16..25, 45..49]);
        assert_eq!(subtracted(&a, &[]), a);
        let all = vec![Range { start: 0, end: 100 }];
        assert_eq!(subtracted(&a, &all), Vec::<Range<usize>>::new());
    }

    /// A binding that holds a masked type name (`min_t(unsigned int, ...)`
    /// reads as one name) is copied with the file's own bytes, and the file
    /// is rewritten, not left as one whose edit spans masked code.
    #[test]
    fn copied_type_arguments_keep_their_words() {
        let root = env!("CARGO_MANIFEST_DIR");
        let path = format!("{root}/rules/bv_page-modern.cocci");
        let rule = std::fs::read_to_string(&path).unwrap();
        let engine = Engine::new(RuleFile::parse(&path, &rule).unwrap());
        let text = b"void f(struct bio_vec *bv, struct page **pages, unsigned int n, int i)\n{\n\
\tbv[i].bv_page = pages[i];\n\tbv[i].bv_offset = 0;\n\tbv[i].bv_len = min_t(unsigned int, PAGE_SIZE, n);\n}\n";
        let out = engine.rewrite(text);
        let new = String::from_utf8(out.new_text.expect("rewritten")).unwrap();
        assert!(
            new.contains("bvec_set_page(&bv[i], pages[i], min_t(unsigned int, PAGE_SIZE, n), 0);"),
            "{new}"
        );
        assert!(!new.contains("__"), "{new}");
        assert!(out.sites.iter().all(|s| s.status == Status::Rewritten));
    }

    /// Every rule file bvmig ships.
    const BUNDLED_RULES: [&str; 8] = [
        "bv_page.cocci",
        "bv_page-modern.cocci",
        "bv_page-typed.cocci",
        "bv_page-idioms.cocci",
        "bv_offset.cocci",
        "bv_phys.cocci",
        "bv_pfn.cocci",
        "bv_pfn-api.cocci",
    ];

    /// The C inputs of the fixtures and of the rule files' own tests.
    fn inputs() -> Vec<std::path::PathBuf> {
        let root = env!("CARGO_MANIFEST_DIR");
        let mut out = Vec::new();
        for dir in ["fixtures/rewrite", "fixtures/semantic"] {
            for entry in std::fs::read_dir(format!("{root}/{dir}")).unwrap() {
                let case = entry.unwrap().path();
                for name in ["input.c", "input.h", "fixture.c"] {
                    if case.join(name).is_file() {
                        out.push(case.join(name));
                    }
                }
            }
        }
        for entry in std::fs::read_dir(format!("{root}/rules/tests")).unwrap() {
            let dir = entry.unwrap().path();
            for f in std::fs::read_dir(&dir).into_iter().flatten() {
                let f = f.unwrap().path();
                let name = f.file_name().unwrap().to_string_lossy().into_owned();
                if name.ends_with(".c") && !name.ends_with(".res.c") {
                    out.push(f);
                }
            }
        }
        out.sort();
        out
    }

    /// The fast path (parsing only the items and searching only the
    /// subtrees that hold an anchor) finds what the simple path (searching
    /// everything) finds, with every bundled rule, on every fixture and
    /// rule test.
    #[test]
    fn pruned_search_equals_full_search() {
        let root = env!("CARGO_MANIFEST_DIR");
        let inputs = inputs();
        assert!(inputs.len() >= 60, "{}", inputs.len());
        let mut n_pruned = 0;
        for rule in BUNDLED_RULES {
            let path = format!("{root}/rules/{rule}");
            let text = std::fs::read_to_string(&path).unwrap();
            let fast = Engine::new(RuleFile::parse(&path, &text).unwrap());
            let mut slow = Engine::new(RuleFile::parse(&path, &text).unwrap());
            slow.prune = false;
            if fast.prunable.iter().all(|p| *p) {
                n_pruned += 1;
            }
            for input in &inputs {
                let text = std::fs::read(input).unwrap();
                let (a, b) = (fast.rewrite(&text), slow.rewrite(&text));
                assert_eq!(a.new_text, b.new_text, "{rule} on {}", input.display());
                assert_eq!(a.sites, b.sites, "{rule} on {}", input.display());
            }
        }
        assert!(
            n_pruned >= 6,
            "most bundled rules take the fast path ({n_pruned})"
        );
    }
}
