//! A world set up from Rust, C run on it, and what it did observed: the
//! path `bvmig validate` takes, tested here without the rewriter.

use bvmig_runtime::ffi::Layout;
use bvmig_runtime::host::{
    pattern, run_isolated, signal_name, BioSpec, Compiler, DmaSpec, Memory, Object, Outcome,
    PmemSpec, RequestSpec, SegSpec, Session, Setup, PMEM_BASE,
};
use bvmig_runtime::memory::DevMemmap;
use bvmig_runtime::observe::{BvecRef, Event};

const FIXTURE: &str = r#"
#include <bvmig/fixture.h>

int bvmig_fixture(struct bvmig_env *env)
{
	struct bio *src = bvmig_env_bio(env, "src");
	struct scatterlist sgl[4];
	struct bio_vec bv;
	struct bvec_iter iter;
	u64 sum = 0;

	bio_for_each_segment(bv, src, iter) {
#ifdef BVMIG_LAYOUT_PFN
		unsigned char *p = kmap_atomic_pfn_t(bvec_pfn(&bv));
#else
		unsigned char *p = kmap_atomic(bvec_page(&bv));
#endif
		unsigned int i;

		for (i = 0; i < bv.bv_len; i++)
			sum = sum * 31 + p[bv.bv_offset + i];
		p[bv.bv_offset] = 0xAA;
		kunmap_atomic(p);
	}
	bvmig_report("sum", sum);
	sg_init_table(sgl, 4);
	dma_map_sg(bvmig_env_dev(env, "nvme"), sgl, blk_rq_map_sg(env->q, env->rq, sgl),
		   DMA_TO_DEVICE);
#ifdef BVMIG_LAYOUT_PFN
	if (bvec_page(&src->bi_io_vec[1]) == NULL)
		return 7;
#endif
	return 0;
}
"#;

fn setup() -> Setup {
    let seg = |region: &str, page, offset, len| SegSpec {
        region: region.into(),
        page,
        offset,
        len,
    };
    Setup {
        pmem: vec![PmemSpec {
            name: "pmem0".into(),
            bytes: 1 << 30,
            memmap: DevMemmap::None,
        }],
        dma: vec![DmaSpec {
            name: "nvme".into(),
            mask: u64::MAX,
        }],
        bios: vec![BioSpec {
            name: "src".into(),
            segs: vec![seg("dram", 3, 100, 200), seg("pmem0", 5, 0, 4096)],
            sector: 0,
            rw: 0,
            max_vecs: None,
        }],
        request: Some(RequestSpec {
            bios: vec!["src".into()],
            nr_phys_segments: 4,
        }),
        ..Setup::default()
    }
}

fn run(layout: Layout, memory: Memory) -> (Session, bvmig_runtime::observe::Observation) {
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("f.c");
    std::fs::write(&source, FIXTURE).unwrap();
    let so = dir.path().join("f.so");
    let include = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/include");
    Compiler::from_env()
        .shared_object(&source, &include, layout, &so)
        .unwrap_or_else(|e| panic!("{e}"));
    let obj = Object::load(&so, layout).unwrap_or_else(|e| panic!("{e}"));
    let mut session = Session::new(layout, &setup(), memory).unwrap_or_else(|e| panic!("{e}"));
    let seen = session.run_fixture(&obj).unwrap();
    (session, seen)
}

