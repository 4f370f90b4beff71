//! Unified diffs, written and read; the only place that knows their hunks.
//!
//! Written in the kernel's style: `diff --git` headers, three lines of
//! context, and the enclosing function after `@@` as git shows it for C
//! (the kernel's `.gitattributes` sets `diff=cpp` for `*.c` and `*.h`).
//! Lines are bytes: invalid UTF-8, CRLF and a missing final newline pass
//! through unchanged.
//!
//! Read from patches, mails and git's output ([`read`]): files and hunks
//! with their line numbers and tagged lines, by the hunks' counts.

use std::collections::HashMap;
use std::ops::Range;

use similar::algorithms::{myers, Capture, Compact, DiffHook, NoFinishHook, Replace};
use similar::DiffOp;

/// Lines of context around each change.
pub const CONTEXT: usize = 3;

/// The most lines (old and new together, after their common head and
/// tail) given to Myers' algorithm at once: it costs (old + new) times the
/// number of changed lines, quadratic in a file with changes all over.
/// Above it, lines found once in each side anchor the two (patience) and
/// Myers runs between anchors.
const MYERS_LINES: usize = 4_000;

/// How deep anchors are looked for within the gaps between anchors.
const ANCHOR_DEPTH: usize = 8;

/// Appends the diff of `old` to `new` for file `name` to `out`; nothing when
/// they are equal.
pub fn unified(name: &str, old: &[u8], new: &[u8], out: &mut Vec<u8>) {
    if old == new {
        return;
    }
    let old_lines = split_lines(old);
    let new_lines = split_lines(new);
    let old_lines = &old_lines[..];
    let new_lines = &new_lines[..];
    out.extend_from_slice(
        format!("diff --git a/{name} b/{name}\n--- a/{name}\n+++ b/{name}\n").as_bytes(),
    );
    let ops = diff_ops(old_lines, new_lines);
    // The enclosing function of each hunk, found by one pass over the old
    // lines: hunks come in order.
    let mut func = FuncNames::default();
    for group in similar::group_diff_ops(ops, CONTEXT) {
        let (first, last) = (&group[0], &group[group.len() - 1]);
        let old_start = first.old_range().start;
        let old_len = last.old_range().end - old_start;
        let new_start = first.new_range().start;
        let new_len = last.new_range().end - new_start;
        // A hunk range names its first line (1-based); an empty one names
        // the line before it.
        let first = |start: usize, len: usize| if len == 0 { start } else { start + 1 };
        write_header(
            out,
            (first(old_start, old_len), old_len),
            (first(new_start, new_len), new_len),
            func.before(old_lines, old_start).unwrap_or_default(),
        );
        for op in &group {
            match *op {
                DiffOp::Equal { old_index, len, .. } => {
                    lines(out, b' ', &old_lines[old_index..old_index + len]);
                }
                DiffOp::Delete {
                    old_index, old_len, ..
                } => {
                    lines(out, b'-', &old_lines[old_index..old_index + old_len]);
                }
                DiffOp::Insert {
                    new_index, new_len, ..
                } => {
                    lines(out, b'+', &new_lines[new_index..new_index + new_len]);
                }
                DiffOp::Replace {
                    old_index,
                    old_len,
                    new_index,
                    new_len,
                } => {
                    lines(out, b'-', &old_lines[old_index..old_index + old_len]);
                    lines(out, b'+', &new_lines[new_index..new_index + new_len]);
                }
            }
        }
    }
}

/// The lines of `text` as git and `patch` see them: each ends after a
/// `\n` (the last one may have none). A lone `\r` is part of its line,
/// where `similar`'s own line splitting would end a line there and the
/// diff would say `\ No newline at end of file` in the middle of a hunk.
pub fn split_lines(text: &[u8]) -> Vec<&[u8]> {
    text.split_inclusive(|&b| b == b'\n').collect()
}

/// Writes `@@ -a,b +c,d @@ funcname` and its newline; a count of one is
/// left out, as git leaves it.
fn write_header(out: &mut Vec<u8>, old: (usize, usize), new: (usize, usize), funcname: &[u8]) {
    let range = |(first, len): (usize, usize)| {
        if len == 1 {
            first.to_string()
        } else {
            format!("{first},{len}")
        }
    };
    out.extend_from_slice(format!("@@ -{} +{} @@", range(old), range(new)).as_bytes());
    if !funcname.is_empty() {
        out.push(b' ');
        out.extend_from_slice(funcname);
    }
    out.push(b'\n');
}

