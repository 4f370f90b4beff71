//! `bvmig check`: each format against golden files for the bundled
//! tree, SARIF against the published schema, exit statuses, `--since` and
//! `--fix` on real git repositories, and baselines across edits and moves.

use std::fs;
use std::path::Path;

use crate::util::{
    bvmig, copy_dir, expect_file, fixtures_dir, git, git_as, run_tool, Output, TempDir,
};

/// A temp dir holding a copy of the bundled tree as `tree/`.
fn bundled() -> TempDir {
    let t = TempDir::new();
    copy_dir(&fixtures_dir().join("tree"), &t.path().join("tree"));
    t
}

fn lines(out: &Output) -> Vec<String> {
    out.stdout_text().lines().map(String::from).collect()
}

#[test]
fn golden_outputs_for_the_bundled_tree() {
    let t = bundled();
    for (format, ext) in [
        ("text", "txt"),
        ("json", "json"),
        ("sarif", "sarif"),
        ("github", "github"),
        ("lkp", "lkp"),
        ("b4", "b4"),
    ] {
        let out = bvmig(t.path(), &["check", "-q", "--format", format, "tree"]);
        assert_eq!(out.code, 1, "{format}: {}", out.stderr_text());
        assert!(out.stderr.is_empty(), "{format}: {}", out.stderr_text());
        let expected = fixtures_dir().join(format!("check/tree.expected.{ext}"));
        expect_file(&expected, &out.stdout_text());
    }
    // Without -q, the summary goes to stderr, stdout is unchanged.
    let out = bvmig(t.path(), &["check", "tree"]);
    assert_eq!(
        out.stderr_text(),
        "bvmig: rule rules/bv_page.cocci (built in); field bv_page\n\
         bvmig: 4 files walked, 4 parsed\n\
         bvmig: 12 raw accesses: 8 read, 2 write, 1 address, 1 increment (11 with a replacement); \
         3 kept raw by the rule on purpose (notes: declaration, offsetof, helpers)\n"
    );
}

pub fn sarif_validator() -> jsonschema::Validator {
    let mut schema: serde_json::Value = serde_json::from_slice(
        &fs::read(fixtures_dir().join("check/sarif-schema-2.1.0.json")).unwrap(),
    )
    .unwrap();
    // The published schema's `language` patterns have a stray `]`
    // (`...-[a-zA-Z]{2}]?$`) that the draft-7 meta-schema's `regex` format
    // rejects, so no strict validator compiles the file as published. The
    // vendored copy stays verbatim; the patterns are corrected here, in
    // memory, to what they mean. bvmig's logs have no `language`.
    fn fix_patterns(v: &mut serde_json::Value, n: &mut usize) {
        match v {
            serde_json::Value::Object(o) => {
                for (k, x) in o.iter_mut() {
                    if k == "pattern" && x == "^[a-zA-Z]{2}|^[a-zA-Z]{2}-[a-zA-Z]{2}]?$" {
                        *x = "^[a-zA-Z]{2}(-[a-zA-Z]{2})?$".into();
                        *n += 1;
                    } else {
                        fix_patterns(x, n);
                    }
                }
            }
            serde_json::Value::Array(a) => a.iter_mut().for_each(|x| fix_patterns(x, n)),
            _ => {}
        }
    }
    let mut n_fixed = 0;
    fix_patterns(&mut schema, &mut n_fixed);
    assert_eq!(n_fixed, 2);
    jsonschema::validator_for(&schema).expect("the SARIF schema compiles")
}

pub fn assert_valid_sarif(v: &jsonschema::Validator, out: &Output) {
    let log: serde_json::Value = serde_json::from_slice(&out.stdout).expect("SARIF is JSON");
    let problems: Vec<String> = v
        .iter_errors(&log)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(problems.is_empty(), "{problems:#?}");
    assert_eq!(log["version"], "2.1.0");
}

