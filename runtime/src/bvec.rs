//! `struct bio_vec` named by a pfn, `struct bvec_iter`, and the segments an
//! iterator yields.
//!
//! After the series a `bio_vec` is `{ bv_pfn, bv_len, bv_offset }`. A bvec
//! may cover several physically contiguous frames (a multi-page bvec, built
//! by merging adds); iteration yields either those multi-page segments
//! ([`for_each_mp_bvec`]) or single-page ones ([`for_each_bvec`]), as
//! `bio_for_each_bvec` and `bio_for_each_segment` do.
//!
//! **Invariant:** a [`BioVec`] is never empty, its offset lies inside its
//! first frame, carries no scatterlist flags, and its last frame still fits
//! in a `pfn_t`: a bvec never reaches past the frame range it names.

use thiserror::Error;

use crate::memory::Page;
use crate::pfn_t::{page_to_pfn_t, pfn_t_to_page, pfn_t_to_phys, PfnT, PFN_SG_CHAIN, PFN_SG_LAST};
use crate::severity::{Misuse, Severity};
use crate::{PAGE_SHIFT, PAGE_SIZE};

/// Errors of bvecs and their iterators.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum BvecError {
    /// A bvec of zero bytes.
    #[error("bio_vec of zero bytes")]
    Empty,
    /// An offset outside the first frame.
    #[error("bio_vec offset {offset:#x} is not inside its first frame")]
    Offset {
        /// The offset.
        offset: u32,
    },
    /// A bvec whose last frame would not fit in a `pfn_t`.
    #[error("bio_vec of {len:#x} bytes at offset {offset:#x} of pfn_t {pfn:#x} reaches past the pfn space")]
    BeyondPfnSpace {
        /// Raw `pfn_t`.
        pfn: u64,
        /// Length.
        len: u32,
        /// Offset.
        offset: u32,
    },
    /// A `pfn_t` with scatterlist flags, which mean nothing in a bvec.
    #[error("pfn_t {0:#x} of a bio_vec carries scatterlist flags")]
    SgFlags(u64),
    /// `bvec_iter_advance` past the end (the kernel WARNs and empties the
    /// iterator).
    #[error("attempted to advance {bytes} bytes past the end of a bvec iter with {size} left")]
    AdvancePastEnd {
        /// Bytes asked for.
        bytes: u32,
        /// Bytes that were left.
        size: u32,
    },
    /// A segment asked of an exhausted iterator.
    #[error("segment of an exhausted bvec iter")]
    IterEmpty,
    /// An iterator pointing past its bvec table.
    #[error("bvec iter index {idx} is past the {nr} bvecs of its table")]
    IterOutOfTable {
        /// The index.
        idx: u32,
        /// Bvecs in the table.
        nr: usize,
    },
    /// An iterator that has consumed more of a bvec than it has.
    #[error("bvec iter has done {done} bytes of a bvec of {len}")]
    DoneBeyondBvec {
        /// Bytes done.
        done: u32,
        /// Length of the bvec.
        len: u32,
    },
}

impl Misuse for BvecError {
    fn severity(&self) -> Severity {
        match self {
            BvecError::Empty | BvecError::AdvancePastEnd { .. } => Severity::Warn,
            _ => Severity::Bug,
        }
    }
}

/// `struct bio_vec` after the series: a pfn, a length and an offset into
/// the first frame. Layout-compatible with the C `struct bio_vec` of
/// `BVMIG_LAYOUT_PFN`.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct BioVec {
    bv_pfn: PfnT,
    bv_len: u32,
    bv_offset: u32,
}

impl BioVec {
    /// A bvec of `len` bytes at `offset` into the frame of `pfn`, which may
    /// run on into the following frames.
    pub fn new(pfn: PfnT, len: u32, offset: u32) -> Result<BioVec, BvecError> {
        if len == 0 {
            return Err(BvecError::Empty);
        }
        if offset >= PAGE_SIZE {
            return Err(BvecError::Offset { offset });
        }
        check_pfn(pfn, len, offset)?;
        Ok(BioVec {
            bv_pfn: pfn,
            bv_len: len,
            bv_offset: offset,
        })
    }

    /// The `pfn_t` of the first frame.
    pub fn bv_pfn(&self) -> PfnT {
        self.bv_pfn
    }

    /// Bytes covered.
    pub fn bv_len(&self) -> u32 {
        self.bv_len
    }

