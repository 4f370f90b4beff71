//! What `struct page` coverage of persistent memory costs, against the pfn
//! model, and how fast each model iterates segments.
//!
//! Run with `cargo xtask bench-runtime`, or
//! `cargo run --release -p bvmig-runtime --example cost`. The
//! memory figures come from the runtime's own accounting
//! ([`World::cost_report`]); the throughput figures are the median of
//! several timed runs over the same bio in each model.

use std::hint::black_box;
use std::time::Instant;

use bvmig_runtime::bio::{bio_add_pfn, bio_alloc, bio_for_each_segment, Bio, BIO_MAX_PAGES};
use bvmig_runtime::memory::{DevMemmap, World};
use bvmig_runtime::page_model::{self, PageBio, PageWorld};
use bvmig_runtime::pfn_t::pfn_t_to_phys;

const KIB: u64 = 1 << 10;
const MIB: u64 = 1 << 20;
const GIB: u64 = 1 << 30;
const TIB: u64 = 1 << 40;

/// Where the device starts: above 4 GiB of address space for DRAM.
const PMEM_BASE: u64 = 4 * GIB;
/// Pages per bvec in the throughput bio: runs of contiguous frames.
const RUN: u64 = 4;
/// Iterations of the whole bio per timed run, and timed runs.
const PASSES: usize = 400;
const RUNS: usize = 9;

fn human(bytes: u64) -> String {
    let units = [(TIB, "TiB"), (GIB, "GiB"), (MIB, "MiB"), (KIB, "KiB")];
    for (unit, name) in units {
        if bytes >= unit {
            return format!("{:.2} {name}", bytes as f64 / unit as f64);
        }
    }
    format!("{bytes} B")
}

fn memmap_costs() -> Result<(), Box<dyn std::error::Error>> {
    println!("struct page coverage vs the pfn model (64 bytes per 4 KiB frame)");
    println!(
        "{:>10} {:>14} {:>10} {:>14} {:>16} {:>12}",
        "capacity", "struct page", "share", "pfn model", "on-device map", "stored"
    );
    for capacity in [8 * GIB, 400 * GIB, 6 * TIB] {
        let mut world = World::new();
        world.add_dram(0, 16 * MIB)?;
        let dev = world.add_pmem("pmem0", PMEM_BASE, capacity, DevMemmap::None)?;
        // Touch the last page: a sparse store keeps only that frame.
        let last = world.device_pfn_t(dev, world.device_pages(dev)? - 1)?;
        world.memcpy_to_pfn(last, 0, b"end of device")?;
        let report = world.cost_report();
        let pmem = report
            .ranges
            .iter()
            .find(|r| r.name == "pmem0")
            .ok_or("no pmem range in the report")?;

        // The same capacity with its memmap on the device: no DRAM, but
        // the device gives up the same 1.5625% of itself.
        let mut on_dev = World::new();
        on_dev.add_pmem("pmem1", PMEM_BASE, capacity, DevMemmap::OnDevice)?;
        let reserve = on_dev.cost_report().ranges[0].memmap_bytes;

        println!(
            "{:>10} {:>14} {:>9.4}% {:>14} {:>16} {:>12}",
            human(capacity),
            human(pmem.struct_page_bytes),
            pmem.struct_page_bytes as f64 * 100.0 / capacity as f64,
            format!("{} B", pmem.pfn_model_dram_bytes),
            human(reserve),
            human(pmem.stored_bytes),
        );
    }
    Ok(())
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}

/// Segments per second of `pass`, which walks the bio once and returns the
/// number of segments it saw.
fn throughput(mut pass: impl FnMut() -> u64) -> f64 {
    let runs = (0..RUNS)
        .map(|_| {
            let start = Instant::now();
            let mut segs = 0;
            for _ in 0..PASSES {
                segs += pass();
            }
            segs as f64 / start.elapsed().as_secs_f64()
        })
        .collect();
    median(runs)
}

fn iteration_speed() -> Result<(), Box<dyn std::error::Error>> {
    let mut world = World::new();
    world.add_dram(0, 16 * MIB)?;
    let dev = world.add_pmem("pmem0", PMEM_BASE, 64 * MIB, DevMemmap::None)?;
    let pw = PageWorld::covering(&world)?;

    // The same bio in both models: BIO_MAX_PAGES bvecs, each a run of
    // contiguous frames, with a gap between runs so they do not merge.
    let mut bio: Bio = bio_alloc(BIO_MAX_PAGES)?;
    let mut pbio = PageBio::new(BIO_MAX_PAGES);
    for run in 0..BIO_MAX_PAGES as u64 {
        for page in 0..RUN {
            let index = run * (RUN + 1) + page;
            let pfn = world.device_pfn_t(dev, index)?;
            bio_add_pfn(&world, &mut bio, pfn, 4096, 0)?;
            let frame = pw
                .pfn_to_page(bvmig_runtime::pfn_t::pfn_t_to_pfn(pfn))
                .ok_or("page model has no page for a device frame")?;
            page_model::add_page(&pw, &mut pbio, frame, 4096, 0)?;
        }
    }
    let expected = BIO_MAX_PAGES as u64 * RUN;

    let pfn_rate = throughput(|| {
        let mut n = 0;
        for seg in bio_for_each_segment(black_box(&bio)) {
            black_box(pfn_t_to_phys(seg.bv_pfn()) + u64::from(seg.bv_offset()));
            n += 1;
        }
        n
    });
    let page_rate = throughput(|| {
        let mut n = 0;
        for seg in page_model::segments(&pw, black_box(&pbio)) {
            // page_to_phys goes through the descriptor, as it must when
            // the bvec holds a struct page.
            let pfn = pw.page_to_pfn(seg.bv_page).unwrap_or(0);
            black_box((pfn << 12) + u64::from(seg.bv_offset));
            n += 1;
        }
        n
    });
    assert_eq!(bio_for_each_segment(&bio).count() as u64, expected);

    println!();
    println!(
        "segment iteration: {} bvecs x {} pages = {} segments, median of {} runs of {} passes",
        BIO_MAX_PAGES, RUN, expected, RUNS, PASSES
    );
    println!("{:>12} {:>16}", "model", "segments/s");
    println!("{:>12} {:>16.3e}", "page", page_rate);
    println!("{:>12} {:>16.3e}", "pfn", pfn_rate);
    println!("pfn/page: {:.2}x", pfn_rate / page_rate);
    println!(
        "page model memmap for this 64 MiB device: {} (pfn model: none)",
        human(pw.memmap_bytes() - 16 * MIB / 64)
    );
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    memmap_costs()?;
    iteration_speed()
}
