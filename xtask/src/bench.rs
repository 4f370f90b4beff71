//! The benchmark: `bvmig patch <tree>` against `rg -l bv_page <tree>`, the
//! fastest way to merely find the files bvmig has to look at. The goal is
//! to stay within 2x of rg's time and under 200 MB of peak RSS.
//!
//! Both programs run with exactly the arguments a user would type (default
//! thread counts included), one after the other so that drift on a shared
//! machine hits both alike, after one warm-up run each that fills the page
//! cache. Peak RSS comes from `wait4`, which reports the child's own
//! high-water mark and nothing of ours.

use std::io::{self, Read, Seek};
use std::os::unix::process::ExitStatusExt;
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use crate::bvmig;
use crate::kernel::{self, run_checked};

const GOAL_RATIO: f64 = 2.0;
const GOAL_RSS_BYTES: u64 = 200_000_000;

/// One run of a program.
pub(crate) struct Sample {
    pub(crate) wall: Duration,
    /// User and system CPU time (`ru_utime + ru_stime`): less disturbed
    /// than the wall time by other work on a loaded machine.
    pub(crate) cpu: Duration,
    /// Peak resident set size in KiB (`ru_maxrss` on Linux).
    pub(crate) max_rss_kib: u64,
    /// The most threads seen at once, the main thread included; 0 when
    /// not watched.
    max_threads: usize,
    stderr: String,
}

pub fn run(version: &str, runs: u32, rule: Option<&std::path::Path>) -> Result<()> {
    let bin = bvmig::build()?;
    let tree = kernel::tree(version)?;
    let rg_version = ensure_rg()?;

    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!("bench: {}, {runs} runs each, alternating", tree.display());
    println!(
        "  bvmig: {} patch <tree>   (stdout to /dev/null)",
        bin.display()
    );
    println!("  rg:    rg -l bv_page <tree>   ({rg_version}, stdout to /dev/null)");
    // Neither is given -j: the ignore crate (bvmig's walker) and rg both
    // pick one thread per core, at most 12. The warm-up runs check it.
    println!(
        "  threads: neither gets -j; both default to one per core, at most 12: {} ({cores} cores)",
        cores.min(12)
    );

    let bvmig_cmd = || {
        let mut c = Command::new(&bin);
        c.arg("patch");
        if let Some(r) = rule {
            c.arg("--rule").arg(r);
        }
        c.arg(&tree);
        c
    };
    let rg_cmd = || {
        let mut c = Command::new("rg");
        c.args(["-l", "bv_page"]).arg(&tree);
        c
    };

    let warm_bvmig = measure(&mut bvmig_cmd(), "bvmig", true)?;
    let warm_rg = measure(&mut rg_cmd(), "rg", true)?;
    println!(
        "warm-up: bvmig {:.3} s, rg {:.3} s; most threads seen (main included): bvmig {}, rg {}",
        warm_bvmig.wall.as_secs_f64(),
        warm_rg.wall.as_secs_f64(),
        warm_bvmig.max_threads,
        warm_rg.max_threads
    );
    for line in warm_bvmig
        .stderr
        .lines()
        .filter(|l| l.starts_with("bvmig: "))
    {
        println!("  {line}");
    }

    let mut bvmig_runs = Vec::new();
    let mut rg_runs = Vec::new();
    for i in 1..=runs {
        let b = measure(&mut bvmig_cmd(), "bvmig", false)?;
        let g = measure(&mut rg_cmd(), "rg", false)?;
        println!(
            "run {i:>3}: bvmig {:.3} s {:>6.1} MiB   rg {:.3} s {:>6.1} MiB",
            b.wall.as_secs_f64(),
            mib(b.max_rss_kib),
            g.wall.as_secs_f64(),
            mib(g.max_rss_kib)
        );
        bvmig_runs.push(b);
        rg_runs.push(g);
    }

    let b = Stats::of(&bvmig_runs);
    let g = Stats::of(&rg_runs);
    println!(
        "  {:<12} {:>9} {:>9} {:>9} {:>11}",
        "", "median", "min", "max", "peak RSS"
    );
    println!("  {:<12} {b}", "bvmig patch");
    println!("  {:<12} {g}", "rg -l");
    let ratio = b.median / g.median;
    println!(
        "ratio bvmig/rg (medians): {ratio:.2}   goal <= {GOAL_RATIO:.1}: {}",
        met(ratio <= GOAL_RATIO)
    );
    println!(
        "bvmig peak RSS: {:.1} MiB ({:.0} MB)   goal < {} MB: {}",
        mib(b.max_rss_kib),
        b.max_rss_kib as f64 * 1024.0 / 1e6,
        GOAL_RSS_BYTES / 1_000_000,
        met(b.max_rss_kib * 1024 < GOAL_RSS_BYTES)
    );
    Ok(())
}

fn met(ok: bool) -> &'static str {
    if ok {
        "met"
    } else {
        "NOT met"
    }
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

struct Stats {
    median: f64,
    min: f64,
    max: f64,
    max_rss_kib: u64,
}

