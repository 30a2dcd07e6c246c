//! # latch-tests
//!
//! Latch's test support: the storage conformance suite ([`conformance`]) every backend
//! must pass, test databases on every SQL backend ([`db`]), and the black-box HTTP
//! harness ([`http`]), child processes of the real binary ([`process`]). The suites themselves are in `tests/tests/`.

pub mod conformance;
pub mod db;
pub mod http;
pub mod process;
