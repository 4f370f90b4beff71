//! The page-less scatterlist: entries named by `pfn_t`, chained tables,
//! end marks.
//!
//! The series converts `struct scatterlist` from `page_link` to a `pfn_t`
//! (`sg->pfn`), and moves the chain and end marks into the `pfn_t` flags
//! `PFN_SG_CHAIN` and `PFN_SG_LAST`. A chain entry holds the address of the
//! next chunk of entries, exactly as in C, so a table built here has the
//! byte layout C code expects; walking it in Rust resolves those addresses
//! against the table's own chunks instead of dereferencing them.
//!
//! **Invariant:** a chain entry of an [`SgTable`] always points at the
//! first entry of another chunk of the same table.

use std::sync::atomic::{AtomicU64, Ordering};

use thiserror::Error;

use crate::memory::Page;
use crate::pfn_t::{
    page_to_pfn_t, pfn_t_to_page, pfn_t_to_phys, PfnT, PFN_FLAGS_MASK, PFN_SG_CHAIN, PFN_SG_LAST,
};
use crate::severity::{Misuse, Severity};

/// Entries that fit in one page (`SG_MAX_SINGLE_ALLOC`): the chunk size
/// [`sg_alloc_table`] chains at.
pub const SG_MAX_SINGLE_ALLOC: usize = 4096 / std::mem::size_of::<Scatterlist>();

/// Errors of scatterlists.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum SgError {
    /// A chain entry used as a data entry.
    #[error("scatterlist chain entry used as a data entry")]
    ChainEntry,
    /// A `pfn_t` with scatterlist flags of its own.
    #[error("pfn_t {0:#x} already carries scatterlist flags")]
    SgFlags(u64),
    /// A table of zero entries.
    #[error("scatterlist table of zero entries")]
    Empty,
    /// Chunks too small to chain.
    #[error("scatterlist chunks of {0} entries cannot chain (need at least 2)")]
    ChunkTooSmall(usize),
    /// A position from another table.
    #[error("scatterlist position belongs to another table")]
    ForeignPosition,
    /// A walk that ran off a chunk with neither end mark nor chain.
    #[error("scatterlist walk ran off the end of a chunk without an end mark")]
    RanOff,
    /// A chain entry that points nowhere in the table.
    #[error("scatterlist chain entry {0:#x} points outside the table")]
    BadChain(u64),
    /// A chunk address that would collide with the pfn_t flag bits.
    #[error("scatterlist chunk address {0:#x} overlaps the pfn_t flag bits")]
    AddressTooHigh(u64),
    /// More entries needed than the table holds.
    #[error("scatterlist of {nents} entries is too small")]
    TableFull {
        /// Entries in the table.
        nents: usize,
    },
}

impl Misuse for SgError {
    fn severity(&self) -> Severity {
        match self {
            SgError::Empty | SgError::ChunkTooSmall(_) => Severity::Fail,
            _ => Severity::Bug,
        }
    }
}

/// `struct scatterlist` with a `pfn_t` in place of `page_link`.
/// Layout-compatible with the C `struct scatterlist` of the fixtures.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Scatterlist {
    pfn: PfnT,
    /// Offset into the first frame.
    pub offset: u32,
    /// Bytes.
    pub length: u32,
    /// Bus address once mapped for DMA.
    pub dma_address: u64,
    /// Bytes mapped for DMA.
    pub dma_length: u32,
}

impl Scatterlist {
    /// The raw `pfn_t` word, marks included.
    pub fn raw_pfn(&self) -> u64 {
        self.pfn.raw()
    }
}

/// Whether the entry is a chain link.
pub fn sg_is_chain(sg: &Scatterlist) -> bool {
    sg.pfn.raw() & PFN_SG_CHAIN != 0
}

/// Whether the entry is the last.
pub fn sg_is_last(sg: &Scatterlist) -> bool {
    sg.pfn.raw() & PFN_SG_LAST != 0
}

/// Marks the entry as the last.
pub fn sg_mark_end(sg: &mut Scatterlist) {
    sg.pfn = PfnT::from_raw((sg.pfn.raw() | PFN_SG_LAST) & !PFN_SG_CHAIN);
}

/// Clears the entry's end mark.
pub fn sg_unmark_end(sg: &mut Scatterlist) {
    sg.pfn = PfnT::from_raw(sg.pfn.raw() & !PFN_SG_LAST);
}

