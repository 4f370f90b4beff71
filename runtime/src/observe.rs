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
        op: String,
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

/// An observation record that does not decode (a child process that died
/// while writing it, say).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("observation record is truncated or corrupt at byte {0}")]
pub struct DecodeError(pub usize);

/// Little-endian, length-prefixed encoding, for handing an observation
/// from the process that ran the C code to the one comparing.
#[derive(Default)]
struct Enc(Vec<u8>);

impl Enc {
    fn u64(&mut self, v: u64) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn bytes(&mut self, b: &[u8]) {
        self.u64(b.len() as u64);
        self.0.extend_from_slice(b);
    }
}

struct Dec<'a> {
    buf: &'a [u8],
    at: usize,
}

impl Dec<'_> {
    fn u64(&mut self) -> Result<u64, DecodeError> {
        let end = self.at + 8;
        let b = self.buf.get(self.at..end).ok_or(DecodeError(self.at))?;
        self.at = end;
        Ok(u64::from_le_bytes(
            b.try_into().map_err(|_| DecodeError(self.at))?,
        ))
    }
    fn u32(&mut self) -> Result<u32, DecodeError> {
        let at = self.at;
        u32::try_from(self.u64()?).map_err(|_| DecodeError(at))
    }
    fn bytes(&mut self) -> Result<&[u8], DecodeError> {
        let len = usize::try_from(self.u64()?).map_err(|_| DecodeError(self.at))?;
        let end = self.at.checked_add(len).ok_or(DecodeError(self.at))?;
        let b = self.buf.get(self.at..end).ok_or(DecodeError(self.at))?;
        self.at = end;
        Ok(b)
    }
    fn string(&mut self) -> Result<String, DecodeError> {
        let at = self.at;
        String::from_utf8(self.bytes()?.to_vec()).map_err(|_| DecodeError(at))
    }
    fn bool(&mut self) -> Result<bool, DecodeError> {
        Ok(self.u64()? != 0)
    }
    fn dir(&mut self) -> Result<DmaDataDirection, DecodeError> {
        let at = self.at;
        let v = self.u64()?;
        DmaDataDirection::from_c(v as i32).ok_or(DecodeError(at))
    }
}

fn dir_code(dir: DmaDataDirection) -> u64 {
    dir as i32 as u64
}

impl Observation {
    /// The observation as bytes, for [`Observation::decode`].
    pub fn encode(&self) -> Vec<u8> {
        let mut e = Enc::default();
        e.u64(self.ret as i64 as u64);
        e.u64(self.events.len() as u64);
        for ev in &self.events {
            match ev {
                Event::SgSet {
                    phys,
                    offset,
                    length,
                } => {
                    e.u64(0);
                    e.u64(*phys);
                    e.u64((*offset).into());
                    e.u64((*length).into());
                }
                Event::MapSg { entries } => {
                    e.u64(1);
                    e.u64(entries.len() as u64);
                    for x in entries {
                        e.u64(x.phys);
                        e.u64(x.length.into());
                        e.u64(x.last.into());
                    }
                }
                Event::DmaMapSg {
                    device,
                    dir,
                    entries,
                } => {
                    e.u64(2);
                    e.bytes(device.as_bytes());
                    e.u64(dir_code(*dir));
                    e.u64(entries.len() as u64);
                    for x in entries {
                        e.u64(x.addr);
                        e.u64(x.len.into());
                    }
                }
                Event::DmaUnmapSg { device, nents } => {
                    e.u64(3);
                    e.bytes(device.as_bytes());
                    e.u64(*nents as u64);
                }
                Event::DmaMap {
                    device,
                    phys,
                    size,
                    dir,
                    addr,
                } => {
                    e.u64(4);
                    e.bytes(device.as_bytes());
                    e.u64(*phys);
                    e.u64(*size);
                    e.u64(dir_code(*dir));
                    e.u64(*addr);
                }
                Event::DmaUnmap { device, addr, size } => {
                    e.u64(5);
                    e.bytes(device.as_bytes());
                    e.u64(*addr);
                    e.u64(*size);
                }
                Event::PagelessBvecPage { bvec, pfn, flags } => {
                    e.u64(6);
                    match bvec {
                        BvecRef::Table { bio, idx } => {
                            e.u64(0);
                            e.u64(bio.0);
                            e.u64(*idx as u64);
                        }
                        BvecRef::Segment {
                            bio,
                            bi_idx,
                            bi_bvec_done,
                        } => {
                            e.u64(1);
                            e.u64(bio.0);
                            e.u64((*bi_idx).into());
                            e.u64((*bi_bvec_done).into());
                        }
                        BvecRef::Unknown => e.u64(2),
                    }
                    e.u64(*pfn);
                    e.u64(*flags);
                }
                Event::Misuse {
                    op,
                    severity,
                    message,
                } => {
                    e.u64(7);
                    e.bytes(op.as_bytes());
                    e.u64(severity.as_c() as u64);
                    e.bytes(message.as_bytes());
                }
                Event::Report { name, value } => {
                    e.u64(8);
                    e.bytes(name.as_bytes());
                    e.u64(*value);
                }
            }
        }
        e.u64(self.bios.len() as u64);
        for bio in &self.bios {
            e.u64(bio.id.0);
            e.u64(bio.vecs.len() as u64);
            for v in &bio.vecs {
                match v {
                    BvecState::Valid { phys, len } => {
                        e.u64(0);
                        e.u64(*phys);
                        e.u64((*len).into());
                    }
                    BvecState::Invalid(why) => {
                        e.u64(1);
                        e.bytes(why.as_bytes());
                    }
                }
            }
            e.u64(bio.iter.bi_sector);
            e.u64(bio.iter.bi_size.into());
            e.u64(bio.iter.bi_idx.into());
            e.u64(bio.iter.bi_bvec_done.into());
            e.u64(bio.cloned.into());
        }
        e.u64(self.kmaps_held as u64);
        e.u64(self.dma_mappings_live as u64);
        e.u64(self.memory.frames.len() as u64);
        for (pfn, bytes) in &self.memory.frames {
            e.u64(*pfn);
            e.bytes(bytes);
        }
        e.0
    }

