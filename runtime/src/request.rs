//! Queue limits, physical segment merging and the mapping of a request's
//! bios into a scatterlist (`blk_rq_map_sg`).
//!
//! Merging follows the kernel: two segments share a scatterlist entry when
//! the second starts where the first ends physically, the entry stays
//! within the queue's maximum segment size, and it does not cross the
//! queue's segment boundary. The pfn model adds one rule: the two must
//! carry the same `pfn_t` flags, or the entry would claim a `struct page`
//! for memory that has none.

use thiserror::Error;

use crate::bio::{bio_for_each_segment, Bio};
use crate::bvec::BioVec;
use crate::scatterlist::{sg_mark_end, sg_set_pfn, SgError, SgTable};
use crate::severity::{Misuse, Severity};
use crate::PAGE_SHIFT;

/// No bouncing: every pfn is reachable (`BLK_BOUNCE_ANY` as a pfn).
pub const BLK_BOUNCE_ANY: u64 = u64::MAX >> PAGE_SHIFT;
/// Default segment boundary (`BLK_SEG_BOUNDARY_MASK`).
pub const BLK_SEG_BOUNDARY_MASK: u64 = 0xffff_ffff;
/// Default maximum segment size (`BLK_MAX_SEGMENT_SIZE`).
pub const BLK_MAX_SEGMENT_SIZE: u32 = 65536;
/// Default maximum number of segments (`BLK_MAX_SEGMENTS`).
pub const BLK_MAX_SEGMENTS: u16 = 128;

/// The limits of a request queue that shape its segments.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueLimits {
    /// Highest pfn the device reaches without bouncing.
    pub bounce_pfn: u64,
    /// A segment may not cross a multiple of this mask plus one.
    pub seg_boundary_mask: u64,
    /// Largest segment in bytes.
    pub max_segment_size: u32,
    /// Most segments in one request.
    pub max_segments: u16,
}

impl Default for QueueLimits {
    fn default() -> QueueLimits {
        QueueLimits {
            bounce_pfn: BLK_BOUNCE_ANY,
            seg_boundary_mask: BLK_SEG_BOUNDARY_MASK,
            max_segment_size: BLK_MAX_SEGMENT_SIZE,
            max_segments: BLK_MAX_SEGMENTS,
        }
    }
}

/// Errors of request mapping.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum RequestError {
    /// The scatterlist is unusable or too small.
    #[error(transparent)]
    Sg(#[from] SgError),
    /// More physical segments than the queue allows.
    #[error("request needs more than {max} segments")]
    TooManySegments {
        /// The queue's limit.
        max: u16,
    },
}

impl Misuse for RequestError {
    fn severity(&self) -> Severity {
        match self {
            RequestError::Sg(err) => err.severity(),
            // The kernel splits bios to fit the limits before it maps
            // them, so a request that does not fit is a block-layer bug.
            RequestError::TooManySegments { .. } => Severity::Bug,
        }
    }
}

/// Whether `v2` may share a physical segment with `v1` before it.
pub fn biovec_phys_mergeable(limits: &QueueLimits, v1: &BioVec, v2: &BioVec) -> bool {
    if v1.phys_end() != v2.phys() || v1.bv_pfn().flags() != v2.bv_pfn().flags() {
        return false;
    }
    let mask = limits.seg_boundary_mask;
    (v1.phys() | mask) == ((v2.phys_end() - 1) | mask)
}

/// A request: bios for contiguous sectors, submitted together.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    bios: Vec<Bio>,
}

impl Request {
    /// A request of one bio.
    pub fn new(bio: Bio) -> Request {
        Request { bios: vec![bio] }
    }

    /// Appends a bio (`blk_rq_append_bio`).
    pub fn append(&mut self, bio: Bio) {
        self.bios.push(bio);
    }

    /// The bios in order.
    pub fn bios(&self) -> &[Bio] {
        &self.bios
    }

    /// Takes the request apart again.
    pub fn into_bios(self) -> Vec<Bio> {
        self.bios
    }
}

