//! The engine under hostile input, through the real binary: nesting deep
//! enough to overflow any recursion, rules whose plus code holds their whole
//! match, `#if 0` regions that hide braces, headers that do not parse, and
//! ERROR regions around a broad rule. A stack overflow aborts the process,
//! which only a test running the binary can see.

use crate::util::{bvmig, TempDir};

/// A file that must be rewritten whatever its neighbours hold.
const PLAIN: &str = "void h(struct bio_vec *bv, struct page *p)\n{\n\tbv->bv_page = p;\n}\n";

/// Asserts the run ended by itself (no signal, no panic's exit status),
/// and gives its stdout and stderr.
fn ran(out: &crate::util::Output) -> (String, String) {
    assert!(
        out.code == 0 || out.code == 1 || out.code == 2,
        "bvmig died (status {}): {}",
        out.code,
        out.stderr_text()
    );
    (out.stdout_text(), out.stderr_text())
}

/// Files nesting `n` parentheses, braces, and parentheses inside a
/// `#define` body, each around a `bv_page` site.
fn deep_files(t: &TempDir, n: usize) -> [&'static str; 3] {
    let (open, close) = ("(".repeat(n), ")".repeat(n));
    t.write(
        "deep_parens.c",
        format!("struct page *f(struct bio_vec *bv)\n{{\n\treturn {open}bv->bv_page{close};\n}}\n"),
    );
    let (open, close) = ("{".repeat(n), "}".repeat(n));
    t.write(
        "deep_braces.c",
        format!(
            "void g(struct bio_vec *bv, struct page *p)\n{{\n\t{open}bv->bv_page = p;{close}\n}}\n"
        ),
    );
    let (open, close) = ("(".repeat(n), ")".repeat(n));
    t.write(
        "deep_define.h",
        // With a use that reads it: a macro whose uses are not seen is
        // left (their contexts decide whether a helper call may stand).
        format!(
            "#define BV_PAGE(bv) {open}(bv)->bv_page{close}\n\
             static inline struct page *h(struct bio_vec *bv) {{ return BV_PAGE(bv); }}\n"
        ),
    );
    ["deep_parens.c", "deep_braces.c", "deep_define.h"]
}

#[test]
fn deep_nesting_costs_one_error_line_per_file_never_the_run() {
    let t = TempDir::new();
    let deep = deep_files(&t, 50_000);
    t.write("plain.c", PLAIN);
    let out = bvmig(t.path(), &["patch", "."]);
    let (stdout, stderr) = ran(&out);
    // The ordinary file is rewritten as if it were alone.
    assert!(stdout.contains("+++ b/plain.c"), "{stdout}");
    assert!(stdout.contains("+\tbvec_set_page(bv, p);"), "{stdout}");
    for name in deep {
        assert!(!stdout.contains(&format!("b/{name}")), "{name}: {stdout}");
        let errors: Vec<&str> = stderr
            .lines()
            .filter(|l| l.starts_with("bvmig: error:") && l.contains(name))
            .collect();
        assert_eq!(errors.len(), 1, "one error line for {name}: {stderr}");
        assert!(errors[0].contains("nests deeper than"), "{}", errors[0]);
        // Its site is reported as left, with the reason.
        assert!(
            stderr.contains(&format!("{name}:")) && stderr.contains("unparsed: nests deeper"),
            "{stderr}"
        );
    }
    assert_eq!(
        out.code, 2,
        "an input that could not be rewritten is an error"
    );
}

#[test]
fn moderate_nesting_is_rewritten() {
    // Far below the limit: kernel code nests a few dozen levels.
    let t = TempDir::new();
    deep_files(&t, 200);
    let out = bvmig(t.path(), &["patch", "."]);
    let (stdout, stderr) = ran(&out);
    assert_eq!(out.code, 0, "{stderr}");
    for (name, new) in [
        ("deep_parens.c", "(bvec_page(bv)))"),
        ("deep_braces.c", "{bvec_set_page(bv, p);}"),
        ("deep_define.h", "(bvec_page(bv)))"),
    ] {
        let hunk = stdout
            .split("diff --git")
            .find(|h| h.contains(&format!("+++ b/{name}")))
            .unwrap_or_else(|| panic!("{name} is not rewritten: {stdout}"));
        assert!(hunk.contains(new), "{name}: {hunk}");
    }
}