fn lines(out: &mut Vec<u8>, mark: u8, ls: &[&[u8]]) {
    for l in ls {
        out.push(mark);
        out.extend_from_slice(l);
        if !l.ends_with(b"\n") {
            out.extend_from_slice(b"\n\\ No newline at end of file\n");
        }
    }
}

/// The edit script from `old` to `new` as `similar` gives it (equal runs,
/// deletions, insertions, replacements, compacted), in about linear time;
/// the same as `similar::capture_diff_slices` with Myers where the changed
/// middle is small.
fn diff_ops(old: &[&[u8]], new: &[&[u8]]) -> Vec<DiffOp> {
    let mut hook = Compact::new(Replace::new(Capture::new()), old, new);
    let mut each = NoFinishHook::new(&mut hook);
    align(&mut each, old, 0..old.len(), new, 0..new.len(), 0);
    hook.finish().expect("Capture cannot fail");
    hook.into_inner().into_inner().into_ops()
}

/// Aligns `old[o]` with `new[n]`: the common head and tail are equal; a
/// small middle goes to Myers (a minimal diff, as git's); a large one is cut
/// at the lines that occur once in each side, in the same order (their
/// longest increasing run, as patience diff does), and each gap aligned
/// alone. A large gap without such lines is replaced whole: still a right
/// diff, and a bounded cost.
fn align<D: DiffHook<Error = std::convert::Infallible>>(
    d: &mut D,
    old: &[&[u8]],
    o: Range<usize>,
    new: &[&[u8]],
    n: Range<usize>,
    depth: usize,
) {
    let head = old[o.clone()]
        .iter()
        .zip(&new[n.clone()])
        .take_while(|(a, b)| a == b)
        .count();
    let tail = old[o.start + head..o.end]
        .iter()
        .rev()
        .zip(new[n.start + head..n.end].iter().rev())
        .take_while(|(a, b)| a == b)
        .count();
    let (mo, mn) = (o.start + head..o.end - tail, n.start + head..n.end - tail);
    if head > 0 {
        d.equal(o.start, n.start, head)
            .expect("Capture cannot fail");
    }
    if mo.len() + mn.len() <= MYERS_LINES {
        myers::diff(d, old, mo, new, mn).expect("Capture cannot fail");
    } else {
        let anchors = if depth < ANCHOR_DEPTH {
            anchors(old, mo.clone(), new, mn.clone())
        } else {
            Vec::new()
        };
        if anchors.is_empty() {
            if !mo.is_empty() {
                d.delete(mo.start, mo.len(), mn.start)
                    .expect("Capture cannot fail");
            }
            if !mn.is_empty() {
                d.insert(mo.end, mn.start, mn.len())
                    .expect("Capture cannot fail");
            }
        } else {
            let (mut po, mut pn) = (mo.start, mn.start);
            for (ao, an) in anchors {
                align(d, old, po..ao, new, pn..an, depth + 1);
                d.equal(ao, an, 1).expect("Capture cannot fail");
                (po, pn) = (ao + 1, an + 1);
            }
            align(d, old, po..mo.end, new, pn..mn.end, depth + 1);
        }
    }
    if tail > 0 {
        d.equal(o.end - tail, n.end - tail, tail)
            .expect("Capture cannot fail");
    }
}

/// The lines found exactly once in `old[o]` and once in `new[n]`, as pairs
/// of indexes, the longest run of them in the same order on both sides.
fn anchors(old: &[&[u8]], o: Range<usize>, new: &[&[u8]], n: Range<usize>) -> Vec<(usize, usize)> {
    // line -> (times in old, times in new, index in old, index in new)
    let mut seen: HashMap<&[u8], (u32, u32, usize, usize)> = HashMap::new();
    for i in o {
        let e = seen.entry(old[i]).or_insert((0, 0, i, 0));
        e.0 += 1;
    }
    for j in n {
        if let Some(e) = seen.get_mut(new[j]) {
            e.1 += 1;
            e.3 = j;
        }
    }
    let mut pairs: Vec<(usize, usize)> = seen
        .into_values()
        .filter(|e| e.0 == 1 && e.1 == 1)
        .map(|e| (e.2, e.3))
        .collect();
    pairs.sort_unstable();
    // Longest increasing run of the new indexes (patience sorting): tops[k]
    // is the pair ending the best run of length k + 1 seen so far.
    let mut tops: Vec<usize> = Vec::new();
    let mut prev: Vec<Option<usize>> = vec![None; pairs.len()];
    for (i, &(_, j)) in pairs.iter().enumerate() {
        let k = tops.partition_point(|&t| pairs[t].1 < j);
        prev[i] = k.checked_sub(1).map(|k| tops[k]);
        if k == tops.len() {
            tops.push(i);
        } else {
            tops[k] = i;
        }
    }
    let mut run = Vec::with_capacity(tops.len());
    let mut at = tops.last().copied();
    while let Some(i) = at {
        run.push(pairs[i]);
        at = prev[i];
    }
    run.reverse();
    run
}

