/* ++, --, += and -= become bvec_set_page(E, bvec_page(E) +/- n), with
 * parentheses where the value needs them. */
static void advance(struct bio_vec *bv, struct bio_vec v, int n, bool big)
{
	bv->bv_page++;
	++v.bv_page;
	bv->bv_page--;
	--v.bv_page;
	bv->bv_page += big ? n : 1;
	v.bv_page -= n;
	use(&v);
}
