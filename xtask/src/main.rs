//! Developer tasks for bvmig, run as `cargo xtask <task>`: fetching kernel
//! trees, the end-to-end check against a whole tree, the benchmark against
//! ripgrep and the runtime's cost benchmark. None of this is product code;
//! it drives the released binaries exactly as a user would.

mod bench;
mod bench_runtime;
mod bench_scaling;
mod boot;
mod bvmig;
mod checkpatch;
mod coccicheck;
mod compile_check;
mod count;
mod dist;
mod e2e;
mod idioms;
mod kernel;
mod merge_window;
mod report;
mod sparse;
mod syntax;
mod vs_spatch;
mod walkers;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Developer tasks for bvmig.
#[derive(Debug, Parser)]
#[command(name = "cargo xtask")]
struct Cli {
    #[command(subcommand)]
    task: Task,
}

#[derive(Debug, Subcommand)]
enum Task {
    /// Install and unpack a Debian linux-source tree into the cache; print its path.
    Kernel {
        /// Kernel version (Debian package linux-source-<VERSION>).
        #[arg(default_value = "6.12", value_parser = kernel::VERSIONS)]
        version: String,
    },
    /// Check bvmig against a whole kernel tree: site count, diff applies,
    /// no new parse errors, idempotence. Exits 1 when a check fails.
    E2e {
        /// Kernel version (Debian package linux-source-<VERSION>).
        #[arg(default_value = "6.12", value_parser = kernel::VERSIONS)]
        version: String,
    },
    /// Time `bvmig patch <tree>` against `rg -l bv_page <tree>` and report
    /// bvmig's peak RSS.
    Bench {
        /// Kernel version (Debian package linux-source-<VERSION>).
        #[arg(default_value = "6.12", value_parser = kernel::VERSIONS)]
        version: String,
        /// Timed runs of each program, alternating.
        #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..))]
        runs: u32,
        /// Run bvmig with this rule file (e.g. rules/bv_page-typed.cocci).
        #[arg(long, value_name = "FILE")]
        rule: Option<std::path::PathBuf>,
    },
    /// Time `bvmig patch` on generated inputs that were once quadratic
    /// (many functions, nested conditionals, a long line) at N = 1k, 10k,
    /// 100k: median wall time and peak RSS.
    BenchScaling {
        /// Timed runs of each input.
        #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..))]
        runs: u32,
        /// Only these inputs (by name: functions, one-function,
        /// nested-cond, nested-paren, parens, long-line, typed-broken,
        /// review-zero); all when none is given.
        #[arg(long = "shape")]
        shapes: Vec<String>,
    },
    /// Time the two parallel walkers src/engine/walk.rs could use (ignore, and
    /// walkdir with rayon) on the prefilter's job over a kernel tree.
    Walkers {
        /// Kernel version (Debian package linux-source-<VERSION>).
        #[arg(default_value = "6.12", value_parser = kernel::VERSIONS)]
        version: String,
        /// Timed runs of each walker, alternating.
        #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..))]
        runs: u32,
    },
    /// Run Coccinelle's spatch and bvmig with the same rule on the files of
    /// a kernel tree that hold bv_page, and compare them site by site.
    VsSpatch {
        /// Kernel version (Debian package linux-source-<VERSION>).
        #[arg(default_value = "6.12", value_parser = kernel::VERSIONS)]
        version: String,
        /// The rule file (default: rules/bv_page-modern.cocci, which fits
        /// Debian's trees).
        #[arg(long, value_name = "FILE")]
        rule: Option<std::path::PathBuf>,
    },
    /// Run `make coccicheck` with rules/bv_page.cocci (MODE=report and
    /// MODE=patch, with spatch) on one directory of a kernel tree, and
    /// bvmig on every rule of its scripts/coccinelle/: none may fail at a
    /// `virtual` line; the others are counted by the construct they stop at.
    Coccicheck {
        /// Kernel version (Debian package linux-source-<VERSION>).
        #[arg(default_value = "6.12", value_parser = kernel::VERSIONS)]
        version: String,
        /// The directory make coccicheck runs on (M=DIR).
        #[arg(long, default_value = "block")]
        dir: String,
    },
    /// Compile every .c file bvmig's patch touches, on a defconfig build of
    /// a kernel tree, before and after the patch: no new errors or warnings;
    /// then after the bv_pfn step, where only sites left may fail. The phys
    /// path: the helpers, bv_offset.cocci and bv_phys.cocci, the same way.
    CompileCheck {
        /// Kernel version (Debian package linux-source-<VERSION>).
        #[arg(default_value = "6.12", value_parser = kernel::VERSIONS)]
        version: String,
        /// The path to check: pfn (the default patch, then bv_pfn.cocci),
        /// phys (the helpers, bv_offset.cocci, then bv_phys.cocci) or all.
        #[arg(long, default_value = "all", value_parser = ["all", "pfn", "phys"])]
        path: String,
        /// Compile only the phys path's files under these path prefixes
        /// (the conversion still covers the whole tree).
        #[arg(long, value_name = "PREFIX")]
        only: Vec<String>,
    },
    /// Run `make C=2 CHECK="bvmig sparse" DIR/` on a defconfig tree: exit
    /// 0, and the warnings of bvmig check for every file built; then the
    /// cost of one checker run, with the definitions cache and without.
    Sparse {
        /// Kernel version (Debian package linux-source-<VERSION>).
        #[arg(default_value = "6.12", value_parser = kernel::VERSIONS)]
        version: String,
        /// The directory of the tree to build and check.
        #[arg(long, default_value = "block")]
        dir: String,
    },
    /// Build a small kernel (brd, loop, ext2/4, md raid1, dm-crypt) from the
    /// Debian tree as it is and after each conversion step, boot each under
    /// QEMU with a busybox initramfs that writes and reads back files, and
    /// compare the checksums with the original kernel's.
    Boot {
        /// Kernel version (Debian package linux-source-<VERSION>).
        #[arg(default_value = "6.12", value_parser = kernel::VERSIONS)]
        version: String,
        /// Use this bvmig binary instead of building one (also $BVMIG_BIN).
        #[arg(long, value_name = "PATH")]
        bvmig: Option<std::path::PathBuf>,
        /// make -j.
        #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u32).range(1..))]
        jobs: u32,
        /// Seconds a boot may take before QEMU is killed.
        #[arg(long, default_value_t = 300)]
        timeout: u64,
        /// QEMU accelerator: auto (KVM when /dev/kvm opens), kvm or tcg.
        #[arg(long, default_value = "auto", value_parser = ["auto", "kvm", "tcg"])]
        accel: String,
        /// Build and boot only these steps (original, patch, phys); the
        /// conversions of the others still run, as each step converts the
        /// tree the one before left. Default: all.
        #[arg(long, value_delimiter = ',', value_parser = ["original", "patch", "phys"])]
        steps: Vec<String>,
    },
    /// Print what struct page coverage costs against the pfn model (8 GiB,
    /// 400 GiB, 6 TiB) and both models' segment-iteration throughput.
    BenchRuntime,
    /// Build a git repository from Linux 6.1, bvmig's conversion and 6.12
    /// (on top, and merged); check that `check --since`, `--fix` and
    /// `review` find exactly what an independent count says.
    MergeWindow,
    /// What rules/bv_page-idioms.cocci converts: on 6.12, the calls of each
    /// helper and of bvec_page() it adds against the modern rule; on 6.1,
    /// its calls against those written by hand by 6.12.
    Idioms {
        /// Kernel version (Debian package linux-source-<VERSION>).
        #[arg(default_value = "6.12", value_parser = kernel::VERSIONS)]
        version: String,
        /// Use this bvmig binary instead of a release build.
        #[arg(long, value_name = "FILE")]
        bin: Option<std::path::PathBuf>,
    },
    /// Write the series of a kernel tree (made a git repository with one
    /// import commit) and run the tree's scripts/checkpatch.pl on every
    /// patch: exits 1 when bvmig's own text gets an error or a warning.
    Checkpatch {
        /// Kernel version (Debian package linux-source-<VERSION>).
        #[arg(default_value = "6.12", value_parser = kernel::VERSIONS)]
        version: String,
    },
    /// Write bvmig's man pages and shell completions, made from its clap
    /// definitions, into target/dist/.
    Dist,
    /// Print every occurrence of a word in the code (not comments or
    /// literals) of the C files under PATH, as the e2e check counts them.
    Count {
        /// A directory or a C file.
        path: std::path::PathBuf,
        /// The word to look for.
        #[arg(long, default_value = "bv_page")]
        word: String,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let res = match cli.task {
        Task::Kernel { version } => kernel::tree(&version).map(|path| {
            println!("{}", path.display());
            true
        }),
        Task::E2e { version } => e2e::run(&version),
        Task::Bench {
            version,
            runs,
            rule,
        } => bench::run(&version, runs, rule.as_deref()).map(|()| true),
        Task::CompileCheck {
            version,
            path,
            only,
        } => {
            let phase = match path.as_str() {
                "pfn" => compile_check::Phase::Pfn,
                "phys" => compile_check::Phase::Phys,
                _ => compile_check::Phase::All,
            };
            compile_check::run(&version, phase, &only)
        }
        Task::Coccicheck { version, dir } => coccicheck::run(&version, &dir),
        Task::Sparse { version, dir } => sparse::run(&version, &dir),
        Task::VsSpatch { version, rule } => {
            vs_spatch::run(&version, &rule.unwrap_or_else(vs_spatch::default_rule))
        }
        Task::Walkers { version, runs } => walkers::run(&version, runs).map(|()| true),
        Task::BenchScaling { runs, shapes } => bench_scaling::run(runs, &shapes).map(|()| true),
        Task::Boot {
            version,
            bvmig,
            jobs,
            timeout,
            accel,
            steps,
        } => boot::run(&boot::Options {
            version,
            bvmig,
            jobs,
            timeout,
            accel,
            steps,
        }),
        Task::BenchRuntime => bench_runtime::run().map(|()| true),
        Task::MergeWindow => merge_window::run(),
        Task::Idioms { version, bin } => idioms::run(&version, bin),
        Task::Checkpatch { version } => checkpatch::run(&version),
        Task::Dist => dist::run().map(|()| true),
        Task::Count { path, word } => count::print(&path, &word).map(|()| true),
    };
    // Exit codes follow grep: 1 when a check found a problem, 2 when the
    // task itself could not run.
    match res {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("xtask: error: {e:#}");
            ExitCode::from(2)
        }
    }
}
