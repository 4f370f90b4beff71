//! Conditional groups (`#if`/`#ifdef`/`#ifndef` … `#elif` … `#else` …
//! `#endif`) of a C text, and its configurations: the text with one branch
//! of each chosen group kept and the other branches and the groups'
//! directive lines blanked, offsets and lines kept (every byte but `\n`
//! becomes a space, as `#define` bodies are blanked in `source`).
//!
//! Tree-sitter parses a conditional well only when each branch holds whole
//! statements or items; a statement whose head is split between branches
//! (`#ifdef X` `if (a)` `#else` `if (b)` `#endif` `{ ... }`) or an argument
//! list with a `#ifdef` inside is an ERROR region. Each configuration is
//! what a compiler sees for one choice of the conditions (Coccinelle's
//! "ifdef" handling parses the same way), and parses.
//!
//! Groups whose conditions read alike are one *variable*: `#ifdef X` and
//! `#ifndef X` take opposite branches in every configuration, and two
//! `#if A` … `#elif B` chains the same branch, so a brace opened in one
//! `#ifdef X` and closed in another stays balanced.

use std::ops::Range;

use crate::c::source::{self, LineIndex};

/// What a directive of a conditional group is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DirectiveKind {
    /// `#if`, `#ifdef`, `#ifndef`: opens a group.
    Open,
    /// `#elif`, `#elifdef`, `#elifndef`: another branch with a condition.
    Elif,
    /// `#else`.
    Else,
    /// `#endif`: closes the group.
    Endif,
}

/// One directive line of a conditional group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Directive {
    /// From the `#` to the end of the logical line, the newline excluded.
    pub range: Range<usize>,
    /// Its kind.
    pub kind: DirectiveKind,
    /// Its condition, normalised (`#ifdef X` and `#if defined X` are
    /// `defined(X)`, `#ifndef X` is `!defined(X)`, blanks squeezed,
    /// comments dropped); empty for `#else` and `#endif`.
    pub cond: String,
    /// The directive as written, squeezed, for messages.
    pub shown: String,
}

/// A conditional group: its directives, from the opening one to `#endif`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    /// The directives in order; the first opens, the last is `#endif`.
    pub directives: Vec<Directive>,
}

impl Group {
    /// The conditions of its branches (the opening one and each `#elif`).
    fn conds(&self) -> Vec<&str> {
        self.directives
            .iter()
            .filter(|d| matches!(d.kind, DirectiveKind::Open | DirectiveKind::Elif))
            .map(|d| d.cond.as_str())
            .collect()
    }

    /// Branches a configuration may take: one per condition, and the
    /// `#else` branch, written or not (an absent `#else` is an empty one).
    pub fn n_branches(&self) -> usize {
        self.conds().len() + 1
    }

    /// The text of branch `b` (after its directive's line, up to the next
    /// directive); empty for the `#else` that is not written.
    pub fn body(&self, b: usize) -> Range<usize> {
        match (self.directives.get(b), self.directives.get(b + 1)) {
            (Some(d), Some(next)) if d.kind != DirectiveKind::Endif => {
                d.range.end..next.range.start
            }
            _ => 0..0,
        }
    }

    /// The variable this group reads and whether it reads it negated: a
    /// group of one condition `!C` (`#ifndef X`) is the group of `C`
    /// with its branches swapped.
    fn variable(&self) -> (String, bool) {
        let conds = self.conds();
        if let [c] = conds.as_slice() {
            if let Some(rest) = c.strip_prefix('!') {
                if is_simple_term(rest) {
                    return (rest.to_string(), true);
                }
            }
        }
        (conds.join("\n"), false)
    }

