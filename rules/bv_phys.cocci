// bv_phys.cocci: the layout step for today's kernels. After the helpers
// step (bv_page-idioms.cocci, bv_page-modern.cocci and the bv_offset rule)
// has routed every access of bv_page and bv_offset through the helpers,
// struct bio_vec holds a physical address and a length, the layout the
// block maintainers have described (Christoph Hellwig, June 2025):
//
//   struct bio_vec { phys_addr_t bv_phys; u32 bv_len; };
//
// and only the helpers convert:
//
//   struct page *bv_page;          -> phys_addr_t bv_phys;
//   unsigned int bv_offset;        -> (folds into bv_phys; renamed
//                                     __bv_unused, see member_offset)
//   in bvec_page():
//     bvec->bv_page                -> pfn_to_page(PHYS_PFN(bvec->bv_phys))
//   in bvec_page_offset():
//     bvec->bv_offset              -> offset_in_page(bvec->bv_phys)
//   in bvec_set_page() (Linux 6.3's four arguments):
//     bv->bv_page = page; bv->bv_len = len; bv->bv_offset = offset;
//                                  -> bv->bv_phys = PFN_PHYS(page_to_pfn(page)) + offset;
//                                     bv->bv_len = len;
//   in bvec_set_page() (2015) and __bvec_set_page():
//     bv->bv_page = page           -> bv->bv_phys = PFN_PHYS(page_to_pfn(page)) +
//                                                   offset_in_page(bv->bv_phys)
//   in bvec_set_offset() and __bvec_set_offset():
//     bv->bv_offset = off          -> bv->bv_phys = bv->bv_phys -
//                                                   offset_in_page(bv->bv_phys) + off
//   in bvec_phys():                the field, bvec->bv_phys
//   { .bv_page = P, .bv_len = L, .bv_offset = O }
//                                  -> { .bv_phys = PFN_PHYS(page_to_pfn(P)) + O, .bv_len = L }
//   struct bio_vec bv = { NULL };  -> struct bio_vec bv = { };
//
// bvec_set_folio() and bvec_set_virt() store through bvec_set_page(), and
// bvec_virt(), bvec_kmap_local(), memcpy_{from,to}_bvec(), memzero_bvec()
// and bvec_folio() read through bvec_page() and bvec_page_offset(), so they
// need nothing. PFN_PHYS(page_to_pfn(page)) is page_to_phys(page), written
// the way Linux 6.12's bvec_phys() writes it: page_to_phys() is defined in
// <asm/io.h>, which include/linux/bvec.h does not include.
//
// The representation is normalised: bvec_page() is the page that holds the
// first byte and bvec_page_offset() is below PAGE_SIZE, where a folio bvec used
// to keep the folio's head page with an offset beyond PAGE_SIZE. Every
// helper reads and writes relative to the same page, so bvec_set_offset(bv,
// bvec_page_offset(bv) + n) still moves by n bytes; what changes is a page
// compared with, or kept from, another bvec. rules/README.md ("The bv_phys
// step") lists those places in Linux 6.12 and why they keep their meaning.
//
// Nothing else is converted: a raw access that the helpers step left for a
// human stays and no longer compiles. offsetof() and sizeof_field() of the
// old members are left and reported: they name the layout itself. Linux
// 6.12's net/core/skbuff.c static_asserts that bv_page/netmem, bv_len/len
// and bv_offset/offset of struct bio_vec and skb_frag_t sit at the same
// offsets with the same sizes, because kcm_write_msgs() casts an array of
// paged frags to bio_vecs for iov_iter_bvec(); after this step the two no
// longer alias, so the asserts and the cast are a human's to rewrite (the
// frags must be converted into real bio_vecs).
//
// What the engine cannot express, and this file therefore lacks:
// - FIXME: the offsetof()/sizeof_field() uses are not reported as sites.
//   The engine counts as sites the fields that every change of a file
//   removes (the intersection); changes here remove bv_page or bv_offset,
//   so `bvmig patch` says "field none (no sites are counted)". They stop
//   compiling all the same. The bv_offset member cannot be removed (see
//   member_offset).
// - `#include <linux/pfn.h>` for PHYS_PFN()/PFN_PHYS() in bvec.h (Linux's
//   gets them through <linux/mm.h>); a rule cannot add an #include.
// - Designated initializers: a compound literal `(struct bio_vec) {
//   .bv_page, .bv_len, .bv_offset }` in that order converts as a whole
//   (written on one line); in any other form `.bv_page = P` converts alone
//   and a `.bv_offset` beside it stops compiling, for a human.
// - FIXME: a NULL page stored at run time (fs/erofs tests `!bvec.bv_page`)
//   becomes physical address 0 plus the offset, and bvec_page() gives the
//   page of pfn 0, not NULL. A literal `.bv_page = NULL` is kept for a
//   human (see the initializer rule).

// The members, in struct bio_vec (not a local or another struct's member).
@ member_page @
@@
struct bio_vec {
  ...
- struct page *bv_page;
+ phys_addr_t bv_phys;
  ...
};

