//! A C source file as bytes: positions, word occurrences, the extents of
//! `#define` directives, and a lexer's guess at the top-level items.
//!
//! Tree-sitter's C grammar ends a macro body at the first comment and gives
//! what follows a `\`-continued line to the top level, where it becomes ERROR
//! nodes. So the engine finds directive extents itself, with a small lexer that
//! knows comments, string literals and line continuations, blanks `#define`
//! bodies before the main parse (byte offsets are kept: every byte but `\n`
//! becomes a space), and parses each body on its own (see `syntax`).

use std::ops::Range;

/// Line starts of a file, for turning byte offsets into `line:col`.
#[derive(Debug, Clone)]
pub struct LineIndex {
    starts: Vec<usize>,
}

impl LineIndex {
    /// Indexes the line starts of `text`.
    pub fn new(text: &[u8]) -> LineIndex {
        let mut starts = vec![0];
        starts.extend(memchr::memchr_iter(b'\n', text).map(|i| i + 1));
        LineIndex { starts }
    }

    /// 1-based line and 1-based byte column of `offset`, as clang reports them.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let line = self.starts.partition_point(|&s| s <= offset) - 1;
        (line + 1, offset - self.starts[line] + 1)
    }

    /// Byte offset at which the 0-based line `line` starts.
    pub fn line_start(&self, line: usize) -> usize {
        self.starts[line]
    }
}

/// Width of `text` on a terminal, tabs to the next multiple of 8.
pub fn columns(text: &[u8]) -> usize {
    text.iter()
        .fold(0, |w, b| if *b == b'\t' { (w / 8 + 1) * 8 } else { w + 1 })
}

/// True for bytes that may appear in a C identifier.
pub fn is_ident_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'$'
}

/// Offsets of whole-word occurrences of `word` in `text` (not preceded or
/// followed by an identifier byte).
pub fn word_occurrences(text: &[u8], word: &str) -> Vec<usize> {
    let w = word.as_bytes();
    memchr::memmem::find_iter(text, w)
        .filter(|&i| {
            let before = i.checked_sub(1).map(|j| text[j]);
            let after = text.get(i + w.len()).copied();
            !before.is_some_and(is_ident_byte) && !after.is_some_and(is_ident_byte)
        })
        .collect()
}

/// Offsets of the whole-word occurrences of `word` that C's phase 2 makes
/// by joining lines: the name split by backslash-newlines (`bv_\` newline
/// `page`). Each offset is the name's first byte; the name spans more
/// bytes than `word`. Empty, at the cost of one search, for a text without
/// a backslash-newline.
pub fn spliced_word_occurrences(text: &[u8], word: &str) -> Vec<usize> {
    let w = word.as_bytes();
    let mut out = Vec::new();
    if w.is_empty()
        || memchr::memmem::find(text, b"\\\n").is_none()
            && memchr::memmem::find(text, b"\\\r\n").is_none()
    {
        return out;
    }
    // Only a splice with identifier bytes on both sides splits a name; the
    // name starts at the first identifier byte before it (splices skipped).
    for p in memchr::memchr_iter(b'\\', text) {
        let after = skip_splices(text, p);
        if after == p || p == 0 || !is_ident_byte(text[p - 1]) {
            continue;
        }
        if !text.get(after).copied().is_some_and(is_ident_byte) {
            continue;
        }
        let mut start = p;
        while let Some(q) = prev_skipping_splices(text, start) {
            if !is_ident_byte(text[q]) {
                break;
            }
            start = q;
        }
        if out.last() == Some(&start) {
            continue;
        }
        let (mut i, mut k) = (start, 0);
        while k < w.len() {
            let j = skip_splices(text, i);
            if text.get(j) != Some(&w[k]) {
                break;
            }
            i = j + 1;
            k += 1;
        }
        let end = skip_splices(text, i);
        if k == w.len() && i > start + w.len() && !text.get(end).copied().is_some_and(is_ident_byte)
        {
            out.push(start);
        }
    }
    out.dedup();
    out
}

