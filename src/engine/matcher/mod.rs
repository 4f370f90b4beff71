//! Runs a rule's patterns over a C syntax tree and turns matches into edits.
//!
//! A match is structural: a pattern tree (from `rule`) against a tree-sitter
//! node, metavariables binding whole expressions. Before a match becomes an
//! edit it is checked against its context in the target tree, so that a
//! rewrite never changes what the code means or whether it compiles:
//! - a side-effecting expression (assignment, `++`) replaced by something
//!   else only where its value is discarded;
//! - an lvalue replaced by a non-lvalue only where no lvalue is needed;
//! - a binding used twice by the replacement only when it has no side
//!   effects; `&E` only of something that has an address;
//! - nothing inside a parse error.
//!
//! A rejected match leaves its sites unchanged with the reason recorded.
//! Bindings are themselves searched for matches (`a->bv_page = b->bv_page`),
//! and rendered with parentheses only where precedence needs them.

mod stmts;

use std::cell::Cell;
use std::ops::Range;

use tree_sitter::Node;

use crate::c::syntax::{self, prec};
use crate::c::types::{CType, Evidence, TypeIndex};
use crate::engine::macro_uses::{self, MacroUses};
use crate::engine::site::FIELD_STRUCT;
use crate::smpl::{Code, MetaKind, NameRef, PNode, Pat, Piece, Rule, Template};

/// A replacement of the file's bytes `range` by `text`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edit {
    /// File byte range replaced.
    pub range: Range<usize>,
    /// The new bytes.
    pub text: Vec<u8>,
    /// Precedence of the new expression.
    pub prec: u8,
}

/// What the matcher found in one region.
#[derive(Debug, Default)]
pub struct Outcome {
    /// Non-overlapping edits, in file order.
    pub edits: Vec<Edit>,
    /// File offsets of tracked field tokens that an edit rewrites.
    pub rewritten: Vec<usize>,
    /// File offsets of tracked field tokens that a match would have rewritten,
    /// and why it did not (the first reason found wins).
    pub rejected: Vec<(usize, String)>,
    /// Ranges the rule's context excludes, and why.
    pub excluded: Vec<(Range<usize>, String)>,
    /// Ranges of the functions and macros the rule's context matched.
    pub contexts: Vec<Range<usize>>,
    /// Matches made: edits, and matches of context code (no minus code).
    pub n_matched: usize,
    /// For the tracked field tokens an edit rewrites, the weakest evidence
    /// of the types its typed metavariables were matched on.
    pub evidence: Vec<(usize, Evidence)>,
}

/// A tree to match: its text, and where that text's byte 0 is in the file.
#[derive(Clone, Copy)]
pub struct Region<'a> {
    /// The parsed text (the file, or a wrapped macro body).
    pub text: &'a [u8],
    /// Root of the tree to search.
    pub root: Node<'a>,
    /// File offset of `text[0]` (negative for a macro wrapper's prefix).
    pub base: isize,
    /// For a `#define` body: the macro's name and parameters.
    pub macro_def: Option<(&'a str, &'a [String])>,
}

impl Region<'_> {
    /// The file offset of `off` in the region's text. The wrapper's prefix
    /// of a macro body near the start of a file would be before it: it maps
    /// to 0.
    fn file_off(&self, off: usize) -> usize {
        (off as isize + self.base).max(0) as usize
    }

    fn slice(&self, n: Node) -> &[u8] {
        &self.text[n.byte_range()]
    }

    /// Writes `n`'s text with the `edits` inside it made.
    fn splice(&self, n: Node, edits: &[Edit], out: &mut Vec<u8>) {
        let (s, e) = (self.file_off(n.start_byte()), self.file_off(n.end_byte()));
        let local = |off: usize| (off as isize - self.base) as usize;
        let mut at = s;
        for ed in edits
            .iter()
            .filter(|ed| ed.range.start >= s && ed.range.end <= e)
        {
            out.extend_from_slice(&self.text[local(at)..local(ed.range.start)]);
            out.extend_from_slice(&ed.text);
            at = ed.range.end;
        }
        out.extend_from_slice(&self.text[local(at)..local(e)]);
    }
}

/// Matches one rule over regions of one file.
pub struct Matcher<'a> {
    rule: &'a Rule,
    /// Sorted file offsets of tracked field names, for telling which sites
    /// an edit rewrites.
    occurrences: &'a [usize],
    /// Search only the subtrees that hold an occurrence of an anchor.
    prune: bool,
    /// Sorted file offsets of the words every match holds one of (the
    /// tracked fields' and the names fragments need), for pruning.
    anchors: &'a [usize],
    lvalue_macros: &'a [syntax::LvalueMacro],
    /// The error regions of the tree of the region being searched.
    errors: syntax::ErrorRegions,
    out: Outcome,
    /// Types of expressions, for typed metavariables, and the directory of
    /// the file matched (for its own headers).
    types: Option<&'a TypeIndex>,
    dir: Option<&'a std::path::Path>,
    /// The uses of the file's macros, and the parameters they stringify.
    macro_uses: Option<&'a MacroUses>,
    /// When a struct other than `struct bio_vec` declares a tracked field
    /// too: all the structs that declare it. A match then rewrites only
    /// fields whose struct types show to be a bio_vec.
    owners: Option<&'a [String]>,
    /// While set, a typed metavariable whose type is unknown matches (to
    /// tell a site left for want of a type from one of another type).
    lenient_types: Cell<bool>,
    /// The weakest evidence of the typed bindings of the current attempt.
    evidence: Cell<Evidence>,
    /// Whether a typed metavariable refused a binding in the current
    /// attempt: only then can a lenient retry tell anything.
    type_refused: Cell<bool>,
    /// The rule's merged-sequence fragments and statement-level fragments,
    /// in order: tried at each block (collected once, not per block).
    seqs: Vec<&'a Code>,
    frags: Vec<&'a crate::smpl::Stmts>,
    /// Byte ranges (in the region's text) of the matches whose replacement
    /// is being rendered: a binding that is one of them is written as it
    /// is, not searched again (`- E` / `+ f(E)` would nest without end).
    rewriting: Vec<Range<usize>>,
    /// File offsets of field tokens whose match was refused because it
    /// drops an evaluation with side effects: the site is that branch's,
    /// and no later branch inside it takes it (it is left, with why).
    refused: Vec<usize>,
    /// The rule tracks no field: each match is a site of its own, at the
    /// start of the code it matched.
    match_sites: bool,
}

type Binds<'t> = Vec<Option<Node<'t>>>;

