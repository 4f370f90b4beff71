//! The SmPL reader: headers, metavariable declarations, and the body's
//! tokens and structure. Code fragments go to `pattern` to become trees.

use super::pattern::{
    compile_fragment, compile_member, compile_stmts, statement_level, Tok, TokKind,
};
use super::{
    Constraint, Dep, MetaKind, Metavar, NameRef, Pat, Pos, Regex, Rule, RuleError, RuleFile, Sign,
    Virtuals,
};

/// Reads a whole rule file, with the virtual rules `virtuals` defined.
pub(super) fn parse_file(
    path: &str,
    text: &str,
    virtuals: &Virtuals,
) -> Result<RuleFile, RuleError> {
    let lines: Vec<&str> = text.lines().collect();
    let err = |line: usize, col: usize, msg: String| RuleError {
        path: path.to_string(),
        line,
        col,
        msg,
    };
    let declared = virtual_lines(&lines).map_err(|(l, c, m)| err(l, c, m))?;
    let names: Vec<&str> = declared.iter().map(|(n, _)| n.as_str()).collect();
    if virtuals.given {
        if let Some(d) = virtuals.names.iter().find(|d| !names.contains(&d.as_str())) {
            let at = declared.first().map_or(1, |(_, l)| *l);
            let has = if names.is_empty() {
                "it declares none".to_string()
            } else {
                format!("it declares {}", names.join(", "))
            };
            return Err(err(
                at,
                1,
                format!("-D {d}: this file has no 'virtual {d}' ({has})"),
            ));
        }
    }
    let mut rules = Vec::new();
    // Rules that cannot run with these virtual rules (and script rules,
    // which bvmig does not run): they never match.
    let mut skipped: Vec<String> = Vec::new();
    let mut n_skipped = 0usize;
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with("//") || is_virtual_line(line) {
            i += 1;
            continue;
        }
        if trimmed.starts_with("/*") {
            i = skip_block_comment(&lines, i);
            continue;
        }
        if !line.starts_with('@') {
            let what = trimmed.split_whitespace().next().unwrap_or("");
            let msg = match what {
                "#include" | "using" => format!("'{what}' is not supported"),
                "virtual" => "expected 'virtual NAME' at the start of a line".to_string(),
                _ => "expected a rule header such as '@@' or '@name@'".to_string(),
            };
            return Err(err(i + 1, 1, msg));
        }
        let header = parse_header(line).map_err(|(col, m)| err(i + 1, col, m))?;
        // Whether the rule runs: its condition with the virtual rules
        // decided and the rules skipped false.
        let mut runs = true;
        let mut depends = None;
        if let Some(dep) = &header.depends {
            let known = |r: &str| {
                rules.iter().any(|x: &Rule| x.name.as_deref() == Some(r))
                    || skipped.iter().any(|x| x == r)
                    || names.contains(&r)
            };
            if let Some(unknown) = dep_names(dep).into_iter().find(|r| !known(r)) {
                return Err(err(
                    i + 1,
                    word_col(line, "depends", unknown),
                    format!(
                        "'depends on' names '{unknown}', which is not an earlier rule of this file nor declared by a 'virtual' line"
                    ),
                ));
            }
            let decided = |r: &str| {
                if names.contains(&r) {
                    Some(virtuals.defines(r))
                } else if skipped.iter().any(|x| x == r) {
                    Some(false)
                } else {
                    None
                }
            };
            match simplify(dep, &decided) {
                Decided::Const(b) => runs = b,
                Decided::Open(d) => depends = Some(d),
            }
        }
        i += 1;
        if !runs || header.script.is_some() {
            if runs {
                let (lang, col) = header.script.expect("a script rule");
                return Err(err(
                    i,
                    col,
                    format!(
                        "'script:{lang}' rules are not run by bvmig (it reports sites itself: 'bvmig check'); define the virtual rule that the patch rules depend on, as with '-D patch'"
                    ),
                ));
            }
            skipped.extend(header.name);
            n_skipped += 1;
            while i < lines.len() && lines[i].trim() != "@@" {
                i += 1;
            }
            i = rule_end(&lines, i + 1);
            continue;
        }
        // Metavariable declarations, up to the `@@` line.
        let decl_start = i;
        while i < lines.len() && lines[i].trim() != "@@" {
            i += 1;
        }
        if i == lines.len() {
            return Err(err(decl_start, 1, "rule header has no closing '@@'".into()));
        }
        let metavars =
            parse_metavars(&lines[decl_start..i], decl_start).map_err(|(l, c, m)| err(l, c, m))?;
        i += 1;
        let body_start = i;
        i = rule_end(&lines, i);
        let toks = lex_body(&lines[body_start..i], body_start).map_err(|(l, c, m)| err(l, c, m))?;
        if toks.is_empty() {
            return Err(err(body_start.max(1), 1, "rule has an empty body".into()));
        }
        let body = Structure {
            toks: &toks,
            at: 0,
            metavars: &metavars,
            members: false,
        }
        .body()
        .map_err(|(p, m)| err(p.line, p.col, m))?;
        rules.push(Rule {
            name: header.name,
            depends,
            metavars,
            body,
        });
    }
    if rules.is_empty() {
        if n_skipped > 0 {
            return Err(err(
                1,
                1,
                format!(
                    "no rule of this file runs with {}: each depends on virtual rules not defined, or is a script rule; define one with -D NAME (it declares {})",
                    virtuals.describe(),
                    if names.is_empty() { "none".to_string() } else { names.join(", ") }
                ),
            ));
        }
        return Err(err(1, 1, "no rule in file".into()));
    }
    Ok(RuleFile {
        path: path.to_string(),
        rules,
        virtuals: names.iter().map(|n| n.to_string()).collect(),
    })
}

