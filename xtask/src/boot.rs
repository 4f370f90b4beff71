//! `cargo xtask boot`: build a small kernel from a Debian tree, as it is and
//! after each bvmig conversion step, boot each under QEMU with a busybox
//! initramfs that writes and reads back files on brd, loop, md raid1 and
//! dm-crypt, and compare the checksums the kernels print.
//!
//! The work folder (`<cache>/boot-linux-source-<v>/`) holds `src/` (a copy of
//! the cached tree, converted in place step by step), `build/` (the `make
//! O=` folder, reused so that a converted build recompiles only what
//! changed) and `out/` (initramfs, kernels and console logs per step).

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use crate::kernel::{self, run_checked};
use crate::{bvmig, compile_check};

/// Options enabled with `scripts/config` on top of `make tinyconfig`.
const ENABLE: &[&str] = &[
    "64BIT",
    "BLOCK",
    "BLK_DEV",
    "BLK_DEV_RAM",
    "BLK_DEV_LOOP",
    "EXT2_FS",
    "EXT4_FS",
    "MD",
    "BLK_DEV_MD",
    "MD_RAID1",
    "BLK_DEV_DM",
    "DM_CRYPT",
    "CRYPTO",
    "CRYPTO_AES",
    "CRYPTO_XTS",
    "CRYPTO_CBC",
    "CRYPTO_ECB",
    "CRYPTO_SHA256",
    "TTY",
    "SERIAL_8250",
    "SERIAL_8250_CONSOLE",
    "PRINTK",
    "BLK_DEV_INITRD",
    "RD_GZIP",
    "DEVTMPFS",
    "DEVTMPFS_MOUNT",
    "PROC_FS",
    "PROC_SYSCTL",
    "SYSFS",
    "BINFMT_ELF",
    "BINFMT_SCRIPT",
    "TMPFS",
    "SHMEM",
    "FUTEX",
    "POSIX_TIMERS",
    "MULTIUSER",
    "FILE_LOCKING",
    "UNIX98_PTYS",
];

/// Options set to a value, and options disabled.
const SET: &[(&str, &str)] = &[("BLK_DEV_RAM_COUNT", "4"), ("BLK_DEV_RAM_SIZE", "16384")];
const DISABLE: &[&str] = &["MODULES", "WERROR"];

/// The second conversion step: these rules, in this order, all present.
const STEP2_RULES: [&str; 3] = ["bv_page-idioms.cocci", "bv_offset.cocci", "bv_phys.cocci"];

/// Sizes of the files the guest writes and reads back: around block and
/// page boundaries, and large enough for multi-page bios.
const FILE_SIZES: [usize; 8] = [
    1,
    511,
    4096,
    4097,
    65_536 + 123,
    300_000,
    1_048_576 + 7,
    3 * 1_048_576,
];

/// Written into `src/` after each step: the steps applied, one per line.
const STEPS_MARKER: &str = ".bvmig-boot-steps";

/// Written into `build/` after each build: the steps its objects were
/// built from (the marker's contents; empty for the original tree).
const BUILT_MARKER: &str = ".bvmig-boot-built";

pub struct Options {
    pub version: String,
    pub bvmig: Option<PathBuf>,
    pub jobs: u32,
    pub timeout: u64,
    /// auto (KVM when /dev/kvm opens), kvm or tcg.
    pub accel: String,
    /// The steps to build and boot; empty: all.
    pub steps: Vec<String>,
}

/// One conversion step: a name and the bvmig runs (rule files; `None` is
/// the default rule choice).
struct Step {
    name: &'static str,
    rules: Vec<Option<PathBuf>>,
}

