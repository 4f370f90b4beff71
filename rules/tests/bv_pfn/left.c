/* Raw accesses that the first step left for a human stay as they are:
 * once the member is a pfn they no longer compile, which shows where to
 * look. FIXME: left.report should list these four sites; it is empty
 * because bvmig tracks no field for this rule file yet (rules/README.md,
 * "The bv_pfn step"), so it reports no sites at all. */
static_assert(offsetof(struct bio_vec, bv_page) ==
	      offsetof(skb_frag_t, netmem));

static struct page *refused(struct bio_vec *bv, struct page *page)
{
	struct page **pp = &bv->bv_page;
	struct page *old = bv->bv_page = page;

	return *pp ? old : READ_ONCE(bv->bv_page);
}
