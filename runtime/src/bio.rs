//! `struct bio`: building one from pages or pfns, advancing it, splitting
//! it and walking its segments.
//!
//! Adds merge into the previous bvec when the new bytes follow it
//! physically, so a bio over contiguous memory is one multi-page bvec
//! whatever its page-ness; iteration cuts it back into pages when asked.
//!
//! **Invariant:** every bvec of a [`Bio`] was checked against the world's
//! layout when it was added (its frames exist and its flags tell the truth
//! about their `struct page`), and `bi_iter` never describes more bytes than
//! the table holds from its position.

use thiserror::Error;

use crate::bvec::{
    bvec_iter_advance, for_each_bvec, for_each_mp_bvec, BioVec, BvecError, BvecIter, BvecSegments,
};
use crate::memory::{MemError, Page, World};
use crate::pfn_t::{page_to_pfn_t, PfnT};
use crate::severity::{Misuse, Severity};
use crate::{PAGE_SIZE, SECTOR_SHIFT};

/// Most bvecs one bio may hold (`BIO_MAX_PAGES`).
pub const BIO_MAX_PAGES: usize = 256;

/// Errors of bio operations.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum BioError {
    /// A bvec or iterator error.
    #[error(transparent)]
    Bvec(#[from] BvecError),
    /// The memory named is not usable as the pfn_t claims.
    #[error(transparent)]
    Memory(#[from] MemError),
    /// No room for another bvec; submit this bio and start another.
    #[error("bio is full ({max} bvecs)")]
    Full {
        /// Its capacity.
        max: usize,
    },
    /// An add to a cloned bio, which shares its table.
    #[error("bio_add to a cloned bio")]
    Cloned,
    /// An add of bytes past the end of the frame.
    #[error("bio_add of {len} bytes at offset {offset} crosses the end of the page")]
    CrossesFrame {
        /// Offset into the frame.
        offset: u32,
        /// Bytes.
        len: u32,
    },
    /// The bio would exceed 4 GiB.
    #[error("bio size would overflow bi_size")]
    SizeOverflow,
    /// A split of zero sectors.
    #[error("bio_split of zero sectors")]
    SplitZero,
    /// A split at or past the end.
    #[error("bio_split of {sectors} sectors from a bio of {bio_sectors}")]
    SplitTooLarge {
        /// Sectors asked for.
        sectors: u32,
        /// Whole sectors in the bio.
        bio_sectors: u32,
    },
    /// More bvecs than a bio may hold.
    #[error("bio of {nr} bvecs exceeds BIO_MAX_PAGES ({BIO_MAX_PAGES})")]
    TooManyVecs {
        /// Bvecs asked for.
        nr: usize,
    },
    /// A bio whose parts disagree (as read from C).
    #[error("inconsistent bio: {0}")]
    Inconsistent(&'static str),
}

impl Misuse for BioError {
    fn severity(&self) -> Severity {
        match self {
            BioError::Bvec(err) => err.severity(),
            BioError::Memory(err) => err.severity(),
            BioError::Full { .. } | BioError::SizeOverflow | BioError::TooManyVecs { .. } => {
                Severity::Fail
            }
            BioError::Cloned => Severity::Warn,
            BioError::CrossesFrame { .. }
            | BioError::SplitZero
            | BioError::SplitTooLarge { .. }
            | BioError::Inconsistent(_) => Severity::Bug,
        }
    }
}

/// A block I/O: a table of bvecs and an iterator over what is left of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bio {
    bi_iter: BvecIter,
    bi_io_vec: Vec<BioVec>,
    bi_max_vecs: usize,
    cloned: bool,
}

/// `bio_alloc`: an empty bio with room for `nr_iovecs` bvecs.
pub fn bio_alloc(nr_iovecs: usize) -> Result<Bio, BioError> {
    if nr_iovecs > BIO_MAX_PAGES {
        return Err(BioError::TooManyVecs { nr: nr_iovecs });
    }
    Ok(Bio {
        bi_iter: BvecIter::default(),
        bi_io_vec: Vec::with_capacity(nr_iovecs),
        bi_max_vecs: nr_iovecs,
        cloned: false,
    })
}

impl Bio {
    /// Rebuilds a bio from its parts (as read from C), checking every bvec
    /// against the world's layout and the iterator against the table.
    pub fn from_parts(
        world: &World,
        bi_io_vec: Vec<BioVec>,
        bi_iter: BvecIter,
        bi_max_vecs: usize,
        cloned: bool,
    ) -> Result<Bio, BioError> {
        if bi_max_vecs > BIO_MAX_PAGES {
            return Err(BioError::TooManyVecs { nr: bi_max_vecs });
        }
        if bi_io_vec.len() > bi_max_vecs {
            return Err(BioError::Inconsistent("bi_vcnt exceeds bi_max_vecs"));
        }
        for vec in &bi_io_vec {
            world.check_extent(vec.bv_pfn(), vec.bv_offset(), vec.bv_len())?;
        }
        let idx = bi_iter.bi_idx as usize;
        if idx > bi_io_vec.len() {
            return Err(BioError::Inconsistent("bi_idx is past bi_vcnt"));
        }
        let mut left: u64 = bi_io_vec[idx..].iter().map(|v| u64::from(v.bv_len())).sum();
        if let Some(vec) = bi_io_vec.get(idx) {
            if bi_iter.bi_bvec_done >= vec.bv_len() {
                return Err(BioError::Inconsistent(
                    "bi_bvec_done is past the current bvec",
                ));
            }
            left -= u64::from(bi_iter.bi_bvec_done);
        } else if bi_iter.bi_bvec_done != 0 {
            return Err(BioError::Inconsistent(
                "bi_bvec_done set at the end of the table",
            ));
        }
        if u64::from(bi_iter.bi_size) > left {
            return Err(BioError::Inconsistent(
                "bi_size exceeds the bytes left in the table",
            ));
        }
        Ok(Bio {
            bi_iter,
            bi_io_vec,
            bi_max_vecs,
            cloned,
        })
    }

    /// The iterator over what is left to do.
    pub fn bi_iter(&self) -> BvecIter {
        self.bi_iter
    }

    /// The bvec table.
    pub fn bi_io_vec(&self) -> &[BioVec] {
        &self.bi_io_vec
    }

    /// Bvecs in the table.
    pub fn bi_vcnt(&self) -> usize {
        self.bi_io_vec.len()
    }

    /// Capacity of the table.
    pub fn bi_max_vecs(&self) -> usize {
        self.bi_max_vecs
    }

    /// Bytes left.
    pub fn bi_size(&self) -> u32 {
        self.bi_iter.bi_size
    }

    /// Whole sectors left (`bio_sectors`).
    pub fn bio_sectors(&self) -> u32 {
        self.bi_iter.bi_size >> SECTOR_SHIFT
    }

    /// Sets the device sector the bio starts at.
    pub fn set_bi_sector(&mut self, sector: u64) {
        self.bi_iter.bi_sector = sector;
    }

    /// Whether this bio was split off another and shares its table.
    pub fn is_cloned(&self) -> bool {
        self.cloned
    }
}

/// `bio_add_page`: adds `len` bytes at `offset` into `page`.
pub fn bio_add_page(
    world: &World,
    bio: &mut Bio,
    page: Page,
    len: u32,
    offset: u32,
) -> Result<(), BioError> {
    bio_add_pfn(world, bio, page_to_pfn_t(page), len, offset)
}

/// Adds `len` bytes at `offset` into the frame of `pfn`, page-less or not.
///
/// The bytes merge into the previous bvec when they follow it physically
/// and carry the same flags; otherwise they take a new bvec, which fails
/// with [`BioError::Full`] when the table is full.
pub fn bio_add_pfn(
    world: &World,
    bio: &mut Bio,
    pfn: PfnT,
    len: u32,
    offset: u32,
) -> Result<(), BioError> {
    if bio.cloned {
        return Err(BioError::Cloned);
    }
    let vec = BioVec::new(pfn, len, offset)?;
    if offset + len > PAGE_SIZE {
        return Err(BioError::CrossesFrame { offset, len });
    }
    world.check_extent(pfn, offset, len)?;
    let size = bio
        .bi_iter
        .bi_size
        .checked_add(len)
        .ok_or(BioError::SizeOverflow)?;
    // Merging into a bvec the iterator has already passed would hide the
    // new bytes from it, so only a bvec still ahead may grow.
    let iter_in_table = (bio.bi_iter.bi_idx as usize) < bio.bi_io_vec.len();
    if let Some(prev) = bio.bi_io_vec.last_mut() {
        if iter_in_table && prev.phys_end() == vec.phys() && prev.bv_pfn().flags() == pfn.flags() {
            if let Some(grown) = prev.grown(len) {
                *prev = grown;
                bio.bi_iter.bi_size = size;
                return Ok(());
            }
        }
    }
    if bio.bi_io_vec.len() >= bio.bi_max_vecs {
        return Err(BioError::Full {
            max: bio.bi_max_vecs,
        });
    }
    bio.bi_io_vec.push(vec);
    bio.bi_iter.bi_size = size;
    Ok(())
}

/// `bio_advance`: marks `bytes` as done, moving the sector with them.
///
/// Advancing past the end WARNs ([`BvecError::AdvancePastEnd`]) and leaves
/// the bio empty, as in the kernel.
pub fn bio_advance(bio: &mut Bio, bytes: u32) -> Result<(), BioError> {
    bio.bi_iter.bi_sector += u64::from(bytes >> SECTOR_SHIFT);
    bvec_iter_advance(&bio.bi_io_vec, &mut bio.bi_iter, bytes)?;
    Ok(())
}

/// `bio_split`: splits off and returns the first `sectors` sectors; `bio`
/// keeps the rest. The returned bio is a clone sharing the table.
pub fn bio_split(bio: &mut Bio, sectors: u32) -> Result<Bio, BioError> {
    if sectors == 0 {
        return Err(BioError::SplitZero);
    }
    if sectors >= bio.bio_sectors() {
        return Err(BioError::SplitTooLarge {
            sectors,
            bio_sectors: bio.bio_sectors(),
        });
    }
    let bytes = sectors << SECTOR_SHIFT;
    let split = Bio {
        bi_iter: BvecIter {
            bi_size: bytes,
            ..bio.bi_iter
        },
        bi_io_vec: bio.bi_io_vec.clone(),
        bi_max_vecs: bio.bi_max_vecs,
        cloned: true,
    };
    bio_advance(bio, bytes)?;
    Ok(split)
}

/// `bio_for_each_segment`: the single-page segments left.
pub fn bio_for_each_segment(bio: &Bio) -> BvecSegments<'_> {
    for_each_bvec(&bio.bi_io_vec, bio.bi_iter)
}

