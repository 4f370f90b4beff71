//! Runs on part of a Linux tree, and names: inside a tree (Makefile,
//! Kconfig, include/linux/) files are named from its top wherever bvmig
//! runs, and the helpers go into its include/linux/bvec.h though the walk
//! did not cover it; outside one, names and helpers are as before; a
//! symlink named on the command line stands for its target, and each file
//! is named once.

use std::fs;
use std::os::unix::fs::symlink;

use crate::util::{bvmig, git, kernel_tree, run_tool, user_c, TempDir};

/// The `diff --git` lines of a diff.
fn diffed(stdout: &[u8]) -> Vec<String> {
    String::from_utf8_lossy(stdout)
        .lines()
        .filter(|l| l.starts_with("diff --git "))
        .map(str::to_string)
        .collect()
}

fn git_line(name: &str) -> String {
    format!("diff --git a/{name} b/{name}")
}

#[test]
fn part_of_a_kernel_tree_gets_the_helpers_and_is_named_from_the_top() {
    let t = TempDir::new();
    let top = kernel_tree(&t, "linux");
    let expected = vec![
        git_line("drivers/block/brd.c"),
        git_line("fs/iomap.c"),
        git_line("include/linux/bvec.h"),
    ];
    let at_top = bvmig(&top, &["patch", "drivers/block", "fs/"]);
    assert_eq!(at_top.code, 0, "{}", at_top.stderr_text());
    assert_eq!(diffed(&at_top.stdout), expected);
    assert!(
        at_top
            .stderr_text()
            .contains("note: adds bvec_page(), bvec_set_page() to include/linux/bvec.h"),
        "{}",
        at_top.stderr_text()
    );
    // The same patch from a subdirectory, and from outside with an
    // absolute path.
    let below = bvmig(&top.join("drivers"), &["patch", "block", "../fs"]);
    assert_eq!(below.code, 0, "{}", below.stderr_text());
    assert_eq!(below.stdout_text(), at_top.stdout_text());
    let abs = [
        top.join("drivers/block").to_str().unwrap().to_string(),
        top.join("fs").to_str().unwrap().to_string(),
    ];
    let outside = bvmig(t.path(), &["patch", &abs[0], &abs[1]]);
    assert_eq!(outside.stdout_text(), at_top.stdout_text());
    // It applies at the top, with git and with patch.
    t.write("part.patch", &below.stdout);
    let patch_file = t.path().join("part.patch");
    let patch_file = patch_file.to_str().unwrap();
    run_tool(&top, "git", &["apply", "--check", patch_file]).unwrap();
    run_tool(&top, "patch", &["-p1", "--dry-run", "-i", patch_file]).unwrap();
    // In place from a subdirectory: the same files, and they compile.
    let out = bvmig(
        &top.join("drivers"),
        &["patch", "--in-place", "block", "../fs"],
    );
    assert_eq!(out.code, 0, "{}", out.stderr_text());
    assert!(
        out.stderr_text()
            .contains("bvmig: 4 rewritten in 3 files, 0 left for a human"),
        "{}",
        out.stderr_text()
    );
    for f in ["drivers/block/brd.c", "fs/iomap.c"] {
        run_tool(
            &top,
            "gcc",
            &["-fsyntax-only", "-Wall", "-Werror", "-Iinclude", f],
        )
        .unwrap();
    }
    let rest = bvmig(&top, &["patch"]);
    assert_eq!(
        diffed(&rest.stdout),
        vec![git_line("block/bio.c"), git_line("mm/page_io.c")]
    );
}

#[test]
fn a_stray_include_linux_above_does_not_make_a_kernel_tree() {
    // /tmp/include/linux/bvec.h with Linux 6.3's bvec_set_page() must not
    // choose the rule for a directory below /tmp, nor receive helpers.
    let t = TempDir::new();
    t.write(
        "include/linux/bvec.h",
        "struct bio_vec { struct page *bv_page; };\nstatic inline void bvec_set_page(struct bio_vec *bv, struct page *page,\n\t\tunsigned int len, unsigned int offset)\n{\n}\n",
    );
    t.write("work/drivers/a.c", user_c("a_swap"));
    let work = t.path().join("work");
    let out = bvmig(&work, &["patch", "drivers"]);
    assert_eq!(out.code, 0, "{}", out.stderr_text());
    assert_eq!(diffed(&out.stdout), vec![git_line("drivers/a.c")]);
    let err = out.stderr_text();
    assert!(err.contains("rule rules/bv_page.cocci (built in)"), "{err}");
    assert!(!err.contains("adds"), "{err}");
    // A directory that holds include/linux itself and is walked whole is
    // still a kernel-like tree, as fixtures/tree is.
    let out = bvmig(t.path(), &["patch", "."]);
    let err = out.stderr_text();
    assert!(err.contains("rule rules/bv_page-modern.cocci"), "{err}");
}

