//! The C ABI driven by a C program, in both `bio_vec` layouts.
//!
//! `tests/c/smoke.c` is compiled with the system `cc` against the headers
//! in `fixtures/include` and linked with the runtime's staticlib, once per
//! layout; it checks results itself and prints what it read back, which is
//! asserted here too. Each build happens in a fresh temporary directory.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Native libraries a Rust staticlib needs on Linux
/// (`rustc --print native-static-libs`).
const NATIVE_LIBS: &[&str] = &[
    "-lgcc_s",
    "-lutil",
    "-lrt",
    "-lpthread",
    "-lm",
    "-ldl",
    "-lc",
];

fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn include_dir() -> PathBuf {
    manifest_dir().join("../fixtures/include")
}

/// The staticlib cargo built next to this test binary
/// (`<target>/<profile>/deps/it-*` → `<target>/<profile>/libbvmig_runtime.a`).
fn staticlib() -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("target profile dir");
    let lib = profile_dir.join("libbvmig_runtime.a");
    assert!(
        lib.exists(),
        "{} missing: cargo builds it with the rlib",
        lib.display()
    );
    lib
}

/// A fresh directory for one build, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!("bvmig-c-abi-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create temp dir");
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn cc(args: &[&str], source: &Path, out: &Path, link: bool) -> Output {
    let mut cmd = Command::new("cc");
    cmd.args(["-std=gnu11", "-Wall", "-Wextra", "-Werror", "-g"])
        .args(args)
        .arg("-I")
        .arg(include_dir())
        .arg(source)
        .arg("-o")
        .arg(out);
    if link {
        cmd.arg(staticlib()).args(NATIVE_LIBS);
    } else {
        cmd.arg("-c");
    }
    cmd.output().expect("run cc")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Builds and runs the smoke test; returns its standard output.
fn run_smoke(layout_args: &[&str], name: &str) -> String {
    let dir = TempDir::new(name);
    let exe = dir.0.join("smoke");
    let built = cc(
        layout_args,
        &manifest_dir().join("tests/c/smoke.c"),
        &exe,
        true,
    );
    assert!(
        built.status.success(),
        "cc failed:\n{}",
        text(&built.stderr)
    );
    let ran = Command::new(&exe).output().expect("run smoke");
    let stdout = text(&ran.stdout);
    assert!(
        ran.status.success(),
        "smoke ({name}) failed:\n{stdout}\n{}",
        text(&ran.stderr)
    );
    stdout
}

// The exact check counts catch a section silently compiled out (a wrong
// `#ifdef`); update them with smoke.c.
#[test]
fn smoke_page_layout() {
    let out = run_smoke(&[], "page");
    assert!(out.contains("read back: hello, world / far away"), "{out}");
    assert!(out.contains("page layout: 84 checks passed"), "{out}");
}

#[test]
fn smoke_pfn_layout() {
    let out = run_smoke(&["-DBVMIG_LAYOUT_PFN"], "pfn");
    assert!(out.contains("read back: hello, world / far away"), "{out}");
    assert!(out.contains("pmem read back: persistent"), "{out}");
    assert!(out.contains("pfn layout: 113 checks passed"), "{out}");
}

#[test]
fn each_layout_has_only_its_own_member() {
    let dir = TempDir::new("members");
    let source = dir.0.join("member.c");
    std::fs::write(
        &source,
        "#include <linux/bvec.h>\n\
         unsigned long f(struct bio_vec *bv);\n\
         unsigned long f(struct bio_vec *bv) { return (unsigned long)bv->MEMBER; }\n",
    )
    .unwrap();
    let obj = dir.0.join("member.o");
    let compiles = |args: &[&str]| cc(args, &source, &obj, false);

    assert!(compiles(&["-DMEMBER=bv_page"]).status.success());
    assert!(compiles(&["-DMEMBER=bv_pfn.val", "-DBVMIG_LAYOUT_PFN"])
        .status
        .success());
    let no_page = compiles(&["-DMEMBER=bv_page", "-DBVMIG_LAYOUT_PFN"]);
    assert!(!no_page.status.success());
    assert!(
        text(&no_page.stderr).contains("bv_page"),
        "{}",
        text(&no_page.stderr)
    );
    assert!(!compiles(&["-DMEMBER=bv_pfn.val"]).status.success());
}
