//! `cargo xtask bench-scaling`: how `bvmig patch` scales on the inputs
//! that were once quadratic (issue 12): one file holding N functions with a
//! site each, N nested conditional expressions with a site in each branch,
//! and one line of N * 100 bytes holding two sites. Each input is made at
//! N = 1k, 10k and 100k and run a few times; the median wall time and the
//! largest peak RSS are printed, so that a linear cost shows as a time that
//! grows ten-fold per row, a quadratic one a hundred-fold.
//!
//! Nesting deeper than the engine's limit (`bvmig::engine::MAX_DEPTH`) is
//! refused as one file with an error: the nested rows above it measure how
//! fast that refusal is.

use std::fmt::Write as _;
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, Result};

use crate::bench::measure_any;
use crate::bvmig;

const SIZES: [usize; 3] = [1_000, 10_000, 100_000];

/// An input shape: its name and the C text for a given N.
struct Shape {
    name: &'static str,
    what: &'static str,
    make: fn(usize) -> String,
}

const SHAPES: [Shape; 3] = [
    Shape {
        name: "functions",
        what: "N functions, one write each",
        make: functions,
    },
    Shape {
        name: "nested-cond",
        what: "N nested ?: with a read in each branch",
        make: nested_conditionals,
    },
    Shape {
        name: "long-line",
        what: "one line of N*100 bytes, two sites",
        make: long_line,
    },
];

fn functions(n: usize) -> String {
    let mut s = String::with_capacity(n * 80);
    for k in 0..n {
        writeln!(
            s,
            "static void f{k}(struct bio_vec *bv, struct page *p)\n{{\n\tbv->bv_page = p;\n}}\n"
        )
        .expect("writing to a String");
    }
    s
}

fn nested_conditionals(n: usize) -> String {
    let mut s = String::from("struct page *f(struct bio_vec *bv, int *c)\n{\n\treturn ");
    for k in 0..n {
        write!(s, "c[{k}] ? bv[{k}].bv_page : ").expect("writing to a String");
    }
    s.push_str("NULL;\n}\n");
    s
}

fn long_line(n: usize) -> String {
    let mut s = String::from(
        "static int t[] = {0}; void f(struct bio_vec *bv, struct page *p) { bv->bv_page = p; g(",
    );
    let filler = n * 100;
    while s.len() < filler {
        s.push_str("t[0] + ");
    }
    s.push_str("0); h(bv->bv_page); }\n");
    s
}

pub fn run(runs: u32) -> Result<()> {
    let bin = bvmig::build()?;
    let dir = tempfile::Builder::new()
        .prefix("bvmig-scaling-")
        .tempdir()
        .context("cannot create a temporary directory")?;
    println!(
        "bench-scaling: {} patch FILE, median of {runs} runs",
        bin.display()
    );
    println!(
        "{:<12} {:>7} {:>10} {:>10} {:>10}  what",
        "input", "N", "bytes", "median s", "peak MiB"
    );
    for shape in &SHAPES {
        for n in SIZES {
            let text = (shape.make)(n);
            let path = dir.path().join(format!("{}-{n}.c", shape.name));
            std::fs::write(&path, &text)
                .with_context(|| format!("cannot write {}", path.display()))?;
            let mut walls = Vec::new();
            let mut rss = 0;
            for _ in 0..runs {
                let mut cmd = Command::new(&bin);
                cmd.arg("patch").arg(&path);
                let s = measure_any(&mut cmd, "bvmig")?;
                walls.push(s.wall);
                rss = rss.max(s.max_rss_kib);
            }
            walls.sort();
            let median: Duration = walls[walls.len() / 2];
            println!(
                "{:<12} {:>7} {:>10} {:>10.3} {:>10.1}  {}",
                shape.name,
                n,
                text.len(),
                median.as_secs_f64(),
                rss as f64 / 1024.0,
                shape.what
            );
            std::fs::remove_file(&path).ok();
        }
    }
    Ok(())
}
