//! Running C against the runtime: compiling a C file into a shared object
//! with the system C compiler, loading it and handing it the runtime's
//! table ([`crate::ops`]), and, for harnesses, setting up a world from Rust
//! and observing what the C code did to it.
//!
//! The process that loads the object provides the runtime: the object
//! defines `const struct bvmig_ops *bvmig_rt` (in `<bvmig/fixture.h>`), the
//! loader stores [`BVMIG_OPS`] there, and every kernel call in the headers
//! goes through it. Nothing is linked by name, so no static library has to
//! exist and objects loaded side by side stay apart.
//!
//! Before the table is stored, the object's `bvmig_abi` (what the C headers
//! saw: the table's version and size, the layout, every shared struct's
//! size) is checked against the runtime, so a stale or mismatched build
//! fails with a message instead of corrupting memory.
//!
//! A world lives on one thread (see [`crate::ffi`]), so a [`Session`] and
//! the calls into C it makes stay on the thread that created them.
//!
//! C code under test may crash or loop forever (a wrong rewrite can do
//! either), so [`run_isolated`] runs a session in a forked child process
//! with a time limit, and reports a crash or a timeout as an outcome rather
//! than taking the harness down with it.

use std::collections::BTreeMap;
use std::ffi::{c_char, c_int, c_uint, c_ushort, CString, OsString};
use std::io::{self, Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use thiserror::Error;

use crate::bio::{bio_add_pfn, bio_alloc, Bio, BIO_MAX_PAGES};
use crate::bvec::BvecIter;
use crate::ffi::{self, CBio, CDevice, FfiError, Layout, RawBioVec};
use crate::memory::{DevMemmap, DeviceId};
use crate::observe::{BioId, DecodeError, Observation};
use crate::ops::{BvmigOps, BVMIG_OPS, BVMIG_OPS_VERSION};
use crate::pfn_t::{pfn_t_to_pfn, PfnT};
use crate::request::QueueLimits;
use crate::scatterlist::Scatterlist;
use crate::PAGE_SIZE;

const MIB: u64 = 1 << 20;
const GIB: u64 = 1 << 30;

/// Where the DRAM that `alloc_page` hands out lives: `0..POOL_BYTES`.
pub const POOL_BYTES: u64 = 16 * MIB;
/// Where a [`Setup`]'s `dram` region starts, right after the pool.
pub const DRAM_BASE: u64 = POOL_BYTES;
/// Where the first persistent-memory device starts; each next one starts
/// at the next GiB boundary after the previous one.
pub const PMEM_BASE: u64 = 4 * GIB;
/// Most bios, and most devices, a [`Setup`] may have (`BVMIG_ENV_MAX`).
pub const ENV_MAX: usize = 8;

/// Errors of compiling, loading and running C.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum HostError {
    /// The C compiler is not installed.
    #[error("C compiler '{cc}' not found: install one (apt-get install gcc) or set CC to it")]
    CcMissing {
        /// The command tried.
        cc: String,
    },
    /// The C compiler could not be started.
    #[error("cannot run C compiler '{cc}': {err}")]
    CcSpawn {
        /// The command tried.
        cc: String,
        /// Why.
        err: io::Error,
    },
    /// The C compiler rejected the source.
    #[error("{}: cc failed ({} layout):\n{stderr}", source_file.display(), layout.name())]
    Compile {
        /// The C file.
        source_file: PathBuf,
        /// The layout it was compiled for.
        layout: Layout,
        /// What the compiler said.
        stderr: String,
    },
    /// The dynamic loader refused the object.
    #[error("{}: cannot load: {err}", path.display())]
    Load {
        /// The shared object.
        path: PathBuf,
        /// The loader's message.
        err: String,
    },
    /// A symbol the host needs is missing from the object.
    #[error("{}: no symbol '{symbol}': {hint}", path.display())]
    MissingSymbol {
        /// The shared object.
        path: PathBuf,
        /// The symbol.
        symbol: String,
        /// What to do about it.
        hint: &'static str,
    },
    /// The object was compiled against other headers than the runtime's.
    #[error("{}: compiled against other headers: {what} is {c} in C, {rust} in the runtime (rebuild it against fixtures/include)", path.display())]
    Abi {
        /// The shared object.
        path: PathBuf,
        /// What differs.
        what: &'static str,
        /// The C side's value.
        c: u64,
        /// The runtime's value.
        rust: u64,
    },
    /// A world setup the runtime refused.
    #[error("world setup: {what}: {err}")]
    Setup {
        /// What was being set up.
        what: String,
        /// Why it failed.
        err: FfiError,
    },
    /// A setup that names something it does not declare.
    #[error("world setup: {0}")]
    Spec(String),
    /// The thread already has a world.
    #[error("this thread already has a runtime world")]
    Busy,
    /// The child process of an isolated run could not be started or
    /// waited for.
    #[error("isolated run: {0}")]
    Process(io::Error),
    /// The child process of an isolated run failed before the C code ran.
    #[error("isolated run: {0}")]
    Child(String),
    /// The child's observation did not arrive intact.
    #[error("isolated run: {0}")]
    Decode(#[from] DecodeError),
}

/// The system C compiler: `$CC`, or `cc`.
#[derive(Debug, Clone)]
pub struct Compiler {
    cc: OsString,
}

impl Default for Compiler {
    fn default() -> Compiler {
        Compiler::from_env()
    }
}

impl Compiler {
    /// `$CC` if set and not empty, else `cc`.
    pub fn from_env() -> Compiler {
        let cc = std::env::var_os("CC")
            .filter(|cc| !cc.is_empty())
            .unwrap_or_else(|| OsString::from("cc"));
        Compiler { cc }
    }

    /// A given compiler command.
    pub fn new(cc: impl Into<OsString>) -> Compiler {
        Compiler { cc: cc.into() }
    }

    /// Compiles `source` into the shared object `out`, for `layout`,
    /// against the headers in `include`, with `-Wall -Werror`: a warning is
    /// a failure, and so is a call to a function nothing defines.
    pub fn shared_object(
        &self,
        source: &Path,
        include: &Path,
        layout: Layout,
        out: &Path,
    ) -> Result<(), HostError> {
        let mut cmd = Command::new(&self.cc);
        cmd.args(["-std=gnu11", "-Wall", "-Werror", "-O1", "-g"])
            .args(["-fPIC", "-shared", "-fvisibility=hidden", "-Wl,-z,defs"])
            .arg("-I")
            .arg(include);
        match layout {
            Layout::Page => {}
            Layout::Pfn => {
                cmd.arg("-DBVMIG_LAYOUT_PFN");
            }
            Layout::Phys => {
                cmd.arg("-DBVMIG_LAYOUT_PHYS");
            }
        }
        cmd.arg(source).arg("-o").arg(out);
        let cc = self.cc.to_string_lossy().into_owned();
        let output = cmd.output().map_err(|err| match err.kind() {
            io::ErrorKind::NotFound => HostError::CcMissing { cc: cc.clone() },
            _ => HostError::CcSpawn {
                cc: cc.clone(),
                err,
            },
        })?;
        if !output.status.success() {
            return Err(HostError::Compile {
                source_file: source.to_owned(),
                layout,
                stderr: String::from_utf8_lossy(&output.stderr)
                    .trim_end()
                    .to_owned(),
            });
        }
        Ok(())
    }
}

/// `struct bvmig_abi` of `<bvmig/fixture.h>`: what the C side saw.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
struct CAbi {
    ops_version: u32,
    ops_size: u32,
    layout: u32,
    bio: u32,
    bio_vec: u32,
    bvec_iter: u32,
    scatterlist: u32,
    queue_limits: u32,
    request: u32,
    env: u32,
}

/// `struct request` of `<linux/blkdev.h>`. The queue it points to is just
/// its limits (`struct request_queue { struct queue_limits limits; }`).
#[repr(C)]
#[derive(Debug)]
pub struct CRequest {
    /// The queue.
    pub q: *mut QueueLimits,
    /// The first bio; the others follow by `bi_next`.
    pub bio: *mut CBio,
    /// Entries of the scatterlist the driver maps the request into.
    pub nr_phys_segments: c_ushort,
}

/// `struct bvmig_env` of `<bvmig/fixture.h>`: what a fixture is handed.
#[repr(C)]
#[derive(Debug)]
pub struct CEnv {
    /// Bios in `bio`.
    pub nr_bios: c_uint,
    /// Devices in `dev`.
    pub nr_devs: c_uint,
    /// The setup's bios, in order.
    pub bio: [*mut CBio; ENV_MAX],
    /// Their names.
    pub bio_name: [*const c_char; ENV_MAX],
    /// The setup's DMA masters, in order.
    pub dev: [*mut CDevice; ENV_MAX],
    /// Their names.
    pub dev_name: [*const c_char; ENV_MAX],
    /// The request queue.
    pub q: *mut QueueLimits,
    /// The request, or NULL if the setup has none.
    pub rq: *mut CRequest,
}

fn expected_abi(layout: Layout) -> CAbi {
    use std::mem::size_of;
    CAbi {
        ops_version: BVMIG_OPS_VERSION,
        ops_size: size_of::<BvmigOps>() as u32,
        layout: layout.as_c() as u32,
        bio: size_of::<CBio>() as u32,
        bio_vec: size_of::<RawBioVec>() as u32,
        bvec_iter: size_of::<BvecIter>() as u32,
        scatterlist: size_of::<Scatterlist>() as u32,
        queue_limits: size_of::<QueueLimits>() as u32,
        request: size_of::<CRequest>() as u32,
        env: size_of::<CEnv>() as u32,
    }
}

/// A loaded shared object whose `bvmig_rt` points at the runtime's table.
#[derive(Debug)]
pub struct Object {
    lib: libloading::Library,
    path: PathBuf,
}

impl Object {
    /// Loads `path`, checks that it was compiled for `layout` against the
    /// runtime's headers, and hands it the runtime's table.
    pub fn load(path: &Path, layout: Layout) -> Result<Object, HostError> {
        // RTLD_NOW: an unresolved symbol fails here, not mid-run.
        // RTLD_LOCAL: its symbols stay out of the process's global scope.
        let flags = libloading::os::unix::RTLD_NOW | libloading::os::unix::RTLD_LOCAL;
        // SAFETY: loading runs the object's initialisers; fixtures are
        // plain C built by `Compiler::shared_object` and have none.
        let lib =
            unsafe { libloading::os::unix::Library::open(Some(path), flags) }.map_err(|err| {
                HostError::Load {
                    path: path.to_owned(),
                    err: err.to_string(),
                }
            })?;
        let obj = Object {
            lib: lib.into(),
            path: path.to_owned(),
        };
        let hint = "include <bvmig/fixture.h> in the C file";
        // SAFETY: `bvmig_abi` is the `const struct bvmig_abi` of
        // <bvmig/fixture.h>, which `CAbi` mirrors field for field.
        let abi = unsafe { obj.symbol::<*const CAbi>("bvmig_abi", hint)?.read() };
        let want = expected_abi(layout);
        let checks = [
            ("BVMIG_OPS_VERSION", abi.ops_version, want.ops_version),
            ("sizeof(struct bvmig_ops)", abi.ops_size, want.ops_size),
            ("the bio_vec layout", abi.layout, want.layout),
            ("sizeof(struct bio)", abi.bio, want.bio),
            ("sizeof(struct bio_vec)", abi.bio_vec, want.bio_vec),
            ("sizeof(struct bvec_iter)", abi.bvec_iter, want.bvec_iter),
            (
                "sizeof(struct scatterlist)",
                abi.scatterlist,
                want.scatterlist,
            ),
            (
                "sizeof(struct queue_limits)",
                abi.queue_limits,
                want.queue_limits,
            ),
            ("sizeof(struct request)", abi.request, want.request),
            ("sizeof(struct bvmig_env)", abi.env, want.env),
        ];
        for (what, c, rust) in checks {
            if c != rust {
                return Err(HostError::Abi {
                    path: path.to_owned(),
                    what,
                    c: c.into(),
                    rust: rust.into(),
                });
            }
        }
        // SAFETY: `bvmig_rt` is the `const struct bvmig_ops *` of
        // <bvmig/fixture.h>; the table it is given is a static.
        unsafe {
            let slot = obj.symbol::<*mut *const BvmigOps>("bvmig_rt", hint)?;
            slot.write(&BVMIG_OPS);
        }
        Ok(obj)
    }

    /// The path it was loaded from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The address of symbol `name`.
    ///
    /// # Safety
    /// `T` must be the type of what the symbol names (a pointer to the
    /// data for a variable, a function pointer for a function).
    pub unsafe fn symbol<T: Copy>(&self, name: &str, hint: &'static str) -> Result<T, HostError> {
        // SAFETY: per the contract of this function.
        let sym = unsafe { self.lib.get::<T>(name.as_bytes()) };
        sym.map(|s| *s).map_err(|_| HostError::MissingSymbol {
            path: self.path.clone(),
            symbol: name.to_owned(),
            hint,
        })
    }
}

/// A persistent-memory device of a [`Setup`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PmemSpec {
    /// Its name, which bio segments use as their region.
    pub name: String,
    /// Its capacity (a multiple of 4 KiB).
    pub bytes: u64,
    /// Where its `struct page` array lives, if anywhere.
    pub memmap: DevMemmap,
}

