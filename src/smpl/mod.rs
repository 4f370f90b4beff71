//! Rules: the supported subset of Coccinelle's SmPL, parsed into patterns the
//! matcher can run.
//!
//! A rule file holds rules; a rule has a header (`@name@`), metavariable
//! declarations, and a body of context, minus and plus code arranged with
//! function contexts, `<... ...>` nests and `( | )` disjunctions. Code
//! fragments are parsed with tree-sitter (see `pattern`), so a pattern is a
//! C syntax tree whose identifiers may be metavariables.
//!
//! **Invariant:** a construct outside the subset is an error with its line and
//! column, never ignored.

mod parse;
mod pattern;

use std::fmt;

pub use pattern::{is_statement, PNode, Piece, Template};

/// The rule that runs when no `--rule` is given.
pub const DEFAULT_RULE: &str = include_str!("../../rules/bv_page.cocci");
/// The name under which the default rule is reported.
pub const DEFAULT_RULE_NAME: &str = "rules/bv_page.cocci (built in)";

/// A problem in a rule file, at a place in it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}:{line}:{col}: {msg}")]
pub struct RuleError {
    /// The rule file's name.
    pub path: String,
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub col: usize,
    /// What is wrong, and what to do when that is known.
    pub msg: String,
}

/// A position in a rule file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Pos {
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub col: usize,
}

/// Which column-0 sign a rule line carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sign {
    /// Context code: matched, kept.
    Context,
    /// `-` code: matched, removed.
    Minus,
    /// `+` code: added.
    Plus,
}

/// A parsed rule file.
#[derive(Debug)]
pub struct RuleFile {
    /// Its name, for messages.
    pub path: String,
    /// Its rules, in order: those that run with the virtual rules defined
    /// when it was read (see `Virtuals`).
    pub rules: Vec<Rule>,
    /// The names its `virtual` lines declare.
    pub virtuals: Vec<String>,
    /// The header lines (1-based) of the rules that do not run with those
    /// virtual rules, and of the script rules: not read further.
    pub skipped_lines: Vec<usize>,
}

impl RuleFile {
    /// Whether line `n` (1-based) of the rule file belongs to a rule that
    /// runs: false for the lines from a skipped rule's header to the next
    /// header; true before the first header (`virtual` lines, comments).
    pub fn line_runs(&self, n: usize) -> bool {
        let last_header = |lines: &mut dyn Iterator<Item = usize>| lines.filter(|&l| l <= n).max();
        let ran = last_header(&mut self.rules.iter().map(|r| r.line));
        let skipped = last_header(&mut self.skipped_lines.iter().copied());
        match (ran, skipped) {
            (_, None) => true,
            (None, Some(_)) => false,
            (Some(r), Some(s)) => r > s,
        }
    }
}

/// The virtual rules defined for a run, as spatch's `-D NAME`.
///
/// A rule whose `depends on` names a virtual rule runs only when its
/// condition holds with the defined names true and the others false; bvmig
/// decides that when it reads the file, and a rule that cannot run is not
/// read further (spatch reads it, then skips it). With no `-D`, bvmig
/// defines `patch`, the mode its commands work in (spatch defines nothing,
/// and `make coccicheck` passes `-D MODE`); a `-D` given replaces that
/// default, and must name a `virtual` of the file, as spatch requires.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Virtuals {
    names: Vec<String>,
    /// Given on the command line, not the default.
    given: bool,
}

impl Default for Virtuals {
    fn default() -> Virtuals {
        Virtuals {
            names: vec![DEFAULT_VIRTUAL.to_string()],
            given: false,
        }
    }
}

/// The virtual rule bvmig defines when no `-D` is given.
pub const DEFAULT_VIRTUAL: &str = "patch";

impl Virtuals {
    /// The names of `-D NAME` options; none means the default (`patch`).
    pub fn from_defines(defines: &[String]) -> Virtuals {
        if defines.is_empty() {
            return Virtuals::default();
        }
        let mut names = defines.to_vec();
        names.sort();
        names.dedup();
        Virtuals { names, given: true }
    }

