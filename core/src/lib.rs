//! # latch-core
//!
//! The OAuth 2.0 and OpenID Connect protocol of Latch, with no IO: it parses requests,
//! decides, and renders responses in framework-neutral types ([`http`]). Storage
//! ([`store`]), time, randomness and slow key derivation ([`platform`]) come in through
//! small traits, so the same core runs in the native server (axum + sqlx) and in a
//! Cloudflare Worker (D1 + KV), and tests drive it with a fixed clock and seeded bytes.
//!
//! This crate must build for `wasm32-unknown-unknown`; CI checks it.

#![warn(missing_docs)]

pub mod access_token;
pub mod admin;
pub mod authorize;
pub mod client;
pub mod client_auth;
pub mod config;
pub mod cookie;
pub mod cors;
pub mod device;
pub mod discovery;
pub mod dpop;
pub mod duration;
pub mod error;
pub mod fallback;
pub mod fapi;
pub mod flow;
pub mod grants;
pub mod http;
pub mod identity_provider;
pub mod introspection;
pub mod janitor;
pub mod jwt_assertion;
pub mod keys;
pub mod logout;
pub mod memory;
pub mod oidc;
pub mod openapi;
pub mod par;
pub mod pkce;
pub mod platform;
pub mod redirect;
pub mod registration;
pub mod remote_keys;
pub mod revocation;
pub mod router;
pub mod scope;
pub mod seal;
pub mod secret;
pub mod service;
pub mod settings;
pub mod store;
pub mod token;
pub mod token_endpoint;
pub mod token_hook;
pub mod x5c;

pub use error::{Error, ErrorCode, StoreError};
pub use router::{Endpoint, Port};
pub use service::{Caches, Coherence, Latch};
