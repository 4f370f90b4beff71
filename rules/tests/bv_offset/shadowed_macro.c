/* A macro whose body would call the helper, expanded where a local of the
 * helper's name is in scope: the call would reach the local, so the site in
 * the body is left, naming the declaration (with the run's other files, a
 * declaration in any of them is named). The read outside the macro, before
 * the local is declared, converts. */
#define OFF(b) ((b)->bv_offset)

static u32 f(struct bio_vec *bv)
{
	u32 first = bv->bv_offset;
	u32 bvec_page_offset = OFF(bv);

	return first + bvec_page_offset;
}
