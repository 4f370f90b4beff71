//! Writing patches as `git format-patch` writes them, so that `git am`
//! applies them and `git send-email` sends them: the mbox `From ` line, the
//! headers (RFC 2047 for names and subjects that are not ASCII, folded long
//! lines), the message, `---`, a diffstat, the diff with `index` lines, and
//! the `-- ` signature.
//!
//! The mbox line names no commit (`git format-patch --zero-commit` does the
//! same): the patches are written before any commit exists.

use std::fmt::Write as _;

use crate::diff::Tag;

/// The `From ` line that starts each message, with format-patch's fixed date.
pub const MBOX_FROM: &str =
    "From 0000000000000000000000000000000000000000 Mon Sep 17 00:00:00 2001";

/// Header lines are folded before this width, as format-patch does.
const FOLD_AT: usize = 78;

/// format-patch's diffstat width for mails.
const STAT_WIDTH: usize = 72;

/// A problem with an identity or a date.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MailError {
    /// `Name <email> seconds +zone` did not parse.
    #[error("'{0}': not an identity of the form 'Name <email> seconds +zone'")]
    Ident(String),
}

/// Who writes a mail, and when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stamp {
    /// `Name <email>`.
    pub who: String,
    /// RFC 2822 date.
    pub date: String,
}

impl Stamp {
    /// Reads git's `GIT_AUTHOR_IDENT` form: `Name <email> 1731844800 +0100`.
    pub fn from_git_ident(ident: &str) -> Result<Stamp, MailError> {
        let bad = || MailError::Ident(ident.to_string());
        let ident = ident.trim();
        let (rest, zone) = ident.rsplit_once(' ').ok_or_else(bad)?;
        let (who, secs) = rest.rsplit_once(' ').ok_or_else(bad)?;
        let secs: i64 = secs.parse().map_err(|_| bad())?;
        let sign = match zone.as_bytes().first() {
            Some(b'+') => 1,
            Some(b'-') => -1,
            _ => return Err(bad()),
        };
        let digits = &zone[1..];
        if digits.len() != 4 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        let hours: i32 = digits[..2].parse().map_err(|_| bad())?;
        let minutes: i32 = digits[2..].parse().map_err(|_| bad())?;
        let offset = jiff::tz::Offset::from_seconds(sign * (hours * 3600 + minutes * 60))
            .map_err(|_| bad())?;
        let zoned = jiff::Timestamp::from_second(secs)
            .map_err(|_| bad())?
            .to_zoned(jiff::tz::TimeZone::fixed(offset));
        let date = jiff::fmt::rfc2822::to_string(&zoned).map_err(|_| bad())?;
        if !who.contains('<') || !who.ends_with('>') {
            return Err(bad());
        }
        Ok(Stamp {
            who: who.to_string(),
            date,
        })
    }
}

/// One message of a series.
#[derive(Debug, Clone)]
pub struct Mail<'a> {
    /// Author and date.
    pub stamp: &'a Stamp,
    /// The whole subject, `[PATCH n/m]` included.
    pub subject: &'a str,
    /// The message this one answers (`<id@host>`), as `--in-reply-to`
    /// gives it to format-patch.
    pub in_reply_to: Option<&'a str>,
    /// `To:` addresses.
    pub to: &'a [String],
    /// `Cc:` addresses.
    pub cc: &'a [String],
    /// The message after the subject: the commit message with its trailers,
    /// or a cover letter's text; it ends with a newline.
    pub message: &'a str,
    /// The diff (empty for a cover letter).
    pub diff: &'a [u8],
    /// The signature after `-- ` (format-patch writes git's version).
    pub signature: &'a str,
}

