// bv_page-modern.cocci: the same conversion for trees that already have
// Linux 6.3's four-argument helper (6.3 and later, and the stable trees it
// was backported to, Debian's 6.1 among them):
//
//   static inline void bvec_set_page(struct bio_vec *bv, struct page *page,
//                                    unsigned int len, unsigned int offset);
//
// Reads become bvec_page(), which such trees lack. A write of bv_page alone
// cannot become that bvec_set_page() (it sets the length and offset too), so
// it becomes __bvec_set_page(bv, page), a helper that sets only the page;
// `bvmig patch` adds the missing helpers (unless --no-helpers) to
// include/linux/bvec.h. bvmig picks this rule by itself where the tree's
// bvec_set_page() takes four arguments.
//
// Three adjacent writes of bv_page, bv_len and bv_offset of one bio_vec,
// in any order, become one call of that four-argument bvec_set_page(), the
// way kernel commits after 6.3 converted such code by hand. bvmig merges
// them only when the call means the same: no comment among them, and the
// values free of side effects and not reading the fields being written.
// Otherwise each write is converted alone.
@ bv_page_modern @
identifier fn != {bvec_page, bvec_set_page, __bvec_set_page};
expression E, V, BV, P, L, O;
@@
fn(...) {
<...
(
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