/// Where a rule's text ends: at the next rule header or `virtual` line.
fn rule_end(lines: &[&str], mut i: usize) -> usize {
    while i < lines.len() && !lines[i].starts_with('@') && !is_virtual_line(lines[i]) {
        i += 1;
    }
    i
}

/// A line that starts with the word `virtual` in column 0.
fn is_virtual_line(line: &str) -> bool {
    line.strip_prefix("virtual")
        .is_some_and(|r| r.is_empty() || r.starts_with([' ', '\t']))
}

/// The names that `virtual a, b` lines declare, each with its line.
fn virtual_lines(lines: &[&str]) -> Result<Vec<(String, usize)>, LineErr> {
    let mut out: Vec<(String, usize)> = Vec::new();
    for (k, line) in lines.iter().enumerate() {
        if !is_virtual_line(line) {
            continue;
        }
        let code = line.split("//").next().unwrap_or("");
        let mut col = "virtual".len();
        let mut any = false;
        for part in code["virtual".len()..].split(',') {
            let name = part.trim();
            let at = col + part.len() - part.trim_start().len() + 1;
            col += part.len() + 1;
            if !is_ident(name) || is_header_keyword(name) {
                let what = if name.is_empty() { "nothing" } else { name };
                return Err((
                    k + 1,
                    at,
                    format!("expected a virtual rule name, found '{what}'"),
                ));
            }
            if !out.iter().any(|(n, _)| n == name) {
                out.push((name.to_string(), k + 1));
            }
            any = true;
        }
        debug_assert!(any);
    }
    Ok(out)
}

/// A `depends on` condition with some names decided.
enum Decided {
    /// It holds, or fails, whatever the rules left match.
    Const(bool),
    /// It depends on these rules.
    Open(Dep),
}

/// Replaces the names `decided` knows by their values and folds constants.
fn simplify(d: &Dep, decided: &dyn Fn(&str) -> Option<bool>) -> Decided {
    match d {
        Dep::Rule(r) => match decided(r) {
            Some(b) => Decided::Const(b),
            None => Decided::Open(d.clone()),
        },
        Dep::Not(x) => match simplify(x, decided) {
            Decided::Const(b) => Decided::Const(!b),
            Decided::Open(x) => Decided::Open(Dep::Not(Box::new(x))),
        },
        Dep::And(a, b) | Dep::Or(a, b) => {
            let is_and = matches!(d, Dep::And(..));
            match (simplify(a, decided), simplify(b, decided)) {
                (Decided::Const(x), Decided::Const(y)) => {
                    Decided::Const(if is_and { x && y } else { x || y })
                }
                (Decided::Const(x), Decided::Open(o)) | (Decided::Open(o), Decided::Const(x)) => {
                    // `false && o`, `true || o` are decided; else `o`.
                    if x != is_and {
                        Decided::Const(x)
                    } else {
                        Decided::Open(o)
                    }
                }
                (Decided::Open(x), Decided::Open(y)) => {
                    let (x, y) = (Box::new(x), Box::new(y));
                    Decided::Open(if is_and {
                        Dep::And(x, y)
                    } else {
                        Dep::Or(x, y)
                    })
                }
            }
        }
    }
}

fn skip_block_comment(lines: &[&str], mut i: usize) -> usize {
    while i < lines.len() && !lines[i].contains("*/") {
        i += 1;
    }
    i + 1
}

/// A parsed rule header.
struct Header {
    name: Option<String>,
    depends: Option<Dep>,
    /// `script:LANG`, `initialize:LANG` or `finalize:LANG`: the language
    /// and the column of the keyword.
    script: Option<(String, usize)>,
}

