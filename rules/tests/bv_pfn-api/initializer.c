/* A bio_vec initialized from another's page (bv_page.cocci converts the
 * read and leaves the initializer) takes its pfn; any other page is left
 * to bv_pfn.cocci. */
static void split(struct bio_vec *bv, struct page *page)
{
	struct bio_vec head = {
		.bv_page = bvec_page(bv),
		.bv_len = 512,
	};
	struct bio_vec tail = { .bv_page = page, .bv_len = 512 };

	submit(&head, &tail);
}
