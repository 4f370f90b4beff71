//! `bvmig patch --series`: a real git repository of a kernel-like tree with
//! a MAINTAINERS file and a history with subject prefixes; the series it
//! writes applied one patch at a time with the real `git am` to a clean
//! clone (every C file compiled with gcc after each patch), the result
//! compared with `patch --in-place`, and `review` run over the series.

use std::fs;
use std::path::Path;
use std::process::Stdio;

use crate::util::{bvmig, bvmig_command, bvmig_stdin, git, git_as, run_tool, Output, TempDir};

const BVEC_H: &str = "\
/* SPDX-License-Identifier: GPL-2.0 */
#ifndef __LINUX_BVEC_H
#define __LINUX_BVEC_H

#define PAGE_SHIFT\t12
#define PAGE_SIZE\t(1UL << PAGE_SHIFT)
#define PAGE_MASK\t(~(PAGE_SIZE - 1))

struct page {
\tunsigned long flags;
};

struct bio_vec {
\tstruct page\t*bv_page;
\tunsigned int\tbv_len;
\tunsigned int\tbv_offset;
};

struct bvec_iter {
\tunsigned int\tbi_idx;
\tunsigned int\tbi_bvec_done;
};

#define bvec_iter_page(bvec, iter)\t\t\t\t\\
\t((bvec)[(iter).bi_idx].bv_page + ((iter).bi_bvec_done >> PAGE_SHIFT))

static inline void bvec_advance(const struct bio_vec *bvec, struct bio_vec *bv, int done)
{
\tif (done) {
\t\tbv->bv_page++;
\t\tbv->bv_offset = 0;
\t} else {
\t\tbv->bv_page = bvec->bv_page + (bvec->bv_offset >> PAGE_SHIFT);
\t\tbv->bv_offset = bvec->bv_offset & ~PAGE_MASK;
\t}
}

#endif /* __LINUX_BVEC_H */
";

const BIO_C: &str = "\
// SPDX-License-Identifier: GPL-2.0
#include <linux/bvec.h>

int bio_add_page(struct bio_vec *bv, struct bio_vec *prev, struct page *page,
\t\t unsigned int len, unsigned int offset)
{
\tif (page == prev->bv_page && offset == prev->bv_offset + prev->bv_len) {
\t\tprev->bv_len += len;
\t\treturn 0;
\t}
\tbv->bv_page = page;
\tbv->bv_len = len;
\tbv->bv_offset = offset;
\treturn 1;
}

struct page *bio_iter_page(const struct bio_vec *vecs, struct bvec_iter iter)
{
\treturn bvec_iter_page(vecs, iter);
}
";

const MERGE_C: &str = "\
// SPDX-License-Identifier: GPL-2.0
#include <linux/bvec.h>

int biovec_phys_mergeable(const struct bio_vec *vec1, const struct bio_vec *vec2)
{
\treturn vec1->bv_page + 1 == vec2->bv_page;
}
";

const BRD_C: &str = "\
// SPDX-License-Identifier: GPL-2.0
#include <linux/bvec.h>

int brd_do_bvec(struct page *page, unsigned int len, unsigned int off);

int brd_submit(struct bio_vec *vecs, int n)
{
\tint i, err = 0;

\tfor (i = 0; i < n; i++) {
\t\tstruct bio_vec bvec = vecs[i];

\t\terr = brd_do_bvec(bvec.bv_page, bvec.bv_len, bvec.bv_offset);
\t\tif (err)
\t\t\tbreak;
\t}
\treturn err;
}
";

const BTREE_C: &str = "\
// SPDX-License-Identifier: GPL-2.0
#include <linux/bvec.h>

void bch_bio_map(struct bio_vec *bv, struct page *base)
{
\tbv->bv_page = base;
\tif (!bv->bv_page)
\t\tbv->bv_len = 0;
}
";

const IOV_ITER_C: &str = "\
// SPDX-License-Identifier: GPL-2.0-only
#include <linux/bvec.h>

struct page *first_bvec_segment(const struct bio_vec *bvec, unsigned long skip)
{
\treturn bvec->bv_page + skip / PAGE_SIZE;
}

struct page **bvec_slot(struct bio_vec *bv)
{
\t/* The slot itself: no helper can stand for it. */
\treturn &bv->bv_page;
}
";

const PAGE_IO_C: &str = "\
// SPDX-License-Identifier: GPL-2.0
#include <linux/bvec.h>

