//! The examples users copy: every line after `Examples:` in each command's
//! `--help`, and the README's "Using it on a kernel" block, run as written
//! by a shell (`~` is the test's home) against a small kernel-like git
//! tree, and the validate and test examples in a copy of bvmig's own
//! rules and one semantic fixture. A line passes when its status is 0
//! (for check and review, 1 too: they found something).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::util::{bvmig, copy_dir, git, kernel_tree, user_c, TempDir};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The example lines of `bvmig CMD --help`, comments taken off.
fn help_examples(cmd: &str) -> Vec<String> {
    let out = bvmig(&repo(), &[cmd, "--help"]);
    assert_eq!(out.code, 0);
    let text = out.stdout_text();
    let at = text
        .find("Examples:\n")
        .unwrap_or_else(|| panic!("bvmig {cmd} --help has no examples:\n{text}"));
    let lines: Vec<String> = text[at..]
        .lines()
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .map(|l| l.split(" #").next().unwrap().trim().to_string())
        .collect();
    assert!(!lines.is_empty(), "{text}");
    lines
}

/// The lines of the README's block after `heading`.
fn readme_block(heading: &str) -> Vec<String> {
    let readme = fs::read_to_string(repo().join("README.md")).unwrap();
    let at = readme.find(heading).expect("the README has the section");
    let block = &readme[at..];
    let start = block.find("```sh\n").unwrap() + "```sh\n".len();
    let end = start + block[start..].find("```").unwrap();
    block[start..end]
        .lines()
        .map(|l| l.split(" #").next().unwrap().trim().to_string())
        .filter(|l| !l.is_empty())
        .collect()
}

/// A home with `~/linux`: a kernel-like git tree that lacks the helpers,
/// tagged `v6.12-rc1` at its first commit, two commits after it that add
/// raw accesses, `my.cocci`, and a series (`series.mbox`, `pr.diff`) of a
/// side branch that adds one more.
fn home() -> (TempDir, PathBuf) {
    let t = TempDir::new();
    let top = kernel_tree(&t, "home/linux");
    fs::copy(repo().join("rules/bv_page.cocci"), top.join("my.cocci")).unwrap();
    git(&top, &["init", "-q", "-b", "master"]);
    git(&top, &["add", "-A"]);
    git(&top, &["commit", "-q", "-m", "base"]);
    git(&top, &["tag", "v6.12-rc1"]);
    t.write("home/linux/drivers/block/loop.c", user_c("loop_swap"));
    git(&top, &["add", "-A"]);
    git(&top, &["commit", "-q", "-m", "loop: swap pages"]);
    t.write("home/linux/fs/buffer.c", user_c("buffer_swap"));
    git(&top, &["add", "-A"]);
    git(&top, &["commit", "-q", "-m", "fs: swap buffer pages"]);
    git(&top, &["checkout", "-q", "-b", "topic"]);
    t.write("home/linux/block/blk-merge.c", user_c("merge_swap"));
    git(&top, &["add", "-A"]);
    git(&top, &["commit", "-q", "-m", "block: swap merged pages"]);
    let mbox = git(&top, &["format-patch", "-1", "--stdout"]);
    let diff = git(&top, &["diff", "master"]);
    git(&top, &["checkout", "-q", "master"]);
    t.write("home/linux/series.mbox", mbox);
    t.write("home/linux/pr.diff", diff);
    let home = t.path().join("home");
    (t, home)
}

/// A copy of what `bvmig test` and `bvmig validate` look at by default:
/// `rules/` (bv_pfn.cocci and my.cocci with a case each) and
/// `fixtures/semantic/` (one fixture).
fn project(t: &TempDir) -> PathBuf {
    let dir = t.path().join("bvmig");
    let rules = dir.join("rules");
    fs::create_dir_all(rules.join("tests")).unwrap();
    fs::copy(
        repo().join("rules/bv_pfn.cocci"),
        rules.join("bv_pfn.cocci"),
    )
    .unwrap();
    copy_dir(
        &repo().join("rules/tests/bv_pfn"),
        &rules.join("tests/bv_pfn"),
    );
    fs::copy(repo().join("rules/bv_page.cocci"), rules.join("my.cocci")).unwrap();
    fs::create_dir_all(rules.join("tests/my")).unwrap();
    for f in ["read.c", "read.res"] {
        fs::copy(
            repo().join("rules/tests/bv_page").join(f),
            rules.join("tests/my").join(f),
        )
        .unwrap();
    }
    copy_dir(
        &repo().join("fixtures/semantic/bounce_copy"),
        &dir.join("fixtures/semantic/bounce_copy"),
    );
    dir
}