pub fn run(opts: &Options) -> Result<bool> {
    compile_check::install_build_deps()?;
    for tool in ["qemu-system-x86_64", "cpio", "gzip", "ldd"] {
        which(tool).with_context(|| format!("{tool}: not found; install it"))?;
    }
    if !Path::new("/bin/busybox").is_file() {
        bail!("/bin/busybox: missing; apt-get install busybox-static");
    }
    let tree = kernel::tree(&opts.version)?;
    let work = kernel::cache_dir()?.join(format!("boot-{}", kernel::name(&opts.version)));
    let (src, build, out) = (work.join("src"), work.join("build"), work.join("out"));
    fs::create_dir_all(&out).with_context(|| format!("{}: cannot create", out.display()))?;
    fs::create_dir_all(&build)?;
    if prepare_src(&tree, &src)? {
        forget_stale_build(&build)?;
    }

    let steps = steps();
    let need_bvmig = steps.iter().any(|s| !s.rules.is_empty());
    let given = opts.bvmig.clone().or_else(|| {
        std::env::var_os("BVMIG_BIN")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    });
    let bin = match (given, need_bvmig) {
        (Some(p), _) => p,
        (None, true) => bvmig::build()?,
        (None, false) => PathBuf::new(),
    };

    let initramfs = out.join("initramfs.cpio.gz");
    let expected = make_initramfs(&out, &initramfs)?;
    configure(&src, &build)?;

    let mut figures = Vec::new();
    let mut original: Option<Vec<String>> = None;
    let mut original_warnings: Option<Vec<String>> = None;
    let mut ok = true;
    for step in &steps {
        if !step.rules.is_empty() {
            let t = Instant::now();
            for rule in &step.rules {
                let mut cmd = Command::new(&bin);
                cmd.arg("patch").arg("--in-place").current_dir(&src);
                if let Some(r) = rule {
                    cmd.arg("--rule").arg(r);
                }
                cmd.arg(".");
                let o = cmd
                    .output()
                    .with_context(|| format!("run {}", bin.display()))?;
                // 0: the run completed (sites left with a reason are only
                // reported); the build and the boot judge the result.
                if o.status.code() != Some(0) {
                    bail!(
                        "step {}: bvmig patch failed: {}",
                        step.name,
                        String::from_utf8_lossy(&o.stderr)
                    );
                }
                // The summary (sites rewritten, files, sites left) and the
                // helpers added.
                let stderr = String::from_utf8_lossy(&o.stderr);
                for l in stderr
                    .lines()
                    .filter(|l| l.contains(" rewritten in ") || l.contains("note: adds "))
                {
                    println!(
                        "boot: step {}: {}: {}",
                        step.name,
                        rule.as_deref()
                            .and_then(Path::file_name)
                            .map_or("default rule".into(), |n| n.to_string_lossy()),
                        l.trim_start_matches("bvmig: ")
                    );
                }
            }
            append_marker(&src, step.name)?;
            println!("boot: step {}: converted in {:.0?}", step.name, t.elapsed());
        }
        if !opts.steps.is_empty() && !opts.steps.iter().any(|s| s == step.name) {
            println!("boot: step {}: not built (--steps)", step.name);
            continue;
        }
        // Written before make: a failed build holds some of these objects.
        let steps_done = fs::read_to_string(src.join(STEPS_MARKER)).unwrap_or_default();
        fs::write(build.join(BUILT_MARKER), steps_done)?;
        let build_log = out.join(format!("build-{}.log", step.name));
        let (secs, compiled) = make(&src, &build, opts.jobs, &build_log)?;
        // The compiler's warnings, positions cut: a converted step may add
        // none to what the original's build said.
        let warnings = compile_check::warnings(&fs::read_to_string(&build_log)?);
        let new_warnings: Vec<&String> = match &original_warnings {
            Some(orig) => warnings.iter().filter(|w| !orig.contains(w)).collect(),
            None => Vec::new(),
        };
        let kernel = out.join(format!("bzImage-{}", step.name));
        fs::copy(build.join("arch/x86/boot/bzImage"), &kernel)?;
        let log = out.join(format!("console-{}.log", step.name));
        let (boot_secs, lines) = boot(&kernel, &initramfs, &log, opts.timeout, &opts.accel)?;
        println!(
            "boot: step {}: build {secs:.0} s, {compiled} files compiled, boot {boot_secs:.1} s, {} result lines (console: {})",
            step.name,
            lines.len(),
            log.display()
        );
        println!(
            "boot: step {}: {} compiler warnings, {} new",
            step.name,
            warnings.len(),
            new_warnings.len()
        );
        for w in &new_warnings {
            println!("boot: step {}: new warning: {w}", step.name);
        }
        let step_ok =
            judge(step.name, &lines, &expected, original.as_deref()) && new_warnings.is_empty();
        ok &= step_ok;
        figures.push((step.name, secs, compiled, boot_secs, step_ok));
        if step.name == "original" {
            if !step_ok {
                println!("boot: the original kernel fails; converted steps not run");
                return Ok(false);
            }
            original = Some(lines);
            original_warnings = Some(warnings);
        }
    }
    println!("boot: step             build s  compiled  boot s  result");
    for (name, secs, compiled, boot_secs, step_ok) in figures {
        println!(
            "boot: {name:<16} {secs:>7.0}  {compiled:>8}  {boot_secs:>6.1}  {}",
            if step_ok { "same" } else { "DIFFERENT" }
        );
    }
    Ok(ok)
}

