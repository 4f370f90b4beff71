//! FIFOs where each class of read expects a file: a header of the tree's
//! `include/` that the type index and the rule choice read, the helpers'
//! `include/linux/bvec.h`, a rule file given with `--rule`, a baseline,
//! the tree's MAINTAINERS for a series, a case of `bvmig test`, and a
//! mailbox given to `review`
//! (a named pipe, as `review <(git format-patch ...)` gives, is read).
//! Each run is killed after 20 s, so that a read that blocks on a FIFO
//! fails the test instead of hanging the suite (nothing here is timed).

use std::io::Write;
use std::time::Duration;

use crate::util::{bvmig_command, kernel_tree, mkfifo, run_or_kill, TempDir};

#[test]
fn a_fifo_as_a_header_of_include_is_skipped_by_the_type_index_and_the_rule_choice() {
    let t = TempDir::new();
    let top = kernel_tree(&t, "");
    // The type index scans every header of include/ once; the rule choice
    // reads the headers that name the helpers (blk_types.h would).
    t.write("include/linux/blk_types.h", "struct bio;\n");
    mkfifo(&top.join("include/linux/blk_types.h"));
    mkfifo(&top.join("include/linux/bio.h"));
    t.write(
        "drivers/block/typed.c",
        "#include <linux/bio.h>\n\nvoid f(struct bio *bio)\n{\n\tstruct bio_vec bv;\n\tstruct bvec_iter iter;\n\n\tbio_for_each_segment(bv, bio, iter)\n\t\tg(bv.bv_page);\n}\n",
    );
    let out = run_or_kill(
        Duration::from_secs(20),
        bvmig_command(&top, &["patch", "-q"]),
    );
    assert_eq!(out.code, 0, "{}", out.stderr_text());
    let diff = out.stdout_text();
    for f in ["drivers/block/brd.c", "drivers/block/typed.c", "fs/iomap.c"] {
        assert!(diff.contains(&format!("+++ b/{f}")), "{f} not in {diff}");
    }
    // The typed rule asks the type index about the headers too.
    let typed = crate::util::fixtures_dir().join("../rules/bv_page-typed.cocci");
    let out = run_or_kill(
        Duration::from_secs(20),
        bvmig_command(&top, &["patch", "-q", "--rule", typed.to_str().unwrap()]),
    );
    assert!(out.code == 0 || out.code == 1, "{}", out.stderr_text());
}

#[test]
fn a_fifo_as_include_linux_bvec_h_is_an_error_naming_it() {
    let t = TempDir::new();
    let top = kernel_tree(&t, "");
    mkfifo(&top.join("include/linux/bvec.h"));
    let out = run_or_kill(
        Duration::from_secs(20),
        bvmig_command(&top, &["patch", "-q"]),
    );
    assert_eq!(out.code, 2, "{}", out.stderr_text());
    let err = out.stderr_text();
    assert!(
        err.contains("include/linux/bvec.h: not a regular file but a FIFO"),
        "{err}"
    );
    // On part of the tree, the helpers' header is found and read too.
    let out = run_or_kill(
        Duration::from_secs(20),
        bvmig_command(&top, &["patch", "-q", "drivers"]),
    );
    assert_eq!(out.code, 2, "{}", out.stderr_text());
    assert!(
        out.stderr_text()
            .contains("include/linux/bvec.h: not a regular file but a FIFO"),
        "{}",
        out.stderr_text()
    );
}

#[test]
fn a_fifo_given_as_the_rule_file_is_an_error_naming_it() {
    let t = TempDir::new();
    let top = kernel_tree(&t, "");
    mkfifo(&top.join("my.cocci"));
    let out = run_or_kill(
        Duration::from_secs(20),
        bvmig_command(&top, &["patch", "-q", "--rule", "my.cocci"]),
    );
    assert_eq!(out.code, 2, "{}", out.stderr_text());
    assert!(
        out.stderr_text()
            .contains("my.cocci: not a regular file but a FIFO"),
        "{}",
        out.stderr_text()
    );
}

