//! `cargo xtask coccicheck`: the kernel's `make coccicheck` with bvmig's
//! bundled rules (MODE=report and MODE=patch, run by Coccinelle's spatch
//! on one directory of a kernel tree), and bvmig reading every rule of the
//! kernel's own `scripts/coccinelle/`: none may fail at its `virtual` lines;
//! the others are counted by the construct bvmig stops at.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result};

use crate::bvmig::{build, workspace_root};
use crate::kernel;

/// The bundled rule `make coccicheck` runs.
const RULE: &str = "rules/bv_page.cocci";

/// Runs both checks on the tree of `version`, with `make coccicheck` limited
/// to `dir` (`M=dir`). Returns whether every check passed.
pub fn run(version: &str, dir: &str) -> Result<bool> {
    let tree = kernel::tree(version)?;
    let bin = build()?;
    let mut ok = true;
    match which("spatch") {
        None => println!(
            "coccicheck: spatch not found (Debian package coccinelle): make coccicheck skipped"
        ),
        Some(_) => {
            for mode in ["report", "patch"] {
                ok &= make_coccicheck(&tree, dir, mode)?;
            }
        }
    }
    ok &= kernel_rules(&tree, &bin)?;
    Ok(ok)
}

fn which(prog: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|p| {
        std::env::split_paths(&p)
            .map(|d| d.join(prog))
            .find(|f| f.is_file())
    })
}

/// `make coccicheck COCCI=rules/bv_page.cocci MODE=mode M=dir`: exit 0, and
/// output of the mode's form (report lines, or a diff), counted.
fn make_coccicheck(tree: &Path, dir: &str, mode: &str) -> Result<bool> {
    let rule = workspace_root().join(RULE);
    let out = Command::new("make")
        .current_dir(tree)
        .arg("coccicheck")
        .arg(format!("COCCI={}", rule.display()))
        .arg(format!("MODE={mode}"))
        .arg(format!("M={dir}"))
        .arg("J=2")
        .output()
        .context("cannot run make coccicheck")?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let (n, what) = if mode == "report" {
        let n = stdout
            .lines()
            .filter(|l| l.contains(": WARNING: raw access of struct bio_vec's bv_page"))
            .count();
        (n, "report lines")
    } else {
        let n = stdout.lines().filter(|l| l.starts_with("+++ ")).count();
        (n, "files in the diff")
    };
    let failed = !out.status.success() || stdout.contains("coccicheck failed");
    println!(
        "coccicheck: make coccicheck COCCI={RULE} MODE={mode} M={dir}: {}, {n} {what}",
        if failed { "FAILED" } else { "ok" }
    );
    if failed || n == 0 {
        let tail: Vec<&str> = stdout.lines().rev().take(15).collect();
        for l in tail.into_iter().rev() {
            println!("  | {l}");
        }
        eprint!("{}", String::from_utf8_lossy(&out.stderr));
    }
    Ok(!failed && n > 0)
}

/// The names of a rule file's `virtual` lines.
fn virtuals(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|l| l.strip_prefix("virtual"))
        .filter(|r| r.starts_with([' ', '\t']))
        .flat_map(|r| r.split("//").next().unwrap_or("").split(','))
        .map(|n| n.trim().to_string())
        .filter(|n| !n.is_empty())
        .collect()
}

/// The mode bvmig reads a kernel rule in: patch when the rule has it (the
/// default), else its first of context, report, org.
fn mode_for(declared: &[String]) -> Option<&'static str> {
    ["patch", "context", "report", "org"]
        .into_iter()
        .find(|m| declared.iter().any(|d| d == m))
}

/// The error message without its place, with quoted code made generic, so
/// that errors group by construct.
fn group_of(msg: &str) -> String {
    let mut out = String::new();
    let mut quoted = false;
    for c in msg.chars() {
        if c == '\'' {
            if !quoted {
                out.push_str("'…");
            }
            quoted = !quoted;
            if !quoted {
                out.push('\'');
            }
        } else if !quoted {
            out.push(c);
        }
    }
    // Keep the construct's name when it is a keyword-like word.
    let keep = ["metavariable kind", "rule header", "script:"];
    if keep.iter().any(|k| msg.contains(k)) {
        return msg.to_string();
    }
    out
}

