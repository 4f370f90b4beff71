//! Bad and odd input, made by each test: multibyte text where a byte offset
//! would split a character, panics reported in one line, FIFOs where files
//! are expected, binary files, endless input, mailboxes split as `git
//! mailsplit` splits them, and lone CRs in diffs that `git apply` and
//! `patch` must accept. A test that could hang runs bvmig with a timeout,
//! so that a hang fails the test instead of blocking the suite.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use crate::util::{
    bvmig, bvmig_command, bvmig_stdin, kernel_tree, mkfifo, run_or_kill, Output, TempDir,
};

/// A patch adding a raw access inside a function whose header git shows
/// as `funcname`.
fn patch_in(funcname: &str) -> String {
    format!(
        "--- a/block/x.c
+++ b/block/x.c
@@ -10,3 +10,4 @@ {funcname}
 {{
+	struct page *p = bv->bv_page;
 	return 0;
 }}
"
    )
}

#[test]
fn multibyte_characters_in_a_hunk_header_do_not_panic_review() {
    let t = TempDir::new();
    for funcname in [
        "static int café(struct bio_vec *bv)",
        "int é_x(struct bio_vec *bv)",
        "/* ünïcödé → */ static int f(struct bio_vec *bv)",
        "€(",
        "static int 日本(struct bio_vec *bv)",
        "int f😀(struct bio_vec *bv)",
    ] {
        let out = bvmig_stdin(t.path(), &["review", "-"], patch_in(funcname).as_bytes());
        assert_eq!(out.code, 1, "{funcname}: {}", out.stderr_text());
        assert!(
            out.stdout_text()
                .starts_with("block/x.c:11:23: warning: read: use bvec_page(bv)\n"),
            "{funcname}: {}",
            out.stdout_text()
        );
    }
}

#[test]
fn a_panic_in_review_is_one_line_naming_the_patch_and_file() {
    let t = TempDir::new();
    t.write("s.patch", patch_in("int f(struct bio_vec *bv)"));
    let out = bvmig_command(t.path(), &["review", "s.patch"])
        .env("BVMIG_TEST_PANIC", "block/x.c")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let out = Output::from(out);
    assert_eq!(out.code, 2);
    let err = out.stderr_text();
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with(
            "bvmig: internal error while reading s.patch: patch 1: block/x.c: provoked by BVMIG_TEST_PANIC (bvmig at src/input.rs:"
        ),
        "{err}"
    );
    assert!(err.ends_with("; please report it)\n"), "{err}");
}

#[test]
fn a_panic_in_the_walk_is_one_line_and_the_run_goes_on() {
    let t = TempDir::new();
    let top = kernel_tree(&t, "");
    let out = bvmig_command(&top, &["patch", "-q"])
        .env("BVMIG_TEST_PANIC", "fs/iomap.c")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let out = Output::from(out);
    assert_eq!(out.code, 2, "{}", out.stderr_text());
    let err = out.stderr_text();
    assert!(
        err.contains("fs/iomap.c: internal error, file left unchanged (please report): provoked by BVMIG_TEST_PANIC\n"),
        "{err}"
    );
    assert!(!err.contains("panicked at"), "{err}");
    // The other files are still rewritten.
    let diff = out.stdout_text();
    assert!(diff.contains("+++ b/drivers/block/brd.c"), "{diff}");
    assert!(!diff.contains("fs/iomap.c"), "{diff}");
    // Without the variable, the same run is clean.
    assert_eq!(bvmig(&top, &["patch", "-q"]).code, 0);
}

