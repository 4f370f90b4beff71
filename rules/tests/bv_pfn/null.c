/* A literal NULL page is kept, and no longer compiles once the member is a
 * pfn: page_to_pfn_t(NULL) reads back as NULL only where pointer
 * arithmetic wraps around. Any other page converts. */
static struct bio_vec none = { .bv_page = NULL };
static struct bio_vec some = { .bv_page = ZERO_PAGE(0), .bv_len = 1 };
