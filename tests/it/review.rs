//! `bvmig review`: series made by the real `git format-patch` from real
//! repositories, read from a file and from stdin, from the hunks alone and
//! applied to a tree; the fix-ups applied with the real `git apply`.

use std::fs;
use std::path::Path;

use crate::check::{assert_valid_sarif, sarif_validator};
use crate::util::{bvmig, bvmig_stdin, copy_dir, fixtures_dir, git, run_tool, TempDir};

/// Replaces `from` by `to` in file `rel` below `dir`, once.
fn edit(dir: &Path, rel: &str, from: &str, to: &str) {
    let p = dir.join(rel);
    let text = fs::read_to_string(&p).unwrap();
    assert!(text.contains(from), "{rel} lacks {from:?}");
    fs::write(&p, text.replacen(from, to, 1)).unwrap();
}

/// A repository of the bundled tree, converted (tag `converted`), then two
/// commits that bring raw accesses back: one inside a function, one a new
/// function at the end of a file.
fn repo() -> TempDir {
    let r = TempDir::new();
    let p = r.path();
    copy_dir(&fixtures_dir().join("tree"), p);
    git(p, &["init", "-q"]);
    assert_eq!(bvmig(p, &["patch", "--in-place", "-q"]).code, 0);
    git(p, &["add", "."]);
    git(p, &["commit", "-qm", "block: convert to bvec_page()"]);
    git(p, &["tag", "converted"]);
    edit(
        p,
        "drivers/block/brd.c",
        "\t\tsector += len >> SECTOR_SHIFT;\n",
        "\t\tsector += len >> SECTOR_SHIFT;\n\t\tif (!bvec.bv_page)\n\t\t\tbreak;\n",
    );
    git(p, &["commit", "-qam", "brd: stop at a hole"]);
    let mut iov = fs::read_to_string(p.join("lib/iov_iter.c")).unwrap();
    iov.push_str("\nstatic void more(struct bio_vec *bv, struct page **pp)\n{\n\tpp[0] = (void *)&bv->bv_page;\n\tbv->bv_page = pp[1];\n}\n");
    fs::write(p.join("lib/iov_iter.c"), iov).unwrap();
    git(p, &["commit", "-qam", "iov_iter: add more()"]);
    r
}

const FINDINGS: &str = "drivers/block/brd.c:22:13: warning: read: use bvec_page(&bvec)
drivers/block/brd.c:22:13: note: in patch 1: [PATCH 1/2] brd: stop at a hole
lib/iov_iter.c:27:23: warning: address: its address is taken; a helper call has no address
lib/iov_iter.c:27:23: note: in patch 2: [PATCH 2/2] iov_iter: add more()
lib/iov_iter.c:28:6: warning: write: use bvec_set_page(bv, pp[1])
lib/iov_iter.c:28:6: note: in patch 2: [PATCH 2/2] iov_iter: add more()
";

#[test]
fn a_format_patch_series_from_the_hunks_alone() {
    let r = repo();
    let p = r.path();
    let mbox = git(p, &["format-patch", "-2", "--stdout"]);
    r.write("series.mbox", &mbox);
    let out = bvmig(p, &["review", "series.mbox"]);
    assert_eq!(out.code, 1, "{}", out.stderr_text());
    let text = out.stdout_text();
    assert!(text.starts_with(FINDINGS), "{text}");
    assert_eq!(
        out.stderr_text(),
        "bvmig: 2 patches with 2 C files reviewed from the hunks alone\n\
         bvmig: 3 raw accesses: 1 read, 1 write, 1 address (2 with a replacement) on added lines; 0 kept raw by the rule\n"
    );
    // The same from stdin.
    let piped = bvmig_stdin(p, &["review", "-"], mbox.as_bytes());
    assert_eq!(piped.stdout, out.stdout);

    // Each fix-up applies on top of its patch and clears what it can.
    let sections: Vec<&str> = text
        .split("\nsuggested fix-up, on top of patch ")
        .skip(1)
        .collect();
    assert_eq!(sections.len(), 2, "{text}");
    for (i, section) in sections.iter().enumerate() {
        let diff = &section[section.find("diff --git").unwrap()..];
        let at = format!("HEAD~{}", 1 - i);
        let w = TempDir::new();
        git(
            p,
            &[
                "worktree",
                "add",
                "-q",
                "--detach",
                w.path().to_str().unwrap(),
                &at,
            ],
        );
        w.write("fix.patch", diff);
        run_tool(w.path(), "git", &["apply", "fix.patch"]).unwrap();
        fs::remove_file(w.path().join("fix.patch")).unwrap();
        // The lines this patch adds, fixed up.
        let left = bvmig(w.path(), &["check", "-q", "--since", "HEAD~1"]);
        // What remains is what the engine cannot rewrite.
        let only_address = left
            .stdout_text()
            .lines()
            .filter(|l| l.contains(": warning: "))
            .all(|l| l.contains(": warning: address: "));
        assert!(only_address, "{}", left.stdout_text());
        assert_eq!(left.code, if i == 0 { 0 } else { 1 });
    }
}