#[test]
fn sarif_validates_against_the_published_schema() {
    let v = sarif_validator();
    // The schema is strict enough to catch a wrong log.
    let wrong = serde_json::json!({"version": "2.1.0", "runs": [{"results": []}]});
    assert!(
        !v.is_valid(&wrong),
        "a run without a tool must not validate"
    );

    let t = bundled();
    let out = bvmig(t.path(), &["check", "-q", "--format", "sarif", "tree"]);
    assert_eq!(out.code, 1);
    assert_valid_sarif(&v, &out);
    let log: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let results = log["runs"][0]["results"].as_array().unwrap();
    // 12 findings and 3 notes (the declaration and the helpers' bodies).
    assert_eq!(results.len(), 15);
    let notes = results.iter().filter(|r| r["level"] == "note").count();
    assert_eq!(notes, 3);
    let with_fix = results.iter().filter(|r| r["fixes"].is_array()).count();
    assert_eq!(with_fix, 11);

    // With commits (--since) and odd names, still valid.
    let r = history();
    let out = bvmig(r.path(), &["check", "--since", "base", "--format", "sarif"]);
    assert_eq!(out.code, 1, "{}", out.stderr_text());
    assert_valid_sarif(&v, &out);
    let empty = TempDir::new();
    empty.write("clean.c", "int x;\n");
    let out = bvmig(empty.path(), &["check", "--format", "sarif"]);
    assert_eq!(out.code, 0);
    assert_valid_sarif(&v, &out);
}

#[test]
fn json_declares_its_version_and_its_documented_fields() {
    let t = bundled();
    let out = bvmig(t.path(), &["check", "-q", "--format", "json", "tree"]);
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["version"], 1);
    let text = bvmig(t.path(), &["check", "-q", "tree"]);
    assert_eq!(
        doc["findings"].as_array().unwrap().len() + doc["notes"].as_array().unwrap().len(),
        lines(&text).len()
    );
    // Every field the output has is documented.
    let docs = fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/check-json.md"))
        .unwrap();
    assert!(docs.contains("\"version\": 1"));
    let mut keys: Vec<String> = Vec::new();
    let mut collect = |v: &serde_json::Value| {
        if let Some(o) = v.as_object() {
            keys.extend(o.keys().cloned());
        }
    };
    collect(&doc);
    collect(&doc["findings"][0]);
    collect(&doc["findings"][0]["replacement"]);
    collect(&doc["summary"]);
    for k in keys {
        assert!(
            docs.contains(&format!("`{k}`")),
            "docs/check-json.md lacks `{k}`"
        );
    }
}

const HELPERS: &str = "struct bio_vec {\n\tstruct page *bv_page;\n};\n\nstatic inline struct page *bvec_page(const struct bio_vec *bv)\n{\n\treturn bv->bv_page;\n}\n\nstatic inline void bvec_set_page(struct bio_vec *bv, struct page *page)\n{\n\tbv->bv_page = page;\n}\n";
const READ: &str = "static struct page *f(struct bio_vec *bv)\n{\n\treturn bv->bv_page;\n}\n";

#[test]
fn a_converted_tree_is_clean_and_exits_0() {
    let t = TempDir::new();
    t.write("include/linux/bvec.h", HELPERS);
    t.write("block/a.c", READ);
    let out = bvmig(t.path(), &["check"]);
    assert_eq!(out.code, 1);
    assert_eq!(
        out.stdout_text(),
        "block/a.c:3:13: warning: read: use bvec_page(bv)\n\
         include/linux/bvec.h:2:15: note: declaration: the member's declaration, which the rule keeps\n\
         include/linux/bvec.h:7:13: note: read: kept on purpose: in code the rule's context excludes (a helper's own body)\n\
         include/linux/bvec.h:12:6: note: write: kept on purpose: in code the rule's context excludes (a helper's own body)\n"
    );
    assert_eq!(bvmig(t.path(), &["patch", "--in-place", "-q"]).code, 0);
    let out = bvmig(t.path(), &["check"]);
    assert_eq!(out.code, 0, "{}", out.stdout_text());
    assert_eq!(out.stdout_text().lines().count(), 3);
    assert!(out.stdout_text().lines().all(|l| l.contains(": note: ")));
    assert!(out
        .stderr_text()
        .contains("bvmig: no raw access left; 3 kept raw by the rule on purpose"));
    assert_eq!(bvmig(t.path(), &["check", "--strict"]).code, 1);
    for format in ["json", "github", "sarif"] {
        let out = bvmig(t.path(), &["check", "-q", "--format", format]);
        assert_eq!(out.code, 0, "{format}");
        let text = out.stdout_text();
        match format {
            "github" => assert_eq!(text.matches("::notice ").count(), 3, "{text}"),
            "json" => {
                let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
                assert_eq!(doc["findings"].as_array().unwrap().len(), 0);
                assert_eq!(doc["notes"].as_array().unwrap().len(), 3);
                assert_eq!(doc["summary"]["notes"], 3);
            }
            _ => assert_eq!(text.matches("\"level\": \"note\"").count(), 3, "{text}"),
        }
    }
}

