/* FIXME: the rule matches any declaration `struct page *bv_page;`, so a
 * local variable or the member of another struct with that name is
 * converted too, and its uses are not. Coccinelle would confine the rule
 * with `struct bio_vec { ... };` around it, which bvmig cannot read yet.
 * Linux 6.12 and 6.1 have no such declaration. */
struct my_vec {
	struct page *bv_page;
};

static void f(void)
{
	struct page *bv_page;

	bv_page = NULL;
}
