/* A match inside another one's arguments is converted too. */
static void nested(struct bio_vec *a, struct bio_vec *b, struct scatterlist *sg)
{
	sg_set_page(sg, bvec_page(a), page_to_phys(bvec_page(b)) & 0xfff, 0);
}
