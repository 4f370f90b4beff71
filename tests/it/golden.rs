//! The rewrite fixtures: `fixtures/rewrite/NAME/` holds `input.c` (or
//! `input.h`), the expected diff and the expected report. For each, the real
//! binary runs on a copy; its diff and stderr must equal the expectations;
//! the diff must apply with `git apply` and `patch -p1`; the input and the
//! rewritten file must both compile (`gcc -fsyntax-only` with
//! `fixtures/rewrite/kernel.h`); and a second run over the result must be
//! empty. A `rule` file names another rule to run, `cflags` adds compiler
//! flags, `nocompile` skips compiling, and each line of `configs` gives the
//! flags of one more configuration (`-DCONFIG_X`) in which the files are
//! compiled and `main.c` run, besides the one without. A `main.c` (which includes the
//! fixture's file) is built and run, exit status 0 expected, with the input
//! and again with the rewritten file, as it is and against
//! `-DBVMIG_LAYOUT_NO_PAGE`, where `struct bio_vec` has no `bv_page`: a
//! wrong rewrite fails by behaviour (an argument evaluated twice, a value
//! lost), not only by its text, and a site claimed converted cannot still
//! reach the member; sites a fixture expects left stand under
//! `#ifndef BVMIG_LAYOUT_NO_PAGE`, their behaviour run in the first layout.
//! A fixture whose input is a directory `tree/` (files that include each
//! other) is walked as a tree, and each of its `.c` files compiled.
//! `UPDATE_EXPECT=1` rewrites the expectations instead of comparing.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::util::{bvmig, fixtures_dir, run_tool, TempDir};

struct Case {
    name: String,
    dir: PathBuf,
    input: String,
}

fn cases() -> Vec<Case> {
    let root = fixtures_dir().join("rewrite");
    let mut cases: Vec<Case> = fs::read_dir(&root)
        .expect("fixtures/rewrite exists")
        .map(|e| e.expect("readable fixture dir").path())
        .filter(|p| p.is_dir())
        .map(|dir| {
            let input = ["input.c", "input.h", "tree"]
                .into_iter()
                .find(|n| dir.join(n).exists())
                .unwrap_or_else(|| panic!("{}: no input.c, input.h or tree", dir.display()))
                .to_string();
            Case {
                name: dir.file_name().unwrap().to_string_lossy().into_owned(),
                dir,
                input,
            }
        })
        .collect();
    cases.sort_by(|a, b| a.name.cmp(&b.name));
    cases
}

/// The flags of each configuration the fixture is built in: none, and
/// one per line of its `configs` file.
fn configs(case: &Case) -> Vec<Vec<String>> {
    let mut out = vec![Vec::new()];
    if let Ok(lines) = fs::read_to_string(case.dir.join("configs")) {
        out.extend(
            lines
                .lines()
                .filter(|l| !l.trim().is_empty())
                .map(|l| l.split_whitespace().map(str::to_string).collect()),
        );
    }
    out
}

/// [`compile_in`] in each configuration.
fn compile(case: &Case, file: &Path) -> Result<(), String> {
    for config in configs(case) {
        compile_in(case, file, &config).map_err(|e| format!("with {config:?}: {e}"))?;
    }
    Ok(())
}

