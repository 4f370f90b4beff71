/* A macro parameter named like the helper the rule writes: in the body,
 * bvec_page(bvec_page) would become a call of the argument at each use
 * (M(b) -> b(b)), so that site is left. A parameter of another name
 * converts. */
#define M(bvec_page) ((bvec_page)->bv_page)
#define P(bv) ((bv)->bv_page)

static struct page *f(struct bio_vec *b)
{
	return M(b) ? M(b) : P(b);
}