/// Parses `@@`, `@ name @`, and either with `depends on COND`, `exists` or
/// `forall` after the name; and the headers of script rules
/// (`@script:python name depends on COND@`), which bvmig does not run.
fn parse_header(line: &str) -> Result<Header, (usize, String)> {
    let rest = &line[1..];
    let Some(close) = rest.find('@') else {
        return Err((1, "rule header has no closing '@'".into()));
    };
    let after = rest[close + 1..].trim();
    if !after.is_empty() && !after.starts_with("//") {
        return Err((
            close + 3,
            format!("unexpected '{after}' after the rule header"),
        ));
    }
    // Words with their 1-based columns in `line`.
    let inner = &rest[..close];
    let mut words: Vec<(&str, usize)> = Vec::new();
    let bytes = inner.as_bytes();
    let mut j = 0;
    while j < bytes.len() {
        let c = bytes[j];
        let s = j;
        if c.is_ascii_whitespace() {
            j += 1;
            continue;
        } else if c.is_ascii_alphanumeric() || c == b'_' {
            while j < bytes.len() && (bytes[j].is_ascii_alphanumeric() || bytes[j] == b'_') {
                j += 1;
            }
        } else if matches!(inner.get(j..j + 2), Some("&&") | Some("||")) {
            j += 2;
        } else {
            // One character, which may take several bytes.
            j += inner[j..].chars().next().map_or(1, char::len_utf8);
        }
        words.push((&inner[s..j], s + 2));
    }
    let mut i = 0;
    let mut script = None;
    if let [(kw @ ("script" | "initialize" | "finalize"), col), (":", _), (lang, _), ..] = words[..]
    {
        script = Some((lang.to_string(), col));
        let _ = kw;
        i = 3;
    }
    let name = words
        .get(i)
        .filter(|(w, _)| is_ident(w) && !is_header_keyword(w))
        .map(|(w, _)| w.to_string());
    i += usize::from(name.is_some());
    let mut depends = None;
    let in_script = script.is_some();
    while let Some(&(word, col)) = words.get(i) {
        match word {
            // Without '...' between statements, every match is on one
            // path: exists and forall mean the same here.
            "exists" | "forall" => i += 1,
            "depends" => {
                if words.get(i + 1).map(|w| w.0) != Some("on") {
                    return Err((col, "expected 'on' after 'depends'".into()));
                }
                let (dep, next) = parse_dep(&words, i + 2, col)?;
                depends = Some(dep);
                i = next;
            }
            _ if in_script => i += 1,
            _ => {
                return Err((
                    col,
                    format!(
                        "rule header '{word}' is not supported (only a name, 'depends on', 'exists' and 'forall')"
                    ),
                ))
            }
        }
    }
    Ok(Header {
        name,
        depends,
        script,
    })
}

/// `a || b` over `&&` over `!` and parentheses, from word `i`.
fn parse_dep(
    words: &[(&str, usize)],
    i: usize,
    col: usize,
) -> Result<(Dep, usize), (usize, String)> {
    parse_dep_level(words, i, col, 0)
}

/// Joins two conditions into one.
type DepJoin = fn(Box<Dep>, Box<Dep>) -> Dep;

/// Operators by binding strength, loosest first.
const DEP_OPS: [(&str, DepJoin); 2] = [("||", Dep::Or), ("&&", Dep::And)];

/// Operands of `DEP_OPS[level]` joined by it, left to right.
fn parse_dep_level(
    words: &[(&str, usize)],
    i: usize,
    col: usize,
    level: usize,
) -> Result<(Dep, usize), (usize, String)> {
    let operand = |i| {
        if level + 1 < DEP_OPS.len() {
            parse_dep_level(words, i, col, level + 1)
        } else {
            parse_dep_atom(words, i, col)
        }
    };
    let (op, join) = DEP_OPS[level];
    let (mut left, mut i) = operand(i)?;
    while words.get(i).map(|w| w.0) == Some(op) {
        let (right, next) = operand(i + 1)?;
        left = join(Box::new(left), Box::new(right));
        i = next;
    }
    Ok((left, i))
}

fn parse_dep_atom(
    words: &[(&str, usize)],
    i: usize,
    col: usize,
) -> Result<(Dep, usize), (usize, String)> {
    match words.get(i) {
        Some(("!", _)) => {
            let (d, next) = parse_dep_atom(words, i + 1, col)?;
            Ok((Dep::Not(Box::new(d)), next))
        }
        Some(("(", c)) => {
            let (d, next) = parse_dep(words, i + 1, *c)?;
            if words.get(next).map(|w| w.0) != Some(")") {
                return Err((*c, "'(' has no closing ')' in 'depends on'".into()));
            }
            Ok((d, next + 1))
        }
        Some((w, _)) if is_ident(w) && !is_header_keyword(w) => {
            Ok((Dep::Rule(w.to_string()), i + 1))
        }
        Some((w, c)) => Err((
            *c,
            format!("expected a rule name in 'depends on', found '{w}'"),
        )),
        None => Err((col, "'depends on' needs a rule name".into())),
    }
}

/// 1-based column of the whole word `word` after `after` in `line`.
fn word_col(line: &str, after: &str, word: &str) -> usize {
    let from = line.find(after).unwrap_or(0);
    let bytes = line.as_bytes();
    let is_id = |i: usize| {
        bytes
            .get(i)
            .is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'_')
    };
    line[from..]
        .match_indices(word)
        .map(|(k, _)| from + k)
        .find(|&k| !is_id(k.wrapping_sub(1)) && !is_id(k + word.len()))
        .map_or(1, |k| k + 1)
}

fn dep_names(d: &Dep) -> Vec<&str> {
    match d {
        Dep::Rule(r) => vec![r.as_str()],
        Dep::Not(x) => dep_names(x),
        Dep::And(a, b) | Dep::Or(a, b) => {
            let mut v = dep_names(a);
            v.extend(dep_names(b));
            v
        }
    }
}

fn is_header_keyword(w: &str) -> bool {
    matches!(
        w,
        "depends"
            | "exists"
            | "forall"
            | "disable"
            | "script"
            | "initialize"
            | "finalize"
            | "ever"
            | "never"
            | "file"
            | "virtual"
    )
}