    /// Decodes what [`Observation::encode`] made.
    pub fn decode(buf: &[u8]) -> Result<Observation, DecodeError> {
        let mut d = Dec { buf, at: 0 };
        let ret = d.u64()? as i64 as i32;
        let n = d.u64()?;
        let mut events = Vec::new();
        for _ in 0..n {
            let at = d.at;
            let ev = match d.u64()? {
                0 => Event::SgSet {
                    phys: d.u64()?,
                    offset: d.u32()?,
                    length: d.u32()?,
                },
                1 => {
                    let n = d.u64()?;
                    let mut entries = Vec::new();
                    for _ in 0..n {
                        entries.push(SgEntry {
                            phys: d.u64()?,
                            length: d.u32()?,
                            last: d.bool()?,
                        });
                    }
                    Event::MapSg { entries }
                }
                2 => {
                    let device = d.string()?;
                    let dir = d.dir()?;
                    let n = d.u64()?;
                    let mut entries = Vec::new();
                    for _ in 0..n {
                        entries.push(DmaEntry {
                            addr: d.u64()?,
                            len: d.u32()?,
                        });
                    }
                    Event::DmaMapSg {
                        device,
                        dir,
                        entries,
                    }
                }
                3 => Event::DmaUnmapSg {
                    device: d.string()?,
                    nents: d.u64()? as usize,
                },
                4 => Event::DmaMap {
                    device: d.string()?,
                    phys: d.u64()?,
                    size: d.u64()?,
                    dir: d.dir()?,
                    addr: d.u64()?,
                },
                5 => Event::DmaUnmap {
                    device: d.string()?,
                    addr: d.u64()?,
                    size: d.u64()?,
                },
                6 => {
                    let bvec = match d.u64()? {
                        0 => BvecRef::Table {
                            bio: BioId(d.u64()?),
                            idx: d.u64()? as usize,
                        },
                        1 => BvecRef::Segment {
                            bio: BioId(d.u64()?),
                            bi_idx: d.u32()?,
                            bi_bvec_done: d.u32()?,
                        },
                        2 => BvecRef::Unknown,
                        _ => return Err(DecodeError(at)),
                    };
                    Event::PagelessBvecPage {
                        bvec,
                        pfn: d.u64()?,
                        flags: d.u64()?,
                    }
                }
                7 => {
                    let op = d.string()?;
                    let severity = match d.u64()? {
                        1 => Severity::Fail,
                        2 => Severity::Warn,
                        3 => Severity::Bug,
                        _ => return Err(DecodeError(at)),
                    };
                    Event::Misuse {
                        op,
                        severity,
                        message: d.string()?,
                    }
                }
                8 => Event::Report {
                    name: d.string()?,
                    value: d.u64()?,
                },
                _ => return Err(DecodeError(at)),
            };
            events.push(ev);
        }
        let n = d.u64()?;
        let mut bios = Vec::new();
        for _ in 0..n {
            let id = BioId(d.u64()?);
            let nv = d.u64()?;
            let mut vecs = Vec::new();
            for _ in 0..nv {
                let at = d.at;
                vecs.push(match d.u64()? {
                    0 => BvecState::Valid {
                        phys: d.u64()?,
                        len: d.u32()?,
                    },
                    1 => BvecState::Invalid(d.string()?),
                    _ => return Err(DecodeError(at)),
                });
            }
            let iter = BvecIter {
                bi_sector: d.u64()?,
                bi_size: d.u32()?,
                bi_idx: d.u32()?,
                bi_bvec_done: d.u32()?,
            };
            bios.push(BioState {
                id,
                vecs,
                iter,
                cloned: d.bool()?,
            });
        }
        let kmaps_held = d.u64()? as usize;
        let dma_mappings_live = d.u64()? as usize;
        let n = d.u64()?;
        let mut memory = MemoryImage::default();
        for _ in 0..n {
            let pfn = d.u64()?;
            memory.frames.insert(pfn, d.bytes()?.into());
        }
        if d.at != buf.len() {
            return Err(DecodeError(d.at));
        }
        Ok(Observation {
            ret,
            events,
            bios,
            kmaps_held,
            dma_mappings_live,
            memory,
        })
    }
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
    fn observations_round_trip_and_truncation_is_an_error() {
        let obs = Observation {
            ret: -12,
            events: vec![
                Event::SgSet {
                    phys: 0x1000,
                    offset: 4,
                    length: 8,
                },
                Event::MapSg {
                    entries: vec![SgEntry {
                        phys: 1,
                        length: 2,
                        last: true,
                    }],
                },
                Event::DmaMapSg {
                    device: "nvme".into(),
                    dir: DmaDataDirection::ToDevice,
                    entries: vec![DmaEntry { addr: 5, len: 6 }],
                },
                Event::DmaUnmapSg {
                    device: "nvme".into(),
                    nents: 3,
                },
                Event::DmaMap {
                    device: "ahci".into(),
                    phys: 7,
                    size: 8,
                    dir: DmaDataDirection::FromDevice,
                    addr: 9,
                },
                Event::DmaUnmap {
                    device: "ahci".into(),
                    addr: 9,
                    size: 8,
                },
                Event::PagelessBvecPage {
                    bvec: BvecRef::Segment {
                        bio: BioId(2),
                        bi_idx: 1,
                        bi_bvec_done: 512,
                    },
                    pfn: 0x100000,
                    flags: 1 << 61,
                },
                Event::Misuse {
                    op: "kmap".into(),
                    severity: Severity::Warn,
                    message: "why".into(),
                },
                Event::Report {
                    name: "sum".into(),
                    value: u64::MAX,
                },
            ],
            bios: vec![BioState {
                id: BioId(0),
                vecs: vec![
                    BvecState::Valid { phys: 3, len: 4 },
                    BvecState::Invalid("NULL struct page *".into()),
                ],
                iter: BvecIter {
                    bi_sector: 1,
                    bi_size: 2,
                    bi_idx: 3,
                    bi_bvec_done: 4,
                },
                cloned: true,
            }],
            kmaps_held: 1,
            dma_mappings_live: 2,
            memory: image(&[(3, 10, 1)]),
        };
        let bytes = obs.encode();
        assert_eq!(Observation::decode(&bytes), Ok(obs));
        assert!(Observation::decode(&bytes[..bytes.len() - 1]).is_err());
    }

    #[test]
    fn misuse_messages_are_not_compared() {
        let a = Event::Misuse {
            op: "kmap".into(),
            severity: Severity::Bug,
            message: "page 3".into(),
        };
        let b = Event::Misuse {
            op: "kmap".into(),
            severity: Severity::Bug,
            message: "pfn 3".into(),
        };
        assert!(a.same(&b));
        let c = Event::Misuse {
            op: "kmap".into(),
            severity: Severity::Warn,
            message: "pfn 3".into(),
        };
        assert!(!a.same(&c));
    }
}
