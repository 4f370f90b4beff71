//! The uses of a file's function-like macros, and the macros that
//! stringify or paste a parameter: what the matcher needs to know before it
//! rewrites a site in a `#define` body (the rewrite must be right for every
//! use) or an argument of a macro call (`#x` and `x##y` see its tokens).
//!
//! Uses are looked for in the file itself, in its code and in its other
//! `#define` bodies; a macro used as the whole value of another macro's
//! body stands for that macro's uses. Uses in other files are not seen: a
//! check that needs every use finds none for a macro only used elsewhere,
//! and the matcher then leaves the site and says so.

use std::collections::HashMap;

use tree_sitter::Node;

use crate::c::source::{Define, LineIndex};
use crate::c::syntax::{self, LvalueMacro, MacroTree};

/// Kernel macros that stringify an argument (`include/linux/stringify.h`).
const STRINGIFY_MACROS: &[&str] = &["__stringify", "__stringify_1", "stringify"];

/// How deep a chain of macros standing for each other (or passing a
/// parameter on to be stringified) is followed.
const MAX_DEPTH: usize = 8;

/// One use of a macro.
#[derive(Debug, Clone)]
pub struct Use {
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
    /// `parsed` lacks them).
    pub fn collect(
        root: Node,
        text: &[u8],
        orig: &[u8],
        lines: &LineIndex,
        defines: &[Define],
        parsed: &[(&Define, Option<MacroTree>)],
        lvalue_macros: &[LvalueMacro],
    ) -> MacroUses {
        let names: HashMap<&str, &Define> = defines
            .iter()
            .filter(|d| d.params.is_some())
            .map(|d| (d.name.as_str(), d))
            .collect();
        let mut raw = Vec::new();
        find_uses(root, text, 0, None, &names, lines, lvalue_macros, &mut raw);
        for d in defines {
            let own;
            let mt = match parsed.iter().find(|(p, _)| std::ptr::eq(*p, d)) {
                Some((_, mt)) => mt.as_ref(),
                None => {
                    own = parse_body_if_uses(orig, d, &names);
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
        let mut out = MacroUses::default();
        for name in names.keys() {
            let resolved = resolve(name, &raw, 0);
            out.uses.insert((*name).to_string(), resolved);
        }
        out.stringified = stringified_params(defines, orig);
        out
    }

    /// Only which parameters the macros of `defines` (bodies in `orig`)
    /// stringify or paste: for a file without a site in a `#define` body.
    pub fn stringified_only(defines: &[Define], orig: &[u8]) -> MacroUses {
        MacroUses {
            uses: HashMap::new(),
            stringified: stringified_params(defines, orig),
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
}

/// Parses `d`'s body when it may use one of `names` (a literal search).
fn parse_body_if_uses(
    text: &[u8],
    d: &Define,
    names: &HashMap<&str, &Define>,
) -> Option<MacroTree> {
    let body = &text[d.body.clone()];
    let mentions = names
        .keys()
        .any(|n| !crate::c::source::word_occurrences(body, n).is_empty());
    if !mentions {
        return None;
    }
    syntax::parse_macro_body(body)
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

/// True when `node` is the body's value (or stands inside parentheses that
/// are): `value` is the id [`body_value`] gave.
pub fn is_body_value(node: Node, value: Option<usize>) -> bool {
    let Some(value) = value else { return false };
    let mut n = node;
    loop {
        if n.id() == value {
            return true;
        }
        match n.parent() {
            Some(p) if p.kind() == "parenthesized_expression" => n = p,
            _ => return false,
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn find_uses(
    n: Node,
    text: &[u8],
    base: isize,
    in_macro: Option<(&str, Option<usize>)>,
    names: &HashMap<&str, &Define>,
    lines: &LineIndex,
    lvalue_macros: &[LvalueMacro],
    out: &mut Vec<RawUse>,
) {
    if n.kind() == "call_expression" {
        let f = n.child_by_field_name("function");
        let name = f
            .filter(|f| f.kind() == "identifier")
            .and_then(|f| std::str::from_utf8(&text[f.byte_range()]).ok());
        if let Some(name) = name.filter(|name| names.contains_key(name)) {
            let args = n.child_by_field_name("arguments");
            let mut args_pure = Vec::new();
            if let Some(args) = args {
                let mut c = args.walk();
                for a in args.named_children(&mut c).filter(|a| !a.is_extra()) {
                    // A parameter of the enclosing macro may stand for any
                    // argument: it is not known to be pure.
                    let param = in_macro.is_some_and(|(m, _)| {
                        names.get(m).is_some_and(|d| {
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
    let mut out = Vec::new();
    let mut i = 0;
    while i < body.len() {
        let b = body[i];
        if crate::c::source::is_ident_byte(b) {
            let s = i;
            while i < body.len() && crate::c::source::is_ident_byte(body[i]) {
                i += 1;
            }
            out.push(&body[s..i]);
        } else if b == b'/' && body.get(i + 1) == Some(&b'*') {
            i = memchr::memmem::find(&body[i + 2..], b"*/").map_or(body.len(), |k| i + 4 + k);
        } else if b == b'"' || b == b'\'' {
            let s = i;
            i += 1;
            while i < body.len() && body[i] != b {
                i += if body[i] == b'\\' { 2 } else { 1 };
            }
            i = (i + 1).min(body.len());
            out.push(&body[s..i]);
        } else if b == b'#' && body.get(i + 1) == Some(&b'#') {
            out.push(&body[i..i + 2]);
            i += 2;
        } else if b.is_ascii_whitespace() || b == b'\\' {
            i += 1;
        } else {
            out.push(&body[i..i + 1]);
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
        let u = MacroUses::collect(tree.root_node(), &blanked, text, &lines, &defines, &[], &[]);
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
        let u = MacroUses::collect(tree.root_node(), b"", text, &lines, &defines, &[], &[]);
        assert!(u.stringifies("S", 0));
        assert!(u.stringifies("T", 1) && !u.stringifies("T", 0));
        assert!(u.stringifies("U", 0));
        assert!(u.stringifies("V", 0));
        assert!(!u.stringifies("W", 0));
        assert!(u.stringifies("__stringify", 0));
    }
}
