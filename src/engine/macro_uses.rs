//! The uses of a file's function-like macros, and the macros that
//! stringify or paste a parameter: what the matcher needs to know before it
//! rewrites a site in a `#define` body (the rewrite must be right for every
//! use) or an argument of a macro call (`#x` and `x##y` see its tokens).
//!
//! Uses are looked for in the file itself, in its code and in its other
//! `#define` bodies; a macro used as the whole value of another macro's
//! body stands for that macro's uses. A walk adds, for the macros of its
//! headers ([`Elsewhere`], found by `engine::walk`), the uses in the other
//! files it covers and in the tree's `include/`, and says whether uses
//! beyond those can exist. Without a walk (one text), uses in other files
//! are not seen: a check that needs every use finds none for a macro only
//! used elsewhere, and the site is left with the reason.
//!
//! Bodies that stringify or paste (`#x`, `a##b`) are parsed with those
//! operands masked ([`mask_operators`]): the rest is C and is converted,
//! the masked operands are left.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::ops::Range;
use std::sync::{Arc, Mutex};

use tree_sitter::Node;

use crate::c::parsed::LazyParsed;
use crate::c::source::{Define, LineIndex};
use crate::c::syntax::{self, LvalueMacro, MacroTree};
use crate::engine::clash::{self, Clash};

/// Kernel macros that stringify an argument (`include/linux/stringify.h`).
const STRINGIFY_MACROS: &[&str] = &["__stringify", "__stringify_1", "stringify"];

/// How deep a chain of macros standing for each other (or passing a
/// parameter on to be stringified) is followed.
const MAX_DEPTH: usize = 8;

thread_local! {
    /// The macros whose uses [`MacroUses::judge`] was asked about on this
    /// thread (a rewrite in their body that some use could break), since
    /// [`take_judged`] last took them: the walk looks for those macros'
    /// uses in its other files.
    static JUDGED: RefCell<Vec<String>> = const { RefCell::new(Vec::new()) };
}

/// The macros judged on this thread since the last call (see [`JUDGED`]),
/// sorted and without repeats.
pub fn take_judged() -> Vec<String> {
    let mut names = JUDGED.with(|j| std::mem::take(&mut *j.borrow_mut()));
    names.sort();
    names.dedup();
    names
}

/// One use of a macro.
#[derive(Debug, Clone)]
pub struct Use {
    /// The file of the use, as the walk names it; `None` for the file
    /// that defines the macro.
    pub file: Option<String>,
    /// 1-based line of the use in the file.
    pub line: usize,
    /// Why the use's context needs an lvalue there, if it does.
    pub lvalue: Option<String>,
    /// Whether the use's value is read.
    pub value_used: bool,
    /// Per argument: whether it is free of side effects.
    pub args_pure: Vec<bool>,
}

/// The uses of the macros of one file, and which parameters each macro
/// stringifies or pastes.
#[derive(Debug, Default)]
pub struct MacroUses {
    /// Per macro name: its uses, or `None` when a use could not be judged
    /// (a chain too deep, the value of a macro whose own uses are unknown).
    uses: HashMap<String, Option<Vec<Use>>>,
    /// Per macro name: the positions of the parameters it stringifies or
    /// pastes, at any depth of the macros the file defines.
    stringified: HashMap<String, Vec<usize>>,
    /// The uses of this file's macros in the other files of a walk, for a
    /// header's macros.
    elsewhere: Option<Arc<Elsewhere>>,
    /// The names a rule may call that this file declares as other than
    /// functions (see [`crate::engine::clash`]).
    clashes: Vec<Clash>,
}

/// The uses, in the other files of a walk, of the function-like macros
/// that headers of the walk define and whose bodies hold sites (a use in
/// a file that defines a macro of the same name is that macro's), and
/// whether uses beyond the files looked at can exist.
#[derive(Debug, Default)]
pub struct Elsewhere {
    /// The macro names looked for.
    names: HashSet<String>,
    /// Per name: the uses found, by file and line.
    uses: HashMap<String, Vec<Use>>,
    /// Per name: a file whose use could not be judged (it stands for a
    /// macro whose own uses were not looked for, or the file could not be
    /// searched).
    unjudged: HashMap<String, String>,
    /// Why uses outside the files looked at may exist (the walk is part of
    /// a kernel tree), if they may.
    unknown: Option<String>,
    /// How many files the uses were looked for in.
    pub n_files: usize,
    /// Outside a kernel tree the files walked are taken as the whole
    /// program: the rewrites that relied on that, per macro name, with
    /// the uses checked, for the report.
    relied: Option<Mutex<BTreeMap<String, Vec<String>>>>,
    /// The names a rule may call that the files looked at declare as
    /// other than functions, the first place per name.
    clashes: Vec<Clash>,
}

/// What a rewrite in a `#define` body takes away, which some use of the
/// macro may need.
#[derive(Debug, Default)]
pub struct Need {
    /// The body's value is an lvalue the rewrite is not.
    pub lvalue: bool,
    /// The body's value is an assignment's, which the helper call does
    /// not give.
    pub value: bool,
    /// Positions of the parameters the rewrite evaluates twice.
    pub twice: Vec<usize>,
    /// Positions of the parameters the rewrite evaluates fewer times than
    /// the body did (an idiom that drops an evaluation).
    pub fewer: Vec<usize>,
    /// The functions the rewrite calls: a use in the scope of a variable
    /// of one of those names would call the variable.
    pub calls: Vec<String>,
}

