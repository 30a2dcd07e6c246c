//! `Params::parse`, the hand-split form parser, against `form_urlencoded` (the WHATWG
//! parser it must agree with): the same pairs (a repeated name keeps its first value),
//! and a repeated name that Latch reads (`RECOGNISED_PARAMETERS`) is refused.
#![no_main]

use latch_core::http::{Params, RECOGNISED_PARAMETERS};
use libfuzzer_sys::fuzz_target;
use std::collections::BTreeMap;

fuzz_target!(|data: &[u8]| {
    let ours = Params::parse(data);
    let mut reference = BTreeMap::new();
    let mut repeated_recognised = false;
    for (k, v) in form_urlencoded::parse(data) {
        if reference.contains_key(k.as_ref()) {
            repeated_recognised |= RECOGNISED_PARAMETERS.contains(&k.as_ref());
        } else {
            reference.insert(k.into_owned(), v.into_owned());
        }
    }
    match ours {
        Ok(p) => {
            assert!(!repeated_recognised, "a repeated recognised parameter was accepted");
            let got: BTreeMap<String, String> = p.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
            assert_eq!(got, reference);
        }
        Err(_) => assert!(repeated_recognised, "refused a body without a repeated recognised parameter"),
    }
});
