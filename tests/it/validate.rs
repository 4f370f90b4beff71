//! `bvmig validate` on the semantic fixtures: every one passes, in the
//! `bv_page`, `bv_pfn` and `bv_phys` layouts, and the harness catches wrong
//! rewrites (a dropped array index, a read swapped for a write, a dropped
//! offset in each layout) and a `bvec_page()` of page-less memory, naming
//! the fixture and the first difference.

use std::path::{Path, PathBuf};

use bvmig::validate::{self, Error, Options, Report};
use bvmig::Engine;
use bvmig::RuleFile;

use crate::util::{fixtures_dir, TempDir};

fn semantic() -> PathBuf {
    fixtures_dir().join("semantic")
}

fn run_in(dir: &Path, opts: &Options) -> Report {
    validate::run(dir, opts).unwrap_or_else(|e| panic!("{e}"))
}

/// The default rule's output for a fixture, as text.
fn converted(name: &str) -> String {
    let original = std::fs::read(semantic().join(name).join("fixture.c")).unwrap();
    let out = Engine::new(RuleFile::default_rule()).rewrite(&original);
    String::from_utf8(out.new_text.expect("the fixture has sites")).unwrap()
}

/// Validates one fixture with `converted` in place of the rule's output.
fn with_converted(name: &str, converted: String) -> Report {
    let mut opts = Options {
        only: vec![name.to_owned()],
        ..Options::default()
    };
    opts.converted
        .insert(name.to_owned(), converted.into_bytes());
    run_in(&semantic(), &opts)
}

#[test]
fn every_semantic_fixture_keeps_its_meaning() {
    let report = run_in(&semantic(), &Options::default());
    let text = report.render();
    assert!(report.fixtures.len() >= 12, "{text}");
    assert_eq!(report.exit_code(), 0, "{text}");
    assert!(text.ends_with(" 0 failed, 0 broken\n"), "{text}");

    // The final versions did I/O to page-less memory through
    // kmap_atomic_pfn_t, sg_set_pfn/sg_phys and dma_map_pfn.
    let ran_pageless = |fixture: &str, scenario: &str| {
        report
            .fixtures
            .iter()
            .filter(|f| f.name == fixture)
            .flat_map(|f| &f.originals)
            .any(|s| s.name == scenario && s.pageless)
    };
    assert!(ran_pageless("bio_copy_data", "pmem_to_dram"), "{text}");
    assert!(ran_pageless("rq_map_sg", "pmem"), "{text}");
    assert!(ran_pageless("dma_map_segments", "pmem"), "{text}");
    let n_pageless = report
        .fixtures
        .iter()
        .flat_map(|f| &f.originals)
        .filter(|s| s.pageless)
        .count();
    assert!(n_pageless >= 10, "{text}");
}

/// Coccinelle 1.1.1 rewrites `block->vecs[i].bv_page = page;` without the
/// index; every page then lands in vecs[0] and the others stay NULL.
#[test]
fn a_dropped_array_index_fails_the_fixture() {
    let good = converted("bvec_table_stage");
    let wrong = good.replace(
        "bvec_set_page(&block->vecs[i], page);",
        "bvec_set_page(block->vecs, page);",
    );
    assert_ne!(
        good, wrong,
        "the engine's rewrite changed: update this test"
    );
    let report = with_converted("bvec_table_stage", wrong);
    let text = report.render();
    assert_eq!(report.exit_code(), 1, "{text}");
    assert!(
        text.contains(
            "bvec_table_stage: scenario dram: converted: crashed with SIGSEGV where the original returned 0"
        ),
        "{text}"
    );
}

/// The secondary's entry is to name the primary's page; swapped, the
/// primary's entry is overwritten with the secondary's.
#[test]
fn a_read_swapped_for_a_write_fails_the_fixture() {
    let good = converted("bi_io_vec_compare");
    let wrong = good.replace(
        "bvec_set_page(&sbio->bi_io_vec[j], bvec_page(&pbio->bi_io_vec[j]));",
        "bvec_set_page(&pbio->bi_io_vec[j], bvec_page(&sbio->bi_io_vec[j]));",
    );
    assert_ne!(
        good, wrong,
        "the engine's rewrite changed: update this test"
    );
    let report = with_converted("bi_io_vec_compare", wrong);
    let text = report.render();
    assert_eq!(report.exit_code(), 1, "{text}");
    assert!(
        text.contains("bi_io_vec_compare: scenario dram: converted differs from the original: "),
        "{text}"
    );
    assert!(
        text.contains(
            "bio 'primary': bi_io_vec[1] is 0x1003000+4096 where the original's is 0x1002000+4096"
        ),
        "{text}"
    );
}

