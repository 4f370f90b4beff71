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

/* Calls of address arithmetic and min()/max() are free of side effects,
 * so the writes still merge (as kernel commits after 6.3 did by hand). */
static void zero_page(struct bio_vec *bv)
{
	bv->bv_offset = 0;
	bv->bv_len = PAGE_SIZE;
	bv->bv_page = ZERO_PAGE(0);
}

static void from_address(struct bio_vec *bv, void *p, unsigned int len)
{
	bv->bv_page = virt_to_page(p);
	bv->bv_len = min(len, PAGE_SIZE - offset_in_page(p));
	bv->bv_offset = offset_in_page(p);
}
