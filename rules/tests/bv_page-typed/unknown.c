struct page;
struct bio_vec {
	struct page *bv_page;
};
struct bio_vec *lookup(int i);

/* A call's result has no declared type here: left, with that reason. */
static struct page *via_call(int i)
{
	return lookup(i)->bv_page;
}
