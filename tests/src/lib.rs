//! # latch-tests
//!
//! Latch's test support: the storage conformance suite ([`conformance`]) every backend
//! must pass, test databases on every SQL backend ([`db`]), and the black-box HTTP
//! harness ([`http`]). The suites themselves are in `tests/tests/`.

pub mod conformance;
pub mod db;
pub mod http;
