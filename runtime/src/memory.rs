//! Physical memory of a modelled machine: its layout, its bytes, its pages,
//! its devices and their kmap ranges.
//!
//! A [`World`] is one machine. Its physical address space holds DRAM ranges,
//! which the system memmap covers with one `struct page` per frame, and
//! persistent-memory ranges owned by a device, which either have no memmap
//! at all (the case the pfn series exists for) or have one the driver keeps
//! on the device itself (the `vmem_altmap` of Linux 4.5). The bytes are
//! stored sparsely, one 4 KiB frame allocated on first touch, so a 6 TiB
//! device costs only what a test writes. The world also accounts for what a
//! memmap covering each range would cost (see [`World::cost_report`]).
//!
//! **Invariant:** ranges never overlap and lie below
//! `1 << MAX_PHYSMEM_BITS`, so every pfn the world hands out fits in a
//! `pfn_t` with room to spare.

use std::cell::UnsafeCell;
use std::collections::{BTreeMap, BTreeSet, HashMap};

use thiserror::Error;

use crate::dma::DmaMapping;
use crate::observe::MemoryImage;
use crate::pfn_t::{pfn_t_has_page, pfn_t_to_pfn, PfnT, PFN_DEV, PFN_MAP};
use crate::severity::{Misuse, Severity};
use crate::{PAGE_SHIFT, PAGE_SIZE};

/// Physical addresses the model accepts: 64 TiB, as x86-64 with 4-level
/// paging (`MAX_PHYSMEM_BITS`).
pub const MAX_PHYSMEM_BITS: u32 = 46;
/// Size of one `struct page`, the unit of memmap cost.
pub const STRUCT_PAGE_SIZE: u64 = 64;
/// Nesting depth of atomic kmaps (`KM_TYPE_NR` on 32-bit x86).
pub const KM_TYPE_NR: usize = 20;

const FRAME_BYTES: usize = PAGE_SIZE as usize;

/// Errors of the memory model.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum MemError {
    /// A range boundary is not page aligned.
    #[error("{what} {value:#x} is not page aligned")]
    Misaligned {
        /// Which boundary.
        what: &'static str,
        /// Its value.
        value: u64,
    },
    /// A range of zero bytes.
    #[error("{what} range at {start:#x} is empty")]
    EmptyRange {
        /// Which kind of range.
        what: &'static str,
        /// Where it would start.
        start: u64,
    },
    /// Two ranges overlap.
    #[error("range {start:#x}..{end:#x} overlaps range {other_start:#x}..{other_end:#x}")]
    Overlap {
        /// Start of the new range.
        start: u64,
        /// End of the new range (exclusive).
        end: u64,
        /// Start of the existing range.
        other_start: u64,
        /// End of the existing range (exclusive).
        other_end: u64,
    },
    /// A range reaches past the physical address space.
    #[error("range ends at {end:#x}, beyond the {MAX_PHYSMEM_BITS}-bit physical address space")]
    BeyondPhysmem {
        /// End of the range (exclusive), saturated on overflow.
        end: u64,
    },
    /// A device too small to hold its own memmap and any data.
    #[error("device '{name}' of {pages} pages cannot hold its own memmap and any data")]
    DeviceTooSmall {
        /// The device.
        name: String,
        /// Its size in pages.
        pages: u64,
    },
    /// A pfn with no memory behind it.
    #[error("pfn {pfn:#x} is not backed by any memory range")]
    NoMemory {
        /// The pfn.
        pfn: u64,
    },
    /// A pfn_t that claims a `struct page` the machine does not have.
    #[error(
        "pfn {pfn:#x} has no struct page, but its pfn_t claims one (set PFN_DEV for device memory)"
    )]
    NoMemmap {
        /// The pfn.
        pfn: u64,
    },
    /// `PFN_DEV` on ordinary system memory.
    #[error("pfn {pfn:#x} is system memory but its pfn_t has PFN_DEV set")]
    DevOnSystemMemory {
        /// The pfn.
        pfn: u64,
    },
    /// A pfn inside the part of a device that holds its memmap.
    #[error("pfn {pfn:#x} holds the memmap of device '{device}', not data")]
    MemmapReserve {
        /// The pfn.
        pfn: u64,
        /// The device.
        device: String,
    },
    /// A device-relative page index past the device's data pages.
    #[error("page {index} is beyond the {pages} data pages of device '{device}'")]
    DeviceIndex {
        /// The index asked for.
        index: u64,
        /// Data pages of the device.
        pages: u64,
        /// The device.
        device: String,
    },
    /// A page-less pfn outside every registered kmap range
    /// (`kmap_atomic_pfn_t` returns NULL).
    #[error("pfn {pfn:#x} is page-less and no device registered a kmap range for it")]
    NotRegistered {
        /// The pfn.
        pfn: u64,
    },
    /// Use of a pfn, page or mapping of a device that has unbound.
    #[error("stale use of pfn {pfn:#x}: device '{device}' has unbound ({what})")]
    Stale {
        /// The pfn.
        pfn: u64,
        /// The unbound device.
        device: String,
        /// What was attempted.
        what: &'static str,
    },
    /// Too many nested atomic kmaps.
    #[error("kmap_atomic nesting exceeds KM_TYPE_NR ({KM_TYPE_NR})")]
    KmapOverflow,
    /// An atomic kmap released out of stack order.
    #[error("kunmap_atomic of pfn {got:#x} out of order: innermost mapping is pfn {expected:#x}")]
    KmapOrder {
        /// The pfn of the innermost mapping.
        expected: u64,
        /// The pfn released.
        got: u64,
    },
    /// A mapping that is not (or no longer) live.
    #[error("no live kmap at this address")]
    UnknownKmap,
    /// An access past the end of the mapped page.
    #[error("access of {len} bytes at offset {offset} reaches past the mapped page")]
    MapBounds {
        /// Offset into the page.
        offset: usize,
        /// Bytes accessed.
        len: usize,
    },
    /// A device id this world never issued.
    #[error("no device with id {0}")]
    UnknownDevice(u32),
    /// A device used for something it cannot do.
    #[error("device '{device}' is not {what}")]
    WrongDevice {
        /// The device.
        device: String,
        /// What it would have to be.
        what: &'static str,
    },
    /// Bind of a bound device, or unbind of an unbound one.
    #[error("device '{device}' is already {state}")]
    BindState {
        /// The device.
        device: String,
        /// Its current state.
        state: &'static str,
    },
    /// No free DRAM page (below the requested limit).
    #[error("no free system memory page at or below pfn {max_pfn:#x}")]
    OutOfPages {
        /// The highest acceptable pfn.
        max_pfn: u64,
    },
    /// Freeing a page that is not allocated.
    #[error("free of pfn {pfn:#x}, which is not an allocated page")]
    BadFree {
        /// The pfn.
        pfn: u64,
    },
}