/// The sites the rule keeps on purpose are notes; a site left without a
/// replacement is a warning that fails only when it is new (against a
/// baseline or a revision) or with --strict; one with a replacement fails.
#[test]
fn only_replaceable_or_new_sites_fail_unless_strict() {
    let t = TempDir::new();
    t.write("include/linux/bvec.h", HELPERS);
    t.write(
        "block/b.c",
        "#include <linux/stddef.h>\n\
         static const unsigned long off = offsetof(struct bio_vec, bv_page);\n\
         static const unsigned long sz = sizeof_field(struct bio_vec, bv_page);\n\
         static struct page **f(struct bio_vec *bv)\n{\n\treturn &bv->bv_page;\n}\n",
    );
    let out = bvmig(t.path(), &["check"]);
    assert_eq!(out.code, 0, "{}{}", out.stdout_text(), out.stderr_text());
    let text = out.stdout_text();
    assert!(
        text.contains("block/b.c:2:59: note: offsetof: kept on purpose"),
        "{text}"
    );
    assert!(
        text.contains("block/b.c:3:62: note: offsetof: kept on purpose"),
        "{text}"
    );
    assert!(
        text.contains("block/b.c:6:14: warning: address: its address is taken"),
        "{text}"
    );
    assert_eq!(bvmig(t.path(), &["check", "--strict"]).code, 1);
    // Against an empty baseline the warning is new, and fails; the notes
    // never enter a baseline.
    let out = bvmig(t.path(), &["check", "--write-baseline", "base.json"]);
    assert_eq!(out.code, 0, "{}", out.stderr_text());
    let base = fs::read_to_string(t.path().join("base.json")).unwrap();
    assert!(!base.contains("offsetof"), "{base}");
    assert_eq!(
        bvmig(t.path(), &["check", "--baseline", "base.json"]).code,
        0
    );
    t.write(
        "block/c.c",
        "static struct page **g(struct bio_vec *bv)\n{\n\treturn &bv->bv_page;\n}\n",
    );
    let out = bvmig(t.path(), &["check", "--baseline", "base.json"]);
    assert_eq!(out.code, 1, "{}", out.stdout_text());
    assert_eq!(bvmig(t.path(), &["check"]).code, 0);
}

#[test]
fn errors_exit_2_with_one_line_naming_the_place() {
    let t = TempDir::new();
    t.write("a.c", READ);
    let one_error = |args: &[&str], want: &str| {
        let out = bvmig(t.path(), args);
        assert_eq!(out.code, 2, "{args:?}: {}", out.stderr_text());
        let errors: Vec<String> = out
            .stderr_text()
            .lines()
            .filter(|l| l.starts_with("bvmig: error:"))
            .map(String::from)
            .collect();
        assert_eq!(errors.len(), 1, "{args:?}: {}", out.stderr_text());
        assert!(errors[0].starts_with(want), "{args:?}: {}", errors[0]);
        out
    };
    // A missing path is an error; the rest is still checked.
    let out = one_error(&["check", "nope", "a.c"], "bvmig: error: nope: ");
    assert_eq!(
        out.stdout_text(),
        "a.c:3:13: warning: read: use bvec_page(bv)\n"
    );
    t.write(
        "r.cocci",
        "@@\nexpression E;\n@@\n- E->bv_page +\n+ bvec_page(E)\n",
    );
    one_error(&["check", "--rule", "r.cocci"], "bvmig: error: r.cocci:4:");
    t.write("b.json", "{\"version\": 1, \"entries\": [\n}");
    one_error(
        &["check", "--baseline", "b.json"],
        "bvmig: error: b.json:2:1: not a bvmig baseline: ",
    );
    one_error(
        &["check", "--baseline", "absent.json"],
        "bvmig: error: absent.json: ",
    );
    one_error(
        &["check", "--since", "HEAD~1", "a.c"],
        "bvmig: error: a.c: not inside a git work tree; --since needs one",
    );
    git(t.path(), &["init", "-q"]);
    git(t.path(), &["add", "."]);
    git(t.path(), &["commit", "-qm", "x"]);
    one_error(&["check", "--since", "v9.9"], "bvmig: error: ");
    assert!(bvmig(t.path(), &["check", "--since", "v9.9"])
        .stderr_text()
        .contains("'v9.9' is not a commit in this repository"));
    assert_eq!(bvmig(t.path(), &["check", "--format", "xml"]).code, 2);
}