/// The first offset at or after `i` that does not start a backslash-newline.
fn skip_splices(text: &[u8], mut i: usize) -> usize {
    while text.get(i) == Some(&b'\\') {
        match text.get(i + 1) {
            Some(b'\n') => i += 2,
            Some(b'\r') if text.get(i + 2) == Some(&b'\n') => i += 3,
            _ => break,
        }
    }
    i
}

/// The offset of the byte before `i`, backslash-newlines skipped.
fn prev_skipping_splices(text: &[u8], mut i: usize) -> Option<usize> {
    loop {
        let q = i.checked_sub(1)?;
        if text[q] == b'\n' {
            if q >= 1 && text[q - 1] == b'\\' {
                i = q - 1;
                continue;
            }
            if q >= 2 && text[q - 1] == b'\r' && text[q - 2] == b'\\' {
                i = q - 2;
                continue;
            }
        }
        return Some(q);
    }
}

/// A `#define` directive found by [`scan_defines`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Define {
    /// The macro's name.
    pub name: String,
    /// Parameter names of a function-like macro (`...` kept as written).
    pub params: Option<Vec<String>>,
    /// The replacement list: from the end of the name or parameter list to
    /// the end of the logical line, continuations and comments included.
    pub body: Range<usize>,
}

/// Finds the `#define` directives of `text`, with their bodies' extents.
///
/// A directive starts with `#` first on a line (after blanks) outside comments
/// and ends at the first newline that is not escaped by `\` and not inside a
/// block comment.
pub fn scan_defines(text: &[u8]) -> Vec<Define> {
    let mut defines = Vec::new();
    line_starts(text, |line| {
        if let Some(end) = line.directive_end {
            defines.extend(parse_define(text, line.first + 1, end));
        }
    });
    defines
}

/// The extents of the preprocessor directives of `text`, in order: from
/// the `#` to the end of the logical line (continuations and comments
/// followed), the newline excluded.
pub fn directives(text: &[u8]) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    line_starts(text, |line| {
        if let Some(end) = line.directive_end {
            out.push(line.first..end);
        }
    });
    out
}

/// The start of a line of code, as [`line_starts`] reports it.
struct LineStart {
    /// Offset of its first byte that is not a blank.
    first: usize,
    /// Whether blanks precede `first`.
    indented: bool,
    /// For a directive (`#` first): the end of its logical line.
    directive_end: Option<usize>,
}

/// Calls `f` for each line that starts outside a comment, a string or a
/// directive. A directive starts with `#` first on a line (after blanks)
/// and ends at the first newline that is not escaped by `\` and not inside
/// a block comment.
fn line_starts(text: &[u8], mut f: impl FnMut(LineStart)) {
    let n = text.len();
    let mut i = 0;
    let mut line_start = true;
    while i < n {
        let c = text[i];
        if line_start {
            line_start = false;
            let mut j = i;
            while j < n && (text[j] == b' ' || text[j] == b'\t') {
                j += 1;
            }
            let directive_end = (j < n && text[j] == b'#').then(|| directive_end(text, j));
            f(LineStart {
                first: j,
                indented: j > i,
                directive_end,
            });
            if let Some(end) = directive_end {
                i = end;
                continue;
            }
        }
        match c {
            b'\n' => {
                line_start = true;
                i += 1;
            }
            b'/' if text.get(i + 1) == Some(&b'*') => i = block_comment_end(text, i),
            b'/' if text.get(i + 1) == Some(&b'/') => i = line_comment_end(text, i),
            b'"' | b'\'' => i = quoted_end(text, i),
            _ => i += 1,
        }
    }
}