fn compile_in(case: &Case, file: &Path, config: &[String]) -> Result<(), String> {
    if case.dir.join("nocompile").exists() {
        return Ok(());
    }
    if file.is_dir() {
        let mut files: Vec<PathBuf> = fs::read_dir(file)
            .map_err(|e| format!("{}: {e}", file.display()))?
            .map(|e| e.expect("readable tree entry").path())
            .filter(|p| p.extension().is_some_and(|x| x == "c"))
            .collect();
        files.sort();
        return files.iter().try_for_each(|f| compile(case, f));
    }
    let header = fixtures_dir().join("rewrite/kernel.h");
    let mut cmd = Command::new("gcc");
    cmd.args([
        "-fsyntax-only",
        "-Wall",
        "-Werror",
        "-Wno-unused-function",
        "-Wno-unused-variable",
        "-x",
        "c",
    ]);
    cmd.arg("-include").arg(&header);
    if let Ok(flags) = fs::read_to_string(case.dir.join("cflags")) {
        cmd.args(flags.split_whitespace());
    }
    cmd.args(config);
    cmd.arg(file);
    let out = cmd.output().map_err(|e| format!("gcc: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

/// [`run_main_in`] in each configuration.
fn run_main(case: &Case, dir: &Path, flags: &[&str]) -> Result<(), String> {
    for config in configs(case) {
        let mut all: Vec<&str> = config.iter().map(String::as_str).collect();
        all.extend(flags);
        run_main_in(case, dir, &all)?;
    }
    Ok(())
}

/// Builds the fixture's `main.c` (beside the copy of its file in `dir`)
/// with `flags` and runs it; `Ok` when there is none.
fn run_main_in(case: &Case, dir: &Path, flags: &[&str]) -> Result<(), String> {
    let main = case.dir.join("main.c");
    if !main.exists() {
        return Ok(());
    }
    let header = fixtures_dir().join("rewrite/kernel.h");
    // Beside the file it includes: `#include "input.c"` looks first in the
    // including file's directory.
    let copy = dir.join("fixture-main.c");
    fs::copy(&main, &copy).map_err(|e| format!("{}: {e}", main.display()))?;
    let exe = dir.join("fixture-main");
    let out = Command::new("gcc")
        .args(["-Wall", "-Werror", "-Wno-unused-function", "-x", "c"])
        .args(flags)
        .arg("-include")
        .arg(&header)
        .arg(&copy)
        .arg("-o")
        .arg(&exe)
        .output()
        .map_err(|e| format!("gcc: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "main.c {flags:?} does not build:\n{}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let run = Command::new(&exe)
        .current_dir(dir)
        .output()
        .map_err(|e| format!("{}: {e}", exe.display()))?;
    if !run.status.success() {
        return Err(format!(
            "main.c {flags:?} fails ({}):\n{}{}",
            run.status,
            String::from_utf8_lossy(&run.stdout),
            String::from_utf8_lossy(&run.stderr)
        ));
    }
    Ok(())
}

#[test]
fn rewrite_fixtures() {
    let update = std::env::var_os("UPDATE_EXPECT").is_some();
    let cases = cases();
    assert!(
        cases.len() >= 30,
        "at least 30 rewrite fixtures, found {}",
        cases.len()
    );
    let mut failures = Vec::new();
    for case in &cases {
        if let Err(e) = check_case(case, update) {
            failures.push(format!("--- fixture {} ---\n{e}", case.name));
        }
    }
    assert!(
        failures.is_empty(),
        "{} fixture(s) failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Copies the fixture's input (a file, or a `tree/`) into `dir`.
fn copy_input(case: &Case, dir: &Path) {
    let from = case.dir.join(&case.input);
    if from.is_dir() {
        crate::util::copy_dir(&from, &dir.join(&case.input));
    } else {
        fs::copy(&from, dir.join(&case.input)).unwrap();
    }
}

fn check_case(case: &Case, update: bool) -> Result<(), String> {
    let tmp = TempDir::new();
    copy_input(case, tmp.path());
    // A fixture may run another rule than the default: `rule` names it,
    // relative to the repository (copied in, so the report is stable).
    let mut args = vec!["patch".to_string()];
    if let Ok(rule) = fs::read_to_string(case.dir.join("rule")) {
        let src = fixtures_dir().parent().unwrap().join(rule.trim());
        fs::copy(&src, tmp.path().join("rule.cocci"))
            .map_err(|e| format!("{}: {e}", src.display()))?;
        args.extend(["--rule".to_string(), "rule.cocci".to_string()]);
    }
    args.push(case.input.clone());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = bvmig(tmp.path(), &args);
    if out.code != 0 {
        return Err(format!(
            "exit status {}, stderr:\n{}",
            out.code,
            out.stderr_text()
        ));
    }
    let diff_path = case.dir.join("expected.diff");
    let report_path = case.dir.join("expected.report");
    if update {
        fs::write(&diff_path, &out.stdout).unwrap();
        fs::write(&report_path, &out.stderr).unwrap();
    } else {
        let want_diff = fs::read(&diff_path)
            .map_err(|e| format!("{}: {e} (UPDATE_EXPECT=1 makes it)", diff_path.display()))?;
        let want_report =
            fs::read(&report_path).map_err(|e| format!("{}: {e}", report_path.display()))?;
        if out.stdout != want_diff {
            return Err(format!(
                "diff differs\n=== expected ===\n{}=== actual ===\n{}",
                String::from_utf8_lossy(&want_diff),
                out.stdout_text()
            ));
        }
        if out.stderr != want_report {
            return Err(format!(
                "report differs\n=== expected ===\n{}=== actual ===\n{}",
                String::from_utf8_lossy(&want_report),
                out.stderr_text()
            ));
        }
    }
    compile(case, &tmp.path().join(&case.input))
        .map_err(|e| format!("the input does not compile:\n{e}"))?;
    run_main(case, tmp.path(), &[]).map_err(|e| format!("with the input: {e}"))?;
    if out.stdout.is_empty() {
        return run_main(case, tmp.path(), &["-DBVMIG_LAYOUT_NO_PAGE"])
            .map_err(|e| format!("with the input unchanged: {e}"));
    }
    // The diff applies with both tools, and gives a file that compiles.
    let patch_file = tmp.path().join("out.patch");
    fs::write(&patch_file, &out.stdout).unwrap();
    run_tool(tmp.path(), "git", &["apply", "--check", "-p1", "out.patch"])?;
    run_tool(tmp.path(), "patch", &["-p1", "--quiet", "-i", "out.patch"])?;
    let rewritten = tmp.path().join(&case.input);
    compile(case, &rewritten).map_err(|e| format!("the rewritten file does not compile:\n{e}"))?;
    for flags in [&[][..], &["-DBVMIG_LAYOUT_NO_PAGE"]] {
        run_main(case, tmp.path(), flags).map_err(|e| format!("with the rewritten file: {e}"))?;
    }
    // Idempotent: nothing more to do on the output.
    let again = bvmig(tmp.path(), &args);
    if !again.stdout.is_empty() {
        return Err(format!(
            "a second run is not empty:\n{}",
            again.stdout_text()
        ));
    }
    Ok(())
}

/// The bundled tree the README runs (`bvmig patch fixtures/tree`) gives the
/// diff and report stored next to it.
#[test]
fn bundled_tree() {
    let root = fixtures_dir().parent().unwrap().to_path_buf();
    let out = bvmig(&root, &["patch", "fixtures/tree"]);
    assert_eq!(out.code, 0, "{}", out.stderr_text());
    let (diff, report) = (
        fixtures_dir().join("tree.expected.diff"),
        fixtures_dir().join("tree.expected.report"),
    );
    if std::env::var_os("UPDATE_EXPECT").is_some() {
        fs::write(&diff, &out.stdout).unwrap();
        fs::write(&report, &out.stderr).unwrap();
    }
    assert_eq!(out.stdout_text(), fs::read_to_string(diff).unwrap());
    assert_eq!(out.stderr_text(), fs::read_to_string(report).unwrap());
    // The README's first screen shows the whole report.
    let readme = fs::read_to_string(root.join("README.md")).unwrap();
    let shown = readme
        .split_once("and on stderr:\n```\n")
        .and_then(|(_, rest)| rest.split_once("```"))
        .map(|(block, _)| block)
        .expect("the README shows the report of the bundled tree");
    assert_eq!(shown, out.stderr_text(), "README.md's report is stale");
}

/// A site as `bvmig check` reports it: its kind, and the replacement
/// (`use ...`) or the reason it is left.
type Findings = std::collections::BTreeMap<String, (String, String)>;

/// `None` when the tree refuses the rule (a helper it calls is defined
/// with other parameters).
fn findings(dir: &Path, rule: &str, input: &str) -> Result<Option<Findings>, String> {
    let out = bvmig(dir, &["check", "--rule", rule, input]);
    if out.code == 2 && out.stderr_text().contains("is defined with") {
        return Ok(None);
    }
    if out.code != 0 && out.code != 1 {
        return Err(format!("check --rule {rule}: {}", out.stderr_text()));
    }
    let mut found = Findings::new();
    for line in out.stdout_text().lines() {
        // `input.c:...`, or `tree/a.c:...` for a tree.
        let Some(rest) = line
            .strip_prefix(input)
            .and_then(|r| r.strip_prefix(':').or_else(|| r.strip_prefix('/')))
        else {
            continue;
        };
        let Some((pos, rest)) = rest.split_once(": warning: ") else {
            continue;
        };
        let (kind, what) = rest.split_once(": ").unwrap_or((rest, ""));
        found.insert(pos.to_string(), (kind.to_string(), what.to_string()));
    }
    Ok(Some(found))
}

/// The differential test: over every fixture, the untyped rule
/// (`rules/bv_page-modern.cocci`) and the typed rule
/// (`rules/bv_page-typed.cocci`, the same conversion with typed
/// metavariables), site by site. Where the typed rule converts a site, the
/// untyped one converts it the same way (or merges it into the
/// four-argument `bvec_set_page()`, which the typed rule does not write).
/// Where the field is unique the typed rule may leave more (types it
/// cannot see), never convert differently. Where another struct declares
/// the field (`SHARED` lists those fixtures; the test fails when the list
/// is wrong either way), the untyped rule gives the typed rule's output: it
/// converts exactly what the typed rule converts, and leaves another
/// type's member as `other struct` and an unknown type as `unknown type`.
#[test]
fn typed_and_untyped_rules_agree() {
    const SHARED: &[&str] = &["look_alike_structs", "typed_rule"];
    let root = fixtures_dir().parent().unwrap().to_path_buf();
    let mut failures = Vec::new();
    let mut shared = Vec::new();
    let mut refused = Vec::new();
    for case in cases() {
        let tmp = TempDir::new();
        copy_input(&case, tmp.path());
        for r in ["bv_page-modern.cocci", "bv_page-typed.cocci"] {
            fs::copy(root.join("rules").join(r), tmp.path().join(r)).unwrap();
        }
        let (untyped, typed) = match (
            findings(tmp.path(), "bv_page-modern.cocci", &case.input),
            findings(tmp.path(), "bv_page-typed.cocci", &case.input),
        ) {
            (Ok(Some(u)), Ok(Some(t))) => (u, t),
            (Ok(_), Ok(_)) => {
                refused.push(case.name.clone());
                continue;
            }
            (Err(e), _) | (_, Err(e)) => {
                failures.push(format!("{}: {e}", case.name));
                continue;
            }
        };
        let typed_left = |what: &str| {
            if what.contains("another type's member") {
                Some("other struct: ")
            } else if what.contains("is unknown (evidence: unknown)") {
                Some("unknown type: ")
            } else {
                None
            }
        };
        let is_shared = untyped
            .values()
            .any(|(_, w)| w.starts_with("other struct: ") || w.starts_with("unknown type: "));
        if is_shared {
            shared.push(case.name.clone());
        }
        for (pos, (kind, what)) in &typed {
            let Some((_, theirs)) = untyped.get(pos) else {
                failures.push(format!(
                    "{}:{pos}: only the typed rule reports it",
                    case.name
                ));
                continue;
            };
            let fail = if what.starts_with("use ") {
                // The typed rule's text may keep a nested access whose
                // type it cannot see (reported as a site of its own).
                !(theirs == what
                    || theirs.starts_with("use bvec_set_page(")
                    || (what.contains("bv_page") && theirs.starts_with("use ")))
            } else if let Some(prefix) = typed_left(what) {
                // Another type's member is never converted; an unknown
                // type is left too where the field is not unique, and
                // says so.
                if theirs.starts_with("use ") {
                    is_shared || prefix == "other struct: "
                } else {
                    is_shared && !theirs.starts_with(prefix)
                }
            } else {
                false
            };
            if fail {
                failures.push(format!(
                    "{}:{pos}: {kind}: typed {what:?}, untyped {theirs:?}",
                    case.name
                ));
            }
        }
        if is_shared {
            // Nothing converted that the typed rule does not convert.
            for (pos, (kind, theirs)) in &untyped {
                let typed_use = typed.get(pos).is_some_and(|(_, w)| w.starts_with("use "));
                if theirs.starts_with("use ") && !typed_use {
                    failures.push(format!(
                        "{}:{pos}: {kind}: only the untyped rule converts it: {theirs:?}",
                        case.name
                    ));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // Fixtures whose own two-argument bvec_set_page() refuses the modern
    // rule's four-argument call.
    assert_eq!(
        refused,
        ["helper_bodies_excluded"],
        "fixtures refusing a rule"
    );
    assert_eq!(
        shared, SHARED,
        "fixtures where another struct declares the field"
    );
}
