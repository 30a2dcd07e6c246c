//! Latch on Cloudflare Workers.
//!
//! This crate is a placeholder until the Worker issue lands: it will convert
//! `worker::Request`s into [`latch_core::http::Request`]s and map D1 and KV to
//! the storage traits of [`latch_core::store`]. It links `latch-core` now so
//! that the workspace proves the core builds for the Worker's target.

pub use latch_core as core;
