//! What a C program did to a world, as the runtime saw it: the events it
//! caused (scatterlists and DMA mappings produced, misuse, values it
//! reported), the state it left its bios in, and the bytes of memory.
//!
//! Everything here is named in layout-neutral terms, physical addresses,
//! lengths, directions and allocation order, never `struct page *` values
//! or `pfn_t` flags, so that one program compiled in the `bv_page` layout
//! and its conversion compiled in the `bv_pfn` layout can be compared
//! observation for observation.

use std::collections::BTreeMap;
use std::fmt;

use crate::bvec::BvecIter;
use crate::dma::DmaDataDirection;
use crate::severity::Severity;
use crate::PAGE_SIZE;

/// A bio, by the order in which the world allocated it (0 for the first).
///
/// Allocation order is the same in every run of the same program, where
/// addresses are not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BioId(pub u64);

impl fmt::Display for BioId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "bio #{}", self.0)
    }
}

/// Which `struct bio_vec` a C call was handed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BvecRef {
    /// An entry of a live bio's table: `bi_io_vec[idx]`.
    Table {
        /// The bio.
        bio: BioId,
        /// Index into its table.
        idx: usize,
    },
    /// The segment that a bio iteration last wrote to this `struct bio_vec`
    /// (the `bvl` of `bio_for_each_segment` and friends).
    Segment {
        /// The bio iterated.
        bio: BioId,
        /// `bi_idx` of the iterator when the segment was produced.
        bi_idx: u32,
        /// `bi_bvec_done` of the iterator then.
        bi_bvec_done: u32,
    },
    /// A `struct bio_vec` the runtime knows nothing about (a copy on the
    /// C stack, say).
    Unknown,
}

/// One scatterlist entry, in physical terms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SgEntry {
    /// Physical address of the entry's first byte (`sg_phys`).
    pub phys: u64,
    /// `length`.
    pub length: u32,
    /// Whether the entry carries the end mark.
    pub last: bool,
}

/// One mapped scatterlist entry, as the device sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DmaEntry {
    /// `sg_dma_address`.
    pub addr: u64,
    /// `sg_dma_len`.
    pub len: u32,
}

/// Something the runtime saw a C program do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// `sg_set_pfn` or `sg_set_page` pointed an entry at memory.
    SgSet {
        /// Physical address of the frame plus `offset`.
        phys: u64,
        /// `offset` into the first frame.
        offset: u32,
        /// `length`.
        length: u32,
    },
    /// `blk_rq_map_sg` filled a scatterlist.
    MapSg {
        /// The entries used, in order.
        entries: Vec<SgEntry>,
    },
    /// `dma_map_sg` mapped a scatterlist.
    DmaMapSg {
        /// Name of the DMA master.
        device: String,
        /// Direction.
        dir: DmaDataDirection,
        /// The mapped entries, in order.
        entries: Vec<DmaEntry>,
    },
    /// `dma_unmap_sg`.
    DmaUnmapSg {
        /// Name of the DMA master.
        device: String,
        /// Entries passed.
        nents: usize,
    },
    /// `dma_map_pfn` or `dma_map_page` mapped one buffer.
    DmaMap {
        /// Name of the DMA master.
        device: String,
        /// Physical address of the buffer.
        phys: u64,
        /// Its size.
        size: u64,
        /// Direction.
        dir: DmaDataDirection,
        /// The bus address returned.
        addr: u64,
    },
    /// `dma_unmap_pfn` or `dma_unmap_page`.
    DmaUnmap {
        /// Name of the DMA master.
        device: String,
        /// The bus address released.
        addr: u64,
        /// Its size.
        size: u64,
    },
    /// `bvec_page()` of a page-less `struct bio_vec`: it returned NULL,
    /// which the caller then uses as a page.
    PagelessBvecPage {
        /// Which bvec.
        bvec: BvecRef,
        /// Its pfn, without flags.
        pfn: u64,
        /// Its `pfn_t` flags.
        flags: u64,
    },
    /// A runtime call failed (the kernel would have returned an error,
    /// WARNed or BUGged).
    Misuse {
        /// The operation, named the same in both layouts (`kmap` for
        /// `kmap_atomic` and `kmap_atomic_pfn_t`, `bio_add` for
        /// `bio_add_page` and `bio_add_pfn`, ...).
        op: &'static str,
        /// What the kernel would have done.
        severity: Severity,
        /// Why, in the runtime's words (not compared: the wording may name
        /// a page in one layout and a pfn in the other).
        message: String,
    },
    /// A value the program reported with `bvmig_report()`.
    Report {
        /// Its name.
        name: String,
        /// Its value.
        value: u64,
    },
}

