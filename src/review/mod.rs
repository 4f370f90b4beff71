//! Reviewing patches: the raw accesses a series adds, each with what to use
//! instead, and the fix-up as a diff.
//!
//! Two ways to see the code:
//! - **From the hunks alone** ([`review_hunks`]): each hunk's new version (its
//!   context and added lines) is a fragment of C. A fragment usually starts
//!   and ends inside a function, so it is also tried wrapped in a function
//!   (named after the function git shows in the hunk header, so that the
//!   rule's context still applies) with braces that balance it; whichever
//!   parses with fewer errors is run through the engine, and positions are
//!   mapped back to the file's new line numbers. Only sites on added lines
//!   are reported; the fix-up diff applies on top of that patch.
//! - **On a tree** ([`review_tree`]): the touched files are copied from the
//!   tree to a scratch directory, the series is applied with `git apply`, one
//!   patch at a time (following which patch added each line), and the
//!   resulting files are checked whole. The fix-up applies on top of the
//!   series.

pub mod patches;

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::Path;

use similar::DiffOp;

use crate::check::{self, Finding, PatchRef};
use crate::diff;
use crate::diff::Tag;
use crate::engine::fragment::{self, Reading};
use crate::engine::Engine;
use crate::file::IoError;
use crate::git::{self, GitError};
use crate::input;
use crate::progress::Progress;
use crate::review::patches::{Patch, SeriesError};
use crate::smpl::RuleFile;

/// A problem with `--tree`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReviewError {
    /// The scratch directory could not be made or filled.
    #[error(transparent)]
    Io(#[from] IoError),
    /// The input is not a patch, a mail or an mbox.
    #[error(transparent)]
    Patches(#[from] SeriesError),
    /// The input is larger than `MAX_INPUT` (or endless, as `/dev/zero`).
    #[error("{input}: more than {} MiB; review reads at most that (is it a series of patches?)", MAX_INPUT >> 20)]
    TooLarge {
        /// The input's name.
        input: String,
    },
    /// The input could not be read.
    #[error("{input}: {source}")]
    Read {
        /// The input's name.
        input: String,
        /// Why.
        source: std::io::Error,
    },
    /// A patch does not apply to the tree.
    #[error("patch {index} ({subject}) does not apply to {tree}: {source}")]
    Apply {
        /// 1-based position of the patch.
        index: usize,
        /// Its subject.
        subject: String,
        /// The tree.
        tree: String,
        /// What git said.
        source: Box<GitError>,
    },
}

/// A suggested fix-up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Suggestion {
    /// The patch it applies on top of; `None` for the whole series.
    pub patch: Option<PatchRef>,
    /// The diff, in `bvmig patch`'s format.
    pub diff: Vec<u8>,
}

/// What a review found.
#[derive(Debug, Default)]
pub struct Reviewed {
    /// Raw accesses on added lines, by patch, then file, then position.
    pub findings: Vec<Finding>,
    /// Sites on added lines that the rule keeps raw.
    pub n_allowed: usize,
    /// Fix-ups for the findings that have a replacement.
    pub suggestions: Vec<Suggestion>,
    /// Files (`.c` and `.h`) whose added lines were looked at.
    pub n_files: usize,
}

/// A review of a series: how many of its patches change files, and what
/// was found.
#[derive(Debug)]
pub struct ReviewRun {
    /// Patches that change files (a cover letter changes none).
    pub n_patches: usize,
    /// Those patches, in order: a bot posts one check per patch, clean
    /// ones included.
    pub patches: Vec<PatchRef>,
    /// What was found.
    pub reviewed: Reviewed,
}

/// The most [`read_series`] reads: far more than any series a human sends
/// (a whole kernel release's patch is a fraction of it), and a bound on
/// what an endless input such as `/dev/zero` costs.
pub const MAX_INPUT: u64 = 256 << 20;

/// Reads a series from `reader` (named `name` in errors), at most
/// [`MAX_INPUT`] bytes.
pub fn read_series(name: &str, reader: impl std::io::Read) -> Result<Vec<u8>, ReviewError> {
    use std::io::Read;
    let mut buf = Vec::new();
    reader
        .take(MAX_INPUT + 1)
        .read_to_end(&mut buf)
        .map_err(|source| ReviewError::Read {
            input: name.to_string(),
            source,
        })?;
    if buf.len() as u64 > MAX_INPUT {
        return Err(ReviewError::TooLarge {
            input: name.to_string(),
        });
    }
    Ok(buf)
}

