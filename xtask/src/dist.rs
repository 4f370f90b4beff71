//! `cargo xtask dist`: the files a package ships besides the binary, made
//! from bvmig's clap definitions so that they never drift from `--help`:
//! man pages (`bvmig.1` and one per command, `bvmig-patch.1`, ...) and
//! shell completions for bash, zsh, fish, elvish and PowerShell, in
//! `target/dist/` (or `$CARGO_TARGET_DIR/dist/`).

use std::env;
use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::CommandFactory;
use clap_complete::Shell;

use crate::bvmig::workspace_root;

/// Where `cargo xtask dist` writes.
pub fn dist_dir() -> PathBuf {
    let target = match env::var_os("CARGO_TARGET_DIR").filter(|d| !d.is_empty()) {
        Some(dir) => workspace_root().join(dir),
        None => workspace_root().join("target"),
    };
    target.join("dist")
}

/// Writes the man pages into `out/man/` and the completions into
/// `out/completions/`; the files written, sorted.
pub fn write(out: &Path) -> Result<Vec<PathBuf>> {
    let man = out.join("man");
    let completions = out.join("completions");
    for d in [&man, &completions] {
        fs::create_dir_all(d).with_context(|| format!("{}: cannot create", d.display()))?;
    }
    let cmd = bvmig::cli::Cli::command();
    clap_mangen::generate_to(cmd.clone(), &man)
        .with_context(|| format!("{}: cannot write the man pages", man.display()))?;
    for shell in [
        Shell::Bash,
        Shell::Zsh,
        Shell::Fish,
        Shell::Elvish,
        Shell::PowerShell,
    ] {
        let mut cmd = cmd.clone();
        clap_complete::generate_to(shell, &mut cmd, "bvmig", &completions).with_context(|| {
            format!(
                "{}: cannot write the {shell} completions",
                completions.display()
            )
        })?;
    }
    let mut files = Vec::new();
    for d in [&man, &completions] {
        for e in fs::read_dir(d).with_context(|| format!("{}: cannot list", d.display()))? {
            files.push(e?.path());
        }
    }
    files.sort();
    Ok(files)
}

/// The task: writes into [`dist_dir`] and lists what it wrote.
pub fn run() -> Result<()> {
    let out = dist_dir();
    for f in write(&out)? {
        println!("{}", f.display());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The commands a user can run (clap's own `help` aside).
    fn commands() -> Vec<String> {
        bvmig::cli::Cli::command()
            .get_subcommands()
            .map(|c| c.get_name().to_string())
            .filter(|n| n != "help")
            .collect()
    }

    #[test]
    fn man_pages_and_bash_completion_name_every_command() {
        let dir = tempfile::tempdir().unwrap();
        let files = write(dir.path()).unwrap();
        let names: Vec<String> = files
            .iter()
            .map(|f| f.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        for want in ["bvmig.1", "bvmig.bash", "_bvmig", "bvmig.fish"] {
            assert!(names.contains(&want.to_string()), "{want} in {names:?}");
        }
        let top = fs::read_to_string(dir.path().join("man/bvmig.1")).unwrap();
        let bash = fs::read_to_string(dir.path().join("completions/bvmig.bash")).unwrap();
        let commands = commands();
        assert!(commands.len() >= 4, "{commands:?}");
        for c in &commands {
            // roff escapes a dash in a name as \-.
            let in_man = top.contains(&format!("bvmig\\-{}", c.replace('-', "\\-")))
                || top.contains(&format!("\\fB{c}\\fR"));
            assert!(in_man, "bvmig.1 does not mention {c}:\n{top}");
            assert!(bash.contains(c.as_str()), "bvmig.bash does not mention {c}");
            assert!(
                bash.contains(&format!("bvmig,{c})")),
                "bvmig.bash does not complete after bvmig {c}"
            );
            let page = fs::read_to_string(dir.path().join(format!("man/bvmig-{c}.1")))
                .unwrap_or_else(|e| panic!("bvmig-{c}.1: {e}"));
            assert!(page.contains("Example"), "bvmig-{c}.1 shows no example");
        }
    }

    #[test]
    fn every_command_has_an_example_in_its_help() {
        let mut cmd = bvmig::cli::Cli::command();
        cmd.build();
        for sub in cmd.get_subcommands().filter(|c| c.get_name() != "help") {
            let help = sub.clone().render_long_help().to_string();
            let examples = help.split("Examples:\n").nth(1).unwrap_or("");
            assert!(
                examples.contains(&format!("bvmig {}", sub.get_name())),
                "bvmig {} --help has no example:\n{help}",
                sub.get_name()
            );
        }
    }
}
