//! DSNs as Hydra users write them (`native/src/store/dsn.rs`): any string is parsed or
//! refused, never a panic, and a refusal never echoes the DSN (it may hold a password).
//!
//! The parser is compiled in from the native crate's source rather than by depending on
//! latch-native: that crate links sqlx, rusqlite and aws-lc (C code), which the
//! sanitizer build would have to rebuild for a function that needs none of them.
#![no_main]

#[path = "../../native/src/store/dsn.rs"]
#[allow(dead_code)]
mod dsn;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &str| {
    let Err(e) = dsn::parse(data) else { return };
    let msg = e.to_string();
    // The password: between the scheme's `//` and the host's `@`, before the query.
    let base = data.split('?').next().unwrap_or("");
    let Some((_, authority)) = base.split_once("://") else { return };
    let Some((userinfo, _)) = authority.rsplit_once('@') else { return };
    if let Some((_, password)) = userinfo.split_once(':') {
        if password.len() >= 8 {
            assert!(!msg.contains(password), "the error echoes the DSN's password: {msg}");
        }
    }
});