/// A DMA master of a [`Setup`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DmaSpec {
    /// Its name (`bvmig_env_dev(env, name)`).
    pub name: String,
    /// Its DMA mask.
    pub mask: u64,
}

/// One segment added to a bio of a [`Setup`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SegSpec {
    /// `dram` or the name of a pmem device.
    pub region: String,
    /// Page index in the region (a data page for a device).
    pub page: u64,
    /// Offset into the page.
    pub offset: u32,
    /// Bytes.
    pub len: u32,
}

/// A bio of a [`Setup`], built by adding its segments in order (so
/// contiguous ones merge, as `bio_add_page` merges them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BioSpec {
    /// Its name (`bvmig_env_bio(env, name)`).
    pub name: String,
    /// Its segments.
    pub segs: Vec<SegSpec>,
    /// `bi_iter.bi_sector`.
    pub sector: u64,
    /// `bi_rw`.
    pub rw: u64,
    /// `bi_max_vecs`; the number of segments if `None`.
    pub max_vecs: Option<usize>,
}

/// A request of a [`Setup`]: its bios, chained by `bi_next`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestSpec {
    /// Names of its bios, in order.
    pub bios: Vec<String>,
    /// `nr_phys_segments`: the size of the scatterlist the fixture maps
    /// the request into.
    pub nr_phys_segments: u16,
}