// FIXME: bv_offset should go. The engine cannot remove a member without a
// replacement, nor replace two members by one, nor write a member that
// declares nothing (`unsigned int :0;` does not parse as a rule's + code),
// so it is renamed: a raw bv_offset left outside the helpers stops
// compiling, as it must, and the struct keeps its size on 64-bit kernels
// (8 + 4 + 4 padding either way; 4 bytes more on 32-bit with a 64-bit
// phys_addr_t). Delete the member by hand until the engine can.
@ member_offset @
@@
struct bio_vec {
  ...
- unsigned int bv_offset;
+ unsigned int __bv_unused;
  ...
};

// Designated initializers, in code and in #define bodies (bvec.h's
// mp_bvec_iter_bvec() and bvec_iter_bvec() build bio_vecs in macros). An
// explicit NULL page is kept (and no longer compiles): a human chooses.
@ initializer @
identifier I;
expression P, L, O;
@@
(
  .bv_page = NULL
|
- struct bio_vec I = { .bv_page = P, .bv_len = L, .bv_offset = O, };
+ struct bio_vec I = { .bv_phys = PFN_PHYS(page_to_pfn(P)) + O, .bv_len = L, };
|
- struct bio_vec I = { .bv_page = P, .bv_len = L, .bv_offset = O };
+ struct bio_vec I = { .bv_phys = PFN_PHYS(page_to_pfn(P)) + O, .bv_len = L };
|
- (struct bio_vec) { .bv_page = P, .bv_len = L, .bv_offset = O, }
+ (struct bio_vec) { .bv_phys = PFN_PHYS(page_to_pfn(P)) + O, .bv_len = L, }
|
- (struct bio_vec) { .bv_page = P, .bv_len = L, .bv_offset = O }
+ (struct bio_vec) { .bv_phys = PFN_PHYS(page_to_pfn(P)) + O, .bv_len = L }
|
- .bv_page = P
+ .bv_phys = PFN_PHYS(page_to_pfn(P))
)

// Positional initializers name no member: `{ NULL }` sets bv_page, and a
// phys_addr_t is not initialized from a pointer. `{ }` zeroes every member,
// as `{ NULL }` did, in either layout.
@ positional @
identifier I, J;
@@
(
- struct bio_vec I = { NULL };
+ struct bio_vec I = { };
|
- struct bio_vec I, J = { NULL };
+ struct bio_vec I, J = { };
)

// bvec_page(): the page that holds the first byte.
@ page_helper @
identifier fn = {bvec_page};
expression E;
@@
fn(...) {
<...
(
- E->bv_page
+ pfn_to_page(PHYS_PFN(E->bv_phys))
|
- E.bv_page
+ pfn_to_page(PHYS_PFN(E.bv_phys))
)
...>
}

// bvec_page_offset(): the offset into that page.
@ offset_helper @
identifier fn = {bvec_page_offset};
expression E;
@@
fn(...) {
<...
(
- E->bv_offset
+ offset_in_page(E->bv_phys)
|
- E.bv_offset
+ offset_in_page(E.bv_phys)
)
...>
}

// bvec_set_page() and __bvec_set_page(). Linux 6.3's bvec_set_page(bv,
// page, len, offset) writes the three members, in this order: they become
// one address. The 2015 bvec_set_page(bv, page) and __bvec_set_page(bv,
// page) write the page alone: a new page, the offset kept. (One rule, so
// that a write of the three is not also matched alone: edits of two rules
// must not overlap.)
@ set_page_helpers @
identifier fn = {bvec_set_page, __bvec_set_page};
expression BV, P, L, O, E, V;
@@
fn(...) {
<...
(
- BV->bv_page = P;
- BV->bv_len = L;
- BV->bv_offset = O;
+ BV->bv_phys = PFN_PHYS(page_to_pfn(P)) + O;
+ BV->bv_len = L;
|
- E->bv_page = V
+ E->bv_phys = PFN_PHYS(page_to_pfn(V)) + offset_in_page(E->bv_phys)
|
- E.bv_page = V
+ E.bv_phys = PFN_PHYS(page_to_pfn(V)) + offset_in_page(E.bv_phys)
)
...>
}

// bvec_set_offset(bv, off) and __bvec_set_offset(): the same page, a new
// offset. Subtracting offset_in_page() rather than masking with PAGE_MASK
// keeps the high bits of a 64-bit phys_addr_t on 32-bit kernels (PAGE_MASK
// is an unsigned long).
@ set_offset_helper @
identifier fn = {bvec_set_offset, __bvec_set_offset};
expression E, V;
@@
fn(...) {
<...
(
- E->bv_offset = V
+ E->bv_phys = E->bv_phys - offset_in_page(E->bv_phys) + V
|
- E.bv_offset = V
+ E.bv_phys = E.bv_phys - offset_in_page(E.bv_phys) + V
)
...>
}

// bvec_phys(): the field, whichever way the body spells the sum (as Linux
// 6.12 wrote it, or after the helpers step).
@ phys_helper @
identifier fn = {bvec_phys};
expression E;
@@
fn(...) {
<...
(
- PFN_PHYS(page_to_pfn(E->bv_page)) + E->bv_offset
+ E->bv_phys
|
- page_to_phys(E->bv_page) + E->bv_offset
+ E->bv_phys
|
- PFN_PHYS(page_to_pfn(bvec_page(E))) + bvec_page_offset(E)
+ E->bv_phys
|
- page_to_phys(bvec_page(E)) + bvec_page_offset(E)
+ E->bv_phys
)
...>
}
