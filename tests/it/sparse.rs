//! `bvmig sparse` as kbuild runs it: the argument vector of `make C=1`, the
//! lines sparse prints, the exit statuses, and the definitions cache.

use std::process::Stdio;

use crate::util::{bvmig_command, Output, TempDir};

const BVEC_H: &str = "struct page;\nstruct bio_vec {\n\tstruct page *bv_page;\n\tunsigned int bv_len;\n\tunsigned int bv_offset;\n};\n";
const BIO_C: &str = "#include <linux/bvec.h>\n\nstatic struct page *first(struct bio_vec *bv)\n{\n\t\treturn bv->bv_page;\n}\n";

/// A kernel-like tree: what kbuild's checker runs in.
fn tree() -> TempDir {
    let t = TempDir::new();
    t.write("Makefile", "");
    t.write("Kconfig", "");
    t.write("include/linux/bvec.h", BVEC_H);
    t.write("block/bio.c", BIO_C);
    t.write(
        "scripts/mod/empty.c",
        "/* SPDX-License-Identifier: GPL-2.0 */\n",
    );
    t
}

/// `bvmig sparse` with kbuild's flags around `extra`, the file last, in
/// the tree, with the cache in the tree's `.cache`.
fn sparse(t: &TempDir, extra: &[&str], file: &str) -> Output {
    let mut args = vec![
        "sparse",
        "-D__linux__",
        "-Dlinux",
        "-Wbitwise",
        "-Wno-unknown-attribute",
    ];
    args.extend(extra);
    args.extend([
        "-D__x86_64__",
        "--arch=x86",
        "-m64",
        "-Wp,-MMD,block/.bio.o.d",
        "-nostdinc",
        "-I./include",
        "-include",
        "./include/linux/kconfig.h",
        "-D__KERNEL__",
        "-DKBUILD_MODNAME=\"bio\"",
        file,
    ]);
    bvmig_command(t.path(), &args)
        .env("XDG_CACHE_HOME", t.path().join(".cache"))
        .stdin(Stdio::null())
        .output()
        .expect("bvmig runs")
        .into()
}

#[test]
fn a_raw_access_is_a_sparse_warning_and_the_build_goes_on() {
    let t = tree();
    let out = sparse(&t, &[], "block/bio.c");
    assert_eq!(out.code, 0, "{}", out.stderr_text());
    assert!(out.stdout.is_empty());
    // Column 28 as gcc and sparse count it: two tabs, then `return bv->`.
    assert_eq!(
        out.stderr_text(),
        "block/bio.c:5:28: warning: read: use bvec_page(bv)\n"
    );
    // The depfile kbuild asks gcc for is not written.
    assert!(!t.path().join("block/.bio.o.d").exists());
    // The cache was filled, and answers the next run the same.
    assert!(t.path().join(".cache/bvmig").read_dir().unwrap().count() > 0);
    assert_eq!(sparse(&t, &[], "block/bio.c").stderr, out.stderr);
}

#[test]
fn cf_flags_are_honoured() {
    let t = tree();
    let out = sparse(
        &t,
        &["-fdiagnostic-prefix", "-Wsparse-error", "-ftabstop=4"],
        "block/bio.c",
    );
    assert_eq!(out.code, 1);
    assert_eq!(
        out.stderr_text(),
        "block/bio.c:5:20: sparse: error: read: use bvec_page(bv)\n"
    );
}

#[test]
fn a_file_without_sites_passes_silently() {
    let t = tree();
    let out = sparse(&t, &["-Wsparse-error"], "scripts/mod/empty.c");
    assert_eq!((out.code, out.stderr_text()), (0, String::new()));
}

#[test]
fn a_missing_file_is_one_error_line_and_fails_the_build() {
    let t = tree();
    let out = sparse(&t, &[], "block/gone.c");
    assert_eq!(out.code, 2);
    let err = out.stderr_text();
    assert!(
        err.starts_with("bvmig: error: block/gone.c: ") && err.lines().count() == 1,
        "{err}"
    );
}

#[test]
fn a_directory_or_a_fifo_given_as_the_file_is_one_error_line_not_a_walk() {
    let t = tree();
    t.write(
        "scripts/mod/x/raw.c",
        "struct page *g(struct bio_vec *bv) { return bv->bv_page; }\n",
    );
    let out = sparse(&t, &[], "scripts/mod");
    assert_eq!(out.code, 2);
    assert_eq!(
        out.stderr_text(),
        "bvmig: error: scripts/mod: not a regular file but a directory\n"
    );
    let fifo = t.path().join("block/fifo.c");
    crate::util::mkfifo(&fifo);
    let out = sparse(&t, &[], "block/fifo.c");
    assert_eq!(out.code, 2);
    assert_eq!(
        out.stderr_text(),
        "bvmig: error: block/fifo.c: not a regular file but a FIFO\n"
    );
}

#[test]
fn a_changed_helper_definition_is_seen_through_the_cache() {
    let t = tree();
    assert_eq!(sparse(&t, &[], "block/bio.c").code, 0);
    // Linux 6.3's four-argument bvec_set_page() appears: the modern rule's
    // helpers are the advice, not the 2015 one's, although the cache holds
    // an answer for the old header.
    t.write(
        "include/linux/bvec.h",
        format!("{BVEC_H}static inline void bvec_set_page(struct bio_vec *bv, struct page *page,\n\t\tunsigned int len, unsigned int offset)\n{{\n}}\n"),
    );
    let out = sparse(&t, &[], "block/bio.c");
    assert_eq!(out.code, 0, "{}", out.stderr_text());
    assert_eq!(
        out.stderr_text(),
        "block/bio.c:5:28: warning: read: use bvec_page(bv)\n"
    );
    let set = t.write(
        "block/set.c",
        "static void set(struct bio_vec *bv, struct page *p)\n{\n\tbv->bv_page = p;\n}\n",
    );
    let out = sparse(&t, &[], set.to_str().unwrap());
    assert!(
        out.stderr_text().contains("use __bvec_set_page(bv, p)"),
        "{}",
        out.stderr_text()
    );
}