#[test]
fn invalid_utf8_in_a_file_is_checked_like_any_other() {
    // The engine works on bytes (a Latin-1 comment is common in old
    // drivers); only the JSON and SARIF texts replace what is not UTF-8.
    let t = TempDir::new();
    t.write(
        "latin1.c",
        b"/* Ren\xe9 */\nstruct page *f(struct bio_vec *bv) { return bv->bv_page; } /* caf\xe9 */\n",
    );
    let out = bvmig(t.path(), &["check", "-q"]);
    assert_eq!(out.code, 1, "{}", out.stderr_text());
    assert_eq!(
        out.stdout_text(),
        "latin1.c:2:49: warning: read: use bvec_page(bv)\n"
    );
    let out = bvmig(t.path(), &["check", "-q", "--format", "json"]);
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(doc["findings"][0]["line_text"]
        .as_str()
        .unwrap()
        .ends_with("/* caf\u{fffd} */"));
    let out = bvmig(t.path(), &["check", "-q", "--fix"]);
    assert_eq!(out.code, 1);
    fs::write(t.path().join("fix.patch"), &out.stdout).unwrap();
    run_tool(t.path(), "git", &["apply", "fix.patch"]).unwrap();
    assert!(t
        .read("latin1.c")
        .ends_with(b"return bvec_page(bv); } /* caf\xe9 */\n"));
}

/// A repository with history: `base` (tagged) holds a converted tree with
/// one raw access left; Alice then adds a function with two raw accesses
/// (one the engine rewrites, one it cannot); Bob moves code around; the
/// work tree has an uncommitted raw access and an untracked file with one.
fn history() -> TempDir {
    let r = TempDir::new();
    let p = r.path();
    r.write("include/linux/bvec.h", HELPERS);
    r.write(
        "block/old.c",
        "static struct page **old(struct bio_vec *bv)\n{\n\treturn &bv->bv_page;\n}\n",
    );
    r.write("block/a.c", "static int a(void)\n{\n\treturn 0;\n}\n");
    git(p, &["init", "-q"]);
    git(p, &["add", "."]);
    git(p, &["commit", "-qm", "block: convert to bvec_page()"]);
    git(p, &["tag", "base"]);
    r.write(
        "block/a.c",
        "static int a(void)\n{\n\treturn 0;\n}\n\nstatic void alice(struct bio_vec *bv, struct page *p, struct page ***pp)\n{\n\tbv->bv_page = p;\n\t*pp = &bv->bv_page;\n}\n",
    );
    git_as(p, "Alice Smith", &["commit", "-qam", "block: add alice()"]);
    let old = fs::read_to_string(p.join("block/old.c")).unwrap();
    r.write("block/old.c", format!("/* moved down */\n\n{old}"));
    git_as(p, "Bob Jones", &["commit", "-qam", "block: comment"]);
    let a = fs::read_to_string(p.join("block/a.c")).unwrap();
    r.write(
        "block/a.c",
        format!(
            "{a}\nstatic struct page *wip(struct bio_vec *bv)\n{{\n\treturn bv->bv_page;\n}}\n"
        ),
    );
    r.write("drivers/new.c", READ);
    r
}

