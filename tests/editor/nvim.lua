-- bvmig lsp in Neovim's own LSP client (0.7 or later), headless: starts
-- `bvmig lsp`, waits for the diagnostics of the file given, applies the
-- quick fix of the first one, writes the file, and prints what it saw on
-- stderr. Run it from the tree's top:
--
--   BVMIG=target/debug/bvmig nvim --headless --clean \
--     -c 'luafile tests/editor/nvim.lua' drivers/block/brd.c
--
-- It exits 0 when the fix was applied and the file written, 1 otherwise.

local function say(fmt, ...)
  io.stderr:write(string.format(fmt, ...) .. '\n')
end

local function finish(code)
  vim.cmd((code == 0 and 'qall!' or 'cquit! ' .. code))
end

local bvmig = os.getenv('BVMIG') or 'bvmig'
local buf = vim.api.nvim_get_current_buf()
local id = vim.lsp.start_client({
  name = 'bvmig',
  cmd = { bvmig, 'lsp', '--no-cache' },
  root_dir = vim.fn.getcwd(),
})
if not id then
  say('could not start %s lsp', bvmig)
  return finish(1)
end
vim.lsp.buf_attach_client(buf, id)

if not vim.wait(30000, function() return #vim.diagnostic.get(buf) > 0 end, 50) then
  say('no diagnostics came')
  return finish(1)
end
local diags = vim.diagnostic.get(buf)
table.sort(diags, function(a, b) return a.lnum < b.lnum or (a.lnum == b.lnum and a.col < b.col) end)
for _, d in ipairs(diags) do
  -- lnum and col are 0-based; col counts bytes, as Neovim converted it.
  say('diagnostic %d:%d: %s', d.lnum + 1, d.col + 1, d.message)
end

-- The code actions at the first diagnostic, as `:lua vim.lsp.buf.code_action()`
-- asks for them.
local first = diags[1]
vim.api.nvim_win_set_cursor(0, { first.lnum + 1, first.col })
local params = vim.lsp.util.make_range_params()
params.context = { diagnostics = {} }
local answers = vim.lsp.buf_request_sync(buf, 'textDocument/codeAction', params, 10000) or {}
local client = vim.lsp.get_client_by_id(id)
local applied = nil
for _, answer in pairs(answers) do
  for _, action in ipairs(answer.result or {}) do
    say('action: %s (%s)', action.title, action.kind or '')
    if not applied and action.kind == 'quickfix' and action.edit then
      vim.lsp.util.apply_workspace_edit(action.edit, client.offset_encoding)
      applied = action.title
    end
  end
end
if not applied then
  say('no quick fix came')
  return finish(1)
end
say('applied: %s', applied)
say('line %d now: %s', first.lnum + 1, vim.api.nvim_buf_get_lines(buf, first.lnum, first.lnum + 1, false)[1])
vim.cmd('write')

-- The server checks the edited text again: one diagnostic fewer.
local before = #diags
vim.wait(10000, function() return #vim.diagnostic.get(buf) < before end, 50)
say('diagnostics after the fix: %d (were %d)', #vim.diagnostic.get(buf), before)
vim.lsp.stop_client(id)
finish(0)