/// Why the replacement cannot stand at `node`: it calls a function whose
/// name a local or a parameter in scope there declares (a local `u32
/// bvec_page_offset;` beside `bvec_page_offset(&bvec)`), so the call would not
/// compile. `None` when no called name is shadowed.
fn shadowed_call(tpl: &Template, node: Node, region: Region) -> Option<String> {
    called_names(tpl)
        .into_iter()
        .find(|name| crate::c::types::declared_in_scope(region.root, node, region.text, name.as_bytes()))
        .map(|name| {
            format!("'{name}' is a local variable or parameter here; the call {name}() would not compile")
        })
}

/// The names the template's text calls (a name followed by `(`), in
/// order, each once.
fn called_names(tpl: &Template) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for piece in &tpl.pieces {
        let Piece::Text(t) = piece else { continue };
        let t = t.as_bytes();
        let mut i = 0;
        while i < t.len() {
            if !(t[i].is_ascii_alphabetic() || t[i] == b'_') {
                i += 1;
                continue;
            }
            let start = i;
            while i < t.len() && (t[i].is_ascii_alphanumeric() || t[i] == b'_') {
                i += 1;
            }
            let next = t[i..].iter().find(|b| !b.is_ascii_whitespace());
            let name = String::from_utf8_lossy(&t[start..i]);
            if next == Some(&b'(') && !out.iter().any(|n| *n == name) {
                out.push(name.into_owned());
            }
        }
    }
    out
}

/// The line length kernel style allows (checkpatch warns beyond it).
const MAX_COLUMNS: usize = 100;

/// What trying a pattern at a node gave.
enum Tried {
    /// No branch matched.
    No,
    /// A branch of context code matched: the node stays as it is.
    Kept,
    /// A branch matched and rewrites the node.
    Edit(Edit),
}

impl<'a> Matcher<'a> {
    /// A matcher for `rule`.
    pub fn new(
        rule: &'a Rule,
        occurrences: &'a [usize],
        prune: bool,
        lvalue_macros: &'a [syntax::LvalueMacro],
    ) -> Self {
        let mut seqs = Vec::new();
        rule.body.codes(&mut seqs);
        seqs.retain(|c| matches!(c.pattern, PNode::Seq(_)) && c.replacement.is_some());
        let mut frags = Vec::new();
        rule.body.stmts(&mut frags);
        Matcher {
            seqs,
            frags,
            rewriting: Vec::new(),
            refused: Vec::new(),
            match_sites: false,
            rule,
            occurrences,
            prune,
            anchors: occurrences,
            lvalue_macros,
            errors: syntax::ErrorRegions::default(),
            out: Outcome::default(),
            types: None,
            dir: None,
            macro_uses: None,
            owners: None,
            lenient_types: Cell::new(false),
            evidence: Cell::new(Evidence::Certain),
            type_refused: Cell::new(false),
        }
    }

    /// Uses `types` for typed metavariables (without it they never match),
    /// for a file in directory `dir`.
    pub fn with_types(mut self, types: &'a TypeIndex, dir: Option<&'a std::path::Path>) -> Self {
        self.types = Some(types);
        self.dir = dir;
        self
    }

    /// The tracked fields are declared by `owners`, some of them not
    /// `struct bio_vec`: only accesses shown by types to be a bio_vec's
    /// are rewritten, whatever the rule's metavariables.
    pub fn with_owners(mut self, owners: &'a [String]) -> Self {
        self.owners = Some(owners);
        self
    }

    /// Makes each match a site of its own (for a rule that tracks no
    /// field, whose sites are not occurrences of one), so that what it
    /// rewrote and what it left are reported.
    pub fn with_match_sites(mut self, on: bool) -> Self {
        self.match_sites = on;
        self
    }

    /// Checks each rewrite in a `#define` body against the macro's `uses`,
    /// and leaves the arguments of macros that stringify them.
    pub fn with_macro_uses(mut self, uses: &'a MacroUses) -> Self {
        self.macro_uses = Some(uses);
        self
    }

    /// Everything found so far, edits sorted.
    pub fn finish(mut self) -> Outcome {
        self.out.edits.sort_by_key(|e| (e.range.start, e.range.end));
        self.out
    }

    /// Searches `region` with the rule's body.
    pub fn run(&mut self, region: Region<'_>) {
        self.errors = syntax::ErrorRegions::new(region.root);
        let _scopes = crate::c::types::index_scopes(region.root, region.text);
        match &self.rule.body {
            Pat::Function { name, body } => {
                let inner = match &**body {
                    Pat::Nest(p) => &**p,
                    other => other,
                };
                if let Some((macro_name, _)) = region.macro_def {
                    let range = region.file_off(region.root.start_byte())
                        ..region.file_off(region.root.end_byte());
                    if self.context_allows(name, macro_name, range) {
                        self.nest(inner, region.root, region);
                    }
                } else {
                    self.functions(name, inner, region.root, region);
                }
            }
            Pat::Struct { kind, tag, body } => {
                // Struct definitions are not looked for in macro bodies.
                if region.macro_def.is_none() {
                    let inner = match &**body {
                        Pat::Nest(p) => &**p,
                        other => other,
                    };
                    self.structs(kind, tag, inner, region.root, region);
                }
            }
            Pat::Nest(p) => self.nest(p, region.root, region),
            other => self.nest(other, region.root, region),
        }
    }

    /// Finds the definitions of `struct tag` (or union, by `kind`) below
    /// `node` and searches their members.
    fn structs(&mut self, kind: &str, tag: &str, inner: &Pat, node: Node, region: Region) {
        if !self.has_occurrence(node, region) {
            return;
        }
        if node.kind() == kind {
            let named = node
                .child_by_field_name("name")
                .is_some_and(|n| region.slice(n) == tag.as_bytes());
            let range = region.file_off(node.start_byte())..region.file_off(node.end_byte());
            match (named, node.child_by_field_name("body")) {
                (true, Some(body)) => {
                    self.out.contexts.push(range);
                    let mut cursor = body.walk();
                    for member in body.named_children(&mut cursor) {
                        self.nest(inner, member, region);
                    }
                    return;
                }
                (false, Some(_)) => {
                    let what = kind.trim_end_matches("_specifier");
                    let other = node.child_by_field_name("name").map_or_else(
                        || format!("an anonymous {what}"),
                        |n| format!("{what} {}", String::from_utf8_lossy(region.slice(n))),
                    );
                    self.out.excluded.push((
                        range,
                        format!("inside {other}; the rule's context is {what} {tag}"),
                    ));
                }
                _ => {}
            }
        }
        let mut cursor = node.walk();
        for child in node.children(&mut cursor) {
            self.structs(kind, tag, inner, child, region);
        }
    }