#[test]
fn since_reports_only_lines_added_with_the_commit_that_added_them() {
    let r = history();
    let out = bvmig(r.path(), &["check", "--since", "base"]);
    assert_eq!(out.code, 1, "{}", out.stderr_text());
    let alice = git(r.path(), &["rev-parse", "--short=12", "HEAD~1"]);
    let alice = alice.trim();
    assert_eq!(
        lines(&out),
        [
            "block/a.c:8:6: warning: write: use bvec_set_page(bv, p)".to_string(),
            format!("block/a.c:8:6: note: added in {alice} (\"block: add alice()\") by Alice Smith <alice@example.org>"),
            "block/a.c:9:13: warning: address: its address is taken; a helper call has no address".to_string(),
            format!("block/a.c:9:13: note: added in {alice} (\"block: add alice()\") by Alice Smith <alice@example.org>"),
            "block/a.c:14:13: warning: read: use bvec_page(bv)".to_string(),
            "block/a.c:14:13: note: not committed yet".to_string(),
            "drivers/new.c:3:13: warning: read: use bvec_page(bv)".to_string(),
            "drivers/new.c:3:13: note: not committed yet".to_string(),
        ]
    );
    // The raw access from before `base`, moved by Bob, is not a straggler.
    assert!(!out.stdout_text().contains("block/old.c"));
    assert!(out
        .stderr_text()
        .contains("bvmig: 4 of 5 sites are on lines added since base\n"));
    // JSON names the commit in full.
    let out = bvmig(
        r.path(),
        &["check", "-q", "--since", "base", "--format", "json"],
    );
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["since"], "base");
    let origin = &doc["findings"][0]["origin"];
    assert_eq!(origin["committed"], true);
    assert_eq!(origin["author"], "Alice Smith");
    assert_eq!(origin["subject"], "block: add alice()");
    assert_eq!(
        origin["commit"].as_str().unwrap(),
        git(r.path(), &["rev-parse", "HEAD~1"]).trim()
    );
    assert_eq!(doc["findings"][2]["origin"]["committed"], false);
    // Paths narrow the check; a subdirectory still finds the repository.
    let out = bvmig(
        &r.path().join("block"),
        &["check", "-q", "--since", "base", "."],
    );
    assert_eq!(out.code, 1, "{}", out.stderr_text());
    assert_eq!(lines(&out).len(), 6);
    assert!(out.stdout_text().starts_with("a.c:8:6: warning: write"));
    // Since HEAD: only the work tree's changes.
    let out = bvmig(r.path(), &["check", "-q", "--since", "HEAD"]);
    assert_eq!(lines(&out).len(), 4);
}

#[test]
fn since_reads_only_the_files_changed_since() {
    let r = history();
    for i in 0..20 {
        r.write(&format!("lib/untouched{i}.c"), "static int x;\n");
    }
    git(r.path(), &["add", "lib"]);
    git(r.path(), &["commit", "-qm", "lib: more"]);
    let out = bvmig(r.path(), &["check", "--since", "HEAD"]);
    // block/a.c (modified) and drivers/new.c (untracked): the 20 files of
    // lib/ and block/old.c are not read.
    assert!(
        out.stderr_text()
            .contains("bvmig: 2 files walked, 2 parsed\n"),
        "{}",
        out.stderr_text()
    );
}

#[test]
fn cached_checks_what_git_commit_would_commit() {
    let r = history();
    let p = r.path();
    // Stage block/a.c as it is (one raw access more than HEAD), then add
    // another in the work tree only; the untracked file is not staged.
    git(p, &["add", "block/a.c"]);
    let staged = fs::read_to_string(p.join("block/a.c")).unwrap();
    r.write(
        "block/a.c",
        format!("static void later(struct bio_vec *bv)\n{{\n\tbv->bv_page = 0;\n}}\n\n{staged}"),
    );
    let out = bvmig(p, &["check", "--cached"]);
    assert_eq!(out.code, 1, "{}", out.stderr_text());
    assert_eq!(
        lines(&out),
        [
            "block/a.c:14:13: warning: read: use bvec_page(bv)",
            "block/a.c:14:13: note: not committed yet",
        ]
    );
    // Nothing staged: nothing to report, and nothing read.
    git(p, &["reset", "-q"]);
    let out = bvmig(p, &["check", "--cached"]);
    assert_eq!(out.code, 0, "{}", out.stdout_text());
    assert!(
        out.stderr_text().contains("bvmig: 0 files walked"),
        "{}",
        out.stderr_text()
    );
    // --cached and --since do not go together.
    assert_eq!(bvmig(p, &["check", "--cached", "--since", "base"]).code, 2);
}

