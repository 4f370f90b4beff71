//! `patch --in-place` as one transaction: a run with an error writes
//! nothing, hard links are refused rather than split, owner, group and
//! mode are kept, temporaries a killed run left are removed by the next
//! one, and SIGTERM or SIGKILL at any moment leaves the old tree or the
//! new one.

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::util::{bvmig, bvmig_command, copy_dir, kernel_tree, snapshot, user_c, TempDir};

/// The temporaries bvmig's writes use, wherever they are below `dir`.
fn temporaries(dir: &Path) -> Vec<String> {
    snapshot(dir)
        .into_keys()
        .filter(|n| n.rsplit('/').next().unwrap().starts_with(".bvmig-"))
        .collect()
}

#[test]
fn a_run_with_an_error_writes_nothing() {
    // The helpers cannot be placed: bvec.h has no struct bio_vec. The .c
    // files must not be rewritten without them.
    let t = TempDir::new();
    let top = kernel_tree(&t, "");
    t.write("include/linux/bvec.h", "struct page;\n");
    let before = snapshot(&top);
    let out = bvmig(&top, &["patch", "--in-place"]);
    assert_eq!(out.code, 2);
    let err = out.stderr_text();
    assert!(
        err.contains("bvmig: error: include/linux/bvec.h: no definition of struct bio_vec"),
        "{err}"
    );
    assert!(err.contains("bvmig: note: nothing written"), "{err}");
    // The summary counts what was written.
    assert!(err.contains("bvmig: 0 rewritten in 0 files"), "{err}");
    assert_eq!(snapshot(&top), before);
    // An input that cannot be read: the same.
    t.write("include/linux/bvec.h", crate::util::BVEC_H_BARE);
    let before = snapshot(&top);
    let out = bvmig(&top, &["patch", "--in-place", ".", "no/such.c"]);
    assert_eq!(out.code, 2);
    assert!(out.stderr_text().contains("bvmig: error: no/such.c: "));
    assert_eq!(snapshot(&top), before);
}

#[test]
fn hard_links_are_refused_not_split() {
    let t = TempDir::new();
    t.write("drivers/real.c", user_c("first"));
    t.write("drivers/other.c", user_c("second"));
    t.write("drivers/third.c", user_c("third"));
    fs::hard_link(t.path().join("drivers/real.c"), t.path().join("outside.c")).unwrap();
    fs::hard_link(t.path().join("drivers/third.c"), t.path().join("more.c")).unwrap();
    let before = snapshot(t.path());
    let out = bvmig(t.path(), &["patch", "--in-place", "drivers"]);
    assert_eq!(out.code, 2);
    assert!(
        out.stderr_text().contains(
            "bvmig: error: drivers/real.c: 2 names share this file (hard links), as does 1 other file to write, and replacing it would leave the others with the old text; nothing written"
        ),
        "{}",
        out.stderr_text()
    );
    assert_eq!(snapshot(t.path()), before);
    let meta = fs::metadata(t.path().join("outside.c")).unwrap();
    assert_eq!(meta.nlink(), 2, "the link is kept");
    assert!(temporaries(t.path()).is_empty());
}

#[test]
fn in_place_keeps_mode_owner_and_group() {
    let t = TempDir::new();
    let path = t.write("drivers/a.c", user_c("first"));
    fs::set_permissions(&path, fs::Permissions::from_mode(0o640)).unwrap();
    // Giving the file away works as root (as CI runs); otherwise the
    // owner is ours and stays so.
    let given_away = std::os::unix::fs::chown(&path, Some(4321), Some(8765)).is_ok();
    let before = fs::metadata(&path).unwrap();
    let out = bvmig(t.path(), &["patch", "--in-place", "drivers/a.c"]);
    assert_eq!(out.code, 0, "{}", out.stderr_text());
    let after = fs::metadata(&path).unwrap();
    assert_ne!(after.ino(), before.ino(), "replaced, not rewritten");
    assert_eq!(after.permissions().mode() & 0o7777, 0o640);
    assert_eq!((after.uid(), after.gid()), (before.uid(), before.gid()));
    if given_away {
        assert_eq!((after.uid(), after.gid()), (4321, 8765));
    }
}

#[test]
fn temporaries_a_killed_run_left_are_removed_and_said() {
    let t = TempDir::new();
    let top = kernel_tree(&t, "");
    // A pid no process has (pid_max is at most 2^22), and this test's own
    // pid: a run still going on keeps its temporaries.
    t.write("fs/.bvmig-99999999-AbC123.tmp", "half");
    let live = format!("fs/.bvmig-{}-AbC123.tmp", std::process::id());
    t.write(&live, "mine");
    let out = bvmig(&top, &["patch", "--in-place", "."]);
    assert_eq!(out.code, 0, "{}", out.stderr_text());
    assert!(
        out.stderr_text().contains(&format!(
            "bvmig: note: removed 1 temporary file that an interrupted bvmig run left ({})",
            "fs/.bvmig-99999999-AbC123.tmp"
        )),
        "{}",
        out.stderr_text()
    );
    assert_eq!(temporaries(&top), vec![live]);
}