/// The steps: the original, bvmig's default rules, then the helpers and
/// layout rules when all of them exist (a missing one skips the step, with
/// the reason printed).
fn steps() -> Vec<Step> {
    let mut steps = vec![
        Step {
            name: "original",
            rules: vec![],
        },
        Step {
            name: "patch",
            rules: vec![None],
        },
    ];
    let dir = bvmig::workspace_root().join("rules");
    let missing: Vec<&str> = STEP2_RULES
        .iter()
        .copied()
        .filter(|r| !dir.join(r).is_file())
        .collect();
    if missing.is_empty() {
        steps.push(Step {
            name: "phys",
            rules: STEP2_RULES.iter().map(|r| Some(dir.join(r))).collect(),
        });
    } else {
        println!(
            "boot: step phys skipped: {} missing in {}",
            missing.join(", "),
            dir.display()
        );
    }
    steps
}

/// Makes `src` a copy of `tree` as it is. A first run copies it (`cp -a`
/// into a temporary name, then a rename); a later run after conversions
/// restores the files that differ from `tree` with fresh times, so that
/// make rebuilds exactly them. Returns whether `src` is a fresh copy.
fn prepare_src(tree: &Path, src: &Path) -> Result<bool> {
    if !src.exists() {
        let tmp = src.with_extension("tmp");
        if tmp.exists() {
            fs::remove_dir_all(&tmp)?;
        }
        println!("boot: copying {} to {}", tree.display(), src.display());
        run_checked(Command::new("cp").arg("-a").arg(tree).arg(&tmp))?;
        fs::rename(&tmp, src)?;
        return Ok(true);
    }
    let marker = src.join(STEPS_MARKER);
    if !marker.exists() {
        return Ok(false);
    }
    println!("boot: restoring {} to the original tree", src.display());
    let o = Command::new("diff")
        .arg("-rq")
        .arg("--exclude")
        .arg(STEPS_MARKER)
        .arg(tree)
        .arg(src)
        .output()
        .context("run diff -rq")?;
    if o.status.code() == Some(2) {
        bail!("diff -rq failed: {}", String::from_utf8_lossy(&o.stderr));
    }
    for line in String::from_utf8_lossy(&o.stdout).lines() {
        if let Some(rest) = line.strip_prefix("Files ") {
            let Some((a, b)) = rest
                .strip_suffix(" differ")
                .and_then(|r| r.split_once(" and "))
            else {
                bail!("diff -rq: cannot read {line:?}");
            };
            fs::copy(a, b).with_context(|| format!("restore {b}"))?;
        } else if let Some(rest) = line.strip_prefix("Only in ") {
            let Some((dir, name)) = rest.split_once(": ") else {
                bail!("diff -rq: cannot read {line:?}");
            };
            let dir = Path::new(dir);
            if let Ok(rel) = dir.strip_prefix(src) {
                let p = src.join(rel).join(name);
                if p.is_dir() {
                    fs::remove_dir_all(&p)?;
                } else {
                    fs::remove_file(&p)?;
                }
            } else {
                let rel = dir.strip_prefix(tree)?;
                run_checked(
                    Command::new("cp")
                        .arg("-r")
                        .arg(dir.join(name))
                        .arg(src.join(rel).join(name)),
                )?;
            }
        } else {
            bail!("diff -rq: cannot read {line:?}");
        }
    }
    fs::remove_file(&marker)?;
    Ok(false)
}

