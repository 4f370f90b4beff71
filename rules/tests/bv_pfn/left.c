/* Raw accesses that the first step left for a human stay as they are,
 * and are reported: once the member is a pfn they no longer compile, which
 * shows where to look. */
static_assert(offsetof(struct bio_vec, bv_page) ==
	      offsetof(skb_frag_t, netmem));

static struct page *refused(struct bio_vec *bv, struct page *page)
{
	struct page **pp = &bv->bv_page;
	struct page *old = bv->bv_page = page;

	return *pp ? old : READ_ONCE(bv->bv_page);
}
