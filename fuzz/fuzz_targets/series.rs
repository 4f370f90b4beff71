//! Fuzz target for the patch and mbox reader: any bytes given to `bvmig
//! review` are split into mails, decoded and read as diffs without a
//! panic or a hang, and the hunks found go through the engine (from the
//! hunks alone, the built-in rule), as `bvmig review FILE` runs them.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(n) = bvmig::read_series_for_fuzzing("fuzz.mbox", data) else {
        return;
    };
    assert!(n > 0);
    let _ = bvmig::review(
        bvmig::RuleFile::default_rule(),
        "fuzz.mbox",
        data,
        None,
        &bvmig::Silent,
    );
});