impl Misuse for MemError {
    fn severity(&self) -> Severity {
        use MemError::*;
        match self {
            Misaligned { .. }
            | EmptyRange { .. }
            | Overlap { .. }
            | BeyondPhysmem { .. }
            | DeviceTooSmall { .. }
            | NotRegistered { .. }
            | OutOfPages { .. } => Severity::Fail,
            KmapOrder { .. } | UnknownKmap | BindState { .. } | BadFree { .. } => Severity::Warn,
            NoMemory { .. }
            | NoMemmap { .. }
            | DevOnSystemMemory { .. }
            | MemmapReserve { .. }
            | DeviceIndex { .. }
            | Stale { .. }
            | KmapOverflow
            | MapBounds { .. }
            | UnknownDevice(_)
            | WrongDevice { .. } => Severity::Bug,
        }
    }
}

/// A `struct page`: names a frame that the memmap covers.
///
/// A `Page` is a claim, as a `struct page *` is in the kernel: the world
/// checks that the frame really has a descriptor whenever the page is used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Page {
    pfn: u64,
}

impl Page {
    /// Only this crate makes pages, and only for pfns below the physical
    /// address limit or read from a `pfn_t`, so a page's pfn always fits
    /// below the `pfn_t` flags.
    pub(crate) fn from_pfn(pfn: u64) -> Page {
        Page { pfn }
    }

    /// `page_to_pfn`.
    pub fn pfn(self) -> u64 {
        self.pfn
    }

    /// `page_to_phys`.
    pub fn phys(self) -> u64 {
        self.pfn << PAGE_SHIFT
    }
}

/// Identifies a device of one world.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DeviceId(u32);

impl DeviceId {
    /// The numeric id, stable for the life of the world.
    pub fn as_u32(self) -> u32 {
        self.0
    }

    /// Rebuilds an id from [`DeviceId::as_u32`]; the world rejects ids it
    /// never issued.
    pub fn from_u32(id: u32) -> DeviceId {
        DeviceId(id)
    }
}

/// Where the `struct page` array of a persistent-memory device lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DevMemmap {
    /// Nowhere: the device is reached through pfns only.
    None,
    /// On the device itself, in frames reserved at its start.
    OnDevice,
}

/// What backs a range of physical memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RangeKind {
    /// System memory covered by the system memmap.
    Dram,
    /// Persistent memory owned by a device.
    Pmem {
        /// The owning device.
        device: DeviceId,
        /// Where its memmap lives, if anywhere.
        memmap: DevMemmap,
    },
}

/// One contiguous range of physical memory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemRange {
    start_pfn: u64,
    nr_pages: u64,
    kind: RangeKind,
    reserve_pages: u64,
}

impl MemRange {
    /// First pfn of the range.
    pub fn start_pfn(&self) -> u64 {
        self.start_pfn
    }

    /// Number of frames, reserved ones included.
    pub fn nr_pages(&self) -> u64 {
        self.nr_pages
    }

    /// One past the last pfn.
    pub fn end_pfn(&self) -> u64 {
        self.start_pfn + self.nr_pages
    }

    /// What backs it.
    pub fn kind(&self) -> RangeKind {
        self.kind
    }

    /// Frames at the start that hold the device's own memmap.
    pub fn reserve_pages(&self) -> u64 {
        self.reserve_pages
    }

    /// Whether a memmap covers the range (regardless of the device's state).
    pub fn has_memmap(&self) -> bool {
        !matches!(
            self.kind,
            RangeKind::Pmem {
                memmap: DevMemmap::None,
                ..
            }
        )
    }

    /// The flags a driver gives pfns of this range: none for DRAM,
    /// `PFN_DEV` for a page-less device, `PFN_DEV | PFN_MAP` for a device
    /// with a memmap.
    pub fn pfn_flags(&self) -> u64 {
        match self.kind {
            RangeKind::Dram => 0,
            RangeKind::Pmem {
                memmap: DevMemmap::None,
                ..
            } => PFN_DEV,
            RangeKind::Pmem {
                memmap: DevMemmap::OnDevice,
                ..
            } => PFN_DEV | PFN_MAP,
        }
    }
}

/// What a device is for.
#[derive(Debug, Clone, PartialEq, Eq)]
enum DeviceKind {
    Pmem { range_idx: usize },
    Dma { dma_mask: u64 },
}

#[derive(Debug, Clone)]
struct Device {
    name: String,
    kind: DeviceKind,
    bound: bool,
}

/// A range registered for `kmap_atomic_pfn_t` by a bound, page-less device
/// (`devm_register_kmap_pfn_range` in the series).
#[derive(Debug, Clone, PartialEq, Eq)]
struct KmapRange {
    device: DeviceId,
    start_pfn: u64,
    end_pfn: u64,
}

/// A record of a pfn or mapping used after its device unbound.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaleUse {
    /// The device that had unbound.
    pub device: DeviceId,
    /// Its name.
    pub device_name: String,
    /// The pfn used.
    pub pfn: u64,
    /// What was attempted (`"kmap"`, `"read"`, `"write"`, `"kunmap"`, ...).
    pub what: &'static str,
}

/// A live atomic mapping of one frame. Release it with
/// [`World::kunmap_atomic_pfn_t`].
#[derive(Debug, PartialEq, Eq)]
#[must_use = "a kmap must be released with kunmap_atomic_pfn_t"]
pub struct Kmap {
    id: u64,
    pfn: u64,
}

impl Kmap {
    /// The mapped frame.
    pub fn pfn(&self) -> u64 {
        self.pfn
    }
}

#[derive(Debug, Clone)]
struct KmapSlot {
    id: u64,
    pfn: u64,
    /// The device whose lifetime the mapping depends on, if any.
    device: Option<DeviceId>,
    revoked: bool,
}

/// One frame of stored bytes.
///
/// The bytes sit in an `UnsafeCell` because the C ABI hands out raw
/// pointers to them (that is what `kmap_atomic` returns); Rust code only
/// ever copies in and out through raw pointers, never holding a reference
/// that a C write could invalidate.
struct Frame(UnsafeCell<[u8; FRAME_BYTES]>);