    /// How branch `b` reads in a message: "the `#else` branch of `#ifdef
    /// X` at line 4".
    pub fn describe_branch(&self, b: usize, lines: &LineIndex) -> String {
        let open = &self.directives[0];
        let (line, _) = lines.line_col(open.range.start);
        match self.directives.get(b) {
            Some(_) if b == 0 => format!("the `{}` branch at line {line}", open.shown),
            Some(d) if d.kind != DirectiveKind::Endif => {
                format!(
                    "the `{}` branch of `{}` at line {line}",
                    d.shown, open.shown
                )
            }
            _ => format!("no branch of `{}` at line {line}", open.shown),
        }
    }
}

/// True for `defined(X)` or an identifier: a condition `!` negates whole.
fn is_simple_term(s: &str) -> bool {
    let ident = |t: &str| !t.is_empty() && t.bytes().all(source::is_ident_byte);
    ident(s)
        || s.strip_prefix("defined(")
            .and_then(|t| t.strip_suffix(')'))
            .is_some_and(ident)
}

/// The conditional groups of `text`, ordered by their opening directive.
/// A group that is not closed, or an `#elif`, `#else` or `#endif` without
/// its `#if`, is not a group (the text is not what a compiler accepts).
pub fn groups(text: &[u8]) -> Vec<Group> {
    let mut done: Vec<Group> = Vec::new();
    let mut open: Vec<Group> = Vec::new();
    for range in source::directives(text) {
        let Some((kind, cond, shown)) = read_directive(&text[range.clone()]) else {
            continue;
        };
        let d = Directive {
            range,
            kind,
            cond,
            shown,
        };
        match kind {
            DirectiveKind::Open => open.push(Group {
                directives: vec![d],
            }),
            DirectiveKind::Elif | DirectiveKind::Else => {
                if let Some(g) = open.last_mut() {
                    g.directives.push(d);
                }
            }
            DirectiveKind::Endif => {
                if let Some(mut g) = open.pop() {
                    g.directives.push(d);
                    done.push(g);
                }
            }
        }
    }
    done.sort_by_key(|g| g.directives[0].range.start);
    done
}

/// The kind, normalised condition and squeezed text of the directive
/// `line` (from its `#`); `None` for other directives.
fn read_directive(line: &[u8]) -> Option<(DirectiveKind, String, String)> {
    let text = squeeze(line);
    let rest = text.strip_prefix('#')?.trim_start();
    let word_end = rest
        .bytes()
        .position(|b| !source::is_ident_byte(b))
        .unwrap_or(rest.len());
    let (word, arg) = (&rest[..word_end], rest[word_end..].trim());
    let (kind, cond) = match word {
        "if" => (DirectiveKind::Open, normalise(arg)),
        "ifdef" => (DirectiveKind::Open, format!("defined({arg})")),
        "ifndef" => (DirectiveKind::Open, format!("!defined({arg})")),
        "elif" => (DirectiveKind::Elif, normalise(arg)),
        "elifdef" => (DirectiveKind::Elif, format!("defined({arg})")),
        "elifndef" => (DirectiveKind::Elif, format!("!defined({arg})")),
        "else" => (DirectiveKind::Else, String::new()),
        "endif" => (DirectiveKind::Endif, String::new()),
        _ => return None,
    };
    let shown = if text.chars().count() > 48 {
        let cut: String = text.chars().take(45).collect();
        format!("{cut}...")
    } else {
        text
    };
    Some((kind, cond, shown))
}

/// A directive's text with comments and line continuations dropped and
/// blanks squeezed to one space.
fn squeeze(line: &[u8]) -> String {
    let mut out = String::new();
    let mut i = 0;
    let mut blank = false;
    while i < line.len() {
        let c = line[i];
        if c == b'/' && line.get(i + 1) == Some(&b'*') {
            i = memchr::memmem::find(&line[i + 2..], b"*/").map_or(line.len(), |k| i + 2 + k + 2);
            blank = true;
            continue;
        }
        if c == b'/' && line.get(i + 1) == Some(&b'/') {
            break;
        }
        if c == b'\\' || c.is_ascii_whitespace() {
            blank = true;
            i += 1;
            continue;
        }
        if blank && !out.is_empty() {
            out.push(' ');
        }
        blank = false;
        out.push(char::from(c));
        i += 1;
    }
    out
}

