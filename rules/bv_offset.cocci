// bv_offset.cocci: bv_offset read and written through helpers, as the
// first step routes bv_page, so that after both no code outside the helpers
// names either member (issue 13, part 2). Run it with --rule on a tree
// where the bv_page step is done:
//
//   static inline unsigned int bvec_page_offset(const struct bio_vec *bvec);
//   static inline void bvec_set_offset(struct bio_vec *bvec, unsigned int offset);
//
// `bvmig patch` adds them, kernel-doc'd, to include/linux/bvec.h where the
// tree lacks them; a tree that defines either name with other parameters is
// refused before the run. Linux has neither name (6.1 and 6.12 checked);
// its bvec_iter_offset() and mp_bvec_iter_offset() take an iterator too.
// The getter is not called bvec_offset(): btrfs (compression.c, raid56.c)
// declares locals of that name, in scopes where bio_for_each_segment()
// expands mp_bvec_iter_offset(), so a call written into that macro would
// not compile there. A site whose rewrite would call a name that a local,
// a parameter or a variable of the tree declares is left, with the place.
//
// A write of bv_offset alone keeps the page and the length. The three
// adjacent writes of page, length and offset are merged into
// bvec_set_page() by the bv_page step already; what is left here is the
// offset written alone. The accessors' own bodies are left as they are;
// the other helpers (bvec_virt(), bvec_phys(), ...) convert like any code.
@ bv_offset @
identifier fn != {bvec_page, bvec_set_page, __bvec_set_page, bvec_page_offset, bvec_set_offset};
expression E, V;
@@
fn(...) {
<...
(
- E->bv_offset = V
+ bvec_set_offset(E, V)
|
- E.bv_offset = V
+ bvec_set_offset(&E, V)
|
- E->bv_offset += V
+ bvec_set_offset(E, bvec_page_offset(E) + V)
|
- E.bv_offset += V
+ bvec_set_offset(&E, bvec_page_offset(&E) + V)
|
- E->bv_offset -= V
+ bvec_set_offset(E, bvec_page_offset(E) - V)
|
- E.bv_offset -= V
+ bvec_set_offset(&E, bvec_page_offset(&E) - V)
|
- E->bv_offset++
+ bvec_set_offset(E, bvec_page_offset(E) + 1)
|
- ++E->bv_offset
+ bvec_set_offset(E, bvec_page_offset(E) + 1)
|
- E.bv_offset++
+ bvec_set_offset(&E, bvec_page_offset(&E) + 1)
|
- ++E.bv_offset
+ bvec_set_offset(&E, bvec_page_offset(&E) + 1)
|
- E->bv_offset
+ bvec_page_offset(E)
|
- E.bv_offset
+ bvec_page_offset(&E)
)
...>
}