/// A world for C code to run against: memory, devices, bios and a request.
///
/// Placement is fixed so that every run of a setup has the same physical
/// addresses: `alloc_page` memory at `0..16 MiB`, the `dram` region at
/// 16 MiB, the pmem devices from 4 GiB on, each starting on a GiB boundary.
/// Every frame a bio names is filled with [`pattern`] bytes first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Setup {
    /// Size of the `dram` region.
    pub dram_bytes: u64,
    /// Persistent-memory devices.
    pub pmem: Vec<PmemSpec>,
    /// DMA masters.
    pub dma: Vec<DmaSpec>,
    /// Bios.
    pub bios: Vec<BioSpec>,
    /// The request, if any.
    pub request: Option<RequestSpec>,
    /// The queue's limits.
    pub limits: QueueLimits,
}

impl Default for Setup {
    fn default() -> Setup {
        Setup {
            dram_bytes: 16 * MIB,
            pmem: Vec::new(),
            dma: Vec::new(),
            bios: Vec::new(),
            request: None,
            limits: QueueLimits::default(),
        }
    }
}

impl Setup {
    /// Whether any bio names memory without a `struct page`.
    pub fn uses_pageless_memory(&self) -> bool {
        self.bios.iter().flat_map(|b| &b.segs).any(|seg| {
            self.pmem
                .iter()
                .any(|p| p.name == seg.region && p.memmap == DevMemmap::None)
        })
    }

