//! Property tests: the golden fixtures' inputs, mutated a little (tokens
//! deleted or duplicated, `#if 0` inserted, lines joined with
//! backslash-newline), through the real binary. Whatever the input, the
//! diff applies, a second run finds nothing more to do, only lines holding
//! the field change, and every access left is reported. And the rule
//! parser, fed mutated bundled rules, answers with a rule or a one-line
//! error, never a crash.
//!
//! The case count is small for CI and the seed fixed; `PROPTEST_CASES=2000
//! PROPTEST_SEED=7 cargo test --test it robust_props` runs a larger search.

use std::path::PathBuf;

use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};

use crate::util::{bvmig, fixtures_dir, run_tool, TempDir};

/// Cases when `PROPTEST_CASES` is not set: enough to catch a class of
/// fault, few enough for CI on two cores.
const DEFAULT_CASES: u32 = 24;

fn config() -> Config {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(DEFAULT_CASES);
    Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    }
}

/// A runner with a fixed seed, so that CI runs the same cases every time;
/// `PROPTEST_SEED=N` picks other ones.
fn runner() -> TestRunner {
    let seed: u64 = std::env::var("PROPTEST_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(12);
    let mut bytes = [0u8; 32];
    bytes[..8].copy_from_slice(&seed.to_le_bytes());
    TestRunner::new_with_rng(config(), TestRng::from_seed(RngAlgorithm::ChaCha, &bytes))
}

fn inputs(dir: &str, name: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out: Vec<(PathBuf, Vec<u8>)> = std::fs::read_dir(fixtures_dir().join(dir))
        .unwrap()
        .filter_map(|e| {
            let p = e.unwrap().path().join(name);
            std::fs::read(&p).ok().map(|t| (p, t))
        })
        .collect();
    out.sort();
    out
}

/// One small change to a text, at a place given as a fraction of its length.
#[derive(Debug, Clone)]
enum Mutation {
    /// The token (run of word bytes, or one other byte) there is deleted.
    Delete(f64),
    /// The token there is written twice.
    Duplicate(f64),
    /// `#if 0` is inserted at the start of the line there, with its
    /// `#endif` a few lines on, or never.
    IfZero(f64, Option<usize>),
    /// The line there is joined to the next by a backslash-newline.
    Join(f64),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (0.0..1.0f64).prop_map(Mutation::Delete),
        (0.0..1.0f64).prop_map(Mutation::Duplicate),
        (0.0..1.0f64, proptest::option::of(0usize..6)).prop_map(|(a, b)| Mutation::IfZero(a, b)),
        (0.0..1.0f64).prop_map(Mutation::Join),
    ]
}

fn token_at(text: &[u8], at: usize) -> std::ops::Range<usize> {
    let word = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    if !word(text[at]) {
        return at..at + 1;
    }
    let mut s = at;
    while s > 0 && word(text[s - 1]) {
        s -= 1;
    }
    let mut e = at;
    while e < text.len() && word(text[e]) {
        e += 1;
    }
    s..e
}

fn line_start(text: &[u8], at: usize) -> usize {
    text[..at]
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |p| p + 1)
}

fn apply_mutation(text: &mut Vec<u8>, m: &Mutation) {
    if text.is_empty() {
        return;
    }
    let pos = |f: f64| ((text.len() as f64 * f) as usize).min(text.len() - 1);
    match *m {
        Mutation::Delete(f) => {
            let r = token_at(text, pos(f));
            text.drain(r);
        }
        Mutation::Duplicate(f) => {
            let r = token_at(text, pos(f));
            let tok = text[r.clone()].to_vec();
            text.splice(r.end..r.end, tok);
        }
        Mutation::IfZero(f, endif) => {
            let s = line_start(text, pos(f));
            if let Some(n) = endif {
                let mut e = s;
                for _ in 0..=n {
                    match text[e..].iter().position(|&b| b == b'\n') {
                        Some(p) => e += p + 1,
                        None => {
                            e = text.len();
                            break;
                        }
                    }
                }
                if e == text.len() && text.last() != Some(&b'\n') {
                    text.push(b'\n');
                    e = text.len();
                }
                text.splice(e..e, b"#endif\n".iter().copied());
            }
            text.splice(s..s, b"#if 0\n".iter().copied());
        }
        Mutation::Join(f) => {
            let at = pos(f);
            if let Some(p) = text[at..].iter().position(|&b| b == b'\n') {
                // Before a CRLF's CR: a lone CR is another class (diff.rs's).
                let mut nl = at + p;
                if nl > 0 && text[nl - 1] == b'\r' {
                    nl -= 1;
                }
                text.splice(nl..nl, b" \\".iter().copied());
            }
        }
    }
}

