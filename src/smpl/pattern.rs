//! Code fragments of a rule, compiled: the minus code becomes a pattern tree
//! (tree-sitter's C tree, with metavariables marked), the plus code a
//! template of text and metavariable slots that knows how much precedence
//! each slot needs.

use tree_sitter::Node;

use super::{Code, Item, MetaKind, Metavar, Pat, Pos, Sign, Stmts};
use crate::c::syntax::{self, prec};

/// What a body token is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum TokKind {
    /// C code.
    Code,
    /// `(` in column 0, or `\(`.
    DisjOpen,
    /// `|` in column 0, or `\|`.
    DisjSep,
    /// `)` in column 0, or `\)`.
    DisjClose,
    /// `<...`
    NestOpen,
    /// `...>`
    NestClose,
}

/// A token of a rule body.
#[derive(Debug, Clone)]
pub(super) struct Tok {
    pub kind: TokKind,
    pub text: String,
    pub sign: Sign,
    pub pos: Pos,
    /// Whether white space preceded it on its line (kept in plus code).
    pub space_before: bool,
    /// The width of the white space that starts its line after the sign
    /// column, tabs counted to the next multiple of 8 (the layout of added
    /// statements).
    pub indent: usize,
}

impl Tok {
    pub fn new(kind: TokKind, text: &str, sign: Sign, line: usize, col: usize, space: bool) -> Tok {
        Tok {
            kind,
            text: text.to_string(),
            sign,
            pos: Pos { line, col },
            space_before: space,
            indent: 0,
        }
    }
}

/// A pattern tree: C syntax whose leaves may be metavariables.
#[derive(Debug, Clone)]
pub enum PNode {
    /// A metavariable, by index into the rule's declarations.
    Meta(usize),
    /// Consecutive statements of one block (`- a; - b;`), matched in order
    /// with nothing between them. Only at the root of a fragment.
    Seq(Vec<PNode>),
    /// A syntax node; `text` is set on leaves.
    Node {
        /// Tree-sitter kind.
        kind: &'static str,
        /// The token's text, for leaves.
        text: Option<Box<str>>,
        /// Children, extras (comments) left out.
        children: Vec<PNode>,
    },
}

/// A piece of a template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece {
    /// Literal plus code.
    Text(String),
    /// Where a metavariable's binding goes.
    Slot {
        /// The metavariable.
        meta: usize,
        /// The precedence the binding needs there (else it is parenthesized).
        req: u8,
        /// Whether the template writes `&META` here: the address of the
        /// binding, `&*p` becoming `p`.
        addr_of: bool,
    },
}

/// The plus code of a fragment.
#[derive(Debug, Clone)]
pub struct Template {
    /// Text and slots, in order.
    pub pieces: Vec<Piece>,
    /// Precedence of the whole replacement (for expressions).
    pub prec: u8,
    /// Tree-sitter kind of the replacement's root.
    pub kind: &'static str,
    /// Whether the replacement has the form of an lvalue.
    pub lvalue: bool,
}

impl Template {
    /// The calls of named functions in the plus code, with their argument
    /// counts, outermost first: the template is rendered with a placeholder
    /// name in each slot and parsed as C.
    pub fn calls(&self) -> Vec<(String, usize)> {
        let mut text = String::from("void __bvmig_rule(void) {\n");
        for p in &self.pieces {
            match p {
                Piece::Text(t) => text.push_str(t),
                Piece::Slot { meta, addr_of, .. } => {
                    if *addr_of {
                        text.push('&');
                    }
                    text.push_str(&format!("__bvmig_m{meta}"));
                }
            }
        }
        text.push_str("\n;}\n");
        let tree = syntax::parse(text.as_bytes());
        let mut out = Vec::new();
        collect_calls(tree.root_node(), text.as_bytes(), &mut out);
        out
    }
}

fn collect_calls(n: Node, src: &[u8], out: &mut Vec<(String, usize)>) {
    if n.kind() == "call_expression" {
        let callee = n.child_by_field_name("function");
        let args = n.child_by_field_name("arguments");
        if let (Some(f), Some(a)) = (callee, args) {
            if f.kind() == "identifier" {
                let name = String::from_utf8_lossy(&src[f.byte_range()]).into_owned();
                out.push((name, a.named_child_count()));
            }
        }
    }
    let mut cursor = n.walk();
    for c in n.named_children(&mut cursor) {
        collect_calls(c, src, out);
    }
}

type PosErr = (Pos, String);

/// A fragment's text, as joined for tree-sitter, with each token's offset.
struct Joined {
    text: String,
    starts: Vec<(usize, Pos)>,
}

impl Joined {
    fn new(toks: &[&Tok], keep_spacing: bool) -> Joined {
        let mut text = String::new();
        let mut starts = Vec::new();
        for (i, t) in toks.iter().enumerate() {
            if i > 0 && (!keep_spacing || t.space_before) {
                text.push(' ');
            }
            starts.push((text.len(), t.pos));
            text.push_str(&t.text);
        }
        Joined { text, starts }
    }

