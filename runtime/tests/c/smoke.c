// SPDX-License-Identifier: GPL-2.0
/*
 * Smoke test of the runtime's C ABI, compiled once per bio_vec layout
 * (with and without -DBVMIG_LAYOUT_PFN) into a shared object by
 * runtime/tests/it/c_abi.rs, which loads it and calls bvmig_smoke().
 * It stops at the first failed check, and logs what it read back into the
 * caller's buffer, which the Rust side asserts on too.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <bvmig/fixture.h>

static int checks;
static jmp_buf failed;
static char *log_buf;
static size_t log_cap, log_len;

static void say(const char *fmt, ...)
{
	va_list ap;
	int n;

	if (log_len + 1 >= log_cap)
		return;
	va_start(ap, fmt);
	n = vsnprintf(log_buf + log_len, log_cap - log_len, fmt, ap);
	va_end(ap);
	if (n > 0)
		log_len += (size_t)n;
	if (log_len >= log_cap)
		log_len = log_cap - 1;
}

/* Logs the failed check and returns from bvmig_smoke() with -1. */
#define CHECK(cond)							\
	do {								\
		checks++;						\
		if (!(cond)) {						\
			say("%s:%d: check failed: %s (last error %d: %s)\n", \
			    __FILE__, __LINE__, #cond,			\
			    bvmig_last_error_kind(),			\
			    bvmig_last_error_message());		\
			longjmp(failed, 1);				\
		}							\
	} while (0)

/* The last call failed with @kind and a message containing @needle. */
#define CHECK_ERROR(kind, needle)					\
	do {								\
		CHECK(bvmig_last_error_kind() == (kind));		\
		CHECK(strstr(bvmig_last_error_message(), (needle)) != NULL); \
	} while (0)

#define GIB (1ULL << 30)
#define MIB (1ULL << 20)
#define PMEM_BASE (4 * GIB)

static void check_pfn_t_flags(void)
{
	u64 flags[] = { 0, PFN_DEV, PFN_DEV | PFN_MAP, PFN_MAP, PFN_SG_LAST };
	unsigned int i;

	CHECK(PFN_FLAGS_MASK == 0xfff0000000000000ULL);
	for (i = 0; i < sizeof(flags) / sizeof(flags[0]); i++) {
		pfn_t pfn = __pfn_to_pfn_t(0x1234, flags[i]);

		CHECK(pfn_t_to_pfn(pfn) == 0x1234);
		CHECK(pfn_t_has_page(pfn) == bvmig_pfn_t_has_page(pfn));
	}
	CHECK(pfn_t_to_page(phys_to_pfn_t(PMEM_BASE, PFN_DEV)) == NULL);
	CHECK(bvmig_last_error_kind() == BVMIG_ERR_NONE);
}

/* Writes @s at @offset of @page through a kmap. */
static void poke(struct page *page, unsigned int offset, const char *s)
{
	char *addr = kmap_atomic(page);

	CHECK(addr != NULL);
	memcpy(addr + offset, s, strlen(s));
	kunmap_atomic(addr);
}

/* Reads every single-page segment of @bio into @buf; returns the count. */
static unsigned int read_segments(struct bio *bio, char *buf, size_t cap)
{
	struct bio_vec bv;
	struct bvec_iter iter;
	unsigned int n = 0;
	size_t done = 0;

	bio_for_each_segment(bv, bio, iter) {
		char *addr;

#ifdef BVMIG_LAYOUT_PFN
		addr = kmap_atomic_pfn_t(bvec_pfn(&bv));
#else
		addr = kmap_atomic(bvec_page(&bv));
#endif
		CHECK(addr != NULL);
		CHECK(done + bv.bv_len <= cap);
		memcpy(buf + done, addr + bv.bv_offset, bv.bv_len);
		kunmap_atomic_pfn_t(addr);
		done += bv.bv_len;
		n++;
	}
	CHECK(done == bio->bi_iter.bi_size);
	return n;
}

