//! `bvmig test`: the tests each rule file carries, run against the rule
//! file's own text (never a built-in copy).
//!
//! Coccinelle keeps a semantic patch's test next to it: `spatch --test foo`
//! runs `foo.cocci` on `foo.c` and compares the result with `foo.res`. A
//! rule file here has several cases, so they sit in a directory named after
//! it: `DIR/NAME.cocci` is tested by `DIR/tests/NAME/CASE.c`, whose rewrite
//! must equal `CASE.res` byte for byte. When `CASE.report` exists, the sites
//! the rule leaves must be its lines, as `bvmig patch` prints them
//! (`CASE.c:LINE:COL: KIND: REASON`). A case for a form the rule must
//! refuse has a `.res` equal to its input and a `.report` that says why.
//!
//! Every problem is reported and the run goes on: a case fails (its
//! expectations differ from what the rule does, shown as diffs) or is
//! broken (a file missing, unreadable or out of place); a rule file is
//! broken as a whole when it does not parse or has no cases, and so is a
//! cases directory without its rule file.

use std::fmt::Write as _;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use crate::engine::site::Status;
use crate::engine::Engine;
use crate::file::IoError;
use crate::smpl::{RuleError, RuleFile, Virtuals};

/// The directory, next to the rule files, that holds their cases.
pub const TESTS_DIR: &str = "tests";

/// What can break a rule file or a case.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A file or directory could not be read or written.
    #[error(transparent)]
    Io(#[from] IoError),
    /// The rule file is not UTF-8 or does not parse.
    #[error(transparent)]
    Rule(#[from] RuleError),
    /// A path given is neither a rule file nor a directory.
    #[error("{}: not a .cocci rule file or a directory", .0.display())]
    NotRule(PathBuf),
    /// A directory given holds no rule file.
    #[error("{}: no .cocci rule files here", .0.display())]
    NoRules(PathBuf),
    /// A rule file has no cases.
    #[error("{}: no test cases; add {}/CASE.c and its expected output CASE.res", rule.display(), dir.display())]
    NoCases {
        /// The rule file.
        rule: PathBuf,
        /// Where its cases go.
        dir: PathBuf,
    },
    /// A cases directory has no rule file.
    #[error("{}: no rule file {} for these cases", dir.display(), rule.display())]
    NoRule {
        /// The cases directory.
        dir: PathBuf,
        /// The rule file it needs.
        rule: PathBuf,
    },
    /// A case has no expected output.
    #[error("{}: no expected output; write it, or let bvmig test --update write what the rule gives", .0.display())]
    NoExpected(PathBuf),
    /// An expectation without its input.
    #[error("{}: no input {} for this expectation", path.display(), input.display())]
    NoInput {
        /// The expectation.
        path: PathBuf,
        /// The input it needs.
        input: PathBuf,
    },
    /// A file that is not part of a case.
    #[error("{}: not a test file; a case is CASE.c with CASE.res and, optionally, CASE.report", .0.display())]
    Stray(PathBuf),
}

/// How to run.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Write what each rule gives as the expectations instead of comparing:
    /// `CASE.res` always, `CASE.report` when it exists or sites are left.
    pub update: bool,
}

/// The run over every rule file given.
#[derive(Debug)]
pub struct Report {
    /// One per rule file (or broken path), in order.
    pub suites: Vec<Suite>,
}

/// A rule file and its cases.
#[derive(Debug)]
pub struct Suite {
    /// The rule file, or the path that could not be one.
    pub rule: PathBuf,
    /// Why none of its cases ran.
    pub broken: Option<Error>,
    /// Its cases, in name order.
    pub cases: Vec<Case>,
}

/// One case and how it went.
#[derive(Debug)]
pub struct Case {
    /// The input, `DIR/tests/NAME/CASE.c`.
    pub input: PathBuf,
    /// What happened.
    pub outcome: Outcome,
}

/// How a case went.
#[derive(Debug)]
pub enum Outcome {
    /// The rule gives what the case expects.
    Passed,
    /// The expectations were written (`--update`).
    Updated,
    /// The rule gives something else: one diff per expectation that differs.
    Failed(Vec<String>),
    /// The case cannot run.
    Broken(Error),
}

