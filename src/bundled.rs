//! The rule files with their cases and the semantic fixtures, built into
//! the binary, so that `bvmig test` and `bvmig validate` work where there
//! is no checkout (an installed binary): written out to a temporary
//! directory, removed when the run ends.

use std::path::{Path, PathBuf};

use include_dir::{include_dir, Dir};

use crate::file::IoError;

static RULES: Dir = include_dir!("$CARGO_MANIFEST_DIR/rules");
static SEMANTIC: Dir = include_dir!("$CARGO_MANIFEST_DIR/fixtures/semantic");

/// The bundled files, written out: `rules/` (with `rules/tests/`) and
/// `fixtures/semantic/`.
pub struct Bundled {
    dir: tempfile::TempDir,
}

impl Bundled {
    /// Writes the bundled files to a new temporary directory.
    pub fn write() -> Result<Bundled, IoError> {
        let dir = tempfile::Builder::new()
            .prefix("bvmig-bundled-")
            .tempdir()
            .map_err(IoError::at(Path::new("temporary directory")))?;
        let b = Bundled { dir };
        for (what, at) in [(&RULES, b.rules()), (&SEMANTIC, b.semantic())] {
            std::fs::create_dir_all(&at).map_err(IoError::at(&at))?;
            what.extract(&at).map_err(IoError::at(&at))?;
        }
        Ok(b)
    }

    /// The directory holding `rules/` and `fixtures/`.
    pub fn root(&self) -> &Path {
        self.dir.path()
    }

    /// The rule files, with their cases in `tests/`.
    pub fn rules(&self) -> PathBuf {
        self.dir.path().join("rules")
    }

    /// The semantic fixtures.
    pub fn semantic(&self) -> PathBuf {
        self.dir.path().join("fixtures/semantic")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every file of the checkout's directories is bundled, with its bytes.
    #[test]
    fn the_bundle_is_the_checkout() {
        fn files(dir: &Path, base: &Path, out: &mut Vec<(PathBuf, Vec<u8>)>) {
            let mut entries: Vec<_> = std::fs::read_dir(dir)
                .unwrap()
                .map(|e| e.unwrap().path())
                .collect();
            entries.sort();
            for p in entries {
                if p.is_dir() {
                    files(&p, base, out);
                } else {
                    out.push((
                        p.strip_prefix(base).unwrap().to_path_buf(),
                        std::fs::read(&p).unwrap(),
                    ));
                }
            }
        }
        let b = Bundled::write().unwrap();
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        for (bundled, checkout) in [
            (b.rules(), root.join("rules")),
            (b.semantic(), root.join("fixtures/semantic")),
        ] {
            let (mut got, mut want) = (Vec::new(), Vec::new());
            files(&bundled, &bundled, &mut got);
            files(&checkout, &checkout, &mut want);
            assert!(!want.is_empty());
            assert!(
                got == want,
                "{} differs from {}",
                bundled.display(),
                checkout.display()
            );
        }
    }
}