/// A number from a summary line of bvmig's stderr (`bvmig: 4 sites: ...`,
/// `..., 2 left for a human`); 0 when the line is absent.
fn summary_number(stderr: &str, before: &str, after: &str) -> usize {
    stderr
        .lines()
        .filter(|l| l.starts_with("bvmig: "))
        .find_map(|l| {
            let rest = l.strip_suffix(after).or_else(|| {
                let k = l.find(after)?;
                Some(&l[..k])
            })?;
            let rest = rest.strip_prefix(before).unwrap_or(rest);
            rest.rsplit(|c: char| !c.is_ascii_digit())
                .next()
                .and_then(|n| n.parse().ok())
        })
        .unwrap_or(0)
}

fn check_rewrite(text: &[u8]) -> Result<(), TestCaseError> {
    let t = TempDir::new();
    t.write("a/x.c", text);
    let first = bvmig(t.path(), &["patch", "a/x.c"]);
    prop_assert!(
        matches!(first.code, 0..=2),
        "bvmig died ({}): {}",
        first.code,
        first.stderr_text()
    );
    let stderr = first.stderr_text();
    prop_assert!(!stderr.contains("internal error"), "{stderr}");
    let diff = first.stdout_text();
    // Only code that holds the field is taken away: each run of removed
    // lines holds it (an expression may span lines).
    let mut run = String::new();
    for l in diff.lines().chain(std::iter::once("")) {
        if l.starts_with('-') && !l.starts_with("---") {
            run.push_str(l);
            run.push('\n');
        } else if !run.is_empty() {
            prop_assert!(run.contains("bv_page"), "{run:?} removed:\n{diff}");
            run.clear();
        }
    }
    // The diff applies, and gives what --in-place writes.
    t.write("b/x.c", text);
    t.write("x.diff", &first.stdout);
    if !diff.is_empty() {
        run_tool(
            t.path(),
            "patch",
            &["-p2", "-s", "-d", "b", "-i", "../x.diff"],
        )
        .map_err(TestCaseError::fail)?;
    }
    let inplace = bvmig(t.path(), &["patch", "--in-place", "a/x.c"]);
    prop_assert!(matches!(inplace.code, 0..=2));
    prop_assert_eq!(
        t.read("a/x.c"),
        t.read("b/x.c"),
        "the diff and --in-place differ"
    );
    // A second run has nothing to do, and finds exactly what the first left.
    let second = bvmig(t.path(), &["patch", "a/x.c"]);
    prop_assert!(matches!(second.code, 0..=2));
    prop_assert_eq!(
        second.stdout_text(),
        "",
        "not idempotent; first diff:\n{}",
        diff
    );
    let left = summary_number(&stderr, "", " left for a human");
    let again = summary_number(&second.stderr_text(), "bvmig: ", " sites");
    prop_assert_eq!(
        again,
        left,
        "the second run finds sites the first did not report as left:\n{}\n{}",
        stderr,
        second.stderr_text()
    );
    Ok(())
}

#[test]
fn mutated_fixtures_rewrite_to_a_fixed_point_with_every_site_reported() {
    let fixtures = inputs("rewrite", "input.c");
    assert!(fixtures.len() >= 30);
    let strategy = (
        0..fixtures.len(),
        proptest::collection::vec(mutation(), 1..4),
    );
    let mut runner = runner();
    let res = runner.run(&strategy, |(k, muts)| {
        let mut text = fixtures[k].1.clone();
        for m in &muts {
            apply_mutation(&mut text, m);
        }
        check_rewrite(&text)
            .map_err(|e| TestCaseError::fail(format!("{}: {muts:?}: {e}", fixtures[k].0.display())))
    });
    if let Err(e) = res {
        panic!("{e}");
    }
}

#[test]
fn mutated_rules_parse_or_fail_with_one_line() {
    let mut rules: Vec<(PathBuf, Vec<u8>)> =
        std::fs::read_dir(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("rules"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "cocci"))
            .map(|p| {
                let t = std::fs::read(&p).unwrap();
                (p, t)
            })
            .collect();
    rules.sort();
    assert!(rules.len() >= 4);
    let strategy = (0..rules.len(), proptest::collection::vec(mutation(), 1..4));
    let input = "void f(struct bio_vec *bv, struct page *p)\n{\n\tbv->bv_page = p;\n}\n";
    let mut runner = runner();
    let res = runner.run(&strategy, |(k, muts)| {
        let mut rule = rules[k].1.clone();
        for m in &muts {
            apply_mutation(&mut rule, m);
        }
        let t = TempDir::new();
        t.write("r.cocci", &rule);
        t.write("a.c", input);
        let out = bvmig(t.path(), &["patch", "--rule", "r.cocci", "a.c"]);
        let stderr = out.stderr_text();
        let name = rules[k].0.display();
        prop_assert!(
            matches!(out.code, 0..=2),
            "{name}: {muts:?}: bvmig died ({}): {stderr}",
            out.code
        );
        prop_assert!(!stderr.contains("panicked"), "{name}: {muts:?}: {stderr}");
        if out.code == 2 {
            prop_assert!(
                stderr.contains("r.cocci:"),
                "{name}: {muts:?}: an error that names no place: {stderr}"
            );
        }
        Ok(())
    });
    if let Err(e) = res {
        panic!("{e}");
    }
}
