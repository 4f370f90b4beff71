//! The pre-migration block layer, kept as a reference: `bio_vec` names its
//! memory by `struct page *`, so every frame that takes part in I/O needs a
//! 64-byte page descriptor.
//!
//! This model is deliberately simple and shares no iteration code with the
//! pfn model: a bio is its bvec table plus a flat byte window
//! `[start, start + size)` over it, and segments are cut from that window
//! directly. Property tests drive both models with the same operations and
//! require the same segments, byte for byte; the cost example times both.
//! Its errors carry the severity the kernel would give, so the tests can
//! compare failures too.

use std::collections::HashMap;

use thiserror::Error;

use crate::memory::{RangeKind, World};
use crate::severity::{Misuse, Severity};
use crate::{PAGE_SHIFT, PAGE_SIZE, SECTOR_SHIFT};

const PAGE: usize = PAGE_SIZE as usize;
/// The page is `ZONE_DEVICE` memory (pmem given a memmap).
const PG_DEVICE: u64 = 1;

/// Errors of the page model.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum PageModelError {
    /// Memory added out of address order or overlapping.
    #[error("memory at pfn {0:#x} is not above the memory already added")]
    Layout(u64),
    /// A page reference this memmap does not hold.
    #[error("no struct page {0}")]
    NoPage(usize),
    /// An access past the end of the page.
    #[error("access of {len} bytes at offset {offset} reaches past the page")]
    Bounds {
        /// Offset into the page.
        offset: usize,
        /// Bytes.
        len: usize,
    },
    /// An add of zero bytes.
    #[error("bio_add_page of zero bytes")]
    Empty,
    /// An offset outside the page.
    #[error("offset {0:#x} is outside the page")]
    Offset(u32),
    /// An add that crosses the end of the page.
    #[error("bio_add_page of {len} bytes at offset {offset} crosses the end of the page")]
    CrossesFrame {
        /// Offset.
        offset: u32,
        /// Bytes.
        len: u32,
    },
    /// An add to a bio split off another.
    #[error("bio_add_page to a cloned bio")]
    Cloned,
    /// No room for another bvec.
    #[error("bio is full ({0} bvecs)")]
    Full(usize),
    /// The bio would exceed 4 GiB.
    #[error("bio size would overflow")]
    SizeOverflow,
    /// An advance past the end.
    #[error("advance of {bytes} bytes past the {size} left")]
    AdvancePastEnd {
        /// Bytes asked.
        bytes: u32,
        /// Bytes left.
        size: u32,
    },
    /// A split of zero sectors.
    #[error("bio_split of zero sectors")]
    SplitZero,
    /// A split at or past the end.
    #[error("bio_split of {0} sectors at or past the end")]
    SplitTooLarge(u32),
}

impl Misuse for PageModelError {
    fn severity(&self) -> Severity {
        use PageModelError::*;
        match self {
            Layout(_) | Full(_) | SizeOverflow => Severity::Fail,
            Empty | Cloned | AdvancePastEnd { .. } => Severity::Warn,
            NoPage(_)
            | Bounds { .. }
            | Offset(_)
            | CrossesFrame { .. }
            | SplitZero
            | SplitTooLarge(_) => Severity::Bug,
        }
    }
}

/// A `struct page`: 64 bytes, as on x86-64. Only the pfn and zone flag
/// matter to the model; the rest stands for the fields the kernel keeps
/// (flags, refcount, mapping, lru, ...) and is what the memory costs.
#[repr(C, align(64))]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageDesc {
    flags: u64,
    pfn: u64,
    rest: [u64; 6],
}

/// A `struct page *`: an index into the memmap.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PageRef(usize);

/// A machine whose every frame has a `struct page`.
#[derive(Debug, Default)]
pub struct PageWorld {
    memmap: Vec<PageDesc>,
    /// `(start_pfn, nr_pages, first memmap index)` in address order.
    sections: Vec<(u64, u64, usize)>,
    frames: HashMap<u64, Box<[u8; PAGE]>>,
}

impl PageWorld {
    /// A machine with no memory.
    pub fn new() -> PageWorld {
        PageWorld::default()
    }