/// zero_fill_bio() flushes the page of every segment, which page-less
/// memory does not have: the report names the bvec and its pfn.
#[test]
fn bvec_page_of_pageless_memory_is_reported_with_bvec_and_pfn() {
    let tmp = TempDir::new();
    let fixture = semantic().join("zero_fill_bio/fixture.c");
    tmp.write("zero_fill_bio/fixture.c", std::fs::read(fixture).unwrap());
    tmp.write(
        "zero_fill_bio/scenario",
        "scenario pmem\npmem pmem0 400G memmap=none\nbio data pmem0:2+100/3996 pmem0:3\n",
    );
    let report = run_in(tmp.path(), &Options::default());
    let text = report.render();
    assert_eq!(report.exit_code(), 1, "{text}");
    assert!(
        text.contains(
            "zero_fill_bio: scenario pmem: final: bvec_page() of a page-less bio_vec: the segment of bio 'data' at bi_idx 0, bi_bvec_done 700, pfn 0x100002 (pmem0 page 2 + 0x0, flags 0x2000000000000000)"
        ),
        "{text}"
    );
}

/// The engine leaves `bv_page` of an rvalue for a human; in the bv_pfn
/// layout the access left behind does not compile.
#[test]
fn a_raw_access_left_behind_fails_to_compile_in_the_pfn_layout() {
    let tmp = TempDir::new();
    tmp.write(
        "left/fixture.c",
        "#include <bvmig/fixture.h>\n\
         int bvmig_fixture(struct bvmig_env *env)\n\
         {\n\
         \tunsigned char *p = kmap_atomic(bio_iovec(env->bio[0]).bv_page);\n\
         \tint x = p[0];\n\n\
         \tkunmap_atomic(p);\n\
         \treturn x;\n\
         }\n",
    );
    tmp.write("left/scenario", "scenario a\nbio b dram:1\n");
    let report = run_in(tmp.path(), &Options::default());
    let text = report.render();
    assert_eq!(report.exit_code(), 1, "{text}");
    assert!(
        text.contains("bv_page: 0 rewritten, 1 left (4:56: read: 'bio_iovec(env->bio[0])' has no address to pass to the helper)"),
        "{text}"
    );
    assert!(text.contains("left: final does not build: "), "{text}");
    assert!(
        text.contains("final.c: cc failed (bv_pfn layout):"),
        "{text}"
    );
    assert!(
        text.contains("has no member named 'bv_page'")
            || text.contains("has no member named \u{2018}bv_page\u{2019}"),
        "{text}"
    );
}

/// A stand-in for the bv_offset step (the project's own rule is
/// `rules/bv_offset.cocci`, written elsewhere): reads and plain writes of
/// `bv_offset` through `bvec_page_offset()` and `bvec_set_offset()`, enough for
/// the fixtures. It lets these tests run the phys layout before that rule
/// exists; `validate` itself only ever runs the rule file by name.
const STAND_IN_BV_OFFSET_RULE: &str = "\
@ off @
identifier fn != {bvec_page_offset, bvec_set_offset};
expression E, V;
@@
fn(...) {
<...
(
- E->bv_offset = V
+ bvec_set_offset(E, V)
|
- E.bv_offset = V
+ bvec_set_offset(&E, V)
|
- E->bv_offset
+ bvec_page_offset(E)
|
- E.bv_offset
+ bvec_page_offset(&E)
)
...>
}
";

/// Options whose phys layout runs with the stand-in bv_offset rule.
fn with_stand_in(tmp: &TempDir) -> Options {
    tmp.write("rules/bv_offset.cocci", STAND_IN_BV_OFFSET_RULE);
    Options {
        rules: Some(tmp.path().join("rules")),
        ..Options::default()
    }
}

#[test]
fn every_semantic_fixture_keeps_its_meaning_in_the_phys_layout() {
    let tmp = TempDir::new();
    let report = run_in(&semantic(), &with_stand_in(&tmp));
    let text = report.render();
    assert!(report.notes.is_empty(), "{text}");
    assert_eq!(report.exit_code(), 0, "{text}");
    for f in &report.fixtures {
        assert!(f.rewrite.contains("; bv_phys: "), "{text}");
        assert!(!f.rewrite.contains("bv_phys: skipped"), "{text}");
    }
    // Fixtures written against the helpers run on page-less memory in the
    // bv_phys layout; the others say that they do not.
    let line = |name: &str| {
        text.lines()
            .find(|l| l.starts_with(&format!("ok     {name}:")))
            .unwrap_or_else(|| panic!("no line for {name}: {text}"))
            .to_owned()
    };
    assert!(
        line("rq_map_sg").contains("(page-less memory as DRAM: "),
        "{text}"
    );
    assert!(
        line("folio_offset_normalised").contains("bv_phys: 2 .bv_phys initializers"),
        "{text}"
    );
}