#[test]
fn fifos_named_as_ignore_files_do_not_block_the_walk() {
    let t = TempDir::new();
    let top = kernel_tree(&t, "");
    // At the top (read before the walk starts), in a directory below, and
    // .git/info/exclude of a repository.
    mkfifo(&top.join(".gitignore"));
    mkfifo(&top.join("drivers/.ignore"));
    std::fs::create_dir_all(top.join("fs/.git/info")).unwrap();
    mkfifo(&top.join("fs/.git/info/exclude"));
    // A regular ignore file elsewhere still applies.
    t.write("block/.ignore", "ignored.c\n");
    t.write("block/ignored.c", crate::util::user_c("ignored"));
    for cmd in [&["patch"][..], &["check", "-q"]] {
        let out = run_or_kill(Duration::from_secs(60), bvmig_command(&top, cmd));
        let want = if cmd[0] == "patch" { 0 } else { 1 };
        assert_eq!(out.code, want, "{cmd:?}: {}", out.stderr_text());
        let text = out.stdout_text();
        for f in [
            "block/bio.c",
            "drivers/block/brd.c",
            "fs/iomap.c",
            "mm/page_io.c",
        ] {
            assert!(text.contains(f), "{cmd:?}: {f} missing from {text}");
        }
        assert!(!text.contains("ignored.c"), "{cmd:?}: {text}");
    }
    let err = run_or_kill(Duration::from_secs(60), bvmig_command(&top, &["patch"])).stderr_text();
    for note in [
        "/.gitignore: a FIFO, not a regular file: not read, and no .gitignore file applies in this run",
        "drivers/.ignore: a FIFO, not a regular file: not read, and no .ignore file applies to drivers",
        "fs/.git/info/exclude: a FIFO, not a regular file: not read, and no .git/info/exclude file applies to fs",
    ] {
        assert!(err.contains(note), "{note:?} not in {err}");
    }
    // With --no-ignore, no ignore file is read at all.
    let out = run_or_kill(
        Duration::from_secs(60),
        bvmig_command(&top, &["patch", "--no-ignore"]),
    );
    assert_eq!(out.code, 0, "{}", out.stderr_text());
}

#[test]
fn a_fifo_where_a_c_file_is_expected_is_not_opened() {
    let t = TempDir::new();
    let top = kernel_tree(&t, "");
    mkfifo(&top.join("drivers/block/fifo.c"));
    // Met in the walk: not a regular file, so not a C file to read.
    let out = run_or_kill(
        Duration::from_secs(60),
        bvmig_command(&top, &["patch", "-q"]),
    );
    assert_eq!(out.code, 0, "{}", out.stderr_text());
    // Named on the command line: an error naming it.
    let out = run_or_kill(
        Duration::from_secs(60),
        bvmig_command(&top, &["patch", "-q", "drivers/block/fifo.c"]),
    );
    assert_eq!(out.code, 2);
    assert!(
        out.stderr_text()
            .contains("drivers/block/fifo.c: not a regular file or directory"),
        "{}",
        out.stderr_text()
    );
}

#[test]
fn binary_files_are_skipped_with_a_note() {
    let t = TempDir::new();
    let top = kernel_tree(&t, "");
    let mut bin = crate::util::user_c("bin_swap").into_bytes();
    bin.splice(10..10, *b"\0\x01\x02");
    t.write("drivers/block/bin.c", &bin);
    let out = bvmig(&top, &["patch"]);
    assert_eq!(out.code, 0, "{}", out.stderr_text());
    assert!(
        !out.stdout_text().contains("bin.c"),
        "{}",
        out.stdout_text()
    );
    assert!(
        out.stderr_text().contains(
            "drivers/block/bin.c: skipped: a binary file (a NUL byte at offset 10), not C"
        ),
        "{}",
        out.stderr_text()
    );
    let out = bvmig(&top, &["check", "-q"]);
    assert!(
        !out.stdout_text().contains("bin.c"),
        "{}",
        out.stdout_text()
    );
}

#[test]
fn endless_input_to_review_is_refused_in_one_line() {
    let t = TempDir::new();
    let out = run_or_kill(
        Duration::from_secs(60),
        bvmig_command(t.path(), &["review", "/dev/zero"]),
    );
    assert_eq!(out.code, 2);
    assert_eq!(
        out.stderr_text(),
        "bvmig: error: /dev/zero: more than 256 MiB; review reads at most that (is it a series of patches?)\n"
    );
    let mut cmd = bvmig_command(t.path(), &["review", "-"]);
    cmd.stdin(std::fs::File::open("/dev/zero").unwrap());
    let out = Output::from(cmd.output().unwrap());
    assert_eq!(out.code, 2);
    assert!(
        out.stderr_text().contains("<stdin>: more than 256 MiB"),
        "{}",
        out.stderr_text()
    );
}