    fn context_allows(&mut self, name: &NameRef, fn_name: &str, range: Range<usize>) -> bool {
        let ok = match name {
            NameRef::Literal(l) => l == fn_name,
            NameRef::Meta(m) => self.rule.metavars[*m]
                .constraint
                .as_ref()
                .is_none_or(|c| c.allows(fn_name)),
        };
        if ok {
            self.out.contexts.push(range);
        } else {
            let why = match name {
                NameRef::Meta(m) => {
                    let v = &self.rule.metavars[*m];
                    let c = v
                        .constraint
                        .as_ref()
                        .map(|c| c.to_string())
                        .unwrap_or_default();
                    format!(
                        "inside {fn_name}(), which the rule's context excludes ({} {c})",
                        v.name
                    )
                }
                NameRef::Literal(l) => {
                    format!("inside {fn_name}(); the rule applies only inside {l}()")
                }
            };
            self.out.excluded.push((range, why));
        }
        ok
    }

    /// Prunes on `anchors` (sorted file offsets) rather than on the
    /// tracked fields' occurrences alone.
    pub fn with_anchors(mut self, anchors: &'a [usize]) -> Self {
        self.anchors = anchors;
        self
    }

    fn has_occurrence(&self, node: Node, region: Region) -> bool {
        if !self.prune {
            return true;
        }
        let occ = self.anchors;
        let (s, e) = (
            region.file_off(node.start_byte()),
            region.file_off(node.end_byte()),
        );
        let i = occ.partition_point(|&o| o < s);
        occ.get(i).is_some_and(|&o| o < e)
    }

    /// Finds function definitions below `node` and searches the ones the
    /// context allows.
    fn functions(&mut self, name: &NameRef, inner: &Pat, node: Node, region: Region) {
        if !self.has_occurrence(node, region) {
            return;
        }
        if node.kind() == "function_definition" {
            let range = region.file_off(node.start_byte())..region.file_off(node.end_byte());
            let fn_name =
                function_name(node).map(|n| String::from_utf8_lossy(region.slice(n)).into_owned());
            if let (Some(fn_name), Some(body)) = (fn_name, node.child_by_field_name("body")) {
                if self.context_allows(name, &fn_name, range) {
                    self.nest(inner, body, region);
                }
            }
            return;
        }
        let mut cursor = node.walk();
        for child in node.children(&mut cursor) {
            self.functions(name, inner, child, region);
        }
    }

    /// `<... pat ...>`: every match of `pat` at or below `node`, outermost
    /// first, not inside each other.
    fn nest(&mut self, pat: &Pat, node: Node, region: Region) {
        if !self.has_occurrence(node, region) || node.is_error() {
            return;
        }
        match self.try_at(pat, node, pat, region) {
            Tried::Edit(edit) => {
                self.out.edits.push(edit);
                return;
            }
            // Context code matched: the later branches are not tried here,
            // the code inside still is.
            Tried::Kept | Tried::No => {}
        }
        if !self.frags.is_empty()
            && stmts::is_lone_body(node)
            && self.lone_statement(pat, node, region)
        {
            return;
        }
        let merged = if node.kind() == "compound_statement" {
            self.sequences(pat, node, region)
        } else {
            Vec::new()
        };
        let mut cursor = node.walk();
        for child in node.children(&mut cursor) {
            if !merged.contains(&child.id()) {
                self.nest(pat, child, region);
            }
        }
    }

