//! What encloses a place in a file: the `#define` or the function around
//! an offset, as findings and baselines name it. It costs a parse of the
//! whole file, which the engine's fast path avoids, so checks ask for it
//! only when an output shows it.

use crate::c::parsed::ParsedFile;
use crate::engine::matcher;

/// A file, parsed to tell what encloses an offset.
pub struct Scope(ParsedFile);

impl Scope {
    /// Parses `text` (a whole file).
    pub fn new(text: &[u8]) -> Scope {
        Scope(ParsedFile::new(text))
    }

    /// The name of the macro or function around `off`.
    pub fn function_at(&self, off: usize) -> Option<String> {
        if let Some(d) = self.0.defines.iter().find(|d| d.body.contains(&off)) {
            return Some(d.name.clone());
        }
        let mut n = self.0.root().descendant_for_byte_range(off, off)?;
        loop {
            if n.kind() == "function_definition" {
                let name = matcher::function_name(n)?;
                return Some(
                    String::from_utf8_lossy(&self.0.blanked[name.byte_range()]).into_owned(),
                );
            }
            n = n.parent()?;
        }
    }
}