    /// A machine with the same ranges as `world`, every frame of each
    /// covered by a page descriptor (pmem as `ZONE_DEVICE`).
    pub fn covering(world: &World) -> Result<PageWorld, PageModelError> {
        let mut pw = PageWorld::new();
        for range in world.ranges() {
            let device = matches!(range.kind(), RangeKind::Pmem { .. });
            pw.add_memory(range.start_pfn(), range.nr_pages(), device)?;
        }
        Ok(pw)
    }

    /// Adds `nr_pages` frames from `start_pfn`, above all memory so far,
    /// and their page descriptors.
    pub fn add_memory(
        &mut self,
        start_pfn: u64,
        nr_pages: u64,
        device: bool,
    ) -> Result<(), PageModelError> {
        if let Some(&(start, nr, _)) = self.sections.last() {
            if start_pfn < start + nr {
                return Err(PageModelError::Layout(start_pfn));
            }
        }
        let flags = if device { PG_DEVICE } else { 0 };
        self.sections.push((start_pfn, nr_pages, self.memmap.len()));
        self.memmap
            .extend((start_pfn..start_pfn + nr_pages).map(|pfn| PageDesc {
                flags,
                pfn,
                rest: [0; 6],
            }));
        Ok(())
    }

    /// `pfn_to_page`.
    pub fn pfn_to_page(&self, pfn: u64) -> Option<PageRef> {
        self.sections
            .iter()
            .find(|&&(start, nr, _)| pfn >= start && pfn < start + nr)
            .map(|&(start, _, first)| PageRef(first + (pfn - start) as usize))
    }

    /// `page_to_pfn`: read from the descriptor.
    pub fn page_to_pfn(&self, page: PageRef) -> Result<u64, PageModelError> {
        Ok(self.desc(page)?.pfn)
    }

    /// Bytes the memmap takes: 64 per frame.
    pub fn memmap_bytes(&self) -> u64 {
        std::mem::size_of_val(self.memmap.as_slice()) as u64
    }

    /// Reads from a page.
    pub fn read(&self, page: PageRef, offset: usize, buf: &mut [u8]) -> Result<(), PageModelError> {
        check_bounds(offset, buf.len())?;
        let pfn = self.page_to_pfn(page)?;
        match self.frames.get(&pfn) {
            Some(frame) => buf.copy_from_slice(&frame[offset..offset + buf.len()]),
            None => buf.fill(0),
        }
        Ok(())
    }

    /// Writes to a page.
    pub fn write(
        &mut self,
        page: PageRef,
        offset: usize,
        data: &[u8],
    ) -> Result<(), PageModelError> {
        check_bounds(offset, data.len())?;
        let pfn = self.page_to_pfn(page)?;
        let frame = self
            .frames
            .entry(pfn)
            .or_insert_with(|| Box::new([0; PAGE]));
        frame[offset..offset + data.len()].copy_from_slice(data);
        Ok(())
    }

    /// The page `n` frames after `page` (`nth_page`): valid while the
    /// frames are physically contiguous, because sections are kept in
    /// address order and so are their descriptors.
    fn nth_page(&self, page: PageRef, n: usize) -> PageRef {
        PageRef(page.0 + n)
    }

    fn desc(&self, page: PageRef) -> Result<&PageDesc, PageModelError> {
        self.memmap
            .get(page.0)
            .ok_or(PageModelError::NoPage(page.0))
    }
}

fn check_bounds(offset: usize, len: usize) -> Result<(), PageModelError> {
    match offset.checked_add(len) {
        Some(end) if end <= PAGE => Ok(()),
        _ => Err(PageModelError::Bounds { offset, len }),
    }
}

/// A page-based `bio_vec`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageBioVec {
    /// The first page.
    pub bv_page: PageRef,
    /// Bytes.
    pub bv_len: u32,
    /// Offset into the first page.
    pub bv_offset: u32,
}

/// A page-based bio: a bvec table and a byte window over it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageBio {
    vecs: Vec<PageBioVec>,
    /// Bytes of the table already done.
    start: u64,
    size: u32,
    sector: u64,
    max_vecs: usize,
    cloned: bool,
}

impl PageBio {
    /// An empty bio with room for `max_vecs` bvecs.
    pub fn new(max_vecs: usize) -> PageBio {
        PageBio {
            vecs: Vec::new(),
            start: 0,
            size: 0,
            sector: 0,
            max_vecs,
            cloned: false,
        }
    }

