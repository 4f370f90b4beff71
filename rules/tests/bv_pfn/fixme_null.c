/* FIXME: a NULL page goes through page_to_pfn_t(NULL); pfn_t_to_page()
 * gives NULL back only by pointer arithmetic that wraps around. */
static struct bio_vec none = { .bv_page = NULL };