/// A use found in a tree, before macros standing for others are resolved.
struct RawUse {
    name: String,
    line: usize,
    lvalue: Option<String>,
    value_used: bool,
    args_pure: Vec<bool>,
    /// The macro whose whole body value this use is, if any.
    value_of: Option<String>,
}

impl MacroUses {
    /// Collects the uses of `defines` in the file tree `root` (of `text`,
    /// the file `orig` with its `#define` bodies blanked, whose lines
    /// `lines` indexes) and in the `#define` bodies (parsed here when
    /// `parsed` lacks them); a walk's `elsewhere` adds the uses of the
    /// file's macros in its other files.
    #[allow(clippy::too_many_arguments)]
    pub fn collect(
        root: Node,
        text: &[u8],
        orig: &[u8],
        lines: &LineIndex,
        defines: &[Define],
        parsed: &[(&Define, Option<MacroTree>)],
        lvalue_macros: &[LvalueMacro],
        elsewhere: Option<Arc<Elsewhere>>,
        called: &[String],
    ) -> MacroUses {
        let defs = function_like(defines);
        let wanted: HashSet<&str> = defs.keys().copied().collect();
        let raw = raw_uses(
            root,
            text,
            orig,
            lines,
            defines,
            parsed,
            &defs,
            &wanted,
            lvalue_macros,
        );
        let mut out = MacroUses::default();
        for name in defs.keys() {
            let mut resolved = resolve(name, &raw, 0);
            if let Some(e) = elsewhere.as_deref().filter(|e| e.names.contains(*name)) {
                resolved = match (resolved, e.unjudged.contains_key(*name)) {
                    (Some(mut local), false) => {
                        local.extend(e.uses.get(*name).into_iter().flatten().cloned());
                        Some(local)
                    }
                    _ => None,
                };
            }
            out.uses.insert((*name).to_string(), resolved);
        }
        out.stringified = stringified_params(defines, orig);
        out.elsewhere = elsewhere;
        out.clashes = clash::declared_here(root, text, lines, called);
        out
    }

    /// The uses, in one file of a walk, of the macros `names` that it
    /// does not define itself (the file `file`, named `name`): per name,
    /// its uses, or `None` when one could not be judged. Names the file
    /// does not mention as a word are not looked for, and a file that
    /// mentions none is not parsed.
    pub fn foreign_uses(
        file: &LazyParsed,
        name: &str,
        names: &[&str],
    ) -> Vec<(String, Option<Vec<Use>>)> {
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
        let defined: HashSet<&str> = parsed.defines.iter().map(|d| d.name.as_str()).collect();
        let foreign: Vec<&str> = present
            .into_iter()
            .filter(|n| !defined.contains(n))
            .collect();
        if foreign.is_empty() {
            return Vec::new();
        }
        if crate::engine::deeper_than(parsed.root(), crate::engine::MAX_DEPTH) {
            return foreign.iter().map(|n| (n.to_string(), None)).collect();
        }
        let defs = function_like(&parsed.defines);
        // The file's own macros too: a use that is one's whole value
        // stands for that one's uses.
        let wanted: HashSet<&str> = defs.keys().chain(&foreign).copied().collect();
        let lines = LineIndex::new(orig);
        let raw = raw_uses(
            parsed.root(),
            &parsed.blanked,
            orig,
            &lines,
            &parsed.defines,
            &[],
            &defs,
            &wanted,
            crate::engine::site::LVALUE_MACROS,
        );
        foreign
            .iter()
            .map(|n| {
                let uses = resolve(n, &raw, 0).map(|mut u| {
                    for u in &mut u {
                        u.file = Some(name.to_string());
                    }
                    u
                });
                (n.to_string(), uses)
            })
            .collect()
    }

    /// Only which parameters the macros of `defines` (bodies in `orig`)
    /// stringify or paste: for a file without a site in a `#define` body.
    pub fn stringified_only(defines: &[Define], orig: &[u8]) -> MacroUses {
        MacroUses {
            uses: HashMap::new(),
            stringified: stringified_params(defines, orig),
            elsewhere: None,
            clashes: Vec::new(),
        }
    }

    /// The uses of macro `name` found, `None` when some could not be
    /// judged; an empty list when none was found.
    pub fn uses(&self, name: &str) -> Option<&[Use]> {
        match self.uses.get(name) {
            Some(Some(u)) => Some(u),
            Some(None) => None,
            None => Some(&[]),
        }
    }

    /// True when macro `name` stringifies or pastes its argument at
    /// `position` (directly, or by passing it to a macro that does).
    pub fn stringifies(&self, name: &str, position: usize) -> bool {
        STRINGIFY_MACROS.contains(&name)
            || self
                .stringified
                .get(name)
                .is_some_and(|p| p.contains(&position))
    }

