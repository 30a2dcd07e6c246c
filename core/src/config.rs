//! The protocol's settings, already parsed and validated by the host.
//!
//! Hosts read them from wherever they like (YAML, environment, Worker `vars`); the core
//! only sees this struct.

/// How access tokens look (Hydra's `strategies.access_token`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AccessTokenStrategy {
    /// `latch_at_<random>.<hmac>`: opaque HMAC tokens (the default).
    Opaque,
    /// Signed JWTs (RFC 9068 shape), still recorded for introspection and revocation.
    Jwt,
}

/// Server settings the protocol depends on.
#[derive(Clone, Debug)]
pub struct Config {
    /// The issuer identifier (`urls.self.issuer`), used as `iss`; no trailing slash is added.
    pub issuer: String,
    /// The public base URL endpoints are advertised under (defaults to the issuer).
    pub public_url: String,
    /// System secrets: the first signs and encrypts, the others still verify and decrypt.
    pub system_secrets: Vec<Vec<u8>>,
    /// Access-token lifetime in seconds (`ttl.access_token`, default 1h).
    pub access_token_ttl: i64,
    /// Refresh-token lifetime in seconds (`ttl.refresh_token`, default 720h).
    pub refresh_token_ttl: i64,
    /// ID-token lifetime in seconds (`ttl.id_token`, default 1h).
    pub id_token_ttl: i64,
    /// Authorization-code lifetime in seconds (`ttl.auth_code`, default 10m).
    pub auth_code_ttl: i64,
    /// The global access-token strategy; a client may override it.
    pub access_token_strategy: AccessTokenStrategy,
    /// PBKDF2 iterations for new client secrets (`oauth2.hashers.pbkdf2.iterations`).
    pub pbkdf2_iterations: u32,
    /// Development mode: http issuers and redirect URIs allowed, debug detail in errors.
    pub dev: bool,
    /// Show `error_debug` in error responses (`oauth2.expose_internal_errors`).
    pub expose_internal_errors: bool,
    /// The version string `/admin/version` reports.
    pub version: String,
}

impl Config {
    /// Settings with Hydra's defaults for the given issuer and secret.
    pub fn new(issuer: &str, system_secret: &[u8]) -> Config {
        let issuer = issuer.to_string();
        Config {
            public_url: issuer.clone(),
            issuer,
            system_secrets: vec![system_secret.to_vec()],
            access_token_ttl: 3600,
            refresh_token_ttl: 720 * 3600,
            id_token_ttl: 3600,
            auth_code_ttl: 600,
            access_token_strategy: AccessTokenStrategy::Opaque,
            pbkdf2_iterations: 25_000,
            dev: false,
            expose_internal_errors: false,
            version: env!("CARGO_PKG_VERSION").to_string(),
        }
    }

    /// A URL under the public base, without doubling the slash.
    pub fn public_endpoint(&self, path: &str) -> String {
        format!("{}{}", self.public_url.trim_end_matches('/'), path)
    }

    /// Whether `error_debug` may be shown.
    pub fn expose_debug(&self) -> bool {
        self.dev || self.expose_internal_errors
    }
}