    /// Bytes left.
    pub fn size(&self) -> u32 {
        self.size
    }

    /// Current sector.
    pub fn sector(&self) -> u64 {
        self.sector
    }

    /// Sets the starting sector.
    pub fn set_sector(&mut self, sector: u64) {
        self.sector = sector;
    }

    /// The bvec table.
    pub fn vecs(&self) -> &[PageBioVec] {
        &self.vecs
    }

    fn table_bytes(&self) -> u64 {
        self.vecs.iter().map(|v| u64::from(v.bv_len)).sum()
    }
}

/// `bio_add_page` on the page model, with the same merge rule as the pfn
/// model: physically contiguous, same zone, and the window not yet past
/// the table.
pub fn add_page(
    pw: &PageWorld,
    bio: &mut PageBio,
    page: PageRef,
    len: u32,
    offset: u32,
) -> Result<(), PageModelError> {
    if bio.cloned {
        return Err(PageModelError::Cloned);
    }
    if len == 0 {
        return Err(PageModelError::Empty);
    }
    if offset >= PAGE_SIZE {
        return Err(PageModelError::Offset(offset));
    }
    if offset + len > PAGE_SIZE {
        return Err(PageModelError::CrossesFrame { offset, len });
    }
    let desc = *pw.desc(page)?;
    let size = bio
        .size
        .checked_add(len)
        .ok_or(PageModelError::SizeOverflow)?;
    let window_in_table = bio.start < bio.table_bytes();
    if let Some(prev) = bio.vecs.last_mut() {
        let prev_desc = pw.desc(prev.bv_page)?;
        let prev_end =
            (prev_desc.pfn << PAGE_SHIFT) + u64::from(prev.bv_offset) + u64::from(prev.bv_len);
        let here = (desc.pfn << PAGE_SHIFT) + u64::from(offset);
        if window_in_table && prev_end == here && prev_desc.flags == desc.flags {
            if let Some(grown) = prev.bv_len.checked_add(len) {
                prev.bv_len = grown;
                bio.size = size;
                return Ok(());
            }
        }
    }
    if bio.vecs.len() >= bio.max_vecs {
        return Err(PageModelError::Full(bio.max_vecs));
    }
    bio.vecs.push(PageBioVec {
        bv_page: page,
        bv_len: len,
        bv_offset: offset,
    });
    bio.size = size;
    Ok(())
}

/// `bio_advance` on the page model; past the end it empties the bio.
pub fn advance(bio: &mut PageBio, bytes: u32) -> Result<(), PageModelError> {
    bio.sector += u64::from(bytes >> SECTOR_SHIFT);
    if bytes > bio.size {
        let size = bio.size;
        bio.size = 0;
        return Err(PageModelError::AdvancePastEnd { bytes, size });
    }
    bio.start += u64::from(bytes);
    bio.size -= bytes;
    Ok(())
}

/// `bio_split` on the page model: returns the first `sectors` sectors.
pub fn split(bio: &mut PageBio, sectors: u32) -> Result<PageBio, PageModelError> {
    if sectors == 0 {
        return Err(PageModelError::SplitZero);
    }
    if sectors >= bio.size >> SECTOR_SHIFT {
        return Err(PageModelError::SplitTooLarge(sectors));
    }
    let bytes = sectors << SECTOR_SHIFT;
    let mut front = bio.clone();
    front.size = bytes;
    front.cloned = true;
    advance(bio, bytes)?;
    Ok(front)
}

/// Segments of a page bio, single- or multi-page.
#[derive(Debug, Clone)]
pub struct PageSegments<'a> {
    pw: &'a PageWorld,
    vecs: &'a [PageBioVec],
    idx: usize,
    done: u32,
    left: u32,
    multi_page: bool,
}

impl Iterator for PageSegments<'_> {
    type Item = PageBioVec;

    fn next(&mut self) -> Option<PageBioVec> {
        if self.left == 0 {
            return None;
        }
        let vec = self.vecs.get(self.idx)?;
        let at = vec.bv_offset as usize + self.done as usize;
        let page = self.pw.nth_page(vec.bv_page, at / PAGE);
        let offset = (at % PAGE) as u32;
        let mut len = (vec.bv_len - self.done).min(self.left);
        if !self.multi_page {
            len = len.min(PAGE_SIZE - offset);
        }
        self.done += len;
        self.left -= len;
        if self.done == vec.bv_len {
            self.idx += 1;
            self.done = 0;
        }
        Some(PageBioVec {
            bv_page: page,
            bv_len: len,
            bv_offset: offset,
        })
    }
}

