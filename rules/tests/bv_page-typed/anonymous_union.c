struct page;
struct iovec;
struct bio_vec {
	struct page *bv_page;
};

/* A member whose type is an anonymous union: its members are known. */
struct iotlb_vec {
	union {
		struct iovec *iovec;
		struct bio_vec *bvec;
	} iov;
	unsigned int count;
};

static struct page *first_page(struct iotlb_vec *ivec)
{
	return ivec->iov.bvec[0].bv_page;
}
