//! The runtime's benchmark: what `struct page` coverage costs for devices
//! of 8 GiB, 400 GiB and 6 TiB against the pfn model, from the runtime's
//! own accounting, and segment-iteration throughput of the page-based and
//! pfn models. It is `runtime/examples/cost.rs`, built in release mode and
//! run as a user would (`cargo run --release -p bvmig-runtime --example
//! cost`); this task only saves typing it.

use std::env;
use std::process::Command;

use anyhow::Result;

use crate::bvmig::workspace_root;
use crate::kernel::run_checked;

pub fn run() -> Result<()> {
    // `cargo run` sets CARGO to the cargo that runs us, which keeps the
    // toolchain the same.
    let cargo = env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    run_checked(Command::new(cargo).current_dir(workspace_root()).args([
        "run",
        "--release",
        "--quiet",
        "--package",
        "bvmig-runtime",
        "--example",
        "cost",
    ]))
}
