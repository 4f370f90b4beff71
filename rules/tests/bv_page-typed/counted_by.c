struct page;
struct bio_vec {
	struct page *bv_page;
};

/* A kernel attribute macro after a member's declarator: still a member. */
struct io_mapped_ubuf {
	unsigned int nr_bvecs;
	struct bio_vec bvec[] __counted_by(nr_bvecs);
};

static struct page *nth_page(struct io_mapped_ubuf *imu, unsigned int i)
{
	return imu->bvec[i].bv_page;
}
