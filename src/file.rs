//! Files on disk: the one I/O error, which names the path it is about,
//! reading a file only when it is a regular one, and the top of the Linux
//! tree a path lies in.

use std::fs;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

/// A file or directory that could not be read or written.
#[derive(Debug, thiserror::Error)]
#[error("{}: {source}", path.display())]
pub struct IoError {
    /// The file or directory, as messages name it (a path on disk, or a
    /// walked file's name in reports).
    pub path: PathBuf,
    /// What went wrong.
    #[source]
    pub source: io::Error,
}

impl IoError {
    /// The error for `path`.
    pub fn new(path: impl Into<PathBuf>, source: io::Error) -> IoError {
        IoError {
            path: path.into(),
            source,
        }
    }

    /// A function that turns an `io::Error` into one about `path`, for
    /// `map_err`.
    pub fn at(path: &Path) -> impl FnOnce(io::Error) -> IoError + '_ {
        move |source| IoError::new(path, source)
    }
}

/// Reads `path` into `buf` when it is a regular file; anything else (a
/// FIFO, put where a file was listed or named, a device, a directory) is
/// an error saying what it is, and opening it does not block. Every file
/// a user or a tree names is read through it: a plain open of a FIFO
/// waits for a writer forever, and a device reads without end.
pub fn read_regular(path: &Path, buf: &mut Vec<u8>) -> io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let flags = rustix::fs::OFlags::NONBLOCK | rustix::fs::OFlags::NOCTTY;
    let mut file = fs::OpenOptions::new()
        .read(true)
        .custom_flags(flags.bits() as i32)
        .open(path)?;
    let kind = file.metadata()?.file_type();
    if !kind.is_file() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("not a regular file but {}", kind_name(kind)),
        ));
    }
    // O_NONBLOCK changes nothing for a regular file's reads.
    file.read_to_end(buf).map(|_| ())
}

/// The bytes of the regular file at `path` (see [`read_regular`]): what
/// `fs::read` gives, and an error for anything else.
pub fn read(path: &Path) -> io::Result<Vec<u8>> {
    let mut buf = Vec::new();
    read_regular(path, &mut buf)?;
    Ok(buf)
}

/// The text of the regular file at `path` (see [`read_regular`]): what
/// `fs::read_to_string` gives, and an error for anything else.
pub fn read_to_string(path: &Path) -> io::Result<String> {
    String::from_utf8(read(path)?).map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            "stream did not contain valid UTF-8",
        )
    })
}

/// True when `dir` is the top of a Linux tree: it holds `Makefile`,
/// `Kconfig` and `include/linux/`. A directory that merely holds an
/// `include/linux/` (a stray one in `/tmp`, `tools/` of a kernel tree) is
/// not.
pub fn is_kernel_top(dir: &Path) -> bool {
    dir.join("Makefile").is_file()
        && dir.join("Kconfig").is_file()
        && dir.join("include/linux").is_dir()
}

/// The top of the Linux tree that `path` (a file or a directory) lies in:
/// the nearest of `path` and its ancestors that [`is_kernel_top`],
/// canonical. `None` outside a kernel tree or when `path` does not exist.
pub fn kernel_top(path: &Path) -> Option<PathBuf> {
    let abs = fs::canonicalize(path).ok()?;
    abs.ancestors()
        .find(|a| is_kernel_top(a))
        .map(Path::to_path_buf)
}

/// The files the walker (the `ignore` crate) reads for git's global
/// excludes, that exist but are not regular files, with what each is: the
/// global and system git configs, then the `core.excludesFile` they name
/// (or the default `git/ignore`). Opening one, a FIFO, would block the
/// walk; a run with one of them does without global excludes. `/dev/null`,
/// which tests and scripts give as a config, reads as empty and is fine.
pub fn global_excludes_unreadable() -> Vec<(PathBuf, &'static str)> {
    let env = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
    let home = env("HOME").map(PathBuf::from);
    let xdg = env("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .or_else(|| home.as_ref().map(|h| h.join(".config")));
    let mut configs: Vec<PathBuf> = Vec::new();
    configs.extend(env("GIT_CONFIG_GLOBAL").map(PathBuf::from));
    configs.extend(home.as_ref().map(|h| h.join(".gitconfig")));
    configs.extend(xdg.as_ref().map(|x| x.join("git/config")));
    configs.push(
        env("GIT_CONFIG_SYSTEM").map_or_else(|| PathBuf::from("/etc/gitconfig"), PathBuf::from),
    );
    let bad = |p: &Path| -> Option<&'static str> {
        let m = fs::metadata(p).ok()?;
        (!m.is_file() && p != Path::new("/dev/null")).then(|| kind_name(m.file_type()))
    };
    let out: Vec<(PathBuf, &'static str)> = configs
        .into_iter()
        .filter_map(|p| bad(&p).map(|what| (p, what)))
        .collect();
    if !out.is_empty() {
        // Reading the configs to find the excludes file would block.
        return out;
    }
    ignore::gitignore::gitconfig_excludes_path()
        .and_then(|p| bad(&p).map(|what| (p, what)))
        .into_iter()
        .collect()
}

/// What a file that is not a regular one is, for messages (`a FIFO`).
pub(crate) fn kind_name(kind: fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    if kind.is_fifo() {
        "a FIFO"
    } else if kind.is_socket() {
        "a socket"
    } else if kind.is_char_device() {
        "a character device"
    } else if kind.is_block_device() {
        "a block device"
    } else if kind.is_dir() {
        "a directory"
    } else if kind.is_file() {
        "a regular file"
    } else {
        "not a file"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_replaced_by_a_fifo_is_refused_without_blocking() {
        // What a `.c` file replaced by a FIFO after it was listed meets:
        // the open does not wait for a writer, fstat says what it is.
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("x.c");
        rustix::fs::mknodat(
            rustix::fs::CWD,
            &fifo,
            rustix::fs::FileType::Fifo,
            0o600.into(),
            0,
        )
        .unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            let _ = tx.send(read_regular(&fifo, &mut buf).map_err(|e| e.to_string()));
        });
        let got = rx
            .recv_timeout(std::time::Duration::from_secs(60))
            .expect("read_regular blocked on a FIFO");
        assert_eq!(got, Err("not a regular file but a FIFO".to_string()));
        let file = dir.path().join("y.c");
        fs::write(&file, "int x;\n").unwrap();
        let mut buf = Vec::new();
        read_regular(&file, &mut buf).unwrap();
        assert_eq!(buf, b"int x;\n");
    }

    #[test]
    fn the_kernel_top_needs_makefile_kconfig_and_include_linux() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().canonicalize().unwrap();
        let top = root.join("linux");
        fs::create_dir_all(top.join("include/linux")).unwrap();
        fs::create_dir_all(top.join("drivers/block")).unwrap();
        fs::write(top.join("drivers/block/brd.c"), "").unwrap();
        // A stray include/linux above: not a tree.
        fs::create_dir_all(root.join("include/linux")).unwrap();
        assert_eq!(kernel_top(&top.join("drivers/block")), None);
        fs::write(top.join("Makefile"), "").unwrap();
        assert_eq!(kernel_top(&top.join("drivers/block")), None);
        fs::write(top.join("Kconfig"), "").unwrap();
        assert_eq!(kernel_top(&top.join("drivers/block")), Some(top.clone()));
        assert_eq!(
            kernel_top(&top.join("drivers/block/brd.c")),
            Some(top.clone())
        );
        assert_eq!(kernel_top(&top), Some(top.clone()));
        assert_eq!(kernel_top(&top.join("no/such")), None);
    }
}
