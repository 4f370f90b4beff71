//! The table through which C reaches the runtime: `struct bvmig_ops` of
//! `fixtures/include/bvmig/runtime.h`, one function pointer per C ABI
//! function of [`crate::ffi`].
//!
//! C code under test is compiled into a shared object that defines a
//! pointer to this table (`bvmig_rt`); the host that loads it stores
//! [`&BVMIG_OPS`](BVMIG_OPS) there (see [`crate::host`]). The process that
//! loads the object therefore provides the runtime itself: nothing is
//! linked by name, no static library has to exist, and two objects loaded
//! side by side cannot bind to each other's symbols.
//!
//! **Invariant:** this struct and the C one have the same members in the
//! same order. [`BVMIG_OPS_VERSION`] changes whenever a member is added,
//! removed or changes type; the loader checks the version and the size the
//! C side saw, and a test compares every member's offset.

use std::ffi::{c_char, c_int, c_uint, c_ulong, c_void};

use crate::bvec::BvecIter;
use crate::ffi::{self, CBio, CDevice, CPage, RawBioVec};
use crate::pfn_t::PfnT;
use crate::request::QueueLimits;
use crate::scatterlist::Scatterlist;

/// Version of the table's layout (`BVMIG_OPS_VERSION` in C).
pub const BVMIG_OPS_VERSION: u32 = 2;

/// `struct bvmig_ops`: the runtime's C ABI as function pointers. See the
/// functions of [`crate::ffi`] of the same names (with a `bvmig_` prefix)
/// for what each does.
#[repr(C)]
#[allow(missing_docs)]
pub struct BvmigOps {
    /// [`BVMIG_OPS_VERSION`].
    pub version: u32,
    /// `size_of::<BvmigOps>()`.
    pub size: u32,

    // errors
    pub last_error_kind: extern "C" fn() -> c_int,
    pub last_error_message: extern "C" fn() -> *const c_char,
    pub clear_error: extern "C" fn(),

    // world
    pub abi_check: extern "C" fn(usize, usize, usize, usize, usize) -> c_int,
    pub world_create_layout: extern "C" fn(c_int) -> c_int,
    pub world_destroy: extern "C" fn(),
    pub world_add_dram: extern "C" fn(u64, u64) -> c_int,
    pub world_add_pmem: unsafe extern "C" fn(*const c_char, u64, u64, c_int) -> *mut CDevice,
    pub world_add_dma_device: unsafe extern "C" fn(*const c_char, u64) -> *mut CDevice,
    pub device_unbind: extern "C" fn(*const CDevice) -> c_int,
    pub device_bind: extern "C" fn(*const CDevice) -> c_int,
    pub device_pfn_t: unsafe extern "C" fn(*const CDevice, u64, *mut PfnT) -> c_int,
    pub stale_uses: extern "C" fn() -> usize,
    pub struct_page_bytes: extern "C" fn() -> u64,
    pub pfn_model_bytes: extern "C" fn() -> u64,
    pub stored_bytes: extern "C" fn() -> u64,

    // pages
    pub alloc_page: extern "C" fn() -> *mut CPage,
    pub free_page: extern "C" fn(*const CPage),
    pub pfn_to_page: extern "C" fn(c_ulong) -> *mut CPage,
    pub page_to_pfn: extern "C" fn(*const CPage) -> c_ulong,
    pub pfn_t_has_page: extern "C" fn(PfnT) -> bool,
    pub pfn_t_to_page: extern "C" fn(PfnT) -> *mut CPage,

    // bios
    pub bio_alloc: extern "C" fn(c_uint) -> *mut CBio,
    pub bio_put: extern "C" fn(*mut CBio),
    pub bio_add_page: extern "C" fn(*mut CBio, *const CPage, c_uint, c_uint) -> c_int,
    pub bio_add_pfn: extern "C" fn(*mut CBio, PfnT, c_uint, c_uint) -> c_int,
    pub bio_advance: extern "C" fn(*mut CBio, c_uint),
    pub bio_split: extern "C" fn(*mut CBio, c_int) -> *mut CBio,
    pub bio_iter_segment:
        unsafe extern "C" fn(*const CBio, *const BvecIter, *mut RawBioVec, c_int) -> bool,
    pub bio_advance_iter: unsafe extern "C" fn(*const CBio, *mut BvecIter, c_uint) -> bool,
    pub bio_segments: extern "C" fn(*const CBio) -> c_uint,
    pub bvec_page: unsafe extern "C" fn(*const RawBioVec) -> *mut CPage,

    // kmap
    pub kmap_atomic_pfn_t: extern "C" fn(PfnT) -> *mut c_void,
    pub kmap_atomic: extern "C" fn(*const CPage) -> *mut c_void,
    pub kunmap_atomic: extern "C" fn(*const c_void),
    pub kmap_depth: extern "C" fn() -> usize,

    // scatterlists and DMA
    pub sg_set_pfn: unsafe extern "C" fn(*mut Scatterlist, PfnT, c_uint, c_uint),
    pub sg_page: unsafe extern "C" fn(*const Scatterlist) -> *mut CPage,
    pub blk_rq_map_sg:
        unsafe extern "C" fn(*const QueueLimits, *const CBio, *mut Scatterlist, c_uint) -> c_int,
    pub dma_map_sg: unsafe extern "C" fn(*const CDevice, *mut Scatterlist, c_int, c_int) -> c_int,
    pub dma_unmap_sg: unsafe extern "C" fn(*const CDevice, *mut Scatterlist, c_int, c_int),
    pub dma_map_pfn: extern "C" fn(*const CDevice, PfnT, c_ulong, usize, c_int) -> u64,
    pub dma_unmap_pfn: extern "C" fn(*const CDevice, u64, usize, c_int),

