//! The C ABI driven by C code, in both `bio_vec` layouts.
//!
//! `tests/c/smoke.c` is compiled with the system `cc` against the headers
//! in `fixtures/include` into a shared object, once per layout, in a fresh
//! temporary directory; the test loads it, which hands it the runtime's
//! table, and calls `bvmig_smoke()`. The C code checks results itself and
//! logs what it read back, which is asserted here too. Nothing is linked:
//! this test binary is the runtime.

use std::ffi::{c_char, c_int, CStr};
use std::path::{Path, PathBuf};

use bvmig_runtime::ffi::Layout;
use bvmig_runtime::host::{Compiler, HostError, Object};
use bvmig_runtime::ops::{member_offsets, BvmigOps};

fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn include_dir() -> PathBuf {
    manifest_dir().join("../fixtures/include")
}

/// Compiles `source` for `layout` into `dir`.
fn build(source: &Path, layout: Layout, dir: &Path) -> Result<PathBuf, HostError> {
    let out = dir.join(format!("{layout:?}.so"));
    Compiler::from_env().shared_object(source, &include_dir(), layout, &out)?;
    Ok(out)
}

/// Builds, loads and runs the smoke test; returns its check count and log.
fn run_smoke(layout: Layout) -> (c_int, String) {
    let dir = tempfile::tempdir().unwrap();
    let so = build(&manifest_dir().join("tests/c/smoke.c"), layout, dir.path())
        .unwrap_or_else(|e| panic!("{e}"));
    let obj = Object::load(&so, layout).unwrap_or_else(|e| panic!("{e}"));
    let mut log = vec![0u8; 4096];
    // SAFETY: smoke.c defines `int bvmig_smoke(char *log, size_t cap)`.
    let smoke = unsafe {
        obj.symbol::<unsafe extern "C" fn(*mut c_char, usize) -> c_int>("bvmig_smoke", "")
            .unwrap()
    };
    // SAFETY: the buffer is as long as we say.
    let n = unsafe { smoke(log.as_mut_ptr().cast(), log.len()) };
    let log = CStr::from_bytes_until_nul(&log)
        .unwrap()
        .to_string_lossy()
        .into_owned();
    (n, log)
}

// The exact check counts catch a section silently compiled out (a wrong
// `#ifdef`); update them with smoke.c.
#[test]
fn smoke_page_layout() {
    let (n, log) = run_smoke(Layout::Page);
    assert_eq!(n, 84, "{log}");
    assert!(log.contains("read back: hello, world / far away"), "{log}");
    assert!(log.contains("page layout: 84 checks passed"), "{log}");
}

#[test]
fn smoke_pfn_layout() {
    let (n, log) = run_smoke(Layout::Pfn);
    assert_eq!(n, 115, "{log}");
    assert!(log.contains("read back: hello, world / far away"), "{log}");
    assert!(log.contains("pmem read back: persistent"), "{log}");
    assert!(log.contains("pfn layout: 115 checks passed"), "{log}");
}

#[test]
fn an_object_built_for_the_other_layout_is_refused_on_load() {
    let dir = tempfile::tempdir().unwrap();
    let so = build(
        &manifest_dir().join("tests/c/smoke.c"),
        Layout::Pfn,
        dir.path(),
    )
    .unwrap();
    let err = Object::load(&so, Layout::Page).unwrap_err();
    assert!(
        matches!(err, HostError::Abi { what, .. } if what == "the bio_vec layout"),
        "{err}"
    );
}

#[test]
fn an_object_without_the_fixture_header_is_refused_on_load() {
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("bare.c");
    std::fs::write(&source, "int bare(void);\nint bare(void) { return 1; }\n").unwrap();
    let so = build(&source, Layout::Page, dir.path()).unwrap();
    let err = Object::load(&so, Layout::Page).unwrap_err().to_string();
    assert!(err.contains("no symbol 'bvmig_abi'"), "{err}");
    assert!(err.contains("include <bvmig/fixture.h>"), "{err}");
}

#[test]
fn a_missing_compiler_is_named_with_the_fix() {
    let dir = tempfile::tempdir().unwrap();
    let err = Compiler::new("/nonexistent/bvmig-cc")
        .shared_object(
            &manifest_dir().join("tests/c/smoke.c"),
            &include_dir(),
            Layout::Page,
            &dir.path().join("x.so"),
        )
        .unwrap_err();
    assert!(matches!(err, HostError::CcMissing { .. }), "{err}");
    let msg = err.to_string();
    assert!(msg.contains("/nonexistent/bvmig-cc"), "{msg}");
    assert!(msg.contains("set CC"), "{msg}");
}

/// The C `struct bvmig_ops` and the Rust one agree member for member.
#[test]
fn ops_table_offsets_match_the_header() {
    // Every member is a pointer but the two u32s at the start, so offsets
    // that rise by exactly that much prove the Rust list is complete.
    let rust = member_offsets();
    for pair in rust.windows(2) {
        let step = if matches!(pair[0].0, "version" | "size") {
            4
        } else {
            8
        };
        assert_eq!(pair[1].1, pair[0].1 + step, "{pair:?}");
    }
    let last = rust.last().unwrap().1;
    assert_eq!(last + 8, std::mem::size_of::<BvmigOps>());

    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("offsets.c");
    let mut c = String::from(
        "#include <stddef.h>\n#include <bvmig/fixture.h>\n\
         BVMIG_EXPORT const size_t bvmig_ops_offsets[] = {\n",
    );
    for (name, _) in &rust {
        c.push_str(&format!("\toffsetof(struct bvmig_ops, {name}),\n"));
    }
    c.push_str("};\nBVMIG_EXPORT const size_t bvmig_ops_size = sizeof(struct bvmig_ops);\n");
    std::fs::write(&source, c).unwrap();
    let so = build(&source, Layout::Pfn, dir.path()).unwrap_or_else(|e| panic!("{e}"));
    let obj = Object::load(&so, Layout::Pfn).unwrap_or_else(|e| panic!("{e}"));
    // SAFETY: the arrays defined above, of these types and lengths.
    let (offsets, size) = unsafe {
        let offsets = obj.symbol::<*const usize>("bvmig_ops_offsets", "").unwrap();
        let size = obj.symbol::<*const usize>("bvmig_ops_size", "").unwrap();
        (
            std::slice::from_raw_parts(offsets, rust.len()).to_vec(),
            *size,
        )
    };
    assert_eq!(size, std::mem::size_of::<BvmigOps>());
    for ((name, at), c_at) in rust.iter().zip(offsets) {
        assert_eq!(*at, c_at, "offset of {name}");
    }
}

#[test]
fn each_layout_has_only_its_own_member() {
    let dir = tempfile::tempdir().unwrap();
    let compiles = |member: &str, layout: Layout| {
        let source = dir.path().join(format!("member-{layout:?}.c"));
        std::fs::write(
            &source,
            format!(
                "#include <linux/bvec.h>\n\
                 unsigned long f(struct bio_vec *bv);\n\
                 unsigned long f(struct bio_vec *bv) {{ return (unsigned long)bv->{member}; }}\n"
            ),
        )
        .unwrap();
        build(&source, layout, dir.path())
    };

    compiles("bv_page", Layout::Page).unwrap();
    compiles("bv_pfn.val", Layout::Pfn).unwrap();
    let no_page = compiles("bv_page", Layout::Pfn).unwrap_err().to_string();
    assert!(no_page.contains("bv_page"), "{no_page}");
    assert!(compiles("bv_pfn.val", Layout::Page).is_err());
}
