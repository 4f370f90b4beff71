//! `bvmig test`: each rule file's own cases, rewritten by the rule file and
//! compared with their expected outputs (see `crate::ruletest`).

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use crate::bundled::Bundled;
use crate::ruletest::{self, Options};

pub(super) const EXAMPLES: &str = "Cases: rules/NAME.cocci is tested by rules/tests/NAME/CASE.c, whose rewrite must be\nCASE.res and whose sites left, when CASE.report exists, its lines.\n\nExamples:\n  bvmig test                         # every rule file in rules/\n  bvmig test rules/bv_pfn.cocci\n  bvmig test --update rules/my.cocci  # write what the rule gives as expected";

#[derive(Debug, clap::Args)]
pub(super) struct TestArgs {
    /// Rule files, or directories whose .cocci files are all tested
    /// (default: rules, or the rules built into bvmig when there is none).
    paths: Vec<PathBuf>,
    /// Write what each rule gives as the cases' expected outputs (CASE.res,
    /// and CASE.report when it exists or sites are left) instead of
    /// comparing; review them with git diff.
    #[arg(long)]
    update: bool,
}

/// Exit status 0 when every case passes, 1 when one fails, 2 when a rule
/// file or a case is broken.
pub(super) fn run(args: TestArgs) -> ExitCode {
    // Without a path and with no rules/ here (an installed binary), the
    // rules built in, with their cases.
    let bundled;
    let paths = if !args.paths.is_empty() {
        args.paths
    } else if Path::new("rules").is_dir() || args.update {
        vec![PathBuf::from("rules")]
    } else {
        bundled = match Bundled::write() {
            Ok(b) => b,
            Err(e) => {
                eprintln!("bvmig: error: {e}");
                return ExitCode::from(2);
            }
        };
        eprintln!("bvmig: no rules/ here; testing the rules built into bvmig");
        // From where they were written, so that cases are named as in a
        // checkout (no other path of the run is relative).
        if let Err(e) = std::env::set_current_dir(bundled.root()) {
            eprintln!("bvmig: error: {}: {e}", bundled.root().display());
            return ExitCode::from(2);
        }
        vec![PathBuf::from("rules")]
    };
    let report = ruletest::run(
        &paths,
        &Options {
            update: args.update,
        },
    );
    let mut stdout = io::stdout().lock();
    if let Err(e) = stdout
        .write_all(report.render().as_bytes())
        .and_then(|()| stdout.flush())
    {
        if e.kind() != io::ErrorKind::BrokenPipe {
            eprintln!("bvmig: error: <stdout>: {e}");
            return ExitCode::from(2);
        }
    }
    ExitCode::from(report.exit_code())
}