static void check_dram_bio(struct device *dma64)
{
	static char buf[3 * 4096];
	struct page *p1 = alloc_page(GFP_KERNEL);
	struct page *p2 = pfn_to_page(page_to_pfn(p1) + 1);
	struct page *far = pfn_to_page(page_to_pfn(p1) + 100);
	struct bio *bio = bio_alloc(GFP_NOIO, 4), *front;
	struct bio_vec *bvl, bv;
	struct bvec_iter iter;
	struct scatterlist sgl[4];
	struct request_queue q = { .limits = BLK_DEFAULT_QUEUE_LIMITS };
	struct request rq = { .q = &q, .bio = bio, .nr_phys_segments = 4 };
	int i, n;

	CHECK(p1 && p2 && far && bio);
	poke(p1, 4090, "hello,");
	poke(p2, 0, " world");
	poke(far, 0, "far away");

	/* Two contiguous pages merge into one bvec; the third does not. */
	CHECK(bio_add_page(bio, p1, 4096, 0) == 4096);
	CHECK(bio_add_page(bio, p2, 4096, 0) == 4096);
	CHECK(bio->bi_vcnt == 1);
	CHECK(bio_add_page(bio, far, 8, 0) == 8);
	CHECK(bio->bi_vcnt == 2);
	CHECK(bio->bi_iter.bi_size == 8200);
	CHECK(bio_segments(bio) == 3);

	i = 0;
	bio_for_each_segment_all(bvl, bio, i)
		CHECK(bvec_page(bvl) == (i == 0 ? p1 : far));

	n = 0;
	bio_for_each_bvec(bv, bio, iter)
		n++;
	CHECK(n == 2);

	CHECK(read_segments(bio, buf, sizeof(buf)) == 3);
	CHECK(memcmp(buf + 4090, "hello, world", 12) == 0);
	CHECK(memcmp(buf + 8192, "far away", 8) == 0);
	say("read back: %.12s / %.8s\n", buf + 4090, buf + 8192);

	/* The request maps to two scatterlist entries. */
	sg_init_table(sgl, 4);
	CHECK(blk_rq_map_sg(&q, &rq, sgl) == 2);
	CHECK(sg_phys(&sgl[0]) == page_to_phys(p1));
	CHECK(sgl[0].length == 8192);
	CHECK(sg_is_last(&sgl[1]) && !sg_is_last(&sgl[0]));
	CHECK(sg_page(&sgl[1]) == far);
	CHECK(dma_map_sg(dma64, sgl, 4, DMA_TO_DEVICE) == 2);
	CHECK(sg_dma_address(&sgl[1]) == page_to_phys(far));
	dma_unmap_sg(dma64, sgl, 4, DMA_TO_DEVICE);
	CHECK(bvmig_last_error_kind() == BVMIG_ERR_NONE);

	/* Split after 9 sectors: 4608 bytes go to the front. */
	front = bio_split(bio, 9, GFP_NOIO, NULL);
	CHECK(front != NULL);
	CHECK(bio_flagged(front, BIO_CLONED));
	CHECK(front->bi_iter.bi_size == 4608);
	CHECK(bio->bi_iter.bi_size == 8200 - 4608);
	CHECK(bio->bi_iter.bi_sector == 9);
	bv = bio_iter_iovec(bio, bio->bi_iter);
	CHECK(bvec_page(&bv) == p2 && bv.bv_offset == 512);
	CHECK(bio_add_page(front, far, 8, 8) == 0);
	CHECK_ERROR(BVMIG_ERR_WARN, "cloned");

	/* Misuse is an error value with the kernel's severity. */
	CHECK(bio_add_page(bio, p1, 4000, 100) == 0);
	CHECK_ERROR(BVMIG_ERR_BUG, "crosses the end of the page");
	bio_advance(bio, 1 << 20);
	CHECK_ERROR(BVMIG_ERR_WARN, "past the end");
	CHECK(bio->bi_iter.bi_size == 0);
	CHECK(bio_split(bio, 0, GFP_NOIO, NULL) == NULL);
	CHECK_ERROR(BVMIG_ERR_BUG, "bio_split");

	/* A bio_vec corrupted from C is caught, not trusted. */
	front->bi_io_vec[0].bv_offset = 5000;
	CHECK(bio_segments(front) == 0);
	CHECK_ERROR(BVMIG_ERR_BUG, "offset");

	bio_put(front);
	bio_put(bio);
	bio_put(bio);
	CHECK_ERROR(BVMIG_ERR_BUG, "not a live struct bio");
	__free_page(p1);
	CHECK(bvmig_last_error_kind() == BVMIG_ERR_NONE);
}

/* Persistent memory without a memmap has no struct page in either layout. */
static void check_pmem_has_no_pages(struct device *pmem)
{
	pfn_t pfn;

	CHECK(bvmig_device_pfn_t(pmem, 0, &pfn) == 0);
	CHECK(pfn.val & PFN_DEV);
	CHECK(!pfn_t_has_page(pfn));
	CHECK(pfn_to_page(pfn_t_to_pfn(pfn)) == NULL);
	CHECK_ERROR(BVMIG_ERR_BUG, "no struct page");
}

