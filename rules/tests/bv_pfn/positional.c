/* A positional initializer names no member: { NULL } sets the page
 * pointer, which a pfn_t cannot take; { } zeroes every member, as it did.
 * Other initializers, and other types, are left alone. */
static unsigned int count_segments(struct bio *bio)
{
	struct bio_vec bv, bvprv = { NULL };
	struct bio_vec first = { NULL };
	struct bio_vec zero = { };
	struct other o = { NULL };
	struct bvec_iter iter;
	unsigned int n = 0;

	bio_for_each_bvec(bv, bio, iter)
		n += !biovec_phys_mergeable(bio->bi_bdev->bd_disk->queue, &bvprv, &bv);
	return n + !!first.bv_len + zero.bv_len + !!o.p;
}