    /// Where `phys` lies, in the setup's terms: `dram page 3 + 0x10`,
    /// `pmem0 page 7 + 0x0` (a device page index, as bio segments count
    /// them), `alloc_page memory page 5 + 0x0`.
    pub fn describe_phys(&self, phys: u64) -> String {
        let page = u64::from(PAGE_SIZE);
        let at = |name: &str, base: u64| {
            let off = phys - base;
            format!("{name} page {} + {:#x}", off / page, off % page)
        };
        if phys < POOL_BYTES {
            return at("alloc_page memory", 0);
        }
        if phys < DRAM_BASE + self.dram_bytes {
            return at("dram", DRAM_BASE);
        }
        for (spec, base) in self.pmem.iter().zip(self.pmem_bases()) {
            if phys >= base && phys < base + spec.bytes {
                let reserve = match spec.memmap {
                    DevMemmap::None => 0,
                    DevMemmap::OnDevice => {
                        (spec.bytes / page * crate::memory::STRUCT_PAGE_SIZE).div_ceil(page)
                    }
                };
                if phys >= base + reserve * page {
                    return at(&spec.name, base + reserve * page);
                }
                return at(&format!("{} (its memmap)", spec.name), base);
            }
        }
        format!("phys {phys:#x}, outside every region")
    }

