// bv_page.cocci: route every access of struct bio_vec's bv_page field
// through the helpers of Dan Williams' 2015 series ("evacuate struct page
// from the block layer"), so that the field can later become a pfn:
//
//   static inline struct page *bvec_page(const struct bio_vec *bvec);
//   static inline void bvec_set_page(struct bio_vec *bvec, struct page *page);
//
// Branches are tried in order at each expression; the first that matches
// wins. bvmig checks every rewrite before it makes it: a write whose value
// is used, an access whose context needs an lvalue (&, ++, READ_ONCE, ...),
// the address of something that has none, and a base expression that would
// be evaluated twice but has side effects are left as they are and reported.
@ bv_page @
identifier fn != {bvec_page, bvec_set_page};
expression E, V;
@@
fn(...) {
<...
(
- E->bv_page = V
+ bvec_set_page(E, V)
|
- E.bv_page = V
+ bvec_set_page(&E, V)
|
- E->bv_page++
+ bvec_set_page(E, bvec_page(E) + 1)
|
- ++E->bv_page
+ bvec_set_page(E, bvec_page(E) + 1)
|
- E.bv_page++
+ bvec_set_page(&E, bvec_page(&E) + 1)
|
- ++E.bv_page
+ bvec_set_page(&E, bvec_page(&E) + 1)
|
- E->bv_page--
+ bvec_set_page(E, bvec_page(E) - 1)
|
- --E->bv_page
+ bvec_set_page(E, bvec_page(E) - 1)
|
- E.bv_page--
+ bvec_set_page(&E, bvec_page(&E) - 1)
|
- --E.bv_page
+ bvec_set_page(&E, bvec_page(&E) - 1)
|
- E->bv_page += V
+ bvec_set_page(E, bvec_page(E) + V)
|
- E.bv_page += V
+ bvec_set_page(&E, bvec_page(&E) + V)
|
- E->bv_page -= V
+ bvec_set_page(E, bvec_page(E) - V)
|
- E.bv_page -= V
+ bvec_set_page(&E, bvec_page(&E) - V)
|
- E->bv_page
+ bvec_page(E)
|
- E.bv_page
+ bvec_page(&E)
)
...>
}