void swap_bvec(struct bio_vec *bv, struct page *page)
{
\tbv->bv_page = page;
\tbv->bv_len = PAGE_SIZE;
\tbv->bv_offset = 0;
}
";

const MAINTAINERS: &str = "\
List of maintainers
===================

BCACHE (BLOCK LAYER CACHE)
M:\tColy Li <colyli@example.org>
L:\tlinux-bcache@vger.kernel.org
S:\tMaintained
F:\tdrivers/md/bcache

BLOCK LAYER
M:\tJens Axboe <axboe@example.org>
L:\tlinux-block@vger.kernel.org
S:\tMaintained
F:\tblock/
F:\tdrivers/block/
F:\tinclude/linux/bvec.h

BLOCK LAYER MERGING
R:\tMarta Kowalczyk-Łęcka <marta@example.org>
L:\tlinux-block@vger.kernel.org
S:\tMaintained
F:\tblock/blk-merge.c

THE REST
M:\tLinus Torvalds <torvalds@example.org>
L:\tlinux-kernel@vger.kernel.org
S:\tBuried alive in reporters
F:\t*
F:\t*/
";

const C_FILES: &[&str] = &[
    "block/bio.c",
    "block/blk-merge.c",
    "drivers/block/brd.c",
    "drivers/md/bcache/btree.c",
    "lib/iov_iter.c",
    "mm/page_io.c",
];

/// Appends a comment to `rel` and commits it with `subject`.
fn touch(dir: &Path, rel: &str, subject: &str) {
    let p = dir.join(rel);
    let mut text = fs::read_to_string(&p).unwrap();
    text.push_str(&format!("/* {subject} */\n"));
    fs::write(&p, text).unwrap();
    git(dir, &["commit", "-qam", subject]);
}

/// A kernel-like repository: the files committed as "Linux 6.1", then a
/// history whose subjects carry prefixes.
fn kernel_repo() -> TempDir {
    let r = TempDir::new();
    let p = r.path();
    r.write("include/linux/bvec.h", BVEC_H);
    r.write("block/bio.c", BIO_C);
    r.write("block/blk-merge.c", MERGE_C);
    r.write("drivers/block/brd.c", BRD_C);
    r.write("drivers/md/bcache/btree.c", BTREE_C);
    r.write("lib/iov_iter.c", IOV_ITER_C);
    r.write("mm/page_io.c", PAGE_IO_C);
    r.write("MAINTAINERS", MAINTAINERS);
    git(p, &["init", "-q"]);
    git(p, &["config", "user.name", "Ada Lovelace"]);
    git(p, &["config", "user.email", "ada@example.org"]);
    git(p, &["add", "."]);
    git(p, &["commit", "-qm", "Linux 6.1"]);
    touch(p, "block/bio.c", "block: note the merge rule");
    touch(p, "drivers/block/brd.c", "brd: name the loop");
    touch(p, "block/bio.c", "block: one more note");
    touch(p, "drivers/md/bcache/btree.c", "bcache: note the map");
    touch(p, "lib/iov_iter.c", "iov_iter: note the slot");
    touch(p, "mm/page_io.c", "mm: page_io: note the swap");
    r
}

/// Runs bvmig in `cwd` as a developer whose git knows only what the
/// repository's config says (and `who`, as GIT_AUTHOR_NAME and
/// GIT_AUTHOR_EMAIL, when given), at a fixed date.
fn bvmig_as_dev(cwd: &Path, args: &[&str], who: Option<(&str, &str)>) -> Output {
    let mut cmd = bvmig_command(cwd, args);
    cmd.stdin(Stdio::null())
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env_remove("GIT_AUTHOR_NAME")
        .env_remove("GIT_AUTHOR_EMAIL")
        .env("GIT_AUTHOR_DATE", "2024-11-17T12:00:00+01:00");
    if let Some((name, email)) = who {
        cmd.env("GIT_AUTHOR_NAME", name)
            .env("GIT_AUTHOR_EMAIL", email);
    }
    cmd.output().expect("bvmig runs").into()
}

/// The series' files, sorted, with their text.
fn read_series(dir: &Path) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (
                e.file_name().to_string_lossy().into_owned(),
                fs::read_to_string(e.path()).unwrap(),
            )
        })
        .collect();
    v.sort();
    v
}

