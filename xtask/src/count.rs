//! An independent count of a word in the code of a C tree: the oracle that
//! bvmig's site count is checked against.
//!
//! It shares nothing with bvmig's own scanner on purpose. It follows the C
//! translation phases that matter here: backslash-newline splices are
//! removed first (so `bv_\<newline>page` is one identifier, and a `//`
//! comment ending in a backslash goes on), then comments and string and
//! character literals are blanked, then whole-word matches are counted in
//! what is left.
//!
//! The walk mirrors the `ignore` crate's default filters as they apply to a
//! tree without `.git`: hidden entries are skipped, symbolic links are not
//! followed, and only regular `*.c` and `*.h` files are read. Anything that
//! would make bvmig's walker filter differently (a `.git` or `.ignore`) is
//! reported so that a mismatch is not blamed on the wrong side.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::Read;
use std::path::Path;

use anyhow::{Context, Result};
use walkdir::WalkDir;

/// One occurrence of the word, 1-based, the column counted in bytes (as
/// bvmig counts it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Occurrence {
    pub line: usize,
    pub col: usize,
}

/// What a walk found.
#[derive(Debug, Default)]
pub struct TreeCount {
    /// Files with at least one occurrence, by path relative to the root
    /// with `/` separators (the names bvmig prints).
    pub files: BTreeMap<String, Vec<Occurrence>>,
    /// Regular `*.c` and `*.h` files read.
    pub n_files: usize,
    /// Ignore files and repositories that bvmig's walker would honour but
    /// this one does not.
    pub filter_notes: Vec<String>,
}

impl TreeCount {
    pub fn total(&self) -> usize {
        self.files.values().map(Vec::len).sum()
    }
}

/// Counts `word` in every C file under `root`.
pub fn count_tree(root: &Path, word: &str) -> Result<TreeCount> {
    let mut res = TreeCount::default();
    for dir in root.ancestors().skip(1) {
        for special in [".git", ".ignore"] {
            if dir.join(special).exists() {
                res.filter_notes
                    .push(format!("{}: above the tree", dir.join(special).display()));
            }
        }
    }
    let mut buf = Vec::with_capacity(1 << 20);
    let mut scratch = Vec::with_capacity(1 << 20);
    let walk = WalkDir::new(root)
        .follow_links(false)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|e| e.depth() == 0 || !e.file_name().as_encoded_bytes().starts_with(b"."));
    for entry in walk {
        let entry = entry.with_context(|| format!("{}: cannot walk", root.display()))?;
        // Hidden entries never reach here, but their presence changes what
        // bvmig skips, so look one level down for them from each folder.
        if entry.file_type().is_dir() {
            for special in [".git", ".ignore"] {
                let p = entry.path().join(special);
                if p.exists() {
                    res.filter_notes
                        .push(format!("{}: inside the tree", p.display()));
                }
            }
            continue;
        }
        if !entry.file_type().is_file() || !is_c_file(entry.path()) {
            continue;
        }
        res.n_files += 1;
        buf.clear();
        File::open(entry.path())
            .and_then(|mut f| f.read_to_end(&mut buf))
            .with_context(|| format!("{}: cannot read", entry.path().display()))?;
        let occ = occurrences(&buf, word.as_bytes(), &mut scratch);
        if !occ.is_empty() {
            res.files.insert(rel_name(root, entry.path()), occ);
        }
    }
    Ok(res)
}

/// Counts `word` in one file.
pub fn count_file(path: &Path, word: &str) -> Result<Vec<Occurrence>> {
    let text = std::fs::read(path).with_context(|| format!("{}: cannot read", path.display()))?;
    Ok(occurrences(&text, word.as_bytes(), &mut Vec::new()))
}