#[test]
fn a_fifo_given_as_the_baseline_is_an_error_naming_it() {
    let t = TempDir::new();
    let top = kernel_tree(&t, "");
    mkfifo(&top.join("base.json"));
    let out = run_or_kill(
        Duration::from_secs(20),
        bvmig_command(&top, &["check", "-q", "--baseline", "base.json"]),
    );
    assert_eq!(out.code, 2, "{}", out.stderr_text());
    assert!(
        out.stderr_text()
            .contains("base.json: not a regular file but a FIFO"),
        "{}",
        out.stderr_text()
    );
}

#[test]
fn a_fifo_as_the_trees_maintainers_is_an_error_naming_it() {
    let t = TempDir::new();
    let top = kernel_tree(&t, "");
    mkfifo(&top.join("MAINTAINERS"));
    let out = run_or_kill(
        Duration::from_secs(20),
        bvmig_command(&top, &["patch", "-q", "--series", "out"]),
    );
    assert_eq!(out.code, 2, "{}", out.stderr_text());
    assert!(
        out.stderr_text()
            .contains("MAINTAINERS: not a regular file but a FIFO"),
        "{}",
        out.stderr_text()
    );
}

#[test]
fn a_mailbox_given_to_review_as_a_named_pipe_is_read() {
    let t = TempDir::new();
    let top = kernel_tree(&t, "");
    let fifo = t.path().join("series.mbox");
    mkfifo(&fifo);
    let patch = "From 0000000000000000000000000000000000000000 Mon Sep 17 00:00:00 2001\nFrom: A <a@example.org>\nSubject: [PATCH] brd: add a read\n\n---\n drivers/block/brd.c | 1 +\n 1 file changed, 1 insertion(+)\n\ndiff --git a/drivers/block/brd.c b/drivers/block/brd.c\n--- a/drivers/block/brd.c\n+++ b/drivers/block/brd.c\n@@ -5,4 +5,5 @@ struct page *brd_swap(struct bio_vec *bv, struct page *p)\n \tstruct page *old = bv->bv_page;\n \n \tbv->bv_page = p;\n+\tg(bv->bv_page);\n \treturn old;\n--\n2.43.0\n\n";
    // The writer, as a shell's `<(...)` would be: its open waits for
    // bvmig's.
    let writer = {
        let fifo = fifo.clone();
        std::thread::spawn(move || {
            let mut w = std::fs::OpenOptions::new().write(true).open(&fifo).unwrap();
            w.write_all(patch.as_bytes()).unwrap();
        })
    };
    let out = run_or_kill(
        Duration::from_secs(20),
        bvmig_command(&top, &["review", "-q", fifo.to_str().unwrap()]),
    );
    writer.join().unwrap();
    assert_eq!(out.code, 1, "{}", out.stderr_text());
    assert!(
        out.stdout_text().contains("drivers/block/brd.c:8"),
        "{}",
        out.stdout_text()
    );
}

/// `bvmig test`: a FIFO among a rule's cases is reported, naming it, and
/// the other cases run.
#[test]
fn a_fifo_among_a_rules_test_cases_is_an_error_naming_it() {
    let t = TempDir::new();
    t.write(
        "rules/r.cocci",
        "@@\nexpression E;\n@@\n- E->bv_page\n+ bvec_page(E)\n",
    );
    t.write(
        "rules/tests/r/ok.c",
        "struct page *f(struct bio_vec *b) { return b->bv_page; }\n",
    );
    t.write(
        "rules/tests/r/ok.res",
        "struct page *f(struct bio_vec *b) { return bvec_page(b); }\n",
    );
    mkfifo(&t.path().join("rules/tests/r/pipe.c"));
    let out = run_or_kill(
        Duration::from_secs(20),
        bvmig_command(t.path(), &["test", "rules"]),
    );
    let report = out.stdout_text() + &out.stderr_text();
    // A case that cannot be read is broken: exit 2, as for a bad rule.
    assert_eq!(out.code, 2, "{report}");
    assert!(
        report.contains("pipe.c: not a regular file but a FIFO"),
        "{report}"
    );
    assert!(report.contains("ok     rules/tests/r/ok.c"), "{report}");
}