    /// Plus statements as written: a token that starts a line starts one
    /// here too, indented by a tab per level it is indented beyond the
    /// first line (a `\n` in a template stands for the newline and the
    /// indentation of the place the code is added).
    fn with_lines(toks: &[&Tok]) -> Joined {
        let mut text = String::new();
        let mut starts = Vec::new();
        let base = toks.first().map_or(0, |t| t.indent);
        for (i, t) in toks.iter().enumerate() {
            if i > 0 {
                if t.pos.line != toks[i - 1].pos.line {
                    text.push('\n');
                    let levels = t.indent.saturating_sub(base).div_ceil(8);
                    text.extend(std::iter::repeat_n('\t', levels));
                } else if t.space_before {
                    text.push(' ');
                }
            }
            starts.push((text.len(), t.pos));
            text.push_str(&t.text);
        }
        Joined { text, starts }
    }

    fn pos_of(&self, offset: usize) -> Pos {
        let i = self
            .starts
            .partition_point(|(s, _)| *s <= offset)
            .saturating_sub(1);
        self.starts.get(i).map(|s| s.1).unwrap_or_default()
    }
}

/// The C around a fragment, for tree-sitter: a function body (expressions
/// and statements), then an initializer list (`.bv_page = X`), then a struct
/// body (`struct page *bv_page;`). Every head has the length of [`HEAD`], so
/// that offsets in the fragment are the same whichever parsed.
const WRAPPERS: [(&str, &str); 3] = [
    (HEAD, "\n;}\n"),
    ("struct __bvmig_s __vv = {\n", "\n};\n"),
    ("struct __bvmig_s {       \n", "\n};\n"),
];
const HEAD: &str = "void __bvmig_rule(void) {\n";
/// The struct body among [`WRAPPERS`].
const FIELD_WRAPPER: usize = 2;

/// Compiles the tokens of one fragment. A declaration without an
/// initializer (`struct page *bv_page;`) means a local variable in a
/// function and a member in a struct: it becomes a disjunction of both.
pub(super) fn compile_fragment(toks: &[Tok], metavars: &[Metavar]) -> Result<Pat, PosErr> {
    let toks = &statement_metas(toks, metavars);
    let code = compile_code(toks, metavars, None)?;
    let kind_of = |c: &Code| match &c.pattern {
        PNode::Node { kind, .. } => *kind,
        _ => "",
    };
    if kind_of(&code) == "declaration" {
        if let Ok(member) = compile_code(toks, metavars, Some(FIELD_WRAPPER)) {
            if kind_of(&member) == "field_declaration" {
                return Ok(Pat::Disj(vec![
                    Pat::Code(Box::new(code)),
                    Pat::Code(Box::new(member)),
                ]));
            }
        }
    }
    Ok(Pat::Code(Box::new(code)))
}

/// Compiles the tokens of a fragment inside a struct context: members
/// (`- struct page *bv_page;`), matched as members only.
pub(super) fn compile_member(toks: &[Tok], metavars: &[Metavar]) -> Result<Pat, PosErr> {
    if let Some(t) = toks.iter().find(|t| t.text == "...") {
        return Err((
            t.pos,
            "'...' between members is not supported; one member per struct context".into(),
        ));
    }
    Ok(Pat::Code(Box::new(compile_code(
        toks,
        metavars,
        Some(FIELD_WRAPPER),
    )?)))
}