/// `#if` conditions that differ only in how `defined` is written read as
/// one: `defined X`, `defined ( X )` and `defined(X)`; blanks dropped.
fn normalise(cond: &str) -> String {
    let tight: String = cond.split(' ').collect();
    let mut out = String::new();
    let mut rest = tight.as_str();
    while let Some(k) = rest.find("defined") {
        let before_ok = k == 0 || !source::is_ident_byte(rest.as_bytes()[k - 1]);
        out.push_str(&rest[..k + 7]);
        rest = &rest[k + 7..];
        if !before_ok {
            continue;
        }
        // In the squeezed text `defined X` lost its blank: `definedX`.
        let name_end = rest
            .bytes()
            .position(|b| !source::is_ident_byte(b))
            .unwrap_or(rest.len());
        if name_end > 0 {
            out.push('(');
            out.push_str(&rest[..name_end]);
            out.push(')');
            rest = &rest[name_end..];
        }
    }
    out.push_str(rest);
    out
}

/// A choice of branches for some groups of a text, by variable.
#[derive(Debug, Clone)]
pub struct Configurations<'g> {
    /// The groups configured.
    groups: Vec<&'g Group>,
    /// Each group's variable and whether it reads it negated.
    vars: Vec<(usize, bool)>,
    /// Branches of each variable.
    n_values: Vec<usize>,
}

/// One configuration: a value per variable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Configuration(Vec<usize>);