/// bvmig reads every `scripts/coccinelle/**/*.cocci` of the tree, in the
/// mode the rule offers (see [`mode_for`]), through `bvmig patch --rule`
/// over an empty directory. None may fail at a `virtual` line.
fn kernel_rules(tree: &Path, bin: &Path) -> Result<bool> {
    let mut files = Vec::new();
    collect(&tree.join("scripts/coccinelle"), &mut files)?;
    files.sort();
    let empty = tempfile::tempdir().context("cannot create a temporary folder")?;
    let (mut n_whole, mut at_virtual) = (0usize, Vec::new());
    let mut groups: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for f in &files {
        let text =
            fs::read_to_string(f).with_context(|| format!("{}: cannot read", f.display()))?;
        let declared = virtuals(&text);
        let mut cmd = Command::new(bin);
        cmd.arg("patch").arg("--rule").arg(f);
        if let Some(m) = mode_for(&declared) {
            cmd.arg("-D").arg(m);
        }
        let out = cmd
            .arg(empty.path())
            .output()
            .with_context(|| format!("cannot run {}", bin.display()))?;
        let name = f.strip_prefix(tree).unwrap_or(f).display().to_string();
        if out.status.success() {
            n_whole += 1;
            continue;
        }
        let err = String::from_utf8_lossy(&out.stderr);
        let line = err.lines().next().unwrap_or("").to_string();
        // bvmig: error: PATH:LINE:COL: MESSAGE
        let rest = line
            .strip_prefix("bvmig: error: ")
            .and_then(|r| r.strip_prefix(&f.display().to_string()))
            .and_then(|r| r.strip_prefix(':'));
        let Some(rest) = rest else {
            groups
                .entry(format!("(not a rule error) {line}"))
                .or_default()
                .push(name);
            continue;
        };
        let mut parts = rest.splitn(3, ':');
        let (l, _c, msg) = (
            parts.next().unwrap_or(""),
            parts.next().unwrap_or(""),
            parts.next().unwrap_or("").trim(),
        );
        let lno: usize = l.parse().unwrap_or(0);
        let src = text.lines().nth(lno.saturating_sub(1)).unwrap_or("");
        // At a `virtual` line, or about one: the script rule's hint
        // ("define the virtual rule ...") is not.
        if src.starts_with("virtual") || msg.starts_with("expected a virtual rule name") {
            at_virtual.push(format!("{name}:{rest}"));
        }
        groups
            .entry(group_of(msg))
            .or_default()
            .push(format!("{name}:{l}"));
    }
    let n_failed = files.len() - n_whole;
    println!(
        "coccicheck: bvmig reads {} kernel rules: {n_whole} whole, {n_failed} stop at a construct outside the subset, {} at a 'virtual' line",
        files.len(),
        at_virtual.len()
    );
    let mut sorted: Vec<(&String, &Vec<String>)> = groups.iter().collect();
    sorted.sort_by_key(|(g, v)| (std::cmp::Reverse(v.len()), g.to_string()));
    for (g, v) in sorted {
        println!("  {:3}  {g}  (e.g. {})", v.len(), v[0]);
    }
    for v in &at_virtual {
        println!("  FAIL at a virtual line: {v}");
    }
    Ok(at_virtual.is_empty())
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    for e in fs::read_dir(dir).with_context(|| format!("{}: cannot read", dir.display()))? {
        let p = e?.path();
        if p.is_dir() {
            collect(&p, out)?;
        } else if p.extension().is_some_and(|x| x == "cocci") {
            out.push(p);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn virtual_lines_and_modes() {
        let v = virtuals("// x\nvirtual patch\nvirtual context, org // c\nvirtualx\n");
        assert_eq!(v, vec!["patch", "context", "org"]);
        assert_eq!(mode_for(&v), Some("patch"));
        assert_eq!(mode_for(&v[1..]), Some("context"));
        assert_eq!(mode_for(&[]), None);
    }

    #[test]
    fn messages_group_by_construct() {
        assert_eq!(
            group_of("'a + b' does not parse as C"),
            "'…' does not parse as C"
        );
        assert_eq!(
            group_of("metavariable kind 'position' is not supported yet"),
            "metavariable kind 'position' is not supported yet"
        );
    }
}