/// The value of header `name` (folded lines joined) in a mail.
fn header(mail: &str, name: &str) -> String {
    let head = mail.split("\n\n").next().unwrap();
    let mut out = String::new();
    let mut on = false;
    for line in head.lines() {
        if let Some(v) = line.strip_prefix(&format!("{name}: ")) {
            out.push_str(v);
            on = true;
        } else if on && line.starts_with([' ', '\t']) {
            out.push(' ');
            out.push_str(line.trim());
        } else {
            on = false;
        }
    }
    out
}

fn compile_all(dir: &Path) {
    for f in C_FILES {
        run_tool(
            dir,
            "gcc",
            &["-fsyntax-only", "-Wall", "-Werror", "-Iinclude", f],
        )
        .unwrap_or_else(|e| panic!("{f} does not compile in {}: {e}", dir.display()));
    }
}

/// Every regular file below `dir` but `.git`, by relative path.
fn tree_files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).unwrap() {
            let e = e.unwrap();
            if e.file_name() == ".git" {
                continue;
            }
            if e.file_type().unwrap().is_dir() {
                stack.push(e.path());
            } else {
                let rel = e.path().strip_prefix(dir).unwrap().display().to_string();
                out.push((rel, fs::read(e.path()).unwrap()));
            }
        }
    }
    out.sort();
    out
}

