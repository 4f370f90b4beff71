//! Statement-level fragments ([`Stmts`]): statements of one block matched in
//! order, `...` skipping statements of the same block, and the edits that
//! remove, replace and add statements.
//!
//! `...` follows Coccinelle's shortest-path reading within one block: the
//! statement after it is the first one that matches, and a gap in which the
//! statement before it matches again is no match (the later one starts its
//! own). Control flow across branches is out of scope: a statement nested
//! in an `if` inside the gap is not reached.
//!
//! Edits keep the code's meaning or are not made: the removed statements
//! hold no comment and no label, a removed declaration's names are not used
//! after it, the added code evaluates a binding more often than the removed
//! code did only when it has no side effects, and several removed
//! statements become added code only when the bindings it uses are free of
//! side effects and do not read what those statements write.

use tree_sitter::Node;

use super::{collect_comments, comment_between, unmergeable, Binds, Matcher, Region};
use crate::c::source::columns;
use crate::c::syntax::{self, prec};
use crate::engine::matcher::Edit;
use crate::smpl::{Item, MetaKind, PNode, Pat, Piece, Stmts, Template};

/// One entry of a matched fragment: a statement of the block, or added code.
enum Entry<'p, 't> {
    Stmt { node: Node<'t>, minus: bool },
    Dots,
    Add(&'p [Template]),
}

impl<'a> Matcher<'a> {
    /// Matches `s` with its first statement at `nodes[at]`; returns the index
    /// of the block's statement each `Stmt` item matched.
    pub(super) fn match_stmts<'t>(
        &self,
        s: &Stmts,
        nodes: &[Node<'t>],
        at: usize,
        binds: &mut Binds<'t>,
        region: Region,
    ) -> Option<Vec<usize>> {
        let mut segments: Vec<Vec<&PNode>> = vec![Vec::new()];
        // The `when` clauses of the `...` before each segment.
        let mut whens: Vec<(&[PNode], bool)> = vec![(&[], false)];
        for item in &s.items {
            match item {
                Item::Stmt { pattern, .. } => segments.last_mut().expect("one").push(pattern),
                Item::Dots { not, any } => {
                    segments.push(Vec::new());
                    whens.push((not, *any));
                }
                Item::Add(_) => {}
            }
        }
        let seg_at = |seg: &[&PNode], j: usize, b: &mut Binds<'t>| {
            nodes.get(j..j + seg.len()).is_some_and(|window| {
                seg.iter()
                    .zip(window)
                    .all(|(p, n)| self.match_pnode(p, *n, b, region))
            })
        };
        let mut trial = binds.clone();
        if !seg_at(&segments[0], at, &mut trial) {
            return None;
        }
        *binds = trial;
        let mut found: Vec<usize> = (at..at + segments[0].len()).collect();
        let mut from = at + segments[0].len();
        for k in 1..segments.len() {
            let mut hit = None;
            for (j, &gap) in nodes.iter().enumerate().skip(from) {
                let mut trial = binds.clone();
                if seg_at(&segments[k], j, &mut trial) {
                    hit = Some((j, trial));
                    break;
                }
                // The statements before `...` again: the path from the
                // first is not the shortest (unless `when any`).
                let (not, any) = whens[k];
                if !any && seg_at(&segments[k - 1], j, &mut binds.clone()) {
                    return None;
                }
                // `when != E`: the gap must not hold E.
                if not.iter().any(|p| self.holds(p, gap, binds, region)) {
                    return None;
                }
            }
            let (j, trial) = hit?;
            *binds = trial;
            found.extend(j..j + segments[k].len());
            from = j + segments[k].len();
        }
        Some(found)
    }

    /// Whether `node` or something inside it matches `p`, with the
    /// bindings so far.
    fn holds(&self, p: &PNode, node: Node, binds: &Binds, region: Region) -> bool {
        if self.match_pnode(p, node, &mut binds.clone(), region) {
            return true;
        }
        let mut cursor = node.walk();
        let found = node
            .children(&mut cursor)
            .any(|c| self.holds(p, c, binds, region));
        found
    }

    /// Checks and renders a matched statement-level fragment. Returns the
    /// edits and the statements they remove, or `None` (with the reason
    /// recorded for its sites) when the edits would change the meaning.
    pub(super) fn stmts_edits(
        &mut self,
        s: &Stmts,
        block: Node,
        placed: &[Node],
        binds: &Binds,
        nest: &Pat,
        region: Region,
    ) -> Option<(Vec<Edit>, Vec<usize>)> {
        let mut entries = Vec::new();
        let mut next = placed.iter();
        for item in &s.items {
            entries.push(match item {
                Item::Stmt { minus, .. } => Entry::Stmt {
                    node: *next.next().expect("a node per statement"),
                    minus: *minus,
                },
                Item::Dots { .. } => Entry::Dots,
                Item::Add(t) => Entry::Add(t),
            });
        }
        let removed = removed(&entries);
        // Metavariables the added code uses: their bindings are rendered
        // (and searched for further matches) rather than removed.
        let used: Vec<usize> = s
            .templates()
            .flat_map(|t| &t.pieces)
            .filter_map(|p| match p {
                Piece::Slot { meta, .. } => Some(*meta),
                Piece::Text(_) => None,
            })
            .collect();
        let kept: Binds = binds
            .iter()
            .enumerate()
            .map(|(m, b)| b.filter(|_| used.contains(&m)))
            .collect();
        let mut consumed = Vec::new();
        for n in &removed {
            consumed.extend(self.consumed_tokens(*n, &kept, region));
        }
        let refusal = self
            .owner_refusal(&consumed, region)
            .or_else(|| self.stmts_refusal(s, block, &entries, binds, &kept, region));
        match refusal {
            Some(why) => {
                self.leave(&consumed, &why);
                return None;
            }
            None if !s.changes() => {
                self.out.n_matched += 1;
                return Some((Vec::new(), Vec::new()));
            }
            None => {}
        }

        let sep = |n: Node| newline_at(n, region);
        let mut edits = Vec::new();
        let mut run: Vec<Node> = Vec::new();
        let mut adds: Vec<&Template> = Vec::new();
        let mut prev_ctx: Option<Node> = None;
        let mut i = 0;
        while i <= entries.len() {
            match entries.get(i) {
                Some(Entry::Add(t)) => adds.extend(t.iter()),
                Some(Entry::Stmt { node, minus: true }) => {
                    run.push(*node);
                    prev_ctx = None;
                }
                other => {
                    let ctx = match other {
                        Some(Entry::Stmt { node, .. }) => Some(*node),
                        _ => None,
                    };
                    if let (Some(first), Some(last)) = (run.first(), run.last()) {
                        let text = self.render_all(&adds, binds, nest, region, &sep(*first));
                        let range = if adds.is_empty() {
                            whole_lines(*first, *last, region)
                        } else {
                            first.start_byte()..last.end_byte()
                        };
                        edits.push(Edit {
                            range: region.file_off(range.start)..region.file_off(range.end),
                            text,
                            prec: prec::PRIMARY,
                        });
                    } else if !adds.is_empty() {
                        if let Some(c) = prev_ctx {
                            let mut text = sep(c);
                            text.extend(self.render_all(&adds, binds, nest, region, &sep(c)));
                            let at = region.file_off(c.end_byte());
                            edits.push(Edit {
                                range: at..at,
                                text,
                                prec: prec::PRIMARY,
                            });
                        } else if let Some(n) = ctx {
                            let mut text = self.render_all(&adds, binds, nest, region, &sep(n));
                            text.extend(sep(n));
                            let at = region.file_off(n.start_byte());
                            edits.push(Edit {
                                range: at..at,
                                text,
                                prec: prec::PRIMARY,
                            });
                        }
                    }
                    run.clear();
                    adds.clear();
                    prev_ctx = ctx;
                }
            }
            i += 1;
        }
        self.accept(consumed);
        Some((edits, removed.iter().map(|n| n.id()).collect()))
    }

    /// The rule's statement-level fragments of one statement at `node`,
    /// the body of an `if`, `else` or loop: when the rewrite leaves other
    /// than one statement there, the result is put in braces. Returns
    /// whether `node` was replaced.
    pub(super) fn lone_statement(&mut self, pat: &Pat, node: Node, region: Region) -> bool {
        for k in 0..self.frags.len() {
            let frag = self.frags[k];
            let one = frag
                .items
                .iter()
                .filter(|i| matches!(i, Item::Stmt { .. }))
                .count()
                == 1;
            if !one || !frag.changes() {
                continue;
            }
            let mut binds: Binds = vec![None; self.rule.metavars.len()];
            self.evidence.set(crate::c::types::Evidence::Certain);
            let Some(found) = self.match_stmts(frag, &[node], 0, &mut binds, region) else {
                continue;
            };
            let parent = node.parent().expect("a body has a parent");
            let before = node
                .prev_sibling()
                .expect("a body follows its condition or keyword");
            let gap = &region.text[before.end_byte()..node.start_byte()];
            let why = if !frag.items.iter().any(|i| matches!(i, Item::Add(_))) {
                Some("the statement is the whole body of an if, else or loop; removing it would change what follows into the body")
            } else if !gap.iter().all(u8::is_ascii_whitespace) {
                Some("a comment before the body would be lost when braces are added")
            } else {
                None
            };
            if let Some(why) = why {
                let consumed = self.consumed_tokens(node, &binds, region);
                self.leave(&consumed, why);
                return false;
            }
            let placed: Vec<Node> = found.iter().map(|_| node).collect();
            let Some((edits, removed)) =
                self.stmts_edits(frag, parent, &placed, &binds, pat, region)
            else {
                return false;
            };
            let one_statement = edits.len() == 1
                && edits[0].range
                    == (region.file_off(node.start_byte())..region.file_off(node.end_byte()))
                && frag.templates().count() == 1;
            if one_statement {
                self.out.edits.extend(edits);
                return !removed.is_empty();
            }
            // The body with the edits made, in braces.
            let e = region.file_off(node.end_byte());
            let mut body = Vec::new();
            region.splice(node, &edits, &mut body);
            let outer = indent_of(parent, region).to_vec();
            let continued = region.macro_def.is_some();
            let nl: &[u8] = if continued { b" \\\n" } else { b"\n" };
            let mut text = b" {".to_vec();
            text.extend_from_slice(nl);
            if !gap.contains(&b'\n') {
                // `if (c) x;` on one line: the body goes one level in, its
                // added lines too.
                text.extend_from_slice(&outer);
                text.push(b'\t');
                let mut from = nl.to_vec();
                from.extend_from_slice(&outer);
                let mut to = from.clone();
                to.push(b'\t');
                body = replace_all(&body, &from, &to);
            } else {
                text.extend_from_slice(indent_of(node, region));
            }
            text.extend(body);
            text.extend_from_slice(nl);
            text.extend_from_slice(&outer);
            text.push(b'}');
            self.out.edits.push(Edit {
                range: region.file_off(before.end_byte())..e,
                text,
                prec: prec::PRIMARY,
            });
            return true;
        }
        false
    }

    /// Why the matched fragment must not be rewritten, if it must not.
    fn stmts_refusal(
        &self,
        s: &Stmts,
        block: Node,
        entries: &[Entry],
        binds: &Binds,
        kept: &Binds,
        region: Region,
    ) -> Option<String> {
        let text = |n: Node| String::from_utf8_lossy(region.slice(n)).into_owned();
        let removed = removed(entries);
        if removed
            .iter()
            .any(|n| n.has_error() || self.errors.contains(*n))
        {
            return Some("inside code that tree-sitter could not parse".into());
        }
        // The added code calls functions where the fragment stands: a
        // local of such a name, or a variable a macro's expansion may
        // meet, would take the call.
        let at = entries.iter().find_map(|e| match e {
            Entry::Stmt { node, .. } => Some(*node),
            _ => None,
        });
        for t in s.templates() {
            let why = at
                .and_then(|n| super::shadowed_call(t, n, region))
                .or_else(|| self.macro_call_clash(t, region));
            if why.is_some() {
                return why;
            }
        }
        for &m in &s.duplicated {
            if let Some(b) = binds[m] {
                if !syntax::is_pure(b, region.text) {
                    return Some(format!(
                        "'{}' would be evaluated more often than before and may have side effects",
                        text(b)
                    ));
                }
            }
        }
        // Comments in the removed code would be lost.
        let mut comments = Vec::new();
        for n in &removed {
            collect_comments(*n, kept, &mut comments);
        }
        if !comments.is_empty() {
            return Some("a comment in the removed statements would be lost".into());
        }
        // Runs of several removed statements that become added code: their
        // evaluation order changes.
        let mut runs: Vec<(Vec<Node>, Vec<&Template>)> = Vec::new();
        let mut run: (Vec<Node>, Vec<&Template>) = (Vec::new(), Vec::new());
        for e in entries.iter().map(Some).chain([None]) {
            match e {
                Some(Entry::Stmt { node, minus: true }) => run.0.push(*node),
                Some(Entry::Add(t)) => run.1.extend(t.iter()),
                _ => {
                    if !run.0.is_empty() {
                        runs.push(std::mem::take(&mut run));
                    }
                    run.1.clear();
                }
            }
        }
        for (stmts, adds) in &runs {
            let (first, last) = (stmts[0], stmts[stmts.len() - 1]);
            if comment_between(block, first, last) {
                return Some("a comment between the removed statements would be lost".into());
            }
            if stmts.len() > 1 {
                // Statements bound to a metavariable are moved whole.
                let slots = adds.iter().flat_map(|t| &t.pieces).filter_map(|p| match p {
                    Piece::Slot { meta, .. }
                        if self.rule.metavars[*meta].kind != MetaKind::Statement =>
                    {
                        Some(*meta)
                    }
                    _ => None,
                });
                if let Some(b) = unmergeable(slots, binds, stmts, region) {
                    return Some(format!(
                        "'{}' is evaluated once for several statements, which may change the order of its side effects or read what they write",
                        text(b)
                    ));
                }
            }
            // What the removed statements declare or label must not be
            // needed after them, unless the added code says it again.
            let mut cursor = block.walk();
            let after: Vec<Node> = block
                .named_children(&mut cursor)
                .filter(|n| n.start_byte() >= last.end_byte())
                .filter(|n| !removed.iter().any(|r| r.id() == n.id()))
                .collect();
            let added: Vec<u8> = adds
                .iter()
                .flat_map(|t| &t.pieces)
                .filter_map(|p| match p {
                    Piece::Text(t) => Some(t.as_bytes()),
                    Piece::Slot { .. } => None,
                })
                .flatten()
                .copied()
                .collect();
            for st in stmts {
                if st.kind() == "labeled_statement" {
                    let label = st
                        .child_by_field_name("label")
                        .map(text)
                        .unwrap_or_default();
                    return Some(format!(
                        "the removed statement carries label '{label}', which a goto may target"
                    ));
                }
                if st.kind() != "declaration" {
                    continue;
                }
                for name in declared_names(*st, region) {
                    let needed = after.iter().any(|n| uses_name(*n, &name, region));
                    if needed && !has_word(&added, &name) {
                        return Some(format!(
                            "'{}' is declared by the removed statement and used after it",
                            String::from_utf8_lossy(&name)
                        ));
                    }
                }
            }
        }
        None
    }

    /// The added statements rendered, joined by `sep` (a newline and the
    /// indentation of the place).
    fn render_all(
        &mut self,
        adds: &[&Template],
        binds: &Binds,
        nest: &Pat,
        region: Region,
        sep: &[u8],
    ) -> Vec<u8> {
        let mut out = Vec::new();
        for (k, t) in adds.iter().enumerate() {
            if k > 0 {
                out.extend_from_slice(sep);
            }
            out.extend(self.render(t, binds, nest, region, sep));
        }
        out
    }
}

/// Whether `n` is the body of an `if`, `else` or loop, not a block: a
/// statement added next to it needs braces.
pub(super) fn is_lone_body(n: Node) -> bool {
    if !n.kind().ends_with("_statement") || n.kind() == "compound_statement" {
        return false;
    }
    let Some(parent) = n.parent() else {
        return false;
    };
    match parent.kind() {
        "if_statement" => parent
            .child_by_field_name("consequence")
            .is_some_and(|c| c.id() == n.id()),
        "for_statement" | "while_statement" | "do_statement" => parent
            .child_by_field_name("body")
            .is_some_and(|c| c.id() == n.id()),
        "else_clause" => true,
        _ => false,
    }
}

/// The statements that `entries` remove.
fn removed<'t>(entries: &[Entry<'_, 't>]) -> Vec<Node<'t>> {
    entries
        .iter()
        .filter_map(|e| match e {
            Entry::Stmt { node, minus: true } => Some(*node),
            _ => None,
        })
        .collect()
}

/// A newline in added code at `n`: the newline (continued, in a
/// `#define`) and the indentation of `n`'s line.
pub(super) fn newline_at(n: Node, region: Region) -> Vec<u8> {
    let mut t = if region.macro_def.is_some() {
        b" \\\n".to_vec()
    } else {
        b"\n".to_vec()
    };
    t.extend_from_slice(indent_of(n, region));
    t
}

/// The leading white space of the line `n` starts on.
pub(super) fn indent_of<'r>(n: Node, region: Region<'r>) -> &'r [u8] {
    let text = region.text;
    let ls = line_start(text, n.start_byte());
    let len = text[ls..]
        .iter()
        .take_while(|b| **b == b' ' || **b == b'\t')
        .count();
    &text[ls..ls + len]
}