/// The `count` task: every occurrence under `path`, then the totals.
pub fn print(path: &Path, word: &str) -> Result<()> {
    if path.is_file() {
        for o in count_file(path, word)? {
            println!("{}:{}:{}", path.display(), o.line, o.col);
        }
        return Ok(());
    }
    let res = count_tree(path, word)?;
    for (name, occ) in &res.files {
        for o in occ {
            println!("{name}:{}:{}", o.line, o.col);
        }
    }
    for note in &res.filter_notes {
        eprintln!("xtask: warning: {note}; bvmig's walker may skip files this count reads");
    }
    eprintln!(
        "xtask: {} occurrences of {word} in {} files; {} C files read",
        res.total(),
        res.files.len(),
        res.n_files
    );
    Ok(())
}

fn is_c_file(path: &Path) -> bool {
    matches!(path.extension().and_then(|e| e.to_str()), Some("c" | "h"))
}

fn rel_name(root: &Path, path: &Path) -> String {
    let rel = path.strip_prefix(root).unwrap_or(path);
    let parts: Vec<_> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect();
    parts.join("/")
}

/// The occurrences of `word` as an identifier in the code of `text`.
/// `scratch` is reused between calls to spare allocations over a whole tree.
pub fn occurrences(text: &[u8], word: &[u8], scratch: &mut Vec<u8>) -> Vec<Occurrence> {
    let shifts = splice(text, scratch);
    // Blanking only ever removes matches, so a spliced text without the
    // word's bytes has no occurrence; most files stop here.
    if find(scratch, word, 0).is_none() {
        return Vec::new();
    }
    blank_comments_and_literals(scratch);
    let mut res = Vec::new();
    let mut from = 0;
    while let Some(at) = find(scratch, word, from) {
        let end = at + word.len();
        let before_ok = at == 0 || !is_ident_byte(scratch[at - 1]);
        let after_ok = end == scratch.len() || !is_ident_byte(scratch[end]);
        if before_ok && after_ok {
            res.push(position(text, original_offset(&shifts, at)));
        }
        from = at + 1;
    }
    res
}

/// Bytes that may continue an identifier. GCC accepts `$` and UTF-8 in
/// identifiers, so `a$bv_page` is one name, not an occurrence.
fn is_ident_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'$' || b >= 0x80
}

fn find(hay: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    let first = *needle.first()?;
    let mut i = from;
    while i + needle.len() <= hay.len() {
        let at = i + hay[i..=hay.len() - needle.len()]
            .iter()
            .position(|&b| b == first)?;
        if &hay[at..at + needle.len()] == needle {
            return Some(at);
        }
        i = at + 1;
    }
    None
}

/// Copies `text` into `out` without its line splices, and returns, for each
/// splice, the offset in `out` where it was and the total number of bytes
/// removed up to and including it.
///
/// A splice is a backslash, optional spaces or tabs (GCC accepts them with
/// a warning, and `\r` of CRLF files), and a newline.
fn splice(text: &[u8], out: &mut Vec<u8>) -> Vec<(usize, usize)> {
    out.clear();
    let mut shifts = Vec::new();
    let mut removed = 0;
    let mut i = 0;
    while i < text.len() {
        let Some(bs) = text[i..].iter().position(|&b| b == b'\\') else {
            out.extend_from_slice(&text[i..]);
            break;
        };
        let bs = i + bs;
        out.extend_from_slice(&text[i..bs]);
        let mut j = bs + 1;
        while j < text.len() && matches!(text[j], b' ' | b'\t' | b'\r') {
            j += 1;
        }
        if j < text.len() && text[j] == b'\n' {
            removed += j + 1 - bs;
            shifts.push((out.len(), removed));
            i = j + 1;
        } else {
            out.push(b'\\');
            i = bs + 1;
        }
    }
    shifts
}

fn original_offset(shifts: &[(usize, usize)], at: usize) -> usize {
    // Splices recorded at `at` itself come before the byte there.
    let n = shifts.partition_point(|&(pos, _)| pos <= at);
    at + if n == 0 { 0 } else { shifts[n - 1].1 }
}

