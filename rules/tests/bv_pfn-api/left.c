/* Uses that need a struct page keep bvec_page(), which returns NULL on
 * memory without a memmap; the helpers themselves are not touched. */
static struct page *keep(struct bio_vec *bv, struct page *page)
{
	struct page *p = bvec_page(bv);

	flush_dcache_page(bvec_page(bv));
	bvec_set_page(bv, page);
	return p == page ? p : NULL;
}

static inline pfn_t bvec_pfn(const struct bio_vec *bvec)
{
	return page_to_pfn_t(bvec_page(bvec));
}
