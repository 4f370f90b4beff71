//! `bvmig lsp`: a language server (LSP over stdio, rust-analyzer's
//! `lsp-server`) for editors. As a C file is opened or edited, its raw
//! accesses are published as diagnostics, with the words of `bvmig check`;
//! the engine's rewrite of one is offered as a quick fix, and of all of a
//! file's as a `source.fixAll` action, each checked as `check --fix`
//! checks its patch.
//!
//! The server keeps the documents the editor has open (full sync: every
//! change sends the whole text), and one engine per kernel tree, with the
//! rule `check` would choose for the tree (`analysis`). Positions count
//! UTF-16 code units (`position`).
//!
//! **API Boundary:** [`serve`] runs the server on any [`Connection`], so
//! tests drive it in process over [`Connection::memory`]; the command
//! gives it [`transport::stdio`].

mod analysis;
mod position;
pub mod transport;

use std::collections::HashMap;
use std::path::PathBuf;

use lsp_server::{Connection, ErrorCode, Message, Notification, Request, Response};
use lsp_types::{
    CodeAction, CodeActionKind, CodeActionOptions, CodeActionParams, CodeActionProvider,
    CodeActionResponse, Diagnostic, DiagnosticSeverity, DidChangeTextDocumentParams,
    DidCloseTextDocumentParams, DidOpenTextDocumentParams, PositionEncodingKind,
    PublishDiagnosticsParams, Range, ServerCapabilities, TextDocumentContentChangeEvent,
    TextDocumentSync, TextDocumentSyncKind, TextDocumentSyncOptions, TextEdit, Uri, WorkspaceEdit,
};

use crate::buffer::Trees;
use analysis::Analysis;
use position::Lines;

/// How the server checks files.
#[derive(Debug, Clone, Default)]
pub struct LspOptions {
    /// A rule file to run instead of the built-in rule that fits the tree.
    pub rule: Option<PathBuf>,
    /// Keep the trees' helper definitions in this cache directory between
    /// runs.
    pub definitions_cache: Option<PathBuf>,
}

/// The connection failed: the client broke the protocol or went away.
#[derive(Debug, thiserror::Error)]
#[error("lsp: {0}")]
pub struct LspError(String);

/// An open document.
struct Doc {
    text: String,
    analysis: Analysis,
}

struct Server<'a> {
    conn: &'a Connection,
    trees: Trees,
    docs: HashMap<Uri, Doc>,
}

/// The capabilities the server announces.
fn capabilities() -> ServerCapabilities {
    ServerCapabilities {
        position_encoding: Some(PositionEncodingKind::UTF16),
        text_document_sync: Some(TextDocumentSync::Options(TextDocumentSyncOptions {
            open_close: Some(true),
            change: Some(TextDocumentSyncKind::Full),
            ..Default::default()
        })),
        code_action_provider: Some(CodeActionProvider::CodeActionOptions(CodeActionOptions {
            code_action_kinds: Some(vec![CodeActionKind::QuickFix, CodeActionKind::SourceFixAll]),
            ..Default::default()
        })),
        ..Default::default()
    }
}

/// Runs the server on `conn` until the client shuts it down (or goes
/// away): the `initialize` handshake, then documents and requests.
pub fn serve(conn: &Connection, opts: &LspOptions) -> Result<(), LspError> {
    let caps = serde_json::to_value(capabilities()).map_err(|e| LspError(e.to_string()))?;
    let params = conn.initialize(caps).map_err(|e| LspError(e.to_string()))?;
    let mut trees = Trees::new(opts.rule.clone(), opts.definitions_cache.clone());
    trees.set_workspace(workspace_folders(&params));
    let mut server = Server {
        conn,
        trees,
        docs: HashMap::new(),
    };
    for msg in &conn.receiver {
        match msg {
            Message::Request(req) => {
                if conn
                    .handle_shutdown(&req)
                    .map_err(|e| LspError(e.to_string()))?
                {
                    return Ok(());
                }
                server.request(req);
            }
            Message::Notification(n) => server.notification(n),
            Message::Response(_) => {}
        }
    }
    Ok(())
}