#[test]
fn fix_is_the_patch_for_exactly_the_stragglers() {
    let r = history();
    let before_old = r.read("block/old.c");
    let out = bvmig(r.path(), &["check", "-q", "--since", "base", "--fix"]);
    assert_eq!(out.code, 1);
    // Findings on stderr, the patch on stdout.
    assert!(out
        .stderr_text()
        .contains("warning: write: use bvec_set_page(bv, p)"));
    let patch = out.stdout_text();
    assert_eq!(patch.matches("diff --git").count(), 2, "{patch}");
    assert_eq!(patch.matches("\n+").count() - 2, 3, "{patch}");
    r.write("fix.patch", &out.stdout);
    run_tool(r.path(), "git", &["apply", "fix.patch"]).unwrap();
    fs::remove_file(r.path().join("fix.patch")).unwrap();
    // What is left since base is the one the engine cannot rewrite.
    let out = bvmig(r.path(), &["check", "-q", "--since", "base"]);
    assert_eq!(out.code, 1);
    assert_eq!(
        lines(&out)[0],
        "block/a.c:9:13: warning: address: its address is taken; a helper call has no address"
    );
    assert_eq!(lines(&out).len(), 2);
    assert_eq!(r.read("block/old.c"), before_old);

    // Without --since, --fix is the same patch as `bvmig patch` when every
    // site is reported.
    let t = bundled();
    let fix = bvmig(t.path(), &["check", "-q", "--fix", "tree"]);
    let patch = bvmig(t.path(), &["patch", "-q", "tree"]);
    assert_eq!(fix.code, 1);
    assert!(!fix.stdout.is_empty());
    assert_eq!(fix.stdout_text(), patch.stdout_text());
}

#[test]
fn baseline_survives_moves_and_fails_only_on_new_sites() {
    let t = bundled();
    let out = bvmig(t.path(), &["check", "--write-baseline", "b.json", "tree"]);
    assert_eq!(out.code, 0, "{}", out.stderr_text());
    assert!(out
        .stderr_text()
        .contains("bvmig: wrote 12 sites to the baseline b.json\n"));
    let b: serde_json::Value = serde_json::from_slice(&t.read("b.json")).unwrap();
    assert_eq!(b["version"], 1);
    let out = bvmig(t.path(), &["check", "--baseline", "b.json", "tree"]);
    assert_eq!(out.code, 0, "{}", out.stdout_text());
    assert!(out
        .stderr_text()
        .contains("bvmig: baseline b.json: 12 accepted, 0 entries match nothing now\n"));

    // Unrelated edits: lines inserted above, a line reindented, the file's
    // functions reordered.
    let iov = "tree/lib/iov_iter.c";
    let text = String::from_utf8(t.read(iov)).unwrap();
    let (head, lookup) = text.split_at(text.find("static struct page **lookup").unwrap());
    let moved = format!(
        "// SPDX-License-Identifier: GPL-2.0-only\n/* a new comment */\n\n{}\n{}",
        lookup.replace("\treturn &bv->bv_page;", "        return  &bv->bv_page;"),
        head.trim_start_matches("// SPDX-License-Identifier: GPL-2.0-only\n")
    );
    t.write(iov, &moved);
    let out = bvmig(t.path(), &["check", "--baseline", "b.json", "tree"]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout_text(), moved);

    // A new raw access, identical to an accepted one but one more: reported.
    let moved = moved.replace(
        "        return  &bv->bv_page;",
        "        return  &bv->bv_page;\n\treturn &bv->bv_page;",
    );
    t.write(iov, &moved);
    let out = bvmig(t.path(), &["check", "-q", "--baseline", "b.json", "tree"]);
    assert_eq!(out.code, 1);
    assert_eq!(lines(&out).len(), 1, "{}", out.stdout_text());
    assert!(out.stdout_text().starts_with("tree/lib/iov_iter.c:"));
    assert!(out.stdout_text().contains(": warning: address: "));

    // A baseline entry whose site is gone is counted as stale.
    t.write(iov, "int nothing;\n");
    let out = bvmig(t.path(), &["check", "--baseline", "b.json", "tree"]);
    assert_eq!(out.code, 0);
    assert!(out
        .stderr_text()
        .contains("bvmig: baseline b.json: 10 accepted, 2 entries match nothing now\n"));
}

