/* Copying a page from bvec to bvec copies the pfn; two bvecs name the
 * same page exactly when they name the same frame. */
static bool same(struct bio_vec *a, struct bio_vec *b)
{
	bvec_set_page(a, bvec_page(b));
	return bvec_page(a) == bvec_page(b) && !(bvec_page(a) != bvec_page(b));
}