    /// Why a rewrite in the body of macro `name` (parameters `params`)
    /// that takes away `need` is wrong for some use, or cannot be shown
    /// right for every use; `None` when it is right.
    pub fn judge(&self, name: &str, params: &[String], need: &Need) -> Option<String> {
        if let Some(why) = self.clash(name, params, &need.calls) {
            return Some(why);
        }
        if !need.lvalue && !need.value && need.twice.is_empty() && need.fewer.is_empty() {
            return None;
        }
        JUDGED.with(|j| j.borrow_mut().push(name.to_string()));
        let needs = if need.lvalue {
            "needs an lvalue"
        } else if need.value {
            "reads the assignment's value"
        } else if !need.twice.is_empty() {
            "passes an argument with side effects (the rewrite evaluates it twice)"
        } else {
            "passes an argument with side effects (the rewrite evaluates it fewer times)"
        };
        let walk = self.elsewhere.as_deref().filter(|e| e.names.contains(name));
        let Some(found) = self.uses(name) else {
            let at = walk
                .and_then(|e| e.unjudged.get(name))
                .map_or(String::new(), |f| format!(" (in {f})"));
            return Some(format!(
                "{name}() is used through other macros whose uses are not all found{at}; the rewrite is right only if no use {needs}"
            ));
        };
        for u in found {
            let at = match &u.file {
                Some(f) => format!("{f}:{}", u.line),
                None => format!("line {}", u.line),
            };
            if let (true, Some(why)) = (need.lvalue, &u.lvalue) {
                return Some(format!(
                    "{name}() is used where an lvalue is needed ({at}: {why})"
                ));
            }
            if need.value && u.value_used {
                return Some(format!(
                    "the value of {name}() is used ({at}), and the helper call does not give it"
                ));
            }
            let counts = [
                (&need.twice, "twice"),
                (&need.fewer, "fewer times than the macro did"),
            ];
            for (params_of, how) in counts {
                if let Some(&k) = params_of
                    .iter()
                    .find(|&&k| !u.args_pure.get(k).copied().unwrap_or(false))
                {
                    let on = match &u.file {
                        Some(f) => format!("at {f}:{}", u.line),
                        None => format!("on line {}", u.line),
                    };
                    return Some(format!(
                        "the rewrite evaluates {name}()'s parameter '{}' {how}, and the argument {on} may have side effects",
                        params[k]
                    ));
                }
            }
        }
        let Some(e) = walk else {
            return found.is_empty().then(|| format!(
                "{name}() has no use in this file, and its uses elsewhere are not checked; the rewrite is right only if no use {needs}"
            ));
        };
        if let Some(why) = &e.unknown {
            return Some(format!(
                "{name}() is defined in a header, and {why}: its uses outside the files walked and include/ are not known ({} checked); the rewrite is right only if no use {needs}; run on the whole tree",
                found.len()
            ));
        }
        if found.is_empty() {
            return Some(format!(
                "{name}() has no use in the files walked; the rewrite is right only if no use {needs}"
            ));
        }
        if let Some(relied) = &e.relied {
            let at = found
                .iter()
                .map(|u| match &u.file {
                    Some(f) => format!("{f}:{}", u.line),
                    None => format!("line {}", u.line),
                })
                .collect();
            relied
                .lock()
                .expect("no panics while locked")
                .insert(name.to_string(), at);
        }
        None
    }
}

impl MacroUses {
    /// Why a rewrite in the body of macro `name` must not call `calls`:
    /// this file, or another file of the walk, declares one of them as a
    /// variable, a parameter, a typedef or an enumerator, in whose scope
    /// the macro may be expanded. A header whose rewrite calls a function
    /// is rewritten again once the walk has looked for such declarations.
    /// A parameter of the macro (`params`) of a called name is worse: the
    /// call would become a call of the argument.
    pub fn clash(&self, name: &str, params: &[String], calls: &[String]) -> Option<String> {
        if let Some(c) = calls.iter().find(|c| params.contains(c)) {
            return Some(format!(
                "the replacement calls {c}(), and '{c}' is a parameter of {name}(): each use would call its argument instead"
            ));
        }
        if calls.is_empty() {
            return None;
        }
        JUDGED.with(|j| j.borrow_mut().push(name.to_string()));
        let elsewhere = self
            .elsewhere
            .as_deref()
            .map_or(&[][..], |e| &e.clashes[..]);
        calls.iter().find_map(|c| {
            self.clashes
                .iter()
                .chain(elsewhere)
                .find(|k| k.name == *c)
                .map(clash::reason)
        })
    }
}