/// `mail` as bytes, ending with an empty line as format-patch's files do (so
/// that files concatenated are an mbox).
pub fn render(mail: &Mail) -> Vec<u8> {
    let mut h = String::new();
    let _ = writeln!(h, "{MBOX_FROM}");
    // format-patch writes the thread's headers first, before From:.
    if let Some(id) = mail.in_reply_to {
        let _ = writeln!(h, "In-Reply-To: {id}\nReferences: {id}");
    }
    header(&mut h, "From", &encode_address(&mail.stamp.who));
    header(&mut h, "Date", &mail.stamp.date);
    header(&mut h, "Subject", &rfc2047::rfc2047_encode(mail.subject));
    for (name, list) in [("To", mail.to), ("Cc", mail.cc)] {
        if !list.is_empty() {
            let encoded: Vec<String> = list.iter().map(|a| encode_address(a)).collect();
            address_header(&mut h, name, &encoded);
        }
    }
    h.push_str("MIME-Version: 1.0\n");
    h.push_str("Content-Type: text/plain; charset=UTF-8\n");
    h.push_str("Content-Transfer-Encoding: 8bit\n\n");
    h.push_str(mail.message);
    let mut out = h.into_bytes();
    if !mail.diff.is_empty() {
        out.extend_from_slice(b"---\n");
        out.extend_from_slice(diffstat(&stat(mail.diff)).as_bytes());
        out.push(b'\n');
        out.extend_from_slice(mail.diff);
    }
    out.extend_from_slice(format!("-- \n{}\n\n", mail.signature).as_bytes());
    out
}

/// `Name: value`, folded at spaces before [`FOLD_AT`] columns.
fn header(out: &mut String, name: &str, value: &str) {
    let mut line = format!("{name}:");
    for word in value.split(' ') {
        if line.len() + 1 + word.len() > FOLD_AT && line.len() > name.len() + 1 {
            out.push_str(&line);
            out.push('\n');
            line.clear();
        }
        line.push(' ');
        line.push_str(word);
    }
    out.push_str(&line);
    out.push('\n');
}

/// An address list, one address per line after the first, as format-patch
/// writes `--to` and `--cc`.
fn address_header(out: &mut String, name: &str, addrs: &[String]) {
    let _ = write!(out, "{name}: ");
    for (i, a) in addrs.iter().enumerate() {
        if i > 0 {
            out.push_str(",\n    ");
        }
        out.push_str(a);
    }
    out.push('\n');
}

/// `Name <email>` for a header: RFC 2047 when the name is not ASCII, quoted
/// when it holds characters that are special in addresses.
pub fn encode_address(addr: &str) -> String {
    let addr = addr.trim();
    let Some(lt) = addr.rfind('<') else {
        return addr.to_string();
    };
    let name = addr[..lt].trim();
    let email = &addr[lt..];
    if name.is_empty() {
        return email.to_string();
    }
    let unquoted = name
        .strip_prefix('"')
        .and_then(|n| n.strip_suffix('"'))
        .unwrap_or(name);
    if !unquoted.is_ascii() {
        return format!("{} {email}", rfc2047::rfc2047_encode(unquoted));
    }
    let special = unquoted.contains(['(', ')', '<', '>', '[', ']', ':', ';', '@', ',', '.', '"']);
    if special {
        let escaped = unquoted.replace('\\', "\\\\").replace('"', "\\\"");
        format!("\"{escaped}\" {email}")
    } else {
        format!("{unquoted} {email}")
    }
}

/// Lines added and removed in one file of a diff.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileStat {
    /// The file's path.
    pub name: String,
    /// Lines added.
    pub added: usize,
    /// Lines removed.
    pub removed: usize,
}

/// The files of a diff that [`crate::diff::unified`] wrote, with their
/// counts.
pub fn stat(diff: &[u8]) -> Vec<FileStat> {
    // bvmig's own diff: its hunks have the lines their headers count.
    crate::diff::read(diff)
        .unwrap_or_default()
        .into_iter()
        .map(|f| {
            let count = |tag| {
                f.hunks
                    .iter()
                    .flat_map(|h| &h.lines)
                    .filter(|l| l.0 == tag)
                    .count()
            };
            FileStat {
                name: f
                    .old_path
                    .clone()
                    .or(f.new_path.clone())
                    .unwrap_or_default(),
                added: count(Tag::Added),
                removed: count(Tag::Removed),
            }
        })
        .collect()
}

