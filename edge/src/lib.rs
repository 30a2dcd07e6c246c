//! # latch-edge
//!
//! Latch as a Cloudflare Worker: the same protocol core as the native server, with D1
//! for storage ([`store::D1Store`]), the Worker's clock, `crypto.getRandomValues` and
//! WebCrypto for the platform ([`platform::EdgePlatform`]), and settings from the
//! Worker's `vars` and secrets ([`config`]).
//!
//! One Worker serves both APIs on one origin: `/admin/…` is the admin API behind a
//! bearer token or a Cloudflare Access JWT, everything else the public API ([`gate`],
//! [`access`]).
//!
//! ```text
//!  fetch event ─► worker::Request ─► latch_core::http::Request ─► Latch::handle(port, …)
//!                                                                   │  D1Store (DB binding)
//!  worker::Response ◄─ latch_core::http::Response ◄─────────────────┘  EdgePlatform
//! ```
//!
//! KV (the optional `KV` binding) caches the signing-key sets only (60 s, deleted on
//! every key write): never codes, tokens, sessions or clients, as KV has no
//! compare-and-set and is only eventually consistent (ARCHITECTURE.md, "Caches and
//! their staleness").

pub mod access;
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
