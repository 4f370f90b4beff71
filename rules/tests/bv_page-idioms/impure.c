/*
 * Kept: each open-coded form below evaluates E (or P) more often than the
 * helper that replaces it; with side effects, the site is left with the
 * reason (src/smpl/pattern.rs, `dropped`). One case per idiom of
 * rules/bv_page-idioms.cocci that drops an evaluation: impure_HELPER for
 * the `->` form, impure_HELPER_dot for the `.` form.
 */
void *impure_bvec_virt(struct bio_vec *(*next)(void))
{
	return page_address(next()->bv_page) + next()->bv_offset;
}

void *impure_bvec_kmap_local(struct bio_vec *(*next)(void))
{
	return kmap_local_page(next()->bv_page) + next()->bv_offset;
}

phys_addr_t impure_bvec_phys(struct bio_vec *(*next)(void))
{
	return page_to_phys(next()->bv_page) + next()->bv_offset;
}

phys_addr_t impure_bvec_phys_pfn(struct bio_vec *(*next)(void))
{
	return PFN_PHYS(page_to_pfn(next()->bv_page)) + next()->bv_offset;
}

void impure_memcpy_from_bvec(char *to, struct bio_vec *(*next)(void))
{
	memcpy_from_page(to, next()->bv_page, next()->bv_offset, next()->bv_len);
}

void impure_memcpy_to_bvec(const char *from, struct bio_vec *(*next)(void))
{
	memcpy_to_page(next()->bv_page, next()->bv_offset, from, next()->bv_len);
}

void impure_memzero_bvec(struct bio_vec *(*next)(void))
{
	memzero_page(next()->bv_page, next()->bv_offset, next()->bv_len);
}

void *impure_bvec_virt_dot(struct bio_vec *v, int (*pick)(void))
{
	return page_address(v[pick()].bv_page) + v[pick()].bv_offset;
}

void *impure_bvec_kmap_local_dot(struct bio_vec *v, int (*pick)(void))
{
	return kmap_local_page(v[pick()].bv_page) + v[pick()].bv_offset;
}

phys_addr_t impure_bvec_phys_dot(struct bio_vec *v, int (*pick)(void))
{
	return page_to_phys(v[pick()].bv_page) + v[pick()].bv_offset;
}

phys_addr_t impure_bvec_phys_pfn_dot(struct bio_vec *v, int (*pick)(void))
{
	return PFN_PHYS(page_to_pfn(v[pick()].bv_page)) + v[pick()].bv_offset;
}

void impure_memcpy_from_bvec_dot(char *to, struct bio_vec *v, int (*pick)(void))
{
	memcpy_from_page(to, v[pick()].bv_page, v[pick()].bv_offset, v[pick()].bv_len);
}

void impure_memcpy_to_bvec_dot(const char *from, struct bio_vec *v, int (*pick)(void))
{
	memcpy_to_page(v[pick()].bv_page, v[pick()].bv_offset, from, v[pick()].bv_len);
}

void impure_memzero_bvec_dot(struct bio_vec *v, int (*pick)(void))
{
	memzero_page(v[pick()].bv_page, v[pick()].bv_offset, v[pick()].bv_len);
}

void impure_bvec_set_virt(struct bio_vec *bv, unsigned int len, void *(*alloc)(void))
{
	bvec_set_page(bv, virt_to_page(alloc()), len, offset_in_page(alloc()));
}

/* Free of side effects: converted. */
void *pure(struct bio_vec *bv, struct bio_vec *v, int i)
{
	return page_address(bv->bv_page) + bv->bv_offset +
		(page_address(v[i].bv_page) + v[i].bv_offset - NULL);
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
