//! What `bvmig validate` found, per fixture and scenario, and its rendering
//! and exit status.

use std::fmt::Write as _;

/// How bad a fixture's problem is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    /// The rewrite changed what the code does, or does not compile: what
    /// `validate` exists to find.
    Failed,
    /// The fixture itself is unusable: its scenario does not parse, or the
    /// original does not compile, crashes or hangs.
    Broken,
}

/// A problem of one fixture.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// How bad.
    pub severity: Severity,
    /// What, naming the scenario and version and the first difference.
    pub message: String,
}

/// What the original did in one scenario, for a reader to judge whether
/// the fixture exercises anything.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScenarioReport {
    /// The scenario's name.
    pub name: String,
    /// Whether it names memory without a memmap (the original and the
    /// converted version then ran on DRAM at the same addresses).
    pub pageless: bool,
    /// The original's return value.
    pub ret: i32,
    /// Its events (scatterlist, DMA, misuse, reports), described.
    pub events: Vec<String>,
    /// The digest of memory at the end.
    pub digest: u64,
}

/// The outcome of one fixture.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FixtureReport {
    /// Its name (its directory's).
    pub name: String,
    /// Scenarios run.
    pub scenarios: usize,
    /// What the original did in each scenario it completed.
    pub originals: Vec<ScenarioReport>,
    /// What the rules did: sites rewritten and left.
    pub rewrite: String,
    /// Problems; none if it passed.
    pub problems: Vec<Problem>,
}

impl FixtureReport {
    /// Whether every version did what the original did in every scenario.
    pub fn passed(&self) -> bool {
        self.problems.is_empty()
    }
}

/// The outcome of a validation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// Every fixture, sorted by name.
    pub fixtures: Vec<FixtureReport>,
    /// What the run as a whole left out, and why (a layout skipped because
    /// a rule file is missing), printed before the summary.
    pub notes: Vec<String>,
}

impl Report {
    /// The text the command prints: a line per fixture, its problems
    /// indented below it, and a summary.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let (mut passed, mut failed, mut broken, mut scenarios) = (0, 0, 0, 0);
        for f in &self.fixtures {
            scenarios += f.scenarios;
            let word = if f.passed() {
                passed += 1;
                "ok"
            } else if f.problems.iter().any(|p| p.severity == Severity::Broken) {
                broken += 1;
                "BROKEN"
            } else {
                failed += 1;
                "FAIL"
            };
            let _ = writeln!(
                out,
                "{word:<6} {}: {} scenarios; {}",
                f.name, f.scenarios, f.rewrite
            );
            for p in &f.problems {
                for (i, line) in p.message.lines().enumerate() {
                    match i {
                        0 => writeln!(out, "  - {}: {line}", f.name),
                        _ => writeln!(out, "      {line}"),
                    }
                    .unwrap_or_default();
                }
            }
        }
        for note in &self.notes {
            let _ = writeln!(out, "bvmig validate: {note}");
        }
        let _ = writeln!(
            out,
            "bvmig validate: {} fixtures, {scenarios} scenarios: {passed} passed, {failed} failed, {broken} broken",
            self.fixtures.len()
        );
        out
    }

    /// The exit status, as grep's: 0 when every fixture passed, 1 when a
    /// rewrite failed one, 2 when a fixture is broken.
    pub fn exit_code(&self) -> u8 {
        let all = self.fixtures.iter().flat_map(|f| &f.problems);
        let mut code = 0;
        for p in all {
            code = match p.severity {
                Severity::Broken => return 2,
                Severity::Failed => 1,
            };
        }
        code
    }
}

pub(super) fn broken(message: String) -> Problem {
    Problem {
        severity: Severity::Broken,
        message,
    }
}

pub(super) fn failed(message: String) -> Problem {
    Problem {
        severity: Severity::Failed,
        message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_follow_grep() {
        let fixture = |problems: Vec<Problem>| FixtureReport {
            name: "f".into(),
            scenarios: 1,
            originals: Vec::new(),
            rewrite: String::new(),
            problems,
        };
        let mut report = Report {
            fixtures: vec![fixture(vec![])],
            notes: Vec::new(),
        };
        assert_eq!(report.exit_code(), 0);
        report.fixtures.push(fixture(vec![failed("x".into())]));
        assert_eq!(report.exit_code(), 1);
        report.fixtures.push(fixture(vec![broken("y".into())]));
        assert_eq!(report.exit_code(), 2);
        let text = report.render();
        assert!(text.contains("FAIL   f: 1 scenarios"), "{text}");
        assert!(text.contains("  - f: x"), "{text}");
        assert!(
            text.ends_with("3 fixtures, 3 scenarios: 1 passed, 1 failed, 1 broken\n"),
            "{text}"
        );
    }
}