/// Compiles the tokens of one fragment, in wrapper `only` if given.
fn compile_code(toks: &[Tok], metavars: &[Metavar], only: Option<usize>) -> Result<Code, PosErr> {
    let pos = toks[0].pos;
    let has = |s: Sign| toks.iter().any(|t| t.sign == s);
    if has(Sign::Context) && has(Sign::Minus) {
        let t = toks
            .iter()
            .find(|t| t.sign == Sign::Context)
            .expect("has context");
        return Err((t.pos, "context code inside a '-' fragment is not supported yet; put the whole expression on '-' lines".into()));
    }
    if has(Sign::Plus) && !has(Sign::Minus) {
        let t = toks
            .iter()
            .find(|t| t.sign == Sign::Plus)
            .expect("has plus");
        return Err((
            t.pos,
            "'+' code with nothing to replace: adding code needs '-' code here".into(),
        ));
    }
    let matched: Vec<&Tok> = toks.iter().filter(|t| t.sign != Sign::Plus).collect();
    let plus: Vec<&Tok> = toks.iter().filter(|t| t.sign == Sign::Plus).collect();

    let joined = Joined::new(&matched, false);
    let (tree, src) = parse_fragment(&joined, only)?;
    let roots = fragment_roots(&tree, &joined)?;
    let mut counts = vec![0usize; metavars.len()];
    let mut pnodes = roots
        .iter()
        .map(|r| to_pnode(*r, src.as_bytes(), metavars, &joined, &mut counts))
        .collect::<Result<Vec<_>, _>>()?;
    let is_seq = pnodes.len() > 1;
    let pattern = if is_seq {
        PNode::Seq(pnodes)
    } else {
        pnodes.pop().expect("a fragment has a root")
    };
    let mut fields = Vec::new();
    literal_fields(&pattern, &mut fields);

    let mut duplicated = Vec::new();
    let mut dropped = Vec::new();
    let replacement = if has(Sign::Minus) {
        if plus.is_empty() {
            return Err((
                pos,
                "removing code without a replacement is not supported yet".into(),
            ));
        }
        let mut pj = Joined::new(&plus, true);
        let (mut ptree, mut psrc) = parse_fragment(&pj, only)?;
        let mut proots_ok = fragment_roots(&ptree, &pj)?;
        let several_lines = plus.iter().any(|t| t.pos.line != plus[0].pos.line);
        if several_lines && proots_ok.iter().all(|r| is_statement(r.kind())) {
            // Statements keep the lines they are written on.
            pj = Joined::with_lines(&plus);
            (ptree, psrc) = parse_fragment(&pj, only)?;
            proots_ok = fragment_roots(&ptree, &pj)?;
        }
        let proots = proots_ok;
        let [proot] = proots[..] else {
            return Err((
                pj.pos_of(0),
                "'+' code of several statements is not supported yet; write one statement".into(),
            ));
        };
        if is_seq && !proot.kind().ends_with("_statement") {
            return Err((
                pj.pos_of(0),
                "'+' code replacing several statements must be a statement: end it with ';'".into(),
            ));
        }
        let mut pcounts = vec![0usize; metavars.len()];
        let template = to_template(proot, psrc.as_bytes(), metavars, &pj, &counts, &mut pcounts)?;
        duplicated = (0..metavars.len())
            .filter(|&m| pcounts[m] > counts[m])
            .collect();
        // Each occurrence in the pattern is an evaluation in the matched
        // code (the later ones match the same tokens); each slot of the
        // template is one in the replacement.
        dropped = (0..metavars.len())
            .filter(|&m| {
                matches!(metavars[m].kind, MetaKind::Expression | MetaKind::Typed)
                    && counts[m] > pcounts[m]
            })
            .collect();
        Some(template)
    } else {
        None
    };
    Ok(Code {
        pos,
        pattern,
        replacement,
        duplicated,
        dropped,
        fields,
    })
}

/// `S` of a statement metavariable written `S;`, so that tree-sitter reads
/// it as a statement (`if (E) S else T` is `if (E) S; else T;`).
fn statement_metas(toks: &[Tok], metavars: &[Metavar]) -> Vec<Tok> {
    let mut out = toks.to_vec();
    for i in 0..out.len() {
        let is_stmt = out[i].kind == TokKind::Code
            && metavars
                .iter()
                .any(|m| m.kind == MetaKind::Statement && m.name == out[i].text);
        // In statement position: last, or followed by what may follow a
        // statement (not `)`, `,` or an operator, where it is misplaced).
        let ends = toks.get(i + 1).is_none_or(|n| {
            n.pos.line != toks[i].pos.line
                || n.kind != TokKind::Code
                || matches!(n.text.as_str(), "else" | "}" | "while" | "...")
        });
        if is_stmt && ends {
            out[i].text.push(';');
        }
    }
    out
}

/// Whether a run of code tokens is statement-level code, for
/// [`compile_stmts`]: context and `-` statements together, `-` code without
/// `+` code, `+` code without `-` code, several `+` statements, or several
/// context statements.
pub(super) fn statement_level(toks: &[Tok]) -> bool {
    let has = |s: Sign| toks.iter().any(|t| t.sign == s);
    let (ctx, minus, plus) = (has(Sign::Context), has(Sign::Minus), has(Sign::Plus));
    if (ctx && minus) || plus != minus {
        return true;
    }
    // Context code alone: several statements are statement-level code,
    // matched (and counted for `depends on`) as statements of one block.
    let sign = if plus { Sign::Plus } else { Sign::Context };
    let code: Vec<&Tok> = toks.iter().filter(|t| t.sign == sign).collect();
    let j = Joined::new(&code, true);
    let (head, tail) = WRAPPERS[0];
    let src = format!("{head}{}{tail}", j.text);
    let tree = syntax::parse(src.as_bytes());
    statement_roots(&tree, &j).is_ok_and(|r| r.len() > 1)
}

