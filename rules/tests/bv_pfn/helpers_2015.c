/* The 2015 helpers convert between the page and the pfn. */
static inline struct page *bvec_page(const struct bio_vec *bvec)
{
	return bvec->bv_page;
}

static inline void bvec_set_page(struct bio_vec *bvec, struct page *page)
{
	bvec->bv_page = page;
}