impl Frame {
    fn zeroed() -> Box<Frame> {
        Box::new(Frame(UnsafeCell::new([0; FRAME_BYTES])))
    }
}

/// Sparse byte storage: a frame exists once something wrote to it or
/// mapped it for C.
#[derive(Default)]
struct FrameStore {
    frames: HashMap<u64, Box<Frame>>,
}

impl FrameStore {
    fn read(&self, pfn: u64, offset: usize, buf: &mut [u8]) {
        match self.frames.get(&pfn) {
            // SAFETY: offset + buf.len() <= FRAME_BYTES is checked by every
            // caller; no reference into the frame exists, and the world is
            // not Sync, so no write races this copy.
            Some(frame) => unsafe {
                std::ptr::copy_nonoverlapping(
                    frame.0.get().cast::<u8>().add(offset),
                    buf.as_mut_ptr(),
                    buf.len(),
                );
            },
            None => buf.fill(0),
        }
    }

    fn write(&mut self, pfn: u64, offset: usize, data: &[u8]) {
        let frame = self.frames.entry(pfn).or_insert_with(Frame::zeroed);
        // SAFETY: as in `read`; the frame outlives the copy.
        unsafe {
            std::ptr::copy_nonoverlapping(
                data.as_ptr(),
                frame.0.get().cast::<u8>().add(offset),
                data.len(),
            );
        }
    }

    fn frame_ptr(&mut self, pfn: u64) -> *mut u8 {
        self.frames
            .entry(pfn)
            .or_insert_with(Frame::zeroed)
            .0
            .get()
            .cast::<u8>()
    }

    fn stored_bytes(&self) -> u64 {
        self.frames.len() as u64 * u64::from(PAGE_SIZE)
    }
}

/// How a frame gets mapped.
enum MapVia {
    /// Through its `struct page`; `device` is set for a device memmap.
    Page { device: Option<DeviceId> },
    /// Through a kmap range a device registered.
    Range { device: DeviceId },
}

/// Memmap cost of one range, as [`World::cost_report`] accounts it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RangeCost {
    /// The range.
    pub kind: RangeKind,
    /// Its name: `"dram"` or the device name.
    pub name: String,
    /// Frames in the range.
    pub frames: u64,
    /// What covering every frame with a `struct page` costs
    /// (64 bytes per 4 KiB frame, 1.5625%): the price of the page-based
    /// block layer, which cannot do I/O to a frame without one.
    pub struct_page_bytes: u64,
    /// Bytes of memmap this world actually has for the range: the full
    /// coverage for DRAM and for a device memmap (which lives on the device
    /// and so costs device capacity rather than DRAM), none otherwise.
    pub memmap_bytes: u64,
    /// DRAM the pfn model spends on the range: its memmap if in DRAM, plus
    /// the range descriptor and, for a page-less device, its kmap range
    /// registration.
    pub pfn_model_dram_bytes: u64,
    /// Bytes of the range really stored by the runtime (frames touched).
    pub stored_bytes: u64,
}

/// Memmap cost of a whole world.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CostReport {
    /// One entry per range, in address order.
    pub ranges: Vec<RangeCost>,
}

impl CostReport {
    /// Sum of [`RangeCost::struct_page_bytes`].
    pub fn struct_page_bytes(&self) -> u64 {
        self.ranges.iter().map(|r| r.struct_page_bytes).sum()
    }

    /// Sum of [`RangeCost::pfn_model_dram_bytes`].
    pub fn pfn_model_dram_bytes(&self) -> u64 {
        self.ranges.iter().map(|r| r.pfn_model_dram_bytes).sum()
    }

    /// Sum of [`RangeCost::stored_bytes`].
    pub fn stored_bytes(&self) -> u64 {
        self.ranges.iter().map(|r| r.stored_bytes).sum()
    }
}

/// A modelled machine: physical memory, devices, mappings.
#[derive(Default)]
pub struct World {
    /// Sorted by start pfn, never overlapping.
    ranges: Vec<MemRange>,
    devices: Vec<Device>,
    frames: FrameStore,
    kmap_ranges: Vec<KmapRange>,
    kmap_stack: Vec<KmapSlot>,
    next_kmap_id: u64,
    stale_uses: Vec<StaleUse>,
    allocated: BTreeSet<u64>,
    freed: BTreeSet<u64>,
    /// Next never-allocated pfn of each DRAM range, keyed by start pfn.
    fresh: BTreeMap<u64, u64>,
    pub(crate) dma_maps: BTreeMap<(DeviceId, u64), DmaMapping>,
}

impl std::fmt::Debug for World {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("World")
            .field("ranges", &self.ranges)
            .field("devices", &self.devices)
            .field("stored_frames", &self.frames.frames.len())
            .field("kmap_depth", &self.kmap_stack.len())
            .finish_non_exhaustive()
    }
}

impl World {
    /// A machine with no memory and no devices.
    pub fn new() -> World {
        World::default()
    }

    /// Adds system memory at `phys_start` of `bytes` bytes.
    pub fn add_dram(&mut self, phys_start: u64, bytes: u64) -> Result<(), MemError> {
        let (start_pfn, nr_pages) = self.check_new_range("dram", phys_start, bytes)?;
        self.insert_range(MemRange {
            start_pfn,
            nr_pages,
            kind: RangeKind::Dram,
            reserve_pages: 0,
        });
        self.fresh.insert(start_pfn, start_pfn);
        Ok(())
    }

    /// Adds a persistent-memory device at `phys_start` of `bytes` bytes and
    /// binds its driver, which registers the range for
    /// `kmap_atomic_pfn_t` (no memmap) or sets up its memmap on the device.
    pub fn add_pmem(
        &mut self,
        name: &str,
        phys_start: u64,
        bytes: u64,
        memmap: DevMemmap,
    ) -> Result<DeviceId, MemError> {
        let (start_pfn, nr_pages) = self.check_new_range("pmem", phys_start, bytes)?;
        let reserve_pages = match memmap {
            DevMemmap::None => 0,
            DevMemmap::OnDevice => (nr_pages * STRUCT_PAGE_SIZE).div_ceil(u64::from(PAGE_SIZE)),
        };
        if reserve_pages >= nr_pages {
            return Err(MemError::DeviceTooSmall {
                name: name.to_owned(),
                pages: nr_pages,
            });
        }
        let device = DeviceId(self.devices.len() as u32);
        let range_idx = self.insert_range(MemRange {
            start_pfn,
            nr_pages,
            kind: RangeKind::Pmem { device, memmap },
            reserve_pages,
        });
        // Insertion may have shifted the indices other devices recorded.
        for dev in &mut self.devices {
            if let DeviceKind::Pmem { range_idx: idx } = &mut dev.kind {
                if *idx >= range_idx {
                    *idx += 1;
                }
            }
        }
        self.devices.push(Device {
            name: name.to_owned(),
            kind: DeviceKind::Pmem { range_idx },
            bound: false,
        });
        self.bind(device)?;
        Ok(device)
    }

