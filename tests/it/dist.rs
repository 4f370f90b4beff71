//! `bvmig completions` and `bvmig man`: what `cargo install` users get in
//! place of a package's completion and man page files.

use crate::util::{bvmig, run_tool, TempDir};

const COMMANDS: [&str; 9] = [
    "patch",
    "check",
    "review",
    "validate",
    "test",
    "sparse",
    "lsp",
    "completions",
    "man",
];

#[test]
fn completions_know_every_command_and_bash_accepts_them() {
    let t = TempDir::new();
    let out = bvmig(t.path(), &["completions", "bash"]);
    assert_eq!(out.code, 0, "{}", out.stderr_text());
    let script = out.stdout_text();
    assert!(script.contains("complete -F _bvmig"), "{script}");
    for c in COMMANDS {
        assert!(script.contains(c), "{c} missing from the bash completions");
    }
    // The script parses as bash.
    let path = t.write("bvmig.bash", &out.stdout);
    run_tool(t.path(), "bash", &["-n", path.to_str().unwrap()]).expect("bash -n accepts it");
    for shell in ["zsh", "fish", "elvish", "powershell"] {
        let out = bvmig(t.path(), &["completions", shell]);
        assert_eq!(out.code, 0, "{shell}: {}", out.stderr_text());
        assert!(out.stdout_text().contains("--in-place"), "{shell}");
    }
    let bad = bvmig(t.path(), &["completions", "tcsh"]);
    assert_eq!(bad.code, 2);
}

#[test]
fn man_pages_for_bvmig_and_each_command() {
    let t = TempDir::new();
    let top = bvmig(t.path(), &["man"]).stdout_text();
    assert!(top.contains(".TH bvmig 1"), "{top}");
    for c in COMMANDS {
        assert!(top.contains(&format!("bvmig\\-{c}(1)")), "{c} not listed");
    }
    assert!(!top.contains("bvmig\\-help(1)"), "help has no page");
    let patch = bvmig(t.path(), &["man", "patch"]);
    assert_eq!(patch.code, 0);
    let page = patch.stdout_text();
    assert!(page.contains(".TH bvmig-patch 1"), "{page}");
    assert!(page.contains("\\-\\-in\\-place"), "{page}");
    let bad = bvmig(t.path(), &["man", "nope"]);
    assert_eq!(bad.code, 2);
    assert_eq!(
        bad.stderr_text(),
        "bvmig: error: no command 'nope'; the commands are patch, check, review, validate, test, sparse, lsp, completions, man\n"
    );
}