/// The function names of hunk headers, found by one pass over the lines:
/// each call asks for a line after (or at) the one before.
#[derive(Default)]
struct FuncNames {
    /// Lines looked at so far.
    scanned: usize,
    /// The last function line among them.
    last: Option<usize>,
}

impl FuncNames {
    /// The last line before line `before` (0-based) that git's `cpp`
    /// driver takes for a function header: it starts with a letter, `_` or
    /// `::`, and is not a label. Trailing blanks dropped, at most 80 bytes,
    /// as git does.
    fn before<'a>(&mut self, lines: &[&'a [u8]], before: usize) -> Option<&'a [u8]> {
        let before = before.min(lines.len());
        if before < self.scanned {
            *self = FuncNames::default();
        }
        for (i, l) in lines[self.scanned..before].iter().enumerate() {
            if is_func_line(l) {
                self.last = Some(self.scanned + i);
            }
        }
        self.scanned = before;
        self.last.map(|i| {
            let l = lines[i];
            let mut end = l.len().min(80);
            while end > 0 && l[end - 1].is_ascii_whitespace() {
                end -= 1;
            }
            &l[..end]
        })
    }
}

fn is_func_line(line: &[u8]) -> bool {
    let starts = line
        .first()
        .is_some_and(|&c| c.is_ascii_alphabetic() || c == b'_')
        || line.starts_with(b"::");
    starts && !is_label(line)
}

/// `^[ \t]*[A-Za-z_][A-Za-z_0-9]*:[[:space:]]*($|/[/*])`
fn is_label(line: &[u8]) -> bool {
    let mut i = line
        .iter()
        .take_while(|c| **c == b' ' || **c == b'\t')
        .count();
    if !line
        .get(i)
        .is_some_and(|c| c.is_ascii_alphabetic() || *c == b'_')
    {
        return false;
    }
    while line
        .get(i)
        .is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'_')
    {
        i += 1;
    }
    if line.get(i) != Some(&b':') {
        return false;
    }
    i += 1;
    while line.get(i).is_some_and(|c| c.is_ascii_whitespace()) {
        i += 1;
    }
    i == line.len() || line[i..].starts_with(b"//") || line[i..].starts_with(b"/*")
}

// Reading diffs.

/// A hunk with fewer lines than its header says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Truncated {
    /// The file the hunk is in.
    pub file: String,
    /// The hunk's header.
    pub header: String,
    /// Lines found.
    pub got: usize,
}

/// The numbers of a hunk header, `@@ -old_start,old_len +new_start,new_len
/// @@ funcname` (a count left out is one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HunkHeader {
    /// 1-based first line in the old version (the line before, when empty).
    pub old_start: usize,
    /// Lines in the old version.
    pub old_len: usize,
    /// 1-based first line in the new version (the line before, when empty).
    pub new_start: usize,
    /// Lines in the new version.
    pub new_len: usize,
    /// The text after the second `@@`, trimmed.
    pub funcname: String,
}

impl HunkHeader {
    /// Reads a header line (with or without its newline).
    pub fn parse(line: &str) -> Option<HunkHeader> {
        let rest = line.strip_prefix("@@ -")?;
        let (ranges, func) = rest.split_once(" @@").unwrap_or((rest, ""));
        let mut it = ranges.split(' ');
        let count = |r: &str| -> Option<(usize, usize)> {
            match r.split_once(',') {
                Some((s, c)) => Some((s.parse().ok()?, c.parse().ok()?)),
                None => Some((r.parse().ok()?, 1)),
            }
        };
        let (old_start, old_len) = count(it.next()?)?;
        let (new_start, new_len) = count(it.next()?.strip_prefix('+')?)?;
        Some(HunkHeader {
            old_start,
            old_len,
            new_start,
            new_len,
            funcname: func.trim().to_string(),
        })
    }
}

