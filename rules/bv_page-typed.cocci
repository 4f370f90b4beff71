// bv_page-typed.cocci: the modern rule's reads and lone writes, with typed
// metavariables: only accesses whose base is known from declarations to be
// a struct bio_vec (or a typedef of one) are rewritten; the others are
// reported with the evidence bvmig had (see rules/README.md, "Types").
// For trees where another struct declares a member named bv_page.
virtual patch
virtual report
@ bv_page_typed depends on patch @
identifier fn != {bvec_page, bvec_set_page, __bvec_set_page};
struct bio_vec *BV;
struct bio_vec S;
expression V;
@@
fn(...) {
<...
(
- BV->bv_page = V
+ __bvec_set_page(BV, V)
|
- S.bv_page = V
+ __bvec_set_page(&S, V)
|
- BV->bv_page
+ bvec_page(BV)
|
- S.bv_page
+ bvec_page(&S)
)
...>
}

// Report mode, for `make coccicheck` with spatch; bvmig reports every
// site itself (`bvmig check`) and does not run these.
@ r depends on report && !patch @
struct bio_vec *BV;
struct bio_vec S;
position p;
@@
(
 BV->bv_page@p
|
 S.bv_page@p
)

@ script:python depends on report @
p << r.p;
@@
if p[0].current_element not in ("bvec_page", "bvec_set_page", "__bvec_set_page"):
    coccilib.report.print_report(p[0], "WARNING: raw access of struct bio_vec's bv_page: use bvec_page() or __bvec_set_page()")
