/* Linux 6.12's include/linux/bvec.h, bvec_advance(): the first argument
 * of min_t (max_t, clamp_t, container_of's second, ...) is a type, which
 * does not parse as C when it has two words. bvmig reads it as one name
 * (src/c/gnu.rs), so the statement is trusted and the read converts: it
 * was the one raw bv_offset a 6.12 kernel built after bv_phys.cocci, and
 * no longer compiled there (xtask boot's phys step). A one-word type
 * parses as it is. */
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