/// The folders of the workspace, from `workspaceFolders`, else `rootUri`.
fn workspace_folders(params: &serde_json::Value) -> Vec<PathBuf> {
    let folders = params
        .get("workspaceFolders")
        .and_then(|f| f.as_array())
        .map(|fs| {
            fs.iter()
                .filter_map(|f| f.get("uri")?.as_str().and_then(path_of))
                .collect::<Vec<_>>()
        })
        .unwrap_or_default();
    if !folders.is_empty() {
        return folders;
    }
    params
        .get("rootUri")
        .and_then(|u| u.as_str())
        .and_then(path_of)
        .into_iter()
        .collect()
}

/// The path of a `file:` URI; `None` for other schemes.
fn path_of(uri: &str) -> Option<PathBuf> {
    let rest = uri.strip_prefix("file://")?;
    // `file://host/path`: only the local host is a path here.
    let rest = rest.strip_prefix("localhost").unwrap_or(rest);
    let decoded = percent_encoding::percent_decode_str(rest).collect::<Vec<u8>>();
    use std::os::unix::ffi::OsStringExt;
    Some(PathBuf::from(std::ffi::OsString::from_vec(decoded)))
}

impl Server<'_> {
    fn send(&self, msg: Message) {
        // A closed channel means the client is gone; the loop then ends.
        let _ = self.conn.sender.send(msg);
    }

    fn notification(&mut self, n: Notification) {
        match n.method.as_str() {
            "textDocument/didOpen" => {
                if let Ok(p) = n.extract::<DidOpenTextDocumentParams>("textDocument/didOpen") {
                    let d = p.text_document;
                    self.update(d.uri, d.version, d.text);
                }
            }
            "textDocument/didChange" => {
                if let Ok(p) = n.extract::<DidChangeTextDocumentParams>("textDocument/didChange") {
                    // Full sync: the last change holds the whole text.
                    let text = p.content_changes.into_iter().last().map(|c| match c {
                        TextDocumentContentChangeEvent::TextDocumentContentChangeWholeDocument(
                            w,
                        ) => w.text,
                        TextDocumentContentChangeEvent::TextDocumentContentChangePartial(p) => {
                            p.text
                        }
                    });
                    if let Some(text) = text {
                        let d = p.text_document;
                        self.update(d.text_document_identifier.uri, d.version, text);
                    }
                }
            }
            "textDocument/didClose" => {
                if let Ok(p) = n.extract::<DidCloseTextDocumentParams>("textDocument/didClose") {
                    let uri = p.text_document.uri;
                    self.docs.remove(&uri);
                    self.publish(uri, None, Vec::new());
                }
            }
            _ => {}
        }
    }

    /// A document's new text: checked, and its diagnostics published.
    fn update(&mut self, uri: Uri, version: i32, text: String) {
        let Some(path) = path_of(uri.as_ref()) else {
            return;
        };
        let analysis = analysis::analyse(&mut self.trees, &path, &text);
        let diagnostics = diagnostics(&text, &analysis);
        self.docs.insert(uri.clone(), Doc { text, analysis });
        self.publish(uri, Some(version), diagnostics);
    }

    fn publish(&self, uri: Uri, version: Option<i32>, diagnostics: Vec<Diagnostic>) {
        let params = PublishDiagnosticsParams {
            uri,
            version,
            diagnostics,
        };
        self.send(Message::Notification(Notification::new(
            "textDocument/publishDiagnostics".to_string(),
            params,
        )));
    }

    fn request(&mut self, req: Request) {
        let id = req.id.clone();
        let response = match req.method.as_str() {
            "textDocument/codeAction" => {
                match req.extract::<CodeActionParams>("textDocument/codeAction") {
                    Ok((id, p)) => Response::new_ok(id, self.code_actions(&p)),
                    Err(e) => Response::new_err(id, ErrorCode::InvalidParams as i32, e.to_string()),
                }
            }
            m => Response::new_err(
                id,
                ErrorCode::MethodNotFound as i32,
                format!("bvmig lsp does not answer {m}"),
            ),
        };
        self.send(Message::Response(response));
    }

    /// The quick fixes for the findings in the range asked about, one per
    /// edit, and the fix of the whole document.
    fn code_actions(&self, p: &CodeActionParams) -> Vec<CodeActionResponse> {
        let uri = &p.text_document.uri;
        let Some(doc) = self.docs.get(uri) else {
            return Vec::new();
        };
        let wanted = |kind: &CodeActionKind| {
            let kind = String::from(kind.clone());
            p.context.only.as_ref().is_none_or(|only| {
                only.iter().any(|o| {
                    let o = String::from(o.clone());
                    kind == o || kind.starts_with(&format!("{o}."))
                })
            })
        };
        let lines = Lines::new(&doc.text);
        let asked = lines.offset(p.range.start)..lines.offset(p.range.end);
        let mut out = Vec::new();
        let a = &doc.analysis;
        if wanted(&CodeActionKind::QuickFix) {
            let mut offered: Vec<analysis::Fix> = Vec::new();
            for f in &a.findings {
                let start = lines.offset_of(f.line, f.col);
                let end = lines.offset_of(f.line, f.end_col);
                // Overlapping, or touching as an empty range at a cursor.
                if start > asked.end || end < asked.start {
                    continue;
                }
                let Some(fixes) = analysis::fixes(&a.name, &doc.text, &[f]) else {
                    continue;
                };
                if fixes.iter().all(|x| offered.contains(x)) {
                    continue;
                }
                offered.extend(fixes.iter().cloned());
                // The diagnostics this edit resolves: every finding in it.
                let resolved: Vec<Diagnostic> = a
                    .findings
                    .iter()
                    .filter(|g| {
                        let o = lines.offset_of(g.line, g.col);
                        fixes.iter().any(|x| x.range.contains(&o))
                    })
                    .map(|g| diagnostic(&lines, g))
                    .collect();
                out.push(action(
                    format!("bvmig: {}", f.message()),
                    CodeActionKind::QuickFix,
                    resolved,
                    uri,
                    &lines,
                    &fixes,
                ));
            }
        }
        if wanted(&CodeActionKind::SourceFixAll) {
            let all: Vec<&_> = a.findings.iter().filter(|f| f.fixable()).collect();
            if let Some(fixes) = analysis::fixes(&a.name, &doc.text, &all) {
                let resolved = all.iter().map(|f| diagnostic(&lines, f)).collect();
                out.push(action(
                    format!("bvmig: convert the {} raw accesses of this file", all.len()),
                    CodeActionKind::SourceFixAll,
                    resolved,
                    uri,
                    &lines,
                    &fixes,
                ));
            }
        }
        out
    }
}

