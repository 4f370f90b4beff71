//! GNU C that tree-sitter-c 0.24 cannot read, masked (same length, lines
//! kept) to C it reads, so that the code around it parses and its
//! expressions are searched:
//!
//! - `typeof(E)`, `__typeof__(E)`, `typeof_unqual(E)` of an expression:
//!   the grammar has no `typeof`, and reads `typeof(T)` of a type as a
//!   macro's type only. As a type, `typeof(E)` becomes `enum{_=E}`, a type
//!   that holds an expression; as an argument of
//!   `__builtin_types_compatible_p` it becomes `sizeof(E)`.
//! - `__alignof__(E)`, `_Alignof(E)` of an expression: the grammar takes
//!   a type only; the keyword becomes `sizeof`.
//! - the type arguments of `__builtin_types_compatible_p(T1, T2)` that are
//!   not `typeof`: one identifier of underscores, so the call parses.
//! - the type argument of the kernel's macros that take one
//!   (`min_t(unsigned int, a, b)`, `container_of(p, struct foo, m)`) when
//!   it is not a single name: one identifier of underscores, so the call
//!   parses and its other arguments are searched.
//! - variable attributes between a declarator and its `=`, `,` or `;`
//!   (`*p __attribute__((unused)) =`, `__maybe_unused`, `__free(kfree)`):
//!   blanked.
//!
//! The masks only ever replace the GNU keyword, its parentheses, type
//! names and attributes, never an expression's bytes: an edit inside the
//! expression `E` is the same edit in the original, and an edit that
//! reaches into a mask is refused by the engine (the masked bytes differ
//! from the file's). `#define` bodies are parsed on their own, unmasked.

use crate::c::source;

/// Keywords of `typeof`.
const TYPEOF: &[&str] = &[
    "typeof",
    "__typeof__",
    "__typeof",
    "typeof_unqual",
    "__typeof_unqual__",
];

/// Keywords of `alignof`.
const ALIGNOF: &[&str] = &[
    "__alignof__",
    "__alignof",
    "_Alignof",
    "alignof",
    "_alignof",
];

/// Attribute macros the kernel puts after a variable's declarator, and
/// whether they take arguments.
const VARIABLE_ATTRIBUTES: &[(&str, bool)] = &[
    ("__attribute__", true),
    ("__attribute", true),
    ("__maybe_unused", false),
    ("__always_unused", false),
    ("__used", false),
    ("__free", true),
    ("__cleanup", true),
    ("__aligned", true),
    ("__read_mostly", false),
    ("__ro_after_init", false),
    ("__initdata", false),
];

/// Function-like macros of the kernel with a type argument, and its
/// position. (`offsetof` and `sizeof_field` are not here: the grammar
/// reads `offsetof` itself, and the engine classifies both.)
const TYPE_ARGUMENT_MACROS: &[(&str, usize)] = &[
    ("min_t", 0),
    ("max_t", 0),
    ("clamp_t", 0),
    ("container_of", 1),
    ("container_of_const", 1),
    ("list_entry", 1),
    ("list_first_entry", 1),
    ("list_last_entry", 1),
    ("list_first_entry_or_null", 1),
    ("list_next_entry", 1),
    ("hlist_entry", 1),
    ("hlist_entry_safe", 1),
    ("rb_entry", 1),
    ("rb_entry_safe", 1),
    ("va_arg", 1),
    ("typecheck", 0),
];

/// Words of C that begin a type name.
const TYPE_WORDS: &[&str] = &[
    "struct", "union", "enum", "const", "volatile", "signed", "unsigned", "int", "char", "short",
    "long", "float", "double", "void", "_Bool", "bool",
];

/// Masks, in place, the constructs listed in the module's comment,
/// outside comments, literals and directives.
pub fn mask(text: &mut [u8]) {
    if !TYPEOF
        .iter()
        .chain(ALIGNOF)
        .chain(["__builtin_types_compatible_p"].iter())
        .chain(VARIABLE_ATTRIBUTES.iter().map(|(w, _)| w))
        .chain(TYPE_ARGUMENT_MACROS.iter().map(|(w, _)| w))
        .any(|w| memchr::memmem::find(text, w.as_bytes()).is_some())
    {
        return;
    }
    for (start, end) in code_words(text) {
        let word = &text[start..end];
        if word == b"__builtin_types_compatible_p" {
            mask_types_compatible(text, end);
        } else if TYPEOF.iter().any(|w| w.as_bytes() == word) {
            mask_typeof(text, start, end);
        } else if ALIGNOF.iter().any(|w| w.as_bytes() == word) {
            if let Some((open, close)) = parens_after(text, end) {
                if looks_like_expression(&text[open + 1..close]) {
                    text[start..end].fill(b' ');
                    text[start..start + 6].copy_from_slice(b"sizeof");
                }
            }
        } else if let Some(&(_, args)) = VARIABLE_ATTRIBUTES
            .iter()
            .find(|(w, _)| w.as_bytes() == word)
        {
            mask_attribute(text, start, end, args);
        } else if let Some(&(_, k)) = TYPE_ARGUMENT_MACROS
            .iter()
            .find(|(w, _)| w.as_bytes() == word)
        {
            mask_macro_type_argument(text, end, k);
        }
    }
}

