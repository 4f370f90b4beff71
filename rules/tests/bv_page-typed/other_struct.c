struct page;
struct bio_vec {
	struct page *bv_page;
};
/* Another struct with a member of the same name: left alone. */
struct page_ref {
	struct page *bv_page;
};

static struct page *pick(struct bio_vec *bv, struct page_ref *ref)
{
	return bv->bv_page ? bv->bv_page : ref->bv_page;
}
