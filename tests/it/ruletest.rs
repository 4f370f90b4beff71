//! `bvmig test`: every built-in rule file passes its own cases (this is
//! how CI runs them), and a case that fails is reported with the diff of
//! what it expects and what the rule gives.

use std::path::Path;

use crate::util::{bvmig, TempDir};

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn every_rule_file_passes_its_cases() {
    let out = bvmig(repo(), &["test", "rules/"]);
    let text = out.stdout_text();
    assert_eq!(out.code, 0, "{text}{}", out.stderr_text());
    assert!(out.stderr.is_empty(), "{}", out.stderr_text());
    assert!(text.ends_with(" 0 failed, 0 broken\n"), "{text}");
    // Every line but the summary is a case that passed.
    let lines: Vec<&str> = text.lines().collect();
    let (summary, cases) = lines.split_last().unwrap();
    assert!(summary.starts_with("bvmig test: 8 rule files, "), "{text}");
    assert!(
        cases.iter().all(|l| l.starts_with("ok     rules/tests/")),
        "{text}"
    );
    // At least five cases for each rule file.
    for stem in [
        "bv_page",
        "bv_page-modern",
        "bv_page-typed",
        "bv_pfn",
        "bv_pfn-api",
        "bv_phys",
    ] {
        let prefix = format!("ok     rules/tests/{stem}/");
        let n = cases.iter().filter(|l| l.starts_with(&prefix)).count();
        assert!(n >= 5, "{stem}: {n} cases\n{text}");
    }
}

#[test]
fn a_failing_case_is_reported_with_its_diff() {
    let t = TempDir::new();
    t.write(
        "rules/bv_page.cocci",
        std::fs::read(repo().join("rules/bv_page.cocci")).unwrap(),
    );
    let input = "void f(struct bio_vec *bv, struct page *p)\n{\n\tbv->bv_page = p;\n\tg(&bv->bv_page);\n}\n";
    t.write("rules/tests/bv_page/write.c", input);
    // The expectation of someone who thinks writes are left alone.
    t.write("rules/tests/bv_page/write.res", input);
    // No write.report: the case expects no site left.
    t.write(
        "rules/tests/bv_page/read.c",
        "int x(struct bio_vec bv) { return !bv.bv_page; }\n",
    );
    t.write(
        "rules/tests/bv_page/read.res",
        "int x(struct bio_vec bv) { return !bvec_page(&bv); }\n",
    );

    let out = bvmig(t.path(), &["test"]);
    assert_eq!(out.code, 1, "{}{}", out.stdout_text(), out.stderr_text());
    assert_eq!(
        out.stdout_text(),
        "ok     rules/tests/bv_page/read.c
FAIL   rules/tests/bv_page/write.c
--- rules/tests/bv_page/write.res
+++ rules/tests/bv_page/write.c rewritten by rules/bv_page.cocci
@@ -1,5 +1,5 @@
 void f(struct bio_vec *bv, struct page *p)
 {
-\tbv->bv_page = p;
+\tbvec_set_page(bv, p);
 \tg(&bv->bv_page);
 }
--- rules/tests/bv_page/write.report
+++ sites rules/bv_page.cocci leaves in rules/tests/bv_page/write.c
@@ -0,0 +1 @@
+write.c:4:9: address: its address is taken; a helper call has no address
bvmig test: 1 rule files, 2 cases: 1 passed, 1 failed, 0 broken
"
    );

    // --update writes what the rule gives; then the case passes.
    let out = bvmig(t.path(), &["test", "--update", "rules/bv_page.cocci"]);
    assert_eq!(out.code, 0, "{}", out.stdout_text());
    assert_eq!(
        String::from_utf8(t.read("rules/tests/bv_page/write.res")).unwrap(),
        input.replace("bv->bv_page = p;", "bvec_set_page(bv, p);")
    );
    let out = bvmig(t.path(), &["test", "rules"]);
    assert_eq!(out.code, 0, "{}", out.stdout_text());
}

#[test]
fn a_broken_rule_file_exits_2_naming_the_place() {
    let t = TempDir::new();
    t.write(
        "rules/x.cocci",
        "@@\nexpression E;\n@@\n- E->bv_page\n+ bvec_page(E\n",
    );
    t.write("rules/tests/x/a.c", "int a;\n");
    t.write("rules/tests/x/a.res", "int a;\n");
    let out = bvmig(
        t.path(),
        &[
            "test",
            "rules/x.cocci",
            "nowhere.cocci",
            "nowhere",
            "rules/tests/x/a.c",
        ],
    );
    assert_eq!(out.code, 2, "{}", out.stdout_text());
    let text = out.stdout_text();
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].starts_with("BROKEN rules/x.cocci:5:"), "{text}");
    assert!(lines[0].contains("does not parse as C"), "{text}");
    assert!(lines[1].starts_with("BROKEN nowhere.cocci: "), "{text}");
    // A missing path is said to be missing, whatever its name.
    assert!(
        lines[2].starts_with("BROKEN nowhere: No such file or directory"),
        "{text}"
    );
    assert_eq!(
        lines[3],
        "BROKEN rules/tests/x/a.c: not a .cocci rule file or a directory"
    );
    assert_eq!(
        lines[4],
        "bvmig test: 4 rule files, 0 cases: 0 passed, 0 failed, 4 broken"
    );
}
