/* Writes whose value is discarded become bvec_set_page(); a read in the
 * value is converted too. */
static void copy_vec(struct bio_vec *to, const struct bio_vec *from)
{
	to->bv_page = from->bv_page;
	to->bv_len = from->bv_len;
}

static void reset(struct bio *bio, struct page *page)
{
	struct bio_vec bv;

	bv.bv_page = page;
	for (int i = 0; i < bio->bi_vcnt; i++)
		bio->bi_io_vec[i].bv_page = i ? page : NULL;
	bio_add_bvec(bio, &bv);
}