/// Points a data entry at `len` bytes at `offset` into the frame of `pfn`,
/// keeping its end mark.
pub fn sg_set_pfn(sg: &mut Scatterlist, pfn: PfnT, len: u32, offset: u32) -> Result<(), SgError> {
    if sg_is_chain(sg) {
        return Err(SgError::ChainEntry);
    }
    if pfn.raw() & (PFN_SG_CHAIN | PFN_SG_LAST) != 0 {
        return Err(SgError::SgFlags(pfn.raw()));
    }
    sg.pfn = PfnT::from_raw((sg.pfn.raw() & PFN_SG_LAST) | pfn.raw());
    sg.offset = offset;
    sg.length = len;
    Ok(())
}

/// `sg_set_page`: [`sg_set_pfn`] for a page.
pub fn sg_set_page(sg: &mut Scatterlist, page: Page, len: u32, offset: u32) -> Result<(), SgError> {
    sg_set_pfn(sg, page_to_pfn_t(page), len, offset)
}

/// The entry's `pfn_t` without the scatterlist marks.
pub fn sg_pfn_t(sg: &Scatterlist) -> PfnT {
    PfnT::from_raw(sg.pfn.raw() & !(PFN_SG_CHAIN | PFN_SG_LAST))
}

/// The entry's page, or `None` if it is page-less.
pub fn sg_page(sg: &Scatterlist) -> Result<Option<Page>, SgError> {
    if sg_is_chain(sg) {
        return Err(SgError::ChainEntry);
    }
    Ok(pfn_t_to_page(sg_pfn_t(sg)))
}

/// Physical address of the entry's first byte.
pub fn sg_phys(sg: &Scatterlist) -> u64 {
    pfn_t_to_phys(sg_pfn_t(sg)) + u64::from(sg.offset)
}

/// `sg_init_table`: clears the entries and marks the last.
pub fn sg_init_table(sgl: &mut [Scatterlist]) {
    sgl.fill(Scatterlist::default());
    if let Some(last) = sgl.last_mut() {
        sg_mark_end(last);
    }
}

/// A position in one [`SgTable`]; another table refuses it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SgPos {
    table: u64,
    chunk: usize,
    idx: usize,
}

/// Gives every table an identity, so a position is only honoured by the
/// table it came from.
static NEXT_TABLE_ID: AtomicU64 = AtomicU64::new(0);

/// A scatterlist owned by Rust: chunks linked by chain entries.
#[derive(Debug)]
pub struct SgTable {
    id: u64,
    chunks: Vec<Box<[Scatterlist]>>,
    nents: usize,
}

/// `sg_alloc_table`: a table of `nents` data entries, chained in page-sized
/// chunks, its last entry marked.
pub fn sg_alloc_table(nents: usize) -> Result<SgTable, SgError> {
    __sg_alloc_table(nents, SG_MAX_SINGLE_ALLOC)
}

/// `__sg_alloc_table`: as [`sg_alloc_table`] with chunks of `max_ents`
/// entries, the last of each but the final chunk used as the chain link.
#[allow(non_snake_case)]
pub fn __sg_alloc_table(nents: usize, max_ents: usize) -> Result<SgTable, SgError> {
    if nents == 0 {
        return Err(SgError::Empty);
    }
    if max_ents < 2 && nents > max_ents {
        return Err(SgError::ChunkTooSmall(max_ents));
    }
    let mut table = SgTable {
        id: NEXT_TABLE_ID.fetch_add(1, Ordering::Relaxed),
        chunks: Vec::new(),
        nents,
    };
    let mut left = nents;
    while left > 0 {
        let alloc = left.min(max_ents);
        // A chunk that is not the last gives up one entry to the chain.
        let data = if left > max_ents { max_ents - 1 } else { left };
        let mut chunk = vec![Scatterlist::default(); alloc].into_boxed_slice();
        if data == left {
            sg_mark_end(&mut chunk[alloc - 1]);
        }
        table.push_chained(chunk)?;
        left -= data;
    }
    Ok(table)
}

impl SgTable {
    /// A one-chunk table holding `entries` (as read from a flat C array).
    /// Chain entries are refused: their pointers could not be checked.
    pub fn from_entries(entries: Vec<Scatterlist>) -> Result<SgTable, SgError> {
        if entries.is_empty() {
            return Err(SgError::Empty);
        }
        if let Some(chain) = entries.iter().find(|sg| sg_is_chain(sg)) {
            return Err(SgError::BadChain(chain.pfn.raw() & !PFN_FLAGS_MASK));
        }
        Ok(SgTable {
            id: NEXT_TABLE_ID.fetch_add(1, Ordering::Relaxed),
            nents: entries.len(),
            chunks: vec![entries.into_boxed_slice()],
        })
    }

