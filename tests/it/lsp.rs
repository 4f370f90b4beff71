//! `bvmig lsp`, driven in process over an in-memory connection as an
//! editor drives it: initialize, open a file, read the diagnostics, ask for
//! code actions and apply their edits. The client side speaks plain JSON,
//! and counts UTF-16 columns with its own code.

use std::path::Path;
use std::thread::JoinHandle;
use std::time::Duration;

use bvmig::lsp::{serve, LspError, LspOptions};
use lsp_server::{Connection, Message, Notification, Request, RequestId, Response};
use serde_json::{json, Value};

use crate::util::{bvmig, bvmig_command, kernel_tree, run_fed_or_kill, TempDir, BVEC_H_BARE};

/// A guard against a hang, not a measurement: every answer comes at once.
const PATIENCE: Duration = Duration::from_secs(120);

struct Client {
    conn: Connection,
    server: Option<JoinHandle<Result<(), LspError>>>,
    next_id: i32,
}

impl Client {
    /// A server with `opts`, initialized with `workspace` as its folder.
    fn start(opts: LspOptions, workspace: &Path) -> Client {
        let (server, client) = Connection::memory();
        let handle = std::thread::spawn(move || serve(&server, &opts));
        let mut c = Client {
            conn: client,
            server: Some(handle),
            next_id: 0,
        };
        let folder = uri(workspace);
        let res = c.request(
            "initialize",
            json!({
                "processId": null,
                "rootUri": folder,
                "capabilities": {},
                "workspaceFolders": [{ "uri": folder, "name": "linux" }],
            }),
        );
        let caps = &res.unwrap()["capabilities"];
        assert_eq!(caps["positionEncoding"], "utf-16");
        assert_eq!(caps["textDocumentSync"]["change"], 1);
        c.notify("initialized", json!({}));
        c
    }

    fn notify(&self, method: &str, params: Value) {
        self.conn
            .sender
            .send(Message::Notification(Notification::new(
                method.to_string(),
                params,
            )))
            .unwrap();
    }

    /// Sends a request and waits for its answer: the result, or the error.
    fn request(&mut self, method: &str, params: Value) -> Result<Value, Value> {
        self.next_id += 1;
        let id = RequestId::from(self.next_id);
        self.conn
            .sender
            .send(Message::Request(Request::new(
                id.clone(),
                method.to_string(),
                params,
            )))
            .unwrap();
        loop {
            match self.conn.receiver.recv_timeout(PATIENCE).unwrap() {
                Message::Response(Response {
                    id: got,
                    response_result,
                }) if got == id => {
                    return response_result.map_err(|e| serde_json::to_value(e).unwrap());
                }
                _ => {}
            }
        }
    }

    /// The next diagnostics published for `uri`.
    fn diagnostics(&self, uri: &str) -> Vec<Value> {
        loop {
            if let Message::Notification(n) = self.conn.receiver.recv_timeout(PATIENCE).unwrap() {
                if n.method == "textDocument/publishDiagnostics" && n.params["uri"] == uri {
                    return n.params["diagnostics"].as_array().unwrap().clone();
                }
            }
        }
    }

    fn open(&self, uri: &str, text: &str) -> Vec<Value> {
        self.notify(
            "textDocument/didOpen",
            json!({ "textDocument": { "uri": uri, "languageId": "c", "version": 1, "text": text } }),
        );
        self.diagnostics(uri)
    }

    fn change(&self, uri: &str, version: i32, text: &str) -> Vec<Value> {
        self.notify(
            "textDocument/didChange",
            json!({ "textDocument": { "uri": uri, "version": version }, "contentChanges": [{ "text": text }] }),
        );
        self.diagnostics(uri)
    }

