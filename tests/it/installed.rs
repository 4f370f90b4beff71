//! `bvmig test` and `bvmig validate` from an installed binary: run where
//! there is no checkout, they use the rules' cases and the semantic
//! fixtures built into the binary.

use crate::util::{bvmig, TempDir};

#[test]
fn test_runs_the_bundled_rule_cases_with_no_checkout_around() {
    let t = TempDir::new();
    let out = bvmig(t.path(), &["test"]);
    let text = out.stdout_text();
    assert_eq!(out.code, 0, "{text}{}", out.stderr_text());
    assert!(
        out.stderr_text()
            .contains("testing the rules built into bvmig"),
        "{}",
        out.stderr_text()
    );
    let lines: Vec<&str> = text.lines().collect();
    let (summary, cases) = lines.split_last().unwrap();
    assert!(summary.starts_with("bvmig test: 8 rule files, "), "{text}");
    assert!(summary.ends_with(" 0 failed, 0 broken"), "{text}");
    // Named as in a checkout, and as many as the checkout has.
    assert!(
        cases.iter().all(|l| l.starts_with("ok     rules/tests/")),
        "{text}"
    );
    let in_checkout =
        crate::util::bvmig(std::path::Path::new(env!("CARGO_MANIFEST_DIR")), &["test"]);
    assert_eq!(text, in_checkout.stdout_text());
    // The current directory is left alone; a path given is still read.
    assert!(std::fs::read_dir(t.path()).unwrap().next().is_none());
    let out = bvmig(t.path(), &["test", "nowhere"]);
    assert_eq!(out.code, 2, "{}", out.stdout_text());
}

#[test]
fn validate_runs_the_bundled_fixtures_with_no_checkout_around() {
    let t = TempDir::new();
    let out = bvmig(
        t.path(),
        &[
            "validate",
            "--fixture",
            "bounce_copy",
            "--fixture",
            "bvec_initializer",
        ],
    );
    let text = out.stdout_text();
    assert_eq!(out.code, 0, "{text}{}", out.stderr_text());
    assert!(
        out.stderr_text()
            .contains("validating the fixtures built into bvmig"),
        "{}",
        out.stderr_text()
    );
    assert!(text.contains("bvmig validate: 2 fixtures, "), "{text}");
    assert!(text.contains(" 0 failed, 0 broken"), "{text}");
}