/// Runs `lines` one after the other in one shell started in `cwd`, with
/// `home` as `~` and the built bvmig first on the PATH; each line's
/// status.
fn run_lines(cwd: &Path, home: &Path, lines: &[String]) -> Vec<(String, i32, String)> {
    let bin = Path::new(env!("CARGO_BIN_EXE_bvmig")).parent().unwrap();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut results = Vec::new();
    let mut script = String::from("exec 4>&2\n");
    for (i, l) in lines.iter().enumerate() {
        // Each line's stderr apart, then its status.
        script.push_str(&format!(
            "exec 2>\"$STATUS.{i}.err\"\n{l}\necho $? >> \"$STATUS\"\nexec 2>&4\n"
        ));
    }
    let status = home.join(".status");
    let _ = fs::remove_file(&status);
    let out = Command::new("bash")
        .arg("-c")
        .arg(&script)
        .current_dir(cwd)
        .stdin(Stdio::null())
        .env("HOME", home)
        .env("PATH", path)
        .env("STATUS", &status)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_AUTHOR_NAME", "Test Author")
        .env("GIT_AUTHOR_EMAIL", "test@example.org")
        .env("GIT_COMMITTER_NAME", "Test Author")
        .env("GIT_COMMITTER_EMAIL", "test@example.org")
        .env("NO_COLOR", "1")
        .output()
        .expect("bash runs");
    let codes = fs::read_to_string(&status).unwrap_or_default();
    let codes: Vec<i32> = codes.lines().map(|c| c.parse().unwrap()).collect();
    assert_eq!(
        codes.len(),
        lines.len(),
        "the script stopped: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    for (i, (l, c)) in lines.iter().zip(codes).enumerate() {
        let err = fs::read_to_string(format!("{}.{i}.err", status.display())).unwrap_or_default();
        results.push((l.clone(), c, err));
    }
    results
}

/// Asserts that every line ran: status 0, or 1 for check and review.
fn assert_ran(results: &[(String, i32, String)]) {
    for (line, code, err) in results {
        let finds = line.contains("bvmig check") || line.contains("bvmig review");
        let ok = *code == 0 || (finds && *code == 1);
        assert!(ok, "`{line}` exited with {code}:\n{err}");
    }
}

#[test]
fn the_help_examples_run_as_written() {
    for cmd in ["patch", "check", "review"] {
        let (_t, home) = home();
        let lines = help_examples(cmd);
        let results = run_lines(&home.join("linux"), &home, &lines);
        assert_ran(&results);
    }
    let t = TempDir::new();
    let dir = project(&t);
    for cmd in ["validate", "test"] {
        let lines = help_examples(cmd);
        let results = run_lines(&dir, t.path(), &lines);
        assert_ran(&results);
    }
    // Completions go where each shell looks for them in a user's home.
    for d in [
        ".local/share/bash-completion/completions",
        ".zfunc",
        ".config/fish/completions",
    ] {
        fs::create_dir_all(t.path().join(d)).unwrap();
    }
    for cmd in ["completions", "man"] {
        let lines = help_examples(cmd);
        let results = run_lines(t.path(), t.path(), &lines);
        assert_ran(&results);
    }
    assert!(fs::read_to_string(t.path().join(".zfunc/_bvmig"))
        .unwrap()
        .contains("#compdef bvmig"));
    assert!(fs::read_to_string(t.path().join("bvmig-patch.1"))
        .unwrap()
        .starts_with(".ie"));
    // `bvmig sparse`'s examples run make in a kernel tree: `cargo xtask
    // sparse` runs them; here, that they are what kbuild is given.
    for l in help_examples("sparse") {
        assert!(
            l.starts_with("make C=") && l.contains("CHECK=\"bvmig sparse"),
            "{l}"
        );
    }
}

#[test]
fn the_readme_kernel_examples_run_as_written() {
    let (_t, home) = home();
    let lines = readme_block("## Using it on a kernel");
    assert_eq!(lines[0], "cd ~/linux");
    let results = run_lines(&home, &home, &lines);
    assert_ran(&results);
    // What they did: a patch of the whole tree, then the tree converted.
    let top = home.join("linux");
    let patch = fs::read_to_string(top.join("bv_page.patch")).unwrap();
    assert!(patch.contains("diff --git a/include/linux/bvec.h b/include/linux/bvec.h"));
    let out = bvmig(&top, &["patch", "-q"]);
    assert_eq!(out.stdout_text(), "");
}
