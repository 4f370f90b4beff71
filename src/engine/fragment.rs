//! Reading a piece of C that is not a whole file, such as a hunk's new
//! side: a fragment usually starts and ends inside a function, so it is
//! also read wrapped in a function (named after the one git shows in the
//! hunk header, so that a rule's context still applies) with braces that
//! balance it, or headed by that function's first line. The readings are
//! ranked by likelihood; the caller runs each through the engine.

use crate::c::parsed::ParsedFile;

/// The identifier before the first `(` of a hunk header's function text.
pub fn function_of(funcname: &str) -> Option<&str> {
    let head = funcname[..funcname.find('(')?].trim_end();
    // The last character that is not part of an ASCII identifier may be
    // several bytes long (`int café(void)`): then the name is not ASCII
    // and there is none to give.
    let before = head
        .char_indices()
        .rfind(|&(_, c)| !(c.is_ascii_alphanumeric() || c == '_'));
    if before.is_some_and(|(_, c)| !c.is_ascii()) {
        return None;
    }
    let name = &head[before.map_or(0, |(i, c)| i + c.len_utf8())..];
    (!name.is_empty() && !name.starts_with(|c: char| c.is_ascii_digit())).then_some(name)
}

/// Brace depth the fragment reaches at its lowest and at its end, counting
/// braces outside comments, strings and character constants.
fn brace_depths(text: &[u8]) -> (isize, isize) {
    let (mut depth, mut min) = (0isize, 0isize);
    let mut i = 0;
    while i < text.len() {
        match text[i] {
            b'/' if text.get(i + 1) == Some(&b'/') => {
                while i < text.len() && text[i] != b'\n' {
                    i += 1;
                }
            }
            b'/' if text.get(i + 1) == Some(&b'*') => {
                i += 2;
                while i + 1 < text.len() && !(text[i] == b'*' && text[i + 1] == b'/') {
                    i += 1;
                }
                i += 1;
            }
            q @ (b'"' | b'\'') => {
                i += 1;
                while i < text.len() && text[i] != q && text[i] != b'\n' {
                    if text[i] == b'\\' {
                        i += 1;
                    }
                    i += 1;
                }
            }
            b'{' => depth += 1,
            b'}' => {
                depth -= 1;
                min = min.min(depth);
            }
            _ => {}
        }
        i += 1;
    }
    (min, depth)
}

/// A fragment ready for the engine: `prefix`, the fragment, `suffix`.
pub struct Reading {
    /// The text the engine runs on.
    pub buf: Vec<u8>,
    /// Bytes before the fragment.
    pub prefix_len: usize,
    /// Lines before the fragment.
    pub prefix_lines: usize,
    /// Bytes after the fragment.
    pub suffix_len: usize,
}

/// The fragment as it is and wrapped in a function whose braces balance it,
/// the likelier reading first: wrapped when the fragment closes more braces
/// than it opens (it starts inside a block) or has loose statements. When
/// git's hunk header shows a function's first line, a third reading puts
/// that line back above the fragment: a hunk that starts in the middle of a
/// parameter list then parses as the function it is.
pub fn readings(fragment: &[u8], funcname: &str) -> Vec<Reading> {
    let mut frag = fragment.to_vec();
    if !frag.is_empty() && !frag.ends_with(b"\n") {
        frag.push(b'\n');
    }
    let plain = Reading {
        buf: frag.clone(),
        prefix_len: 0,
        prefix_lines: 0,
        suffix_len: frag.len() - fragment.len(),
    };
    let (min, end) = brace_depths(fragment);
    let opens = (-min).max(1) as usize;
    let closes = (opens as isize + end).max(0) as usize;
    let name = function_of(funcname).unwrap_or("__bvmig_hunk");
    let mut prefix = format!("void {name}(void)\n").into_bytes();
    prefix.extend(b"{\n".repeat(opens));
    let suffix = b"}\n".repeat(closes);
    let mut buf = prefix.clone();
    buf.extend(&frag);
    buf.extend(&suffix);
    let wrapped = Reading {
        prefix_len: prefix.len(),
        prefix_lines: 1 + opens,
        suffix_len: suffix.len() + frag.len() - fragment.len(),
        buf,
    };
    let headed = (min >= 0 && function_of(funcname).is_some()).then(|| {
        let prefix = format!("{funcname}\n").into_bytes();
        let suffix = b"}\n".repeat(end.max(0) as usize);
        let mut buf = prefix.clone();
        buf.extend(&frag);
        buf.extend(&suffix);
        Reading {
            prefix_len: prefix.len(),
            prefix_lines: 1,
            suffix_len: suffix.len() + frag.len() - fragment.len(),
            buf,
        }
    });
    let mut out = if min < 0 || has_loose_statements(&plain.buf) {
        vec![wrapped, plain]
    } else {
        vec![plain, wrapped]
    };
    out.extend(headed);
    out
}

/// ERROR and MISSING nodes of `text` parsed as a file.
pub fn parse_errors(text: &[u8]) -> usize {
    ParsedFile::new(text).error_count()
}

/// True when the fragment, parsed on its own, has statements at the top
/// level that only a function body holds: tree-sitter takes them without an
/// error, but the rule's function context would not see them. A top-level
/// call statement (`EXPORT_SYMBOL(f);`) next to a function definition is
/// C as it stands.
fn has_loose_statements(text: &[u8]) -> bool {
    let parsed = ParsedFile::new(text);
    let root = parsed.root();
    let mut cursor = root.walk();
    let kinds: Vec<&str> = root.children(&mut cursor).map(|n| n.kind()).collect();
    let statement = |k: &&str| k.ends_with("_statement") && *k != "expression_statement";
    let has_function = kinds.contains(&"function_definition");
    kinds.iter().any(statement) || (!has_function && kinds.contains(&"expression_statement"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn function_names_from_hunk_headers() {
        assert_eq!(
            function_of("static int x_fill(struct bio *bio)"),
            Some("x_fill")
        );
        assert_eq!(
            function_of("struct page *bvec_page(const struct bio_vec *bv)"),
            Some("bvec_page")
        );
        assert_eq!(function_of("struct bio_vec {"), None);
        // Multibyte characters before `(`: no name, and no panic.
        assert_eq!(function_of("static int café(void)"), None);
        assert_eq!(function_of("int é_x(void)"), None);
        assert_eq!(function_of("/* ünï */ int f(void)"), Some("f"));
        assert_eq!(function_of("€("), None);
        assert_eq!(brace_depths(b"} x = '{'; /* { */ \"}\"\n{ {"), (-1, 1));
    }
}