/// A rewritten designated initializer `.a = x` keeps the column of its `=`
/// where the original aligned it with white space (`.bv_page\t= x` among
/// `.bv_len\t\t= y`): the white space before `=` is redone, with tabs if
/// the original used them.
pub(super) fn align_initializer(node: Node, text: Vec<u8>, region: Region) -> Vec<u8> {
    let src = region.text;
    let Some(eq) = (0..node.child_count())
        .filter_map(|i| node.child(i))
        .find(|c| c.kind() == "=")
    else {
        return text;
    };
    let Some(before) = eq.prev_sibling() else {
        return text;
    };
    let gap = &src[before.end_byte()..eq.start_byte()];
    if gap == b" " || gap.is_empty() || gap.contains(&b'\n') {
        return text;
    }
    // Columns of the original: where the line starts, where `=` is.
    let ls = line_start(src, node.start_byte());
    let target = columns(&src[ls..eq.start_byte()]);
    let start = columns(&src[ls..node.start_byte()]);
    // The rewritten designator, up to its white space before `=`.
    let Some(k) = text.iter().position(|&b| b == b'=') else {
        return text;
    };
    let head = text[..k].trim_ascii_end();
    let mut col = start + columns(head);
    let mut out = head.to_vec();
    if gap.contains(&b'\t') {
        while (col / 8 + 1) * 8 <= target {
            out.push(b'\t');
            col = (col / 8 + 1) * 8;
        }
    }
    // At least one space where no tab was written.
    let tabbed = out.len() > head.len();
    let spaces = target.saturating_sub(col).max(usize::from(!tabbed));
    out.extend(std::iter::repeat_n(b' ', spaces));
    out.extend_from_slice(&text[k..]);
    out
}

