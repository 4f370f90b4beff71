/* A write of the page alone becomes __bvec_set_page(): the four-argument
 * bvec_set_page() would also set the length and offset. */
static void swap_page(struct bio_vec *bv, struct page *page)
{
	bv->bv_page = page;
}

static void two_writes(struct bio_vec *bv, struct page *page)
{
	bv->bv_page = page;
	bv->bv_len = PAGE_SIZE;
}