/// `typeof(E)` at `start..end` (the keyword) as a type: `enum{_=E}`.
fn mask_typeof(text: &mut [u8], start: usize, end: usize) {
    let Some((open, close)) = parens_after(text, end) else {
        return;
    };
    if !looks_like_expression(&text[open + 1..close]) || text[start..open].contains(&b'\n') {
        return;
    }
    // Already an argument of __builtin_types_compatible_p: masked there.
    if text[start..end].starts_with(b"sizeof") {
        return;
    }
    let head = &mut text[start..=open];
    head.fill(b'_');
    head[..5].copy_from_slice(b"enum{");
    let n = head.len();
    head[n - 1] = b'=';
    text[close] = b'}';
}

/// The arguments of `__builtin_types_compatible_p(` (its name ends at
/// `end`): `typeof(E)` as `sizeof(E)`, what follows it blanked; another
/// type as an identifier.
fn mask_types_compatible(text: &mut [u8], end: usize) {
    let Some((open, close)) = parens_after(text, end) else {
        return;
    };
    let mut arg_start = open + 1;
    for arg_end in commas(text, open + 1, close).into_iter().chain([close]) {
        mask_type_argument(text, arg_start, arg_end);
        arg_start = arg_end + 1;
    }
}

/// Argument `k` of the macro call whose name ends at `end`, when it is a
/// type of more than one name (`unsigned int`, `struct foo *`): one
/// identifier. A single name parses as it is and stays.
fn mask_macro_type_argument(text: &mut [u8], end: usize, k: usize) {
    let Some((open, close)) = parens_after(text, end) else {
        return;
    };
    let bounds: Vec<usize> = std::iter::once(open)
        .chain(commas(text, open + 1, close))
        .chain([close])
        .collect();
    let Some(w) = bounds.windows(2).nth(k) else {
        return;
    };
    let (start, end) = (w[0] + 1, w[1]);
    let arg = text[start..end].trim_ascii();
    let single = !arg.is_empty() && arg.iter().all(|b| source::is_ident_byte(*b));
    if !single && (starts_with_type_word(arg) || !looks_like_expression(arg)) {
        mask_type_argument(text, start, end);
    }
}

fn mask_type_argument(text: &mut [u8], start: usize, end: usize) {
    let lead = start
        + text[start..end]
            .iter()
            .take_while(|b| b.is_ascii_whitespace())
            .count();
    let word_end = lead
        + text[lead..end]
            .iter()
            .take_while(|b| source::is_ident_byte(**b))
            .count();
    let word = &text[lead..word_end];
    if TYPEOF.iter().any(|w| w.as_bytes() == word) {
        let Some((_, close)) = parens_after(text, word_end).filter(|(_, c)| *c < end) else {
            return;
        };
        text[lead..word_end].fill(b' ');
        text[lead..lead + 6].copy_from_slice(b"sizeof");
        // `typeof(E) *`: the pointer is the type's, not an operator.
        for b in &mut text[close + 1..end] {
            if *b != b'\n' {
                *b = b' ';
            }
        }
    } else if !looks_like_expression(&text[lead..end]) || starts_with_type_word(&text[lead..end]) {
        let last = end
            - text[lead..end]
                .iter()
                .rev()
                .take_while(|b| b.is_ascii_whitespace())
                .count();
        if last > lead && !text[lead..last].contains(&b'\n') {
            text[lead..last].fill(b'_');
        }
    }
}

