//! Bounce buffering: I/O to frames a device cannot reach goes through a
//! low page, copied before a write and after a read.
//!
//! A queue that cannot address memory above `bounce_pfn` gets a clone of the
//! bio in which every segment above the limit is replaced by a page from
//! low memory (`blk_queue_bounce`). Copying needs both sides mapped and the
//! replacement needs a `struct page`, so bouncing is defined only for
//! memory that has one: a page-less segment above the limit is
//! [`BounceError::PagelessAboveLimit`], an error value where the kernel
//! would have dereferenced a NULL page.

use thiserror::Error;

use crate::bio::{Bio, BioError};
use crate::bvec::{BioVec, BvecIter};
use crate::memory::{MemError, Page, World};
use crate::pfn_t::{page_to_pfn_t, pfn_t_has_page, pfn_t_to_pfn, PfnT};
use crate::request::QueueLimits;
use crate::severity::{Misuse, Severity};

/// Errors of bounce buffering.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum BounceError {
    /// Mapping or allocating memory failed.
    #[error(transparent)]
    Memory(#[from] MemError),
    /// The bio is malformed.
    #[error(transparent)]
    Bio(#[from] BioError),
    /// A page-less segment the device cannot reach.
    #[error(
        "pfn {pfn:#x} is above the bounce limit {bounce_pfn:#x} but has no struct page to bounce \
         (raise the queue's bounce limit or give the device a memmap)"
    )]
    PagelessAboveLimit {
        /// The segment's pfn.
        pfn: u64,
        /// The queue's limit.
        bounce_pfn: u64,
    },
}

impl Misuse for BounceError {
    fn severity(&self) -> Severity {
        match self {
            BounceError::Memory(err) => err.severity(),
            BounceError::Bio(err) => err.severity(),
            BounceError::PagelessAboveLimit { .. } => Severity::Bug,
        }
    }
}

/// Direction of the I/O being bounced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rw {
    /// Device to memory: copy back on completion.
    Read,
    /// Memory to device: copy before submission.
    Write,
}

/// One segment that was replaced by a bounce page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct BounceCopy {
    orig: BioVec,
    page: Page,
}

/// A bio ready for a queue with a bounce limit, and what it takes to
/// complete the original.
#[derive(Debug)]
#[must_use = "a bounced bio holds pages until completed"]
pub struct Bounced {
    orig: Bio,
    bounce: Option<Bio>,
    copies: Vec<BounceCopy>,
    rw: Rw,
}

impl Bounced {
    /// The bio to submit: the original if nothing needed bouncing.
    pub fn bio(&self) -> &Bio {
        self.bounce.as_ref().unwrap_or(&self.orig)
    }

    /// Number of bounce pages in use.
    pub fn bounce_pages(&self) -> usize {
        self.copies.len()
    }

    /// Completes the I/O: copies a read back to the original memory, frees
    /// the bounce pages and returns the original bio. The pages are freed
    /// even if a copy fails.
    pub fn complete(self, world: &mut World) -> Result<Bio, BounceError> {
        let mut first_err: Option<BounceError> = None;
        for copy in &self.copies {
            if self.rw == Rw::Read {
                if let Err(err) = copy_bvec(world, page_to_pfn_t(copy.page), &copy.orig) {
                    first_err.get_or_insert(err);
                }
            }
            if let Err(err) = world.free_page(copy.page) {
                first_err.get_or_insert(err.into());
            }
        }
        match first_err {
            Some(err) => Err(err),
            None => Ok(self.orig),
        }
    }
}