/// Copy of `text` with every `#define` body blanked (bytes other than `\n`
/// become spaces), so that offsets and lines are unchanged.
///
/// One `0` stays in each non-empty body: a directive that ends in blanks
/// lets tree-sitter-c skip the newline as white space and take the next
/// line, a function's header say, for the macro's value.
///
/// Block comments whose `*/` is split by backslash-newlines end as C ends
/// them ([`join_split_comment_ends`]).
pub fn blank_define_bodies(text: &[u8], defines: &[Define]) -> Vec<u8> {
    let mut out = text.to_vec();
    join_split_comment_ends(&mut out);
    for d in defines {
        let body = &mut out[d.body.clone()];
        let first = body.iter().position(|&b| b != b' ' && b != b'\t');
        for b in body.iter_mut() {
            if *b != b'\n' {
                *b = b' ';
            }
        }
        if let Some(p) = first.or((!body.is_empty()).then_some(0)) {
            if body[p] == b' ' {
                body[p] = b'0';
            }
        }
    }
    out
}

/// What a byte range of a file is at its top level, as [`top_level`] sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Span {
    /// A declaration or function definition: from its first token at bracket
    /// depth 0 to the `;` that ends it at depth 0, or to a `}` that closes
    /// depth 0 with nothing but blanks and comments after it on its line.
    Item,
    /// A comment between items.
    Comment,
}

/// The top-level items of `text` and the comments between them, in order.
/// Directives between items belong to neither; directives inside an item
/// (an `#ifdef` in a function body) belong to it.
///
/// This is a lexer's guess, made without parsing: it knows comments, string
/// and character literals, directives and brackets. `None` when the brackets
/// do not balance. A guess can be wrong (a conditional that opens a brace in
/// each branch, a declaration split across `#if`s); the caller parses each
/// span and trusts the guess only when every span parses cleanly.
pub fn top_level(text: &[u8]) -> Option<Vec<(Span, Range<usize>)>> {
    let n = text.len();
    let mut spans = Vec::new();
    let mut depth = 0usize;
    let mut item: Option<usize> = None;
    let mut line_start = true;
    let mut i = 0;
    while i < n {
        let c = text[i];
        if line_start {
            let mut j = i;
            while j < n && (text[j] == b' ' || text[j] == b'\t') {
                j += 1;
            }
            if j < n && text[j] == b'#' {
                i = directive_end(text, j);
                line_start = false;
                continue;
            }
            line_start = false;
        }
        match c {
            b'\n' => {
                line_start = true;
                i += 1;
            }
            b' ' | b'\t' | b'\r' | b'\x0b' | b'\x0c' => i += 1,
            // A line continuation outside a directive joins two lines.
            b'\\' if text.get(i + 1) == Some(&b'\n') => i += 2,
            b'\\' if text.get(i + 1) == Some(&b'\r') && text.get(i + 2) == Some(&b'\n') => i += 3,
            b'/' if matches!(text.get(i + 1), Some(b'*' | b'/')) => {
                let end = if text[i + 1] == b'*' {
                    block_comment_end(text, i)
                } else {
                    line_comment_end(text, i)
                };
                if item.is_none() {
                    spans.push((Span::Comment, i..end));
                }
                i = end;
            }
            _ => {
                let start = *item.get_or_insert(i);
                i = match c {
                    b'"' | b'\'' => quoted_end(text, i),
                    _ => i + 1,
                };
                match c {
                    b'(' | b'[' | b'{' => depth += 1,
                    b')' | b']' | b'}' => depth = depth.checked_sub(1)?,
                    _ => {}
                }
                let ends = depth == 0
                    && match c {
                        b';' => true,
                        b'}' => rest_of_line_blank(text, i),
                        _ => false,
                    };
                if ends {
                    spans.push((Span::Item, start..i));
                    item = None;
                }
            }
        }
    }
    if let Some(start) = item {
        spans.push((Span::Item, start..n));
    }
    Some(spans)
}