fn action(
    title: String,
    kind: CodeActionKind,
    diagnostics: Vec<Diagnostic>,
    uri: &Uri,
    lines: &Lines,
    fixes: &[analysis::Fix],
) -> CodeActionResponse {
    let edits = fixes
        .iter()
        .map(|x| TextEdit {
            range: Range {
                start: lines.position(x.range.start),
                end: lines.position(x.range.end),
            },
            new_text: x.text.clone(),
        })
        .collect();
    let preferred = kind == CodeActionKind::QuickFix;
    CodeActionResponse::CodeAction(CodeAction {
        title,
        kind: Some(kind),
        diagnostics: Some(diagnostics),
        is_preferred: Some(preferred),
        edit: Some(WorkspaceEdit {
            changes: Some(HashMap::from([(uri.clone(), edits)])),
            ..Default::default()
        }),
        ..Default::default()
    })
}

/// A finding as a diagnostic: the field name's range, `check`'s words.
fn diagnostic(lines: &Lines, f: &crate::check::Finding) -> Diagnostic {
    Diagnostic {
        range: Range {
            start: lines.position(lines.offset_of(f.line, f.col)),
            end: lines.position(lines.offset_of(f.line, f.end_col)),
        },
        severity: Some(DiagnosticSeverity::Warning),
        source: Some("bvmig".to_string()),
        message: format!("{}: {}", f.kind, f.message()).into(),
        ..Default::default()
    }
}

fn diagnostics(text: &str, a: &Analysis) -> Vec<Diagnostic> {
    let lines = Lines::new(text);
    let mut out: Vec<Diagnostic> = a.findings.iter().map(|f| diagnostic(&lines, f)).collect();
    if let Some(error) = &a.error {
        out.push(Diagnostic {
            severity: Some(DiagnosticSeverity::Error),
            source: Some("bvmig".to_string()),
            message: error.clone().into(),
            ..Default::default()
        });
    }
    out
}
