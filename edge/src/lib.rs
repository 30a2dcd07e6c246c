//! # latch-edge
//!
//! Latch as a Cloudflare Worker: the same protocol core as the native server, with D1
//! for storage ([`store::D1Store`]), the Worker's clock, `crypto.getRandomValues` and
//! WebCrypto for the platform ([`platform::EdgePlatform`]), and settings from the
//! Worker's `vars` and secrets ([`config`]).
//!
//! One Worker serves both APIs on one origin: `/admin/…` is the admin API behind a
//! bearer token, everything else the public API ([`gate`]).
//!
//! ```text
//!  fetch event ─► worker::Request ─► latch_core::http::Request ─► Latch::handle(port, …)
//!                                                                   │  D1Store (DB binding)
//!  worker::Response ◄─ latch_core::http::Response ◄─────────────────┘  EdgePlatform
//! ```
//!
//! KV (the `KV` binding) is not used yet. Its place is in front of what every request
//! may read and nothing single-use depends on: the JWKS and discovery documents, and the
//! key sets `Latch::key_set` loads. Never codes, tokens or anything compare-and-set: KV
//! has no compare-and-set.

pub mod config;
pub mod gate;
pub mod http;
pub mod platform;
pub mod store;
pub mod webcrypto;
mod worker_entry;

#[cfg(feature = "conformance")]
pub mod conformance_route;

pub use latch_core as core;