/// `bio_for_each_bvec`: the multi-page segments left.
pub fn bio_for_each_bvec(bio: &Bio) -> BvecSegments<'_> {
    for_each_mp_bvec(&bio.bi_io_vec, bio.bi_iter)
}

/// `bio_segments`: number of single-page segments left.
pub fn bio_segments(bio: &Bio) -> usize {
    bio_for_each_segment(bio).count()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory::DevMemmap;
    use crate::pfn_t::{pfn_t_to_pfn, pfn_to_pfn_t};

    const MIB: u64 = 1 << 20;
    const PMEM: u64 = 1 << 32;

    fn world() -> World {
        let mut world = World::new();
        world.add_dram(0, 16 * MIB).unwrap();
        world
            .add_pmem("pmem0", PMEM, 64 * MIB, DevMemmap::None)
            .unwrap();
        world
    }

    fn dev(pfn: u64) -> PfnT {
        crate::pfn_t::phys_to_pfn_t(PMEM + (pfn << 12), crate::pfn_t::PFN_DEV)
    }

    /// `(pfn, offset, len)` of each segment.
    fn check(segs: BvecSegments<'_>, expected: &[(u64, u32, u32)]) {
        let got: Vec<_> = segs
            .map(|s| (pfn_t_to_pfn(s.bv_pfn()), s.bv_offset(), s.bv_len()))
            .collect();
        assert_eq!(got, expected);
    }

    #[test]
    fn contiguous_pages_merge_into_one_bvec() {
        let world = world();
        let mut bio = bio_alloc(4).unwrap();
        for pfn in 10..13 {
            bio_add_page(&world, &mut bio, Page::from_pfn(pfn), 4096, 0).unwrap();
        }
        assert_eq!(bio.bi_vcnt(), 1);
        assert_eq!(bio.bi_size(), 3 * 4096);
        check(bio_for_each_bvec(&bio), &[(10, 0, 12288)]);
        check(
            bio_for_each_segment(&bio),
            &[(10, 0, 4096), (11, 0, 4096), (12, 0, 4096)],
        );
    }

    #[test]
    fn sub_page_adds_merge_only_when_contiguous() {
        let world = world();
        let mut bio = bio_alloc(4).unwrap();
        let page = Page::from_pfn(20);
        bio_add_page(&world, &mut bio, page, 512, 0).unwrap();
        bio_add_page(&world, &mut bio, page, 512, 512).unwrap();
        // A gap: 1024..1536 is skipped.
        bio_add_page(&world, &mut bio, page, 512, 1536).unwrap();
        assert_eq!(bio.bi_vcnt(), 2);
        check(bio_for_each_bvec(&bio), &[(20, 0, 1024), (20, 1536, 512)]);
    }

    #[test]
    fn page_less_pfns_merge_with_each_other_not_with_pages() {
        let world = world();
        let mut bio = bio_alloc(4).unwrap();
        bio_add_pfn(&world, &mut bio, dev(0), 4096, 0).unwrap();
        bio_add_pfn(&world, &mut bio, dev(1), 4096, 0).unwrap();
        assert_eq!(bio.bi_vcnt(), 1);
        // The same frame with a page claim is refused: it has no memmap.
        let err = bio_add_pfn(
            &world,
            &mut bio,
            pfn_to_pfn_t(pfn_t_to_pfn(dev(2))).unwrap(),
            4096,
            0,
        )
        .unwrap_err();
        assert!(
            matches!(err, BioError::Memory(MemError::NoMemmap { .. })),
            "{err}"
        );
        assert_eq!(err.severity(), Severity::Bug);
        assert_eq!(bio.bi_size(), 8192);
    }

    #[test]
    fn full_bio_fails_but_still_merges() {
        let world = world();
        let mut bio = bio_alloc(1).unwrap();
        bio_add_page(&world, &mut bio, Page::from_pfn(1), 4096, 0).unwrap();
        let err = bio_add_page(&world, &mut bio, Page::from_pfn(5), 4096, 0).unwrap_err();
        assert_eq!(err, BioError::Full { max: 1 });
        assert_eq!(err.severity(), Severity::Fail);
        bio_add_page(&world, &mut bio, Page::from_pfn(2), 4096, 0).unwrap();
        assert_eq!(bio.bi_size(), 8192);
    }

    #[test]
    fn add_past_the_frame_or_outside_memory_is_a_bug() {
        let world = world();
        let mut bio = bio_alloc(4).unwrap();
        let err = bio_add_page(&world, &mut bio, Page::from_pfn(1), 4000, 100).unwrap_err();
        assert_eq!(
            err,
            BioError::CrossesFrame {
                offset: 100,
                len: 4000
            }
        );
        let hole = Page::from_pfn((16 * MIB) >> 12);
        let err = bio_add_page(&world, &mut bio, hole, 1, 0).unwrap_err();
        assert!(matches!(err, BioError::Memory(MemError::NoMemory { .. })));
        assert!(matches!(
            bio_add_page(&world, &mut bio, Page::from_pfn(1), 0, 0),
            Err(BioError::Bvec(BvecError::Empty))
        ));
        assert_eq!(bio.bi_vcnt(), 0);
        assert!(matches!(
            bio_alloc(BIO_MAX_PAGES + 1),
            Err(BioError::TooManyVecs { .. })
        ));
    }

    #[test]
    fn advance_moves_sector_and_segments() {
        let world = world();
        let mut bio = bio_alloc(4).unwrap();
        bio.set_bi_sector(100);
        bio_add_page(&world, &mut bio, Page::from_pfn(1), 4096, 0).unwrap();
        bio_add_page(&world, &mut bio, Page::from_pfn(9), 4096, 0).unwrap();
        bio_advance(&mut bio, 5120).unwrap();
        assert_eq!(bio.bi_iter().bi_sector, 110);
        check(bio_for_each_segment(&bio), &[(9, 1024, 3072)]);
        let err = bio_advance(&mut bio, 4000).unwrap_err();
        assert_eq!(err.severity(), Severity::Warn);
        assert_eq!(bio.bi_size(), 0);
        assert_eq!(bio_segments(&bio), 0);
    }

    #[test]
    fn split_cuts_at_the_sector() {
        let world = world();
        let mut bio = bio_alloc(4).unwrap();
        bio.set_bi_sector(8);
        bio_add_page(&world, &mut bio, Page::from_pfn(1), 4096, 0).unwrap();
        bio_add_page(&world, &mut bio, Page::from_pfn(2), 4096, 0).unwrap();
        bio_add_pfn(&world, &mut bio, dev(0), 2048, 0).unwrap();
        let front = bio_split(&mut bio, 9).unwrap();
        assert!(front.is_cloned());
        assert_eq!(front.bi_iter().bi_sector, 8);
        assert_eq!(bio.bi_iter().bi_sector, 17);
        check(bio_for_each_segment(&front), &[(1, 0, 4096), (2, 0, 512)]);
        check(
            bio_for_each_segment(&bio),
            &[(2, 512, 3584), (pfn_t_to_pfn(dev(0)), 0, 2048)],
        );
        assert_eq!(front.bi_size() + bio.bi_size(), 10240);
        assert_eq!(
            bio_add_page(&world, &mut front.clone(), Page::from_pfn(3), 1, 0),
            Err(BioError::Cloned)
        );
        assert_eq!(bio_split(&mut bio, 0), Err(BioError::SplitZero));
        let err = bio_split(&mut bio, 11).unwrap_err();
        assert_eq!(
            err,
            BioError::SplitTooLarge {
                sectors: 11,
                bio_sectors: 11
            }
        );
        assert_eq!(err.severity(), Severity::Bug);
    }

    #[test]
    fn add_after_full_advance_opens_a_new_bvec() {
        let world = world();
        let mut bio = bio_alloc(4).unwrap();
        bio_add_page(&world, &mut bio, Page::from_pfn(1), 4096, 0).unwrap();
        bio_advance(&mut bio, 4096).unwrap();
        bio_add_page(&world, &mut bio, Page::from_pfn(2), 4096, 0).unwrap();
        assert_eq!(bio.bi_vcnt(), 2);
        check(bio_for_each_segment(&bio), &[(2, 0, 4096)]);
    }

    #[test]
    fn from_parts_checks_the_iterator() {
        let world = world();
        let vec = BioVec::new(pfn_to_pfn_t(1).unwrap(), 4096, 0).unwrap();
        let it = |size, idx, done| BvecIter {
            bi_sector: 0,
            bi_size: size,
            bi_idx: idx,
            bi_bvec_done: done,
        };
        assert!(Bio::from_parts(&world, vec![vec], it(4096, 0, 0), 1, false).is_ok());
        assert!(Bio::from_parts(&world, vec![vec], it(96, 0, 4000), 1, false).is_ok());
        for bad in [it(4097, 0, 0), it(1, 1, 0), it(0, 0, 4096), it(0, 2, 0)] {
            let err = Bio::from_parts(&world, vec![vec], bad, 1, false).unwrap_err();
            assert!(matches!(err, BioError::Inconsistent(_)), "{bad:?}: {err}");
        }
        assert!(Bio::from_parts(&world, vec![vec, vec], it(0, 0, 0), 1, false).is_err());
    }
}
