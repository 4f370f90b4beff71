/* bvec_phys() as Linux 6.12 writes it, with the raw members (the helpers
 * step leaves a helper's body to the rule that owns it), and with
 * page_to_phys(); the 2015 two-argument bvec_set_page(). */
static inline phys_addr_t bvec_phys(const struct bio_vec *bvec)
{
	/*
	 * Note this open codes page_to_phys because page_to_phys is defined in
	 * <asm/io.h>, which we don't want to pull in here.
	 */
	return PFN_PHYS(page_to_pfn(bvec->bv_page)) + bvec->bv_offset;
}

static inline phys_addr_t other_bvec_phys(const struct bio_vec *bvec)
{
	return page_to_phys(bvec_page(bvec)) + bvec_page_offset(bvec);
}

static inline void bvec_set_page(struct bio_vec *bvec, struct page *page)
{
	bvec->bv_page = page;
}
