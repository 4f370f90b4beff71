//! `cargo xtask bench-scaling`: how `bvmig patch` scales on the inputs
//! that were once quadratic (issue 12): one file holding N functions with a
//! site each, one function holding N sites, N nested conditional
//! expressions with a site in each branch (chained, and each in
//! parentheses), N parentheses around one site, and one line of N * 100 bytes
//! holding two sites, and one file with N functions each after a broken
//! declaration, patched with the typed rule (its type queries once read
//! the file again each); and `bvmig review /dev/zero`, which must stop at
//! its bound. Each input is made at N = 1k, 10k and 100k and run a few times;
//! the median wall and CPU times and the largest peak RSS are printed, so
//! that a linear cost shows as a time that grows ten-fold per row, a
//! quadratic one a hundred-fold. The CPU time is the figure to read on a
//! loaded machine.
//!
//! Nesting deeper than the engine's limit (`bvmig::engine::MAX_DEPTH`) is
//! refused as one file with an error: the nested rows above it measure how
//! fast that refusal is. A row whose median CPU time passes
//! [`GIVE_UP_SECS`] ends its shape: the larger rows are not run.

use std::fmt::Write as _;
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, Result};

use crate::bench::measure_any;
use crate::bvmig;

const SIZES: [usize; 3] = [1_000, 10_000, 100_000];

/// A row slower than this (median CPU seconds) ends its shape.
const GIVE_UP_SECS: f64 = 120.0;

/// An input shape: its name and the C text for a given N.
struct Shape {
    name: &'static str,
    what: &'static str,
    make: fn(usize) -> String,
    /// The rule, under `rules/`; `None` for bvmig's choice.
    rule: Option<&'static str>,
}

const SHAPES: [Shape; 7] = [
    Shape {
        name: "functions",
        what: "N functions, one write each",
        make: functions,
        rule: None,
    },
    Shape {
        name: "one-function",
        what: "one function, N writes",
        make: one_function,
        rule: None,
    },
    Shape {
        name: "nested-cond",
        what: "N nested ?: with a read in each branch",
        make: nested_conditionals,
        rule: None,
    },
    Shape {
        name: "nested-paren",
        what: "x = a ? site : (a ? site : (...)), N deep",
        make: nested_parenthesized_conditionals,
        rule: None,
    },
    Shape {
        name: "parens",
        what: "N parentheses around one read",
        make: nested_parentheses,
        rule: None,
    },
    Shape {
        name: "long-line",
        what: "one line of N*100 bytes, two sites",
        make: long_line,
        rule: None,
    },
    Shape {
        name: "typed-broken",
        what: "N functions, each after a broken line; typed rule",
        make: typed_broken,
        rule: Some("bv_page-typed.cocci"),
    },
];

fn functions(n: usize) -> String {
    functions_after(n, false)
}

/// N functions with a write each, each after a declaration that does not
/// parse when `broken`.
fn functions_after(n: usize, broken: bool) -> String {
    let mut s = String::with_capacity(n * 100);
    for k in 0..n {
        if broken {
            writeln!(s, "static int x{k} = ;").expect("writing to a String");
        }
        writeln!(
            s,
            "static void f{k}(struct bio_vec *bv, struct page *p)\n{{\n\tbv->bv_page = p;\n}}\n"
        )
        .expect("writing to a String");
    }
    s
}

