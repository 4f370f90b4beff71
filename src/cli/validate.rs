//! `bvmig validate`: the semantic fixtures rewritten by the default rule and
//! then the pfn step (`rules/bv_pfn-api.cocci`, `rules/bv_pfn.cocci`), run
//! before and after against the reference runtime (see `crate::validate`).

use std::path::PathBuf;
use std::process::ExitCode;

use crate::validate::{self, Options};

pub(super) const EXAMPLES: &str = "Examples:\n  bvmig validate                         # fixtures/semantic\n  bvmig validate --fixture bounce_copy --keep kept/ fixtures/semantic";

#[derive(Debug, clap::Args)]
pub(super) struct ValidateArgs {
    /// The fixtures directory (default: fixtures/semantic).
    dir: Option<PathBuf>,
    /// Only this fixture (may be repeated).
    #[arg(long = "fixture", value_name = "NAME")]
    only: Vec<String>,
    /// Write each fixture's original, converted and final C here.
    #[arg(long, value_name = "DIR")]
    keep: Option<PathBuf>,
}

/// Exit status 0 when every fixture behaves the same after the rewrite, 1
/// when one does not, 2 when a fixture is broken or the run cannot start.
pub(super) fn run(args: ValidateArgs) -> ExitCode {
    let dir = args
        .dir
        .unwrap_or_else(|| PathBuf::from("fixtures/semantic"));
    let opts = Options {
        only: args.only,
        keep: args.keep,
        ..Options::default()
    };
    match validate::run(&dir, &opts) {
        Ok(report) => {
            print!("{}", report.render());
            ExitCode::from(report.exit_code())
        }
        Err(e) => {
            eprintln!("bvmig: error: {e}");
            ExitCode::from(2)
        }
    }
}
