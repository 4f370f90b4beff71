//! `patch -` and `check -` (a file's text on stdin, named by
//! `--stdin-filename`), and `--glob`, as ripgrep has it.

use crate::util::{bvmig, bvmig_stdin, kernel_tree, user_c, TempDir, BVEC_H_BARE};

/// Linux 6.3's four-argument helper, which makes the modern rule the one.
fn modern_bvec_h() -> String {
    BVEC_H_BARE.replace(
        "#endif",
        "static inline void bvec_set_page(struct bio_vec *bv, struct page *page,\n\t\tunsigned int len, unsigned int offset)\n{\n}\n\n#endif",
    )
}

#[test]
fn stdin_is_checked_and_patched_as_the_file_it_names_on_either_rule() {
    for bvec_h in [BVEC_H_BARE.to_string(), modern_bvec_h()] {
        let t = TempDir::new();
        let top = kernel_tree(&t, "linux");
        std::fs::write(top.join("include/linux/bvec.h"), &bvec_h).unwrap();
        let text = user_c("stdin_swap");
        let file = t.write("linux/drivers/block/new.c", &text);
        let on_disk = bvmig(&top, &["check", "drivers/block/new.c"]);
        let on_disk_diff = bvmig(&top, &["patch", "--no-helpers", "drivers/block/new.c"]);
        assert_eq!(on_disk.code, 1, "{}", on_disk.stderr_text());
        std::fs::remove_file(&file).unwrap();

        // From the top, and from a directory below it with a relative name:
        // the same name, the same rule, the same words.
        for (cwd, name) in [
            (top.clone(), "drivers/block/new.c"),
            (top.join("drivers"), "block/new.c"),
        ] {
            let args = ["check", "-", "--stdin-filename", name];
            let out = bvmig_stdin(&cwd, &args, text.as_bytes());
            assert_eq!(out.code, 1, "{}", out.stderr_text());
            assert_eq!(out.stdout_text(), on_disk.stdout_text());
            let args = ["patch", "-", "--stdin-filename", name];
            let out = bvmig_stdin(&cwd, &args, text.as_bytes());
            assert_eq!(out.code, 0, "{}", out.stderr_text());
            assert_eq!(out.stdout_text(), on_disk_diff.stdout_text());
        }
        // --fix: the patch on stdout, the findings on stderr.
        let args = [
            "check",
            "-",
            "--fix",
            "--stdin-filename",
            "drivers/block/new.c",
        ];
        let out = bvmig_stdin(&top, &args, text.as_bytes());
        assert_eq!(out.stdout_text(), on_disk_diff.stdout_text());
        assert!(
            out.stderr_text().contains("new.c:5:"),
            "{}",
            out.stderr_text()
        );
        // A clean text: nothing found, exit 0; JSON works as for files.
        let args = ["check", "-", "--format", "json"];
        let out = bvmig_stdin(&top, &args, b"int x;\n");
        assert_eq!(out.code, 0, "{}", out.stderr_text());
        assert!(
            out.stdout_text().contains("\"findings\": []"),
            "{}",
            out.stdout_text()
        );
    }
}

#[test]
fn stdin_takes_a_baseline_as_files_do() {
    let t = TempDir::new();
    let top = kernel_tree(&t, "linux");
    let text = user_c("f");
    let base = t.path().join("base.json");
    let base = base.to_str().unwrap();
    let name = ["--stdin-filename", "fs/new.c"];
    let write = [&["check", "-", "--write-baseline", base][..], &name].concat();
    let out = bvmig_stdin(&top, &write, text.as_bytes());
    assert_eq!(out.code, 0, "{}", out.stderr_text());
    let with = [&["check", "-", "--baseline", base][..], &name].concat();
    let out = bvmig_stdin(&top, &with, text.as_bytes());
    assert_eq!(out.code, 0, "{}{}", out.stdout_text(), out.stderr_text());
    assert!(
        out.stderr_text().contains("2 accepted"),
        "{}",
        out.stderr_text()
    );
    // A new site is still found.
    let more = text.replace("return old;", "g(bv->bv_page);\n\treturn old;");
    let out = bvmig_stdin(&top, &with, more.as_bytes());
    assert_eq!(out.code, 1, "{}", out.stderr_text());
    assert_eq!(
        out.stdout_text().lines().count(),
        1,
        "{}",
        out.stdout_text()
    );
}

