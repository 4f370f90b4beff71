/* { NULL } sets the page pointer; a physical address takes { }. */
void f(void)
{
	struct bio_vec bv, bvprv = { NULL };
	struct bio_vec one = { NULL };

	use(&bv, &bvprv, &one);
}