/// `blk_queue_bounce`: replaces every segment of `bio` above
/// `limits.bounce_pfn` with a page below it, copying the data now for a
/// write.
///
/// Every segment is checked before any page is allocated, so a page-less
/// segment above the limit fails without side effects.
pub fn blk_queue_bounce(
    world: &mut World,
    limits: &QueueLimits,
    bio: Bio,
    rw: Rw,
) -> Result<Bounced, BounceError> {
    let segs: Vec<BioVec> = crate::bio::bio_for_each_segment(&bio).collect();
    let above = |seg: &BioVec| pfn_t_to_pfn(seg.bv_pfn()) > limits.bounce_pfn;
    if !segs.iter().any(above) {
        return Ok(Bounced {
            orig: bio,
            bounce: None,
            copies: Vec::new(),
            rw,
        });
    }
    if let Some(seg) = segs
        .iter()
        .find(|s| above(s) && !pfn_t_has_page(s.bv_pfn()))
    {
        return Err(BounceError::PagelessAboveLimit {
            pfn: pfn_t_to_pfn(seg.bv_pfn()),
            bounce_pfn: limits.bounce_pfn,
        });
    }
    let mut copies = Vec::new();
    let mut vecs = Vec::with_capacity(segs.len());
    let res = (|| {
        for seg in &segs {
            if !above(seg) {
                vecs.push(*seg);
                continue;
            }
            let page = world.alloc_page_below(limits.bounce_pfn)?;
            copies.push(BounceCopy { orig: *seg, page });
            let to = BioVec::new(page_to_pfn_t(page), seg.bv_len(), seg.bv_offset())
                .map_err(BioError::from)?;
            if rw == Rw::Write {
                copy_bvec(world, seg.bv_pfn(), &to)?;
            }
            vecs.push(to);
        }
        Ok::<(), BounceError>(())
    })();
    if let Err(err) = res {
        for copy in &copies {
            // Allocated just above and not yet visible to anyone.
            let _ = world.free_page(copy.page);
        }
        return Err(err);
    }
    let iter = BvecIter {
        bi_sector: bio.bi_iter().bi_sector,
        bi_size: bio.bi_size(),
        bi_idx: 0,
        bi_bvec_done: 0,
    };
    let max = vecs.len();
    let bounce = Bio::from_parts(world, vecs, iter, max.max(1), true)?;
    Ok(Bounced {
        orig: bio,
        bounce: Some(bounce),
        copies,
        rw,
    })
}

