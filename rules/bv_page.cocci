// bv_page.cocci: route every access of struct bio_vec's bv_page field
// through the helpers of Dan Williams' 2015 series ("evacuate struct page
// from the block layer"), so that the field can later become a pfn:
//   static inline struct page *bvec_page(const struct bio_vec *bvec);
//   static inline void bvec_set_page(struct bio_vec *bvec, struct page *page);
// Branches are tried in order at each expression; the first that matches
// wins. bvmig leaves (and reports) a write whose value is used, an access
// that needs an lvalue, and a base with side effects evaluated twice.
virtual patch
virtual context
virtual org
virtual report
@ bv_page depends on patch @
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

// Report modes, for `make coccicheck` with spatch: context (`*` lines),
// org and report (printed by the python rules). bvmig reports every site
// itself (`bvmig check`) and does not run these.
@ depends on context && !patch @
identifier fn != {bvec_page, bvec_set_page};
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
if p[0].current_element not in ("bvec_page", "bvec_set_page"):
    coccilib.org.print_todo(p[0], "raw access of struct bio_vec's bv_page")

@ script:python depends on report @
p << r.p;
@@
if p[0].current_element not in ("bvec_page", "bvec_set_page"):
    coccilib.report.print_report(p[0], "WARNING: raw access of struct bio_vec's bv_page: use bvec_page() or bvec_set_page()")