impl Elsewhere {
    /// The uses of `names` found by [`MacroUses::foreign_uses`] in
    /// `n_files` files (`found`, in any order); `unknown` says why uses
    /// beyond them may exist; `whole_program` when the files are taken as
    /// the whole program though no kernel tree says so (the rewrites that
    /// rely on it are then reported, see [`Elsewhere::relied`]).
    pub fn new(
        names: impl IntoIterator<Item = String>,
        found: Vec<(String, Option<Vec<Use>>)>,
        unjudged_files: Vec<(String, String)>,
        n_files: usize,
        unknown: Option<String>,
        whole_program: bool,
        mut clashes: Vec<Clash>,
    ) -> Elsewhere {
        // The first place per name, in file order.
        clashes.sort();
        clashes.dedup_by(|a, b| a.name == b.name);
        let mut e = Elsewhere {
            names: names.into_iter().collect(),
            n_files,
            unknown,
            relied: whole_program.then(|| Mutex::new(BTreeMap::new())),
            clashes,
            ..Elsewhere::default()
        };
        for (name, file) in unjudged_files {
            e.unjudged.entry(name).or_insert(file);
        }
        for (name, uses) in found {
            match uses {
                Some(u) => e.uses.entry(name).or_default().extend(u),
                None => {
                    e.unjudged.entry(name).or_insert_with(|| "a file".into());
                }
            }
        }
        for u in e.uses.values_mut() {
            u.sort_by(|a, b| (&a.file, a.line).cmp(&(&b.file, b.line)));
        }
        e
    }

    /// The rewrites made only because the files walked were taken as the
    /// whole program: per macro name, the uses checked.
    pub fn relied(&self) -> BTreeMap<String, Vec<String>> {
        self.relied
            .as_ref()
            .map(|r| r.lock().expect("no panics while locked").clone())
            .unwrap_or_default()
    }
}

/// The function-like macros of `defines`, by name.
fn function_like(defines: &[Define]) -> HashMap<&str, &Define> {
    defines
        .iter()
        .filter(|d| d.params.is_some())
        .map(|d| (d.name.as_str(), d))
        .collect()
}

/// The uses of `wanted` in the file tree `root` and in the bodies of
/// `defines` (see [`MacroUses::collect`]); `defs` are the file's
/// function-like macros, whose parameters a use in their body may pass.
#[allow(clippy::too_many_arguments)]
fn raw_uses(
    root: Node,
    text: &[u8],
    orig: &[u8],
    lines: &LineIndex,
    defines: &[Define],
    parsed: &[(&Define, Option<MacroTree>)],
    defs: &HashMap<&str, &Define>,
    wanted: &HashSet<&str>,
    lvalue_macros: &[LvalueMacro],
) -> Vec<RawUse> {
    let names = Names { defs, wanted };
    let mut raw = Vec::new();
    find_uses(root, text, 0, None, &names, lines, lvalue_macros, &mut raw);
    for d in defines {
        let own;
        let mt = match parsed.iter().find(|(p, _)| std::ptr::eq(*p, d)) {
            Some((_, mt)) => mt.as_ref(),
            None => {
                own = parse_body_if_uses(orig, d, wanted);
                own.as_ref()
            }
        };
        let Some(mt) = mt else { continue };
        let base = d.body.start as isize - mt.prefix_len as isize;
        let value = body_value(mt.tree.root_node()).map(|n| n.id());
        find_uses(
            mt.tree.root_node(),
            &mt.text,
            base,
            Some((&d.name, value)),
            &names,
            lines,
            lvalue_macros,
            &mut raw,
        );
    }
    raw
}

/// The macros whose uses [`find_uses`] records, and the file's own
/// function-like macros.
struct Names<'a> {
    defs: &'a HashMap<&'a str, &'a Define>,
    wanted: &'a HashSet<&'a str>,
}

/// Parses `d`'s body when it may use one of `names` (a literal search).
fn parse_body_if_uses(text: &[u8], d: &Define, names: &HashSet<&str>) -> Option<MacroTree> {
    let body = &text[d.body.clone()];
    let mentions = names
        .iter()
        .any(|n| !crate::c::source::word_occurrences(body, n).is_empty());
    if !mentions {
        return None;
    }
    parse_masked_body(body, d.params.as_deref()).map(|(mt, _)| mt)
}

/// Why a site inside a stringified or pasted operand is left.
pub const MASKED_REASON: &str =
    "a stringified or pasted operand (#x, a##b) of the #define: its tokens are not C on their own";

/// Why a match that holds a stringified or pasted operand is refused.
const MASKED_MATCH: &str =
    "the match holds a stringified or pasted operand (#x, a##b), which is not C on its own; left unchanged";