#[test]
fn on_a_tree_the_series_is_applied_and_the_results_checked() {
    let r = repo();
    let p = r.path();
    let mbox = git(p, &["format-patch", "-2", "--stdout"]);
    let base = TempDir::new();
    git(
        p,
        &[
            "worktree",
            "add",
            "-q",
            "--detach",
            base.path().to_str().unwrap(),
            "converted",
        ],
    );
    let before = fs::read(base.path().join("lib/iov_iter.c")).unwrap();
    let out = bvmig_stdin(
        p,
        &["review", "--tree", base.path().to_str().unwrap()],
        mbox.as_bytes(),
    );
    assert_eq!(out.code, 1, "{}", out.stderr_text());
    let text = out.stdout_text();
    assert!(text.starts_with(FINDINGS), "{text}");
    assert!(out.stderr_text().contains("reviewed on a copy of "));
    // The tree is left as it was.
    assert_eq!(
        fs::read(base.path().join("lib/iov_iter.c")).unwrap(),
        before
    );
    // One fix-up for the whole series: it applies where the series ends.
    let diff = &text[text
        .find("suggested fix-up, on top of the series\n")
        .unwrap()..];
    let diff = &diff[diff.find("diff --git").unwrap()..];
    r.write("fix.patch", diff);
    run_tool(p, "git", &["apply", "fix.patch"]).unwrap();

    // A series that does not apply is an error naming the patch.
    edit(
        base.path(),
        "drivers/block/brd.c",
        "bio_endio(bio);",
        "bio_endio(bio); /* x */",
    );
    edit(
        base.path(),
        "drivers/block/brd.c",
        "\t\tsector += len",
        "\t\tsector -= len",
    );
    let out = bvmig_stdin(
        p,
        &["review", "--tree", base.path().to_str().unwrap()],
        mbox.as_bytes(),
    );
    assert_eq!(out.code, 2);
    assert!(
        out.stderr_text().starts_with(
            "bvmig: error: patch 1 ([PATCH 1/2] brd: stop at a hole) does not apply to "
        ),
        "{}",
        out.stderr_text()
    );
}

#[test]
fn the_whole_tree_as_a_patch_reports_every_site_and_its_conversion_nothing() {
    // The original files as one patch: review finds what check finds.
    let t = TempDir::new();
    let p = t.path();
    git(p, &["init", "-q"]);
    git(p, &["commit", "-q", "--allow-empty", "-m", "empty"]);
    copy_dir(&fixtures_dir().join("tree"), p);
    git(p, &["add", "."]);
    git(p, &["commit", "-qm", "add the tree"]);
    let mbox = git(p, &["format-patch", "-1", "--stdout"]);
    let out = bvmig_stdin(p, &["review", "-q"], mbox.as_bytes());
    assert_eq!(out.code, 1);
    let reviewed: Vec<String> = out
        .stdout_text()
        .lines()
        .filter(|l| l.contains(": warning: "))
        .map(String::from)
        .collect();
    let checked = bvmig(p, &["check", "-q"]);
    let checked: Vec<String> = checked
        .stdout_text()
        .lines()
        .filter(|l| !l.contains(": note: "))
        .map(String::from)
        .collect();
    assert_eq!(reviewed.len(), 12);
    assert_eq!(reviewed, checked);

    // bvmig's own conversion, reviewed as a patch, adds no raw access.
    let conversion = bvmig(p, &["patch", "-q"]);
    let out = bvmig_stdin(p, &["review"], &conversion.stdout);
    assert_eq!(out.code, 0, "{}", out.stdout_text());
    assert!(out.stdout.is_empty());
}

#[test]
fn mails_encoded_for_transport_and_machine_formats() {
    let t = TempDir::new();
    // Quoted-printable, as some mailers send patches: `=3D` is `=`, and a
    // soft line break (`=` at the end) joins two lines.
    let mail = [
        "From: A U Thor <a@u.thor>",
        "Subject: [PATCH] mm: use the page",
        "Content-Type: text/plain; charset=UTF-8",
        "Content-Transfer-Encoding: quoted-printable",
        "",
        "Use it.",
        "---",
        "diff --git a/mm/x.c b/mm/x.c",
        "--- a/mm/x.c",
        "+++ b/mm/x.c",
        "@@ -10,4 +10,5 @@ static void x(struct bio_vec *bv)",
        " {",
        " \tstruct page *p;",
        "+\tp =3D bv->bv_pa=",
        "ge;",
        " \tput_page(p);",
        " }",
        "",
    ]
    .join("\n");
    t.write("x.eml", mail);
    let out = bvmig(t.path(), &["review", "-q", "x.eml"]);
    assert_eq!(out.code, 1, "{}", out.stderr_text());
    assert!(
        out
        .stdout_text()
        .starts_with("mm/x.c:12:10: warning: read: use bvec_page(bv)\nmm/x.c:12:10: note: in patch 1: [PATCH] mm: use the page\n"),
        "{}",
        out.stdout_text()
    );

    let out = bvmig(t.path(), &["review", "-q", "--format", "json", "x.eml"]);
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["version"], 1);
    assert_eq!(doc["command"], "review");
    assert_eq!(
        doc["findings"][0]["patch"]["subject"],
        "[PATCH] mm: use the page"
    );
    assert_eq!(doc["findings"][0]["function"], "x");
    assert!(doc["suggestions"][0]["diff"]
        .as_str()
        .unwrap()
        .contains("+\tp = bvec_page(bv);\n"));
    let out = bvmig(t.path(), &["review", "-q", "--format", "sarif", "x.eml"]);
    assert_eq!(out.code, 1);
    assert_valid_sarif(&sarif_validator(), &out);
    let out = bvmig(t.path(), &["review", "-q", "--format", "github", "x.eml"]);
    assert_eq!(
        out.stdout_text(),
        "::warning file=mm/x.c,line=12,col=10,endColumn=17,title=bvmig read::use bvec_page(bv) (in patch 1: [PATCH] mm: use the page)\n"
    );
}