#[test]
fn a_series_applies_with_git_am_and_equals_patch_in_place() {
    let repo = kernel_repo();
    let p = repo.path();
    compile_all(p);
    let out_dir = TempDir::new();
    let series = out_dir.path().join("series");
    let s = series.to_str().unwrap();
    let out = bvmig_as_dev(
        p,
        &[
            "patch",
            "--series",
            s,
            "--to",
            "Jens Axboe <axboe@example.org>",
            "--cc",
            "Dan Williams <dan@example.org>",
        ],
        None,
    );
    assert_eq!(out.code, 0, "{}", out.stderr_text());

    let files = read_series(&series);
    let names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        vec![
            "0000-cover-letter.patch",
            "0001-bvec-add-bvec_page-and-bvec_set_page-helpers.patch",
            "0002-block-use-bvec_page-and-bvec_set_page-helpers.patch",
            "0003-block-blk-merge-use-bvec_page-helper.patch",
            "0004-bcache-use-bvec_page-and-bvec_set_page-helpers.patch",
            "0005-iov_iter-use-bvec_page-helper.patch",
            "0006-mm-use-bvec_set_page-helper.patch",
        ]
    );
    // format-patch prints the files it writes.
    let listed: Vec<String> = out.stdout_text().lines().map(str::to_string).collect();
    assert_eq!(listed.len(), 7);
    assert!(listed[0].ends_with("series/0000-cover-letter.patch"));

    let subjects: Vec<String> = files.iter().map(|(_, m)| header(m, "Subject")).collect();
    assert_eq!(
        subjects,
        vec![
            "[PATCH 0/6] Use bvec_page() and bvec_set_page() for struct bio_vec's page",
            "[PATCH 1/6] bvec: add bvec_page() and bvec_set_page() helpers",
            "[PATCH 2/6] block: use bvec_page() and bvec_set_page() helpers",
            "[PATCH 3/6] block: blk-merge: use bvec_page() helper",
            "[PATCH 4/6] bcache: use bvec_page() and bvec_set_page() helpers",
            "[PATCH 5/6] iov_iter: use bvec_page() helper",
            "[PATCH 6/6] mm: use bvec_set_page() helper",
        ]
    );
    for (name, mail) in &files {
        assert!(
            mail.starts_with(
                "From 0000000000000000000000000000000000000000 Mon Sep 17 00:00:00 2001\nFrom: Ada Lovelace <ada@example.org>\nDate: Sun, 17 Nov 2024 12:00:00 +0100\n"
            ),
            "{name}"
        );
        assert_eq!(
            header(mail, "To"),
            "Jens Axboe <axboe@example.org>",
            "{name}"
        );
        assert!(mail.ends_with("\n-- \nbvmig 0.1.0\n\n"), "{name}");
        if name != "0000-cover-letter.patch" {
            assert!(
                mail.contains("\nSigned-off-by: Ada Lovelace <ada@example.org>\n---\n"),
                "{name}"
            );
        }
        if !name.starts_with("0000-") && !name.starts_with("0001-") {
            assert!(
                mail.contains("Generated with bvmig 0.1.0 and the semantic patch rules/bv_page.cocci\n(built in), quoted without its comments:\n\n    @ bv_page depends on patch @\n    identifier fn"),
                "{name}"
            );
        }
    }
    // Cc: --cc first, then MAINTAINERS (the most specific entry first,
    // only the lists of THE REST), never the To: address again.
    let cc: Vec<String> = files.iter().map(|(_, m)| header(m, "Cc")).collect();
    assert_eq!(
        cc[2],
        "Dan Williams <dan@example.org>, linux-block@vger.kernel.org, linux-kernel@vger.kernel.org"
    );
    assert_eq!(
        cc[3],
        "Dan Williams <dan@example.org>, Marta =?utf-8?q?Kowalczyk-=C5=81=C4=99cka?= <marta@example.org>, linux-block@vger.kernel.org, linux-kernel@vger.kernel.org"
    );
    assert_eq!(
        cc[4],
        "Dan Williams <dan@example.org>, Coly Li <colyli@example.org>, linux-bcache@vger.kernel.org, linux-kernel@vger.kernel.org"
    );
    assert_eq!(
        cc[6],
        "Dan Williams <dan@example.org>, linux-kernel@vger.kernel.org"
    );
    // The cover letter: the maintainers of the whole (the helpers'
    // header's, who is the To: here) and every list, not each
    // subsystem's people.
    assert_eq!(
        cc[0],
        "Dan Williams <dan@example.org>, linux-block@vger.kernel.org, linux-kernel@vger.kernel.org, linux-bcache@vger.kernel.org"
    );
    // Every line of a commit message fits checkpatch's 75 columns, but a
    // `dir/file:line:` position; no trailing white space; no subject twice.
    for (name, mail) in &files[1..] {
        let message = mail
            .split_once("\n\n")
            .unwrap()
            .1
            .split("\n---\n")
            .next()
            .unwrap();
        for line in message.lines() {
            let position = line.trim_start().split(':').next().unwrap().contains('/');
            assert!(line.chars().count() <= 75 || position, "{name}: {line:?}");
            assert_eq!(line.trim_end(), line, "{name}");
        }
    }
    let mut unique = subjects.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), subjects.len());

    let cover = &files[0].1;
    for line in [
        "  patch  subsystem                   files  rewritten  left\n",
        "  2/6    BLOCK LAYER                     3          7     1\n",
        "  3/6    BLOCK LAYER MERGING             1          2     0\n",
        "  4/6    BCACHE (BLOCK LAYER CACHE)      1          2     0\n",
        "  5/6    lib (no MAINTAINERS entry)      1          1     1\n",
        "  6/6    mm (no MAINTAINERS entry)       1          1     0\n",
        "         total                           7         13     2\n",
        "  include/linux/bvec.h:14:15: declaration: the member's own declaration\n",
        "  lib/iov_iter.c:12:14: address: its address is taken; a helper call has no address\n",
        "\nAda Lovelace (6):\n  bvec: add bvec_page() and bvec_set_page() helpers\n",
    ] {
        assert!(
            cover.contains(line),
            "cover letter lacks {line:?}:\n{cover}"
        );
    }
    let head = git(p, &["rev-parse", "HEAD"]).trim().to_string();
    assert!(
        cover.contains(&format!("\nbase-commit: {head}\n")),
        "{cover}"
    );
    // The patch of a subsystem says what changed and what was left.
    let block = &files[2].1;
    assert!(
        block.contains("Access the page of a struct bio_vec through bvec_page() and\nbvec_set_page() instead of the field itself, in block/, drivers/block/\nand include/linux/.\n"),
        "{block}"
    );
    assert!(
        block.contains("This rewrites 7 accesses (4 read, 2 write, 1 increment) in 3 files.\n"),
        "{block}"
    );

    // A clean clone takes the patches one by one; every file compiles
    // after each of them.
    let clones = TempDir::new();
    let clone = clones.path().join("clone");
    git(
        clones.path(),
        &["clone", "-q", p.to_str().unwrap(), "clone"],
    );
    for (name, _) in &files[1..] {
        git_as(
            &clone,
            "Maintainer",
            &["am", "-q", series.join(name).to_str().unwrap()],
        );
        compile_all(&clone);
    }
    // Each diffstat is git's.
    for (k, (name, mail)) in files[1..].iter().rev().enumerate() {
        let stat = mail
            .split("\n---\n")
            .nth(1)
            .unwrap()
            .split("\n\ndiff --git")
            .next()
            .unwrap();
        let rev = format!("HEAD~{k}");
        let want = git(&clone, &["show", "--stat=72", "--format=", &rev]);
        assert_eq!(format!("{stat}\n"), want, "{name}");
    }
    let whole = git(&clone, &["diff", "--stat=72", &head, "HEAD"]);
    assert!(
        cover.contains(&format!("\n\n{whole}\n\nbase-commit: ")),
        "{cover}\n{whole}"
    );
    let log = git(&clone, &["log", "--format=%an|%s", "-7"]);
    assert_eq!(
        log.lines().collect::<Vec<_>>(),
        vec![
            "Ada Lovelace|mm: use bvec_set_page() helper",
            "Ada Lovelace|iov_iter: use bvec_page() helper",
            "Ada Lovelace|bcache: use bvec_page() and bvec_set_page() helpers",
            "Ada Lovelace|block: blk-merge: use bvec_page() helper",
            "Ada Lovelace|block: use bvec_page() and bvec_set_page() helpers",
            "Ada Lovelace|bvec: add bvec_page() and bvec_set_page() helpers",
            "Test Author|mm: page_io: note the swap",
        ]
    );
    // The whole directory also goes in at once, the cover letter dropped.
    let all = clones.path().join("all");
    git(clones.path(), &["clone", "-q", p.to_str().unwrap(), "all"]);
    let mut am = vec!["am", "-q", "--empty=drop"];
    let paths: Vec<String> = files
        .iter()
        .map(|(n, _)| series.join(n).display().to_string())
        .collect();
    am.extend(paths.iter().map(String::as_str));
    git_as(&all, "Maintainer", &am);

    // The same as patch --in-place on another copy.
    let in_place = clones.path().join("in-place");
    git(
        clones.path(),
        &["clone", "-q", p.to_str().unwrap(), "in-place"],
    );
    let out = bvmig(&in_place, &["patch", "--in-place", "-q"]);
    assert_eq!(out.code, 0, "{}", out.stderr_text());
    assert_eq!(tree_files(&clone), tree_files(&in_place));
    assert_eq!(tree_files(&all), tree_files(&in_place));
    // The commit message carries the rule as git am recorded it.
    let msg = git(&clone, &["log", "-1", "--format=%B", "HEAD~4"]);
    assert!(
        msg.contains("\n    - E->bv_page = V\n    + bvec_set_page(E, V)\n"),
        "{msg}"
    );

    // review finds nothing in the series, from the hunks and on the tree.
    let mut mbox = Vec::new();
    for (_, m) in &files {
        mbox.extend_from_slice(m.as_bytes());
    }
    let out = bvmig_stdin(p, &["review", "-"], &mbox);
    assert_eq!(out.code, 0, "{}{}", out.stdout_text(), out.stderr_text());
    assert_eq!(out.stdout_text(), "");
    let out = bvmig_stdin(p, &["review", "--tree", ".", "-"], &mbox);
    assert_eq!(out.code, 0, "{}{}", out.stdout_text(), out.stderr_text());
    assert!(
        out.stderr_text()
            .contains("6 patches with 7 C files reviewed"),
        "{}",
        out.stderr_text()
    );
}

