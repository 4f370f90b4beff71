/* Three adjacent writes of page, length and offset of one bio_vec, in any
 * order, become one call of Linux 6.3's four-argument bvec_set_page(). */
static void fill(struct bio_vec *bv, struct bio_vec *to, struct page *page,
		 unsigned int len, unsigned int off)
{
	bv->bv_page = page;
	bv->bv_len = len;
	bv->bv_offset = off;

	to->bv_offset = 0;
	to->bv_len = PAGE_SIZE;
	to->bv_page = page;
}

static void fill_dot(struct bio *bio, int i, struct page *page,
		     unsigned int len, unsigned int off)
{
	struct bio_vec bv;

	bv.bv_len = PAGE_SIZE;
	bv.bv_page = page;
	bv.bv_offset = 0;
	bio->bi_io_vec[i].bv_offset = off;
	bio->bi_io_vec[i].bv_page = page;
	bio->bi_io_vec[i].bv_len = len;
	submit(&bv);
}
