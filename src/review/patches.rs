//! A series of patches as developers exchange them: a bare diff (`git diff`,
//! `diff -u`), one mail, or an mbox of several (`git format-patch --stdout`,
//! a thread saved from a mailing list archive). Each patch is split into
//! files and hunks with their line numbers, context, added and removed lines.
//!
//! Mails are decoded with `mailparse` (folded and RFC 2047 subjects,
//! quoted-printable and base64 bodies, patches sent as attachments). Hunks
//! are read by their line counts, so that a mail's `-- ` signature after the
//! last hunk is not taken for a removed line.

use mailparse::MailHeaderMap;

use crate::diff::{self, FileDiff};

/// A problem reading a series.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SeriesError {
    /// A message could not be decoded.
    #[error("{input}: message {index}: {msg}")]
    Mail {
        /// The input's name.
        input: String,
        /// 1-based position of the message.
        index: usize,
        /// What went wrong.
        msg: String,
    },
    /// A hunk has fewer lines than its header says.
    #[error("{input}: patch {index}: {file}: hunk '{header}' ends after {got} of its lines; is the patch truncated or mangled by a mailer?")]
    Truncated {
        /// The input's name.
        input: String,
        /// 1-based position of the patch.
        index: usize,
        /// The file the hunk is in.
        file: String,
        /// The hunk's header.
        header: String,
        /// Lines found.
        got: usize,
    },
    /// Nothing in the input is a diff.
    #[error("{0}: no diff found (expected a patch, a mail or an mbox with `diff --git` or `---`/`+++` headers)")]
    NoDiff(String),
}

/// One patch of a series.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Patch {
    /// 1-based position in the input.
    pub index: usize,
    /// The mail's subject, or the input's name for a bare diff.
    pub subject: String,
    /// The decoded text that holds the diff (a mail's body).
    pub body: Vec<u8>,
    /// The files it changes.
    pub files: Vec<FileDiff>,
}

/// Reads `input` (named `name` in errors): an mbox, a mail or a bare diff.
/// Messages without a diff (a cover letter) are kept, with no files.
pub fn parse(name: &str, input: &[u8]) -> Result<Vec<Patch>, SeriesError> {
    let messages = split_mbox(input);
    let mut patches = Vec::new();
    for (i, msg) in messages.iter().enumerate() {
        let index = i + 1;
        let (subject, body) = if looks_like_mail(msg) {
            decode_mail(msg).map_err(|msg| SeriesError::Mail {
                input: name.to_string(),
                index,
                msg,
            })?
        } else {
            (name.to_string(), msg.to_vec())
        };
        let files = diff::read(&body).map_err(|t| SeriesError::Truncated {
            input: name.to_string(),
            index,
            file: t.file,
            header: t.header,
            got: t.got,
        })?;
        patches.push(Patch {
            index,
            subject,
            body,
            files,
        });
    }
    if patches.iter().all(|p| p.files.is_empty()) {
        return Err(SeriesError::NoDiff(name.to_string()));
    }
    Ok(patches)
}

/// Splits an mbox at its `From ` separator lines (at the start, or after an
/// empty line); anything else is one message.
fn split_mbox(input: &[u8]) -> Vec<&[u8]> {
    if !input.starts_with(b"From ") {
        return vec![input];
    }
    let mut starts = vec![0];
    let mut prev_empty = false;
    let mut at = 0;
    for line in input.split_inclusive(|&b| b == b'\n') {
        if at > 0 && prev_empty && line.starts_with(b"From ") {
            starts.push(at);
        }
        prev_empty = line == b"\n" || line == b"\r\n";
        at += line.len();
    }
    starts.push(input.len());
    starts.windows(2).map(|w| &input[w[0]..w[1]]).collect()
}

/// True when `msg` starts with an mbox separator or a mail header.
fn looks_like_mail(msg: &[u8]) -> bool {
    let first = msg.split(|&b| b == b'\n').next().unwrap_or(b"");
    if first.starts_with(b"From ") {
        return true;
    }
    let Some(colon) = first.iter().position(|&b| b == b':') else {
        return false;
    };
    colon > 0
        && first[..colon]
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || b == b'-')
        && !first.starts_with(b"diff")
        && !first.starts_with(b"Index")
}