    /// The rule's statement-sequence fragments (its branches, in order)
    /// matched against the statements of `block`, left to right; `pat` is
    /// searched in bindings. Returns the ids of the statements that a
    /// sequence replaced or removed.
    fn sequences(&mut self, pat: &Pat, block: Node, region: Region) -> Vec<usize> {
        if self.seqs.is_empty() && self.frags.is_empty() {
            return Vec::new();
        }
        let mut cursor = block.walk();
        let stmts: Vec<Node> = block
            .named_children(&mut cursor)
            .filter(|c| !c.is_extra())
            .collect();
        let mut merged = Vec::new();
        let mut i = 0;
        'at: while i < stmts.len() {
            for k in 0..self.seqs.len() {
                let code = self.seqs[k];
                let PNode::Seq(items) = &code.pattern else {
                    continue;
                };
                let Some(window) = stmts.get(i..i + items.len()) else {
                    continue;
                };
                if !window.iter().any(|s| self.has_occurrence(*s, region)) {
                    continue;
                }
                let mut binds: Binds = vec![None; self.rule.metavars.len()];
                self.evidence.set(Evidence::Certain);
                let all = items
                    .iter()
                    .zip(window)
                    .all(|(p, s)| self.match_pnode(p, *s, &mut binds, region));
                if !all {
                    continue;
                }
                if let Some(edit) = self.try_seq(code, block, window, &binds, pat, region) {
                    self.out.edits.push(edit);
                    merged.extend(window.iter().map(|s| s.id()));
                    i += window.len();
                    continue 'at;
                }
            }
            // A match that starts here may end after the start of the next
            // one (`struct bio_vec a; struct bio_vec b; a... b...`): the
            // next starts at the next statement, and no two remove the same.
            for k in 0..self.frags.len() {
                let frag = self.frags[k];
                let mut binds: Binds = vec![None; self.rule.metavars.len()];
                self.evidence.set(Evidence::Certain);
                let Some(found) = self.match_stmts(frag, &stmts, i, &mut binds, region) else {
                    continue;
                };
                if found.iter().any(|&k| merged.contains(&stmts[k].id())) {
                    continue;
                }
                let placed: Vec<Node> = found.iter().map(|&k| stmts[k]).collect();
                if let Some((edits, removed)) =
                    self.stmts_edits(frag, block, &placed, &binds, pat, region)
                {
                    self.out.edits.extend(edits);
                    merged.extend(removed);
                    break;
                }
            }
            i += 1;
        }
        merged
    }

    /// Leaves the field tokens at `offsets` with reason `why`, unless an
    /// earlier reason was recorded for them (the first found wins).
    fn leave(&mut self, offsets: &[usize], why: &str) {
        // Readers take the first reason of an offset; a later one is kept
        // but never read (looking for an earlier one here was quadratic).
        for &o in offsets {
            self.out.rejected.push((o, why.to_string()));
        }
    }

    /// Records an accepted match that rewrites the field tokens `consumed`,
    /// with the evidence of its types when the rule is typed.
    fn accept(&mut self, consumed: Vec<usize>) {
        if self.has_typed() {
            let ev = self.evidence.get();
            self.out.evidence.extend(consumed.iter().map(|&o| (o, ev)));
        }
        self.out.rewritten.extend(consumed);
        self.out.n_matched += 1;
    }

    fn has_typed(&self) -> bool {
        self.rule.metavars.iter().any(|m| m.kind == MetaKind::Typed)
    }

    /// After a failed match: when the code would match were the unknown
    /// types right, its sites are left with that reason (rather than being
    /// taken for another struct's field, which a known type shows).
    fn unknown_type(&mut self, code: &Code, node: Node, region: Region) {
        if code.replacement.is_none() {
            return;
        }
        let mut binds: Binds = vec![None; self.rule.metavars.len()];
        self.lenient_types.set(true);
        let would = self.match_pnode(&code.pattern, node, &mut binds, region);
        self.lenient_types.set(false);
        if !would {
            return;
        }
        let Some(types) = self.types else { return };
        // Another type known for a binding says why first: the site is on
        // another struct; else the unknown types do.
        let (mut other, mut unknown) = (Vec::new(), Vec::new());
        for (m, b) in self.rule.metavars.iter().zip(&binds) {
            let (Some(want), Some(b)) = (m.ty.as_ref(), *b) else {
                continue;
            };
            let text = String::from_utf8_lossy(region.slice(b)).into_owned();
            match types.type_of(region.root, b, region.text, self.dir) {
                (Some(got), ev) if ev >= Evidence::Likely => {
                    if types.canonical(&got, region.text, self.dir)
                        != types.canonical(want, region.text, self.dir)
                    {
                        other.push(format!("'{text}' is {got}, not {want}"));
                    }
                }
                _ => unknown.push(format!("'{text}' ({want})")),
            }
        }
        let why = if !other.is_empty() {
            format!("{}: another type's member, not rewritten", other.join(", "))
        } else if !unknown.is_empty() {
            format!(
                "the type of {} is unknown (evidence: unknown); a typed rule rewrites only what declarations show",
                unknown.join(", ")
            )
        } else {
            return;
        };
        let consumed = self.consumed_tokens(node, &binds, region);
        self.leave(&consumed, &why);
    }

    /// Checks and renders a matched sequence. A sequence that cannot be
    /// merged safely is not an error: its statements go on to the other
    /// branches one by one.
    fn try_seq(
        &mut self,
        code: &Code,
        block: Node,
        window: &[Node],
        binds: &Binds,
        nest: &Pat,
        region: Region,
    ) -> Option<Edit> {
        let tpl = code.replacement.as_ref()?;
        let (first, last) = (window[0], window[window.len() - 1]);
        if window
            .iter()
            .any(|s| s.has_error() || self.errors.contains(*s))
        {
            return None;
        }
        // A comment between or inside the statements would have no place.
        let mut inside = Vec::new();
        for s in window {
            collect_comments(*s, binds, &mut inside);
        }
        if comment_between(block, first, last) || !inside.is_empty() {
            return None;
        }
        let slots = tpl.pieces.iter().filter_map(|p| match p {
            Piece::Slot { meta, .. } => Some(*meta),
            Piece::Text(_) => None,
        });
        // A binding the replacement does not use is evaluated no more.
        let slots = slots.chain(code.dropped.iter().copied());
        if unmergeable(slots, binds, window, region).is_some() {
            return None;
        }
        let mut consumed = Vec::new();
        for s in window {
            consumed.extend(self.consumed_tokens(*s, binds, region));
        }
        // Each statement alone is tried again, and says why it is left.
        if self.owner_refusal(&consumed, region).is_some()
            || shadowed_call(tpl, first, region).is_some()
            || self.macro_call_clash(tpl, region).is_some()
        {
            return None;
        }
        let newline = stmts::newline_at(first, region);
        self.rewriting.push(first.start_byte()..last.end_byte());
        let text = self.render(tpl, binds, nest, region, &newline);
        self.rewriting.pop();
        // A #define's lines end in `\`; its statements are not broken.
        let text = if region.macro_def.is_none() {
            stmts::wrap_call(text, stmts::indent_of(first, region), MAX_COLUMNS)
        } else {
            text
        };
        self.accept(consumed);
        Some(Edit {
            range: region.file_off(first.start_byte())..region.file_off(last.end_byte()),
            text,
            prec: prec::PRIMARY,
        })
    }

    /// The template with its slots filled, bindings searched for nested
    /// matches of `nest`; a newline in the template's text written as
    /// `newline` (a newline and the indentation of the place). A block bound
    /// to a statement metavariable opens on the line before, as the kernel
    /// writes `if (x) {`.
    fn render(
        &mut self,
        tpl: &Template,
        binds: &Binds,
        nest: &Pat,
        region: Region,
        newline: &[u8],
    ) -> Vec<u8> {
        // The bindings are searched for matches of their own, which set
        // the evidence of their attempts: the match being rendered keeps
        // its own.
        let evidence = self.evidence.get();
        let text = self.render_searched(tpl, binds, nest, region, newline);
        self.evidence.set(evidence);
        text
    }

    fn render_searched(
        &mut self,
        tpl: &Template,
        binds: &Binds,
        nest: &Pat,
        region: Region,
        newline: &[u8],
    ) -> Vec<u8> {
        let mut text = Vec::new();
        let mut rendered: Vec<Option<Vec<Edit>>> = vec![None; binds.len()];
        for piece in &tpl.pieces {
            match piece {
                Piece::Text(t) => {
                    for (k, line) in t.split('\n').enumerate() {
                        if k > 0 {
                            text.extend_from_slice(newline);
                        }
                        text.extend_from_slice(line.as_bytes());
                    }
                }
                Piece::Slot { meta, req, addr_of } => {
                    let b = binds[*meta].expect("template metavariables are bound");
                    if b.kind() == "compound_statement" {
                        let k = text
                            .iter()
                            .rposition(|c| !matches!(c, b' ' | b'\t' | b'\n' | b'\\'))
                            .map_or(0, |p| p + 1);
                        if k > 0 && text[k..].contains(&b'\n') {
                            text.truncate(k);
                            text.push(b' ');
                        }
                    }
                    if rendered[*meta].is_none() {
                        rendered[*meta] = Some(self.nested_edits(nest, b, region));
                    }
                    let inner = rendered[*meta].as_deref().unwrap_or(&[]);
                    self.render_slot(b, *req, *addr_of, inner, region, &mut text);
                }
            }
        }
        text
    }

    /// Collects the edits inside `node` into a separate list (for bindings).
    fn nested_edits(&mut self, pat: &Pat, node: Node, region: Region) -> Vec<Edit> {
        // An edit's own output is never matched again: a binding that is
        // the whole match stays as it is.
        if self.rewriting.contains(&node.byte_range()) {
            return Vec::new();
        }
        let saved = std::mem::take(&mut self.out.edits);
        self.nest(pat, node, region);
        let mut inner = std::mem::replace(&mut self.out.edits, saved);
        inner.sort_by_key(|e| (e.range.start, e.range.end));
        inner
    }

    /// The first branch of `pat` that matches at `node`, as in Coccinelle:
    /// a branch of context code that matches keeps the node as it is.
    fn try_at(&mut self, pat: &Pat, node: Node, nest: &Pat, region: Region) -> Tried {
        match pat {
            Pat::Disj(branches) => {
                for b in branches {
                    match self.try_at(b, node, nest, region) {
                        Tried::No => {}
                        done => return done,
                    }
                }
                Tried::No
            }
            Pat::Code(code) => {
                if code.replacement.is_none() {
                    return self.try_context(code, node, region);
                }
                self.try_code(code, node, nest, region)
                    .map_or(Tried::No, Tried::Edit)
            }
            Pat::Nest(inner) => self.try_at(inner, node, nest, region),
            Pat::Function { .. } | Pat::Struct { .. } | Pat::Stmts(_) => Tried::No,
        }
    }

    /// Context code at `node`: a match counts (for `depends on`) and keeps
    /// the sites it holds, with that reason.
    fn try_context(&mut self, code: &Code, node: Node, region: Region) -> Tried {
        let mut binds: Binds = vec![None; self.rule.metavars.len()];
        self.evidence.set(Evidence::Certain);
        self.type_refused.set(false);
        if !self.match_pnode(&code.pattern, node, &mut binds, region) {
            return Tried::No;
        }
        self.out.n_matched += 1;
        let why = format!(
            "kept as it is by the rule's context code (line {})",
            code.pos.line
        );
        if !self.match_sites {
            let consumed = self.consumed_tokens(node, &binds, region);
            self.leave(&consumed, &why);
        }
        Tried::Kept
    }

    fn try_code(&mut self, code: &Code, node: Node, nest: &Pat, region: Region) -> Option<Edit> {
        let mut binds: Binds = vec![None; self.rule.metavars.len()];
        self.evidence.set(Evidence::Certain);
        self.type_refused.set(false);
        if !self.match_pnode(&code.pattern, node, &mut binds, region) {
            if self.type_refused.get() {
                self.unknown_type(code, node, region);
            }
            return None;
        }
        // Context code is tried by `try_context`.
        let tpl = code.replacement.as_ref()?;
        let src = region.text;
        let consumed = self.consumed_tokens(node, &binds, region);
        let reject = |me: &mut Self, why: String| {
            me.leave(&consumed, &why);
            None
        };
        if consumed.iter().any(|o| self.refused.contains(o)) {
            return None;
        }
        if node.has_error() || self.errors.contains(node) {
            return reject(self, "inside code that tree-sitter could not parse".into());
        }
        let side_effect = matches!(node.kind(), "assignment_expression" | "update_expression");
        if side_effect && tpl.kind != node.kind() && !syntax::value_discarded(node, src) {
            let what = if node.kind() == "assignment_expression" {
                "assignment"
            } else {
                "increment or decrement"
            };
            return reject(
                self,
                format!("the value of the {what} is used, and the helper call does not give it"),
            );
        }
        if syntax::is_lvalue_form(node, src) && !tpl.lvalue {
            if let Some(why) = syntax::lvalue_context(node, src, self.lvalue_macros) {
                return reject(self, why);
            }
        }
        for &m in &code.duplicated {
            if let Some(b) = binds[m] {
                if !syntax::is_pure(b, region.text) {
                    let text = String::from_utf8_lossy(region.slice(b)).into_owned();
                    return reject(
                        self,
                        format!("'{text}' would be evaluated twice and may have side effects"),
                    );
                }
            }
        }
        for &m in &code.dropped {
            if let Some(b) = binds[m] {
                if !syntax::is_pure(b, region.text) {
                    let text = String::from_utf8_lossy(region.slice(b)).into_owned();
                    self.refused.extend(&consumed);
                    return reject(
                        self,
                        format!(
                            "'{text}' is evaluated more often here than by the replacement and may have side effects"
                        ),
                    );
                }
            }
        }
        for piece in &tpl.pieces {
            if let Piece::Slot {
                meta,
                addr_of: true,
                ..
            } = piece
            {
                let b = binds[*meta].expect("template metavariables are bound");
                let s = syntax::strip_parens(b);
                let deref = s.kind() == "pointer_expression"
                    && s.child_by_field_name("operator")
                        .is_some_and(|o| region.slice(o) == b"*");
                if !deref && !syntax::is_lvalue_form(s, src) {
                    let text = String::from_utf8_lossy(region.slice(b)).into_owned();
                    return reject(
                        self,
                        format!("'{text}' has no address to pass to the helper"),
                    );
                }
            }
        }
        if let Some(why) = self.owner_refusal(&consumed, region) {
            return reject(self, why);
        }
        if let Some(why) = shadowed_call(tpl, node, region) {
            return reject(self, why);
        }
        if let Some(why) = self.macro_checks(code, tpl, node, &binds, region) {
            return reject(self, why);
        }
        // Accepted: render the template, bindings searched for matches too.
        let newline = stmts::newline_at(node, region);
        self.rewriting.push(node.byte_range());
        let mut text = self.render(tpl, &binds, nest, region, &newline);
        self.rewriting.pop();
        if node.kind() == "initializer_pair" && tpl.kind == "initializer_pair" {
            text = stmts::align_initializer(node, text, region);
        }
        self.keep_comments(node, &binds, region, &mut text);
        let mut prec_out = tpl.prec;
        if let Some(parent) = node.parent() {
            if syntax::is_expression(node.kind())
                && tpl.prec < syntax::required_prec(parent, node, src)
            {
                text.insert(0, b'(');
                text.push(b')');
                prec_out = prec::PRIMARY;
            }
        }
        self.accept(consumed);
        Some(Edit {
            range: region.file_off(node.start_byte())..region.file_off(node.end_byte()),
            text,
            prec: prec_out,
        })
    }

    /// Why a match that its own context allows is still wrong for a macro:
    /// it lies in an argument that a macro stringifies or pastes, or, in a
    /// `#define` body, some use of the macro needs what the rewrite takes
    /// away (an lvalue, the assignment's value, an argument evaluated
    /// once). A macro whose uses are not all found is not rewritten where
    /// its uses matter.
    fn macro_checks(
        &self,
        code: &Code,
        tpl: &Template,
        node: Node,
        binds: &Binds,
        region: Region,
    ) -> Option<String> {
        let uses = self.macro_uses?;
        let src = region.text;
        if let Some(name) = stringified_arg(region.root, node, src, uses) {
            return Some(format!(
                "an argument of {name}(), which stringifies or pastes it: a rewrite would change the string or the token"
            ));
        }
        let (name, params) = region.macro_def?;
        let value = macro_uses::body_value(region.root).map(|n| n.id());
        let at_value = macro_uses::is_body_value(node, value);
        let lvalue = at_value && syntax::is_lvalue_form(node, src) && !tpl.lvalue;
        let side_effect = at_value
            && matches!(node.kind(), "assignment_expression" | "update_expression")
            && tpl.kind != node.kind();
        // The parameters that the bindings of `metas` mention.
        let mentioned = |metas: &[usize]| -> Vec<usize> {
            metas
                .iter()
                .filter_map(|&m| binds[m])
                .flat_map(|b| {
                    params
                        .iter()
                        .enumerate()
                        .filter(move |(_, p)| macro_uses::mentions_identifier(b, src, p.as_bytes()))
                        .map(|(k, _)| k)
                })
                .collect()
        };
        let need = macro_uses::Need {
            lvalue,
            value: side_effect,
            twice: mentioned(&code.duplicated),
            fewer: mentioned(&code.dropped),
            calls: called_names(tpl),
        };
        uses.judge(name, params, &need)
    }

    /// Why `tpl`, written into the `#define` body `region`, must not call
    /// what it calls (see [`MacroUses::clash`]); `None` outside a body.
    fn macro_call_clash(&self, tpl: &Template, region: Region) -> Option<String> {
        let (name, params) = region.macro_def?;
        self.macro_uses?.clash(name, params, &called_names(tpl))
    }

    /// File offsets of the tracked field tokens inside `node` that are not
    /// inside a binding: the ones this match removes.
    fn consumed_tokens(&self, node: Node, binds: &Binds, region: Region) -> Vec<usize> {
        if self.match_sites {
            return vec![region.file_off(node.start_byte())];
        }
        let occ = self.occurrences;
        let s = region.file_off(node.start_byte());
        let e = region.file_off(node.end_byte());
        let (i, j) = (
            occ.partition_point(|&o| o < s),
            occ.partition_point(|&o| o < e),
        );
        occ[i..j.max(i)]
            .iter()
            .copied()
            .filter(|&o| {
                !binds.iter().flatten().any(|b| {
                    o >= region.file_off(b.start_byte()) && o < region.file_off(b.end_byte())
                })
            })
            .collect()
    }

    /// Comments inside the matched code but outside every binding would be
    /// lost with the code they sit in; they go before the replacement.
    fn keep_comments(&self, node: Node, binds: &Binds, region: Region, text: &mut Vec<u8>) {
        let mut comments = Vec::new();
        collect_comments(node, binds, &mut comments);
        if comments.is_empty() {
            return;
        }
        let mut head = Vec::new();
        for c in comments {
            let body = region.slice(c);
            head.extend_from_slice(body);
            if body.starts_with(b"//") {
                // A line comment needs its newline; the code goes on with
                // the indentation of the line that followed the comment.
                head.push(b'\n');
                let next = c.end_byte() + 1;
                let indent = region.text.get(next..).map_or(0, |rest| {
                    rest.iter()
                        .take_while(|b| **b == b' ' || **b == b'\t')
                        .count()
                });
                head.extend_from_slice(&region.text[next.min(region.text.len())..][..indent]);
            } else {
                head.push(b' ');
            }
        }
        text.splice(0..0, head);
    }

    /// Writes binding `b` where a slot needs precedence `req`: its nested
    /// edits applied, parentheses dropped where they are not needed and added
    /// where they are, `&*p` written `p`.
    fn render_slot(
        &self,
        b: Node,
        req: u8,
        addr_of: bool,
        edits: &[Edit],
        region: Region,
        out: &mut Vec<u8>,
    ) {
        if addr_of {
            let s = self.strip(b, prec::UNARY, edits, region);
            let is_deref = s.kind() == "pointer_expression"
                && s.child_by_field_name("operator")
                    .is_some_and(|o| region.slice(o) == b"*");
            if is_deref {
                let arg = s
                    .child_by_field_name("argument")
                    .expect("a dereference has an operand");
                self.render_expr(arg, req, edits, region, out);
            } else {
                let wrap = prec::UNARY < req;
                if wrap {
                    out.push(b'(');
                }
                out.push(b'&');
                self.render_expr(b, prec::UNARY, edits, region, out);
                if wrap {
                    out.push(b')');
                }
            }
        } else {
            self.render_expr(b, req, edits, region, out);
        }
    }

    /// Parentheses around `n` that a slot needing `req` does not need.
    fn strip<'t>(&self, mut n: Node<'t>, req: u8, edits: &[Edit], region: Region) -> Node<'t> {
        while n.kind() == "parenthesized_expression" && n.named_child_count() == 1 {
            let inner = n.named_child(0).expect("one child");
            if inner.is_extra() || !syntax::is_expression(inner.kind()) || n.child_count() != 3 {
                break;
            }
            if self.prec_of(inner, edits, region) < req {
                break;
            }
            n = inner;
        }
        n
    }

    /// Precedence of `n` once its edits are made. A macro parameter inside
    /// parentheses may stand for any argument, so it counts as the lowest an
    /// argument can be.
    fn prec_of(&self, n: Node, edits: &[Edit], region: Region) -> u8 {
        let (s, e) = (
            region.file_off(n.start_byte()),
            region.file_off(n.end_byte()),
        );
        if let Some(edit) = edits.iter().find(|ed| ed.range == (s..e)) {
            return edit.prec;
        }
        if n.kind() == "identifier" {
            if let Some((_, params)) = region.macro_def {
                let name = region.slice(n);
                if params.iter().any(|p| p.as_bytes() == name) {
                    return prec::ASSIGN;
                }
            }
        }
        syntax::expr_prec(n, region.text)
    }

    fn render_expr(&self, b: Node, req: u8, edits: &[Edit], region: Region, out: &mut Vec<u8>) {
        let n = self.strip(b, req, edits, region);
        let wrap = self.prec_of(n, edits, region) < req;
        if wrap {
            out.push(b'(');
        }
        region.splice(n, edits, out);
        if wrap {
            out.push(b')');
        }
    }

    fn match_pnode<'t>(
        &self,
        p: &PNode,
        t: Node<'t>,
        binds: &mut Binds<'t>,
        region: Region,
    ) -> bool {
        match p {
            // A sequence matches the children of a block, in `sequences`.
            PNode::Seq(_) => false,
            PNode::Meta(m) => {
                let var = &self.rule.metavars[*m];
                let fits = match var.kind {
                    MetaKind::Expression => syntax::is_expression(t.kind()) && !is_declared_name(t),
                    MetaKind::Statement => {
                        t.kind() != "declaration" && crate::smpl::is_statement(t.kind())
                    }
                    MetaKind::Typed => {
                        syntax::is_expression(t.kind())
                            && !is_declared_name(t)
                            && self.type_fits(var, t, region)
                    }
                    MetaKind::Constant => {
                        matches!(
                            t.kind(),
                            "number_literal"
                                | "char_literal"
                                | "string_literal"
                                | "concatenated_string"
                                | "true"
                                | "false"
                                | "null"
                        ) || (t.kind() == "identifier" && is_capitalised(region.slice(t)))
                    }
                    MetaKind::Type => matches!(
                        t.kind(),
                        "type_identifier"
                            | "primitive_type"
                            | "sized_type_specifier"
                            | "struct_specifier"
                            | "union_specifier"
                            | "enum_specifier"
                    ),
                    MetaKind::Identifier => {
                        matches!(
                            t.kind(),
                            "identifier"
                                | "field_identifier"
                                | "type_identifier"
                                | "statement_identifier"
                        ) && var.constraint.as_ref().is_none_or(|c| {
                            std::str::from_utf8(region.slice(t)).is_ok_and(|name| c.allows(name))
                        })
                    }
                };
                if !fits {
                    return false;
                }
                match binds[*m] {
                    Some(prev) => same_tokens(prev, t, region.text),
                    None => {
                        binds[*m] = Some(t);
                        true
                    }
                }
            }
            PNode::Node {
                kind,
                text,
                children,
            } => {
                if t.kind() != *kind {
                    return false;
                }
                if let Some(text) = text {
                    return t.child_count() == 0 && region.slice(t) == text.as_bytes();
                }
                let mut cursor = t.walk();
                let mut tc = t.children(&mut cursor).filter(|c| !c.is_extra());
                for pc in children {
                    match tc.next() {
                        Some(c) if self.match_pnode(pc, c, binds, region) => {}
                        _ => return false,
                    }
                }
                tc.next().is_none()
            }
        }
    }
}

