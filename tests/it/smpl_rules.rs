//! Rule files that bvmig once read as something else (issue 11): each
//! construct outside the subset is now an error with its line and column,
//! or is read as written; never a run with exit 0 and a wrong result.

use crate::util::{bvmig, TempDir};

const C: &str = "struct page;\nstruct bio_vec { struct page *bv_page; unsigned int bv_len; };\n\
void f(struct bio_vec *bv, struct page *p)\n{\n\tint x;\n\tx = foo(bv->bv_len);\n\tx = bar(bv->bv_len);\n\tx = baz(bv->bv_len);\n}\n";

/// Runs `bvmig patch --rule r.cocci` on [`C`]; returns exit code, stdout
/// and stderr.
fn run(rule: &str) -> (i32, String, String) {
    let t = TempDir::new();
    t.write("r.cocci", rule);
    t.write("c.c", C);
    let out = bvmig(t.path(), &["patch", "--rule", "r.cocci", "c.c"]);
    (out.code, out.stdout_text(), out.stderr_text())
}

/// Each rule is refused with one error line at the place given.
#[test]
fn constructs_outside_the_subset_are_refused_at_their_place() {
    let cases = [
        // A comment in '+' code would be dropped.
        (
            "@@\nexpression E;\n@@\n- E->bv_page\n+ // page of E\n+ bvec_page(E)\n",
            "r.cocci:5:3: a comment in '+' code is not supported yet",
        ),
        (
            "@@\nexpression E;\n@@\n- E->bv_page\n+ bvec_page(E) /* x */\n",
            "r.cocci:5:16: a comment in '+' code",
        ),
        // A loop around a nest is not a function named 'while'.
        (
            "@@\nexpression E;\n@@\nwhile(...) {\n<...\n- E->bv_page\n+ bvec_page(E)\n...>\n}\n",
            "r.cocci:4:1: 'while (...) { ... }' is not supported",
        ),
        (
            "@@\nexpression E;\n@@\nif(...) {\n<...\n- E->bv_page\n+ bvec_page(E)\n...>\n}\n",
            "r.cocci:4:1: 'if (...) { ... }' is not supported",
        ),
        // A struct tag that is a metavariable.
        (
            "@@\nidentifier i;\nstruct i *e;\n@@\n- e->bv_page\n+ bvec_page(e)\n",
            "r.cocci:3:8: 'i' is a metavariable: a typed metavariable's struct tag must be written out",
        ),
        // A format string pattern.
        (
            "@@\nexpression E;\n@@\n- pr_info(\"...%d...\", E)\n+ pr_debug(\"%d\", E)\n",
            "r.cocci:4:11: format string patterns (\"...%d...\") are not supported yet",
        ),
        // List kinds name the list.
        (
            "@@\nexpression list[n] es;\n@@\n- f(es)\n+ g(es)\n",
            "r.cocci:2:1: metavariable kind 'expression list' is not supported yet",
        ),
        (
            "@@\nidentifier list is;\n@@\n- f(is)\n+ g(is)\n",
            "r.cocci:2:1: metavariable kind 'identifier list' is not supported yet",
        ),
        (
            "@@\nstatement list SS;\n@@\n- f(1);\n+ g(1);\n",
            "r.cocci:2:1: metavariable kind 'statement list' is not supported yet",
        ),
        // '...' in a struct body, a statement block, an initializer, brackets.
        (
            "@@\n@@\n- struct s { ... int x; ... };\n+ struct s { int y; };\n",
            "r.cocci:3:14: '...' inside a struct, union or enum body",
        ),
        (
            "@@\nexpression E;\n@@\n- if (E) { ... bar(E); }\n+ if (E) { baz(E); }\n",
            "r.cocci:4:12: '...' inside a statement block",
        ),
        (
            "@@\nexpression E;\n@@\n- foo(E, ...)\n+ bar(E)\n",
            "r.cocci:4:10: '...' inside an expression or an argument list",
        ),
        // 'when' clauses other than '!=' and 'any' name themselves.
        (
            "@@\nexpression E;\n@@\n- foo(E);\n... when exists\n- bar(E);\n",
            "r.cocci:5:10: only 'when != E' and 'when any' are supported",
        ),
        (
            "@@\nexpression E;\n@@\n- foo(E);\n... when strict\n- bar(E);\n",
            "r.cocci:5:10: only 'when != E' and 'when any' are supported",
        ),
        // A disjunction in '+' code.
        (
            "@@\nexpression E;\n@@\n- foo(E)\n+ \\(bar\\|baz\\)(E)\n",
            "r.cocci:5:3: a disjunction in '+' code is not supported",
        ),
    ];
    for (rule, want) in cases {
        let (code, stdout, stderr) = run(rule);
        assert_eq!(code, 2, "{rule}\n{stdout}{stderr}");
        assert_eq!(stderr.lines().count(), 1, "{rule}\n{stderr}");
        assert!(
            stderr.starts_with(&format!("bvmig: error: {want}")),
            "for {rule:?}:\n want {want}\n got  {stderr}"
        );
        assert!(stdout.is_empty(), "{rule}: {stdout}");
    }
}

