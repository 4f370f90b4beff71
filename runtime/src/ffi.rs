//! The C ABI: kernel-style C fixtures drive the model through these
//! functions, which they reach through the table of [`crate::ops`] (wrapped
//! by `fixtures/include/bvmig/runtime.h` and the `<linux/*.h>` headers);
//! none is exported by name.
//!
//! Every call also records what C did as [`Event`]s (scatterlist and DMA
//! entries produced, misuse, reported values) for [`crate::host`] to
//! observe.
//!
//! Each thread has at most one world, created with the `bio_vec` layout its
//! C code was compiled for: the original one, where `struct bio_vec` holds
//! `struct page *bv_page`, the 2015 series' one, where it holds
//! `pfn_t bv_pfn`, or today's, where it holds `phys_addr_t bv_phys` and no
//! offset (the offset folds into the address; a physical address names its
//! memory through the range registered for it, so page-less device memory
//! needs no flags). The C `struct bio` and its bvec table live in memory the
//! runtime allocated and C reads and writes directly, as kernel code does;
//! every call reads them back, checks them against the model (a corrupt
//! bvec is an error, not undefined behaviour) and writes the result out in
//! the layout of the caller.
//!
//! A `struct page *` is never dereferenced: it encodes its pfn as an
//! address in a virtual memmap (`VMEMMAP_START + pfn * 64`, as x86-64's
//! vmemmap), which C may store and compare like any page pointer.
//!
//! Every call starts by clearing the thread's last error; a call that fails
//! returns the kernel's failure value (0, NULL, `DMA_MAPPING_ERROR`, -1)
//! and records the error's severity and message, read back with
//! [`bvmig_last_error_kind`] and [`bvmig_last_error_message`].
//!
//! **Invariant:** no pointer from C is dereferenced unless the runtime
//! handed it out and it is still live (bios, devices, mappings); pointers
//! to arrays the caller owns (scatterlists, out-parameters) are trusted for
//! the length the caller gives, as any C function must.

use std::cell::RefCell;
use std::collections::HashMap;
use std::ffi::{c_char, c_int, c_uint, c_ulong, c_ushort, c_void, CStr, CString};

use thiserror::Error;

use crate::bio::{bio_add_pfn, bio_advance, bio_alloc, bio_segments, bio_split, Bio, BioError};
use crate::bvec::{
    bvec_iter_advance, bvec_iter_bvec, bvec_page, mp_bvec_iter_bvec, BioVec, BvecError, BvecIter,
};
use crate::dma::{
    dma_map_pfn, dma_map_sg, dma_unmap_pfn, dma_unmap_sg, DmaDataDirection, DmaError,
    DMA_MAPPING_ERROR,
};
use crate::memory::{
    DevMemmap, DeviceId, Kmap, MemError, Page, World, MAX_PHYSMEM_BITS, STRUCT_PAGE_SIZE,
};
use crate::observe::{BioId, BioState, BvecRef, BvecState, DmaEntry, Event, SgEntry};
use crate::pfn_t::{page_to_pfn_t, pfn_t_has_page, pfn_t_to_page, PfnT};
use crate::request::{blk_rq_map_sg, QueueLimits, Request, RequestError};
use crate::scatterlist::{sg_page, sg_set_pfn, Scatterlist, SgError, SgTable};
use crate::severity::{Misuse, Severity};
use crate::{PAGE_SIZE, SECTOR_SHIFT};

// The page layout stores a pointer where the pfn layout stores a u64; the
// two `struct bio_vec`s only have the same shape on LP64 targets.
const _: () = assert!(
    std::mem::size_of::<usize>() == 8,
    "the C ABI assumes an LP64 target"
);

/// Base of the virtual memmap that `struct page *` values encode.
pub const VMEMMAP_START: usize = 0xffff_ea00_0000_0000;

/// `bi_flags` bit of a bio split off another (`BIO_CLONED`).
pub const BIO_CLONED: u32 = 2;

/// `BVMIG_LAYOUT_PAGE`: `struct bio_vec` holds `struct page *bv_page`.
pub const BVMIG_LAYOUT_PAGE: c_int = 0;
/// `BVMIG_LAYOUT_PFN`: `struct bio_vec` holds `pfn_t bv_pfn`.
pub const BVMIG_LAYOUT_PFN: c_int = 1;
/// `BVMIG_LAYOUT_PHYS`: `struct bio_vec` holds `phys_addr_t bv_phys` and
/// `bv_len`, no offset.
pub const BVMIG_LAYOUT_PHYS: c_int = 2;

/// The opaque `struct page`; only pointers to it exist.
#[repr(C)]
pub struct CPage {
    _opaque: [u8; 0],
}

/// The opaque `struct device`.
#[repr(C)]
pub struct CDevice {
    id: u32,
}

/// A C `struct bio_vec` in any layout: `first` is the `bv_page`
/// pointer, the `bv_pfn` value or `bv_phys`. The `bv_phys` layout has no
/// `bv_offset`: there the last four bytes are padding, never read.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RawBioVec {
    /// `bv_page`, `bv_pfn.val` or `bv_phys`.
    pub first: u64,
    /// `bv_len`.
    pub bv_len: c_uint,
    /// `bv_offset` (padding in the `bv_phys` layout).
    pub bv_offset: c_uint,
}

/// The C `struct bio`.
#[repr(C)]
#[derive(Debug)]
pub struct CBio {
    /// Next bio of a request.
    pub bi_next: *mut CBio,
    /// `BIO_*` flag bits.
    pub bi_flags: c_ulong,
    /// Operation flags, carried for the caller.
    pub bi_rw: c_ulong,
    /// What is left to do.
    pub bi_iter: BvecIter,
    /// Bvecs in use.
    pub bi_vcnt: c_ushort,
    /// Capacity of the table.
    pub bi_max_vecs: c_ushort,
    /// The bvec table, allocated by the runtime.
    pub bi_io_vec: *mut RawBioVec,
}

/// The `struct bio_vec` layout C code was compiled for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Layout {
    /// `struct page *bv_page` (before the migration).
    Page,
    /// `pfn_t bv_pfn` and no `bv_page` (after it; `-DBVMIG_LAYOUT_PFN`).
    Pfn,
    /// `phys_addr_t bv_phys`, no `bv_page` and no `bv_offset` (today's
    /// endpoint; `-DBVMIG_LAYOUT_PHYS`).
    Phys,
}

impl Layout {
    /// `bv_page` or `bv_pfn`: the member that names the memory.
    pub fn name(self) -> &'static str {
        match self {
            Layout::Page => "bv_page",
            Layout::Pfn => "bv_pfn",
            Layout::Phys => "bv_phys",
        }
    }

    /// The C value (`BVMIG_ABI_LAYOUT_PAGE` or `BVMIG_ABI_LAYOUT_PFN`).
    pub fn as_c(self) -> c_int {
        match self {
            Layout::Page => BVMIG_LAYOUT_PAGE,
            Layout::Pfn => BVMIG_LAYOUT_PFN,
            Layout::Phys => BVMIG_LAYOUT_PHYS,
        }
    }
}

