struct page;
struct bio_vec {
	struct page *bv_page;
};
#define lookup(i) (&table[i])

/* A macro's result has no declared type: left, with that reason. */
static struct page *via_call(int i)
{
	return lookup(i)->bv_page;
}