#[test]
fn deep_nesting_in_check_is_reported_not_fatal() {
    let t = TempDir::new();
    deep_files(&t, 50_000);
    t.write("plain.c", PLAIN);
    let out = bvmig(t.path(), &["check", "."]);
    let (stdout, stderr) = ran(&out);
    assert!(
        stdout.contains("plain.c") || stderr.contains("plain.c"),
        "{stdout}{stderr}"
    );
}

/// Runs `rule` (a file's text) over `input` in place: the file after, the
/// run's stderr and its exit status.
fn run_in_place(rule: &str, input: &str) -> (String, String, i32) {
    let t = TempDir::new();
    t.write("r.cocci", rule);
    t.write("a.c", input);
    let out = bvmig(
        t.path(),
        &["patch", "--rule", "r.cocci", "--in-place", "a.c"],
    );
    let (_, stderr) = ran(&out);
    (String::from_utf8(t.read("a.c")).unwrap(), stderr, out.code)
}

/// Runs `rule` over `input`, which must succeed, and gives the rewritten
/// file.
fn rewrite_with(rule: &str, input: &str) -> String {
    let (got, stderr, code) = run_in_place(rule, input);
    assert_eq!(code, 0, "{stderr}");
    got
}

#[test]
fn plus_code_that_reuses_the_whole_match_terminates() {
    let input = "int f(int a, int b)\n{\n\treturn a + g(b);\n}\n";
    // Every match is outermost; the binding it reuses is written as it was,
    // never matched again.
    let call = "@@\nexpression E;\n@@\n- E\n+ wrap(E)\n";
    assert_eq!(
        rewrite_with(call, input),
        "int f(int a, int b)\n{\n\treturn wrap(a + g(b));\n}\n"
    );
    let paren = "@@\nexpression E;\n@@\n- E\n+ (E)\n";
    assert_eq!(
        rewrite_with(paren, input),
        "int f(int a, int b)\n{\n\treturn (a + g(b));\n}\n"
    );
    let block = "@@\nstatement S;\n@@\n- S\n+ { S }\n";
    let out = rewrite_with(block, "void f(int a)\n{\n\tif (a)\n\t\tg(a);\n}\n");
    assert!(out.contains("{ {"), "{out}");
    assert_eq!(out.matches('{').count(), 2, "{out}");
}

/// Runs `bvmig patch --in-place .` twice in `t`: the first run's stderr,
/// and the second run's diff (`bvmig patch .` after it).
fn twice(t: &TempDir) -> (String, String) {
    let first = bvmig(t.path(), &["patch", "--in-place", "."]);
    let (_, stderr) = ran(&first);
    let second = bvmig(t.path(), &["patch", "."]);
    let (diff, _) = ran(&second);
    (stderr, diff)
}

#[test]
fn one_run_reaches_the_fixed_point_around_if_0() {
    let cases = [
        // An #if 0 that opens a brace it never closes.
        "#if 0\nstatic void old(struct bio_vec *bv)\n{\n#endif\nvoid f(struct bio_vec *bv, struct page *p)\n{\n\tbv->bv_page = p;\n}\nstruct page *g(struct bio_vec *bv)\n{\n\treturn bv->bv_page;\n}\n",
        // An #if 0 never closed.
        "void f(struct bio_vec *bv, struct page *p)\n{\n\tbv->bv_page = p;\n}\n#if 0\nstruct page *g(struct bio_vec *bv)\n{\n\treturn bv->bv_page;\n}\n",
        // An #if 0 ... #else spanning a function's opening brace.
        "#if 0\nvoid f(struct bio_vec *bv, struct page *p) {\n#else\nvoid f(struct bio_vec *bv, struct page *p)\n{\n#endif\n\tbv->bv_page = p;\n}\nstruct page *g(struct bio_vec *bv)\n{\n\treturn bv->bv_page;\n}\n",
        // #if 0 closing a brace opened outside it.
        "void f(struct bio_vec *bv, struct page *p)\n{\n\tbv->bv_page = p;\n#if 0\n}\n#endif\n\tg(bv->bv_page);\n}\nstruct page *h(struct bio_vec *bv)\n{\n\treturn bv->bv_page;\n}\n",
    ];
    for (k, text) in cases.iter().enumerate() {
        let t = TempDir::new();
        t.write("a.c", text);
        let (stderr, diff) = twice(&t);
        assert_eq!(diff, "", "case {k}: the second run changed more:\n{stderr}");
        // Every site of the file is accounted for in the first report.
        let n_sites = text.matches("bv_page").count();
        assert!(
            stderr.contains(&format!("bvmig: {n_sites} sites")),
            "case {k}: {stderr}"
        );
    }
}