/// git's diffstat for mails (`diff.c`'s `show_stats` at format-patch's
/// width): one line per file, `+`/`-` bars scaled to fit, long names cut
/// from the left, and the summary line.
pub fn diffstat(files: &[FileStat]) -> String {
    if files.is_empty() {
        return String::new();
    }
    let width = STAT_WIDTH;
    let max_len = files
        .iter()
        .map(|f| f.name.chars().count())
        .max()
        .unwrap_or(0);
    let max_change = files.iter().map(|f| f.added + f.removed).max().unwrap_or(0);
    let number_w = max_change.to_string().len();
    // What is wanted, then cut to the width as git cuts it.
    let mut graph_w = max_change;
    let mut name_w = max_len;
    if name_w + number_w + 6 + graph_w > width {
        if graph_w > (width * 3 / 8).saturating_sub(number_w + 6) {
            graph_w = (width * 3 / 8).saturating_sub(number_w + 6).max(6);
        }
        if name_w > width.saturating_sub(number_w + 6 + graph_w) {
            name_w = width.saturating_sub(number_w + 6 + graph_w);
        } else {
            graph_w = width - number_w - 6 - name_w;
        }
    }
    let mut out = String::new();
    for f in files {
        let (mut add, mut del) = (f.added, f.removed);
        if graph_w <= max_change {
            let mut total = scale(add + del, graph_w, max_change);
            if total < 2 && add > 0 && del > 0 {
                total = 2;
            }
            if add < del {
                add = scale(add, graph_w, max_change);
                del = total - add;
            } else {
                del = scale(del, graph_w, max_change);
                add = total - del;
            }
        }
        let n = f.name.chars().count();
        let name = if n > name_w {
            let keep: String = f.name.chars().skip(n - name_w.saturating_sub(3)).collect();
            format!("...{keep}")
        } else {
            f.name.clone()
        };
        let _ = writeln!(
            out,
            " {name:<name_w$} | {:>number_w$} {}{}",
            f.added + f.removed,
            "+".repeat(add),
            "-".repeat(del)
        );
    }
    let added: usize = files.iter().map(|f| f.added).sum();
    let removed: usize = files.iter().map(|f| f.removed).sum();
    let n = files.len();
    let _ = write!(out, " {n} file{} changed", if n == 1 { "" } else { "s" });
    if added > 0 {
        let _ = write!(
            out,
            ", {added} insertion{}(+)",
            if added == 1 { "" } else { "s" }
        );
    }
    if removed > 0 {
        let _ = write!(
            out,
            ", {removed} deletion{}(-)",
            if removed == 1 { "" } else { "s" }
        );
    }
    out.push('\n');
    out
}

/// git's `scale_linear`: at least one column for any change.
fn scale(it: usize, width: usize, max_change: usize) -> usize {
    if it == 0 {
        0
    } else {
        1 + it * (width - 1) / max_change
    }
}

/// A message id as headers carry it: `<id@host>`, the angle brackets
/// added when missing (as format-patch adds them to `--in-reply-to`).
pub fn message_id(id: &str) -> String {
    let id = id.trim();
    let bare = id.strip_prefix('<').unwrap_or(id);
    let bare = bare.strip_suffix('>').unwrap_or(bare);
    format!("<{bare}>")
}

/// `0001-block-use-bvec_page-helper.patch`, `v2-0001-...` with a reroll
/// count: as `git format-patch` names its files (`fmt_output_subject`):
/// the count, the number and the subject sanitized (runs of characters
/// other than letters, digits, `.` and `_` become one `-`, runs of `.`
/// one `.`, trailing `.` and `-` go), cut to 57 characters, `.patch`.
pub fn file_name(reroll: Option<&str>, n: usize, subject: &str) -> String {
    /// format-patch's `--filename-max-length` default, `.patch` and the
    /// one character git keeps in reserve.
    const MAX: usize = 64 - ".patch".len() - 1;
    let mut name = String::new();
    if let Some(r) = reroll {
        name.push_str(&sanitized(&format!("v{r}")));
        name.push('-');
    }
    name.push_str(&format!("{n:04}-"));
    name.push_str(&sanitized(subject));
    // Only ASCII is kept, so bytes are characters.
    name.truncate(MAX);
    name.push_str(".patch");
    name
}

