//! `cargo xtask idioms [6.12|6.1]`: what rules/bv_page-idioms.cocci does on
//! a Debian kernel tree (issue 13, part 1).
//!
//! On 6.12: the idioms rule (bvmig's default choice there) and the plain
//! modern rule are run on the tree; for each helper the idioms write, the
//! calls it adds (calls on `+` lines less those on `-` lines), and the
//! `bvec_page()` calls each conversion adds.
//!
//! On 6.1: bvmig's helper calls in its conversion of 6.1 are compared with
//! the calls kernel developers wrote by hand by 6.12 in the same files:
//! the calls of the helpers that are in 6.12's file and not in 6.1's. A
//! hand call and a bvmig call are about the same code when they are in
//! the same file and name the same bio_vec (the argument that is one);
//! such a pair is identical when the calls are the same, spacing aside.
//! Each pair that is not is printed, for a human to explain.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};

use crate::bvmig;
use crate::kernel;

/// The helpers the idioms rule writes, and which argument is the bio_vec.
const HELPERS: &[(&str, usize)] = &[
    ("bvec_virt", 0),
    ("bvec_kmap_local", 0),
    ("bvec_phys", 0),
    ("memcpy_from_bvec", 1),
    ("memcpy_to_bvec", 0),
    ("memzero_bvec", 0),
    ("bvec_folio", 0),
    ("bvec_set_folio", 0),
    ("bvec_set_virt", 0),
    ("bvec_set_page", 0),
];

/// A call of a helper: its name and its text, spacing removed.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Call {
    name: String,
    text: String,
}

impl Call {
    /// The bio_vec the call names, spacing removed (`&bv` and `bv` alike).
    fn bvec(&self) -> Option<String> {
        let (_, idx) = HELPERS.iter().find(|(n, _)| *n == self.name)?;
        let args = &self.text[self.name.len() + 1..self.text.len() - 1];
        let arg = split_args(args).into_iter().nth(*idx)?;
        Some(arg.trim_start_matches('&').to_string())
    }
}

/// The calls of `names` in `text`, in order, spacing removed.
fn calls(text: &str, names: &[&str]) -> Vec<Call> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    for name in names {
        let mut from = 0;
        while let Some(k) = text[from..].find(name) {
            let at = from + k;
            from = at + name.len();
            let before_ok = at == 0 || !(b[at - 1].is_ascii_alphanumeric() || b[at - 1] == b'_');
            let rest = text[from..].trim_start();
            if !before_ok || !rest.starts_with('(') {
                continue;
            }
            let open = text.len() - rest.len();
            let mut depth = 0usize;
            let mut end = None;
            for (i, c) in text[open..].char_indices() {
                match c {
                    '(' => depth += 1,
                    ')' => {
                        depth -= 1;
                        if depth == 0 {
                            end = Some(open + i + 1);
                            break;
                        }
                    }
                    _ => {}
                }
            }
            let Some(end) = end else { continue };
            let squeezed: String = text[at..end]
                .chars()
                .filter(|c| !c.is_whitespace())
                .collect();
            // A definition or prototype is not a call.
            let prev = text[..at].trim_end();
            if prev.ends_with('*') || prev.ends_with("void") || prev.ends_with("phys_addr_t") {
                continue;
            }
            out.push(Call {
                name: (*name).to_string(),
                text: squeezed,
            });
        }
    }
    out
}

/// `a, f(b, c), d` at its top-level commas.
fn split_args(args: &str) -> Vec<String> {
    let mut out = vec![String::new()];
    let mut depth = 0i32;
    for c in args.chars() {
        match c {
            '(' | '[' => depth += 1,
            ')' | ']' => depth -= 1,
            ',' if depth == 0 => {
                out.push(String::new());
                continue;
            }
            _ => {}
        }
        out.last_mut().expect("not empty").push(c);
    }
    out
}

/// `a` less `b`, as multisets.
fn minus(a: Vec<Call>, b: &[Call]) -> Vec<Call> {
    let mut left: Vec<Call> = b.to_vec();
    a.into_iter()
        .filter(|c| match left.iter().position(|x| x == c) {
            Some(i) => {
                left.remove(i);
                false
            }
            None => true,
        })
        .collect()
}

/// Per file of a unified diff, the text of its `-` lines and of its `+`
/// lines.
fn diff_sides(diff: &str) -> BTreeMap<String, (String, String)> {
    let mut out: BTreeMap<String, (String, String)> = BTreeMap::new();
    let mut file = None;
    for line in diff.lines() {
        if let Some(name) = line.strip_prefix("+++ b/") {
            file = Some(name.to_string());
            out.entry(name.to_string()).or_default();
        } else if line.starts_with("--- ") || line.starts_with("diff ") {
            continue;
        } else if let Some(f) = &file {
            let e = out.get_mut(f).expect("entered");
            if let Some(l) = line.strip_prefix('-') {
                e.0.push_str(l);
                e.0.push('\n');
            } else if let Some(l) = line.strip_prefix('+') {
                e.1.push_str(l);
                e.1.push('\n');
            }
        }
    }
    out
}

/// The calls of the helpers (and of `bvec_page`) each file of `diff` gains.
fn added_calls(diff: &str) -> BTreeMap<String, Vec<Call>> {
    let mut names: Vec<&str> = HELPERS.iter().map(|(n, _)| *n).collect();
    names.push("bvec_page");
    diff_sides(diff)
        .into_iter()
        .map(|(f, (minus_text, plus_text))| {
            let added = minus(calls(&plus_text, &names), &calls(&minus_text, &names));
            (f, added)
        })
        .collect()
}