/// The statements (and declarations) that span exactly a fragment parsed in
/// the function wrapper.
fn statement_roots<'t>(tree: &'t tree_sitter::Tree, j: &Joined) -> Result<Vec<Node<'t>>, PosErr> {
    let root = tree.root_node();
    if let Some(bad) = first_error(root) {
        let at = bad
            .start_byte()
            .saturating_sub(HEAD.len())
            .min(j.text.len());
        return Err((
            j.pos_of(at),
            format!("'{}' does not parse as C statements", j.text),
        ));
    }
    let (start, end) = (HEAD.len(), HEAD.len() + j.text.len());
    let body = container(root).filter(|b| b.kind() == "compound_statement");
    let kids: Vec<Node> = body
        .map(|b| {
            let mut cursor = b.walk();
            b.named_children(&mut cursor)
                .filter(|c| !c.is_extra() && c.start_byte() >= start && c.start_byte() < end)
                .collect()
        })
        .unwrap_or_default();
    let whole = kids.first().is_some_and(|f| f.start_byte() == start)
        && kids.last().is_some_and(|l| l.end_byte() == end);
    if !whole {
        return Err((
            j.pos_of(0),
            format!("'{}' is not whole statements: end each with ';'", j.text),
        ));
    }
    if let Some(k) = kids.iter().find(|k| !is_statement(k.kind())) {
        return Err((
            j.pos_of(k.start_byte() - start),
            format!(
                "'{}' is not a statement or a declaration",
                &j.text[k.start_byte() - start..k.end_byte() - start]
            ),
        ));
    }
    Ok(kids)
}

/// Statement kinds a block holds, declarations included.
pub fn is_statement(kind: &str) -> bool {
    kind.ends_with("_statement") || kind == "declaration"
}

