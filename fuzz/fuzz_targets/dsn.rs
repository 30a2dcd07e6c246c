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

/// Every refusal `dsn::parse` can give. The invariant is that a refusal is one of these
/// fixed texts, so no part of the DSN is echoed. (Checking instead that the password is
/// absent from the message fails spuriously when the password is itself a piece of one
/// of these texts, such as `max_conns`, which CI's run on 7b47df6 hit.)
const REFUSALS: &[&str] = &[
    "DSN parameter max_conns: a positive number",
    "DSN parameter max_conn_lifetime: a duration such as 30m",
    "DSN parameter max_conn_idle_time: a duration such as 30m",
];

fuzz_target!(|data: &str| {
    let Err(e) = dsn::parse(data) else { return };
    let msg = e.to_string();
    let text = msg.strip_prefix("storage error: ").unwrap_or(&msg);
    assert!(REFUSALS.contains(&text), "a refusal that is not a fixed text (may echo the DSN): {msg}");
});
