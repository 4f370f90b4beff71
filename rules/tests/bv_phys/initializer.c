/* Designated initializers, in a #define body as bvec.h builds them, in
 * code, and a lone page; an explicit NULL page is left for a human, and so
 * is an offset in another order (d: its page converts alone, and the
 * .bv_offset left no longer compiles). The compound literal is written on
 * one line: the engine renders + code as one line. */
#define mp_bvec_iter_bvec(bvec, iter)				\
((struct bio_vec) {						\
	.bv_page	= mp_bvec_iter_page((bvec), (iter)),	\
	.bv_len		= mp_bvec_iter_len((bvec), (iter)),	\
	.bv_offset	= mp_bvec_iter_offset((bvec), (iter)),	\
})

void f(struct page *page, unsigned int len, unsigned int off)
{
	struct bio_vec a = (struct bio_vec) { .bv_page = page, .bv_len = len, .bv_offset = off };
	struct bio_vec b = { .bv_page = page, .bv_len = PAGE_SIZE };
	struct bio_vec c = { .bv_page = NULL, .bv_len = 0 };
	struct bio_vec d = { .bv_offset = off, .bv_page = page, .bv_len = len };

	use(&a, &b, &c, &d);
}

void g(struct bio_vec *bv, unsigned int off)
{
	struct bio_vec sector = {
		.bv_page = bvec_page(bv),
		.bv_len = 512,
		.bv_offset = bvec_page_offset(bv) + off,
	};
	struct bio_vec two = { .bv_page = bvec_page(bv), .bv_len = 512, .bv_offset = 0 };

	use(&sector, &two);
}