/// A macro body with its stringified and pasted operands masked, so that
/// the rest parses as C with the same offsets: each `#p` (`p` a parameter
/// of a function-like macro) becomes a string literal of the same length
/// (it concatenates with strings as the stringified text does), and each
/// run of tokens joined by `##` one identifier of `_` bytes (a pasted
/// token is most often a name). Returns the masked copy and the spans
/// masked, relative to the body; `None` when the body has neither.
pub fn mask_operators(
    body: &[u8],
    params: Option<&[String]>,
) -> Option<(Vec<u8>, Vec<Range<usize>>)> {
    // Most bodies have no `#` at all.
    memchr::memchr(b'#', body)?;
    let toks = token_ranges(body);
    let tok = |i: usize| &body[toks[i].clone()];
    let is_param = |t: &[u8]| {
        params.is_some_and(|ps| {
            ps.iter().any(|p| {
                let p = p.trim_end_matches("...");
                let p = if p.is_empty() { "__VA_ARGS__" } else { p };
                t == p.as_bytes() || (t == b"__VA_ARGS__" && p == "__VA_ARGS__")
            })
        })
    };
    // (span, is a string)
    let mut spans: Vec<(Range<usize>, bool)> = Vec::new();
    for i in 0..toks.len() {
        match tok(i) {
            b"##" => {
                // `, ## __VA_ARGS__` (GNU): only the paste and its operand.
                let start = if i > 0 && tok(i - 1) != b"," {
                    toks[i - 1].start
                } else {
                    toks[i].start
                };
                let end = toks.get(i + 1).map_or(toks[i].end, |r| r.end);
                spans.push((start..end, false));
            }
            b"#" if params.is_some() && i + 1 < toks.len() && is_param(tok(i + 1)) => {
                spans.push((toks[i].start..toks[i + 1].end, true));
            }
            _ => {}
        }
    }
    if spans.is_empty() {
        return None;
    }
    spans.sort_by_key(|(r, _)| r.start);
    let mut merged: Vec<(Range<usize>, bool)> = Vec::new();
    for (r, string) in spans {
        match merged.last_mut() {
            Some((last, s)) if r.start <= last.end => {
                last.end = last.end.max(r.end);
                *s = false;
            }
            _ => merged.push((r, string)),
        }
    }
    let mut out = body.to_vec();
    for (r, string) in &merged {
        out[r.clone()].fill(b'_');
        if *string {
            out[r.start] = b'"';
            out[r.end - 1] = b'"';
        }
    }
    Some((out, merged.into_iter().map(|(r, _)| r).collect()))
}

/// A `#define` body parsed on its own (see [`syntax::parse_macro_body`]),
/// its stringified and pasted operands masked first (see
/// [`mask_operators`]); with the spans masked, relative to the body.
pub fn parse_masked_body(
    body: &[u8],
    params: Option<&[String]>,
) -> Option<(MacroTree, Vec<Range<usize>>)> {
    match mask_operators(body, params) {
        Some((masked, spans)) => syntax::parse_macro_body(&masked).map(|mt| (mt, spans)),
        None => syntax::parse_macro_body(body).map(|mt| (mt, Vec::new())),
    }
}

/// Refuses the edits of `outcome` that touch a masked span (file ranges,
/// sorted): their replacement would be written from the mask. Their sites
/// are left with the reason.
pub fn refuse_masked(outcome: &mut crate::engine::matcher::Outcome, masked: &[Range<usize>]) {
    if masked.is_empty() {
        return;
    }
    let touches = |r: &Range<usize>| masked.iter().any(|m| m.start < r.end && r.start < m.end);
    let (refused, kept): (Vec<_>, Vec<_>) =
        outcome.edits.drain(..).partition(|e| touches(&e.range));
    outcome.edits = kept;
    if refused.is_empty() {
        return;
    }
    let mut left = Vec::new();
    outcome.rewritten.retain(|&o| {
        let inside = refused.iter().any(|e| e.range.contains(&o));
        if inside {
            left.push((o, MASKED_MATCH.to_string()));
        }
        !inside
    });
    left.append(&mut outcome.rejected);
    outcome.rejected = left;
}

/// The node whose value is the whole body's value: the expression the
/// body is (parentheses, commas and statement expressions followed to
/// their last part), when the body is one expression; `root` is the tree
/// of the body in its statement wrapper.
pub fn body_value(root: Node) -> Option<Node> {
    let func = root.named_child(0)?;
    if func.kind() != "function_definition" {
        return None;
    }
    let body = func.child_by_field_name("body")?;
    let mut cursor = body.walk();
    let stmts: Vec<Node> = body
        .named_children(&mut cursor)
        .filter(|c| !c.is_extra() && c.kind() != "empty_statement" && !c.is_missing())
        .collect();
    let [stmt] = stmts.as_slice() else {
        return None;
    };
    if stmt.kind() != "expression_statement" {
        return None;
    }
    let mut n = stmt.named_child(0)?;
    loop {
        n = syntax::strip_parens(n);
        match n.kind() {
            "comma_expression" => n = n.child_by_field_name("right")?,
            "parenthesized_expression" => {
                // A statement expression: its last statement's value.
                let block = n
                    .named_child(0)
                    .filter(|b| b.kind() == "compound_statement")?;
                let mut c = block.walk();
                let last = block
                    .named_children(&mut c)
                    .filter(|s| !s.is_extra())
                    .last()?;
                if last.kind() != "expression_statement" {
                    return None;
                }
                n = last.named_child(0)?;
            }
            _ => return Some(n),
        }
    }
}

/// True when `node` is the body's value: `value` is the id [`body_value`]
/// gave. That value is never a parenthesized expression ([`body_value`]
/// strips them), so parentheses above `node` cannot be it and a node is
/// the value only by being it: no walk up (each `Node::parent` costs the
/// depth).
pub fn is_body_value(node: Node, value: Option<usize>) -> bool {
    value == Some(node.id())
}