impl Stats {
    fn of(samples: &[Sample]) -> Stats {
        let mut secs: Vec<f64> = samples.iter().map(|s| s.wall.as_secs_f64()).collect();
        secs.sort_by(f64::total_cmp);
        let n = secs.len();
        let median = if n % 2 == 1 {
            secs[n / 2]
        } else {
            (secs[n / 2 - 1] + secs[n / 2]) / 2.0
        };
        Stats {
            median,
            min: secs[0],
            max: secs[n - 1],
            max_rss_kib: samples.iter().map(|s| s.max_rss_kib).max().unwrap_or(0),
        }
    }
}

impl std::fmt::Display for Stats {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{:>7.3} s {:>7.3} s {:>7.3} s {:>7.1} MiB",
            self.median,
            self.min,
            self.max,
            mib(self.max_rss_kib)
        )
    }
}

/// Makes sure `rg` runs, installing Debian's ripgrep when it is missing,
/// and returns its version line.
fn ensure_rg() -> Result<String> {
    let version = || Command::new("rg").arg("--version").output();
    let out = match version() {
        Ok(out) => out,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            eprintln!("xtask: rg not found; installing ripgrep with apt-get");
            if run_checked(Command::new("apt-get").args(["install", "-y", "ripgrep"])).is_err() {
                // The package lists may be stale or absent in a fresh image.
                run_checked(Command::new("apt-get").arg("update"))?;
                run_checked(Command::new("apt-get").args(["install", "-y", "ripgrep"]))?;
            }
            version().context("cannot run rg after installing ripgrep")?
        }
        Err(e) => return Err(e).context("cannot run rg"),
    };
    if !out.status.success() {
        bail!("rg --version failed: {}", out.status);
    }
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .next()
        .unwrap_or("rg")
        .to_string())
}

/// Runs `cmd` with stdout to /dev/null and measures its wall time and peak
/// RSS; fails unless it exits with 0 (for rg: a file matched).
///
/// With `watch_threads`, the child's thread count is sampled every few
/// milliseconds while it runs. That costs a little wall time, so only the
/// warm-up runs do it.
fn measure(cmd: &mut Command, what: &str, watch_threads: bool) -> Result<Sample> {
    let (sample, status) = measure_status(cmd, what, watch_threads)?;
    if !status.success() {
        bail!("{what} failed: {status}\n{}", sample.stderr);
    }
    Ok(sample)
}

/// [`measure`] for a program whose exit status 1 or 2 is an answer, not a
/// failure (`bvmig patch` reporting an input it could not rewrite); a
/// signal or another status is still a failure.
pub(crate) fn measure_any(cmd: &mut Command, what: &str) -> Result<Sample> {
    let (sample, status) = measure_status(cmd, what, false)?;
    if !matches!(status.code(), Some(0..=2)) {
        bail!("{what} failed: {status}\n{}", sample.stderr);
    }
    Ok(sample)
}

fn measure_status(
    cmd: &mut Command,
    what: &str,
    watch_threads: bool,
) -> Result<(Sample, ExitStatus)> {
    // stderr goes to an unnamed file rather than a pipe: nobody reads a
    // pipe while we block in wait4, and a full one would stall the child.
    let mut err_file = tempfile::tempfile().context("cannot create a temporary file")?;
    cmd.stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(err_file.try_clone().context("cannot clone a file handle")?);
    let start = Instant::now();
    let child = cmd.spawn().with_context(|| format!("cannot run {what}"))?;
    let pid = libc::pid_t::try_from(child.id()).context("pid out of range")?;
    let mut status: libc::c_int = 0;
    // SAFETY: rusage is plain old data, for which all zeroes is valid.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let mut max_threads = 0;
    let flags = if watch_threads { libc::WNOHANG } else { 0 };
    loop {
        // SAFETY: `pid` is our own child, not yet reaped, and both
        // pointers are to live locals of the right types.
        let res = unsafe { libc::wait4(pid, &mut status, flags, &mut usage) };
        if res == pid {
            break;
        }
        if res == 0 {
            max_threads = max_threads.max(threads_of(pid));
            std::thread::sleep(Duration::from_millis(2));
            continue;
        }
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(e).with_context(|| format!("cannot wait for {what}"));
        }
    }
    let wall = start.elapsed();
    // The child is reaped; dropping `Child` does not wait again.
    drop(child);
    let status = ExitStatus::from_raw(status);
    let mut stderr = String::new();
    err_file.rewind()?;
    err_file.read_to_string(&mut stderr).ok();
    let tv = |t: libc::timeval| {
        Duration::from_secs(u64::try_from(t.tv_sec).unwrap_or(0))
            + Duration::from_micros(u64::try_from(t.tv_usec).unwrap_or(0))
    };
    let sample = Sample {
        wall,
        cpu: tv(usage.ru_utime) + tv(usage.ru_stime),
        max_rss_kib: u64::try_from(usage.ru_maxrss).unwrap_or(0),
        max_threads,
        stderr,
    };
    Ok((sample, status))
}

/// The `Threads:` line of a running process's status, 0 when unreadable.
fn threads_of(pid: libc::pid_t) -> usize {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Threads:"))
                .and_then(|n| n.trim().parse().ok())
        })
        .unwrap_or(0)
}
