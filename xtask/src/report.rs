//! The PASS/FAIL report that the checking tasks (`e2e`, `merge-window`)
//! print as they go.

use std::time::{Duration, Instant};

/// Checks counted and printed as they run (PASS, FAIL, WARN), with
/// notes and timed steps between them.
#[derive(Default)]
pub struct Report {
    /// Checks made.
    pub n_checks: usize,
    /// What the failed ones checked.
    pub failed: Vec<String>,
    /// Warnings printed.
    pub n_warnings: usize,
    /// Each timed step and how long it took.
    pub timings: Vec<(String, Duration)>,
}

impl Report {
    /// Counts a check, prints PASS or FAIL, and returns `ok`.
    pub fn check(&mut self, ok: bool, what: impl Into<String>) -> bool {
        let what = what.into();
        self.n_checks += 1;
        println!("{}  {what}", if ok { "PASS" } else { "FAIL" });
        if !ok {
            self.failed.push(what);
        }
        ok
    }

    /// Prints a doubt that does not fail the task.
    pub fn warn(&mut self, what: impl AsRef<str>) {
        self.n_warnings += 1;
        println!("WARN  {}", what.as_ref());
    }

    /// Prints a line of context.
    pub fn note(&self, what: impl AsRef<str>) {
        println!("      {}", what.as_ref());
    }

    /// Prints and records how long the step begun at `start` took.
    pub fn step(&mut self, name: &str, start: Instant) {
        let took = start.elapsed();
        println!("      ({name}: {:.2} s)", took.as_secs_f64());
        self.timings.push((name.to_string(), took));
    }
}