#[test]
fn without_a_git_identity_there_is_no_sign_off_and_a_used_directory_is_refused() {
    let repo = kernel_repo();
    let p = repo.path();
    git(p, &["config", "--unset", "user.name"]);
    git(p, &["config", "--unset", "user.email"]);
    let out_dir = TempDir::new();
    let series = out_dir.path().join("s");
    let s = series.to_str().unwrap();
    // GIT_AUTHOR_* say who the author is, but not who signs off.
    let out = bvmig_as_dev(
        p,
        &["patch", "--series", s, "-q"],
        Some(("Bot", "bot@example.org")),
    );
    assert_eq!(out.code, 0, "{}", out.stderr_text());
    assert_eq!(out.stdout_text(), "", "-q lists no files");
    let files = read_series(&series);
    assert_eq!(files.len(), 7);
    for (name, mail) in &files {
        assert!(mail.contains("\nFrom: Bot <bot@example.org>\n"), "{name}");
        assert!(!mail.contains("Signed-off-by:"), "{name}");
    }
    // A second run into the same directory would mix two series.
    let out = bvmig_as_dev(p, &["patch", "--series", s, "-q"], None);
    assert_eq!(out.code, 2);
    assert!(
        out.stderr_text().contains("holds .patch files already"),
        "{}",
        out.stderr_text()
    );
}