#[test]
fn without_the_bv_offset_rule_the_phys_layout_is_skipped_with_the_reason() {
    let tmp = TempDir::new();
    let opts = Options {
        only: vec!["bio_checksum".into()],
        rules: Some(tmp.path().join("rules")),
        ..Options::default()
    };
    let report = run_in(&semantic(), &opts);
    let text = report.render();
    assert_eq!(report.exit_code(), 0, "{text}");
    assert!(
        text.contains("\nbvmig validate: phys layout skipped: "),
        "{text}"
    );
    assert!(
        text.contains("bv_offset.cocci not found (the bv_offset step; fixtures name bv_offset, which the bv_phys layout lacks)"),
        "{text}"
    );
    assert!(text.contains("; bv_phys: skipped\n"), "{text}");
}

/// The same wrong rewrite, the offset of each segment dropped from its
/// kmap'd address, given as each layout's version in turn: each run fails
/// in that version, at the first checksum the fixture reports.
#[test]
fn a_dropped_offset_fails_the_fixture_in_every_layout() {
    let name = "bio_checksum";
    let tmp = TempDir::new();
    let stand_in = with_stand_in(&tmp);
    let original = std::fs::read(semantic().join(name).join("fixture.c")).unwrap();
    let run = |text: &[u8], engine: &Engine| {
        engine
            .rewrite(text)
            .new_text
            .unwrap_or_else(|| text.to_vec())
    };
    let converted = run(&original, &Engine::new(RuleFile::default_rule()));
    let rule = |name: &str, text: &str| Engine::new(RuleFile::parse(name, text).unwrap());
    let pfn = run(
        &run(&converted, &rule("bv_pfn-api", validate::BV_PFN_API_RULE)),
        &rule("bv_pfn", validate::BV_PFN_RULE),
    );
    let phys = run(
        &run(&converted, &rule("bv_offset", STAND_IN_BV_OFFSET_RULE)),
        &rule("bv_phys", validate::BV_PHYS_RULE),
    );
    let cases = [
        ("converted", converted, "kaddr + bv.bv_offset,"),
        ("final", pfn, "kaddr + bv.bv_offset,"),
        ("phys", phys, "kaddr + bvec_page_offset(&bv),"),
    ];
    for (version, good, offset) in cases {
        let good = String::from_utf8(good).unwrap();
        let wrong = good.replace(offset, "kaddr,");
        assert_ne!(
            good, wrong,
            "{version}: the rewrite changed: update this test"
        );
        let mut opts = Options {
            only: vec![name.to_owned()],
            rules: stand_in.rules.clone(),
            ..Options::default()
        };
        let given = match version {
            "converted" => &mut opts.converted,
            "final" => &mut opts.pfn,
            _ => &mut opts.phys,
        };
        given.insert(name.to_owned(), wrong.into_bytes());
        let report = run_in(&semantic(), &opts);
        let text = report.render();
        assert_eq!(report.exit_code(), 1, "{version}: {text}");
        let first = format!(
            "bio_checksum: scenario dram: {version} differs from the original: event 1: original: report crc32 = "
        );
        assert!(text.contains(&first), "{version}: {text}");
        // Only the wrong version fails.
        let differs = format!(": {version} differs from the original: ");
        for line in text
            .lines()
            .filter(|l| l.contains(" differs from the original: "))
        {
            assert!(line.contains(&differs), "{version}: {text}");
        }
    }
}

#[test]
fn a_broken_scenario_is_reported_with_its_place() {
    let tmp = TempDir::new();
    tmp.write("f/fixture.c", "int x;\n");
    tmp.write("f/scenario", "scenario a\nbio b nowhere:1\n");
    let report = run_in(tmp.path(), &Options::default());
    let text = report.render();
    assert_eq!(report.exit_code(), 2, "{text}");
    assert!(
        text.contains("f: f/scenario:2:7: no memory region 'nowhere' (dram, or a pmem above)"),
        "{text}"
    );
}

#[test]
fn a_missing_compiler_stops_validation_with_the_fix() {
    let opts = Options {
        only: vec!["bio_checksum".into()],
        cc: Some("/nonexistent/bvmig-cc".into()),
        ..Options::default()
    };
    let err = validate::run(&semantic(), &opts).unwrap_err();
    assert!(matches!(err, Error::Compiler(_)), "{err}");
    assert!(
        err.to_string().contains("/nonexistent/bvmig-cc' not found"),
        "{err}"
    );
}

#[test]
fn a_directory_without_fixtures_is_an_error() {
    let tmp = TempDir::new();
    let err = validate::run(tmp.path(), &Options::default()).unwrap_err();
    assert!(
        err.to_string()
            .ends_with("no fixtures (directories holding fixture.c and scenario)"),
        "{err}"
    );
}
