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
// `bvmig patch --with-helpers` adds the missing helpers to
// include/linux/bvec.h. bvmig picks this rule by itself where the tree's
// bvec_set_page() takes four arguments.
//
// Not yet here: fusing adjacent writes of bv_page, bv_len and bv_offset of
// one bio_vec into one four-argument bvec_set_page() call, as kernel commits
// after 6.3 did by hand (it needs statement sequences in the rule language).
@ bv_page_modern @
identifier fn != {bvec_page, bvec_set_page, __bvec_set_page};
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