    fn code_actions(&mut self, uri: &str, range: &Value, only: Option<&str>) -> Vec<Value> {
        let mut context = json!({ "diagnostics": [] });
        if let Some(kind) = only {
            context["only"] = json!([kind]);
        }
        self.request(
            "textDocument/codeAction",
            json!({ "textDocument": { "uri": uri }, "range": range, "context": context }),
        )
        .unwrap()
        .as_array()
        .unwrap()
        .clone()
    }

    /// Shuts the server down as a client does; the server returns cleanly.
    fn shutdown(mut self) {
        self.request("shutdown", Value::Null).unwrap();
        self.notify("exit", Value::Null);
        let served = self.server.take().unwrap().join().unwrap();
        assert!(served.is_ok(), "{served:?}");
    }
}

fn uri(path: &Path) -> String {
    // The temporary directories hold no character URIs escape.
    format!("file://{}", path.display())
}

/// The byte offset of an LSP position (UTF-16 columns), counted here
/// independently of the server.
fn offset(text: &str, pos: &Value) -> usize {
    let line = pos["line"].as_u64().unwrap() as usize;
    let character = pos["character"].as_u64().unwrap() as usize;
    let start: usize = text.split_inclusive('\n').take(line).map(str::len).sum();
    let mut units = 0;
    for (i, c) in text[start..].char_indices() {
        if units >= character || c == '\n' {
            return start + i;
        }
        units += c.len_utf16();
    }
    text.len()
}