/// Copies the bytes of `to`'s extent from the same offset in `from`'s frame.
fn copy_bvec(world: &mut World, from: PfnT, to: &BioVec) -> Result<(), BounceError> {
    let mut buf = vec![0u8; to.bv_len() as usize];
    world.memcpy_from_pfn(from, to.bv_offset(), &mut buf)?;
    world.memcpy_to_pfn(to.bv_pfn(), to.bv_offset(), &buf)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bio::{bio_add_page, bio_add_pfn, bio_alloc, bio_for_each_segment};
    use crate::memory::DevMemmap;
    use crate::pfn_t::pfn_t_to_pfn;

    const GIB: u64 = 1 << 30;

    /// Low DRAM below 16 MiB, high DRAM at 4 GiB, pmem at 8 GiB.
    fn world() -> World {
        let mut world = World::new();
        world.add_dram(0, 16 << 20).unwrap();
        world.add_dram(4 * GIB, 16 << 20).unwrap();
        world
    }

    fn limits() -> QueueLimits {
        QueueLimits {
            bounce_pfn: (16 << 20) >> 12,
            ..QueueLimits::default()
        }
    }

    #[test]
    fn write_above_limit_is_copied_to_a_low_page() {
        let mut world = world();
        let high = world.pfn_to_page((4 * GIB) >> 12).unwrap();
        let low = world.pfn_to_page(5).unwrap();
        world
            .memcpy_to_pfn(page_to_pfn_t(high), 100, b"high data")
            .unwrap();
        let mut bio = bio_alloc(2).unwrap();
        bio_add_page(&world, &mut bio, low, 512, 0).unwrap();
        bio_add_page(&world, &mut bio, high, 9, 100).unwrap();
        let bounced = blk_queue_bounce(&mut world, &limits(), bio.clone(), Rw::Write).unwrap();
        assert_eq!(bounced.bounce_pages(), 1);
        let segs: Vec<_> = bio_for_each_segment(bounced.bio()).collect();
        assert_eq!(segs[0], bio.bi_io_vec()[0]);
        assert!(pfn_t_to_pfn(segs[1].bv_pfn()) <= limits().bounce_pfn);
        assert_eq!((segs[1].bv_offset(), segs[1].bv_len()), (100, 9));
        let mut buf = [0u8; 9];
        world
            .memcpy_from_pfn(segs[1].bv_pfn(), 100, &mut buf)
            .unwrap();
        assert_eq!(&buf, b"high data");
        assert_eq!(bounced.complete(&mut world).unwrap(), bio);
        assert_eq!(world.allocated_pages(), 0);
    }

    #[test]
    fn read_is_copied_back_on_completion() {
        let mut world = world();
        let high = world.pfn_to_page((4 * GIB) >> 12).unwrap();
        let mut bio = bio_alloc(1).unwrap();
        bio_add_page(&world, &mut bio, high, 4096, 0).unwrap();
        let bounced = blk_queue_bounce(&mut world, &limits(), bio, Rw::Read).unwrap();
        // The "device" fills the bounce page.
        let seg = bounced.bio().bi_io_vec()[0];
        world.memcpy_to_pfn(seg.bv_pfn(), 0, b"from disk").unwrap();
        bounced.complete(&mut world).unwrap();
        let mut buf = [0u8; 9];
        world
            .memcpy_from_pfn(page_to_pfn_t(high), 0, &mut buf)
            .unwrap();
        assert_eq!(&buf, b"from disk");
    }

    #[test]
    fn page_less_bvec_above_limit_is_an_error_without_side_effects() {
        let mut world = world();
        let pmem = world
            .add_pmem("pmem0", 8 * GIB, GIB, DevMemmap::None)
            .unwrap();
        let high = world.pfn_to_page((4 * GIB) >> 12).unwrap();
        let mut bio = bio_alloc(2).unwrap();
        bio_add_page(&world, &mut bio, high, 4096, 0).unwrap();
        let pfn = world.device_pfn_t(pmem, 3).unwrap();
        bio_add_pfn(&world, &mut bio, pfn, 4096, 0).unwrap();
        let err = blk_queue_bounce(&mut world, &limits(), bio, Rw::Write).unwrap_err();
        assert_eq!(
            err,
            BounceError::PagelessAboveLimit {
                pfn: pfn_t_to_pfn(pfn),
                bounce_pfn: limits().bounce_pfn
            }
        );
        assert_eq!(err.severity(), Severity::Bug);
        assert_eq!(world.allocated_pages(), 0);
    }

    #[test]
    fn nothing_above_limit_passes_the_bio_through() {
        let mut world = world();
        let mut bio = bio_alloc(1).unwrap();
        bio_add_page(&world, &mut bio, Page::from_pfn(1), 4096, 0).unwrap();
        let bounced = blk_queue_bounce(&mut world, &limits(), bio.clone(), Rw::Write).unwrap();
        assert_eq!(bounced.bio(), &bio);
        assert_eq!(bounced.bounce_pages(), 0);
    }

    #[test]
    fn exhausted_bounce_pool_frees_what_it_took() {
        let mut world = World::new();
        world.add_dram(0, 4096).unwrap();
        world.add_dram(4 * GIB, 16 << 20).unwrap();
        let mut bio = bio_alloc(2).unwrap();
        bio_add_page(&world, &mut bio, Page::from_pfn((4 * GIB) >> 12), 4096, 0).unwrap();
        bio_add_page(
            &world,
            &mut bio,
            Page::from_pfn(((4 * GIB) >> 12) + 2),
            4096,
            0,
        )
        .unwrap();
        let tight = QueueLimits {
            bounce_pfn: 0,
            ..QueueLimits::default()
        };
        let err = blk_queue_bounce(&mut world, &tight, bio, Rw::Write).unwrap_err();
        assert_eq!(
            err,
            BounceError::Memory(MemError::OutOfPages { max_pfn: 0 })
        );
        assert_eq!(world.allocated_pages(), 0);
    }
}