    /// Whether `name` is defined.
    pub fn defines(&self, name: &str) -> bool {
        self.names.iter().any(|n| n == name)
    }

    /// For messages: `-D a -D b`, or `-D patch (the default)`.
    fn describe(&self) -> String {
        let list: Vec<String> = self.names.iter().map(|n| format!("-D {n}")).collect();
        if self.given {
            list.join(" ")
        } else {
            format!("{} (the default)", list.join(" "))
        }
    }
}

/// One rule: `@name@ metavariables @@ body`.
#[derive(Debug)]
pub struct Rule {
    /// The line of its header in the rule file (1-based).
    pub line: usize,
    /// The name in the header, if any.
    pub name: Option<String>,
    /// `depends on ...`: the rule runs on a file only when this holds.
    pub depends: Option<Dep>,
    /// Declared metavariables; patterns refer to them by index.
    pub metavars: Vec<Metavar>,
    /// What the rule matches and how it rewrites.
    pub body: Pat,
}

/// The kinds of metavariable the subset supports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetaKind {
    /// `expression E;` matches any expression.
    Expression,
    /// `identifier I;` matches a name.
    Identifier,
    /// `constant C;` matches a literal (number, character, string), or a
    /// name in capitals, which the kernel spells macros with (`PAGE_SIZE`).
    Constant,
    /// `type T;` matches a type (`struct page`, `unsigned int`, `pfn_t`).
    Type,
    /// `struct bio_vec *BV;` matches an expression of that type, as far as
    /// declarations tell (see `types`); its type is in [`Metavar::ty`].
    Typed,
    /// `statement S;` matches one statement (a block, an `if`, a loop, an
    /// expression statement ...), not a declaration.
    Statement,
}

/// A constraint on what an identifier metavariable may match.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Constraint {
    /// `= {a, b}`
    In(Vec<String>),
    /// `!= {a, b}`
    NotIn(Vec<String>),
    /// `=~ "re"`: the regular expression matches somewhere in the name.
    Matches(Regex),
    /// `!~ "re"`: it matches nowhere in the name.
    NotMatches(Regex),
}

/// A compiled regular expression that compares by its source.
#[derive(Debug, Clone)]
pub struct Regex(pub regex::Regex);

impl PartialEq for Regex {
    fn eq(&self, other: &Regex) -> bool {
        self.0.as_str() == other.0.as_str()
    }
}

impl Eq for Regex {}

impl Constraint {
    /// True when `name` satisfies the constraint.
    pub fn allows(&self, name: &str) -> bool {
        match self {
            Constraint::In(set) => set.iter().any(|s| s == name),
            Constraint::NotIn(set) => !set.iter().any(|s| s == name),
            Constraint::Matches(re) => re.0.is_match(name),
            Constraint::NotMatches(re) => !re.0.is_match(name),
        }
    }
}

impl fmt::Display for Constraint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Constraint::In(s) => write!(f, "= {{{}}}", s.join(", ")),
            Constraint::NotIn(s) => write!(f, "!= {{{}}}", s.join(", ")),
            Constraint::Matches(re) => write!(f, "=~ {:?}", re.0.as_str()),
            Constraint::NotMatches(re) => write!(f, "!~ {:?}", re.0.as_str()),
        }
    }
}

/// A `depends on` condition over the names of earlier rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Dep {
    /// The named rule matched in this file.
    Rule(String),
    /// `!d`
    Not(Box<Dep>),
    /// `a && b`
    And(Box<Dep>, Box<Dep>),
    /// `a || b`
    Or(Box<Dep>, Box<Dep>),
}

impl Dep {
    /// Evaluates the condition, `matched` telling which rules matched.
    pub fn holds(&self, matched: &dyn Fn(&str) -> bool) -> bool {
        match self {
            Dep::Rule(r) => matched(r),
            Dep::Not(d) => !d.holds(matched),
            Dep::And(a, b) => a.holds(matched) && b.holds(matched),
            Dep::Or(a, b) => a.holds(matched) || b.holds(matched),
        }
    }
}