    /// Offset into the first frame.
    pub fn bv_offset(&self) -> u32 {
        self.bv_offset
    }

    /// Physical address of the first byte.
    pub fn phys(&self) -> u64 {
        pfn_t_to_phys(self.bv_pfn) + u64::from(self.bv_offset)
    }

    /// Physical address one past the last byte.
    pub fn phys_end(&self) -> u64 {
        self.phys() + u64::from(self.bv_len)
    }

    /// Number of frames touched.
    pub fn nr_frames(&self) -> u64 {
        (u64::from(self.bv_offset) + u64::from(self.bv_len)).div_ceil(u64::from(PAGE_SIZE))
    }

    /// A piece of a valid bvec: `len` bytes at `offset` into frame `pfn`,
    /// where the caller has cut them out of a bvec that already satisfies
    /// the invariant. A piece of a valid bvec is valid (non-empty, offset
    /// normalised, frames a subset of the whole), so iteration, the hot
    /// path, need not check again; debug builds still do.
    fn piece(pfn: PfnT, len: u32, offset: u32) -> BioVec {
        debug_assert!(BioVec::new(pfn, len, offset).is_ok());
        BioVec {
            bv_pfn: pfn,
            bv_len: len,
            bv_offset: offset,
        }
    }

    /// The same bvec `n` bytes longer, if that keeps the invariant.
    pub(crate) fn grown(&self, n: u32) -> Option<BioVec> {
        let len = self.bv_len.checked_add(n)?;
        BioVec::new(self.bv_pfn, len, self.bv_offset).ok()
    }
}

fn check_pfn(pfn: PfnT, len: u32, offset: u32) -> Result<(), BvecError> {
    if pfn.raw() & (PFN_SG_CHAIN | PFN_SG_LAST) != 0 {
        return Err(BvecError::SgFlags(pfn.raw()));
    }
    let last = (u64::from(offset) + u64::from(len) - 1) >> PAGE_SHIFT;
    if pfn.nth(last).is_none() {
        return Err(BvecError::BeyondPfnSpace {
            pfn: pfn.raw(),
            len,
            offset,
        });
    }
    Ok(())
}

/// The page of a bvec, or `None` if it is page-less (the series' helper
/// that replaces reading `bv_page`).
pub fn bvec_page(bv: &BioVec) -> Option<Page> {
    pfn_t_to_page(bv.bv_pfn)
}

/// Points a bvec at a page, keeping its length and offset.
pub fn bvec_set_page(bv: &mut BioVec, page: Page) -> Result<(), BvecError> {
    bvec_set_pfn(bv, page_to_pfn_t(page))
}

/// The `pfn_t` of a bvec.
pub fn bvec_pfn(bv: &BioVec) -> PfnT {
    bv.bv_pfn
}

/// Points a bvec at a pfn, keeping its length and offset.
pub fn bvec_set_pfn(bv: &mut BioVec, pfn: PfnT) -> Result<(), BvecError> {
    check_pfn(pfn, bv.bv_len, bv.bv_offset)?;
    bv.bv_pfn = pfn;
    Ok(())
}

/// `struct bvec_iter`: a position in a bvec table and the bytes left.
///
/// Plain data, as in the kernel (C code writes it); functions that take one
/// check it against the table they are given.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct BvecIter {
    /// Device address in 512-byte sectors.
    pub bi_sector: u64,
    /// Bytes left.
    pub bi_size: u32,
    /// Current index into the bvec table.
    pub bi_idx: u32,
    /// Bytes done in the current bvec.
    pub bi_bvec_done: u32,
}

/// Moves `iter` on by `bytes` within `bv`.
///
/// Advancing past the end is [`BvecError::AdvancePastEnd`], after which the
/// iterator is empty, as the kernel leaves it after its WARN. An iterator
/// inconsistent with its table is left untouched.
pub fn bvec_iter_advance(bv: &[BioVec], iter: &mut BvecIter, bytes: u32) -> Result<(), BvecError> {
    if bytes > iter.bi_size {
        let size = iter.bi_size;
        iter.bi_size = 0;
        return Err(BvecError::AdvancePastEnd { bytes, size });
    }
    let mut idx = iter.bi_idx as usize;
    let mut left = u64::from(bytes) + u64::from(iter.bi_bvec_done);
    while left > 0 {
        let Some(vec) = bv.get(idx) else {
            return Err(BvecError::IterOutOfTable {
                idx: iter.bi_idx,
                nr: bv.len(),
            });
        };
        if left < u64::from(vec.bv_len) {
            break;
        }
        left -= u64::from(vec.bv_len);
        idx += 1;
    }
    iter.bi_size -= bytes;
    // Both fit in u32: idx is bounded by the table, left by one bv_len.
    iter.bi_idx = idx as u32;
    iter.bi_bvec_done = left as u32;
    Ok(())
}

