/*
 * Kept: E is evaluated twice by the open-coded form and once by the helper.
 * FIXME: the engine checks only bindings the replacement evaluates more
 * often (src/smpl/pattern.rs, `duplicated`); one it evaluates less often
 * is rewritten today, as below, and should be left with the reason when it
 * is not free of side effects.
 */
void *impure(struct bio_vec *(*next)(void))
{
	return page_address(next()->bv_page) + next()->bv_offset;
}

/* A helper's own body is left alone: an idiom there would recurse. */
static inline void *bvec_virt(struct bio_vec *bvec)
{
	WARN_ON_ONCE(PageHighMem(bvec->bv_page));
	return page_address(bvec->bv_page) + bvec->bv_offset;
}

static inline void bvec_set_folio(struct bio_vec *bv, struct folio *folio,
		size_t len, size_t offset)
{
	bvec_set_page(bv, &folio->page, len, offset);
}

/* Side effects in the writes' values: not one call. */
void writes(struct bio_vec *bv, unsigned int len)
{
	bv->bv_page = virt_to_page(kmalloc(len));
	bv->bv_len = len;
	bv->bv_offset = offset_in_page(kmalloc(len));
}
