/* Forms no helper call can stand for are left and reported. */
static void refused(struct bio_vec *bv, struct page *page, struct page **out)
{
	struct bio_vec v = { .bv_page = page, .bv_len = PAGE_SIZE };

	*out = bv->bv_page = page;
	WRITE_ONCE(bv->bv_page, page);
	swap(bv->bv_page, v.bv_page);
	consume(&v.bv_page);
}