#[test]
fn a_series_directory_that_is_a_file_is_one_line_naming_it_and_nothing_is_written() {
    let r = TempDir::new();
    r.write("include/linux/bvec.h", BVEC_H);
    r.write("drivers/md/dm.c", MERGE_C);
    r.write("out", "a note\n");
    for (dir, kind) in [
        ("out", "a regular file"),
        ("/dev/null", "a character device"),
    ] {
        let out = bvmig_as_dev(
            r.path(),
            &["patch", "--series", dir],
            Some(("Bot", "bot@example.org")),
        );
        assert_eq!(out.code, 2, "{}", out.stderr_text());
        let err = out.stderr_text();
        assert_eq!(
            err.lines()
                .filter(|l| l.contains("error"))
                .collect::<Vec<_>>(),
            [format!("bvmig: error: {dir}: not a directory but {kind}")],
            "{err}"
        );
    }
    assert_eq!(
        std::fs::read_to_string(r.path().join("out")).unwrap(),
        "a note\n"
    );
    assert_eq!(
        std::fs::read_to_string(r.path().join("drivers/md/dm.c")).unwrap(),
        MERGE_C
    );
}

#[test]
fn a_tree_without_maintainers_or_history_groups_by_directory() {
    let r = TempDir::new();
    r.write("include/linux/bvec.h", BVEC_H);
    r.write("drivers/md/bcache/btree.c", BTREE_C);
    r.write("drivers/md/dm.c", MERGE_C);
    r.write("mm/page_io.c", PAGE_IO_C);
    let out_dir = TempDir::new();
    let s = out_dir.path().join("s");
    let out = bvmig_as_dev(
        r.path(),
        &["patch", "--series", s.to_str().unwrap(), "--no-helpers"],
        Some(("Bot", "bot@example.org")),
    );
    assert_eq!(out.code, 0, "{}", out.stderr_text());
    let files = read_series(&s);
    let subjects: Vec<String> = files.iter().map(|(_, m)| header(m, "Subject")).collect();
    assert_eq!(
        subjects,
        vec![
            "[PATCH 0/3] Use bvec_page() and bvec_set_page() for struct bio_vec's page",
            "[PATCH 1/3] bcache: use bvec_page() and bvec_set_page() helpers",
            "[PATCH 2/3] bvec: use bvec_page() and bvec_set_page() helpers",
            "[PATCH 3/3] mm: use bvec_set_page() helper",
        ]
    );
    let cover = &files[0].1;
    assert!(
        cover.contains("The tree lacks bvec_page() and bvec_set_page(), which this series does\nnot add: it does not build as it is.\n"),
        "{cover}"
    );
    assert!(
        cover.contains("  1/3    drivers/md (no MAINTAINERS entry)         2"),
        "{cover}"
    );
    assert!(!cover.contains("base-commit:"), "{cover}");
    assert!(files.iter().all(|(_, m)| !m.contains("Cc:")));
}

/// The headers of a mail before its first empty line, folded lines
/// joined, the mbox line left out.
fn head_lines(mail: &str) -> Vec<String> {
    let head = mail.split("\n\n").next().unwrap();
    let mut out: Vec<String> = Vec::new();
    for line in head.lines().skip(1) {
        if line.starts_with([' ', '\t']) {
            out.last_mut().unwrap().push_str(line);
        } else {
            out.push(line.to_string());
        }
    }
    out
}

