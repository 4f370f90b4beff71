//! SARIF 2.1.0 output, built with `serde-sarif`'s types (generated from the
//! published schema): one run, one reporting rule per kind of use, one
//! result per finding with its fix when the engine has one, and a partial
//! fingerprint from the baseline key so that code-scanning services track a
//! site across line moves as a baseline does.
//!
//! Columns are Unicode code points (`columnKind: unicodeCodePoints`), counted
//! on the finding's line; file names are relative URIs under `%SRCROOT%`.

use std::collections::BTreeMap;

use percent_encoding::{utf8_percent_encode, AsciiSet, CONTROLS};
use serde_sarif::sarif::{
    ArtifactChange, ArtifactContent, ArtifactLocation, Fix, Location, Message,
    MultiformatMessageString, PhysicalLocation, PropertyBag, Region, Replacement,
    ReportingDescriptor, Result as SarifResult, ResultLevel, Run, Sarif, Tool, ToolComponent,
};

use crate::check::baseline::Key;
use crate::check::report::Report;
use crate::check::{Advice, Finding, Level};
use crate::engine::site::Kind;
use crate::git::Origin;

/// The schema the log declares.
pub const SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";

/// Bytes a URI path may not hold as they are (RFC 3986: everything but
/// unreserved characters, sub-delimiters, `:`, `@` and `/`).
const URI_PATH: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'[')
    .add(b'\\')
    .add(b']')
    .add(b'^')
    .add(b'`')
    .add(b'{')
    .add(b'|')
    .add(b'}');

const KINDS: &[Kind] = &[
    Kind::Read,
    Kind::Write,
    Kind::Address,
    Kind::Increment,
    Kind::Decrement,
    Kind::Compound,
    Kind::LvalueMacro,
    Kind::AsmOperand,
    Kind::Initializer,
    Kind::Offsetof,
    Kind::Declaration,
    Kind::Identifier,
    Kind::Directive,
    Kind::Unparsed,
    Kind::MacroUnparsed,
    Kind::Spliced,
    Kind::Match,
];

/// What a finding of `kind` is, for the SARIF rule that describes it.
fn full_description(kind: Kind) -> String {
    let what = match kind {
        Kind::Match => "A match of a rule that tracks no field".to_string(),
        k => {
            let name = k.as_str();
            let article = if name.starts_with(['a', 'e', 'i', 'o', 'u']) {
                "An"
            } else {
                "A"
            };
            format!("{article} {name} of the tracked field outside its helpers")
        }
    };
    format!(
        "{what}. When the rule rewrites this form, the result carries the replacement as a fix; \
         otherwise, for example: {}.",
        kind.default_reason()
    )
}

fn rule_id(kind: Kind) -> String {
    format!("raw-access/{kind}")
}

fn text_message(text: impl Into<String>) -> Message {
    Message::builder().text(text.into()).build()
}

/// 1-based code-point column of 1-based byte column `col` in `line`.
fn char_col(line: &str, col: usize) -> i64 {
    let byte = col.saturating_sub(1).min(line.len());
    let prefix = line.get(..byte).map_or(byte, |p| p.chars().count());
    prefix as i64 + 1
}

/// A column on the finding's own line in code points; elsewhere the byte
/// column (kernel code is ASCII but for comments and strings).
fn column(f: &Finding, line: usize, col: usize) -> i64 {
    if line == f.line {
        char_col(&f.line_text, col)
    } else {
        col as i64
    }
}

fn artifact(file: &str) -> ArtifactLocation {
    ArtifactLocation::builder()
        .uri(utf8_percent_encode(file, URI_PATH).to_string())
        .uri_base_id("%SRCROOT%")
        .build()
}