/// A declared metavariable.
#[derive(Debug, Clone)]
pub struct Metavar {
    /// Its name.
    pub name: String,
    /// What it matches.
    pub kind: MetaKind,
    /// A constraint on identifiers.
    pub constraint: Option<Constraint>,
    /// The type of a typed expression metavariable.
    pub ty: Option<crate::c::types::CType>,
}

/// A function name in a context: a metavariable or a literal name.
#[derive(Debug, Clone)]
pub enum NameRef {
    /// Index of an identifier metavariable.
    Meta(usize),
    /// A literal function name.
    Literal(String),
}

/// The structure of a rule body.
#[derive(Debug)]
pub enum Pat {
    /// `NAME(...) { body }`: inside function definitions (and, in this tool,
    /// `#define` bodies) whose name fits `name`.
    Function {
        /// The function's name.
        name: NameRef,
        /// What must match inside it.
        body: Box<Pat>,
    },
    /// `struct NAME { ... P ... };`: inside the definitions of that struct
    /// (or union), among its members.
    Struct {
        /// `struct_specifier` or `union_specifier`.
        kind: &'static str,
        /// The struct's tag.
        tag: String,
        /// What must match among the members.
        body: Box<Pat>,
    },
    /// `<... P ...>`: every match of `P`, anywhere.
    Nest(Box<Pat>),
    /// `( P1 | P2 )`: the first branch that matches.
    Disj(Vec<Pat>),
    /// A C fragment, with its rewrite if it has minus code.
    Code(Box<Code>),
    /// Statements of one block, kept or removed, with `...` between them and
    /// statements added among them.
    Stmts(Box<Stmts>),
}

/// A statement-level fragment: statements of one block matched in order,
/// consecutive ones next to each other, `...` skipping any statements of
/// the same block in between.
#[derive(Debug)]
pub struct Stmts {
    /// Where it starts in the rule file.
    pub pos: Pos,
    /// The statements, gaps and additions, in order.
    pub items: Vec<Item>,
    /// Metavariables that the added code evaluates more often than the
    /// removed code did: their bindings must be free of side effects.
    pub duplicated: Vec<usize>,
    /// Field names written literally in the `-` statements.
    pub fields: Vec<String>,
}

/// A piece of a [`Stmts`] fragment.
#[derive(Debug)]
pub enum Item {
    /// One statement: kept (context code) or removed (`-` code).
    Stmt {
        /// What it matches.
        pattern: PNode,
        /// Whether it is removed.
        minus: bool,
    },
    /// `...`: any statements of the same block, up to the first that the
    /// next statement matches.
    Dots {
        /// `when != E`: no statement in the gap holds a match of these.
        not: Vec<PNode>,
        /// `when any`: the statements before `...` may match again in the
        /// gap (the path need not be the shortest).
        any: bool,
    },
    /// `+` statements added here, one template each.
    Add(Vec<Template>),
}

impl Stmts {
    /// Whether the fragment changes code (removes or adds statements).
    pub fn changes(&self) -> bool {
        self.items
            .iter()
            .any(|i| matches!(i, Item::Stmt { minus: true, .. } | Item::Add(_)))
    }

    /// Whether it removes statements.
    pub fn removes(&self) -> bool {
        self.items
            .iter()
            .any(|i| matches!(i, Item::Stmt { minus: true, .. }))
    }

    /// The names its statements write literally.
    pub fn literal_names(&self) -> Vec<String> {
        let mut names = Vec::new();
        for item in &self.items {
            if let Item::Stmt { pattern, .. } = item {
                literal_names(pattern, &mut names);
            }
        }
        names
    }

    /// The templates of the added statements.
    pub fn templates(&self) -> impl Iterator<Item = &Template> {
        self.items.iter().flat_map(|i| match i {
            Item::Add(t) => t.as_slice(),
            _ => &[],
        })
    }
}