/// The multi-page segment at `iter`: the rest of the current bvec, capped
/// at the bytes left (`mp_bvec_iter_bvec`). The offset is normalised into
/// the segment's first frame.
pub fn mp_bvec_iter_bvec(bv: &[BioVec], iter: BvecIter) -> Result<BioVec, BvecError> {
    if iter.bi_size == 0 {
        return Err(BvecError::IterEmpty);
    }
    let vec = bv
        .get(iter.bi_idx as usize)
        .ok_or(BvecError::IterOutOfTable {
            idx: iter.bi_idx,
            nr: bv.len(),
        })?;
    if iter.bi_bvec_done >= vec.bv_len {
        return Err(BvecError::DoneBeyondBvec {
            done: iter.bi_bvec_done,
            len: vec.bv_len,
        });
    }
    let len = iter.bi_size.min(vec.bv_len - iter.bi_bvec_done);
    let offset = u64::from(vec.bv_offset) + u64::from(iter.bi_bvec_done);
    let pfn = vec
        .bv_pfn
        .nth(offset >> PAGE_SHIFT)
        .ok_or(BvecError::BeyondPfnSpace {
            pfn: vec.bv_pfn.raw(),
            len: vec.bv_len,
            offset: vec.bv_offset,
        })?;
    // `len` is non-zero (bi_size > 0 and done < bv_len) and lies within
    // the bvec, so the piece names a subset of its frames.
    Ok(BioVec::piece(
        pfn,
        len,
        (offset % u64::from(PAGE_SIZE)) as u32,
    ))
}

/// The single-page segment at `iter` (`bvec_iter_bvec`): the multi-page
/// segment cut at the end of its first frame.
pub fn bvec_iter_bvec(bv: &[BioVec], iter: BvecIter) -> Result<BioVec, BvecError> {
    let mp = mp_bvec_iter_bvec(bv, iter)?;
    let len = mp.bv_len.min(PAGE_SIZE - mp.bv_offset);
    Ok(BioVec::piece(mp.bv_pfn, len, mp.bv_offset))
}

/// Segments of a bvec table from a start position, single- or multi-page.
#[derive(Debug, Clone)]
pub struct BvecSegments<'a> {
    bvecs: &'a [BioVec],
    iter: BvecIter,
    multi_page: bool,
}

impl BvecSegments<'_> {
    /// The position of the next segment.
    pub fn iter(&self) -> BvecIter {
        self.iter
    }
}

impl Iterator for BvecSegments<'_> {
    type Item = BioVec;

    /// The fast path of `bvec_iter_bvec` followed by `bvec_iter_advance`
    /// by the segment's length, which never needs the advance loop: a
    /// segment ends inside its bvec or exactly at its end. The unit tests
    /// check it against those two functions.
    fn next(&mut self) -> Option<BioVec> {
        let it = &mut self.iter;
        if it.bi_size == 0 {
            return None;
        }
        // An iterator inconsistent with its table ends the walk: there is
        // no segment to give, and the callers that build iterators from C
        // data check them first.
        let vec = self.bvecs.get(it.bi_idx as usize)?;
        let done = it.bi_bvec_done;
        if done >= vec.bv_len {
            return None;
        }
        let at = u64::from(vec.bv_offset) + u64::from(done);
        // Within the bvec's own frames, so the pfn cannot reach the flags.
        let pfn = PfnT::from_raw(vec.bv_pfn.raw() + (at >> PAGE_SHIFT));
        let offset = (at % u64::from(PAGE_SIZE)) as u32;
        let mut len = (vec.bv_len - done).min(it.bi_size);
        if !self.multi_page {
            len = len.min(PAGE_SIZE - offset);
        }
        it.bi_size -= len;
        if done + len == vec.bv_len {
            it.bi_idx += 1;
            it.bi_bvec_done = 0;
        } else {
            it.bi_bvec_done = done + len;
        }
        Some(BioVec::piece(pfn, len, offset))
    }
}

