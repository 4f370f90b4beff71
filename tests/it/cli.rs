//! CLI behaviour: exit statuses, one-line errors, in-place writes,
//! determinism across thread counts, rule errors, verification by reparse,
//! and diffs that match git's own.

use std::fs;
use std::os::unix::fs::PermissionsExt;

use crate::util::{bvmig, run_tool, TempDir};

const READ: &str = "static struct page *f(struct bio_vec *bv)\n{\n\treturn bv->bv_page;\n}\n";
const WRITE: &str = "static void g(struct bio_vec *bv, struct page *p)\n{\n\tbv->bv_page = p;\n}\n";

fn tree() -> TempDir {
    let t = TempDir::new();
    t.write("drivers/block/a.c", READ);
    t.write("drivers/block/b.h", WRITE);
    t.write("fs/c.c", format!("{READ}{WRITE}"));
    t.write("fs/none.c", "int x;\n");
    t.write("fs/notes.txt", "bv->bv_page = p;\n");
    t
}

#[test]
fn diff_names_files_in_sorted_order_relative_to_the_argument() {
    let t = tree();
    let out = bvmig(t.path(), &["patch", "."]);
    assert_eq!(out.code, 0, "{}", out.stderr_text());
    let heads: Vec<String> = out
        .stdout_text()
        .lines()
        .filter(|l| l.starts_with("diff --git"))
        .map(String::from)
        .collect();
    assert_eq!(
        heads,
        [
            "diff --git a/drivers/block/a.c b/drivers/block/a.c",
            "diff --git a/drivers/block/b.h b/drivers/block/b.h",
            "diff --git a/fs/c.c b/fs/c.c",
        ]
    );
    let err = out.stderr_text();
    assert!(err.contains("bvmig: 4 files walked, 3 parsed\n"), "{err}");
    assert!(err.contains("bvmig: 4 sites: 2 read, 2 write\n"), "{err}");
    assert!(
        err.contains("bvmig: 4 rewritten in 3 files, 0 left for a human\n"),
        "{err}"
    );
    // An absolute directory names its files relative to itself.
    let abs = bvmig(
        t.path().parent().unwrap(),
        &["patch", t.path().to_str().unwrap()],
    );
    assert_eq!(abs.stdout, out.stdout);
    // A subdirectory below the current one keeps its spelling.
    let sub = bvmig(t.path(), &["patch", "fs"]);
    assert!(sub
        .stdout_text()
        .starts_with("diff --git a/fs/c.c b/fs/c.c\n"));
}

#[test]
fn output_is_identical_whatever_the_thread_count() {
    let t = TempDir::new();
    for i in 0..40 {
        t.write(&format!("d{}/f{i}.c", i % 7), format!("{READ}{WRITE}"));
    }
    let one = bvmig(t.path(), &["patch", "-j", "1"]);
    let two = bvmig(t.path(), &["patch", "-j", "2"]);
    let eight = bvmig(t.path(), &["patch", "-j", "8"]);
    assert_eq!(one.code, 0);
    assert!(!one.stdout.is_empty());
    assert_eq!(one.stdout, two.stdout);
    assert_eq!(one.stdout, eight.stdout);
    assert_eq!(one.stderr, eight.stderr);
}

#[test]
fn missing_path_is_an_error_and_the_run_goes_on() {
    let t = tree();
    let out = bvmig(t.path(), &["patch", "no/such/dir", "fs/c.c"]);
    assert_eq!(out.code, 2);
    assert!(out.stdout_text().contains("diff --git a/fs/c.c b/fs/c.c"));
    let errors: Vec<&str> = out
        .stderr
        .split(|&b| b == b'\n')
        .filter_map(|l| std::str::from_utf8(l).ok())
        .filter(|l| l.starts_with("bvmig: error:"))
        .collect();
    assert_eq!(errors.len(), 1, "{}", out.stderr_text());
    assert!(
        errors[0].starts_with("bvmig: error: no/such/dir: "),
        "{}",
        errors[0]
    );
}

