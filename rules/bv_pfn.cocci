// bv_pfn.cocci: the second step of the migration. After bv_page.cocci (or
// bv_page-modern.cocci) has routed every access of bv_page through the
// helpers, struct bio_vec carries a pfn_t instead of a page pointer, and
// only the helpers convert between the two:
//
//   struct page *bv_page;            -> pfn_t bv_pfn;
//   in bvec_page():
//     bvec->bv_page                  -> pfn_t_to_page(bvec->bv_pfn)
//   in bvec_set_page() and __bvec_set_page():
//     bvec->bv_page = page           -> bvec->bv_pfn = page_to_pfn_t(page)
//   .bv_page = X                     -> .bv_pfn = page_to_pfn_t(X)
//   struct bio_vec bv = { NULL };    -> struct bio_vec bv = { };
//
// The helpers are converted in their 2015 form, bvec_set_page(bv, page),
// in Linux 6.3's, bvec_set_page(bv, page, len, offset), and in
// __bvec_set_page(bv, page), which bvmig adds for bv_page-modern.cocci.
// Designated initializers are converted wherever they are, #define bodies
// included (include/linux/bvec.h builds bio_vecs in macros).
//
// Nothing else is: a raw access that the first step left for a human (its
// address taken, offsetof(), a value used, ...) stays as it is, and no
// longer compiles once the member is gone. After both steps no code outside
// the helpers names bv_page, and every place a human must look is a
// compile error; `cargo xtask compile-check` shows it on a kernel.
//
// What this file cannot do yet (rules/README.md, "The bv_pfn step"):
// - include/linux/bvec.h must include <linux/pfn_t.h>, where
//   pfn_t_to_page() and page_to_pfn_t() are; a rule cannot add an
//   #include.
// - bvec_pfn() and bvec_set_pfn() belong next to the helpers; a rule
//   cannot add a function definition.
// - FIXME: a NULL page that the helpers store at run time (fs/erofs tests
//   `!bvec.bv_page`) goes through page_to_pfn_t(NULL), and comes back from
//   pfn_t_to_page() as NULL only by pointer arithmetic that wraps around,
//   where the memory model lets it (x86-64's vmemmap does); the helpers
//   should store a pfn_t without a page for it. A literal `.bv_page = NULL`
//   is kept for a human (see the initializer rule).

// The member, in struct bio_vec (not a local variable or another struct's
// member that happens to be called bv_page).
@ member @
@@
struct bio_vec {
  ...
- struct page *bv_page;
+ pfn_t bv_pfn;
  ...
};

// Designated initializers, in code and in #define bodies. An explicit NULL
// page is kept (and no longer compiles): page_to_pfn_t(NULL) reads back as
// NULL only where pointer arithmetic wraps around, so a human chooses.
@ initializer @
expression X;
@@
(
  .bv_page = NULL
|
- .bv_page = X
+ .bv_pfn = page_to_pfn_t(X)
)

// Positional initializers name no member: `{ NULL }` sets bv_page, and a
// pfn_t cannot be initialized from NULL. `{ }` zeroes every member, as
// `{ NULL }` did, in either layout (Linux 6.12's block/blk-merge.c and
// block/blk-integrity.c declare `struct bio_vec bv, bvprv = { NULL };`).
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

// bvec_page(): the page of the bio_vec's pfn.
@ page_helper @
identifier fn = {bvec_page};
expression E;
@@
fn(...) {
<...
(
- E->bv_page
+ pfn_t_to_page(E->bv_pfn)
|
- E.bv_page
+ pfn_t_to_page(E.bv_pfn)
)
...>
}

// bvec_set_page() in both forms, and __bvec_set_page(): store the pfn.
@ set_page_helpers @
identifier fn = {bvec_set_page, __bvec_set_page};
expression E, V;
@@
fn(...) {
<...
(
- E->bv_page = V
+ E->bv_pfn = page_to_pfn_t(V)
|
- E.bv_page = V
+ E.bv_pfn = page_to_pfn_t(V)
)
...>
}