/// A C fragment of a rule: what it matches and what replaces it.
#[derive(Debug)]
pub struct Code {
    /// Where it starts in the rule file.
    pub pos: Pos,
    /// The tree to match (context and minus code).
    pub pattern: PNode,
    /// The replacement (plus code) when the fragment is minus code.
    pub replacement: Option<Template>,
    /// Metavariables that the replacement uses more often than the pattern
    /// binds them: their bindings are evaluated more than once, so they must
    /// be free of side effects.
    pub duplicated: Vec<usize>,
    /// Expression metavariables that the pattern binds more often than
    /// the replacement uses them (`page_address(E->bv_page) + E->bv_offset`
    /// becoming `bvec_virt(E)`): an evaluation goes, so their bindings
    /// must be free of side effects too.
    pub dropped: Vec<usize>,
    /// Field names written literally in the minus code (`bv_page`).
    pub fields: Vec<String>,
}

impl RuleFile {
    /// Parses rule file `text`, named `path` in messages.
    pub fn parse(path: &str, text: &str) -> Result<RuleFile, RuleError> {
        parse::parse_file(path, text, &Virtuals::default())
    }

    /// Parses rule file `text` with the virtual rules `virtuals` defined.
    pub fn parse_with(path: &str, text: &str, virtuals: &Virtuals) -> Result<RuleFile, RuleError> {
        parse::parse_file(path, text, virtuals)
    }

    /// Parses the bytes of a rule file named `path`: text that is not UTF-8
    /// is an error at the line and column of its first bad byte.
    pub fn from_bytes(
        path: &str,
        bytes: Vec<u8>,
        virtuals: &Virtuals,
    ) -> Result<RuleFile, RuleError> {
        let text = String::from_utf8(bytes).map_err(|e| {
            let good = &e.as_bytes()[..e.utf8_error().valid_up_to()];
            let line = good.iter().filter(|&&b| b == b'\n').count() + 1;
            let col = good.len() - good.iter().rposition(|&b| b == b'\n').map_or(0, |p| p + 1) + 1;
            RuleError {
                path: path.to_string(),
                line,
                col,
                msg: "rule file is not valid UTF-8".into(),
            }
        })?;
        RuleFile::parse_with(path, &text, virtuals)
    }

    /// The built-in default rule.
    pub fn default_rule() -> RuleFile {
        RuleFile::parse(DEFAULT_RULE_NAME, DEFAULT_RULE).expect("the built-in rule parses")
    }

    /// Field names that every rewrite that removes a field removes: each
    /// of their occurrences is a site to rewrite or report. Fragments that
    /// remove no field (`- struct bio_vec I = { NULL };`) are left out; then
    /// a file without the fields may still change (see
    /// [`RuleFile::anchors`]). `None` when no fragment removes a field, in
    /// which case no site is counted.
    pub fn tracked_fields(&self) -> Option<Vec<String>> {
        let mut all: Option<Vec<String>> = None;
        for rule in &self.rules {
            for change in rule.body.changes() {
                let Some(fields) = change.fields.filter(|f| !f.is_empty()) else {
                    continue;
                };
                all = Some(match all {
                    None => fields.to_vec(),
                    Some(prev) => prev.into_iter().filter(|f| fields.contains(f)).collect(),
                });
            }
        }
        all.filter(|f| !f.is_empty())
    }