    /// Data entries the table was built for (`orig_nents`).
    pub fn nents(&self) -> usize {
        self.nents
    }

    /// `sg_chain`: turns this table's final entry into a link to `next`,
    /// so the combined table holds one entry fewer than the two together.
    pub fn chain(&mut self, next: SgTable) -> Result<(), SgError> {
        let addr = chunk_addr(&next.chunks[0])?;
        let last_chunk = self.chunks.len() - 1;
        let last = self.chunks[last_chunk].len() - 1;
        self.chunks[last_chunk][last].pfn = PfnT::from_raw(addr | PFN_SG_CHAIN);
        self.nents = self.nents - 1 + next.nents;
        self.chunks.extend(next.chunks);
        Ok(())
    }

    /// The first data entry.
    pub fn first(&self) -> Result<SgPos, SgError> {
        self.resolve(SgPos {
            table: self.id,
            chunk: 0,
            idx: 0,
        })
    }

    /// `sg_next`: the entry after `pos`, `None` after the last.
    pub fn sg_next(&self, pos: SgPos) -> Result<Option<SgPos>, SgError> {
        if sg_is_last(self.get(pos)?) {
            return Ok(None);
        }
        let next = SgPos {
            table: self.id,
            chunk: pos.chunk,
            idx: pos.idx + 1,
        };
        if next.idx >= self.chunks[pos.chunk].len() {
            return Err(SgError::RanOff);
        }
        self.resolve(next).map(Some)
    }

    /// The entry at `pos`.
    pub fn get(&self, pos: SgPos) -> Result<&Scatterlist, SgError> {
        self.check(pos)?;
        Ok(self.entry(pos))
    }

    /// The entry at `pos`, to fill in.
    pub fn get_mut(&mut self, pos: SgPos) -> Result<&mut Scatterlist, SgError> {
        self.check(pos)?;
        Ok(&mut self.chunks[pos.chunk][pos.idx])
    }

    fn check(&self, pos: SgPos) -> Result<(), SgError> {
        let inside = self
            .chunks
            .get(pos.chunk)
            .is_some_and(|c| pos.idx < c.len());
        if pos.table != self.id || !inside {
            return Err(SgError::ForeignPosition);
        }
        Ok(())
    }

    /// The entry at a position this table made.
    fn entry(&self, pos: SgPos) -> &Scatterlist {
        &self.chunks[pos.chunk][pos.idx]
    }

    /// `for_each_sg`: positions from the first entry to the one marked
    /// last.
    pub fn positions(&self) -> Result<Vec<SgPos>, SgError> {
        let mut out = Vec::new();
        let mut pos = Some(self.first()?);
        while let Some(cur) = pos {
            out.push(cur);
            pos = self.sg_next(cur)?;
        }
        Ok(out)
    }

    /// Every data slot in chain order, ignoring end marks: the room a
    /// mapping may fill.
    pub fn slots(&self) -> Result<Vec<SgPos>, SgError> {
        let mut out = Vec::new();
        let mut pos = self.first()?;
        loop {
            out.push(pos);
            let next = SgPos {
                table: self.id,
                chunk: pos.chunk,
                idx: pos.idx + 1,
            };
            if next.idx >= self.chunks[pos.chunk].len() {
                return Ok(out);
            }
            pos = self.resolve(next)?;
        }
    }

    /// Follows a chain entry at `pos`, if it is one, to the chunk it names.
    fn resolve(&self, pos: SgPos) -> Result<SgPos, SgError> {
        let sg = self.entry(pos);
        if !sg_is_chain(sg) {
            return Ok(pos);
        }
        let addr = sg.pfn.raw() & !PFN_FLAGS_MASK;
        let chunk = self
            .chunks
            .iter()
            .position(|c| c.as_ptr() as u64 == addr)
            .ok_or(SgError::BadChain(addr))?;
        // A chunk that starts with a chain entry would let a walk loop; the
        // constructors never build one, so meeting it is a corrupt table.
        if sg_is_chain(&self.chunks[chunk][0]) {
            return Err(SgError::BadChain(addr));
        }
        Ok(SgPos {
            table: self.id,
            chunk,
            idx: 0,
        })
    }

    fn push_chained(&mut self, chunk: Box<[Scatterlist]>) -> Result<(), SgError> {
        if let Some(prev) = self.chunks.last_mut() {
            let addr = chunk_addr(&chunk)?;
            let last = prev.len() - 1;
            prev[last].pfn = PfnT::from_raw(addr | PFN_SG_CHAIN);
        }
        self.chunks.push(chunk);
        Ok(())
    }
}