/// An inline disjunction inside a fragment is read as a disjunction of
/// the whole fragment: every branch rewrites, nested ones too.
#[test]
fn inline_disjunctions_inside_a_statement_are_read() {
    let (code, stdout, stderr) =
        run("@@\nexpression E;\nidentifier x;\n@@\n- x = \\(foo\\|bar\\)(E);\n+ x = qux(E);\n");
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("-\tx = foo(bv->bv_len);\n"), "{stdout}");
    assert!(stdout.contains("-\tx = bar(bv->bv_len);\n"), "{stdout}");
    assert_eq!(
        stdout.matches("+\tx = qux(bv->bv_len);\n").count(),
        2,
        "{stdout}"
    );
    assert!(stdout.contains(" \tx = baz(bv->bv_len);\n"), "{stdout}");
    // In an expression, with a nested one.
    let (code, stdout, stderr) =
        run("@@\nexpression E;\n@@\n- \\(foo\\|\\(bar\\|baz\\)\\)(E->bv_len)\n+ qux(E)\n");
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(stdout.matches("+\tx = qux(bv);\n").count(), 3, "{stdout}");
}

/// A context-only rule of several statements matches them as statements of
/// one block, so that a rule depending on it runs where they are.
#[test]
fn a_context_rule_of_two_statements_satisfies_depends_on() {
    let dependent = "\n@ depends on r @\nexpression E;\n@@\n- baz(E)\n+ qux(E)\n";
    let (code, stdout, stderr) = run(&format!(
        "@ r @\nexpression E;\n@@\nx = foo(E);\nx = bar(E);\n{dependent}"
    ));
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.contains("+\tx = qux(bv->bv_len);\n"),
        "{stdout}{stderr}"
    );
    // Statements that are not there in that order: the rule did not match.
    let (code, stdout, stderr) = run(&format!(
        "@ r @\nexpression E;\n@@\nx = bar(E);\nx = foo(E);\n{dependent}"
    ));
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.is_empty(), "{stdout}");
}