/// Errors only the C boundary can produce, plus every module's errors.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum FfiError {
    /// A call before `bvmig_world_create`.
    #[error("no world on this thread: call bvmig_world_create first")]
    NoWorld,
    /// A second world on the same thread.
    #[error("this thread already has a world: call bvmig_world_destroy first")]
    WorldExists,
    /// A runtime call made while another is running (a callback).
    #[error("runtime re-entered while busy")]
    Reentrant,
    /// Header and runtime disagree about a struct.
    #[error("header and runtime disagree on sizeof({what}): header {header}, runtime {runtime}")]
    AbiMismatch {
        /// The struct.
        what: &'static str,
        /// Size the header sees.
        header: usize,
        /// Size the runtime has.
        runtime: usize,
    },
    /// An unknown layout number.
    #[error("unknown bio_vec layout {0} (BVMIG_LAYOUT_PAGE is 0, BVMIG_LAYOUT_PFN is 1, BVMIG_LAYOUT_PHYS is 2)")]
    Layout(c_int),
    /// A pointer the runtime did not hand out, or has freed.
    #[error("{addr:#x} is not a live {what} (freed, or not allocated by the runtime)")]
    BadPointer {
        /// The pointer.
        addr: usize,
        /// What it should be.
        what: &'static str,
    },
    /// A NULL pointer.
    #[error("NULL {0}")]
    Null(&'static str),
    /// A bio whose table pointer or capacity C changed.
    #[error("bi_io_vec or bi_max_vecs of the bio was replaced")]
    TableReplaced,
    /// A page-less bvec in the `bv_page` layout.
    #[error("pfn {0:#x} has no struct page, so a bio_vec with bv_page cannot hold it (build with -DBVMIG_LAYOUT_PFN)")]
    PagelessInPageLayout(u64),
    /// `bvec_page()` of a page-less bvec.
    #[error("bvec_page() of a page-less bio_vec (pfn {0:#x}) returns NULL: use bvec_pfn()")]
    PagelessBvecPage(u64),
    /// An unknown DMA direction.
    #[error("invalid dma direction {0}")]
    Direction(c_int),
    /// A name that is not UTF-8.
    #[error("name is not valid UTF-8")]
    Name,
    /// From the memory model.
    #[error(transparent)]
    Mem(#[from] MemError),
    /// From bvecs.
    #[error(transparent)]
    Bvec(#[from] BvecError),
    /// From bios.
    #[error(transparent)]
    Bio(#[from] BioError),
    /// From scatterlists.
    #[error(transparent)]
    Sg(#[from] SgError),
    /// From request mapping.
    #[error(transparent)]
    Request(#[from] RequestError),
    /// From DMA.
    #[error(transparent)]
    Dma(#[from] DmaError),
}

impl Misuse for FfiError {
    fn severity(&self) -> Severity {
        match self {
            FfiError::Mem(err) => err.severity(),
            FfiError::Bvec(err) => err.severity(),
            FfiError::Bio(err) => err.severity(),
            FfiError::Sg(err) => err.severity(),
            FfiError::Request(err) => err.severity(),
            FfiError::Dma(err) => err.severity(),
            FfiError::WorldExists => Severity::Warn,
            FfiError::Name => Severity::Fail,
            FfiError::NoWorld
            | FfiError::Reentrant
            | FfiError::AbiMismatch { .. }
            | FfiError::Layout(_)
            | FfiError::BadPointer { .. }
            | FfiError::Null(_)
            | FfiError::TableReplaced
            | FfiError::PagelessInPageLayout(_)
            | FfiError::PagelessBvecPage(_)
            | FfiError::Direction(_) => Severity::Bug,
        }
    }
}

/// The table of one C bio, as allocated.
pub(crate) struct TableAlloc {
    ptr: *mut RawBioVec,
    cap: usize,
    /// Allocation order, the bio's name in observations.
    id: BioId,
}

pub(crate) struct FfiState {
    pub(crate) world: World,
    layout: Layout,
    // C holds pointers to the devices; boxes keep those addresses stable
    // while the vector grows.
    #[allow(clippy::vec_box)]
    devices: Vec<Box<CDevice>>,
    /// Live C bios by address.
    bios: HashMap<usize, TableAlloc>,
    next_bio_id: u64,
    /// Live C mappings: frame address and handle, innermost last.
    kmaps: Vec<(usize, Kmap)>,
    /// What C did, for observation.
    pub(crate) events: Vec<Event>,
    /// The `struct bio_vec`s that bio iteration last wrote, by address:
    /// which segment each holds.
    segments: HashMap<usize, BvecRef>,
}

impl Drop for FfiState {
    fn drop(&mut self) {
        for (addr, table) in self.bios.drain() {
            // SAFETY: both were made by Box::into_raw in alloc_cbio and are
            // removed from the registry exactly once, here or in bio_put.
            unsafe { free_cbio(addr as *mut CBio, &table) };
        }
    }
}

thread_local! {
    static STATE: RefCell<Option<FfiState>> = const { RefCell::new(None) };
    static LAST_ERROR: RefCell<Option<(Severity, CString)>> = const { RefCell::new(None) };
}

fn record(err: &impl Misuse) {
    // Interior NULs cannot occur in our messages, but a message is not
    // worth a panic if one ever does.
    let msg = CString::new(err.to_string().replace('\0', "?")).unwrap_or_default();
    LAST_ERROR.with(|e| *e.borrow_mut() = Some((err.severity(), msg)));
}

fn misuse(op: &'static str, err: &impl Misuse) -> Event {
    Event::Misuse {
        op: op.to_owned(),
        severity: err.severity(),
        message: err.to_string(),
    }
}

fn clear() {
    LAST_ERROR.with(|e| *e.borrow_mut() = None);
}

/// Runs `f` on the thread's world, turning an error into `fail` plus a
/// recorded last error and a misuse event named `op`.
fn call<T>(op: &'static str, fail: T, f: impl FnOnce(&mut FfiState) -> Result<T, FfiError>) -> T {
    clear();
    let res = STATE.with(|cell| {
        let Ok(mut guard) = cell.try_borrow_mut() else {
            return Err(FfiError::Reentrant);
        };
        let state = guard.as_mut().ok_or(FfiError::NoWorld)?;
        f(state).inspect_err(|err| state.events.push(misuse(op, err)))
    });
    res.unwrap_or_else(|err| {
        record(&err);
        fail
    })
}

/// As [`call`] for functions that need no world: pure conversions. The
/// misuse event is recorded if the thread has a world.
fn pure<T>(op: &'static str, fail: T, f: impl FnOnce() -> Result<T, FfiError>) -> T {
    clear();
    f().unwrap_or_else(|err| {
        record(&err);
        with_state(|s| s.events.push(misuse(op, &err)));
        fail
    })
}

/// Runs `f` on the thread's world, if it has one and no runtime call is
/// running.
pub(crate) fn with_state<T>(f: impl FnOnce(&mut FfiState) -> T) -> Option<T> {
    STATE.with(|cell| {
        let mut guard = cell.try_borrow_mut().ok()?;
        guard.as_mut().map(f)
    })
}

fn page_ptr(pfn: u64) -> *mut CPage {
    // pfns of a world stay below 1 << (MAX_PHYSMEM_BITS - PAGE_SHIFT), so
    // the address cannot overflow.
    std::ptr::without_provenance_mut(VMEMMAP_START + pfn as usize * STRUCT_PAGE_SIZE as usize)
}

fn page_pfn(page: *const CPage) -> Result<u64, FfiError> {
    if page.is_null() {
        return Err(FfiError::Null("struct page *"));
    }
    let addr = page as usize;
    let off = addr.wrapping_sub(VMEMMAP_START);
    let limit = 1usize << (MAX_PHYSMEM_BITS - crate::PAGE_SHIFT);
    if addr < VMEMMAP_START
        || off % STRUCT_PAGE_SIZE as usize != 0
        || off / STRUCT_PAGE_SIZE as usize >= limit
    {
        return Err(FfiError::BadPointer {
            addr,
            what: "struct page",
        });
    }
    Ok((off / STRUCT_PAGE_SIZE as usize) as u64)
}

fn encode_page(page: Option<Page>) -> *mut CPage {
    page.map_or(std::ptr::null_mut(), |p| page_ptr(p.pfn()))
}

impl FfiState {
    fn device(&self, dev: *const CDevice) -> Result<DeviceId, FfiError> {
        if dev.is_null() {
            return Err(FfiError::Null("struct device *"));
        }
        self.devices
            .iter()
            .find(|d| std::ptr::eq(&***d, dev))
            .map(|d| DeviceId::from_u32(d.id))
            .ok_or(FfiError::BadPointer {
                addr: dev as usize,
                what: "struct device",
            })
    }

    fn add_device(&mut self, id: DeviceId) -> *mut CDevice {
        let mut dev = Box::new(CDevice { id: id.as_u32() });
        let ptr: *mut CDevice = &mut *dev;
        self.devices.push(dev);
        ptr
    }

    /// The `pfn_t` of the frame holding physical address `phys`, with the
    /// flags of the range registered for it (none for DRAM, `PFN_DEV` for a
    /// page-less device, `PFN_DEV | PFN_MAP` for one with a memmap): what a
    /// physical address means in this world.
    fn phys_pfn_t(&self, phys: u64) -> Result<PfnT, FfiError> {
        let pfn = phys >> crate::PAGE_SHIFT;
        let range = self.world.range_of(pfn).ok_or(MemError::NoMemory { pfn })?;
        Ok(crate::pfn_t::phys_to_pfn_t(
            phys & !u64::from(PAGE_SIZE - 1),
            range.pfn_flags(),
        ))
    }

    fn decode_bvec(&self, raw: RawBioVec) -> Result<BioVec, FfiError> {
        let (pfn, offset) = match self.layout {
            Layout::Pfn => (PfnT::from_raw(raw.first), raw.bv_offset),
            Layout::Page => (
                page_to_pfn_t(Page::from_pfn(page_pfn(
                    raw.first as usize as *const CPage,
                )?)),
                raw.bv_offset,
            ),
            Layout::Phys => (
                self.phys_pfn_t(raw.first)?,
                (raw.first % u64::from(PAGE_SIZE)) as u32,
            ),
        };
        Ok(BioVec::new(pfn, raw.bv_len, offset)?)
    }

    fn encode_bvec(&self, vec: &BioVec) -> Result<RawBioVec, FfiError> {
        if self.layout == Layout::Phys {
            return Ok(RawBioVec {
                first: vec.phys(),
                bv_len: vec.bv_len(),
                bv_offset: 0,
            });
        }
        let first = match self.layout {
            Layout::Pfn | Layout::Phys => vec.bv_pfn().raw(),
            Layout::Page => {
                let page = bvec_page(vec).ok_or(FfiError::PagelessInPageLayout(
                    crate::pfn_t::pfn_t_to_pfn(vec.bv_pfn()),
                ))?;
                page_ptr(page.pfn()) as usize as u64
            }
        };
        Ok(RawBioVec {
            first,
            bv_len: vec.bv_len(),
            bv_offset: vec.bv_offset(),
        })
    }

    fn table(&self, bio: *const CBio) -> Result<&TableAlloc, FfiError> {
        if bio.is_null() {
            return Err(FfiError::Null("struct bio *"));
        }
        self.bios.get(&(bio as usize)).ok_or(FfiError::BadPointer {
            addr: bio as usize,
            what: "struct bio",
        })
    }

    /// Reads a C bio into the model, checking everything C could have
    /// changed.
    fn read_bio(&self, bio: *const CBio) -> Result<Bio, FfiError> {
        let table = self.table(bio)?;
        // SAFETY: the registry holds only live bios the runtime allocated.
        let cbio = unsafe { &*bio };
        if cbio.bi_io_vec != table.ptr || usize::from(cbio.bi_max_vecs) != table.cap {
            return Err(FfiError::TableReplaced);
        }
        let vcnt = usize::from(cbio.bi_vcnt);
        if vcnt > table.cap {
            return Err(BioError::Inconsistent("bi_vcnt exceeds bi_max_vecs").into());
        }
        // SAFETY: the table holds `cap` initialised entries.
        let raws = unsafe { std::slice::from_raw_parts(table.ptr, vcnt) };
        let vecs = raws
            .iter()
            .map(|&raw| self.decode_bvec(raw))
            .collect::<Result<Vec<_>, _>>()?;
        let cloned = cbio.bi_flags & (1 << BIO_CLONED) != 0;
        Ok(Bio::from_parts(
            &self.world,
            vecs,
            cbio.bi_iter,
            table.cap,
            cloned,
        )?)
    }

    /// Writes the model's bio out to C; nothing is written unless all of it
    /// can be encoded in the caller's layout.
    fn write_bio(&self, bio: *mut CBio, model: &Bio) -> Result<(), FfiError> {
        let table = self.table(bio)?;
        let raws = model
            .bi_io_vec()
            .iter()
            .map(|v| self.encode_bvec(v))
            .collect::<Result<Vec<_>, _>>()?;
        if raws.len() > table.cap {
            return Err(BioError::Full { max: table.cap }.into());
        }
        // SAFETY: a live registered bio and its table of `cap` entries.
        unsafe {
            std::ptr::copy_nonoverlapping(raws.as_ptr(), table.ptr, raws.len());
            let cbio = &mut *bio;
            cbio.bi_vcnt = raws.len() as c_ushort;
            cbio.bi_iter = model.bi_iter();
            if model.is_cloned() {
                cbio.bi_flags |= 1 << BIO_CLONED;
            }
        }
        Ok(())
    }

    /// Frees a registered bio; anything else is left alone.
    fn free_bio(&mut self, bio: *mut CBio) {
        if let Some(table) = self.bios.remove(&(bio as usize)) {
            // SAFETY: just removed from the registry, so freed exactly once.
            unsafe { free_cbio(bio, &table) };
        }
    }

    /// Copies `bi_rw` between two registered bios.
    fn copy_rw(&self, from: *const CBio, to: *mut CBio) -> Result<(), FfiError> {
        self.table(from)?;
        self.table(to)?;
        // SAFETY: both are live registered bios.
        unsafe { (*to).bi_rw = (*from).bi_rw };
        Ok(())
    }

    fn alloc_cbio(&mut self, cap: usize) -> *mut CBio {
        let table =
            Box::into_raw(vec![RawBioVec::default(); cap].into_boxed_slice()).cast::<RawBioVec>();
        let bio = Box::into_raw(Box::new(CBio {
            bi_next: std::ptr::null_mut(),
            bi_flags: 0,
            bi_rw: 0,
            bi_iter: BvecIter::default(),
            bi_vcnt: 0,
            // bio_alloc caps nr_iovecs at BIO_MAX_PAGES, well inside u16.
            bi_max_vecs: cap as c_ushort,
            bi_io_vec: table,
        }));
        let id = BioId(self.next_bio_id);
        self.next_bio_id += 1;
        self.bios.insert(
            bio as usize,
            TableAlloc {
                ptr: table,
                cap,
                id,
            },
        );
        bio
    }

    /// Which bio table entry or iteration segment `bvec` is, if the
    /// runtime knows it.
    fn bvec_ref(&self, bvec: *const RawBioVec) -> BvecRef {
        let addr = bvec as usize;
        let size = std::mem::size_of::<RawBioVec>();
        for table in self.bios.values() {
            let base = table.ptr as usize;
            if addr >= base && addr < base + table.cap * size && (addr - base) % size == 0 {
                return BvecRef::Table {
                    bio: table.id,
                    idx: (addr - base) / size,
                };
            }
        }
        self.segments
            .get(&addr)
            .copied()
            .unwrap_or(BvecRef::Unknown)
    }

    /// Allocates a C bio holding `model`, for a world set up from Rust.
    pub(crate) fn add_bio(&mut self, model: &Bio, bi_rw: c_ulong) -> Result<*mut CBio, FfiError> {
        let bio = self.alloc_cbio(model.bi_max_vecs());
        if let Err(err) = self.write_bio(bio, model) {
            self.free_bio(bio);
            return Err(err);
        }
        // SAFETY: just allocated and registered.
        unsafe { (*bio).bi_rw = bi_rw };
        Ok(bio)
    }

    /// The id of a live C bio.
    pub(crate) fn bio_id(&self, bio: *const CBio) -> Result<BioId, FfiError> {
        Ok(self.table(bio)?.id)
    }

    /// Adds a device to the C side's list and returns its C handle.
    pub(crate) fn c_device(&mut self, id: DeviceId) -> *mut CDevice {
        self.add_device(id)
    }

    /// Every live bio as C left it, in allocation order.
    pub(crate) fn bio_states(&self) -> Vec<BioState> {
        let mut bios: Vec<(&usize, &TableAlloc)> = self.bios.iter().collect();
        bios.sort_by_key(|(_, t)| t.id);
        bios.into_iter()
            .map(|(&addr, table)| {
                // SAFETY: the registry holds only live bios the runtime
                // allocated.
                let cbio = unsafe { &*(addr as *const CBio) };
                let vcnt = usize::from(cbio.bi_vcnt).min(table.cap);
                // SAFETY: the table holds `cap` initialised entries.
                let raws = unsafe { std::slice::from_raw_parts(table.ptr, vcnt) };
                let vecs = raws
                    .iter()
                    .map(|&raw| match self.decode_bvec(raw) {
                        Ok(v) => {
                            match self
                                .world
                                .check_extent(v.bv_pfn(), v.bv_offset(), v.bv_len())
                            {
                                Ok(()) => BvecState::Valid {
                                    phys: v.phys(),
                                    len: v.bv_len(),
                                },
                                Err(err) => BvecState::Invalid(err.to_string()),
                            }
                        }
                        Err(err) => BvecState::Invalid(err.to_string()),
                    })
                    .collect();
                BioState {
                    id: table.id,
                    vecs,
                    iter: cbio.bi_iter,
                    cloned: cbio.bi_flags & (1 << BIO_CLONED) != 0,
                }
            })
            .collect()
    }

    /// Number of atomic kmaps C still holds.
    pub(crate) fn kmaps_held(&self) -> usize {
        self.kmaps.len()
    }
}

/// # Safety
/// `bio` and `table` come from one `alloc_cbio` and are freed only once.
unsafe fn free_cbio(bio: *mut CBio, table: &TableAlloc) {
    // SAFETY: per the contract above.
    unsafe {
        drop(Box::from_raw(std::ptr::slice_from_raw_parts_mut(
            table.ptr, table.cap,
        )));
        drop(Box::from_raw(bio));
    }
}

fn direction(dir: c_int) -> Result<DmaDataDirection, FfiError> {
    DmaDataDirection::from_c(dir).ok_or(FfiError::Direction(dir))
}

/// # Safety
/// `name` is NULL or a NUL-terminated string.
unsafe fn c_name(name: *const c_char, what: &'static str) -> Result<String, FfiError> {
    if name.is_null() {
        return Err(FfiError::Null(what));
    }
    // SAFETY: per the contract above.
    let name = unsafe { CStr::from_ptr(name) };
    Ok(name.to_str().map_err(|_| FfiError::Name)?.to_owned())
}

// ---------------------------------------------------------------- errors

/// Severity of the last call's error: 0 none, 1 fail, 2 warn, 3 bug.
pub extern "C" fn bvmig_last_error_kind() -> c_int {
    LAST_ERROR.with(|e| e.borrow().as_ref().map_or(0, |(sev, _)| sev.as_c()))
}

/// Message of the last call's error, or "" if it succeeded. Valid until
/// the next runtime call on this thread.
pub extern "C" fn bvmig_last_error_message() -> *const c_char {
    LAST_ERROR.with(|e| {
        e.borrow()
            .as_ref()
            .map_or(c"".as_ptr(), |(_, msg)| msg.as_ptr())
    })
}

/// Clears the last error.
pub extern "C" fn bvmig_clear_error() {
    clear();
}

// ----------------------------------------------------------------- world

/// Checks the header's struct sizes against the runtime's; the header's
/// `bvmig_world_create` calls it so a mismatch fails loudly at once.
pub extern "C" fn bvmig_abi_check(
    bio: usize,
    bio_vec: usize,
    bvec_iter: usize,
    scatterlist: usize,
    queue_limits: usize,
) -> c_int {
    clear();
    let checks = [
        ("struct bio", bio, std::mem::size_of::<CBio>()),
        ("struct bio_vec", bio_vec, std::mem::size_of::<RawBioVec>()),
        (
            "struct bvec_iter",
            bvec_iter,
            std::mem::size_of::<BvecIter>(),
        ),
        (
            "struct scatterlist",
            scatterlist,
            std::mem::size_of::<Scatterlist>(),
        ),
        (
            "struct queue_limits",
            queue_limits,
            std::mem::size_of::<QueueLimits>(),
        ),
    ];
    for (what, header, runtime) in checks {
        if header != runtime {
            record(&FfiError::AbiMismatch {
                what,
                header,
                runtime,
            });
            return -1;
        }
    }
    0
}

/// Creates this thread's world, empty, for C compiled with `layout`.
pub extern "C" fn bvmig_world_create_layout(layout: c_int) -> c_int {
    clear();
    let layout = match layout {
        BVMIG_LAYOUT_PAGE => Layout::Page,
        BVMIG_LAYOUT_PFN => Layout::Pfn,
        BVMIG_LAYOUT_PHYS => Layout::Phys,
        other => {
            record(&FfiError::Layout(other));
            return -1;
        }
    };
    STATE.with(|cell| {
        let Ok(mut guard) = cell.try_borrow_mut() else {
            record(&FfiError::Reentrant);
            return -1;
        };
        if guard.is_some() {
            record(&FfiError::WorldExists);
            return -1;
        }
        *guard = Some(FfiState {
            world: World::new(),
            layout,
            devices: Vec::new(),
            bios: HashMap::new(),
            next_bio_id: 0,
            kmaps: Vec::new(),
            events: Vec::new(),
            segments: HashMap::new(),
        });
        0
    })
}

/// Destroys this thread's world; every bio, page, device and mapping of
/// it becomes invalid.
pub extern "C" fn bvmig_world_destroy() {
    clear();
    STATE.with(|cell| match cell.try_borrow_mut() {
        Ok(mut guard) => *guard = None,
        Err(_) => record(&FfiError::Reentrant),
    });
}

/// Adds DRAM; 0 or -1.
pub extern "C" fn bvmig_world_add_dram(phys: u64, bytes: u64) -> c_int {
    call("world_add_dram", -1, |s| {
        s.world.add_dram(phys, bytes)?;
        Ok(0)
    })
}

/// Adds and binds a pmem device; its memmap is on the device if
/// `memmap_on_device` is non-zero, absent otherwise. NULL on error.
///
/// # Safety
/// `name` is a NUL-terminated string.
pub unsafe extern "C" fn bvmig_world_add_pmem(
    name: *const c_char,
    phys: u64,
    bytes: u64,
    memmap_on_device: c_int,
) -> *mut CDevice {
    call("world_add_pmem", std::ptr::null_mut(), |s| {
        // SAFETY: per the contract of this function.
        let name = unsafe { c_name(name, "device name") }?;
        let memmap = if memmap_on_device != 0 {
            DevMemmap::OnDevice
        } else {
            DevMemmap::None
        };
        let id = s.world.add_pmem(&name, phys, bytes, memmap)?;
        Ok(s.add_device(id))
    })
}

/// Adds a direct-mapped DMA master with `dma_mask`. NULL on error.
///
/// # Safety
/// `name` is a NUL-terminated string.
pub unsafe extern "C" fn bvmig_world_add_dma_device(
    name: *const c_char,
    dma_mask: u64,
) -> *mut CDevice {
    call("world_add_dma_device", std::ptr::null_mut(), |s| {
        // SAFETY: per the contract of this function.
        let name = unsafe { c_name(name, "device name") }?;
        let id = s.world.add_dma_device(&name, dma_mask);
        Ok(s.add_device(id))
    })
}

/// Unbinds a device's driver; 0 or -1.
pub extern "C" fn bvmig_device_unbind(dev: *const CDevice) -> c_int {
    call("device_unbind", -1, |s| {
        let id = s.device(dev)?;
        s.world.unbind(id)?;
        Ok(0)
    })
}

/// Binds a device's driver again; 0 or -1.
pub extern "C" fn bvmig_device_bind(dev: *const CDevice) -> c_int {
    call("device_bind", -1, |s| {
        let id = s.device(dev)?;
        s.world.bind(id)?;
        Ok(0)
    })
}

/// Stores in `*out` the `pfn_t` of data page `index` of a pmem device, with
/// its driver's flags; 0 or -1.
///
/// # Safety
/// `out` points to a writable `pfn_t`.
pub unsafe extern "C" fn bvmig_device_pfn_t(
    dev: *const CDevice,
    index: u64,
    out: *mut PfnT,
) -> c_int {
    call("device_pfn_t", -1, |s| {
        if out.is_null() {
            return Err(FfiError::Null("pfn_t *"));
        }
        let pfn = s.world.device_pfn_t(s.device(dev)?, index)?;
        // SAFETY: per the contract of this function.
        unsafe { out.write(pfn) };
        Ok(0)
    })
}

/// Number of stale uses reported so far.
pub extern "C" fn bvmig_stale_uses() -> usize {
    call("stale_uses", 0, |s| Ok(s.world.stale_uses().len()))
}

/// Bytes a `struct page` per frame would cost for every range.
pub extern "C" fn bvmig_struct_page_bytes() -> u64 {
    call("struct_page_bytes", 0, |s| {
        Ok(s.world.cost_report().struct_page_bytes())
    })
}

/// DRAM the pfn model spends on all ranges.
pub extern "C" fn bvmig_pfn_model_bytes() -> u64 {
    call("pfn_model_bytes", 0, |s| {
        Ok(s.world.cost_report().pfn_model_dram_bytes())
    })
}

/// Bytes of frames really stored.
pub extern "C" fn bvmig_stored_bytes() -> u64 {
    call("stored_bytes", 0, |s| Ok(s.world.stored_bytes()))
}

// ----------------------------------------------------------------- pages

/// `alloc_page`: a free DRAM page, or NULL.
pub extern "C" fn bvmig_alloc_page() -> *mut CPage {
    call("alloc_page", std::ptr::null_mut(), |s| {
        Ok(page_ptr(s.world.alloc_page()?.pfn()))
    })
}

/// `__free_page`.
pub extern "C" fn bvmig_free_page(page: *const CPage) {
    call("free_page", (), |s| {
        let pfn = page_pfn(page)?;
        let page = s.world.pfn_to_page(pfn)?;
        Ok(s.world.free_page(page)?)
    })
}

/// `pfn_to_page`: NULL (and an error) for a pfn without a live memmap
/// entry.
pub extern "C" fn bvmig_pfn_to_page(pfn: c_ulong) -> *mut CPage {
    call("pfn_to_page", std::ptr::null_mut(), |s| {
        Ok(page_ptr(s.world.pfn_to_page(pfn)?.pfn()))
    })
}

/// `page_to_pfn`: `~0UL` (and an error) for something not a page pointer.
pub extern "C" fn bvmig_page_to_pfn(page: *const CPage) -> c_ulong {
    pure("page_to_pfn", c_ulong::MAX, || page_pfn(page))
}

/// `pfn_t_has_page`, as the runtime computes it.
pub extern "C" fn bvmig_pfn_t_has_page(pfn: PfnT) -> bool {
    pfn_t_has_page(pfn)
}

/// `pfn_t_to_page`, as the runtime computes it: NULL for a page-less pfn.
pub extern "C" fn bvmig_pfn_t_to_page(pfn: PfnT) -> *mut CPage {
    pure("pfn_t_to_page", std::ptr::null_mut(), || {
        let page = pfn_t_to_page(pfn);
        if let Some(p) = page {
            if p.pfn() >= 1 << (MAX_PHYSMEM_BITS - crate::PAGE_SHIFT) {
                return Err(MemError::NoMemory { pfn: p.pfn() }.into());
            }
        }
        Ok(encode_page(page))
    })
}

// ------------------------------------------------------------------- bio

/// `bio_alloc`: a bio with room for `nr_iovecs` bvecs, or NULL.
pub extern "C" fn bvmig_bio_alloc(nr_iovecs: c_uint) -> *mut CBio {
    call("bio_alloc", std::ptr::null_mut(), |s| {
        let bio = bio_alloc(nr_iovecs as usize)?;
        Ok(s.alloc_cbio(bio.bi_max_vecs()))
    })
}

/// `bio_put`: frees a bio (not the memory it names).
pub extern "C" fn bvmig_bio_put(bio: *mut CBio) {
    call("bio_put", (), |s| {
        s.table(bio)?;
        s.free_bio(bio);
        Ok(())
    })
}

fn add(
    s: &mut FfiState,
    bio: *mut CBio,
    pfn: PfnT,
    len: c_uint,
    offset: c_uint,
) -> Result<c_int, FfiError> {
    let mut model = s.read_bio(bio)?;
    bio_add_pfn(&s.world, &mut model, pfn, len, offset)?;
    s.write_bio(bio, &model)?;
    Ok(len as c_int)
}

/// `bio_add_page`: `len` on success, 0 on failure (a full bio included).
pub extern "C" fn bvmig_bio_add_page(
    bio: *mut CBio,
    page: *const CPage,
    len: c_uint,
    offset: c_uint,
) -> c_int {
    call("bio_add", 0, |s| {
        let pfn = page_pfn(page)?;
        add(s, bio, page_to_pfn_t(Page::from_pfn(pfn)), len, offset)
    })
}

/// `bio_add_pfn`: as [`bvmig_bio_add_page`] for a `pfn_t`.
pub extern "C" fn bvmig_bio_add_pfn(
    bio: *mut CBio,
    pfn: PfnT,
    len: c_uint,
    offset: c_uint,
) -> c_int {
    call("bio_add", 0, |s| add(s, bio, pfn, len, offset))
}

/// `bio_advance`.
pub extern "C" fn bvmig_bio_advance(bio: *mut CBio, bytes: c_uint) {
    call("bio_advance", (), |s| {
        let mut model = s.read_bio(bio)?;
        let res = bio_advance(&mut model, bytes);
        // Past the end the kernel WARNs yet leaves the bio emptied, so the
        // state is written back before the error is reported.
        s.write_bio(bio, &model)?;
        Ok(res?)
    })
}

/// `bio_split`: splits off the first `sectors` sectors as a new bio, or
/// returns NULL.
pub extern "C" fn bvmig_bio_split(bio: *mut CBio, sectors: c_int) -> *mut CBio {
    call("bio_split", std::ptr::null_mut(), |s| {
        let mut model = s.read_bio(bio)?;
        let sectors = u32::try_from(sectors).map_err(|_| BioError::SplitZero)?;
        let front = bio_split(&mut model, sectors)?;
        let split = s.alloc_cbio(front.bi_max_vecs());
        if let Err(err) = s
            .write_bio(split, &front)
            .and_then(|()| s.write_bio(bio, &model))
        {
            s.free_bio(split);
            return Err(err);
        }
        s.copy_rw(bio, split)?;
        Ok(split)
    })
}

/// The segment of `bio` at `*iter` into `*out`: single-page unless
/// `multi_page`. Returns false at the end, or on error.
///
/// # Safety
/// `iter` and `out` point to a readable `struct bvec_iter` and a writable
/// `struct bio_vec`.
pub unsafe extern "C" fn bvmig_bio_iter_segment(
    bio: *const CBio,
    iter: *const BvecIter,
    out: *mut RawBioVec,
    multi_page: c_int,
) -> bool {
    call("bio_iter_segment", false, |s| {
        if iter.is_null() || out.is_null() {
            return Err(FfiError::Null("bvec_iter or bio_vec"));
        }
        let model = s.read_bio(bio)?;
        // SAFETY: per the contract of this function.
        let iter = unsafe { iter.read() };
        if iter.bi_size == 0 {
            return Ok(false);
        }
        let seg = if multi_page != 0 {
            mp_bvec_iter_bvec(model.bi_io_vec(), iter)?
        } else {
            bvec_iter_bvec(model.bi_io_vec(), iter)?
        };
        let raw = s.encode_bvec(&seg)?;
        // SAFETY: per the contract of this function.
        unsafe { out.write(raw) };
        let id = s.bio_id(bio)?;
        s.segments.insert(
            out as usize,
            BvecRef::Segment {
                bio: id,
                bi_idx: iter.bi_idx,
                bi_bvec_done: iter.bi_bvec_done,
            },
        );
        Ok(true)
    })
}

/// `bio_advance_iter`: moves `*iter` on by `bytes` over `bio`'s table.
///
/// # Safety
/// `iter` points to a writable `struct bvec_iter`.
pub unsafe extern "C" fn bvmig_bio_advance_iter(
    bio: *const CBio,
    iter: *mut BvecIter,
    bytes: c_uint,
) -> bool {
    call("bio_advance_iter", false, |s| {
        if iter.is_null() {
            return Err(FfiError::Null("bvec_iter"));
        }
        let model = s.read_bio(bio)?;
        // SAFETY: per the contract of this function.
        let mut it = unsafe { iter.read() };
        it.bi_sector += u64::from(bytes >> SECTOR_SHIFT);
        let res = bvec_iter_advance(model.bi_io_vec(), &mut it, bytes);
        // SAFETY: per the contract of this function.
        unsafe { iter.write(it) };
        res?;
        Ok(true)
    })
}

/// `bio_segments`: single-page segments left.
pub extern "C" fn bvmig_bio_segments(bio: *const CBio) -> c_uint {
    call("bio_segments", 0, |s| {
        Ok(bio_segments(&s.read_bio(bio)?) as c_uint)
    })
}

// ------------------------------------------------------------------ kmap

fn kmap(s: &mut FfiState, pfn: PfnT) -> Result<*mut c_void, FfiError> {
    let kmap = s.world.kmap_atomic_pfn_t(pfn)?;
    match s.world.kmap_ptr(&kmap) {
        Ok(ptr) => {
            s.kmaps.push((ptr as usize, kmap));
            Ok(ptr.cast())
        }
        Err(err) => {
            // The mapping was made a moment ago; undo it before reporting.
            let _ = s.world.kunmap_atomic_pfn_t(kmap);
            Err(err.into())
        }
    }
}

/// `kmap_atomic_pfn_t`: the address of the frame, or NULL.
pub extern "C" fn bvmig_kmap_atomic_pfn_t(pfn: PfnT) -> *mut c_void {
    call("kmap", std::ptr::null_mut(), |s| kmap(s, pfn))
}

/// `kmap_atomic`: the address of a page, or NULL.
pub extern "C" fn bvmig_kmap_atomic(page: *const CPage) -> *mut c_void {
    call("kmap", std::ptr::null_mut(), |s| {
        let pfn = page_pfn(page)?;
        kmap(s, page_to_pfn_t(Page::from_pfn(pfn)))
    })
}

/// `kunmap_atomic` / `kunmap_atomic_pfn_t`: releases the mapping that
/// contains `addr`.
pub extern "C" fn bvmig_kunmap_atomic(addr: *const c_void) {
    call("kunmap", (), |s| {
        let addr = addr as usize;
        let page = PAGE_SIZE as usize;
        let pos = s
            .kmaps
            .iter()
            .rposition(|&(base, _)| addr >= base && addr < base + page)
            .ok_or(MemError::UnknownKmap)?;
        let (_, kmap) = s.kmaps.remove(pos);
        Ok(s.world.kunmap_atomic_pfn_t(kmap)?)
    })
}

/// Number of live atomic mappings.
pub extern "C" fn bvmig_kmap_depth() -> usize {
    call("kmap_depth", 0, |s| Ok(s.world.kmap_depth()))
}

// ---------------------------------------------------- scatterlist and DMA

/// # Safety
/// `sgl` points to `nents` entries.
unsafe fn read_sgl(sgl: *const Scatterlist, nents: usize) -> Result<SgTable, FfiError> {
    if sgl.is_null() {
        return Err(FfiError::Null("struct scatterlist *"));
    }
    // SAFETY: per the contract above.
    let entries = unsafe { std::slice::from_raw_parts(sgl, nents) }.to_vec();
    Ok(SgTable::from_entries(entries)?)
}

/// # Safety
/// `sgl` points to at least as many entries as `table` has slots.
unsafe fn write_sgl(sgl: *mut Scatterlist, table: &SgTable) -> Result<(), FfiError> {
    for (idx, pos) in table.slots()?.into_iter().enumerate() {
        // SAFETY: per the contract above.
        unsafe { sgl.add(idx).write(*table.get(pos)?) };
    }
    Ok(())
}

/// `sg_set_pfn`: points a data entry at a pfn, keeping its end mark; a
/// chain entry is left alone and reported.
///
/// # Safety
/// `sg` points to a `struct scatterlist`.
pub unsafe extern "C" fn bvmig_sg_set_pfn(
    sg: *mut Scatterlist,
    pfn: PfnT,
    len: c_uint,
    offset: c_uint,
) {
    pure("sg_set", (), || {
        if sg.is_null() {
            return Err(FfiError::Null("struct scatterlist *"));
        }
        // SAFETY: per the contract of this function.
        let mut entry = unsafe { sg.read() };
        sg_set_pfn(&mut entry, pfn, len, offset)?;
        // SAFETY: per the contract of this function.
        unsafe { sg.write(entry) };
        with_state(|s| {
            s.events.push(Event::SgSet {
                phys: crate::scatterlist::sg_phys(&entry),
                offset,
                length: len,
            })
        });
        Ok(())
    })
}

/// `sg_page`: the entry's page, NULL for a page-less entry (no error) or a
/// chain entry (an error).
///
/// # Safety
/// `sg` points to a `struct scatterlist`.
pub unsafe extern "C" fn bvmig_sg_page(sg: *const Scatterlist) -> *mut CPage {
    pure("sg_page", std::ptr::null_mut(), || {
        if sg.is_null() {
            return Err(FfiError::Null("struct scatterlist *"));
        }
        // SAFETY: per the contract of this function.
        Ok(encode_page(sg_page(unsafe { &*sg })?))
    })
}

/// `blk_rq_map_sg` for the bios chained from `bio` by `bi_next`, into a
/// flat array of `nents` entries: the number of entries used, or -1.
///
/// # Safety
/// `limits` points to a `struct queue_limits`, `sgl` to `nents` entries.
pub unsafe extern "C" fn bvmig_blk_rq_map_sg(
    limits: *const QueueLimits,
    bio: *const CBio,
    sgl: *mut Scatterlist,
    nents: c_uint,
) -> c_int {
    call("blk_rq_map_sg", -1, |s| {
        if limits.is_null() {
            return Err(FfiError::Null("struct queue_limits *"));
        }
        // SAFETY: per the contract of this function.
        let limits = unsafe { limits.read() };
        let mut bios = Vec::new();
        let mut cur = bio;
        while !cur.is_null() {
            bios.push(s.read_bio(cur)?);
            // SAFETY: read_bio proved `cur` is a live bio.
            cur = unsafe { (*cur).bi_next };
            if bios.len() > s.bios.len() {
                return Err(BioError::Inconsistent("bi_next chain loops").into());
            }
        }
        let mut bios = bios.into_iter();
        let first = bios.next().ok_or(FfiError::Null("struct bio *"))?;
        let mut rq = Request::new(first);
        bios.for_each(|b| rq.append(b));
        // SAFETY: per the contract of this function.
        let mut table = unsafe { read_sgl(sgl, nents as usize) }?;
        let n = blk_rq_map_sg(&limits, &rq, &mut table)?;
        // SAFETY: the table has exactly `nents` slots.
        unsafe { write_sgl(sgl, &table) }?;
        let entries = table
            .positions()?
            .into_iter()
            .take(n)
            .map(|pos| {
                table.get(pos).map(|e| SgEntry {
                    phys: crate::scatterlist::sg_phys(e),
                    length: e.length,
                    last: crate::scatterlist::sg_is_last(e),
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        s.events.push(Event::MapSg { entries });
        Ok(n as c_int)
    })
}

/// `dma_map_sg`: maps the entries up to the end mark; the count, or 0.
///
/// # Safety
/// `sgl` points to `nents` entries.
pub unsafe extern "C" fn bvmig_dma_map_sg(
    dev: *const CDevice,
    sgl: *mut Scatterlist,
    nents: c_int,
    dir: c_int,
) -> c_int {
    call("dma_map_sg", 0, |s| {
        let id = s.device(dev)?;
        let dir = direction(dir)?;
        let nents = usize::try_from(nents).map_err(|_| SgError::Empty)?;
        // SAFETY: per the contract of this function.
        let mut table = unsafe { read_sgl(sgl, nents) }?;
        let n = dma_map_sg(&mut s.world, id, &mut table, dir)?;
        // SAFETY: the table has exactly `nents` slots.
        unsafe { write_sgl(sgl, &table) }?;
        let entries = table
            .positions()?
            .into_iter()
            .take(n)
            .map(|pos| {
                table.get(pos).map(|e| DmaEntry {
                    addr: e.dma_address,
                    len: e.dma_length,
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let device = s.world.device_name(id)?.to_owned();
        s.events.push(Event::DmaMapSg {
            device,
            dir,
            entries,
        });
        Ok(n as c_int)
    })
}

/// `dma_unmap_sg`.
///
/// # Safety
/// `sgl` points to `nents` entries.
pub unsafe extern "C" fn bvmig_dma_unmap_sg(
    dev: *const CDevice,
    sgl: *mut Scatterlist,
    nents: c_int,
    dir: c_int,
) {
    call("dma_unmap_sg", (), |s| {
        let id = s.device(dev)?;
        let dir = direction(dir)?;
        let nents = usize::try_from(nents).map_err(|_| SgError::Empty)?;
        // SAFETY: per the contract of this function.
        let table = unsafe { read_sgl(sgl, nents) }?;
        let device = s.world.device_name(id)?.to_owned();
        s.events.push(Event::DmaUnmapSg { device, nents });
        Ok(dma_unmap_sg(&mut s.world, id, &table, dir)?)
    })
}

/// `dma_map_pfn`: the bus address, or `DMA_MAPPING_ERROR`.
pub extern "C" fn bvmig_dma_map_pfn(
    dev: *const CDevice,
    pfn: PfnT,
    offset: c_ulong,
    size: usize,
    dir: c_int,
) -> u64 {
    call("dma_map", DMA_MAPPING_ERROR, |s| {
        let id = s.device(dev)?;
        let dir = direction(dir)?;
        let addr = dma_map_pfn(&mut s.world, id, pfn, offset, size as u64, dir)?;
        let device = s.world.device_name(id)?.to_owned();
        s.events.push(Event::DmaMap {
            device,
            phys: crate::pfn_t::pfn_t_to_phys(pfn) + offset,
            size: size as u64,
            dir,
            addr,
        });
        Ok(addr)
    })
}

/// `dma_unmap_pfn`.
pub extern "C" fn bvmig_dma_unmap_pfn(dev: *const CDevice, addr: u64, size: usize, dir: c_int) {
    call("dma_unmap", (), |s| {
        let id = s.device(dev)?;
        let device = s.world.device_name(id)?.to_owned();
        s.events.push(Event::DmaUnmap {
            device,
            addr,
            size: size as u64,
        });
        Ok(dma_unmap_pfn(
            &mut s.world,
            id,
            addr,
            size as u64,
            direction(dir)?,
        )?)
    })
}

// ------------------------------------------------------------ observation

/// `bvec_page()` in the `bv_pfn` and `bv_phys` layouts: the page of a
/// bvec (in the `bv_phys` layout the page that holds `bv_phys`), or NULL
/// for a page-less one. A page-less bvec is reported precisely (which
/// bvec, which pfn), since the caller is about to use NULL as a page.
///
/// # Safety
/// `bvec` points to a readable `struct bio_vec` of the world's layout.
pub unsafe extern "C" fn bvmig_bvec_page(bvec: *const RawBioVec) -> *mut CPage {
    call("bvec_page", std::ptr::null_mut(), |s| {
        if bvec.is_null() {
            return Err(FfiError::Null("struct bio_vec *"));
        }
        // SAFETY: per the contract of this function.
        let first = unsafe { bvec.read() }.first;
        let pfn = match s.layout {
            Layout::Pfn => PfnT::from_raw(first),
            Layout::Phys => s.phys_pfn_t(first)?,
            Layout::Page => return Err(FfiError::Layout(BVMIG_LAYOUT_PAGE)),
        };
        if pfn_t_has_page(pfn) {
            return Ok(page_ptr(crate::pfn_t::pfn_t_to_pfn(pfn)));
        }
        let at = s.bvec_ref(bvec);
        s.events.push(Event::PagelessBvecPage {
            bvec: at,
            pfn: crate::pfn_t::pfn_t_to_pfn(pfn),
            flags: pfn.flags(),
        });
        Err(FfiError::PagelessBvecPage(crate::pfn_t::pfn_t_to_pfn(pfn)))
    })
}

/// `kmap_local_page(bvec_page(bv)) + bvec_page_offset(bv)` of the `bv_phys`
/// layout, without a page: the address of physical byte `phys`, mapped
/// through the range registered for it (so page-less device memory maps as
/// `kmap_atomic_pfn_t()` maps it, and a use after its device unbound is
/// reported as stale). Released by `kunmap_local()` of any address in the
/// frame.
pub extern "C" fn bvmig_kmap_local_phys(phys: u64) -> *mut c_void {
    call("kmap", std::ptr::null_mut(), |s| {
        let pfn = s.phys_pfn_t(phys)?;
        let base = kmap(s, pfn)?;
        let offset = (phys % u64::from(PAGE_SIZE)) as usize;
        Ok(base.cast::<u8>().wrapping_add(offset).cast::<c_void>())
    })
}

/// `dma_map_phys()` (Linux 6.18): maps `size` bytes at physical address
/// `phys` for DMA by `dev`, within its DMA mask; unmapped with
/// `dma_unmap_phys()`, which is [`bvmig_dma_unmap_pfn`].
pub extern "C" fn bvmig_dma_map_phys(
    dev: *const CDevice,
    phys: u64,
    size: usize,
    dir: c_int,
) -> u64 {
    call("dma_map", DMA_MAPPING_ERROR, |s| {
        let id = s.device(dev)?;
        let dir = direction(dir)?;
        let pfn = s.phys_pfn_t(phys)?;
        let offset = phys % u64::from(PAGE_SIZE);
        let addr = dma_map_pfn(&mut s.world, id, pfn, offset, size as u64, dir)?;
        let device = s.world.device_name(id)?.to_owned();
        s.events.push(Event::DmaMap {
            device,
            phys,
            size: size as u64,
            dir,
            addr,
        });
        Ok(addr)
    })
}

/// Records a value the program computed (a checksum, a count), so that
/// runs can be compared on it.
///
/// # Safety
/// `name` is a NUL-terminated string.
pub unsafe extern "C" fn bvmig_report(name: *const c_char, value: u64) {
    call("report", (), |s| {
        // SAFETY: per the contract of this function.
        let name = unsafe { c_name(name, "report name") }?;
        s.events.push(Event::Report { name, value });
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind() -> c_int {
        bvmig_last_error_kind()
    }

    fn message() -> String {
        // SAFETY: the runtime returns a NUL-terminated string.
        unsafe { CStr::from_ptr(bvmig_last_error_message()) }
            .to_string_lossy()
            .into_owned()
    }

    #[test]
    fn layouts_match_the_c_headers() {
        assert_eq!(std::mem::size_of::<CBio>(), 64);
        assert_eq!(std::mem::size_of::<RawBioVec>(), 16);
        assert_eq!(std::mem::size_of::<BioVec>(), 16);
        assert_eq!(std::mem::size_of::<BvecIter>(), 24);
        assert_eq!(std::mem::size_of::<QueueLimits>(), 24);
    }

    #[test]
    fn page_pointers_round_trip_and_reject_junk() {
        assert_eq!(page_pfn(page_ptr(12345)).unwrap(), 12345);
        assert!(matches!(page_pfn(std::ptr::null()), Err(FfiError::Null(_))));
        let junk = std::ptr::without_provenance::<CPage>(VMEMMAP_START + 3);
        assert!(matches!(page_pfn(junk), Err(FfiError::BadPointer { .. })));
    }

    #[test]
    fn calls_without_world_fail_as_bugs() {
        assert!(bvmig_bio_alloc(1).is_null());
        assert_eq!(kind(), 3);
        assert!(message().contains("bvmig_world_create"), "{}", message());
    }

    #[test]
    fn bio_round_trips_through_both_layouts() {
        for layout in [BVMIG_LAYOUT_PAGE, BVMIG_LAYOUT_PFN] {
            assert_eq!(bvmig_world_create_layout(layout), 0);
            assert_eq!(bvmig_world_add_dram(0, 1 << 20), 0);
            let bio = bvmig_bio_alloc(4);
            let (p1, p2) = (bvmig_pfn_to_page(1), bvmig_pfn_to_page(2));
            assert_eq!(bvmig_bio_add_page(bio, p1, 4096, 0), 4096);
            assert_eq!(bvmig_bio_add_page(bio, p2, 4096, 0), 4096);
            // SAFETY: a live bio.
            let cbio = unsafe { &*bio };
            assert_eq!((cbio.bi_vcnt, cbio.bi_iter.bi_size), (1, 8192));
            // SAFETY: a live bio with one bvec.
            let first = unsafe { *cbio.bi_io_vec }.first;
            match layout {
                BVMIG_LAYOUT_PAGE => assert_eq!(first, p1 as usize as u64),
                _ => assert_eq!(first, 1),
            }
            // Corrupting the table from "C" is caught, not trusted.
            // SAFETY: a live bio with one bvec.
            unsafe { (*cbio.bi_io_vec).bv_offset = 5000 };
            assert_eq!(bvmig_bio_segments(bio), 0);
            assert_eq!(kind(), 3);
            bvmig_bio_put(bio);
            bvmig_bio_put(bio);
            assert!(message().contains("not a live struct bio"), "{}", message());
            bvmig_world_destroy();
        }
    }

    #[test]
    fn phys_layout_holds_an_address_and_no_offset() {
        assert_eq!(bvmig_world_create_layout(BVMIG_LAYOUT_PHYS), 0);
        assert_eq!(bvmig_world_add_dram(0, 1 << 20), 0);
        let bio = bvmig_bio_alloc(4);
        let (p1, p2) = (bvmig_pfn_to_page(1), bvmig_pfn_to_page(2));
        assert_eq!(bvmig_bio_add_page(bio, p1, 3584, 512), 3584);
        assert_eq!(bvmig_bio_add_page(bio, p2, 4096, 0), 4096);
        // SAFETY: a live bio.
        let cbio = unsafe { &*bio };
        assert_eq!((cbio.bi_vcnt, cbio.bi_iter.bi_size), (1, 7680));
        // SAFETY: a live bio with one bvec.
        let raw = unsafe { *cbio.bi_io_vec };
        assert_eq!(
            (raw.first, raw.bv_len, raw.bv_offset),
            (4096 + 512, 7680, 0)
        );
        // The padding where bv_offset was is never read.
        // SAFETY: a live bio with one bvec.
        unsafe { (*cbio.bi_io_vec).bv_offset = 5000 };
        assert_eq!(bvmig_bio_segments(bio), 2);
        assert_eq!(kind(), 0, "{}", message());
        // bvec_page() is the page that holds the address, here the first.
        // SAFETY: the bvec is live and of the world's layout.
        let page = unsafe { bvmig_bvec_page(cbio.bi_io_vec) };
        assert_eq!(page, p1);
        // An address no range holds is caught, not trusted.
        // SAFETY: a live bio with one bvec.
        unsafe { (*cbio.bi_io_vec).first = 1 << 40 };
        assert_eq!(bvmig_bio_segments(bio), 0);
        assert_eq!(kind(), 3);
        bvmig_bio_put(bio);
        bvmig_world_destroy();
    }

    #[test]
    fn phys_maps_pageless_memory_through_its_range_and_reports_stale_uses() {
        assert_eq!(bvmig_world_create_layout(BVMIG_LAYOUT_PHYS), 0);
        assert_eq!(bvmig_world_add_dram(0, 1 << 20), 0);
        let base = 4u64 << 30;
        // SAFETY: NUL-terminated names.
        let pmem = unsafe { bvmig_world_add_pmem(c"pmem0".as_ptr(), base, 1 << 20, 0) };
        assert!(!pmem.is_null(), "{}", message());
        // SAFETY: NUL-terminated names.
        let dev32 = unsafe { bvmig_world_add_dma_device(c"dev32".as_ptr(), u64::from(u32::MAX)) };
        // SAFETY: NUL-terminated names.
        let dev64 = unsafe { bvmig_world_add_dma_device(c"dev64".as_ptr(), u64::MAX) };

        // kmap of a page-less address, at its offset in the frame.
        let at = base + 0x1234;
        let addr = bvmig_kmap_local_phys(at);
        assert!(!addr.is_null(), "{}", message());
        let frame = bvmig_kmap_local_phys(base + 0x1000);
        assert_eq!(addr as usize - frame as usize, 0x234);
        assert_eq!(bvmig_kmap_depth(), 2);
        bvmig_kunmap_atomic(frame);
        bvmig_kunmap_atomic(addr);
        assert_eq!(bvmig_kmap_depth(), 0);

        // dma_map_phys within the mask, and beyond it.
        assert_eq!(bvmig_dma_map_phys(dev64, at, 512, 1), at);
        bvmig_dma_unmap_pfn(dev64, at, 512, 1);
        assert_eq!(kind(), 0, "{}", message());
        assert_eq!(bvmig_dma_map_phys(dev32, at, 512, 1), DMA_MAPPING_ERROR);
        assert!(message().contains("mask"), "{}", message());

        // After the device unbinds, a use of its memory is stale.
        assert_eq!(bvmig_device_unbind(pmem), 0);
        let before = bvmig_stale_uses();
        let addr = bvmig_kmap_local_phys(at);
        if !addr.is_null() {
            bvmig_kunmap_atomic(addr);
        }
        assert_eq!(bvmig_stale_uses(), before + 1);
        bvmig_world_destroy();
    }
}
