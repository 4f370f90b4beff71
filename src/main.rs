//! The `bvmig` binary: everything lives in the library's `cli` module.

fn main() -> std::process::ExitCode {
    bvmig::cli::main()
}
