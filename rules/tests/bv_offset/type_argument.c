/* Linux 6.12's include/linux/bvec.h, bvec_advance(): a macro whose first
 * argument is a type (min_t, max_t, clamp_t) does not parse as C when the
 * type has two words, so its statement is not trusted and the read is
 * left, reported as unparsed (FIXME: the engine should read such macro
 * arguments; after bv_phys.cocci this line no longer compiles, and it is
 * the one raw bv_offset a 6.12 kernel builds, xtask boot's phys step).
 * With a one-word type the call parses and the read converts. */
static inline void bvec_advance(const struct bio_vec *bvec,
				struct bvec_iter_all *iter_all)
{
	struct bio_vec *bv = &iter_all->bv;

	bv->bv_len = min_t(unsigned int, PAGE_SIZE - bv->bv_offset,
			   bvec->bv_len - iter_all->done);
}

static inline void one_word(struct bio_vec *bv, u32 done)
{
	bv->bv_len = min_t(u32, PAGE_SIZE - bv->bv_offset, bv->bv_len - done);
}
