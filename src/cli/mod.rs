//! The command line: clap definitions, dispatch and the pieces the commands
//! share (loading the rule file, walk options, exit statuses). Each command
//! lives in its own module: `patch` (the rewrite as a diff or in place),
//! `check` (sites left, in four formats), `review` (sites on the added
//! lines of patches), `validate` (semantic fixtures against the
//! reference runtime) and `lsp` (the language server on stdio). Tests call
//! [`run`] through the real binary.

mod check;
mod dist;
mod lsp;
mod output;
mod patch;
mod progress;
mod review;
mod sparse;
mod test;
mod validate;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::engine::walk::WalkOptions;

/// Rewrite struct bio_vec's bv_page accesses into helper calls, driven by
/// SmPL rules, over a Linux tree.
#[derive(Debug, Parser)]
#[command(name = "bvmig", version, about)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
    /// Colour the report lines and diagnostics: auto (when writing to a
    /// terminal and NO_COLOR is unset), always or never.
    #[arg(long, global = true, value_enum, value_name = "WHEN", default_value_t)]
    color: output::ColorWhen,
}

/// One variant per command; each holds its own `clap::Args` struct and runs
/// in its own module.
#[derive(Debug, Subcommand)]
enum Command {
    /// Print the rewrite as a unified diff (--in-place makes it, --series
    /// writes it as mails for git am).
    ///
    /// Example: bvmig patch ~/linux > bv_page.patch
    #[command(after_help = patch::EXAMPLES)]
    Patch(patch::PatchArgs),
    /// Report every raw access left; exit 1 when there is one, 0 when clean.
    ///
    /// Example: bvmig check --since v6.12-rc1 --format github
    #[command(after_help = check::EXAMPLES)]
    Check(check::CheckArgs),
    /// Report raw accesses on the added lines of a patch or a series (mbox).
    ///
    /// Example: git format-patch -3 --stdout | bvmig review -
    #[command(after_help = review::EXAMPLES)]
    Review(review::ReviewArgs),
    /// Run the semantic fixtures before and after the rewrite against the
    /// reference runtime and compare what they did.
    ///
    /// Example: bvmig validate fixtures/semantic
    #[command(after_help = validate::EXAMPLES)]
    Validate(validate::ValidateArgs),
    /// Run each rule file on its test cases and compare with the expected
    /// outputs; exit 1 when one differs.
    ///
    /// Example: bvmig test rules/
    #[command(after_help = test::EXAMPLES)]
    Test(test::TestArgs),
    /// Check one C file as the kernel's build runs a checker: make C=1
    /// CHECK="bvmig sparse".
    ///
    /// Example: make C=2 CHECK="bvmig sparse" block/
    #[command(after_help = sparse::EXAMPLES)]
    Sparse(sparse::SparseArgs),
    /// Run a language server on stdio for editors: raw accesses as
    /// diagnostics, the rewrite as a quick fix.
    ///
    /// Example: nvim's vim.lsp.start({ name = "bvmig", cmd = { "bvmig", "lsp" } })
    #[command(after_help = lsp::EXAMPLES)]
    Lsp(lsp::LspArgs),
    /// Print shell completions for bash, zsh, fish, elvish or PowerShell.
    ///
    /// Example: bvmig completions bash > /etc/bash_completion.d/bvmig
    #[command(after_help = dist::COMPLETIONS_EXAMPLES)]
    Completions(dist::CompletionsArgs),
    /// Print the man page of bvmig, or of one of its commands.
    ///
    /// Example: bvmig man patch | man -l -
    #[command(after_help = dist::MAN_EXAMPLES)]
    Man(dist::ManArgs),
}

/// What `patch` and `check` share: where to look and with which rule.
#[derive(Debug, Clone, clap::Args)]
struct EngineArgs {
    /// Kernel trees, directories or C files (default: the current
    /// directory); `-` reads one file's text from stdin.
    paths: Vec<PathBuf>,
    /// With `-`: the path the text stands for, which names it in the
    /// output and whose kernel tree chooses the rule (default: `<stdin>`
    /// in the current directory).
    #[arg(long, value_name = "NAME")]
    stdin_filename: Option<PathBuf>,
    /// Look only at the files below the directories given that match this
    /// glob, or, with a leading `!`, that do not (repeatable; the last
    /// match wins), as ripgrep's --glob: -g 'drivers/**' -g '!*.h'.
    #[arg(short = 'g', long = "glob", value_name = "GLOB")]
    globs: Vec<String>,
    /// Run this SmPL rule file instead of the built-in rules/bv_page.cocci.
    #[arg(long, value_name = "FILE")]
    rule: Option<PathBuf>,
    /// Define a virtual rule, as spatch's -D (repeatable); without -D,
    /// patch is defined. A rule that depends on virtual rules runs when its
    /// condition holds.
    #[arg(short = 'D', value_name = "NAME")]
    defines: Vec<String>,
    /// Worker threads (default: one per core).
    #[arg(short = 'j', long = "threads", value_name = "N")]
    threads: Option<usize>,
    /// Also look at files that .gitignore and .ignore files exclude, and hidden ones.
    #[arg(long)]
    no_ignore: bool,
}

impl EngineArgs {
    fn paths(&self) -> Vec<PathBuf> {
        if self.paths.is_empty() {
            vec![PathBuf::from(".")]
        } else {
            self.paths.clone()
        }
    }

    fn walk_options(&self) -> WalkOptions {
        WalkOptions {
            threads: self.threads.unwrap_or(0),
            standard_filters: !self.no_ignore,
            only: None,
            globs: self.globs.clone(),
        }
    }

    /// With `-` as the only path: the path stdin's text stands for, and
    /// the text. An error when `-` comes with other paths or stdin cannot
    /// be read; `None` without `-` (then `--stdin-filename` is an error).
    fn stdin(&self) -> Result<Option<(PathBuf, Vec<u8>)>, String> {
        let dash = self.paths.iter().any(|p| p.as_os_str() == "-");
        if !dash {
            return match &self.stdin_filename {
                Some(_) => Err("--stdin-filename needs `-` among the paths".to_string()),
                None => Ok(None),
            };
        }
        if self.paths.len() > 1 {
            return Err("`-` (stdin) cannot be given with other paths".to_string());
        }
        let mut text = Vec::new();
        std::io::Read::read_to_end(&mut std::io::stdin().lock(), &mut text)
            .map_err(|e| format!("stdin: {e}"))?;
        let name = self
            .stdin_filename
            .clone()
            .unwrap_or_else(|| PathBuf::from("<stdin>"));
        Ok(Some((name, text)))
    }
}

/// Runs the command line in `args` and returns the exit status: 0 when the
/// run completed (and, for `check` and `review`, found nothing), 1 when a
/// check found something, 2 on errors.
pub fn run<I, T>(args: I) -> ExitCode
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    output::set_color(cli.color);
    match cli.command {
        Command::Patch(args) => patch::run(args),
        Command::Check(args) => check::run(args),
        Command::Review(args) => review::run(args),
        Command::Validate(args) => validate::run(args),
        Command::Test(args) => test::run(args),
        Command::Sparse(args) => sparse::run(args),
        Command::Lsp(args) => lsp::run(args),
        Command::Completions(args) => dist::completions(args),
        Command::Man(args) => dist::man(args),
    }
}