/// True when only blanks and comments follow `i` up to the end of its line.
fn rest_of_line_blank(text: &[u8], mut i: usize) -> bool {
    while i < text.len() {
        match text[i] {
            b' ' | b'\t' | b'\r' => i += 1,
            b'\n' => return true,
            b'/' if text.get(i + 1) == Some(&b'/') => return true,
            b'/' if text.get(i + 1) == Some(&b'*') => i = block_comment_end(text, i),
            _ => return false,
        }
    }
    true
}

/// The smallest set of [`top_level`] spans covering every offset in
/// `offsets` (sorted), merged where they touch. `None` when the file has no
/// trustworthy layout or an offset lies outside every span (in a directive
/// between items, say).
pub fn islands(text: &[u8], offsets: &[usize]) -> Option<Vec<Range<usize>>> {
    let spans = top_level(text)?;
    let mut out: Vec<Range<usize>> = Vec::new();
    for &o in offsets {
        let k = spans.partition_point(|(_, r)| r.end <= o);
        let (_, r) = spans.get(k).filter(|(_, r)| r.start <= o)?;
        if out.last() != Some(r) {
            out.push(r.clone());
        }
    }
    Some(out)
}

/// The names of loop macros used without braces: a line that starts (after
/// blanks) with an identifier containing `for_each`, its parenthesised
/// arguments, nothing else on the line, and a statement other than a block
/// on the next line:
///
/// ```c
///     __bio_for_each_segment(bv, bio, iter, start)
///             pages[nr_pages++] = bv.bv_page;
/// ```
///
/// Tree-sitter reads that as one broken expression, so the statement would
/// be distrusted. Overwriting the name with `while` (see [`mask_loop_macros`])
/// makes it a loop whose body parses; Coccinelle's parser has the same
/// heuristic for names containing `for_each`. Returns each name's range and
/// its arguments' range (from `(` to `)`).
pub fn loop_macros(text: &[u8]) -> Vec<(Range<usize>, Range<usize>)> {
    let mut out = Vec::new();
    line_starts(text, |line| {
        if line.directive_end.is_none() && line.indented {
            out.extend(loop_macro_at(text, line.first));
        }
    });
    out
}

fn loop_macro_at(text: &[u8], start: usize) -> Option<(Range<usize>, Range<usize>)> {
    let name_end = ident_at(text, start, text.len());
    let name = &text[start..name_end];
    if name.first().is_none_or(u8::is_ascii_digit)
        || memchr::memmem::find(name, b"for_each").is_none()
    {
        return None;
    }
    let mut i = name_end;
    while i < text.len() && (text[i] == b' ' || text[i] == b'\t') {
        i += 1;
    }
    if text.get(i) != Some(&b'(') {
        return None;
    }
    let open = i;
    let mut depth = 0usize;
    let close = loop {
        match *text.get(i)? {
            b'(' => depth += 1,
            b')' => {
                depth -= 1;
                if depth == 0 {
                    break i + 1;
                }
            }
            b';' | b'{' | b'}' | b'#' => return None,
            b'/' if matches!(text.get(i + 1), Some(b'*' | b'/')) => {
                i = if text[i + 1] == b'*' {
                    block_comment_end(text, i)
                } else {
                    line_comment_end(text, i)
                };
                continue;
            }
            b'"' | b'\'' => {
                i = quoted_end(text, i);
                continue;
            }
            _ => {}
        }
        i += 1;
    };
    if !rest_of_line_blank(text, close) {
        return None;
    }
    // The next token starts a statement, not a block or the end of a call.
    let mut j = close;
    loop {
        match text.get(j) {
            Some(b' ' | b'\t' | b'\r' | b'\n') => j += 1,
            Some(b'/') if text.get(j + 1) == Some(&b'*') => j = block_comment_end(text, j),
            Some(b'/') if text.get(j + 1) == Some(&b'/') => j = line_comment_end(text, j),
            Some(b'{' | b';' | b'#' | b'}' | b')') | None => return None,
            Some(_) => break,
        }
    }
    Some((start..name_end, open..close))
}