    /// Adds a bound, direct-mapped DMA master that can address
    /// `dma_mask` (for example `(1 << 32) - 1` for a 32-bit device).
    pub fn add_dma_device(&mut self, name: &str, dma_mask: u64) -> DeviceId {
        let device = DeviceId(self.devices.len() as u32);
        self.devices.push(Device {
            name: name.to_owned(),
            kind: DeviceKind::Dma { dma_mask },
            bound: true,
        });
        device
    }

    /// Binds a device's driver (probe). A page-less pmem device registers
    /// its range for `kmap_atomic_pfn_t`; one with an on-device memmap
    /// brings its pages to life.
    pub fn bind(&mut self, device: DeviceId) -> Result<(), MemError> {
        let dev = self.device(device)?;
        if dev.bound {
            return Err(MemError::BindState {
                device: dev.name.clone(),
                state: "bound",
            });
        }
        if let DeviceKind::Pmem { range_idx } = dev.kind {
            let range = &self.ranges[range_idx];
            if !range.has_memmap() {
                self.kmap_ranges.push(KmapRange {
                    device,
                    start_pfn: range.start_pfn,
                    end_pfn: range.end_pfn(),
                });
            }
        }
        self.devices[device.0 as usize].bound = true;
        Ok(())
    }

    /// Unbinds a device's driver (devres release): its kmap range and its
    /// device memmap go away, and live mappings through them are revoked so
    /// that any later use is reported as stale.
    pub fn unbind(&mut self, device: DeviceId) -> Result<(), MemError> {
        let dev = self.device(device)?;
        if !dev.bound {
            return Err(MemError::BindState {
                device: dev.name.clone(),
                state: "unbound",
            });
        }
        self.kmap_ranges.retain(|r| r.device != device);
        for slot in &mut self.kmap_stack {
            if slot.device == Some(device) {
                slot.revoked = true;
            }
        }
        self.devices[device.0 as usize].bound = false;
        Ok(())
    }

    /// Whether the device's driver is bound.
    pub fn is_bound(&self, device: DeviceId) -> Result<bool, MemError> {
        Ok(self.device(device)?.bound)
    }

    /// The device's name.
    pub fn device_name(&self, device: DeviceId) -> Result<&str, MemError> {
        Ok(&self.device(device)?.name)
    }

    /// The DMA mask of a DMA master.
    pub fn dma_mask(&self, device: DeviceId) -> Result<u64, MemError> {
        let dev = self.device(device)?;
        match dev.kind {
            DeviceKind::Dma { dma_mask } => Ok(dma_mask),
            DeviceKind::Pmem { .. } => Err(MemError::WrongDevice {
                device: dev.name.clone(),
                what: "a DMA master",
            }),
        }
    }

    /// The memory range of a pmem device.
    pub fn device_range(&self, device: DeviceId) -> Result<&MemRange, MemError> {
        let dev = self.device(device)?;
        match dev.kind {
            DeviceKind::Pmem { range_idx } => Ok(&self.ranges[range_idx]),
            DeviceKind::Dma { .. } => Err(MemError::WrongDevice {
                device: dev.name.clone(),
                what: "a pmem device",
            }),
        }
    }

    /// Number of data pages of a pmem device (its memmap reserve excluded).
    pub fn device_pages(&self, device: DeviceId) -> Result<u64, MemError> {
        let range = self.device_range(device)?;
        Ok(range.nr_pages - range.reserve_pages)
    }

    /// The `pfn_t` of data page `index` of a pmem device, with the flags its
    /// driver would use (`phys_to_pfn_t(phys, pmem->pfn_flags)`).
    pub fn device_pfn_t(&self, device: DeviceId, index: u64) -> Result<PfnT, MemError> {
        let range = self.device_range(device)?;
        let pages = range.nr_pages - range.reserve_pages;
        if index >= pages {
            return Err(MemError::DeviceIndex {
                index,
                pages,
                device: self.device(device)?.name.clone(),
            });
        }
        let pfn = range.start_pfn + range.reserve_pages + index;
        Ok(PfnT::from_raw(pfn | range.pfn_flags()))
    }

    /// All ranges in address order.
    pub fn ranges(&self) -> &[MemRange] {
        &self.ranges
    }

    /// The range holding `pfn`.
    pub fn range_of(&self, pfn: u64) -> Option<&MemRange> {
        self.range_idx(pfn).map(|idx| &self.ranges[idx])
    }

    /// `pfn_to_page`: the page of a pfn the memmap covers now.
    pub fn pfn_to_page(&mut self, pfn: u64) -> Result<Page, MemError> {
        let range = self
            .range_of(pfn)
            .ok_or(MemError::NoMemory { pfn })?
            .clone();
        self.check_not_reserve(&range, pfn)?;
        match range.kind {
            RangeKind::Dram => Ok(Page::from_pfn(pfn)),
            RangeKind::Pmem {
                memmap: DevMemmap::None,
                ..
            } => Err(MemError::NoMemmap { pfn }),
            RangeKind::Pmem { device, .. } => {
                self.check_live(device, pfn, "pfn_to_page")?;
                Ok(Page::from_pfn(pfn))
            }
        }
    }

    /// Checks that `len` bytes at `offset` into the frame of `pfn` are
    /// memory whose layout agrees with the pfn_t's flags: every frame is
    /// backed, none holds a device memmap, a claimed `struct page` exists
    /// in the layout and `PFN_DEV` is only set on device memory.
    ///
    /// This is a layout check: whether a device is bound is only asked when
    /// the memory is mapped, as in the kernel.
    pub fn check_extent(&self, pfn: PfnT, offset: u32, len: u32) -> Result<(), MemError> {
        let first = pfn_t_to_pfn(pfn) + u64::from(offset >> PAGE_SHIFT);
        let last = pfn_t_to_pfn(pfn)
            + (u64::from(offset) + u64::from(len.max(1)) - 1) / u64::from(PAGE_SIZE);
        let mut cur = first;
        while cur <= last {
            let range = self.range_of(cur).ok_or(MemError::NoMemory { pfn: cur })?;
            self.check_not_reserve(range, cur)?;
            if pfn_t_has_page(pfn) && !range.has_memmap() {
                return Err(MemError::NoMemmap { pfn: cur });
            }
            if pfn.flags() & PFN_DEV != 0 && range.kind == RangeKind::Dram {
                return Err(MemError::DevOnSystemMemory { pfn: cur });
            }
            cur = range.end_pfn();
        }
        Ok(())
    }

