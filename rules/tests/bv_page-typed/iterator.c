struct page;
struct bio_vec {
	struct page *bv_page;
};
struct bio;

/* No declaration of bv: the iterator macro makes it likely a bio_vec. */
#define bio_for_each_segment(bvl, bio, iter) for (;;)
static void walk(struct bio *bio, struct page **out)
{
	bio_for_each_segment(bv, bio, iter) {
		*out = bv.bv_page;
	}
}