/// The offset where the line holding `off` starts.
fn line_start(text: &[u8], off: usize) -> usize {
    memchr::memrchr(b'\n', &text[..off]).map_or(0, |p| p + 1)
}

/// A one-line call statement `f(a, b, c);` placed after `indent` that would
/// pass `max` columns, broken after its arguments' commas the way kernel
/// code is, each new line aligned with the first argument. Text that is not
/// one line, or whose arguments do not fit even so, is kept as it is.
pub(super) fn wrap_call(text: Vec<u8>, indent: &[u8], max: usize) -> Vec<u8> {
    let width = columns(indent) + text.len();
    if width <= max || text.contains(&b'\n') {
        return text;
    }
    let Some(open) = text.iter().position(|&b| b == b'(') else {
        return text;
    };
    // The arguments, split at the commas of the outer call.
    let (mut depth, mut quote) = (0i32, None);
    let mut cuts = Vec::new();
    for (i, &b) in text.iter().enumerate().skip(open) {
        match (quote, b) {
            (Some(q), c) if c == q && text[i - 1] != b'\\' => quote = None,
            (Some(_), _) => {}
            (None, b'"' | b'\'') => quote = Some(b),
            (None, b'(' | b'[' | b'{') => depth += 1,
            (None, b')' | b']' | b'}') => depth -= 1,
            (None, b',') if depth == 1 => cuts.push(i + 1),
            _ => {}
        }
    }
    if cuts.is_empty() {
        return text;
    }
    let align = columns(indent) + open + 1;
    let mut cont = indent.to_vec();
    let extra = align - columns(indent);
    cont.extend(std::iter::repeat_n(b'\t', extra / 8));
    cont.extend(std::iter::repeat_n(b' ', extra % 8));
    let mut pieces = Vec::new();
    let mut from = 0;
    for &c in &cuts {
        pieces.push(&text[from..c]);
        from = c;
    }
    pieces.push(&text[from..]);
    let mut out = Vec::new();
    let mut line = columns(indent);
    for (k, piece) in pieces.iter().enumerate() {
        let piece = if k == 0 {
            *piece
        } else {
            piece.trim_ascii_start()
        };
        let sep = usize::from(k > 0);
        if k > 0 && line + sep + piece.len() > max {
            out.push(b'\n');
            out.extend_from_slice(&cont);
            line = align;
        } else if k > 0 {
            out.push(b' ');
            line += 1;
        }
        out.extend_from_slice(piece);
        line += piece.len();
    }
    if line > max {
        return text;
    }
    out
}