#[test]
fn stdin_refuses_what_needs_files() {
    let t = TempDir::new();
    let top = kernel_tree(&t, "linux");
    let text = user_c("f");
    for (args, says) in [
        (
            vec!["check", "-", "fs"],
            "`-` (stdin) cannot be given with other paths",
        ),
        (
            vec!["check", "--stdin-filename", "x.c"],
            "--stdin-filename needs `-`",
        ),
        (
            vec!["check", "-", "--since", "HEAD"],
            "--since and --cached need files",
        ),
        (
            vec!["patch", "-", "--in-place"],
            "--in-place and --series need files",
        ),
    ] {
        let out = bvmig_stdin(&top, &args, text.as_bytes());
        assert_eq!(out.code, 2, "{args:?}");
        assert!(
            out.stderr_text().contains(says),
            "{args:?}: {}",
            out.stderr_text()
        );
    }
}

/// The files named in `check`'s findings (not its notes).
fn files_found(out: &crate::util::Output) -> Vec<String> {
    let mut files: Vec<String> = out
        .stdout_text()
        .lines()
        .filter(|l| !l.contains(": note: "))
        .filter_map(|l| l.split(':').next().map(str::to_string))
        .collect();
    files.dedup();
    files
}

#[test]
fn globs_choose_files_below_the_directories_walked_as_ripgrep_does() {
    let t = TempDir::new();
    let top = kernel_tree(&t, "");
    let all = [
        "block/bio.c",
        "drivers/block/brd.c",
        "fs/iomap.c",
        "mm/page_io.c",
    ];
    for (globs, expected) in [
        (vec![], all.to_vec()),
        (vec!["fs/**", "mm/**"], vec!["fs/iomap.c", "mm/page_io.c"]),
        (
            vec!["!fs/**"],
            vec!["block/bio.c", "drivers/block/brd.c", "mm/page_io.c"],
        ),
        // The last matching glob wins.
        (vec!["!*.c", "mm/*.c"], vec!["mm/page_io.c"]),
        (vec!["mm/*.c", "!*.c"], vec![]),
        // A name without a slash matches at any depth.
        (vec!["brd.c"], vec!["drivers/block/brd.c"]),
    ] {
        let mut args = vec!["check", "-q"];
        for g in &globs {
            args.extend(["--glob", g]);
        }
        let out = bvmig(&top, &args);
        assert_eq!(
            files_found(&out),
            expected,
            "{globs:?}: {}",
            out.stderr_text()
        );
        assert_eq!(out.code, if expected.is_empty() { 0 } else { 1 });
    }
    // Relative to each directory given.
    let out = bvmig(&top, &["check", "-q", "-g", "block/*", "drivers"]);
    assert_eq!(files_found(&out), ["drivers/block/brd.c"]);
    // A file named on the command line is looked at whatever the globs.
    let out = bvmig(&top, &["check", "-q", "-g", "!*.c", "fs/iomap.c"]);
    assert_eq!(files_found(&out), ["fs/iomap.c"]);
    // patch honours them too.
    let out = bvmig(&top, &["patch", "-q", "--no-helpers", "-g", "mm/**", "."]);
    let diffed: Vec<&str> = out
        .stdout_text()
        .lines()
        .filter(|l| l.starts_with("diff --git"))
        .map(|_| "")
        .collect();
    assert_eq!(diffed.len(), 1, "{}", out.stdout_text());
    assert!(out.stdout_text().contains("diff --git a/mm/page_io.c"));
    // A glob that does not parse is an error naming it.
    let out = bvmig(&top, &["check", "-g", "[", "."]);
    assert_eq!(out.code, 2);
    assert!(
        out.stderr_text().contains("--glob [:"),
        "{}",
        out.stderr_text()
    );
}