/// Single-page segments of `bvecs` from `start` (`for_each_bvec`).
pub fn for_each_bvec(bvecs: &[BioVec], start: BvecIter) -> BvecSegments<'_> {
    BvecSegments {
        bvecs,
        iter: start,
        multi_page: false,
    }
}

/// Multi-page segments of `bvecs` from `start` (`for_each_mp_bvec`).
pub fn for_each_mp_bvec(bvecs: &[BioVec], start: BvecIter) -> BvecSegments<'_> {
    BvecSegments {
        bvecs,
        iter: start,
        multi_page: true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pfn_t::{__pfn_to_pfn_t, pfn_to_pfn_t, PFN_DEV, PFN_LIMIT};

    fn bv(pfn: u64, len: u32, offset: u32) -> BioVec {
        BioVec::new(pfn_to_pfn_t(pfn).unwrap(), len, offset).unwrap()
    }

    fn iter(size: u32) -> BvecIter {
        BvecIter {
            bi_size: size,
            ..BvecIter::default()
        }
    }

    /// `(pfn, offset, len)` of each segment, for compact expectations.
    fn triples(segs: impl Iterator<Item = BioVec>) -> Vec<(u64, u32, u32)> {
        segs.map(|s| {
            (
                crate::pfn_t::pfn_t_to_pfn(s.bv_pfn()),
                s.bv_offset(),
                s.bv_len(),
            )
        })
        .collect()
    }

    #[test]
    fn invariants_are_enforced_at_construction() {
        let pfn = pfn_to_pfn_t(1).unwrap();
        assert_eq!(BioVec::new(pfn, 0, 0), Err(BvecError::Empty));
        assert_eq!(
            BioVec::new(pfn, 1, 4096),
            Err(BvecError::Offset { offset: 4096 })
        );
        let top = pfn_to_pfn_t(PFN_LIMIT - 1).unwrap();
        assert!(BioVec::new(top, 4096, 0).is_ok());
        assert!(matches!(
            BioVec::new(top, 4097, 0),
            Err(BvecError::BeyondPfnSpace { .. })
        ));
        let sg = PfnT::from_raw(1 | PFN_SG_LAST);
        assert_eq!(
            BioVec::new(sg, 1, 0),
            Err(BvecError::SgFlags(1 | PFN_SG_LAST))
        );
        let mut v = bv(1, 4096, 0);
        assert!(bvec_set_pfn(&mut v, sg).is_err());
        assert_eq!(v, bv(1, 4096, 0));
    }

    #[test]
    fn page_helpers_follow_the_flags() {
        let mut v = bv(5, 100, 10);
        assert_eq!(bvec_page(&v).map(Page::pfn), Some(5));
        bvec_set_pfn(&mut v, __pfn_to_pfn_t(9, PFN_DEV).unwrap()).unwrap();
        assert_eq!(bvec_page(&v), None);
        assert_eq!(bvec_pfn(&v).flags(), PFN_DEV);
        assert_eq!((v.bv_len(), v.bv_offset()), (100, 10));
        bvec_set_page(&mut v, Page::from_pfn(11)).unwrap();
        assert_eq!(bvec_pfn(&v), pfn_to_pfn_t(11).unwrap());
        assert_eq!(v.phys(), 11 * 4096 + 10);
        assert_eq!(v.phys_end(), 11 * 4096 + 110);
    }

    #[test]
    fn advance_walks_across_bvecs() {
        let table = [bv(1, 1000, 0), bv(7, 500, 100)];
        let mut it = iter(1500);
        bvec_iter_advance(&table, &mut it, 999).unwrap();
        assert_eq!((it.bi_idx, it.bi_bvec_done, it.bi_size), (0, 999, 501));
        bvec_iter_advance(&table, &mut it, 1).unwrap();
        assert_eq!((it.bi_idx, it.bi_bvec_done, it.bi_size), (1, 0, 500));
        bvec_iter_advance(&table, &mut it, 500).unwrap();
        assert_eq!((it.bi_idx, it.bi_bvec_done, it.bi_size), (2, 0, 0));
    }

    #[test]
    fn advance_past_end_warns_and_empties() {
        let table = [bv(1, 1000, 0)];
        let mut it = iter(1000);
        let err = bvec_iter_advance(&table, &mut it, 1001).unwrap_err();
        assert_eq!(
            err,
            BvecError::AdvancePastEnd {
                bytes: 1001,
                size: 1000
            }
        );
        assert_eq!(err.severity(), Severity::Warn);
        assert_eq!(it.bi_size, 0);
        assert_eq!(for_each_bvec(&table, it).count(), 0);
    }

    #[test]
    fn inconsistent_iter_is_a_bug_and_untouched() {
        let table = [bv(1, 10, 0)];
        let mut it = BvecIter {
            bi_idx: 3,
            ..iter(5)
        };
        let err = bvec_iter_advance(&table, &mut it, 5).unwrap_err();
        assert_eq!(err, BvecError::IterOutOfTable { idx: 3, nr: 1 });
        assert_eq!(it.bi_size, 5);
        let done = BvecIter {
            bi_bvec_done: 10,
            ..iter(5)
        };
        assert!(matches!(
            mp_bvec_iter_bvec(&table, done),
            Err(BvecError::DoneBeyondBvec { .. })
        ));
        assert_eq!(
            mp_bvec_iter_bvec(&table, iter(0)),
            Err(BvecError::IterEmpty)
        );
    }

    #[test]
    fn single_page_segments_split_at_frame_boundaries() {
        // Two frames and a half, starting 512 bytes into pfn 10.
        let table = [bv(10, 3 * 4096 - 1024, 512), bv(40, 200, 0)];
        let size = table.iter().map(BioVec::bv_len).sum();
        assert_eq!(
            triples(for_each_bvec(&table, iter(size))),
            [(10, 512, 3584), (11, 0, 4096), (12, 0, 3584), (40, 0, 200)]
        );
        assert_eq!(
            triples(for_each_mp_bvec(&table, iter(size))),
            [(10, 512, 11264), (40, 0, 200)]
        );
    }

    #[test]
    fn segments_start_mid_bvec_and_stop_at_size() {
        let table = [bv(10, 3 * 4096, 0)];
        let start = BvecIter {
            bi_bvec_done: 5000,
            ..iter(4000)
        };
        assert_eq!(
            triples(for_each_bvec(&table, start)),
            [(11, 904, 3192), (12, 0, 808)]
        );
        assert_eq!(triples(for_each_mp_bvec(&table, start)), [(11, 904, 4000)]);
    }

    /// The slow path the iterator's fast path must match: one segment at a
    /// time through `(mp_)bvec_iter_bvec` and `bvec_iter_advance`.
    fn slow_segments(table: &[BioVec], mut it: BvecIter, multi_page: bool) -> Vec<BioVec> {
        let mut out = Vec::new();
        while it.bi_size > 0 {
            let seg = if multi_page {
                mp_bvec_iter_bvec(table, it)
            } else {
                bvec_iter_bvec(table, it)
            }
            .unwrap();
            bvec_iter_advance(table, &mut it, seg.bv_len()).unwrap();
            out.push(seg);
        }
        out
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { cases: 64, ..Default::default() })]

        #[test]
        fn fast_iteration_matches_slow_path(
            vecs in proptest::collection::vec((0u64..64, 1u32..20000, 0u32..4096), 1..6),
            start in 0u64..100_000,
            size in 0u64..100_000,
        ) {
            let table: Vec<BioVec> = vecs.iter().map(|&(pfn, len, off)| bv(pfn, len, off)).collect();
            let total: u64 = table.iter().map(|v| u64::from(v.bv_len())).sum();
            let start = start % total;
            let size = (size % (total - start + 1)) as u32;
            let mut it = iter(total as u32);
            bvec_iter_advance(&table, &mut it, start as u32).unwrap();
            it.bi_size = size;
            for multi_page in [false, true] {
                let fast: Vec<_> = if multi_page {
                    for_each_mp_bvec(&table, it).collect()
                } else {
                    for_each_bvec(&table, it).collect()
                };
                proptest::prop_assert_eq!(fast, slow_segments(&table, it, multi_page));
            }
        }
    }

    #[test]
    fn segments_keep_pfn_flags() {
        let pfn = __pfn_to_pfn_t(100, PFN_DEV).unwrap();
        let table = [BioVec::new(pfn, 8192, 0).unwrap()];
        let segs: Vec<_> = for_each_bvec(&table, iter(8192)).collect();
        assert_eq!(segs[1].bv_pfn(), __pfn_to_pfn_t(101, PFN_DEV).unwrap());
    }
}
