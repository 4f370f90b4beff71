//! Fuzz target for the rule parser: any bytes, read as a rule file, parse
//! or give an error without a panic or a hang; a rule that parses runs
//! over a small fixed C file holding the usual bv_page sites.

#![no_main]

use libfuzzer_sys::fuzz_target;

/// A C file with the common kinds of sites for the parsed rules to run on.
const C_FILE: &[u8] = b"#include <linux/bvec.h>
#define BV_PAGE(bv) ((bv)->bv_page)
static void f(struct bio_vec *bv, struct page *p, struct bio *bio)
{
\tstruct bio_vec v = { .bv_page = p, .bv_len = 4, .bv_offset = 0 };
\tstruct bvec_iter iter;
\tstruct bio_vec b;
\tbv->bv_page = p;
\tput_page(bv->bv_page);
\tif (v.bv_page == NULL && bv->bv_offset)
\t\treturn;
\tbio_for_each_segment(b, bio, iter)
\t\tflush_dcache_page(b.bv_page);
\tkunmap(page_address(bv[1].bv_page) + bv->bv_offset);
\tset_page_dirty(BV_PAGE(bv));
}
";

fuzz_target!(|data: &[u8]| {
    let Ok(rule) = bvmig::RuleFile::from_bytes("fuzz.cocci", data.to_vec(), &Default::default())
    else {
        return;
    };
    let _ = bvmig::Engine::new(rule).rewrite(C_FILE);
});
