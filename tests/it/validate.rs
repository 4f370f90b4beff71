//! `bvmig validate` on the semantic fixtures: every one passes, and the
//! harness catches wrong rewrites (a dropped array index, a read swapped
//! for a write) and a `bvec_page()` of page-less memory, naming the fixture
//! and the first difference.

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