impl Report {
    /// The report as printed: one line per case (`ok`, `FAIL` followed by
    /// its diffs, `BROKEN` with the reason), then a summary.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let (mut n_passed, mut n_failed, mut n_broken, mut n_cases) = (0, 0, 0, 0);
        for s in &self.suites {
            if let Some(e) = &s.broken {
                n_broken += 1;
                let _ = writeln!(out, "BROKEN {e}");
                continue;
            }
            for c in &s.cases {
                n_cases += 1;
                let name = c.input.display();
                match &c.outcome {
                    Outcome::Passed => {
                        n_passed += 1;
                        let _ = writeln!(out, "ok     {name}");
                    }
                    Outcome::Updated => {
                        n_passed += 1;
                        let _ = writeln!(out, "update {name}");
                    }
                    Outcome::Failed(diffs) => {
                        n_failed += 1;
                        let _ = writeln!(out, "FAIL   {name}");
                        for d in diffs {
                            out.push_str(d);
                        }
                    }
                    Outcome::Broken(e) => {
                        n_broken += 1;
                        let _ = writeln!(out, "BROKEN {name}: {e}");
                    }
                }
            }
        }
        let _ = writeln!(
            out,
            "bvmig test: {} rule files, {n_cases} cases: {n_passed} passed, {n_failed} failed, {n_broken} broken",
            self.suites.len()
        );
        out
    }

    /// 0 when every case passed (or was updated), 1 when one failed, 2 when
    /// a rule file or a case is broken.
    pub fn exit_code(&self) -> u8 {
        let mut code = 0;
        for s in &self.suites {
            if s.broken.is_some() {
                return 2;
            }
            for c in &s.cases {
                match c.outcome {
                    Outcome::Broken(_) => return 2,
                    Outcome::Failed(_) => code = 1,
                    Outcome::Passed | Outcome::Updated => {}
                }
            }
        }
        code
    }
}

/// Runs the cases of every rule file in `paths`: `.cocci` files, and
/// directories whose `.cocci` files are all taken.
pub fn run(paths: &[PathBuf], opts: &Options) -> Report {
    let mut suites = Vec::new();
    for path in paths {
        if let Err(e) = std::fs::metadata(path) {
            suites.push(broken(path, Error::Io(IoError::new(path, e))));
        } else if path.is_dir() {
            match rule_files(path) {
                Ok(rules) => suites.extend(rules.iter().map(|r| suite(r, opts))),
                Err(e) => suites.push(broken(path, e)),
            }
            suites.extend(orphan_case_dirs(path));
        } else if path.extension().is_some_and(|e| e == "cocci") {
            suites.push(suite(path, opts));
        } else {
            suites.push(broken(path, Error::NotRule(path.clone())));
        }
    }
    Report { suites }
}

fn broken(path: &Path, e: Error) -> Suite {
    Suite {
        rule: path.to_owned(),
        broken: Some(e),
        cases: Vec::new(),
    }
}

/// The `.cocci` files directly in `dir`, sorted.
fn rule_files(dir: &Path) -> Result<Vec<PathBuf>, Error> {
    let mut rules = Vec::new();
    for entry in fs::read_dir(dir).map_err(IoError::at(dir))? {
        let path = entry.map_err(IoError::at(dir))?.path();
        if path.is_file() && path.extension().is_some_and(|e| e == "cocci") {
            rules.push(path);
        }
    }
    if rules.is_empty() {
        return Err(Error::NoRules(dir.to_owned()));
    }
    rules.sort();
    Ok(rules)
}

/// Directories of `dir/tests/` named after no rule file of `dir`: cases
/// left behind when a rule file was renamed or removed.
fn orphan_case_dirs(dir: &Path) -> Vec<Suite> {
    let tests = dir.join(TESTS_DIR);
    let Ok(entries) = fs::read_dir(&tests) else {
        return Vec::new();
    };
    let mut out: Vec<Suite> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir())
        .filter_map(|cases| {
            let name = cases.file_name()?.to_owned();
            let mut rule = dir.join(name);
            rule.as_mut_os_string().push(".cocci");
            (!rule.is_file()).then(|| Suite {
                rule: cases.clone(),
                broken: Some(Error::NoRule { dir: cases, rule }),
                cases: Vec::new(),
            })
        })
        .collect();
    out.sort_by(|a, b| a.rule.cmp(&b.rule));
    out
}

