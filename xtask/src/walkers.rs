//! The walker measurement behind `src/engine/walk.rs`'s choice: the `ignore`
//! crate's parallel walker against `walkdir` feeding `rayon`, doing the job
//! bvmig's walk does before any parse (find `.c` and `.h` files, read each
//! into a per-thread buffer, search it for the field name with
//! `memchr::memmem`). Both must find the same files; then each runs
//! `runs` times, alternating, and the medians are printed.
//!
//! `ignore` is measured twice: with its standard filters (what `bvmig patch`
//! does by default: `.gitignore`, hidden files) and without (`--no-ignore`),
//! which is the same work as walkdir's.

use std::cell::RefCell;
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use anyhow::{bail, Result};
use ignore::{WalkBuilder, WalkState};
use rayon::prelude::*;

use crate::kernel;

const NEEDLE: &[u8] = b"bv_page";

pub fn run(version: &str, runs: u32) -> Result<()> {
    let tree = kernel::tree(version)?;
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!(
        "walkers: {}, {runs} runs each, alternating, {threads} threads",
        tree.display()
    );

    type Walker = fn(&Path, usize) -> Vec<PathBuf>;
    let walkers: [(&str, Walker); 3] = [
        ("ignore (standard filters)", |t, n| with_ignore(t, n, true)),
        ("ignore (no filters)", |t, n| with_ignore(t, n, false)),
        ("walkdir + rayon", with_walkdir),
    ];

    // Warm-up, and the same answer from each.
    let mut answers = Vec::new();
    for (name, walk) in &walkers {
        let mut found = walk(&tree, threads);
        found.sort();
        println!(
            "  {name}: {} files hold {}",
            found.len(),
            String::from_utf8_lossy(NEEDLE)
        );
        answers.push(found);
    }
    if answers.windows(2).any(|w| w[0] != w[1]) {
        bail!("the walkers disagree on which files hold the needle");
    }

    let mut times: Vec<Vec<Duration>> = vec![Vec::new(); walkers.len()];
    for _ in 0..runs {
        for (k, (_, walk)) in walkers.iter().enumerate() {
            let t = Instant::now();
            let found = walk(&tree, threads);
            times[k].push(t.elapsed());
            std::hint::black_box(found);
        }
    }
    println!("{:>28} {:>9} {:>9} {:>9}", "", "median", "min", "max");
    for ((name, _), t) in walkers.iter().zip(&mut times) {
        t.sort();
        println!(
            "{name:>28} {:>7.3} s {:>7.3} s {:>7.3} s",
            t[t.len() / 2].as_secs_f64(),
            t[0].as_secs_f64(),
            t[t.len() - 1].as_secs_f64()
        );
    }
    Ok(())
}

fn is_c_file(path: &Path) -> bool {
    matches!(path.extension().and_then(|e| e.to_str()), Some("c" | "h"))
}

fn holds_needle(path: &Path, buf: &mut Vec<u8>) -> bool {
    buf.clear();
    File::open(path)
        .and_then(|mut f| f.read_to_end(buf))
        .is_ok()
        && memchr::memmem::find(buf, NEEDLE).is_some()
}

fn with_ignore(tree: &Path, threads: usize, filters: bool) -> Vec<PathBuf> {
    let found = Mutex::new(Vec::new());
    WalkBuilder::new(tree)
        .threads(threads)
        .standard_filters(filters)
        .follow_links(false)
        .build_parallel()
        .run(|| {
            let mut buf = Vec::with_capacity(1 << 16);
            let found = &found;
            Box::new(move |entry| {
                if let Ok(entry) = entry {
                    let path = entry.path();
                    if entry.file_type().is_some_and(|t| t.is_file())
                        && is_c_file(path)
                        && holds_needle(path, &mut buf)
                    {
                        found.lock().unwrap().push(path.to_path_buf());
                    }
                }
                WalkState::Continue
            })
        });
    found.into_inner().unwrap()
}

fn with_walkdir(tree: &Path, threads: usize) -> Vec<PathBuf> {
    thread_local! {
        static BUF: RefCell<Vec<u8>> = RefCell::new(Vec::with_capacity(1 << 16));
    }
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .expect("a thread pool");
    pool.install(|| {
        walkdir::WalkDir::new(tree)
            .follow_links(false)
            .into_iter()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_type().is_file() && is_c_file(e.path()))
            .par_bridge()
            .filter(|e| BUF.with(|b| holds_needle(e.path(), &mut b.borrow_mut())))
            .map(|e| e.into_path())
            .collect()
    })
}