/// Compiles statement-level code: statements of one block, context or
/// `-`, separated by `...`, with `+` statements among them.
pub(super) fn compile_stmts(toks: &[Tok], metavars: &[Metavar]) -> Result<Stmts, PosErr> {
    let toks = statement_metas(toks, metavars);
    let pos = toks[0].pos;
    // Segments between the `...` outside brackets.
    let mut segments: Vec<(&[Tok], Pos)> = Vec::new();
    let (mut depth, mut from) = (0i32, 0);
    let mut dots: Vec<Pos> = Vec::new();
    let mut whens: Vec<(Vec<PNode>, bool)> = Vec::new();
    let mut i = 0;
    while i < toks.len() {
        let t = &toks[i];
        match t.text.as_str() {
            "(" | "[" | "{" => depth += 1,
            ")" | "]" | "}" => depth -= 1,
            "..." if depth == 0 => {
                if t.sign != Sign::Context {
                    return Err((
                        t.pos,
                        "'...' on a '-' or '+' line is not supported; '...' is context code".into(),
                    ));
                }
                segments.push((&toks[from..i], t.pos));
                dots.push(t.pos);
                let mut when = (Vec::new(), false);
                i += 1;
                // `when != E` and `when any` clauses, each to the end of
                // its line.
                while toks.get(i).is_some_and(|n| n.text == "when") {
                    let w = &toks[i];
                    let end = (i + 1..toks.len())
                        .find(|&k| toks[k].pos.line != w.pos.line || toks[k].text == "when")
                        .unwrap_or(toks.len());
                    let clause = &toks[i + 1..end];
                    match clause.first().map(|c| c.text.as_str()) {
                        Some("any") if clause.len() == 1 => when.1 = true,
                        Some("!=") if clause.len() > 1 => {
                            let code = compile_code(&clause[1..], metavars, Some(0))?;
                            when.0.push(code.pattern);
                        }
                        _ => {
                            let at = clause.first().map_or(w.pos, |c| c.pos);
                            return Err((
                                at,
                                "only 'when != E' and 'when any' are supported".into(),
                            ));
                        }
                    }
                    i = end;
                }
                whens.push(when);
                from = i;
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    segments.push((&toks[from..], toks.last().map_or(pos, |t| t.pos)));
    // Each segment's statements, and where its `+` runs go.
    struct Seg<'s> {
        roots: Vec<(PNode, bool)>,
        /// `+` tokens by slot: before statement k, or after the last.
        adds: Vec<Vec<&'s Tok>>,
    }
    let mut counts = vec![0usize; metavars.len()];
    let mut minus_counts = vec![0usize; metavars.len()];
    let mut segs = Vec::new();
    for (k, (seg, end)) in segments.iter().enumerate() {
        let matched: Vec<&Tok> = seg.iter().filter(|t| t.sign != Sign::Plus).collect();
        if matched.is_empty() {
            // The `+` code without a statement, or the `...` without one.
            let at = seg.first().map(|t| t.pos).unwrap_or_else(|| {
                if k < dots.len() {
                    dots[k]
                } else {
                    dots.last().copied().unwrap_or(*end)
                }
            });
            let msg = if k == 0 && !dots.is_empty() && seg.is_empty() {
                "'...' must stand between two statements: bvmig matches statements of one block from anywhere in it"
            } else if seg.is_empty() {
                "'...' must stand between two statements"
            } else if dots.is_empty() {
                "'+' code with nothing to attach it to: add it before or after a context or '-' statement"
            } else {
                "'+' code here needs a statement on its side of '...' to attach it to"
            };
            return Err((at, msg.into()));
        }
        let j = Joined::new(&matched, true);
        let (head, tail) = WRAPPERS[0];
        let src = format!("{head}{}{tail}", j.text);
        let tree = syntax::parse(src.as_bytes());
        let kids = statement_roots(&tree, &j)?;
        // The statement each matched token belongs to; a token outside
        // every statement (the parser read the fragment otherwise) is an
        // error at that token.
        let mut owners = Vec::with_capacity(matched.len());
        for (ti, t) in matched.iter().enumerate() {
            let off = j.starts[ti].0 + HEAD.len();
            match kids
                .iter()
                .position(|k| k.start_byte() <= off && off < k.end_byte())
            {
                Some(r) => owners.push(r),
                None => {
                    return Err((
                        t.pos,
                        "this code is in none of the statements the fragment parses into; write whole C statements".into(),
                    ))
                }
            }
        }
        let owner = |ti: usize| owners[ti];
        let mut roots = Vec::new();
        for (r, kid) in kids.iter().enumerate() {
            let mine: Vec<&Tok> = (0..matched.len())
                .filter(|&ti| owner(ti) == r)
                .map(|ti| matched[ti])
                .collect();
            let minus = mine[0].sign == Sign::Minus;
            if let Some(other) = mine.iter().find(|t| (t.sign == Sign::Minus) != minus) {
                return Err((
                    other.pos,
                    "a statement partly '-' and partly context code is not supported yet; put the whole statement on '-' lines and write it again on '+' lines".into(),
                ));
            }
            let mut c = vec![0usize; metavars.len()];
            let p = to_pnode(*kid, src.as_bytes(), metavars, &j, &mut c)?;
            for m in 0..c.len() {
                counts[m] += c[m];
                if minus {
                    minus_counts[m] += c[m];
                }
            }
            roots.push((p, minus));
        }
        let mut adds: Vec<Vec<&Tok>> = vec![Vec::new(); kids.len() + 1];
        let mut seen = 0usize;
        let mut prev_plus = false;
        for t in seg.iter() {
            if t.sign != Sign::Plus {
                seen += 1;
                prev_plus = false;
                continue;
            }
            let slot = if seen == 0 {
                0
            } else if seen == matched.len() || owner(seen) != owner(seen - 1) {
                owner(seen - 1) + 1
            } else {
                return Err((
                    t.pos,
                    "'+' code inside a statement is not supported; write the whole statement on '-' lines and again on '+' lines".into(),
                ));
            };
            if !prev_plus && !adds[slot].is_empty() {
                return Err((t.pos, "two runs of '+' code at one place".into()));
            }
            adds[slot].push(t);
            prev_plus = true;
        }
        segs.push(Seg { roots, adds });
    }
    let mut pcounts = vec![0usize; metavars.len()];
    let mut items = Vec::new();
    let mut fields = Vec::new();
    for (k, seg) in segs.into_iter().enumerate() {
        if k > 0 {
            let (not, any) = std::mem::take(&mut whens[k - 1]);
            items.push(Item::Dots { not, any });
        }
        let n = seg.roots.len();
        let mut roots = seg.roots.into_iter();
        for (slot, plus) in seg.adds.into_iter().enumerate() {
            if !plus.is_empty() {
                let pj = Joined::with_lines(&plus);
                let (head, tail) = WRAPPERS[0];
                let psrc = format!("{head}{}{tail}", pj.text);
                let ptree = syntax::parse(psrc.as_bytes());
                let templates = statement_roots(&ptree, &pj)?
                    .into_iter()
                    .map(|r| to_template(r, psrc.as_bytes(), metavars, &pj, &counts, &mut pcounts))
                    .collect::<Result<Vec<_>, _>>()?;
                items.push(Item::Add(templates));
            }
            if slot < n {
                let (pattern, minus) = roots.next().expect("a statement per slot");
                if minus {
                    literal_fields(&pattern, &mut fields);
                }
                items.push(Item::Stmt { pattern, minus });
            }
        }
    }
    let duplicated = (0..metavars.len())
        .filter(|&m| metavars[m].kind != MetaKind::Statement && pcounts[m] > minus_counts[m])
        .collect();
    Ok(Stmts {
        pos,
        items,
        duplicated,
        fields,
    })
}

/// Parses a fragment in the first wrapper where it is C and spans whole
/// nodes (found again by [`fragment_roots`]); returns the tree and its text.
fn parse_fragment(j: &Joined, only: Option<usize>) -> Result<(tree_sitter::Tree, String), PosErr> {
    let mut first_err = None;
    for (k, (head, tail)) in WRAPPERS.into_iter().enumerate() {
        if only.is_some_and(|o| o != k) {
            continue;
        }
        debug_assert_eq!(head.len(), HEAD.len());
        let src = format!("{head}{}{tail}", j.text);
        let tree = syntax::parse(src.as_bytes());
        if tree.root_node().has_error() {
            if first_err.is_none() {
                let bad = first_error(tree.root_node())
                    .map_or(0, |n| n.start_byte().saturating_sub(HEAD.len()));
                first_err = Some((j.pos_of(bad), format!("'{}' does not parse as C", j.text)));
            }
            continue;
        }
        match fragment_roots(&tree, j) {
            Ok(_) => return Ok((tree, src)),
            Err(e) => {
                first_err.get_or_insert(e);
            }
        }
    }
    Err(first_err.expect("a wrapper was tried"))
}

fn first_error(node: Node) -> Option<Node> {
    if node.is_error() || node.is_missing() {
        return Some(node);
    }
    let mut c = node.walk();
    let found = node
        .children(&mut c)
        .find(|n| n.has_error())
        .and_then(first_error);
    found
}

/// The nodes that span exactly the fragment: an expression, a statement,
/// several statements in a row, an initializer member or a struct member.
fn fragment_roots<'t>(tree: &'t tree_sitter::Tree, j: &Joined) -> Result<Vec<Node<'t>>, PosErr> {
    let start = HEAD.len();
    let end = start + j.text.len();
    let not_one = || {
        (
            j.pos_of(0),
            format!("'{}' is not one expression or one statement", j.text),
        )
    };
    let body = container(tree.root_node()).ok_or_else(not_one)?;
    let mut cursor = body.walk();
    let kids: Vec<Node> = body
        .named_children(&mut cursor)
        .filter(|c| !c.is_extra() && c.start_byte() >= start && c.start_byte() < end)
        .collect();
    match kids[..] {
        [one] if one.start_byte() == start && one.end_byte() == end => Ok(vec![one]),
        [one] if one.start_byte() == start && one.kind() == "expression_statement" => one
            .named_child(0)
            .filter(|e| e.start_byte() == start && e.end_byte() == end)
            .map(|e| vec![e])
            .ok_or_else(not_one),
        [first, .., last]
            if first.start_byte() == start
                && last.end_byte() == end
                && kids.iter().all(|k| k.kind().ends_with("_statement")) =>
        {
            Ok(kids)
        }
        _ => Err(not_one()),
    }
}

