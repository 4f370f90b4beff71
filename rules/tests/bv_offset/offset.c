/* Reads and writes of bv_offset go through the helpers. */
unsigned int read(struct bio_vec *bv, struct bio_vec v, struct bio_vec *a, int i)
{
	return bv->bv_offset + v.bv_offset + a[i].bv_offset;
}

void write(struct bio_vec *bv, struct bio_vec v, unsigned int n)
{
	bv->bv_offset = 0;
	v.bv_offset = bv->bv_offset + n;
	bv->bv_offset += n;
	v.bv_offset -= n;
	bv->bv_offset++;
}

/* The value of the assignment is used: left with the reason. */
unsigned int used(struct bio_vec *bv)
{
	return bv->bv_offset = 0;
}

/* The other helpers convert; the accessors are left. */
static inline void *bvec_virt(struct bio_vec *bvec)
{
	return page_address(bvec_page(bvec)) + bvec->bv_offset;
}

static inline unsigned int bvec_page_offset(const struct bio_vec *bvec)
{
	return bvec->bv_offset;
}

#define mp_bvec_iter_offset(bvec, iter) \
	(__bvec_iter_bvec((bvec), (iter))->bv_offset + (iter).bi_bvec_done)