#[test]
fn a_lone_cr_on_a_changed_line_gives_a_diff_git_apply_and_patch_accept() {
    let t = TempDir::new();
    let top = kernel_tree(&t, "tree");
    // Lone CRs on changed lines, on a context line, before a CRLF, and at
    // the end of a file without a final newline.
    t.write(
        "tree/drivers/block/brd.c",
        "#include <linux/bvec.h>\n\nstruct page *brd_swap(struct bio_vec *bv, struct page *p)\n{\n\tstruct page *old = bv->bv_page; /* a\rb */\n\r\n\tbv->bv_page = p;\r\r\n\treturn old;\r}\n",
    );
    t.write(
        "tree/fs/iomap.c",
        "struct page *f(struct bio_vec *bv)\n{\n\treturn bv->bv_page;\r\n}\r",
    );
    let out = bvmig(&top, &["patch", "-q"]);
    assert_eq!(out.code, 0, "{}", out.stderr_text());
    let diff = out.stdout;
    let text = String::from_utf8_lossy(&diff);
    // The only marker is after the last line of the file that really ends
    // without a newline (a context line, shown once).
    assert_eq!(
        text.matches("\\ No newline at end of file").count(),
        1,
        "{text}"
    );
    assert!(
        text.contains(" }\r\n\\ No newline at end of file\n"),
        "{text}"
    );
    let in_place = TempDir::new();
    crate::util::copy_dir(&top, in_place.path());
    assert_eq!(
        bvmig(in_place.path(), &["patch", "-q", "--in-place"]).code,
        0
    );
    let want = crate::util::snapshot(in_place.path());
    assert_ne!(want, crate::util::snapshot(&top));
    for tool in [&["git", "apply"][..], &["patch", "-p1", "-s", "-i"]] {
        let copy = TempDir::new();
        crate::util::copy_dir(&top, copy.path());
        let patch = t.write("x.patch", &diff);
        let mut args: Vec<&str> = tool[1..].to_vec();
        let patch = patch.to_str().unwrap();
        args.push(patch);
        crate::util::run_tool(copy.path(), tool[0], &args).unwrap();
        assert!(
            crate::util::snapshot(copy.path()) == want,
            "{tool:?} gives other bytes than --in-place"
        );
    }
}

/// The header and metavariable declarations of each rule of rule file
/// `text`, up to and with the `@@` that ends them.
fn rule_heads(text: &str) -> Vec<String> {
    let mut heads = Vec::new();
    let mut head: Option<String> = None;
    for line in text.split_inclusive('\n') {
        let t = line.trim_end();
        match head.as_mut() {
            Some(h) => {
                h.push_str(line);
                if t == "@@" {
                    heads.extend(head.take());
                }
            }
            None if t.starts_with('@') && t.len() > 1 && t.ends_with('@') && t != "@@" => {
                head = Some(line.to_string());
            }
            None if t == "@@" => heads.push(line.to_string()),
            None => {}
        }
    }
    heads
}

#[test]
fn a_multibyte_character_anywhere_in_a_rule_head_is_an_error_not_a_panic() {
    // fuzz/ (rule) found the header and declaration readers taking one
    // byte of a character of two as a token. The head of every rule of
    // every bundled rule file, with a character of two, three and four
    // bytes put at each place of it, and a small body after it.
    let rules = Path::new(env!("CARGO_MANIFEST_DIR")).join("rules");
    let mut tried = 0;
    for entry in std::fs::read_dir(&rules).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "cocci") {
            continue;
        }
        for head in rule_heads(&std::fs::read_to_string(&path).unwrap()) {
            let lines = head.lines().count();
            for (i, _) in head.char_indices() {
                for c in ['ۍ', '€', '😀'] {
                    let mut t = head.clone();
                    t.insert(i, c);
                    t.push_str("- 0\n+ 1\n");
                    // Either is fine; a panic fails the test.
                    if let Err(e) = bvmig::RuleFile::parse("x.cocci", &t) {
                        assert!(e.line >= 1 && e.line <= lines + 2, "{e}");
                    }
                    tried += 1;
                }
            }
        }
    }
    assert!(tried > 3000, "only {tried} places tried");
    // The fuzzer's own input, reduced: a name that starts with one.
    let e = bvmig::RuleFile::parse("x.cocci", "@@\nexpression ۍBV;\n@@\n- BV\n+ f(BV)\n")
        .expect_err("not an identifier");
    assert_eq!((e.line, e.col), (2, 12), "{e}");
}

#[test]
fn a_blank_character_at_the_start_of_a_rule_line_is_an_error_not_a_panic() {
    // fuzz/ (rule) found a vertical tab in column 0 of a context line
    // making a token fall outside every statement of the fragment.
    let body = [
        "- BV->bv_page = P;",
        "+ bvec_set_page(BV, P);",
        "  WARN_ON_ONCE(!P);",
        "  f(P);",
    ];
    for c in ['\x0b', '\x0c', '\r', '\t', '\0', '\u{a0}'] {
        for k in 0..body.len() {
            for at in [0, 1] {
                let mut lines: Vec<String> = body.iter().map(|l| l.to_string()).collect();
                lines[k].insert(at, c);
                let rule = format!("@@\nexpression BV, P;\n@@\n{}\n", lines.join("\n"));
                // Either is fine; a panic fails the test.
                if let Err(e) = bvmig::RuleFile::parse("x.cocci", &rule) {
                    assert!((1..=8).contains(&e.line), "{c:?} {k} {at}: {e}");
                }
            }
        }
    }
}

