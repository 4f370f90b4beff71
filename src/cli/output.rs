//! What the commands share on output: the `--format` choice, writing a
//! report in it, colour (`--color`), the summary on stderr, and the exit
//! status (grep's: 0 clean, 1 found, 2 error).

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::process::ExitCode;

use anstyle::{AnsiColor, Style};

use crate::check::report::{self, Report};
use crate::check::sarif;
use crate::engine::site::Kind;

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
    /// The kernel test robot's lines, as Coccinelle's report mode prints
    /// them: `file:line:col-col: WARNING: ...` (0-based byte columns).
    Lkp,
    /// One line per finding for b4's per-patch checks
    /// (`prep-perpatch-check-cmd`): `file:line: WARNING: ...`; nothing
    /// else on stdout or stderr.
    B4,
}

/// When to colour what bvmig writes (`--color`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub(super) enum ColorWhen {
    /// When the output is a terminal and NO_COLOR is not set.
    #[default]
    Auto,
    /// Always, even into a pipe or a file.
    Always,
    /// Never.
    Never,
}

/// Sets the colour choice for the whole run (anstream's global choice,
/// which also reads NO_COLOR, CLICOLOR and CLICOLOR_FORCE in `auto`).
pub(super) fn set_color(when: ColorWhen) {
    anstream::ColorChoice::write_global(match when {
        ColorWhen::Auto => anstream::ColorChoice::Auto,
        ColorWhen::Always => anstream::ColorChoice::Always,
        ColorWhen::Never => anstream::ColorChoice::Never,
    });
}

/// True when what goes to stdout is coloured.
pub(super) fn color_stdout() -> bool {
    anstream::AutoStream::choice(&io::stdout()) != anstream::ColorChoice::Never
}

/// True when what goes to stderr is coloured.
pub(super) fn color_stderr() -> bool {
    anstream::AutoStream::choice(&io::stderr()) != anstream::ColorChoice::Never
}

const LOCATION: Style = Style::new().bold();
const WARNING: Style = Style::new()
    .bold()
    .fg_color(Some(anstyle::Color::Ansi(AnsiColor::Magenta)));
const ERROR: Style = Style::new()
    .bold()
    .fg_color(Some(anstyle::Color::Ansi(AnsiColor::Red)));
const NOTE: Style = Style::new()
    .bold()
    .fg_color(Some(anstyle::Color::Ansi(AnsiColor::Cyan)));
const KIND: Style = Style::new()
    .bold()
    .fg_color(Some(anstyle::Color::Ansi(AnsiColor::Yellow)));

/// `text` with its report lines coloured as compilers colour theirs: the
/// `file:line:col:` bold, `warning:` magenta, `error:` red, `note:` cyan,
/// the kind of use yellow. Other lines are kept as they are.
pub(super) fn paint(text: &[u8]) -> Vec<u8> {
    static RE: std::sync::LazyLock<regex::bytes::Regex> = std::sync::LazyLock::new(|| {
        regex::bytes::Regex::new(
            r"^(?P<loc>[^\s:][^:\n]*:\d+:\d+:)(?: (?P<level>warning|error|note):)?(?: (?P<kind>[a-z][a-z-]*):)?",
        )
        .expect("a valid regex")
    });
    let mut out = Vec::with_capacity(text.len() + text.len() / 4);
    for line in text.split_inclusive(|&b| b == b'\n') {
        let Some(c) = RE.captures(line) else {
            out.extend_from_slice(line);
            continue;
        };
        let styled = |out: &mut Vec<u8>, style: Style, bytes: &[u8]| {
            let _ = write!(out, "{style}");
            out.extend_from_slice(bytes);
            let _ = write!(out, "{style:#}");
        };
        let loc = c.name("loc").expect("always there");
        styled(&mut out, LOCATION, loc.as_bytes());
        let mut end = loc.end();
        if let Some(level) = c.name("level") {
            let style = match level.as_bytes() {
                b"error" => ERROR,
                b"note" => NOTE,
                _ => WARNING,
            };
            out.push(b' ');
            styled(&mut out, style, &line[level.start()..level.end() + 1]);
            end = level.end() + 1;
        }
        if let Some(kind) = c.name("kind") {
            out.push(b' ');
            styled(&mut out, KIND, &line[kind.start()..kind.end() + 1]);
            end = kind.end() + 1;
        }
        out.extend_from_slice(&line[end..]);
    }
    out
}

/// `bvmig: error: msg` or `bvmig: note: msg`, the level coloured when
/// stderr is.
pub(super) fn diagnostic(level: &str, msg: &str) -> String {
    if color_stderr() {
        let style = if level == "error" { ERROR } else { NOTE };
        format!("bvmig: {style}{level}:{style:#} {msg}")
    } else {
        format!("bvmig: {level}: {msg}")
    }
}

/// `report` in `format`, as bytes; text is coloured when stdout and
/// stderr both are (`check --fix` writes it to stderr).
pub(super) fn render(format: Format, report: &Report) -> Vec<u8> {
    let mut out = Vec::new();
    let res = match format {
        Format::Text => report::text(&mut out, report.findings, report.notes),
        Format::Github => report::github(&mut out, report.findings, report.notes),
        Format::Lkp => report::lkp(&mut out, report.findings),
        Format::B4 => report::b4(&mut out, report.findings),
        Format::Json => report::json(&mut out, report),
        Format::Sarif => serde_json::to_writer_pretty(&mut out, &sarif::log(report))
            .map_err(io::Error::from)
            .and_then(|()| writeln!(out)),
    };
    res.expect("writing to memory does not fail");
    if format == Format::Text && color_stdout() && color_stderr() {
        out = paint(&out);
    }
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
        let _ = writeln!(err, "{}", diagnostic("error", e));
    }
    if !errors.is_empty() {
        ExitCode::from(2)
    } else if n_found > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_lines_are_painted_and_others_kept() {
        let text = b"block/bio.c:3:14: warning: read: use bvec_page(bv)\nblock/bio.c:3:14: note: added in 123 (\"x: y\") by A\nlib/x.c:9:2: address: its address is taken\nbvmig: 2 files\n";
        let painted = String::from_utf8(paint(text)).unwrap();
        let b = "\x1b[1m";
        let r = "\x1b[0m";
        assert_eq!(
            painted,
            format!(
                "{b}block/bio.c:3:14:{r} \x1b[1m\x1b[35mwarning:{r} \x1b[1m\x1b[33mread:{r} use bvec_page(bv)\n\
                 {b}block/bio.c:3:14:{r} \x1b[1m\x1b[36mnote:{r} added in 123 (\"x: y\") by A\n\
                 {b}lib/x.c:9:2:{r} \x1b[1m\x1b[33maddress:{r} its address is taken\n\
                 bvmig: 2 files\n"
            )
        );
        // Without the escapes, the text is unchanged.
        let plain = regex::Regex::new("\x1b\\[[0-9;]*m")
            .unwrap()
            .replace_all(&painted, "");
        assert_eq!(plain.as_bytes(), text);
    }
}