/// One line of a hunk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tag {
    /// ` `: in both versions.
    Context,
    /// `+`: added.
    Added,
    /// `-`: removed.
    Removed,
}

/// A hunk: `@@ -old_start,old_len +new_start,new_len @@ funcname`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hunk {
    /// The header line, as written.
    pub header: String,
    /// 1-based first line in the new version.
    pub new_start: usize,
    /// Lines in the new version.
    pub new_len: usize,
    /// The text after the second `@@` (the enclosing function, as git shows it).
    pub funcname: String,
    /// The lines, each without its tag, with its newline (none when `\ No
    /// newline at end of file` follows).
    pub lines: Vec<(Tag, Vec<u8>)>,
}

/// The changes to one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileDiff {
    /// The path before (`None` for a new file).
    pub old_path: Option<String>,
    /// The path after (`None` for a deleted file).
    pub new_path: Option<String>,
    /// Its hunks, in order.
    pub hunks: Vec<Hunk>,
}

/// A path from a `---`/`+++` line: `None` for `/dev/null`; the `a/` or `b/`
/// prefix and a trailing timestamp removed.
fn header_path(rest: &str) -> Option<String> {
    let rest = rest.split('\t').next().unwrap_or(rest).trim_end();
    if rest == "/dev/null" {
        return None;
    }
    let unquoted = unquote(rest);
    Some(
        unquoted
            .strip_prefix("a/")
            .or_else(|| unquoted.strip_prefix("b/"))
            .unwrap_or(&unquoted)
            .to_string(),
    )
}

/// Files and hunks of the diff in `body` (a bare diff, or a mail's
/// decoded text around one); text that is not part of a file's diff is
/// passed over. Hunks are read by their line counts, so that a mail's `-- `
/// signature after the last hunk is not taken for a removed line.
pub fn read(body: &[u8]) -> Result<Vec<FileDiff>, Truncated> {
    let lines: Vec<&[u8]> = body.split_inclusive(|&b| b == b'\n').collect();
    let mut files: Vec<FileDiff> = Vec::new();
    let mut i = 0;
    let text = |l: &[u8]| {
        String::from_utf8_lossy(l)
            .trim_end_matches(['\n', '\r'])
            .to_string()
    };
    while i < lines.len() {
        let line = text(lines[i]);
        if let Some(names) = line.strip_prefix("diff --git ") {
            files.push(FileDiff {
                old_path: None,
                new_path: None,
                hunks: Vec::new(),
            });
            // Paths from the header, for diffs without ---/+++ (renames,
            // mode changes); the ---/+++ lines override them.
            if let Some((a, b)) = names.split_once(" b/") {
                let f = files.last_mut().expect("just pushed");
                f.old_path = header_path(a);
                f.new_path = Some(b.to_string());
            }
        } else if let Some(rest) = line.strip_prefix("--- ") {
            let next = lines.get(i + 1).map(|l| text(l)).unwrap_or_default();
            if let Some(plus) = next.strip_prefix("+++ ") {
                let fresh = files.last().is_none_or(|f| !f.hunks.is_empty());
                if fresh {
                    files.push(FileDiff {
                        old_path: None,
                        new_path: None,
                        hunks: Vec::new(),
                    });
                }
                let f = files.last_mut().expect("just pushed");
                f.old_path = header_path(rest);
                f.new_path = header_path(plus);
                i += 2;
                continue;
            }
        } else if line.starts_with("@@ -") {
            if let (Some(f), Some(h)) = (files.last_mut(), HunkHeader::parse(&line)) {
                let mut hunk = Hunk {
                    header: line.clone(),
                    new_start: h.new_start,
                    new_len: h.new_len,
                    funcname: h.funcname,
                    lines: Vec::new(),
                };
                let (mut old_left, mut new_left) = (h.old_len, h.new_len);
                i += 1;
                while (old_left > 0 || new_left > 0) && i < lines.len() {
                    let l = lines[i];
                    let (tag, rest) = match l.first() {
                        Some(b' ') => (Tag::Context, &l[1..]),
                        Some(b'+') => (Tag::Added, &l[1..]),
                        Some(b'-') => (Tag::Removed, &l[1..]),
                        // Mailers strip the space of an empty context line.
                        Some(b'\n') | Some(b'\r') => (Tag::Context, l),
                        Some(b'\\') => {
                            strip_newline(&mut hunk);
                            i += 1;
                            continue;
                        }
                        _ => break,
                    };
                    match tag {
                        Tag::Context if old_left > 0 && new_left > 0 => {
                            old_left -= 1;
                            new_left -= 1;
                        }
                        Tag::Added if new_left > 0 => new_left -= 1,
                        Tag::Removed if old_left > 0 => old_left -= 1,
                        _ => break,
                    }
                    hunk.lines.push((tag, rest.to_vec()));
                    i += 1;
                }
                if old_left > 0 || new_left > 0 {
                    let file = f
                        .new_path
                        .clone()
                        .or(f.old_path.clone())
                        .unwrap_or_default();
                    return Err(Truncated {
                        file,
                        header: line,
                        got: hunk.lines.len(),
                    });
                }
                if lines.get(i).is_some_and(|l| l.starts_with(b"\\")) {
                    strip_newline(&mut hunk);
                    i += 1;
                }
                f.hunks.push(hunk);
                continue;
            }
        }
        i += 1;
    }
    Ok(files)
}

