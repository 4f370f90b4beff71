//! Writing a rewrite into the tree (`patch --in-place`) as one transaction.
//!
//! **Invariant:** a run changes every file it means to, or none. First
//! every new text is written to a temporary file beside the file it
//! replaces (mode always, owner and group where the process may), and
//! their file systems are synced;
//! then, and only when that all worked, the temporaries are renamed over
//! the files, the helpers' header first. An error or SIGINT/SIGTERM before
//! the renames removes the temporaries and changes nothing; a signal
//! during them lets them finish. A run with errors writes nothing, and
//! files that share their data with other names (hard links) are refused
//! rather than split. Only SIGKILL can leave temporaries behind: their
//! names say they are bvmig's (`.bvmig-PID-XXXXXX.tmp`) and the next
//! `--in-place` run over the tree removes those of processes that are
//! gone.

use std::fs;
use std::io::{self, Write};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, Once};

use ignore::{WalkBuilder, WalkState};
use tempfile::TempPath;

use crate::engine::placement::BVEC_HEADER;
use crate::engine::tree::{Patched, TreeError};

/// What a write did.
#[derive(Debug, Default)]
pub struct Written {
    /// The files replaced, as reports name them, in the order written.
    pub files: Vec<String>,
    /// Temporary files that earlier, killed runs left, now removed.
    pub removed: Vec<PathBuf>,
    /// The signal (SIGINT or SIGTERM) that asked the run to stop, if one
    /// came: before the renames nothing was written, during them they
    /// were finished.
    pub signal: Option<i32>,
    /// What went wrong; with an error before the renames, nothing was
    /// written.
    pub errors: Vec<TreeError>,
}

/// The signal received since [`in_place`] started listening, if any.
static SIGNAL: AtomicUsize = AtomicUsize::new(0);

/// From the first call on, SIGINT and SIGTERM no longer end the process:
/// they are recorded for [`in_place`] and [`signal_received`] to act on.
fn listen() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
            // Registration fails only for signals that cannot be caught.
            let _ = signal_hook::flag::register_usize(sig, &SIGNAL, sig as usize);
        }
    });
}

/// The SIGINT or SIGTERM received while [`in_place`] was writing or
/// since, if any; the caller should exit with 128 plus it.
pub fn signal_received() -> Option<i32> {
    match SIGNAL.load(Ordering::SeqCst) {
        0 => None,
        s => i32::try_from(s).ok(),
    }
}

/// The name of a signal [`signal_received`] returns.
pub fn signal_name(sig: i32) -> &'static str {
    match sig {
        signal_hook::consts::SIGINT => "SIGINT",
        signal_hook::consts::SIGTERM => "SIGTERM",
        _ => "a signal",
    }
}

/// The prefix of this process's temporary files.
fn temp_prefix() -> String {
    format!(".bvmig-{}-", std::process::id())
}

/// The process id in the name of a bvmig temporary file
/// (`.bvmig-PID-XXXXXX.tmp`), if it is one.
fn temp_owner(name: &str) -> Option<u32> {
    let rest = name.strip_prefix(".bvmig-")?.strip_suffix(".tmp")?;
    let (pid, random) = rest.split_once('-')?;
    let ok = random.len() == 6 && random.bytes().all(|b| b.is_ascii_alphanumeric());
    ok.then(|| pid.parse().ok()).flatten()
}

/// True when process `pid` still runs (as far as `/proc` tells; without
/// it, a temporary is taken to be left over).
fn alive(pid: u32) -> bool {
    Path::new("/proc/self").exists() && Path::new("/proc").join(pid.to_string()).exists()
}

/// Removes the temporary files that bvmig processes that are gone left
/// below `roots`; the paths removed.
fn remove_left_over(roots: &[PathBuf]) -> Vec<PathBuf> {
    let Some((first, rest)) = roots.split_first() else {
        return Vec::new();
    };
    let found = Mutex::new(Vec::new());
    let mut walk = WalkBuilder::new(first);
    for r in rest {
        walk.add(r);
    }
    walk.standard_filters(false)
        .follow_links(false)
        .filter_entry(|e| e.file_name() != ".git")
        .build_parallel()
        .run(|| {
            let found = &found;
            Box::new(move |entry| {
                if let Ok(e) = entry {
                    let ours = e.file_name().to_str().and_then(temp_owner);
                    let is_file = e.file_type().is_some_and(|t| t.is_file());
                    if is_file && ours.is_some_and(|pid| !alive(pid)) {
                        found
                            .lock()
                            .expect("no panics while locked")
                            .push(e.into_path());
                    }
                }
                WalkState::Continue
            })
        });
    let mut found = found.into_inner().expect("no panics while locked");
    found.sort();
    found.retain(|p| fs::remove_file(p).is_ok());
    // Named as the user would: `fs/.bvmig-…`, not `./fs/.bvmig-…`.
    found
        .into_iter()
        .map(|p| {
            p.components()
                .filter(|c| !matches!(c, std::path::Component::CurDir))
                .collect()
        })
        .collect()
}

/// One file's new text, waiting in its temporary file.
struct Staged<'a> {
    name: &'a str,
    target: PathBuf,
    temp: TempPath,
    /// The file system it is on.
    dev: u64,
}