/// A fresh copy keeps the tree's old file times, so make would keep the
/// objects a converted build left in `build` for the files a step changed:
/// the "original" kernel would hold converted code. Such a build folder is
/// emptied unless its marker says it was built from the original tree.
fn forget_stale_build(build: &Path) -> Result<()> {
    let empty = fs::read_dir(build)?.next().is_none();
    let built = fs::read_to_string(build.join(BUILT_MARKER)).ok();
    if empty || built.as_deref() == Some("") {
        return Ok(());
    }
    println!(
        "boot: {} was built from converted sources ({}); starting it afresh",
        build.display(),
        built.map_or("unknown steps".into(), |b| b.trim().replace('\n', ", "))
    );
    fs::remove_dir_all(build)?;
    fs::create_dir_all(build)?;
    Ok(())
}

fn append_marker(src: &Path, step: &str) -> Result<()> {
    let mut f = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(src.join(STEPS_MARKER))?;
    writeln!(f, "{step}")?;
    Ok(())
}

/// `make tinyconfig`, the options, `make olddefconfig`; skipped when the
/// build folder already has this configuration (a stamp holds the option
/// list), so that a later run does not touch `.config`.
fn configure(src: &Path, build: &Path) -> Result<()> {
    let mut args: Vec<String> = Vec::new();
    for o in ENABLE {
        args.extend(["-e".into(), (*o).into()]);
    }
    for (o, v) in SET {
        args.extend(["--set-val".into(), (*o).into(), (*v).into()]);
    }
    for o in DISABLE {
        args.extend(["-d".into(), (*o).into()]);
    }
    let stamp = build.join(".bvmig-boot-config");
    let want = args.join(" ");
    if build.join(".config").is_file() && fs::read_to_string(&stamp).ok().as_deref() == Some(&want)
    {
        return Ok(());
    }
    let make = |target: &str| -> Result<()> {
        run_checked(
            Command::new("make")
                .current_dir(src)
                .arg(format!("O={}", build.display()))
                .args(["ARCH=x86_64", target])
                .stdout(Stdio::null()),
        )
    };
    make("tinyconfig")?;
    run_checked(
        Command::new(src.join("scripts/config"))
            .arg("--file")
            .arg(build.join(".config"))
            .args(&args),
    )?;
    make("olddefconfig")?;
    let config = fs::read_to_string(build.join(".config"))?;
    for o in ENABLE {
        if !config.contains(&format!("\nCONFIG_{o}=y\n")) {
            bail!(
                "{}: CONFIG_{o} is not =y after olddefconfig",
                build.join(".config").display()
            );
        }
    }
    fs::write(&stamp, want)?;
    Ok(())
}