impl Event {
    /// Whether two events record the same thing. Everything is compared
    /// except a misuse's message.
    pub fn same(&self, other: &Event) -> bool {
        match (self, other) {
            (
                Event::Misuse {
                    op: a, severity: x, ..
                },
                Event::Misuse {
                    op: b, severity: y, ..
                },
            ) => a == b && x == y,
            _ => self == other,
        }
    }
}

impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Event::SgSet {
                phys,
                offset,
                length,
            } => write!(
                f,
                "sg_set at phys {phys:#x} (offset {offset}, length {length})"
            ),
            Event::MapSg { entries } => {
                write!(f, "blk_rq_map_sg -> [")?;
                for (i, e) in entries.iter().enumerate() {
                    let sep = if i == 0 { "" } else { ", " };
                    let last = if e.last { " last" } else { "" };
                    write!(f, "{sep}{:#x}+{}{last}", e.phys, e.length)?;
                }
                write!(f, "]")
            }
            Event::DmaMapSg {
                device,
                dir,
                entries,
            } => {
                write!(f, "dma_map_sg({device}, {dir:?}) -> [")?;
                for (i, e) in entries.iter().enumerate() {
                    let sep = if i == 0 { "" } else { ", " };
                    write!(f, "{sep}{:#x}+{}", e.addr, e.len)?;
                }
                write!(f, "]")
            }
            Event::DmaUnmapSg { device, nents } => {
                write!(f, "dma_unmap_sg({device}, {nents} entries)")
            }
            Event::DmaMap {
                device,
                phys,
                size,
                dir,
                addr,
            } => write!(
                f,
                "dma_map({device}, phys {phys:#x}, {size} bytes, {dir:?}) -> {addr:#x}"
            ),
            Event::DmaUnmap { device, addr, size } => {
                write!(f, "dma_unmap({device}, {addr:#x}, {size} bytes)")
            }
            Event::PagelessBvecPage { bvec, pfn, flags } => {
                write!(f, "bvec_page() of a page-less bio_vec (")?;
                match bvec {
                    BvecRef::Table { bio, idx } => write!(f, "{bio} bi_io_vec[{idx}]")?,
                    BvecRef::Segment {
                        bio,
                        bi_idx,
                        bi_bvec_done,
                    } => write!(
                        f,
                        "segment of {bio} at bi_idx {bi_idx}, bi_bvec_done {bi_bvec_done}"
                    )?,
                    BvecRef::Unknown => write!(f, "a bio_vec outside any bio")?,
                }
                write!(f, "), pfn {pfn:#x}, flags {flags:#x}: it returns NULL")
            }
            Event::Misuse {
                op,
                severity,
                message,
            } => write!(f, "{op} failed ({severity:?}): {message}"),
            Event::Report { name, value } => write!(f, "report {name} = {value:#x}"),
        }
    }
}

/// One bvec of a bio as the program left it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BvecState {
    /// A bvec the runtime can read: where it points and how much.
    Valid {
        /// Physical address of the first byte.
        phys: u64,
        /// `bv_len`.
        len: u32,
    },
    /// A bvec that names no memory the world has (a NULL page, a bad
    /// length), with the runtime's reason.
    Invalid(String),
}

impl fmt::Display for BvecState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BvecState::Valid { phys, len } => write!(f, "{phys:#x}+{len}"),
            BvecState::Invalid(why) => write!(f, "invalid ({why})"),
        }
    }
}

