// bv_page-typed.cocci: the modern rule's reads and lone writes, with typed
// metavariables: only accesses whose base is known, from declarations, to
// be a struct bio_vec (or a typedef of one) are rewritten; the others are
// reported with the evidence bvmig had (see rules/README.md, "Types").
// Where only struct bio_vec declares bv_page, the untyped rules are as
// safe and rewrite more; this rule is for trees where another struct
// declares a member of the same name.
@ bv_page_typed @
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
