//! `virtual` rules and `-D NAME` (issue 14): the bundled rules declare
//! patch, context, org and report for `make coccicheck`; bvmig runs their
//! patch rules by default and refuses other modes at the construct it
//! cannot run. Where Coccinelle's spatch is installed, both tools give the
//! same diff with a bundled rule.

use std::path::Path;
use std::process::Command;

use crate::util::{bvmig, TempDir};

const C: &str = "struct page;\nstruct bio_vec { struct page *bv_page; unsigned int bv_len; };\n\
static void f(struct bio_vec *bv, struct page *p, struct bio_vec v)\n{\n\tstruct page *q = bv->bv_page;\n\n\tbv->bv_page = p;\n\tv.bv_page = q;\n\tbv->bv_page++;\n\tif (v.bv_page)\n\t\tq = v.bv_page;\n}\n";

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn bundled_rules_declare_the_coccicheck_modes_and_run_as_before() {
    for rule in ["bv_page", "bv_page-modern", "bv_page-typed"] {
        let text = std::fs::read_to_string(repo().join(format!("rules/{rule}.cocci"))).unwrap();
        assert!(text.contains("\nvirtual patch\n"), "{rule}");
        assert!(text.contains("\nvirtual report\n"), "{rule}");
        assert!(text.contains(" depends on patch @"), "{rule}");
    }
    let t = TempDir::new();
    t.write("c.c", C);
    let rule = repo().join("rules/bv_page.cocci");
    let rule = rule.to_str().unwrap();
    // No -D: patch is implied; -D patch is the same.
    let plain = bvmig(t.path(), &["patch", "--rule", rule, "c.c"]);
    assert_eq!(plain.code, 0, "{}", plain.stderr_text());
    assert!(plain.stdout_text().contains("+\tbvec_set_page(bv, p);\n"));
    let given = bvmig(t.path(), &["patch", "-D", "patch", "--rule", rule, "c.c"]);
    assert_eq!(given.stdout, plain.stdout);
    // The built-in rule takes -D too, and so do check and review.
    let builtin = bvmig(t.path(), &["patch", "-D", "patch", "c.c"]);
    assert_eq!(builtin.code, 0, "{}", builtin.stderr_text());
    let check = bvmig(t.path(), &["check", "-D", "patch", "c.c"]);
    assert_eq!(check.code, 1, "{}", check.stderr_text());
    // Other modes: an error at the construct bvmig does not run.
    for (mode, want) in [
        (
            "report",
            "metavariable kind 'position' is not supported yet",
        ),
        ("org", "metavariable kind 'position' is not supported yet"),
        ("context", "'*' (report) lines are not supported"),
        ("chain", "-D chain: this file has no 'virtual chain'"),
    ] {
        for cmd in ["patch", "check"] {
            let out = bvmig(t.path(), &[cmd, "-D", mode, "--rule", rule, "c.c"]);
            assert_eq!(out.code, 2, "{cmd} -D {mode}");
            let err = out.stderr_text();
            assert!(err.starts_with(&format!("bvmig: error: {rule}:")), "{err}");
            assert!(err.contains(want), "{cmd} -D {mode}: {err}");
        }
    }
    let out = bvmig(t.path(), &["review", "-D", "report", "--rule", rule, "-"]);
    assert_eq!(out.code, 2);
    assert!(
        out.stderr_text().contains("'position'"),
        "{}",
        out.stderr_text()
    );
}

/// spatch and bvmig on the same file with the same bundled rule give the
/// same changed lines (bvmig writes `a/` and `b/` names; spatch its own).
#[test]
fn spatch_and_bvmig_agree_on_a_bundled_rule() {
    let Ok(version) = Command::new("spatch").arg("--version").output() else {
        println!("spatch_and_bvmig_agree_on_a_bundled_rule: spatch not installed (Debian package coccinelle); skipped");
        return;
    };
    assert!(version.status.success());
    let t = TempDir::new();
    t.write("c.c", C);
    for rule in ["bv_page", "bv_page-modern"] {
        let path = repo().join(format!("rules/{rule}.cocci"));
        let path = path.to_str().unwrap();
        let ours = bvmig(t.path(), &["patch", "--rule", path, "c.c"]);
        assert_eq!(ours.code, 0, "{}", ours.stderr_text());
        let theirs = Command::new("spatch")
            .current_dir(t.path())
            .args(["--very-quiet", "-D", "patch", "--sp-file", path, "c.c"])
            .env("TMPDIR", t.path())
            .output()
            .unwrap();
        assert!(
            theirs.status.success(),
            "{}",
            String::from_utf8_lossy(&theirs.stderr)
        );
        let changed = |d: &[u8]| -> Vec<String> {
            String::from_utf8_lossy(d)
                .lines()
                .filter(|l| {
                    (l.starts_with('+') || l.starts_with('-'))
                        && !l.starts_with("+++")
                        && !l.starts_with("---")
                })
                .map(str::to_string)
                .collect()
        };
        let (a, b) = (changed(&ours.stdout), changed(&theirs.stdout));
        assert!(!a.is_empty(), "{rule}: bvmig changed nothing");
        assert_eq!(a, b, "{rule}: bvmig and spatch differ");
        // And in report mode spatch reports each access the patch changes.
        let report = Command::new("spatch")
            .current_dir(t.path())
            .args([
                "--very-quiet",
                "--no-show-diff",
                "-D",
                "report",
                "--sp-file",
                path,
                "c.c",
            ])
            .env("TMPDIR", t.path())
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&report.stdout);
        assert_eq!(
            text.lines()
                .filter(|l| l.contains("WARNING: raw access"))
                .count(),
            6,
            "{rule}: {text}"
        );
    }
}
