//! `bvmig validate`: the semantic fixtures rewritten by the default rule and
//! then the pfn step (`rules/bv_pfn-api.cocci`, `rules/bv_pfn.cocci`), run
//! before and after against the reference runtime (see `crate::validate`).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use crate::bundled::Bundled;
use crate::validate::{self, Options};

pub(super) const EXAMPLES: &str = "Examples:\n  bvmig validate                         # fixtures/semantic\n  bvmig validate --fixture bounce_copy --keep kept/ fixtures/semantic";

#[derive(Debug, clap::Args)]
pub(super) struct ValidateArgs {
    /// The fixtures directory (default: fixtures/semantic, or the fixtures
    /// built into bvmig when there is none).
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
    // Without a directory and with no fixtures/semantic here (an installed
    // binary), the fixtures built in.
    let bundled;
    let dir = match args.dir {
        Some(d) => d,
        None if Path::new("fixtures/semantic").is_dir() => PathBuf::from("fixtures/semantic"),
        None => {
            bundled = match Bundled::write() {
                Ok(b) => b,
                Err(e) => {
                    eprintln!("bvmig: error: {e}");
                    return ExitCode::from(2);
                }
            };
            eprintln!("bvmig: no fixtures/semantic here; validating the fixtures built into bvmig");
            bundled.semantic()
        }
    };
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
