/* Adjacent writes that one call would not do the same way are converted
 * one by one: a comment among them, a value with a call in it (a call may
 * have side effects, and one call evaluates its arguments in no set
 * order; address arithmetic such as virt_to_page() is merged, see
 * merged.c), a value that reads a field the writes set, two bio_vecs. */
unsigned int next_len(struct bvec_iter *iter);

static void with_comment(struct bio_vec *bv, struct page *page)
{
	bv->bv_page = page;
	/* the whole page */
	bv->bv_len = PAGE_SIZE;
	bv->bv_offset = 0;
}

static void side_effect(struct bio_vec *bv, struct page *page, struct bvec_iter *iter)
{
	bv->bv_page = page;
	bv->bv_len = next_len(iter);
	bv->bv_offset = 0;
}

static void reads_written(struct bio_vec *bv, struct page *page, unsigned int len)
{
	bv->bv_page = page;
	bv->bv_len = len;
	bv->bv_offset = bv->bv_len - 512;
}

static void two_bvecs(struct bio_vec *a, struct bio_vec *b, struct page *page)
{
	a->bv_page = page;
	b->bv_len = PAGE_SIZE;
	a->bv_offset = 0;
}
