//! The helpers a rule emits, on kernel-like trees: the rule that fits is
//! chosen and said, missing helpers are added to include/linux/bvec.h so
//! that the patch compiles, and a rule whose helper the tree defines with
//! another arity is an error naming the definition.

use crate::util::{bvmig, run_tool, TempDir};

/// include/linux/bvec.h as Linux 6.3 and later have it: bvec_set_page()
/// takes four arguments, and there is no bvec_page().
const BVEC_H_63: &str = "\
#ifndef __LINUX_BVEC_H
#define __LINUX_BVEC_H

struct page;

struct bio_vec {
	struct page	*bv_page;
	unsigned int	bv_len;
	unsigned int	bv_offset;
};

static inline void bvec_set_page(struct bio_vec *bv, struct page *page,
		unsigned int len, unsigned int offset)
{
	bv->bv_page = page;
	bv->bv_len = len;
	bv->bv_offset = offset;
}

#endif
";

const USER_C: &str = "\
#include <linux/bvec.h>

void fill(struct bio_vec *bv, struct page *page, unsigned int len)
{
	bv->bv_page = page;
	bv->bv_len = len;
	bv->bv_offset = 0;
}

void swap_page(struct bio_vec *bv, struct page *page)
{
	bv->bv_page = page;
}

struct page *first(struct bio_vec *bv)
{
	return bv->bv_page;
}
";

fn tree_63() -> TempDir {
    let t = TempDir::new();
    t.write("include/linux/bvec.h", BVEC_H_63);
    t.write("block/user.c", USER_C);
    t
}

fn compiles(t: &TempDir, file: &str) -> Result<(), String> {
    run_tool(
        t.path(),
        "gcc",
        &[
            "-fsyntax-only",
            "-Wall",
            "-Werror",
            "-Iinclude",
            "-x",
            "c",
            file,
        ],
    )
    .map(|_| ())
}

#[test]
fn a_tree_with_the_four_argument_helper_gets_the_modern_rule_and_compiles() {
    let t = tree_63();
    compiles(&t, "block/user.c").expect("the input compiles");
    let out = bvmig(t.path(), &["patch", "."]);
    assert_eq!(out.code, 0, "{}", out.stderr_text());
    let err = out.stderr_text();
    assert!(
        err.contains("bvmig: rule rules/bv_page-modern.cocci (built in); field bv_page\n"),
        "{err}"
    );
    assert!(
        err.contains("bvmig: rule chosen because include/linux/bvec.h:12:20 has bvec_set_page() with 4 parameters"),
        "{err}"
    );
    assert!(
        err.contains("bvmig: note: adds bvec_page(), __bvec_set_page() to include/linux/bvec.h"),
        "{err}"
    );
    let diff = out.stdout_text();
    assert!(
        diff.contains("+\tbvec_set_page(bv, page, len, 0);\n"),
        "{diff}"
    );
    assert!(diff.contains("+\t__bvec_set_page(bv, page);\n"), "{diff}");
    assert!(diff.contains("+\treturn bvec_page(bv);\n"), "{diff}");
    t.write("out.patch", &out.stdout);
    run_tool(t.path(), "patch", &["-p1", "--quiet", "-i", "out.patch"]).unwrap();
    compiles(&t, "block/user.c").expect("the patched file compiles");
    // Nothing more to do, and the helpers are not added twice.
    let again = bvmig(t.path(), &["patch", "."]);
    assert_eq!(again.stdout_text(), "", "{}", again.stderr_text());
    assert!(!again.stderr_text().contains("note: adds"));
}

#[test]
fn no_helpers_leaves_the_header_alone_and_says_what_is_missing() {
    let t = tree_63();
    let out = bvmig(t.path(), &["patch", "--no-helpers", "."]);
    assert_eq!(out.code, 0, "{}", out.stderr_text());
    assert!(!out.stdout_text().contains("include/linux/bvec.h"));
    assert!(
        out.stderr_text().contains(
            "bvmig: note: the tree lacks bvec_page(), __bvec_set_page(); the patch does not compile without them"
        ),
        "{}",
        out.stderr_text()
    );
}

#[test]
fn a_given_rule_whose_helper_has_another_arity_is_an_error_and_nothing_is_printed() {
    let t = tree_63();
    t.write(
        "two.cocci",
        "@@\nexpression E, V;\n@@\n- E->bv_page = V\n+ bvec_set_page(E, V)\n",
    );
    let out = bvmig(t.path(), &["patch", "--rule", "two.cocci", "."]);
    assert_eq!(out.code, 2);
    assert_eq!(out.stdout_text(), "");
    assert_eq!(
        out.stderr_text(),
        "bvmig: error: include/linux/bvec.h:12:20: bvec_set_page() is defined with 4 parameters, \
         but two.cocci:4:3 calls it with 2 arguments: run a rule written for this tree \
         (--rule FILE), or make the rule emit a helper of another name\n"
    );
    // check refuses the same way: its suggestions would not compile.
    let out = bvmig(t.path(), &["check", "--rule", "two.cocci", "."]);
    assert_eq!(out.code, 2);
}

#[test]
fn validate_runs_through_the_command_line() {
    let root = crate::util::fixtures_dir();
    let out = bvmig(
        root.parent().unwrap(),
        &[
            "validate",
            "--fixture",
            "bvec_table_stage",
            "fixtures/semantic",
        ],
    );
    assert_eq!(out.code, 0, "{}{}", out.stdout_text(), out.stderr_text());
    assert!(
        out.stdout_text().starts_with("ok     bvec_table_stage:"),
        "{}",
        out.stdout_text()
    );
    let missing = bvmig(root.parent().unwrap(), &["validate", "no/such/dir"]);
    assert_eq!(missing.code, 2);
    assert!(
        missing
            .stderr_text()
            .starts_with("bvmig: error: no/such/dir"),
        "{}",
        missing.stderr_text()
    );
}

#[test]
fn the_report_says_which_structs_declare_the_field() {
    let t = tree_63();
    let out = bvmig(t.path(), &["patch", "."]);
    assert!(
        out.stderr_text().contains(
            "bvmig: bv_page is declared only by struct bio_vec (include/linux/bvec.h:7:15): a rule without types is safe\n"
        ),
        "{}",
        out.stderr_text()
    );
    t.write(
        "drivers/x/ref.h",
        "struct page_ref {\n\tstruct page *bv_page;\n};\n",
    );
    let out = bvmig(t.path(), &["patch", "."]);
    assert!(
        out.stderr_text().contains(
            "bvmig: note: bv_page is declared by struct bio_vec (include/linux/bvec.h:7:15), struct page_ref (drivers/x/ref.h:2:15): only accesses whose types show a struct bio_vec are rewritten, the others are left (unknown type, other struct)\n"
        ),
        "{}",
        out.stderr_text()
    );
    // On part of the tree, not every declaration is seen: nothing is said.
    let part = bvmig(t.path(), &["patch", "block"]);
    assert!(
        !part.stderr_text().contains("declared"),
        "{}",
        part.stderr_text()
    );
}
