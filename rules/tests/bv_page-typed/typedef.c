struct page;
struct bio_vec {
	struct page *bv_page;
};
typedef struct bio_vec skb_frag_t;

/* A typedef of struct bio_vec is a struct bio_vec. */
static struct page *frag_page(skb_frag_t *frag)
{
	return frag->bv_page;
}