/// The macro whose call holds `node` in an argument it stringifies or
/// pastes, looked for up to the statement. `root` is the tree's: the
/// ancestors are found in one descent from it.
fn stringified_arg<'s>(root: Node, node: Node, src: &'s [u8], uses: &MacroUses) -> Option<&'s str> {
    let path = syntax::path_from(root, node);
    for k in (1..path.len()).rev() {
        let (p, child) = (path[k - 1], path[k]);
        if p.kind() == "argument_list" && k >= 2 {
            let call = path[k - 2];
            let callee = call
                .child_by_field_name("function")
                .filter(|f| f.kind() == "identifier")
                .and_then(|f| std::str::from_utf8(&src[f.byte_range()]).ok());
            if let Some(name) = callee {
                let mut cursor = p.walk();
                let idx = p
                    .named_children(&mut cursor)
                    .filter(|c| !c.is_extra())
                    .position(|c| c.id() == child.id());
                if idx.is_some_and(|i| uses.stringifies(name, i)) {
                    return Some(name);
                }
            }
        }
        if matches!(p.kind(), "compound_statement" | "translation_unit") {
            return None;
        }
    }
    None
}

/// Whether a comment among `block`'s children lies between the start of
/// `first` and the end of `last`.
fn comment_between(block: Node, first: Node, last: Node) -> bool {
    let mut cursor = block.walk();
    let found = block.children(&mut cursor).any(|c| {
        c.kind() == "comment"
            && c.start_byte() > first.start_byte()
            && c.end_byte() < last.end_byte()
    });
    found
}