fn result(f: &Finding, rule_index: usize) -> SarifResult {
    let region = Region::builder()
        .start_line(f.line as i64)
        .start_column(column(f, f.line, f.col))
        .end_line(f.line as i64)
        .end_column(column(f, f.line, f.end_col))
        .snippet(ArtifactContent::builder().text(f.line_text.clone()).build())
        .build();
    let location = Location::builder()
        .physical_location(
            PhysicalLocation::builder()
                .artifact_location(artifact(&f.file))
                .region(region)
                .build(),
        )
        .build();
    let key = Key::of(f);
    let mut fingerprints = BTreeMap::new();
    fingerprints.insert(
        "bvmigKey/v1".to_string(),
        format!("{}|{}|{}|{}", key.file, key.function, key.kind, key.text),
    );
    let mut props = BTreeMap::new();
    if let Some(function) = &f.function {
        props.insert("function".to_string(), function.clone().into());
    }
    match &f.origin {
        Some(Origin::Commit {
            id,
            author,
            email,
            subject,
        }) => {
            props.insert("commit".into(), id.clone().into());
            props.insert("author".into(), format!("{author} <{email}>").into());
            props.insert("subject".into(), subject.clone().into());
        }
        Some(Origin::Uncommitted) => {
            props.insert("commit".into(), serde_json::Value::Null);
        }
        None => {}
    }
    if let Some(p) = &f.patch {
        props.insert("patch".into(), p.index.into());
        props.insert("patchSubject".into(), p.subject.clone().into());
        props.insert("patchMessageId".into(), p.message_id.clone().into());
    }
    let mut message = f.message();
    if let Some(o) = &f.origin {
        message.push_str(&format!(" ({})", o.describe()));
    }
    let base = SarifResult::builder()
        .rule_id(rule_id(f.kind))
        .rule_index(rule_index as i64)
        .level(match f.level() {
            Level::Note => ResultLevel::Note,
            Level::Warning | Level::Error => ResultLevel::Warning,
        })
        .message(text_message(message))
        .locations(vec![location])
        .partial_fingerprints(fingerprints)
        .properties(PropertyBag::builder().additional_properties(props).build());
    match &f.advice {
        Advice::Replace(r) => {
            let deleted = Region::builder()
                .start_line(r.start.0 as i64)
                .start_column(column(f, r.start.0, r.start.1))
                .end_line(r.end.0 as i64)
                .end_column(column(f, r.end.0, r.end.1))
                .build();
            let fix = Fix::builder()
                .description(text_message(format!("use {}", r.text)))
                .artifact_changes(vec![ArtifactChange::builder()
                    .artifact_location(artifact(&f.file))
                    .replacements(vec![Replacement::builder()
                        .deleted_region(deleted)
                        .inserted_content(ArtifactContent::builder().text(r.text.clone()).build())
                        .build()])
                    .build()])
                .build();
            base.fixes(vec![fix]).build()
        }
        Advice::Left(_) => base.build(),
    }
}

/// The SARIF log of `report`.
pub fn log(report: &Report) -> Sarif {
    let rules: Vec<ReportingDescriptor> = KINDS
        .iter()
        .map(|&k| {
            ReportingDescriptor::builder()
                .id(rule_id(k))
                .name(format!("raw-{}", k.as_str()))
                .short_description(
                    MultiformatMessageString::builder()
                        .text(format!("a raw access of the field ({k})"))
                        .build(),
                )
                .full_description(
                    MultiformatMessageString::builder()
                        .text(full_description(k))
                        .build(),
                )
                .build()
        })
        .collect();
    let results: Vec<SarifResult> = report
        .findings
        .iter()
        .chain(report.notes)
        .map(|f| {
            let idx = KINDS.iter().position(|&k| k == f.kind).unwrap_or(0);
            result(f, idx)
        })
        .collect();
    let driver = ToolComponent::builder()
        .name(env!("CARGO_PKG_NAME"))
        .version(env!("CARGO_PKG_VERSION"))
        .semantic_version(env!("CARGO_PKG_VERSION"))
        .rules(rules)
        .build();
    let mut props = BTreeMap::new();
    props.insert("command".to_string(), report.command.into());
    props.insert("rule".to_string(), report.rule.into());
    if let Some(since) = report.since {
        props.insert("since".to_string(), since.into());
    }
    props.insert("allowed".to_string(), report.n_allowed.into());
    props.insert("baselined".to_string(), report.n_accepted.into());
    let run = Run::builder()
        .tool(Tool::builder().driver(driver).build())
        .column_kind(serde_json::Value::from("unicodeCodePoints"))
        .results(results)
        .properties(PropertyBag::builder().additional_properties(props).build())
        .build();
    Sarif::builder()
        .schema(SCHEMA)
        .version(serde_json::Value::from("2.1.0"))
        .runs(vec![run])
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_count_code_points_and_uris_are_encoded() {
        assert_eq!(char_col("\tp = x->bv_page;", 9), 9);
        assert_eq!(char_col("/* é */ x->bv_page", 13), 12);
        assert_eq!(
            utf8_percent_encode("dir with space/a#b.c", URI_PATH).to_string(),
            "dir%20with%20space/a%23b.c"
        );
    }
}