    /// For each rule, words of which every match of the rule holds one in
    /// its own text: for each fragment (context code included), a tracked
    /// field it names, or else its longest literal name (the pattern
    /// compares names by their text). Only the subtrees that hold an
    /// occurrence of one of them need searching. `None` for a rule with a
    /// fragment that names nothing literally (it may match anywhere).
    pub fn anchors(&self, tracked: &[String]) -> Vec<Option<Vec<String>>> {
        let names_tracked = |f: &[String]| f.iter().any(|f| tracked.contains(f));
        self.rules
            .iter()
            .map(|r| {
                let mut codes = Vec::new();
                r.body.codes(&mut codes);
                let mut stmts = Vec::new();
                r.body.stmts(&mut stmts);
                let mut words: Vec<String> = tracked.to_vec();
                let mut add = |names: Vec<String>| -> Option<()> {
                    let best = names.into_iter().max_by_key(|n| (n.len(), n.clone()))?;
                    if !words.contains(&best) {
                        words.push(best);
                    }
                    Some(())
                };
                for c in codes {
                    if !names_tracked(&c.fields) {
                        let mut names = Vec::new();
                        literal_names(&c.pattern, &mut names);
                        add(names)?;
                    }
                }
                for s in stmts {
                    if !names_tracked(&s.fields) {
                        add(s.literal_names())?;
                    }
                }
                Some(words)
            })
            .collect()
    }
}

/// A call that a rule's plus code writes: `bvec_set_page(E, V)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmittedCall {
    /// The function called.
    pub name: String,
    /// How many arguments the rule passes.
    pub n_args: usize,
    /// Where the fragment that writes it starts in the rule file.
    pub pos: Pos,
}

impl RuleFile {
    /// The calls the rules' plus code writes, one per name and argument
    /// count, in rule order. Helpers the tree must define with these
    /// arities for the output to compile.
    pub fn emitted_calls(&self) -> Vec<EmittedCall> {
        let mut out: Vec<EmittedCall> = Vec::new();
        for rule in &self.rules {
            for change in rule.body.changes() {
                for (name, n_args) in change.templates.iter().flat_map(|t| t.calls()) {
                    if !out.iter().any(|c| c.name == name && c.n_args == n_args) {
                        out.push(EmittedCall {
                            name,
                            n_args,
                            pos: change.pos,
                        });
                    }
                }
            }
        }
        out
    }
}

impl RuleFile {
    /// The files any rule can change, as clauses of words: a file can
    /// change only if it holds every word of some clause. One clause per
    /// fragment with a replacement, its literal names (a field, a function,
    /// a variable: the pattern compares names by their text), without the
    /// clauses that hold another one whole. `None` when some such fragment
    /// has no literal name.
    pub fn prefilter_clauses(&self) -> Option<Vec<Vec<String>>> {
        let mut clauses: Vec<Vec<String>> = Vec::new();
        for rule in &self.rules {
            for change in rule.body.changes() {
                let mut names = change.names;
                if names.is_empty() {
                    return None;
                }
                names.sort_unstable();
                names.dedup();
                clauses.push(names);
            }
        }
        Some(absorbed(clauses))
    }
}

/// `clauses` (each sorted) without duplicates and without those that hold
/// another whole (a file with all of the larger one's words has the
/// smaller one's too): shortest first.
pub fn absorbed(mut clauses: Vec<Vec<String>>) -> Vec<Vec<String>> {
    clauses.sort_by(|a, b| a.len().cmp(&b.len()).then_with(|| a.cmp(b)));
    clauses.dedup();
    let mut out: Vec<Vec<String>> = Vec::new();
    for c in clauses {
        if !out
            .iter()
            .any(|o| o.iter().all(|w| c.binary_search(w).is_ok()))
        {
            out.push(c);
        }
    }
    out
}

fn literal_names(p: &PNode, out: &mut Vec<String>) {
    match p {
        PNode::Meta(_) => {}
        PNode::Seq(items) => items.iter().for_each(|c| literal_names(c, out)),
        PNode::Node {
            kind,
            text,
            children,
        } => {
            if matches!(*kind, "identifier" | "field_identifier" | "type_identifier") {
                if let Some(t) = text {
                    out.push(t.to_string());
                }
            }
            children.iter().for_each(|c| literal_names(c, out));
        }
    }
}

