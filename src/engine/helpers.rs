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
];
