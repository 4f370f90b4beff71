//! Fuzz target for the rewriter: any bytes, read as a C file, go through
//! the engine (parse, match, verify, site classification) under one of the
//! bundled rules, chosen by the first byte, without a panic or a hang.

#![no_main]

use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

/// The bundled rule files, parsed once.
const RULES: [(&str, &str); 8] = [
    ("bv_page.cocci", include_str!("../../rules/bv_page.cocci")),
    ("bv_page-idioms.cocci", include_str!("../../rules/bv_page-idioms.cocci")),
    ("bv_page-modern.cocci", include_str!("../../rules/bv_page-modern.cocci")),
    ("bv_page-typed.cocci", include_str!("../../rules/bv_page-typed.cocci")),
    ("bv_offset.cocci", include_str!("../../rules/bv_offset.cocci")),
    ("bv_pfn.cocci", include_str!("../../rules/bv_pfn.cocci")),
    ("bv_pfn-api.cocci", include_str!("../../rules/bv_pfn-api.cocci")),
    ("bv_phys.cocci", include_str!("../../rules/bv_phys.cocci")),
];

fn engines() -> &'static Vec<bvmig::Engine> {
    static ENGINES: OnceLock<Vec<bvmig::Engine>> = OnceLock::new();
    ENGINES.get_or_init(|| {
        let mut v = vec![bvmig::Engine::new(bvmig::RuleFile::default_rule())];
        for (name, text) in RULES {
            let rule = bvmig::RuleFile::parse(name, text).expect("a bundled rule parses");
            v.push(bvmig::Engine::new(rule));
        }
        v
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&pick, text)) = data.split_first() else {
        return;
    };
    let engines = engines();
    let engine = &engines[usize::from(pick) % engines.len()];
    let _ = engine.rewrite(text);
});