#[test]
fn symlink_loop_given_as_a_path_is_an_error() {
    let t = tree();
    std::os::unix::fs::symlink("loop.c", t.path().join("loop.c")).unwrap();
    let out = bvmig(t.path(), &["patch", "loop.c", "drivers/block/a.c"]);
    assert_eq!(out.code, 2);
    assert!(
        out.stderr_text().contains("bvmig: error: loop.c: "),
        "{}",
        out.stderr_text()
    );
    assert!(out.stdout_text().contains("a/drivers/block/a.c"));
    // Inside a walked directory, symlinks are not followed: no error, no
    // file named twice.
    std::os::unix::fs::symlink("a.c", t.path().join("drivers/block/alias.c")).unwrap();
    let walked = bvmig(t.path(), &["patch", "drivers"]);
    assert_eq!(walked.code, 0, "{}", walked.stderr_text());
    assert_eq!(walked.stdout_text().matches("diff --git").count(), 2);
}

#[test]
fn fifo_in_a_tree_is_not_read() {
    let t = tree();
    let fifo = t.path().join("fs/pipe.c");
    let status = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(status.success());
    let out = bvmig(t.path(), &["patch", "fs"]);
    assert_eq!(out.code, 0, "{}", out.stderr_text());
}

#[test]
fn in_place_writes_the_diff_and_keeps_the_mode() {
    let t = tree();
    let diff = bvmig(t.path(), &["patch"]).stdout;
    let expected_dir = TempDir::new();
    for f in ["drivers/block/a.c", "drivers/block/b.h", "fs/c.c"] {
        expected_dir.write(f, t.read(f));
    }
    fs::write(expected_dir.path().join("x.patch"), &diff).unwrap();
    run_tool(
        expected_dir.path(),
        "patch",
        &["-p1", "--quiet", "-i", "x.patch"],
    )
    .unwrap();

    fs::set_permissions(t.path().join("fs/c.c"), fs::Permissions::from_mode(0o640)).unwrap();
    fs::set_permissions(
        t.path().join("drivers/block/a.c"),
        fs::Permissions::from_mode(0o755),
    )
    .unwrap();
    let out = bvmig(t.path(), &["patch", "--in-place"]);
    assert_eq!(out.code, 0, "{}", out.stderr_text());
    assert!(out.stdout.is_empty());
    for f in ["drivers/block/a.c", "drivers/block/b.h", "fs/c.c"] {
        assert_eq!(t.read(f), expected_dir.read(f), "{f}");
    }
    let mode = |f: &str| fs::metadata(t.path().join(f)).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode("fs/c.c"), 0o640);
    assert_eq!(mode("drivers/block/a.c"), 0o755);
    // No temporary file is left behind.
    let leftovers: Vec<_> = fs::read_dir(t.path().join("fs"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".bvmig"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    // And the result is a fixed point.
    assert!(bvmig(t.path(), &["patch"]).stdout.is_empty());
}

#[test]
fn a_bad_rule_is_one_error_line_with_its_place_and_nothing_is_written() {
    let t = tree();
    let cases = [
        (
            "@@\nexpression E;\n@@\n- E->bv_page +\n+ bvec_page(E)\n",
            "r.cocci:4:",
        ),
        (
            "@@\nfresh identifier F;\n@@\n- E->bv_page\n+ F\n",
            "r.cocci:2:1: metavariable kind 'fresh' is not supported yet",
        ),
        (
            "@@\nexpression E, V;\n@@\n- E->bv_page\n+ bvec_page(V)\n",
            "r.cocci:5:13: metavariable 'V' is used in '+' code but not bound",
        ),
        (
            "@ r depends on r @\n@@\n- a\n+ b\n",
            "r.cocci:1:16: 'depends on' names 'r', which is not an earlier rule of this file",
        ),
        (
            "@ r disable iso @\n@@\n- a\n+ b\n",
            "r.cocci:1:5: rule header 'disable' is not supported",
        ),
        (
            "@@\nexpression E;\n@@\n* E->bv_page\n",
            "r.cocci:4:1: '*' (report) lines are not supported",
        ),
        (
            "@@\nexpression E;\n@@\n(\n- E->bv_page\n+ bvec_page(E)\n",
            "r.cocci:4:1: '(' has no closing ')' in column 0",
        ),
    ];
    for (rule, want) in cases {
        t.write("r.cocci", rule);
        let before = t.read("fs/c.c");
        let out = bvmig(t.path(), &["patch", "--in-place", "--rule", "r.cocci"]);
        assert_eq!(out.code, 2, "{rule}");
        let err = out.stderr_text();
        assert_eq!(err.lines().count(), 1, "one line for {rule:?}: {err}");
        assert!(
            err.starts_with(&format!("bvmig: error: {want}")),
            "for {rule:?}: {err}"
        );
        assert_eq!(t.read("fs/c.c"), before);
    }
    t.write(
        "r.cocci",
        b"@@\nexpression E;\n@@\n- E->bv_page /* \xff */\n+ bvec_page(E)\n",
    );
    let out = bvmig(t.path(), &["patch", "--rule", "r.cocci"]);
    assert_eq!(out.code, 2);
    assert_eq!(
        out.stderr_text(),
        "bvmig: error: r.cocci:4:17: rule file is not valid UTF-8\n"
    );
    let out = bvmig(t.path(), &["patch", "--rule", "absent.cocci"]);
    assert_eq!(out.code, 2);
    assert!(out
        .stderr_text()
        .starts_with("bvmig: error: absent.cocci: "));
}

#[test]
fn a_rewrite_that_breaks_the_parse_is_not_made() {
    // This rule's plus code is a statement; put where an expression stood,
    // the file no longer parses, so it must stay as it is, its site reported.
    let t = TempDir::new();
    t.write(
        "r.cocci",
        "@@\nexpression E;\n@@\n- E->bv_page\n+ { bvec_page(E); }\n",
    );
    t.write("a.c", READ);
    let out = bvmig(t.path(), &["patch", "--rule", "r.cocci", "a.c"]);
    assert_eq!(out.code, 0, "{}", out.stderr_text());
    assert!(out.stdout.is_empty());
    assert!(
        out.stderr_text().starts_with(
            "a.c:3:13: read: the rewritten file parses with more errors than the original; the file is left unchanged\n"
        ),
        "{}",
        out.stderr_text()
    );
}

#[test]
fn diff_matches_git_diff_with_the_kernels_attributes() {
    let t = TempDir::new();
    let src = "// SPDX-License-Identifier: GPL-2.0\n#include <linux/bio.h>\n\nstatic int zero_fill(struct bio *bio)\n{\n\tstruct bio_vec bv;\n\tstruct bvec_iter iter;\n\n\tbio_for_each_segment(bv, bio, iter) {\n\t\tmemzero_page(bv.bv_page, bv.bv_offset, bv.bv_len);\n\t}\nout:\n\treturn 0;\n}\n\nstatic void other(void)\n{\n\tint a;\n\tint b;\n\tint c;\n\tint d;\n\tint e;\n\tint f;\n}\n\nstatic void set(struct bio_vec *bv, struct page *p)\n{\n\tint a;\n\n\tbv->bv_page = p;\n}\n";
    t.write("block/x.c", src);
    t.write(".gitattributes", "*.c diff=cpp\n*.h diff=cpp\n");
    let git = |args: &[&str]| run_tool(t.path(), "git", args).unwrap();
    git(&["init", "-q"]);
    git(&["-c", "user.name=t", "-c", "user.email=t@t", "add", "."]);
    git(&[
        "-c",
        "user.name=t",
        "-c",
        "user.email=t@t",
        "commit",
        "-qm",
        "x",
    ]);
    let ours = bvmig(t.path(), &["patch"]).stdout_text();
    assert_eq!(bvmig(t.path(), &["patch", "--in-place"]).code, 0);
    let theirs = String::from_utf8(git(&["diff"])).unwrap();
    let theirs: String = theirs
        .lines()
        .filter(|l| !l.starts_with("index "))
        .map(|l| format!("{l}\n"))
        .collect();
    assert_eq!(ours, theirs);
}

#[test]
fn no_arguments_means_the_current_directory() {
    let t = tree();
    let here = bvmig(t.path(), &["patch"]);
    let dot = bvmig(t.path(), &["patch", "."]);
    assert_eq!(here.stdout, dot.stdout);
    assert!(!here.stdout.is_empty());
}

#[test]
fn help_has_examples_and_bad_flags_exit_2() {
    let t = TempDir::new();
    let help = bvmig(t.path(), &["patch", "--help"]);
    assert_eq!(help.code, 0);
    assert!(help.stdout_text().contains("Examples:"));
    assert_eq!(bvmig(t.path(), &["patch", "--frobnicate"]).code, 2);
}