/// The range of statements `first..=last` widened to their whole lines
/// when nothing else is on them, so that removing them leaves no blank
/// line.
fn whole_lines(first: Node, last: Node, region: Region) -> std::ops::Range<usize> {
    let text = region.text;
    let (s, e) = (first.start_byte(), last.end_byte());
    let ls = line_start(text, s);
    let rest = &text[e..];
    let le = rest
        .iter()
        .position(|&b| b == b'\n')
        .map_or(text.len(), |p| e + p);
    let blank_before = text[ls..s].iter().all(|b| *b == b' ' || *b == b'\t');
    let blank_after = text[e..le]
        .iter()
        .all(|b| matches!(b, b' ' | b'\t' | b'\\' | b'\r'));
    let spaces = |b: &u8| *b == b' ' || *b == b'\t';
    if blank_before && blank_after && le < text.len() {
        ls..le + 1
    } else if blank_before {
        // `a; b;` without `a;`: `b;` takes its place.
        s..e + text[e..le].iter().take_while(|b| spaces(b)).count()
    } else {
        s - text[ls..s].iter().rev().take_while(|b| spaces(b)).count()..e
    }
}

/// The names a declaration declares.
fn declared_names(decl: Node, region: Region) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut cursor = decl.walk();
    for d in decl.children_by_field_name("declarator", &mut cursor) {
        let mut n = d;
        loop {
            if n.kind() == "identifier" {
                out.push(region.slice(n).to_vec());
                break;
            }
            match n.child_by_field_name("declarator") {
                Some(inner) => n = inner,
                None => break,
            }
        }
    }
    out
}