#[test]
fn output_is_identical_whatever_the_thread_count() {
    let t = TempDir::new();
    for i in 0..30 {
        t.write(&format!("d{}/f{i}.c", i % 5), format!("{READ}{HELPERS}"));
    }
    let one = bvmig(t.path(), &["check", "-j", "1", "--format", "json"]);
    let two = bvmig(t.path(), &["check", "-j", "2", "--format", "json"]);
    assert_eq!(one.code, 1);
    assert_eq!(one.stdout, two.stdout);
    assert_eq!(one.stderr, two.stderr);
}

#[test]
fn help_has_examples_and_the_exit_statuses() {
    let t = TempDir::new();
    for (cmd, exit) in [
        ("check", "Exit status: 1 when a site has a replacement"),
        (
            "review",
            "Exit status: 0 when nothing is found, 1 when something is, 2 on errors.",
        ),
    ] {
        let help = bvmig(t.path(), &[cmd, "--help"]);
        assert_eq!(help.code, 0);
        let text = help.stdout_text();
        assert!(text.contains("Examples:"), "{cmd}: {text}");
        assert!(text.contains(exit), "{cmd}: {text}");
    }
}

/// A file the walk skips on purpose (binary content) is named on stderr,
/// as `patch` names it: a check is never silent about what it did not read.
#[test]
fn check_names_the_files_the_walk_skipped() {
    let t = TempDir::new();
    t.write("a.c", READ);
    t.write("blob.c", b"int x;\0\x01bv->bv_page\n".as_slice());
    let out = bvmig(t.path(), &["check"]);
    assert_eq!(out.code, 1, "{}", out.stderr_text());
    let err = out.stderr_text();
    assert!(
        err.lines()
            .any(|l| l.starts_with("bvmig: note: ") && l.contains("blob.c")),
        "{err}"
    );
    assert!(!out.stdout_text().contains("blob.c"));
    // -q is quiet.
    assert!(bvmig(t.path(), &["check", "-q"]).stderr.is_empty());
}

/// The helpers a patch adds are written as the rule leaves the tree's own
/// (reads through `bvec_page()`): after `patch --in-place` there is nothing
/// left to convert, and a second run is empty.
#[test]
fn helpers_added_by_the_idioms_rule_need_no_second_run() {
    let t = TempDir::new();
    t.write("Makefile", "");
    t.write("Kconfig", "");
    t.write(
        "include/linux/bvec.h",
        "struct bio_vec {\n\tstruct page *bv_page;\n\tunsigned int bv_len;\n\tunsigned int bv_offset;\n};\n\n\
         static inline void bvec_set_page(struct bio_vec *bv, struct page *page,\n\t\tunsigned int len, unsigned int offset)\n{\n\tbv->bv_page = page;\n\tbv->bv_len = len;\n\tbv->bv_offset = offset;\n}\n\n\
         static inline void *bvec_virt(struct bio_vec *bvec)\n{\n\treturn page_address(bvec->bv_page) + bvec->bv_offset;\n}\n",
    );
    t.write(
        "block/a.c",
        "struct folio *f(struct bio_vec *bv)\n{\n\tg(bv->bv_page);\n\treturn page_folio(bv->bv_page);\n}\n",
    );
    let out = bvmig(t.path(), &["patch", "--in-place"]);
    assert_eq!(out.code, 0, "{}", out.stderr_text());
    assert!(
        out.stderr_text().contains("bv_page-idioms"),
        "{}",
        out.stderr_text()
    );
    let bvec = fs::read_to_string(t.path().join("include/linux/bvec.h")).unwrap();
    assert!(
        bvec.contains("return page_folio(bvec_page(bvec));"),
        "{bvec}"
    );
    let out = bvmig(t.path(), &["check"]);
    assert_eq!(out.code, 0, "{}{}", out.stdout_text(), out.stderr_text());
    let again = bvmig(t.path(), &["patch"]);
    assert_eq!(again.code, 0);
    assert!(again.stdout.is_empty(), "{}", again.stdout_text());
}