/// The first binding of the metavariables `slots` that one evaluation in
/// place of the statements `stmts` would change: one call evaluates its
/// arguments in no set order, each once, so each must be free of side
/// effects and must not read what the statements write.
fn unmergeable<'t>(
    slots: impl IntoIterator<Item = usize>,
    binds: &Binds<'t>,
    stmts: &[Node],
    region: Region,
) -> Option<Node<'t>> {
    let written = Written::of(stmts, region);
    slots
        .into_iter()
        .filter_map(|m| binds[m])
        .find(|b| !syntax::is_pure(*b, region.text) || written.read_by(*b, region))
}

/// What a sequence of statements writes: the variables and the fields its
/// assignments and updates store to, and whether any store goes through a
/// pointer or an index.
struct Written {
    names: Vec<Vec<u8>>,
    fields: Vec<Vec<u8>>,
    through_memory: bool,
}

impl Written {
    fn of(stmts: &[Node], region: Region) -> Written {
        fn walk(n: Node, region: Region, w: &mut Written) {
            let target = match n.kind() {
                "assignment_expression" => n.child_by_field_name("left"),
                "update_expression" => n.child_by_field_name("argument"),
                _ => None,
            };
            if let Some(t) = target.map(syntax::strip_parens) {
                match t.kind() {
                    "identifier" => w.names.push(region.slice(t).to_vec()),
                    "field_expression" => match t.child_by_field_name("field") {
                        Some(f) => w.fields.push(region.slice(f).to_vec()),
                        None => w.through_memory = true,
                    },
                    _ => w.through_memory = true,
                }
            }
            let mut c = n.walk();
            for ch in n.children(&mut c) {
                walk(ch, region, w);
            }
        }
        let mut w = Written {
            names: Vec::new(),
            fields: Vec::new(),
            through_memory: false,
        };
        for s in stmts {
            walk(*s, region, &mut w);
        }
        w
    }