/// Whether `n` holds the identifier `name`.
fn uses_name(n: Node, name: &[u8], region: Region) -> bool {
    if n.kind() == "identifier" && region.slice(n) == name {
        return true;
    }
    let mut cursor = n.walk();
    let found = n.children(&mut cursor).any(|c| uses_name(c, name, region));
    found
}

/// `text` with every `from` replaced by `to`.
fn replace_all(text: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len());
    let mut at = 0;
    for i in memchr::memmem::find_iter(text, from) {
        if i >= at {
            out.extend_from_slice(&text[at..i]);
            out.extend_from_slice(to);
            at = i + from.len();
        }
    }
    out.extend_from_slice(&text[at..]);
    out
}

/// Whether `text` holds `word` as a whole C name.
fn has_word(text: &[u8], word: &[u8]) -> bool {
    memchr::memmem::find_iter(text, word).any(|i| {
        let before = i.checked_sub(1).map(|p| text[p]);
        let after = text.get(i + word.len()).copied();
        !before.is_some_and(crate::c::source::is_ident_byte)
            && !after.is_some_and(crate::c::source::is_ident_byte)
    })
}

#[cfg(test)]
mod tests {
    use crate::engine::site::Status;
    use crate::engine::Engine;
    use crate::smpl::RuleFile;