    /// `alloc_page(GFP_KERNEL)`: any free system memory page.
    pub fn alloc_page(&mut self) -> Result<Page, MemError> {
        self.alloc_page_below(u64::MAX)
    }

    /// A free system memory page at or below `max_pfn`, as the bounce pool
    /// needs.
    pub fn alloc_page_below(&mut self, max_pfn: u64) -> Result<Page, MemError> {
        if let Some(&pfn) = self.freed.range(..=max_pfn).next() {
            self.freed.remove(&pfn);
            self.allocated.insert(pfn);
            return Ok(Page::from_pfn(pfn));
        }
        for range in &self.ranges {
            if range.kind != RangeKind::Dram || range.start_pfn > max_pfn {
                continue;
            }
            // Every DRAM range gets a cursor when it is added.
            let Some(next) = self.fresh.get_mut(&range.start_pfn) else {
                continue;
            };
            if *next < range.end_pfn() && *next <= max_pfn {
                let pfn = *next;
                *next += 1;
                self.allocated.insert(pfn);
                return Ok(Page::from_pfn(pfn));
            }
        }
        Err(MemError::OutOfPages { max_pfn })
    }

    /// Number of pages allocated and not yet freed.
    pub fn allocated_pages(&self) -> usize {
        self.allocated.len()
    }

    /// `__free_page`.
    pub fn free_page(&mut self, page: Page) -> Result<(), MemError> {
        if !self.allocated.remove(&page.pfn) {
            return Err(MemError::BadFree { pfn: page.pfn });
        }
        self.freed.insert(page.pfn);
        Ok(())
    }

    /// `kmap_atomic`: maps a page through its descriptor.
    pub fn kmap_atomic(&mut self, page: Page) -> Result<Kmap, MemError> {
        self.kmap_atomic_pfn_t(PfnT::from_raw(page.pfn))
    }

    /// `kmap_atomic_pfn_t`: maps a page through its descriptor, or a
    /// page-less pfn through the kmap range its device registered.
    ///
    /// A page-less pfn no range covers fails as the kernel's NULL return
    /// does; a pfn of an unbound device is a stale use, recorded in
    /// [`World::stale_uses`].
    pub fn kmap_atomic_pfn_t(&mut self, pfn: PfnT) -> Result<Kmap, MemError> {
        let nr = pfn_t_to_pfn(pfn);
        let device = match self.resolve_map(pfn)? {
            MapVia::Page { device } => device,
            MapVia::Range { device } => Some(device),
        };
        if self.kmap_stack.len() >= KM_TYPE_NR {
            return Err(MemError::KmapOverflow);
        }
        let id = self.next_kmap_id;
        self.next_kmap_id += 1;
        self.kmap_stack.push(KmapSlot {
            id,
            pfn: nr,
            device,
            revoked: false,
        });
        Ok(Kmap { id, pfn: nr })
    }

    /// `kunmap_atomic_pfn_t`: releases a mapping. The mapping is gone
    /// afterwards whatever the result; an error reports that it was
    /// released out of order or after its device unbound.
    pub fn kunmap_atomic_pfn_t(&mut self, kmap: Kmap) -> Result<(), MemError> {
        let pos = self
            .kmap_stack
            .iter()
            .rposition(|slot| slot.id == kmap.id)
            .ok_or(MemError::UnknownKmap)?;
        let slot = self.kmap_stack.remove(pos);
        if slot.revoked {
            return Err(self.stale(slot.device, slot.pfn, "kunmap"));
        }
        // After the removal the stack is one shorter, so the released slot
        // was innermost exactly when its position is the new length.
        if pos != self.kmap_stack.len() {
            let expected = self.kmap_stack.last().map_or(slot.pfn, |s| s.pfn);
            return Err(MemError::KmapOrder {
                expected,
                got: slot.pfn,
            });
        }
        Ok(())
    }

    /// Reads from a live mapping.
    pub fn kmap_read(
        &mut self,
        kmap: &Kmap,
        offset: usize,
        buf: &mut [u8],
    ) -> Result<(), MemError> {
        let pfn = self.live_slot(kmap, "read", offset, buf.len())?;
        self.frames.read(pfn, offset, buf);
        Ok(())
    }

    /// Writes through a live mapping.
    pub fn kmap_write(&mut self, kmap: &Kmap, offset: usize, data: &[u8]) -> Result<(), MemError> {
        let pfn = self.live_slot(kmap, "write", offset, data.len())?;
        self.frames.write(pfn, offset, data);
        Ok(())
    }

    /// The address of a live mapping, for the C ABI: `PAGE_SIZE` bytes that
    /// stay valid for the life of the world. Storage for the frame is
    /// allocated now, since the caller may write through it.
    pub fn kmap_ptr(&mut self, kmap: &Kmap) -> Result<*mut u8, MemError> {
        let pfn = self.live_slot(kmap, "map", 0, 0)?;
        Ok(self.frames.frame_ptr(pfn))
    }

    /// Number of live atomic mappings.
    pub fn kmap_depth(&self) -> usize {
        self.kmap_stack.len()
    }

    /// Every stale use reported so far, oldest first.
    pub fn stale_uses(&self) -> &[StaleUse] {
        &self.stale_uses
    }

    /// Copies `buf.len()` bytes out of the memory `pfn` and `offset` name,
    /// mapping one frame at a time as `memcpy_from_bvec` does.
    pub fn memcpy_from_pfn(
        &mut self,
        pfn: PfnT,
        offset: u32,
        buf: &mut [u8],
    ) -> Result<(), MemError> {
        self.copy_frames(pfn, offset, buf.len(), |world, kmap, off, done, n| {
            world.kmap_read(kmap, off, &mut buf[done..done + n])
        })
    }

