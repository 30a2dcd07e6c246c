//! The admin API (Hydra v2 shapes, served under `/admin` and at v1's un-prefixed
//! paths).

pub mod clients;
pub mod flows;
pub mod keys;
pub mod tokens;