    /// The rewrite of `c` by the rule with metavariables `decls` and body
    /// `body`, and the reasons of the sites left.
    fn run(decls: &str, body: &str, c: &str) -> (String, Vec<String>) {
        let rule = format!("@@\n{decls}\n@@\n{body}");
        let rf = RuleFile::parse("t.cocci", &rule).unwrap_or_else(|e| panic!("{e}"));
        let out = Engine::new(rf).rewrite(c.as_bytes());
        let new = out
            .new_text
            .map_or_else(|| c.to_string(), |t| String::from_utf8(t).unwrap());
        let left = out
            .sites
            .iter()
            .filter_map(|s| match &s.status {
                Status::Left(why) => Some(format!("{}: {why}", s.line)),
                _ => None,
            })
            .collect();
        (new, left)
    }

    #[test]
    fn added_code_goes_before_and_after_context_statements() {
        let c = "void f(struct bio_vec *bv)\n{\n\tprep(bv);\n\tbv->bv_page = 0;\n\tdone(bv);\n}\n";
        let (new, _) = run(
            "expression BV;",
            "+ before(BV);\n  prep(BV);\n+ after(BV);\n",
            c,
        );
        assert_eq!(
            new,
            "void f(struct bio_vec *bv)\n{\n\tbefore(bv);\n\tprep(bv);\n\tafter(bv);\n\tbv->bv_page = 0;\n\tdone(bv);\n}\n"
        );
    }