impl Pat {
    /// All code fragments below this pattern.
    pub fn codes<'a>(&'a self, out: &mut Vec<&'a Code>) {
        match self {
            Pat::Function { body, .. } | Pat::Struct { body, .. } | Pat::Nest(body) => {
                body.codes(out)
            }
            Pat::Disj(branches) => branches.iter().for_each(|b| b.codes(out)),
            Pat::Code(c) => out.push(c),
            Pat::Stmts(_) => {}
        }
    }

    /// All statement-level fragments below this pattern.
    pub fn stmts<'a>(&'a self, out: &mut Vec<&'a Stmts>) {
        match self {
            Pat::Function { body, .. } | Pat::Struct { body, .. } | Pat::Nest(body) => {
                body.stmts(out)
            }
            Pat::Disj(branches) => branches.iter().for_each(|b| b.stmts(out)),
            Pat::Code(_) => {}
            Pat::Stmts(s) => out.push(s),
        }
    }

    /// What each fragment below this pattern that changes code changes:
    /// the field names it removes, the literal names its match needs, the
    /// plus code it writes.
    fn changes(&self) -> Vec<Change<'_>> {
        let mut codes = Vec::new();
        self.codes(&mut codes);
        let mut out: Vec<Change> = codes
            .into_iter()
            .filter_map(|c| {
                let t = c.replacement.as_ref()?;
                let mut names = Vec::new();
                literal_names(&c.pattern, &mut names);
                Some(Change {
                    pos: c.pos,
                    fields: Some(&c.fields),
                    names,
                    templates: vec![t],
                })
            })
            .collect();
        let mut stmts = Vec::new();
        self.stmts(&mut stmts);
        for s in stmts.into_iter().filter(|s| s.changes()) {
            let names = s.literal_names();
            out.push(Change {
                pos: s.pos,
                fields: s.removes().then_some(&s.fields[..]),
                names,
                templates: s.templates().collect(),
            });
        }
        out
    }
}

