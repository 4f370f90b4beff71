//! The cover letter: what the series does, why, what it leaves for a
//! human, and its patches with their subsystems and recipients.
//!
//! **Who gets the cover letter.** Each patch goes to the people and lists
//! of its own files; the cover letter, which explains them all, goes to
//! every list those patches go to, but only to the maintainers of the
//! whole: the `M:` of the entries that cover every file the series
//! changes, and of the entry that owns the header the helpers go into
//! (the API every patch builds on). A subsystem's maintainers and
//! reviewers see their patch and find the rest on their lists, so a
//! treewide series does not send one header of a hundred addresses.

use std::fmt::Write as _;

use super::grouping::Group;
use super::text::{call_list, left_lines, plural, why, wrap};
use super::{format, merge_addrs, Input, Options, OutFile, Planned, SourceFile};
use crate::diff;
use crate::engine::site::Status;
use crate::mail::format::Mail;

/// The widest subsystem title in the cover letter's table.
pub(super) const TITLE_MAX: usize = 36;

pub(super) fn cover_letter(
    input: &Input,
    opts: &Options,
    groups: &[Group],
    planned: &[Planned],
) -> OutFile {
    let n = planned.len();
    let calls: Vec<String> = input
        .rule
        .calls
        .iter()
        .filter(|c| planned.iter().any(|p| p.calls.contains(c)))
        .cloned()
        .collect();
    let fields = input.rule.fields.join(", ");
    let subject = if calls.is_empty() {
        format!("Convert the accesses of {fields}")
    } else {
        format!("Use {} for struct bio_vec's page", call_list(&calls))
    };
    let mut body = wrap(&if calls.is_empty() {
        format!("This series converts the accesses of {fields} with the semantic patch each patch quotes.")
    } else {
        format!(
            "This series routes the accesses of struct bio_vec's {fields} field through {}.",
            call_list(&calls)
        )
    });
    body.push('\n');
    body.push_str(&wrap(&why(&input.rule.fields, &calls)));
    body.push('\n');
    let n_groups = planned.iter().filter(|p| p.group.is_some()).count();
    let grouped_by = if input.maintainers.is_some() {
        "MAINTAINERS groups"
    } else {
        "their directories group"
    };
    if input.helpers.is_some() {
        body.push_str(&wrap(&format!(
            "Patch 1 adds the helpers to {}; each of the other {} converts one subsystem, as {} the files, and builds on top of patch 1 alone, so they can go through different trees.",
            input.helpers.as_ref().map_or("", |h| h.name.as_str()),
            plural(n_groups, "patch", "patches"),
            grouped_by,
        )));
    } else {
        body.push_str(&wrap(&format!(
            "Each patch converts one subsystem, as {} the files; they do not depend on each other.",
            grouped_by
        )));
    }
    if !input.helpers_left_out.is_empty() {
        body.push('\n');
        body.push_str(&wrap(&format!(
            "The tree lacks {}, which this series does not add: it does not build as it is.",
            call_list(&input.helpers_left_out)
        )));
    }

    // Sites per subsystem.
    body.push('\n');
    body.push_str("Sites per subsystem:\n\n");
    struct Row {
        order: Option<usize>,
        patch: String,
        title: String,
        files: usize,
        rewritten: usize,
        left: usize,
    }
    let mut rows: Vec<Row> = Vec::new();
    for (gi, g) in groups.iter().enumerate() {
        let files: Vec<&SourceFile> = g.files.iter().map(|&i| &input.files[i]).collect();
        let sites = files.iter().flat_map(|f| f.sites.iter());
        let rewritten = sites
            .clone()
            .filter(|s| s.status == Status::Rewritten)
            .count();
        let left = sites.filter(|s| s.status != Status::Rewritten).count();
        let order = planned.iter().position(|p| p.group == Some(gi));
        let patch = order.map_or("-".to_string(), |i| format!("{}/{n}", i + 1));
        let title = if g.from_maintainers {
            g.title.clone()
        } else {
            format!("{} (no MAINTAINERS entry)", g.title)
        };
        // Long MAINTAINERS titles are cut so that rows fit a mail.
        let title = if title.chars().count() > TITLE_MAX {
            let cut: String = title.chars().take(TITLE_MAX - 3).collect();
            format!("{}...", cut.trim_end())
        } else {
            title
        };
        rows.push(Row {
            order,
            patch,
            title,
            files: files.len(),
            rewritten,
            left,
        });
    }
    // Patches in order, then the subsystems without one.
    rows.sort_by_key(|r| (r.order.is_none(), r.order));
    let total = Row {
        order: None,
        patch: String::new(),
        title: "total".to_string(),
        files: rows.iter().map(|r| r.files).sum(),
        rewritten: rows.iter().map(|r| r.rewritten).sum(),
        left: rows.iter().map(|r| r.left).sum(),
    };
    let title_w = rows
        .iter()
        .map(|r| r.title.chars().count())
        .chain([9])
        .max()
        .unwrap_or(9);
    let _ = writeln!(
        body,
        "  {:<6} {:<title_w$}  {:>5}  {:>9}  {:>4}",
        "patch", "subsystem", "files", "rewritten", "left"
    );
    for r in rows.iter().chain([&total]) {
        let _ = writeln!(
            body,
            "  {:<6} {:<title_w$}  {:>5}  {:>9}  {:>4}",
            r.patch, r.title, r.files, r.rewritten, r.left
        );
    }

    let all: Vec<&SourceFile> = input.files.iter().collect();
    let left = left_lines(&all);
    body.push('\n');
    if left.is_empty() {
        body.push_str("No access is left for a human.\n");
    } else {
        body.push_str(&wrap(&format!(
            "Left for a human ({}), with the reason (lines as in the tree before the series):",
            left.len()
        )));
        body.push('\n');
        for l in &left {
            let _ = writeln!(body, "  {l}");
        }
    }
    body.push('\n');
    body.push_str(&wrap(&format!(
        "Generated with {} and the semantic patch {}, which each patch quotes.",
        opts.version, input.rule.name
    )));

    // The shortlog and the diffstat of the whole series.
    let name = opts
        .stamp
        .who
        .rsplit_once('<')
        .map_or(opts.stamp.who.as_str(), |(n, _)| n.trim())
        .trim_matches('"');
    let _ = writeln!(body, "\n{name} ({n}):");
    for p in planned {
        let _ = writeln!(body, "  {}", p.subject);
    }
    let mut whole = Vec::new();
    let header_name = input.helpers.as_ref().map(|h| h.name.as_str());
    for f in &input.files {
        let original = match &input.helpers {
            Some(h) if Some(f.name.as_str()) == header_name => &h.before,
            _ => &f.before,
        };
        diff::unified(&f.name, original, &f.after, &mut whole);
    }
    if let Some(h) = &input.helpers {
        if !input.files.iter().any(|f| f.name == h.name) {
            diff::unified(&h.name, &h.before, &h.after, &mut whole);
        }
    }
    let mut stats = format::stat(&whole);
    stats.sort_by(|a, b| a.name.cmp(&b.name));
    body.push('\n');
    body.push_str(&format::diffstat(&stats));
    if let Some(base) = opts.base {
        // As format-patch writes it: two blank lines after the diffstat.
        let _ = writeln!(body, "\n\nbase-commit: {base}");
    }

    let cc = merge_addrs(opts.cc, &cover_cc(input, planned), opts.to);
    let full = format!(
        "[{} {}] {subject}",
        opts.subject_prefix,
        super::numbered(0, n)
    );
    let bytes = format::render(&Mail {
        stamp: opts.stamp,
        subject: &full,
        in_reply_to: opts.in_reply_to,
        to: opts.to,
        cc: &cc,
        message: &body,
        diff: &[],
        signature: opts.version,
    });
    OutFile {
        name: format::file_name(opts.reroll, 0, "cover letter"),
        subject,
        bytes,
    }
}

/// The cover letter's Cc (see the module's documentation): the
/// maintainers of the whole, then every list of the patches.
fn cover_cc(input: &Input, planned: &[Planned]) -> Vec<String> {
    let Some(m) = input.maintainers else {
        return Vec::new();
    };
    let all: Vec<&str> = planned
        .iter()
        .flat_map(|p| p.names.iter().map(String::as_str))
        .collect();
    let mut people = m.maintainers_of_all(&all);
    if let Some(h) = &input.helpers {
        people = merge_addrs(&people, &m.maintainers_of_all(&[h.name.as_str()]), &[]);
    }
    merge_addrs(&people, &m.lists(&all), &[])
}