    /// Copies `data` into the memory `pfn` and `offset` name, one mapped
    /// frame at a time.
    pub fn memcpy_to_pfn(&mut self, pfn: PfnT, offset: u32, data: &[u8]) -> Result<(), MemError> {
        self.copy_frames(pfn, offset, data.len(), |world, kmap, off, done, n| {
            world.kmap_write(kmap, off, &data[done..done + n])
        })
    }

    /// Memmap cost of every range (see [`RangeCost`]).
    pub fn cost_report(&self) -> CostReport {
        // What the pfn model keeps per range instead of per frame.
        let descriptor = std::mem::size_of::<MemRange>() as u64;
        let registration = std::mem::size_of::<KmapRange>() as u64;
        let ranges = self
            .ranges
            .iter()
            .map(|range| {
                let struct_page_bytes = range.nr_pages * STRUCT_PAGE_SIZE;
                let (name, memmap_bytes, dram) = match range.kind {
                    RangeKind::Dram => ("dram".to_owned(), struct_page_bytes, struct_page_bytes),
                    RangeKind::Pmem { device, memmap } => {
                        let name = self.devices[device.0 as usize].name.clone();
                        match memmap {
                            DevMemmap::None => (name, 0, registration),
                            DevMemmap::OnDevice => (name, struct_page_bytes, 0),
                        }
                    }
                };
                let stored_frames = self
                    .frames
                    .frames
                    .keys()
                    .filter(|&&pfn| pfn >= range.start_pfn && pfn < range.end_pfn())
                    .count() as u64;
                RangeCost {
                    kind: range.kind,
                    name,
                    frames: range.nr_pages,
                    struct_page_bytes,
                    memmap_bytes,
                    pfn_model_dram_bytes: dram + descriptor,
                    stored_bytes: stored_frames * u64::from(PAGE_SIZE),
                }
            })
            .collect();
        CostReport { ranges }
    }

    /// Bytes of frames the runtime really holds.
    pub fn stored_bytes(&self) -> u64 {
        self.frames.stored_bytes()
    }

    /// A copy of every stored frame that holds a non-zero byte.
    pub fn memory_image(&self) -> MemoryImage {
        let mut image = MemoryImage::default();
        for (&pfn, frame) in &self.frames.frames {
            let mut bytes = vec![0u8; FRAME_BYTES].into_boxed_slice();
            // SAFETY: as in `FrameStore::read`: a whole frame, copied
            // through a raw pointer while no C code runs.
            unsafe {
                std::ptr::copy_nonoverlapping(
                    frame.0.get().cast::<u8>(),
                    bytes.as_mut_ptr(),
                    FRAME_BYTES,
                );
            }
            if bytes.iter().any(|&b| b != 0) {
                image.frames.insert(pfn, bytes);
            }
        }
        image
    }

    /// Number of DMA mappings live on any device.
    pub fn dma_mappings_live(&self) -> usize {
        self.dma_maps.len()
    }

    fn copy_frames(
        &mut self,
        pfn: PfnT,
        offset: u32,
        len: usize,
        mut each: impl FnMut(&mut World, &Kmap, usize, usize, usize) -> Result<(), MemError>,
    ) -> Result<(), MemError> {
        let page = PAGE_SIZE as usize;
        let mut frame = pfn;
        let mut off = offset as usize;
        let mut done = 0;
        while done < len {
            frame = frame
                .nth((off / page) as u64)
                .ok_or(MemError::NoMemory { pfn: u64::MAX })?;
            off %= page;
            let n = (page - off).min(len - done);
            let kmap = self.kmap_atomic_pfn_t(frame)?;
            let res = each(self, &kmap, off, done, n);
            let unmapped = self.kunmap_atomic_pfn_t(kmap);
            res?;
            unmapped?;
            done += n;
            off += n;
        }
        Ok(())
    }

    fn device(&self, device: DeviceId) -> Result<&Device, MemError> {
        self.devices
            .get(device.0 as usize)
            .ok_or(MemError::UnknownDevice(device.0))
    }

    fn range_idx(&self, pfn: u64) -> Option<usize> {
        let idx = self.ranges.partition_point(|r| r.start_pfn <= pfn);
        let idx = idx.checked_sub(1)?;
        (pfn < self.ranges[idx].end_pfn()).then_some(idx)
    }

    fn check_new_range(
        &self,
        what: &'static str,
        phys_start: u64,
        bytes: u64,
    ) -> Result<(u64, u64), MemError> {
        let page = u64::from(PAGE_SIZE);
        if phys_start % page != 0 {
            return Err(MemError::Misaligned {
                what: "range start",
                value: phys_start,
            });
        }
        if bytes % page != 0 {
            return Err(MemError::Misaligned {
                what: "range size",
                value: bytes,
            });
        }
        if bytes == 0 {
            return Err(MemError::EmptyRange {
                what,
                start: phys_start,
            });
        }
        let end = phys_start.saturating_add(bytes);
        if end > 1 << MAX_PHYSMEM_BITS {
            return Err(MemError::BeyondPhysmem { end });
        }
        let (start_pfn, end_pfn) = (phys_start >> PAGE_SHIFT, end >> PAGE_SHIFT);
        if let Some(other) = self
            .ranges
            .iter()
            .find(|r| r.start_pfn < end_pfn && start_pfn < r.end_pfn())
        {
            return Err(MemError::Overlap {
                start: phys_start,
                end,
                other_start: other.start_pfn << PAGE_SHIFT,
                other_end: other.end_pfn() << PAGE_SHIFT,
            });
        }
        Ok((start_pfn, end_pfn - start_pfn))
    }

    fn insert_range(&mut self, range: MemRange) -> usize {
        let idx = self
            .ranges
            .partition_point(|r| r.start_pfn < range.start_pfn);
        self.ranges.insert(idx, range);
        idx
    }

    fn check_not_reserve(&self, range: &MemRange, pfn: u64) -> Result<(), MemError> {
        if pfn < range.start_pfn + range.reserve_pages {
            if let RangeKind::Pmem { device, .. } = range.kind {
                return Err(MemError::MemmapReserve {
                    pfn,
                    device: self.devices[device.0 as usize].name.clone(),
                });
            }
        }
        Ok(())
    }

    /// Fails with a recorded stale use if `device` has unbound.
    fn check_live(
        &mut self,
        device: DeviceId,
        pfn: u64,
        what: &'static str,
    ) -> Result<(), MemError> {
        if self.devices[device.0 as usize].bound {
            Ok(())
        } else {
            Err(self.stale(Some(device), pfn, what))
        }
    }

