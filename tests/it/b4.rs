//! `bvmig review --format b4` behind b4 itself: `b4 prep --check` with the
//! one line of `.b4-config` that README.md gives, on a small git tree. b4
//! comes from PyPI (`pip install b4`, which `.ci/run` does); without it the
//! test says so and checks the format alone.

use std::path::Path;
use std::process::{Command, Stdio};

use crate::util::{bvmig_stdin, TempDir};

const BVEC_H: &str = "struct page;\nstruct bio_vec {\n\tstruct page *bv_page;\n\tunsigned int bv_len;\n\tunsigned int bv_offset;\n};\n";

/// A kernel-like git tree prepared for `b4 prep`, with one commit that
/// adds a raw write and one that adds clean code.
fn repo() -> TempDir {
    let t = TempDir::new();
    t.write("Makefile", "");
    t.write("Kconfig", "");
    t.write("include/linux/bvec.h", BVEC_H);
    t.write("block/a.c", "int x;\n");
    git(t.path(), &["init", "-q", "-b", "master"]);
    // b4 knows its own branches by the user's configured address.
    git(t.path(), &["config", "user.name", "Test Author"]);
    git(t.path(), &["config", "user.email", "test@example.org"]);
    git(t.path(), &["add", "-A"]);
    git(t.path(), &["commit", "-q", "-m", "init"]);
    t
}

/// git as the test's author, at the real time: b4 does not find its cover
/// letter among commits that all carry one fixed date.
fn git(cwd: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args(args)
        .current_dir(cwd)
        .stdin(Stdio::null())
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_AUTHOR_NAME", "Test Author")
        .env("GIT_AUTHOR_EMAIL", "test@example.org")
        .env("GIT_COMMITTER_NAME", "Test Author")
        .env("GIT_COMMITTER_EMAIL", "test@example.org")
        .output()
        .expect("git runs");
    assert!(
        out.status.success(),
        "git {} failed: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn b4(cwd: &Path, args: &[&str]) -> Option<String> {
    let bin = Path::new(env!("CARGO_BIN_EXE_bvmig")).parent().unwrap();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = Command::new("b4")
        .args(args)
        .current_dir(cwd)
        .stdin(Stdio::null())
        .env("PATH", path)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_AUTHOR_NAME", "Test Author")
        .env("GIT_AUTHOR_EMAIL", "test@example.org")
        .env("GIT_COMMITTER_NAME", "Test Author")
        .env("GIT_COMMITTER_EMAIL", "test@example.org")
        .env("NO_COLOR", "1")
        .output()
        .ok()?;
    assert!(
        out.status.success(),
        "b4 {} failed: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    Some(format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    ))
}

/// The `.b4-config` line README.md gives a maintainer.
fn readme_b4_config() -> String {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let at = readme
        .find("```ini\n")
        .expect("the README shows .b4-config")
        + "```ini\n".len();
    readme[at..at + readme[at..].find("```").unwrap()].to_string()
}

#[test]
fn b4_prep_check_shows_each_raw_access_and_passes_clean_patches() {
    let t = repo();
    t.write(
        "block/a.c",
        "int x;\nvoid f(struct bio_vec *bv, struct page *p)\n{\n\tbv->bv_page = p;\n}\n",
    );
    // The format alone: one line per finding on stdout, nothing on stderr.
    let diff = git(t.path(), &["diff"]);
    let out = bvmig_stdin(
        t.path(),
        &["review", "--format", "b4", "-"],
        diff.as_bytes(),
    );
    assert_eq!(
        out.stdout_text(),
        "block/a.c:4: WARNING: write: use bvec_set_page(bv, p)\n"
    );
    assert_eq!(out.stderr_text(), "");

    if b4(t.path(), &["--version"]).is_none() {
        eprintln!("b4 is not installed (pip install b4): b4 prep --check not run");
        return;
    }
    git(t.path(), &["stash", "-q"]);
    b4(t.path(), &["prep", "-n", "bvtest"]).unwrap();
    git(t.path(), &["stash", "pop", "-q"]);
    git(
        t.path(),
        &["commit", "-q", "-a", "-s", "-m", "block: add f"],
    );
    t.write("block/b.c", "int y;\n");
    git(t.path(), &["add", "block/b.c"]);
    git(t.path(), &["commit", "-q", "-s", "-m", "block: add y"]);
    t.write(".b4-config", readme_b4_config());
    let report = b4(t.path(), &["prep", "--check", "-C"]).unwrap();
    assert!(
        report.contains("bvmig: block/a.c:4: WARNING: write: use bvec_set_page(bv, p)"),
        "{report}"
    );
    assert!(
        report.contains("Success: 1, Warning: 1, Error: 0"),
        "{report}"
    );
}