/// The four-parameter helper of Linux 6.3, as include/linux/bvec.h has it.
const SET_PAGE_4: &str = "static inline void bvec_set_page(struct bio_vec *bv, struct page *page,\n\t\tunsigned int len, unsigned int offset)\n{\n\tbv->bv_page = page;\n\tbv->bv_len = len;\n\tbv->bv_offset = offset;\n}\n";

#[test]
fn rule_choice_finds_the_four_parameter_helper_in_a_header_that_does_not_parse() {
    let junk = [
        // Junk before the definition.
        ("int x = = ;\n@@ garbage ( [\n", ""),
        // Junk after it, and an unclosed #if.
        ("", "#if defined(CONFIG_X\nstatic int y = ) 1;\n"),
        // An #if 0 that closes a brace opened before the definition.
        ("#if 0\nstatic void z(void) {\n#endif\n", ""),
        // An unterminated struct before it.
        (
            "struct bvec_iter {\n\tunsigned int bi_size\n",
            "\nint (*broken)(;\n",
        ),
    ];
    for (k, (before, after)) in junk.iter().enumerate() {
        let t = TempDir::new();
        t.write("Makefile", "VERSION = 6\n");
        t.write("Kconfig", "mainmenu \"Linux\"\n");
        t.write(
            "include/linux/bvec.h",
            format!(
                "#ifndef __LINUX_BVEC_H\n#define __LINUX_BVEC_H\nstruct page;\nstruct bio_vec {{\n\tstruct page *bv_page;\n\tunsigned int bv_len;\n\tunsigned int bv_offset;\n}};\n{before}{SET_PAGE_4}{after}\n#endif\n"
            ),
        );
        t.write(
            "drivers/a.c",
            "void f(struct bio_vec *bv, struct page *p)\n{\n\tbv->bv_page = p;\n}\n",
        );
        let out = bvmig(t.path(), &["patch", "drivers"]);
        let (stdout, stderr) = ran(&out);
        let two_args = stdout.lines().any(|l| {
            l.starts_with('+')
                && l.contains("bvec_set_page(bv, p)")
                && !l.contains("__bvec_set_page(bv, p)")
        });
        assert!(!two_args, "case {k}: a two-argument call:\n{stdout}");
        let modern = stdout.contains("__bvec_set_page(bv, p)");
        let refused = out.code == 2
            && stderr.contains("include/linux/bvec.h:")
            && stderr.contains("bvec_set_page()");
        assert!(modern || refused, "case {k}:\n{stdout}\n{stderr}");
    }
}

#[test]
fn a_broad_rule_never_edits_directives_or_error_regions() {
    let rule = "@@\nexpression E;\n@@\n- E\n+ 0\n";
    let input = "\
#define A(x) ((x) + 1)
#define B 2
int broken = = 1 +;
int also = ( 3 +
#define E 7
;
#if A(B) > 1
static int v = A(3);
#endif
#define C(x) \\
\t((x) * 2)
void f(void)
{
\tint y = ) 4;
\tg(5);
}
#define D 6
";
    let (got, stderr, _) = run_in_place(rule, input);
    // Each directive keeps its line; a #define keeps its head, and its
    // body is the original or what the rule writes (the body parsed on
    // its own is code the rule may match); other directives are untouched.
    let directives = |s: &str| -> Vec<String> {
        let mut v = Vec::new();
        let mut cont = false;
        for l in s.lines() {
            if cont || l.starts_with('#') {
                v.push(l.to_string());
            }
            cont = (cont || l.starts_with('#')) && l.ends_with('\\');
        }
        v
    };
    let (old, new) = (directives(input), directives(&got));
    assert_eq!(old.len(), new.len(), "{got}\n{stderr}");
    for (o, n) in old.iter().zip(&new) {
        if o == n {
            continue;
        }
        let head = |l: &str| {
            l.strip_prefix("#define ")
                .map(|rest| rest.split(' ').next().unwrap_or("").to_string())
        };
        // The bodies of A and C as a whole would drop the evaluation of
        // their parameter, which a use may pass with side effects: only the
        // constants inside them are the rule's.
        let partial = ["#define A(x) ((x) + 0)", "\t((x) * 0)"];
        let ok = partial.contains(&n.as_str())
            || match (head(o), head(n)) {
                (Some(a), Some(b)) => a == b && n.ends_with(" 0"),
                // A continuation line that held the body.
                (None, None) => !o.starts_with('#') && n.trim() == "0",
                _ => false,
            };
        assert!(ok, "{o:?} became {n:?}:\n{got}");
    }
    for broken in ["int broken = = 1 +;", "int also = ( 3 +", "\tint y = ) 4;"] {
        assert!(got.contains(broken), "{broken:?} was edited:\n{got}");
    }
}

