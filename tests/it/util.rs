//! Helpers shared by the integration tests: temporary directories, running
//! the built binary and external tools.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// A temporary directory removed at drop.
pub struct TempDir(tempfile::TempDir);

impl TempDir {
    pub fn new() -> TempDir {
        TempDir(
            tempfile::Builder::new()
                .prefix("bvmig-test-")
                .tempdir()
                .expect("temp dir"),
        )
    }

    pub fn path(&self) -> &Path {
        self.0.path()
    }

    /// Writes `text` to `rel` below the directory, creating parents.
    pub fn write(&self, rel: &str, text: impl AsRef<[u8]>) -> PathBuf {
        let p = self.path().join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, text).unwrap();
        p
    }

    pub fn read(&self, rel: &str) -> Vec<u8> {
        std::fs::read(self.path().join(rel)).unwrap()
    }
}

pub fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

/// What a run of the binary gave.
pub struct Output {
    pub code: i32,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
}

impl From<std::process::Output> for Output {
    fn from(out: std::process::Output) -> Output {
        Output {
            code: out.status.code().unwrap_or(-1),
            stdout: out.stdout,
            stderr: out.stderr,
        }
    }
}

impl Output {
    pub fn stdout_text(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }

    pub fn stderr_text(&self) -> String {
        String::from_utf8_lossy(&self.stderr).into_owned()
    }
}

/// The built `bvmig` with `args`, to run in `cwd`.
pub fn bvmig_command(cwd: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_bvmig"));
    cmd.args(args).current_dir(cwd);
    cmd
}

/// Runs the built `bvmig` in `cwd`.
pub fn bvmig(cwd: &Path, args: &[&str]) -> Output {
    bvmig_command(cwd, args)
        .stdin(Stdio::null())
        .output()
        .expect("bvmig runs")
        .into()
}

/// Runs an external tool in `cwd`; its stderr on failure.
pub fn run_tool(cwd: &Path, tool: &str, args: &[&str]) -> Result<Vec<u8>, String> {
    let out = Command::new(tool)
        .args(args)
        .current_dir(cwd)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("{tool}: {e}"))?;
    if out.status.success() {
        Ok(out.stdout)
    } else {
        Err(format!(
            "{tool} {} failed:\n{}{}",
            args.join(" "),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

/// Copies the directory `from` to `to`, recursively.
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let dest = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &dest);
        } else {
            std::fs::copy(entry.path(), dest).unwrap();
        }
    }
}

