//! Reference model of the Linux bio layer after `bv_page` became a pfn.
//!
//! This crate is the runtime of the pfn-based block layer that Dan Williams'
//! 2015 series ("evacuate struct page from the block layer, introduce
//! `__pfn_t`") builds: `struct bio_vec` names its memory by a [`pfn_t::PfnT`]
//! instead of a `struct page *`, so that persistent memory without a memmap
//! can be the source or target of I/O. Kernel-style C fixtures are compiled
//! into shared objects that reach it through a table of function pointers
//! ([`ops`]); the process that loads them ([`host`]) provides the runtime.
//!
//! # Code map
//! - [`severity`]: how bad a misuse is (the kernel's BUG / WARN / error).
//! - [`pfn_t`]: the `pfn_t` type and its flags, as in Linux 4.5.
//! - [`memory`]: a machine's physical memory, devices, kmap and memmap cost.
//! - [`bvec`]: `bio_vec`, `bvec_iter` and single- and multi-page segments.
//! - [`bio`]: building, advancing, splitting and iterating bios.
//! - [`request`]: queue limits, segment merging and `blk_rq_map_sg`.
//! - [`scatterlist`]: the page-less scatterlist with chain and end marks.
//! - [`dma`]: direct-mapped DMA with a mask, for pfns and scatterlists.
//! - [`bounce`]: bounce buffering of frames above a queue's limit.
//! - [`page_model`]: the pre-migration, page-based reference model.
//! - [`ffi`]: the C ABI, one `extern "C"` function per kernel call.
//! - [`ops`]: the table of those functions that loaded C code calls through.
//! - [`host`]: compiling C with the system compiler, loading it, setting up
//!   a world for it from Rust and observing what it did.
//! - [`observe`]: what a C program did, in terms two layouts share.
//!
//! **Architecture invariant:** this crate knows nothing about the rewriter;
//! it models the kernel after the rewrite, and the page-based layer before
//! it only as a reference to test against.
//!
//! **Architecture invariant:** misuse never panics. Every error value says,
//! through [`severity::Misuse`], whether the kernel would have BUGged,
//! WARNed or failed.

#![deny(missing_docs)]
#![deny(unsafe_op_in_unsafe_fn)]

pub mod bio;
pub mod bounce;
pub mod bvec;
pub mod dma;
pub mod ffi;
pub mod host;
pub mod memory;
pub mod observe;
pub mod ops;
pub mod page_model;
pub mod pfn_t;
pub mod request;
pub mod scatterlist;
pub mod severity;

/// Bits of a page offset.
pub const PAGE_SHIFT: u32 = 12;
/// Bytes in a page (4 KiB).
pub const PAGE_SIZE: u32 = 1 << PAGE_SHIFT;
/// Bits of a sector offset (512-byte sectors).
pub const SECTOR_SHIFT: u32 = 9;