/// Overwrites each name in `names` (ranges from [`loop_macros`]) with
/// `while` and blanks, keeping offsets.
pub fn mask_loop_macros(text: &mut [u8], names: &[Range<usize>]) {
    for r in names {
        let name = &mut text[r.clone()];
        name.fill(b' ');
        name[..5].copy_from_slice(b"while");
    }
}

/// End (exclusive, before the newline) of the directive whose `#` is at `i`.
fn directive_end(text: &[u8], mut i: usize) -> usize {
    let n = text.len();
    while i < n {
        match text[i] {
            b'\n' => return i,
            b'\\' if text.get(i + 1) == Some(&b'\n') => i += 2,
            b'\\' if text.get(i + 1) == Some(&b'\r') && text.get(i + 2) == Some(&b'\n') => i += 3,
            b'/' if text.get(i + 1) == Some(&b'*') => i = block_comment_end(text, i),
            b'/' if text.get(i + 1) == Some(&b'/') => i = line_comment_end(text, i),
            b'"' | b'\'' => i = quoted_end(text, i),
            _ => i += 1,
        }
    }
    n
}

/// Offset just past the block comment starting at `i`. Its `*/` may be
/// split by backslash-newlines (`*\` newline `/`): C joins the lines
/// before it looks for comments, so that ends the comment too.
fn block_comment_end(text: &[u8], i: usize) -> usize {
    let mut j = i + 2;
    while let Some(k) = memchr::memchr(b'*', text.get(j..).unwrap_or_default()) {
        let after = skip_splices(text, j + k + 1);
        if text.get(after) == Some(&b'/') {
            return after + 1;
        }
        j += k + 1;
    }
    text.len()
}

/// Rewrites, in place, each block comment's end that backslash-newlines
/// split (`*\` newline `/`) to a plain `*/` followed by the same line
/// breaks, so that a parser that does not join lines (tree-sitter) ends
/// the comment where C does; offsets and lines stay as they were.
pub fn join_split_comment_ends(text: &mut [u8]) {
    if memchr::memmem::find(text, b"*\\").is_none() {
        return;
    }
    let n = text.len();
    let mut i = 0;
    while i < n {
        match text[i] {
            b'/' if text.get(i + 1) == Some(&b'*') => {
                let end = block_comment_end(text, i);
                if end >= i + 4 && text[end - 1] == b'/' && text[end - 2] != b'*' {
                    // text[star] is the `*`: the last one before the splices.
                    let star = text[..end - 1]
                        .iter()
                        .rposition(|&b| b == b'*')
                        .expect("a comment's end has its star");
                    text[star + 1] = b'/';
                    for b in &mut text[star + 2..end] {
                        if *b != b'\n' && *b != b'\r' {
                            *b = b' ';
                        }
                    }
                }
                i = end;
            }
            b'/' if text.get(i + 1) == Some(&b'/') => i = line_comment_end(text, i),
            b'"' | b'\'' => i = quoted_end(text, i),
            _ => i += 1,
        }
    }
}

/// Offset of the newline ending the line comment at `i` (a `\` before the
/// newline continues the comment, as in the C standard).
fn line_comment_end(text: &[u8], mut i: usize) -> usize {
    while i < text.len() {
        if text[i] == b'\n' && !(i > 0 && text[i - 1] == b'\\') && !ends_with_bs_cr(text, i) {
            return i;
        }
        i += 1;
    }
    i
}

fn ends_with_bs_cr(text: &[u8], nl: usize) -> bool {
    nl >= 2 && text[nl - 1] == b'\r' && text[nl - 2] == b'\\'
}

/// Offset just past the string or character literal starting at `i`; an
/// unterminated literal ends at the end of its line.
fn quoted_end(text: &[u8], i: usize) -> usize {
    let q = text[i];
    let mut j = i + 1;
    while j < text.len() {
        match text[j] {
            b'\\' => j += 2,
            b'\n' => return j,
            c if c == q => return j + 1,
            _ => j += 1,
        }
    }
    text.len()
}