#ifdef BVMIG_LAYOUT_PFN
/* The converted layout does I/O to page-less memory. */
static void check_pmem_bio(struct device *pmem, struct device *dma32)
{
	static char buf[2 * 4096];
	struct bio *bio = bio_alloc(GFP_NOIO, 2);
	struct scatterlist sgl[2];
	struct request_queue q = { .limits = BLK_DEFAULT_QUEUE_LIMITS };
	struct request rq = { .q = &q, .bio = bio, .nr_phys_segments = 2 };
	pfn_t p0, p1;
	char *addr;

	CHECK(bvmig_device_pfn_t(pmem, 0, &p0) == 0);
	CHECK(bvmig_device_pfn_t(pmem, 1, &p1) == 0);
	addr = kmap_atomic_pfn_t(p1);
	CHECK(addr != NULL);
	memcpy(addr, "persistent", 10);
	kunmap_atomic_pfn_t(addr);

	CHECK(bio_add_pfn(bio, p0, 4096, 0) == 4096);
	CHECK(bio_add_pfn(bio, p1, 4096, 0) == 4096);
	CHECK(bio->bi_vcnt == 1);
	CHECK(bvec_page(&bio->bi_io_vec[0]) == NULL);
	CHECK_ERROR(BVMIG_ERR_BUG, "page-less bio_vec");
	CHECK(bvec_pfn(&bio->bi_io_vec[0]).val == p0.val);
	CHECK(read_segments(bio, buf, sizeof(buf)) == 2);
	CHECK(memcmp(buf + 4096, "persistent", 10) == 0);
	say("pmem read back: %.10s\n", buf + 4096);

	/* A page-less scatterlist entry, beyond a 32-bit DMA mask. */
	sg_init_table(sgl, 2);
	CHECK(blk_rq_map_sg(&q, &rq, sgl) == 1);
	CHECK(sg_page(&sgl[0]) == NULL);
	CHECK(bvmig_last_error_kind() == BVMIG_ERR_NONE);
	CHECK(sg_phys(&sgl[0]) == PMEM_BASE);
	CHECK(dma_map_sg(dma32, sgl, 2, DMA_FROM_DEVICE) == 0);
	CHECK_ERROR(BVMIG_ERR_FAIL, "beyond the mask");
	CHECK(dma_mapping_error(dma32, dma_map_pfn(dma32, p0, 0, 512, DMA_TO_DEVICE)));

	/* After unbind, mapping the device's pfns is a reported stale use. */
	CHECK(bvmig_device_unbind(pmem) == 0);
	CHECK(kmap_atomic_pfn_t(p0) == NULL);
	CHECK_ERROR(BVMIG_ERR_BUG, "stale");
	CHECK(bvmig_stale_uses() == 1);
	CHECK(bvmig_device_bind(pmem) == 0);
	bio_put(bio);
}
#endif

/*
 * Runs every check against a world of its own; logs into @log (@cap
 * bytes). Returns the number of checks passed, or -1.
 */
BVMIG_EXPORT int bvmig_smoke(char *log, size_t cap);

int bvmig_smoke(char *log, size_t cap)
{
	struct device *pmem, *dma32, *dma64;

	log_buf = log;
	log_cap = cap;
	log_len = 0;
	if (cap)
		log[0] = '\0';
	checks = 0;
	if (setjmp(failed)) {
		bvmig_world_destroy();
		return -1;
	}
	CHECK(bvmig_world_create() == 0);
	CHECK(bvmig_world_create() == -1);
	CHECK_ERROR(BVMIG_ERR_WARN, "already has a world");
	CHECK(bvmig_world_add_dram(0, 16 * MIB) == 0);
	pmem = bvmig_world_add_pmem("pmem0", PMEM_BASE, 400 * GIB, 0);
	dma32 = bvmig_world_add_dma_device("ahci", 0xffffffffULL);
	dma64 = bvmig_world_add_dma_device("nvme", ~0ULL);
	CHECK(pmem && dma32 && dma64);

	check_pfn_t_flags();
	check_dram_bio(dma64);
	check_pmem_has_no_pages(pmem);
#ifdef BVMIG_LAYOUT_PFN
	check_pmem_bio(pmem, dma32);
#endif
	CHECK(bvmig_kmap_depth() == 0);
	/* 400 GiB of struct page would be 6.25 GiB; only touched frames are stored. */
	CHECK(bvmig_struct_page_bytes() == (16 * MIB + 400 * GIB) / 64);
	CHECK(bvmig_stored_bytes() < 1 * MIB);
	bvmig_world_destroy();

	say("%s layout: %d checks passed\n",
	    BVMIG_ABI_LAYOUT == BVMIG_ABI_LAYOUT_PFN ? "pfn" : "page", checks);
	return checks;
}
