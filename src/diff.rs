//! Unified diffs in the kernel's style: `diff --git` headers, three lines of
//! context, and the enclosing function after `@@` as git shows it for C
//! (the kernel's `.gitattributes` sets `diff=cpp` for `*.c` and `*.h`).
//! Lines are bytes: invalid UTF-8, CRLF and a missing final newline pass
//! through unchanged.

use similar::{Algorithm, DiffOp, TextDiff};

/// Lines of context around each change.
pub const CONTEXT: usize = 3;

/// Appends the diff of `old` to `new` for file `name` to `out`; nothing when
/// they are equal.
pub fn unified(name: &str, old: &[u8], new: &[u8], out: &mut Vec<u8>) {
    if old == new {
        return;
    }
    let diff = TextDiff::configure()
        .algorithm(Algorithm::Myers)
        .diff_lines(old, new);
    let old_lines = diff.old_slices();
    let new_lines = diff.new_slices();
    out.extend_from_slice(
        format!("diff --git a/{name} b/{name}\n--- a/{name}\n+++ b/{name}\n").as_bytes(),
    );
    for group in diff.grouped_ops(CONTEXT) {
        let (first, last) = (&group[0], &group[group.len() - 1]);
        let old_start = first.old_range().start;
        let old_len = last.old_range().end - old_start;
        let new_start = first.new_range().start;
        let new_len = last.new_range().end - new_start;
        out.extend_from_slice(b"@@ -");
        range(out, old_start, old_len);
        out.extend_from_slice(b" +");
        range(out, new_start, new_len);
        out.extend_from_slice(b" @@");
        if let Some(f) = funcname(old_lines, old_start) {
            out.push(b' ');
            out.extend_from_slice(f);
        }
        out.push(b'\n');
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

fn range(out: &mut Vec<u8>, start: usize, len: usize) {
    // A hunk range names its first line (1-based); an empty one names the
    // line before it. The length is left out when it is one.
    let first = if len == 0 { start } else { start + 1 };
    if len == 1 {
        out.extend_from_slice(first.to_string().as_bytes());
    } else {
        out.extend_from_slice(format!("{first},{len}").as_bytes());
    }
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

/// The last line before line `before` (0-based) that git's `cpp` driver
/// takes for a function header: it starts with a letter, `_` or `::`, and is
/// not a label. Trailing blanks dropped, at most 80 bytes, as git does.
fn funcname<'a>(lines: &[&'a [u8]], before: usize) -> Option<&'a [u8]> {
    lines[..before.min(lines.len())]
        .iter()
        .rev()
        .find(|l| is_func_line(l))
        .map(|l| {
            let mut end = l.len().min(80);
            while end > 0 && l[end - 1].is_ascii_whitespace() {
                end -= 1;
            }
            &l[..end]
        })
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
}
