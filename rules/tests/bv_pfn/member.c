/* struct bio_vec carries a pfn_t instead of a page pointer. */
struct bio_vec {
	struct page	*bv_page;
	unsigned int	bv_len;
	unsigned int	bv_offset;
};