    /// Physical start of each pmem device.
    fn pmem_bases(&self) -> Vec<u64> {
        let mut next = PMEM_BASE;
        self.pmem
            .iter()
            .map(|p| {
                let base = next;
                next = (base + p.bytes).next_multiple_of(GIB);
                base
            })
            .collect()
    }
}

/// How a [`Session`] realises the setup's memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Memory {
    /// As described.
    AsDescribed,
    /// Every page-less pmem device becomes DRAM at the same physical
    /// addresses (covered by the memmap, no device): for code compiled in
    /// the `bv_page` layout, which cannot name page-less memory at all.
    PagelessAsDram,
}

/// The byte a [`Setup`] stores at physical address `phys` before a run.
pub fn pattern(phys: u64) -> u8 {
    (phys.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 56) as u8
}

/// The thread's world, set up from a [`Setup`] for C code of one layout.
/// Dropping it destroys the world.
#[derive(Debug)]
pub struct Session {
    env: Box<CEnv>,
    queue: Box<QueueLimits>,
    request: Option<Box<CRequest>>,
    // The C strings `env` points to.
    _names: Vec<CString>,
    bio_names: BTreeMap<BioId, String>,
}

impl Drop for Session {
    fn drop(&mut self) {
        ffi::bvmig_world_destroy();
    }
}

fn setup_err(what: impl Into<String>) -> impl FnOnce(FfiError) -> HostError {
    let what = what.into();
    move |err| HostError::Setup { what, err }
}

impl Session {
    /// Creates the thread's world for C compiled with `layout`, with the
    /// memory, devices, bios and request of `setup`.
    pub fn new(layout: Layout, setup: &Setup, memory: Memory) -> Result<Session, HostError> {
        if ffi::bvmig_world_create_layout(layout.as_c()) != 0 {
            return Err(HostError::Busy);
        }
        // From here on the world exists; dropping `session` destroys it.
        let mut session = Session {
            env: Box::new(CEnv {
                nr_bios: 0,
                nr_devs: 0,
                bio: [std::ptr::null_mut(); ENV_MAX],
                bio_name: [std::ptr::null(); ENV_MAX],
                dev: [std::ptr::null_mut(); ENV_MAX],
                dev_name: [std::ptr::null(); ENV_MAX],
                q: std::ptr::null_mut(),
                rq: std::ptr::null_mut(),
            }),
            queue: Box::new(setup.limits),
            request: None,
            _names: Vec::new(),
            bio_names: BTreeMap::new(),
        };
        ffi::with_state(|s| session.build(s, setup, memory)).ok_or(HostError::Busy)??;
        Ok(session)
    }