#[allow(clippy::too_many_arguments)]
fn find_uses(
    n: Node,
    text: &[u8],
    base: isize,
    in_macro: Option<(&str, Option<usize>)>,
    names: &Names,
    lines: &LineIndex,
    lvalue_macros: &[LvalueMacro],
    out: &mut Vec<RawUse>,
) {
    if n.kind() == "call_expression" {
        let f = n.child_by_field_name("function");
        let name = f
            .filter(|f| f.kind() == "identifier")
            .and_then(|f| std::str::from_utf8(&text[f.byte_range()]).ok());
        if let Some(name) = name.filter(|name| names.wanted.contains(name)) {
            let args = n.child_by_field_name("arguments");
            let mut args_pure = Vec::new();
            if let Some(args) = args {
                let mut c = args.walk();
                for a in args.named_children(&mut c).filter(|a| !a.is_extra()) {
                    // A parameter of the enclosing macro may stand for any
                    // argument: it is not known to be pure.
                    let param = in_macro.is_some_and(|(m, _)| {
                        names.defs.get(m).is_some_and(|d| {
                            d.params
                                .iter()
                                .flatten()
                                .any(|p| mentions_identifier(a, text, p.as_bytes()))
                        })
                    });
                    args_pure.push(!param && syntax::is_pure(a, text));
                }
            }
            let value_of = in_macro
                .filter(|(_, v)| is_body_value(n, *v))
                .map(|(m, _)| m.to_string());
            let off = (n.start_byte() as isize + base).max(0) as usize;
            out.push(RawUse {
                name: name.to_string(),
                line: lines.line_col(off).0,
                lvalue: syntax::lvalue_context(n, text, lvalue_macros),
                value_used: value_of.is_none() && !syntax::value_discarded(n, text),
                args_pure,
                value_of,
            });
        }
    }
    let mut c = n.walk();
    for ch in n.children(&mut c) {
        find_uses(ch, text, base, in_macro, names, lines, lvalue_macros, out);
    }
}

/// True when an identifier `name` appears in `n`.
pub fn mentions_identifier(n: Node, text: &[u8], name: &[u8]) -> bool {
    if n.kind() == "identifier" && &text[n.byte_range()] == name {
        return true;
    }
    let mut c = n.walk();
    let found = n
        .children(&mut c)
        .any(|ch| mentions_identifier(ch, text, name));
    found
}

/// The uses of `name`, a use that is the value of another macro's body
/// replaced by that macro's uses (its context is theirs).
fn resolve(name: &str, raw: &[RawUse], depth: usize) -> Option<Vec<Use>> {
    if depth > MAX_DEPTH {
        return None;
    }
    let mut out = Vec::new();
    for u in raw.iter().filter(|u| u.name == name) {
        match &u.value_of {
            None => out.push(Use {
                file: None,
                line: u.line,
                lvalue: u.lvalue.clone(),
                value_used: u.value_used,
                args_pure: u.args_pure.clone(),
            }),
            Some(outer) => {
                let outer_uses = resolve(outer, raw, depth + 1)?;
                if outer_uses.is_empty() {
                    // The outer macro's uses are elsewhere: not judged.
                    return None;
                }
                for o in outer_uses {
                    out.push(Use {
                        file: o.file,
                        line: o.line,
                        lvalue: o.lvalue,
                        value_used: o.value_used,
                        // Its arguments come from the outer macro's
                        // parameters, which may be anything.
                        args_pure: u.args_pure.clone(),
                    });
                }
            }
        }
    }
    Some(out)
}

/// Per macro of `defines` (bodies in `text`): the positions of its
/// parameters that its body stringifies (`#p`), pastes (`p ## x`,
/// `x ## p`), or passes to a macro that does, found by rounds until
/// nothing changes (each round follows one more level of calls).
fn stringified_params(defines: &[Define], text: &[u8]) -> HashMap<String, Vec<usize>> {
    let mut out: HashMap<String, Vec<usize>> = HashMap::new();
    type Body<'d> = (&'d Define, &'d [String], Vec<&'d [u8]>);
    let bodies: Vec<Body> = defines
        .iter()
        .filter_map(|d| Some((d, d.params.as_deref()?, tokens(&text[d.body.clone()]))))
        .collect();
    let param_name = |p: &str| -> Vec<u8> {
        let p = p.trim_end_matches("...");
        if p.is_empty() {
            b"__VA_ARGS__".to_vec()
        } else {
            p.as_bytes().to_vec()
        }
    };
    for (d, params, toks) in &bodies {
        for (k, p) in params.iter().enumerate() {
            let p = param_name(p);
            let direct = toks.iter().enumerate().any(|(i, t)| {
                *t == p.as_slice()
                    && ((i > 0 && (toks[i - 1] == b"#" || toks[i - 1] == b"##"))
                        || toks.get(i + 1).is_some_and(|n| *n == b"##"))
            });
            if direct {
                out.entry(d.name.clone()).or_default().push(k);
            }
        }
    }
    for _ in 0..MAX_DEPTH {
        let mut changed = false;
        for (d, params, toks) in &bodies {
            for (k, p) in params.iter().enumerate() {
                if out.get(&d.name).is_some_and(|v| v.contains(&k)) {
                    continue;
                }
                if passed_to_stringifier(toks, &param_name(p), &out) {
                    out.entry(d.name.clone()).or_default().push(k);
                    changed = true;
                }
            }
        }
        if !changed {
            break;
        }
    }
    out
}