#[test]
fn hunk_headers_starting_at_any_line_do_not_panic_review() {
    // fuzz/ (series) found `+0,N` with added lines underflowing where the
    // fix-up diff is shifted to the hunk's place.
    let t = TempDir::new();
    for (old, new) in [
        (0, 0),
        (0, 1),
        (1, 0),
        (0, 1_000_000),
        (4_000_000_000u64, 0),
    ] {
        let patch = format!(
            "--- a/block/x.c\n+++ b/block/x.c\n@@ -{old},0 +{new},4 @@\n+void f(struct bio_vec *bv)\n+{{\n+\tstruct page *p = bv->bv_page;\n+}}\n"
        );
        let out = bvmig_stdin(t.path(), &["review", "-"], patch.as_bytes());
        assert!(
            matches!(out.code, 0 | 1) && !out.stderr_text().contains("internal error"),
            "-{old} +{new}: {}: {}",
            out.code,
            out.stderr_text()
        );
    }
}

#[test]
fn a_fifo_as_gits_global_excludes_or_config_does_not_block_the_walk() {
    // The walker reads git's global config and the `core.excludesFile` it
    // names, or `$XDG_CONFIG_HOME/git/ignore`: a FIFO in any of the three
    // would block it.
    for which in ["excludes", "config", "default"] {
        let t = TempDir::new();
        let top = kernel_tree(&t, "tree");
        let home = t.path().join("home");
        std::fs::create_dir_all(home.join(".config/git")).unwrap();
        let fifo = match which {
            "excludes" => {
                let fifo = home.join("excludes");
                t.write(
                    "home/.gitconfig",
                    format!("[core]\n\texcludesFile = {}\n", fifo.display()),
                );
                fifo
            }
            "config" => home.join(".gitconfig"),
            _ => home.join(".config/git/ignore"),
        };
        mkfifo(&fifo);
        let mut cmd = bvmig_command(&top, &["patch"]);
        cmd.env("HOME", &home)
            .env_remove("XDG_CONFIG_HOME")
            .env_remove("GIT_CONFIG_GLOBAL")
            .env("GIT_CONFIG_SYSTEM", "/dev/null");
        let out = run_or_kill(Duration::from_secs(60), cmd);
        assert_eq!(out.code, 0, "{which}: {}", out.stderr_text());
        assert!(
            out.stderr_text().contains(&format!(
                "{}: a FIFO, not a regular file: not read, and git's global excludes do not apply in this run",
                fifo.display()
            )),
            "{which}: {}",
            out.stderr_text()
        );
        assert!(
            out.stdout_text().contains("+++ b/"),
            "{which}: {}",
            out.stdout_text()
        );
    }
}

#[test]
fn a_match_in_a_macro_body_never_takes_in_the_wrapper_it_was_parsed_in() {
    // fuzz/ (rule) found `- (FP);` matching `#define X(a) (a)` together
    // with the `;` of the wrapper the body is parsed in: an edit past the
    // body, and a slice out of range. Every wrapper (statement,
    // initializer, arguments) and rules that reach past the body each way.
    let rules = [
        "@@\nexpression E;\n@@\n- (E);\n",
        "@@\nexpression E;\n@@\n- E;\n+ f(E);\n",
        "@@\nexpression E;\n@@\n- __bvmig_call(E)\n+ E\n",
        "@@\nexpression E;\n@@\n- __bvmig_call(E);\n",
        "@@\nidentifier I;\nexpression E;\n@@\n- I = E\n+ g(E)\n",
    ];
    let bodies = [
        "(a)",
        "a",
        "f(a)",
        ".x = (a)",
        "a, 1",
        "do { a; } while (0)",
        "x = a",
    ];
    for rule in rules {
        let rule_file =
            bvmig::RuleFile::parse("x.cocci", rule).unwrap_or_else(|e| panic!("{rule}: {e}"));
        let engine = bvmig::Engine::new(rule_file);
        for body in bodies {
            let text = format!("#define X(a) {body}\nint y;\n");
            let out = engine.rewrite(text.as_bytes());
            if let Some(new) = out.new_text {
                let new = String::from_utf8(new).unwrap();
                assert!(
                    new.starts_with("#define X(a) ") && new.ends_with("\nint y;\n"),
                    "{rule}{text} became\n{new}"
                );
            }
        }
    }
}