/// What one fragment of a rule changes (see [`Pat::changes`]).
struct Change<'a> {
    pos: Pos,
    /// The field names it removes; `None` when it only adds code.
    fields: Option<&'a [String]>,
    /// The literal names its match needs.
    names: Vec<String>,
    /// Its plus code.
    templates: Vec<&'a Template>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_rule_emits_the_2015_helpers() {
        let calls: Vec<(String, usize)> = RuleFile::default_rule()
            .emitted_calls()
            .into_iter()
            .map(|c| (c.name, c.n_args))
            .collect();
        assert_eq!(
            calls,
            vec![("bvec_set_page".into(), 2), ("bvec_page".into(), 1)]
        );
    }

    #[test]
    fn emitted_calls_look_inside_arguments() {
        let rf = RuleFile::parse(
            "t.cocci",
            "@@\nexpression E, S, L, O;\n@@\n- sg_set_page(S, E->bv_page, L, O)\n+ sg_set_pfn(S, bvec_pfn(E), L, O)\n",
        )
        .unwrap();
        let calls: Vec<(String, usize)> = rf
            .emitted_calls()
            .into_iter()
            .map(|c| (c.name, c.n_args))
            .collect();
        assert_eq!(
            calls,
            vec![("sg_set_pfn".into(), 4), ("bvec_pfn".into(), 1)]
        );
    }

    fn words(w: &[&str]) -> Vec<String> {
        w.iter().map(|w| w.to_string()).collect()
    }

    #[test]
    fn prefilter_clauses_need_every_name_of_a_fragment() {
        let rf = RuleFile::parse(
            "t.cocci",
            "@@\nexpression E;\n@@\n(\n- kmap_atomic(bvec_page(E))\n+ kmap_atomic_pfn_t(bvec_pfn(E))\n|\n- page_to_phys(bvec_page(E))\n+ pfn_t_to_phys(bvec_pfn(E))\n)\n",
        )
        .unwrap();
        assert_eq!(rf.tracked_fields(), None);
        // Each fragment needs both of its names.
        assert_eq!(
            rf.prefilter_clauses(),
            Some(vec![
                words(&["bvec_page", "kmap_atomic"]),
                words(&["bvec_page", "page_to_phys"])
            ])
        );
        // A fragment whose names hold another's whole adds nothing: a
        // file that has all of its names has the other's.
        let rf = RuleFile::parse(
            "t.cocci",
            "@@\nexpression E, F;\n@@\n(\n- f(g(E), h(F))\n+ k(E)\n|\n- g(h(E))\n+ k(E)\n|\n- h(E)\n+ k(E)\n)\n",
        )
        .unwrap();
        assert_eq!(rf.prefilter_clauses(), Some(vec![words(&["h"])]));
        // A fragment with no literal name at all: no prefilter.
        let rf =
            RuleFile::parse("t.cocci", "@@\nexpression E, F;\n@@\n- E + F\n+ F + E\n").unwrap();
        assert_eq!(rf.prefilter_clauses(), None);
    }

    #[test]
    fn anchors_name_a_word_of_every_fragment() {
        let rule = "@@\nexpression E, L, O;\n@@\n(\n- E->bv_page\n+ bvec_page(E)\n|\n- bvec_set_page(E, virt_to_page(L), O)\n+ bvec_set_virt(E, L, O)\n)\n";
        let rf = RuleFile::parse("t.cocci", rule).unwrap();
        // The second fragment removes no field, so it needs an anchor of
        // its own.
        assert_eq!(rf.tracked_fields(), Some(words(&["bv_page"])));
        assert_eq!(
            rf.anchors(&words(&["bv_page"])),
            vec![Some(words(&["bv_page", "bvec_set_page"]))]
        );
        // Context code counts too; a fragment naming nothing anchors nothing.
        let rf = RuleFile::parse(
            "t.cocci",
            "@@\nexpression E, F;\n@@\n(\n- E->bv_page\n+ bvec_page(E)\n|\n- E + F\n+ F + E\n)\n",
        )
        .unwrap();
        assert_eq!(rf.anchors(&words(&["bv_page"])), vec![None]);
    }

    #[test]
    fn default_rule_tracks_bv_page() {
        let rf = RuleFile::default_rule();
        assert_eq!(rf.rules.len(), 1);
        assert_eq!(rf.tracked_fields(), Some(vec!["bv_page".to_string()]));
        let Pat::Function {
            name: NameRef::Meta(m),
            body,
        } = &rf.rules[0].body
        else {
            panic!("default rule has a function context");
        };
        let fnvar = &rf.rules[0].metavars[*m];
        assert_eq!(fnvar.kind, MetaKind::Identifier);
        assert!(!fnvar.constraint.as_ref().unwrap().allows("bvec_page"));
        assert!(matches!(**body, Pat::Nest(_)));
    }

    fn with(text: &str, defines: &[&str]) -> Result<RuleFile, String> {
        let d: Vec<String> = defines.iter().map(|s| s.to_string()).collect();
        RuleFile::parse_with("v.cocci", text, &Virtuals::from_defines(&d))
            .map_err(|e| e.to_string())
    }

    const MODES: &str = "virtual patch\nvirtual context, org\nvirtual report\n\
@ p depends on patch @\nexpression E;\n@@\n- E->bv_page\n+ bvec_page(E)\n\
@ c depends on context && !patch @\nexpression E;\n@@\n* E->bv_page\n\
@ r depends on (org || report) && !patch @\nexpression E;\nposition q;\n@@\n E->bv_page@q\n\
@ script:python depends on report @\nq << r.q;\n@@\ncoccilib.report.print_report(q[0], \"x\")\n\
@ after depends on r || p @\nexpression E;\n@@\n- E->bv_len\n+ bvec_len(E)\n";

    #[test]
    fn virtual_rules_decide_which_rules_are_read() {
        // Default: patch is defined; the report rules are not read.
        let rf = with(MODES, &[]).unwrap();
        assert_eq!(rf.virtuals, vec!["patch", "context", "org", "report"]);
        let names: Vec<_> = rf
            .rules
            .iter()
            .map(|r| r.name.as_deref().unwrap())
            .collect();
        assert_eq!(names, vec!["p", "after"]);
        // `r || p` with r skipped: depends on p alone.
        assert_eq!(rf.rules[1].depends, Some(Dep::Rule("p".into())));
        assert_eq!(rf.rules[0].depends, None);
        // The same with -D patch given.
        assert_eq!(with(MODES, &["patch"]).unwrap().rules.len(), 2);
        // -D context reads the context rule, whose '*' lines are outside
        // the subset: an error at its place, not a silent skip.
        let e = with(MODES, &["context"]).unwrap_err();
        assert!(e.starts_with("v.cocci:12:1: '*'"), "{e}");
        // -D report reads rule r: its position metavariable is refused.
        let e = with(MODES, &["report"]).unwrap_err();
        assert!(
            e.starts_with("v.cocci:15:1: metavariable kind 'position'"),
            "{e}"
        );
    }

    #[test]
    fn script_rules_are_skipped_or_refused_at_their_place() {
        let text =
            "virtual patch\nvirtual report\n@@\nexpression E;\n@@\n- E->bv_page\n+ bvec_page(E)\n\
@script:python depends on report@\n@@\nprint(1)\n@initialize:python@\n@@\nimport re\n";
        let e = with(text, &[]).unwrap_err();
        assert!(
            e.starts_with("v.cocci:11:2: 'script:python' rules are not run by bvmig"),
            "{e}"
        );
        let text = text.replace("@initialize:python@\n@@\nimport re\n", "");
        assert_eq!(with(&text, &[]).unwrap().rules.len(), 1);
        let e = with(&text, &["report"]).unwrap_err();
        assert!(e.starts_with("v.cocci:8:2: 'script:python'"), "{e}");
    }

    #[test]
    fn defines_must_name_a_virtual_of_the_file() {
        let e = with(MODES, &["patch", "chain"]).unwrap_err();
        assert!(
            e.starts_with("v.cocci:1:1: -D chain: this file has no 'virtual chain'"),
            "{e}"
        );
        // The default needs no declaration: a file without virtual lines.
        let plain = "@@\nexpression E;\n@@\n- E->bv_page\n+ bvec_page(E)\n";
        assert_eq!(with(plain, &[]).unwrap().rules.len(), 1);
        let e = with(plain, &["patch"]).unwrap_err();
        assert!(
            e.contains("-D patch: this file has no 'virtual patch' (it declares none)"),
            "{e}"
        );
    }

    #[test]
    fn a_file_whose_rules_all_wait_for_other_modes_is_an_error() {
        let text = "virtual patch\nvirtual report\n@ depends on report @\nexpression E;\n@@\n- E->bv_page\n+ bvec_page(E)\n";
        let e = with(text, &[]).unwrap_err();
        assert!(
            e.starts_with("v.cocci:1:1: no rule of this file runs with -D patch (the default)"),
            "{e}"
        );
        assert_eq!(with(text, &["report"]).unwrap().rules.len(), 1);
        // An undeclared name in 'depends on' is still an error.
        let e = with("virtual patch\n@ depends on pach @\n@@\n- a\n+ b\n", &[]).unwrap_err();
        assert!(
            e.starts_with("v.cocci:2:14: 'depends on' names 'pach'"),
            "{e}"
        );
        // A bad virtual line names its place.
        let e = with("virtual patch, 3x\n@@\n@@\n- a\n+ b\n", &[]).unwrap_err();
        assert_eq!(e, "v.cocci:1:16: expected a virtual rule name, found '3x'");
    }

    #[test]
    fn negated_skipped_rules_hold() {
        let text = "virtual patch\nvirtual report\n@ r depends on report @\n@@\n- a\n+ b\n\
@ s depends on !r && patch @\n@@\n- c\n+ d\n";
        let rf = with(text, &[]).unwrap();
        assert_eq!(rf.rules.len(), 1);
        assert_eq!(rf.rules[0].depends, None);
    }
}
