/* The helpers as Linux 6.12's include/linux/bvec.h has them after the
 * helpers step: bvec_page(), bvec_page_offset() and bvec_set_offset() added by
 * it, bvec_set_page() in its four-argument form, and the others reading
 * through bvec_page() and bvec_page_offset(). */
static inline struct page *bvec_page(const struct bio_vec *bvec)
{
	return bvec->bv_page;
}

static inline unsigned int bvec_page_offset(const struct bio_vec *bvec)
{
	return bvec->bv_offset;
}

static inline void bvec_set_offset(struct bio_vec *bvec, unsigned int offset)
{
	bvec->bv_offset = offset;
}

static inline void __bvec_set_page(struct bio_vec *bvec, struct page *page)
{
	bvec->bv_page = page;
}

static inline void bvec_set_page(struct bio_vec *bv, struct page *page,
		unsigned int len, unsigned int offset)
{
	bv->bv_page = page;
	bv->bv_len = len;
	bv->bv_offset = offset;
}

static inline void bvec_set_folio(struct bio_vec *bv, struct folio *folio,
		unsigned int len, unsigned int offset)
{
	bvec_set_page(bv, &folio->page, len, offset);
}

static inline void bvec_set_virt(struct bio_vec *bv, void *vaddr,
		unsigned int len)
{
	bvec_set_page(bv, virt_to_page(vaddr), len, offset_in_page(vaddr));
}

static inline void *bvec_kmap_local(struct bio_vec *bvec)
{
	return kmap_local_page(bvec_page(bvec)) + bvec_page_offset(bvec);
}

static inline phys_addr_t bvec_phys(const struct bio_vec *bvec)
{
	return PFN_PHYS(page_to_pfn(bvec_page(bvec))) + bvec_page_offset(bvec);
}