impl<'g> Configurations<'g> {
    /// The configurations of `groups`.
    pub fn new(groups: Vec<&'g Group>) -> Configurations<'g> {
        let mut names: Vec<String> = Vec::new();
        let mut n_values = Vec::new();
        let vars = groups
            .iter()
            .map(|g| {
                let (name, negated) = g.variable();
                let k = names.iter().position(|n| *n == name).unwrap_or_else(|| {
                    names.push(name);
                    n_values.push(g.n_branches());
                    names.len() - 1
                });
                (k, negated)
            })
            .collect();
        Configurations {
            groups,
            vars,
            n_values,
        }
    }

    /// The groups configured, in the order given.
    pub fn groups(&self) -> &[&'g Group] {
        &self.groups
    }

    /// How many configurations there are (saturating).
    pub fn count(&self) -> usize {
        self.n_values
            .iter()
            .fold(1usize, |n, &v| n.saturating_mul(v))
    }

    /// Every configuration, the first taking the first branch of each
    /// group.
    pub fn all(&self) -> Vec<Configuration> {
        let mut out = vec![Configuration(vec![0; self.n_values.len()])];
        for (k, &n) in self.n_values.iter().enumerate() {
            out = out
                .into_iter()
                .flat_map(|c| {
                    (0..n).map(move |v| {
                        let mut c = c.clone();
                        c.0[k] = v;
                        c
                    })
                })
                .collect();
        }
        out
    }

    /// The branch group `g` (an index into the groups given) takes in `c`.
    fn branch(&self, g: usize, c: &Configuration) -> usize {
        let (var, negated) = self.vars[g];
        let v = c.0[var];
        if negated {
            1 - v.min(1)
        } else {
            v
        }
    }

    /// `text` as configuration `c` reads it: each group's directive
    /// lines and the branches it does not take blanked.
    pub fn text(&self, text: &[u8], c: &Configuration) -> Vec<u8> {
        let mut out = text.to_vec();
        for (gi, g) in self.groups.iter().enumerate() {
            let keep = self.branch(gi, c);
            for d in &g.directives {
                blank(&mut out[d.range.clone()]);
            }
            for b in 0..g.n_branches() {
                if b != keep {
                    blank(&mut out[g.body(b)]);
                }
            }
        }
        out
    }

    /// How configuration `c` reads in a message: the branch each variable
    /// takes, named by its first group inside `near` (variables without a
    /// group there are left out, unless none has one).
    pub fn describe(&self, c: &Configuration, lines: &LineIndex, near: &Range<usize>) -> String {
        let inside = |g: &Group| {
            let start = g.directives[0].range.start;
            near.start <= start && start < near.end
        };
        let mut parts = Vec::new();
        for pass in [true, false] {
            for var in 0..self.n_values.len() {
                let gi = self
                    .vars
                    .iter()
                    .enumerate()
                    .position(|(gi, (v, _))| *v == var && (!pass || inside(self.groups[gi])));
                if let Some(gi) = gi {
                    parts.push(self.groups[gi].describe_branch(self.branch(gi, c), lines));
                }
            }
            if !parts.is_empty() {
                break;
            }
        }
        parts.join(" and ")
    }
}

/// Every byte of `bytes` but `\n` becomes a space.
fn blank(bytes: &mut [u8]) {
    for b in bytes.iter_mut().filter(|b| **b != b'\n') {
        *b = b' ';
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(text: &str, want: &[&str]) {
        let groups = groups(text.as_bytes());
        let confs = Configurations::new(groups.iter().collect());
        let got: Vec<String> = confs
            .all()
            .iter()
            .map(|c| {
                let t = confs.text(text.as_bytes(), c);
                assert_eq!(t.len(), text.len());
                String::from_utf8(t)
                    .unwrap()
                    .split_whitespace()
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect();
        assert_eq!(got, want);
    }

    #[test]
    fn each_configuration_keeps_one_branch() {
        check(
            "a;\n#ifdef X\nb;\n#else\nc;\n#endif\nd;\n",
            &["a; b; d;", "a; c; d;"],
        );
        // No #else: the empty branch.
        check("#if A > 1 /* c */\nb;\n#endif\n", &["b;", ""]);
        check(
            "#if A\na;\n#elif B\nb;\n#else\nc;\n#endif\n",
            &["a;", "b;", "c;"],
        );
    }

    #[test]
    fn groups_that_read_one_condition_take_matching_branches() {
        // #ifdef X, #if defined X and #ifndef X: one variable, two
        // configurations, the #ifndef always opposite.
        check(
            "#ifdef X\na{\n#endif\n#if defined X\nb;\n#endif\n#ifndef X\nc;\n#endif\n",
            &["a{ b;", "c;"],
        );
        // Continuations and comments do not make another variable.
        check(
            "#if defined(A) && \\\n  B\nx;\n#endif\n#if defined ( A ) /* again */ && B\ny;\n#endif\n",
            &["x; y;", ""],
        );
    }

    #[test]
    fn nested_groups_and_lines() {
        let text = "#ifdef X\n#ifdef Y\na;\n#endif\n#else\nb;\n#endif\n";
        let gs = groups(text.as_bytes());
        assert_eq!(gs.len(), 2);
        let confs = Configurations::new(gs.iter().collect());
        assert_eq!(confs.count(), 4);
        let lines = LineIndex::new(text.as_bytes());
        let all = 0..text.len();
        let descs: Vec<String> = confs
            .all()
            .iter()
            .map(|c| confs.describe(c, &lines, &all))
            .collect();
        // Near the inner group only: only its variable.
        assert_eq!(
            confs.describe(&confs.all()[1], &lines, &(9..20)),
            "no branch of `#ifdef Y` at line 2"
        );
        assert_eq!(
            descs[1],
            "the `#ifdef X` branch at line 1 and no branch of `#ifdef Y` at line 2"
        );
        assert_eq!(
            descs[2],
            "the `#else` branch of `#ifdef X` at line 1 and the `#ifdef Y` branch at line 2"
        );
        // An unmatched #endif or an unclosed #if makes no group.
        assert!(groups(b"#endif\n#else\n").is_empty());
        assert!(groups(b"#if A\nx;\n").is_empty());
        // Directives in comments are not directives.
        assert!(groups(b"/*\n#if A\n*/\nx;\n#endif\n").is_empty());
    }
}