    fn stale(&mut self, device: Option<DeviceId>, pfn: u64, what: &'static str) -> MemError {
        // Only device-backed mappings can be revoked, so `device` is set
        // whenever this is reached; the fallback keeps that an error, not
        // a panic.
        let Some(device) = device else {
            return MemError::UnknownKmap;
        };
        let device_name = self.devices[device.0 as usize].name.clone();
        self.stale_uses.push(StaleUse {
            device,
            device_name: device_name.clone(),
            pfn,
            what,
        });
        MemError::Stale {
            pfn,
            device: device_name,
            what,
        }
    }

    fn resolve_map(&mut self, pfn: PfnT) -> Result<MapVia, MemError> {
        let nr = pfn_t_to_pfn(pfn);
        let range = self
            .range_of(nr)
            .ok_or(MemError::NoMemory { pfn: nr })?
            .clone();
        self.check_not_reserve(&range, nr)?;
        if pfn_t_has_page(pfn) {
            return match range.kind {
                RangeKind::Dram => Ok(MapVia::Page { device: None }),
                RangeKind::Pmem {
                    memmap: DevMemmap::None,
                    ..
                } => Err(MemError::NoMemmap { pfn: nr }),
                RangeKind::Pmem { device, .. } => {
                    self.check_live(device, nr, "kmap")?;
                    Ok(MapVia::Page {
                        device: Some(device),
                    })
                }
            };
        }
        if let Some(r) = self
            .kmap_ranges
            .iter()
            .find(|r| nr >= r.start_pfn && nr < r.end_pfn)
        {
            return Ok(MapVia::Range { device: r.device });
        }
        match range.kind {
            RangeKind::Pmem { device, .. } => {
                self.check_live(device, nr, "kmap")?;
                Err(MemError::NotRegistered { pfn: nr })
            }
            RangeKind::Dram => Err(MemError::DevOnSystemMemory { pfn: nr }),
        }
    }

