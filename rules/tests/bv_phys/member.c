/* The member of struct bio_vec, and nothing else named bv_page or
 * bv_offset: another struct's members stay. */
struct bio_vec {
	struct page	*bv_page;
	unsigned int	bv_len;
	unsigned int	bv_offset;
};

struct my_vec {
	struct page	*bv_page;
	unsigned int	bv_offset;
};