#[test]
fn both_layouts_do_the_same_to_the_same_memory() {
    let (_page_session, page) = run(Layout::Page, Memory::PagelessAsDram);
    drop(_page_session);
    let (session, pfn) = run(Layout::Pfn, Memory::AsDescribed);

    // The same bytes were read and written, the same entries produced.
    assert_eq!(page.memory.first_difference(&pfn.memory), None);
    let pmem_byte = PMEM_BASE + 5 * 4096;
    assert_eq!(pfn.memory.frames[&(pmem_byte >> 12)][0], 0xAA);
    assert_eq!(
        pfn.memory.frames[&(pmem_byte >> 12)][1],
        pattern(pmem_byte + 1)
    );
    let strip = |events: &[Event]| -> Vec<Event> {
        events
            .iter()
            .filter(|e| !matches!(e, Event::PagelessBvecPage { .. } | Event::Misuse { .. }))
            .cloned()
            .collect()
    };
    assert_eq!(strip(&page.events), strip(&pfn.events));
    assert!(matches!(page.events[0], Event::Report { .. }));
    assert!(page
        .events
        .iter()
        .any(|e| matches!(e, Event::DmaMapSg { entries, .. } if entries.len() == 2)));
    assert_eq!(page.bios, pfn.bios);

    // Only the pfn layout can ask for the page of page-less memory, and
    // that is reported with the bvec and the pfn.
    assert_eq!((page.ret, pfn.ret), (0, 7));
    let report = pfn
        .events
        .iter()
        .find_map(|e| match e {
            Event::PagelessBvecPage { bvec, pfn, .. } => Some((*bvec, *pfn)),
            _ => None,
        })
        .expect("a page-less bvec_page report");
    let BvecRef::Table { bio, idx } = report.0 else {
        panic!("{report:?}")
    };
    assert_eq!((session.bio_name(bio).as_str(), idx), ("bio 'src'", 1));
    assert_eq!(report.1, pmem_byte >> 12);
}

#[test]
fn a_second_world_on_one_thread_is_refused() {
    let _first = Session::new(Layout::Page, &Setup::default(), Memory::AsDescribed).unwrap();
    let err = Session::new(Layout::Page, &Setup::default(), Memory::AsDescribed).unwrap_err();
    assert!(err.to_string().contains("already has"), "{err}");
}

fn load(source: &str, layout: Layout, dir: &std::path::Path) -> Object {
    let file = dir.join("g.c");
    std::fs::write(&file, source).unwrap();
    let so = dir.join("g.so");
    let include = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/include");
    Compiler::from_env()
        .shared_object(&file, &include, layout, &so)
        .unwrap_or_else(|e| panic!("{e}"));
    Object::load(&so, layout).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn isolated_runs_report_what_in_process_runs_see() {
    let dir = tempfile::tempdir().unwrap();
    let obj = load(FIXTURE, Layout::Pfn, dir.path());
    let limit = std::time::Duration::from_secs(20);
    let isolated = run_isolated(&obj, Layout::Pfn, &setup(), Memory::AsDescribed, limit).unwrap();
    let mut session = Session::new(Layout::Pfn, &setup(), Memory::AsDescribed).unwrap();
    let in_process = session.run_fixture(&obj).unwrap();
    assert_eq!(isolated, Outcome::Completed(in_process));
}

#[test]
fn a_crash_or_a_hang_in_c_is_an_outcome_not_the_end_of_the_harness() {
    let dir = tempfile::tempdir().unwrap();
    let crash = load(
        "#include <bvmig/fixture.h>\n\
         int bvmig_fixture(struct bvmig_env *env)\n\
         {\n\tchar *p = kmap_atomic(NULL);\n\tp[env->nr_bios] = 1;\n\treturn 0;\n}\n",
        Layout::Page,
        dir.path(),
    );
    let limit = std::time::Duration::from_secs(20);
    let out = run_isolated(
        &crash,
        Layout::Page,
        &setup(),
        Memory::PagelessAsDram,
        limit,
    )
    .unwrap();
    assert_eq!(out, Outcome::Crashed { signal: 11 });
    assert_eq!(signal_name(11), "SIGSEGV");

    let dir = tempfile::tempdir().unwrap();
    let hang = load(
        "#include <bvmig/fixture.h>\n\
         int bvmig_fixture(struct bvmig_env *env)\n\
         {\n\tvolatile unsigned int n = env->nr_bios;\n\twhile (n)\n\t\t;\n\treturn 0;\n}\n",
        Layout::Page,
        dir.path(),
    );
    let limit = std::time::Duration::from_millis(300);
    let out = run_isolated(&hang, Layout::Page, &setup(), Memory::PagelessAsDram, limit).unwrap();
    assert_eq!(out, Outcome::TimedOut(limit));
}
