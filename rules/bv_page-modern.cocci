// bv_page-modern.cocci: the same conversion for trees that already have
// Linux 6.3's four-argument helper (6.3 and later, and the stable trees it
// was backported to, Debian's 6.1 among them):
//   static inline void bvec_set_page(struct bio_vec *bv, struct page *page,
//                                    unsigned int len, unsigned int offset);
// Reads become bvec_page(), which such trees lack. A write of bv_page alone
// cannot become that bvec_set_page() (it sets the length and offset too), so
// it becomes __bvec_set_page(bv, page), a helper that sets only the page;
// `bvmig patch` adds the missing helpers (unless --no-helpers) to
// include/linux/bvec.h. bvmig picks this rule by itself where the tree's
// bvec_set_page() takes four arguments. Three adjacent writes of bv_page,
// bv_len and bv_offset of one bio_vec, in any order, become one call of the
// four-argument bvec_set_page() when the call means the same (no comment
// among them, values free of side effects that do not read the fields
// written); otherwise each write is converted alone.
// `make coccicheck MODE=...`: patch, context, org, report.
virtual patch
virtual context
virtual org
virtual report
@ bv_page_modern depends on patch @
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

// Report modes, for `make coccicheck` with spatch: context (`*` lines),
// org and report (printed by the python rules). bvmig reports every site
// itself (`bvmig check`) and does not run these.
@ depends on context && !patch @
identifier fn != {bvec_page, bvec_set_page, __bvec_set_page};
expression E;
@@
fn(...) {
<...
(
* E->bv_page
|
* E.bv_page
)
...>
}

@ r depends on (org || report) && !patch @
expression E;
position p;
@@
(
 E->bv_page@p
|
 E.bv_page@p
)

@ script:python depends on org @
p << r.p;
@@
if p[0].current_element not in ("bvec_page", "bvec_set_page", "__bvec_set_page"):
    coccilib.org.print_todo(p[0], "raw access of struct bio_vec's bv_page")

@ script:python depends on report @
p << r.p;
@@
if p[0].current_element not in ("bvec_page", "bvec_set_page", "__bvec_set_page"):
    coccilib.report.print_report(p[0], "WARNING: raw access of struct bio_vec's bv_page: use bvec_page() or __bvec_set_page()")