/// Writes every changed file of `patched` as one transaction (see the
/// module's invariant). A run that has errors already writes nothing.
/// From this call on, SIGINT and SIGTERM are caught: see
/// `signal_received`.
pub fn in_place(patched: &Patched) -> Written {
    let mut out = Written::default();
    if !patched.errors.is_empty() {
        return out;
    }
    listen();
    out.removed = remove_left_over(&patched.paths);
    let mut staged: Vec<Staged> = Vec::new();
    for (f, new) in patched.changed() {
        if let Some(sig) = signal_received() {
            out.signal = Some(sig);
            return out;
        }
        match stage(&f.path, new) {
            Ok(Stage::Ready(target, temp, dev)) => staged.push(Staged {
                name: &f.name,
                target,
                temp,
                dev,
            }),
            // One line for all: a `cp -al` copy has hundreds.
            Ok(Stage::Shared(n)) => match out.errors.iter_mut().find_map(|e| match e {
                TreeError::HardLinks { others, .. } => Some(others),
                _ => None,
            }) {
                Some(others) => *others += 1,
                None => out.errors.push(TreeError::HardLinks {
                    name: f.name.clone(),
                    links: n,
                    others: 0,
                }),
            },
            Err(source) => out.errors.push(TreeError::Stage {
                name: f.name.clone(),
                source,
            }),
        }
    }
    // On disk before any rename, so that a crash cannot leave a renamed
    // file without its data: one sync of each file system written to
    // (a sync per file costs a journal commit each).
    let mut synced: Vec<u64> = Vec::new();
    for s in &staged {
        if out.signal.is_some() || !out.errors.is_empty() {
            break;
        }
        if synced.contains(&s.dev) {
            continue;
        }
        synced.push(s.dev);
        let sync = fs::File::open(&s.temp).and_then(|f| Ok(rustix::fs::syncfs(&f)?));
        if let Err(source) = sync {
            out.errors.push(TreeError::Stage {
                name: s.name.to_string(),
                source,
            });
        }
        out.signal = signal_received();
    }
    // Dropping the staged files removes the temporaries.
    out.signal = signal_received();
    if !out.errors.is_empty() || out.signal.is_some() {
        return out;
    }
    // The helpers before the files that call them.
    staged.sort_by_key(|s| !s.name.ends_with(BVEC_HEADER));
    for s in staged {
        match s.temp.persist(&s.target) {
            Ok(()) => out.files.push(s.name.to_string()),
            Err(e) => out.errors.push(TreeError::Write {
                name: s.name.to_string(),
                source: e.error,
            }),
        }
    }
    out.signal = signal_received();
    out
}

/// A file's new text written beside it, or why not.
enum Stage {
    /// The file to replace (a named symlink's target), the temporary
    /// that holds its new text, and their file system.
    Ready(PathBuf, TempPath, u64),
    /// The file has this many hard links.
    Shared(u64),
}

/// Writes `data` into a temporary file beside `path` with `path`'s mode,
/// and its owner and group where the process may set them.
fn stage(path: &Path, data: &[u8]) -> io::Result<Stage> {
    let target = if fs::symlink_metadata(path)?.file_type().is_symlink() {
        fs::canonicalize(path)?
    } else {
        path.to_path_buf()
    };
    let meta = fs::metadata(&target)?;
    if meta.nlink() > 1 {
        return Ok(Stage::Shared(meta.nlink()));
    }
    let dir = target
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut tmp = tempfile::Builder::new()
        .prefix(&temp_prefix())
        .suffix(".tmp")
        .rand_bytes(6)
        .tempfile_in(dir)?;
    tmp.write_all(data)?;
    let mine = tmp.as_file().metadata()?;
    if (mine.uid(), mine.gid()) != (meta.uid(), meta.gid()) {
        let owned = std::os::unix::fs::fchown(tmp.as_file(), Some(meta.uid()), Some(meta.gid()));
        // Only root may give a file away; others keep what they can.
        if mine.uid() == 0 {
            owned?;
        }
    }
    fs::set_permissions(tmp.path(), meta.permissions())?;
    Ok(Stage::Ready(target, tmp.into_temp_path(), meta.dev()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temporaries_are_known_by_their_name() {
        let name = format!("{}abc123.tmp", temp_prefix());
        assert_eq!(temp_owner(&name), Some(std::process::id()));
        assert!(alive(std::process::id()));
        for other in [
            ".bvmig-abc123",
            ".bvmig-12-abc12.tmp",
            ".bvmig-x-abc123.tmp",
            "bvmig-12-abc123.tmp",
            ".bvmig-12-abc123",
        ] {
            assert_eq!(temp_owner(other), None, "{other}");
        }
    }

    #[test]
    fn only_temporaries_of_processes_gone_are_removed() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        fs::create_dir_all(d.join("a/.git")).unwrap();
        // No process has a pid this large (pid_max is at most 2^22).
        let dead = d.join("a/.bvmig-99999999-abcDEF.tmp");
        let live = d.join(format!("a/{}abcdef.tmp", temp_prefix()));
        let in_git = d.join("a/.git/.bvmig-99999999-abcdef.tmp");
        let other = d.join("a/.bvmig-notes.tmp");
        for p in [&dead, &live, &in_git, &other] {
            fs::write(p, "x").unwrap();
        }
        assert_eq!(remove_left_over(&[d.to_path_buf()]), vec![dead.clone()]);
        assert!(!dead.exists() && live.exists() && in_git.exists() && other.exists());
    }
}
