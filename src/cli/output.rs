//! What `check` and `review` share on output: the `--format` choice, writing
//! a report in it, the summary on stderr, and the exit status (grep's: 0
//! clean, 1 found, 2 error).

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::process::ExitCode;

use crate::report::{self, Report};
use crate::sarif;
use crate::site::Kind;

/// How findings are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(super) enum Format {
    /// `file:line:col: warning: kind: what to use instead`, as compilers write.
    Text,
    /// One JSON document (schema: docs/check-json.md).
    Json,
    /// SARIF 2.1.0, for code-scanning services.
    Sarif,
    /// GitHub workflow annotations (`::warning file=…,line=…::…`).
    Github,
}

/// `report` in `format`, as bytes.
pub(super) fn render(format: Format, report: &Report) -> Vec<u8> {
    let mut out = Vec::new();
    let res = match format {
        Format::Text => report::text(&mut out, report.findings),
        Format::Github => report::github(&mut out, report.findings),
        Format::Json => report::json(&mut out, report),
        Format::Sarif => serde_json::to_writer_pretty(&mut out, &sarif::log(report))
            .map_err(io::Error::from)
            .and_then(|()| writeln!(out)),
    };
    res.expect("writing to memory does not fail");
    out
}

/// Writes `bytes` to stdout; a closed pipe is not an error.
pub(super) fn to_stdout(bytes: &[u8], errors: &mut Vec<String>) {
    let res = io::stdout()
        .lock()
        .write_all(bytes)
        .and_then(|()| io::stdout().flush());
    if let Err(e) = res {
        if e.kind() != io::ErrorKind::BrokenPipe {
            errors.push(format!("<stdout>: {e}"));
        }
    }
}

/// `N raw accesses: 2 read, 1 address (2 with a replacement)`.
pub(super) fn count_line(report: &Report) -> String {
    let mut by_kind: BTreeMap<Kind, usize> = BTreeMap::new();
    for f in report.findings {
        *by_kind.entry(f.kind).or_default() += 1;
    }
    let n = report.findings.len();
    if n == 0 {
        return "no raw access left".to_string();
    }
    let kinds: Vec<String> = by_kind.iter().map(|(k, n)| format!("{n} {k}")).collect();
    let fixable = report.findings.iter().filter(|f| f.fixable()).count();
    format!(
        "{n} raw access{}: {} ({fixable} with a replacement)",
        if n == 1 { "" } else { "es" },
        kinds.join(", ")
    )
}

/// Prints `errors` on stderr and returns the exit status.
pub(super) fn finish(errors: &[String], n_found: usize) -> ExitCode {
    let stderr = io::stderr();
    let mut err = stderr.lock();
    for e in errors {
        let _ = writeln!(err, "bvmig: error: {e}");
    }
    if !errors.is_empty() {
        ExitCode::from(2)
    } else if n_found > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}