/// The fragments an inline disjunction stands for: `a \(b\|c\) d` is
/// `a b d` and `a c d`, nested ones included, in order.
fn expand_inline(run: &[Tok]) -> Result<Vec<Vec<Tok>>, PosErr> {
    const MAX: usize = 256;
    let Some(open) = run.iter().position(|t| t.kind == TokKind::DisjOpen) else {
        return Ok(vec![run.to_vec()]);
    };
    if run[open].sign == Sign::Plus {
        return Err((
            run[open].pos,
            "a disjunction in '+' code is not supported: '+' code is what is added".into(),
        ));
    }
    // The branches, up to the matching close.
    let mut depth = 0usize;
    let mut branches: Vec<&[Tok]> = Vec::new();
    let mut from = open + 1;
    let mut close = None;
    for (k, t) in run.iter().enumerate().skip(open + 1) {
        match t.kind {
            TokKind::DisjOpen => depth += 1,
            TokKind::DisjClose if depth > 0 => depth -= 1,
            TokKind::DisjClose => {
                branches.push(&run[from..k]);
                close = Some(k);
                break;
            }
            TokKind::DisjSep if depth == 0 => {
                branches.push(&run[from..k]);
                from = k + 1;
            }
            _ => {}
        }
    }
    let Some(close) = close else {
        return Err((run[open].pos, "'\\(' has no closing '\\)'".into()));
    };
    let rests = expand_inline(&run[close + 1..])?;
    let mut out = Vec::new();
    for b in branches {
        if b.is_empty() {
            return Err((run[open].pos, "an empty branch in '\\( \\| \\)'".into()));
        }
        for alt in expand_inline(b)? {
            for rest in &rests {
                let mut v = run[..open].to_vec();
                v.extend(alt.iter().cloned());
                v.extend(rest.iter().cloned());
                out.push(v);
                if out.len() > MAX {
                    return Err((
                        run[open].pos,
                        format!("inline disjunctions here stand for more than {MAX} fragments"),
                    ));
                }
            }
        }
    }
    Ok(out)
}

/// The C keywords that a rule might write where a function's name goes.
fn is_c_keyword(w: &str) -> bool {
    matches!(
        w,
        "while" | "if" | "for" | "switch" | "do" | "return" | "sizeof" | "else" | "case"
    )
}

/// What `...` inside the bracket `run[open]` is, for the error: a statement
/// block, a struct body, an initializer, or an argument list.
fn dots_inside(run: &[Tok], open: usize) -> String {
    let text = |i: usize| run.get(i).map_or("", |t| t.text.as_str());
    let what = match text(open) {
        "{" => {
            let tagged = matches!(text(open.wrapping_sub(2)), "struct" | "union" | "enum")
                || matches!(text(open.wrapping_sub(1)), "struct" | "union" | "enum");
            if tagged {
                "'...' inside a struct, union or enum body is not supported here; a struct context is 'struct NAME {' '...' member '...' '};' on lines of their own"
            } else if text(open.wrapping_sub(1)) == "=" {
                "'...' inside an initializer list is not supported yet"
            } else {
                "'...' inside a statement block ('{ ... }') is not supported yet; write the statements of the block without braces, with '...' between them"
            }
        }
        "[" => "'...' inside '[ ]' is not supported yet",
        _ => "'...' inside an expression or an argument list is not supported yet; '...' stands between statements",
    };
    what.to_string()
}

fn is_ident(s: &str) -> bool {
    let mut b = s.bytes();
    b.next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == b'_')
        && b.all(|c| c.is_ascii_alphanumeric() || c == b'_')
}

type LineErr = (usize, usize, String);