    /// True when evaluating `n` may read something written: a written
    /// variable, a field of a written name (whatever the base: pointers may
    /// alias), or any memory when a store went through a pointer or index.
    fn read_by(&self, n: Node, region: Region) -> bool {
        let hit = match n.kind() {
            "identifier" => self.names.iter().any(|w| w == region.slice(n)),
            "field_expression" => {
                self.through_memory
                    || n.child_by_field_name("field")
                        .is_some_and(|f| self.fields.iter().any(|w| w == region.slice(f)))
            }
            "subscript_expression" => self.through_memory,
            "pointer_expression" => {
                self.through_memory
                    && n.child_by_field_name("operator")
                        .is_some_and(|o| region.slice(o) == b"*")
            }
            _ => false,
        };
        let mut c = n.walk();
        let below = n.children(&mut c).any(|ch| self.read_by(ch, region));
        hit || below
    }
}

fn collect_comments<'t>(node: Node<'t>, binds: &Binds<'t>, out: &mut Vec<Node<'t>>) {
    if binds.iter().flatten().any(|b| b.id() == node.id()) {
        return;
    }
    if node.kind() == "comment" {
        out.push(node);
        return;
    }
    let mut cursor = node.walk();
    for child in node.children(&mut cursor) {
        collect_comments(child, binds, out);
    }
}