    #[test]
    fn dots_take_the_first_match_and_no_gap_holds_the_start_again() {
        let c = "void f(struct bio_vec *bv)\n{\n\tstart(bv);\n\tstart(bv);\n\tx();\n\tbv->bv_page = 0;\n\tbv->bv_page = 0;\n}\n";
        let (new, left) = run(
            "expression BV;",
            "  start(BV);\n  ...\n- BV->bv_page = 0;\n+ clear(BV);\n",
            c,
        );
        // The second start() begins the match; the first has it in its gap.
        // Only the first write after it is the end of the shortest path.
        assert_eq!(
            new,
            "void f(struct bio_vec *bv)\n{\n\tstart(bv);\n\tstart(bv);\n\tx();\n\tclear(bv);\n\tbv->bv_page = 0;\n}\n"
        );
        assert_eq!(left, vec!["7: no branch of the rule matches this form"]);
    }

    #[test]
    fn when_clauses_constrain_the_gap() {
        let c = "void f(struct bio_vec *bv)\n{\n\tstart(bv);\n\tuse(bv);\n\tbv->bv_page = 0;\n}\nvoid g(struct bio_vec *bv)\n{\n\tstart(bv);\n\tother();\n\tbv->bv_page = 0;\n}\n";
        let rule = "  start(BV);\n  ... when != use(BV)\n- BV->bv_page = 0;\n+ clear(BV);\n";
        let (new, _) = run("expression BV;", rule, c);
        // f() uses bv in the gap: only g() changes.
        assert!(new.contains("\tuse(bv);\n\tbv->bv_page = 0;"), "{new}");
        assert!(new.contains("\tother();\n\tclear(bv);"), "{new}");
        // `when any`: the start() in the gap does not stop the match from
        // the first start(), so both go; without it, only the second.
        let c =
            "void f(struct bio_vec *bv)\n{\n\tstart(bv);\n\tstart(bv);\n\tbv->bv_page = 0;\n}\n";
        let rule = "- start(BV);\n  ... when any\n  BV->bv_page = 0;\n";
        let (new, _) = run("expression BV;", rule, c);
        assert_eq!(
            new,
            "void f(struct bio_vec *bv)\n{\n\tbv->bv_page = 0;\n}\n"
        );
        let rule = "- start(BV);\n  ...\n  BV->bv_page = 0;\n";
        let (new, _) = run("expression BV;", rule, c);
        assert_eq!(
            new,
            "void f(struct bio_vec *bv)\n{\n\tstart(bv);\n\tbv->bv_page = 0;\n}\n"
        );
    }

    #[test]
    fn the_whole_body_of_an_if_is_not_removed() {
        let c = "void f(struct bio_vec *bv, int c)\n{\n\tif (c)\n\t\tbv->bv_page = 0;\n\tg();\n}\n";
        let (new, left) = run("expression BV;", "- BV->bv_page = 0;\n", c);
        assert_eq!(new, c);
        assert_eq!(left.len(), 1);
        assert!(left[0].contains("whole body of an if"), "{left:?}");
        // In a block it goes, with its line.
        let c = "void f(struct bio_vec *bv)\n{\n\tbv->bv_page = 0;\n\tg();\n}\n";
        let (new, _) = run("expression BV;", "- BV->bv_page = 0;\n", c);
        assert_eq!(new, "void f(struct bio_vec *bv)\n{\n\tg();\n}\n");
    }