/// Parses the declarations between the header and `@@`.
fn parse_metavars(lines: &[&str], first_line: usize) -> Result<Vec<Metavar>, LineErr> {
    // Tokens with their positions; declarations end with `;` and may span lines.
    let mut words: Vec<(String, usize, usize)> = Vec::new();
    for (k, line) in lines.iter().enumerate() {
        let code = line.split("//").next().unwrap_or("");
        let bytes = code.as_bytes();
        let mut j = 0;
        while j < bytes.len() {
            let c = bytes[j];
            if c.is_ascii_whitespace() {
                j += 1;
            } else if c.is_ascii_alphanumeric() || c == b'_' {
                let s = j;
                while j < bytes.len() && (bytes[j].is_ascii_alphanumeric() || bytes[j] == b'_') {
                    j += 1;
                }
                words.push((code[s..j].to_string(), first_line + k + 1, s + 1));
            } else if c == b'"' {
                let s = j;
                j += 1;
                while j < bytes.len() && bytes[j] != b'"' {
                    j += if bytes[j] == b'\\' { 2 } else { 1 };
                }
                j = (j + 1).min(bytes.len());
                words.push((code[s..j].to_string(), first_line + k + 1, s + 1));
            } else {
                let two = code.get(j..j + 2);
                let len = if matches!(two, Some("!=") | Some("=~") | Some("!~")) {
                    2
                } else {
                    // One character, which may take several bytes.
                    code[j..].chars().next().map_or(1, char::len_utf8)
                };
                words.push((code[j..j + len].to_string(), first_line + k + 1, j + 1));
                j += len;
            }
        }
    }
    let mut vars: Vec<Metavar> = Vec::new();
    let mut typedefs: Vec<String> = Vec::new();
    let mut i = 0;
    while i < words.len() {
        let (kw, line, col) = &words[i];
        // `typedef NAME;` declares a type name for typed metavariables.
        if kw == "typedef" {
            match (words.get(i + 1), words.get(i + 2).map(|w| w.0.as_str())) {
                (Some((name, _, _)), Some(";")) if is_ident(name) => {
                    typedefs.push(name.clone());
                    i += 3;
                    continue;
                }
                _ => {
                    return Err((
                        *line,
                        *col,
                        "expected 'typedef NAME;' (a type name for typed metavariables)".into(),
                    ))
                }
            }
        }
        // `struct NAME *A, B;` or `TYPEDEF *A;`: typed expressions.
        let typed_base = match kw.as_str() {
            "struct" | "union" => match words.get(i + 1) {
                Some((name, nl, nc)) if vars.iter().any(|v| &v.name == name) => {
                    return Err((
                        *nl,
                        *nc,
                        format!(
                            "'{name}' is a metavariable: a typed metavariable's {kw} tag must be written out ('{kw} bio_vec *E;'); a tag that varies is not supported yet"
                        ),
                    ))
                }
                Some((name, _, _)) if is_ident(name) => {
                    i += 1;
                    Some(format!("{kw} {name}"))
                }
                _ => return Err((*line, *col, format!("expected a name after '{kw}'"))),
            },
            k if typedefs.iter().any(|t| t == k) => Some(k.to_string()),
            _ => None,
        };
        if let Some(base) = typed_base {
            i += 1;
            loop {
                let mut ptr = 0u8;
                while words.get(i).map(|w| w.0.as_str()) == Some("*") {
                    ptr += 1;
                    i += 1;
                }
                let name = new_name(&words, i, (*line, *col), &vars)?;
                vars.push(Metavar {
                    name: name.clone(),
                    kind: MetaKind::Typed,
                    constraint: None,
                    ty: Some(crate::c::types::CType::new(&base, ptr)),
                });
                i += 1;
                match words.get(i).map(|w| w.0.as_str()) {
                    Some(",") => i += 1,
                    Some(";") => {
                        i += 1;
                        break;
                    }
                    other => {
                        let (_, l, c) = words.get(i).unwrap_or(&words[i - 1]);
                        return Err((
                            *l,
                            *c,
                            format!("expected ',' or ';', found '{}'", other.unwrap_or("end")),
                        ));
                    }
                }
            }
            continue;
        }
        let kind = match kw.as_str() {
            "expression" => MetaKind::Expression,
            "identifier" => MetaKind::Identifier,
            "constant" => MetaKind::Constant,
            "type" => MetaKind::Type,
            "statement" => MetaKind::Statement,
            "fresh" | "idexpression" | "declarer" | "iterator" | "function" | "local"
            | "global" | "position" | "binary" | "format" | "parameter" | "declaration"
            | "field" | "initializer" | "symbol" | "list" | "operator" | "assignment" | "enum"
            | "unsigned" | "signed" | "char" | "int" | "long" | "short" => {
                return Err((
                    *line,
                    *col,
                    format!("metavariable kind '{kw}' is not supported yet"),
                ))
            }
            _ => return Err((*line, *col, format!("unknown metavariable kind '{kw}'"))),
        };
        // `expression list[n] L;`, `statement list S;`, `identifier list
        // I;`: a list kind, not a metavariable named `list`.
        if words.get(i + 1).is_some_and(|w| w.0 == "list") {
            return Err((
                *line,
                *col,
                format!("metavariable kind '{kw} list' is not supported yet"),
            ));
        }
        i += 1;
        loop {
            let name = new_name(&words, i, (*line, *col), &vars)?;
            i += 1;
            let mut constraint = None;
            if let Some((op, ol, oc)) = words.get(i) {
                match op.as_str() {
                    "!=" | "=" => {
                        if kind != MetaKind::Identifier {
                            return Err((
                                *ol,
                                *oc,
                                format!("a '{op}' constraint needs an identifier metavariable"),
                            ));
                        }
                        let (set, next) = parse_set(&words, i + 1)?;
                        constraint = Some(if op == "=" {
                            Constraint::In(set)
                        } else {
                            Constraint::NotIn(set)
                        });
                        i = next;
                    }
                    "=~" | "!~" => {
                        if kind != MetaKind::Identifier {
                            return Err((
                                *ol,
                                *oc,
                                format!("a '{op}' constraint needs an identifier metavariable"),
                            ));
                        }
                        let Some((lit, rl, rc)) = words.get(i + 1) else {
                            return Err((
                                *ol,
                                *oc,
                                format!("'{op}' needs a \"regular expression\""),
                            ));
                        };
                        let Some(src) = lit.strip_prefix('"').and_then(|l| l.strip_suffix('"'))
                        else {
                            return Err((
                                *rl,
                                *rc,
                                format!("'{op}' needs a \"regular expression\", found '{lit}'"),
                            ));
                        };
                        let re = regex::Regex::new(src).map_err(|e| {
                            let text = e.to_string();
                            let last = text.lines().last().unwrap_or("").trim();
                            let first = last.strip_prefix("error: ").unwrap_or(last).to_string();
                            (*rl, *rc, format!("bad regular expression: {first}"))
                        })?;
                        constraint = Some(if op == "=~" {
                            Constraint::Matches(Regex(re))
                        } else {
                            Constraint::NotMatches(Regex(re))
                        });
                        i += 2;
                    }
                    _ => {}
                }
            }
            vars.push(Metavar {
                name: name.clone(),
                kind,
                constraint,
                ty: None,
            });
            match words.get(i).map(|w| w.0.as_str()) {
                Some(",") => i += 1,
                Some(";") => {
                    i += 1;
                    break;
                }
                Some(other) => {
                    let (_, l, c) = &words[i];
                    return Err((*l, *c, format!("expected ',' or ';', found '{other}'")));
                }
                None => {
                    return Err((
                        *line,
                        *col,
                        "metavariable declaration has no closing ';'".into(),
                    ))
                }
            }
        }
    }
    Ok(vars)
}

