/* Each open-coded form becomes the helper that says the same thing. */
void *virt(struct bio_vec *bv, struct bio_vec v, struct bio_vec *a, int i)
{
	void *p = page_address(bv->bv_page) + bv->bv_offset;
	void *q = page_address(v.bv_page) + v.bv_offset;

	return page_address(a[i].bv_page) + a[i].bv_offset;
}

void *kmap(struct bio_vec *bv)
{
	return kmap_local_page(bv->bv_page) + bv->bv_offset;
}

phys_addr_t phys(struct bio_vec *bv, struct bio_vec v)
{
	phys_addr_t a = page_to_phys(bv->bv_page) + bv->bv_offset;

	return a + PFN_PHYS(page_to_pfn(v.bv_page)) + v.bv_offset;
}

void copy(struct bio_vec *bv, char *buf)
{
	memcpy_from_page(buf, bv->bv_page, bv->bv_offset, bv->bv_len);
	memcpy_to_page(bv->bv_page, bv->bv_offset, buf + 1, bv->bv_len);
	memzero_page(bv->bv_page, bv->bv_offset, bv->bv_len);
}

struct folio *folio(struct bio_vec *bv)
{
	return page_folio(bv->bv_page);
}

void set(struct bio_vec *bv, struct bio_vec v, struct folio *f, void *p, unsigned int len)
{
	bvec_set_page(bv, &f->page, len, 0);
	bvec_set_page(&v, folio_page(f, 0), len, 512);
	bvec_set_page(bv, virt_to_page(p), len, offset_in_page(p));
}

void writes(struct bio_vec *bv, struct folio *f, void *p, unsigned int len)
{
	bv->bv_page = virt_to_page(p);
	bv->bv_len = len;
	bv->bv_offset = offset_in_page(p);
}

void writes_folio(struct bio_vec *bv, struct folio *f, unsigned int len)
{
	bv->bv_offset = 0;
	bv->bv_page = &f->page;
	bv->bv_len = len;
}

/* Not the idioms: another page, another offset, another bio_vec. */
void *others(struct bio_vec *bv, struct bio_vec *w, void *p, unsigned int len)
{
	bvec_set_page(bv, virt_to_page(p), len, 0);
	memcpy_from_page(p, bv->bv_page, 0, bv->bv_len);
	return page_address(bv->bv_page) + w->bv_offset;
}

#define BVEC_ADDR(bv) (page_address((bv)->bv_page) + (bv)->bv_offset)
