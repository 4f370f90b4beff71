/* The helpers themselves and the member's declaration keep the field. */
struct bio_vec {
	struct page	*bv_page;
	unsigned int	bv_len;
	unsigned int	bv_offset;
};

static inline struct page *bvec_page(const struct bio_vec *bvec)
{
	return bvec->bv_page;
}

static inline void bvec_set_page(struct bio_vec *bvec, struct page *page)
{
	bvec->bv_page = page;
}