    fn build(
        &mut self,
        s: &mut ffi::FfiState,
        setup: &Setup,
        memory: Memory,
    ) -> Result<(), HostError> {
        if setup.bios.len() > ENV_MAX || setup.dma.len() > ENV_MAX {
            return Err(HostError::Spec(format!(
                "at most {ENV_MAX} bios and {ENV_MAX} DMA masters"
            )));
        }
        let world = &mut s.world;
        world
            .add_dram(0, POOL_BYTES)
            .and_then(|()| world.add_dram(DRAM_BASE, setup.dram_bytes))
            .map_err(|e| setup_err("dram")(e.into()))?;
        // Each region: its first pfn and the flags its pfns carry; a
        // device's pfns come from the device so its memmap reserve is
        // skipped.
        let mut devices: BTreeMap<&str, Option<DeviceId>> = BTreeMap::new();
        let mut bases: BTreeMap<&str, u64> = BTreeMap::new();
        bases.insert("dram", DRAM_BASE);
        for (spec, base) in setup.pmem.iter().zip(setup.pmem_bases()) {
            let as_dram = memory == Memory::PagelessAsDram && spec.memmap == DevMemmap::None;
            if as_dram {
                world
                    .add_dram(base, spec.bytes)
                    .map_err(|e| setup_err(format!("pmem '{}' as dram", spec.name))(e.into()))?;
                devices.insert(&spec.name, None);
            } else {
                let id = world
                    .add_pmem(&spec.name, base, spec.bytes, spec.memmap)
                    .map_err(|e| setup_err(format!("pmem '{}'", spec.name))(e.into()))?;
                devices.insert(&spec.name, Some(id));
            }
            bases.insert(&spec.name, base);
        }
        let seg_pfn = |world: &crate::memory::World, seg: &SegSpec| -> Result<PfnT, HostError> {
            let Some(&base) = bases.get(seg.region.as_str()) else {
                return Err(HostError::Spec(format!(
                    "no memory region '{}' (dram or a pmem device)",
                    seg.region
                )));
            };
            match devices.get(seg.region.as_str()) {
                Some(Some(dev)) => world.device_pfn_t(*dev, seg.page).map_err(|e| {
                    setup_err(format!("page {} of '{}'", seg.page, seg.region))(e.into())
                }),
                _ => Ok(PfnT::from_raw((base >> crate::PAGE_SHIFT) + seg.page)),
            }
        };

        // Fill every frame a bio names, then build the bios.
        for bio in &setup.bios {
            for seg in &bio.segs {
                let pfn = seg_pfn(&s.world, seg)?;
                let frames = (u64::from(seg.offset) + u64::from(seg.len.max(1)))
                    .div_ceil(u64::from(PAGE_SIZE));
                for n in 0..frames {
                    let frame = PfnT::from_raw(pfn.raw() + n);
                    let phys = (pfn_t_to_pfn(frame)) << crate::PAGE_SHIFT;
                    let bytes: Vec<u8> = (0..u64::from(PAGE_SIZE))
                        .map(|i| pattern(phys + i))
                        .collect();
                    s.world
                        .memcpy_to_pfn(frame, 0, &bytes)
                        .map_err(|e| setup_err(format!("fill of bio '{}'", bio.name))(e.into()))?;
                }
            }
        }
        let mut names = Vec::new();
        let mut by_name: BTreeMap<&str, *mut CBio> = BTreeMap::new();
        for (i, spec) in setup.bios.iter().enumerate() {
            let what = || format!("bio '{}'", spec.name);
            let max = spec
                .max_vecs
                .unwrap_or(spec.segs.len())
                .clamp(1, BIO_MAX_PAGES);
            let mut model: Bio = bio_alloc(max).map_err(|e| setup_err(what())(e.into()))?;
            for seg in &spec.segs {
                let pfn = seg_pfn(&s.world, seg)?;
                bio_add_pfn(&s.world, &mut model, pfn, seg.len, seg.offset)
                    .map_err(|e| setup_err(what())(e.into()))?;
            }
            model.set_bi_sector(spec.sector);
            let cbio = s
                .add_bio(&model, spec.rw as std::ffi::c_ulong)
                .map_err(setup_err(what()))?;
            let id = s.bio_id(cbio).map_err(setup_err(what()))?;
            self.bio_names.insert(id, spec.name.clone());
            let name = CString::new(spec.name.as_str())
                .map_err(|_| HostError::Spec(format!("bio name '{}' has a NUL", spec.name)))?;
            self.env.bio[i] = cbio;
            self.env.bio_name[i] = name.as_ptr();
            names.push(name);
            by_name.insert(&spec.name, cbio);
        }
        self.env.nr_bios = setup.bios.len() as c_uint;
        for (i, spec) in setup.dma.iter().enumerate() {
            let id = s.world.add_dma_device(&spec.name, spec.mask);
            self.env.dev[i] = s.c_device(id);
            let name = CString::new(spec.name.as_str())
                .map_err(|_| HostError::Spec(format!("device name '{}' has a NUL", spec.name)))?;
            self.env.dev_name[i] = name.as_ptr();
            names.push(name);
        }
        self.env.nr_devs = setup.dma.len() as c_uint;
        self.env.q = &mut *self.queue;
        if let Some(rq) = &setup.request {
            let mut first: *mut CBio = std::ptr::null_mut();
            let mut prev: *mut CBio = std::ptr::null_mut();
            for name in &rq.bios {
                let &bio = by_name
                    .get(name.as_str())
                    .ok_or_else(|| HostError::Spec(format!("request names no bio '{name}'")))?;
                if prev.is_null() {
                    first = bio;
                } else {
                    // SAFETY: both are live bios this session allocated.
                    unsafe { (*prev).bi_next = bio };
                }
                prev = bio;
            }
            let mut request = Box::new(CRequest {
                q: &mut *self.queue,
                bio: first,
                nr_phys_segments: rq.nr_phys_segments,
            });
            self.env.rq = &mut *request;
            self.request = Some(request);
        }
        self._names = names;
        Ok(())
    }