    #[test]
    fn a_removed_label_or_a_declaration_still_used_is_refused() {
        let c =
            "int f(struct bio_vec *bv)\n{\n\tstruct page *p = bv->bv_page;\n\treturn p != 0;\n}\n";
        let (new, left) = run(
            "identifier P;\nexpression BV;",
            "- struct page *P = BV->bv_page;\n",
            c,
        );
        assert_eq!(new, c);
        assert_eq!(
            left,
            vec!["3: 'p' is declared by the removed statement and used after it"]
        );
        let c =
            "int f(struct bio_vec *bv)\n{\n\tgoto out;\nout:\n\tbv->bv_page = 0;\n\treturn 0;\n}\n";
        let (new, _) = run("statement S;\nexpression BV;", "- S\n  return 0;\n", c);
        // The rule names no field, so no site carries the reason; the
        // same statement without its label goes.
        assert_eq!(new, c);
        let (new, _) = run(
            "statement S;\nexpression BV;",
            "- S\n  return 0;\n",
            &c.replace("out:\n", ""),
        );
        assert!(!new.contains("bv_page"), "{new}");
    }

    #[test]
    fn a_long_call_breaks_after_commas_aligned_with_its_first_argument() {
        let call = b"bvec_set_page(bv, virt_to_page(p), min(len, PAGE_SIZE - offset_in_page(p)), offset_in_page(p));".to_vec();
        let out = super::wrap_call(call.clone(), b"\t", 100);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "bvec_set_page(bv, virt_to_page(p), min(len, PAGE_SIZE - offset_in_page(p)),\n\t\t      offset_in_page(p));"
        );
        // Short enough: as it is.
        assert_eq!(super::wrap_call(call.clone(), b"", 120), call);
    }

    #[test]
    fn a_branch_of_context_code_keeps_what_it_matches() {
        let c = "void f(struct bio_vec *bv)\n{\n\tstruct bio_vec z = { .bv_page = NULL };\n\tstruct bio_vec y = { .bv_page = bv->bv_page };\n}\n";
        let (new, left) = run(
            "expression X;",
            "(\n  .bv_page = NULL\n|\n- .bv_page = X\n+ .bv_pfn = page_to_pfn_t(X)\n)\n",
            c,
        );
        assert_eq!(
            new,
            "void f(struct bio_vec *bv)\n{\n\tstruct bio_vec z = { .bv_page = NULL };\n\tstruct bio_vec y = { .bv_pfn = page_to_pfn_t(bv->bv_page) };\n}\n"
        );
        assert_eq!(
            left,
            vec![
                "3: kept as it is by the rule's context code (line 5)",
                "4: no branch of the rule matches this form"
            ]
        );
    }

    #[test]
    fn statement_level_rules_that_are_outside_the_subset_say_where() {
        let err = |decls: &str, body: &str| {
            RuleFile::parse("t.cocci", &format!("@@\n{decls}\n@@\n{body}"))
                .unwrap_err()
                .to_string()
        };
        assert_eq!(
            err("expression E;", "  ...\n- f(E);\n"),
            "t.cocci:4:3: '...' must stand between two statements: bvmig matches statements of one block from anywhere in it"
        );
        assert_eq!(
            err("expression E;", "- f(E, ...);\n"),
            "t.cocci:4:8: '...' inside an expression or an argument list is not supported yet; '...' stands between statements"
        );
        assert_eq!(
            err("expression E;", "  f(E);\n  ... when exists\n- h(E);\n"),
            "t.cocci:5:12: only 'when != E' and 'when any' are supported"
        );
        assert_eq!(
            err("expression E;", "  f(E);\n- ...\n- h(E);\n"),
            "t.cocci:5:3: '...' on a '-' or '+' line is not supported; '...' is context code"
        );
        assert_eq!(
            err("expression E;", "  f(E,\n- E);\n+ 0);\n"),
            "t.cocci:5:3: a statement partly '-' and partly context code is not supported yet; put the whole statement on '-' lines and write it again on '+' lines"
        );
        assert_eq!(
            err("expression E;", "- E->bv_page\n"),
            "t.cocci:4:3: 'E->bv_page' is not whole statements: end each with ';'"
        );
        assert_eq!(
            err("statement S;", "- f(S);\n+ g();\n"),
            "t.cocci:4:5: statement metavariable 'S' stands where C needs an expression or a name"
        );
        assert_eq!(
            err("statement S;", "- f();\n  ...\n+ g();\n"),
            "t.cocci:6:3: '+' code here needs a statement on its side of '...' to attach it to"
        );
    }
}