#[test]
fn reroll_rfc_in_reply_to_and_base_are_format_patchs() {
    let repo = kernel_repo();
    let p = repo.path();
    let head = git(p, &["rev-parse", "HEAD"]).trim().to_string();
    let out_dir = TempDir::new();
    let series = out_dir.path().join("v2");
    let s = series.to_str().unwrap();
    let out = bvmig_as_dev(
        p,
        &[
            "patch",
            "--series",
            s,
            "-v",
            "2",
            "--rfc",
            "--in-reply-to",
            "cover.1@example.org",
            "--base",
            "HEAD",
            "--to",
            "Jens Axboe <axboe@example.org>",
        ],
        None,
    );
    assert_eq!(out.code, 0, "{}", out.stderr_text());
    let ours = read_series(&series);

    // The same commits, made by git am, then given to git format-patch
    // with the same options.
    let clones = TempDir::new();
    let clone = clones.path().join("clone");
    git(
        clones.path(),
        &["clone", "-q", p.to_str().unwrap(), "clone"],
    );
    for (name, _) in &ours[1..] {
        git_as(
            &clone,
            "Ada Lovelace",
            &["am", "-q", series.join(name).to_str().unwrap()],
        );
    }
    let theirs_dir = clones.path().join("theirs");
    git(
        &clone,
        &[
            "-c",
            "user.name=Ada Lovelace",
            "-c",
            "user.email=ada@example.org",
            "format-patch",
            "-q",
            "-v",
            "2",
            "--rfc",
            "--in-reply-to=cover.1@example.org",
            "--base",
            &head,
            "--abbrev=12",
            "--cover-letter",
            "--to=Jens Axboe <axboe@example.org>",
            "-o",
            theirs_dir.to_str().unwrap(),
            &format!("{head}..HEAD"),
        ],
    );
    let theirs = read_series(&theirs_dir);
    let names = |v: &[(String, String)]| v.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>();
    assert_eq!(names(&ours), names(&theirs));
    assert!(names(&ours)[0] == "v2-0000-cover-letter.patch");
    for ((name, a), (_, b)) in ours.iter().zip(&theirs) {
        let (ha, hb) = (head_lines(a), head_lines(b));
        // The thread's headers first, then From:, as git writes them.
        assert_eq!(ha[..2], hb[..2], "{name}");
        assert!(ha[2].starts_with("From: ") && hb[2].starts_with("From: "));
        assert_eq!(ha[0], "In-Reply-To: <cover.1@example.org>", "{name}");
        assert_eq!(ha[1], "References: <cover.1@example.org>", "{name}");
        let subject = |h: &[String]| h.iter().find(|l| l.starts_with("Subject: ")).cloned();
        let (sa, sb) = (subject(&ha).unwrap(), subject(&hb).unwrap());
        if name.contains("-0000-") {
            // git's cover letter has a blurb for a subject; the numbers
            // are the same.
            assert!(sa.starts_with("Subject: [RFC PATCH v2 0/6] "), "{sa}");
            assert!(sb.starts_with("Subject: [RFC PATCH v2 0/6] "), "{sb}");
            let base = format!("\n\n\nbase-commit: {head}\n-- \n");
            assert!(a.contains(&base), "{a}");
            assert!(b.contains(&base), "{b}");
        } else {
            assert_eq!(sa, sb, "{name}");
            // Each patch's message and diff is what git made of it.
            let body = |m: &str| {
                m.split_once("\n\n")
                    .unwrap()
                    .1
                    .rsplit_once("-- \n")
                    .unwrap()
                    .0
                    .to_string()
            };
            assert_eq!(body(a), body(b), "{name}");
        }
    }

    // A base the files are not at is refused; so is one that is no commit.
    for (dir, base, says) in [
        (
            "x",
            "HEAD~1",
            "--base HEAD~1: the files the series changes differ from that commit",
        ),
        ("y", "nowhere", "'nowhere' is not a commit"),
    ] {
        let out = bvmig_as_dev(
            p,
            &[
                "patch",
                "--series",
                out_dir.path().join(dir).to_str().unwrap(),
                "--base",
                base,
            ],
            None,
        );
        assert_eq!(out.code, 2);
        assert!(out.stderr_text().contains(says), "{}", out.stderr_text());
    }
}