/// A variable attribute at `start..end`: blanked, with its arguments,
/// when it stands between a declarator (after a name or `]`) and `=`,
/// `,` or `;`, where the grammar does not take it.
fn mask_attribute(text: &mut [u8], start: usize, end: usize, args: bool) {
    let before = text[..start]
        .iter()
        .rev()
        .find(|b| !b.is_ascii_whitespace())
        .copied();
    if !before.is_some_and(|b| source::is_ident_byte(b) || b == b']') {
        return;
    }
    let stop = match parens_after(text, end) {
        Some((_, close)) if args => close + 1,
        _ if args => return,
        _ => end,
    };
    let after = text[stop..].iter().find(|b| !b.is_ascii_whitespace());
    if !matches!(after, Some(b'=' | b',' | b';')) {
        return;
    }
    // An attribute that reads a member (`aligned(sizeof(x->m))`) stays,
    // so that no site is blanked.
    let inner = &text[end..stop];
    if memchr::memmem::find(inner, b"->").is_some() || inner.contains(&b'.') {
        return;
    }
    for b in &mut text[start..stop] {
        if *b != b'\n' {
            *b = b' ';
        }
    }
}

/// True when `spec`, the text of an enum specifier, is a `typeof` that
/// [`mask`] made (`enum{___=E}`): its type is `E`'s, not an enum.
pub fn is_masked_typeof(spec: &[u8]) -> bool {
    spec.strip_prefix(b"enum{_").is_some_and(|rest| {
        let n = rest.iter().take_while(|b| **b == b'_').count();
        rest.get(n) == Some(&b'=') && spec.ends_with(b"}")
    })
}

/// The `(` after `end` (blanks skipped) and its matching `)`, both on
/// code bytes (parentheses in literals and comments do not count).
fn parens_after(text: &[u8], end: usize) -> Option<(usize, usize)> {
    let open = end
        + text[end..]
            .iter()
            .take_while(|b| b.is_ascii_whitespace())
            .count();
    if text.get(open) != Some(&b'(') {
        return None;
    }
    let mut depth = 0usize;
    let mut i = open;
    while i < text.len() {
        match text[i] {
            b'(' => depth += 1,
            b')' => {
                depth -= 1;
                if depth == 0 {
                    return Some((open, i));
                }
            }
            b'"' | b'\'' => i = skip_literal(text, i) - 1,
            b';' | b'{' | b'}' => return None,
            _ => {}
        }
        i += 1;
    }
    None
}

/// Offsets of the commas at depth 0 between `start` and `end`.
fn commas(text: &[u8], start: usize, end: usize) -> Vec<usize> {
    let mut out = Vec::new();
    let mut depth = 0usize;
    let mut i = start;
    while i < end {
        match text[i] {
            b'(' | b'[' | b'{' => depth += 1,
            b')' | b']' | b'}' => depth = depth.saturating_sub(1),
            b',' if depth == 0 => out.push(i),
            b'"' | b'\'' => i = skip_literal(text, i) - 1,
            _ => {}
        }
        i += 1;
    }
    out
}