/// The node of a wrapper that holds the fragment.
fn container(root: Node) -> Option<Node> {
    let mut queue = std::collections::VecDeque::from([root]);
    while let Some(n) = queue.pop_front() {
        if matches!(
            n.kind(),
            "compound_statement" | "initializer_list" | "field_declaration_list"
        ) {
            return Some(n);
        }
        let mut cursor = n.walk();
        queue.extend(n.named_children(&mut cursor));
    }
    None
}

fn meta_of(node: Node, src: &[u8], metavars: &[Metavar]) -> Option<usize> {
    // A statement metavariable, written `S;` (see `statement_metas`).
    if node.kind() == "expression_statement" && node.child_count() == 2 {
        let e = node.child(0).expect("two children");
        let m = meta_of(e, src, metavars)?;
        return (metavars[m].kind == MetaKind::Statement).then_some(m);
    }
    if !matches!(
        node.kind(),
        "identifier" | "field_identifier" | "type_identifier" | "statement_identifier"
    ) {
        return None;
    }
    let text = std::str::from_utf8(&src[node.byte_range()]).ok()?;
    metavars.iter().position(|m| m.name == text)
}

fn check_meta_place(node: Node, m: usize, metavars: &[Metavar], j: &Joined) -> Result<(), PosErr> {
    let var = &metavars[m];
    if (var.kind == MetaKind::Statement) != (node.kind() == "expression_statement") {
        let pos = j.pos_of(node.start_byte() - HEAD.len());
        let msg = if var.kind == MetaKind::Statement {
            format!(
                "statement metavariable '{}' stands where C needs an expression or a name",
                var.name
            )
        } else {
            format!("'{}' stands where C needs a statement", var.name)
        };
        return Err((pos, msg));
    }
    if var.kind == MetaKind::Type && node.kind() != "type_identifier" {
        let pos = j.pos_of(node.start_byte() - HEAD.len());
        return Err((
            pos,
            format!(
                "type metavariable '{}' stands where C needs an expression or a name",
                var.name
            ),
        ));
    }
    if matches!(var.kind, MetaKind::Expression | MetaKind::Constant) && node.kind() != "identifier"
    {
        let pos = j.pos_of(node.start_byte() - HEAD.len());
        return Err((
            pos,
            format!(
                "expression metavariable '{}' stands where C needs a name",
                var.name
            ),
        ));
    }
    Ok(())
}

fn to_pnode(
    node: Node,
    src: &[u8],
    metavars: &[Metavar],
    j: &Joined,
    counts: &mut [usize],
) -> Result<PNode, PosErr> {
    if let Some(m) = meta_of(node, src, metavars) {
        check_meta_place(node, m, metavars, j)?;
        counts[m] += 1;
        return Ok(PNode::Meta(m));
    }
    let mut children = Vec::new();
    let mut cursor = node.walk();
    for child in node.children(&mut cursor).filter(|c| !c.is_extra()) {
        children.push(to_pnode(child, src, metavars, j, counts)?);
    }
    let text = (node.child_count() == 0).then(|| {
        String::from_utf8_lossy(&src[node.byte_range()])
            .into_owned()
            .into_boxed_str()
    });
    Ok(PNode::Node {
        kind: node.kind(),
        text,
        children,
    })
}

