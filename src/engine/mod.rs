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
    /// Why the file could not be searched at all (it nests deeper than
    /// [`MAX_DEPTH`]): its sites are left with this reason, and a run over
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
        self.rewrite_with(text, dir, None)
    }

    /// [`Engine::rewrite_in`] for a header of a walk, whose macros' uses
    /// in the walk's other files are `elsewhere`.
    pub fn rewrite_with(
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
        // Every match lies in code that holds a tracked field: code without
        // one need not be parsed or searched.
        let anchored = self.tracked.is_some() && self.prunable.iter().all(|p| *p);
        let fast = self.prune && anchored;

        let lines = LineIndex::new(text);
        let Blanked {
            defines,
            text: blanked,
        } = masked(text, &offsets);
        let Some((tree, islands)) = parse_file(&blanked, &lines, &offsets, &defines, fast) else {
            return too_deep(&occ, &lines);
        };
        let root = tree.root_node();

        // Each #define body holding an occurrence is parsed alone, its
        // stringified and pasted operands masked.
        let mut macro_trees = Vec::new();
        let mut masked_ops: Vec<Range<usize>> = Vec::new();
        for d in &defines {
            let i = offsets.partition_point(|&o| o < d.body.start);
            let has_occ = offsets.get(i).is_some_and(|&o| o < d.body.end);
            if !has_occ && anchored {
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
            refuse_across_directives(&mut outcome, &directives);
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
            macro_uses::refuse_masked(&mut outcome, &masked_ops);
            if outcome.n_matched > 0 {
                if let Some(name) = &rule.name {
                    matched.push(name);
                }
            }
            outcomes.push(outcome);
        }

        let verdicts = Verdicts::new(&outcomes);
        let mut sites = Vec::new();
        for &(s, e) in &occ {
            let in_macro = macro_at(&macro_trees, s);
            let in_masked = masked_ops.iter().any(|r| r.contains(&s));
            let kind = match in_macro {
                Some(_) if in_masked => Some(Kind::MacroUnparsed),
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
            let mut status = verdicts.status_of(s, kind, self.has_context());
            if in_masked {
                status = Status::Left(macro_uses::MASKED_REASON.to_string());
            }
            let evidence = (status == Status::Rewritten)
                .then(|| verdicts.evidence.get(&s).copied())
                .flatten();
            let owner = (kind == Kind::Declaration)
                .then(|| match in_macro {
                    Some(_) => None,
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
            blanked[e.range.clone()] != text[e.range.clone()] && !in_define_body(&defines, e)
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
            error: None,
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

/// The `#define` body (and its tree) that holds offset `s`; the defines
/// are in file order and disjoint.
fn macro_at<'d, 't>(
    macro_trees: &'t [(&'d Define, Option<syntax::MacroTree>)],
    s: usize,
) -> Option<&'t (&'d Define, Option<syntax::MacroTree>)> {
    let i = macro_trees.partition_point(|(d, _)| d.body.end <= s);
    macro_trees.get(i).filter(|(d, _)| d.body.contains(&s))
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
    contexts: Ranges<'a, ()>,
    evidence: std::collections::HashMap<usize, crate::c::types::Evidence>,
}

impl<'a> Verdicts<'a> {
    fn new(outcomes: &'a [Outcome]) -> Self {
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
            // equals).
            let mut excluded: Vec<_> = self.excluded.holding(s).collect();
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
