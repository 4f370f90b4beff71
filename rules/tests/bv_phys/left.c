/* net/core/skbuff.c: kcm_write_msgs() casts paged frags to bio_vecs, and
 * these asserts keep the cast valid. After the step the layouts no longer
 * alias: the asserts, and a raw access the helpers step left, stay as they
 * are and no longer compile (bv_page is gone, bv_offset renamed).
 * FIXME: they should also be reported as sites (offsetof: names the
 * member). The engine counts as sites the fields that every change of a
 * rule file removes (an intersection), and this file's changes remove
 * bv_page or bv_offset, so it counts none: no .report. */
static_assert(offsetof(struct bio_vec, bv_page) ==
	      offsetof(skb_frag_t, netmem));
static_assert(sizeof_field(struct bio_vec, bv_page) ==
	      sizeof_field(skb_frag_t, netmem));
static_assert(offsetof(struct bio_vec, bv_offset) ==
	      offsetof(skb_frag_t, offset));

static struct page **refused(struct bio_vec *bv)
{
	return &bv->bv_page;
}