/// Builds bzImage; returns the seconds it took and how many files were
/// compiled (kbuild's `CC`/`AS` lines).
fn make(src: &Path, build: &Path, jobs: u32, log: &Path) -> Result<(f64, usize)> {
    println!(
        "boot: building {} (log: {})",
        build.display(),
        log.display()
    );
    let t = Instant::now();
    let f = fs::File::create(log)?;
    let status = Command::new("nice")
        .args(["-n", "10", "make"])
        .current_dir(src)
        .arg(format!("O={}", build.display()))
        .args(["ARCH=x86_64", &format!("-j{jobs}"), "bzImage"])
        .stdout(f.try_clone()?)
        .stderr(f)
        .status()
        .context("run make")?;
    let secs = t.elapsed().as_secs_f64();
    let text = fs::read_to_string(log)?;
    if !status.success() {
        let tail: Vec<&str> = text.lines().rev().take(30).collect();
        for l in tail.iter().rev() {
            eprintln!("{l}");
        }
        bail!("make bzImage failed ({status}); log: {}", log.display());
    }
    let compiled = text
        .lines()
        .filter(|l| {
            let l = l.trim_start();
            (l.starts_with("CC ") || l.starts_with("AS ")) && l.ends_with(".o")
        })
        .count();
    Ok((secs, compiled))
}

/// The data files (name, bytes): a fixed xorshift stream, the same on every
/// run, so that the checksums can be known in advance.
fn data_files() -> Vec<(String, Vec<u8>)> {
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    FILE_SIZES
        .iter()
        .map(|&n| {
            let bytes = (0..n)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    (x >> 24) as u8
                })
                .collect();
            (format!("f{n}"), bytes)
        })
        .collect()
}