/// The tree of the interruption test: many site files, so that writing
/// them takes a while, in a tree that lacks the helpers.
fn many_files(t: &TempDir) -> std::path::PathBuf {
    let top = kernel_tree(t, "template");
    for d in 0..6 {
        for f in 0..10 {
            t.write(
                &format!("template/drivers/d{d}/f{f}.c"),
                user_c(&format!("f{d}_{f}")),
            );
        }
    }
    top
}

/// A small random number generator (xorshift), seeded from the clock: the
/// moments differ from run to run, and each try prints its own.
struct Moments(u64);

impl Moments {
    fn next_below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n.max(1)
    }
}

#[test]
fn sigterm_or_sigkill_at_any_moment_leaves_the_old_tree_or_the_new_one() {
    let t = TempDir::new();
    let template = many_files(&t);
    let old = snapshot(&template);
    // The tree an uninterrupted run leaves, and how long the run takes
    // (only to spread the signals over it; nothing is asserted on time).
    let whole = t.path().join("whole");
    copy_dir(&template, &whole);
    let started = Instant::now();
    let out = bvmig(&whole, &["patch", "--in-place", "-q", "-j", "2"]);
    let span = started.elapsed().as_micros() as u64;
    assert_eq!(out.code, 0, "{}", out.stderr_text());
    let new = snapshot(&whole);
    assert_ne!(new, old);
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
        | 1;
    let mut moments = Moments(seed);
    let (mut saw_old, mut saw_new, mut caught) = (0, 0, 0);
    for attempt in 0..20 {
        let kill = attempt % 2 == 1;
        let dir = t.path().join(format!("try{attempt}"));
        copy_dir(&template, &dir);
        let child = bvmig_command(&dir, &["patch", "--in-place", "-q", "-j", "2"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_micros(moments.next_below(span + span / 4)));
        let signal = if kill {
            libc_signal::KILL
        } else {
            libc_signal::TERM
        };
        let _ = std::process::Command::new("kill")
            .args([&format!("-{signal}"), &child.id().to_string()])
            .status();
        let out = child.wait_with_output().unwrap();
        let status = out.status;
        let err = String::from_utf8_lossy(&out.stderr);
        let what = format!(
            "try {attempt} (seed {seed}, {}): {status:?}, stderr:\n{err}",
            if kill { "SIGKILL" } else { "SIGTERM" }
        );
        let got = snapshot(&dir);
        if kill {
            // Whatever the moment, a second run finishes the work and
            // removes what the first left.
            let again = bvmig(&dir, &["patch", "--in-place", "-q", "-j", "2"]);
            assert_eq!(again.code, 0, "{what}\nsecond run: {}", again.stderr_text());
            assert_eq!(snapshot(&dir), new, "{what}");
        } else {
            // Caught (143), finished before it came (0), or ended by it
            // before the writes began.
            let ok = matches!(status.code(), Some(0 | 143)) || status.signal() == Some(15);
            assert!(ok, "{what}");
            caught += usize::from(status.code() == Some(143));
            assert!(temporaries(&dir).is_empty(), "{what}");
            assert!(
                got == old || got == new,
                "{what}\n{}",
                first_difference(&got, &old, &new)
            );
        }
        if got == old {
            saw_old += 1;
        } else if got == new {
            saw_new += 1;
        }
        fs::remove_dir_all(&dir).unwrap();
    }
    eprintln!(
        "interruptions (seed {seed}): {saw_old} left the old tree, {saw_new} the new one; {caught} SIGTERMs caught while writing"
    );
}

/// What tells a tree that is neither `old` nor `new` apart.
fn first_difference(
    got: &BTreeMap<String, Vec<u8>>,
    old: &BTreeMap<String, Vec<u8>>,
    new: &BTreeMap<String, Vec<u8>>,
) -> String {
    let names: std::collections::BTreeSet<&String> =
        got.keys().chain(old.keys()).chain(new.keys()).collect();
    let state = |n: &String| match (got.get(n), old.get(n), new.get(n)) {
        (g, o, _) if g == o => "old",
        (g, _, n) if g == n => "new",
        (None, _, _) => "missing",
        _ => "neither",
    };
    let lines: Vec<String> = names
        .iter()
        .filter(|n| state(n) != "old")
        .take(20)
        .map(|n| format!("{n}: {}", state(n)))
        .collect();
    lines.join("\n")
}

/// The signal numbers, as `kill` takes them.
mod libc_signal {
    pub const TERM: i32 = 15;
    pub const KILL: i32 = 9;
}