    fn live_slot(
        &mut self,
        kmap: &Kmap,
        what: &'static str,
        offset: usize,
        len: usize,
    ) -> Result<u64, MemError> {
        let slot = self
            .kmap_stack
            .iter()
            .find(|slot| slot.id == kmap.id)
            .ok_or(MemError::UnknownKmap)?
            .clone();
        if slot.revoked {
            return Err(self.stale(slot.device, slot.pfn, what));
        }
        if offset.checked_add(len).is_none_or(|end| end > FRAME_BYTES) {
            return Err(MemError::MapBounds { offset, len });
        }
        Ok(slot.pfn)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pfn_t::{__pfn_to_pfn_t, pfn_to_pfn_t};

    const GIB: u64 = 1 << 30;
    const MIB: u64 = 1 << 20;

    fn world() -> (World, DeviceId) {
        let mut world = World::new();
        world.add_dram(0, 16 * MIB).unwrap();
        let pmem = world
            .add_pmem("pmem0", 4 * GIB, 400 * GIB, DevMemmap::None)
            .unwrap();
        (world, pmem)
    }

    #[test]
    fn ranges_must_be_aligned_and_disjoint() {
        let (mut world, _) = world();
        let err = world.add_dram(16 * MIB - 4096, 8192).unwrap_err();
        assert!(matches!(err, MemError::Overlap { .. }), "{err}");
        assert!(matches!(
            world.add_dram(1, 4096),
            Err(MemError::Misaligned { .. })
        ));
        assert!(matches!(
            world.add_dram(32 * MIB, 0),
            Err(MemError::EmptyRange { .. })
        ));
        assert!(matches!(
            world.add_dram(1 << MAX_PHYSMEM_BITS, 4096),
            Err(MemError::BeyondPhysmem { .. })
        ));
        assert_eq!(err.severity(), Severity::Fail);
    }

    #[test]
    fn large_device_stores_only_touched_frames() {
        let (mut world, pmem) = world();
        let last = world.device_pages(pmem).unwrap() - 1;
        let pfn = world.device_pfn_t(pmem, last).unwrap();
        world.memcpy_to_pfn(pfn, 4090, b"0123456789").unwrap_err();
        // The copy above crossed past the device's end; one frame was
        // written before the failure.
        let mut buf = [0u8; 6];
        world.memcpy_from_pfn(pfn, 4090, &mut buf).unwrap();
        assert_eq!(&buf, b"012345");
        assert_eq!(world.stored_bytes(), 4096);
    }

    #[test]
    fn page_less_pfn_maps_through_registered_range() {
        let (mut world, pmem) = world();
        let pfn = world.device_pfn_t(pmem, 7).unwrap();
        assert_eq!(pfn.flags(), PFN_DEV);
        let kmap = world.kmap_atomic_pfn_t(pfn).unwrap();
        world.kmap_write(&kmap, 100, b"hello").unwrap();
        let mut buf = [0; 5];
        world.kmap_read(&kmap, 100, &mut buf).unwrap();
        assert_eq!(&buf, b"hello");
        world.kunmap_atomic_pfn_t(kmap).unwrap();
        assert_eq!(world.kmap_depth(), 0);
    }

    #[test]
    fn kmap_after_unbind_is_a_reported_stale_use() {
        let (mut world, pmem) = world();
        let pfn = world.device_pfn_t(pmem, 0).unwrap();
        world.unbind(pmem).unwrap();
        let err = world.kmap_atomic_pfn_t(pfn).unwrap_err();
        assert!(matches!(err, MemError::Stale { what: "kmap", .. }), "{err}");
        assert_eq!(err.severity(), Severity::Bug);
        assert_eq!(world.stale_uses().len(), 1);
        assert_eq!(world.stale_uses()[0].device_name, "pmem0");
        world.bind(pmem).unwrap();
        let kmap = world.kmap_atomic_pfn_t(pfn).unwrap();
        world.kunmap_atomic_pfn_t(kmap).unwrap();
    }

    #[test]
    fn live_mapping_is_revoked_by_unbind() {
        let (mut world, pmem) = world();
        let kmap = world
            .kmap_atomic_pfn_t(world.device_pfn_t(pmem, 0).unwrap())
            .unwrap();
        world.unbind(pmem).unwrap();
        let err = world.kmap_write(&kmap, 0, b"x").unwrap_err();
        assert!(
            matches!(err, MemError::Stale { what: "write", .. }),
            "{err}"
        );
        let err = world.kunmap_atomic_pfn_t(kmap).unwrap_err();
        assert!(
            matches!(err, MemError::Stale { what: "kunmap", .. }),
            "{err}"
        );
        assert_eq!(world.stale_uses().len(), 2);
        assert_eq!(world.kmap_depth(), 0);
    }

    #[test]
    fn page_claim_on_memmap_less_device_is_a_bug() {
        let (mut world, pmem) = world();
        let pfn = pfn_t_to_pfn(world.device_pfn_t(pmem, 0).unwrap());
        let err = world
            .kmap_atomic_pfn_t(pfn_to_pfn_t(pfn).unwrap())
            .unwrap_err();
        assert!(matches!(err, MemError::NoMemmap { .. }), "{err}");
        assert!(matches!(
            world.pfn_to_page(pfn),
            Err(MemError::NoMemmap { .. })
        ));
        assert!(matches!(
            world.check_extent(pfn_to_pfn_t(pfn).unwrap(), 0, 4096),
            Err(MemError::NoMemmap { .. })
        ));
    }

    #[test]
    fn dev_flag_on_dram_is_rejected() {
        let (mut world, _) = world();
        let pfn = __pfn_to_pfn_t(3, PFN_DEV).unwrap();
        assert!(matches!(
            world.check_extent(pfn, 0, 1),
            Err(MemError::DevOnSystemMemory { .. })
        ));
        assert!(matches!(
            world.kmap_atomic_pfn_t(pfn),
            Err(MemError::DevOnSystemMemory { .. })
        ));
    }

    #[test]
    fn unregistered_page_less_pfn_fails_like_null() {
        let mut world = World::new();
        world.add_dram(0, MIB).unwrap();
        let dev = world
            .add_pmem("pmem1", GIB, MIB, DevMemmap::OnDevice)
            .unwrap();
        // A page-less view of a device that has a memmap: no kmap range.
        let pfn = world.device_pfn_t(dev, 0).unwrap();
        let bare = __pfn_to_pfn_t(pfn_t_to_pfn(pfn), PFN_DEV).unwrap();
        let err = world.kmap_atomic_pfn_t(bare).unwrap_err();
        assert_eq!(
            err,
            MemError::NotRegistered {
                pfn: pfn_t_to_pfn(pfn)
            }
        );
        assert_eq!(err.severity(), Severity::Fail);
    }

    #[test]
    fn device_memmap_lives_on_device_and_dies_with_unbind() {
        let mut world = World::new();
        let dev = world
            .add_pmem("pmem1", GIB, 64 * MIB, DevMemmap::OnDevice)
            .unwrap();
        let range = world.device_range(dev).unwrap().clone();
        // 16384 frames need 1 MiB of struct page: 256 frames.
        assert_eq!(range.reserve_pages(), 256);
        assert!(matches!(
            world.pfn_to_page(range.start_pfn()),
            Err(MemError::MemmapReserve { .. })
        ));
        let pfn = world.device_pfn_t(dev, 0).unwrap();
        assert_eq!(pfn.flags(), PFN_DEV | PFN_MAP);
        let page = world.pfn_to_page(pfn_t_to_pfn(pfn)).unwrap();
        let kmap = world.kmap_atomic(page).unwrap();
        world.kunmap_atomic_pfn_t(kmap).unwrap();
        world.unbind(dev).unwrap();
        assert!(matches!(
            world.kmap_atomic(page),
            Err(MemError::Stale { .. })
        ));
        assert!(matches!(
            world.pfn_to_page(page.pfn()),
            Err(MemError::Stale { .. })
        ));
    }

    #[test]
    fn kmaps_nest_in_stack_order() {
        let (mut world, _) = world();
        let (p1, p2) = (world.pfn_to_page(1).unwrap(), world.pfn_to_page(2).unwrap());
        let a = world.kmap_atomic(p1).unwrap();
        let b = world.kmap_atomic(p2).unwrap();
        let err = world.kunmap_atomic_pfn_t(a).unwrap_err();
        assert_eq!(
            err,
            MemError::KmapOrder {
                expected: 2,
                got: 1
            }
        );
        assert_eq!(err.severity(), Severity::Warn);
        world.kunmap_atomic_pfn_t(b).unwrap();
        let mut maps = Vec::new();
        for pfn in 0..KM_TYPE_NR as u64 {
            maps.push(world.kmap_atomic(Page::from_pfn(pfn)).unwrap());
        }
        assert_eq!(
            world.kmap_atomic(Page::from_pfn(0)),
            Err(MemError::KmapOverflow)
        );
        while let Some(kmap) = maps.pop() {
            world.kunmap_atomic_pfn_t(kmap).unwrap();
        }
    }

    #[test]
    fn access_past_the_page_is_a_bug() {
        let (mut world, _) = world();
        let kmap = world.kmap_atomic(Page::from_pfn(0)).unwrap();
        let err = world.kmap_write(&kmap, 4095, b"ab").unwrap_err();
        assert_eq!(
            err,
            MemError::MapBounds {
                offset: 4095,
                len: 2
            }
        );
        world.kunmap_atomic_pfn_t(kmap).unwrap();
    }

    #[test]
    fn page_allocator_respects_limit_and_catches_bad_free() {
        let mut world = World::new();
        world.add_dram(0, 2 * 4096).unwrap();
        world.add_dram(GIB, 4096).unwrap();
        let a = world.alloc_page_below(1).unwrap();
        let b = world.alloc_page_below(1).unwrap();
        assert_eq!((a.pfn(), b.pfn()), (0, 1));
        assert_eq!(
            world.alloc_page_below(1),
            Err(MemError::OutOfPages { max_pfn: 1 })
        );
        assert_eq!(world.alloc_page().unwrap().pfn(), GIB >> 12);
        world.free_page(a).unwrap();
        assert_eq!(world.free_page(a), Err(MemError::BadFree { pfn: 0 }));
        assert_eq!(world.alloc_page_below(1).unwrap(), a);
    }

    #[test]
    fn cost_report_prices_struct_page_coverage() {
        let (world, _) = world();
        let report = world.cost_report();
        let pmem = &report.ranges[1];
        assert_eq!(pmem.name, "pmem0");
        assert_eq!(pmem.frames, 400 * GIB / 4096);
        // 64 bytes per 4 KiB frame is 1.5625% of capacity.
        assert_eq!(pmem.struct_page_bytes, 400 * GIB / 64);
        assert_eq!(pmem.memmap_bytes, 0);
        assert!(pmem.pfn_model_dram_bytes < 256);
        let dram = &report.ranges[0];
        assert_eq!(dram.memmap_bytes, 16 * MIB / 64);
    }
}
