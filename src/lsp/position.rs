//! Positions as LSP counts them: a 0-based line and a column in UTF-16
//! code units (the encoding every client must support, and the one this
//! server announces), against the byte offsets the engine works in.
//!
//! Lines end at `\n` (a `\r` before it belongs to the line's end, not to
//! its text), as the engine's own line numbers do.

use lsp_types::Position;

/// The line starts of a text, to turn byte offsets into positions and back.
pub(super) struct Lines<'a> {
    text: &'a str,
    /// Byte offset of each line's first byte; the first is 0.
    starts: Vec<usize>,
}

impl<'a> Lines<'a> {
    /// The lines of `text`.
    pub(super) fn new(text: &'a str) -> Lines<'a> {
        let mut starts = vec![0];
        starts.extend(memchr::memchr_iter(b'\n', text.as_bytes()).map(|i| i + 1));
        Lines { text, starts }
    }

    /// The byte offset of 1-based `line`, 1-based byte `col` (as findings
    /// give them).
    pub(super) fn offset_of(&self, line: usize, col: usize) -> usize {
        let start = self.starts.get(line.saturating_sub(1)).copied();
        start.map_or(self.text.len(), |s| {
            (s + col.saturating_sub(1)).min(self.text.len())
        })
    }

    /// The position of byte offset `off` (clamped to the text, and moved
    /// back to a character boundary).
    pub(super) fn position(&self, off: usize) -> Position {
        let mut off = off.min(self.text.len());
        while !self.text.is_char_boundary(off) {
            off -= 1;
        }
        let line = self.starts.partition_point(|&s| s <= off) - 1;
        let character = self.text[self.starts[line]..off].encode_utf16().count();
        Position {
            line: line as u32,
            character: character as u32,
        }
    }

    /// The byte offset of position `p`. A column past the line's end means
    /// its end (before `\r\n`), a line past the text's end the text's end,
    /// and a column inside a surrogate pair the character's start, as the
    /// protocol asks.
    pub(super) fn offset(&self, p: Position) -> usize {
        let Some(&start) = self.starts.get(p.line as usize) else {
            return self.text.len();
        };
        let end = self
            .starts
            .get(p.line as usize + 1)
            .map_or(self.text.len(), |&next| next - 1);
        let line = &self.text[start..end];
        let line = line.strip_suffix('\r').unwrap_or(line);
        let mut units = 0u32;
        for (i, c) in line.char_indices() {
            let next = units + c.len_utf16() as u32;
            if next > p.character {
                return start + i;
            }
            units = next;
        }
        start + line.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pos(line: u32, character: u32) -> Position {
        Position { line, character }
    }

    #[test]
    fn columns_count_utf16_units_and_round_trip() {
        // é: 2 bytes, 1 unit; 𝄞: 4 bytes, 2 units (a surrogate pair); 中: 3
        // bytes, 1 unit.
        let text = "ab\né𝄞中x\r\nlast";
        let lines = Lines::new(text);
        let x = text.find('x').unwrap();
        assert_eq!(lines.position(x), pos(1, 4));
        assert_eq!(lines.offset(pos(1, 4)), x);
        // Every offset but the one between \r and \n, which is inside a
        // line break, not a place in a line.
        for (off, _) in text
            .char_indices()
            .filter(|&(i, _)| i != text.find("\r\n").unwrap() + 1)
        {
            assert_eq!(lines.offset(lines.position(off)), off, "offset {off}");
        }
        assert_eq!(lines.position(text.len()), pos(2, 4));
        // Inside the surrogate pair: the character's start.
        assert_eq!(lines.offset(pos(1, 2)), text.find('𝄞').unwrap());
        // Past the line's end: before its \r\n; past the last line: the end.
        assert_eq!(lines.offset(pos(1, 99)), text.find('\r').unwrap());
        assert_eq!(lines.offset(pos(9, 0)), text.len());
        // Inside a multibyte character: its start.
        assert_eq!(lines.position(text.find('中').unwrap() + 1), pos(1, 3));
        assert_eq!(lines.offset_of(2, 10), x);
        assert_eq!(lines.offset_of(7, 1), text.len());
    }
}