fn literal_fields(p: &PNode, out: &mut Vec<String>) {
    if let PNode::Seq(items) = p {
        items.iter().for_each(|c| literal_fields(c, out));
    }
    if let PNode::Node {
        kind,
        text,
        children,
    } = p
    {
        if *kind == "field_identifier" {
            if let Some(t) = text {
                if !out.iter().any(|f| f == &**t) {
                    out.push(t.to_string());
                }
            }
        }
        children.iter().for_each(|c| literal_fields(c, out));
    }
}

fn to_template(
    root: Node,
    src: &[u8],
    metavars: &[Metavar],
    j: &Joined,
    bound: &[usize],
    counts: &mut [usize],
) -> Result<Template, PosErr> {
    let mut slots: Vec<(usize, usize, Piece)> = Vec::new();
    collect_slots(root, src, metavars, j, bound, counts, &mut slots)?;
    let mut pieces = Vec::new();
    let mut at = root.start_byte();
    for (s, e, piece) in slots {
        if s > at {
            pieces.push(Piece::Text(
                String::from_utf8_lossy(&src[at..s]).into_owned(),
            ));
        }
        pieces.push(piece);
        at = e;
    }
    if at < root.end_byte() {
        pieces.push(Piece::Text(
            String::from_utf8_lossy(&src[at..root.end_byte()]).into_owned(),
        ));
    }
    Ok(Template {
        pieces,
        prec: syntax::expr_prec(root, src),
        kind: root.kind(),
        lvalue: syntax::is_lvalue_form(root, src),
    })
}

