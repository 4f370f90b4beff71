/* A local named like the helper this rule writes (fs/btrfs/compression.c
 * in Linux 6.12 declares `u32 bvec_offset;`, which is why the helper is
 * not called that): a call of bvec_page_offset() in its scope would call
 * the u32 and not compile, so those reads are left, with the reason. The
 * read before the declaration, and the one in another function, convert;
 * so does the read beside btrfs's own name. A parameter shadows too. */
static int btrfs_decompress_buf2page(struct bio_vec bvec, u32 start)
{
	u32 first = bvec.bv_offset;
	u32 bvec_page_offset;

	bvec_page_offset = page_offset(bvec.bv_page) + bvec.bv_offset - start;
	return first + bvec_page_offset;
}

static u32 other(struct bio_vec *bv)
{
	return bv->bv_offset;
}

static u32 btrfs_name(struct bio_vec bvec)
{
	u32 bvec_offset = bvec.bv_offset;

	return bvec_offset;
}

static u32 parameter(struct bio_vec *bv, u32 bvec_page_offset)
{
	return bv->bv_offset + bvec_page_offset;
}