/// git's `format_sanitized_subject`.
fn sanitized(text: &str) -> String {
    let is_title = |b: u8| b.is_ascii_alphanumeric() || b == b'.' || b == b'_';
    let bytes = text.as_bytes();
    let mut out = String::new();
    // 2: nothing written yet (no `-` before the first character).
    let mut space = 2;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if is_title(b) {
            if space == 1 {
                out.push('-');
            }
            space = 0;
            out.push(char::from(b));
            if b == b'.' {
                while bytes.get(i + 1) == Some(&b'.') {
                    i += 1;
                }
            }
        } else {
            space |= 1;
        }
        i += 1;
    }
    while out.ends_with(['.', '-']) {
        out.pop();
    }
    out
}

/// git's blob id of `data`, the first 12 hexadecimal digits, for `index`
/// lines (`git am -3` finds the blobs by them).
pub fn blob_id(data: &[u8]) -> String {
    let mut h = sha1_smol::Sha1::new();
    h.update(format!("blob {}\0", data.len()).as_bytes());
    h.update(data);
    h.digest().to_string()[..12].to_string()
}

/// `diff`, the output of [`crate::diff::unified`] for one file, with git's
/// `index <old>..<new> <mode>` line after its `diff --git` line.
pub fn with_index(diff: &[u8], old: &[u8], new: &[u8], mode: u32) -> Vec<u8> {
    let Some(nl) = diff.iter().position(|&b| b == b'\n') else {
        return diff.to_vec();
    };
    let mut out = Vec::with_capacity(diff.len() + 40);
    out.extend_from_slice(&diff[..=nl]);
    out.extend_from_slice(
        format!("index {}..{} {mode:o}\n", blob_id(old), blob_id(new)).as_bytes(),
    );
    out.extend_from_slice(&diff[nl + 1..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamps_from_git_idents() {
        let s = Stamp::from_git_ident("A U Thor <a@u.thor> 1731844800 +0100").unwrap();
        assert_eq!(s.who, "A U Thor <a@u.thor>");
        assert_eq!(s.date, "Sun, 17 Nov 2024 13:00:00 +0100");
        let s = Stamp::from_git_ident("X <x@y> 0 -0230").unwrap();
        assert_eq!(s.date, "Wed, 31 Dec 1969 21:30:00 -0230");
        assert!(Stamp::from_git_ident("nobody 12 +0000").is_err());
        assert!(Stamp::from_git_ident("X <x@y> soon +0000").is_err());
    }

    #[test]
    fn addresses_are_encoded_or_quoted() {
        assert_eq!(
            encode_address("Jens Axboe <axboe@kernel.dk>"),
            "Jens Axboe <axboe@kernel.dk>"
        );
        assert_eq!(
            encode_address("Uwe Kleine-König <u@example.org>"),
            "Uwe =?utf-8?q?Kleine-K=C3=B6nig?= <u@example.org>"
        );
        assert_eq!(
            encode_address("Richard Russon (FlatCap) <ldm@flatcap.org>"),
            "\"Richard Russon (FlatCap)\" <ldm@flatcap.org>"
        );
        assert_eq!(
            encode_address("\"J. Random\" <j@example.org>"),
            "\"J. Random\" <j@example.org>"
        );
        assert_eq!(
            encode_address("linux-block@vger.kernel.org"),
            "linux-block@vger.kernel.org"
        );
    }

    #[test]
    fn names_as_format_patch_makes_them() {
        assert_eq!(
            file_name(
                None,
                1,
                "block: use bvec_page() and bvec_set_page() helpers"
            ),
            "0001-block-use-bvec_page-and-bvec_set_page-helpers.patch"
        );
        assert_eq!(file_name(None, 0, "*** SUBJECT ***"), "0000-SUBJECT.patch");
        assert_eq!(file_name(None, 3, "a.. b...c."), "0003-a.-b.c.patch");
        // Cut where git cuts, a trailing `-` kept (git 2.47 writes these
        // two names for this subject, with and without `-v 2`).
        let long = "block: use bvec_page() and bvec_set_page() helpers in a long subject line here";
        assert_eq!(
            file_name(None, 1, long),
            "0001-block-use-bvec_page-and-bvec_set_page-helpers-in-a-l.patch"
        );
        assert_eq!(
            file_name(Some("2"), 1, long),
            "v2-0001-block-use-bvec_page-and-bvec_set_page-helpers-in-.patch"
        );
        assert_eq!(
            file_name(Some("2.1"), 0, "cover letter"),
            "v2.1-0000-cover-letter.patch"
        );
    }

    #[test]
    fn stat_counts_by_hunk_lengths() {
        let diff = b"diff --git a/x.c b/x.c\n--- a/x.c\n+++ b/x.c\n@@ -1,3 +1,3 @@ f\n a\n--- removed\n+++ added\n c\ndiff --git a/y.c b/y.c\n--- a/y.c\n+++ b/y.c\n@@ -1 +1,2 @@\n-x\n\\ No newline at end of file\n+x\n+y\n";
        let s = stat(diff);
        assert_eq!(
            s,
            vec![
                FileStat {
                    name: "x.c".into(),
                    added: 1,
                    removed: 1
                },
                FileStat {
                    name: "y.c".into(),
                    added: 2,
                    removed: 1
                },
            ]
        );
        assert_eq!(
            diffstat(&s),
            " x.c | 2 +-\n y.c | 3 ++-\n 2 files changed, 3 insertions(+), 2 deletions(-)\n"
        );
    }

    #[test]
    fn bars_and_names_are_cut_as_git_cuts_them() {
        // `git diff --stat=72` on the same changes.
        let big = FileStat {
            name: "big.c".into(),
            added: 300,
            removed: 100,
        };
        let small = FileStat {
            name: "small.c".into(),
            added: 1,
            removed: 0,
        };
        assert_eq!(
            diffstat(&[big.clone(), small.clone()]),
            format!(
                " big.c   | 400 {}{}\n small.c |   1 +\n 2 files changed, 301 insertions(+), 100 deletions(-)\n",
                "+".repeat(42),
                "-".repeat(14)
            )
        );
        let long = FileStat {
            name:
                "a/very/long/path/that/goes/on/and/on/and/on/forever/and/ever/some_long_file_name.c"
                    .into(),
            added: 1,
            removed: 0,
        };
        assert_eq!(
            diffstat(&[long, big, small]),
            " .../on/forever/and/ever/some_long_file_name.c |   1 +\n \
             big.c                                         | 400 +++++++++++++-----\n \
             small.c                                       |   1 +\n \
             3 files changed, 302 insertions(+), 100 deletions(-)\n"
        );
    }

    #[test]
    fn blob_ids_are_gits() {
        // `printf 'hello\n' | git hash-object --stdin`
        assert_eq!(blob_id(b"hello\n"), "ce013625030b");
        assert_eq!(blob_id(b""), "e69de29bb2d1");
    }

    #[test]
    fn a_mail_in_format_patch_form() {
        let stamp = Stamp {
            who: "A U Thor <a@u.thor>".into(),
            date: "Sun, 17 Nov 2024 12:00:00 +0000".into(),
        };
        let diff = b"diff --git a/x.c b/x.c\n--- a/x.c\n+++ b/x.c\n@@ -1 +1 @@\n-a\n+b\n";
        let cc = vec![
            "B <b@example.org>".to_string(),
            "list@example.org".to_string(),
        ];
        let out = render(&Mail {
            stamp: &stamp,
            subject: "[PATCH 1/1] x: change a into b, which is a rather long subject for a mail",
            in_reply_to: None,
            to: &[],
            cc: &cc,
            message: "Because.\n\nSigned-off-by: A U Thor <a@u.thor>\n",
            diff,
            signature: "bvmig 0.1.0",
        });
        assert_eq!(
            String::from_utf8(out).unwrap(),
            format!(
                "{MBOX_FROM}\nFrom: A U Thor <a@u.thor>\nDate: Sun, 17 Nov 2024 12:00:00 +0000\n\
                 Subject: [PATCH 1/1] x: change a into b, which is a rather long subject for a\n mail\n\
                 Cc: B <b@example.org>,\n    list@example.org\nMIME-Version: 1.0\n\
                 Content-Type: text/plain; charset=UTF-8\nContent-Transfer-Encoding: 8bit\n\n\
                 Because.\n\nSigned-off-by: A U Thor <a@u.thor>\n---\n x.c | 2 +-\n\
                 \x201 file changed, 1 insertion(+), 1 deletion(-)\n\n{}-- \nbvmig 0.1.0\n\n",
                String::from_utf8_lossy(diff)
            )
        );
    }
}