/// Non-ASCII text in each place of a rule file: a header (name, condition,
/// words after it), a `virtual` line, a metavariable's kind, name, set or
/// struct tag, and code on `-`, `+` and context lines. Each is one error
/// line naming the file, the line and the column in characters (never a
/// panic); in comments and literals it is text like any other.
#[test]
fn non_ascii_text_in_every_place_of_a_rule() {
    let body = "- E->bv_page\n+ bvec_page(E)\n";
    let refused = [
        (
            format!("@ é @\nexpression E;\n@@\n{body}"),
            "r.cocci:1:3: rule header 'é' is not supported",
        ),
        (
            format!("@ ré @\nexpression E;\n@@\n{body}"),
            "r.cocci:1:4: rule header 'é' is not supported",
        ),
        (
            format!("@ r depends on é @\nexpression E;\n@@\n{body}"),
            "r.cocci:1:16: expected a rule name in 'depends on', found 'é'",
        ),
        (
            format!("@ r depends on ü && é @\nexpression E;\n@@\n{body}"),
            "r.cocci:1:16: expected a rule name in 'depends on', found 'ü'",
        ),
        (
            format!("@ r exists é @\nexpression E;\n@@\n{body}"),
            "r.cocci:1:12: rule header 'é' is not supported",
        ),
        (
            format!("@ r @ é\nexpression E;\n@@\n{body}"),
            "r.cocci:1:7: unexpected 'é' after the rule header",
        ),
        (
            format!("@ ü @ é\nexpression E;\n@@\n{body}"),
            "r.cocci:1:7: unexpected 'é' after the rule header",
        ),
        (
            "@script:é r@\n@@\n".to_string(),
            "r.cocci:1:2: 'script:é' rules are not run by bvmig",
        ),
        ("é\n".to_string(), "r.cocci:1:1: expected a rule header"),
        (
            format!("virtual é\n@@\nexpression E;\n@@\n{body}"),
            "r.cocci:1:9: expected a virtual rule name, found 'é'",
        ),
        (
            format!("@@\nexpressioné E;\n@@\n{body}"),
            "r.cocci:2:11: expected a metavariable name, found 'é'",
        ),
        (
            format!("@@\nexpression é;\n@@\n{body}"),
            "r.cocci:2:12: expected a metavariable name, found 'é'",
        ),
        (
            format!("@@\nexpression E, é;\n@@\n{body}"),
            "r.cocci:2:15: expected a metavariable name, found 'é'",
        ),
        (
            format!("@@\nidentifier fn != {{é}};\nexpression E;\n@@\n{body}"),
            "r.cocci:2:19: expected a name in the set, found 'é'",
        ),
        (
            "@@\nstruct é *e;\n@@\n- e->bv_page\n+ bvec_page(e)\n".to_string(),
            "r.cocci:2:8: expected a name after 'struct', found 'é'",
        ),
        (
            "@@\nexpression E;\n@@\n- E->bv_pagé\n+ bvec_page(E)\n".to_string(),
            "r.cocci:4:12: unexpected character 'é'",
        ),
        (
            "@@\nexpression E;\n@@\n- E->bv_page\n+ bvec_pagé(E)\n".to_string(),
            "r.cocci:5:11: unexpected character 'é'",
        ),
        (
            "@@\nexpression E;\n@@\n- E->bv_page\n+ bvec_page(E) é\n".to_string(),
            "r.cocci:5:16: unexpected character 'é'",
        ),
        (
            "@@\nexpression E;\n@@\n(\n- E->bv_page\n+ bvec_page(E)\n|\né\n)\n".to_string(),
            "r.cocci:8:1: unexpected character 'é'",
        ),
        (
            "@@\nexpression E;\n@@\n- \"é\" + E->bv_pagé\n+ bvec_page(E)\n".to_string(),
            "r.cocci:4:18: unexpected character 'é'",
        ),
    ];
    for (rule, want) in &refused {
        let (code, stdout, stderr) = run(rule);
        assert_eq!(code, 2, "{rule}\n{stdout}{stderr}");
        assert_eq!(stderr.lines().count(), 1, "{rule}\n{stderr}");
        assert!(
            stderr.starts_with(&format!("bvmig: error: {want}")),
            "for {rule:?}:\n want {want}\n got  {stderr}"
        );
    }
    // In comments and literals: read as written.
    let read = [
        format!("// é\n@@\nexpression E; // é\n@@\n/* é */\n{body}"),
        "@@\nexpression E;\n@@\n- E->bv_page // é\n+ bvec_page(E)\n".to_string(),
        "@@\nidentifier fn =~ \"é\";\nexpression E;\n@@\n- E->bv_page\n+ bvec_page(E)\n"
            .to_string(),
    ];
    for rule in &read {
        let (code, _, stderr) = run(rule);
        assert_eq!(code, 0, "{rule}\n{stderr}");
    }
    let (code, stdout, stderr) =
        run("@@\nexpression E;\n@@\n- foo(E->bv_len)\n+ foo(\"é\", E->bv_len)\n");
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.contains("+\tx = foo(\"é\", bv->bv_len);\n"),
        "{stdout}"
    );
}

/// A rule whose minus code names no field tracks none: each of its matches
/// is a site, so that what it rewrote and what it left (with the reason)
/// are reported by `patch` and `check`, never a silent "nothing".
#[test]
fn a_rule_that_tracks_no_field_reports_its_matches() {
    let t = TempDir::new();
    t.write(
        "r.cocci",
        "@@\nexpression E;\n@@\n- foo(E) + foo(E)\n+ 2 * foo(E)\n",
    );
    t.write(
        "g.c",
        "int foo(int);\nint next(void);\nvoid f(int a)\n{\n\tint x = foo(a) + foo(a);\n\tx = foo(next()) + foo(next());\n\tx = foo(a) - foo(a);\n}\n",
    );
    let out = bvmig(t.path(), &["patch", "--rule", "r.cocci", "g.c"]);
    assert_eq!(out.code, 0, "{}", out.stderr_text());
    assert!(
        out.stdout_text().contains("+\tint x = 2 * foo(a);\n"),
        "{}",
        out.stdout_text()
    );
    assert_eq!(
        out.stderr_text(),
        "g.c:6:6: match: 'next()' is evaluated more often here than by the replacement and may have side effects\n\
         bvmig: rule r.cocci; field none (each match is a site)\n\
         bvmig: 1 files walked, 1 parsed\n\
         bvmig: 2 sites: 2 match\n\
         bvmig: 1 rewritten in 1 files, 1 left for a human\n"
    );
    let out = bvmig(t.path(), &["check", "--rule", "r.cocci", "g.c"]);
    assert_eq!(out.code, 1, "{}", out.stderr_text());
    assert_eq!(
        out.stdout_text(),
        "g.c:5:10: warning: match: use 2 * foo(a)\n\
         g.c:6:6: warning: match: 'next()' is evaluated more often here than by the replacement and may have side effects\n"
    );
}
