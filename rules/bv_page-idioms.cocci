// bv_page-idioms.cocci: the modern conversion (rules/bv_page-modern.cocci,
// whose branches this rule repeats after its own) with the open-coded forms
// of the helpers Linux has turned into calls of those helpers first:
//
//   page_address(E->bv_page) + E->bv_offset           bvec_virt(E)
//   kmap_local_page(E->bv_page) + E->bv_offset        bvec_kmap_local(E)
//   page_to_phys(E->bv_page) + E->bv_offset           bvec_phys(E)
//   PFN_PHYS(page_to_pfn(E->bv_page)) + E->bv_offset  bvec_phys(E)
//   memcpy_from_page(T, E->bv_page, E->bv_offset, E->bv_len)
//                                                     memcpy_from_bvec(T, E)
//   memcpy_to_page(E->bv_page, E->bv_offset, F, E->bv_len)
//                                                     memcpy_to_bvec(E, F)
//   memzero_page(E->bv_page, E->bv_offset, E->bv_len) memzero_bvec(E)
//   page_folio(E->bv_page)                            bvec_folio(E)
//   bvec_set_page(BV, &FO->page, L, O)                bvec_set_folio(BV, FO, L, O)
//   bvec_set_page(BV, folio_page(FO, 0), L, O)        bvec_set_folio(BV, FO, L, O)
//   bvec_set_page(BV, virt_to_page(P), L, offset_in_page(P))
//                                                     bvec_set_virt(BV, P, L)
//
// and the three adjacent writes the modern rule merges into bvec_set_page()
// become bvec_set_folio() or bvec_set_virt() when their page is one of those
// forms. `.` forms pass `&E`. bvmig picks this rule by itself on trees with
// Linux 6.3's four-argument bvec_set_page() whose definitions of these
// helpers (if any) take these arguments; it adds the ones the tree lacks
// (Debian's 6.1 lacks bvec_phys(), bvec_folio(), bvec_set_folio() and
// bvec_set_virt()). What each helper changes, and what bvmig checks before
// writing it, is in rules/README.md ("Idioms").
//
// The first rule leaves the bodies of the helpers alone: an idiom there
// would make the helper call itself. The second converts the plain reads
// and writes in the bodies of the helpers that have some, as the modern
// rule does.
@ bv_page_idioms @
identifier fn != {bvec_page, bvec_set_page, __bvec_set_page, bvec_virt, bvec_kmap_local, bvec_phys, memcpy_from_bvec, memcpy_to_bvec, memzero_bvec, bvec_folio, bvec_set_folio, bvec_set_virt};
expression E, V, BV, P, L, O, T, F, FO;
// The folio's member, as a metavariable: a literal field name would be
// tracked as the rule's field beside bv_page.
identifier PG = {page};
// offset_in_page, as a metavariable (written so before the prefilter
// needed every literal name of a change; either way a file is parsed for
// this change only when it holds bvec_set_page and virt_to_page).
identifier OIP = {offset_in_page};
@@
fn(...) {
<...
(
- BV->bv_page = virt_to_page(P);
- BV->bv_len = L;
- BV->bv_offset = offset_in_page(P);
+ bvec_set_virt(BV, P, L);
|
- BV->bv_page = virt_to_page(P);
- BV->bv_offset = offset_in_page(P);
- BV->bv_len = L;
+ bvec_set_virt(BV, P, L);
|
- BV->bv_len = L;
- BV->bv_page = virt_to_page(P);
- BV->bv_offset = offset_in_page(P);
+ bvec_set_virt(BV, P, L);
|
- BV->bv_len = L;
- BV->bv_offset = offset_in_page(P);
- BV->bv_page = virt_to_page(P);
+ bvec_set_virt(BV, P, L);
|
- BV->bv_offset = offset_in_page(P);
- BV->bv_page = virt_to_page(P);
- BV->bv_len = L;
+ bvec_set_virt(BV, P, L);
|
- BV->bv_offset = offset_in_page(P);
- BV->bv_len = L;
- BV->bv_page = virt_to_page(P);
+ bvec_set_virt(BV, P, L);
|
- BV->bv_page = &FO->page;
- BV->bv_len = L;
- BV->bv_offset = O;
+ bvec_set_folio(BV, FO, L, O);
|
- BV->bv_page = &FO->page;
- BV->bv_offset = O;
- BV->bv_len = L;
+ bvec_set_folio(BV, FO, L, O);
|
- BV->bv_len = L;
- BV->bv_page = &FO->page;
- BV->bv_offset = O;
+ bvec_set_folio(BV, FO, L, O);
|
- BV->bv_len = L;
- BV->bv_offset = O;
- BV->bv_page = &FO->page;
+ bvec_set_folio(BV, FO, L, O);
|
- BV->bv_offset = O;
- BV->bv_page = &FO->page;
- BV->bv_len = L;
+ bvec_set_folio(BV, FO, L, O);
|
- BV->bv_offset = O;
- BV->bv_len = L;
- BV->bv_page = &FO->page;
+ bvec_set_folio(BV, FO, L, O);
|
- BV->bv_page = folio_page(FO, 0);
- BV->bv_len = L;
- BV->bv_offset = O;
+ bvec_set_folio(BV, FO, L, O);
|
- BV->bv_page = folio_page(FO, 0);
- BV->bv_offset = O;
- BV->bv_len = L;
+ bvec_set_folio(BV, FO, L, O);
|
- BV->bv_len = L;
- BV->bv_page = folio_page(FO, 0);
- BV->bv_offset = O;
+ bvec_set_folio(BV, FO, L, O);
|
- BV->bv_len = L;
- BV->bv_offset = O;
- BV->bv_page = folio_page(FO, 0);
+ bvec_set_folio(BV, FO, L, O);
|
- BV->bv_offset = O;
- BV->bv_page = folio_page(FO, 0);
- BV->bv_len = L;
+ bvec_set_folio(BV, FO, L, O);
|
- BV->bv_offset = O;
- BV->bv_len = L;
- BV->bv_page = folio_page(FO, 0);
+ bvec_set_folio(BV, FO, L, O);
|
- BV.bv_page = virt_to_page(P);
- BV.bv_len = L;
- BV.bv_offset = offset_in_page(P);
+ bvec_set_virt(&BV, P, L);
|
- BV.bv_page = virt_to_page(P);
- BV.bv_offset = offset_in_page(P);
- BV.bv_len = L;
+ bvec_set_virt(&BV, P, L);
|
- BV.bv_len = L;
- BV.bv_page = virt_to_page(P);
- BV.bv_offset = offset_in_page(P);
+ bvec_set_virt(&BV, P, L);
|
- BV.bv_len = L;
- BV.bv_offset = offset_in_page(P);
- BV.bv_page = virt_to_page(P);
+ bvec_set_virt(&BV, P, L);
|
- BV.bv_offset = offset_in_page(P);
- BV.bv_page = virt_to_page(P);
- BV.bv_len = L;
+ bvec_set_virt(&BV, P, L);
|
- BV.bv_offset = offset_in_page(P);
- BV.bv_len = L;
- BV.bv_page = virt_to_page(P);
+ bvec_set_virt(&BV, P, L);
|
- BV.bv_page = &FO->page;
- BV.bv_len = L;
- BV.bv_offset = O;
+ bvec_set_folio(&BV, FO, L, O);
|
- BV.bv_page = &FO->page;
- BV.bv_offset = O;
- BV.bv_len = L;
+ bvec_set_folio(&BV, FO, L, O);
|
- BV.bv_len = L;
- BV.bv_page = &FO->page;
- BV.bv_offset = O;
+ bvec_set_folio(&BV, FO, L, O);
|
- BV.bv_len = L;
- BV.bv_offset = O;
- BV.bv_page = &FO->page;
+ bvec_set_folio(&BV, FO, L, O);
|
- BV.bv_offset = O;
- BV.bv_page = &FO->page;
- BV.bv_len = L;
+ bvec_set_folio(&BV, FO, L, O);
|
- BV.bv_offset = O;
- BV.bv_len = L;
- BV.bv_page = &FO->page;
+ bvec_set_folio(&BV, FO, L, O);
|
- BV.bv_page = folio_page(FO, 0);
- BV.bv_len = L;
- BV.bv_offset = O;
+ bvec_set_folio(&BV, FO, L, O);
|
- BV.bv_page = folio_page(FO, 0);
- BV.bv_offset = O;
- BV.bv_len = L;
+ bvec_set_folio(&BV, FO, L, O);
|
- BV.bv_len = L;
- BV.bv_page = folio_page(FO, 0);
- BV.bv_offset = O;
+ bvec_set_folio(&BV, FO, L, O);
|
- BV.bv_len = L;
- BV.bv_offset = O;
- BV.bv_page = folio_page(FO, 0);
+ bvec_set_folio(&BV, FO, L, O);
|
- BV.bv_offset = O;
- BV.bv_page = folio_page(FO, 0);
- BV.bv_len = L;
+ bvec_set_folio(&BV, FO, L, O);
|
- BV.bv_offset = O;
- BV.bv_len = L;
- BV.bv_page = folio_page(FO, 0);
+ bvec_set_folio(&BV, FO, L, O);
|
- bvec_set_page(BV, virt_to_page(P), L, OIP(P))
+ bvec_set_virt(BV, P, L)
|
- bvec_set_page(BV, &FO->PG, L, O)
+ bvec_set_folio(BV, FO, L, O)
|
- bvec_set_page(BV, folio_page(FO, 0), L, O)
+ bvec_set_folio(BV, FO, L, O)
|
- page_address(E->bv_page) + E->bv_offset
+ bvec_virt(E)
|
- kmap_local_page(E->bv_page) + E->bv_offset
+ bvec_kmap_local(E)
|
- page_to_phys(E->bv_page) + E->bv_offset
+ bvec_phys(E)
|
- PFN_PHYS(page_to_pfn(E->bv_page)) + E->bv_offset
+ bvec_phys(E)
|
- memcpy_from_page(T, E->bv_page, E->bv_offset, E->bv_len)
+ memcpy_from_bvec(T, E)
|
- memcpy_to_page(E->bv_page, E->bv_offset, F, E->bv_len)
+ memcpy_to_bvec(E, F)
|
- memzero_page(E->bv_page, E->bv_offset, E->bv_len)
+ memzero_bvec(E)
|
- page_folio(E->bv_page)
+ bvec_folio(E)
|
- page_address(E.bv_page) + E.bv_offset
+ bvec_virt(&E)
|
- kmap_local_page(E.bv_page) + E.bv_offset
+ bvec_kmap_local(&E)
|
- page_to_phys(E.bv_page) + E.bv_offset
+ bvec_phys(&E)
|
- PFN_PHYS(page_to_pfn(E.bv_page)) + E.bv_offset
+ bvec_phys(&E)
|
- memcpy_from_page(T, E.bv_page, E.bv_offset, E.bv_len)
+ memcpy_from_bvec(T, &E)
|
- memcpy_to_page(E.bv_page, E.bv_offset, F, E.bv_len)
+ memcpy_to_bvec(&E, F)
|
- memzero_page(E.bv_page, E.bv_offset, E.bv_len)
+ memzero_bvec(&E)
|
- page_folio(E.bv_page)
+ bvec_folio(&E)
|

- BV->bv_page = P;
- BV->bv_len = L;
- BV->bv_offset = O;
+ bvec_set_page(BV, P, L, O);
|
- BV->bv_page = P;
- BV->bv_offset = O;
- BV->bv_len = L;
+ bvec_set_page(BV, P, L, O);
|
- BV->bv_len = L;
- BV->bv_page = P;
- BV->bv_offset = O;
+ bvec_set_page(BV, P, L, O);
|
- BV->bv_len = L;
- BV->bv_offset = O;
- BV->bv_page = P;
+ bvec_set_page(BV, P, L, O);
|
- BV->bv_offset = O;
- BV->bv_page = P;
- BV->bv_len = L;
+ bvec_set_page(BV, P, L, O);
|
- BV->bv_offset = O;
- BV->bv_len = L;
- BV->bv_page = P;
+ bvec_set_page(BV, P, L, O);
|
- BV.bv_page = P;
- BV.bv_len = L;
- BV.bv_offset = O;
+ bvec_set_page(&BV, P, L, O);
|
- BV.bv_page = P;
- BV.bv_offset = O;
- BV.bv_len = L;
+ bvec_set_page(&BV, P, L, O);
|
- BV.bv_len = L;
- BV.bv_page = P;
- BV.bv_offset = O;
+ bvec_set_page(&BV, P, L, O);
|
- BV.bv_len = L;
- BV.bv_offset = O;
- BV.bv_page = P;
+ bvec_set_page(&BV, P, L, O);
|
- BV.bv_offset = O;
- BV.bv_page = P;
- BV.bv_len = L;
+ bvec_set_page(&BV, P, L, O);
|
- BV.bv_offset = O;
- BV.bv_len = L;
- BV.bv_page = P;
+ bvec_set_page(&BV, P, L, O);
|
- E->bv_page = V
+ __bvec_set_page(E, V)
|
- E.bv_page = V
+ __bvec_set_page(&E, V)
|
- E->bv_page++
+ __bvec_set_page(E, bvec_page(E) + 1)
|
- ++E->bv_page
+ __bvec_set_page(E, bvec_page(E) + 1)
|
- E.bv_page++
+ __bvec_set_page(&E, bvec_page(&E) + 1)
|
- ++E.bv_page
+ __bvec_set_page(&E, bvec_page(&E) + 1)
|
- E->bv_page--
+ __bvec_set_page(E, bvec_page(E) - 1)
|
- --E->bv_page
+ __bvec_set_page(E, bvec_page(E) - 1)
|
- E.bv_page--
+ __bvec_set_page(&E, bvec_page(&E) - 1)
|
- --E.bv_page
+ __bvec_set_page(&E, bvec_page(&E) - 1)
|
- E->bv_page += V
+ __bvec_set_page(E, bvec_page(E) + V)
|
- E.bv_page += V
+ __bvec_set_page(&E, bvec_page(&E) + V)
|
- E->bv_page -= V
+ __bvec_set_page(E, bvec_page(E) - V)
|
- E.bv_page -= V
+ __bvec_set_page(&E, bvec_page(&E) - V)
|
- E->bv_page
+ bvec_page(E)
|
- E.bv_page
+ bvec_page(&E)
)
...>
}

@ bv_page_idiom_helpers @
identifier fn = {bvec_virt, bvec_kmap_local, bvec_phys, memcpy_from_bvec, memcpy_to_bvec, memzero_bvec, bvec_folio};
expression E, V;
@@
fn(...) {
<...
(
- E->bv_page = V
+ __bvec_set_page(E, V)
|
- E.bv_page = V
+ __bvec_set_page(&E, V)
|
- E->bv_page
+ bvec_page(E)
|
- E.bv_page
+ bvec_page(&E)
)
...>
}
