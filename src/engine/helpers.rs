//! The helpers bvmig can define: their names, arity and kernel-doc'd C
//! text, as they are added to `include/linux/bvec.h` when a tree lacks them
//! (see [`crate::engine::placement`]).

/// A helper bvmig knows how to define.
#[derive(Debug)]
pub struct Helper {
    /// Its name.
    pub name: &'static str,
    /// Its number of parameters.
    pub n_params: usize,
    /// Its definition, kernel-doc comment first.
    pub text: &'static str,
}

/// The helpers the built-in rules emit.
pub static HELPERS: &[Helper] = &[
    Helper {
        name: "bvec_page",
        n_params: 1,
        text: "\
/**
 * bvec_page - the page a bio_vec starts in
 * @bvec: the bio_vec
 *
 * Read a bio_vec's page through this helper rather than through
 * @bvec->bv_page, so that the field can later become a pfn.
 *
 * Return: the first page of @bvec.
 */
static inline struct page *bvec_page(const struct bio_vec *bvec)
{
\treturn bvec->bv_page;
}
",
    },
    Helper {
        name: "bvec_set_page",
        n_params: 2,
        text: "\
/**
 * bvec_set_page - set the page a bio_vec starts in
 * @bvec: the bio_vec
 * @page: its new first page
 *
 * Write a bio_vec's page through this helper rather than through
 * @bvec->bv_page, so that the field can later become a pfn. The length
 * and offset are left as they are.
 */
static inline void bvec_set_page(struct bio_vec *bvec, struct page *page)
{
\tbvec->bv_page = page;
}
",
    },
    Helper {
        name: "__bvec_set_page",
        n_params: 2,
        text: "\
/**
 * __bvec_set_page - set only the page a bio_vec starts in
 * @bvec: the bio_vec
 * @page: its new first page
 *
 * Write a bio_vec's page through this helper rather than through
 * @bvec->bv_page, so that the field can later become a pfn. Unlike
 * bvec_set_page(), the length and offset are left as they are.
 */
static inline void __bvec_set_page(struct bio_vec *bvec, struct page *page)
{
\tbvec->bv_page = page;
}
",
    },
    // The helpers of rules/bv_page-idioms.cocci, in the form upstream Linux
    // gives them (6.12's include/linux/bvec.h; bvec_folio() after Matthew
    // Wilcox's patch), for trees that lack some: Debian's 6.1 has
    // bvec_set_page() with four parameters but neither bvec_set_folio(),
    // bvec_set_virt() nor bvec_phys(). bvec_set_folio() and bvec_set_virt()
    // call that bvec_set_page(), so they go after it (see
    // [`crate::engine::placement::insert`]).
    Helper {
        name: "bvec_set_folio",
        n_params: 4,
        text: "\
/**
 * bvec_set_folio - initialize a bvec based off a struct folio
 * @bv:\t\tbvec to initialize
 * @folio:\tfolio the bvec should point to
 * @len:\tlength of the bvec
 * @offset:\toffset into the folio
 */
static inline void bvec_set_folio(struct bio_vec *bv, struct folio *folio,
\t\tsize_t len, size_t offset)
{
\tunsigned long nr = offset / PAGE_SIZE;

\tWARN_ON_ONCE(len > UINT_MAX);
\tbvec_set_page(bv, folio_page(folio, nr), len, offset % PAGE_SIZE);
}
",
    },
    Helper {
        name: "bvec_set_virt",
        n_params: 3,
        text: "\
/**
 * bvec_set_virt - initialize a bvec based on a virtual address
 * @bv:\t\tbvec to initialize
 * @vaddr:\tvirtual address to set the bvec to
 * @len:\tlength of the bvec
 */
static inline void bvec_set_virt(struct bio_vec *bv, void *vaddr,
\t\tunsigned int len)
{
\tbvec_set_page(bv, virt_to_page(vaddr), len, offset_in_page(vaddr));
}
",
    },
    Helper {
        name: "bvec_kmap_local",
        n_params: 1,
        text: "\
/**
 * bvec_kmap_local - map a bvec into the kernel virtual address space
 * @bvec: bvec to map
 *
 * Must be called on single-page bvecs only.  Call kunmap_local on the returned
 * address to unmap.
 */
static inline void *bvec_kmap_local(struct bio_vec *bvec)
{
\treturn kmap_local_page(bvec_page(bvec)) + bvec->bv_offset;
}
",
    },
    Helper {
        name: "memcpy_from_bvec",
        n_params: 2,
        text: "\
/**
 * memcpy_from_bvec - copy data from a bvec
 * @bvec: bvec to copy from
 *
 * Must be called on single-page bvecs only.
 */
static inline void memcpy_from_bvec(char *to, struct bio_vec *bvec)
{
\tmemcpy_from_page(to, bvec_page(bvec), bvec->bv_offset, bvec->bv_len);
}
",
    },
    Helper {
        name: "memcpy_to_bvec",
        n_params: 2,
        text: "\
/**
 * memcpy_to_bvec - copy data to a bvec
 * @bvec: bvec to copy to
 *
 * Must be called on single-page bvecs only.
 */
static inline void memcpy_to_bvec(struct bio_vec *bvec, const char *from)
{
\tmemcpy_to_page(bvec_page(bvec), bvec->bv_offset, from, bvec->bv_len);
}
",
    },
    Helper {
        name: "memzero_bvec",
        n_params: 1,
        text: "\
/**
 * memzero_bvec - zero all data in a bvec
 * @bvec: bvec to zero
 *
 * Must be called on single-page bvecs only.
 */
static inline void memzero_bvec(struct bio_vec *bvec)
{
\tmemzero_page(bvec_page(bvec), bvec->bv_offset, bvec->bv_len);
}
",
    },
    Helper {
        name: "bvec_virt",
        n_params: 1,
        text: "\
/**
 * bvec_virt - return the virtual address for a bvec
 * @bvec: bvec to return the virtual address for
 *
 * Note: the caller must ensure that @bvec->bv_page is not a highmem page.
 */
static inline void *bvec_virt(struct bio_vec *bvec)
{
\tWARN_ON_ONCE(PageHighMem(bvec_page(bvec)));
\treturn page_address(bvec_page(bvec)) + bvec->bv_offset;
}
",
    },
    Helper {
        name: "bvec_phys",
        n_params: 1,
        text: "\
/**
 * bvec_phys - return the physical address for a bvec
 * @bvec: bvec to return the physical address for
 */
static inline phys_addr_t bvec_phys(const struct bio_vec *bvec)
{
\t/*
\t * Note this open codes page_to_phys because page_to_phys is defined in
\t * <asm/io.h>, which we don't want to pull in here.  If it ever moves to
\t * a sensible place we should start using it.
\t */
\treturn PFN_PHYS(page_to_pfn(bvec_page(bvec))) + bvec->bv_offset;
}
",
    },
    Helper {
        name: "bvec_folio",
        n_params: 1,
        text: "\
/**
 * bvec_folio - return the folio a bvec starts in
 * @bvec: bvec to return the folio for
 *
 * Use this rather than page_folio(@bvec->bv_page), to reduce the number of
 * references to bv_page.
 */
static inline struct folio *bvec_folio(const struct bio_vec *bvec)
{
\treturn page_folio(bvec_page(bvec));
}
",
    },
    // Item 3 of issue 13: bv_offset read and written through helpers, as
    // bv_page is (rules/bv_offset.cocci).
    Helper {
        name: "bvec_page_offset",
        n_params: 1,
        text: "\
/**
 * bvec_page_offset - the offset of a bio_vec's data in its first page
 * @bvec: the bio_vec
 *
 * Read a bio_vec's offset through this helper rather than through
 * @bvec->bv_offset, so that the page and the offset can later become one
 * physical address.
 *
 * Return: the offset of @bvec's first byte in bvec_page(@bvec).
 */
static inline unsigned int bvec_page_offset(const struct bio_vec *bvec)
{
\treturn bvec->bv_offset;
}
",
    },
    Helper {
        name: "bvec_set_offset",
        n_params: 2,
        text: "\
/**
 * bvec_set_offset - set the offset of a bio_vec's data in its first page
 * @bvec: the bio_vec
 * @offset: its new offset
 *
 * Write a bio_vec's offset through this helper rather than through
 * @bvec->bv_offset, so that the page and the offset can later become one
 * physical address. The page and the length are left as they are.
 */
static inline void bvec_set_offset(struct bio_vec *bvec, unsigned int offset)
{
\tbvec->bv_offset = offset;
}
",
    },
];