#[test]
fn bad_inputs_exit_2_with_one_line() {
    let t = TempDir::new();
    let one_error = |args: &[&str], want: &str| {
        let out = bvmig(t.path(), args);
        assert_eq!(out.code, 2, "{args:?}");
        assert_eq!(
            out.stderr_text().lines().count(),
            1,
            "{}",
            out.stderr_text()
        );
        assert!(out.stderr_text().starts_with(want), "{}", out.stderr_text());
    };
    one_error(&["review", "absent.patch"], "bvmig: error: absent.patch: ");
    t.write("notes.txt", "just words\n");
    one_error(
        &["review", "notes.txt"],
        "bvmig: error: notes.txt: no diff found",
    );
    t.write(
        "cut.patch",
        "--- a/x.c\n+++ b/x.c\n@@ -1,4 +1,4 @@\n a\n-b\n",
    );
    one_error(
        &["review", "cut.patch"],
        "bvmig: error: cut.patch: patch 1: x.c: hunk '@@ -1,4 +1,4 @@' ends after 2 of its lines",
    );
    // A patch of other files is clean.
    t.write(
        "doc.patch",
        "--- a/README\n+++ b/README\n@@ -1 +1 @@\n-bv_page\n+bv->bv_page\n",
    );
    let out = bvmig(t.path(), &["review", "doc.patch"]);
    assert_eq!(out.code, 0);
}

#[test]
fn message_ids_and_subjects_per_patch_in_json_and_sarif() {
    let r = repo();
    let p = r.path();
    let mbox = git(
        p,
        &[
            "format-patch",
            "-3",
            "--thread",
            "--cover-letter",
            "--stdout",
        ],
    );
    let ids: Vec<&str> = mbox
        .lines()
        .filter_map(|l| l.strip_prefix("Message-ID: <"))
        .map(|l| l.trim_end_matches('>'))
        .collect();
    assert_eq!(ids.len(), 4, "{mbox}");
    r.write("series.mbox", &mbox);

    let out = bvmig(p, &["review", "-q", "--format", "json", "series.mbox"]);
    assert_eq!(out.code, 1, "{}", out.stderr_text());
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    // One entry per patch that changes files, clean ones included; the
    // cover letter changes none.
    let patches = doc["patches"].as_array().unwrap();
    let got: Vec<(u64, &str, &str, u64, u64)> = patches
        .iter()
        .map(|q| {
            (
                q["index"].as_u64().unwrap(),
                q["subject"].as_str().unwrap(),
                q["message_id"].as_str().unwrap(),
                q["findings"].as_u64().unwrap(),
                q["fixable"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            // From the hunks alone, one site of the conversion is left.
            (2, "[PATCH 1/3] block: convert to bvec_page()", ids[1], 1, 0),
            (3, "[PATCH 2/3] brd: stop at a hole", ids[2], 1, 1),
            (4, "[PATCH 3/3] iov_iter: add more()", ids[3], 2, 1),
        ]
    );
    for f in doc["findings"].as_array().unwrap() {
        let index = f["patch"]["index"].as_u64().unwrap() as usize;
        assert_eq!(f["patch"]["message_id"], ids[index - 1]);
    }
    for s in doc["suggestions"].as_array().unwrap() {
        assert!(s["patch"]["message_id"]
            .as_str()
            .is_some_and(|id| ids.contains(&id)));
    }

    let out = bvmig(p, &["review", "-q", "--format", "sarif", "series.mbox"]);
    assert_eq!(out.code, 1);
    assert_valid_sarif(&sarif_validator(), &out);
    let log: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let run = &log["runs"][0];
    assert_eq!(run["properties"]["patches"], doc["patches"]);
    let results = run["results"].as_array().unwrap();
    assert_eq!(results.len(), 4);
    for res in results {
        let index = res["properties"]["patch"].as_u64().unwrap() as usize;
        assert_eq!(res["properties"]["patchMessageId"], ids[index - 1]);
    }

    // A bare diff has no Message-Id.
    let diff = git(p, &["diff", "HEAD~1"]);
    let out = bvmig_stdin(p, &["review", "-q", "--format", "json"], diff.as_bytes());
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(doc["patches"][0]["message_id"].is_null());
    assert!(doc["findings"][0]["patch"]["message_id"].is_null());
}