/// A bvec.h declaring `struct bio_vec` under each branch of an `#if`,
/// with the four-parameter `bvec_set_page()` after them.
fn bvec_h_two_branches(cond: &str) -> String {
    let decl = |len: &str| {
        format!("struct bio_vec {{\n\tstruct page\t*bv_page;\n\t{len}\tbv_len;\n\t{len}\tbv_offset;\n}};\n")
    };
    format!(
        "#ifndef __LINUX_BVEC_H\n#define __LINUX_BVEC_H\n\nstruct page;\n\n{cond}\n{}#else\n{}#endif\n\n\
         static inline void bvec_set_page(struct bio_vec *bv, struct page *page,\n\t\tunsigned int len, unsigned int offset)\n\
         {{\n\tbv->bv_page = page;\n\tbv->bv_len = len;\n\tbv->bv_offset = offset;\n}}\n\n#endif\n",
        decl("unsigned short"),
        decl("unsigned int")
    )
}

#[test]
fn struct_bio_vec_under_two_conditions_chooses_the_rule_and_refuses_to_place_helpers() {
    // The rule choice sees the one bvec_set_page() whatever the branches;
    // helpers after one definition would be compiled without the other,
    // so the placement refuses in one line and --in-place writes nothing.
    for cond in [
        "#ifdef CONFIG_BVEC_SMALL",
        "#if defined(CONFIG_X) && !IS_ENABLED(CONFIG_Y)",
    ] {
        let t = TempDir::new();
        let top = crate::util::kernel_tree(&t, "");
        t.write("include/linux/bvec.h", bvec_h_two_branches(cond));
        let before = crate::util::snapshot(&top);
        for args in [&["patch"][..], &["patch", "--in-place"][..]] {
            let out = bvmig(&top, args);
            let err = out.stderr_text();
            assert_eq!(out.code, 2, "{cond} {args:?}: {err}");
            assert!(
                err.contains("rule chosen because include/linux/bvec.h:20:20 has bvec_set_page() with 4 parameters"),
                "{cond} {args:?}: {err}"
            );
            assert!(
                err.contains("bvmig: error: include/linux/bvec.h: struct bio_vec is defined on lines 7 and 13, and helpers after one would not be compiled with the others"),
                "{cond} {args:?}: {err}"
            );
            assert_eq!(crate::util::snapshot(&top), before, "{cond} {args:?}");
        }
        // With --no-helpers the files are rewritten for the chosen rule.
        let out = bvmig(&top, &["patch", "--no-helpers"]);
        assert_eq!(out.code, 0, "{cond}: {}", out.stderr_text());
        assert!(
            out.stdout_text().contains("+\t__bvec_set_page(bv, p);"),
            "{cond}: {}",
            out.stdout_text()
        );
    }
    // Under `#if 0` the first branch is dead: one definition is left,
    // and the helpers go into the header.
    let t = TempDir::new();
    let top = crate::util::kernel_tree(&t, "");
    t.write("include/linux/bvec.h", bvec_h_two_branches("#if 0"));
    let out = bvmig(&top, &["patch"]);
    assert_eq!(out.code, 0, "{}", out.stderr_text());
    assert!(
        out.stdout_text().contains("+++ b/include/linux/bvec.h"),
        "{}",
        out.stdout_text()
    );
}