fn collect_slots(
    node: Node,
    src: &[u8],
    metavars: &[Metavar],
    j: &Joined,
    bound: &[usize],
    counts: &mut [usize],
    out: &mut Vec<(usize, usize, Piece)>,
) -> Result<(), PosErr> {
    if let Some(m) = meta_of(node, src, metavars) {
        check_meta_place(node, m, metavars, j)?;
        if bound[m] == 0 {
            let pos = j.pos_of(node.start_byte() - HEAD.len());
            return Err((
                pos,
                format!(
                    "metavariable '{}' is used in '+' code but not bound by the '-' code",
                    metavars[m].name
                ),
            ));
        }
        counts[m] += 1;
        if metavars[m].kind == MetaKind::Statement {
            out.push((
                node.start_byte(),
                node.end_byte(),
                Piece::Slot {
                    meta: m,
                    req: 0,
                    addr_of: false,
                },
            ));
            return Ok(());
        }
        let parent = node.parent().expect("a metavariable has a parent");
        let addr_of = parent.kind() == "pointer_expression"
            && parent
                .child_by_field_name("operator")
                .is_some_and(|o| &src[o.byte_range()] == b"&");
        let (slot_node, holder) = if addr_of {
            (parent, parent.parent())
        } else {
            (node, Some(parent))
        };
        let req = holder.map_or(prec::COMMA, |h| syntax::required_prec(h, slot_node, src));
        if addr_of {
            // Replace the `&` slot taken before this identifier was seen.
            out.retain(|(s, _, _)| *s != slot_node.start_byte());
        }
        out.push((
            slot_node.start_byte(),
            slot_node.end_byte(),
            Piece::Slot {
                meta: m,
                req,
                addr_of,
            },
        ));
        return Ok(());
    }
    let mut cursor = node.walk();
    for child in node.children(&mut cursor) {
        collect_slots(child, src, metavars, j, bound, counts, out)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::smpl::{Pat, RuleFile};

    use super::*;

    fn code(body: &str) -> Result<Code, String> {
        let text = format!("@@\nexpression E, V;\n@@\n{body}");
        let rf = RuleFile::parse("t.cocci", &text).map_err(|e| e.to_string())?;
        let mut rules = rf.rules;
        match rules.pop().unwrap().body {
            Pat::Code(c) => Ok(*c),
            other => panic!("not a code fragment: {other:?}"),
        }
    }

    #[test]
    fn template_slots_know_their_precedence() {
        let c = code("- E.bv_page = V\n+ bvec_set_page(&E, V)\n").unwrap();
        let t = c.replacement.unwrap();
        assert_eq!(
            t.pieces,
            vec![
                Piece::Text("bvec_set_page(".into()),
                Piece::Slot {
                    meta: 0,
                    req: prec::ASSIGN,
                    addr_of: true
                },
                Piece::Text(", ".into()),
                Piece::Slot {
                    meta: 1,
                    req: prec::ASSIGN,
                    addr_of: false
                },
                Piece::Text(")".into()),
            ]
        );
        assert_eq!(t.kind, "call_expression");
        assert!(!t.lvalue);
        assert_eq!(c.fields, vec!["bv_page".to_string()]);
        assert!(c.duplicated.is_empty());
    }

    #[test]
    fn duplicated_metavariables_are_found() {
        let c = code("- E->bv_page++\n+ bvec_set_page(E, bvec_page(E) + 1)\n").unwrap();
        assert_eq!(c.duplicated, vec![0]);
        assert!(c.dropped.is_empty());
    }

    #[test]
    fn dropped_evaluations_are_found() {
        // E twice in the minus code, once in the plus code; V as often.
        let c =
            code("- page_address(E->bv_page) + E->bv_offset + V\n+ bvec_virt(E) + V\n").unwrap();
        assert_eq!(c.dropped, vec![0]);
        assert!(c.duplicated.is_empty());
        // Not used at all by the replacement.
        let c = code("- E->bv_page + V\n+ V\n").unwrap();
        assert_eq!(c.dropped, vec![0]);
        // As often: nothing dropped.
        let c = code("- E->bv_page\n+ bvec_page(E)\n").unwrap();
        assert!(c.dropped.is_empty());
    }

    /// The class: every branch of the idioms rule that drops an
    /// evaluation has a case with side effects in
    /// `rules/tests/bv_page-idioms/impure.c` (named after the helper it
    /// writes), whose expected report leaves it.
    #[test]
    fn every_idiom_that_drops_an_evaluation_has_an_impure_case() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let text = std::fs::read_to_string(root.join("rules/bv_page-idioms.cocci")).unwrap();
        let rf = RuleFile::parse("bv_page-idioms.cocci", &text).unwrap();
        let cases =
            std::fs::read_to_string(root.join("rules/tests/bv_page-idioms/impure.c")).unwrap();
        let mut n_dropping = 0;
        for rule in &rf.rules {
            let mut codes = Vec::new();
            rule.body.codes(&mut codes);
            for c in codes {
                if c.dropped.is_empty() || matches!(c.pattern, PNode::Seq(_)) {
                    continue;
                }
                n_dropping += 1;
                let Some(Piece::Text(head)) = c.replacement.as_ref().and_then(|t| t.pieces.first())
                else {
                    panic!("a replacement that starts with a call");
                };
                let helper = head.trim_end_matches(['(', '&']);
                assert!(
                    cases.contains(&format!("impure_{helper}(")),
                    "no case in impure.c for the idiom at line {} ({helper})",
                    c.pos.line
                );
            }
        }
        // Seven `->` forms, seven `.` forms, bvec_set_virt().
        assert_eq!(n_dropping, 15);
        let defined = cases
            .lines()
            .filter(|l| !l.starts_with([' ', '\t', '/']) && l.contains("impure_"))
            .count();
        assert_eq!(defined, n_dropping);
    }

    #[test]
    fn unbound_plus_metavariable_is_an_error() {
        let e = code("- E->bv_page\n+ bvec_page(V)\n").unwrap_err();
        assert_eq!(
            e,
            "t.cocci:5:13: metavariable 'V' is used in '+' code but not bound by the '-' code"
        );
    }

    #[test]
    fn statement_sequences() {
        let rf = RuleFile::parse(
            "t.cocci",
            "@@\nexpression E, P, L;\n@@\n- E->bv_page = P;\n- E->bv_len = L;\n+ f(E, P, L);\n",
        )
        .unwrap();
        let mut codes = Vec::new();
        rf.rules[0].body.codes(&mut codes);
        let PNode::Seq(items) = &codes[0].pattern else {
            panic!("a sequence: {:?}", codes[0].pattern);
        };
        assert_eq!(items.len(), 2);
        assert_eq!(codes[0].fields, vec!["bv_page", "bv_len"]);
        let e = code("- E->bv_page = V;\n- E->bv_len = 0;\n+ f(E, V)\n").unwrap_err();
        assert!(e.contains("must be a statement: end it with ';'"), "{e}");
        // Several '+' statements make a statement-level fragment.
        let rf = RuleFile::parse(
            "t.cocci",
            "@@\nexpression E, V;\n@@\n- E->bv_page = V;\n+ f(E);\n+ g(V);\n",
        )
        .unwrap();
        let Pat::Stmts(s) = &rf.rules[0].body else {
            panic!("statement level: {:?}", rf.rules[0].body);
        };
        assert!(
            matches!(&s.items[..], [Item::Stmt { minus: true, .. }, Item::Add(t)] if t.len() == 2)
        );
    }

    #[test]
    fn unparsable_code_is_an_error_at_its_place() {
        let e = code("- E->bv_page +\n+ bvec_page(E)\n").unwrap_err();
        assert!(e.starts_with("t.cocci:4:"), "{e}");
        assert!(e.contains("does not parse as C"), "{e}");
    }
}