/// `text` with the edits of `action` for `uri` made.
fn apply(text: &str, action: &Value, uri: &str) -> String {
    let mut edits: Vec<(usize, usize, String)> = action["edit"]["changes"][uri]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                offset(text, &e["range"]["start"]),
                offset(text, &e["range"]["end"]),
                e["newText"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    edits.sort();
    let mut out = text.to_string();
    for (start, end, new) in edits.into_iter().rev() {
        out.replace_range(start..end, &new);
    }
    out
}

/// What `bvmig check` says of `text` written at `rel` in `top`: each
/// warning's line, column and words after `warning: `.
fn check_says(top: &Path, rel: &str, text: &str) -> Vec<(usize, usize, String)> {
    std::fs::write(top.join(rel), text).unwrap();
    let out = bvmig(top, &["check", "--no-ignore", rel]);
    out.stdout_text()
        .lines()
        .filter_map(|l| {
            let (at, words) = l.split_once(": warning: ")?;
            let mut parts = at.rsplitn(3, ':');
            let col = parts.next()?.parse().ok()?;
            let line = parts.next()?.parse().ok()?;
            Some((line, col, words.to_string()))
        })
        .collect()
}

/// A file whose sites follow multibyte text on their lines: `é` (two
/// bytes, one UTF-16 unit), `中` (three bytes, one unit) and `𝄞` (four
/// bytes, two units).
const EDITED: &str = "#include <linux/bvec.h>

struct page *brd_swap(struct bio_vec *bv, struct page *p)
{
\t/* é中𝄞 */ struct page *old = bv->bv_page;

\t/* 𝄞𝄞 */ bv->bv_page = p;
\treturn old;
}
";

#[test]
fn diagnostics_and_quick_fixes_as_check_says_on_either_rule() {
    let modern_bvec = BVEC_H_BARE.replace(
        "#endif",
        "static inline void bvec_set_page(struct bio_vec *bv, struct page *page,\n\t\tunsigned int len, unsigned int offset)\n{\n}\n\n#endif",
    );
    for bvec_h in [BVEC_H_BARE.to_string(), modern_bvec] {
        let t = TempDir::new();
        let top = kernel_tree(&t, "linux");
        std::fs::write(top.join("include/linux/bvec.h"), &bvec_h).unwrap();
        let file = top.join("drivers/block/brd.c");
        let expected = check_says(&top, "drivers/block/brd.c", EDITED);
        assert_eq!(expected.len(), 2, "{expected:?}");
        // The editor's text is not the file's: the server checks the text.
        std::fs::write(&file, "").unwrap();

        let mut c = Client::start(LspOptions::default(), &top);
        let doc = uri(&file);
        let diags = c.open(&doc, EDITED);
        let got: Vec<(usize, usize, String)> = diags
            .iter()
            .map(|d| {
                let start = offset(EDITED, &d["range"]["start"]);
                let end = offset(EDITED, &d["range"]["end"]);
                assert_eq!(&EDITED[start..end], "bv_page", "{d}");
                assert_eq!(d["severity"], 2);
                assert_eq!(d["source"], "bvmig");
                let line_start = EDITED[..start].rfind('\n').map_or(0, |i| i + 1);
                // The UTF-16 column is not the byte column on these lines.
                let character = d["range"]["start"]["character"].as_u64().unwrap() as usize;
                assert!(character < start - line_start, "{d}");
                let line = d["range"]["start"]["line"].as_u64().unwrap() as usize;
                let message = d["message"].as_str().unwrap().to_string();
                (line + 1, start - line_start + 1, message)
            })
            .collect();
        assert_eq!(got, expected);

        // The quick fix at the cursor on the read: one edit, the read only.
        let actions = c.code_actions(&doc, &diags[0]["range"], None);
        let quick: Vec<&Value> = actions.iter().filter(|a| a["kind"] == "quickfix").collect();
        assert_eq!(quick.len(), 1, "{actions:?}");
        assert_eq!(quick[0]["isPreferred"], true);
        let fixed = apply(EDITED, quick[0], &doc);
        assert_eq!(
            fixed,
            EDITED.replace("old = bv->bv_page", "old = bvec_page(bv)"),
            "{}",
            quick[0]
        );
        // The server checks the new text: one finding is left, the write.
        let left = c.change(&doc, 2, &fixed);
        assert_eq!(left.len(), 1, "{left:?}");
        assert_eq!(left[0]["message"], expected[1].2.as_str());

        // The whole file, asked for by kind; the result is what `check`
        // finds clean.
        let all = c.code_actions(
            &doc,
            &json!({ "start": { "line": 0, "character": 0 }, "end": { "line": 0, "character": 0 } }),
            Some("source"),
        );
        assert_eq!(all.len(), 1, "{all:?}");
        assert_eq!(all[0]["kind"], "source.fixAll");
        let done = apply(&fixed, &all[0], &doc);
        assert!(
            check_says(&top, "drivers/block/brd.c", &done).is_empty(),
            "{done}"
        );
        assert!(c.change(&doc, 3, &done).is_empty());
        // Closing the document clears its diagnostics.
        c.notify(
            "textDocument/didClose",
            json!({ "textDocument": { "uri": doc } }),
        );
        assert!(c.diagnostics(&doc).is_empty());
        c.shutdown();
    }
}

#[test]
fn a_rule_that_cannot_run_is_one_error_diagnostic_and_unknown_requests_are_refused() {
    let t = TempDir::new();
    let top = kernel_tree(&t, "linux");
    let bad = t.write("bad.cocci", "@@\nfresh identifier x;\n@@\n- x\n");
    let mut c = Client::start(
        LspOptions {
            rule: Some(bad.clone()),
            definitions_cache: None,
        },
        &top,
    );
    let doc = uri(&top.join("fs/iomap.c"));
    let diags = c.open(&doc, EDITED);
    assert_eq!(diags.len(), 1, "{diags:?}");
    assert_eq!(diags[0]["severity"], 1);
    let message = diags[0]["message"].as_str().unwrap();
    assert!(
        message.starts_with(&format!("{}:", bad.display())),
        "{message}"
    );
    let err = c
        .request(
            "textDocument/hover",
            json!({ "textDocument": { "uri": doc }, "position": { "line": 0, "character": 0 } }),
        )
        .unwrap_err();
    assert_eq!(err["code"], -32601, "{err}");
    // A document not opened has no actions.
    let none = c.code_actions(
        "file:///nowhere.c",
        &json!({ "start": { "line": 0, "character": 0 }, "end": { "line": 0, "character": 0 } }),
        None,
    );
    assert!(none.is_empty());
    c.shutdown();
}

/// LSP framing of `msgs`, as a client writes them on the server's stdin.
fn framed(msgs: &[Value]) -> Vec<u8> {
    let mut out = Vec::new();
    for m in msgs {
        let body = m.to_string();
        out.extend(format!("Content-Length: {}\r\n\r\n{body}", body.len()).bytes());
    }
    out
}

#[test]
fn a_session_over_stdio_publishes_diagnostics_and_exits_0_after_shutdown() {
    let t = TempDir::new();
    let top = kernel_tree(&t, "");
    let file = top.join("block/raw.c");
    let text = "struct page *f(struct bio_vec *bv)\n{\n\treturn bv->bv_page;\n}\n";
    t.write("block/raw.c", text);
    let input = framed(&[
        json!({"jsonrpc": "2.0", "id": 1, "method": "initialize",
               "params": {"processId": null, "rootUri": uri(&top), "capabilities": {}}}),
        json!({"jsonrpc": "2.0", "method": "initialized", "params": {}}),
        json!({"jsonrpc": "2.0", "method": "textDocument/didOpen",
               "params": {"textDocument": {"uri": uri(&file), "languageId": "c", "version": 1, "text": text}}}),
        json!({"jsonrpc": "2.0", "id": 2, "method": "shutdown", "params": null}),
        json!({"jsonrpc": "2.0", "method": "exit", "params": null}),
    ]);
    let out = run_fed_or_kill(PATIENCE, bvmig_command(&top, &["lsp"]), Some(input));
    assert_eq!(out.code, 0, "{}", out.stderr_text());
    let mut stdout = out.stdout.as_slice();
    let mut seen = Vec::new();
    while let Some(m) = Message::read(&mut stdout).unwrap() {
        seen.push(m);
    }
    let diagnostics: Vec<&Value> = seen
        .iter()
        .filter_map(|m| match m {
            Message::Notification(n) if n.method == "textDocument/publishDiagnostics" => {
                Some(&n.params["diagnostics"])
            }
            _ => None,
        })
        .collect();
    assert_eq!(diagnostics.len(), 1, "{seen:?}");
    assert_eq!(
        diagnostics[0][0]["range"]["start"],
        json!({"line": 2, "character": 12})
    );
    let answered: Vec<String> = seen
        .iter()
        .filter_map(|m| match m {
            Message::Response(r) => Some(r.id.to_string()),
            _ => None,
        })
        .collect();
    assert_eq!(answered, ["1", "2"]);
}

#[test]
fn bad_framing_on_stdin_is_one_error_line_and_exit_2_never_an_abort() {
    let t = TempDir::new();
    let cases: [(&[u8], &str); 4] = [
        // The size is read before the body: lsp-server's own transport
        // allocated it and aborted.
        (
            b"Content-Length: 99999999999\r\n\r\n{}",
            "bvmig: error: lsp: input: a message of 99999999999 bytes, more than the 256 MiB the server reads\n",
        ),
        (
            b"garbage\r\n\r\n",
            "bvmig: error: lsp: input: malformed header: \"garbage\"\n",
        ),
        (
            b"Content-Length: 10\r\n\r\n{}",
            "bvmig: error: lsp: input: the input ended 2 bytes into a message of 10\n",
        ),
        (
            b"Content-Length: 2\r\n\r\n{}",
            "bvmig: error: lsp: input: malformed LSP payload ",
        ),
    ];
    for (input, want) in cases {
        let out = run_fed_or_kill(
            PATIENCE,
            bvmig_command(t.path(), &["lsp"]),
            Some(input.to_vec()),
        );
        assert_eq!(out.code, 2, "{}", out.stderr_text());
        let err = out.stderr_text();
        assert!(err.starts_with(want), "{err}");
        assert_eq!(err.lines().count(), 1, "{err}");
    }
}