fn chunk_addr(chunk: &[Scatterlist]) -> Result<u64, SgError> {
    // With the Linux 4.5 flag positions a chain pointer shares its word
    // with the top flag bits; user-space addresses never reach them, but
    // say so rather than corrupt the table if one does.
    let addr = chunk.as_ptr() as u64;
    if addr & PFN_FLAGS_MASK != 0 {
        return Err(SgError::AddressTooHigh(addr));
    }
    Ok(addr)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pfn_t::{__pfn_to_pfn_t, pfn_to_pfn_t, PFN_DEV};

    #[test]
    fn layout_matches_c() {
        assert_eq!(std::mem::size_of::<Scatterlist>(), 32);
        assert_eq!(SG_MAX_SINGLE_ALLOC, 128);
    }

    #[test]
    fn page_less_entry_has_phys_but_no_page() {
        let mut sg = Scatterlist::default();
        sg_set_pfn(&mut sg, __pfn_to_pfn_t(0x400, PFN_DEV).unwrap(), 100, 24).unwrap();
        assert_eq!(sg_phys(&sg), 0x400_000 + 24);
        assert_eq!(sg_page(&sg), Ok(None));
        sg_set_page(&mut sg, Page::from_pfn(3), 10, 0).unwrap();
        assert_eq!(sg_page(&sg).unwrap().map(Page::pfn), Some(3));
    }

    #[test]
    fn marks_live_in_the_pfn_word_and_survive_set() {
        let mut sgl = [Scatterlist::default(); 3];
        sg_init_table(&mut sgl);
        assert!(sg_is_last(&sgl[2]) && !sg_is_last(&sgl[1]));
        sg_set_pfn(&mut sgl[2], pfn_to_pfn_t(7).unwrap(), 1, 0).unwrap();
        assert!(sg_is_last(&sgl[2]));
        assert_eq!(sgl[2].raw_pfn(), 7 | PFN_SG_LAST);
        assert_eq!(sg_pfn_t(&sgl[2]), pfn_to_pfn_t(7).unwrap());
        sg_unmark_end(&mut sgl[2]);
        assert!(!sg_is_last(&sgl[2]));
        let err = sg_set_pfn(&mut sgl[0], PfnT::from_raw(PFN_SG_LAST | 1), 1, 0).unwrap_err();
        assert_eq!(err, SgError::SgFlags(PFN_SG_LAST | 1));
    }

    #[test]
    fn alloc_chains_chunks_and_walk_follows() {
        let table = __sg_alloc_table(7, 3).unwrap();
        // 2 + 2 + 3 data entries in chunks of 3, 3 and 3.
        assert_eq!(table.chunks.len(), 3);
        assert!(sg_is_chain(&table.chunks[0][2]) && sg_is_chain(&table.chunks[1][2]));
        let positions = table.positions().unwrap();
        assert_eq!(positions.len(), 7);
        assert_eq!(table.slots().unwrap(), positions);
        assert_eq!(sg_page(&table.chunks[0][2]), Err(SgError::ChainEntry));
        let single = sg_alloc_table(SG_MAX_SINGLE_ALLOC).unwrap();
        assert_eq!(single.chunks.len(), 1);
        assert_eq!(sg_alloc_table(0).unwrap_err(), SgError::Empty);
    }

    #[test]
    fn sg_chain_links_two_tables() {
        let mut a = __sg_alloc_table(3, 8).unwrap();
        let b = __sg_alloc_table(4, 8).unwrap();
        a.chain(b).unwrap();
        assert_eq!(a.nents(), 6);
        assert_eq!(a.positions().unwrap().len(), 6);
    }

    #[test]
    fn positions_of_another_table_are_refused() {
        let a = sg_alloc_table(2).unwrap();
        let b = sg_alloc_table(2).unwrap();
        let pos = a.first().unwrap();
        assert!(a.get(pos).is_ok());
        assert_eq!(b.get(pos), Err(SgError::ForeignPosition));
        assert_eq!(b.sg_next(pos), Err(SgError::ForeignPosition));
    }

    #[test]
    fn walk_without_end_mark_is_a_bug() {
        let mut table = __sg_alloc_table(2, 8).unwrap();
        let last = table.positions().unwrap()[1];
        sg_unmark_end(table.get_mut(last).unwrap());
        assert_eq!(table.positions().unwrap_err(), SgError::RanOff);
    }
}
