/* Mapping a bvec and its physical address need no struct page. */
static void copy_bvec(struct bio_vec *to, struct bio_vec *from)
{
	void *dst = kmap_atomic(bvec_page(to));
	void *src = kmap_atomic(bvec_page(from));

	memcpy(dst + to->bv_offset, src + from->bv_offset, to->bv_len);
	kunmap_atomic(src);
	kunmap_atomic(dst);
}

static bool below_limit(struct bio_vec *bv, unsigned long limit_pfn, phys_addr_t end)
{
	return page_to_pfn(bvec_page(bv)) <= limit_pfn &&
	       page_to_phys(bvec_page(bv)) + bv->bv_offset < end;
}