/// True when `param` is an argument of a call, in `toks`, of a macro that
/// stringifies or pastes that argument (by `known`, or a kernel macro).
fn passed_to_stringifier(
    toks: &[&[u8]],
    param: &[u8],
    known: &HashMap<String, Vec<usize>>,
) -> bool {
    for i in 0..toks.len() {
        if toks.get(i + 1) != Some(&&b"("[..]) {
            continue;
        }
        let name = String::from_utf8_lossy(toks[i]);
        let kernel = STRINGIFY_MACROS.contains(&name.as_ref());
        let positions = known.get(name.as_ref());
        if !kernel && positions.is_none() {
            continue;
        }
        // The arguments: top-level commas between the parentheses.
        let (mut level, mut arg) = (0usize, 0usize);
        for t in &toks[i + 1..] {
            match *t {
                b"(" => level += 1,
                b")" => {
                    level -= 1;
                    if level == 0 {
                        break;
                    }
                }
                b"," if level == 1 => arg += 1,
                t if t == param
                    && level >= 1
                    && (kernel || positions.is_some_and(|p| p.contains(&arg))) =>
                {
                    return true;
                }
                _ => {}
            }
        }
    }
    false
}

/// The tokens of a macro body, roughly: identifiers and numbers, `##`,
/// and single punctuation bytes; blanks, comments and backslash-newlines
/// skipped; string and character literals one token each.
fn tokens(body: &[u8]) -> Vec<&[u8]> {
    token_ranges(body).into_iter().map(|r| &body[r]).collect()
}