    // observation
    pub report: unsafe extern "C" fn(*const c_char, u64),

    // the bv_phys layout
    pub kmap_local_phys: extern "C" fn(u64) -> *mut c_void,
    pub dma_map_phys: extern "C" fn(*const CDevice, u64, usize, c_int) -> u64,
}

/// The runtime's table, the one every loaded C object is given.
pub static BVMIG_OPS: BvmigOps = BvmigOps {
    version: BVMIG_OPS_VERSION,
    size: std::mem::size_of::<BvmigOps>() as u32,
    last_error_kind: ffi::bvmig_last_error_kind,
    last_error_message: ffi::bvmig_last_error_message,
    clear_error: ffi::bvmig_clear_error,
    abi_check: ffi::bvmig_abi_check,
    world_create_layout: ffi::bvmig_world_create_layout,
    world_destroy: ffi::bvmig_world_destroy,
    world_add_dram: ffi::bvmig_world_add_dram,
    world_add_pmem: ffi::bvmig_world_add_pmem,
    world_add_dma_device: ffi::bvmig_world_add_dma_device,
    device_unbind: ffi::bvmig_device_unbind,
    device_bind: ffi::bvmig_device_bind,
    device_pfn_t: ffi::bvmig_device_pfn_t,
    stale_uses: ffi::bvmig_stale_uses,
    struct_page_bytes: ffi::bvmig_struct_page_bytes,
    pfn_model_bytes: ffi::bvmig_pfn_model_bytes,
    stored_bytes: ffi::bvmig_stored_bytes,
    alloc_page: ffi::bvmig_alloc_page,
    free_page: ffi::bvmig_free_page,
    pfn_to_page: ffi::bvmig_pfn_to_page,
    page_to_pfn: ffi::bvmig_page_to_pfn,
    pfn_t_has_page: ffi::bvmig_pfn_t_has_page,
    pfn_t_to_page: ffi::bvmig_pfn_t_to_page,
    bio_alloc: ffi::bvmig_bio_alloc,
    bio_put: ffi::bvmig_bio_put,
    bio_add_page: ffi::bvmig_bio_add_page,
    bio_add_pfn: ffi::bvmig_bio_add_pfn,
    bio_advance: ffi::bvmig_bio_advance,
    bio_split: ffi::bvmig_bio_split,
    bio_iter_segment: ffi::bvmig_bio_iter_segment,
    bio_advance_iter: ffi::bvmig_bio_advance_iter,
    bio_segments: ffi::bvmig_bio_segments,
    bvec_page: ffi::bvmig_bvec_page,
    kmap_atomic_pfn_t: ffi::bvmig_kmap_atomic_pfn_t,
    kmap_atomic: ffi::bvmig_kmap_atomic,
    kunmap_atomic: ffi::bvmig_kunmap_atomic,
    kmap_depth: ffi::bvmig_kmap_depth,
    sg_set_pfn: ffi::bvmig_sg_set_pfn,
    sg_page: ffi::bvmig_sg_page,
    blk_rq_map_sg: ffi::bvmig_blk_rq_map_sg,
    dma_map_sg: ffi::bvmig_dma_map_sg,
    dma_unmap_sg: ffi::bvmig_dma_unmap_sg,
    dma_map_pfn: ffi::bvmig_dma_map_pfn,
    dma_unmap_pfn: ffi::bvmig_dma_unmap_pfn,
    report: ffi::bvmig_report,
    kmap_local_phys: ffi::bvmig_kmap_local_phys,
    dma_map_phys: ffi::bvmig_dma_map_phys,
};

/// Every member of [`BvmigOps`] with its offset, in declaration order, for
/// the test that compares them with the C header's `offsetof`s.
pub fn member_offsets() -> Vec<(&'static str, usize)> {
    macro_rules! offsets {
        ($($m:ident),* $(,)?) => {
            vec![$((stringify!($m), std::mem::offset_of!(BvmigOps, $m))),*]
        };
    }
    offsets!(
        version,
        size,
        last_error_kind,
        last_error_message,
        clear_error,
        abi_check,
        world_create_layout,
        world_destroy,
        world_add_dram,
        world_add_pmem,
        world_add_dma_device,
        device_unbind,
        device_bind,
        device_pfn_t,
        stale_uses,
        struct_page_bytes,
        pfn_model_bytes,
        stored_bytes,
        alloc_page,
        free_page,
        pfn_to_page,
        page_to_pfn,
        pfn_t_has_page,
        pfn_t_to_page,
        bio_alloc,
        bio_put,
        bio_add_page,
        bio_add_pfn,
        bio_advance,
        bio_split,
        bio_iter_segment,
        bio_advance_iter,
        bio_segments,
        bvec_page,
        kmap_atomic_pfn_t,
        kmap_atomic,
        kunmap_atomic,
        kmap_depth,
        sg_set_pfn,
        sg_page,
        blk_rq_map_sg,
        dma_map_sg,
        dma_unmap_sg,
        dma_map_pfn,
        dma_unmap_pfn,
        report,
        kmap_local_phys,
        dma_map_phys,
    )
}