fn position(text: &[u8], offset: usize) -> Occurrence {
    let before = &text[..offset];
    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
    let line_start = before
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |p| p + 1);
    Occurrence {
        line,
        col: offset - line_start + 1,
    }
}

/// Replaces comments and the insides of string and character literals with
/// spaces, in place, keeping newlines.
///
/// A literal also ends at a newline: an apostrophe in the text of an
/// `#error` or of an `#if 0` block is not a character literal that runs on
/// to the next quote, and the compiler does not treat it as one either.
fn blank_comments_and_literals(t: &mut [u8]) {
    let n = t.len();
    let mut i = 0;
    while i < n {
        match t[i] {
            b'/' if i + 1 < n && t[i + 1] == b'/' => {
                let end = t[i..].iter().position(|&b| b == b'\n').map_or(n, |p| i + p);
                t[i..end].fill(b' ');
                i = end;
            }
            b'/' if i + 1 < n && t[i + 1] == b'*' => {
                let end = t[i + 2..]
                    .windows(2)
                    .position(|w| w == b"*/")
                    .map_or(n, |p| i + 2 + p + 2);
                for b in &mut t[i..end] {
                    if *b != b'\n' {
                        *b = b' ';
                    }
                }
                i = end;
            }
            q @ (b'"' | b'\'') => {
                let mut j = i + 1;
                while j < n {
                    match t[j] {
                        b'\\' => j += 2,
                        b'\n' => break,
                        b if b == q => {
                            j += 1;
                            break;
                        }
                        _ => j += 1,
                    }
                }
                let end = j.min(n);
                t[i..end].fill(b' ');
                i = end;
            }
            _ => i += 1,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(input: &str, expected: &[(usize, usize)]) {
        let got: Vec<(usize, usize)> = occurrences(input.as_bytes(), b"bv_page", &mut Vec::new())
            .iter()
            .map(|o| (o.line, o.col))
            .collect();
        assert_eq!(got, expected, "in {input:?}");
    }

    #[test]
    fn code_counts() {
        check("p = bv->bv_page;\n", &[(1, 9)]);
        check("x.bv_page=y.bv_page;", &[(1, 3), (1, 13)]);
        check("\"s\"bv_page", &[(1, 4)]);
    }

    #[test]
    fn whole_words_only() {
        check("bv_pages bvbv_page bv_page_x a$bv_page", &[]);
        check("bv_page1 _bv_page", &[]);
    }

    #[test]
    fn comments_do_not_count() {
        check("// bv_page\nbv_page", &[(2, 1)]);
        check("/* bv_page\n bv_page */ bv_page", &[(2, 13)]);
        check("/* unterminated bv_page", &[]);
        check("a /* x */ bv_page /* y */", &[(1, 11)]);
        check("/*/ bv_page */", &[]);
    }

    #[test]
    fn literals_do_not_count() {
        check("\"bv_page\" 'b' bv_page", &[(1, 15)]);
        check("\"a\\\"bv_page\" bv_page", &[(1, 14)]);
        check("'\\'' bv_page '\"' bv_page", &[(1, 6), (1, 18)]);
        check("\"a\\\\\" bv_page", &[(1, 7)]);
        check("L\"bv_page\" u8\"bv_page\"", &[]);
    }

    #[test]
    fn a_literal_ends_at_a_newline() {
        check("#error don't\nx->bv_page;\n", &[(2, 4)]);
        check("#if 0\nit's\n#endif\nbv_page '\n", &[(4, 1)]);
    }

    #[test]
    fn splices_join_lines() {
        check("bv_\\\npage", &[(1, 1)]);
        check("// c \\\n bv_page\nbv_page", &[(3, 1)]);
        check("#define X(b) \\\n\t(b)->bv_page\n", &[(2, 7)]);
        check("/\\\n/ bv_page\nbv_page", &[(3, 1)]);
        check("x \\ \t\n bv_page", &[(2, 2)]);
        check("\"a\\\nbv_page\" bv_page", &[(2, 10)]);
        check("a\\b bv_page", &[(1, 5)]);
    }
}