/// The subject and the decoded text parts of a mail.
fn decode_mail(msg: &[u8]) -> Result<(String, Vec<u8>), String> {
    let msg = if msg.starts_with(b"From ") {
        let nl = msg
            .iter()
            .position(|&b| b == b'\n')
            .map_or(msg.len(), |p| p + 1);
        &msg[nl..]
    } else {
        msg
    };
    let mail = mailparse::parse_mail(msg).map_err(|e| e.to_string())?;
    let subject = mail
        .headers
        .get_first_value("Subject")
        .unwrap_or_default()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    let mut body = Vec::new();
    text_parts(&mail, &mut body)?;
    Ok((subject, body))
}

fn text_parts(part: &mailparse::ParsedMail, out: &mut Vec<u8>) -> Result<(), String> {
    if part.subparts.is_empty() {
        let m = &part.ctype.mimetype;
        if m.starts_with("text/") || m.ends_with("/x-patch") || m.ends_with("/x-diff") {
            // Line ends as `git am` reads mails (without --keep-cr):
            // quoted-printable decoding gives CRLF, the files have LF.
            let body = part.get_body_raw().map_err(|e| e.to_string())?;
            for line in body.split_inclusive(|&b| b == b'\n') {
                match line.strip_suffix(b"\r\n") {
                    Some(l) => {
                        out.extend_from_slice(l);
                        out.push(b'\n');
                    }
                    None => out.extend_from_slice(line),
                }
            }
            if !out.ends_with(b"\n") {
                out.push(b'\n');
            }
        }
        return Ok(());
    }
    part.subparts.iter().try_for_each(|p| text_parts(p, out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diff::Tag;

    const PATCH: &str = "From 1234567890abcdef1234567890abcdef12345678 Mon Sep 17 00:00:00 2001
From: A U Thor <a@u.thor>
Subject: [PATCH 1/2] block: use
 the helpers

Convert x.
---
 block/x.c | 3 ++-

diff --git a/block/x.c b/block/x.c
index 1..2 100644
--- a/block/x.c
+++ b/block/x.c
@@ -1,3 +1,4 @@ int f(void)
 a
-b
+c
+d

-- 
2.47.3

From 2234567890abcdef1234567890abcdef12345678 Mon Sep 17 00:00:00 2001
From: A U Thor <a@u.thor>
Subject: =?UTF-8?q?=5BPATCH=202/2=5D=20caf=C3=A9?=
Content-Transfer-Encoding: quoted-printable

diff --git a/new.c b/new.c
new file mode 100644
--- /dev/null
+++ b/new.c
@@ -0,0 +1 @@
+x =3D 1;
\\ No newline at end of file
";

    #[test]
    fn an_mbox_of_two_mails() {
        let s = parse("s.mbox", PATCH.as_bytes()).unwrap();
        assert_eq!(s.len(), 2);
        assert_eq!(s[0].subject, "[PATCH 1/2] block: use the helpers");
        assert_eq!(s[1].subject, "[PATCH 2/2] café");
        let h = &s[0].files[0].hunks[0];
        assert_eq!(s[0].files[0].new_path.as_deref(), Some("block/x.c"));
        assert_eq!((h.new_start, h.funcname.as_str()), (1, "int f(void)"));
        let tags: Vec<Tag> = h.lines.iter().map(|l| l.0).collect();
        assert_eq!(
            tags,
            [
                Tag::Context,
                Tag::Removed,
                Tag::Added,
                Tag::Added,
                Tag::Context
            ]
        );
        let f = &s[1].files[0];
        assert_eq!(
            (f.old_path.as_deref(), f.new_path.as_deref()),
            (None, Some("new.c"))
        );
        assert_eq!(f.hunks[0].lines, [(Tag::Added, b"x = 1;".to_vec())]);
    }

    #[test]
    fn a_bare_diff_and_errors() {
        let s = parse(
            "x.diff",
            b"--- x.c.orig\t2024-01-01\n+++ x.c\t2024-01-02\n@@ -1 +1 @@\n-a\n+b\n",
        )
        .unwrap();
        assert_eq!(s[0].subject, "x.diff");
        assert_eq!(s[0].files[0].new_path.as_deref(), Some("x.c"));
        let e = parse("t.diff", b"--- a/x.c\n+++ b/x.c\n@@ -1,3 +1,3 @@\n a\n").unwrap_err();
        assert_eq!(
            e.to_string(),
            "t.diff: patch 1: x.c: hunk '@@ -1,3 +1,3 @@' ends after 1 of its lines; is the patch truncated or mangled by a mailer?"
        );
        assert!(matches!(
            parse("n.txt", b"hello\n"),
            Err(SeriesError::NoDiff(_))
        ));
    }
}