/// Where the cases of rule file `rule` are.
pub fn cases_dir(rule: &Path) -> PathBuf {
    let dir = rule.parent().unwrap_or(Path::new(""));
    let stem = rule.file_stem().unwrap_or_default();
    dir.join(TESTS_DIR).join(stem)
}

/// Reads and parses rule file `path`.
fn load(path: &Path) -> Result<RuleFile, Error> {
    let bytes = crate::file::read(path).map_err(IoError::at(path))?;
    Ok(RuleFile::from_bytes(
        &path.display().to_string(),
        bytes,
        &Virtuals::default(),
    )?)
}

/// One rule file and its cases.
fn suite(rule: &Path, opts: &Options) -> Suite {
    let dir = cases_dir(rule);
    // Typed metavariables find struct definitions in the case itself and in
    // the headers beside it.
    let engine = match load(rule) {
        Ok(rules) => Engine::new(rules).with_type_roots(vec![dir.clone()]),
        Err(e) => return broken(rule, e),
    };
    let inputs = match case_inputs(&dir) {
        Ok(inputs) => inputs,
        Err(e) => return broken(rule, e),
    };
    if inputs.is_empty() {
        return broken(
            rule,
            Error::NoCases {
                rule: rule.to_owned(),
                dir,
            },
        );
    }
    let cases = inputs
        .into_iter()
        .map(|input| match input {
            Ok(input) => {
                let outcome = run_case(&engine, rule, &input, opts).unwrap_or_else(Outcome::Broken);
                Case { input, outcome }
            }
            Err((path, e)) => Case {
                input: path,
                outcome: Outcome::Broken(e),
            },
        })
        .collect();
    Suite {
        rule: rule.to_owned(),
        broken: None,
        cases,
    }
}

/// A case's input, or a file in a cases directory that breaks, with why.
type Entry = Result<PathBuf, (PathBuf, Error)>;

/// The inputs in a cases directory, sorted, with every other file that is
/// not part of a case as a broken entry. No directory means no cases.
fn case_inputs(dir: &Path) -> Result<Vec<Entry>, Error> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(IoError::new(dir, e).into()),
    };
    let mut paths = Vec::new();
    for entry in entries {
        paths.push(entry.map_err(IoError::at(dir))?.path());
    }
    paths.sort();
    let mut out = Vec::new();
    for path in paths {
        let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
        match ext {
            _ if path.is_dir() => out.push(Err((path.clone(), Error::Stray(path)))),
            "c" => out.push(Ok(path)),
            "res" | "report" => {
                let input = path.with_extension("c");
                if !input.is_file() {
                    out.push(Err((path.clone(), Error::NoInput { path, input })));
                }
            }
            // Notes on the cases.
            "md" => {}
            _ => out.push(Err((path.clone(), Error::Stray(path)))),
        }
    }
    Ok(out)
}

/// The sites `rule` leaves in case `input`, as `bvmig patch` reports them.
fn sites_left(name: &str, outcome: &crate::engine::FileOutcome) -> String {
    let mut out = String::new();
    for s in &outcome.sites {
        if let Status::Left(why) = &s.status {
            let _ = writeln!(out, "{name}:{}:{}: {}: {why}", s.line, s.col, s.kind);
        }
    }
    out
}

/// Writes `bytes` to `path` whole or not at all: a temporary file beside
/// it, renamed over it.
fn write_whole(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    use std::io::Write;
    use std::os::unix::fs::PermissionsExt;
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty());
    let mut tmp = tempfile::Builder::new()
        .prefix(".bvmig-test-")
        .tempfile_in(dir.unwrap_or(Path::new(".")))
        .map_err(IoError::at(path))?;
    tmp.write_all(bytes).map_err(IoError::at(path))?;
    // The mode of the file replaced, or a new file's usual one.
    let mode =
        fs::metadata(path).map_or_else(|_| fs::Permissions::from_mode(0o644), |m| m.permissions());
    tmp.as_file()
        .set_permissions(mode)
        .map_err(IoError::at(path))?;
    tmp.persist(path).map_err(|e| IoError::new(path, e.error))?;
    Ok(())
}