fn one_function(n: usize) -> String {
    let mut s = String::with_capacity(n * 40 + 100);
    s.push_str("static void f(struct bio_vec *bv, struct page **p)\n{\n");
    for k in 0..n {
        writeln!(s, "\tbv[{k}].bv_page = p[{k}];").expect("writing to a String");
    }
    s.push_str("}\n");
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

fn nested_parenthesized_conditionals(n: usize) -> String {
    let mut s = String::from("void f(struct bio_vec *bv, int a)\n{\n\tstruct page *x;\n\n\tx = ");
    for k in 0..n {
        write!(s, "a ? bv[{k}].bv_page : (").expect("writing to a String");
    }
    s.push_str("bv->bv_page");
    s.push_str(&")".repeat(n));
    s.push_str(";\n}\n");
    s
}

fn nested_parentheses(n: usize) -> String {
    format!(
        "void f(struct bio_vec *bv)\n{{\n\tstruct page *x;\n\n\tx = {}bv->bv_page{};\n}}\n",
        "(".repeat(n),
        ")".repeat(n)
    )
}

/// A generated table on one line (as firmware blobs are), flat rather
/// than nested, with a site before and after it.
fn long_line(n: usize) -> String {
    let mut s = String::from(
        "void f(struct bio_vec *bv, struct page *p) { static const unsigned char t[] = { 0x00",
    );
    let filler = n * 100;
    while s.len() < filler {
        s.push_str(", 0x5a");
    }
    s.push_str(" }; bv->bv_page = p; h(bv->bv_page, t); }\n");
    s
}

/// Functions whose parameters give the types, each after a declaration
/// that does not parse, so that the file's items are not all whole.
fn typed_broken(n: usize) -> String {
    functions_after(n, true)
}

pub fn run(runs: u32, only: &[String]) -> Result<()> {
    let names: Vec<&str> = SHAPES
        .iter()
        .map(|s| s.name)
        .chain(["review-zero"])
        .collect();
    if let Some(bad) = only.iter().find(|o| !names.contains(&o.as_str())) {
        anyhow::bail!("no input shape named {bad:?}; shapes: {}", names.join(", "));
    }
    let wanted = |name: &str| only.is_empty() || only.iter().any(|o| o == name);
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
        "{:<12} {:>7} {:>10} {:>9} {:>9} {:>9}  what",
        "input", "N", "bytes", "wall s", "cpu s", "peak MiB"
    );
    for shape in SHAPES.iter().filter(|s| wanted(s.name)) {
        for n in SIZES {
            let text = (shape.make)(n);
            let path = dir.path().join(format!("{}-{n}.c", shape.name));
            std::fs::write(&path, &text)
                .with_context(|| format!("cannot write {}", path.display()))?;
            let mut cmd = Command::new(&bin);
            cmd.arg("patch");
            if let Some(rule) = shape.rule {
                cmd.arg("--rule")
                    .arg(bvmig::workspace_root().join("rules").join(rule));
            }
            cmd.arg(&path);
            let row = median(&mut cmd, runs)?;
            row.print(shape.name, n, text.len(), shape.what);
            std::fs::remove_file(&path).ok();
            if row.cpu.as_secs_f64() > GIVE_UP_SECS {
                println!(
                    "{:<12} (larger N not run: over {GIVE_UP_SECS} s)",
                    shape.name
                );
                break;
            }
        }
    }
    if !wanted("review-zero") {
        return Ok(());
    }
    let mut cmd = Command::new(&bin);
    cmd.args(["review", "/dev/zero"]);
    let row = median(&mut cmd, runs)?;
    row.print(
        "review-zero",
        0,
        0,
        "review /dev/zero: refused at its bound",
    );
    Ok(())
}

/// The medians of `runs` runs of `cmd`, and the largest peak RSS.
struct Row {
    wall: Duration,
    cpu: Duration,
    rss_kib: u64,
}

impl Row {
    fn print(&self, name: &str, n: usize, bytes: usize, what: &str) {
        println!(
            "{:<12} {:>7} {:>10} {:>9.3} {:>9.3} {:>9.1}  {}",
            name,
            n,
            bytes,
            self.wall.as_secs_f64(),
            self.cpu.as_secs_f64(),
            self.rss_kib as f64 / 1024.0,
            what
        );
    }
}

fn median(cmd: &mut Command, runs: u32) -> Result<Row> {
    let mut walls = Vec::new();
    let mut cpus = Vec::new();
    let mut rss_kib = 0;
    for _ in 0..runs {
        let s = measure_any(cmd, "bvmig")?;
        walls.push(s.wall);
        cpus.push(s.cpu);
        rss_kib = rss_kib.max(s.max_rss_kib);
    }
    walls.sort();
    cpus.sort();
    Ok(Row {
        wall: walls[walls.len() / 2],
        cpu: cpus[cpus.len() / 2],
        rss_kib,
    })
}