/// Where the [`tokens`] of `body` are.
fn token_ranges(body: &[u8]) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < body.len() {
        let b = body[i];
        if crate::c::source::is_ident_byte(b) {
            let s = i;
            while i < body.len() && crate::c::source::is_ident_byte(body[i]) {
                i += 1;
            }
            out.push(s..i);
        } else if b == b'/' && body.get(i + 1) == Some(&b'*') {
            i = memchr::memmem::find(&body[i + 2..], b"*/").map_or(body.len(), |k| i + 4 + k);
        } else if b == b'/' && body.get(i + 1) == Some(&b'/') {
            // To the end of the line, which a backslash continues.
            while i < body.len() && !(body[i] == b'\n' && body[i - 1] != b'\\') {
                i += 1;
            }
        } else if b == b'"' || b == b'\'' {
            let s = i;
            i += 1;
            while i < body.len() && body[i] != b {
                i += if body[i] == b'\\' { 2 } else { 1 };
            }
            i = (i + 1).min(body.len());
            out.push(s..i);
        } else if b == b'#' && body.get(i + 1) == Some(&b'#') {
            out.push(i..i + 2);
            i += 2;
        } else if b.is_ascii_whitespace() || b == b'\\' {
            i += 1;
        } else {
            out.push(i..i + 1);
            i += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::c::source;

    fn uses_of(text: &str, name: &str) -> Option<Vec<Use>> {
        let text = text.as_bytes();
        let defines = source::scan_defines(text);
        let blanked = source::blank_define_bodies(text, &defines);
        let tree = syntax::parse(&blanked);
        let lines = LineIndex::new(text);
        let u = MacroUses::collect(
            tree.root_node(),
            &blanked,
            text,
            &lines,
            &defines,
            &[],
            &[],
            None,
            &[],
        );
        u.uses(name).map(<[Use]>::to_vec)
    }

    #[test]
    fn uses_say_lvalue_value_and_purity() {
        let code = "#define P(b) ((b)->bv_page)\n\
            void f(struct bio_vec *b, struct page *p) {\n\
            P(b) = p;\n\
            x = &P(b);\n\
            if (P(b++)) g();\n\
            P(b);\n\
            }\n";
        let u = uses_of(code, "P").unwrap();
        assert_eq!(u.len(), 4);
        assert!(u[0].lvalue.is_some() && u[1].lvalue.is_some());
        assert!(u[2].lvalue.is_none() && u[2].value_used && !u[2].args_pure[0]);
        assert!(!u[3].value_used && u[3].args_pure[0]);
    }

    #[test]
    fn a_macro_that_is_another_macros_value_stands_for_its_uses() {
        let code = "#define P(b) ((b)->bv_page)\n\
            #define Q(b) P(b)\n\
            void f(struct bio_vec *b) { Q(b) = 0; }\n";
        let u = uses_of(code, "P").unwrap();
        assert_eq!(u.len(), 1);
        assert_eq!(u[0].line, 3);
        assert!(u[0].lvalue.is_some());
        // Only used from a macro whose uses are elsewhere: not judged.
        assert!(uses_of("#define P(b) ((b)->bv_page)\n#define Q(b) P(b)\n", "P").is_none());
    }

    #[test]
    fn stringified_parameters_at_any_depth() {
        let text = b"#define S(x) #x\n#define T(a, b) S(b) + a\n#define U(y) y##_x\n#define V(z) __stringify(z)\n#define W(z) (z)\n";
        let defines = source::scan_defines(text);
        let tree = syntax::parse(b"");
        let lines = LineIndex::new(text);
        let u = MacroUses::collect(
            tree.root_node(),
            b"",
            text,
            &lines,
            &defines,
            &[],
            &[],
            None,
            &[],
        );
        assert!(u.stringifies("S", 0));
        assert!(u.stringifies("T", 1) && !u.stringifies("T", 0));
        assert!(u.stringifies("U", 0));
        assert!(u.stringifies("V", 0));
        assert!(!u.stringifies("W", 0));
        assert!(u.stringifies("__stringify", 0));
    }

    #[test]
    fn masked_operands_keep_offsets_and_the_rest_parses() {
        let params = |ps: &[&str]| ps.iter().map(|p| p.to_string()).collect::<Vec<_>>();
        let mask = |body: &str, ps: Option<&[String]>| {
            mask_operators(body.as_bytes(), ps)
                .map(|(m, spans)| (String::from_utf8(m).unwrap(), spans))
        };
        // Stringified: a string of the same length, which concatenates.
        let p = params(&["b"]);
        let (m, spans) = mask(" f(\"x\" #b, (b)->bv_page)", Some(&p)).unwrap();
        assert_eq!(m, " f(\"x\" \"\", (b)->bv_page)");
        assert_eq!(spans, vec![7..9]);
        // Pasted: one name for the whole run, offsets kept.
        let p = params(&["a", "c"]);
        let (m, _) = mask(" a ## _x ## c(bv->bv_page)", Some(&p)).unwrap();
        assert_eq!(m, " ____________(bv->bv_page)");
        // GNU's `, ## __VA_ARGS__`: the comma stays an argument separator.
        let p = params(&["fmt", "..."]);
        let (m, _) = mask(" g(fmt, ## __VA_ARGS__)", Some(&p)).unwrap();
        assert_eq!(m, " g(fmt, ______________)");
        // `#` of something that is not a parameter, in a string, or in an
        // object-like macro is left alone; no `#` at all, nothing to do.
        assert!(mask(" f(\"#b\", x)", Some(&params(&["b"]))).is_none());
        assert!(mask(" #b", None).is_none());
        assert!(mask(" (b)->bv_page", Some(&params(&["b"]))).is_none());
        // Every masked body parses; the same body unmasked does not.
        for (body, ps) in [
            (
                " static struct page *n##_page(struct bio_vec *bv) { return bv->bv_page; }",
                &["n"][..],
            ),
            (" named(#b, (b)->bv_page)", &["b"]),
            (" named(\"a\" #b \"c\", (b)->bv_page)", &["b"]),
        ] {
            let ps = params(ps);
            assert!(
                parse_masked_body(body.as_bytes(), Some(&ps)).is_some(),
                "{body}"
            );
        }
        assert!(syntax::parse_macro_body(b" named(\"a\" #b \"c\", (b)->bv_page)").is_none());
    }

    #[test]
    fn uses_in_other_files_are_judged_with_the_headers_own() {
        let header = b"#define P(b) ((b)->bv_page)\nstatic inline void h(struct bio_vec *b) { (void)P(b); }\n";
        let user = "void u(struct bio_vec *b, struct page *p) {\n\tP(b) = p;\n}\n";
        // A file that defines its own P: its uses are not the header's.
        let own = format!("#define P(b) (b)\n{user}");
        assert!(
            MacroUses::foreign_uses(&LazyParsed::new(own.as_bytes()), "own.c", &["P"]).is_empty()
        );
        let found = MacroUses::foreign_uses(&LazyParsed::new(user.as_bytes()), "u.c", &["P"]);
        assert_eq!(found.len(), 1);
        let judge =
            |found: Vec<(String, Option<Vec<Use>>)>, unknown: Option<String>, whole: bool| {
                let e = Arc::new(Elsewhere::new(
                    ["P".to_string()],
                    found,
                    vec![],
                    2,
                    unknown,
                    whole,
                    Vec::new(),
                ));
                let defines = source::scan_defines(header);
                let blanked = source::blank_define_bodies(header, &defines);
                let tree = syntax::parse(&blanked);
                let lines = LineIndex::new(header);
                let u = MacroUses::collect(
                    tree.root_node(),
                    &blanked,
                    header,
                    &lines,
                    &defines,
                    &[],
                    &[],
                    Some(e.clone()),
                    &[],
                );
                let need = Need {
                    lvalue: true,
                    ..Need::default()
                };
                (u.judge("P", &["b".to_string()], &need), e.relied())
            };
        let (why, _) = judge(found, None, false);
        assert_eq!(
            why.unwrap(),
            "P() is used where an lvalue is needed (u.c:2: the left side of an assignment must be an lvalue)"
        );
        // Only the header's own read: right, and reported when the walk
        // is only taken as the whole program.
        let (why, relied) = judge(vec![], None, true);
        assert_eq!(why, None);
        assert_eq!(relied["P"], vec!["line 2".to_string()]);
        let (why, relied) = judge(vec![], None, false);
        assert_eq!(why, None);
        assert!(relied.is_empty());
        // Part of a tree: not known, said so.
        let (why, _) = judge(
            vec![],
            Some("the walk is part of the kernel tree".into()),
            false,
        );
        assert!(why.unwrap().contains("the walk is part of the kernel tree: its uses outside the files walked and include/ are not known (1 checked)"));
        // A use that could not be judged.
        let (why, _) = judge(vec![("P".into(), None)], None, false);
        assert!(why
            .unwrap()
            .starts_with("P() is used through other macros whose uses are not all found"));
    }
}
