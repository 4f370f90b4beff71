/* Linux 6.3's four-argument bvec_set_page(), and the bvec_page() and
 * __bvec_set_page() that bvmig adds for bv_page-modern.cocci. Helpers that
 * call them (bvec_set_folio(), bvec_set_virt()) need nothing. */
static inline struct page *bvec_page(const struct bio_vec *bvec)
{
	return bvec->bv_page;
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

static inline void bvec_set_virt(struct bio_vec *bv, void *vaddr,
		unsigned int len)
{
	bvec_set_page(bv, virt_to_page(vaddr), len, offset_in_page(vaddr));
}
