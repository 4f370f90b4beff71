//! One file through the whole rewrite: find the occurrences, parse (the file
//! with its `#define` bodies blanked, then each body that matters on its
//! own), match every rule, classify every site, apply the edits, and verify
//! the result by parsing it again.
//!
//! **Invariant:** every occurrence of a tracked field in code ends as a site
//! that is rewritten or left with a reason; a file whose rewrite parses with
//! more errors than the original is kept unchanged, its sites reported.

use crate::matcher::{Edit, Matcher, Outcome, Region};
use crate::rule::RuleFile;
use crate::site::{self, Kind, Occurrence, Site, Status};
use crate::source::{self, Define, LineIndex};
use crate::syntax;

/// A rule file ready to run, with what the engine derives from it.
pub struct Engine {
    rules: RuleFile,
    tracked: Option<Vec<String>>,
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
        Engine {
            rules,
            tracked,
            prune: true,
        }
    }

    /// Field names whose every occurrence is a site; also the prefilter's
    /// literals. `None` when the rules have no such literal.
    pub fn tracked(&self) -> Option<&[String]> {
        self.tracked.as_deref()
    }

    /// The literal prefilter: false only when `text` cannot hold a site.
    pub fn may_match(&self, text: &[u8]) -> bool {
        match &self.tracked {
            Some(words) => words
                .iter()
                .any(|w| memchr::memmem::find(text, w.as_bytes()).is_some()),
            None => true,
        }
    }

    /// Runs the rules over one file's text.
    pub fn rewrite(&self, text: &[u8]) -> FileOutcome {
        if !self.may_match(text) {
            return FileOutcome::default();
        }
        let mut occ: Vec<(usize, usize)> = Vec::new();
        if let Some(words) = &self.tracked {
            for w in words {
                occ.extend(
                    source::word_occurrences(text, w)
                        .into_iter()
                        .map(|o| (o, o + w.len())),
                );
            }
            occ.sort_unstable();
        }
        let offsets: Vec<usize> = occ.iter().map(|o| o.0).collect();
        let prune = self.prune && self.tracked.is_some();

        let defines = source::scan_defines(text);
        let blanked = source::blank_define_bodies(text, &defines);
        let tree = syntax::parse(&blanked);
        let root = tree.root_node();

        let mut outcomes = Vec::new();
        for rule in &self.rules.rules {
            let mut m = Matcher::new(rule, &offsets, prune, site::LVALUE_MACROS);
            m.run(Region {
                text: &blanked,
                root,
                base: 0,
                macro_def: None,
            });
            outcomes.push(m.finish());
        }

        // Each #define body holding an occurrence, parsed and matched alone.
        let mut macro_trees = Vec::new();
        for d in &defines {
            let has_occ = offsets.iter().any(|o| d.body.contains(o));
            if !has_occ && self.tracked.is_some() {
                continue;
            }
            let body = &text[d.body.clone()];
            let parsed = syntax::parse_macro_body(body);
            if let Some(mt) = &parsed {
                let base = d.body.start as isize - mt.prefix_len as isize;
                let params = d.params.as_deref().unwrap_or(&[]);
                for (rule, outcome) in self.rules.rules.iter().zip(&mut outcomes) {
                    let mut m = Matcher::new(rule, &offsets, prune, site::LVALUE_MACROS);
                    m.run(Region {
                        text: &mt.text,
                        root: mt.tree.root_node(),
                        base,
                        macro_def: Some((&d.name, params)),
                    });
                    merge(outcome, m.finish());
                }
            }
            macro_trees.push((d, parsed));
        }

        let lines = LineIndex::new(text);
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
            sites.push(Site {
                offset: s,
                line,
                col,
                kind,
                status,
            });
        }

        let mut edits: Vec<Edit> = outcomes
            .iter()
            .flat_map(|o| o.edits.iter().cloned())
            .collect();
        edits.sort_by_key(|e| e.range.start);
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
        } else {
            let new = apply(text, &edits);
            if parses_as_well(text, &tree, &lines, &new, &edits, &macro_trees) {
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

    fn has_context(&self) -> bool {
        self.rules
            .rules
            .iter()
            .all(|r| matches!(r.body, crate::rule::Pat::Function { .. }))
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

/// True when `new` (`old` with `edits` made) parses no worse than `old`:
/// no more ERROR and MISSING nodes in the file with its `#define` bodies
/// blanked (reparsed incrementally from `old_tree`), and every edited
/// `#define` body still parsing on its own.
fn parses_as_well(
    old: &[u8],
    old_tree: &tree_sitter::Tree,
    old_lines: &LineIndex,
    new: &[u8],
    edits: &[Edit],
    macro_trees: &[(&Define, Option<syntax::MacroTree>)],
) -> bool {
    let new_blanked = source::blank_define_bodies(new, &source::scan_defines(new));
    let (first, last) = (&edits[0], &edits[edits.len() - 1]);
    let new_end = (last.range.end as isize + new.len() as isize - old.len() as isize) as usize;
    let new_lines = LineIndex::new(new);
    let point = |lines: &LineIndex, off: usize| {
        let (line, col) = lines.line_col(off);
        tree_sitter::Point {
            row: line - 1,
            column: col - 1,
        }
    };
    let mut tree = old_tree.clone();
    tree.edit(&tree_sitter::InputEdit {
        start_byte: first.range.start,
        old_end_byte: last.range.end,
        new_end_byte: new_end,
        start_position: point(old_lines, first.range.start),
        old_end_position: point(old_lines, last.range.end),
        new_end_position: point(&new_lines, new_end),
    });
    let new_tree = syntax::parse_with(&new_blanked, Some(&tree));
    if syntax::error_count(new_tree.root_node()) > syntax::error_count(old_tree.root_node()) {
        return false;
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
            || syntax::parse_macro_body(&apply(&old[d.body.clone()], &inside)).is_some()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

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
