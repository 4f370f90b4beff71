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
    /// The mail's `Message-Id`, without its angle brackets; `None` for a
    /// bare diff or a mail without one.
    pub message_id: Option<String>,
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
        let (subject, message_id, body) = if looks_like_mail(msg) {
            decode_mail(msg).map_err(|msg| SeriesError::Mail {
                input: name.to_string(),
                index,
                msg,
            })?
        } else {
            (name.to_string(), None, msg.to_vec())
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
            message_id,
            body,
            files,
        });
    }
    if patches.iter().all(|p| p.files.is_empty()) {
        return Err(SeriesError::NoDiff(name.to_string()));
    }
    Ok(patches)
}

/// Splits an mbox as `git mailsplit` (and so `git am`) does: leading
/// white space is dropped; when the first line is an mbox `From ` line
/// ([`is_from_line`]), every such line starts a message, with or without an
/// empty line before it (a base64 part often ends without one); otherwise
/// the input is one message. `>From ` lines are left as they are (mboxo,
/// git's default).
fn split_mbox(input: &[u8]) -> Vec<&[u8]> {
    // C's isspace(), which counts a vertical tab.
    let start = input
        .iter()
        .position(|&b| !matches!(b, b' ' | b'\t' | b'\n' | b'\x0b' | b'\x0c' | b'\r'))
        .unwrap_or(input.len());
    let input = &input[start..];
    let first = input.split_inclusive(|&b| b == b'\n').next().unwrap_or(b"");
    if !is_from_line(first) {
        return vec![input];
    }
    let mut starts = vec![0];
    let mut at = 0;
    for line in input.split_inclusive(|&b| b == b'\n') {
        if at > 0 && is_from_line(line) {
            starts.push(at);
        }
        at += line.len();
    }
    starts.push(input.len());
    starts.windows(2).map(|w| &input[w[0]..w[1]]).collect()
}

/// `git mailsplit`'s test for an mbox separator (builtin/mailsplit.c,
/// `is_from_line`), `line` with its newline: at least 20 bytes, `From `,
/// then a colon (the last one, not in the line's last byte) with digits
/// at -4, -2, -1, +1 and +2 from it (a time, `12:34:56`), and a number
/// after `:SS` above 90 (a year).
fn is_from_line(line: &[u8]) -> bool {
    if line.len() < 20 || !line.starts_with(b"From ") {
        return false;
    }
    // Git scans back from the byte before the last one for a colon that
    // lies after "From ".
    let Some(colon) = line[5..line.len() - 2]
        .iter()
        .rposition(|&b| b == b':')
        .map(|c| c + 5)
    else {
        return false;
    };
    let digit = |i: usize| line.get(i).is_some_and(u8::is_ascii_digit);
    let digits_ok = colon >= 4
        && digit(colon - 4)
        && digit(colon - 2)
        && digit(colon - 1)
        && digit(colon + 1)
        && digit(colon + 2);
    digits_ok && strtol(line.get(colon + 3..).unwrap_or(b"")) > 90
}

