//! The `bvmig` binary: everything lives in the library's `cli` module. A
//! panic (a bug) prints one line naming the input being read, not Rust's
//! default message, and exits with status 2 like any other error.

use std::process::ExitCode;

fn main() -> ExitCode {
    std::panic::set_hook(Box::new(|info| {
        if let Some(line) = bvmig::hook_line(info) {
            eprintln!("{line}");
        }
    }));
    std::panic::catch_unwind(|| bvmig::cli::run(std::env::args_os())).unwrap_or(ExitCode::from(2))
}