fn patch(bin: &Path, tree: &Path, rule: Option<&Path>) -> Result<String> {
    let mut cmd = Command::new(bin);
    cmd.arg("patch").current_dir(tree);
    if let Some(r) = rule {
        cmd.arg("--rule").arg(r);
    }
    let out = cmd
        .arg(".")
        .output()
        .with_context(|| format!("cannot run {}", bin.display()))?;
    if !out.status.success() {
        bail!(
            "bvmig patch failed in {}: {}",
            tree.display(),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn count_by_name(per_file: &BTreeMap<String, Vec<Call>>) -> BTreeMap<String, usize> {
    let mut n: BTreeMap<String, usize> = BTreeMap::new();
    for c in per_file.values().flatten() {
        *n.entry(c.name.clone()).or_default() += 1;
    }
    n
}

/// Runs the task for `version`; `bin` is a bvmig binary to use instead of
/// a release build. Returns true (the task measures, it checks nothing).
pub fn run(version: &str, bin: Option<PathBuf>) -> Result<bool> {
    let bin = match bin {
        // bvmig runs in the tree's folder: a relative path would not name it.
        Some(b) => fs::canonicalize(&b).with_context(|| format!("{}: not found", b.display()))?,
        None => bvmig::build()?,
    };
    let modern = bvmig::workspace_root().join("rules/bv_page-modern.cocci");
    match version {
        "6.12" => {
            let tree = kernel::tree("6.12")?;
            let with = added_calls(&patch(&bin, &tree, None)?);
            let without = added_calls(&patch(&bin, &tree, Some(&modern))?);
            let (nw, nwo) = (count_by_name(&with), count_by_name(&without));
            println!("Linux 6.12: calls each conversion adds");
            println!("{:<18} {:>8} {:>8}", "helper", "idioms", "modern");
            let mut names: Vec<&str> = HELPERS.iter().map(|(n, _)| *n).collect();
            names.push("bvec_page");
            for n in names {
                let a = nw.get(n).copied().unwrap_or(0);
                let b = nwo.get(n).copied().unwrap_or(0);
                println!("{n:<18} {a:>8} {b:>8}");
            }
        }
        "6.1" => {
            let old = kernel::tree("6.1")?;
            let new = kernel::tree("6.12")?;
            let ours = added_calls(&patch(&bin, &old, None)?);
            let names: Vec<&str> = HELPERS.iter().map(|(n, _)| *n).collect();
            let (mut n_pairs, mut n_same) = (0, 0);
            let mut misses = Vec::new();
            // The helpers bvmig adds to include/linux/bvec.h call each other
            // as upstream's do; they are not the code being compared.
            for (file, mine) in ours.iter().filter(|(f, _)| *f != "include/linux/bvec.h") {
                let read = |root: &Path| fs::read_to_string(root.join(file)).unwrap_or_default();
                let hand = minus(calls(&read(&new), &names), &calls(&read(&old), &names));
                for h in &hand {
                    let Some(bv) = h.bvec() else { continue };
                    let same_bvec: Vec<&Call> = mine
                        .iter()
                        .filter(|m| m.name != "bvec_page" && m.bvec().as_deref() == Some(&bv))
                        .collect();
                    if same_bvec.is_empty() {
                        continue;
                    }
                    n_pairs += 1;
                    if same_bvec.iter().any(|m| m.text == h.text) {
                        n_same += 1;
                    } else {
                        let ours: Vec<&str> = same_bvec.iter().map(|m| m.text.as_str()).collect();
                        misses.push(format!(
                            "{file}: by hand {}; bvmig {}",
                            h.text,
                            ours.join(" ")
                        ));
                    }
                }
            }
            println!(
                "Linux 6.1 converted by bvmig against 6.12 by hand: {n_same} of {n_pairs} identical"
            );
            for m in misses {
                println!("  miss: {m}");
            }
        }
        v => bail!("no idioms measurement for {v}; use 6.12 or 6.1"),
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calls_are_found_with_their_bio_vec() {
        let text = "int f(void)\n{\n\tbvec_set_page(&bv, page,\n\t\tlen, 0);\n\tx = bvec_virt(a[i]) + memcpy_from_bvec(to, &v);\n}\nstatic inline void *bvec_virt(struct bio_vec *bvec)\n";
        let c = calls(text, &["bvec_set_page", "bvec_virt", "memcpy_from_bvec"]);
        let t: Vec<&str> = c.iter().map(|c| c.text.as_str()).collect();
        assert_eq!(
            t,
            vec![
                "bvec_set_page(&bv,page,len,0)",
                "bvec_virt(a[i])",
                "memcpy_from_bvec(to,&v)"
            ]
        );
        let bv: Vec<String> = c.iter().filter_map(Call::bvec).collect();
        assert_eq!(bv, vec!["bv", "a[i]", "v"]);
    }

    #[test]
    fn added_calls_are_plus_less_minus() {
        let diff = "diff --git a/x.c b/x.c\n--- a/x.c\n+++ b/x.c\n@@ -1,2 +1,2 @@\n-\tbvec_set_page(bv, p, l, o);\n+\tbvec_set_page(bv, p, l, o);\n+\tbvec_virt(bv);\n";
        let a = added_calls(diff);
        assert_eq!(a["x.c"].len(), 1);
        assert_eq!(a["x.c"][0].name, "bvec_virt");
    }
}