/// C's `strtol(s, NULL, 10)`: leading white space, a sign, decimal digits;
/// 0 when there are none, saturating as strtol does.
fn strtol(s: &[u8]) -> i64 {
    let mut i = s
        .iter()
        .take_while(|&&b| matches!(b, b' ' | b'\t' | b'\n' | b'\x0b' | b'\x0c' | b'\r'))
        .count();
    let neg = match s.get(i) {
        Some(b'-') => {
            i += 1;
            true
        }
        Some(b'+') => {
            i += 1;
            false
        }
        _ => false,
    };
    let mut n: i64 = 0;
    while let Some(d) = s.get(i).filter(|b| b.is_ascii_digit()) {
        n = n.saturating_mul(10).saturating_add(i64::from(d - b'0'));
        i += 1;
    }
    if neg {
        -n
    } else {
        n
    }
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

/// The subject, the `Message-Id` and the decoded text parts of a mail.
fn decode_mail(msg: &[u8]) -> Result<(String, Option<String>, Vec<u8>), String> {
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
    // `<id@host>` as the header has it; the id is what lore's and
    // patchwork's URLs use.
    let message_id = mail
        .headers
        .get_first_value("Message-Id")
        .map(|v| {
            v.trim()
                .trim_start_matches('<')
                .trim_end_matches('>')
                .trim()
                .to_string()
        })
        .filter(|v| !v.is_empty());
    let mut body = Vec::new();
    text_parts(&mail, &mut body)?;
    Ok((subject, message_id, body))
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

    /// The messages `git mailsplit --keep-cr -b` makes of `mbox`.
    fn git_mailsplit(mbox: &[u8]) -> Vec<Vec<u8>> {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("in.mbox");
        std::fs::write(&file, mbox).unwrap();
        let out_dir = dir.path().join("out");
        std::fs::create_dir(&out_dir).unwrap();
        let out = std::process::Command::new("git")
            .arg("mailsplit")
            .arg("--keep-cr")
            .arg("-b")
            .arg(format!("-o{}", out_dir.display()))
            .arg(&file)
            .output()
            .expect("git runs");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let n: usize = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap();
        (1..=n)
            .map(|i| std::fs::read(out_dir.join(format!("{i:04}"))).unwrap())
            .collect()
    }

    fn show(msgs: &[Vec<u8>]) -> Vec<String> {
        msgs.iter()
            .map(|m| String::from_utf8_lossy(m).into_owned())
            .collect()
    }

    const FROM: &str = "From 1234567890abcdef1234567890abcdef12345678 Mon Sep 17 00:00:00 2001\n";

    /// A mail with a base64 text part whose last line runs into what
    /// follows, with line ends `nl`.
    fn base64_mail(subject: &str, nl: &str) -> String {
        let body = "diff --git a/x.c b/x.c\n--- a/x.c\n+++ b/x.c\n@@ -1 +1 @@\n-a\n+b\n";
        let b64 = base64(body.as_bytes());
        let b64: Vec<&str> = b64
            .as_bytes()
            .chunks(76)
            .map(|c| std::str::from_utf8(c).unwrap())
            .collect();
        let b64 = b64.join("\n");
        format!(
            "{FROM}From: A <a@b>\nSubject: {subject}\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"XX\"\n\n--XX\nContent-Type: text/plain\n\nsee the patch\n--XX\nContent-Type: text/x-patch\nContent-Transfer-Encoding: base64\n\n{b64}\n--XX--\n"
        )
        .replace('\n', nl)
    }

    fn base64(bytes: &[u8]) -> String {
        const T: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let mut out = String::new();
        for c in bytes.chunks(3) {
            let n = (u32::from(c[0]) << 16)
                | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
                | u32::from(*c.get(2).unwrap_or(&0));
            for k in 0..4 {
                if k <= c.len() {
                    out.push(T[(n >> (18 - 6 * k) & 63) as usize] as char);
                } else {
                    out.push('=');
                }
            }
        }
        out
    }

    #[test]
    fn mboxes_split_as_git_mailsplit_splits_them() {
        let plain = |s: &str| format!("{FROM}From: A <a@b>\nSubject: {s}\n\nbody\n");
        let mut shapes: Vec<String> = vec![
            // A base64 part ends right before the next From line.
            base64_mail("one", "\n") + &base64_mail("two", "\n"),
            base64_mail("one", "\r\n") + &base64_mail("two", "\r\n"),
            // Quoted and unquoted From lines in a body.
            plain("q")
                + ">From 1234 Mon Sep 17 00:00:00 2001\nFrom the start, this was\n"
                + &plain("r"),
            // A body line that git takes for a separator.
            plain("s") + "\nFrom me Mon Sep 17 10:20:30 2001\nhi\n",
            // Not separators: a year of 90 or less, too short, no time.
            plain("t") + "From x Mon Sep 17 00:00:00 1990\nFrom a 1:23 99\nFrom x y z 2001 aaaa\n",
            // Leading white space, CRLF, no final newline.
            "\n \r\n".to_string() + &plain("u").replace('\n', "\r\n") + &plain("v"),
            plain("w") + plain("x").trim_end(),
            // Bare mails and diffs.
            "From: A <a@b>\nSubject: bare\n\n".to_string() + FROM,
            "--- a/x.c\n+++ b/x.c\n@@ -1 +1 @@\n-a\n+b\n".to_string(),
            "From x\n".to_string() + FROM,
        ];
        // Shuffled lines of all kinds, with a small fixed generator.
        let pool = [
            FROM,
            "\n",
            "\r\n",
            "body\n",
            ">From me Mon Sep 17 00:00:00 2001\n",
            "From me Mon Sep 17 00:00:00 1970\n",
            "From  Sun Jan  1 0:00:00 99999999999999999999999\n",
            "From : 12:34:56 2001\n",
            "From 00:00:00 -2001\n",
            "From ab:cd:ef 2001 and more\n",
            "From x Mon Sep 17 00:00:00 2001\r\n",
            "From é Mon Sep 17 00:00:00 2001\n",
            "AAAA==\n",
        ];
        let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..40 {
            let mut s = String::new();
            for _ in 0..12 {
                seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
                s.push_str(pool[(seed >> 33) as usize % pool.len()]);
            }
            shapes.push(s);
        }
        for shape in &shapes {
            let ours: Vec<Vec<u8>> = split_mbox(shape.as_bytes())
                .into_iter()
                .map(<[u8]>::to_vec)
                .collect();
            assert_eq!(
                show(&ours),
                show(&git_mailsplit(shape.as_bytes())),
                "{shape:?}"
            );
        }
    }

    #[test]
    fn a_base64_part_before_the_next_from_line_ends_its_mail() {
        let s = parse(
            "s.mbox",
            (base64_mail("[PATCH 1/2] one", "\n") + &base64_mail("[PATCH 2/2] two", "\n"))
                .as_bytes(),
        )
        .unwrap();
        assert_eq!(s.len(), 2);
        assert_eq!(
            (s[0].subject.as_str(), s[1].subject.as_str()),
            ("[PATCH 1/2] one", "[PATCH 2/2] two")
        );
        assert!(s.iter().all(|p| p.files.len() == 1));
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