/// Reads `input` as [`run`] does, without reviewing it, and returns the
/// number of messages found: for the fuzz targets (`fuzz/`).
pub fn count_messages(name: &str, input: &[u8]) -> Result<usize, ReviewError> {
    Ok(patches::parse(name, input)?.len())
}

/// Reviews `input` (a patch, a mail or an mbox, named `name` in errors)
/// with `rules`: from its hunks alone, or applied to a scratch copy of
/// `tree`'s files. The phase "reviewing the patches" is reported to
/// `progress`.
pub fn run(
    rules: RuleFile,
    name: &str,
    input: &[u8],
    tree: Option<&Path>,
    progress: &dyn Progress,
) -> Result<ReviewRun, ReviewError> {
    let _reading = input::reading(name);
    let patches = patches::parse(name, input)?;
    let engine = Engine::new(rules);
    progress.begin("reviewing the patches", None);
    let reviewed = match tree {
        None => Ok(review_hunks(&engine, &patches)),
        Some(tree) => review_tree(&engine, &patches, tree),
    };
    progress.end();
    let changing: Vec<PatchRef> = patches
        .iter()
        .filter(|p| !p.files.is_empty())
        .map(patch_ref)
        .collect();
    Ok(ReviewRun {
        n_patches: changing.len(),
        patches: changing,
        reviewed: reviewed?,
    })
}

fn is_c(path: &str) -> bool {
    path.ends_with(".c") || path.ends_with(".h")
}

fn patch_ref(p: &Patch) -> PatchRef {
    PatchRef {
        index: p.index,
        subject: p.subject.clone(),
        message_id: p.message_id.clone(),
    }
}

/// Reviews `patches` from their hunks alone.
pub fn review_hunks(engine: &Engine, patches: &[Patch]) -> Reviewed {
    let mut out = Reviewed::default();
    let mut files_seen = BTreeSet::new();
    for patch in patches {
        let _patch = input::reading(format!("patch {}", patch.index));
        let pref = patch_ref(patch);
        let mut fixup = Vec::new();
        for file in &patch.files {
            let Some(name) = file.new_path.as_deref().filter(|n| is_c(n)) else {
                continue;
            };
            let _file = input::reading(name);
            input::provoke();
            files_seen.insert(name.to_string());
            let mut file_findings = Vec::new();
            let mut file_diff_started = false;
            for hunk in &file.hunks {
                let post: Vec<&(Tag, Vec<u8>)> =
                    hunk.lines.iter().filter(|l| l.0 != Tag::Removed).collect();
                if !post.iter().any(|l| l.0 == Tag::Added) {
                    continue;
                }
                let fragment: Vec<u8> = post.iter().flat_map(|l| l.1.iter().copied()).collect();
                let added: BTreeSet<usize> = post
                    .iter()
                    .enumerate()
                    .filter(|(_, l)| l.0 == Tag::Added)
                    .map(|(i, _)| hunk.new_start + i)
                    .collect();
                if !engine.may_match(&fragment) {
                    continue;
                }
                // Every reading goes through the engine; the one that
                // resolves more added sites (rewritten, or kept raw by the
                // rule's context) wins, then the one that parses better,
                // then the likelier one.
                let mut best: Option<(usize, usize, Reading, check::FileFindings)> = None;
                for w in fragment::readings(&fragment, &hunk.funcname) {
                    let outcome = engine.rewrite(&w.buf);
                    let shift = hunk.new_start as isize - 1 - w.prefix_lines as isize;
                    let found = check::findings(name, &w.buf, &outcome, shift, true);
                    let resolved = found
                        .allowed_lines
                        .iter()
                        .filter(|l| added.contains(l))
                        .count()
                        + found
                            .findings
                            .iter()
                            .filter(|f| f.fixable() && added.contains(&f.line))
                            .count();
                    let errors = fragment::parse_errors(&w.buf);
                    let better = best
                        .as_ref()
                        .is_none_or(|b| resolved > b.0 || (resolved == b.0 && errors < b.1));
                    if better {
                        best = Some((resolved, errors, w, found));
                    }
                }
                let (_, _, w, found) = best.expect("at least two readings");
                out.n_allowed += found
                    .allowed_lines
                    .iter()
                    .filter(|l| added.contains(l))
                    .count();
                let mut hunk_findings: Vec<Finding> = found
                    .findings
                    .into_iter()
                    .filter(|f| added.contains(&f.line))
                    .map(|mut f| {
                        f.patch = Some(pref.clone());
                        f
                    })
                    .collect();
                let chosen: Vec<&Finding> = hunk_findings.iter().collect();
                if let Ok(Some(new)) = check::fix(name, &w.buf, &chosen) {
                    let old_frag = &w.buf[w.prefix_len..w.buf.len() - w.suffix_len];
                    let new_frag = &new[w.prefix_len..new.len() - w.suffix_len];
                    let mut d = Vec::new();
                    diff::unified(name, old_frag, new_frag, &mut d);
                    diff::shift_hunks(
                        &d,
                        hunk.new_start.saturating_sub(1),
                        &hunk.funcname,
                        !file_diff_started,
                        &mut fixup,
                    );
                    file_diff_started = true;
                }
                // A replacement's range is an offset in the wrapped fragment
                // (its lines are the file's): good for `fix` above only.
                file_findings.append(&mut hunk_findings);
            }
            out.findings.extend(file_findings);
        }
        if !fixup.is_empty() {
            out.suggestions.push(Suggestion {
                patch: Some(pref),
                diff: fixup,
            });
        }
    }
    out.n_files = files_seen.len();
    out
}