const INIT: &str = r#"#!/bin/sh
/bin/busybox --install -s /bin
export PATH=/bin:/sbin
mkdir -p /proc /sys /dev /mnt /run /tmp
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mount -t tmpfs tmp /tmp
say() { echo "BVMIG $*"; }
fail() { echo "BVMIG FAIL $*"; sync; reboot -f; }
# check DEV FSTYPE LABEL: filesystem, write, remount, read back.
check() {
	/opt/bin/mke2fs -q -F -t "$2" "$1" >/dev/null || fail "$3 mke2fs"
	mount -t "$2" "$1" /mnt || fail "$3 mount"
	for f in /data/*; do cp "$f" /mnt/ || fail "$3 write $f"; done
	mkdir /mnt/d && cp /data/f4097 /mnt/d/copy
	sync
	umount /mnt || fail "$3 umount"
	echo 3 > /proc/sys/vm/drop_caches
	mount -t "$2" -o ro "$1" /mnt || fail "$3 remount"
	(cd /mnt && sha256sum f* d/copy) | while read sum name; do say "$3 $name $sum"; done
	umount /mnt
}
check /dev/ram0 ext4 brd-ext4
check /dev/ram0 ext2 brd-ext2
dd if=/dev/zero of=/tmp/loop.img bs=1M count=12 2>/dev/null
losetup /dev/loop0 /tmp/loop.img || fail "losetup"
check /dev/loop0 ext4 loop-ext4
losetup -d /dev/loop0
/opt/bin/mdadm --create /dev/md0 --run --level=1 --raid-devices=2 --metadata=1.2 /dev/ram1 /dev/ram2 >/dev/null 2>&1 || fail "mdadm create"
/opt/bin/mdadm --wait /dev/md0 >/dev/null 2>&1
check /dev/md0 ext4 md-raid1
echo check > /sys/block/md0/md/sync_action
sleep 1
/opt/bin/mdadm --wait /dev/md0 >/dev/null 2>&1
say md-raid1 mismatch_cnt $(cat /sys/block/md0/md/mismatch_cnt)
/opt/bin/mdadm --stop /dev/md0 >/dev/null 2>&1
size=$(blockdev --getsz /dev/ram3)
/opt/bin/dmsetup --noudevsync create c0 --table "0 $size crypt aes-xts-plain64 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f 0 /dev/ram3 0" || fail "dmsetup create"
dev=/dev/mapper/c0; [ -b $dev ] || dev=/dev/dm-0
check $dev ext4 dm-crypt
/opt/bin/dmsetup --noudevsync remove c0
/opt/bin/dmsetup --noudevsync create c1 --table "0 $size crypt aes-xts-plain64 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f 0 /dev/ram3 0" || fail "dmsetup create again"
dev=/dev/mapper/c1; [ -b $dev ] || dev=/dev/dm-0
mount -t ext4 -o ro $dev /mnt || fail "dm-crypt reopen mount"
(cd /mnt && sha256sum f*) | while read sum name; do say "dm-crypt-reopen $name $sum"; done
umount /mnt
say DONE
sync
reboot -f
"#;

/// Builds the initramfs into `dest`; returns the expected result lines of
/// the data files (`name sha256`).
fn make_initramfs(out: &Path, dest: &Path) -> Result<BTreeMap<String, String>> {
    let root = out.join("initramfs");
    if root.exists() {
        fs::remove_dir_all(&root)?;
    }
    for d in [
        "bin", "sbin", "etc", "data", "lib", "lib64", "usr", "opt/bin",
    ] {
        fs::create_dir_all(root.join(d))?;
    }
    fs::copy("/bin/busybox", root.join("bin/busybox"))?;
    symlink("busybox", root.join("bin/sh"))?;
    symlink("../bin", root.join("usr/bin"))?;
    symlink("../bin", root.join("usr/sbin"))?;
    fs::write(root.join("init"), INIT)?;
    run_checked(Command::new("chmod").arg("755").arg(root.join("init")))?;
    if Path::new("/etc/mke2fs.conf").is_file() {
        fs::copy("/etc/mke2fs.conf", root.join("etc/mke2fs.conf"))?;
    }
    let mdadm = mdadm(out)?;
    for bin in [which("mke2fs")?, which("dmsetup")?, mdadm] {
        if bin.as_os_str().is_empty() {
            continue;
        }
        copy_with_libs(&bin, &root)?;
    }
    let mut expected = BTreeMap::new();
    for (name, bytes) in data_files() {
        let p = root.join("data").join(&name);
        fs::write(&p, &bytes)?;
        let o = Command::new("sha256sum").arg(&p).output()?;
        let sum = String::from_utf8_lossy(&o.stdout)
            .split_whitespace()
            .next()
            .unwrap_or_default()
            .to_string();
        expected.insert(name, sum);
    }
    let f = fs::File::create(dest)?;
    let status = Command::new("sh")
        .arg("-c")
        .arg("find . | sort | cpio -o -H newc -R 0:0 --quiet | gzip -9")
        .current_dir(&root)
        .stdout(f)
        .status()?;
    if !status.success() {
        bail!("cpio/gzip of {} failed", root.display());
    }
    fs::remove_dir_all(&root)?;
    Ok(expected)
}

/// mdadm comes from the host, or from Debian's package unpacked into `out`.
fn mdadm(out: &Path) -> Result<PathBuf> {
    if let Ok(p) = which("mdadm") {
        return Ok(p);
    }
    let unpacked = out.join("mdadm-deb/sbin/mdadm");
    if unpacked.is_file() {
        return Ok(unpacked);
    }
    println!("boot: fetching Debian's mdadm package (apt-get download)");
    let dl = out.join("mdadm-dl");
    fs::create_dir_all(&dl)?;
    run_checked(
        Command::new("apt-get")
            .args(["download", "mdadm"])
            .current_dir(&dl),
    )?;
    let deb = fs::read_dir(&dl)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| p.extension().is_some_and(|e| e == "deb"))
        .context("apt-get download mdadm left no .deb")?;
    run_checked(
        Command::new("dpkg-deb")
            .arg("-x")
            .arg(&deb)
            .arg(out.join("mdadm-deb")),
    )?;
    fs::remove_dir_all(&dl)?;
    for p in ["mdadm-deb/sbin/mdadm", "mdadm-deb/usr/sbin/mdadm"] {
        if out.join(p).is_file() {
            return Ok(out.join(p));
        }
    }
    bail!("no sbin/mdadm in Debian's mdadm package")
}

fn which(tool: &str) -> Result<PathBuf> {
    let o = Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .output()?;
    let p = String::from_utf8_lossy(&o.stdout).trim().to_string();
    if !o.status.success() || p.is_empty() {
        bail!("{tool}: not found");
    }
    Ok(PathBuf::from(p))
}

/// Copies a dynamically linked program into `root/opt/bin` (called by
/// path in /init: busybox's shell prefers its own applets, e.g. its
/// ext2-only mke2fs, to a program found in PATH) and the libraries
/// `ldd` names to the same paths under `root`.
fn copy_with_libs(bin: &Path, root: &Path) -> Result<()> {
    let name = bin.file_name().context("a program without a name")?;
    fs::copy(bin, root.join("opt/bin").join(name))
        .with_context(|| format!("copy {}", bin.display()))?;
    let o = Command::new("ldd").arg(bin).output()?;
    for line in String::from_utf8_lossy(&o.stdout).lines() {
        let path = match line.split_once("=>") {
            Some((_, r)) => r.split_whitespace().next(),
            None => line.split_whitespace().next(),
        };
        let Some(path) = path.filter(|p| p.starts_with('/')) else {
            continue;
        };
        let dest = root.join(path.trim_start_matches('/'));
        if dest.exists() {
            continue;
        }
        fs::create_dir_all(dest.parent().context("a library path without a folder")?)?;
        fs::copy(path, &dest).with_context(|| format!("copy {path}"))?;
    }
    Ok(())
}

/// Boots `kernel` under QEMU (KVM when /dev/kvm opens, else TCG) with the
/// console on ttyS0 written to `log`; returns the seconds and the `BVMIG`
/// lines.
fn boot(
    kernel: &Path,
    initramfs: &Path,
    log: &Path,
    timeout: u64,
    accel: &str,
) -> Result<(f64, Vec<String>)> {
    let kvm = match accel {
        "kvm" => true,
        "tcg" => false,
        _ => fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open("/dev/kvm")
            .is_ok(),
    };
    let _ = fs::remove_file(log);
    let mut cmd = Command::new("qemu-system-x86_64");
    cmd.args(["-m", "512M", "-smp", "1", "-no-reboot", "-display", "none"])
        .args(["-monitor", "none", "-nodefaults"])
        .args(["-accel", if kvm { "kvm" } else { "tcg" }])
        .arg("-serial")
        .arg(format!("file:{}", log.display()))
        .arg("-kernel")
        .arg(kernel)
        .arg("-initrd")
        .arg(initramfs)
        .args(["-append", "console=ttyS0 panic=-1 rdinit=/init"])
        .stdin(Stdio::null())
        .stdout(Stdio::null());
    println!(
        "boot: booting {} ({})",
        kernel.display(),
        if kvm { "kvm" } else { "tcg" }
    );
    let t = Instant::now();
    let mut child = cmd.spawn().context("run qemu-system-x86_64")?;
    let status = loop {
        if let Some(s) = child.try_wait()? {
            break Some(s);
        }
        if t.elapsed() > Duration::from_secs(timeout) {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    let secs = t.elapsed().as_secs_f64();
    let text = String::from_utf8_lossy(&fs::read(log).unwrap_or_default()).into_owned();
    let lines: Vec<String> = text
        .lines()
        .map(|l| l.trim_end_matches('\r'))
        .filter_map(|l| l.find("BVMIG ").map(|i| l[i..].to_string()))
        .collect();
    match status {
        None => println!("boot: qemu killed after {timeout} s"),
        Some(s) if !s.success() => println!("boot: qemu exited with {s}"),
        Some(_) => {}
    }
    Ok((secs, lines))
}

/// Checks one step's lines: the run finished, no failure, every file's sum
/// is the expected one, and the lines are those of the original kernel.
fn judge(
    step: &str,
    lines: &[String],
    expected: &BTreeMap<String, String>,
    original: Option<&[String]>,
) -> bool {
    let mut ok = true;
    if !lines.iter().any(|l| l == "BVMIG DONE") {
        println!("boot: step {step}: the guest did not finish (no BVMIG DONE)");
        ok = false;
    }
    let mut sums = 0;
    for l in lines {
        let w: Vec<&str> = l.split_whitespace().collect();
        if w.get(1) == Some(&"FAIL") {
            println!("boot: step {step}: {l}");
            ok = false;
        }
        if let [_, _, name, sum] = w[..] {
            let name = name.trim_start_matches("d/");
            let name = if name == "copy" { "f4097" } else { name };
            if let Some(want) = expected.get(name) {
                sums += 1;
                if want != sum {
                    println!("boot: step {step}: wrong sum: {l} (want {want})");
                    ok = false;
                }
            }
        }
        if l.contains("mismatch_cnt") && !l.ends_with("mismatch_cnt 0") {
            println!("boot: step {step}: {l}");
            ok = false;
        }
    }
    println!("boot: step {step}: {sums} checksums match the data files");
    if let Some(orig) = original {
        if orig != lines {
            println!("boot: step {step}: output differs from the original kernel's:");
            for d in similar::TextDiff::from_lines(&orig.join("\n"), &lines.join("\n"))
                .unified_diff()
                .iter_hunks()
            {
                print!("{d}");
            }
            ok = false;
        } else {
            println!(
                "boot: step {step}: {} lines identical to the original kernel's",
                lines.len()
            );
        }
    }
    ok
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Needs busybox, mke2fs, dmsetup and mdadm (or apt-get): run with
    /// `cargo test -p xtask boot -- --ignored`.
    #[test]
    #[ignore]
    fn initramfs_holds_the_programs_their_libraries_and_the_data() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("i.cpio.gz");
        let expected = make_initramfs(dir.path(), &dest).unwrap();
        assert_eq!(expected.len(), FILE_SIZES.len());
        let o = Command::new("sh")
            .arg("-c")
            .arg(format!("zcat {} | cpio -t --quiet", dest.display()))
            .output()
            .unwrap();
        let list = String::from_utf8_lossy(&o.stdout);
        for want in [
            "init",
            "bin/busybox",
            "opt/bin/mke2fs",
            "opt/bin/dmsetup",
            "opt/bin/mdadm",
            "data/f4097",
        ] {
            assert!(
                list.lines().any(|l| l.trim_start_matches("./") == want),
                "{want} missing: {list}"
            );
        }
        assert!(
            list.lines().any(|l| l.contains("libc.so")),
            "no libc: {list}"
        );
    }

    #[test]
    fn judge_catches_a_wrong_sum_a_missing_end_and_a_difference() {
        let expected: BTreeMap<String, String> = [("f1".to_string(), "aa".to_string())].into();
        let good: Vec<String> = [
            "BVMIG brd-ext4 f1 aa",
            "BVMIG md-raid1 mismatch_cnt 0",
            "BVMIG DONE",
        ]
        .map(String::from)
        .to_vec();
        assert!(judge("t", &good, &expected, None));
        assert!(judge("t", &good, &expected, Some(&good)));
        let mut wrong = good.clone();
        wrong[0] = "BVMIG brd-ext4 f1 bb".into();
        assert!(!judge("t", &wrong, &expected, None));
        assert!(!judge("t", &good[..2], &expected, None));
        let mut mismatch = good.clone();
        mismatch[1] = "BVMIG md-raid1 mismatch_cnt 128".into();
        assert!(!judge("t", &mismatch, &expected, None));
        let mut other = good.clone();
        other.insert(0, "BVMIG loop-ext4 f1 aa".into());
        assert!(!judge("t", &other, &expected, Some(&good)));
        assert!(!judge(
            "t",
            &["BVMIG FAIL x".to_string(), "BVMIG DONE".into()],
            &expected,
            None
        ));
    }
}