/// Runs the real `git` in `cwd` as author `who`, isolated from the user's
/// and the system's configuration; its stdout, or a panic with its stderr.
pub fn git_as(cwd: &Path, who: &str, args: &[&str]) -> String {
    let email = format!(
        "{}@example.org",
        who.split_whitespace().next().unwrap_or(who).to_lowercase()
    );
    let out = Command::new("git")
        .args(args)
        .current_dir(cwd)
        .stdin(Stdio::null())
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_AUTHOR_NAME", who)
        .env("GIT_AUTHOR_EMAIL", &email)
        .env("GIT_COMMITTER_NAME", who)
        .env("GIT_COMMITTER_EMAIL", &email)
        .env("GIT_AUTHOR_DATE", "2024-11-17T12:00:00Z")
        .env("GIT_COMMITTER_DATE", "2024-11-17T12:00:00Z")
        .output()
        .expect("git runs");
    assert!(
        out.status.success(),
        "git {} failed: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Runs the real `git` in `cwd` as the test's default author.
pub fn git(cwd: &Path, args: &[&str]) -> String {
    git_as(cwd, "Test Author", args)
}

/// `UPDATE_EXPECT=1` rewrites `path` with `actual`; otherwise they must be
/// equal.
pub fn expect_file(path: &Path, actual: &str) {
    if std::env::var_os("UPDATE_EXPECT").is_some() {
        std::fs::write(path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{}: {e} (UPDATE_EXPECT=1 writes it)", path.display()));
    assert_eq!(
        actual,
        expected,
        "{} (UPDATE_EXPECT=1 rewrites it)",
        path.display()
    );
}

/// Runs the built `bvmig` in `cwd` with `input` on its stdin.
pub fn bvmig_stdin(cwd: &Path, args: &[&str], input: &[u8]) -> Output {
    // A guard against a hang, not a measurement.
    let limit = std::time::Duration::from_secs(300);
    run_fed_or_kill(limit, bvmig_command(cwd, args), Some(input.to_vec()))
}

/// include/linux/bvec.h of a tree that lacks the helpers.
pub const BVEC_H_BARE: &str = "\
#ifndef __LINUX_BVEC_H
#define __LINUX_BVEC_H

struct page;

struct bio_vec {
	struct page	*bv_page;
	unsigned int	bv_len;
	unsigned int	bv_offset;
};

#endif
";

/// A C file with one read and one write of `bv_page` in a function `name`.
pub fn user_c(name: &str) -> String {
    format!(
        "#include <linux/bvec.h>\n\nstruct page *{name}(struct bio_vec *bv, struct page *p)\n{{\n\tstruct page *old = bv->bv_page;\n\n\tbv->bv_page = p;\n\treturn old;\n}}\n"
    )
}

/// Writes a small Linux-like tree below `rel` of `t`: its top (Makefile,
/// Kconfig, include/linux/bvec.h without the helpers) and one site file
/// in each of drivers/block, fs, block and mm.
pub fn kernel_tree(t: &TempDir, rel: &str) -> PathBuf {
    let at = |p: &str| {
        if rel.is_empty() {
            p.to_string()
        } else {
            format!("{rel}/{p}")
        }
    };
    t.write(
        &at("Makefile"),
        "# SPDX-License-Identifier: GPL-2.0\nVERSION = 6\n",
    );
    t.write(&at("Kconfig"), "mainmenu \"Linux Kernel Configuration\"\n");
    t.write(&at("include/linux/bvec.h"), BVEC_H_BARE);
    t.write(&at("drivers/block/brd.c"), user_c("brd_swap"));
    t.write(&at("fs/iomap.c"), user_c("iomap_swap"));
    t.write(&at("block/bio.c"), user_c("bio_swap"));
    t.write(&at("mm/page_io.c"), user_c("swap_page"));
    t.path().join(rel)
}

/// Every file below `dir` with its bytes, named relative to it, `.git`
/// left out.
pub fn snapshot(dir: &Path) -> std::collections::BTreeMap<String, Vec<u8>> {
    fn walk(base: &Path, dir: &Path, out: &mut std::collections::BTreeMap<String, Vec<u8>>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let e = e.unwrap();
            let p = e.path();
            let t = e.file_type().unwrap();
            if t.is_dir() {
                if e.file_name() != ".git" {
                    walk(base, &p, out);
                }
            } else {
                let name = p.strip_prefix(base).unwrap().to_string_lossy().into_owned();
                let bytes = if t.is_symlink() {
                    std::fs::read_link(&p)
                        .unwrap()
                        .into_os_string()
                        .into_encoded_bytes()
                } else {
                    std::fs::read(&p).unwrap()
                };
                out.insert(name, bytes);
            }
        }
    }
    let mut out = std::collections::BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

/// Runs `cmd`, killing it when it has not finished after `limit`: a hang
/// (a FIFO opened as a file, a loop) fails the test instead of the suite
/// (the limit only catches hangs; nothing is timed).
pub fn run_or_kill(limit: std::time::Duration, cmd: Command) -> Output {
    run_fed_or_kill(limit, cmd, None)
}

/// [`run_or_kill`] with `input` written to its stdin, then closed (a
/// broken pipe is bvmig's answer, not the test's failure).
pub fn run_fed_or_kill(
    limit: std::time::Duration,
    mut cmd: Command,
    input: Option<Vec<u8>>,
) -> Output {
    use std::io::{Read, Write};
    let mut child = cmd
        .stdin(if input.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("bvmig runs");
    let feeder = input.map(|input| {
        let mut stdin = child.stdin.take().unwrap();
        std::thread::spawn(move || {
            if let Err(e) = stdin.write_all(&input) {
                assert_eq!(e.kind(), std::io::ErrorKind::BrokenPipe, "{e}");
            }
        })
    });
    let pipe_reader = |mut r: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            let _ = r.read_to_end(&mut buf);
            buf
        })
    };
    let out = pipe_reader(Box::new(child.stdout.take().unwrap()));
    let err = pipe_reader(Box::new(child.stderr.take().unwrap()));
    let start = std::time::Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("bvmig did not finish in {limit:?} (hung, or blocked on a FIFO): {cmd:?}");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    if let Some(f) = feeder {
        f.join().unwrap();
    }
    Output {
        code: status.code().unwrap_or(-1),
        stdout: out.join().unwrap(),
        stderr: err.join().unwrap(),
    }
}

/// Makes a FIFO at `path`, replacing what is there.
pub fn mkfifo(path: &Path) {
    let _ = std::fs::remove_file(path);
    let out = Command::new("mkfifo")
        .arg(path)
        .output()
        .expect("mkfifo runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