#[test]
fn an_import_of_the_whole_tree_gives_no_prefix() {
    let r = TempDir::new();
    let p = r.path();
    for (name, text) in [
        ("include/linux/bvec.h", BVEC_H),
        ("block/bio.c", BIO_C),
        ("block/blk-merge.c", MERGE_C),
        ("drivers/block/brd.c", BRD_C),
        ("drivers/md/bcache/btree.c", BTREE_C),
        ("mm/page_io.c", PAGE_IO_C),
    ] {
        r.write(name, text);
    }
    git(p, &["init", "-q"]);
    git(p, &["config", "user.name", "Ada Lovelace"]);
    git(p, &["config", "user.email", "ada@example.org"]);
    git(p, &["add", "."]);
    // An import with a prefix, twice (a second tarball on top), and one
    // commit of a subsystem.
    git(p, &["commit", "-qm", "kernel: import linux-6.1"]);
    for name in [
        "include/linux/bvec.h",
        "block/bio.c",
        "block/blk-merge.c",
        "drivers/block/brd.c",
        "drivers/md/bcache/btree.c",
        "mm/page_io.c",
    ] {
        let path = p.join(name);
        let mut text = fs::read_to_string(&path).unwrap();
        text.push_str("/* 6.1.1 */\n");
        fs::write(path, text).unwrap();
    }
    git(p, &["commit", "-qam", "kernel: import linux-6.1.1"]);
    touch(p, "drivers/block/brd.c", "block: brd: name the loop");
    let out_dir = TempDir::new();
    let s = out_dir.path().join("s");
    let out = bvmig_as_dev(p, &["patch", "--series", s.to_str().unwrap()], None);
    assert_eq!(out.code, 0, "{}", out.stderr_text());
    let subjects: Vec<String> = read_series(&s)
        .iter()
        .map(|(_, m)| header(m, "Subject"))
        .collect();
    assert_eq!(
        subjects,
        vec![
            "[PATCH 0/6] Use bvec_page() and bvec_set_page() for struct bio_vec's page",
            "[PATCH 1/6] bvec: add bvec_page() and bvec_set_page() helpers",
            // No history but the imports: the prefix its path gives.
            "[PATCH 2/6] block: use bvec_page() and bvec_set_page() helpers",
            // The history's prefix, which block/ has too: the area added.
            "[PATCH 3/6] block: brd: use bvec_page() helper",
            "[PATCH 4/6] bcache: use bvec_page() and bvec_set_page() helpers",
            "[PATCH 5/6] bvec: use bvec_page() and bvec_set_page() helpers",
            "[PATCH 6/6] mm: use bvec_set_page() helper",
        ]
    );
}

// For people at a terminal: --color on the report lines and diagnostics.

/// Runs bvmig in `cwd` with extra environment variables.
fn bvmig_env(cwd: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    bvmig_command(cwd, args)
        .stdin(Stdio::null())
        .env_remove("NO_COLOR")
        .env_remove("CLICOLOR_FORCE")
        .envs(env.iter().copied())
        .output()
        .expect("bvmig runs")
        .into()
}

#[test]
fn color_paints_report_lines_and_diagnostics_only_when_asked() {
    let t = TempDir::new();
    crate::util::copy_dir(&crate::util::fixtures_dir().join("tree"), t.path());
    let p = t.path();
    let bold = "\x1b[1m";
    let reset = "\x1b[0m";

    let out = bvmig_env(p, &["--color", "always", "patch"], &[]);
    assert_eq!(out.code, 0);
    assert!(
        out.stderr_text().contains(&format!(
            "{bold}lib/iov_iter.c:22:14:{reset} {bold}\x1b[33maddress:{reset} its address is taken"
        )),
        "{}",
        out.stderr_text()
    );
    // The diff is data, never painted.
    assert!(!out.stdout_text().contains('\x1b'));

    // check's findings on stdout; the flag goes after the command too.
    let out = bvmig_env(p, &["check", "--color=always"], &[]);
    assert_eq!(out.code, 1);
    assert!(
        out.stdout_text().contains(&format!(
            "{bold}block/bio.c:21:21:{reset} {bold}\x1b[35mwarning:{reset} {bold}\x1b[33mread:{reset} use bvec_page(prev)\n"
        )),
        "{}",
        out.stdout_text()
    );

    // An error's level is painted.
    let out = bvmig_env(p, &["--color", "always", "patch", "missing.c"], &[]);
    assert_eq!(out.code, 2);
    assert!(
        out.stderr_text()
            .contains(&format!("bvmig: {bold}\x1b[31merror:{reset} missing.c")),
        "{}",
        out.stderr_text()
    );

    // auto: not into a pipe, unless CLICOLOR_FORCE says so and NO_COLOR
    // does not say otherwise; never: never.
    for (args, env, painted) in [
        (&["check"][..], &[][..], false),
        (&["check"], &[("CLICOLOR_FORCE", "1")], true),
        (
            &["check"],
            &[("CLICOLOR_FORCE", "1"), ("NO_COLOR", "1")],
            false,
        ),
        (
            &["--color", "never", "check"],
            &[("CLICOLOR_FORCE", "1")],
            false,
        ),
    ] {
        let out = bvmig_env(p, args, env);
        assert_eq!(out.code, 1);
        let any = out.stdout_text().contains('\x1b') || out.stderr_text().contains('\x1b');
        assert_eq!(any, painted, "{args:?} {env:?}");
    }
    let out = bvmig_env(p, &["--color", "sometimes", "check"], &[]);
    assert_eq!(out.code, 2);
}