/// `blk_rq_map_sg`: fills `table` with the physical segments of `rq`,
/// marks the last one and returns how many there are.
pub fn blk_rq_map_sg(
    limits: &QueueLimits,
    rq: &Request,
    table: &mut SgTable,
) -> Result<usize, RequestError> {
    let slots = table.slots()?;
    let mut nsegs = 0usize;
    let mut prev: Option<BioVec> = None;
    for seg in rq.bios.iter().flat_map(bio_for_each_segment) {
        let merged = match prev {
            Some(p) if nsegs > 0 => {
                let sg = table.get_mut(slots[nsegs - 1])?;
                let fits = u64::from(sg.length) + u64::from(seg.bv_len())
                    <= u64::from(limits.max_segment_size);
                if fits && biovec_phys_mergeable(limits, &p, &seg) {
                    sg.length += seg.bv_len();
                    true
                } else {
                    false
                }
            }
            _ => false,
        };
        if !merged {
            if nsegs >= usize::from(limits.max_segments) {
                return Err(RequestError::TooManySegments {
                    max: limits.max_segments,
                });
            }
            let slot = *slots
                .get(nsegs)
                .ok_or(SgError::TableFull { nents: slots.len() })?;
            sg_set_pfn(
                table.get_mut(slot)?,
                seg.bv_pfn(),
                seg.bv_len(),
                seg.bv_offset(),
            )?;
            nsegs += 1;
        }
        prev = Some(seg);
    }
    if nsegs > 0 {
        sg_mark_end(table.get_mut(slots[nsegs - 1])?);
    }
    Ok(nsegs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bio::{bio_add_page, bio_add_pfn, bio_alloc};
    use crate::memory::{DevMemmap, Page, World};
    use crate::pfn_t::{pfn_to_pfn_t, PFN_DEV};
    use crate::scatterlist::{__sg_alloc_table, sg_alloc_table, sg_page, sg_phys};

    fn world() -> (World, crate::memory::DeviceId) {
        let mut world = World::new();
        world.add_dram(0, 1 << 24).unwrap();
        let dev = world
            .add_pmem("pmem0", 1 << 32, 1 << 24, DevMemmap::None)
            .unwrap();
        (world, dev)
    }

    fn bv(pfn: u64, len: u32, offset: u32) -> BioVec {
        BioVec::new(pfn_to_pfn_t(pfn).unwrap(), len, offset).unwrap()
    }

    fn entries(table: &SgTable) -> Vec<(u64, u32)> {
        table
            .positions()
            .unwrap()
            .into_iter()
            .map(|p| (sg_phys(table.get(p).unwrap()), table.get(p).unwrap().length))
            .collect()
    }

    #[test]
    fn mergeable_needs_contiguity_flags_and_boundary() {
        let limits = QueueLimits::default();
        assert!(biovec_phys_mergeable(
            &limits,
            &bv(1, 4096, 0),
            &bv(2, 4096, 0)
        ));
        assert!(!biovec_phys_mergeable(
            &limits,
            &bv(1, 4096, 0),
            &bv(3, 4096, 0)
        ));
        assert!(!biovec_phys_mergeable(
            &limits,
            &bv(1, 100, 0),
            &bv(1, 100, 200)
        ));
        let dev = BioVec::new(crate::pfn_t::__pfn_to_pfn_t(2, PFN_DEV).unwrap(), 4096, 0).unwrap();
        assert!(!biovec_phys_mergeable(&limits, &bv(1, 4096, 0), &dev));
        let small = QueueLimits {
            seg_boundary_mask: 0x1fff,
            ..limits
        };
        // 0x1000..0x2000 then 0x2000..0x3000 crosses the 8 KiB boundary.
        assert!(!biovec_phys_mergeable(
            &small,
            &bv(1, 4096, 0),
            &bv(2, 4096, 0)
        ));
        assert!(biovec_phys_mergeable(
            &small,
            &bv(2, 4096, 0),
            &bv(3, 4096, 0)
        ));
    }

    #[test]
    fn map_sg_merges_across_bios_and_marks_end() {
        let (world, dev) = world();
        let mut first = bio_alloc(4).unwrap();
        bio_add_page(&world, &mut first, Page::from_pfn(1), 4096, 0).unwrap();
        let mut second = bio_alloc(4).unwrap();
        bio_add_page(&world, &mut second, Page::from_pfn(2), 4096, 0).unwrap();
        bio_add_pfn(
            &world,
            &mut second,
            world.device_pfn_t(dev, 0).unwrap(),
            512,
            0,
        )
        .unwrap();
        let mut rq = Request::new(first);
        rq.append(second);
        let mut table = sg_alloc_table(8).unwrap();
        let n = blk_rq_map_sg(&QueueLimits::default(), &rq, &mut table).unwrap();
        assert_eq!(n, 2);
        assert_eq!(entries(&table), [(4096, 8192), (1 << 32, 512)]);
        let last = table.positions().unwrap()[1];
        assert_eq!(sg_page(table.get(last).unwrap()), Ok(None));
    }

    #[test]
    fn map_sg_respects_segment_size_and_chains() {
        let (world, _) = world();
        let mut bio = bio_alloc(8).unwrap();
        for pfn in 10..16 {
            bio_add_page(&world, &mut bio, Page::from_pfn(pfn), 4096, 0).unwrap();
        }
        let limits = QueueLimits {
            max_segment_size: 8192,
            ..QueueLimits::default()
        };
        let mut table = __sg_alloc_table(4, 2).unwrap();
        let n = blk_rq_map_sg(&limits, &Request::new(bio.clone()), &mut table).unwrap();
        assert_eq!(n, 3);
        assert_eq!(
            entries(&table),
            [(10 << 12, 8192), (12 << 12, 8192), (14 << 12, 8192)]
        );

        let tiny = QueueLimits {
            max_segment_size: 4096,
            ..QueueLimits::default()
        };
        let err = blk_rq_map_sg(&tiny, &Request::new(bio.clone()), &mut table).unwrap_err();
        assert_eq!(err, RequestError::Sg(SgError::TableFull { nents: 4 }));
        let few = QueueLimits {
            max_segments: 2,
            ..limits
        };
        let err = blk_rq_map_sg(&few, &Request::new(bio), &mut table).unwrap_err();
        assert_eq!(err, RequestError::TooManySegments { max: 2 });
        assert_eq!(err.severity(), Severity::Bug);
    }
}