    /// The `struct bvmig_env *` to hand the fixture.
    pub fn env(&mut self) -> *mut CEnv {
        &mut *self.env
    }

    /// The name of a bio: its setup name, or `bio #N` for one the C code
    /// allocated.
    pub fn bio_name(&self, id: BioId) -> String {
        self.bio_names.get(&id).map_or_else(
            || format!("{id} (allocated by the fixture)"),
            |n| format!("bio '{n}'"),
        )
    }

    /// Runs `int bvmig_fixture(struct bvmig_env *)` of `obj` on this
    /// session's world and returns what it did.
    pub fn run_fixture(&mut self, obj: &Object) -> Result<Observation, HostError> {
        // SAFETY: <bvmig/fixture.h> declares the entry point with this type.
        let entry = unsafe {
            obj.symbol::<unsafe extern "C" fn(*mut CEnv) -> c_int>(
                "bvmig_fixture",
                "define int bvmig_fixture(struct bvmig_env *env)",
            )?
        };
        // SAFETY: the object was loaded and given the table; the env and
        // everything it points to live as long as this session.
        let ret = unsafe { entry(self.env()) };
        self.observe(ret)
    }

    /// What the C code did so far, with `ret` as its return value.
    pub fn observe(&self, ret: i32) -> Result<Observation, HostError> {
        ffi::with_state(|s| Observation {
            ret,
            events: s.events.clone(),
            bios: s.bio_states(),
            kmaps_held: s.kmaps_held(),
            dma_mappings_live: s.world.dma_mappings_live(),
            memory: s.world.memory_image(),
        })
        .ok_or(HostError::Busy)
    }
}

/// How an isolated run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The entry point returned; this is what the C code did.
    Completed(Observation),
    /// The process was killed by a signal (a crash in the C code, or in
    /// the runtime under a pointer C handed it).
    Crashed {
        /// The signal number.
        signal: i32,
    },
    /// It was still running when the time limit passed, and was killed.
    TimedOut(Duration),
}

