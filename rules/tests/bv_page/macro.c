/* #define bodies are converted as the functions are, whatever their
 * names (Coccinelle leaves them alone). */
#define bvec_virt(bv)	(page_address((bv)->bv_page) + (bv)->bv_offset)
#define bvec_next_page(bv) \
	do { \
		(bv)->bv_page++; \
	} while (0)
