/* Linux 6.3's helper and the two bvmig adds keep the field. */
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

static inline void bvec_set_folio(struct bio_vec *bv, struct folio *folio,
		unsigned int len, unsigned int offset)
{
	bvec_set_page(bv, &folio->page, len, offset);
}