/// The metavariable name at `words[i]` of a declaration at `decl` (line,
/// column): a C name not declared before.
fn new_name<'w>(
    words: &'w [(String, usize, usize)],
    i: usize,
    decl: (usize, usize),
    vars: &[Metavar],
) -> Result<&'w String, LineErr> {
    let Some((name, nl, nc)) = words.get(i) else {
        return Err((
            decl.0,
            decl.1,
            "metavariable declaration has no closing ';'".into(),
        ));
    };
    if !is_ident(name) {
        return Err((
            *nl,
            *nc,
            format!("expected a metavariable name, found '{name}'"),
        ));
    }
    if vars.iter().any(|v| &v.name == name) {
        return Err((*nl, *nc, format!("metavariable '{name}' is declared twice")));
    }
    Ok(name)
}

/// Parses `{a, b}` or a single name starting at `i`.
fn parse_set(
    words: &[(String, usize, usize)],
    mut i: usize,
) -> Result<(Vec<String>, usize), LineErr> {
    let Some((first, l, c)) = words.get(i) else {
        return Err((0, 0, "constraint has no value".into()));
    };
    if first != "{" {
        if !is_ident(first) {
            return Err((*l, *c, format!("expected a name or '{{', found '{first}'")));
        }
        return Ok((vec![first.clone()], i + 1));
    }
    i += 1;
    let mut set = Vec::new();
    loop {
        match words.get(i) {
            Some((w, _, _)) if is_ident(w) => set.push(w.clone()),
            Some((w, l, c)) => {
                return Err((*l, *c, format!("expected a name in the set, found '{w}'")))
            }
            None => return Err((*l, *c, "set has no closing '}'".into())),
        }
        i += 1;
        match words.get(i).map(|w| w.0.as_str()) {
            Some(",") => i += 1,
            Some("}") => return Ok((set, i + 1)),
            _ => {
                let (_, l, c) = words.get(i).unwrap_or(&words[i - 1]);
                return Err((*l, *c, "expected ',' or '}' in the set".into()));
            }
        }
    }
}

/// Splits the body into tokens, each with its line's sign.
fn lex_body(lines: &[&str], first_line: usize) -> Result<Vec<Tok>, LineErr> {
    let mut toks = Vec::new();
    let mut in_comment = false;
    for (k, line) in lines.iter().enumerate() {
        let lno = first_line + k + 1;
        let bytes = line.as_bytes();
        let (sign, mut j) = match bytes.first() {
            Some(b'-') => (Sign::Minus, 1),
            Some(b'+') => (Sign::Plus, 1),
            Some(b'*') if !in_comment => {
                return Err((
                    lno,
                    1,
                    "'*' (report) lines are not supported; use '-' and '+'".into(),
                ))
            }
            _ => (Sign::Context, 0),
        };
        // Column-0 disjunction delimiters on context lines.
        if sign == Sign::Context && !in_comment {
            if let Some(&c @ (b'(' | b'|' | b')')) = bytes.first() {
                let kind = match c {
                    b'(' => TokKind::DisjOpen,
                    b'|' => TokKind::DisjSep,
                    _ => TokKind::DisjClose,
                };
                toks.push(Tok::new(kind, &line[..1], sign, lno, 1, true));
                j = 1;
            }
        }
        let mut space_before = true;
        let lead = bytes[j..]
            .iter()
            .take_while(|b| **b == b' ' || **b == b'\t')
            .count();
        let indent = crate::c::source::columns(&bytes[j..j + lead]);
        while j < bytes.len() {
            if in_comment {
                match line[j..].find("*/") {
                    Some(e) => {
                        j += e + 2;
                        in_comment = false;
                        space_before = true;
                    }
                    None => j = bytes.len(),
                }
                continue;
            }
            let c = bytes[j];
            let rest = &line[j..];
            if c.is_ascii_whitespace() {
                j += 1;
                space_before = true;
                continue;
            }
            if sign == Sign::Plus && (rest.starts_with("//") || rest.starts_with("/*")) {
                return Err((
                    lno,
                    j + 1,
                    "a comment in '+' code is not supported yet: bvmig would not add it".into(),
                ));
            }
            if rest.starts_with("//") {
                break;
            }
            if rest.starts_with("/*") {
                in_comment = true;
                j += 2;
                continue;
            }
            let (kind, len) = if c.is_ascii_alphabetic() || c == b'_' {
                let n = rest
                    .bytes()
                    .take_while(|b| b.is_ascii_alphanumeric() || *b == b'_')
                    .count();
                (TokKind::Code, n)
            } else if c.is_ascii_digit() {
                let n = rest
                    .bytes()
                    .take_while(|b| b.is_ascii_alphanumeric() || *b == b'.')
                    .count();
                (TokKind::Code, n)
            } else if c == b'"' || c == b'\'' {
                let mut e = 1;
                let rb = rest.as_bytes();
                while e < rb.len() && rb[e] != c {
                    e += if rb[e] == b'\\' { 2 } else { 1 };
                }
                if e >= rb.len() {
                    return Err((lno, j + 1, "unterminated literal".into()));
                }
                if c == b'"' && rest[..e].contains("...") {
                    return Err((
                        lno,
                        j + 1,
                        "format string patterns (\"...%d...\") are not supported yet; bvmig would read it as a literal string".into(),
                    ));
                }
                (TokKind::Code, e + 1)
            } else if rest.starts_with("<...") || rest.starts_with("<+...") {
                (
                    TokKind::NestOpen,
                    if rest.starts_with("<+") { 5 } else { 4 },
                )
            } else if rest.starts_with("...>") || rest.starts_with("...+>") {
                (
                    TokKind::NestClose,
                    if rest.starts_with("...+") { 5 } else { 4 },
                )
            } else if rest.starts_with("\\(") {
                (TokKind::DisjOpen, 2)
            } else if rest.starts_with("\\|") {
                (TokKind::DisjSep, 2)
            } else if rest.starts_with("\\)") {
                (TokKind::DisjClose, 2)
            } else if rest.starts_with("\\&") {
                return Err((lno, j + 1, "conjunctions ('\\&') are not supported".into()));
            } else {
                (TokKind::Code, punct_len(rest))
            };
            let mut tok = Tok::new(kind, &rest[..len], sign, lno, j + 1, space_before);
            tok.indent = indent;
            toks.push(tok);
            space_before = false;
            j += len;
        }
    }
    Ok(toks)
}

