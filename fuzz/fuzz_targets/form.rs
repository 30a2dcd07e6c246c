//! `Params::parse`, the hand-split form parser, against `form_urlencoded` (the WHATWG
//! parser it must agree with): same pairs, and a repeated name is refused.
#![no_main]

use latch_core::http::Params;
use libfuzzer_sys::fuzz_target;
use std::collections::BTreeMap;

fuzz_target!(|data: &[u8]| {
    let ours = Params::parse(data);
    let mut reference = BTreeMap::new();
    let mut repeated = false;
    for (k, v) in form_urlencoded::parse(data) {
        repeated |= reference.insert(k.into_owned(), v.into_owned()).is_some();
    }
    match ours {
        Ok(p) => {
            assert!(!repeated, "a repeated parameter was accepted");
            let got: BTreeMap<String, String> = p.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
            assert_eq!(got, reference);
        }
        Err(_) => assert!(repeated, "refused a body form_urlencoded parses without repeats"),
    }
});