/// The name of a signal number, for messages.
pub fn signal_name(signal: i32) -> String {
    let name = match signal {
        libc::SIGSEGV => "SIGSEGV",
        libc::SIGBUS => "SIGBUS",
        libc::SIGABRT => "SIGABRT",
        libc::SIGFPE => "SIGFPE",
        libc::SIGILL => "SIGILL",
        libc::SIGKILL => "SIGKILL",
        libc::SIGTRAP => "SIGTRAP",
        _ => return format!("signal {signal}"),
    };
    name.to_owned()
}

/// Runs `bvmig_fixture` of `obj` on a fresh world made from `setup`, in a
/// forked child process, for at most `limit`.
///
/// The object is loaded in this process before the fork, so the child only
/// sets up the world, calls C and writes its observation to a file both
/// share; a child that crashes or hangs cannot hurt this process.
pub fn run_isolated(
    obj: &Object,
    layout: Layout,
    setup: &Setup,
    memory: Memory,
    limit: Duration,
) -> Result<Outcome, HostError> {
    let mut record = tempfile::tempfile().map_err(HostError::Process)?;
    // SAFETY: the child only runs this crate's code and the loaded C
    // object on this thread, allocates (glibc's malloc is fork-safe),
    // writes a file and leaves with _exit: nothing that needs a lock
    // another thread of this process could hold.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return Err(HostError::Process(io::Error::last_os_error()));
    }
    if pid == 0 {
        child(obj, layout, setup, memory, &mut record);
    }
    let started = Instant::now();
    let mut pause = Duration::from_micros(100);
    let status = loop {
        let mut status = 0;
        // SAFETY: waiting for our own child.
        let r = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
        if r == pid {
            break status;
        }
        if r < 0 {
            let err = io::Error::last_os_error();
            if err.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(HostError::Process(err));
        }
        if started.elapsed() > limit {
            // SAFETY: killing and reaping our own child.
            unsafe {
                libc::kill(pid, libc::SIGKILL);
                libc::waitpid(pid, &mut status, 0);
            }
            return Ok(Outcome::TimedOut(limit));
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(5));
    };
    if libc::WIFSIGNALED(status) {
        return Ok(Outcome::Crashed {
            signal: libc::WTERMSIG(status),
        });
    }
    let mut bytes = Vec::new();
    record
        .rewind()
        .and_then(|()| record.read_to_end(&mut bytes))
        .map_err(HostError::Process)?;
    match (libc::WEXITSTATUS(status), bytes.split_first()) {
        (0, Some((0, obs))) => Ok(Outcome::Completed(Observation::decode(obs)?)),
        (_, Some((1, msg))) => Err(HostError::Child(String::from_utf8_lossy(msg).into_owned())),
        (code, _) => Err(HostError::Child(format!(
            "child exited with status {code} without a record"
        ))),
    }
}

/// The child of [`run_isolated`]: never returns.
fn child(
    obj: &Object,
    layout: Layout,
    setup: &Setup,
    memory: Memory,
    record: &mut std::fs::File,
) -> ! {
    // A crash is an outcome here, not something to dump core for.
    let no_core = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: plain system calls on this process.
    unsafe { libc::setrlimit(libc::RLIMIT_CORE, &no_core) };
    let res = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let mut session = Session::new(layout, setup, memory)?;
        session.run_fixture(obj)
    }));
    let mut out = Vec::new();
    match res {
        Ok(Ok(obs)) => {
            out.push(0);
            out.extend(obs.encode());
        }
        Ok(Err(err)) => {
            out.push(1);
            out.extend(err.to_string().bytes());
        }
        Err(_) => {
            out.push(1);
            out.extend(b"the runtime panicked");
        }
    }
    let code = match record.write_all(&out).and_then(|()| record.flush()) {
        Ok(()) => 0,
        Err(_) => 2,
    };
    // SAFETY: leaving the child without running this process's exit
    // handlers or destructors, which belong to the parent.
    unsafe { libc::_exit(code) }
}
