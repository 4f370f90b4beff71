#define mk(bvec, iter)				\
((struct bio_vec) {						\
	.bv_page	= bvec_iter_page((bvec), (iter)),	\
	.bv_len		= bvec_iter_len((bvec), (iter)),	\
	.bv_offset	= bvec_iter_offset((bvec), (iter)),	\
})
static struct bio_vec a = { .bv_page = p, .bv_len = 1 };
static struct bio_vec b = {
	.bv_page    = p,
	.bv_len     = 1,
};
/* The #define above starts the file, and its = signs are aligned with
 * tabs: the rewritten member keeps its = in that column. */
