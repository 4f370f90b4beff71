//! `bvmig lsp`: the language server on stdio, for editors; its work is
//! in the library's `lsp` module.

use std::path::PathBuf;
use std::process::ExitCode;

use super::output;
use crate::engine::choice;
use crate::lsp::{self, LspOptions};

pub(super) const EXAMPLES: &str = "Examples:
  bvmig lsp                      # what an editor starts; LSP on stdin/stdout
  bvmig lsp --rule my.cocci      # one rule for every tree
  Neovim (0.8+, in init.lua):
    vim.api.nvim_create_autocmd('FileType', { pattern = 'c', callback = function()
      vim.lsp.start({ name = 'bvmig', cmd = { 'bvmig', 'lsp' } })
    end })
  Neovim 0.7: vim.lsp.start_client({ cmd = { 'bvmig', 'lsp' } }) and
    vim.lsp.buf_attach_client(0, id); see tests/editor/nvim.lua.

The server speaks LSP on stdin and stdout: diagnostics for raw accesses as
files are opened and edited, the rewrite as a quick fix (code action), and
source.fixAll for a whole file. Exit status: 0 after the client's shutdown,
2 when the connection fails.";

#[derive(Debug, clap::Args)]
pub(super) struct LspArgs {
    /// Run this SmPL rule file instead of the built-in rule that fits each
    /// file's tree.
    #[arg(long, value_name = "FILE")]
    rule: Option<PathBuf>,
    /// Scan each tree's headers for definitions when the tree is first met,
    /// instead of reading the cache of earlier runs.
    #[arg(long)]
    no_cache: bool,
    /// Accepted for editors that start servers with `--stdio`; stdio is the
    /// only transport.
    #[arg(long, hide = true)]
    stdio: bool,
}

pub(super) fn run(args: LspArgs) -> ExitCode {
    let opts = LspOptions {
        rule: args.rule,
        definitions_cache: (!args.no_cache)
            .then(choice::definitions_cache_dir)
            .flatten(),
    };
    let (conn, io_threads) = lsp::transport::stdio();
    let served = lsp::serve(&conn, &opts);
    drop(conn);
    let joined = io_threads.join();
    match (served, joined) {
        // What the input did wrong is why the server stopped.
        (_, Err(e)) => output::finish(&[format!("lsp: {e}")], 0),
        (Err(e), Ok(())) => output::finish(&[e.to_string()], 0),
        (Ok(()), Ok(())) => ExitCode::SUCCESS,
    }
}
