/* The member's rule is written inside `struct bio_vec { ... };`: a local
 * variable or another struct's member named bv_page is not converted. */
struct bio_vec {
	struct page *bv_page;
	unsigned int bv_len;
};

struct my_vec {
	struct page *bv_page;
};

static void f(void)
{
	struct page *bv_page;

	bv_page = NULL;
}
