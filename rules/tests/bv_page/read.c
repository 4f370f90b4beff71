/* Reads: E->bv_page becomes bvec_page(E), E.bv_page bvec_page(&E). */
static void *bvec_kmap(struct bio_vec *bv)
{
	return kmap_atomic(bv->bv_page) + bv->bv_offset;
}

static bool same_page(struct bio *bio, int i, struct bio_vec bv)
{
	return bio->bi_io_vec[i].bv_page == bv.bv_page;
}

static void put_pages(struct bio_vec *table, int n)
{
	struct bio_vec *p;

	for (p = table; p < table + n; p++)
		put_page((*p).bv_page);
}