fn run_case(engine: &Engine, rule: &Path, input: &Path, opts: &Options) -> Result<Outcome, Error> {
    let text = crate::file::read(input).map_err(IoError::at(input))?;
    let outcome = engine.rewrite_in(&text, input.parent());
    let name = input
        .file_name()
        .unwrap_or_default()
        .to_string_lossy()
        .into_owned();
    let actual = outcome.new_text.as_deref().unwrap_or(&text);
    let report = sites_left(&name, &outcome);
    let res_path = input.with_extension("res");
    let report_path = input.with_extension("report");

    if opts.update {
        write_whole(&res_path, actual)?;
        if report_path.exists() || !report.is_empty() {
            write_whole(&report_path, report.as_bytes())?;
        }
        return Ok(Outcome::Updated);
    }

    let expected = match crate::file::read(&res_path) {
        Ok(t) => t,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return Err(Error::NoExpected(res_path));
        }
        Err(e) => return Err(IoError::new(&res_path, e).into()),
    };
    let mut diffs = Vec::new();
    if expected != actual {
        diffs.push(diff(
            &res_path.display().to_string(),
            &format!("{} rewritten by {}", input.display(), rule.display()),
            &expected,
            actual,
        ));
    }
    // No .report: the case expects every site rewritten.
    let expected = match crate::file::read(&report_path) {
        Ok(t) => t,
        Err(e) if e.kind() == io::ErrorKind::NotFound => Vec::new(),
        Err(e) => return Err(IoError::new(&report_path, e).into()),
    };
    if expected != report.as_bytes() {
        diffs.push(diff(
            &report_path.display().to_string(),
            &format!("sites {} leaves in {}", rule.display(), input.display()),
            &expected,
            report.as_bytes(),
        ));
    }
    Ok(if diffs.is_empty() {
        Outcome::Passed
    } else {
        Outcome::Failed(diffs)
    })
}

