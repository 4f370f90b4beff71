// bv_pfn-api.cocci: after bv_page.cocci has routed every access of bv_page
// through bvec_page() and bvec_set_page(), move the uses that do not need a
// struct page to the pfn API of Dan Williams' 2015 series, so that they
// work on persistent memory without a memmap:
//
//   kmap_atomic(bvec_page(E))           -> kmap_atomic_pfn_t(bvec_pfn(E))
//   page_to_phys(bvec_page(E))          -> pfn_t_to_phys(bvec_pfn(E))
//   page_to_pfn(bvec_page(E))           -> pfn_t_to_pfn(bvec_pfn(E))
//   sg_set_page(S, bvec_page(E), L, O)  -> sg_set_pfn(S, bvec_pfn(E), L, O)
//   dma_map_page(D, bvec_page(E), ...)  -> dma_map_pfn(D, bvec_pfn(E), ...)
//   bio_add_page(B, bvec_page(E), L, O) -> bio_add_pfn(B, bvec_pfn(E), L, O)
//   bvec_set_page(E, bvec_page(F))      -> bvec_set_pfn(E, bvec_pfn(F))
//   bvec_page(E) == bvec_page(F)        -> pfn_t_to_pfn(bvec_pfn(E)) == ...
//   bvec_page(E) != bvec_page(F)        -> pfn_t_to_pfn(bvec_pfn(E)) != ...
//   .bv_page = bvec_page(E)             -> .bv_pfn = bvec_pfn(E)
//
// Two bvecs name the same page exactly when they name the same frame, so
// a comparison of pages becomes one of pfns (without their flags). A
// bio_vec initialized from another's page (bv_page.cocci leaves the
// designated initializer and converts the read in it) takes its pfn, which
// bv_pfn.cocci would otherwise write as page_to_pfn_t(bvec_page(E)).
//
// A bvec_page() that is left (flush_dcache_page(), a page stored in a
// variable, a page handed to a page-only API) still compiles in the pfn
// layout and still needs a struct page: on page-less memory it returns
// NULL, which bvmig validate reports with the bvec and its pfn.
//
// This API was never merged: kmap_atomic_pfn_t(), sg_set_pfn(),
// dma_map_pfn() and bio_add_pfn() exist in bvmig validate's reference
// runtime (fixtures/include), not in Linux, where this rule's output does
// not compile. It is kept apart from bv_pfn.cocci, the layout change,
// which is meant for real trees; bvmig validate runs this file and then
// that one.
@ bv_pfn_api @
identifier fn != {bvec_page, bvec_set_page, bvec_pfn, bvec_set_pfn};
expression E, F, S, D, B, L, O, DIR;
@@
fn(...) {
<...
(
- kmap_atomic(bvec_page(E))
+ kmap_atomic_pfn_t(bvec_pfn(E))
|
- page_to_phys(bvec_page(E))
+ pfn_t_to_phys(bvec_pfn(E))
|
- page_to_pfn(bvec_page(E))
+ pfn_t_to_pfn(bvec_pfn(E))
|
- sg_set_page(S, bvec_page(E), L, O)
+ sg_set_pfn(S, bvec_pfn(E), L, O)
|
- dma_map_page(D, bvec_page(E), O, L, DIR)
+ dma_map_pfn(D, bvec_pfn(E), O, L, DIR)
|
- bio_add_page(B, bvec_page(E), L, O)
+ bio_add_pfn(B, bvec_pfn(E), L, O)
|
- bvec_set_page(E, bvec_page(F))
+ bvec_set_pfn(E, bvec_pfn(F))
|
- bvec_page(E) == bvec_page(F)
+ pfn_t_to_pfn(bvec_pfn(E)) == pfn_t_to_pfn(bvec_pfn(F))
|
- bvec_page(E) != bvec_page(F)
+ pfn_t_to_pfn(bvec_pfn(E)) != pfn_t_to_pfn(bvec_pfn(F))
|
- .bv_page = bvec_page(E)
+ .bv_pfn = bvec_pfn(E)
)
...>
}