/// A live bio as the program left it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BioState {
    /// Which bio.
    pub id: BioId,
    /// Its bvecs, `bi_vcnt` of them.
    pub vecs: Vec<BvecState>,
    /// `bi_iter`.
    pub iter: BvecIter,
    /// Whether it is a clone (split off another).
    pub cloned: bool,
}

/// The bytes of a world's memory: every frame that holds a non-zero byte,
/// by pfn. A frame absent here is all zeros.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MemoryImage {
    /// Frames by pfn.
    pub frames: BTreeMap<u64, Box<[u8]>>,
}

/// Where two memory images first differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ByteDiff {
    /// Physical address of the byte.
    pub phys: u64,
    /// The byte in the first image.
    pub left: u8,
    /// The byte in the second image.
    pub right: u8,
}

impl MemoryImage {
    /// A 64-bit FNV-1a digest of the image: the pfn and bytes of every
    /// non-zero frame, in address order. Equal images have equal digests.
    pub fn digest(&self) -> u64 {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        let mut eat = |bytes: &[u8]| {
            for &b in bytes {
                h ^= u64::from(b);
                h = h.wrapping_mul(0x0100_0000_01b3);
            }
        };
        for (pfn, bytes) in &self.frames {
            eat(&pfn.to_le_bytes());
            eat(bytes);
        }
        h
    }

    /// The first byte, in address order, where `self` and `other` differ.
    pub fn first_difference(&self, other: &MemoryImage) -> Option<ByteDiff> {
        let zero = [0u8; PAGE_SIZE as usize];
        let mut pfns: Vec<u64> = self
            .frames
            .keys()
            .chain(other.frames.keys())
            .copied()
            .collect();
        pfns.sort_unstable();
        pfns.dedup();
        for pfn in pfns {
            let a = self.frames.get(&pfn).map_or(&zero[..], |b| &b[..]);
            let b = other.frames.get(&pfn).map_or(&zero[..], |b| &b[..]);
            if let Some(i) = a.iter().zip(b).position(|(x, y)| x != y) {
                return Some(ByteDiff {
                    phys: (pfn << crate::PAGE_SHIFT) + i as u64,
                    left: a[i],
                    right: b[i],
                });
            }
        }
        None
    }
}

/// Everything one run of a C program left behind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observation {
    /// What the program's entry point returned.
    pub ret: i32,
    /// What it did, in order.
    pub events: Vec<Event>,
    /// Its live bios at the end, in allocation order.
    pub bios: Vec<BioState>,
    /// Atomic kmaps still held at the end.
    pub kmaps_held: usize,
    /// DMA mappings still live at the end.
    pub dma_mappings_live: usize,
    /// The world's memory at the end.
    pub memory: MemoryImage,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn image(frames: &[(u64, usize, u8)]) -> MemoryImage {
        let mut img = MemoryImage::default();
        for &(pfn, at, byte) in frames {
            let mut bytes = vec![0u8; PAGE_SIZE as usize].into_boxed_slice();
            bytes[at] = byte;
            img.frames.insert(pfn, bytes);
        }
        img
    }

    #[test]
    fn first_difference_is_in_address_order_and_absent_frames_are_zero() {
        let a = image(&[(3, 10, 1), (7, 0, 9)]);
        let b = image(&[(3, 10, 1), (5, 4, 2), (7, 0, 8)]);
        assert_eq!(
            a.first_difference(&b),
            Some(ByteDiff {
                phys: 5 * 4096 + 4,
                left: 0,
                right: 2
            })
        );
        assert_eq!(a.first_difference(&a.clone()), None);
        assert_ne!(a.digest(), b.digest());
        assert_eq!(a.digest(), a.clone().digest());
    }

    #[test]
    fn misuse_messages_are_not_compared() {
        let a = Event::Misuse {
            op: "kmap",
            severity: Severity::Bug,
            message: "page 3".into(),
        };
        let b = Event::Misuse {
            op: "kmap",
            severity: Severity::Bug,
            message: "pfn 3".into(),
        };
        assert!(a.same(&b));
        let c = Event::Misuse {
            op: "kmap",
            severity: Severity::Warn,
            message: "pfn 3".into(),
        };
        assert!(!a.same(&c));
    }
}