/// `\ No newline at end of file`: the line before it has no newline.
fn strip_newline(hunk: &mut Hunk) {
    if let Some((_, l)) = hunk.lines.last_mut() {
        if l.ends_with(b"\n") {
            l.pop();
            if l.ends_with(b"\r") {
                l.pop();
            }
        }
    }
}

/// Undoes git's C-style quoting of a path (`"a\tb"`), when it is quoted.
pub fn unquote(s: &str) -> String {
    let Some(inner) = s.strip_prefix('"').and_then(|s| s.strip_suffix('"')) else {
        return s.to_string();
    };
    let mut out = Vec::new();
    let b = inner.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && i + 1 < b.len() {
            i += 1;
            match b[i] {
                b'n' => out.push(b'\n'),
                b't' => out.push(b'\t'),
                b'0'..=b'3' if i + 2 < b.len() => {
                    let oct = std::str::from_utf8(&b[i..i + 3]).unwrap_or("0");
                    out.push(u8::from_str_radix(oct, 8).unwrap_or(b'?'));
                    i += 2;
                }
                c => out.push(c),
            }
        } else {
            out.push(b[i]);
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Appends `diff` (one that [`unified`] wrote for a fragment of a file) to
/// `out` with `shift` added to both line numbers of every hunk header,
/// `funcname` after a header that names no function, and the file header
/// dropped unless `keep_header`.
pub fn shift_hunks(
    diff: &[u8],
    shift: usize,
    funcname: &str,
    keep_header: bool,
    out: &mut Vec<u8>,
) {
    let mut in_header = true;
    for line in diff.split_inclusive(|&b| b == b'\n') {
        let header = line
            .starts_with(b"@@ -")
            .then(|| String::from_utf8_lossy(line))
            .and_then(|l| HunkHeader::parse(l.trim_end_matches(['\n', '\r'])));
        if let Some(h) = header {
            in_header = false;
            let name = if h.funcname.is_empty() {
                funcname
            } else {
                &h.funcname
            };
            write_header(
                out,
                (h.old_start + shift, h.old_len),
                (h.new_start + shift, h.new_len),
                name.as_bytes(),
            );
        } else if !in_header || keep_header {
            out.extend_from_slice(line);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(old: &str, new: &str, expected: &str) {
        let mut out = Vec::new();
        unified("f.c", old.as_bytes(), new.as_bytes(), &mut out);
        assert_eq!(String::from_utf8(out).unwrap(), expected);
    }

    #[test]
    fn hunk_names_the_function_and_skips_labels() {
        check(
            "int f(void)\n{\nout:\n\ta;\n\tb;\n\tc;\n\td;\n}\n",
            "int f(void)\n{\nout:\n\ta;\n\tb;\n\tC;\n\td;\n}\n",
            "diff --git a/f.c b/f.c\n--- a/f.c\n+++ b/f.c\n\
             @@ -3,6 +3,6 @@ int f(void)\n out:\n \ta;\n \tb;\n-\tc;\n+\tC;\n \td;\n }\n",
        );
    }

    #[test]
    fn missing_final_newline_is_marked() {
        check(
            "a\nb",
            "a\nc",
            "diff --git a/f.c b/f.c\n--- a/f.c\n+++ b/f.c\n\
             @@ -1,2 +1,2 @@\n a\n-b\n\\ No newline at end of file\n+c\n\\ No newline at end of file\n",
        );
    }

    #[test]
    fn equal_texts_give_nothing() {
        check("a\n", "a\n", "");
    }

    /// Applies `ops` to `old`, taking inserted lines from `new`.
    fn replay<'a>(ops: &[DiffOp], old: &[&'a [u8]], new: &[&'a [u8]]) -> Vec<&'a [u8]> {
        let mut out = Vec::new();
        let mut at = 0;
        for op in ops {
            assert_eq!(op.old_range().start, at, "ops cover the old lines in order");
            if let DiffOp::Equal { old_index, len, .. } = *op {
                out.extend_from_slice(&old[old_index..old_index + len]);
            } else {
                out.extend_from_slice(&new[op.new_range()]);
            }
            at = op.old_range().end;
        }
        assert_eq!(at, old.len());
        out
    }

    /// A file of `n` functions and, for `new`, every `step`-th one changed:
    /// lines repeated in each function, unique names.
    fn functions(n: usize, step: usize) -> (Vec<u8>, Vec<u8>) {
        let (mut old, mut new) = (String::new(), String::new());
        for k in 0..n {
            let f = format!("static void f{k}(struct bio_vec *bv)\n{{\n\tint x = 0;\n");
            old.push_str(&f);
            new.push_str(&f);
            old.push_str("\tput_page(bv->bv_page);\n\treturn;\n}\n\n");
            if k % step == 0 {
                new.push_str("\tput_page(bvec_page(bv));\n\treturn;\n}\n\n");
            } else {
                new.push_str("\tput_page(bv->bv_page);\n\treturn;\n}\n\n");
            }
        }
        (old.into_bytes(), new.into_bytes())
    }

    #[test]
    fn small_changes_diff_as_myers_does() {
        // Under the bound the whole middle goes to Myers: the script is
        // `similar`'s own, as before the bound.
        for (n, step) in [(1, 1), (10, 3), (100, 7), (400, 1)] {
            let (old, new) = functions(n, step);
            let (o, nw) = (split_lines(&old), split_lines(&new));
            let want = similar::capture_diff_slices(similar::Algorithm::Myers, &o, &nw);
            assert_eq!(
                diff_ops(&o, &nw),
                want,
                "{n} functions, every {step}th changed"
            );
        }
    }

    #[test]
    fn many_changes_give_one_hunk_each_and_the_new_text() {
        // Above the bound: anchored on the unique lines, each change is its
        // own small hunk, and the script rebuilds the new text.
        for (n, step) in [(2_000, 1), (3_000, 2), (5_000, 5)] {
            let (old, new) = functions(n, step);
            let (o, nw) = (split_lines(&old), split_lines(&new));
            assert!(o.len() + nw.len() > MYERS_LINES);
            let ops = diff_ops(&o, &nw);
            assert_eq!(replay(&ops, &o, &nw), nw);
            let changed = ops.iter().filter(|op| !matches!(op, DiffOp::Equal { .. }));
            for op in changed.clone() {
                assert_eq!(
                    (op.old_range().len(), op.new_range().len()),
                    (1, 1),
                    "{op:?}"
                );
            }
            assert_eq!(changed.count(), n.div_ceil(step));
        }
    }

    #[test]
    fn large_gaps_without_anchors_still_give_the_new_text() {
        // No line occurs once: the middle is replaced whole, rightly.
        let old: Vec<u8> = b"a\nb\n".repeat(3_000);
        let mut new = old.clone();
        new.extend_from_slice(&b"b\na\n".repeat(2_000));
        let mut new2 = b"b\n".to_vec();
        new2.extend_from_slice(&new);
        for new in [new, new2] {
            let (o, nw) = (split_lines(&old), split_lines(&new));
            assert_eq!(replay(&diff_ops(&o, &nw), &o, &nw), nw);
        }
    }

    #[test]
    fn function_names_come_from_one_pass_in_order() {
        let lines = split_lines(b"int f(void)\n{\nout:\n\ta;\n}\nint g(void)\n{\n}\n");
        let mut f = FuncNames::default();
        assert_eq!(f.before(&lines, 0), None);
        assert_eq!(f.before(&lines, 4), Some(&b"int f(void)"[..]));
        assert_eq!(f.before(&lines, 7), Some(&b"int g(void)"[..]));
        // Asked again for an earlier line, it starts over.
        assert_eq!(f.before(&lines, 3), Some(&b"int f(void)"[..]));
        assert_eq!(f.before(&lines, 100), Some(&b"int g(void)"[..]));
    }
}