/// For each line of a file, the patch (1-based index) that added it, or
/// `None` for a line of the tree.
type Origins = Vec<Option<usize>>;

fn lines_of(text: &[u8]) -> usize {
    text.split_inclusive(|&b| b == b'\n').count()
}

/// `before`'s origins carried to `after`, lines new in `after` from `index`.
fn carry(before: &[u8], after: &[u8], origins: &Origins, index: usize) -> Origins {
    // Lines end at `\n` only, as `lines_of` counts them.
    let ops = similar::capture_diff_slices(
        similar::Algorithm::Myers,
        &diff::split_lines(before),
        &diff::split_lines(after),
    );
    let mut out = Vec::with_capacity(lines_of(after));
    for op in &ops {
        match *op {
            DiffOp::Equal { old_index, len, .. } => {
                out.extend((0..len).map(|i| origins.get(old_index + i).copied().flatten()));
            }
            DiffOp::Insert { new_len, .. } | DiffOp::Replace { new_len, .. } => {
                out.extend(std::iter::repeat_n(Some(index), new_len));
            }
            DiffOp::Delete { .. } => {}
        }
    }
    out
}

/// Reviews `patches` applied to a scratch copy of the files they touch in
/// `tree`.
pub fn review_tree(
    engine: &Engine,
    patches: &[Patch],
    tree: &Path,
) -> Result<Reviewed, ReviewError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| ReviewError::Io(IoError::new(path, source))
    };
    let scratch = tempfile::Builder::new()
        .prefix("bvmig-review-")
        .tempdir()
        .map_err(io(Path::new("temporary directory")))?;
    let root = scratch.path();
    let mut origins: BTreeMap<String, Origins> = BTreeMap::new();
    let read = |rel: &str| crate::file::read(&root.join(rel)).unwrap_or_default();
    for patch in patches {
        if patch.files.is_empty() {
            continue;
        }
        let mut before: BTreeMap<String, Vec<u8>> = BTreeMap::new();
        for f in &patch.files {
            if let Some(old) = &f.old_path {
                if !origins.contains_key(old) && !root.join(old).exists() {
                    let src = tree.join(old);
                    if src.is_file() {
                        let dest = root.join(old);
                        if let Some(dir) = dest.parent() {
                            fs::create_dir_all(dir).map_err(io(dir))?;
                        }
                        fs::copy(&src, &dest).map_err(io(&src))?;
                        let n = lines_of(&read(old));
                        origins.insert(old.clone(), vec![None; n]);
                    }
                }
                before.insert(old.clone(), read(old));
            }
        }
        git::apply(root, &patch.body).map_err(|source| ReviewError::Apply {
            index: patch.index,
            subject: patch.subject.clone(),
            tree: tree.display().to_string(),
            source: Box::new(source),
        })?;
        for f in &patch.files {
            let Some(new) = &f.new_path else {
                if let Some(old) = &f.old_path {
                    origins.remove(old);
                }
                continue;
            };
            let (old_text, old_origins) = match &f.old_path {
                Some(old) => (
                    before.get(old).cloned().unwrap_or_default(),
                    origins.get(old).cloned().unwrap_or_default(),
                ),
                None => (Vec::new(), Vec::new()),
            };
            let carried = carry(&old_text, &read(new), &old_origins, patch.index);
            if let Some(old) = &f.old_path {
                if old != new && !patch.files.iter().any(|g| g.new_path.as_ref() == Some(old)) {
                    origins.remove(old);
                }
            }
            origins.insert(new.clone(), carried);
        }
    }

    let mut out = Reviewed::default();
    let mut fixup = Vec::new();
    for (name, lines) in &origins {
        if !is_c(name) || lines.iter().all(Option::is_none) {
            continue;
        }
        out.n_files += 1;
        let _file = input::reading(name.as_str());
        input::provoke();
        let text = read(name);
        let outcome = engine.rewrite(&text);
        let found = check::findings(name, &text, &outcome, 0, true);
        let origin_of = |line: usize| lines.get(line - 1).copied().flatten();
        out.n_allowed += found
            .allowed_lines
            .iter()
            .filter(|&&l| origin_of(l).is_some())
            .count();
        let kept: Vec<Finding> = found
            .findings
            .into_iter()
            .filter_map(|mut f| {
                let k = origin_of(f.line)?;
                let p = patches.iter().find(|p| p.index == k)?;
                f.patch = Some(patch_ref(p));
                Some(f)
            })
            .collect();
        let chosen: Vec<&Finding> = kept.iter().collect();
        if let Ok(Some(new)) = check::fix(name, &text, &chosen) {
            diff::unified(name, &text, &new, &mut fixup);
        }
        out.findings.extend(kept);
    }
    out.findings.sort_by(|a, b| {
        let pa = a.patch.as_ref().map_or(0, |p| p.index);
        let pb = b.patch.as_ref().map_or(0, |p| p.index);
        (pa, &a.file, a.line, a.col).cmp(&(pb, &b.file, b.line, b.col))
    });
    if !fixup.is_empty() {
        out.suggestions.push(Suggestion {
            patch: None,
            diff: fixup,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::review::patches;
    use crate::smpl::RuleFile;

    fn check(patch: &str, expected: &[&str]) -> Reviewed {
        let engine = Engine::new(RuleFile::default_rule());
        let patches = patches::parse("t.patch", patch.as_bytes()).unwrap();
        let r = review_hunks(&engine, &patches);
        let got: Vec<String> = r
            .findings
            .iter()
            .map(|f| {
                format!(
                    "{}:{}:{}: {}: {} [{}]",
                    f.file,
                    f.line,
                    f.col,
                    f.kind,
                    f.message(),
                    f.function.as_deref().unwrap_or("-")
                )
            })
            .collect();
        assert_eq!(got, expected);
        r
    }

    #[test]
    fn a_hunk_inside_a_function_is_parsed_as_its_body() {
        let r = check(
            "--- a/block/x.c
+++ b/block/x.c
@@ -40,6 +40,8 @@ static int x_fill(struct bio *bio)
 	struct bio_vec bv;
 
 	bio_for_each_segment(bv, bio, iter) {
+		struct page *p = bv.bv_page;
+		memzero_page(bv.bv_page, bv.bv_offset, bv.bv_len);
 		if (bv.bv_len > 4096)
 			break;
 	}
 	return 0;
 }
",
            &[
                "block/x.c:43:23: read: use bvec_page(&bv) [x_fill]",
                "block/x.c:44:19: read: use bvec_page(&bv) [x_fill]",
            ],
        );
        assert_eq!(r.suggestions.len(), 1);
        assert_eq!(
            String::from_utf8(r.suggestions[0].diff.clone()).unwrap(),
            "diff --git a/block/x.c b/block/x.c
--- a/block/x.c
+++ b/block/x.c
@@ -40,8 +40,8 @@ static int x_fill(struct bio *bio)
 	struct bio_vec bv;
 
 	bio_for_each_segment(bv, bio, iter) {
-		struct page *p = bv.bv_page;
-		memzero_page(bv.bv_page, bv.bv_offset, bv.bv_len);
+		struct page *p = bvec_page(&bv);
+		memzero_page(bvec_page(&bv), bv.bv_offset, bv.bv_len);
 		if (bv.bv_len > 4096)
 			break;
 	}
"
        );
    }

    #[test]
    fn context_lines_are_not_reported_and_helpers_stay_raw() {
        check(
            "--- a/include/linux/bvec.h
+++ b/include/linux/bvec.h
@@ -10,3 +10,4 @@ static inline struct page *bvec_page(const struct bio_vec *bv)
 {
+	WARN_ON(!bv->bv_page);
 	return bv->bv_page;
 }
@@ -30,2 +31,7 @@ static inline void bvec_set_page(struct bio_vec *bv, struct page *page)
 	bv->bv_page = page;
 }
+
+static inline struct page **bvec_page_slot(struct bio_vec *bv)
+{
+	return &bv->bv_page;
+}
",
            &["include/linux/bvec.h:36:14: address: its address is taken; a helper call has no address [bvec_page_slot]"],
        );
    }
}