fn skip_literal(text: &[u8], i: usize) -> usize {
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

fn starts_with_type_word(arg: &[u8]) -> bool {
    let n = arg
        .iter()
        .take_while(|b| source::is_ident_byte(**b))
        .count();
    TYPE_WORDS.iter().any(|w| w.as_bytes() == &arg[..n])
}

/// True when `arg` (the inside of `typeof(...)` or `alignof(...)`) is
/// surely an expression: not a type's words, nor a name with only `*`
/// after it (a typedef or a variable: both parse already).
fn looks_like_expression(arg: &[u8]) -> bool {
    let arg = arg.trim_ascii();
    if arg.is_empty() || starts_with_type_word(arg) {
        return false;
    }
    let n = arg
        .iter()
        .take_while(|b| source::is_ident_byte(**b))
        .count();
    if n == 0 {
        // `*p`, `&x`, `(x)`: an operator first.
        return true;
    }
    !arg[n..]
        .iter()
        .all(|b| b.is_ascii_whitespace() || *b == b'*')
}

/// The identifiers of `text` in code: outside comments, literals and
/// directive lines.
fn code_words(text: &[u8]) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let n = text.len();
    let mut i = 0;
    let mut line_start = true;
    while i < n {
        let c = text[i];
        if line_start {
            line_start = false;
            let j = i + text[i..]
                .iter()
                .take_while(|b| **b == b' ' || **b == b'\t')
                .count();
            if text.get(j) == Some(&b'#') {
                // To the end of the logical line.
                let mut k = j;
                while k < n && text[k] != b'\n' {
                    if text[k] == b'\\' && text.get(k + 1) == Some(&b'\n') {
                        k += 1;
                    }
                    k += 1;
                }
                i = k;
                continue;
            }
        }
        match c {
            b'\n' => {
                line_start = true;
                i += 1;
            }
            b'/' if text.get(i + 1) == Some(&b'*') => {
                i = memchr::memmem::find(&text[i + 2..], b"*/").map_or(n, |k| i + 2 + k + 2);
            }
            b'/' if text.get(i + 1) == Some(&b'/') => {
                i = memchr::memchr(b'\n', &text[i..]).map_or(n, |k| i + k);
            }
            b'"' | b'\'' => i = skip_literal(text, i),
            c if source::is_ident_byte(c) => {
                let end = i + text[i..]
                    .iter()
                    .take_while(|b| source::is_ident_byte(**b))
                    .count();
                if !c.is_ascii_digit() {
                    out.push((i, end));
                }
                i = end;
            }
            _ => i += 1,
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(text: &str, want: &str) {
        let mut t = text.as_bytes().to_vec();
        mask(&mut t);
        assert_eq!(String::from_utf8(t).unwrap(), want);
        assert_eq!(want.len(), text.len());
    }

    #[test]
    fn typeof_of_an_expression_is_a_type_that_holds_it() {
        check("typeof(bv->bv_page) p = x;", "enum{_=bv->bv_page} p = x;");
        check(
            "(__typeof__(*b->bv_page) *)q",
            "(enum{_____=*b->bv_page} *)q",
        );
        // Of a type or a bare name, tree-sitter reads it already.
        check("typeof(struct page *) p;", "typeof(struct page *) p;");
        check("typeof(x) p;", "typeof(x) p;");
        let mut t = b"__typeof__(a->b)".to_vec();
        mask(&mut t);
        assert!(is_masked_typeof(&t));
        assert!(!is_masked_typeof(b"enum{_a=1}") && !is_masked_typeof(b"enum{A=1}"));
        // In comments, strings and directives, nothing.
        check(
            "/* typeof(a->b) */ \"typeof(a->b)\"\n#if typeof(a->b)\n",
            "/* typeof(a->b) */ \"typeof(a->b)\"\n#if typeof(a->b)\n",
        );
    }

    #[test]
    fn alignof_and_types_compatible() {
        check(
            "n = __alignof__(bv->bv_page) + _Alignof(int);",
            "n = sizeof     (bv->bv_page) + _Alignof(int);",
        );
        check(
            "__builtin_types_compatible_p(typeof(bv->bv_page), struct page *)",
            "__builtin_types_compatible_p(sizeof(bv->bv_page), _____________)",
        );
        check(
            "__builtin_types_compatible_p(__typeof__(a->bv_page) *, typeof(&x))",
            "__builtin_types_compatible_p(sizeof    (a->bv_page)  , sizeof(&x))",
        );
    }

    #[test]
    fn type_arguments_of_kernel_macros() {
        for (text, want) in [
            (
                "x = min_t(unsigned int, PAGE_SIZE - bv->bv_offset, n);",
                "x = min_t(____________, PAGE_SIZE - bv->bv_offset, n);",
            ),
            (
                "p = container_of(bv->bv_page, struct foo, page);",
                "p = container_of(bv->bv_page, __________, page);",
            ),
            (
                "p = list_entry(l, struct page *, lru);",
                "p = list_entry(l, _____________, lru);",
            ),
            // One name parses: it stays, and so does an expression.
            (
                "x = min_t(u32, a, b) + max_t(size_t, c, d);",
                "x = min_t(u32, a, b) + max_t(size_t, c, d);",
            ),
            (
                "x = va_arg(ap, unsigned long);",
                "x = va_arg(ap, _____________);",
            ),
        ] {
            check(text, want);
        }
        let mut t = b"n = min_t(unsigned int, bv->bv_len, x);".to_vec();
        mask(&mut t);
        let tree = crate::c::syntax::parse(&t);
        assert!(
            !tree.root_node().has_error(),
            "{}",
            String::from_utf8_lossy(&t)
        );
    }

    #[test]
    fn attributes_after_a_declarator() {
        check(
            "struct page *u __attribute__((unused)) = v, *w __maybe_unused;",
            "struct page *u                         = v, *w               ;",
        );
        check(
            "void *p __free(kfree) = NULL;",
            "void *p               = NULL;",
        );
        // Elsewhere the grammar reads them, or they read a member: kept.
        check(
            "__maybe_unused int x; int y __aligned(sizeof(a->b));",
            "__maybe_unused int x; int y __aligned(sizeof(a->b));",
        );
        check(
            "void f(void) __attribute__((noreturn));",
            "void f(void) __attribute__((noreturn));",
        );
    }
}
