/* Forms no helper call can stand for are left and reported. */
struct bio_vec *next_vec(struct bio_vec *bv);
struct bio_vec vec_of(int i);

static struct bio_vec zero_vec = {
	.bv_page = NULL,
	.bv_len = 0,
};

static struct page *refused(struct bio_vec *bv, struct page *page)
{
	struct page **pp = &bv->bv_page;	/* an address */
	struct page *old = bv->bv_page = page;	/* a value used */
	struct page *cur = READ_ONCE(bv->bv_page);	/* an lvalue macro */

	next_vec(bv)->bv_page++;	/* a side effect evaluated twice */
	vec_of(1).bv_page = page;	/* a base without an address */
	return *pp ? old : cur + offsetof(struct bio_vec, bv_page);
}
