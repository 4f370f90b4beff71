struct page;
struct bio_vec {
	struct page *bv_page;
};
struct bio;

/* A call's result has the type its definition or prototype gives. */
static inline struct bio_vec *bio_first_bvec_all(struct bio *bio)
{
	return bio->bi_io_vec;
}
struct page *lookup(int i);

static struct page *first_page(struct bio *bio)
{
	return bio_first_bvec_all(bio)->bv_page;
}

/* Another type's member: left. */
static struct page *looked_up(int i)
{
	return lookup(i)->bv_page;
}
