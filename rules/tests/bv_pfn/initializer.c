/* Designated initializers store the pfn of the page: in declarations,
 * arrays, compound literals and #define bodies (as include/linux/bvec.h
 * builds a bio_vec in mp_bvec_iter_bvec()). */
#define mp_bvec_iter_bvec(bvec, iter)				\
((struct bio_vec) {						\
	.bv_page	= mp_bvec_iter_page((bvec), (iter)),	\
	.bv_len		= mp_bvec_iter_len((bvec), (iter)),	\
	.bv_offset	= mp_bvec_iter_offset((bvec), (iter)),	\
})

static struct bio_vec zero_vecs[] = {
	{ .bv_page = ZERO_PAGE(0), .bv_len = PAGE_SIZE },
	[1] = { .bv_len = PAGE_SIZE, .bv_page = ZERO_PAGE(0) },
};

static void add_one(struct bio *bio, struct page *page)
{
	struct bio_vec bv = {
		.bv_page = page,
		.bv_len = PAGE_SIZE,
	};

	bio_add_bvec(bio, &bv);
	bio_add_bvec(bio, &(struct bio_vec){ .bv_page = nth_page(page, 1) });
}