/// Skips blanks, comments and line continuations inside a directive.
fn skip_directive_space(text: &[u8], mut i: usize, end: usize) -> usize {
    while i < end {
        match text[i] {
            b' ' | b'\t' | b'\r' | b'\x0c' | b'\x0b' => i += 1,
            b'\\' if text.get(i + 1) == Some(&b'\n') => i += 2,
            b'\\' if text.get(i + 1) == Some(&b'\r') => i += 3,
            b'/' if text.get(i + 1) == Some(&b'*') => i = block_comment_end(text, i).min(end),
            _ => break,
        }
    }
    i
}

fn ident_at(text: &[u8], i: usize, end: usize) -> usize {
    let mut j = i;
    while j < end && is_ident_byte(text[j]) {
        j += 1;
    }
    j
}

/// Parses `define NAME[(params)] body` between `i` (after `#`) and `end`.
fn parse_define(text: &[u8], i: usize, end: usize) -> Option<Define> {
    let i = skip_directive_space(text, i, end);
    let kw_end = ident_at(text, i, end);
    if &text[i..kw_end] != b"define" {
        return None;
    }
    let name_start = skip_directive_space(text, kw_end, end);
    let name_end = ident_at(text, name_start, end);
    if name_end == name_start {
        return None;
    }
    let name = String::from_utf8_lossy(&text[name_start..name_end]).into_owned();
    let mut j = name_end;
    let mut params = None;
    // A function-like macro has its `(` right after the name, no blank between.
    if j < end && text[j] == b'(' {
        let close = text[j..end].iter().position(|&b| b == b')')? + j;
        let list = String::from_utf8_lossy(&text[j + 1..close]).replace("\\\n", " ");
        params = Some(
            list.split(',')
                .map(|p| p.trim().to_string())
                .filter(|p| !p.is_empty())
                .collect(),
        );
        j = close + 1;
    }
    // The body starts right after the name or the parameters, blanks and
    // continuations included, so that blanking it leaves no stray `\`.
    Some(Define {
        name,
        params,
        body: j..end,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bodies(text: &str) -> Vec<(String, String)> {
        scan_defines(text.as_bytes())
            .into_iter()
            .map(|d| (d.name, text[d.body].trim_start().to_string()))
            .collect()
    }

    #[test]
    fn define_extent_follows_continuations_and_comments() {
        let text = "#define A(x) do { \\\n\t(x)->bv_page = 0; /* c */ \\\n} while (0)\nint y;\n";
        assert_eq!(
            bodies(text),
            vec![(
                "A".to_string(),
                "do { \\\n\t(x)->bv_page = 0; /* c */ \\\n} while (0)".to_string()
            )]
        );
    }

    #[test]
    fn block_comment_spans_lines_inside_a_define() {
        let text = "#define B 1 /* one\ntwo */ + 2\nint z;\n";
        assert_eq!(
            bodies(text),
            vec![("B".into(), "1 /* one\ntwo */ + 2".into())]
        );
    }

    #[test]
    fn hash_inside_comment_or_string_is_not_a_directive() {
        let text = "/*\n#define X 1\n*/\nchar *s = \"\\\n#define Y 2\";\n  #  define Z(a, b) a+b\n";
        assert_eq!(bodies(text), vec![("Z".into(), "a+b".into())]);
        let d = &scan_defines(text.as_bytes())[0];
        assert_eq!(
            d.params.as_deref(),
            Some(&["a".to_string(), "b".to_string()][..])
        );
    }

    #[test]
    fn object_like_macro_with_parenthesised_body() {
        let d = &scan_defines(b"#define C (1)\n")[0];
        assert_eq!(d.params, None);
    }

    #[test]
    fn blanking_keeps_offsets_and_newlines() {
        let text = b"#define A(x) \\\n (x)->bv_page\nint a;\n";
        let blanked = blank_define_bodies(text, &scan_defines(text));
        assert_eq!(blanked.len(), text.len());
        assert_eq!(&blanked[..], b"#define A(x) 0\n             \nint a;\n");
    }

    fn spans(text: &str) -> Vec<(Span, &str)> {
        top_level(text.as_bytes())
            .unwrap()
            .into_iter()
            .map(|(k, r)| (k, &text[r]))
            .collect()
    }

    #[test]
    fn top_level_items_end_at_semicolons_and_closing_lines() {
        let text = "\
#include <linux/bio.h>
/* doc */
struct s {
\tint a;
} __packed;
static void f(struct bio_vec *bv)
{
#ifdef X
\tbv->bv_page = 0; /* } */
#endif
} // end
#define M(x) 0
int g(void) { return '}'; }
";
        assert_eq!(
            spans(text),
            vec![
                (Span::Comment, "/* doc */"),
                (Span::Item, "struct s {\n\tint a;\n} __packed;"),
                (
                    Span::Item,
                    "static void f(struct bio_vec *bv)\n{\n#ifdef X\n\tbv->bv_page = 0; /* } */\n#endif\n}"
                ),
                (Span::Comment, "// end"),
                (Span::Item, "int g(void) { return '}'; }"),
            ]
        );
    }

    #[test]
    fn unbalanced_brackets_have_no_layout() {
        assert_eq!(top_level(b"void f(void) { }}\n"), None);
        assert_eq!(top_level(b"int a = (1;\n").unwrap().len(), 1);
    }

    #[test]
    fn islands_cover_each_offset_or_give_up() {
        let text =
            b"int a;\nint f(void) { return x->bv_page; }\n/* bv_page */\n#if bv_page\n#endif\n";
        let occ = word_occurrences(text, "bv_page");
        assert_eq!(occ.len(), 3);
        let isl = islands(text, &occ[..2]).unwrap();
        let got: Vec<&[u8]> = isl.iter().map(|r| &text[r.clone()]).collect();
        assert_eq!(
            got,
            vec![&b"int f(void) { return x->bv_page; }"[..], b"/* bv_page */"]
        );
        // In a directive between items: no island holds it.
        assert_eq!(islands(text, &occ), None);
    }

    #[test]
    fn loop_macros_only_where_an_unbraced_statement_follows() {
        let text = "\
void f(void)
{
\tlist_for_each_entry(a, b, c)
\t\tfoo(a);
\tlist_for_each_entry(a, b, c) {
\t}
\tlist_for_each_entry(a, b, c)
\t{
\t}
\tcall_for_each(x);
\tx = for_each_count(y)
\t\t+ 1;
\t/* for_each_in_comment(a)
\t\tfoo(a); */
}
for_each_at_top(a)
\tfoo(a);
";
        let found: Vec<(&str, &str)> = loop_macros(text.as_bytes())
            .into_iter()
            .map(|(n, a)| (&text[n], &text[a]))
            .collect();
        assert_eq!(found, vec![("list_for_each_entry", "(a, b, c)")]);
        let mut masked = text.as_bytes().to_vec();
        let names: Vec<_> = loop_macros(text.as_bytes())
            .into_iter()
            .map(|(n, _)| n)
            .collect();
        mask_loop_macros(&mut masked, &names);
        assert_eq!(masked.len(), text.len());
        assert!(String::from_utf8(masked)
            .unwrap()
            .contains("\twhile              (a, b, c)\n\t\tfoo(a);"));
    }

    #[test]
    fn words_respect_identifier_boundaries() {
        let t = b"bv_page bv_pages xbv_page a->bv_page;";
        assert_eq!(word_occurrences(t, "bv_page"), vec![0, 29]);
    }

    #[test]
    fn line_col_is_one_based() {
        let idx = LineIndex::new(b"ab\ncd\n");
        assert_eq!(idx.line_col(0), (1, 1));
        assert_eq!(idx.line_col(4), (2, 2));
    }
}