impl Matcher<'_> {
    /// Why a match may not rewrite the tracked field tokens `consumed`
    /// when another struct than `struct bio_vec` declares the field (see
    /// [`Matcher::with_owners`]): the first token whose struct is not
    /// shown, by declarations or an iterator macro, to be a bio_vec.
    fn owner_refusal(&self, consumed: &[usize], region: Region) -> Option<String> {
        let owners = self.owners?;
        let declared = owners.join(", ");
        for &o in consumed {
            let leaf = usize::try_from(o as isize - region.base)
                .ok()
                .and_then(|at| {
                    region
                        .root
                        .descendant_for_byte_range(at, at + 1)
                        .filter(|l| l.start_byte() == at)
                });
            let field = leaf.map_or_else(String::new, |l| {
                String::from_utf8_lossy(region.slice(l)).into_owned()
            });
            let unknown = |what: &str| {
                Some(format!(
                    "unknown type: {what} is not shown to be a {FIELD_STRUCT}, and {field} is declared by {declared}; only an access whose type declarations show is rewritten"
                ))
            };
            let (Some(leaf), Some(types)) = (leaf, self.types) else {
                return unknown("the struct of this member");
            };
            let Some(parent) = leaf.parent() else {
                return unknown("the struct of this member");
            };
            let (got, ev, want, what) = match parent.kind() {
                "field_expression" => {
                    let Some(base) = parent.child_by_field_name("argument") else {
                        return unknown("the struct of this member");
                    };
                    let arrow = parent
                        .child_by_field_name("operator")
                        .is_some_and(|op| region.slice(op) == b"->");
                    let (got, ev) = types.type_of(region.root, base, region.text, self.dir);
                    let what = format!("'{}'", String::from_utf8_lossy(region.slice(base)));
                    (got, ev, CType::new(FIELD_STRUCT, u8::from(arrow)), what)
                }
                "field_designator" => {
                    let (got, ev) =
                        types.designated_type(region.root, parent, region.text, self.dir);
                    let what = "the object this initializer fills".to_string();
                    (got, ev, CType::new(FIELD_STRUCT, 0), what)
                }
                _ => match crate::c::types::member_owner(leaf, region.text) {
                    Some(owner) if owner == FIELD_STRUCT => continue,
                    Some(owner) => {
                        return Some(format!(
                            "other struct: a member of {owner}, not of {FIELD_STRUCT}"
                        ))
                    }
                    None => return unknown("the struct of this member"),
                },
            };
            match got {
                Some(got) if ev >= Evidence::Likely => {
                    if types.canonical(&got, region.text, self.dir) != want {
                        return Some(format!("other struct: {what} is {got}, not {want}"));
                    }
                }
                _ => return unknown(&what),
            }
        }
        None
    }

    /// True when `t`'s type is the typed metavariable `var`'s, known with
    /// at least `likely` evidence (or unknown, while `lenient_types`).
    fn type_fits(&self, var: &crate::smpl::Metavar, t: Node, region: Region) -> bool {
        let (Some(types), Some(want)) = (self.types, var.ty.as_ref()) else {
            return false;
        };
        let (got, ev) = types.type_of(region.root, t, region.text, self.dir);
        match got {
            Some(got) if ev >= Evidence::Likely => {
                let same = types.canonical(&got, region.text, self.dir)
                    == types.canonical(want, region.text, self.dir);
                if same {
                    self.evidence.set(self.evidence.get().min(ev));
                    return true;
                }
            }
            _ => {}
        }
        self.type_refused.set(true);
        self.lenient_types.get()
    }
}

/// True when identifier `t` is the name a declarator, an enumerator or a
/// macro declares (`f` and `a` in `int f(int a)`): a name, not an
/// expression, whatever its node kind.
fn is_declared_name(t: Node) -> bool {
    if t.kind() != "identifier" {
        return false;
    }
    let Some(parent) = t.parent() else {
        return false;
    };
    if parent.kind() == "preproc_params" {
        return true;
    }
    ["declarator", "name"].iter().any(|f| {
        parent
            .child_by_field_name(f)
            .is_some_and(|c| c.id() == t.id())
    })
}

/// True for a name in capitals (`PAGE_SIZE`, `SZ_4K`): a macro constant by
/// the kernel's convention.
fn is_capitalised(name: &[u8]) -> bool {
    name.first().is_some_and(u8::is_ascii_uppercase)
        && name
            .iter()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || *b == b'_')
}

/// True when `a` and `b` are the same tokens, spacing and comments aside.
fn same_tokens(a: Node, b: Node, src: &[u8]) -> bool {
    fn leaves<'t>(n: Node<'t>, out: &mut Vec<Node<'t>>) {
        if n.is_extra() {
            return;
        }
        if n.child_count() == 0 {
            out.push(n);
        }
        let mut c = n.walk();
        for ch in n.children(&mut c) {
            leaves(ch, out);
        }
    }
    let (mut la, mut lb) = (Vec::new(), Vec::new());
    leaves(a, &mut la);
    leaves(b, &mut lb);
    la.len() == lb.len()
        && la
            .iter()
            .zip(&lb)
            .all(|(x, y)| src[x.byte_range()] == src[y.byte_range()])
}

/// The name of a function definition: the identifier at the bottom of its
/// declarator chain (`struct page *name(...)`).
pub fn function_name(def: Node) -> Option<Node> {
    let mut d = def.child_by_field_name("declarator")?;
    loop {
        match d.kind() {
            "function_declarator" => {
                let inner = d.child_by_field_name("declarator")?;
                return (inner.kind() == "identifier").then_some(inner);
            }
            "pointer_declarator" | "parenthesized_declarator" | "attributed_declarator" => {
                d = d
                    .child_by_field_name("declarator")
                    .or_else(|| d.named_child(d.named_child_count().checked_sub(1)?))?;
            }
            _ => return None,
        }
    }
}