#[test]
fn a_symlink_named_on_the_command_line_stands_for_its_target() {
    let t = TempDir::new();
    t.write("drivers/real.c", user_c("first"));
    symlink("real.c", t.path().join("drivers/link.c")).unwrap();
    let out = bvmig(t.path(), &["patch", "drivers/link.c"]);
    assert_eq!(diffed(&out.stdout), vec![git_line("drivers/real.c")]);
    let out = bvmig(t.path(), &["patch", "--in-place", "drivers/link.c"]);
    assert_eq!(out.code, 0, "{}", out.stderr_text());
    let link = fs::symlink_metadata(t.path().join("drivers/link.c")).unwrap();
    assert!(link.file_type().is_symlink(), "the link is kept");
    let real = String::from_utf8(t.read("drivers/real.c")).unwrap();
    assert!(real.contains("bvec_set_page(bv, p);"), "{real}");
}

#[test]
fn each_file_is_named_once() {
    let t = TempDir::new();
    t.write("drivers/real.c", user_c("first"));
    symlink("real.c", t.path().join("drivers/link.c")).unwrap();
    symlink("drivers", t.path().join("again")).unwrap();
    // Twice on the command line, once through a symlink; a directory and
    // a file in it; a directory and a symlink to it.
    for args in [
        &["patch", "drivers/real.c", "drivers/link.c"][..],
        &["patch", "drivers", "drivers/real.c"],
        &["patch", "drivers", "again"],
    ] {
        let out = bvmig(t.path(), args);
        assert_eq!(out.code, 0, "{}", out.stderr_text());
        assert_eq!(
            diffed(&out.stdout),
            vec![git_line("drivers/real.c")],
            "{args:?}"
        );
        t.write("twice.patch", &out.stdout);
        run_tool(t.path(), "git", &["apply", "--check", "twice.patch"]).unwrap();
    }
    // Two hard links of one file: the first name in sorted order.
    fs::hard_link(
        t.path().join("drivers/real.c"),
        t.path().join("drivers/hard.c"),
    )
    .unwrap();
    let out = bvmig(t.path(), &["patch", "drivers"]);
    assert_eq!(diffed(&out.stdout), vec![git_line("drivers/hard.c")]);
}

#[test]
fn helpers_go_where_struct_bio_vec_is_compiled() {
    // The old layout kept under #if 0, the live one in #else (repro 18).
    let t = TempDir::new();
    t.write(
        "include/linux/bvec.h",
        "#ifndef _BVEC_H\n#define _BVEC_H\nstruct page;\n#if 0\nstruct bio_vec {\n\tstruct page *bv_page;\n\tunsigned long bv_pfn;\n};\n#else\nstruct bio_vec {\n\tstruct page *bv_page;\n\tunsigned int bv_len;\n};\n#endif\n#endif\n",
    );
    t.write("drivers/a.c", user_c("a_swap"));
    let out = bvmig(t.path(), &["patch", "--in-place", "."]);
    assert_eq!(out.code, 0, "{}", out.stderr_text());
    run_tool(
        t.path(),
        "gcc",
        &[
            "-fsyntax-only",
            "-Wall",
            "-Werror",
            "-Iinclude",
            "drivers/a.c",
        ],
    )
    .unwrap();
    // Only under #if 0: refused, naming the place, and nothing written.
    let t = TempDir::new();
    t.write(
        "include/linux/bvec.h",
        "struct page;\n#if 0\nstruct bio_vec {\n\tstruct page *bv_page;\n};\n#endif\n",
    );
    let before = t.write("drivers/a.c", user_c("a_swap"));
    let before = fs::read(before).unwrap();
    let out = bvmig(t.path(), &["patch", "--in-place", "."]);
    assert_eq!(out.code, 2);
    assert!(
        out.stderr_text().contains(
            "bvmig: error: include/linux/bvec.h: struct bio_vec is defined only under #if 0 (line 3)"
        ),
        "{}",
        out.stderr_text()
    );
    assert_eq!(t.read("drivers/a.c"), before);
}

#[test]
fn a_series_of_part_of_a_kernel_tree_adds_the_helpers_and_equals_in_place() {
    let t = TempDir::new();
    let top = kernel_tree(&t, "linux");
    git(&top, &["init", "-q"]);
    git(&top, &["add", "-A"]);
    git(&top, &["commit", "-q", "-m", "base"]);
    let copy = t.path().join("copy");
    git(t.path(), &["clone", "-q", top.to_str().unwrap(), "copy"]);
    let out = bvmig(
        &top.join("drivers"),
        &["patch", "--series", "../../out", "block"],
    );
    assert_eq!(out.code, 0, "{}", out.stderr_text());
    let mut mails: Vec<String> = fs::read_dir(t.path().join("out"))
        .unwrap()
        .map(|e| e.unwrap().path().to_str().unwrap().to_string())
        .filter(|p| !p.contains("/0000-"))
        .collect();
    mails.sort();
    assert_eq!(mails.len(), 2, "the helpers, then drivers/block: {mails:?}");
    let mut args = vec!["am", "-q", "--empty=drop"];
    args.extend(mails.iter().map(String::as_str));
    git(&copy, &args);
    let out = bvmig(&top, &["patch", "--in-place", "drivers/block"]);
    assert_eq!(out.code, 0, "{}", out.stderr_text());
    for f in ["include/linux/bvec.h", "drivers/block/brd.c", "fs/iomap.c"] {
        assert_eq!(
            fs::read(copy.join(f)).unwrap(),
            fs::read(top.join(f)).unwrap(),
            "{f}"
        );
    }
}
