//! Comparing two runs of a fixture in layout-neutral terms: the first
//! difference between what the original did and what a rewritten version
//! did (return value, events, bios, kmaps and mappings left, memory bytes),
//! described with the names the scenario gave.

use bvmig_runtime::host::{signal_name, Outcome, Setup};
use bvmig_runtime::observe::{BioId, BvecRef, Event, Observation};

pub(super) fn describe_end(outcome: &Outcome) -> String {
    match outcome {
        Outcome::Completed(obs) => format!("returned {}", obs.ret),
        Outcome::Crashed { signal } => format!("crashed with {}", signal_name(*signal)),
        Outcome::TimedOut(limit) => format!("did not finish within {limit:?}"),
    }
}

pub(super) fn bio_name(id: BioId, setup: &Setup) -> String {
    match usize::try_from(id.0).ok().and_then(|i| setup.bios.get(i)) {
        Some(spec) => format!("bio '{}'", spec.name),
        None => format!("{id} (allocated by the fixture)"),
    }
}

/// The first `bvec_page()` of a page-less bvec, described.
pub(super) fn pageless_page(obs: &Observation, setup: &Setup) -> Option<String> {
    obs.events.iter().find_map(|e| match e {
        Event::PagelessBvecPage { bvec, pfn, flags } => {
            let which = match bvec {
                BvecRef::Table { bio, idx } => format!("{} bi_io_vec[{idx}]", bio_name(*bio, setup)),
                BvecRef::Segment {
                    bio,
                    bi_idx,
                    bi_bvec_done,
                } => format!(
                    "the segment of {} at bi_idx {bi_idx}, bi_bvec_done {bi_bvec_done}",
                    bio_name(*bio, setup)
                ),
                BvecRef::Unknown => "a bio_vec outside any bio".to_owned(),
            };
            Some(format!(
                "bvec_page() of a page-less bio_vec: {which}, pfn {pfn:#x} ({}, flags {flags:#x}); it has no struct page, so the caller gets NULL (use bvec_pfn() or bvec_phys())",
                setup.describe_phys(pfn << 12)
            ))
        }
        _ => None,
    })
}

/// The first way `obs` differs from `orig`, in the order a reader wants
/// it: the result, then what was done in order, then the state left.
pub(super) fn first_difference(
    orig: &Observation,
    obs: &Observation,
    setup: &Setup,
    version: Version,
) -> Option<String> {
    if orig.ret != obs.ret {
        return Some(format!(
            "returned {} where the original returned {}",
            obs.ret, orig.ret
        ));
    }
    let n = orig.events.len().max(obs.events.len());
    for i in 0..n {
        match (orig.events.get(i), obs.events.get(i)) {
            (Some(a), Some(b)) if a.same(b) => {}
            (a, b) => {
                let show = |e: Option<&Event>| e.map_or("nothing".to_owned(), |e| e.to_string());
                return Some(format!(
                    "event {}: original: {}; {version}: {}",
                    i + 1,
                    show(a),
                    show(b)
                ));
            }
        }
    }
    if orig.bios.len() != obs.bios.len() {
        return Some(format!(
            "{} live bios at the end where the original has {}",
            obs.bios.len(),
            orig.bios.len()
        ));
    }
    for (a, b) in orig.bios.iter().zip(&obs.bios) {
        let name = bio_name(a.id, setup);
        if a.vecs.len() != b.vecs.len() {
            return Some(format!(
                "{name}: bi_vcnt {} where the original has {}",
                b.vecs.len(),
                a.vecs.len()
            ));
        }
        for (idx, (x, y)) in a.vecs.iter().zip(&b.vecs).enumerate() {
            if x != y {
                return Some(format!(
                    "{name}: bi_io_vec[{idx}] is {y} where the original's is {x}"
                ));
            }
        }
        if a.iter != b.iter || a.cloned != b.cloned {
            return Some(format!(
                "{name}: bi_iter {:?} (cloned {}) where the original's is {:?} (cloned {})",
                b.iter, b.cloned, a.iter, a.cloned
            ));
        }
    }
    if orig.kmaps_held != obs.kmaps_held {
        return Some(format!(
            "{} atomic kmaps held at the end where the original holds {}",
            obs.kmaps_held, orig.kmaps_held
        ));
    }
    if orig.dma_mappings_live != obs.dma_mappings_live {
        return Some(format!(
            "{} DMA mappings live at the end where the original has {}",
            obs.dma_mappings_live, orig.dma_mappings_live
        ));
    }
    if let Some(d) = orig.memory.first_difference(&obs.memory) {
        return Some(format!(
            "memory (digest {:016x}, the original's {:016x}): first difference at phys {:#x} ({}): {:#04x} where the original has {:#04x}",
            obs.memory.digest(),
            orig.memory.digest(),
            d.phys,
            setup.describe_phys(d.phys),
            d.right,
            d.left
        ));
    }
    None
}
use super::Version;