/// A unified diff from `expected` to `actual`, three lines of context.
fn diff(expected_name: &str, actual_name: &str, expected: &[u8], actual: &[u8]) -> String {
    let expected = String::from_utf8_lossy(expected);
    let actual = String::from_utf8_lossy(actual);
    similar::TextDiff::from_lines(&*expected, &*actual)
        .unified_diff()
        .context_radius(3)
        .missing_newline_hint(true)
        .header(expected_name, actual_name)
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    const RULE: &str = "@@\nexpression E;\n@@\n- E->bv_page\n+ bvec_page(E)\n";

    /// A rules directory with `rule.cocci` and the cases given as
    /// `(file name, text)`.
    fn rules_dir(cases: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("rule.cocci"), RULE).unwrap();
        let cases_dir = dir.path().join("tests/rule");
        fs::create_dir_all(&cases_dir).unwrap();
        for (name, text) in cases {
            fs::write(cases_dir.join(name), text).unwrap();
        }
        dir
    }

    fn check(cases: &[(&str, &str)], expected: &str, code: u8) {
        let dir = rules_dir(cases);
        let report = run(&[dir.path().to_owned()], &Options::default());
        let root = format!("{}/", dir.path().display());
        assert_eq!(report.render().replace(&root, ""), expected);
        assert_eq!(report.exit_code(), code);
    }

    const INPUT: &str = "int f(struct bio_vec *bv)\n{\n\treturn bv->bv_page != 0;\n}\n";
    const OUTPUT: &str = "int f(struct bio_vec *bv)\n{\n\treturn bvec_page(bv) != 0;\n}\n";

    #[test]
    fn a_case_passes_when_the_rule_gives_its_res() {
        check(
            &[("read.c", INPUT), ("read.res", OUTPUT), ("read.report", "")],
            "ok     tests/rule/read.c\nbvmig test: 1 rule files, 1 cases: 1 passed, 0 failed, 0 broken\n",
            0,
        );
    }

    #[test]
    fn a_failing_case_shows_the_diff_of_expected_and_actual() {
        check(
            &[("read.c", INPUT), ("read.res", INPUT)],
            "FAIL   tests/rule/read.c
--- tests/rule/read.res
+++ tests/rule/read.c rewritten by rule.cocci
@@ -1,4 +1,4 @@
 int f(struct bio_vec *bv)
 {
-\treturn bv->bv_page != 0;
+\treturn bvec_page(bv) != 0;
 }
bvmig test: 1 rule files, 1 cases: 0 passed, 1 failed, 0 broken
",
            1,
        );
    }

    #[test]
    fn sites_left_are_compared_with_the_report() {
        let input = "void f(struct bio_vec *bv)\n{\n\tg(&bv->bv_page);\n}\n";
        check(
            &[("addr.c", input), ("addr.res", input), ("addr.report", "")],
            "FAIL   tests/rule/addr.c
--- tests/rule/addr.report
+++ sites rule.cocci leaves in tests/rule/addr.c
@@ -0,0 +1 @@
+addr.c:3:9: address: its address is taken; a helper call has no address
bvmig test: 1 rule files, 1 cases: 0 passed, 1 failed, 0 broken
",
            1,
        );
    }

    #[test]
    fn missing_and_stray_files_break_their_case() {
        check(
            &[
                ("a.c", INPUT),
                ("b.res", OUTPUT),
                ("c.c~", INPUT),
                ("notes.md", "why"),
            ],
            "BROKEN tests/rule/a.c: tests/rule/a.res: no expected output; write it, or let bvmig test --update write what the rule gives
BROKEN tests/rule/b.res: tests/rule/b.res: no input tests/rule/b.c for this expectation
BROKEN tests/rule/c.c~: tests/rule/c.c~: not a test file; a case is CASE.c with CASE.res and, optionally, CASE.report
bvmig test: 1 rule files, 3 cases: 0 passed, 0 failed, 3 broken
",
            2,
        );
    }

    #[test]
    fn a_rule_that_does_not_parse_or_has_no_cases_is_broken() {
        let dir = rules_dir(&[]);
        fs::write(
            dir.path().join("rule.cocci"),
            "@@\nfresh identifier I;\n@@\n- I\n+ J\n",
        )
        .unwrap();
        fs::create_dir_all(dir.path().join("tests/gone")).unwrap();
        fs::write(dir.path().join("x.cocci"), RULE).unwrap();
        let report = run(&[dir.path().to_owned()], &Options::default());
        let root = format!("{}/", dir.path().display());
        let text = report.render().replace(&root, "");
        assert!(text.starts_with("BROKEN rule.cocci:2:1: "), "{text}");
        assert!(
            text.contains("\nBROKEN x.cocci: no test cases; add tests/x/CASE.c and its expected output CASE.res\n"),
            "{text}"
        );
        assert!(
            text.contains("\nBROKEN tests/gone: no rule file gone.cocci for these cases\n"),
            "{text}"
        );
        assert_eq!(report.exit_code(), 2);
    }

    #[test]
    fn update_writes_the_expectations() {
        let input = "void f(struct bio_vec *bv)\n{\n\tg(&bv->bv_page, bv->bv_page);\n}\n";
        let dir = rules_dir(&[("a.c", input), ("b.c", INPUT)]);
        let opts = Options { update: true };
        let report = run(&[dir.path().join("rule.cocci")], &opts);
        assert_eq!(report.exit_code(), 0, "{}", report.render());
        let cases = dir.path().join("tests/rule");
        let read = |n: &str| fs::read_to_string(cases.join(n)).unwrap();
        assert_eq!(
            read("a.res"),
            "void f(struct bio_vec *bv)\n{\n\tg(&bv->bv_page, bvec_page(bv));\n}\n"
        );
        assert_eq!(
            read("a.report"),
            "a.c:3:9: address: its address is taken; a helper call has no address\n"
        );
        assert_eq!(read("b.res"), OUTPUT);
        assert!(!cases.join("b.report").exists());
        let again = run(&[dir.path().join("rule.cocci")], &Options::default());
        assert_eq!(again.exit_code(), 0, "{}", again.render());
    }
}