fn punct_len(rest: &str) -> usize {
    const PUNCT: [&str; 24] = [
        "...", "<<=", ">>=", "->", "++", "--", "<<", ">>", "<=", ">=", "==", "!=", "&&", "||",
        "+=", "-=", "*=", "/=", "%=", "&=", "|=", "^=", "##", "::",
    ];
    PUNCT.iter().find(|p| rest.starts_with(**p)).map_or_else(
        || rest.chars().next().map_or(1, char::len_utf8),
        |p| p.len(),
    )
}

type PosErr = (Pos, String);

/// Builds the body's structure from its tokens.
struct Structure<'a> {
    toks: &'a [Tok],
    at: usize,
    metavars: &'a [Metavar],
    /// Inside a struct context: fragments are members.
    members: bool,
}

impl Structure<'_> {
    fn body(mut self) -> Result<Pat, PosErr> {
        let toks = self.toks;
        // A function context: `NAME ( ... ) {` ... `}` in context code.
        let is_ctx = |i: usize, text: &str| {
            toks.get(i).is_some_and(|t| {
                t.kind == TokKind::Code && t.sign == Sign::Context && t.text == text
            })
        };
        // A struct context: `struct NAME {` `...` members `...` `};`.
        let n = toks.len();
        if n >= 7
            && (is_ctx(0, "struct") || is_ctx(0, "union"))
            && toks[1].sign == Sign::Context
            && is_ident(&toks[1].text)
            && is_ctx(2, "{")
            && is_ctx(n - 2, "}")
            && is_ctx(n - 1, ";")
        {
            if !is_ctx(3, "...") || !is_ctx(n - 3, "...") {
                return Err((
                    toks[2].pos,
                    "inside a struct context write '...' before and after the members: bvmig matches them anywhere in the struct".into(),
                ));
            }
            let kind = if toks[0].text == "struct" {
                "struct_specifier"
            } else {
                "union_specifier"
            };
            self.toks = &toks[4..n - 3];
            self.members = true;
            let inner = self.seq(&[])?;
            return Ok(Pat::Struct {
                kind,
                tag: toks[1].text.clone(),
                body: Box::new(inner),
            });
        }
        let pat = if toks.len() >= 6
            && toks[0].kind == TokKind::Code
            && toks[0].sign == Sign::Context
            && is_ident(&toks[0].text)
            && is_ctx(1, "(")
            && is_ctx(2, "...")
            && is_ctx(3, ")")
            && is_ctx(4, "{")
            && is_ctx(toks.len() - 1, "}")
        {
            let name_tok = &toks[0];
            if is_c_keyword(&name_tok.text) {
                return Err((
                    name_tok.pos,
                    format!(
                        "'{} (...) {{ ... }}' is not supported: a context of this form is a function definition, 'fn(...) {{ <... P ...> }}'",
                        name_tok.text
                    ),
                ));
            }
            let name = match self.metavars.iter().position(|m| m.name == name_tok.text) {
                Some(m) if self.metavars[m].kind == MetaKind::Identifier => NameRef::Meta(m),
                Some(_) => {
                    return Err((
                        name_tok.pos,
                        format!(
                            "'{}' names a function, so it must be an identifier metavariable",
                            name_tok.text
                        ),
                    ))
                }
                None => NameRef::Literal(name_tok.text.clone()),
            };
            self.toks = &toks[5..toks.len() - 1];
            let inner = self.seq(&[])?;
            if !matches!(inner, Pat::Nest(_)) {
                return Err((toks[4].pos, "a function context's body must be one '<... ...>' nest (statement sequences are not supported yet)".into()));
            }
            Pat::Function {
                name,
                body: Box::new(inner),
            }
        } else {
            self.seq(&[])?
        };
        Ok(pat)
    }

    /// Parses items until one of `stops` (not consumed) or the end; a
    /// sequence of more than one item is not supported yet.
    fn seq(&mut self, stops: &[TokKind]) -> Result<Pat, PosErr> {
        let start = self.toks.get(self.at).map(|t| t.pos).unwrap_or_default();
        let mut items = Vec::new();
        while let Some(t) = self.toks.get(self.at) {
            if stops.contains(&t.kind) {
                break;
            }
            if let Some(end) = self.inline_disj_run() {
                let run = &self.toks[self.at..end];
                let alts = expand_inline(run)?;
                let pats = alts
                    .iter()
                    .map(|a| self.compile_run(a))
                    .collect::<Result<Vec<_>, _>>()?;
                self.at = end;
                items.push(Pat::Disj(pats));
                continue;
            }
            match t.kind {
                TokKind::DisjOpen => items.push(self.disj()?),
                TokKind::NestOpen => {
                    let open = t.pos;
                    self.at += 1;
                    let inner = self.seq(&[TokKind::NestClose])?;
                    if self.toks.get(self.at).map(|t| t.kind) != Some(TokKind::NestClose) {
                        return Err((open, "'<...' has no closing '...>'".into()));
                    }
                    self.at += 1;
                    items.push(Pat::Nest(Box::new(inner)));
                }
                TokKind::Code => {
                    let s = self.at;
                    while self
                        .toks
                        .get(self.at)
                        .is_some_and(|t| t.kind == TokKind::Code)
                    {
                        self.at += 1;
                    }
                    let run = &self.toks[s..self.at];
                    items.push(self.compile_run(run)?);
                }
                TokKind::DisjSep | TokKind::DisjClose => {
                    return Err((t.pos, format!("'{}' outside a disjunction", t.text)))
                }
                TokKind::NestClose => {
                    return Err((t.pos, "'...>' without an opening '<...'".into()))
                }
            }
        }
        match items.len() {
            0 => Err((start, "expected code here".into())),
            1 => Ok(items.pop().expect("one item")),
            _ => Err((
                start,
                "a sequence of several statements or patterns is not supported yet".into(),
            )),
        }
    }

    /// Compiles a run of code tokens: a struct member, statement-level code
    /// or one fragment.
    fn compile_run(&self, run: &[Tok]) -> Result<Pat, PosErr> {
        // Open brackets, with the index of their token.
        let mut open: Vec<usize> = Vec::new();
        let mut dots = false;
        for (k, t) in run.iter().enumerate() {
            dots |= t.text == "..." && open.is_empty();
            if t.text == "..." {
                if let Some(&o) = open.last() {
                    return Err((t.pos, dots_inside(run, o)));
                }
            }
            match t.text.as_str() {
                "(" | "[" | "{" => open.push(k),
                ")" | "]" | "}" => {
                    open.pop();
                }
                _ => {}
            }
        }
        Ok(if self.members {
            compile_member(run, self.metavars)?
        } else if dots || statement_level(run) {
            Pat::Stmts(Box::new(compile_stmts(run, self.metavars)?))
        } else {
            compile_fragment(run, self.metavars)?
        })
    }

    /// Where a run of code with an inline disjunction inside it (`- x =
    /// \(f\|g\)(y);`) ends: it is read as a disjunction of the whole
    /// fragment, one branch per choice. `None` when there is no such run
    /// here (a disjunction that is the whole fragment is read as one).
    fn inline_disj_run(&self) -> Option<usize> {
        let is_inline = |t: &Tok| {
            matches!(
                t.kind,
                TokKind::DisjOpen | TokKind::DisjSep | TokKind::DisjClose
            ) && t.text.starts_with('\\')
        };
        let mut end = self.at;
        let (mut depth, mut outside, mut inline) = (0usize, false, false);
        while let Some(t) = self.toks.get(end) {
            if t.kind == TokKind::Code {
                outside |= depth == 0;
            } else if is_inline(t) {
                inline = true;
                match t.kind {
                    TokKind::DisjOpen => depth += 1,
                    TokKind::DisjClose if depth == 0 => break,
                    TokKind::DisjClose => depth -= 1,
                    TokKind::DisjSep if depth == 0 => break,
                    _ => {}
                }
            } else {
                break;
            }
            end += 1;
        }
        (inline && outside && depth == 0).then_some(end)
    }

    fn disj(&mut self) -> Result<Pat, PosErr> {
        let open = self.toks[self.at].pos;
        self.at += 1;
        let mut branches = Vec::new();
        loop {
            branches.push(self.seq(&[TokKind::DisjSep, TokKind::DisjClose])?);
            match self.toks.get(self.at).map(|t| t.kind) {
                Some(TokKind::DisjSep) => self.at += 1,
                Some(TokKind::DisjClose) => {
                    self.at += 1;
                    return Ok(Pat::Disj(branches));
                }
                _ => return Err((open, "'(' has no closing ')' in column 0".into())),
            }
        }
    }
}
