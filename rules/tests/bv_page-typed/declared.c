struct page;
struct bio_vec {
	struct page *bv_page;
	unsigned int bv_len;
	unsigned int bv_offset;
};
struct bio {
	struct bio_vec *bi_io_vec;
};

static struct page *first(struct bio *bio, int i)
{
	struct bio_vec bv = bio->bi_io_vec[i];

	bio->bi_io_vec[i].bv_page = bv.bv_page;
	return bio->bi_io_vec->bv_page;
}