fn segments_of<'a>(pw: &'a PageWorld, bio: &'a PageBio, multi_page: bool) -> PageSegments<'a> {
    // Find where the window starts by walking the table from the front.
    let mut skip = bio.start;
    let mut idx = 0;
    while let Some(vec) = bio.vecs.get(idx) {
        if skip < u64::from(vec.bv_len) {
            break;
        }
        skip -= u64::from(vec.bv_len);
        idx += 1;
    }
    PageSegments {
        pw,
        vecs: &bio.vecs,
        idx,
        done: skip as u32,
        left: bio.size,
        multi_page,
    }
}

/// Single-page segments (`bio_for_each_segment`).
pub fn segments<'a>(pw: &'a PageWorld, bio: &'a PageBio) -> PageSegments<'a> {
    segments_of(pw, bio, false)
}

/// Multi-page segments (`bio_for_each_bvec`).
pub fn mp_segments<'a>(pw: &'a PageWorld, bio: &'a PageBio) -> PageSegments<'a> {
    segments_of(pw, bio, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pw() -> PageWorld {
        let mut pw = PageWorld::new();
        pw.add_memory(0, 16, false).unwrap();
        pw.add_memory(16, 16, true).unwrap();
        pw
    }

    fn triples(pw: &PageWorld, segs: PageSegments<'_>) -> Vec<(u64, u32, u32)> {
        segs.map(|s| (pw.page_to_pfn(s.bv_page).unwrap(), s.bv_offset, s.bv_len))
            .collect()
    }

    #[test]
    fn descriptors_cost_64_bytes_each() {
        assert_eq!(std::mem::size_of::<PageDesc>(), 64);
        assert_eq!(pw().memmap_bytes(), 32 * 64);
        assert_eq!(pw().add_memory(8, 1, false), Err(PageModelError::Layout(8)));
    }

    #[test]
    fn merges_contiguous_pages_within_a_zone_only() {
        let pw = pw();
        let mut bio = PageBio::new(4);
        for pfn in 14..18 {
            add_page(&pw, &mut bio, pw.pfn_to_page(pfn).unwrap(), 4096, 0).unwrap();
        }
        assert_eq!(bio.vecs().len(), 2);
        assert_eq!(
            triples(&pw, mp_segments(&pw, &bio)),
            [(14, 0, 8192), (16, 0, 8192)]
        );
        assert_eq!(triples(&pw, segments(&pw, &bio)).len(), 4);
    }

    #[test]
    fn split_and_advance_move_the_window() {
        let pw = pw();
        let mut bio = PageBio::new(4);
        add_page(&pw, &mut bio, pw.pfn_to_page(1).unwrap(), 4096, 0).unwrap();
        add_page(&pw, &mut bio, pw.pfn_to_page(2).unwrap(), 4096, 0).unwrap();
        let front = split(&mut bio, 9).unwrap();
        assert_eq!(
            triples(&pw, segments(&pw, &front)),
            [(1, 0, 4096), (2, 0, 512)]
        );
        advance(&mut bio, 512).unwrap();
        assert_eq!(triples(&pw, segments(&pw, &bio)), [(2, 1024, 3072)]);
        assert_eq!(bio.sector(), 10);
        assert!(matches!(
            advance(&mut bio, 5000),
            Err(PageModelError::AdvancePastEnd { .. })
        ));
        assert_eq!(segments(&pw, &bio).count(), 0);
    }

    #[test]
    fn bytes_go_through_the_descriptor() {
        let mut pw = pw();
        let page = pw.pfn_to_page(20).unwrap();
        pw.write(page, 10, b"abc").unwrap();
        let mut buf = [0; 3];
        pw.read(page, 10, &mut buf).unwrap();
        assert_eq!(&buf, b"abc");
        let err = pw.write(page, 4095, b"ab").unwrap_err();
        assert_eq!(
            err,
            PageModelError::Bounds {
                offset: 4095,
                len: 2
            }
        );
    }
}
