/* Reads become bvec_page(), increments __bvec_set_page(). */
static void next_page(struct bio_vec *bv, struct bio_vec v)
{
	if (bv->bv_page == v.bv_page)
		bv->bv_page++;
	v.bv_page += 2;
	flush_dcache_page(v.bv_page);
}
