//! `bvmig completions SHELL` and `bvmig man [COMMAND]`: shell completions
//! and man pages made from the clap definitions (clap_complete,
//! clap_mangen), so that `cargo install` users get what a package ships.

use std::io::{self, Write};
use std::process::ExitCode;

use clap::CommandFactory;
use clap_complete::Shell;

use super::output;
use super::Cli;

pub(super) const COMPLETIONS_EXAMPLES: &str = "Examples:
  bvmig completions bash > ~/.local/share/bash-completion/completions/bvmig
  bvmig completions zsh > ~/.zfunc/_bvmig
  bvmig completions fish > ~/.config/fish/completions/bvmig.fish";

pub(super) const MAN_EXAMPLES: &str = "Examples:
  bvmig man > bvmig.1                  # then: man -l bvmig.1
  bvmig man patch > bvmig-patch.1";

#[derive(Debug, clap::Args)]
pub(super) struct CompletionsArgs {
    /// The shell.
    #[arg(value_enum)]
    shell: Shell,
}

#[derive(Debug, clap::Args)]
pub(super) struct ManArgs {
    /// A command (`patch`, `check`, ...) for its own page; bvmig's without.
    command: Option<String>,
}

pub(super) fn completions(args: CompletionsArgs) -> ExitCode {
    let mut cmd = Cli::command();
    let mut out = Vec::new();
    clap_complete::generate(args.shell, &mut cmd, "bvmig", &mut out);
    print(&out)
}

pub(super) fn man(args: ManArgs) -> ExitCode {
    let mut cmd = Cli::command();
    let (page, title) = match &args.command {
        // The `help` command has no page of its own to list.
        None => (cmd.disable_help_subcommand(true), "bvmig".to_string()),
        Some(name) => {
            // Built, subcommands know their display names (`bvmig-patch`),
            // which name their pages, as in clap_mangen's own folders.
            cmd.build();
            let Some(sub) = cmd.find_subcommand(name) else {
                let known: Vec<&str> = cmd
                    .get_subcommands()
                    .map(|c| c.get_name())
                    .filter(|n| *n != "help")
                    .collect();
                return output::finish(
                    &[format!(
                        "no command '{name}'; the commands are {}",
                        known.join(", ")
                    )],
                    0,
                );
            };
            (sub.clone(), format!("bvmig-{name}"))
        }
    };
    let mut out = Vec::new();
    if let Err(e) = clap_mangen::Man::new(page).title(title).render(&mut out) {
        return output::finish(&[format!("<man page>: {e}")], 0);
    }
    print(&out)
}

fn print(bytes: &[u8]) -> ExitCode {
    let mut errors = Vec::new();
    output::to_stdout(bytes, &mut errors);
    let _ = io::stdout().flush();
    output::finish(&errors, 0)
}
